"""`MongoCluster`: the document store, a MongoDB replica set run by Percona's operator.

Seed: MongoDB 6.0 (8.0 here: 6.0 is end of life), "3-node replica set", "Sharding: Hash-based
on tenant_id + context_id". Percona Server for MongoDB is MongoDB (same server code, wire
protocol and drivers), and its operator also runs backups (Percona Backup for MongoDB) with
point-in-time oplog capture, which the MongoDB community operator does not.
There is no managed backend by default: DocumentDB (AWS) and Cosmos DB for MongoDB vCore
(Azure) reimplement part of the MongoDB API, not MongoDB 6.0+; they are not offered here.

Every consumer is a user of its own (Percona's `users`), created in `admin` and given
`readWrite` on its own database only; its password sits in a Secret of the data namespace,
which the operator reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.data.backup_store import BackupAgent
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    basic_auth_secret,
    consumer_passwords,
    data_meta,
    stateful,
)
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.cross_region import (
    Endpoint,
    MongoSecretNames,
    MongoSiteSecrets,
    endpoint_service,
    mongo_site_secret_objects,
    mongo_site_secrets,
)
from components.data.operators import OPERATOR_NAMESPACE
from components.data.replication import PerconaSource
from components.labels import instance_of
from components.observability import exporters
from components.observability.exporters import PSMDB_USERS_SECRET
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, MongoSize
from settings.dr import DrSpec

PORT = 27017
CLUSTER_NAME = "mongo"
REPLSET = "rs0"
# Where the consumers' users are created, so where their clients authenticate.
AUTH_DATABASE = "admin"
STORAGE_NAME = "object-store"
SERVICE_ACCOUNT = "mongo"
# The psmdb-operator chart names its ServiceAccount after the release ("psmdb-operator" contains
# the chart name, so the fullname is the release name; components/data/operators.py).
OPERATOR_SERVICE_ACCOUNT = "psmdb-operator"

Args = DataComponentArgs[MongoSize]


def backup_agent(namespace: str) -> BackupAgent:
    """PBM's agent is a container of the replica set pods; Percona's IRSA guide
    (k8spsmdb-docs backups-storage-s3.md) has the operator's service account assume the role too."""
    return BackupAgent(
        name="mongo",
        service_accounts=((namespace, SERVICE_ACCOUNT), (OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)),
        azure_workload_identity=False,
    )


class PerconaMongo:
    # The operator generates and keeps its own system users (in `percona-server-mongodb-users`,
    # its default where the CR names no Secret; the metrics exporter reads one of them there).
    admin_password = False

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        spec, size = args.spec, args.size
        after = pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies))
        passwords = consumer_passwords(name, args.grants, parent)
        user_secrets = [
            basic_auth_secret(
                f"{name}-{g.consumer}-user",
                f"{CLUSTER_NAME}-user-{g.consumer}",
                args.namespace,
                spec.environment,
                g.username,
                passwords[g.consumer],
                after,
            )
            for g in args.grants
        ]
        # Its own service account rather than the namespace's `default`, which other pods share:
        # the backup agent (a container of these pods) is granted the store through it.
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=data_meta(SERVICE_ACCOUNT, args.namespace, args.spec.environment),
            opts=after,
        )
        backup: dict[str, object] = {"enabled": False, "image": versions.MONGO_BACKUP_IMAGE}
        if spec.backups and args.backup is not None:
            location = args.backup
            if location.kind == "s3":
                # No `credentialsSecret`: PBM then takes the AWS SDK's default credential chain,
                # here EKS Pod Identity (percona/k8spsmdb-docs backups-storage-s3.md, "Automate
                # access to Amazon S3 using IRSA": "Omit s3.credentialsSecret so that PBM uses
                # IRSA"; "PBM uses the AWS default credential provider chain").
                storage: dict[str, object] = {
                    "type": "s3",
                    "s3": {"bucket": location.container, "region": location.region, "prefix": location.prefix},
                }
            else:
                # The operator's `azure` storage has no keyless option (see BackupStore).
                storage = {
                    "type": "azure",
                    "azure": {
                        "container": location.container,
                        "prefix": location.prefix,
                        "credentialsSecret": location.credentials_secret,
                    },
                }
            backup = {
                "enabled": True,
                "image": versions.MONGO_BACKUP_IMAGE,
                "storages": {STORAGE_NAME: storage},
                # Oplog slices every RPO interval: point-in-time recovery to within 5 minutes.
                "pitr": {"enabled": True, "oplogSpanMin": spec.rpo_minutes, "compressionType": "zstd"},
                "tasks": [
                    {
                        "name": "daily",
                        "enabled": True,
                        "schedule": "0 2 * * *",
                        "storageName": STORAGE_NAME,
                        "type": "logical",
                        "compressionType": "zstd",
                        "retention": {
                            "type": "count",
                            "count": args.dr.retention_days if args.dr else spec.backup_retention_days,
                            "deleteFromStorage": True,
                        },
                    },
                    # Prod: the seed's DR snapshots, every 6 hours kept 90 days (settings/dr.py).
                    *([_dr_snapshots(args.dr)] if args.dr else []),
                ],
            }
        # Prod: members in the other region join this replica set (Percona cross-site replication).
        site = cross_site(name, args, after, parent) if args.dr is not None else None
        zone_key = "topology.kubernetes.io/zone" if spec.multi_zone else "kubernetes.io/hostname"
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="psmdb.percona.com/v1",
            kind="PerconaServerMongoDB",
            metadata=data_meta(
                CLUSTER_NAME,
                args.namespace,
                spec.environment,
                instance_of(CLUSTER_NAME, spec.environment),
                annotations={"bakhmach.io/shard-key": ",".join(data_settings.MONGO_SHARD_KEY)},
            ),
            spec={
                "crVersion": versions.PSMDB_CR_VERSION,
                "image": versions.MONGO_IMAGE,
                "updateStrategy": "SmartUpdate",
                # Version changes are reviewed changes to this file, not a nightly auto-upgrade.
                "upgradeOptions": {"apply": "disabled"},
                # A single-member replica set (dev) is "unsafe" to the operator; it is what dev asks.
                **({"unsafeFlags": {"replsetSize": True}} if size.members < 3 else {}),
                "replsets": [
                    {
                        "name": REPLSET,
                        "size": size.members,
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "priorityClassName": DATA.name,
                        "affinity": {"antiAffinityTopologyKey": zone_key},
                        "resources": {
                            "requests": {"cpu": size.cpu, "memory": size.memory},
                            "limits": {"memory": size.memory},
                        },
                        "volumeSpec": {
                            "persistentVolumeClaim": {"resources": {"requests": {"storage": f"{size.storage_gib}Gi"}}}
                        },
                        **({"podDisruptionBudget": {"maxUnavailable": 1}} if size.members >= 3 else {}),
                        # Metrics for Prometheus (components/observability/exporters.py).
                        "sidecars": [exporters.mongodb_exporter_sidecar()],
                        **(site.replset if site else {}),
                    }
                ],
                **({"secrets": site.names.spec()} if site else {}),
                # Three members hold every shard key's data; mongos and config servers come with
                # sharding, when the data outgrows one replica set.
                "sharding": {"enabled": False},
                "users": [
                    {
                        "name": g.username,
                        "db": AUTH_DATABASE,
                        "passwordSecretRef": {"name": f"{CLUSTER_NAME}-user-{g.consumer}", "key": "password"},
                        "roles": [{"name": "readWrite", "db": g.resource}],
                    }
                    for g in args.grants
                ],
                "backup": backup,
            },
            opts=stateful(
                parent,
                spec,
                depends_on=[
                    *args.in_cluster_dependencies,
                    *user_secrets,
                    service_account,
                    *args.backup_dependencies,
                    *(site.secrets if site else ()),
                ],
            ),
        )
        endpoint = DataEndpoint(
            service="mongo",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-{REPLSET}.{args.namespace}.svc.cluster.local",
            port=PORT,
            tls=False,
            egress=DataEgress(ports=(PORT,), namespace=args.namespace),
            extra={
                "REPLICA_SET": REPLSET,
                "SHARD_KEY": ",".join(data_settings.MONGO_SHARD_KEY),
                "AUTH_SOURCE": AUTH_DATABASE,
            },
        )
        source = None
        if site is not None:
            source = PerconaSource(
                spec=spec,
                size=size,
                grants=args.grants,
                cluster_name=CLUSTER_NAME,
                replset=REPLSET,
                shared=site.values,
                secret_names=site.names,
                members=site.members,
                primary_endpoints=site.endpoints,
                cluster=cluster,
            )
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(cluster,)) for g in args.grants},
            replication=source,
        )


# The Secrets both sites share (the operator reads them by these names; the users Secret keeps the
# name the metrics exporter reads).
SITE_SECRETS = MongoSecretNames(
    users=PSMDB_USERS_SECRET,
    key_file=f"{CLUSTER_NAME}-mongodb-keyfile",
    ssl=f"{CLUSTER_NAME}-ssl",
    ssl_internal=f"{CLUSTER_NAME}-ssl-internal",
)


@dataclass(frozen=True)
class CrossSite:
    names: MongoSecretNames
    values: MongoSiteSecrets
    secrets: list[pulumi.Resource]
    # What the replica set entry gains: its members under their cross-region names, and the other
    # region's members as non-voting, never-primary external nodes.
    replset: dict[str, object]
    members: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]


def member_names(size: MongoSize) -> tuple[str, ...]:
    return tuple(f"{CLUSTER_NAME}-{REPLSET}-{i}" for i in range(size.members))


def site_dns_names(namespace: str, regions: tuple[str, ...], zone: str) -> list[str]:
    """Every name a member of either site is reached at: in its cluster, and across regions."""
    service = f"{CLUSTER_NAME}-{REPLSET}"
    local = [f"*.{service}.{namespace}.svc.cluster.local", f"{service}.{namespace}.svc.cluster.local"]
    local += [f"*.{service}.{namespace}.svc", f"*.{service}.{namespace}", f"*.{service}", "localhost"]
    return [*local, *(f"*.{region}.{zone}" for region in regions)]


def _dr_snapshots(dr: DrSpec) -> dict[str, object]:
    """A backup every `snapshot_interval_hours`, as many kept as `retention_days` holds."""
    return {
        "name": f"every-{dr.snapshot_interval_hours}-hours",
        "enabled": True,
        "schedule": f"30 */{dr.snapshot_interval_hours} * * *",
        "storageName": STORAGE_NAME,
        "type": "logical",
        "compressionType": "zstd",
        "retention": {"type": "count", "count": dr.snapshots_kept, "deleteFromStorage": True},
    }


def cross_site(name: str, args: Args, after: pulumi.ResourceOptions, parent: pulumi.Resource) -> CrossSite:
    """The main site's side of Percona cross-site replication (components/dr builds the other)."""
    dr, spec = args.dr, args.spec
    assert dr is not None
    values = mongo_site_secrets(
        f"{name}-site", site_dns_names(args.namespace, (dr.primary_region, dr.secondary_region), dr.dns_zone), parent
    )
    secrets = mongo_site_secret_objects(f"{name}-site", values, SITE_SECRETS, args.namespace, spec.environment, after)
    members = member_names(args.size)
    endpoints = tuple(
        Endpoint(
            service_name=f"{member}-dr",
            hostname=dr.endpoint(member, dr.primary_region),
            selector={"statefulset.kubernetes.io/pod-name": member},
            port=PORT,
        )
        for member in members
    )
    for endpoint in endpoints:
        endpoint_service(
            f"{name}-{endpoint.service_name}",
            endpoint,
            args.namespace,
            spec.environment,
            dr.cloud,
            (dr.secondary_cidr, dr.primary_cidr),
            after,
        )
    replset: dict[str, object] = {
        # Members are known under the names the other region reaches them at.
        "replsetOverrides": {
            e.selector["statefulset.kubernetes.io/pod-name"]: {"host": f"{e.hostname}:{PORT}"} for e in endpoints
        },
        "externalNodes": [
            {"host": dr.endpoint(member, dr.secondary_region), "port": PORT, "votes": 0, "priority": 0}
            for member in members
        ],
    }
    return CrossSite(SITE_SECRETS, values, list(secrets), replset, members, endpoints)


BACKENDS: dict[Backend, DataBackend[MongoSize]] = {"in-cluster": PerconaMongo()}


class MongoCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:MongoCluster"
    BACKENDS = BACKENDS

    def extra_outputs(self) -> dict[str, object]:
        return {"shardKey": list(data_settings.MONGO_SHARD_KEY)}
