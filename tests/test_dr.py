"""Disaster recovery across regions (issue 14): what the prod plans build on both clouds, what the
settings refuse, and the RTO budget `hubctl dr budget` prints from a plan.

The plans are the session's (tests/planning.py) plus, once, prod with every data service
in-cluster (the CloudNativePG replica cluster, the empty cache, MirrorMaker 2 on AWS).
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.cli import main
from hubctl.dr import budget_of
from hubctl.plan import REPO_ROOT, Plan, PlannedResource, run_plan
from hubctl.policy_run import run_policies
from policy.bakhmach_policies import POLICIES, config_for
from settings import SettingsError, load_settings, resolve_stack
from settings import dr as dr_settings
from tests.planning import k8s, of_type, planned, primary_provider, resource

PRIMARY = {"aws": "eu-central-1", "azure": "germanywestcentral"}
SECONDARY = {"aws": "eu-west-1", "azure": "northeurope"}
CIDRS = {"aws": ("10.60.0.0/16", "10.61.0.0/16"), "azure": ("10.70.0.0/16", "10.71.0.0/16")}
(RTO_POLICY,) = [p for p in POLICIES if p.name == "dr-rto-budget"]
(COPIES_POLICY,) = [p for p in POLICIES if p.name == "dr-cross-region-copies"]


def secondary_provider(plan: Plan) -> str:
    (urn,) = [
        r.urn
        for r in plan.resources
        if r.type == "pulumi:providers:kubernetes"
        and r.urn.endswith("-k8s")
        and r.urn != primary_provider(plan)
        and SECONDARY[plan.cloud] in r.urn
    ]
    return urn


def aws_provider(plan: Plan, region: str) -> str:
    """The AWS provider of a region's cluster (`prod-aws`, `prod-<secondary>-aws`)."""
    name = f"{plan.stack}-aws" if region == PRIMARY["aws"] else f"{plan.stack}-{region}-aws"
    (urn,) = [r.urn for r in of_type(plan, "pulumi:providers:aws") if r.urn.endswith(f"::{name}")]
    return urn


def named(plan: Plan, name: str) -> PlannedResource:
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def depends(r: PlannedResource, on: PlannedResource) -> bool:
    return on.urn in r.dependencies


IN_CLUSTER = {"postgres": {"backend": "in-cluster"}, "redis": {"backend": "in-cluster"}}


@functools.cache
def in_cluster_plan(cloud: str) -> Plan:
    """Prod with PostgreSQL and Redis in the cluster (Kafka is already in-cluster on Azure)."""
    document = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    data = {**IN_CLUSTER, **({"kafka": {"backend": "in-cluster"}} if cloud == "aws" else {})}
    document["config"]["bakhmach-hub:data"] = {**(document["config"].get("bakhmach-hub:data") or {}), **data}
    path = Path(tempfile.mkdtemp(prefix="dr-")) / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return run_plan("prod", cloud, stack_file=path)


# ---- the network between the regions ----------------------------------------------------------


def test_aws_regions_are_peered_routed_and_resolve_each_others_names() -> None:
    plan = planned("prod", "aws")
    first, second = aws_provider(plan, PRIMARY["aws"]), aws_provider(plan, SECONDARY["aws"])
    peering = resource(plan, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "dr-network-peering")
    assert peering.provider == first and peering.inputs["peerRegion"] == SECONDARY["aws"]
    assert peering.inputs["vpcId"] == "prod-vpc-id" and peering.inputs["peerVpcId"] == "prod-eu-west-1-vpc-id"
    accepter = resource(
        plan, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter", "dr-network-peering-accepter"
    )
    assert accepter.provider == second and accepter.inputs["autoAccept"] is True
    options = of_type(plan, "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions")
    sides = {side: o for o in options for side in ("requester", "accepter") if side in o.inputs}
    assert sides["requester"].inputs["requester"]["allowRemoteVpcDnsResolution"] is True
    assert sides["accepter"].inputs["accepter"]["allowRemoteVpcDnsResolution"] is True
    assert sides["requester"].provider == first and sides["accepter"].provider == second
    routes = [r for r in of_type(plan, "aws:ec2/route:Route") if r.inputs.get("vpcPeeringConnectionId")]
    routes = [r for r in routes if r.inputs["vpcPeeringConnectionId"] == "dr-network-peering-id"]
    to_second = [r for r in routes if r.provider == first]
    to_first = [r for r in routes if r.provider == second]
    assert len(to_second) == len(to_first) == 3, "one route per private route table (zone), each way"
    assert {r.inputs["destinationCidrBlock"] for r in to_second} == {CIDRS["aws"][1]}
    assert {r.inputs["destinationCidrBlock"] for r in to_first} == {CIDRS["aws"][0]}
    zone = resource(plan, "aws:route53/zone:Zone", "dr-network-zone")
    assert zone.inputs["name"] == "bakhmach.internal"
    assert {v["vpcRegion"] for v in zone.inputs["vpcs"]} == {PRIMARY["aws"], SECONDARY["aws"]}


def test_azure_regions_are_peered_both_ways_without_forwarding_and_share_a_private_zone() -> None:
    plan = planned("prod", "azure")
    there = resource(plan, "azure-native:network:VirtualNetworkPeering", "dr-network-peering")
    back = resource(plan, "azure-native:network:VirtualNetworkPeering", "dr-network-peering-back")
    assert there.inputs["remoteVirtualNetwork"]["id"] == "prod-northeurope-vnet-id"
    assert back.inputs["remoteVirtualNetwork"]["id"] == "prod-vnet-id"
    for peering in (there, back):
        assert peering.inputs["allowVirtualNetworkAccess"] is True
        assert peering.inputs["allowForwardedTraffic"] is False and peering.inputs["allowGatewayTransit"] is False
    zone = resource(plan, "azure-native:privatedns:PrivateZone", "dr-network-zone")
    assert zone.inputs["privateZoneName"] == "bakhmach.internal"
    links = [
        r for r in of_type(plan, "azure-native:privatedns:VirtualNetworkLink") if r.name.startswith("dr-network-zone")
    ]
    assert {link.inputs["virtualNetwork"]["id"] for link in links} == {"prod-vnet-id", "prod-northeurope-vnet-id"}


# ---- cross-region data --------------------------------------------------------------------------


def test_aws_postgres_has_an_encrypted_cross_region_replica_and_replicated_backups() -> None:
    plan = planned("prod", "aws")
    second = aws_provider(plan, SECONDARY["aws"])
    primary = resource(plan, "aws:rds/instance:Instance", "data-postgres-primary")
    replica = resource(plan, "aws:rds/instance:Instance", "dr-postgres-replica")
    assert replica.provider == second and depends(replica, primary)
    assert replica.inputs["replicateSourceDb"].endswith(":db:prod-postgres"), "cross-region: the source's ARN"
    assert replica.inputs["storageEncrypted"] is True
    key = resource(plan, "aws:kms/key:Key", "dr-postgres-key")
    assert key.provider == second and replica.inputs["kmsKeyId"].endswith("/dr-postgres-key")
    assert replica.inputs["instanceClass"] == primary.inputs["instanceClass"]
    backups = of_type(plan, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert [b.provider for b in backups] == [second]
    assert backups[0].inputs["sourceDbInstanceArn"] == replica.inputs["replicateSourceDb"]


def test_aws_redis_joins_a_global_datastore_with_a_member_in_the_secondary_region() -> None:
    plan = planned("prod", "aws")
    primary = resource(plan, "aws:elasticache/replicationGroup:ReplicationGroup", "data-redis-replication-group")
    datastore = resource(plan, "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "dr-redis-global")
    assert datastore.inputs["primaryReplicationGroupId"] == primary.inputs["replicationGroupId"]
    member = resource(plan, "aws:elasticache/replicationGroup:ReplicationGroup", "dr-redis-replication-group")
    assert member.provider == aws_provider(plan, SECONDARY["aws"]) and depends(member, datastore)
    assert member.inputs["globalReplicationGroupId"]
    # A member inherits engine, node type and shards from the datastore: setting them is refused.
    for inherited in ("engine", "engineVersion", "nodeType", "numNodeGroups", "parameterGroupName"):
        assert inherited not in member.inputs, inherited


def test_aws_kafka_is_replicated_by_msk_replicator_with_topics_and_consumer_offsets() -> None:
    plan = planned("prod", "aws")
    source = resource(plan, "aws:msk/cluster:Cluster", "data-kafka-cluster")
    target = resource(plan, "aws:msk/cluster:Cluster", "dr-kafka-cluster")
    assert target.provider == aws_provider(plan, SECONDARY["aws"])
    for same in ("numberOfBrokerNodes", "kafkaVersion"):
        assert target.inputs[same] == source.inputs[same]
    assert target.inputs["brokerNodeGroupInfo"]["instanceType"] == source.inputs["brokerNodeGroupInfo"]["instanceType"]
    # The replicator reaches the source privately: multi-VPC connectivity over IAM, and a
    # cluster policy letting MSK's service create that connection.
    assert source.inputs["clientAuthentication"]["sasl"]["iam"] is True
    connectivity = source.inputs["brokerNodeGroupInfo"]["connectivityInfo"]["vpcConnectivity"]
    assert connectivity["clientAuthentication"]["sasl"]["iam"] is True
    assert of_type(plan, "aws:msk/clusterPolicy:ClusterPolicy")
    (replicator,) = of_type(plan, "aws:msk/replicator:Replicator")
    assert depends(replicator, source) and depends(replicator, target)
    info = replicator.inputs["replicationInfoList"]
    (topics,) = info["topicReplications"]
    assert topics["topicNameConfiguration"]["type"] == "IDENTICAL", "the same topic names: clients switch as they are"
    assert topics["topicsToReplicates"] == [".*"] and topics["copyTopicConfigurations"] is True
    (groups,) = info["consumerGroupReplications"]
    assert groups["synchroniseConsumerGroupOffsets"] is True and groups["consumerGroupsToReplicates"] == [".*"]


def test_azure_postgres_and_redis_are_copied_to_the_secondary_region() -> None:
    plan = planned("prod", "azure")
    primary = resource(plan, "azure-native:dbforpostgresql:Server", "data-postgres-primary")
    replica = resource(plan, "azure-native:dbforpostgresql:Server", "dr-postgres-replica")
    assert replica.inputs["createMode"] == "Replica" and replica.inputs["location"] == SECONDARY["azure"]
    assert depends(replica, primary)
    # One operation at a time on a Flexible Server: the geo replica waits for the in-region ones.
    for other in ("data-postgres-replica-1", "data-postgres-replica-2"):
        assert depends(replica, resource(plan, "azure-native:dbforpostgresql:Server", other))
    assert replica.inputs["serverName"].endswith("-dr") and len(replica.inputs["serverName"]) <= 63
    first = resource(plan, "azure-native:redisenterprise:Database", "data-redis-database")
    second = resource(plan, "azure-native:redisenterprise:Database", "dr-redis-database")
    nickname = first.inputs["geoReplication"]["groupNickname"]
    assert second.inputs["geoReplication"]["groupNickname"] == nickname
    assert len(second.inputs["geoReplication"]["linkedDatabases"]) == 2
    cluster = resource(plan, "azure-native:redisenterprise:RedisEnterprise", "dr-redis-cluster")
    source_cluster = resource(plan, "azure-native:redisenterprise:RedisEnterprise", "data-redis-cluster")
    assert cluster.inputs["location"] == SECONDARY["azure"]
    assert cluster.inputs["sku"] == source_cluster.inputs["sku"], "every member of a geo group has the same SKU"
    for same in ("clusteringPolicy", "evictionPolicy", "port", "clientProtocol"):
        assert second.inputs[same] == first.inputs[same], same


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_mongo_members_in_the_secondary_region_follow_the_primary_without_votes(cloud: str) -> None:
    plan = planned("prod", cloud)
    (main_site,) = k8s(plan, "PerconaServerMongoDB")
    (replica_site,) = k8s(plan, "PerconaServerMongoDB", provider=secondary_provider(plan))
    (replset,) = main_site["spec"]["replsets"]
    external = replset["externalNodes"]
    assert [n["host"] for n in external] == [f"mongo-rs0-{i}.{SECONDARY[cloud]}.bakhmach.internal" for i in range(3)]
    assert all(n["votes"] == 0 and n["priority"] == 0 for n in external), "the primary region keeps the majority"
    assert replica_site["spec"]["unmanaged"] is True
    assert replica_site["spec"]["secrets"] == main_site["spec"]["secrets"], "one key file, users and TLS"
    tasks = {t["name"]: t for t in main_site["spec"]["backup"]["tasks"]}
    assert tasks["every-6-hours"]["schedule"] == "30 */6 * * *"
    assert tasks["every-6-hours"]["retention"]["count"] == 90 * 4
    assert tasks["daily"]["retention"]["count"] == 90


def test_azure_kafka_is_mirrored_by_mirrormaker_2_with_identical_names_and_offsets() -> None:
    plan = planned("prod", "azure")
    (mirror,) = k8s(plan, "KafkaMirrorMaker2", provider=secondary_provider(plan))
    (route,) = mirror["spec"]["mirrors"]
    assert route["source"]["bootstrapServers"] == "kafka-bootstrap.germanywestcentral.bakhmach.internal:9094"
    assert route["source"]["tls"]["trustedCertificates"], "the cross-region hop is TLS"
    policy = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
    assert route["sourceConnector"]["config"]["replication.policy.class"] == policy
    assert route["checkpointConnector"]["config"]["sync.group.offsets.enabled"] == "true"
    (source,) = k8s(plan, "Kafka")
    listener = next(x for x in source["spec"]["kafka"]["listeners"] if x["name"] == "mirror")
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_in_cluster_postgres_and_redis_get_a_replica_cluster_and_an_empty_cache(cloud: str) -> None:
    plan = in_cluster_plan(cloud)
    second = secondary_provider(plan)
    (source,) = k8s(plan, "Cluster")
    (replica,) = k8s(plan, "Cluster", provider=second)
    assert source["spec"]["postgresql"]["parameters"]["archive_timeout"] == "5min"
    assert replica["spec"]["replica"] == {"enabled": True, "source": "primary"}
    (external,) = replica["spec"]["externalClusters"]
    assert external["plugin"]["parameters"]["serverName"] == source["metadata"]["name"]
    schedules = {s["spec"]["schedule"] for s in k8s(plan, "ScheduledBackup")}
    assert "0 0 */6 * * *" in schedules
    (store,) = k8s(plan, "ObjectStore")
    assert store["spec"]["retentionPolicy"] == "90d"
    assert k8s(plan, "RedisCluster", provider=second), "an empty cache of the same shape"
    if cloud == "aws":
        assert k8s(plan, "KafkaMirrorMaker2", provider=second)


# ---- backups: every 6 hours, 90 days, copies in the other region --------------------------------


def test_aws_backup_plan_takes_every_6_hours_keeps_90_days_and_copies_across() -> None:
    plan = planned("prod", "aws")
    backup = resource(plan, "aws:backup/plan:Plan", "dr-backup-plan")
    rules = {r["ruleName"]: r for r in backup.inputs["rules"]}
    snapshots = rules["every-6-hours"]
    assert snapshots["schedule"] == "cron(0 */6 * * ? *)"
    assert snapshots["lifecycle"]["deleteAfter"] == 90
    (copy_action,) = snapshots["copyActions"]
    assert copy_action["lifecycle"]["deleteAfter"] == 90
    assert copy_action["destinationVaultArn"].endswith(f"bakhmach-prod-{SECONDARY['aws']}")
    assert rules["continuous"]["enableContinuousBackup"] is True
    vault = resource(plan, "aws:backup/vault:Vault", "dr-backup-secondary-vault")
    assert vault.provider == aws_provider(plan, SECONDARY["aws"])
    (selection,) = of_type(plan, "aws:backup/selection:Selection")
    assert selection.inputs["resources"] == [
        resource(plan, "aws:rds/instance:Instance", "dr-postgres-replica").inputs["replicateSourceDb"]
    ]
    (replication,) = of_type(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (rule,) = replication.inputs["rules"]
    assert replication.inputs["bucket"].startswith("data-backups-bucket")
    assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert rule["destination"]["bucket"].startswith("arn:aws:s3:::dr-backups-copy-bucket")
    copy_bucket = resource(plan, "aws:s3/bucket:Bucket", "dr-backups-copy-bucket")
    assert copy_bucket.provider == aws_provider(plan, SECONDARY["aws"])


def test_azure_backup_vault_is_geo_redundant_and_keeps_the_server_90_days() -> None:
    plan = planned("prod", "azure")
    vault = resource(plan, "azure-native:dataprotection:BackupVault", "dr-backup-vault")
    assert vault.inputs["properties"]["storageSettings"] == [{"type": "GeoRedundant", "datastoreType": "VaultStore"}]
    assert vault.inputs["properties"]["featureSettings"]["crossRegionRestoreSettings"]["state"] == "Enabled"
    policy = resource(plan, "azure-native:dataprotection:BackupPolicy", "dr-backup-policy")
    durations = [
        lc["deleteAfter"]["duration"]
        for rule in policy.inputs["properties"]["policyRules"]
        for lc in rule.get("lifecycles", [])
    ]
    assert durations == ["P90D"]
    instance = resource(plan, "azure-native:dataprotection:BackupInstance", "dr-backup-instance")
    assert instance.inputs["properties"]["dataSourceInfo"]["resourceID"] == "data-postgres-primary-id"
    account = resource(plan, "azure-native:storage:StorageAccount", "data-backups-mongo-account")
    assert account.inputs["sku"]["name"] == "Standard_GZRS"


# ---- the secondary region's services and the `dr` output ------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_secondary_regions_services_connect_to_the_copies_marked_standby(cloud: str) -> None:
    plan = planned("prod", cloud)
    (deployment,) = k8s(plan, "Deployment", name="trade-connector", provider=secondary_provider(plan))
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    dr = plan.outputs["dr"]["services"]
    assert env["POSTGRES_HOST"] == dr["postgres"]["endpoint"]
    assert env["POSTGRES_REGION_ROLE"] == "standby"
    assert env["KAFKA_REGION_ROLE"] == "standby" and env["MONGO_REGION_ROLE"] == "standby"
    (primary,) = k8s(plan, "Deployment", name="trade-connector")
    env_primary = {e["name"]: e.get("value") for e in primary["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "POSTGRES_REGION_ROLE" not in env_primary and env_primary["POSTGRES_HOST"] != env["POSTGRES_HOST"]


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_dr_output_holds_what_a_failover_needs(cloud: str) -> None:
    dr = planned("prod", cloud).outputs["dr"]
    assert (dr["primaryRegion"], dr["secondaryRegion"]) == (PRIMARY[cloud], SECONDARY[cloud])
    assert (dr["rpoMinutes"], dr["rtoMinutes"]) == (5, 15)
    assert set(dr["services"]) == {"postgres", "mongo", "redis", "kafka"}
    for service, entry in dr["services"].items():
        assert entry["copied"] is True, service
        assert entry["replica"]["region"] == SECONDARY[cloud], service
        assert entry["promote"], service
    assert dr["backups"]["snapshotEveryHours"] == 6 and dr["backups"]["retentionDays"] == 90
    failover = dr["failover"]
    # The failover name in the cloud zone (behind Cloudflare, a subdomain of gateway.domain).
    assert failover["record"] == planned("prod", cloud).outputs["failoverName"]
    assert failover["intervalSeconds"] * failover["failuresToDetect"] == 30 and failover["ttlSeconds"] == 30
    if cloud == "aws":
        assert dr["notify"]["topicArn"].endswith(":bakhmach-prod-dr")
        assert dr["services"]["postgres"]["promote"] == "rds:PromoteReadReplica"


@pytest.mark.parametrize(("stack", "cloud"), [("dev", "kind"), ("staging", "aws"), ("staging", "azure")])
def test_only_prod_builds_disaster_recovery(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud)
    assert "dr" not in plan.outputs
    assert not of_type(plan, "bakhmach:dr:DisasterRecovery")
    assert not of_type(plan, "aws:backup/plan:Plan") and not of_type(plan, "aws:msk/replicator:Replicator")


# ---- settings ---------------------------------------------------------------------------------


def prod(cloud: str = "aws", **dr: Any) -> dict[str, Any]:
    config = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("bakhmach-hub:")}
    values["cloud"] = cloud
    if dr:
        values["dr"] = dr
    return values


def refused(values: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as caught:
        resolve_stack(load_settings(values, source="Pulumi.prod.yaml"), "Pulumi.prod.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("dr", "expected"),
    [
        ({"archiveIntervalMinutes": 10}, ["dr.archiveIntervalMinutes", "exceeds the seed's RPO of 5 minutes"]),
        ({"snapshotIntervalHours": 5}, ["dr.snapshotIntervalHours", "allowed: 1, 2, 3, 4, 6"]),
        ({"snapshotIntervalHours": 12}, ["dr.snapshotIntervalHours", "every 6 hours"]),
        ({"retentionDays": 30}, ["dr.retentionDays", "allowed: 90 to 3650"]),
    ],
)
def test_settings_refuse_a_schedule_that_misses_the_rpo_or_the_seeds_backups(
    dr: dict[str, Any], expected: list[str]
) -> None:
    message = refused(prod(**dr))
    for fragment in expected:
        assert fragment in message


def test_the_archive_interval_reaches_the_archivers() -> None:
    spec = resolve_stack(load_settings(prod(archiveIntervalMinutes=2), source="x"), "x")
    assert spec.dr is not None and spec.dr.archive_interval_minutes == 2
    assert {c.rpo_minutes for c in spec.data.components.values()} == {2}


def test_dev_keeps_no_dr() -> None:
    values = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("bakhmach-hub:")}
    values["dr"] = {"retentionDays": 90}
    with pytest.raises(SettingsError, match="dev keeps no backups"):
        resolve_stack(load_settings(values, source="Pulumi.dev.yaml"), "Pulumi.dev.yaml")


def test_a_secondary_region_without_global_datastore_is_refused() -> None:
    values = prod()
    values["cloudCluster"] = copy.deepcopy(values["cloudCluster"])
    values["cloudCluster"]["aws"]["secondaryRegion"] = "ap-southeast-6"
    message = refused(values)
    assert "cloudCluster.aws.secondaryRegion" in message and "Global Datastore" in message


def test_each_cloud_services_cross_region_rules() -> None:
    assert dr_settings.global_datastore_node_problem("cache.r7g.large") is None
    assert "m5/r5 or newer" in (dr_settings.global_datastore_node_problem("cache.t4g.medium") or "")
    assert dr_settings.global_datastore_node_problem("cache.r4.large") is not None
    assert dr_settings.msk_replicator_problem("kafka.m7g.xlarge", 3) is None
    assert "no t3" in (dr_settings.msk_replicator_problem("kafka.t3.small", 3) or "")
    assert "at least three" in (dr_settings.msk_replicator_problem("kafka.m7g.large", 2) or "")
    assert dr_settings.managed_redis_geo_problem("Balanced_B5") is None
    assert dr_settings.managed_redis_geo_problem("Balanced_B1") is not None
    assert dr_settings.managed_redis_geo_problem("FlashOptimized_A250") is not None
    assert dr_settings.flexible_replica_problem("GeneralPurpose") is None
    assert dr_settings.flexible_replica_problem("Burstable") is not None


@pytest.mark.parametrize(
    ("cloud", "service", "size", "field"),
    [
        ("aws", "redis", "cache.t4g.medium", "aws_node_type"),
        ("aws", "kafka", "kafka.t3.small", "aws_broker_type"),
        ("azure", "redis", "Balanced_B1", "azure_sku"),
        ("azure", "postgres", "Burstable", "azure_tier"),
    ],
)
def test_prod_sizes_a_cross_region_service_refuses_are_named(cloud: str, service: str, size: str, field: str) -> None:
    spec = resolve_stack(load_settings(prod(cloud), source="x"), "x")
    assert spec.data is not None and spec.dr is not None
    sizes = spec.data.sizes
    changed = replace(sizes, **{service: replace(getattr(sizes, service), **{field: size})})
    regions = (spec.dr.primary_region, spec.dr.secondary_region)
    problems = dr_settings.cross_region_problems(replace(spec.data, sizes=changed), *regions)
    assert [key for key, _ in problems] == [f"data.{service}"]
    assert size in problems[0][1]


# ---- the RTO budget ----------------------------------------------------------------------------


def run_budget(plan: dict[str, Any], capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    path = Path(tempfile.mkdtemp(prefix="dr-budget-")) / "plan.json"
    path.write_text(json.dumps(plan))
    code = main(["dr", "budget", "--plan", str(path), *extra])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_budget_of_prod_is_within_the_rto_with_every_step_shown(cloud: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_budget(planned("prod", cloud).to_json(), capsys)
    assert code == 0, out
    for title in ("detect the failure", "promote a copy", "switch DNS", "reconnect"):
        assert title in out
    assert "within the RTO of 15.0 min" in out
    code, out = run_budget(planned("prod", cloud).to_json(), capsys, "--json")
    budget = json.loads(out)
    assert budget["within"] is True and budget["totalSeconds"] <= 900 and budget["withoutCopy"] == []
    promoted = {s["what"].split(" -> ")[0] for s in budget["steps"] if s["step"] == "promote"}
    # Every data service has a copy to promote, and Keycloak a standby to start after PostgreSQL's.
    assert len(promoted) == 5, promoted


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_budget_reads_the_health_checks_the_gateway_s_failover_creates(cloud: str) -> None:
    budget = budget_of(planned("prod", cloud).to_json())
    (detect,) = [s for s in budget.steps if s.step == "detect"]
    assert "configured by DnsFailover" not in detect.basis
    assert ("requestInterval" if cloud == "aws" else "intervalInSeconds") in detect.basis
    assert budget.within


def _without(plan: dict[str, Any], name: str) -> dict[str, Any]:
    """The plan as if the resource `name` were not built (nothing depends on it any more)."""
    mutated = copy.deepcopy(plan)
    gone = {r["urn"] for r in mutated["resources"] if r["name"] == name}
    mutated["resources"] = [r for r in mutated["resources"] if r["urn"] not in gone]
    for r in mutated["resources"]:
        r["dependencies"] = [d for d in r["dependencies"] if d not in gone]
    return mutated


def test_budget_fails_when_a_data_service_has_no_copy(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _without(planned("prod", "aws").to_json(), "dr-postgres-replica")
    code, out = run_budget(plan, capsys)
    assert code == 1
    assert "NO COPY" in out and "PostgreSQL (RDS data-postgres-primary)" in out


def test_budget_fails_over_the_rto_and_agrees_with_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    plan = copy.deepcopy(planned("prod", "azure").to_json())
    # The Traffic Manager profile the gateway's failover builds: its TTL is what the budget reads.
    (profile,) = [r for r in plan["resources"] if r["type"] == "azure-native:trafficmanager:Profile"]
    profile["inputs"]["dnsConfig"]["ttl"] = 600
    code, out = run_budget(plan, capsys)
    assert code == 1 and "OVER the RTO" in out
    report = run_policies(plan, config_for("prod"), [RTO_POLICY])
    assert [v.policy for v in report.violations] == ["dr-rto-budget"]
    unchanged = run_policies(planned("prod", "azure").to_json(), config_for("prod"), [RTO_POLICY])
    assert unchanged.violations == [] and budget_of(planned("prod", "azure").to_json()).within


# ---- identity: Keycloak's standby in the secondary region -------------------------------------


def _keycloaks(plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    primary = primary_provider(plan)
    found = {r.provider == primary: r.inputs for r in of_type(plan, "kubernetes:k8s.keycloak.org/v2beta1:Keycloak")}
    assert len(of_type(plan, "kubernetes:k8s.keycloak.org/v2beta1:Keycloak")) == 2
    return found[True], found[False]


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_keycloak_has_a_standby_on_its_database_copy_in_the_secondary_region(cloud: str) -> None:
    plan = planned("prod", cloud)
    primary, standby = _keycloaks(plan)
    # No instances until a failover (a read-only replica refuses Keycloak's start); what it is
    # scaled to then is on it.
    assert primary["spec"]["instances"] == 3 and standby["spec"]["instances"] == 0
    assert standby["metadata"]["annotations"] == {"bakhmach.io/dr-standby-instances": "3"}
    # Its database: the copy of Keycloak's own PostgreSQL database in the secondary region.
    # (The mocks answer a server's address with its resource name: the copy is `dr-postgres-replica`.)
    assert standby["spec"]["db"]["host"].startswith("dr-postgres-replica.")
    assert primary["spec"]["db"]["host"].startswith("data-postgres-primary.")
    assert standby["spec"]["db"]["database"] == primary["spec"]["db"]["database"]
    # The realm, clients and sessions are the replicated database's: imported once, in the primary.
    imports = of_type(plan, "kubernetes:k8s.keycloak.org/v2beta1:KeycloakRealmImport")
    assert [r.provider for r in imports] == [primary_provider(plan)]
    # The same client secrets in both regions: one generated secret per client, each region's
    # `oidc-client-<service>` Secret made from it.
    passwords = [r for r in of_type(plan, "random:index/randomPassword:RandomPassword") if "-client-" in r.name]
    oidc: dict[str, list[str]] = {}
    for secret in of_type(plan, "kubernetes:core/v1:Secret"):
        name = secret.inputs["metadata"]["name"]
        if name.startswith("oidc-client-"):
            (source,) = [p.urn for p in passwords if p.urn in secret.dependencies]
            oidc.setdefault(name, []).append(source)
    assert len(oidc) == 7 and all(len(sources) == 2 and len(set(sources)) == 1 for sources in oidc.values()), oidc
    # Each region's gateway routes Keycloak's name to its own Keycloak.
    routes = [
        r
        for r in of_type(plan, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
        if r.inputs["metadata"]["name"] == "identity"
    ]
    assert len({r.provider for r in routes}) == 2


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_dr_output_and_budget_start_keycloak_after_its_database(
    cloud: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = planned("prod", cloud)
    identity = plan.outputs["dr"]["identity"]
    assert identity["database"] == "postgres" and identity["replica"]["instances"] == 0
    assert identity["replica"]["region"] == SECONDARY[cloud] and identity["primary"]["instances"] == 3
    assert identity["promote"] == (
        'kubectl -n identity patch keycloak keycloak --type merge -p \'{"spec":{"instances":3}}\''
    )
    budget = budget_of(plan.to_json())
    steps = {s.what: s for s in budget.steps if s.step == "promote"}
    (keycloak,) = [s for what, s in steps.items() if what.startswith("Keycloak identity/keycloak (standby)")]
    (database,) = [s for what, s in steps.items() if what.startswith("PostgreSQL")]
    assert keycloak.seconds == database.seconds + 120 and budget.within
    # It is the slowest path, so it sets the total.
    assert budget.total == 30 + keycloak.seconds + 30 + 60
    code, out = run_budget(plan.to_json(), capsys)
    assert code == 0 and "Keycloak identity/keycloak (standby)" in out


def test_without_a_standby_keycloak_the_budget_and_the_policy_refuse() -> None:
    plan = planned("prod", "aws").to_json()
    mutated = copy.deepcopy(plan)
    mutated["resources"] = [
        r
        for r in mutated["resources"]
        if not (r["type"].endswith(":Keycloak") and r["inputs"]["spec"]["instances"] == 0)
    ]
    assert len(mutated["resources"]) == len(plan["resources"]) - 1
    budget = budget_of(mutated)
    assert not budget.within and [gap for _, gap in budget.gaps] == [
        "Keycloak: no standby in the secondary region, so no logins or tokens there"
    ]
    report = run_policies(mutated, config_for("prod"), [COPIES_POLICY])
    assert [v.policy for v in report.violations] == ["dr-cross-region-copies"]
    assert run_policies(plan, config_for("prod"), [COPIES_POLICY]).violations == []
