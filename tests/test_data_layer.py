"""The seed's data layer as each stack plans it: PostgreSQL, MongoDB, Redis and Kafka, with the
backend settings choose, the seed's sizes, and secrets that never leave Pulumi's secret handling."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest

from hubctl.plan import REPO_ROOT, Plan
from settings import SettingsError, load_settings, resolve_stack
from settings.data import FLEXIBLE_SERVER_STORAGE_GIB, SIZES, resolve_data_layer
from tests.planning import (
    DATA_PLANS,
    STACKS,
    DataPlan,
    k8s,
    of_type,
    one,
    planned,
    planned_in_cluster,
    primary_provider,
    resource,
    resource_options,
)

AWS_STACKS = [("staging", "aws"), ("prod", "aws")]
AZURE_STACKS = [("staging", "azure"), ("prod", "azure")]
GENERATED = "offline-password"  # what the mocks answer for every generated password and key


def layer(plan: Plan, type_: str):  # type: ignore[no-untyped-def]
    """The data layer's own resources of a type (prod's copies in the other region are components/dr's)."""
    return [r for r in of_type(plan, type_) if r.name.startswith("data-")]


def only(plan: Plan, type_: str):  # type: ignore[no-untyped-def]
    found = [r for r in layer(plan, type_) if not re.search(r"-replica-\d+$", r.name)]
    assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
    return found[0]


# ---- dev: everything in-cluster, minimal -------------------------------------------------


def test_dev_runs_every_data_service_in_cluster_through_operators(dev_plan: Plan) -> None:
    releases = {r.inputs["name"] for r in of_type(dev_plan, "kubernetes:helm.sh/v3:Release")}
    assert {"cloudnative-pg", "psmdb-operator", "redis-operator", "strimzi"} <= releases
    # Dev has no backups ("Backups: None"), so no Barman plugin, no object store.
    assert "plugin-barman-cloud" not in releases
    assert k8s(dev_plan, "ObjectStore") == [] and k8s(dev_plan, "ScheduledBackup") == []
    assert not [r for r in dev_plan.resources if r.type.startswith(("aws:", "azure-native:"))]


def test_dev_sizes_are_minimal(dev_plan: Plan) -> None:
    assert one(dev_plan, "Cluster", "postgres", "data")["spec"]["instances"] == 1
    assert one(dev_plan, "PerconaServerMongoDB", "mongo", "data")["spec"]["replsets"][0]["size"] == 1
    (pool,) = k8s(dev_plan, "KafkaNodePool", namespace="data")
    assert pool["spec"]["replicas"] == 1 and sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    redis = one(dev_plan, "RedisCluster", "redis", "data")["spec"]
    assert redis["clusterSize"] == 3  # Redis cluster mode needs three primaries


def test_operators_come_before_their_custom_resources(dev_plan: Plan) -> None:
    urns = {r.inputs.get("name"): r.urn for r in of_type(dev_plan, "kubernetes:helm.sh/v3:Release")}
    expected = {
        "kubernetes:postgresql.cnpg.io/v1:Cluster": "cloudnative-pg",
        "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": "psmdb-operator",
        "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster": "redis-operator",
        "kubernetes:kafka.strimzi.io/v1:Kafka": "strimzi",
        "kubernetes:kafka.strimzi.io/v1:KafkaNodePool": "strimzi",
    }
    for type_, release in expected.items():
        found = of_type(dev_plan, type_)
        assert found, f"dev plans no {type_}"
        for r in found:
            assert urns[release] in r.dependencies, f"{r.name} does not wait for {release}"


# ---- staging/prod: the seed's sizes --------------------------------------------------------


@pytest.mark.parametrize(("stack", "cloud"), AWS_STACKS)
def test_aws_postgres_is_rds_multi_az_with_two_replicas_pitr_and_encryption(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    primary = only(plan, "aws:rds/instance:Instance")
    i = primary.inputs
    assert i["engine"] == "postgres" and int(i["engineVersion"]) >= 15
    assert i["multiAz"] is True and i["storageEncrypted"] is True and i["publiclyAccessible"] is False
    assert i["backupRetentionPeriod"] == 30 and i["deletionProtection"] is True
    assert i["password"] == "[secret]" and primary.protect
    replicas = [r for r in layer(plan, "aws:rds/instance:Instance") if r is not primary]
    assert len(replicas) == 2
    assert all(r.inputs["replicateSourceDb"] == i["identifier"] and r.protect for r in replicas)
    params = only(plan, "aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    assert {(p["name"], p["value"]) for p in params} == {
        ("rds.force_ssl", "1"),
        ("ssl_min_protocol_version", "TLSv1.3"),
    }


@pytest.mark.parametrize(("stack", "cloud"), AWS_STACKS)
def test_aws_redis_is_elasticache_cluster_mode_three_shards_one_replica_lru(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    group = only(plan, "aws:elasticache/replicationGroup:ReplicationGroup")
    i = group.inputs
    assert (i["numNodeGroups"], i["replicasPerNodeGroup"]) == (3, 1)
    assert i["clusterMode"] == "enabled" and i["automaticFailoverEnabled"] is True
    assert i["transitEncryptionEnabled"] is True and i["atRestEncryptionEnabled"] is True
    # RBAC users (tests/test_data_isolation.py), not the one AUTH token every client would share.
    assert "authToken" not in i and len(i["userGroupIds"]) == 1
    assert i["engineVersion"].startswith("7.") and group.protect
    params = {
        p["name"]: p["value"] for p in only(plan, "aws:elasticache/parameterGroup:ParameterGroup").inputs["parameters"]
    }
    assert params == {"cluster-enabled": "yes", "maxmemory-policy": "allkeys-lru"}


# The seed's "Eviction Policy: allkeys-lru", written out: settings/data.py's constant is not read.
SEED_REDIS_EVICTION = "allkeys-lru"
# Azure Managed Redis spells the same policies its own way (its Database's `evictionPolicy`).
MANAGED_REDIS_EVICTION = {"AllKeysLRU": "allkeys-lru", "VolatileLRU": "volatile-lru", "NoEviction": "noeviction"}


@pytest.mark.parametrize("data_plan", DATA_PLANS, ids=[p.id for p in DATA_PLANS])
def test_every_redis_evicts_allkeys_lru_whichever_backend(data_plan: DataPlan) -> None:
    """The eviction policy where each backend takes it: ElastiCache's parameter group, the Managed
    Redis database, and the config file the OT operator appends to every in-cluster member's."""
    plan = data_plan.plan()
    backend = data_plan.backend("redis")
    if backend == "aws":
        group = only(plan, "aws:elasticache/parameterGroup:ParameterGroup").inputs["parameters"]
        policy = {p["name"]: p["value"] for p in group}["maxmemory-policy"]
    elif backend == "azure":
        database = only(plan, "azure-native:redisenterprise:Database")
        policy = MANAGED_REDIS_EVICTION.get(database.inputs["evictionPolicy"])
    else:
        (cluster,) = k8s(plan, "RedisCluster", namespace="data")
        # Leaders and followers read the same ConfigMap.
        roles = ("redisLeader", "redisFollower")
        (name,) = {cluster["spec"][role]["redisConfig"]["additionalRedisConfig"] for role in roles}
        conf = one(plan, "ConfigMap", name, "data")["data"]["redis-additional.conf"].splitlines()
        (policy,) = [line.split()[1] for line in conf if line.startswith("maxmemory-policy ")]
    assert policy == SEED_REDIS_EVICTION, f"{data_plan.id} ({backend}): {policy}"


@pytest.mark.parametrize(("stack", "cloud"), AWS_STACKS)
def test_aws_kafka_is_msk_three_brokers_three_zones_tls_and_encrypted(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    msk = only(plan, "aws:msk/cluster:Cluster")
    i = msk.inputs
    assert i["numberOfBrokerNodes"] == 3 and len(set(i["brokerNodeGroupInfo"]["clientSubnets"])) == 3
    assert i["encryptionInfo"]["encryptionInTransit"] == {"inCluster": True, "clientBroker": "TLS"}
    assert i["encryptionInfo"]["encryptionAtRestKmsKeyArn"]
    assert i["clientAuthentication"]["sasl"]["scram"] is True and i["clientAuthentication"]["unauthenticated"] is False
    assert i["kafkaVersion"].endswith(".kraft") and msk.protect
    secrets = layer(plan, "aws:secretsmanager/secret:Secret")
    assert secrets  # one per SCRAM login (tests/test_data_isolation.py)
    for scram in secrets:
        # MSK reads only AmazonMSK_* secrets; a prefix (not a fixed name) survives the recovery window.
        assert scram.inputs["namePrefix"].startswith("AmazonMSK_") and "name" not in scram.inputs
        assert scram.inputs["kmsKeyId"]  # MSK refuses SCRAM secrets under the default AWS key


@pytest.mark.parametrize(("stack", "cloud"), AWS_STACKS)
def test_managed_aws_services_are_private_and_reachable_from_nodes_only(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    groups = [r for r in of_type(plan, "aws:ec2/securityGroup:SecurityGroup") if r.name.startswith("data-")]
    assert {g.name for g in groups} == {"data-postgres-sg", "data-redis-sg", "data-kafka-sg"}
    for g in groups:
        (rule,) = g.inputs["ingress"]
        assert "cidrBlocks" not in rule and len(rule["securityGroups"]) == 1
        assert rule["fromPort"] == rule["toPort"]


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_azure_postgres_is_zone_redundant_flexible_server_with_replicas(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    server = only(plan, "azure-native:dbforpostgresql:Server")
    i = server.inputs
    assert int(i["version"]) >= 15 and i["highAvailability"]["mode"] == "ZoneRedundant"
    assert i["network"]["publicNetworkAccess"] == "Disabled" and i["network"]["delegatedSubnetResourceId"]
    assert i["backup"]["backupRetentionDays"] == 30
    assert i["backup"]["geoRedundantBackup"] == ("Enabled" if stack == "prod" else "Disabled")
    assert i["administratorLoginPassword"] == "[secret]" and server.protect
    replicas = [r for r in layer(plan, "azure-native:dbforpostgresql:Server") if r is not server]
    assert len(replicas) == 2 and all(r.inputs["createMode"] == "Replica" for r in replicas)
    # <name>.postgres.database.azure.com is shared by every tenant: a random suffix keeps it free.
    assert re.fullmatch(rf"bakhmach-{stack}-pg-[a-z0-9]+", i["serverName"])
    assert sorted(r.inputs["serverName"] for r in replicas) == [f"{i['serverName']}-r1", f"{i['serverName']}-r2"]
    # TLS 1.3 minimum on every server, primary and replicas ("TLS 1.3" in the seed).
    tls = layer(plan, "azure-native:dbforpostgresql:Configuration")
    assert {(c.inputs["configurationName"], c.inputs["value"]) for c in tls} == {
        ("ssl_min_protocol_version", "TLSv1.3")
    }
    assert {c.inputs["serverName"] for c in tls} == {
        server.inputs["serverName"],
        *(r.inputs["serverName"] for r in replicas),
    }


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_flexible_servers_have_a_premium_ssd_size_and_autogrow_on_every_server(stack: str, cloud: str) -> None:
    """Premium SSD takes only fixed disk sizes; a replica's disk must match its primary's, and
    autogrow on the primary requires it on the replicas (Microsoft's read-replica docs)."""
    plan = planned(stack, cloud)
    servers = layer(plan, "azure-native:dbforpostgresql:Server")
    assert len(servers) == 3
    options = resource_options(stack, cloud)
    for server in servers:
        storage = server.inputs["storage"]
        assert storage["storageSizeGB"] in FLEXIBLE_SERVER_STORAGE_GIB, server.name
        assert storage == {"storageSizeGB": SIZES[stack].postgres.storage_gib, "autoGrow": "Enabled"}
        # Autogrow owns the running size (a disk never shrinks): a deploy must not reset it.
        assert options[server.urn]["ignoreChanges"] == ["storage.storageSizeGB"]


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_flexible_server_waits_for_its_dns_link_and_runs_one_operation_at_a_time(stack: str, cloud: str) -> None:
    """The server resolves its own name through the private zone only once the zone is linked to
    the VNet; Flexible Server runs one operation per server, and a replica's creation holds its
    primary busy: database, TLS settings, replicas and the lock follow one another."""
    plan = planned(stack, cloud)
    urn = {r.name: r.urn for r in plan.resources if r.name.startswith("data-postgres-")}
    deps = {r.name: set(r.dependencies) for r in plan.resources if r.name in urn}
    assert urn["data-postgres-dns-link"] in deps["data-postgres-primary"]
    chain = [
        "data-postgres-primary",
        "data-postgres-database",
        "data-postgres-primary-tls13",
        "data-postgres-replica-1",
        "data-postgres-replica-1-tls13",
        "data-postgres-replica-2",
        "data-postgres-replica-2-tls13",
        "data-postgres-delete-lock",
    ]
    for before, after in itertools.pairwise(chain):
        assert urn[before] in deps[after], f"{after} does not wait for {before}"


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_managed_redis_endpoint_and_lock_come_after_the_database(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    database = resource(plan, "azure-native:redisenterprise:Database", "data-redis-database")
    endpoint = resource(plan, "azure-native:network:PrivateEndpoint", "data-redis-private-endpoint")
    lock = resource(plan, "azure-native:authorization:ManagementLockByScope", "data-redis-delete-lock")
    assert database.urn in endpoint.dependencies and endpoint.urn in lock.dependencies


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_azure_redis_is_managed_redis_tls12_lru_private(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    cluster = only(plan, "azure-native:redisenterprise:RedisEnterprise")
    assert cluster.inputs["minimumTlsVersion"] == "1.2" and cluster.inputs["publicNetworkAccess"] == "Disabled"
    assert cluster.inputs["highAvailability"] == "Enabled" and cluster.protect
    db = only(plan, "azure-native:redisenterprise:Database").inputs
    assert db["evictionPolicy"] == "AllKeysLRU" and db["clientProtocol"] == "Encrypted"
    assert db["clusteringPolicy"] == "OSSCluster"
    assert any(r.name == "data-redis-private-endpoint" for r in of_type(plan, "azure-native:network:PrivateEndpoint"))
    # <name>.<region>.redis.azure.net is shared by every tenant: the name carries a random suffix.
    suffix = resource(plan, "random:index/randomString:RandomString", "data-redis-suffix")
    assert suffix.parent == cluster.parent
    assert cluster.inputs["clusterName"].startswith(f"bakhmach-{stack}-redis-")
    assert len(cluster.inputs["clusterName"]) > len(f"bakhmach-{stack}-redis-")


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_azure_kafka_runs_in_cluster_with_strimzi_kraft(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    pools = {p["metadata"]["name"]: p["spec"] for p in k8s(plan, "KafkaNodePool", namespace="data")}
    assert pools["brokers"]["replicas"] == 3 and pools["controllers"]["replicas"] == 3
    assert pools["controllers"]["roles"] == ["controller"]
    kafka = one(plan, "Kafka", "kafka", "data")["spec"]["kafka"]
    assert kafka["config"]["min.insync.replicas"] == 2 and kafka["rack"]
    assert not of_type(plan, "aws:msk/cluster:Cluster")


@pytest.mark.parametrize(("stack", "cloud"), [s for s in STACKS if s[0] != "dev"])
def test_mongo_is_a_three_member_replica_set_with_backups_and_shard_key(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    psmdb = one(plan, "PerconaServerMongoDB", "mongo", "data")
    spec = psmdb["spec"]
    assert spec["replsets"][0]["size"] == 3 and spec["image"].split(":")[1] >= "6.0"
    assert spec["replsets"][0]["affinity"]["antiAffinityTopologyKey"] == "topology.kubernetes.io/zone"
    assert psmdb["metadata"]["annotations"]["bakhmach.io/shard-key"] == '{"tenant_id":"hashed","context_id":1}'
    backup = spec["backup"]
    assert backup["enabled"] and backup["pitr"]["enabled"] and backup["pitr"]["oplogSpanMin"] <= 5
    tasks = {t["name"]: t for t in backup["tasks"]}
    # The daily backup kept 30 days; prod keeps 90 and adds the DR snapshots (tests/test_dr.py).
    assert tasks["daily"]["retention"]["count"] == (90 if stack == "prod" else 30)
    assert set(tasks) == ({"daily", "every-6-hours"} if stack == "prod" else {"daily"})
    # Prod's secondary cluster runs the replica site (components/dr): protected too.
    resources = [r for r in plan.resources if r.inputs.get("kind") == "PerconaServerMongoDB"]
    assert len(resources) == (2 if stack == "prod" else 1) and all(r.protect for r in resources)


def test_in_cluster_postgres_with_backups_archives_wal_through_the_barman_plugin() -> None:
    plan = planned_in_cluster("staging", "aws")  # the stack file, every data service in-cluster
    cluster = one(plan, "Cluster", "postgres", "data")["spec"]
    assert cluster["instances"] == 3 and cluster["imageName"].split(":")[1].split(".")[0] >= "15"
    (plugin,) = cluster["plugins"]
    assert plugin["isWALArchiver"] and plugin["name"] == "barman-cloud.cloudnative-pg.io"
    assert cluster["postgresql"]["parameters"]["archive_timeout"] == "5min"
    store = one(plan, "ObjectStore", "postgres-backups", "data")["spec"]
    assert store["retentionPolicy"] == "30d" and "barmanObjectStore" not in cluster.get("backup", {})
    assert one(plan, "ScheduledBackup", "postgres-daily", "data")["spec"]["method"] == "plugin"
    releases = {r.inputs["name"] for r in of_type(plan, "kubernetes:helm.sh/v3:Release")}
    assert {"cloudnative-pg", "plugin-barman-cloud", "cert-manager"} <= releases
    assert not of_type(plan, "aws:rds/instance:Instance")


# ---- settings -----------------------------------------------------------------------------


def _values(**data: object) -> dict[str, object]:
    return {
        "environment": "dev",
        "cloud": "kind",
        "owner": "platform-team",
        "cluster": {"kubeconfigContext": "kind-bakhmach-dev"},
        "data": data,
    }


def test_managed_backend_on_kind_fails_naming_the_key() -> None:
    settings = load_settings(_values(postgres={"backend": "managed"}))
    with pytest.raises(SettingsError) as caught:
        resolve_stack(settings, "Pulumi.dev.yaml")
    assert "bakhmach-hub:data.postgres.backend" in str(caught.value) and "allowed: in-cluster" in str(caught.value)


def test_every_data_setting_that_does_not_fit_is_named_in_one_error() -> None:
    """One message lists every problem, so a stack file is fixed in one pass."""
    settings = load_settings(_values(postgres={"backend": "managed"}, redis={"backend": "managed"}))
    with pytest.raises(SettingsError) as caught:
        resolve_stack(settings, "Pulumi.dev.yaml")
    message = str(caught.value)
    assert message.startswith("invalid stack settings in Pulumi.dev.yaml:\n")
    assert "bakhmach-hub:data.postgres.backend" in message and "bakhmach-hub:data.redis.backend" in message


def test_unknown_backend_names_the_allowed_ones() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_values(redis={"backend": "serverless"}))
    assert "data.redis.backend" in str(caught.value) and "'in-cluster' or 'managed'" in str(caught.value)


@pytest.mark.parametrize(
    ("cloud", "gib", "expected"),
    [
        ("azure", 100, "100 GiB is not a disk size Azure Database for PostgreSQL Flexible Server offers"),
        ("azure", 500, "(allowed: 32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767)"),
        ("aws", 10, "10 GiB is outside what RDS gp3 storage takes (allowed: 20 to 65536)"),
    ],
)
def test_a_postgres_storage_size_the_backend_cannot_create_is_refused(cloud: str, gib: int, expected: str) -> None:
    from tests.test_settings import prod_values

    values = {**prod_values(), "cloud": cloud, "data": {"postgres": {"storageGib": gib}}}
    values["cloudCluster"] = {**values["cloudCluster"], "azure": {"location": "germanywestcentral"}}
    settings = load_settings(values)
    with pytest.raises(SettingsError) as caught:
        resolve_stack(settings, "Pulumi.prod.yaml")
    assert "bakhmach-hub:data.postgres.storageGib: " in str(caught.value) and expected in str(caught.value)


def test_a_valid_postgres_storage_override_replaces_the_environments_size() -> None:
    settings = load_settings(_values(postgres={"storageGib": 1024}))
    spec = resolve_data_layer(settings.data, "prod", "azure")
    assert spec.sizes.postgres.storage_gib == 1024
    # Every environment's default fits every backend.
    for environment in ("staging", "prod"):
        for cloud in ("aws", "azure"):
            resolve_data_layer(load_settings(_values()).data, environment, cloud)  # type: ignore[arg-type]


def test_kafka_has_no_managed_backend_on_azure() -> None:
    settings = load_settings(_values())
    with pytest.raises(ValueError, match="kafka on azure"):
        resolve_data_layer(
            settings.data.model_copy(update={"kafka": settings.data.kafka.model_copy(update={"backend": "managed"})}),
            "prod",
            "azure",
        )


# ---- connections reach the services; secrets never leave Pulumi's secret handling ----------


def test_services_get_plain_locations_and_credential_files(any_plan: Plan) -> None:
    # The primary cluster's (prod's secondary region gets its data from the DR work). Every
    # service and data service: tests/test_service_credentials.py.
    dep = resource(any_plan, "kubernetes:apps/v1:Deployment", "slon-finance-deployment").inputs
    pod = dep["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    for prefix, secret in (("POSTGRES", "data-postgres"), ("REDIS", "data-redis"), ("KAFKA", "data-kafka")):
        assert "value" in env[f"{prefix}_HOST"] and env[f"{prefix}_PORT"]["value"].isdigit()
        assert f"{prefix}_PASSWORD" not in env
        directory = f"/var/run/secrets/bakhmach/{prefix.lower()}"
        assert env[f"{prefix}_PASSWORD_FILE"] == {"name": f"{prefix}_PASSWORD_FILE", "value": f"{directory}/password"}
        assert mounts[directory]["readOnly"] is True
        assert volumes[mounts[directory]["name"]]["secret"]["secretName"] == secret
    assert "MONGO_HOST" not in env  # slon-finance does not use MongoDB
    secret = resource(any_plan, "kubernetes:core/v1:Secret", "ns-slon-credit-data-postgres").inputs
    assert secret["stringData"] == "[secret]" or secret["stringData"]["password"] == "[secret]"


def test_consuming_namespaces_may_reach_only_their_data_ports(any_plan: Plan) -> None:
    egress = resource(any_plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "ns-slon-credit-allow-data").inputs[
        "spec"
    ]["egress"]
    ports = sorted(p["port"] for rule in egress for p in rule["ports"])
    assert len(egress) == 3 and all(len(rule["to"]) == 1 for rule in egress)
    assert 27017 not in ports


@pytest.mark.parametrize(("stack", "cloud"), STACKS)
def test_no_generated_secret_appears_in_the_plan(stack: str, cloud: str) -> None:
    assert GENERATED not in json.dumps(planned(stack, cloud).to_json())


@pytest.mark.parametrize(("stack", "cloud"), [("dev", "kind"), ("prod", "aws"), ("prod", "azure")])
def test_no_generated_secret_appears_in_hubctl_output(stack: str, cloud: str) -> None:
    args = [sys.executable, "-m", "hubctl", "plan", stack] + ([] if cloud == "kind" else ["--cloud", cloud])
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert GENERATED not in out.stdout and GENERATED not in out.stderr
    assert "bakhmach:data:PostgresCluster" in out.stdout


def test_data_namespace_defaults_what_operator_sidecars_leave_out(dev_plan: Plan) -> None:
    """A quota on requests and memory limits rejects containers without them unless a LimitRange
    fills them in; the operators' sidecars declare none, so without it no database pod starts."""
    hard = one(dev_plan, "ResourceQuota", "data-quota", "data")["spec"]["hard"]
    (item,) = one(dev_plan, "LimitRange", "data-limits", "data")["spec"]["limits"]
    assert item["type"] == "Container"
    for key in hard:
        kind, _, resource = key.partition(".")
        if kind == "requests" and resource != "storage":
            assert resource in item["defaultRequest"], f"quota tracks {key} but nothing defaults it"
        if kind == "limits":
            assert resource in item["default"], f"quota tracks {key} but nothing defaults it"
    assert {"requests.cpu", "requests.memory", "limits.memory"} <= set(hard)
    assert "limits.cpu" not in hard  # databases are not CPU-throttled


@pytest.mark.parametrize(("stack", "cloud"), AZURE_STACKS)
def test_azure_data_cannot_be_deleted_outside_the_stack_either(stack: str, cloud: str) -> None:
    """Pulumi's protect guards this stack only; a CanNotDelete lock stops the portal and CLI too."""
    plan = planned(stack, cloud)
    locks = {r.name: r for r in of_type(plan, "azure-native:authorization:ManagementLockByScope")}
    guarded = {
        "data-postgres-delete-lock": [r.urn for r in layer(plan, "azure-native:dbforpostgresql:Server")],
        "data-redis-delete-lock": [r.urn for r in layer(plan, "azure-native:redisenterprise:RedisEnterprise")],
    }
    assert set(guarded) <= set(locks)
    for lock_name, servers in guarded.items():
        lock = locks[lock_name]
        assert lock.inputs["level"] == "CanNotDelete"
        assert servers and set(servers) <= set(lock.dependencies)  # created after what it guards


def test_strimzi_generates_no_network_policy_that_would_open_kafka_to_every_namespace(dev_plan: Plan) -> None:
    # Strimzi's own generated policy admits every namespace to each listener; the data namespace's
    # per-port consumer list is then the only thing standing between a context and Kafka.
    (strimzi,) = [r for r in of_type(dev_plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "strimzi"]
    assert strimzi.inputs["values"]["generateNetworkPolicy"] is False


@pytest.mark.parametrize(("stack", "cloud"), [("dev", "kind"), ("prod", "azure")])
def test_connection_secrets_keep_the_identity_they_had_when_the_data_layer_made_them(stack: str, cloud: str) -> None:
    """Each namespace now makes its own `data-<service>` Secrets; an existing stack must update each
    in place (an alias to its former URN, as the engine forms URNs: without the root stack's type),
    not create it over the same object and then delete it."""
    plan = planned(stack, cloud)
    options = resource_options(stack, cloud)
    secrets = [
        r
        for r in of_type(plan, "kubernetes:core/v1:Secret")
        if "bakhmach.io/data-service" in (r.inputs["metadata"].get("labels") or {})
    ]
    assert secrets
    # Prod's secondary region connects to the copies there (components/dr): new Secrets, no alias.
    primary = primary_provider(plan)
    for secret in (s for s in secrets if s.provider != primary):
        assert options[secret.urn]["aliases"] == [], secret.name
    for secret in (s for s in secrets if s.provider == primary):
        namespace, name = secret.inputs["metadata"]["namespace"], secret.inputs["metadata"]["name"]
        service = name.removeprefix("data-")
        former = (
            f"urn:pulumi:{stack}::bakhmach-hub::bakhmach:data:DataLayer$bakhmach:data:ConsumerSecrets"
            f"$kubernetes:core/v1:Secret::data-connections-{namespace}-{service}"
        )
        assert options[secret.urn]["aliases"] == [former], secret.name


def test_the_provisioning_jobs_scripts_pass_shellcheck(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The Jobs that make roles, databases and ACLs on the managed services, and MongoDB's
    collections, run POSIX sh scripts (components/data/postgres.py, kafka.py, mongo.py), as planned."""
    jobs = [
        r.inputs
        for r in of_type(planned("prod", "aws"), "kubernetes:batch/v1:Job")
        if r.inputs["metadata"]["namespace"] == "data"
    ]
    # The data layer's, and prod's ACL Job for the Kafka copy in the secondary region (components/dr).
    assert {j["metadata"]["name"] for j in jobs} == {
        "postgres-roles",
        "kafka-acls",
        "mongo-collections",
        "kafka-dr-acls",
    }
    for job in jobs:
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"][:2] == ["sh", "-c"]
        (tmp_path / f"{job['metadata']['name']}.sh").write_text("#!/bin/sh\n" + container["command"][2])
    shellcheck = REPO_ROOT / ".venv" / "bin" / "shellcheck"
    done = subprocess.run([str(shellcheck), *sorted(map(str, tmp_path.iterdir()))], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
