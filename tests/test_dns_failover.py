"""Prod's DNS failover: built in full only once each region serves clients at its origin.

Until the gateway publishes each region's origin name, a health check could only fail and a
failover record would point at names nobody answers. So prod plans the zone (to delegate at the
registrar) and each region's external-dns, and no health checks, failover records or Traffic
Manager profile. The gateway issue hands `RegionalOrigin`s to DnsFailover; the second half of this
file builds DnsFailover with origins, as that issue will, and checks what it then adds.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components.cloud.common import CloudScope
from components.cloud.dns_failover import DnsFailover, DnsFailoverArgs, RegionalCluster, RegionalOrigin
from components.network import AwsNetwork, AzureNetwork
from hubctl.plan import PlannedResource
from settings.cloud import DnsFailoverSettings
from tests.planning import of_type, planned, record

ZONE = "bakhmach-business-hub.com"
FAILOVER_TYPES = {
    "aws": ("aws:route53/healthCheck:HealthCheck", "aws:route53/record:Record"),
    "azure": (
        "azure-native:trafficmanager:Profile",
        "azure-native:trafficmanager:Endpoint",
        "azure-native:dns:RecordSet",
    ),
}


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_prod_builds_no_health_check_or_failover_record_while_nothing_serves_the_origins(cloud: str) -> None:
    plan = planned("prod", cloud)
    for type_ in FAILOVER_TYPES[cloud]:
        assert of_type(plan, type_) == [], f"{type_} before any region has an origin"
    zone_type = {"aws": "aws:route53/zone:Zone", "azure": "azure-native:dns:Zone"}[cloud]
    (zone,) = of_type(plan, zone_type)
    assert zone.protect
    # external-dns runs in both regions, ready to publish what the gateway will annotate.
    external_dns = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "external-dns"]
    assert len(external_dns) == 2 and len({r.provider for r in external_dns}) == 2
    assert {r.inputs["values"]["domainFilters"][0] for r in external_dns} == {ZONE}
    assert plan.outputs["dnsZone"] == ZONE
    assert "failoverName" not in plan.outputs


def regions(cloud: str) -> list[str]:
    return ["eu-central-1", "eu-west-1"] if cloud == "aws" else ["germanywestcentral", "northeurope"]


def failover_with_origins(cloud: str, with_origins: tuple[bool, bool] = (True, True)) -> None:
    """DnsFailover as the gateway issue will build it: each region's gateway Service publishes the
    region's origin name."""
    settings = DnsFailoverSettings(zone=ZONE)
    clusters = []
    for index, region in enumerate(regions(cloud)):
        scope = CloudScope(
            stack_name="prod", environment="prod", owner="t", region=region, secondary=index == 1, protect=True
        )
        cluster = k8s.Provider(f"{scope.prefix}-k8s", kubeconfig="{}")
        network: AwsNetwork | AzureNetwork
        if cloud == "aws":
            network = AwsNetwork(
                region=region,
                availability_zones=[f"{region}a"],
                vpc_id="vpc",
                vpc_cidr="10.60.0.0/16",
                private_subnet_ids=[],
                node_security_group_id="sg",
                tags=scope.tags,
                cluster_name=scope.cluster_name,
                provider=aws.Provider(f"{scope.prefix}-aws", region=region),
            )
        else:
            network = AzureNetwork(
                location=region,
                resource_group_name=f"rg-{scope.cluster_name}",
                vnet_id="vnet",
                vnet_name="vnet",
                vnet_cidr="10.70.0.0/16",
                node_subnet_id="nodes",
                postgres_subnet_id="pg",
                private_endpoint_subnet_id="pe",
                tags=scope.tags,
                cluster_name=scope.cluster_name,
                oidc_issuer_url=f"https://oidc/{scope.cluster_name}/",
            )
        gateway = k8s.core.v1.Service(
            f"{scope.prefix}-gateway",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="gateway", namespace="platform"),
            opts=pulumi.ResourceOptions(provider=cluster),
        )
        origin = RegionalOrigin(hostname=settings.origin(region), published_by=gateway) if with_origins[index] else None
        clusters.append(RegionalCluster(scope=scope, provider=cluster, network=network, origin=origin))
    DnsFailover("failover", DnsFailoverArgs(cloud=cloud, settings=settings, clusters=tuple(clusters)))  # type: ignore[arg-type]


def named(resources: list[PlannedResource], type_: str) -> dict[str, PlannedResource]:
    return {r.name: r for r in resources if r.type == type_}


def test_with_origins_route53_checks_each_origin_and_fails_over_within_a_minute() -> None:
    resources = record(lambda: failover_with_origins("aws"))
    gateways = named(resources, "kubernetes:core/v1:Service")
    checks = named(resources, "aws:route53/healthCheck:HealthCheck")
    records = list(named(resources, "aws:route53/record:Record").values())
    assert sorted(r.inputs["failoverRoutingPolicies"][0]["type"] for r in records) == ["PRIMARY", "SECONDARY"]
    for record_ in records:
        assert record_.inputs["name"] == f"api.{ZONE}"
        check = checks[record_.inputs["healthCheckId"].removesuffix("-id")]
        assert check.inputs["fqdn"] == record_.inputs["records"][0]
        assert check.inputs["type"] == "HTTPS" and check.inputs["resourcePath"] == "/healthz"
        # The seed: "DNS failover to secondary region (< 1 min)".
        assert check.inputs["requestInterval"] * check.inputs["failureThreshold"] + record_.inputs["ttl"] <= 60
    assert {c.inputs["fqdn"] for c in checks.values()} == {f"api-{r}.{ZONE}" for r in regions("aws")}
    # A check probes a name only once the Service that publishes it exists.
    for check in checks.values():
        assert {g.urn for g in gateways.values()} & set(check.dependencies)


def test_with_origins_traffic_manager_prefers_the_primary_origin_and_fails_over_within_a_minute() -> None:
    resources = record(lambda: failover_with_origins("azure"))
    (profile,) = named(resources, "azure-native:trafficmanager:Profile").values()
    monitor = profile.inputs["monitorConfig"]
    assert profile.inputs["trafficRoutingMethod"] == "Priority" and monitor["path"] == "/healthz"
    assert (
        monitor["intervalInSeconds"] * monitor["toleratedNumberOfFailures"] + profile.inputs["dnsConfig"]["ttl"] <= 60
    )
    endpoints = sorted(
        named(resources, "azure-native:trafficmanager:Endpoint").values(), key=lambda e: e.inputs["priority"]
    )
    assert [e.inputs["target"] for e in endpoints] == [f"api-{r}.{ZONE}" for r in regions("azure")]
    (alias,) = named(resources, "azure-native:dns:RecordSet").values()
    assert (
        alias.inputs["relativeRecordSetName"] == "api" and alias.inputs["targetResource"]["id"] == f"{profile.name}-id"
    )


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_an_origin_in_one_region_only_is_refused(cloud: str) -> None:
    with pytest.raises(Exception, match="every region needs an origin, or none does"):
        record(lambda: failover_with_origins(cloud, (True, False)))
