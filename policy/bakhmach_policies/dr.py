"""Disaster recovery across regions (prod): every data service has a copy in the other region, the
backups are taken every 6 hours and kept 90 days with copies in the other region, the two
regions' networks are joined privately on the replication ports only, and the failover path's
time adds up to less than the RTO.

The RTO budget (`rto_budget`) is computed from the resources themselves, so `hubctl dr budget`
and the `dr-rto-budget` policy judge the same plan the same way: detection (health-check
interval x failure threshold), the slowest promotion among the data services (each backend's
typical figure, `PROMOTION`, with its source), the failover record's TTL and the clients'
reconnection. Where the plan has no health checks yet (they come with the gateway's origins), the
failover settings DnsFailover configures, which the DisasterRecovery component records, are used
and the step says so.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    as_bool,
    as_mapping,
    as_number,
    depends_on,
    get,
    group_of,
    has_key,
    items,
    kind_of,
    name,
    namespace,
    object_ref,
    of_type,
    peek,
    stack_policy,
)
from .data import retention_days

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
ELASTICACHE_RG = "aws:elasticache/replicationGroup:ReplicationGroup"
ELASTICACHE_GLOBAL = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_REPLICATOR = "aws:msk/replicator:Replicator"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_SELECTION = "aws:backup/selection:Selection"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
VPC = "aws:ec2/vpc:Vpc"
VPC_PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
VPC_PEERING_ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
PEERING_OPTIONS = "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions"
ROUTE = "aws:ec2/route:Route"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROUTE53_HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ROUTE53_RECORD = "aws:route53/record:Record"
AZ_POSTGRES = "azure-native:dbforpostgresql:Server"
AZ_REDIS_ENTERPRISE = "azure-native:redisenterprise:RedisEnterprise"
AZ_REDIS_DB = "azure-native:redisenterprise:Database"
AZ_VNET = "azure-native:network:VirtualNetwork"
AZ_PEERING = "azure-native:network:VirtualNetworkPeering"
AZ_BACKUP_VAULT = "azure-native:dataprotection:BackupVault"
AZ_BACKUP_POLICY = "azure-native:dataprotection:BackupPolicy"
AZ_BACKUP_INSTANCE = "azure-native:dataprotection:BackupInstance"
TM_PROFILE = "azure-native:trafficmanager:Profile"
AZ_STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BACKUP_STORE = "bakhmach:data:BackupStore"
# Storage redundancies that keep a copy in another region (the account's paired region).
GEO_REDUNDANT_SKUS = ("Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")
DR_COMPONENT = "bakhmach:dr:DisasterRecovery"
CNPG = ("postgresql.cnpg.io", "Cluster")
CNPG_SCHEDULED_BACKUP = ("postgresql.cnpg.io", "ScheduledBackup")
OBJECT_STORE = ("barmancloud.cnpg.io", "ObjectStore")
PSMDB = ("psmdb.percona.com", "PerconaServerMongoDB")
STRIMZI_KAFKA = ("kafka.strimzi.io", "Kafka")
STRIMZI_MM2 = ("kafka.strimzi.io", "KafkaMirrorMaker2")
OT_REDIS = ("redis.redis.opstreelabs.in", "RedisCluster")
POSTGRES_DATASOURCE = "Microsoft.DBforPostgreSQL/flexibleServers"

PROD = ("prod",)


@dataclass(frozen=True)
class Figure:
    """A typical duration, with where the figure comes from."""

    seconds: float
    basis: str


# How long each backend's copy takes to become the primary. Figures are the providers' own where
# they publish one; otherwise an estimate, marked as such: the weekly drill (hubctl dr drill)
# measures the real path and reports it against the RTO.
PROMOTION: dict[str, Figure] = {
    "rds-read-replica": Figure(
        600,
        "RDS reboots the replica; AWS: 'several minutes or longer, depending on the size of the read replica' "
        "(RDS user guide, Promoting a read replica), taken as 10 minutes",
    ),
    "elasticache-global-datastore": Figure(
        120,
        "estimate: a Global Datastore secondary is promoted in place (FailoverGlobalReplicationGroup); AWS publishes "
        "no duration, taken as 2 minutes",
    ),
    "msk-replicator": Figure(
        0,
        "nothing to promote: MSK Replicator keeps the target's topics, configurations and consumer-group offsets "
        "in step; clients switch to it",
    ),
    "flexible-server-replica": Figure(
        600,
        "estimate: Microsoft publishes no duration for promoting a replica to an independent server; taken as "
        "RDS's 10 minutes",
    ),
    "managed-redis-geo-replication": Figure(
        0, "nothing to promote: active geo-replication is active-active, every member is writable"
    ),
    "cnpg-replica-cluster": Figure(
        60, "estimate: CloudNativePG promotes a replica cluster by turning replica.enabled off (a restart), 1 minute"
    ),
    "percona-cross-site": Figure(
        120,
        "estimate: the secondary site's members are made voting with a forced replica-set reconfiguration and elect "
        "a primary (MongoDB's election timeout is 10 s); 2 minutes",
    ),
    "mirrormaker2": Figure(
        0, "nothing to promote: MirrorMaker 2 mirrors topics and checkpoints consumer offsets; clients switch"
    ),
    "empty-cache": Figure(0, "nothing to promote: the other region's cache runs empty and fills from the databases"),
}
# Keycloak's standby in the secondary region starts once its database is promoted (it takes a
# lock and writes at start, which a read-only replica refuses).
KEYCLOAK_START = Figure(
    120,
    "estimate: the operator scales the standby Keycloak from 0 to its instances; on nodes that never ran it the "
    "image is pulled, then Keycloak starts against the promoted database and passes its readiness probe; "
    "Keycloak publishes no start time, taken as 2 minutes",
)
KEYCLOAK = ("k8s.keycloak.org", "Keycloak")
# The annotation components/identity.py puts on prod's standby Keycloak: its instances after a failover.
KEYCLOAK_STANDBY = "bakhmach.io/dr-standby-instances"
POSTGRES_PROMOTIONS = ("rds-read-replica", "flexible-server-replica", "cnpg-replica-cluster")
RECONNECT = Figure(
    60,
    "estimate: the services' connection pools retry with backoff (at most 30 s between tries) after a promoted "
    "database restarts; 1 minute",
)
# Defaults of the DNS services where a resource leaves them unset.
ROUTE53_DEFAULT_INTERVAL = 30.0
ROUTE53_DEFAULT_THRESHOLD = 3.0
TM_DEFAULT_INTERVAL = 30.0
TM_DEFAULT_TOLERATED = 3.0


@dataclass(frozen=True)
class BudgetStep:
    step: str  # detect, promote, dns, reconnect
    what: str
    seconds: float
    basis: str


@dataclass(frozen=True)
class Budget:
    """The failover path's steps; promotions run side by side, so the slowest one counts."""

    steps: tuple[BudgetStep, ...]
    rto_seconds: float
    # Data services with no copy in the other region (no promotion path), and what is missing.
    gaps: tuple[tuple[PolicyResource, str], ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        promote = max((s.seconds for s in self.steps if s.step == "promote"), default=0.0)
        return promote + sum(s.seconds for s in self.steps if s.step != "promote")

    @property
    def within(self) -> bool:
        return self.total <= self.rto_seconds and not self.gaps


# ---- where things are ------------------------------------------------------------------------


def region_role(resource: PolicyResource) -> str | None:
    """`primary` or `secondary`: the region-role tag every cloud resource of the stack carries
    (its own tags, or its AWS provider's default tags)."""
    role = as_mapping(peek(resource.props, "tags", default={})).get("region-role")
    if role is None and resource.provider is not None:
        tags = as_mapping(peek(resource.provider.props, "defaultTags", default={}))
        role = as_mapping(tags.get("tags", {})).get("region-role")
    return str(role) if role is not None else None


def region_of(resource: PolicyResource) -> str | None:
    location = peek(resource.props, "location")
    if isinstance(location, str) and location.lower() not in ("global", ""):
        return location
    if resource.provider is not None:
        region = peek(resource.provider.props, "region") or peek(resource.provider.props, "location")
        return str(region) if region else None
    return None


def _custom(resources: Iterable[PolicyResource], group_kind: tuple[str, str]) -> list[PolicyResource]:
    return [
        r
        for r in resources
        if r.resource_type.startswith("kubernetes:")
        and (group_of(r.resource_type), kind_of(r.resource_type)) == group_kind
    ]


def _cluster(resource: PolicyResource) -> str | None:
    return resource.provider.urn if resource.provider is not None else None


CLUSTER_TYPES = ("aws:eks/cluster:Cluster", "azure-native:containerservice:ManagedCluster")


def _cluster_roles(resources: list[PolicyResource]) -> dict[str, str]:
    """The region role of each Kubernetes provider: that of the EKS/AKS cluster built beside it (the
    same component made both)."""
    by_parent: dict[str, str] = {}
    for cluster in of_type(resources, *CLUSTER_TYPES):
        role = region_role(cluster)
        if cluster.parent is not None and role is not None:
            by_parent[cluster.parent.urn] = role
    return {
        p.urn: by_parent[p.parent.urn]
        for p in of_type(resources, "pulumi:providers:kubernetes")
        if p.parent is not None and p.parent.urn in by_parent
    }


def _dependents(resources: list[PolicyResource], target: PolicyResource, type_: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == type_ and depends_on(r, target)]


def global_datastore_primary(member: PolicyResource, resources: list[PolicyResource]) -> PolicyResource | None:
    """The primary replication group of the ElastiCache Global Datastore `member` belongs to: a
    member inherits engine, node type, shards, parameter group and encryption from it."""
    for datastore in of_type(resources, ELASTICACHE_GLOBAL):
        if depends_on(member, datastore):
            for group in of_type(resources, ELASTICACHE_RG):
                if depends_on(datastore, group) and not has_key(group.props, "globalReplicationGroupId"):
                    return group
    return None


# ---- data services and their copies ------------------------------------------------------------


@dataclass(frozen=True)
class DataCopy:
    label: str
    source: PolicyResource
    copy: PolicyResource | None
    promotion: str  # a key of PROMOTION
    missing: str = ""


def data_copies(resources: list[PolicyResource]) -> list[DataCopy]:
    """Each primary-region data service and its copy in the other region (None where it has none)."""
    found: list[DataCopy] = []
    rds = of_type(resources, RDS_INSTANCE)
    for primary in rds:
        if has_key(primary.props, "replicateSourceDb") or region_role(primary) != "primary":
            continue
        copies = [
            r
            for r in rds
            if has_key(r.props, "replicateSourceDb") and depends_on(r, primary) and region_role(r) == "secondary"
        ]
        found.append(
            DataCopy(
                f"PostgreSQL (RDS {primary.name})",
                primary,
                copies[0] if copies else None,
                "rds-read-replica",
                "no read replica in the secondary region",
            )
        )
    groups = of_type(resources, ELASTICACHE_RG)
    for primary in groups:
        if has_key(primary.props, "globalReplicationGroupId") or region_role(primary) != "primary":
            continue
        datastores = _dependents(resources, primary, ELASTICACHE_GLOBAL)
        members = [
            g
            for g in groups
            if has_key(g.props, "globalReplicationGroupId")
            and region_role(g) == "secondary"
            and any(depends_on(g, d) for d in datastores)
        ]
        found.append(
            DataCopy(
                f"Redis (ElastiCache {primary.name})",
                primary,
                members[0] if members else None,
                "elasticache-global-datastore",
                "no Global Datastore member in the secondary region",
            )
        )
    clusters = of_type(resources, MSK_CLUSTER)
    for primary in clusters:
        if region_role(primary) != "primary":
            continue
        replicators = [
            r
            for r in _dependents(resources, primary, MSK_REPLICATOR)
            if any(depends_on(r, c) and region_role(c) == "secondary" for c in clusters)
        ]
        found.append(
            DataCopy(
                f"Kafka (MSK {primary.name})",
                primary,
                replicators[0] if replicators else None,
                "msk-replicator",
                "no MSK Replicator to a cluster in the secondary region",
            )
        )
    servers = of_type(resources, AZ_POSTGRES)
    for primary in servers:
        if peek(primary.props, "createMode") == "Replica" or region_role(primary) != "primary":
            continue
        copies = [
            s
            for s in servers
            if peek(s.props, "createMode") == "Replica" and depends_on(s, primary) and region_role(s) == "secondary"
        ]
        found.append(
            DataCopy(
                f"PostgreSQL (Flexible Server {primary.name})",
                primary,
                copies[0] if copies else None,
                "flexible-server-replica",
                "no replica in the secondary region",
            )
        )
    databases = of_type(resources, AZ_REDIS_DB)
    for cluster in of_type(resources, AZ_REDIS_ENTERPRISE):
        if region_role(cluster) != "primary":
            continue
        mine = [d for d in databases if depends_on(d, cluster)]
        linked = [
            d
            for d in databases
            if len(items(get(d.props, "geoReplication", "linkedDatabases"))) >= 2
            and any(depends_on(d, m) for m in mine)
        ]
        found.append(
            DataCopy(
                f"Redis (Azure Managed Redis {cluster.name})",
                cluster,
                linked[0] if linked else None,
                "managed-redis-geo-replication",
                "no geo-replicated database in the secondary region",
            )
        )
    roles = _cluster_roles(resources)

    def in_region(obj: PolicyResource, role: str) -> bool:
        return roles.get(_cluster(obj) or "") == role

    for kind, label, promotion, is_copy in (
        (CNPG, "PostgreSQL (CloudNativePG)", "cnpg-replica-cluster", _is_cnpg_replica),
        (PSMDB, "MongoDB (Percona)", "percona-cross-site", _is_unmanaged_psmdb),
        (STRIMZI_MM2, "Kafka (Strimzi)", "mirrormaker2", None),
        (OT_REDIS, "Redis (in-cluster cache)", "empty-cache", None),
    ):
        objects = _custom(resources, kind)
        if kind == STRIMZI_MM2:
            # A Strimzi cluster's copy is MirrorMaker 2 into a cluster of the other region.
            for kafka in (k for k in _custom(resources, STRIMZI_KAFKA) if in_region(k, "primary")):
                mirrors = [m for m in objects if in_region(m, "secondary")]
                found.append(
                    DataCopy(
                        f"{label} {object_ref(kafka.props)}",
                        kafka,
                        mirrors[0] if mirrors else None,
                        promotion,
                        "no MirrorMaker 2 into a cluster of the secondary region",
                    )
                )
            continue
        for source in (o for o in objects if in_region(o, "primary") and not (is_copy and is_copy(o))):
            copies = [o for o in objects if in_region(o, "secondary") and (is_copy is None or is_copy(o))]
            found.append(
                DataCopy(
                    f"{label} {object_ref(source.props)}",
                    source,
                    copies[0] if copies else None,
                    promotion,
                    "no copy in the secondary region's cluster",
                )
            )
    return found


def _is_cnpg_replica(resource: PolicyResource) -> bool:
    return as_bool(get(resource.props, "spec", "replica", "enabled")) is True


def _is_unmanaged_psmdb(resource: PolicyResource) -> bool:
    return as_bool(get(resource.props, "spec", "unmanaged")) is True


# ---- the RTO budget ----------------------------------------------------------------------------


def _declared_failover(resources: list[PolicyResource]) -> Mapping[str, Any]:
    for component in of_type(resources, DR_COMPONENT):
        declared = as_mapping(peek(component.props, "failover", default={}))
        if declared:
            return declared
    return {}


def _dns_steps(resources: list[PolicyResource]) -> list[BudgetStep]:
    checks = of_type(resources, ROUTE53_HEALTH_CHECK)
    records = [r for r in of_type(resources, ROUTE53_RECORD) if has_key(r.props, "failoverRoutingPolicies")]
    if checks:
        timed = [
            (
                (as_number(c.props.get("requestInterval")) or ROUTE53_DEFAULT_INTERVAL)
                * (as_number(c.props.get("failureThreshold")) or ROUTE53_DEFAULT_THRESHOLD),
                c,
            )
            for c in checks
        ]
        detect = max(timed, key=lambda pair: pair[0])
        check = detect[1]
        ttl = max((as_number(r.props.get("ttl")) or 0.0 for r in records), default=0.0)
        return [
            BudgetStep(
                "detect",
                "Route 53 health checks declare the primary region unhealthy",
                detect[0],
                f"{check.name}: requestInterval {as_number(check.props.get('requestInterval')) or 30:g} s x "
                f"failureThreshold {as_number(check.props.get('failureThreshold')) or 3:g}",
            ),
            BudgetStep("dns", "clients' resolvers drop the failover record", ttl, f"failover records' TTL {ttl:g} s"),
        ]
    profiles = of_type(resources, TM_PROFILE)
    if profiles:
        profile = profiles[0]
        monitor = as_mapping(profile.props.get("monitorConfig", {}))
        interval = as_number(monitor.get("intervalInSeconds")) or TM_DEFAULT_INTERVAL
        tolerated = as_number(monitor.get("toleratedNumberOfFailures"))
        tolerated = TM_DEFAULT_TOLERATED if tolerated is None else tolerated
        ttl = as_number(get(profile.props, "dnsConfig", "ttl")) or 0.0
        return [
            BudgetStep(
                "detect",
                "Traffic Manager probes declare the primary endpoint degraded",
                interval * (tolerated + 1),
                f"{profile.name}: intervalInSeconds {interval:g} s x (toleratedNumberOfFailures {tolerated:g} + 1)",
            ),
            BudgetStep("dns", "clients' resolvers drop the failover answer", ttl, f"profile TTL {ttl:g} s"),
        ]
    declared = _declared_failover(resources)
    if not declared:
        return []
    interval = as_number(declared.get("intervalSeconds")) or 0.0
    failures = as_number(declared.get("failuresToDetect")) or 0.0
    ttl = as_number(declared.get("ttlSeconds")) or 0.0
    pending = "configured by DnsFailover; its health checks are created with the gateway's origins (not in this plan)"
    return [
        BudgetStep(
            "detect",
            "health checks declare the primary region unhealthy",
            interval * failures,
            f"interval {interval:g} s x {failures:g} failures, {pending}",
        ),
        BudgetStep("dns", "clients' resolvers drop the failover record", ttl, f"TTL {ttl:g} s, {pending}"),
    ]


def identity_failover(
    resources: list[PolicyResource], copies: list[DataCopy]
) -> tuple[list[BudgetStep], list[tuple[PolicyResource, str]]]:
    """Prod's identity after a lost region: the standby Keycloak in the secondary region, started
    once its PostgreSQL copy is promoted (both in turn, beside the other promotions)."""
    keycloaks = _custom(resources, KEYCLOAK)
    if not keycloaks or not of_type(resources, DR_COMPONENT):
        return [], []
    standbys = [k for k in keycloaks if KEYCLOAK_STANDBY in as_mapping(get(k.props, "metadata", "annotations") or {})]
    if not standbys:
        return [], [(keycloaks[0], "Keycloak: no standby in the secondary region, so no logins or tokens there")]
    standby = standbys[0]
    database = next((c for c in copies if c.copy is not None and c.promotion in POSTGRES_PROMOTIONS), None)
    if database is None or database.copy is None:
        return [], [(standby, "Keycloak: its PostgreSQL has no copy in the secondary region to promote")]
    promotion = PROMOTION[database.promotion]
    return [
        BudgetStep(
            "promote",
            f"{object_ref(standby.props)} (standby) after {database.copy.name}",
            promotion.seconds + KEYCLOAK_START.seconds,
            f"its database's promotion ({promotion.seconds:g} s), then {KEYCLOAK_START.basis}",
        )
    ], []


def rto_budget(resources: list[PolicyResource]) -> Budget:
    """The failover path's time as the plan configures it, against the seed's RTO."""
    dns = _dns_steps(resources)
    steps = [s for s in dns if s.step == "detect"]
    gaps: list[tuple[PolicyResource, str]] = []
    copies = data_copies(resources)
    for copy in copies:
        if copy.copy is None:
            gaps.append((copy.source, f"{copy.label}: {copy.missing}"))
            continue
        figure = PROMOTION[copy.promotion]
        steps.append(BudgetStep("promote", f"{copy.label} -> {copy.copy.name}", figure.seconds, figure.basis))
    identity_steps, identity_gaps = identity_failover(resources, copies)
    steps += identity_steps
    gaps += identity_gaps
    steps += [s for s in dns if s.step != "detect"]
    steps.append(
        BudgetStep("reconnect", "the services reconnect to the promoted copies", RECONNECT.seconds, RECONNECT.basis)
    )
    return Budget(steps=tuple(steps), rto_seconds=seed.RTO_SECONDS, gaps=tuple(gaps))


def _check_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    if not of_type(args.resources, DR_COMPONENT) and not data_copies(args.resources):
        return
    budget = rto_budget(args.resources)
    # Reported on the DisasterRecovery component (the failover it describes), or on the stack.
    where = next((c.urn for c in of_type(args.resources, DR_COMPONENT)), None)
    if not any(s.step == "detect" for s in budget.steps):
        report("no health-checked DNS failover and no failover settings: the failover cannot be timed", where)
    if budget.total > budget.rto_seconds:
        slowest = max(budget.steps, key=lambda s: s.seconds)
        report(
            f"the failover path takes {budget.total:g} s, over the seed's RTO of {budget.rto_seconds:g} s (slowest "
            f"step: {slowest.step} {slowest.what}, {slowest.seconds:g} s)",
            where,
        )


def percona_replica_sets(resource: PolicyResource) -> dict[str, Mapping[str, Any]]:
    """A PerconaServerMongoDB's replica sets holding data: each shard, and the config servers of
    a sharded cluster (`cfg`)."""
    sets = {str(rs.get("name")): rs for rs in (as_mapping(x) for x in items(get(resource.props, "spec", "replsets")))}
    sharding = as_mapping(get(resource.props, "spec", "sharding") or {})
    if as_bool(sharding.get("enabled")) is True:
        sets["cfg"] = as_mapping(sharding.get("configsvrReplSet") or {})
    return sets


def _percona_cross_site_gaps(copy: DataCopy) -> list[str]:
    """Every replica set of the main site (each shard and the config servers) must list members in
    the other region, non-voting and never primary, and the replica site must run it too: a shard
    or config server replica set left out is data (or the metadata routing it) the other region
    does not have."""
    assert copy.copy is not None
    gaps = []
    theirs = percona_replica_sets(copy.copy)
    for name_, rs in percona_replica_sets(copy.source).items():
        external = [as_mapping(n) for n in items(rs.get("externalNodes"))]
        if not external:
            gaps.append(f"replica set {name_} has no members in the secondary region (externalNodes)")
        elif any(as_number(n.get("votes")) != 0 or as_number(n.get("priority")) != 0 for n in external):
            gaps.append(f"replica set {name_}'s members in the secondary region may vote or become primary")
        if name_ not in theirs:
            gaps.append(f"replica set {name_} is not run by the replica site {object_ref(copy.copy.props)}")
    return gaps


def _check_copies(args: StackValidationArgs, report: ReportViolation) -> None:
    copies = data_copies(args.resources)
    for copy in copies:
        if copy.promotion == "percona-cross-site" and copy.copy is not None:
            for gap in _percona_cross_site_gaps(copy):
                report(f"{copy.label}: {gap}", copy.source.urn)
    for resource, gap in identity_failover(args.resources, copies)[1]:
        report(f"{gap}; the seed's prod survives a lost region", resource.urn)
    for copy in copies:
        if copy.copy is None:
            report(f"{copy.label}: {copy.missing}; the seed's prod survives a lost region", copy.source.urn)
            continue
        if copy.copy.resource_type == RDS_INSTANCE:
            # An encrypted source's cross-region replica needs a key of its own region.
            if as_bool(copy.copy.props.get("storageEncrypted")) is not True or not has_key(copy.copy.props, "kmsKeyId"):
                report(
                    f"RDS replica {copy.copy.name}: not encrypted with a key of its region (storageEncrypted, "
                    "kmsKeyId)",
                    copy.copy.urn,
                )
            if not _dependents(args.resources, copy.source, RDS_BACKUP_REPLICATION):
                report(
                    f"RDS {copy.source.name}: its automated backups are not replicated to the secondary region",
                    copy.source.urn,
                )


# ---- backups: every 6 hours, 90 days, copies in the other region ---------------------------------


def hours_between(hour: str) -> float | None:
    """The longest gap in hours between the runs a cron hour field names (`*/6` -> 6, `2` -> 24,
    `0,12` -> 12, `*` -> 1)."""
    if hour == "*":
        return 1.0
    step = re.fullmatch(r"(?:\*|\d+)/(\d+)", hour)
    if step:
        return float(step[1])
    if re.fullmatch(r"\d+(,\d+)+", hour):
        hours = sorted(int(h) for h in hour.split(","))
        gaps = [b - a for a, b in itertools.pairwise(hours)] + [24 - hours[-1] + hours[0]]
        return float(max(gaps))
    return 24.0 if re.fullmatch(r"\d+", hour) else None


def cron_interval_hours(expression: Any) -> float | None:
    """Hours between runs of an AWS Backup cron (`cron(0 */6 * * ? *)` -> 6, `cron(0 2 * * ? *)` -> 24)."""
    match = re.fullmatch(r"cron\(\s*(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+(?:\s+\S+)?\s*\)", str(expression or ""))
    return hours_between(match[2]) if match else None


def k8s_cron_hours(expression: Any) -> float | None:
    """Hours between runs of a Kubernetes-style cron: five fields (Percona) or six with seconds
    first (CloudNativePG)."""
    fields = str(expression or "").split()
    if len(fields) not in (5, 6) or any(f != "*" and not f.isdigit() for f in fields[-3:]):
        return None  # a day, month or weekday restriction: not a daily-or-finer schedule
    return hours_between(fields[-4])


def iso_days(value: Any) -> float | None:
    """An ISO 8601 duration in days (`P90D`, `P3M`, `P12W`, `P1Y`)."""
    match = re.fullmatch(r"P(\d+)([DWMY])", str(value or ""))
    return float(int(match[1]) * {"D": 1, "W": 7, "M": 30, "Y": 365}[match[2]]) if match else None


def _check_aws_backups(resources: list[PolicyResource], report: ReportViolation) -> None:
    primaries = [c.source for c in data_copies(resources) if c.source.resource_type == RDS_INSTANCE]
    plans = of_type(resources, BACKUP_PLAN)
    vaults = of_type(resources, BACKUP_VAULT)
    good_plans = []
    for plan in plans:
        rules = items(plan.props.get("rules"))
        snapshot_rules = [r for r in rules if as_bool(r.get("enableContinuousBackup")) is not True]
        meets = False
        for rule in snapshot_rules:
            hours = cron_interval_hours(rule.get("schedule"))
            kept = as_number(get(rule, "lifecycle", "deleteAfter"))
            copies = [
                c
                for c in items(rule.get("copyActions"))
                if (as_number(get(c, "lifecycle", "deleteAfter")) or 0) >= seed.DR_RETENTION_DAYS
            ]
            copied_away = [
                v
                for v in vaults
                if depends_on(plan, v) and region_role(v) == "secondary" and region_of(v) != region_of(plan)
            ]
            if (
                hours is not None
                and hours <= seed.DR_SNAPSHOT_HOURS
                and kept is not None
                and kept >= seed.DR_RETENTION_DAYS
                and copies
                and copied_away
            ):
                meets = True
        if meets:
            good_plans.append(plan)
        else:
            report(
                f"AWS Backup plan {plan.name}: no rule takes a backup at least every {seed.DR_SNAPSHOT_HOURS} hours, "
                f"keeps it {seed.DR_RETENTION_DAYS} days and copies it to a vault in the other region for as long",
                plan.urn,
            )
    selections = of_type(resources, BACKUP_SELECTION)
    for primary in primaries:
        covered = [s for s in selections if depends_on(s, primary) and any(depends_on(s, p) for p in good_plans)]
        if not covered:
            report(
                f"RDS {primary.name}: no AWS Backup plan takes it every {seed.DR_SNAPSHOT_HOURS} hours with copies "
                "in the other region",
                primary.urn,
            )
    replications = of_type(resources, S3_REPLICATION)
    buckets = of_type(resources, S3_BUCKET)
    for bucket in buckets:
        if region_role(bucket) != "primary":
            continue
        mine = [r for r in replications if depends_on(r, bucket)]
        away = [b for r in mine for b in buckets if depends_on(r, b) and region_role(b) == "secondary"]
        if not away:
            report(
                f"bucket {bucket.name}: the in-cluster databases' backups are not replicated to a bucket in the other "
                "region",
                bucket.urn,
            )


def _check_azure_backups(resources: list[PolicyResource], report: ReportViolation) -> None:
    primaries = [c.source for c in data_copies(resources) if c.source.resource_type == AZ_POSTGRES]
    vaults = of_type(resources, AZ_BACKUP_VAULT)
    policies = of_type(resources, AZ_BACKUP_POLICY)
    instances = of_type(resources, AZ_BACKUP_INSTANCE)
    for vault in vaults:
        settings = items(get(vault.props, "properties", "storageSettings"))
        if not any(s.get("type") == "GeoRedundant" for s in settings):
            report(f"Backup vault {vault.name}: not geo-redundant: no copy outside the primary region", vault.urn)
        if get(vault.props, "properties", "featureSettings", "crossRegionRestoreSettings", "state") != "Enabled":
            report(f"Backup vault {vault.name}: cross-region restore is not enabled", vault.urn)
    for policy in policies:
        kept = [
            iso_days(get(lifecycle, "deleteAfter", "duration"))
            for rule in items(get(policy.props, "properties", "policyRules"))
            for lifecycle in items(rule.get("lifecycles"))
        ]
        if not kept or min(k or 0 for k in kept) < seed.DR_RETENTION_DAYS:
            report(
                f"Backup policy {policy.name}: backups kept less than the seed's {seed.DR_RETENTION_DAYS} days",
                policy.urn,
            )
    for account in of_type(resources, AZ_STORAGE_ACCOUNT):
        sku = get(account.props, "sku", "name")
        backups = account.parent is not None and account.parent.resource_type == BACKUP_STORE
        if backups and region_role(account) == "primary" and sku not in GEO_REDUNDANT_SKUS:
            report(
                f"storage account {account.name}: {sku} keeps the in-cluster databases' backups in one region "
                f"(allowed: {', '.join(GEO_REDUNDANT_SKUS)})",
                account.urn,
            )
    for primary in primaries:
        if not [i for i in instances if depends_on(i, primary)]:
            report(
                f"Flexible Server {primary.name}: not protected by a geo-redundant backup vault for "
                f"{seed.DR_RETENTION_DAYS} days",
                primary.urn,
            )


def _check_in_cluster_backups(resources: list[PolicyResource], report: ReportViolation) -> None:
    """The primary region's in-cluster databases: a backup every 6 hours kept 90 days (CloudNativePG:
    a ScheduledBackup and its ObjectStore's retention; Percona: a backup task kept by count)."""
    roles = _cluster_roles(resources)

    def primary(obj: PolicyResource) -> bool:
        return roles.get(_cluster(obj) or "") == "primary"

    def beside(a: PolicyResource, b: PolicyResource) -> bool:
        return _cluster(a) == _cluster(b) and namespace(a.props) == namespace(b.props)

    stores, schedules = _custom(resources, OBJECT_STORE), _custom(resources, CNPG_SCHEDULED_BACKUP)
    for cluster in _custom(resources, CNPG):
        if not primary(cluster) or _is_cnpg_replica(cluster):
            continue
        label = object_ref(cluster.props)
        for plugin in items(get(cluster.props, "spec", "plugins")):
            if as_bool(plugin.get("isWALArchiver")) is not True:
                continue
            store_name = get(plugin, "parameters", "barmanObjectName")
            for store in (s for s in stores if name(s.props) == store_name and beside(s, cluster)):
                kept = retention_days(get(store.props, "spec", "retentionPolicy"))
                if kept is None or kept < seed.DR_RETENTION_DAYS:
                    report(
                        f"{object_ref(store.props)}: retentionPolicy {get(store.props, 'spec', 'retentionPolicy')}; "
                        f"prod keeps backups {seed.DR_RETENTION_DAYS} days",
                        store.urn,
                    )
        often = [
            s
            for s in schedules
            if get(s.props, "spec", "cluster", "name") == name(cluster.props)
            and beside(s, cluster)
            and as_bool(get(s.props, "spec", "suspend")) is not True
            and (k8s_cron_hours(get(s.props, "spec", "schedule")) or 99) <= seed.DR_SNAPSHOT_HOURS
        ]
        if not often:
            report(f"{label}: no ScheduledBackup every {seed.DR_SNAPSHOT_HOURS} hours", cluster.urn)
    for mongo in _custom(resources, PSMDB):
        backup = as_mapping(get(mongo.props, "spec", "backup", default={}))
        if not primary(mongo) or _is_unmanaged_psmdb(mongo) or as_bool(backup.get("enabled")) is not True:
            continue
        good = False
        for task in items(backup.get("tasks")):
            hours = k8s_cron_hours(task.get("schedule"))
            count = as_number(get(task, "retention", "count"))
            if (
                as_bool(task.get("enabled")) is True
                and hours is not None
                and hours <= seed.DR_SNAPSHOT_HOURS
                and count is not None
                and count * hours >= seed.DR_RETENTION_DAYS * 24
            ):
                good = True
        if not good:
            report(
                f"{object_ref(mongo.props)}: no backup task every {seed.DR_SNAPSHOT_HOURS} hours kept "
                f"{seed.DR_RETENTION_DAYS} days",
                mongo.urn,
            )


def _check_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    _check_aws_backups(args.resources, report)
    _check_azure_backups(args.resources, report)
    _check_in_cluster_backups(args.resources, report)


# ---- the network between the regions -----------------------------------------------------------


def _primary(networks: list[PolicyResource]) -> PolicyResource:
    """The primary region's network (where a missing link between the two is reported)."""
    return next((n for n in networks if region_role(n) == "primary"), networks[0])


def _check_network(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    vpcs = of_type(resources, VPC)
    if len({region_of(v) for v in vpcs} - {None}) >= 2:  # two regions the plan knows
        peerings = [p for p in of_type(resources, VPC_PEERING) if has_key(p.props, "peerRegion")]
        joined = [
            p
            for p in peerings
            if sum(1 for v in vpcs if depends_on(p, v)) >= 2 and _dependents(resources, p, VPC_PEERING_ACCEPTER)
        ]
        if not joined:
            report(
                "the two regions' VPCs are not peered (a VPC peering accepted in the other region)", _primary(vpcs).urn
            )
        for peering in joined:
            options = _dependents(resources, peering, PEERING_OPTIONS)
            sides = {"requester" if has_key(o.props, "requester") else "accepter" for o in options}
            resolving = [
                o
                for o in options
                if as_bool(get(o.props, "requester", "allowRemoteVpcDnsResolution")) is True
                or as_bool(get(o.props, "accepter", "allowRemoteVpcDnsResolution")) is True
            ]
            if sides != {"requester", "accepter"} or len(resolving) < 2:
                report(
                    f"VPC peering {peering.name}: private names do not resolve across it (allowRemoteVpcDnsResolution "
                    "on both sides)",
                    peering.urn,
                )
            routes = _dependents(resources, peering, ROUTE)
            if len({region_of(r) for r in routes}) < 2:
                report(f"VPC peering {peering.name}: not routed from both regions' private subnets", peering.urn)
        for rule in of_type(resources, SG_INGRESS):
            source = peek(rule.props, "cidrIpv4")
            if source is None or not any(peek(v.props, "cidrBlock") == source for v in vpcs):
                continue
            if region_of(rule) == next((region_of(v) for v in vpcs if peek(v.props, "cidrBlock") == source), None):
                continue  # from its own VPC
            wide = peek(rule.props, "ipProtocol") in ("-1", "all") or (
                (as_number(peek(rule.props, "toPort")) or 0) - (as_number(peek(rule.props, "fromPort")) or 0) > 0
            )
            if wide:
                report(
                    f"security group rule {rule.name}: opens more than one port to the other region "
                    "(allowed: the replication ports, one rule each)",
                    rule.urn,
                )
    vnets = of_type(resources, AZ_VNET)
    if len({region_of(v) for v in vnets} - {None}) >= 2:
        # One peering each way between the clusters' VNets (a hub peering depends on one of them only).
        between = [p for p in of_type(resources, AZ_PEERING) if sum(1 for v in vnets if depends_on(p, v)) >= 2]
        if len(between) < 2:
            report(
                f"the two regions' VNets are not peered both ways ({len(between)} peering(s) between them)",
                _primary(vnets).urn,
            )
        for peering in between:
            forwards = as_bool(peering.props.get("allowForwardedTraffic")) is True
            if forwards or as_bool(peering.props.get("allowGatewayTransit")) is True:
                report(
                    f"VNet peering {peering.name}: forwards traffic or gateways between the regions (allowed: direct "
                    "traffic only)",
                    peering.urn,
                )


POLICIES = [
    stack_policy(
        "dr-cross-region-copies",
        "Prod: every data service has a copy in the secondary region (RDS cross-region replica with its backups "
        "replicated, ElastiCache Global Datastore, MSK Replicator, Flexible Server replica, Azure Managed Redis "
        "geo-replication; in-cluster: a CloudNativePG replica cluster, Percona cross-site members of every shard "
        "and of the config servers, MirrorMaker 2), and Keycloak a standby there on its database's copy.",
        _check_copies,
        environments=PROD,
    ),
    stack_policy(
        "dr-backups-every-6-hours-90-days",
        f"Prod: backups every {seed.DR_SNAPSHOT_HOURS} hours kept {seed.DR_RETENTION_DAYS} days with copies in the "
        "other region (AWS Backup rule + cross-region copy over every RDS primary; S3 replication of the in-cluster "
        "backups; Azure: a geo-redundant vault with cross-region restore protecting every Flexible Server primary, "
        "geo-redundant storage accounts; in-cluster PostgreSQL and MongoDB: a backup every 6 hours kept 90 days).",
        _check_backups,
        environments=PROD,
    ),
    stack_policy(
        "dr-inter-region-network",
        "Prod: the two regions' networks are peered (AWS: accepted in the other region, routed from both, DNS "
        "resolution across; Azure: both ways, no forwarding), and open to each other on single replication ports only.",
        _check_network,
        environments=PROD,
    ),
    stack_policy(
        "dr-rto-budget",
        "Prod: detection + the slowest promotion + the failover record's TTL + reconnection stay within the seed's "
        f"RTO of {seed.RTO_SECONDS // 60} minutes (the same budget `hubctl dr budget` prints).",
        _check_budget,
        environments=PROD,
    ),
]
