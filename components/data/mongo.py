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

TLS is required (`tls.mode: requireTLS`) and TLS 1.3 only (mongod's `net.tls.disabledProtocols`):
the operator uses the two Secrets the stack's cert-manager Certificates fill from the data CA
(`spec.secrets.ssl`, `sslInternal`; a Secret it did not create itself is left alone), with the
same subject and names its own certificates would carry (percona-server-mongodb-operator 1.22.0
`pkg/psmdb/tls`), and members authenticate to each other with the internal one (x509).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.data.backup_store import BackupAgent
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    basic_auth_secret,
    ca_of,
    consumer_passwords,
    data_labels,
    data_meta,
    stateful,
)
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.operators import OPERATOR_NAMESPACE
from components.labels import instance_of
from components.observability import exporters
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, MongoSize

PORT = 27017
CLUSTER_NAME = "mongo"
REPLSET = "rs0"
SSL_SECRET = f"{CLUSTER_NAME}-ssl"
SSL_INTERNAL_SECRET = f"{CLUSTER_NAME}-ssl-internal"
# Percona Server for MongoDB 8.0 offers TLS 1.3; everything older is switched off.
MONGOD_TLS_CONFIGURATION = "net:\n  tls:\n    disabledProtocols: TLS1_0,TLS1_1,TLS1_2\n"


def certificate_names(namespace: str) -> list[str]:
    """The names the operator's own certificates carry for a replica set (`GetCertificateSans`)."""
    rs = f"{CLUSTER_NAME}-{REPLSET}"
    return [
        "localhost",
        *(
            f"{prefix}{rs}{suffix}"
            for prefix in ("", "*.")
            for suffix in ("", f".{namespace}", f".{namespace}.svc.cluster.local")
        ),
    ]


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
                            "count": spec.backup_retention_days,
                            "deleteFromStorage": True,
                        },
                    }
                ],
            }
        ca = ca_of(args)
        certificates = [
            ca.certificate(
                f"{name}-{secret}",
                name=secret,
                namespace=args.namespace,
                dns_names=certificate_names(args.namespace),
                labels=data_labels(spec.environment),
                parent=parent,
                common_name=CLUSTER_NAME,
                organization="PSMDB",
                after=args.in_cluster_dependencies,
            )
            for secret in (SSL_SECRET, SSL_INTERNAL_SECRET)
        ]
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
                        "configuration": MONGOD_TLS_CONFIGURATION,
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
                    }
                ],
                "tls": {"mode": "requireTLS", "allowInvalidCertificates": False},
                "secrets": {"ssl": SSL_SECRET, "sslInternal": SSL_INTERNAL_SECRET},
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
                    *certificates,
                    *args.backup_dependencies,
                ],
            ),
        )
        endpoint = DataEndpoint(
            service="mongo",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-{REPLSET}.{args.namespace}.svc.cluster.local",
            port=PORT,
            tls=True,
            trust="data-ca",
            egress=DataEgress(ports=(PORT,), namespace=args.namespace),
            extra={
                "REPLICA_SET": REPLSET,
                "SHARD_KEY": ",".join(data_settings.MONGO_SHARD_KEY),
                "AUTH_SOURCE": AUTH_DATABASE,
            },
        )
        return BuiltService(
            endpoint, {g.consumer: Credential.own(g, passwords[g.consumer], ready=(cluster,)) for g in args.grants}
        )


BACKENDS: dict[Backend, DataBackend[MongoSize]] = {"in-cluster": PerconaMongo()}


class MongoCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:MongoCluster"
    BACKENDS = BACKENDS

    def extra_outputs(self) -> dict[str, object]:
        return {"shardKey": list(data_settings.MONGO_SHARD_KEY)}
