"""Disaster recovery: the seed's RPO, RTO and DR backup schedule, what a stack file may tune, and
the rules of each cloud's cross-region services, checked before anything registers.

Stack-file key `bakhmach-hub:dr` (staging and prod; every key optional):
- `archiveIntervalMinutes` (default: the RPO, 5): the longest a committed write waits before it
  leaves the primary: CloudNativePG's `archive_timeout`, Percona Backup for MongoDB's oplog slices.
  More than the RPO is refused: a region lost at the wrong moment would take more than 5 minutes
  of writes with it;
- `snapshotIntervalHours` (default 6, the seed's "Frequency: Every 6 hours"): the scheduled
  backups (AWS Backup's rule, CloudNativePG's ScheduledBackup, Percona's backup task); 1, 2, 3, 4
  or 6, divisors of 24, so every day has the same backup times;
- `retentionDays` (default 90, the seed's "Retention: 90 days"): how long the scheduled backups
  and their cross-region copies are kept; 90 to 3650 (Azure Backup keeps at most ten years).

Prod resolves a `DrSpec`: the two regions, the schedule, and each data service's backend, which
components/dr turns into cross-region replicas and copies. Each cloud service has rules of its own
(`cross_region_problems`, with their sources); a size or region that breaks one is refused here,
naming the setting and what the service allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from settings import seed
from settings.data import Backend, DataLayerSpec, DataService
from settings.seed import Cloud, Environment

# Divisors of 24 up to the seed's 6 hours: the same backup times every day.
SNAPSHOT_INTERVALS_HOURS = (1, 2, 3, 4, 6)
# Azure Backup keeps vaulted backups at most ten years; AWS Backup allows more.
MAX_RETENTION_DAYS = 3650
# RDS automated backups and Flexible Server backups (point-in-time recovery) are kept at most 35
# days (RDS `BackupRetentionPeriod`, AWS Backup continuous backups; Flexible Server
# `backupRetentionDays`): the longest PITR window either offers. The 90-day copies are snapshots.
MAX_PITR_DAYS = 35


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DrSettings(_Section):
    archive_interval_minutes: int = Field(default=seed.RPO_MINUTES, ge=1)
    snapshot_interval_hours: int = seed.DR_SNAPSHOT_INTERVAL_HOURS
    retention_days: int = seed.DR_BACKUP_RETENTION_DAYS

    @field_validator("archive_interval_minutes")
    @classmethod
    def _meets_rpo(cls, value: int) -> int:
        if value > seed.RPO_MINUTES:
            raise ValueError(
                f"{value} minutes exceeds the seed's RPO of {seed.RPO_MINUTES} minutes: a write could wait {value} "
                f"minutes before it leaves the primary, and a lost region would take it along "
                f"(allowed: 1 to {seed.RPO_MINUTES})"
            )
        return value

    @field_validator("snapshot_interval_hours")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in SNAPSHOT_INTERVALS_HOURS:
            allowed = ", ".join(str(h) for h in SNAPSHOT_INTERVALS_HOURS)
            raise ValueError(
                f"{value} hours is not a schedule that meets the seed's 'every 6 hours' on the same hours each day "
                f"(allowed: {allowed})"
            )
        return value

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        low = seed.DR_BACKUP_RETENTION_DAYS
        if not low <= value <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"{value} days is outside what the seed and the backup services allow (allowed: {low} to "
                f"{MAX_RETENTION_DAYS}: the seed keeps DR backups {low} days, Azure Backup at most ten years)"
            )
        return value


# ---- the cloud services' cross-region rules ----------------------------------------------------
# ElastiCache Global Datastore: the regions it is offered in (ElastiCache user guide, "Prerequisites
# and limitations" of global datastores, read 2026-08), node types of the m5/r5 generation or newer
# and of size large or above, the same node type and shard count in every member.
GLOBAL_DATASTORE_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "cn-north-1",
        "cn-northwest-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-gov-east-1",
        "us-gov-west-1",
        "us-west-1",
        "us-west-2",
    }
)
_INSTANCE = re.compile(r"^(?:cache|kafka|db)\.(?P<family>[a-z]+)(?P<generation>\d+)[a-z]*\.(?P<size>\w+)$")
_SMALL_SIZES = frozenset({"nano", "micro", "small", "medium"})


def _generation_and_size(node_type: str) -> tuple[str, int, str] | None:
    match = _INSTANCE.match(node_type)
    return (match["family"], int(match["generation"]), match["size"]) if match else None


def global_datastore_node_problem(node_type: str) -> str | None:
    """Why ElastiCache Global Datastore refuses a node type (None: it takes it)."""
    parts = _generation_and_size(node_type)
    if parts is None or parts[0] not in ("m", "r") or parts[1] < 5 or parts[2] in _SMALL_SIZES:
        return (
            f"{node_type} cannot join an ElastiCache Global Datastore (allowed: m5/r5 or newer node types of size "
            "large or above)"
        )
    return None


def msk_replicator_problem(broker_type: str, brokers: int) -> str | None:
    """Why MSK Replicator refuses a cluster (MSK developer guide, "Supported cluster types and
    versions": m5.large or larger, not t3.small; at least three brokers)."""
    parts = _generation_and_size(broker_type)
    if parts is None or parts[0] == "t" or parts[2] in _SMALL_SIZES:
        return f"{broker_type} cannot be replicated by MSK Replicator (allowed: kafka.m5.large or larger, no t3)"
    if brokers < 3:
        return f"{brokers} brokers: MSK Replicator needs at least three in the source and the target"
    return None


# Azure Managed Redis active geo-replication: not on Balanced B0/B1 nor on Flash Optimized SKUs
# (Microsoft Learn, "Configure active geo-replication for Azure Managed Redis", scope of availability).
AMR_GEO_UNSUPPORTED = re.compile(r"^(Balanced_B0|Balanced_B1|FlashOptimized_.*)$")


def managed_redis_geo_problem(sku: str) -> str | None:
    if AMR_GEO_UNSUPPORTED.match(sku):
        return (
            f"{sku} does not support active geo-replication "
            "(allowed: Memory/Balanced/Compute Optimized SKUs, not B0, B1 or Flash)"
        )
    return None


def flexible_replica_problem(tier: str) -> str | None:
    """Flexible Server offers no read replicas on the Burstable tier (Microsoft Learn, read replicas)."""
    if tier == "Burstable":
        return "read replicas are not offered on the Burstable tier (allowed: GeneralPurpose, MemoryOptimized)"
    return None


# The private DNS zone both regions resolve (AWS private hosted zone associated with both VPCs,
# Azure private DNS zone linked to both VNets): the in-cluster data services' members are published
# there for the other region. `.internal` is reserved for private use (ICANN, 2024).
DR_DNS_ZONE = "bakhmach.internal"


@dataclass(frozen=True)
class DrSpec:
    """Prod's disaster recovery, resolved: where, how often, how long, and over which backends."""

    cloud: Cloud
    primary_region: str
    secondary_region: str
    primary_cidr: str
    secondary_cidr: str
    rpo_minutes: int
    rto_minutes: int
    archive_interval_minutes: int
    snapshot_interval_hours: int
    retention_days: int
    pitr_days: int
    backends: dict[DataService, Backend]

    @property
    def dns_zone(self) -> str:
        return DR_DNS_ZONE

    def endpoint(self, name: str, region: str) -> str:
        """The private name an in-cluster data service's member is reached at from the other region
        (an internal load balancer, published in the private zone both regions resolve)."""
        return f"{name}.{region}.{DR_DNS_ZONE}"

    def other_cidr(self, region: str) -> str:
        return self.secondary_cidr if region == self.primary_region else self.primary_cidr

    @property
    def aws_backup_schedule(self) -> str:
        """AWS Backup's cron: at minute 0 every `snapshot_interval_hours` hours (UTC)."""
        return f"cron(0 */{self.snapshot_interval_hours} * * ? *)"

    @property
    def cnpg_schedule(self) -> str:
        """CloudNativePG's six-field cron (with seconds)."""
        return f"0 0 */{self.snapshot_interval_hours} * * *"

    @property
    def snapshots_kept(self) -> int:
        """How many scheduled backups `retention_days` holds (Percona keeps backups by count)."""
        return self.retention_days * 24 // self.snapshot_interval_hours


def cross_region_problems(data: DataLayerSpec, primary: str, secondary: str) -> list[tuple[str, str]]:
    """Each cloud service's cross-region rule that the data layer's sizes or the regions break."""
    problems: list[tuple[str, str]] = []
    sizes, backends = data.sizes, {s: c.backend for s, c in data.components.items()}
    if backends.get("redis") == "aws":
        for key, region in (("region", primary), ("secondaryRegion", secondary)):
            if region not in GLOBAL_DATASTORE_REGIONS:
                problems.append(
                    (
                        f"cloudCluster.aws.{key}",
                        f"{region!r} offers no ElastiCache Global Datastore, which carries the cache to the other "
                        "region (allowed: the regions of ElastiCache's global datastore list; docs/REAL-PATH.md)",
                    )
                )
        problem = global_datastore_node_problem(sizes.redis.aws_node_type)
        if problem:
            problems.append(("data.redis", problem))
    if backends.get("kafka") == "aws":
        problem = msk_replicator_problem(sizes.kafka.aws_broker_type, sizes.kafka.brokers)
        if problem:
            problems.append(("data.kafka", problem))
    if backends.get("redis") == "azure":
        problem = managed_redis_geo_problem(sizes.redis.azure_sku)
        if problem:
            problems.append(("data.redis", problem))
    if backends.get("postgres") == "azure":
        problem = flexible_replica_problem(sizes.postgres.azure_tier)
        if problem:
            problems.append(("data.postgres", problem))
    return problems


def resolve_dr(
    settings: DrSettings,
    explicit: bool,
    environment: Environment,
    cloud: Cloud,
    regions: tuple[str, str | None],
    cidrs: tuple[str, str],
    data: DataLayerSpec | None,
) -> tuple[DrSpec | None, list[tuple[str, str]]]:
    """Prod's DrSpec (None elsewhere) and the (key, message) of every rule the stack breaks."""
    if environment == "dev" and explicit:
        return None, [("dr", "dev keeps no backups (the seed's 'Backups: None'); allowed: leave dr out")]
    primary, secondary = regions
    if environment != "prod" or secondary is None or data is None:
        return None, []
    problems = cross_region_problems(data, primary, secondary)
    spec = DrSpec(
        cloud=cloud,
        primary_region=primary,
        secondary_region=secondary,
        primary_cidr=cidrs[0],
        secondary_cidr=cidrs[1],
        rpo_minutes=seed.RPO_MINUTES,
        rto_minutes=seed.RTO_MINUTES,
        archive_interval_minutes=settings.archive_interval_minutes,
        snapshot_interval_hours=settings.snapshot_interval_hours,
        retention_days=settings.retention_days,
        pitr_days=MAX_PITR_DAYS,
        backends={s: c.backend for s, c in data.components.items()},
    )
    return (None if problems else spec), problems
