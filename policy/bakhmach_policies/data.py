"""Data and storage policies on AWS and Azure: encryption at rest, TLS in transit, no public
access, backup retention with point-in-time recovery, and protection of stateful resources.

Each rule names the engine's input property (camelCase of the SDK argument) it reads. Where a
service is always encrypted, private or TLS-only by construction (S3 SSE-S3, MSK at rest, Azure
Storage/Cosmos at rest, ElastiCache in a VPC), there is no rule for it: the policy checks what a
program can get wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from . import seed
from .common import (
    as_bool,
    as_number,
    cluster_of,
    get,
    group_of,
    has_key,
    items,
    kind_of,
    name,
    namespace,
    object_ref,
    resource_environment,
    resource_policy,
    stack_policy,
    version_tuple,
)

Check = Callable[[Mapping[str, Any]], str | None]

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_PARAMETER_GROUP = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
ELASTICACHE_RG = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
EBS_VOLUME = "aws:ebs/volume:Volume"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
AZ_POSTGRES = "azure-native:dbforpostgresql:Server"
AZ_POSTGRES_CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
AZ_REDIS = "azure-native:redis:Redis"
AZ_REDIS_ENTERPRISE = "azure-native:redisenterprise:RedisEnterprise"
AZ_REDIS_ENTERPRISE_DB = "azure-native:redisenterprise:Database"
AZ_STORAGE = "azure-native:storage:StorageAccount"
AZ_COSMOS = "azure-native:cosmosdb:DatabaseAccount"
AZ_MONGO_CLUSTER = "azure-native:mongocluster:MongoCluster"
AZ_EVENTHUB = "azure-native:eventhub:Namespace"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"

TLS12 = (1, 2)
TLS13 = (1, 3)


def _is_true(props: Mapping[str, Any], *path: str) -> bool:
    return as_bool(get(props, *path)) is True


def _is_false(props: Mapping[str, Any], *path: str) -> bool:
    return as_bool(get(props, *path)) is False


def _require_true(*path: str) -> Check:
    field = ".".join(path)
    return lambda p: None if _is_true(p, *path) else f"{field} must be true"


def _forbid_true(*path: str) -> Check:
    field = ".".join(path)
    return lambda p: f"{field} must not be true" if _is_true(p, *path) else None


def _min_tls(*path: str, required: bool = False) -> Check:
    """The minimum TLS version at `path` is 1.2 or newer (absent is fine where the default is 1.2)."""
    field = ".".join(path)

    def check(p: Mapping[str, Any]) -> str | None:
        value = get(p, *path)
        if value is None:
            return f"{field} must be set to TLS 1.2 or newer" if required else None
        return None if version_tuple(value) >= TLS12 else f"{field} is {value}; TLS 1.2 or newer is required"

    return check


def _equals(path: tuple[str, ...], allowed: tuple[Any, ...], absent_ok: bool) -> Check:
    field = ".".join(path)

    def check(p: Mapping[str, Any]) -> str | None:
        value = get(p, *path)
        if value is None:
            return None if absent_ok else f"{field} must be {' or '.join(map(str, allowed))}"
        return None if value in allowed else f"{field} is {value}; allowed: {', '.join(map(str, allowed))}"

    return check


def _parameters(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(p.get("name")): str(p.get("value")) for p in items(props.get("parameters"))}


# ---- encryption at rest ---------------------------------------------------------------------


def _eks_secrets_encrypted(p: Mapping[str, Any]) -> str | None:
    for config in items(p.get("encryptionConfig")) or [p.get("encryptionConfig")]:
        if config and "secrets" in list(items(get(config, "resources"))) and get(config, "provider", "keyArn"):
            return None
    return "encryptionConfig must encrypt 'secrets' with a KMS key (provider.keyArn)"


def _aks_secrets_encrypted(p: Mapping[str, Any]) -> str | None:
    if _is_true(p, "securityProfile", "azureKeyVaultKms", "enabled") and get(
        p, "securityProfile", "azureKeyVaultKms", "keyId"
    ):
        return None
    return "securityProfile.azureKeyVaultKms must be enabled with a keyId (KMS encryption of Kubernetes secrets)"


def _storage_services_encrypted(p: Mapping[str, Any]) -> str | None:
    for service in ("blob", "file", "queue", "table"):
        if _is_false(p, "encryption", "services", service, "enabled"):
            return f"encryption.services.{service}.enabled must not be false"
    return None


def _unless_global_member(check: Check) -> Check:
    """An ElastiCache Global Datastore member inherits its encryption from the global datastore, so
    from its primary, which this checks (dr-cross-region-copies checks the membership)."""
    return lambda p: None if has_key(p, "globalReplicationGroupId") else check(p)


AT_REST: dict[str, list[Check]] = {
    RDS_INSTANCE: [_require_true("storageEncrypted")],
    RDS_CLUSTER: [_require_true("storageEncrypted")],
    DOCDB_CLUSTER: [_require_true("storageEncrypted")],
    ELASTICACHE_RG: [_unless_global_member(_require_true("atRestEncryptionEnabled"))],
    EBS_VOLUME: [_require_true("encrypted")],
    EKS_CLUSTER: [_eks_secrets_encrypted],
    AKS_CLUSTER: [_aks_secrets_encrypted],
    AZ_STORAGE: [_storage_services_encrypted],
}


# ---- TLS in transit -------------------------------------------------------------------------


def _elasticache_tls(p: Mapping[str, Any]) -> str | None:
    if not _is_true(p, "transitEncryptionEnabled"):
        return "transitEncryptionEnabled must be true"
    if get(p, "transitEncryptionMode") == "preferred":
        return "transitEncryptionMode 'preferred' accepts plaintext; use 'required'"
    return None


def _rds_postgres_tls(p: Mapping[str, Any]) -> str | None:
    # RDS for PostgreSQL forces TLS by default (rds.force_ssl=1) from major version 15 on; an
    # unset engineVersion means the current default, which is newer.
    if get(p, "engine") != "postgres" or "engineVersion" not in p:
        return None
    major = (version_tuple(get(p, "engineVersion")) or (0,))[0]
    # Only whether a parameter group is named matters here (its name may be unknown in preview).
    if major < 15 and "parameterGroupName" not in p:
        return "PostgreSQL before 15 does not force TLS: set a parameter group with rds.force_ssl=1"
    return None


def _postgres_parameters_tls(p: Mapping[str, Any]) -> str | None:
    params = _parameters(p)
    if params.get("rds.force_ssl") == "0":
        return "rds.force_ssl=0 allows plaintext connections"
    value = params.get("ssl_min_protocol_version")
    if value is not None and version_tuple(value) < TLS12:
        return f"ssl_min_protocol_version {value}: TLS 1.2 or newer is required"
    return None


def _docdb_parameters_tls(p: Mapping[str, Any]) -> str | None:
    value = _parameters(p).get("tls")
    if value == "disabled":
        return "tls=disabled allows plaintext connections"
    return None


def _azure_postgres_configuration_tls(p: Mapping[str, Any]) -> str | None:
    key, value = p.get("configurationName"), str(p.get("value", ""))
    if key == "require_secure_transport" and value.lower() in ("off", "false", "0"):
        return "require_secure_transport off allows plaintext connections"
    if key == "ssl_min_protocol_version" and version_tuple(value) < TLS12:
        return f"ssl_min_protocol_version {value}: TLS 1.2 or newer is required"
    return None


def _https_only(p: Mapping[str, Any]) -> str | None:
    return "enableHttpsTrafficOnly must not be false" if _is_false(p, "enableHttpsTrafficOnly") else None


IN_TRANSIT: dict[str, list[Check]] = {
    ELASTICACHE_RG: [_unless_global_member(_elasticache_tls)],
    MSK_CLUSTER: [
        _equals(("encryptionInfo", "encryptionInTransit", "clientBroker"), ("TLS",), absent_ok=True),
        lambda p: (
            "encryptionInfo.encryptionInTransit.inCluster must not be false"
            if _is_false(p, "encryptionInfo", "encryptionInTransit", "inCluster")
            else None
        ),
    ],
    RDS_INSTANCE: [_rds_postgres_tls],
    RDS_PARAMETER_GROUP: [_postgres_parameters_tls],
    RDS_CLUSTER_PARAMETER_GROUP: [_postgres_parameters_tls],
    DOCDB_PARAMETER_GROUP: [_docdb_parameters_tls],
    AZ_POSTGRES_CONFIGURATION: [_azure_postgres_configuration_tls],
    AZ_REDIS: [_forbid_true("enableNonSslPort"), _min_tls("minimumTlsVersion")],
    AZ_REDIS_ENTERPRISE: [_min_tls("minimumTlsVersion")],
    AZ_REDIS_ENTERPRISE_DB: [_equals(("clientProtocol",), ("Encrypted",), absent_ok=True)],
    # Azure Storage still defaults to TLS 1.0, so the minimum must be written down.
    AZ_STORAGE: [_min_tls("minimumTlsVersion", required=True), _https_only],
    AZ_COSMOS: [_min_tls("minimalTlsVersion")],
    AZ_EVENTHUB: [_min_tls("minimumTlsVersion")],
}


# ---- public access --------------------------------------------------------------------------


def _public_network_disabled(field: str = "publicNetworkAccess", *, private_if: str | None = None) -> Check:
    def check(p: Mapping[str, Any]) -> str | None:
        if private_if and get(p, *private_if.split(".")):
            return None  # injected into a virtual network: no public endpoint exists
        value = get(p, *field.split("."))
        return None if value == "Disabled" else f"{field} must be 'Disabled' (is {value})"

    return check


def _msk_private(p: Mapping[str, Any]) -> str | None:
    kind = get(p, "brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type", default="DISABLED")
    return None if kind == "DISABLED" else f"brokerNodeGroupInfo.connectivityInfo.publicAccess.type is {kind}"


def _storage_private(p: Mapping[str, Any]) -> str | None:
    if as_bool(get(p, "allowBlobPublicAccess")) is not False:
        return "allowBlobPublicAccess must be false"
    if get(p, "publicNetworkAccess") == "Disabled" or get(p, "networkRuleSet", "defaultAction") == "Deny":
        return None
    return "publicNetworkAccess must be 'Disabled' or networkRuleSet.defaultAction 'Deny'"


PUBLIC_ACCESS: dict[str, list[Check]] = {
    RDS_INSTANCE: [_forbid_true("publiclyAccessible")],
    RDS_CLUSTER: [_forbid_true("publiclyAccessible")],
    RDS_CLUSTER_INSTANCE: [_forbid_true("publiclyAccessible")],
    MSK_CLUSTER: [_msk_private],
    AZ_POSTGRES: [
        _public_network_disabled("network.publicNetworkAccess", private_if="network.delegatedSubnetResourceId")
    ],
    AZ_REDIS: [_public_network_disabled(private_if="subnetId")],
    AZ_REDIS_ENTERPRISE: [_public_network_disabled()],
    AZ_STORAGE: [_storage_private],
    AZ_COSMOS: [_public_network_disabled()],
    AZ_MONGO_CLUSTER: [_public_network_disabled("properties.publicNetworkAccess")],
    AZ_EVENTHUB: [_public_network_disabled()],
}


# ---- backups --------------------------------------------------------------------------------


def _retention(field: str, *, replica_if: str | None = None, replica_values: tuple[Any, ...] = ()) -> Check:
    def check(p: Mapping[str, Any]) -> str | None:
        # A replica's source holds the backups. The source is often a computed ARN, unknown in a
        # preview: that the key is set is enough (reading it would skip the whole stack policy).
        if replica_if and not replica_values and has_key(p, replica_if):
            return None
        marker = get(p, *replica_if.split(".")) if replica_if and replica_values else None
        if marker is not None and marker in replica_values:
            return None
        days = as_number(get(p, *field.split(".")))
        if days is None or days < seed.BACKUP_RETENTION_DAYS:
            return (
                f"{field} is {days}; the seed keeps backups (and point-in-time recovery) "
                f"{seed.BACKUP_RETENTION_DAYS} days"
            )
        return None

    return check


def _cosmos_backup(p: Mapping[str, Any]) -> str | None:
    policy_type = get(p, "backupPolicy", "type")
    tier = get(p, "backupPolicy", "continuousModeProperties", "tier")
    if policy_type == "Continuous" and tier == "Continuous30Days":
        return None
    return (
        "backupPolicy must be Continuous with tier Continuous30Days "
        f"(point-in-time recovery over the seed's {seed.BACKUP_RETENTION_DAYS} days)"
    )


def retention_days(value: Any) -> float | None:
    """A CloudNativePG / Barman retention policy ('30d', '4w', '1m') in days."""
    match = re.fullmatch(r"([1-9][0-9]*)([dwm])", str(value or ""))
    return float(int(match[1]) * {"d": 1, "w": 7, "m": 30}[match[2]]) if match else None


def postgres_seconds(value: Any) -> float | None:
    """A PostgreSQL time setting ('5min', '300s', '300' = seconds) in seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(ms|s|min|h|d)?\s*", str(value if value is not None else ""))
    if not match:
        return None
    return int(match[1]) * {"ms": 0.001, "s": 1, None: 1, "min": 60, "h": 3600, "d": 86400}[match[2]]


BACKUPS: dict[str, list[Check]] = {
    RDS_INSTANCE: [_retention("backupRetentionPeriod", replica_if="replicateSourceDb")],
    RDS_CLUSTER: [_retention("backupRetentionPeriod", replica_if="replicationSourceIdentifier")],
    DOCDB_CLUSTER: [_retention("backupRetentionPeriod")],
    AZ_POSTGRES: [_retention("backup.backupRetentionDays", replica_if="createMode", replica_values=("Replica",))],
    AZ_COSMOS: [_cosmos_backup],
}


# ---- in-cluster PostgreSQL (CloudNativePG and its Barman Cloud plugin) ------------------------
CNPG_CLUSTER = ("postgresql.cnpg.io", "Cluster")
CNPG_SCHEDULED_BACKUP = ("postgresql.cnpg.io", "ScheduledBackup")
BARMAN_OBJECT_STORE = ("barmancloud.cnpg.io", "ObjectStore")


def _custom(resources: list[PolicyResource], group_kind: tuple[str, str]) -> list[PolicyResource]:
    return [
        r
        for r in resources
        if r.resource_type.startswith("kubernetes:")
        and (group_of(r.resource_type), kind_of(r.resource_type)) == group_kind
    ]


def _same_place(a: PolicyResource, b: PolicyResource) -> bool:
    return cluster_of(a) == cluster_of(b) and namespace(a.props) == namespace(b.props)


def _check_cnpg_backups(resources: list[PolicyResource], report: ReportViolation) -> None:
    stores = _custom(resources, BARMAN_OBJECT_STORE)
    schedules = _custom(resources, CNPG_SCHEDULED_BACKUP)
    for cluster in _custom(resources, CNPG_CLUSTER):
        spec = get(cluster.props, "spec", default={})
        if as_bool(get(spec, "replica", "enabled")) is True:
            continue  # a replica cluster: its source archives and backs up
        label = object_ref(cluster.props)
        archivers = [p for p in items(spec.get("plugins")) if as_bool(p.get("isWALArchiver")) is True]
        legacy = get(spec, "backup", "barmanObjectStore")
        if not archivers and not legacy:
            report(
                f"{label}: no WAL archiving (a Barman Cloud plugin with isWALArchiver, or backup.barmanObjectStore): "
                "no point-in-time recovery",
                cluster.urn,
            )
        for plugin in archivers:
            store_name = get(plugin, "parameters", "barmanObjectName")
            store = next((s for s in stores if name(s.props) == store_name and _same_place(s, cluster)), None)
            if store is None:
                report(
                    f"{label}: its WAL archive names ObjectStore {store_name}, which the stack does not create",
                    cluster.urn,
                )
                continue
            days = retention_days(get(store.props, "spec", "retentionPolicy"))
            if get(store.props, "spec", "retentionPolicy") is not None and (
                days is None or days < seed.BACKUP_RETENTION_DAYS
            ):
                report(
                    f"{object_ref(store.props)}: retentionPolicy {get(store.props, 'spec', 'retentionPolicy')}; the "
                    f"seed keeps backups {seed.BACKUP_RETENTION_DAYS} days",
                    store.urn,
                )
        legacy_retention = get(spec, "backup", "retentionPolicy")
        if legacy_retention is not None and (retention_days(legacy_retention) or 0) < seed.BACKUP_RETENTION_DAYS:
            report(f"{label}: backup.retentionPolicy {legacy_retention}; the seed keeps backups 30 days", cluster.urn)
        timeout = get(spec, "postgresql", "parameters", "archive_timeout")
        seconds = postgres_seconds(timeout)
        if timeout is not None and (seconds is None or seconds == 0 or seconds > seed.RPO_SECONDS):
            report(
                f"{label}: archive_timeout {timeout}; the seed's RPO is {seed.RPO_SECONDS // 60} minutes",
                cluster.urn,
            )
        mine = [
            s
            for s in schedules
            if get(s.props, "spec", "cluster", "name") == name(cluster.props)
            and _same_place(s, cluster)
            and as_bool(get(s.props, "spec", "suspend")) is not True
        ]
        if not mine:
            report(f"{label}: no ScheduledBackup takes its base backups (the seed's daily snapshots)", cluster.urn)


def _check_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        for rule in BACKUPS.get(resource.resource_type, []):
            problem = rule(resource.props)
            if problem:
                report(problem, resource.urn)
    _check_cnpg_backups(args.resources, report)


# ---- protection of stateful resources -------------------------------------------------------
STATEFUL_TYPES = frozenset(
    {
        RDS_INSTANCE,
        RDS_CLUSTER,
        DOCDB_CLUSTER,
        ELASTICACHE_RG,
        MSK_CLUSTER,
        *S3_BUCKETS,
        EBS_VOLUME,
        AZ_POSTGRES,
        AZ_REDIS,
        AZ_REDIS_ENTERPRISE,
        AZ_REDIS_ENTERPRISE_DB,
        AZ_STORAGE,
        AZ_COSMOS,
        AZ_MONGO_CLUSTER,
        AZ_EVENTHUB,
    }
)
# In-cluster data: the operators' custom resources and claims that hold the data.
STATEFUL_KUBERNETES = frozenset(
    {
        ("postgresql.cnpg.io", "Cluster"),
        ("mongodbcommunity.mongodb.com", "MongoDBCommunity"),
        ("psmdb.percona.com", "PerconaServerMongoDB"),
        ("redis.redis.opstreelabs.in", "RedisCluster"),
        ("redis.redis.opstreelabs.in", "RedisReplication"),
        ("kafka.strimzi.io", "Kafka"),
        ("kafka.strimzi.io", "KafkaNodePool"),
        ("core", "PersistentVolumeClaim"),
    }
)
DELETION_PROTECTION = {
    RDS_INSTANCE: "deletionProtection",
    RDS_CLUSTER: "deletionProtection",
    DOCDB_CLUSTER: "deletionProtection",
}
FINAL_SNAPSHOT = (RDS_INSTANCE, RDS_CLUSTER, DOCDB_CLUSTER)


def is_stateful(resource_type: str) -> bool:
    if resource_type in STATEFUL_TYPES:
        return True
    if resource_type.startswith("kubernetes:"):
        group = group_of(resource_type)
        group = "core" if group in ("core", "v1") else group
        return (group, kind_of(resource_type)) in STATEFUL_KUBERNETES
    return False


def _check_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_stateful(args.resource_type):
        return
    env = resource_environment(args)
    if env not in seed.PROTECTED_ENVIRONMENTS:
        return
    if not args.opts.protect:
        report(f"a stateful resource in {env} must be created with protect=True", None)
    field = DELETION_PROTECTION.get(args.resource_type)
    if field and not _is_true(args.props, field):
        report(f"{field} must be true in {env}", None)
    # A read replica cannot take a final snapshot (RDS refuses one); its source keeps the backups.
    replica = has_key(args.props, "replicateSourceDb") or has_key(args.props, "replicationSourceIdentifier")
    if args.resource_type in FINAL_SNAPSHOT and _is_true(args.props, "skipFinalSnapshot") and not replica:
        report(f"skipFinalSnapshot must not be true in {env}", None)


def _table_check(table: dict[str, list[Check]]) -> Any:
    def check(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for rule in table.get(args.resource_type, []):
            problem = rule(args.props)
            if problem:
                report(problem, None)

    return check


# ---- S3 public access block (needs the whole stack) ----------------------------------------


def _blocks_everything(props: Mapping[str, Any]) -> bool:
    return all(
        _is_true(props, f)
        for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )


def _check_s3_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    if any(r.resource_type == S3_ACCOUNT_PUBLIC_ACCESS_BLOCK and _blocks_everything(r.props) for r in args.resources):
        return
    blocks = [r for r in args.resources if r.resource_type == S3_PUBLIC_ACCESS_BLOCK]
    for bucket in (r for r in args.resources if r.resource_type in S3_BUCKETS):
        mine = [b for b in blocks if bucket.urn in {d.urn for d in b.dependencies}]
        if not mine:
            report(f"bucket {bucket.name} has no BucketPublicAccessBlock", bucket.urn)
        elif not any(_blocks_everything(b.props) for b in mine):
            report(f"bucket {bucket.name}: its BucketPublicAccessBlock does not block all four settings", bucket.urn)


# ---- TLS 1.3 where the service offers it (advisory) ----------------------------------------


def _depends_on(resource: PolicyResource, target: PolicyResource) -> bool:
    return target.urn in {d.urn for d in resource.dependencies}


def _check_tls13(args: StackValidationArgs, report: ReportViolation) -> None:
    """PostgreSQL (RDS and Azure flexible server) can require TLS 1.3 as its minimum; the seed asks
    for TLS 1.3 in transit. Managed Redis, Kafka, Cosmos DB and Storage offer no 1.3 minimum."""
    for server in args.resources:
        if server.resource_type == AZ_POSTGRES:
            configs = [
                r
                for r in args.resources
                if r.resource_type == AZ_POSTGRES_CONFIGURATION
                and r.props.get("configurationName") == "ssl_min_protocol_version"
                and _depends_on(r, server)
            ]
        elif server.resource_type in (RDS_INSTANCE, RDS_CLUSTER) and "postgres" in str(server.props.get("engine", "")):
            groups = [
                r for r in server.dependencies if r.resource_type in (RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP)
            ]
            configs = [g for g in groups if "ssl_min_protocol_version" in _parameters(g.props)]
        else:
            continue
        values = [c.props.get("value") for c in configs] + [
            _parameters(c.props).get("ssl_min_protocol_version") for c in configs
        ]
        if not any(v is not None and version_tuple(v) >= TLS13 for v in values):
            report(f"{server.name}: PostgreSQL accepts TLS 1.2; set ssl_min_protocol_version to TLSv1.3", server.urn)


PROTECTED = frozenset(seed.PROTECTED_ENVIRONMENTS)

POLICIES = [
    resource_policy(
        "data-encryption-at-rest",
        "Databases, caches, volumes and cluster secrets are encrypted at rest (AWS and Azure).",
        _table_check(AT_REST),
    ),
    resource_policy(
        "data-tls-in-transit",
        "Data services accept only TLS connections, with TLS 1.2 as the lowest version.",
        _table_check(IN_TRANSIT),
    ),
    resource_policy(
        "data-no-public-access",
        "Data services are not reachable from the internet (cluster API endpoints: cluster-api-private).",
        _table_check(PUBLIC_ACCESS),
    ),
    stack_policy(
        "data-backup-retention",
        f"Databases take daily backups and keep them, with point-in-time recovery, for at least "
        f"{seed.BACKUP_RETENTION_DAYS} days: RDS, Aurora, DocumentDB, Flexible Server, Cosmos DB, and in-cluster "
        "CloudNativePG (WAL archive, retention, scheduled backups) (staging and prod).",
        _check_backups,
        environments=PROTECTED,
    ),
    resource_policy(
        "stateful-protection",
        "Stateful resources in staging and prod are protected (Pulumi protect, deletion protection, final snapshot).",
        _check_protection,
    ),
    stack_policy(
        "s3-public-access-block",
        "Every S3 bucket has a public access block that blocks all four settings.",
        _check_s3_public_access,
    ),
    stack_policy(
        "tls13-where-offered",
        "Services that can require TLS 1.3 as their minimum do so (the seed's in-transit TLS 1.3).",
        _check_tls13,
        EnforcementLevel.ADVISORY,
    ),
]
