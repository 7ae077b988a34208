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
| Kafka | MSK cluster + MSK Replicator | Strimzi cluster + MirrorMaker 2 (in-cluster) |
| MongoDB | Percona cross-site replica-set members (in-cluster) | same |

and, where a stack file runs PostgreSQL or Redis in the cluster, a CloudNativePG replica cluster
fed from the WAL archive and an empty cache of the same shape (components/dr/in_cluster.py);

plus the inter-region network and private zone (components/dr/network.py), each cluster's
external-dns for that zone (components/dr/endpoints.py), the scheduled backups and their
cross-region copies (AWS Backup / Azure Backup, S3 replication of the in-cluster backups), the
topic a failover notifies (AWS), and the `dr` stack output. It returns, as a value, what the
secondary region's services connect to: the copies' endpoints with the same logins, marked
`REGION_ROLE=standby` (read-only until promotion; Azure Managed Redis is `active`), so a failover
needs no redeploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.cloud import dns_failover
from components.data import BuiltData, namespace_size
from components.data import kafka as kafka_data
from components.data import mongo as mongo_data
from components.data import postgres as postgres_data
from components.data import redis as redis_data
from components.data.connection import BuiltService
from components.data.namespace import DataNamespace, DataNamespaceArgs
from components.data.operators import OPERATOR_NAMESPACE, DataOperators, DataOperatorsArgs
from components.data.replication import (
    ElastiCacheSource,
    FlexibleSource,
    InClusterSource,
    ManagedRedisSource,
    MskSource,
    PerconaSource,
    RdsSource,
    StrimziSource,
)
from components.data.tls import DataTls, DataTlsArgs
from components.dr import aws as aws_dr
from components.dr import azure as azure_dr
from components.dr.endpoints import private_dns
from components.dr.in_cluster import Site, in_cluster_copies
from components.dr.network import InterRegionNetwork, InterRegionNetworkArgs, RegionSide
from components.network import AwsNetwork, AzureNetwork
from settings.cloud import DnsFailoverSettings
from settings.data import DATA_SERVICES, DataLayerSpec, DataService
from settings.dr import DrSpec

__all__ = ["BuiltRecovery", "DisasterRecovery", "DisasterRecoveryArgs", "RegionSide"]

# The namespace the secondary cluster's DR Jobs run in (the primary's data namespace's name).
DR_NAMESPACE = "data"

# Why a service has no copy in the other region, by (service, backend): none today.
NOT_COPIED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    stack_name: str
    spec: DrSpec
    primary: RegionSide
    secondary: RegionSide
    # What the primary's data layer built (endpoints, logins, replication sources, backup stores).
    data: BuiltData
    # The data layer's spec: the copies of the in-cluster services are sized as the originals.
    data_spec: DataLayerSpec
    failover: DnsFailoverSettings
    pod_security_version: str
    protect: bool


# The secondary's data namespace when it runs only the managed copies' provisioning Jobs (each
# requests 50m / 128Mi: components/data/provisioning.py).
_JOBS_ONLY = {"requests_cpu": "1", "requests_memory": "1Gi", "limits_memory": "2Gi", "storage": "1Gi"}


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
            InterRegionNetworkArgs(primary=primary, secondary=secondary, zone=spec.dns_zone),
            opts=pulumi.ResourceOptions(parent=self),
        )
        second = secondary.network
        # The secondary region's resources inherit its AWS provider (and its default tags).
        there = pulumi.ResourceOptions(parent=self)
        if isinstance(second, AwsNetwork) and second.provider is not None:
            there = pulumi.ResourceOptions(parent=self, providers=[second.provider])
        region = _Region(f"{name}-{spec.secondary_region}", opts=there)
        jobs = _K8s(f"{name}-secondary-cluster", self, secondary.provider)

        sources = {s: b.replication for s, b in args.data.services.items()}
        in_cluster = {s: src for s, src in sources.items() if isinstance(src, InClusterSource)}
        site = None
        if in_cluster or any(isinstance(src, MskSource) for src in sources.values()):
            site = self._site(name, args, in_cluster, jobs)
        if any(isinstance(src, PerconaSource | StrimziSource) for src in in_cluster.values()):
            # Both clusters publish their members in the private zone the other region resolves.
            for side_name, side in (("primary", primary), ("secondary", secondary)):
                private_dns(f"{name}-{side_name}-private-dns", side, network.zone, self)

        copies: dict[DataService, aws_dr.Copy] = {}
        for service, built in args.data.services.items():
            if service in in_cluster:
                continue
            copy = self._copy(name, service, built, args, region, network, site, jobs)
            if copy is not None:
                copies[service] = copy
        if site is not None and in_cluster:
            copies |= in_cluster_copies(f"{name}-in-cluster", in_cluster, args.data.services, site, jobs)
        services: dict[str, Any] = {}
        for service, built in args.data.services.items():
            if service in copies:
                services[service] = {**copies[service].output, "copied": True}
            else:
                services[service] = {
                    "backend": built.endpoint.backend,
                    "copied": False,
                    "why": NOT_COPIED.get((service, built.endpoint.backend), "no cross-region copy"),
                }

        backups = self._backups(name, args, region)
        notify: dict[str, Any] = {"topic": None, "why": "Azure: no drill path yet, on-call is paged by Alertmanager"}
        if isinstance(second, AwsNetwork):
            topic = aws_dr.notification_topic(f"{name}-notify", args.stack_name, secondary.scope, region)
            notify = {"topicArn": topic.arn, "region": spec.secondary_region}
        self.built = BuiltRecovery(
            data=BuiltData({service: copy.built for service, copy in copies.items()}, ca=site.ca if site else None),
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
                "privateZone": spec.dns_zone,
                "notify": notify,
            },
        )
        self.register_outputs({"services": sorted(copies)})

    def _site(
        self, name: str, args: DisasterRecoveryArgs, in_cluster: Mapping[DataService, Any], parent: pulumi.Resource
    ) -> Site:
        """The secondary cluster's data namespace and operators, for the copies of the in-cluster
        services (sized as the primary's) and the managed services' provisioning Jobs."""
        spec, side = args.spec, args.secondary
        services = tuple(s for s in DATA_SERVICES if s in in_cluster)
        ports = {"postgres": postgres_data.PORT, "mongo": mongo_data.PORT, "redis": redis_data.PORT}
        ports["kafka"] = kafka_data.IN_CLUSTER_PORT
        consumers = {
            ports[service]: tuple(sorted({g.consumer for g in source.grants})) for service, source in in_cluster.items()
        }
        other: dict[int, str] = {}
        balancers = 0
        for source in in_cluster.values():
            if isinstance(source, PerconaSource):
                other[mongo_data.PORT] = spec.primary_cidr
                balancers += sum(len(pods) for pods in source.members.values())
            if isinstance(source, StrimziSource):
                other[kafka_data.MIRROR_PORT] = spec.primary_cidr
        size = namespace_size(args.data_spec) if services else _JOBS_ONLY
        # As in the primary: the consumers reach a sharded MongoDB's routers only.
        routers = mongo_data.router_labels(args.data_spec.sizes.mongo) if "mongo" in in_cluster else None
        namespace = DataNamespace(
            f"{name}-namespace",
            DataNamespaceArgs(
                name=DR_NAMESPACE,
                environment=side.scope.environment,
                pod_security_version=args.pod_security_version,
                operator_namespace=OPERATOR_NAMESPACE,
                consumers=consumers,
                entry_pods={mongo_data.PORT: routers} if routers else {},
                load_balancers=balancers,
                other_region=other,
                **size,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        # This cluster's issuer of the data CA both regions hold (components/data/shared_ca.py):
        # the copies' certificates, and what the secondary's consumers verify them with.
        tls = DataTls(
            f"{name}-data-tls",
            DataTlsArgs(environment=side.scope.environment, cert_manager=side.cert_manager, shared=args.data.shared_ca),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        operators = DataOperators(
            f"{name}-operators",
            DataOperatorsArgs(
                environment=side.scope.environment,
                pod_security_version=args.pod_security_version,
                services=services,
                postgres_backups="postgres" in services,
                after=side.scheduling,
                cert_manager=tls.cert_manager,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return Site(side, spec, args.stack_name, namespace, operators, args.protect, tls.ca)

    def _copy(
        self,
        name: str,
        service: DataService,
        built: BuiltService,
        args: DisasterRecoveryArgs,
        region: pulumi.Resource,
        network: InterRegionNetwork,
        site: Site | None,
        jobs: pulumi.Resource,
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
            assert site is not None
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
                (site.namespace.namespace, *args.secondary.scheduling),
                region,
                jobs,
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
                # Azure Backup takes Flexible Server daily at the finest (docs/DR.md): the 6-hour
                # snapshots are the in-cluster databases'; the RPO rests on point-in-time recovery.
                schedule |= {"vault": vault.name, "vaultRedundancy": "GeoRedundant", "vaultedBackups": "daily"}
        return schedule


class _Region(pulumi.ComponentResource):
    """The secondary region's cloud resources of disaster recovery (they inherit its provider)."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:dr:SecondaryRegion", name, None, opts)
        self.register_outputs({})


class _K8s(pulumi.ComponentResource):
    """What disaster recovery runs in the secondary cluster (it inherits its Kubernetes provider)."""

    def __init__(self, name: str, parent: pulumi.Resource, provider: pulumi.ProviderResource) -> None:
        super().__init__(
            "bakhmach:dr:SecondaryCluster",
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
    data_spec: DataLayerSpec,
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
            data_spec=data_spec,
            failover=failover,
            pod_security_version=pod_security_version,
            protect=protect,
        ),
    )
