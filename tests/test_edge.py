"""The edge (components/edge.py): Cloudflare in front of the gateway in staging and prod, and the
origin lock (components/cloud/load_balancer.py): the load balancer admits Cloudflare's published
ranges only (settings/cloudflare_ips.py)."""

from __future__ import annotations

import ipaddress
from datetime import date

import pytest

from components.edge import CLOUDFLARE_MANAGED_RULESET, OWASP_CORE_RULESET
from hubctl.plan import Plan, PlannedResource
from settings import cloudflare_ips
from settings.load import SettingsError, load_settings
from settings.stack import resolve_stack
from tests.planning import of_type, one, planned
from tests.planning_variants import variant
from tests.test_settings import prod_values

DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
ZONE_ID = "0123456789abcdef0123456789abcdef"  # the stack files' example zone id
DOMAIN = "bakhmach-business-hub.com"
NAMES = {"staging": (f"api-staging.{DOMAIN}", f"auth-staging.{DOMAIN}"), "prod": (f"api.{DOMAIN}", f"auth.{DOMAIN}")}
CLOUD_ZONE = {"staging": f"staging-origin.{DOMAIN}", "prod": f"origin.{DOMAIN}"}
PRIMARY = {"aws": "eu-central-1", "azure": "germanywestcentral"}


def cloudflare(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type.startswith("cloudflare:")]


def records(plan: Plan) -> dict[str, PlannedResource]:
    return {f"{r.inputs['type']} {r.inputs['name']}": r for r in of_type(plan, DNS_RECORD)}


# ---- the published ranges ------------------------------------------------------------------


def test_cloudflare_s_ranges_are_well_formed_and_dated() -> None:
    assert len(cloudflare_ips.IPV4) == 15 and len(cloudflare_ips.IPV6) == 7
    assert all(ipaddress.ip_network(c).version == 4 for c in cloudflare_ips.IPV4)
    assert all(ipaddress.ip_network(c).version == 6 for c in cloudflare_ips.IPV6)
    networks = [ipaddress.ip_network(c) for c in cloudflare_ips.IPV4]
    assert not [(a, b) for a in networks for b in networks if a != b and a.overlaps(b)]
    assert date.fromisoformat(cloudflare_ips.TAKEN) <= date.today()
    assert cloudflare_ips.SOURCE == "https://www.cloudflare.com/ips/"


# ---- the zone ------------------------------------------------------------------------------


def test_dev_has_no_edge(dev_plan: Plan) -> None:
    assert cloudflare(dev_plan) == []


@pytest.mark.parametrize(
    ("stack", "cloud"), [("staging", "aws"), ("staging", "azure"), ("prod", "aws"), ("prod", "azure")]
)
def test_the_public_names_are_proxied_to_the_origin(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    found = records(plan)
    api, auth = NAMES[stack]
    origin = f"api-{PRIMARY[cloud]}.{CLOUD_ZONE[stack]}"
    # The API's and Keycloak's names point at the failover name in prod (Keycloak fails over to
    # its standby in the secondary region, docs/DR.md), at the one region's origin in staging.
    expected = f"api.{CLOUD_ZONE[stack]}" if stack == "prod" else origin
    for name, content in ((api, expected), (auth, expected)):
        record = found[f"CNAME {name}"].inputs
        assert record["proxied"] is True and record["content"] == content and record["ttl"] == 1
        assert record["zoneId"] == ZONE_ID
    # The cloud zone is delegated from Cloudflare's, to the name servers the cloud gave it.
    delegation = [r.inputs for r in of_type(plan, DNS_RECORD) if r.inputs["type"] == "NS"]
    assert {d["name"] for d in delegation} == {CLOUD_ZONE[stack]} and len(delegation) == 4
    # cert-manager answers each name's DNS-01 challenge in the cloud zone (CNAME, never proxied).
    for name in (api, auth):
        challenge = found[f"CNAME _acme-challenge.{name}"].inputs
        assert challenge["proxied"] is False
        assert challenge["content"] == f"_acme-challenge.{name.removesuffix('.' + DOMAIN)}.{CLOUD_ZONE[stack]}"


@pytest.mark.parametrize(("stack", "cloud"), [("staging", "azure"), ("prod", "aws")])
def test_the_zone_is_strict_tls_1_2_minimum_with_1_3_always_https_and_dnssec(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    settings = {
        r.inputs["settingId"]: r.inputs["value"] for r in of_type(plan, "cloudflare:index/zoneSetting:ZoneSetting")
    }
    assert settings == {"ssl": "strict", "min_tls_version": "1.2", "tls_1_3": "on", "always_use_https": "on"}
    (dnssec,) = of_type(plan, "cloudflare:index/zoneDnssec:ZoneDnssec")
    assert dnssec.inputs == {"zoneId": ZONE_ID, "status": "active"}


@pytest.mark.parametrize(("stack", "cloud"), [("staging", "aws"), ("prod", "azure")])
def test_the_managed_waf_owasp_and_a_per_client_rate_limit(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    rulesets = {r.inputs["phase"]: r.inputs for r in of_type(plan, "cloudflare:index/ruleset:Ruleset")}
    waf = rulesets["http_request_firewall_managed"]
    assert waf["kind"] == "zone"
    assert [(r["action"], r["actionParameters"]["id"]) for r in waf["rules"]] == [
        ("execute", CLOUDFLARE_MANAGED_RULESET),
        ("execute", OWASP_CORE_RULESET),
    ]
    # Cloudflare's own ids for the two managed rulesets.
    assert CLOUDFLARE_MANAGED_RULESET == "efb7b8c949ac4650a09736fc376e9aee"
    assert OWASP_CORE_RULESET == "4814384a9e5d4991b9815dcfc25d2f1f"
    (limit,) = rulesets["http_ratelimit"]["rules"]
    assert limit["action"] == "block"
    assert limit["ratelimit"]["characteristics"] == ["ip.src", "cf.colo.id"]
    assert limit["ratelimit"]["period"] == 10
    # Above the gateway's own 600 a minute per client: the gateway answers first in normal use.
    assert limit["ratelimit"]["requestsPerPeriod"] * 6 > 600
    for name in NAMES[stack]:
        assert f'"{name}"' in limit["expression"]


# ---- the origin lock -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_nlb_admits_https_from_cloudflare_s_ranges_only(stack: str) -> None:
    plan = planned(stack, "aws")
    groups = {
        g.name: g for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup") if "public-entry-origin" in g.name
    }
    assert len(groups) == (2 if stack == "prod" else 1)
    for group in groups:
        rules = [
            r.inputs
            for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r.inputs["securityGroupId"] == f"{group}-id"
        ]
        cidrs = sorted(r["cidrIpv4"] for r in rules if "cidrIpv4" in r)
        assert cidrs == sorted(cloudflare_ips.IPV4)
        assert {(r["fromPort"], r["toPort"], r["ipProtocol"]) for r in rules} == {(443, 443, "tcp")}
        # Prod: Route 53's health checkers too (the managed prefix list), for the failover probes.
        assert len([r for r in rules if "prefixListId" in r]) == (1 if stack == "prod" else 0)
    service = one(plan, "Service", "gateway", "gateway")["metadata"]["annotations"]
    (primary_group,) = [g for g in groups if not g.startswith(PRIMARY["aws"]) and "eu-west-1" not in g]
    assert service["service.beta.kubernetes.io/aws-load-balancer-security-groups"] == f"{primary_group}-id"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_aks_load_balancer_admits_cloudflare_s_ranges_only(stack: str) -> None:
    service = one(planned(stack, "azure"), "Service", "gateway", "gateway")["spec"]
    assert service["loadBalancerSourceRanges"] == list(cloudflare_ips.IPV4)


def test_without_an_edge_the_origin_is_the_public_name_and_open() -> None:
    """`edge.provider: none` (staging/prod may choose it): no Cloudflare, the cloud zone is the
    public domain and the gateway's Service publishes the public names itself."""
    plan = variant(
        "staging",
        "aws",
        edge={"provider": "none"},
        cloudCluster={**_cloud_cluster("staging"), "dns": {"zone": DOMAIN, "record": "api"}},
    )
    assert cloudflare(plan) == []
    service = one(plan, "Service", "gateway", "gateway")["metadata"]["annotations"]
    published = service["external-dns.alpha.kubernetes.io/hostname"].split(",")
    assert set(published) >= set(NAMES["staging"])
    rules = [
        r.inputs
        for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == "public-entry-origin-id"
    ]
    assert {(r["cidrIpv4"], r["fromPort"]) for r in rules} == {("0.0.0.0/0", 443), ("0.0.0.0/0", 80)}


def _cloud_cluster(stack: str) -> dict[str, object]:
    from tests.planning_variants import stack_config

    cluster = stack_config(stack, "cloudCluster")
    assert isinstance(cluster, dict)
    return cluster


# ---- settings ------------------------------------------------------------------------------


def _error(values: dict[str, object]) -> str:
    with pytest.raises(SettingsError) as caught:
        resolve_stack(load_settings(values, source="Pulumi.prod.yaml"), "Pulumi.prod.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"edge": {"provider": "cloudflare"}}, "bakhmach-hub:edge.zoneId: required with edge.provider cloudflare"),
        ({"gateway": {}}, "bakhmach-hub:gateway.domain: required in prod"),
        (
            {"cloudCluster.dns": {"zone": "bakhmach-business-hub.com"}},
            "bakhmach-hub:cloudCluster.dns.zone: 'bakhmach-business-hub.com' is not below gateway.domain",
        ),
        ({"identity": {"mfa": "optional"}}, "bakhmach-hub:identity.mfa: 'optional' is not a choice in prod"),
    ],
)
def test_front_door_settings_that_cannot_work_are_named(change: dict[str, object], expected: str) -> None:
    values = prod_values()
    for key, value in change.items():
        if key == "cloudCluster.dns":
            values["cloudCluster"]["dns"] = value
        else:
            values[key] = value
    assert expected in _error(values)


def test_dev_cannot_have_an_edge() -> None:
    values = {
        "environment": "dev",
        "cloud": "kind",
        "owner": "platform-team",
        "cluster": {"kubeconfigContext": "kind-bakhmach-dev"},
        "edge": {"provider": "cloudflare", "zoneId": ZONE_ID},
    }
    with pytest.raises(SettingsError) as caught:
        resolve_stack(load_settings(values, source="Pulumi.dev.yaml"), "Pulumi.dev.yaml")
    assert "bakhmach-hub:edge.provider: 'cloudflare' is not possible on kind (allowed: none)" in str(caught.value)


def test_the_api_token_from_a_stack_secret_makes_an_explicit_provider() -> None:
    plan = variant("staging", "aws", cloudflareApiToken="token-from-a-secret")
    (provider,) = of_type(plan, "pulumi:providers:cloudflare")
    assert provider.inputs["apiToken"] == "[secret]"
    assert all(r.provider == provider.urn for r in cloudflare(plan) if r.type != "pulumi:providers:cloudflare")
