"""Data and storage policies on AWS and Azure, against the engine's camelCase input names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_policy_pack import found, others, resource, run, urn_of

TAGS = {"environment": "prod", "owner": "platform-team", "managed-by": "pulumi", "ttl": "indefinite"}


def cloud(type_: str, name: str, inputs: dict[str, Any], *, protect: bool = True, **kwargs: Any) -> dict[str, Any]:
    return resource(type_, name, {"tags": TAGS} | inputs, protect=protect, **kwargs)


RDS_OK = {
    "engine": "postgres",
    "engineVersion": "17.6",
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 30,
    "deletionProtection": True,
}


def rds(**changes: Any) -> dict[str, Any]:
    return cloud("aws:rds/instance:Instance", "db", RDS_OK | changes)


AZ_PG_OK = {
    "version": "17",
    "backup": {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"},
    "network": {"publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": "/subscriptions/x/subnets/pg"},
}


def azure_pg(**changes: Any) -> dict[str, Any]:
    return cloud("azure-native:dbforpostgresql:Server", "pg", AZ_PG_OK | changes)


def elasticache(**changes: Any) -> dict[str, Any]:
    inputs = {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "transitEncryptionMode": "required"}
    return cloud("aws:elasticache/replicationGroup:ReplicationGroup", "redis", inputs | changes)


def storage_account(**changes: Any) -> dict[str, Any]:
    inputs = {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False, "publicNetworkAccess": "Disabled"}
    return cloud("azure-native:storage:StorageAccount", "backups", inputs | changes)


def eks(**vpc: Any) -> dict[str, Any]:
    inputs = {
        "accessConfig": {"authenticationMode": "API"},
        "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True} | vpc,
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:eu:1:key/k"}},
    }
    return cloud("aws:eks/cluster:Cluster", "eks", inputs)


def aks(**profile: Any) -> dict[str, Any]:
    inputs = {
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "apiServerAccessProfile": {"enablePrivateCluster": True},
        "securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyId": "https://kv/keys/etcd/1"}},
    } | profile
    return cloud("azure-native:containerservice:ManagedCluster", "aks", inputs)


BUCKET = cloud("aws:s3/bucket:Bucket", "backups", {})
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}


def public_access_block(**flags: Any) -> dict[str, Any]:
    return resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "backups-pab",
        {"bucket": "backups-id"} | ALL_BLOCKED | flags,
        dependencies=[urn_of(BUCKET)],
    )


def pg_configuration(name: str, value: str, server: dict[str, Any]) -> dict[str, Any]:
    return resource(
        "azure-native:dbforpostgresql:Configuration",
        f"pg-{name}",
        {"configurationName": name, "value": value, "source": "user-override", "serverName": "pg"},
        dependencies=[urn_of(server)],
    )


SERVER = azure_pg()

CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "data-encryption-at-rest": ([rds(), elasticache()], [rds(storageEncrypted=False)]),
    "data-tls-in-transit": ([elasticache(), storage_account()], [elasticache(transitEncryptionEnabled=False)]),
    "data-no-public-access": ([rds(), azure_pg()], [rds(publiclyAccessible=True)]),
    "cluster-api-private": ([eks(), aks()], [eks(endpointPublicAccess=True)]),
    "data-backup-retention": ([rds(), azure_pg()], [rds(backupRetentionPeriod=7)]),
    "stateful-protection": (
        [rds()],
        [cloud("aws:rds/instance:Instance", "db", RDS_OK, protect=False)],
    ),
    "s3-public-access-block": ([BUCKET, public_access_block()], [BUCKET]),
    "tls13-where-offered": (
        [SERVER, pg_configuration("ssl_min_protocol_version", "TLSv1.3", SERVER)],
        [SERVER, pg_configuration("ssl_min_protocol_version", "TLSv1.2", SERVER)],
    ),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_compliant_case_passes_and_violating_case_is_caught(policy: str) -> None:
    compliant, violating = CASES[policy]
    ok = run("prod", *compliant)
    assert found(ok, policy) == [] and others(ok, policy) == [], ok.violations
    bad = run("prod", *violating)
    assert found(bad, policy), f"{policy} missed its violating case"
    assert others(bad, policy) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (elasticache(atRestEncryptionEnabled=False), "atRestEncryptionEnabled must be true"),
        (cloud("aws:docdb/cluster:Cluster", "docs", {"storageEncrypted": False}), "storageEncrypted must be true"),
        (
            eks() | {"inputs": eks()["inputs"] | {"encryptionConfig": None}},
            "encryptionConfig must encrypt 'secrets' with a KMS key (provider.keyArn)",
        ),
        (
            aks(securityProfile={}),
            "securityProfile.azureKeyVaultKms must be enabled with a keyId (KMS encryption of Kubernetes secrets)",
        ),
    ],
)
def test_encryption_at_rest_per_service(entry: dict[str, Any], message: str) -> None:
    assert message in found(run("prod", entry), "data-encryption-at-rest")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (elasticache(transitEncryptionMode="preferred"), "transitEncryptionMode 'preferred' accepts plaintext"),
        (
            cloud(
                "aws:msk/cluster:Cluster",
                "kafka",
                {"encryptionInfo": {"encryptionInTransit": {"clientBroker": "TLS_PLAINTEXT"}}},
            ),
            "encryptionInfo.encryptionInTransit.clientBroker is TLS_PLAINTEXT; allowed: TLS",
        ),
        (storage_account(minimumTlsVersion="TLS1_0"), "minimumTlsVersion is TLS1_0; TLS 1.2 or newer is required"),
        (storage_account(minimumTlsVersion=None), "minimumTlsVersion must be set to TLS 1.2 or newer"),
        (cloud("azure-native:redis:Redis", "cache", {"enableNonSslPort": True}), "enableNonSslPort must not be true"),
        (cloud("azure-native:redis:Redis", "cache", {"minimumTlsVersion": "1.1"}), "minimumTlsVersion is 1.1"),
        (
            cloud("azure-native:cosmosdb:DatabaseAccount", "mongo", {"minimalTlsVersion": "Tls11"}),
            "minimalTlsVersion is Tls11",
        ),
        (
            resource(
                "aws:rds/parameterGroup:ParameterGroup",
                "pg",
                {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "0"}]},
            ),
            "rds.force_ssl=0 allows plaintext connections",
        ),
        (rds(engineVersion="14.12"), "PostgreSQL before 15 does not force TLS"),
        (
            resource(
                "azure-native:dbforpostgresql:Configuration",
                "c",
                {"configurationName": "require_secure_transport", "value": "off"},
            ),
            "require_secure_transport off allows plaintext connections",
        ),
    ],
)
def test_tls_in_transit_per_service(entry: dict[str, Any], message: str) -> None:
    assert any(message in m for m in found(run("prod", entry), "data-tls-in-transit"))


def test_msk_defaults_are_tls() -> None:
    kafka = cloud("aws:msk/cluster:Cluster", "kafka", {"brokerNodeGroupInfo": {"instanceType": "kafka.m7g.large"}})
    assert found(run("prod", kafka), "data-tls-in-transit") == []
    assert found(run("prod", kafka), "data-no-public-access") == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (azure_pg(network={"publicNetworkAccess": "Enabled"}), "network.publicNetworkAccess must be 'Disabled'"),
        (storage_account(allowBlobPublicAccess=True), "allowBlobPublicAccess must be false"),
        (storage_account(publicNetworkAccess="Enabled"), "publicNetworkAccess must be 'Disabled' or networkRuleSet"),
        (
            cloud("azure-native:redisenterprise:RedisEnterprise", "re", {"publicNetworkAccess": "Enabled"}),
            "publicNetworkAccess must be 'Disabled'",
        ),
        (
            cloud(
                "aws:msk/cluster:Cluster",
                "kafka",
                {"brokerNodeGroupInfo": {"connectivityInfo": {"publicAccess": {"type": "SERVICE_PROVIDED_EIPS"}}}},
            ),
            "publicAccess.type is SERVICE_PROVIDED_EIPS",
        ),
    ],
)
def test_no_public_access_per_service(entry: dict[str, Any], message: str) -> None:
    assert any(message in m for m in found(run("prod", entry), "data-no-public-access"))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (eks(endpointPublicAccess=True), "vpcConfig.endpointPublicAccess is on with no publicAccessCidrs"),
        (
            eks(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24", "0.0.0.0/0"]),
            "vpcConfig.publicAccessCidrs 0.0.0.0/0 open the API to the internet",
        ),
        (eks(endpointPublicAccess=True, publicAccessCidrs=["::/0"]), "vpcConfig.publicAccessCidrs ::/0 open"),
        (aks(apiServerAccessProfile={}), "apiServerAccessProfile: neither a private cluster nor authorizedIPRanges"),
        (
            aks(apiServerAccessProfile={"authorizedIPRanges": ["0.0.0.0/0"]}),
            "apiServerAccessProfile.authorizedIPRanges 0.0.0.0/0 open the API server",
        ),
    ],
)
def test_cluster_api_endpoints_are_private(entry: dict[str, Any], message: str) -> None:
    assert any(message in m for m in found(run("prod", entry), "cluster-api-private"))


def test_public_endpoints_restricted_to_known_ranges_are_accepted() -> None:
    restricted = eks(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"])
    assert found(run("prod", restricted), "cluster-api-private") == []
    ranges = aks(apiServerAccessProfile={"authorizedIPRanges": ["203.0.113.0/24"]})
    assert found(run("prod", ranges), "cluster-api-private") == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (azure_pg(backup={"backupRetentionDays": 7}), "backup.backupRetentionDays is 7.0; the seed keeps backups"),
        (
            cloud("aws:rds/cluster:Cluster", "aurora", {"storageEncrypted": True, "deletionProtection": True}),
            "backupRetentionPeriod is None",
        ),
        (
            cloud(
                "azure-native:cosmosdb:DatabaseAccount",
                "mongo",
                {"publicNetworkAccess": "Disabled", "backupPolicy": {"type": "Periodic"}},
            ),
            "backupPolicy must be Continuous with tier Continuous30Days",
        ),
    ],
)
def test_backup_retention_per_service(entry: dict[str, Any], message: str) -> None:
    assert any(message in m for m in found(run("prod", entry), "data-backup-retention"))


def test_replicas_keep_no_backups_of_their_own() -> None:
    replica = rds(backupRetentionPeriod=0, replicateSourceDb="arn:aws:rds:eu-central-1:1:db:primary")
    assert found(run("prod", replica), "data-backup-retention") == []


def test_dev_keeps_no_backups_and_protects_nothing() -> None:
    dev = {"tags": TAGS | {"environment": "dev"}}
    entry = resource(
        "aws:rds/instance:Instance", "db", RDS_OK | {"backupRetentionPeriod": 0, "deletionProtection": False} | dev
    )
    report = run("dev", entry)
    assert found(report, "data-backup-retention") == [] and found(report, "stateful-protection") == []


def test_protection_covers_deletion_protection_and_final_snapshots() -> None:
    entry = rds(deletionProtection=False, skipFinalSnapshot=True)
    entry["inputs"]["tags"] = TAGS | {"environment": "staging"}
    assert found(run("staging", entry), "stateful-protection") == [
        "deletionProtection must be true in staging",
        "skipFinalSnapshot must not be true in staging",
    ]


def test_in_cluster_stateful_custom_resources_are_protected_too() -> None:
    cnpg = resource(
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
        "pg",
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "data", "labels": {"bakhmach.io/context": "platform"}},
        },
    )
    assert found(run("prod", cnpg), "stateful-protection") == [
        "a stateful resource in prod must be created with protect=True"
    ]
    assert found(run("prod", cnpg | {"protect": True}), "stateful-protection") == []


def test_a_partial_public_access_block_is_not_enough() -> None:
    messages = found(run("prod", BUCKET, public_access_block(restrictPublicBuckets=False)), "s3-public-access-block")
    assert messages == ["bucket backups: its BucketPublicAccessBlock does not block all four settings"]


def test_an_account_wide_public_access_block_covers_every_bucket() -> None:
    account = resource("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "account", dict(ALL_BLOCKED))
    assert found(run("prod", BUCKET, account), "s3-public-access-block") == []


def test_tls13_is_advisory_and_does_not_block() -> None:
    report = run("prod", SERVER)
    assert [(v.policy, v.level) for v in report.violations if v.policy == "tls13-where-offered"] == [
        ("tls13-where-offered", "advisory")
    ]
    assert others(report, "tls13-where-offered") == []


def test_read_replicas_may_skip_the_final_snapshot() -> None:
    replica = rds(skipFinalSnapshot=True, replicateSourceDb="prod-postgres")
    assert found(run("prod", replica), "stateful-protection") == []
    assert found(run("prod", rds(skipFinalSnapshot=True)), "stateful-protection") == [
        "skipFinalSnapshot must not be true in prod"
    ]


def test_postgres_tls_check_does_not_read_an_unknown_parameter_group() -> None:
    report = run("prod", rds(parameterGroupName="[unknown]"))
    assert found(report, "data-tls-in-transit") == []


def test_a_replica_of_an_unknown_source_is_not_judged_for_backups() -> None:
    """The source ARN is computed (unknown in a preview): that it is set marks a replica, and the
    stack-wide backup policy must not be skipped for reading it."""
    replica = rds(backupRetentionPeriod=0, replicateSourceDb="[unknown]")
    report = run("prod", replica, rds(backupRetentionPeriod=7) | {"name": "other", "urn": "urn:x::other"})
    assert found(report, "data-backup-retention") == [
        "backupRetentionPeriod is 7.0; the seed keeps backups (and point-in-time recovery) 30 days"
    ]
