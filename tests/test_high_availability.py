"""High-availability placement on every stack and cloud: the loss of one zone (or one node, or a
rollout) leaves every data service and every replicated context service running.

The seed: staging and prod clusters span zones ("15-node AKS/EKS multi-zone", "SLA: 99.95%"),
"Replicas: 3+ per service (HA)", PostgreSQL "Primary-1 + Replica-1, Replica-2", MongoDB
"3-node replica set", Redis "6 (master-replica pairs)". Checked on the five stacks and on the
staging/prod stacks with every data service overridden to in-cluster (`planned_in_cluster`), so
each backend a stack file may choose is placed across zones:
- managed services: RDS Multi-AZ, ElastiCache Multi-AZ with automatic failover, MSK brokers in
  three zones, Flexible Server zone-redundant HA, Azure Managed Redis high availability (zone
  redundant by default, Microsoft's "High availability for Azure Managed Redis"), zone-redundant
  backup storage;
- in-cluster members: CloudNativePG's required anti-affinity by zone, Percona's anti-affinity by
  zone, the OT Redis roles spread over zones, Strimzi's rack awareness by zone;
- context services: spread over zones and nodes, and a rolling update that adds a pod before it
  removes one.
Dev runs on one kind node: there a required zone rule would leave members Pending.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hubctl.plan import Plan, PlannedResource
from tests.planning import DATA_PLANS, DataPlan, of_type, one

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
HA_PLANS = [p for p in DATA_PLANS if p.stack != "dev"]
# The context namespaces: the six business contexts and the platform's shared one.
CONTEXT_NAMESPACES = {
    "platform",
    "bakhmach-hub",
    "slon-credit",
    "audityzer-eu",
    "debt-defense-agent",
    "black-sea-corridor",
    "cannabis-infusion",
}


def plans_where(service: str, backend: str) -> list[DataPlan]:
    return [p for p in HA_PLANS if p.backend(service) == backend]


def ids(plans: list[DataPlan]) -> list[str]:
    return [p.id for p in plans]


def subnet_zones(plan: Plan, subnet_ids: list[str]) -> list[str]:
    """The zones of subnets named by id (the offline plan's ids are `<resource name>-id`)."""
    by_id = {f"{r.name}-id": r.inputs["availabilityZone"] for r in of_type(plan, "aws:ec2/subnet:Subnet")}
    assert set(subnet_ids) <= set(by_id), f"unknown subnets {sorted(set(subnet_ids) - set(by_id))}"
    return [by_id[s] for s in subnet_ids]


def data_resource(plan: Plan, type_: str, name: str) -> PlannedResource:
    (found,) = [r for r in of_type(plan, type_) if r.name == name]
    return found


# ---- managed data services -----------------------------------------------------------------------


def rds_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    if "replicateSourceDb" in r.inputs:
        return  # a read replica: the primary's Multi-AZ standby is what takes over (test below)
    assert r.inputs["multiAz"] is True, f"{r.name}: multiAz is {r.inputs.get('multiAz')}"
    group = data_resource(plan, "aws:rds/subnetGroup:SubnetGroup", "data-postgres-subnets")
    assert len(set(subnet_zones(plan, group.inputs["subnetIds"]))) == 3


def elasticache_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    i = r.inputs
    assert i["multiAzEnabled"] is True, f"{r.name}: multiAzEnabled is {i.get('multiAzEnabled')}"
    assert i["automaticFailoverEnabled"] is True and i["replicasPerNodeGroup"] >= 1
    group = data_resource(plan, "aws:elasticache/subnetGroup:SubnetGroup", "data-redis-subnets")
    assert len(set(subnet_zones(plan, group.inputs["subnetIds"]))) == 3


def msk_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    subnets = r.inputs["brokerNodeGroupInfo"]["clientSubnets"]
    zones = subnet_zones(plan, subnets)
    # MSK puts an equal share of the brokers in each client subnet's zone.
    assert len(set(zones)) == len(zones) == 3, f"{r.name}: brokers in zones {zones}"
    assert r.inputs["numberOfBrokerNodes"] % len(zones) == 0


def flexible_server_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    if r.inputs.get("createMode") == "Replica":
        return  # Flexible Server offers no HA on a replica; the primary's standby takes over
    mode = r.inputs["highAvailability"]["mode"]
    assert mode == "ZoneRedundant", f"{r.name}: highAvailability.mode is {mode}"


def managed_redis_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    assert r.inputs["highAvailability"] == "Enabled", f"{r.name}: highAvailability is {r.inputs['highAvailability']}"


def storage_account_survives_a_zone(plan: Plan, r: PlannedResource) -> None:
    sku = r.inputs["sku"]["name"]
    assert sku in ("Standard_ZRS", "Standard_GZRS"), f"{r.name}: {sku} keeps its copies in one zone"


def regional_by_design(plan: Plan, r: PlannedResource) -> None:
    """S3 stores objects across at least three zones of the region, and KMS keys are regional:
    neither has a setting that pins it to a zone."""


def part_of_its_server(plan: Plan, r: PlannedResource) -> None:
    """A database inside a server (Flexible Server's Database, Managed Redis' Database) lives
    where its server does."""


# ---- in-cluster members --------------------------------------------------------------------------


def cnpg_database_inside_a_placed_cluster(plan: Plan, r: PlannedResource) -> None:
    """A CloudNativePG `Database` is a database inside its Cluster: it lives where the Cluster's
    members do, so the Cluster it names must be one this plan places (checked on its own)."""
    clusters = {
        (c.inputs["metadata"]["namespace"], c.inputs["metadata"]["name"])
        for c in of_type(plan, "kubernetes:postgresql.cnpg.io/v1:Cluster")
    }
    cluster = (r.inputs["metadata"]["namespace"], r.inputs["spec"]["cluster"]["name"])
    assert cluster in clusters, f"{r.name}: names cluster {cluster}, not one of {sorted(clusters)}"


def cnpg_members_in_different_zones(plan: Plan, r: PlannedResource) -> None:
    spec = r.inputs["spec"]
    assert spec["instances"] >= 3
    assert spec["affinity"] == {
        "enablePodAntiAffinity": True,
        "topologyKey": ZONE,
        "podAntiAffinityType": "required",
    }, f"{r.name}: {spec['affinity']}"


def percona_members_in_different_zones(plan: Plan, r: PlannedResource) -> None:
    for replset in r.inputs["spec"]["replsets"]:
        # Percona turns antiAffinityTopologyKey into a required pod anti-affinity on that key.
        assert replset["size"] >= 3 and replset["affinity"] == {"antiAffinityTopologyKey": ZONE}, replset["name"]


def redis_roles_spread_over_zones(plan: Plan, r: PlannedResource) -> None:
    spec = r.inputs["spec"]
    name = r.inputs["metadata"]["name"]
    for role in ("leader", "follower"):
        constraints = spec[f"redis{role.capitalize()}"]["topologySpreadConstraints"]
        # The operator labels each role's pods `app: <cluster>-<role>` (its StatefulSets' selectors).
        assert {
            "maxSkew": 1,
            "topologyKey": ZONE,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": f"{name}-{role}"}},
        } in constraints, f"{name} {role}s: {constraints}"


def strimzi_brokers_rack_aware_by_zone(plan: Plan, r: PlannedResource) -> None:
    # Strimzi's rack: each broker's broker.rack is its zone (replicas of a partition go to
    # different zones) and the pods get an anti-affinity on the zone key.
    assert r.inputs["spec"]["kafka"].get("rack") == {"topologyKey": ZONE}, r.inputs["spec"]["kafka"].get("rack")


def strimzi_pool_placed_by_its_cluster(plan: Plan, r: PlannedResource) -> None:
    assert r.inputs["spec"]["replicas"] >= 3
    (kafka,) = [k for k in of_type(plan, "kubernetes:kafka.strimzi.io/v1:Kafka") if k.parent == r.parent]
    strimzi_brokers_rack_aware_by_zone(plan, kafka)


ZONE_CHECKS: dict[str, Callable[[Plan, PlannedResource], None]] = {
    "aws:rds/instance:Instance": rds_survives_a_zone,
    "aws:elasticache/replicationGroup:ReplicationGroup": elasticache_survives_a_zone,
    "aws:msk/cluster:Cluster": msk_survives_a_zone,
    "aws:s3/bucket:Bucket": regional_by_design,
    "aws:kms/key:Key": regional_by_design,
    "azure-native:dbforpostgresql:Server": flexible_server_survives_a_zone,
    "azure-native:dbforpostgresql:Database": part_of_its_server,
    "azure-native:redisenterprise:RedisEnterprise": managed_redis_survives_a_zone,
    "azure-native:redisenterprise:Database": part_of_its_server,
    "azure-native:storage:StorageAccount": storage_account_survives_a_zone,
    "kubernetes:postgresql.cnpg.io/v1:Cluster": cnpg_members_in_different_zones,
    "kubernetes:postgresql.cnpg.io/v1:Database": cnpg_database_inside_a_placed_cluster,
    "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": percona_members_in_different_zones,
    "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster": redis_roles_spread_over_zones,
    "kubernetes:kafka.strimzi.io/v1:Kafka": strimzi_brokers_rack_aware_by_zone,
    "kubernetes:kafka.strimzi.io/v1:KafkaNodePool": strimzi_pool_placed_by_its_cluster,
}


def stateful_data_resources(plan: Plan) -> list[PlannedResource]:
    """What holds data in the data layer: staging/prod protect exactly those resources."""
    parents = {r.urn: r.type for r in plan.resources if not r.custom}
    return [r for r in plan.resources if r.protect and parents.get(r.parent or "", "").startswith("bakhmach:data:")]


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_every_stateful_data_resource_survives_the_loss_of_a_zone(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    found = stateful_data_resources(plan)
    assert found, "no stateful data resources: the protect flag or the component types changed"
    unknown = sorted({r.type for r in found} - set(ZONE_CHECKS))
    assert unknown == [], f"no zone check for {unknown}: add one to ZONE_CHECKS"
    for r in found:
        ZONE_CHECKS[r.type](plan, r)


# ---- one named test per data service and backend (the same checks, found by what they guard) -----


@pytest.mark.parametrize("data_plan", plans_where("postgres", "aws"), ids=ids(plans_where("postgres", "aws")))
def test_rds_primary_is_multi_az_over_three_zones(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    rds_survives_a_zone(plan, data_resource(plan, "aws:rds/instance:Instance", "data-postgres-primary"))


@pytest.mark.parametrize("data_plan", plans_where("postgres", "azure"), ids=ids(plans_where("postgres", "azure")))
def test_flexible_server_primary_is_zone_redundant(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    flexible_server_survives_a_zone(
        plan, data_resource(plan, "azure-native:dbforpostgresql:Server", "data-postgres-primary")
    )


@pytest.mark.parametrize(
    "data_plan", plans_where("postgres", "in-cluster"), ids=ids(plans_where("postgres", "in-cluster"))
)
def test_in_cluster_postgres_members_require_different_zones(data_plan: DataPlan) -> None:
    (cluster,) = of_type(data_plan.plan(), "kubernetes:postgresql.cnpg.io/v1:Cluster")
    cnpg_members_in_different_zones(data_plan.plan(), cluster)


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_mongo_members_require_different_zones(data_plan: DataPlan) -> None:
    (replica_set,) = of_type(data_plan.plan(), "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB")
    percona_members_in_different_zones(data_plan.plan(), replica_set)


@pytest.mark.parametrize("data_plan", plans_where("redis", "aws"), ids=ids(plans_where("redis", "aws")))
def test_elasticache_is_multi_az_with_automatic_failover(data_plan: DataPlan) -> None:
    (group,) = of_type(data_plan.plan(), "aws:elasticache/replicationGroup:ReplicationGroup")
    elasticache_survives_a_zone(data_plan.plan(), group)


@pytest.mark.parametrize("data_plan", plans_where("redis", "azure"), ids=ids(plans_where("redis", "azure")))
def test_managed_redis_is_highly_available(data_plan: DataPlan) -> None:
    (cluster,) = of_type(data_plan.plan(), "azure-native:redisenterprise:RedisEnterprise")
    managed_redis_survives_a_zone(data_plan.plan(), cluster)


@pytest.mark.parametrize("data_plan", plans_where("redis", "in-cluster"), ids=ids(plans_where("redis", "in-cluster")))
def test_in_cluster_redis_spreads_leaders_and_followers_over_zones(data_plan: DataPlan) -> None:
    (cluster,) = of_type(data_plan.plan(), "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster")
    redis_roles_spread_over_zones(data_plan.plan(), cluster)


@pytest.mark.parametrize("data_plan", plans_where("kafka", "aws"), ids=ids(plans_where("kafka", "aws")))
def test_msk_brokers_sit_in_three_zones(data_plan: DataPlan) -> None:
    (cluster,) = of_type(data_plan.plan(), "aws:msk/cluster:Cluster")
    msk_survives_a_zone(data_plan.plan(), cluster)


@pytest.mark.parametrize("data_plan", plans_where("kafka", "in-cluster"), ids=ids(plans_where("kafka", "in-cluster")))
def test_in_cluster_kafka_is_rack_aware_by_zone(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    (kafka,) = of_type(plan, "kubernetes:kafka.strimzi.io/v1:Kafka")
    strimzi_brokers_rack_aware_by_zone(plan, kafka)
    for pool in of_type(plan, "kubernetes:kafka.strimzi.io/v1:KafkaNodePool"):
        strimzi_pool_placed_by_its_cluster(plan, pool)


AZURE_PLANS = [p for p in HA_PLANS if p.cloud == "azure"]


@pytest.mark.parametrize("data_plan", AZURE_PLANS, ids=ids(AZURE_PLANS))
def test_azure_backup_storage_is_zone_redundant_and_geo_redundant_in_prod(data_plan: DataPlan) -> None:
    accounts = [
        r for r in of_type(data_plan.plan(), "azure-native:storage:StorageAccount") if r.name.startswith("data-")
    ]
    assert accounts
    expected = "Standard_GZRS" if data_plan.stack == "prod" else "Standard_ZRS"  # prod: "+ cross-region"
    assert {a.inputs["sku"]["name"] for a in accounts} == {expected}


def test_dev_asks_no_zone_of_its_single_kind_node() -> None:
    """One kind node, one zone: a required zone rule would leave every second member Pending."""
    plan = DataPlan("dev", "kind").plan()
    affinity = one(plan, "Cluster", "postgres", "data")["spec"]["affinity"]
    assert affinity["podAntiAffinityType"] == "preferred" and affinity["topologyKey"] == HOST
    (replset,) = one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]["replsets"]
    assert replset["affinity"] == {"antiAffinityTopologyKey": HOST}
    redis = one(plan, "RedisCluster", "redis", "data")["spec"]
    for role in ("redisLeader", "redisFollower"):
        assert {c["topologyKey"] for c in redis[role]["topologySpreadConstraints"]} == {HOST}
        assert {c["whenUnsatisfiable"] for c in redis[role]["topologySpreadConstraints"]} == {"ScheduleAnyway"}
    assert "rack" not in one(plan, "Kafka", "kafka", "data")["spec"]["kafka"]


# ---- context services ---------------------------------------------------------------------------


def context_deployments(plan: Plan) -> list[dict[str, Any]]:
    """Every context service's Deployment on every cluster of the stack (prod: both regions)."""
    found = [
        r.inputs
        for r in plan.resources
        if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"].get("namespace") in CONTEXT_NAMESPACES
    ]
    clusters = 2 if plan.stack == "prod" else 1
    assert len(found) == 7 * clusters, f"expected the 7 application services per cluster, found {len(found)}"
    return found


def test_every_context_service_with_more_than_one_replica_spreads_over_zones_and_nodes(any_plan: Plan) -> None:
    replicated = 0
    for deployment in context_deployments(any_plan):
        spec = deployment["spec"]
        if spec["replicas"] <= 1:
            continue
        replicated += 1
        pods = spec["template"]["metadata"]["labels"]
        constraints = spec["template"]["spec"].get("topologySpreadConstraints") or []
        name = deployment["metadata"]["name"]
        for key in (ZONE, HOST):
            (constraint,) = [c for c in constraints if c["topologyKey"] == key] or [None]
            assert constraint is not None, f"{name} ({spec['replicas']} replicas) does not spread over {key}"
            assert constraint["maxSkew"] == 1, name
            # It counts this service's own pods, and only them.
            assert constraint["labelSelector"]["matchLabels"].items() <= pods.items(), name
            assert constraint["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"], name
    # Staging runs 2 and prod at least 3 of every service: each one is replicated there.
    assert replicated == (0 if any_plan.stack == "dev" else len(context_deployments(any_plan)))


def test_rolling_updates_never_drop_below_the_desired_count(any_plan: Plan) -> None:
    """A new pod starts (and turns ready) before an old one goes: maxUnavailable 0, maxSurge 1.
    Dev's single replica (the seed's "1 per service", no HA) is the one exception it may take."""
    for deployment in context_deployments(any_plan):
        spec = deployment["spec"]
        strategy = spec["strategy"]
        name = deployment["metadata"]["name"]
        assert strategy["type"] == "RollingUpdate", name
        if spec["replicas"] > 1:
            assert strategy["rollingUpdate"]["maxUnavailable"] == 0, f"{name}: {strategy}"
            assert strategy["rollingUpdate"]["maxSurge"] >= 1, f"{name}: {strategy}"
    if any_plan.stack != "dev":
        assert all(d["spec"]["replicas"] >= 2 for d in context_deployments(any_plan))


def test_context_services_in_both_prod_regions_are_placed_alike() -> None:
    """The secondary region's services take over on failover: same spread, same rollout."""
    for cloud in ("aws", "azure"):
        plan = DataPlan("prod", cloud).plan()
        by_name: dict[str, list[dict[str, Any]]] = {}
        for deployment in context_deployments(plan):
            by_name.setdefault(deployment["metadata"]["name"], []).append(deployment["spec"])
        for name, (first, second) in by_name.items():
            for spec in (first, second):
                assert spec["replicas"] >= 3, name
            assert first["strategy"] == second["strategy"], name
            placement = [s["template"]["spec"].get("topologySpreadConstraints") for s in (first, second)]
            assert placement[0] == placement[1], name
