"""Every read replica is as private as its primary, and every backup is kept exactly as long as
the seed's retention — checked on the plans directly, not only through the policy pack.

Seed: PostgreSQL "Replicas: Replica-1, Replica-2 (streaming replication)", "Backup: Daily
snapshots to S3", "Retention: 30 days"; "Firewall Rules: Ingress: Only from WAF/Load Balancer".
The backup bucket is versioned (a bad prune or a deletion can be undone); its noncurrent versions
expire after the retention, so nothing outlives the 30 days and nothing is lost before them. The
backup tools prune their current backups by the same retention (Barman Cloud's `retentionPolicy`,
PBM's daily task keeping 30), and the managed databases keep their automated backups as long.
"""

from __future__ import annotations

import pytest

from hubctl.plan import Plan, PlannedResource
from tests.planning import DATA_PLANS, DataPlan, k8s, of_type, one, outside_dr

RETENTION_DAYS = 30  # "Retention: 30 days"
HA_PLANS = [p for p in DATA_PLANS if p.stack != "dev"]
AWS_PLANS = [p for p in HA_PLANS if p.cloud == "aws"]


def ids(plans: list[DataPlan]) -> list[str]:
    return [p.id for p in plans]


def postgres_servers(plan: Plan, type_: str) -> tuple[PlannedResource, list[PlannedResource]]:
    servers = {r.name: r for r in of_type(plan, type_) if r.name.startswith("data-postgres-")}
    primary = servers.pop("data-postgres-primary")
    assert sorted(servers) == ["data-postgres-replica-1", "data-postgres-replica-2"]
    return primary, list(servers.values())


# ---- read replicas -------------------------------------------------------------------------------

RDS_PLANS = [p for p in HA_PLANS if p.backend("postgres") == "aws"]
FLEXIBLE_PLANS = [p for p in HA_PLANS if p.backend("postgres") == "azure"]


@pytest.mark.parametrize("data_plan", RDS_PLANS, ids=ids(RDS_PLANS))
def test_every_rds_read_replica_is_private_encrypted_and_reachable_from_nodes_only(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    primary, replicas = postgres_servers(plan, "aws:rds/instance:Instance")
    (group,) = [r for r in of_type(plan, "aws:ec2/securityGroup:SecurityGroup") if r.name == "data-postgres-sg"]
    for replica in replicas:
        i = replica.inputs
        assert i["publiclyAccessible"] is False, f"{replica.name}: publiclyAccessible {i.get('publiclyAccessible')}"
        assert i["storageEncrypted"] is True, replica.name
        assert i["replicateSourceDb"] == primary.inputs["identifier"], replica.name
        # The primary's security group (the cluster's nodes, one port) and no other.
        assert i["vpcSecurityGroupIds"] == [f"{group.name}-id"] == primary.inputs["vpcSecurityGroupIds"], replica.name
        # A same-region replica lives in its source's (private) subnet group; it names none of its own.
        assert "dbSubnetGroupName" not in i, replica.name
        assert i["parameterGroupName"] == primary.inputs["parameterGroupName"], replica.name  # TLS forced


@pytest.mark.parametrize("data_plan", FLEXIBLE_PLANS, ids=ids(FLEXIBLE_PLANS))
def test_every_flexible_server_replica_is_on_the_primarys_private_network(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    primary, replicas = postgres_servers(plan, "azure-native:dbforpostgresql:Server")
    network = primary.inputs["network"]
    assert network["publicNetworkAccess"] == "Disabled" and network["delegatedSubnetResourceId"]
    for replica in replicas:
        i = replica.inputs
        assert i["network"]["publicNetworkAccess"] == "Disabled", f"{replica.name}: {i['network']}"
        assert i["network"] == network, replica.name  # same delegated subnet and private DNS zone
        assert i["createMode"] == "Replica" and i["sourceServerResourceId"] == f"{primary.name}-id", replica.name


# ---- backup retention ----------------------------------------------------------------------------


@pytest.mark.parametrize("data_plan", AWS_PLANS, ids=ids(AWS_PLANS))
def test_backup_bucket_expires_old_versions_after_the_retention_and_keeps_current_ones(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    # The data layer's store (prod's copy in the secondary region is tests/test_dr.py's).
    (bucket,) = outside_dr(plan, of_type(plan, "aws:s3/bucket:Bucket"))
    (versioning,) = outside_dr(plan, of_type(plan, "aws:s3/bucketVersioning:BucketVersioning"))
    (lifecycle,) = outside_dr(plan, of_type(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"))
    assert versioning.inputs["bucket"] == lifecycle.inputs["bucket"] == f"{bucket.name}-id"
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {"prefix": ""}  # the whole bucket: every agent's prefix
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": RETENTION_DAYS}
    # Current backups are the tools' to prune (by the same retention): a lifecycle expiry of current
    # objects would delete a base backup that later WAL still needs.
    assert "expiration" not in rule and "transitions" not in rule


@pytest.mark.parametrize("data_plan", HA_PLANS, ids=ids(HA_PLANS))
def test_every_database_backup_is_kept_for_the_retention(data_plan: DataPlan) -> None:
    plan = data_plan.plan()
    kept: dict[str, int] = {}
    # MongoDB (always in-cluster): PBM's daily task keeps the last 30 (prod: 90, beside its DR
    # snapshots every 6 hours, tests/test_dr.py).
    tasks = {t["name"]: t for t in one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]["backup"]["tasks"]}
    task = tasks["daily"]
    assert task["schedule"] == "0 2 * * *" and task["retention"]["type"] == "count"
    kept["mongo (PBM, daily)"] = task["retention"]["count"]
    backend = data_plan.backend("postgres")
    if backend == "in-cluster":
        store = one(plan, "ObjectStore", "postgres-backups", "data")["spec"]
        assert store["retentionPolicy"].endswith("d")
        kept["postgres (Barman Cloud)"] = int(store["retentionPolicy"][:-1])
    elif backend == "aws":
        primary, _ = postgres_servers(plan, "aws:rds/instance:Instance")
        kept["postgres (RDS automated backups)"] = primary.inputs["backupRetentionPeriod"]
    else:
        primary, _ = postgres_servers(plan, "azure-native:dbforpostgresql:Server")
        kept["postgres (Flexible Server backups)"] = primary.inputs["backup"]["backupRetentionDays"]
    lifecycles = outside_dr(plan, of_type(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"))
    for lifecycle in lifecycles:
        (rule,) = lifecycle.inputs["rules"]
        kept["backup bucket (noncurrent versions)"] = rule["noncurrentVersionExpiration"]["noncurrentDays"]
    assert bool(lifecycles) == (data_plan.cloud == "aws")
    # Prod's disaster recovery keeps what the in-cluster tools prune by their own count 90 days
    # (settings/dr.py); the managed services' own backups stay at the seed's 30 and their 90-day
    # copies are AWS Backup's / Azure Backup's (tests/test_dr.py).
    dr_kept = ("mongo (PBM, daily)", "postgres (Barman Cloud)") if data_plan.stack == "prod" else ()
    assert kept == {what: 90 if what in dr_kept else RETENTION_DAYS for what in kept}


def test_dev_keeps_no_backups(dev_plan: Plan) -> None:
    """ "Backups: None" in dev: no store, no schedule, nothing to expire."""
    assert not of_type(dev_plan, "aws:s3/bucket:Bucket") and not k8s(dev_plan, "ObjectStore")
    assert one(dev_plan, "PerconaServerMongoDB", "mongo", "data")["spec"]["backup"]["enabled"] is False
