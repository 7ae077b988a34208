"""`DisasterRecovery`: prod's data in the secondary region, and what a failover needs to know.

The seed: "RPO 5 minutes, RTO 15 minutes", "Backups: Hourly + cross-region", "Storage: Real-time
replication to secondary region", "Frequency: Every 6 hours, Retention: 90 days", and a failover
procedure (detect, promote the replica, switch DNS, verify, notify, stop before restoring the
primary). This component takes what the primary's data layer built (`BuiltData`, with each
managed service's `replication` source) and builds, per service and backend:

| service | AWS | Azure |
|---|---|---|
| PostgreSQL | RDS cross-region read replica, automated backups replicated | Flexible Server replica there |
| Redis | ElastiCache Global Datastore member | Azure Managed Redis active geo-replication |
| Kafka | MSK cluster + MSK Replicator | in-cluster (Strimzi): not copied yet (docs/DR.md) |
| MongoDB | in-cluster (Percona): PITR backups copied cross-region; members there not yet (docs/DR.md) | same |

plus the inter-region network (components/dr/network.py), the scheduled backups and their
cross-region copies (AWS Backup / Azure Backup, S3 replication of the in-cluster backups), the
topic a failover notifies (AWS), and the `dr` stack output. It returns, as a value, what the
secondary region's services connect to: the copies' endpoints with the same logins, marked
`REGION_ROLE=standby` (read-only until promotion; Azure Managed Redis is `active`), so a failover
needs no redeploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.cloud import dns_failover
from components.data import BuiltData
from components.data.connection import BuiltService
from components.data.namespace import DataNamespace, DataNamespaceArgs
from components.data.operators import OPERATOR_NAMESPACE
from components.data.replication import (
    ElastiCacheSource,
    FlexibleSource,
    ManagedRedisSource,
    MskSource,
    RdsSource,
)
from components.dr import aws as aws_dr
from components.dr import azure as azure_dr
from components.dr.network import InterRegionNetwork, InterRegionNetworkArgs, RegionSide
from components.network import AwsNetwork, AzureNetwork
from settings.cloud import DnsFailoverSettings
from settings.data import DataService
from settings.dr import DrSpec

__all__ = ["BuiltRecovery", "DisasterRecovery", "DisasterRecoveryArgs", "RegionSide"]

# The namespace the secondary cluster's DR Jobs run in (the primary's data namespace's name).
DR_NAMESPACE = "data"

# Why a service has no copy in the other region yet, by (service, backend).
NOT_COPIED: dict[tuple[str, str], str] = {
    ("mongo", "in-cluster"): (
        "Percona cross-site replica-set members in the secondary region are the chosen design (RPO: seconds of "
        "replication lag; RTO: a replica-set reconfiguration) and follow the sharding issue (#20); until then the "
        "PITR backups (oplog every archive interval) are copied to the secondary region and restored there"
    ),
    ("kafka", "in-cluster"): (
        "MirrorMaker 2 into a Strimzi cluster in the secondary region needs that cluster and a cross-region "
        "listener; not built yet"
    ),
    ("postgres", "in-cluster"): (
        "a CloudNativePG replica cluster fed from the WAL archive is not built yet; the archive is copied to the "
        "secondary region"
    ),
    ("redis", "in-cluster"): "a cache: rebuilt from the databases in the secondary region, nothing is copied",
}


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    stack_name: str
    spec: DrSpec
    primary: RegionSide
    secondary: RegionSide
    # What the primary's data layer built (endpoints, logins, replication sources, backup stores).
    data: BuiltData
    failover: DnsFailoverSettings
    pod_security_version: str
    protect: bool


@dataclass(frozen=True)
class BuiltRecovery:
    """What the secondary region's services connect to, and the `dr` stack output."""

    data: BuiltData
    output: dict[str, Any]


def failover_output(settings: DnsFailoverSettings, spec: DrSpec) -> dict[str, Any]:
    """The DNS failover a drill switches: the name, each region's origin and the health checks'
    settings (components/cloud/dns_failover.py builds the checks once each region serves). The
    component records them too, so the RTO budget can time the path before the checks exist."""
    failures = (
        dns_failover.ROUTE53_FAILURE_THRESHOLD
        if spec.cloud == "aws"
        else dns_failover.TRAFFIC_MANAGER_TOLERATED_FAILURES + 1
    )
    return {
        "zone": settings.zone,
        "record": settings.fqdn,
        "origins": {
            "primary": settings.origin(spec.primary_region),
            "secondary": settings.origin(spec.secondary_region),
        },
        "healthCheckPath": settings.health_check_path,
        "intervalSeconds": dns_failover.HEALTH_INTERVAL_SECONDS,
        "failuresToDetect": failures,
        "ttlSeconds": dns_failover.FAILOVER_TTL_SECONDS,
    }


class DisasterRecovery(pulumi.ComponentResource):
    built: BuiltRecovery

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec, primary, secondary = args.spec, args.primary, args.secondary
        # Recorded on the component (the plan's inputs): what the RTO budget and the policies read.
        declared = {
            "primaryRegion": spec.primary_region,
            "secondaryRegion": spec.secondary_region,
            "rtoMinutes": spec.rto_minutes,
            "failover": failover_output(args.failover, spec),
        }
        super().__init__("bakhmach:dr:DisasterRecovery", name, declared, opts)
        network = InterRegionNetwork(
            f"{name}-network",
            InterRegionNetworkArgs(primary=primary, secondary=secondary),
            opts=pulumi.ResourceOptions(parent=self),
        )
        second = secondary.network
        # The secondary region's resources inherit its AWS provider (and its default tags).
        there = pulumi.ResourceOptions(parent=self)
        if isinstance(second, AwsNetwork) and second.provider is not None:
            there = pulumi.ResourceOptions(parent=self, providers=[second.provider])
        region = _Region(f"{name}-{spec.secondary_region}", opts=there)

        copies: dict[DataService, aws_dr.Copy] = {}
        services: dict[str, Any] = {}
        for service, built in args.data.services.items():
            copy = self._copy(name, service, built, args, region, network)
            if copy is None:
                services[service] = {
                    "backend": built.endpoint.backend,
                    "copied": False,
                    "why": NOT_COPIED.get((service, built.endpoint.backend), "no cross-region copy"),
                }
                continue
            copies[service] = copy
            services[service] = {**copy.output, "copied": True}

        backups = self._backups(name, args, region)
        notify: dict[str, Any] = {"topic": None, "why": "Azure: no drill path yet, on-call is paged by Alertmanager"}
        if isinstance(second, AwsNetwork):
            topic = aws_dr.notification_topic(f"{name}-notify", args.stack_name, secondary.scope, region)
            notify = {"topicArn": topic.arn, "region": spec.secondary_region}
        self.built = BuiltRecovery(
            data=BuiltData({service: copy.built for service, copy in copies.items()}),
            output={
                "stack": args.stack_name,
                "cloud": spec.cloud,
                "primaryRegion": spec.primary_region,
                "secondaryRegion": spec.secondary_region,
                "rpoMinutes": spec.rpo_minutes,
                "rtoMinutes": spec.rto_minutes,
                "services": services,
                "backups": backups,
                "failover": failover_output(args.failover, spec),
                "notify": notify,
            },
        )
        self.register_outputs({"services": sorted(copies)})

    def _copy(
        self,
        name: str,
        service: DataService,
        built: BuiltService,
        args: DisasterRecoveryArgs,
        region: pulumi.Resource,
        network: InterRegionNetwork,
    ) -> aws_dr.Copy | None:
        source, second, first = built.replication, args.secondary.network, args.primary.network
        prefix = f"{name}-{service}"
        if isinstance(source, RdsSource) and isinstance(second, AwsNetwork):
            return aws_dr.postgres_replica(
                prefix, source, built, args.stack_name, args.spec, second, args.secondary.scope, args.protect, region
            )
        if isinstance(source, ElastiCacheSource) and isinstance(second, AwsNetwork) and isinstance(first, AwsNetwork):
            return aws_dr.redis_global_datastore(
                prefix, source, built, args.stack_name, args.spec, second, first.provider, region, args.protect
            )
        if isinstance(source, MskSource) and isinstance(second, AwsNetwork) and isinstance(first, AwsNetwork):
            namespace = DataNamespace(
                f"{name}-namespace",
                DataNamespaceArgs(
                    name=DR_NAMESPACE,
                    environment=args.secondary.scope.environment,
                    pod_security_version=args.pod_security_version,
                    operator_namespace=OPERATOR_NAMESPACE,
                    consumers={},
                    # The DR Jobs only: each requests 50m / 128Mi (components/data/provisioning.py).
                    requests_cpu="1",
                    requests_memory="1Gi",
                    limits_memory="2Gi",
                    storage="1Gi",
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": args.secondary.provider}),
            )
            return aws_dr.kafka_replicator(
                prefix,
                source,
                built,
                args.stack_name,
                args.spec,
                first,
                second,
                args.secondary.scope,
                args.protect,
                DR_NAMESPACE,
                (namespace.namespace, *args.secondary.scheduling),
                region,
                _K8s(f"{name}-jobs", self, args.secondary.provider),
            )
        if isinstance(source, FlexibleSource) and isinstance(second, AzureNetwork):
            return azure_dr.postgres_replica(
                prefix, source, built, args.spec, second, tuple(network.ready), args.protect, region
            )
        if isinstance(source, ManagedRedisSource) and isinstance(second, AzureNetwork):
            return azure_dr.redis_geo_replica(
                prefix, source, built, args.stack_name, args.spec, second, args.protect, region
            )
        return None

    def _backups(self, name: str, args: DisasterRecoveryArgs, region: pulumi.Resource) -> dict[str, Any]:
        spec, first, second = args.spec, args.primary.network, args.secondary.network
        schedule: dict[str, Any] = {
            "snapshotEveryHours": spec.snapshot_interval_hours,
            "retentionDays": spec.retention_days,
            "pitrDays": spec.pitr_days,
            "archiveIntervalMinutes": spec.archive_interval_minutes,
        }
        sources = {s: b.replication for s, b in args.data.services.items()}
        if isinstance(first, AwsNetwork) and isinstance(second, AwsNetwork):
            databases = [s.arn for s in sources.values() if isinstance(s, RdsSource)]
            if databases:
                vaults = aws_dr.backup_plan(
                    f"{name}-backup",
                    args.stack_name,
                    spec,
                    args.primary.scope,
                    args.secondary.scope,
                    first.provider,
                    second.provider,
                    databases,
                    args.protect,
                    self,
                )
                schedule |= {"plan": vaults.plan.id, "vault": vaults.primary.name, "copyVault": vaults.secondary.arn}
            buckets = {}
            for location in args.data.backups.values():
                if location.kind == "s3" and "bucket" not in buckets:
                    buckets["bucket"] = aws_dr.replicate_backup_bucket(
                        f"{name}-backups-copy", location, spec, first, second, args.stack_name, args.protect, self
                    )
            if buckets:
                schedule["inClusterBackupsCopiedTo"] = buckets["bucket"].bucket
        if isinstance(first, AzureNetwork):
            flexible = [s for s in sources.values() if isinstance(s, FlexibleSource)]
            for source in flexible:
                vault = azure_dr.postgres_vault(
                    f"{name}-backup", args.stack_name, source, spec, first, args.primary.scope, args.protect, self
                )
                schedule |= {"vault": vault.name, "vaultRedundancy": "GeoRedundant"}
        return schedule


class _Region(pulumi.ComponentResource):
    """The secondary region's cloud resources of disaster recovery (they inherit its provider)."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:dr:SecondaryRegion", name, None, opts)
        self.register_outputs({})


class _K8s(pulumi.ComponentResource):
    """The secondary cluster's DR Jobs (they inherit its Kubernetes provider)."""

    def __init__(self, name: str, parent: pulumi.Resource, provider: pulumi.ProviderResource) -> None:
        super().__init__(
            "bakhmach:dr:SecondaryJobs",
            name,
            None,
            pulumi.ResourceOptions(parent=parent, providers={"kubernetes": provider}),
        )
        self.register_outputs({})


def recovery_for(
    stack_name: str,
    spec: DrSpec | None,
    failover: DnsFailoverSettings | None,
    primary: RegionSide,
    secondary: RegionSide,
    data: BuiltData | None,
    pod_security_version: str,
    protect: bool,
) -> DisasterRecovery | None:
    """Prod's disaster recovery between `primary` and `secondary` (None where the stack has none)."""
    if spec is None or failover is None or data is None:
        return None
    return DisasterRecovery(
        "dr",
        DisasterRecoveryArgs(
            stack_name=stack_name,
            spec=spec,
            primary=primary,
            secondary=secondary,
            data=data,
            failover=failover,
            pod_security_version=pod_security_version,
            protect=protect,
        ),
    )
