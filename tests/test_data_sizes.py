"""The data layer's sizes: the seed's numbers, and the project's own choices, per stack and cloud.

Both are written out here, independently of `settings/data.py`, and checked against what each
plan would create: the five stacks (dev on kind, staging and prod on AWS and Azure) and the
staging/prod stacks with every data service overridden to in-cluster (`planned_in_cluster`).
A changed number fails a test named after it.

The seed's numbers ("Database Architecture", "Cache Layer"):
- MongoDB: "3-node replica set", "Storage: 500GB per context (projected)". Every member of a
  replica set holds all of its data, so each member's volume holds 500 GB for each of the six
  contexts (3000 GB), not only for the four that use MongoDB by default: the seed states the
  figure per context for the whole platform, its shard key is "tenant_id + context_id" for every
  context, and which context stores documents is the project's reading of the matrix
  (`SERVICE_DATA_NEEDS`), which a stack file may change (`services.<name>.data`); a volume can grow
  but never shrink, so it is sized for the seed's six from the start.
- Redis: "Nodes: 6 (master-replica pairs)", "Memory: 128GB distributed": three shards, each a
  primary with one replica, whose primaries hold 128 GB together. ElastiCache: node-type memory x
  shards; Azure Managed Redis: the SKU's memory (its shards are the SKU's choice); in-cluster: each
  leader pod's memory x leaders.
- PostgreSQL: "Primary-1 (master)", "Replicas: Replica-1, Replica-2 (streaming replication)".
The seed gives no Kafka numbers and no PostgreSQL size: those are the project's (the table).
GB in the seed is decimal (10^9 bytes); Kubernetes `Gi` and the clouds' GiB are 2^30.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from hubctl.cli import main
from hubctl.plan import REPO_ROOT, Plan, PlannedResource
from settings import SettingsError, load_settings, resolve_stack
from tests.planning import DATA_PLANS, DataPlan, k8s, of_type, one, outside_dr

GB = 10**9
GiB = 2**30

# ---- the seed ----------------------------------------------------------------------------------
SEED_CONTEXTS = 6  # "6 parallel business contexts"
SEED_MONGO_GB_PER_CONTEXT = 500  # "Storage: 500GB per context (projected)"
SEED_MONGO_MEMBERS = 3  # "Nodes: 3-node replica set"
SEED_REDIS_MEMORY_GB = 128  # "Memory: 128GB distributed"
SEED_REDIS_NODES = 6  # "Nodes: 6 (master-replica pairs)"
SEED_POSTGRES_REPLICAS = 2  # "Replicas: Replica-1, Replica-2 (streaming replication)"

# Memory per ElastiCache node type, GiB: the "Memory (GiB)" column of the on-demand node table on
# https://aws.amazon.com/elasticache/pricing/ (the same figures as the AWS Price List API's
# `memory` attribute for AmazonElastiCache). The r7g figures equal r6g's. ElastiCache keeps 25%
# of it back for backups and failover by default (`reserved-memory-percent`; "Managing reserved
# memory for Valkey and Redis OSS"), which the seed's "memory" does not subtract.
ELASTICACHE_NODE_MEMORY_GIB = {
    "cache.t4g.micro": 0.5,
    "cache.r7g.large": 13.07,
    "cache.r7g.xlarge": 26.32,
    "cache.r7g.2xlarge": 52.82,
    "cache.r7g.4xlarge": 105.81,
}
# Memory per Azure Managed Redis SKU, GB: "Tiers and SKUs at a glance" and the Balanced column of
# the connections table in Microsoft's "What is Azure Managed Redis?" (MicrosoftDocs/azure-docs
# articles/redis/overview.md): Balanced B0 ... B1000 are 0.5 ... 960 GB.
AZURE_MANAGED_REDIS_MEMORY_GB = {
    "Balanced_B0": 0.5,
    "Balanced_B1": 1,
    "Balanced_B3": 3,
    "Balanced_B5": 6,
    "Balanced_B10": 12,
    "Balanced_B20": 24,
    "Balanced_B50": 60,
    "Balanced_B100": 120,
    "Balanced_B150": 180,
    "Balanced_B250": 240,
}


# ---- the project's sizing (settings/data.py `SIZES`), written out --------------------------------
class Postgres(NamedTuple):
    members: int  # primary + streaming replicas
    storage_gib: int
    cpu: str  # in-cluster pods: request; memory is request and limit
    memory: str
    rds_class: str
    flexible_sku: tuple[str, str]  # (name, tier)


class Mongo(NamedTuple):
    members: int
    storage_gib: int
    cpu: str
    memory: str


class Redis(NamedTuple):
    shards: int
    replicas_per_shard: int
    cpu: str
    memory: str  # per in-cluster pod
    volume: str  # per in-cluster pod
    elasticache_node: str
    azure_sku: str


class Kafka(NamedTuple):
    brokers: int
    controllers: int  # 0: the brokers are also the KRaft controllers
    storage_gib: int  # per broker
    cpu: str
    memory: str
    msk_broker: str
    replication_factor: int
    min_insync_replicas: int


class Sizes(NamedTuple):
    postgres: Postgres
    mongo: Mongo
    redis: Redis
    kafka: Kafka


# Prod: the seed's figures where it has them. Staging: "Resources: 50% production" (half the CPU,
# memory, instance class and volumes; PostgreSQL's disk is a Flexible Server tier, so 128 GiB).
# Dev: "Resources: Minimal", single members except Redis, whose cluster mode needs three primaries.
SIZES: dict[str, Sizes] = {
    "dev": Sizes(
        Postgres(1, 5, "100m", "256Mi", "db.t4g.micro", ("Standard_B1ms", "Burstable")),
        Mongo(1, 5, "100m", "512Mi"),
        Redis(3, 1, "50m", "128Mi", "1Gi", "cache.t4g.micro", "Balanced_B0"),
        Kafka(1, 0, 5, "200m", "1Gi", "kafka.t3.small", 1, 1),
    ),
    "staging": Sizes(
        Postgres(3, 128, "1", "4Gi", "db.r7g.large", ("Standard_D2ds_v5", "GeneralPurpose")),
        Mongo(3, 1500, "1", "4Gi"),
        Redis(3, 1, "1", "24Gi", "20Gi", "cache.r7g.xlarge", "Balanced_B50"),
        Kafka(3, 3, 250, "1", "4Gi", "kafka.m7g.large", 3, 2),
    ),
    "prod": Sizes(
        Postgres(3, 512, "2", "8Gi", "db.r7g.xlarge", ("Standard_D4ds_v5", "GeneralPurpose")),
        Mongo(3, 3000, "2", "8Gi"),
        Redis(3, 1, "2", "48Gi", "20Gi", "cache.r7g.2xlarge", "Balanced_B150"),
        Kafka(3, 3, 500, "2", "8Gi", "kafka.m7g.xlarge", 3, 2),
    ),
}

HA_PLANS = [p for p in DATA_PLANS if p.stack != "dev"]
PROD_PLANS = [p for p in DATA_PLANS if p.stack == "prod"]


def ids(plans: list[DataPlan]) -> list[str]:
    return [p.id for p in plans]


def quantity_bytes(value: str) -> int:
    """A Kubernetes memory/storage quantity in bytes (the suffixes this stack writes)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", value)
    assert match, f"not a quantity this test reads: {value!r}"
    number, unit = match.groups()
    factor = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    return int(float(number) * factor.get(unit, 10**12))


def _primary_and_replicas(plan: Plan, type_: str) -> tuple[PlannedResource, list[PlannedResource]]:
    servers = [r for r in of_type(plan, type_) if r.name.startswith("data-postgres-")]
    primaries = [r for r in servers if not re.search(r"-replica-\d+$", r.name)]
    assert len(primaries) == 1, f"expected one primary {type_}, found {[r.name for r in primaries]}"
    return primaries[0], [r for r in servers if r is not primaries[0]]


# ---- what each plan runs, read the same way for every backend -----------------------------------


def postgres_as_planned(v: DataPlan) -> dict[str, Any]:
    plan = v.plan()
    backend = v.backend("postgres")
    if backend == "in-cluster":
        spec = one(plan, "Cluster", "postgres", "data")["spec"]
        return {
            "members": spec["instances"],
            "storage": spec["storage"]["size"],
            "resources": spec["resources"],
        }
    if backend == "aws":
        primary, replicas = _primary_and_replicas(plan, "aws:rds/instance:Instance")
        return {
            "members": 1 + len(replicas),
            "storage": primary.inputs["allocatedStorage"],
            "class": {primary.inputs["instanceClass"], *(r.inputs["instanceClass"] for r in replicas)},
        }
    primary, replicas = _primary_and_replicas(plan, "azure-native:dbforpostgresql:Server")
    return {
        "members": 1 + len(replicas),
        "storage": {r.inputs["storage"]["storageSizeGB"] for r in (primary, *replicas)},
        "sku": {(r.inputs["sku"]["name"], r.inputs["sku"]["tier"]) for r in (primary, *replicas)},
    }


def postgres_in_table(v: DataPlan) -> dict[str, Any]:
    size = SIZES[v.stack].postgres
    backend = v.backend("postgres")
    if backend == "in-cluster":
        return {
            "members": size.members,
            "storage": f"{size.storage_gib}Gi",
            "resources": {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}},
        }
    if backend == "aws":
        return {"members": size.members, "storage": size.storage_gib, "class": {size.rds_class}}
    return {"members": size.members, "storage": {size.storage_gib}, "sku": {size.flexible_sku}}


def mongo_as_planned(v: DataPlan) -> dict[str, Any]:
    (replset,) = one(v.plan(), "PerconaServerMongoDB", "mongo", "data")["spec"]["replsets"]
    return {
        "members": replset["size"],
        "storage": replset["volumeSpec"]["persistentVolumeClaim"]["resources"]["requests"]["storage"],
        "resources": replset["resources"],
    }


def mongo_in_table(v: DataPlan) -> dict[str, Any]:
    size = SIZES[v.stack].mongo
    return {
        "members": size.members,
        "storage": f"{size.storage_gib}Gi",
        "resources": {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}},
    }


def redis_as_planned(v: DataPlan) -> dict[str, Any]:
    plan = v.plan()
    backend = v.backend("redis")
    if backend == "in-cluster":
        spec = one(plan, "RedisCluster", "redis", "data")["spec"]
        return {
            "shards": spec["clusterSize"],
            "leaders": spec["redisLeader"]["replicas"],
            "followers": spec["redisFollower"]["replicas"],
            "resources": spec["kubernetesConfig"]["resources"],
            "volume": spec["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        }
    if backend == "aws":
        (group,) = outside_dr(plan, of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup"))
        i = group.inputs
        return {"shards": i["numNodeGroups"], "replicas_per_shard": i["replicasPerNodeGroup"], "node": i["nodeType"]}
    (cluster,) = outside_dr(plan, of_type(plan, "azure-native:redisenterprise:RedisEnterprise"))
    return {"sku": cluster.inputs["sku"]["name"], "highAvailability": cluster.inputs["highAvailability"]}


def redis_in_table(v: DataPlan) -> dict[str, Any]:
    size = SIZES[v.stack].redis
    backend = v.backend("redis")
    if backend == "in-cluster":
        return {
            "shards": size.shards,
            "leaders": size.shards,
            "followers": size.shards * size.replicas_per_shard,
            "resources": {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}},
            "volume": size.volume,
        }
    if backend == "aws":
        return {"shards": size.shards, "replicas_per_shard": size.replicas_per_shard, "node": size.elasticache_node}
    return {"sku": size.azure_sku, "highAvailability": "Enabled" if size.replicas_per_shard else "Disabled"}


def _server_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line.strip())


def kafka_as_planned(v: DataPlan) -> dict[str, Any]:
    plan = v.plan()
    if v.backend("kafka") == "aws":
        (cluster,) = outside_dr(plan, of_type(plan, "aws:msk/cluster:Cluster"))
        (configuration,) = outside_dr(plan, of_type(plan, "aws:msk/configuration:Configuration"))
        info = cluster.inputs["brokerNodeGroupInfo"]
        properties = _server_properties(configuration.inputs["serverProperties"])
        return {
            "brokers": cluster.inputs["numberOfBrokerNodes"],
            "storage": info["storageInfo"]["ebsStorageInfo"]["volumeSize"],
            "type": info["instanceType"],
            "replication": (int(properties["default.replication.factor"]), int(properties["min.insync.replicas"])),
        }
    pools = {p["metadata"]["name"]: p["spec"] for p in k8s(plan, "KafkaNodePool", namespace="data")}
    config = one(plan, "Kafka", "kafka", "data")["spec"]["kafka"]["config"]
    return {
        "pools": {name: (spec["replicas"], sorted(spec["roles"])) for name, spec in pools.items()},
        "storage": {v["size"] for spec in pools.values() for v in spec["storage"]["volumes"]},
        "resources": [spec["resources"] for spec in pools.values()],
        "replication": (config["default.replication.factor"], config["min.insync.replicas"]),
    }


def kafka_in_table(v: DataPlan) -> dict[str, Any]:
    size = SIZES[v.stack].kafka
    replication = (size.replication_factor, size.min_insync_replicas)
    if v.backend("kafka") == "aws":
        return {
            "brokers": size.brokers,
            "storage": size.storage_gib,
            "type": size.msk_broker,
            "replication": replication,
        }
    pools = (
        {"brokers": (size.brokers, ["broker"]), "controllers": (size.controllers, ["controller"])}
        if size.controllers
        else {"dual-role": (size.brokers, ["broker", "controller"])}
    )
    resources = {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}}
    return {
        "pools": pools,
        "storage": {f"{size.storage_gib}Gi"},
        "resources": [resources] * len(pools),
        "replication": replication,
    }


# ---- the table, per stack and cloud ------------------------------------------------------------


@pytest.mark.parametrize("data_plan", DATA_PLANS, ids=ids(DATA_PLANS))
def test_postgres_runs_the_environments_size(data_plan: DataPlan) -> None:
    assert postgres_as_planned(data_plan) == postgres_in_table(data_plan)


@pytest.mark.parametrize("data_plan", DATA_PLANS, ids=ids(DATA_PLANS))
def test_mongo_runs_the_environments_size(data_plan: DataPlan) -> None:
    assert mongo_as_planned(data_plan) == mongo_in_table(data_plan)


@pytest.mark.parametrize("data_plan", DATA_PLANS, ids=ids(DATA_PLANS))
def test_redis_runs_the_environments_size(data_plan: DataPlan) -> None:
    assert redis_as_planned(data_plan) == redis_in_table(data_plan)


@pytest.mark.parametrize("data_plan", DATA_PLANS, ids=ids(DATA_PLANS))
def test_kafka_runs_the_environments_size(data_plan: DataPlan) -> None:
    assert kafka_as_planned(data_plan) == kafka_in_table(data_plan)


# ---- the seed's numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("data_plan", PROD_PLANS, ids=ids(PROD_PLANS))
def test_prod_mongo_members_hold_500gb_for_each_of_the_six_contexts(data_plan: DataPlan) -> None:
    planned_mongo = mongo_as_planned(data_plan)
    assert planned_mongo["members"] == SEED_MONGO_MEMBERS
    # Each member of the replica set keeps a full copy: each volume holds every context's data.
    held = quantity_bytes(planned_mongo["storage"])
    needed = SEED_MONGO_GB_PER_CONTEXT * GB * SEED_CONTEXTS
    assert held >= needed, f"{planned_mongo['storage']} per member < {SEED_CONTEXTS} x {SEED_MONGO_GB_PER_CONTEXT} GB"


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_mongo_is_the_seeds_three_node_replica_set(data_plan: DataPlan) -> None:
    assert mongo_as_planned(data_plan)["members"] == SEED_MONGO_MEMBERS


def redis_memory_bytes(v: DataPlan) -> float:
    """What the shards' primaries hold together, from what the plan says."""
    planned_redis = redis_as_planned(v)
    backend = v.backend("redis")
    if backend == "in-cluster":
        limit = planned_redis["resources"]["limits"]["memory"]
        return float(quantity_bytes(limit) * planned_redis["leaders"])
    if backend == "aws":
        node = planned_redis["node"]
        assert node in ELASTICACHE_NODE_MEMORY_GIB, (
            f"add {node}'s memory (with its source) to ELASTICACHE_NODE_MEMORY_GIB"
        )
        return ELASTICACHE_NODE_MEMORY_GIB[node] * GiB * planned_redis["shards"]
    sku = planned_redis["sku"]
    assert sku in AZURE_MANAGED_REDIS_MEMORY_GB, (
        f"add {sku}'s memory (with its source) to AZURE_MANAGED_REDIS_MEMORY_GB"
    )
    return AZURE_MANAGED_REDIS_MEMORY_GB[sku] * GB


@pytest.mark.parametrize("data_plan", PROD_PLANS, ids=ids(PROD_PLANS))
def test_prod_redis_holds_128gb_distributed_over_its_shards(data_plan: DataPlan) -> None:
    memory = redis_memory_bytes(data_plan)
    assert memory >= SEED_REDIS_MEMORY_GB * GB, f"{memory / GB:.1f} GB < the seed's {SEED_REDIS_MEMORY_GB} GB"


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_redis_is_six_nodes_in_primary_replica_pairs(data_plan: DataPlan) -> None:
    planned_redis = redis_as_planned(data_plan)
    backend = data_plan.backend("redis")
    if backend == "in-cluster":
        assert planned_redis["leaders"] == planned_redis["followers"] == planned_redis["shards"]
        assert planned_redis["leaders"] + planned_redis["followers"] == SEED_REDIS_NODES
    elif backend == "aws":
        assert planned_redis["replicas_per_shard"] == 1
        assert planned_redis["shards"] * (1 + planned_redis["replicas_per_shard"]) == SEED_REDIS_NODES
    else:
        # Azure Managed Redis sizes its shards from the SKU; high availability gives every shard
        # a replica on another node.
        assert planned_redis["highAvailability"] == "Enabled"


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_postgres_is_a_primary_with_two_streaming_replicas(data_plan: DataPlan) -> None:
    assert postgres_as_planned(data_plan)["members"] == 1 + SEED_POSTGRES_REPLICAS


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_kafka_keeps_each_write_on_two_of_three_brokers(data_plan: DataPlan) -> None:
    """The seed names no Kafka size; the project's: three brokers, every partition on three of
    them, a write acknowledged by two, so one broker (or zone) may be down without losing one."""
    planned_kafka = kafka_as_planned(data_plan)
    brokers = planned_kafka["brokers"] if data_plan.backend("kafka") == "aws" else planned_kafka["pools"]["brokers"][0]
    factor, min_insync = planned_kafka["replication"]
    assert brokers >= factor == 3 and min_insync == factor - 1


# ---- staging is "50% production" -----------------------------------------------------------------


def _members_resources(v: DataPlan) -> dict[str, tuple[int, int]]:
    """(CPU request in millicores, memory in bytes) of each in-cluster data service's members."""
    found = {"mongo": mongo_as_planned(v)["resources"]}
    if v.backend("postgres") == "in-cluster":
        found["postgres"] = postgres_as_planned(v)["resources"]
    if v.backend("redis") == "in-cluster":
        found["redis"] = redis_as_planned(v)["resources"]
    if v.backend("kafka") == "in-cluster":
        (found["kafka"],) = {repr(r): r for r in kafka_as_planned(v)["resources"]}.values()
    return {
        service: (_millicores(r["requests"]["cpu"]), quantity_bytes(r["requests"]["memory"]))
        for service, r in found.items()
    }


def _millicores(cpu: str) -> int:
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


@pytest.mark.parametrize(("cloud", "in_cluster"), [("aws", False), ("azure", False), ("aws", True), ("azure", True)])
def test_staging_data_members_get_half_of_prods_resources(cloud: str, in_cluster: bool) -> None:
    staging = _members_resources(DataPlan("staging", cloud, in_cluster))
    prod = _members_resources(DataPlan("prod", cloud, in_cluster))
    assert staging.keys() == prod.keys()
    assert staging == {service: (cpu // 2, memory // 2) for service, (cpu, memory) in prod.items()}


# ---- the settings layer keeps prod at its size ---------------------------------------------------


def _stack_settings(environment: str, cloud: str, storage_gib: int) -> Any:
    """The environment's own stack file on `cloud`, with the PostgreSQL disk overridden: every
    other key as the stack file has it, so only the size is under test."""
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{environment}.yaml").read_text())
    prefix = "bakhmach-hub:"
    values = {key[len(prefix) :]: value for key, value in document["config"].items() if key.startswith(prefix)}
    values["cloud"] = cloud
    values["data"] = {"postgres": {"storageGib": storage_gib}}
    return load_settings(values, source=f"Pulumi.{environment}.yaml")


@pytest.mark.parametrize(("cloud", "gib"), [("aws", 100), ("aws", 511), ("azure", 256), ("azure", 128)])
def test_prod_refuses_a_postgres_disk_below_its_size(cloud: str, gib: int) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve_stack(_stack_settings("prod", cloud, gib), "Pulumi.prod.yaml")
    message = str(caught.value)
    assert "bakhmach-hub:data.postgres.storageGib: " in message
    assert f"{gib} GiB is below prod's floor of {SIZES['prod'].postgres.storage_gib} GiB" in message
    assert f"(allowed: {SIZES['prod'].postgres.storage_gib} or more" in message


@pytest.mark.parametrize(("cloud", "gib"), [("aws", 512), ("aws", 2000), ("azure", 512), ("azure", 1024)])
def test_prod_takes_a_postgres_disk_at_or_above_its_size(cloud: str, gib: int) -> None:
    assert resolve_stack(_stack_settings("prod", cloud, gib), "Pulumi.prod.yaml").data.sizes.postgres.storage_gib == gib


def test_staging_may_take_a_smaller_postgres_disk() -> None:
    """The floor is prod's: staging's size is a cost choice a stack file may lower."""
    settings = _stack_settings("staging", "aws", 64)
    assert resolve_stack(settings, "Pulumi.staging.yaml").data.sizes.postgres.storage_gib == 64


def test_a_prod_stack_file_below_the_floor_stops_the_plan_naming_key_and_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = yaml.safe_load((Path(__file__).resolve().parents[1] / "Pulumi.prod.yaml").read_text())
    source["config"]["bakhmach-hub:data"] = {"postgres": {"storageGib": 256}}
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(source))
    assert main(["plan", "prod", "--summary", "--stack-file", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "bakhmach-hub:data.postgres.storageGib: 256 GiB is below prod's floor of 512 GiB" in err
