"""Prod's DNS failover: built in full only once each region serves clients at its origin.

Until the gateway publishes each region's origin name, a health check could only fail and a
failover record would point at names nobody answers. So prod plans the zone (to delegate at the
registrar) and each region's external-dns, and no health checks, failover records or Traffic
Manager profile. The gateway issue hands `RegionalOrigin`s to DnsFailover; the second half of this
file builds DnsFailover with origins, as that issue will, and checks what it then adds.
"""

from __future__ import annotations

import pytest

from hubctl.plan import PlannedResource
from tests.failover_plans import FAILOVER_TYPES, ZONE, failover_with_origins, regions
from tests.planning import of_type, planned, record


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_prod_builds_no_health_check_or_failover_record_while_nothing_serves_the_origins(cloud: str) -> None:
    plan = planned("prod", cloud)
    for type_ in FAILOVER_TYPES[cloud]:
        assert of_type(plan, type_) == [], f"{type_} before any region has an origin"
    zone_type = {"aws": "aws:route53/zone:Zone", "azure": "azure-native:dns:Zone"}[cloud]
    # The public zone (prod also has the private zone of disaster recovery, associated with VPCs).
    (zone,) = [z for z in of_type(plan, zone_type) if not z.inputs.get("vpcs")]
    assert zone.protect
    # external-dns runs in both regions, ready to publish what the gateway will annotate.
    external_dns = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "external-dns"]
    assert len(external_dns) == 2 and len({r.provider for r in external_dns}) == 2
    assert {r.inputs["values"]["domainFilters"][0] for r in external_dns} == {ZONE}
    assert plan.outputs["dnsZone"] == ZONE
    assert "failoverName" not in plan.outputs


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
