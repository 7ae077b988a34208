"""Prod's DNS failover between the two regions' gateways (the seed's "DNS failover to secondary
region (< 1 min)"), on the real prod plans.

Each region's gateway Service publishes the region's origin name (external-dns); DnsFailover
builds a health check per origin that probes the gateway's own `/healthz` and a failover name
in front of both (Route53 PRIMARY/SECONDARY records, or a Traffic Manager profile with priority
routing aliased from Azure DNS). Staging runs one region: it publishes its origin and fails over
nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.cloud.dns_failover import DnsFailoverArgs, RegionalCluster, RegionalOrigin
from hubctl.plan import Plan, PlannedResource
from settings.cloud import DnsFailoverSettings
from tests.planning import k8s, of_type, planned, primary_provider

ZONE = "origin.bakhmach-business-hub.com"  # Pulumi.prod.yaml's cloudCluster.dns.zone
REGIONS = {"aws": ["eu-central-1", "eu-west-1"], "azure": ["germanywestcentral", "northeurope"]}
FAILOVER_TYPES = {
    "aws": ("aws:route53/healthCheck:HealthCheck", "aws:route53/record:Record"),
    "azure": (
        "azure-native:trafficmanager:Profile",
        "azure-native:trafficmanager:Endpoint",
        "azure-native:dns:RecordSet",
    ),
}
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"


def gateway_services(plan: Plan) -> dict[str, PlannedResource]:
    """Each cluster's public gateway Service, by the origin name it publishes."""
    found = {}
    for r in of_type(plan, "kubernetes:core/v1:Service"):
        meta = r.inputs["metadata"]
        if (meta.get("namespace"), meta.get("name")) == ("gateway", "gateway"):
            found[meta["annotations"][EXTERNAL_DNS_HOSTNAME].split(",")[0]] = r
    return found


def named(plan: Plan, type_: str) -> dict[str, PlannedResource]:
    return {r.name: r for r in of_type(plan, type_)}


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_each_region_s_gateway_publishes_its_origin_in_the_protected_zone(cloud: str) -> None:
    plan = planned("prod", cloud)
    zone_type = {"aws": "aws:route53/zone:Zone", "azure": "azure-native:dns:Zone"}[cloud]
    # The public zone (prod also has the private zone of disaster recovery, associated with VPCs).
    (zone,) = [z for z in of_type(plan, zone_type) if not z.inputs.get("vpcs")]
    assert zone.protect
    services = gateway_services(plan)
    assert set(services) == {f"api-{region}.{ZONE}" for region in REGIONS[cloud]}
    assert len({s.provider for s in services.values()}) == 2  # one per region's cluster
    assert all(s.inputs["spec"]["type"] == "LoadBalancer" for s in services.values())
    # external-dns runs in both regions and may write only this zone.
    external_dns = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "external-dns"]
    assert len(external_dns) == 2 and len({r.provider for r in external_dns}) == 2
    assert {r.inputs["values"]["domainFilters"][0] for r in external_dns} == {ZONE}
    assert plan.outputs["dnsZone"] == ZONE
    assert plan.outputs["failoverName"] == f"api.{ZONE}"


def test_route53_checks_each_origin_at_the_gateway_s_healthz_and_fails_over_within_a_minute() -> None:
    plan = planned("prod", "aws")
    services = gateway_services(plan)
    checks = named(plan, "aws:route53/healthCheck:HealthCheck")
    records = list(named(plan, "aws:route53/record:Record").values())
    records = [r for r in records if r.inputs.get("failoverRoutingPolicies")]
    assert sorted(r.inputs["failoverRoutingPolicies"][0]["type"] for r in records) == ["PRIMARY", "SECONDARY"]
    for record in records:
        assert record.inputs["name"] == f"api.{ZONE}"
        check = checks[record.inputs["healthCheckId"].removesuffix("-id")]
        assert check.inputs["fqdn"] == record.inputs["records"][0]
        # The gateway answers /healthz itself (an HTTPRouteFilter), over HTTPS with SNI.
        assert check.inputs["type"] == "HTTPS" and check.inputs["resourcePath"] == "/healthz"
        assert check.inputs["port"] == 443 and check.inputs["enableSni"] is True
        # The seed: "DNS failover to secondary region (< 1 min)".
        assert check.inputs["requestInterval"] * check.inputs["failureThreshold"] + record.inputs["ttl"] <= 60
        # A check probes a name only once the Service that publishes it exists.
        assert services[check.inputs["fqdn"]].urn in check.dependencies
    primary = next(r for r in records if r.inputs["failoverRoutingPolicies"][0]["type"] == "PRIMARY")
    assert primary.inputs["records"] == [f"api-{REGIONS['aws'][0]}.{ZONE}"]


def test_traffic_manager_prefers_the_primary_origin_and_fails_over_within_a_minute() -> None:
    plan = planned("prod", "azure")
    services = gateway_services(plan)
    (profile,) = named(plan, "azure-native:trafficmanager:Profile").values()
    monitor = profile.inputs["monitorConfig"]
    assert profile.inputs["trafficRoutingMethod"] == "Priority"
    assert (monitor["protocol"], monitor["port"], monitor["path"]) == ("HTTPS", 443, "/healthz")
    assert (
        monitor["intervalInSeconds"] * monitor["toleratedNumberOfFailures"] + profile.inputs["dnsConfig"]["ttl"] <= 60
    )
    endpoints = sorted(named(plan, "azure-native:trafficmanager:Endpoint").values(), key=lambda e: e.inputs["priority"])
    assert [e.inputs["target"] for e in endpoints] == [f"api-{r}.{ZONE}" for r in REGIONS["azure"]]
    for endpoint in endpoints:
        assert services[endpoint.inputs["target"]].urn in endpoint.dependencies
    (alias,) = named(plan, "azure-native:dns:RecordSet").values()
    assert alias.inputs["relativeRecordSetName"] == "api"
    assert alias.inputs["targetResource"]["id"] == f"{profile.name}-id"


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_probes_reach_the_origins_past_the_edge_only_lock(cloud: str) -> None:
    """The origins admit only Cloudflare, and the cloud's own health checkers: Route 53's managed
    prefix list on the NLB's security group, the AzureTrafficManager service tag on AKS's."""
    plan = planned("prod", cloud)
    if cloud == "aws":
        rules = [
            r
            for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r.inputs.get("prefixListId")
        ]
        assert len(rules) == 2 and {r.inputs["fromPort"] for r in rules} == {443}
    else:
        for service in gateway_services(plan).values():
            annotations = service.inputs["metadata"]["annotations"]
            assert annotations["service.beta.kubernetes.io/azure-allowed-service-tags"] == "AzureTrafficManager"


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_staging_publishes_its_one_origin_and_fails_over_nothing(cloud: str) -> None:
    plan = planned("staging", cloud)
    for type_ in FAILOVER_TYPES[cloud]:
        assert of_type(plan, type_) == [], type_
    (service,) = k8s(plan, "Service", "gateway", "gateway", provider=primary_provider(plan))
    region = {"aws": "eu-central-1", "azure": "germanywestcentral"}[cloud]
    assert service["metadata"]["annotations"][EXTERNAL_DNS_HOSTNAME] == (
        f"api-{region}.staging-origin.bakhmach-business-hub.com"
    )
    assert "failoverName" not in plan.outputs


def _args(with_origins: tuple[bool, bool]) -> DnsFailoverArgs:
    clusters: Any = [
        RegionalCluster(
            scope=None,  # type: ignore[arg-type]
            provider=None,  # type: ignore[arg-type]
            network=None,  # type: ignore[arg-type]
            origin=RegionalOrigin(hostname=f"api-{i}.{ZONE}", published_by=None) if present else None,  # type: ignore[arg-type]
        )
        for i, present in enumerate(with_origins)
    ]
    return DnsFailoverArgs(cloud="aws", settings=DnsFailoverSettings(zone=ZONE), clusters=tuple(clusters), zone=None)  # type: ignore[arg-type]


def test_an_origin_in_one_region_only_is_refused() -> None:
    with pytest.raises(ValueError, match="every region needs an origin, or none does"):
        _ = _args((True, False)).origins
    assert _args((True, True)).fails_over
    assert not _args((False, False)).fails_over
