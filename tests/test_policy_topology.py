"""Topology policies beyond their mutation cases: both ways of declaring AKS node pools, values a
preview does not know yet, disruption budgets in percent, DNS shapes other than the program's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hubctl.plan import UNKNOWN, Plan, PlannedResource
from hubctl.policy_run import run_policies
from policy.bakhmach_policies import POLICIES, config_for
from policy.bakhmach_policies.common import duration_seconds
from tests.planning import planned
from tests.test_policy_mutations import AKS, AKS_POOL, CASES, AksPool, mutate
from tests.test_policy_network import GATEWAY_NS, service
from tests.test_policy_pack import found, resource, run
from tests.test_policy_workloads import deployment, hpa, pdb

NODE_POLICIES = ("node-pool-bounds", "node-pool-mix", "cluster-multi-zone", "cluster-autoscaler-targets")
TOPOLOGY = (
    *NODE_POLICIES,
    "postgres-ha",
    "cache-ha",
    "cache-eviction-policy",
    "cluster-audit-logs",
    "cluster-network-policy-enforcement",
    "prod-multi-region-failover",
)


def _as_plan(template: Plan, resources: list[dict[str, Any]]) -> Plan:
    return Plan(template.project, template.stack, template.cloud, [PlannedResource(**r) for r in resources])


def _only(plan: dict[str, Any], *names: str) -> list[str]:
    policies = [p for p in POLICIES if p.name in names]
    report = run_policies(plan, config_for(str(plan["stack"])), policies)
    assert report.skipped == [], report.skipped
    return [f"{v.policy} {v.urn}: {v.message}" for v in report.violations]


# ---- AKS pools: inline or separate ----------------------------------------------------------
_POOL_ONLY = ("resourceGroupName", "resourceName", "agentPoolName")


def all_inline(plan: Plan) -> Plan:
    """Every AgentPool folded into its ManagedCluster's agentPoolProfiles."""
    resources = [copy.deepcopy(r.to_json()) for r in plan.resources]
    clusters = {r["urn"]: r for r in resources if r["type"] == AKS}
    kept = []
    for r in resources:
        owner = next((clusters[d] for d in r["dependencies"] if d in clusters), None) if r["type"] == AKS_POOL else None
        if owner is None:
            kept.append(r)
            continue
        profile = {k: v for k, v in r["inputs"].items() if k not in _POOL_ONLY} | {"name": r["inputs"]["agentPoolName"]}
        owner["inputs"]["agentPoolProfiles"].append(profile)
    return _as_plan(plan, kept)


def all_separate(plan: Plan) -> Plan:
    """Every inline pool moved out to an AgentPool resource that depends on its cluster."""
    resources = [copy.deepcopy(r.to_json()) for r in plan.resources]
    added = []
    for cluster in (r for r in resources if r["type"] == AKS):
        for profile in cluster["inputs"].pop("agentPoolProfiles"):
            name = profile.pop("name")
            inputs = profile | {
                "agentPoolName": name,
                "resourceName": cluster["inputs"]["resourceName"],
                "resourceGroupName": cluster["inputs"]["resourceGroupName"],
            }
            added.append(
                cluster
                | {
                    "urn": cluster["urn"].replace(f"{AKS}::", f"{AKS_POOL}::") + f"-{name}",
                    "type": AKS_POOL,
                    "name": f"{cluster['name']}-{name}",
                    "dependencies": [cluster["urn"]],
                    "protect": False,
                    "inputs": inputs,
                }
            )
        cluster["inputs"]["agentPoolProfiles"] = []
    return _as_plan(plan, resources + added)


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("shape", [all_inline, all_separate], ids=["inline", "separate"])
def test_node_policies_count_aks_pools_wherever_they_are_declared(stack: str, shape: Any) -> None:
    plan = shape(planned(stack, "azure"))
    kinds = {r.type for r in plan.resources}
    assert (AKS_POOL in kinds) == (shape is all_separate)
    assert _only(plan.to_json(), *NODE_POLICIES) == []
    for case in (c for c in CASES if isinstance(c.target, AksPool) and f"{stack}-azure" in c.plans):
        mutated, expected = mutate(case, plan)
        hits = [v for v in _only(mutated, case.policy) if expected in v]
        assert hits, f"{case.policy} ({case.note}) missed {expected} with {shape.__name__} pools"


# ---- values a preview does not know yet -----------------------------------------------------
# Ids, ARNs and names the cloud assigns are unknown in a preview of a new stack; the topology
# policies relate resources through dependencies instead, so they neither skip nor misjudge.
UNKNOWN_INPUTS = {
    "aws:eks/nodeGroup:NodeGroup": ("subnetIds", "clusterName"),
    "aws:eks/addon:Addon": ("clusterName",),
    "aws:rds/instance:Instance": ("replicateSourceDb", "dbSubnetGroupName"),
    "aws:route53/record:Record": ("healthCheckId", "zoneId"),
    "azure-native:dbforpostgresql:Server": ("sourceServerResourceId",),
    "azure-native:monitor:DiagnosticSetting": ("resourceUri", "workspaceId"),
    "azure-native:trafficmanager:Endpoint": ("profileName",),
    "azure-native:containerservice:AgentPool": ("resourceName",),
}


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_topology_policies_relate_resources_through_dependencies(cloud: str) -> None:
    plan = planned("prod", cloud).to_json()
    resources = []
    for r in plan["resources"]:
        keys = [k for k in UNKNOWN_INPUTS.get(r["type"], ()) if k in r["inputs"]]
        resources.append(r | {"inputs": r["inputs"] | dict.fromkeys(keys, UNKNOWN)} if keys else r)
    assert _only(plan | {"resources": resources}, *TOPOLOGY) == []


# ---- disruption budgets ---------------------------------------------------------------------


def budget(**spec: Any) -> dict[str, Any]:
    entry = pdb()
    entry["inputs"]["spec"] = {"selector": entry["inputs"]["spec"]["selector"]} | spec
    return entry


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"maxUnavailable": 1}, None),
        ({"maxUnavailable": "10%"}, None),  # 10% of the HPA's 10 pods: one
        ({"maxUnavailable": "20%"}, "maxUnavailable 20% lets 2 pods go at once; at most 1"),
        ({"minAvailable": 9}, None),
        ({"minAvailable": "90%"}, None),
        ({"minAvailable": 3}, "minAvailable 3 of up to 10 pods lets 7 go at once; at most 1"),
        ({}, "sets neither maxUnavailable nor minAvailable; use maxUnavailable: 1"),
    ],
)
def test_budgets_are_judged_against_the_most_pods_a_workload_runs(spec: dict[str, Any], message: str | None) -> None:
    messages = found(run("prod", deployment(), hpa(), budget(**spec)), "pdb-max-unavailable")
    assert messages == ([] if message is None else [f"PodDisruptionBudget slon-credit/api: {message}"])


def test_a_percentage_budget_over_unknown_pods_is_refused() -> None:
    messages = found(run("prod", budget(maxUnavailable="25%")), "pdb-max-unavailable")
    assert messages == [
        "PodDisruptionBudget slon-credit/api: maxUnavailable 25% cannot be judged without the workload's replicas; "
        "use maxUnavailable: 1"
    ]


# ---- DNS shapes -----------------------------------------------------------------------------
TAGS = {"environment": "prod", "owner": "o", "managed-by": "pulumi", "ttl": "indefinite"}


def eks(name: str) -> dict[str, Any]:
    return resource("aws:eks/cluster:Cluster", name, {"name": name, "tags": TAGS})


def health_check(name: str, interval: int = 10, failures: int = 3) -> dict[str, Any]:
    inputs = {"type": "HTTPS", "requestInterval": interval, "failureThreshold": failures, "tags": TAGS}
    return resource("aws:route53/healthCheck:HealthCheck", name, inputs)


def record(name: str, check: dict[str, Any] | None, ttl: int = 30, **routing: Any) -> dict[str, Any]:
    inputs = {"name": "api.example.com", "type": "CNAME", "ttl": ttl, "setIdentifier": name} | routing
    return resource("aws:route53/record:Record", name, inputs, dependencies=[check["urn"]] if check else []) | (
        {"inputs": inputs | {"healthCheckId": "[unknown]"}} if check else {}
    )


def test_active_active_weighted_records_with_health_checks_pass() -> None:
    a, b = health_check("a"), health_check("b")
    weighted = {"weightedRoutingPolicies": [{"weight": 50}]}
    report = run("prod", eks("one"), eks("two"), a, b, record("ra", a, **weighted), record("rb", b, **weighted))
    assert found(report, "prod-multi-region-failover") == []


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            lambda a, b: [
                record("ra", a, failoverRoutingPolicies=[{"type": "PRIMARY"}]),
                record("rb", b, failoverRoutingPolicies=[{"type": "PRIMARY"}]),
            ],
            "Route 53 api.example.com: failover records without both PRIMARY and SECONDARY",
        ),
        (
            lambda a, b: [
                record("ra", a, failoverRoutingPolicies=[{"type": "PRIMARY"}]),
                record("rb", None, failoverRoutingPolicies=[{"type": "SECONDARY"}]),
            ],
            "Route 53 record rb: no health check, so DNS cannot fail over from it",
        ),
        (
            lambda a, b: [
                record("ra", a, ttl=300, failoverRoutingPolicies=[{"type": "PRIMARY"}]),
                record("rb", b, failoverRoutingPolicies=[{"type": "SECONDARY"}]),
            ],
            "Route 53 record ra: health check detection 30 s + TTL 300 s = 330 s; the seed fails over within 60 s",
        ),
        (
            lambda a, b: [GATEWAY_NS, service("gateway", "LoadBalancer")],
            "Service gateway/svc is a public entry point, but prod has no health-checked DNS record set spanning "
            "two regions (Route 53 or Traffic Manager) to fail it over",
        ),
        (
            # One record per region, but only one with a routing policy: no record set spans two.
            lambda a, b: [
                GATEWAY_NS,
                service("gateway", "LoadBalancer"),
                record("ra", a, failoverRoutingPolicies=[{"type": "PRIMARY"}]),
                record("rb", b),
            ],
            "Service gateway/svc is a public entry point, but prod has no health-checked DNS record set spanning "
            "two regions (Route 53 or Traffic Manager) to fail it over",
        ),
    ],
)
def test_failover_needs_health_checked_records_in_two_regions(records: Any, message: str) -> None:
    a, b = health_check("a"), health_check("b")
    report = run("prod", eks("one"), eks("two"), a, b, *records(a, b))
    assert message in found(report, "prod-multi-region-failover")


def test_without_a_public_entry_point_there_is_nothing_to_fail_over() -> None:
    report = run("prod", eks("one"), eks("two"), GATEWAY_NS, service("gateway", "ClusterIP"))
    assert found(report, "prod-multi-region-failover") == []


def test_a_single_region_prod_is_reported_on_its_cluster() -> None:
    one = eks("one")
    messages = found(run("prod", one), "prod-multi-region-failover")
    assert "prod runs one cluster (one); the seed's prod is multi-region with active-active failover" in messages


# ---- other shapes ---------------------------------------------------------------------------


def test_azure_cache_for_redis_needs_six_nodes_and_allkeys_lru() -> None:
    cache = resource(
        "azure-native:redis:Redis",
        "cache",
        {"sku": {"name": "Premium"}, "shardCount": 3, "replicasPerMaster": 1, "tags": TAGS},
    )
    assert found(run("prod", cache), "cache-ha") == []
    assert found(run("prod", cache), "cache-eviction-policy") == [
        "Azure Cache for Redis cache: redisConfiguration.maxmemoryPolicy is unset (volatile-lru); the seed's policy "
        "is allkeys-lru"
    ]
    small = cache | {"inputs": cache["inputs"] | {"shardCount": 2}}
    assert found(run("prod", small), "cache-ha") == [
        "Azure Cache for Redis cache: 2 shard(s) x 2 node(s); the seed's Redis cluster has 6"
    ]


@pytest.mark.parametrize(
    ("value", "seconds"), [("10m", 600), ("600s", 600), ("1m30s", 90), ("1h", 3600), (600, 600), ("ten", None)]
)
def test_autoscaler_durations(value: Any, seconds: float | None) -> None:
    assert duration_seconds(value) == seconds
