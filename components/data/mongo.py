"""`MongoCluster`: the document store, run by Percona's operator.

Seed: MongoDB 6.0 (8.0 here: 6.0 is end of life), "3-node replica set", "Sharding: Hash-based
on tenant_id + context_id", "Collections per context: 15-20", "Storage: 500GB per context".
Percona Server for MongoDB is MongoDB (same server code, wire protocol and drivers), and its
operator also runs backups (Percona Backup for MongoDB) with point-in-time oplog capture, which
the MongoDB community operator does not. There is no managed backend by default: DocumentDB
(AWS) and Cosmos DB for MongoDB vCore (Azure) reimplement part of the MongoDB API, not MongoDB
6.0+; they are not offered here.

Topology (settings/data.py `SIZES`; docs/MONGODB.md):
- staging/prod: a sharded cluster. Its first shard (`rs0`) is the seed's 3-member replica set;
  `data.mongo.shards` adds more of the same size (`rs1`, ...). Three config servers hold the
  cluster's metadata; the mongos routers are the only endpoint the services see (host, Secrets
  and the data namespace's NetworkPolicy all point at them).
- dev: one single-member replica set, not sharded (a laptop runs no config servers or routers);
  the services connect to it with `MONGO_REPLICA_SET`.

Every consumer is a user of its own (Percona's `users`), created in `admin` and given
`readWrite` on its own database only; its password sits in a Secret of the data namespace,
which the operator reads. Each database's collections (the settings' list per context) are
created, and in a sharded cluster sharded on the hashed key, by the `mongo-collections` Job:
the operator's CR has users and roles but nothing for databases, collections or shard keys.
The Job logs in as a user of its own whose role may do only that, on those databases only,
rather than as the operator's clusterAdmin (its system users Secret,
`percona-server-mongodb-users` in operator 1.22, holds logins that can do anything).

TLS is required (`tls.mode: requireTLS`) and TLS 1.3 only (the `net.tls.disabledProtocols`
every mongod and mongos shares, `_members`): the operator uses the two Secrets the stack's
cert-manager Certificates fill from the data CA (`spec.secrets.ssl`, `sslInternal`; a Secret it
did not create itself is left alone), with the same subject and names its own certificates would
carry (percona-server-mongodb-operator 1.22.0 `pkg/psmdb/tls`: every shard's, and in a sharded
cluster the config servers' and the routers'), and members authenticate to each other with the
internal one (x509). The consumers and the collections Job verify the server (the routers in a
sharded cluster) with the data CA's `ca.crt` (`trust-data-ca`, components/data/tls.py).

Prod (components/dr): Percona cross-site replication. Every replica set of the cluster (each shard
and the config servers) lists the secondary region's members of the same replica set as non-voting,
never-primary `externalNodes`, and its own members under the names the other region reaches them at
(`replsetOverrides`; an internal load balancer per member, published in the private zone both
regions resolve, components/data/cross_region.py). Both sites share the system users and the
internal-auth key file (generated here once, as Pulumi secrets); their certificates come from each
cluster's issuer of the one data CA both clusters hold (components/data/shared_ca.py), with
every name of either site, so x509 membership and TLS verify across regions. The secondary cluster
runs the unmanaged replica site (components/dr/in_cluster.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.data.backup_store import BackupAgent, BackupLocation
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
from components.data.credentials import generate_password
from components.data.cross_region import (
    Endpoint,
    MongoSecretNames,
    MongoSiteSecrets,
    endpoint_service,
    mongo_site_secret_objects,
    mongo_site_secrets,
)
from components.data.operators import OPERATOR_NAMESPACE
from components.data.provisioning import SECRETS_DIR, ProvisioningJob, provisioning_job
from components.data.replication import PerconaSource
from components.data.tls import CA_FILE, CONSUMER_SECRET
from components.data.trust import DATA_CA
from components.labels import instance_of
from components.observability import exporters
from components.observability.exporters import PSMDB_USERS_SECRET
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, DataComponentSpec, DataGrant, MongoSize
from settings.dr import DrSpec

PORT = 27017
CLUSTER_NAME = "mongo"
# The first shard (dev: the one replica set); shard n is `rs<n>`.
REPLSET = "rs0"
# The config servers' replica set: the operator names it, and their Service `<cluster>-cfg`
# (percona-server-mongodb-operator 1.22.0 pkg/apis/psmdb/v1/psmdb_defaults.go `ConfigReplSetName`).
CONFIG_REPLSET = "cfg"
SSL_SECRET = f"{CLUSTER_NAME}-ssl"
SSL_INTERNAL_SECRET = f"{CLUSTER_NAME}-ssl-internal"
# Percona Server for MongoDB 8.0 offers TLS 1.3; everything older is switched off.
MONGOD_TLS_CONFIGURATION = "net:\n  tls:\n    disabledProtocols: TLS1_0,TLS1_1,TLS1_2\n"
# Where the consumers' users are created, so where their clients authenticate.
AUTH_DATABASE = "admin"
STORAGE_NAME = "object-store"
SERVICE_ACCOUNT = "mongo"
# The psmdb-operator chart names its ServiceAccount after the release ("psmdb-operator" contains
# the chart name, so the fullname is the release name; components/data/operators.py).
OPERATOR_SERVICE_ACCOUNT = "psmdb-operator"
CLUSTER_DOMAIN = "svc.cluster.local"
# The labels Percona's operator 1.22 gives the mongos pods (pkg/naming/labels.go `MongosLabels`:
# the cluster's instance and component `mongos`); its Service is `<cluster>-mongos`.
ROUTER_LABELS = {"app.kubernetes.io/instance": CLUSTER_NAME, "app.kubernetes.io/component": "mongos"}

# The collections Job and the user it logs in as. A hyphen keeps the name apart from every
# consumer's (their usernames are namespaces with `_` for `-`).
COLLECTIONS_JOB = f"{CLUSTER_NAME}-collections"
COLLECTIONS_USER = "bakhmach-collections"
COLLECTIONS_ROLE = "bakhmach-collections"
# A sharded cluster being created (config servers, shards, routers, then the users) takes
# longer than the managed services' Jobs allow.
COLLECTIONS_DEADLINE_SECONDS = 1800

Args = DataComponentArgs[MongoSize]


def backup_agent(namespace: str) -> BackupAgent:
    """PBM's agent is a container of the shards' and config servers' pods; Percona's IRSA guide
    (k8spsmdb-docs backups-storage-s3.md) has the operator's service account assume the role too."""
    return BackupAgent(
        name="mongo",
        service_accounts=((namespace, SERVICE_ACCOUNT), (OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)),
        azure_workload_identity=False,
    )


def shard_names(size: MongoSize) -> tuple[str, ...]:
    return tuple(f"rs{n}" for n in range(size.shards))


def router_labels(size: MongoSize) -> dict[str, str] | None:
    """The labels of the pods consumers connect to when only some may be reached: the mongos
    routers of a sharded cluster; None for a replica set (dev), whose members are its endpoint."""
    return dict(ROUTER_LABELS) if size.sharding is not None else None


def certificate_names(namespace: str, size: MongoSize, regions: tuple[str, ...] = (), zone: str = "") -> list[str]:
    """The names the operator's own certificates carry (1.22.0 `GetCertificateSans`): each shard's
    Service and its members', and in a sharded cluster the routers' (`<cluster>-mongos`, where the
    clients and the collections Job connect) and the config servers' (`<cluster>-cfg`, which
    shards and routers reach). Its multi-cluster names are left out: the stack runs none. In
    prod, every member's cross-region name in either region (`*.<region>.<zone>`)."""
    services = [f"{CLUSTER_NAME}-{replset}" for replset in shard_names(size)]
    if size.sharding is not None:
        services += [f"{CLUSTER_NAME}-mongos", f"{CLUSTER_NAME}-{CONFIG_REPLSET}"]
    return [
        "localhost",
        *(
            f"{prefix}{service}{suffix}"
            for service in services
            for prefix in ("", "*.")
            for suffix in ("", f".{namespace}", f".{namespace}.{CLUSTER_DOMAIN}")
        ),
        *(f"*.{region}.{zone}" for region in regions),
    ]


def shard_key() -> dict[str, str | int]:
    return dict(data_settings.MONGO_SHARD_KEY)


def _backup(spec: DataComponentSpec, location: BackupLocation | None, dr: DrSpec | None = None) -> dict[str, object]:
    if not spec.backups or location is None:
        return {"enabled": False, "image": versions.MONGO_BACKUP_IMAGE}
    if location.kind == "s3":
        # No `credentialsSecret`: PBM then takes the AWS SDK's default credential chain, here
        # EKS Pod Identity (percona/k8spsmdb-docs backups-storage-s3.md, "Automate access to
        # Amazon S3 using IRSA": "Omit s3.credentialsSecret so that PBM uses IRSA"; "PBM uses
        # the AWS default credential provider chain").
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
    # In a sharded cluster PBM's agents run beside every member of every shard and of the config
    # server replica set (the config servers hold the metadata a restore needs), each replica
    # set's agent writing its own snapshot and oplog slices to the one storage; mongos takes no
    # part. One storage is what point-in-time recovery requires.
    return {
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
                    "count": dr.retention_days if dr else spec.backup_retention_days,
                    "deleteFromStorage": True,
                },
            },
            # Prod: the seed's DR snapshots, every 6 hours kept 90 days (settings/dr.py).
            *([_dr_snapshots(dr)] if dr else []),
        ],
    }


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


def _members(spec: DataComponentSpec, *, size: int, cpu: str, memory: str) -> dict[str, object]:
    """What every part of the cluster shares (each shard, the config servers, the routers):
    size, TLS 1.3 only, priority class, zone spread, resources and disruption budget."""
    zone_key = "topology.kubernetes.io/zone" if spec.multi_zone else "kubernetes.io/hostname"
    return {
        "size": size,
        "configuration": MONGOD_TLS_CONFIGURATION,
        "priorityClassName": DATA.name,
        "affinity": {"antiAffinityTopologyKey": zone_key},
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        **({"podDisruptionBudget": {"maxUnavailable": 1}} if size >= 2 else {}),
    }


def replset_spec(spec: DataComponentSpec, *, size: int, cpu: str, memory: str, storage_gib: int) -> dict[str, object]:
    """A replica set holding data (a shard, or the config servers): members with a volume each,
    the backup agent's identity (its container runs in these pods) and the metrics exporter."""
    return {
        **_members(spec, size=size, cpu=cpu, memory=memory),
        "serviceAccountName": SERVICE_ACCOUNT,
        "volumeSpec": {"persistentVolumeClaim": {"resources": {"requests": {"storage": f"{storage_gib}Gi"}}}},
        # Metrics for Prometheus (components/observability/exporters.py).
        "sidecars": [exporters.mongodb_exporter_sidecar()],
    }


def sharding_spec(
    spec: DataComponentSpec, size: MongoSize, config_site: dict[str, object] | None = None
) -> dict[str, object]:
    """The config servers and routers of a sharded cluster; dev runs a replica set alone.
    `config_site`: what the config servers' replica set gains in prod (its cross-site members)."""
    s = size.sharding
    if s is None:
        return {"enabled": False}
    return {
        "enabled": True,
        # The balancer moves chunks of each sharded collection between shards until each holds
        # its share: it is what fills a shard added later (docs/MONGODB.md).
        "balancer": {"enabled": True},
        "configsvrReplSet": {
            **replset_spec(
                spec, size=s.config_servers, cpu=s.config_cpu, memory=s.config_memory, storage_gib=s.config_storage_gib
            ),
            **(config_site or {}),
        },
        "mongos": {
            **_members(spec, size=s.routers, cpu=s.router_cpu, memory=s.router_memory),
            # Reached inside the cluster only, by the consumers the data namespace admits.
            "expose": {"type": "ClusterIP"},
        },
    }


def _users(grants: tuple[DataGrant, ...]) -> list[dict[str, object]]:
    """Each consumer's user, `readWrite` on its own database only, and the collections Job's."""

    def user(name: str, secret: str, role: str, db: str) -> dict[str, object]:
        return {
            "name": name,
            "db": AUTH_DATABASE,
            "passwordSecretRef": {"name": f"{CLUSTER_NAME}-user-{secret}", "key": "password"},
            "roles": [{"name": role, "db": db}],
        }

    return [
        *(user(g.username, g.consumer, "readWrite", g.resource) for g in grants),
        user(COLLECTIONS_USER, "collections", COLLECTIONS_ROLE, AUTH_DATABASE),
    ]


def _collections_role(grants: tuple[DataGrant, ...], sharded: bool) -> dict[str, object]:
    """What the collections Job may do: create and shard (or index) collections of the
    consumers' databases, and read where the cluster keeps each collection's shard key. No
    action that reads or writes a document of a consumer's database."""
    actions = ["createCollection", "createIndex", "listCollections", "listIndexes"]
    if sharded:
        # `enableSharding` authorises both the enableSharding and the shardCollection commands.
        actions = ["enableSharding", *actions]
    privileges: list[dict[str, object]] = [
        {"resource": {"db": g.resource, "collection": ""}, "actions": actions} for g in grants
    ]
    if sharded:
        privileges.append({"resource": {"db": "config", "collection": "collections"}, "actions": ["find"]})
    return {"role": COLLECTIONS_ROLE, "db": AUTH_DATABASE, "privileges": privileges}


# Idempotent: each database is enabled for sharding, and each listed collection that is not
# sharded yet gets an index on the key (a collection an application made already needs it
# before it can be sharded; a new one is created with it) and is sharded on the key. The key is
# then read back from the config servers: one sharded on another key fails the Job, since
# changing a key is a resharding, not a setting. MongoDB 8.0 lists some unsharded collections
# there too (moved or unsharded ones, `unsplittable`), which count as not sharded. On a replica
# set (dev) each collection is created with an index on the key, so queries behave as they will
# when sharded. It retries its login until the cluster and its user exist, within the deadline.
COLLECTIONS_SCRIPT = r"""set -eu
exec mongosh --nodb --quiet --eval '
const fs = require("fs");
const env = process.env;
const dir = "SECRETS_DIR";
const read = (file) => encodeURIComponent(fs.readFileSync(dir + "/" + file, "utf8").trim());
const params = ["authSource=" + env.MONGO_AUTH_SOURCE, "serverSelectionTimeoutMS=10000"];
if (env.MONGO_REPLICA_SET) params.push("replicaSet=" + env.MONGO_REPLICA_SET);
if (env.MONGO_TLS === "true") params.push("tls=true");
if (env.MONGO_CA_FILE) params.push("tlsCAFile=" + env.MONGO_CA_FILE);
const uri = "mongodb://" + read("username") + ":" + read("password") + "@" + env.MONGO_HOST + ":" +
  env.MONGO_PORT + "/?" + params.join("&");
const until = Date.now() + Number(env.MONGO_WAIT_SECONDS) * 1000;
let conn = null;
while (conn === null) {
  try {
    const candidate = new Mongo(uri);
    candidate.getDB("admin").runCommand({ ping: 1 });
    conn = candidate;
  } catch (e) {
    if (Date.now() > until) throw e;
    print("waiting for MongoDB: " + e.message);
    sleep(10000);
  }
}
const ok = (what, reply) => {
  if (reply.ok !== 1) throw new Error(what + ": " + JSON.stringify(reply));
};
const key = JSON.parse(env.MONGO_SHARD_KEY);
const sharded = env.MONGO_SHARDED === "true";
const admin = conn.getDB("admin");
const shardKeyOf = (ns) => {
  const meta = conn.getDB("config").getCollection("collections").findOne({ _id: ns });
  return meta === null || meta.unsplittable === true ? null : JSON.stringify(meta.key);
};
for (const [name, collections] of Object.entries(JSON.parse(env.MONGO_DATABASES))) {
  const db = conn.getDB(name);
  if (sharded) ok("enableSharding " + name, admin.runCommand({ enableSharding: name }));
  for (const collection of collections) {
    const ns = name + "." + collection;
    if (sharded) {
      if (shardKeyOf(ns) === null) {
        db.getCollection(collection).createIndex(key);
        ok("shardCollection " + ns, admin.runCommand({ shardCollection: ns, key: key }));
      }
      const actual = shardKeyOf(ns);
      if (actual !== JSON.stringify(key)) throw new Error(ns + " is sharded on " + actual);
      print(ns + " sharded on " + actual);
    } else {
      if (!db.getCollectionNames().includes(collection)) ok("create " + ns, db.runCommand({ create: collection }));
      db.getCollection(collection).createIndex(key);
      print(ns + " indexed on " + JSON.stringify(key));
    }
  }
}
'
""".replace("SECRETS_DIR", SECRETS_DIR)


def endpoint_of(namespace: str, size: MongoSize) -> DataEndpoint:
    """Where clients connect: the routers' Service of a sharded cluster (the shards stay behind
    them), or the replica set's (dev)."""
    sharded = size.sharding is not None
    routers = router_labels(size)
    return DataEndpoint(
        service="mongo",
        backend="in-cluster",
        host=f"{CLUSTER_NAME}-{'mongos' if sharded else REPLSET}.{namespace}.{CLUSTER_DOMAIN}",
        port=PORT,
        tls=True,
        trust="data-ca",
        egress=DataEgress(
            ports=(PORT,),
            namespace=namespace,
            pod_labels=tuple(sorted(routers.items())) if routers else None,
        ),
        extra={
            # A replica set is named to its clients; a router hides the shards behind it.
            **({} if sharded else {"REPLICA_SET": REPLSET}),
            "SHARD_KEY": data_settings.mongo_shard_key_json(),
            "AUTH_SOURCE": AUTH_DATABASE,
        },
    )


class PerconaMongo:
    # The operator generates and keeps its own system users (in `percona-server-mongodb-users`,
    # its default where the CR names no Secret; the metrics exporter reads one of them there).
    admin_password = False

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        spec, size = args.spec, args.size
        deps = list(args.in_cluster_dependencies)
        after = pulumi.ResourceOptions(parent=parent, depends_on=deps)
        sharded = size.sharding is not None
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
        collections_password = generate_password(f"{name}-collections-password", parent)
        collections_secret = basic_auth_secret(
            f"{name}-collections-user",
            f"{CLUSTER_NAME}-user-collections",
            args.namespace,
            spec.environment,
            COLLECTIONS_USER,
            collections_password,
            after,
        )
        # Its own service account rather than the namespace's `default`, which other pods share:
        # the backup agent (a container of these pods) is granted the store through it.
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=data_meta(SERVICE_ACCOUNT, args.namespace, args.spec.environment),
            opts=after,
        )
        # Prod: members in the other region join every replica set (Percona cross-site replication).
        site = cross_site(name, args, after, parent) if args.dr is not None else None
        # Issued before the cluster: the operator would otherwise make its own certificates.
        ca = ca_of(args)
        dr_names: tuple[tuple[str, ...], str] = ((), "")
        if args.dr is not None:
            dr_names = ((args.dr.primary_region, args.dr.secondary_region), args.dr.dns_zone)
        certificates = [
            ca.certificate(
                f"{name}-{secret}",
                name=secret,
                namespace=args.namespace,
                dns_names=certificate_names(args.namespace, size, *dr_names),
                labels=data_labels(spec.environment),
                parent=parent,
                common_name=CLUSTER_NAME,
                organization="PSMDB",
                after=args.in_cluster_dependencies,
            )
            for secret in (SSL_SECRET, SSL_INTERNAL_SECRET)
        ]
        # The collections Job's copy of the data CA: the certificate only, as every consumer's,
        # rather than a volume of the servers' Secrets, which hold their private keys.
        job_ca = ca.certificate(
            f"{name}-collections-tls",
            name=CONSUMER_SECRET,
            namespace=args.namespace,
            # A client name: nothing connects to it; the Secret carries the CA.
            dns_names=[f"{COLLECTIONS_JOB}.{args.namespace}.data-client.bakhmach.internal"],
            labels=data_labels(spec.environment),
            parent=parent,
            after=tuple(deps),
        )
        shard = replset_spec(spec, size=size.members, cpu=size.cpu, memory=size.memory, storage_gib=size.storage_gib)
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="psmdb.percona.com/v1",
            kind="PerconaServerMongoDB",
            metadata=data_meta(
                CLUSTER_NAME,
                args.namespace,
                spec.environment,
                instance_of(CLUSTER_NAME, spec.environment),
                annotations={"bakhmach.io/shard-key": data_settings.mongo_shard_key_json()},
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
                    {"name": replset, **shard, **(site.replsets[replset] if site else {})}
                    for replset in shard_names(size)
                ],
                "sharding": sharding_spec(spec, size, site.replsets.get(CONFIG_REPLSET) if site else None),
                "roles": [_collections_role(args.grants, sharded)],
                "users": _users(args.grants),
                "tls": {"mode": "requireTLS", "allowInvalidCertificates": False},
                "secrets": SITE_SECRETS.spec() if site else {"ssl": SSL_SECRET, "sslInternal": SSL_INTERNAL_SECRET},
                "backup": _backup(spec, args.backup, args.dr),
            },
            opts=stateful(
                parent,
                spec,
                depends_on=[
                    *deps,
                    *user_secrets,
                    collections_secret,
                    service_account,
                    *certificates,
                    *args.backup_dependencies,
                    *(site.secrets if site else ()),
                ],
            ),
        )
        endpoint = endpoint_of(args.namespace, size)
        job = provisioning_job(
            f"{name}-collections",
            ProvisioningJob(
                object_name=COLLECTIONS_JOB,
                namespace=args.namespace,
                environment=spec.environment,
                image=versions.MONGO_IMAGE,
                script=COLLECTIONS_SCRIPT,
                env={
                    "MONGO_HOST": endpoint.host,
                    "MONGO_PORT": str(PORT),
                    "MONGO_AUTH_SOURCE": AUTH_DATABASE,
                    "MONGO_TLS": "true" if endpoint.tls else "false",
                    "MONGO_CA_FILE": CA_FILE,
                    **({"MONGO_REPLICA_SET": endpoint.extra["REPLICA_SET"]} if "REPLICA_SET" in endpoint.extra else {}),
                    "MONGO_SHARDED": "true" if sharded else "false",
                    "MONGO_SHARD_KEY": data_settings.mongo_shard_key_json(),
                    "MONGO_DATABASES": json.dumps(
                        {g.resource: list(g.collections) for g in args.grants}, separators=(",", ":")
                    ),
                    # Its login retries until two minutes before the deadline, so a cluster that
                    # never comes up fails with the last connection error rather than a timeout.
                    "MONGO_WAIT_SECONDS": str(COLLECTIONS_DEADLINE_SECONDS - 120),
                },
                secrets={"username": COLLECTIONS_USER, "password": collections_password},
                egress=endpoint.egress,
                ca=DATA_CA,
                after=(*deps, cluster, job_ca),
                priority=DATA,
                deadline_seconds=COLLECTIONS_DEADLINE_SECONDS,
            ),
            parent,
        )
        source = None
        if site is not None:
            source = PerconaSource(
                spec=spec,
                size=size,
                grants=args.grants,
                cluster_name=CLUSTER_NAME,
                shared=site.values,
                secret_names=SITE_SECRETS,
                members=site.members,
                primary_endpoints=site.endpoints,
                cluster=cluster,
            )
        # A consumer's Secret (and so its services) waits for its database and collections.
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(cluster, job)) for g in args.grants},
            replication=source,
        )


# The Secrets both sites share (the operator reads them by these names; the users Secret keeps the
# name the metrics exporter reads). The TLS Secrets are each cluster's own Certificates'.
SITE_SECRETS = MongoSecretNames(
    users=PSMDB_USERS_SECRET,
    key_file=f"{CLUSTER_NAME}-mongodb-keyfile",
    ssl=SSL_SECRET,
    ssl_internal=SSL_INTERNAL_SECRET,
)


@dataclass(frozen=True)
class CrossSite:
    values: MongoSiteSecrets
    secrets: list[pulumi.Resource]
    # What each replica set's entry gains (by replica set: each shard, and the config servers'):
    # its members under their cross-region names, and the other region's members of the same
    # replica set as non-voting, never-primary external nodes.
    replsets: dict[str, dict[str, object]]
    # Every replica set's members (pod names), by replica set.
    members: dict[str, tuple[str, ...]]
    endpoints: tuple[Endpoint, ...]


def replica_sets(size: MongoSize) -> dict[str, tuple[str, ...]]:
    """Each replica set holding data and its members' pod names (`<cluster>-<replset>-<i>`, the
    operator's StatefulSet pods): every shard, and in a sharded cluster the config servers."""
    members = {
        replset: tuple(f"{CLUSTER_NAME}-{replset}-{i}" for i in range(size.members)) for replset in shard_names(size)
    }
    if size.sharding is not None:
        members[CONFIG_REPLSET] = tuple(
            f"{CLUSTER_NAME}-{CONFIG_REPLSET}-{i}" for i in range(size.sharding.config_servers)
        )
    return members


def member_endpoints(members: dict[str, tuple[str, ...]], dr: DrSpec, region: str) -> dict[str, tuple[Endpoint, ...]]:
    """Each member's internal load balancer in `region`, by replica set."""
    return {
        replset: tuple(
            Endpoint(
                service_name=f"{pod}-dr",
                hostname=dr.endpoint(pod, region),
                selector={"statefulset.kubernetes.io/pod-name": pod},
                port=PORT,
            )
            for pod in pods
        )
        for replset, pods in members.items()
    }


def site_replsets(
    members: dict[str, tuple[str, ...]], dr: DrSpec, own_region: str, other_region: str
) -> dict[str, dict[str, object]]:
    """What each replica set's entry gains on the site in `own_region`."""
    own = member_endpoints(members, dr, own_region)
    other = member_endpoints(members, dr, other_region)
    return {
        replset: {
            # Members are known under the names the other region reaches them at.
            "replsetOverrides": {
                e.selector["statefulset.kubernetes.io/pod-name"]: {"host": f"{e.hostname}:{PORT}"} for e in own[replset]
            },
            "externalNodes": [{"host": e.hostname, "port": PORT, "votes": 0, "priority": 0} for e in other[replset]],
        }
        for replset in members
    }


def publish_members(
    name: str,
    endpoints: tuple[Endpoint, ...],
    namespace: str,
    environment: str,
    dr: DrSpec,
    opts: pulumi.ResourceOptions,
) -> None:
    for endpoint in endpoints:
        endpoint_service(
            f"{name}-{endpoint.service_name}",
            endpoint,
            namespace,
            environment,
            dr.cloud,
            (dr.secondary_cidr, dr.primary_cidr),
            opts,
        )


def cross_site(name: str, args: Args, after: pulumi.ResourceOptions, parent: pulumi.Resource) -> CrossSite:
    """The main site's side of Percona cross-site replication (components/dr builds the other)."""
    dr, spec = args.dr, args.spec
    assert dr is not None
    values = mongo_site_secrets(f"{name}-site", parent)
    secrets = mongo_site_secret_objects(f"{name}-site", values, SITE_SECRETS, args.namespace, spec.environment, after)
    members = replica_sets(args.size)
    endpoints = tuple(e for group in member_endpoints(members, dr, dr.primary_region).values() for e in group)
    publish_members(name, endpoints, args.namespace, spec.environment, dr, after)
    return CrossSite(
        values=values,
        secrets=list(secrets),
        replsets=site_replsets(members, dr, dr.primary_region, dr.secondary_region),
        members=members,
        endpoints=endpoints,
    )


BACKENDS: dict[Backend, DataBackend[MongoSize]] = {"in-cluster": PerconaMongo()}


class MongoCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:MongoCluster"
    BACKENDS = BACKENDS

    def extra_outputs(self) -> dict[str, object]:
        return {"shardKey": shard_key()}
