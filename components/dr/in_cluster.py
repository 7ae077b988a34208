"""The secondary cluster's copies of the in-cluster data services (prod), beside their operators in
a data namespace of the same shape as the primary's:

- PostgreSQL (CloudNativePG): a replica cluster (`replica.enabled`) that bootstraps from and then
  replays the primary's WAL archive in the object store, through the Barman Cloud plugin, with an
  identity of the secondary cluster allowed to read that archive (AWS: an EKS Pod Identity role
  with read access to the bucket's prefix; Azure: a workload identity with "Storage Blob Data
  Reader" on the container, reaching the account through a private endpoint in the secondary VNet).
  It lags by at most the archive interval (`archive_timeout`); promotion is turning
  `replica.enabled` off;
- MongoDB (Percona): the replica site of cross-site replication, for every replica set of the
  sharded cluster (each shard and the config servers) and with mongos routers of its own. An
  unmanaged PerconaServerMongoDB (`unmanaged: true`: its operator starts the members but leaves
  the replica sets to the main site's) with the main site's system users and key file, and
  certificates from this cluster's issuer of the shared data CA; its members are published at
  their cross-region names, and the main site lists them as non-voting, never-primary external
  nodes of the same replica set (components/data/mongo.py), so they follow each primary within
  seconds. Promotion is a forced reconfiguration of each replica set from this site (docs/DR.md);
- Kafka (Strimzi): a cluster of the same size and, beside it, MirrorMaker 2 mirroring every topic
  under its own name (IdentityReplicationPolicy) and checkpointing consumer-group offsets, from the
  primary's cross-region listener (TLS, SCRAM as `mirror-maker`), trusting the data CA both
  regions hold; the secondary's services get logins of their own on it;
- Redis (OT redis-operator): an empty cache of the same shape, which fills from the databases (a
  cache is rebuilt, not copied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cloud.identity import (
    AZURE_CLIENT_ID_ANNOTATION,
    AZURE_WORKLOAD_IDENTITY_LABEL,
    AzureRole,
    federated_identity,
    pod_identity_role,
    role_assignment,
)
from components.data import kafka as kafka_data
from components.data import mongo as mongo_data
from components.data import postgres as postgres_data
from components.data.azure_private import private_endpoint
from components.data.base import DataComponentArgs, basic_auth_secret, data_labels, data_meta, stateful
from components.data.connection import BuiltService, DataEgress, DataEndpoint
from components.data.credentials import generate_password
from components.data.cross_region import mongo_site_secret_objects
from components.data.kafka import KafkaCluster
from components.data.namespace import DataNamespace
from components.data.operators import DataOperators
from components.data.postgres import CLIENT_SETTINGS as POSTGRES_CLIENT_SETTINGS
from components.data.redis import RedisCluster
from components.data.replication import CnpgSource, PerconaSource, RedisCacheSource, StrimziSource
from components.data.tls import DataCa
from components.dr.aws import Copy
from components.dr.network import RegionSide
from components.labels import instance_of
from components.network import AwsNetwork, AzureNetwork
from components.priorities import DATA
from settings.data import DataService
from settings.dr import DrSpec

NAMESPACE = "data"
MIRROR_TARGET_ACLS = [
    # The mirror creates and writes the mirrored topics and its own, and writes group offsets.
    {"resource": {"type": "topic", "name": "*", "patternType": "literal"}, "operations": ["All"]},
    {"resource": {"type": "group", "name": "*", "patternType": "literal"}, "operations": ["All"]},
    {"resource": {"type": "cluster"}, "operations": ["Describe", "DescribeConfigs", "Create"]},
]
IDENTITY_POLICY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
MIRROR_TRUST_SECRET = f"{kafka_data.CLUSTER_NAME}-mirror-trust"


@dataclass(frozen=True)
class Site:
    """Where the secondary's copies go, and what they wait for."""

    side: RegionSide
    spec: DrSpec
    stack_name: str
    namespace: DataNamespace
    operators: DataOperators
    protect: bool
    # The secondary cluster's issuer of the data CA both regions hold (components/data/shared_ca.py).
    ca: DataCa

    def deps(self, service: str) -> tuple[pulumi.Resource, ...]:
        return (self.namespace.namespace, *self.operators.for_service(service), *self.side.scheduling)  # type: ignore[arg-type]

    def opts(self, parent: pulumi.Resource, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, depends_on=list(after))


def _copy_endpoint(built: BuiltService, role: str) -> BuiltService:
    endpoint = replace(built.endpoint, extra={**built.endpoint.extra, "REGION_ROLE": role}, region_copy=True)
    return BuiltService(endpoint, built.credentials)


def redis_cache(name: str, source: RedisCacheSource, site: Site, parent: pulumi.Resource) -> Copy:
    cache = RedisCluster(
        name,
        DataComponentArgs(
            stack_name=site.stack_name,
            spec=source.spec,
            size=source.size,
            grants=source.grants,
            admin_password=generate_password(f"{name}-password", parent),
            namespace=NAMESPACE,
            in_cluster_dependencies=site.deps("redis"),
            network=site.side.network,
            ca=site.ca,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    output = {
        "backend": "in-cluster (OT redis-operator): an empty cache of the same shape",
        "replica": {"id": f"{NAMESPACE}/redis", "region": site.spec.secondary_region},
        "promote": "none: a cache is rebuilt from the databases",
    }
    return Copy(_copy_endpoint(cache.built, "active"), output)


def postgres_replica(name: str, source: CnpgSource, primary: BuiltService, site: Site, parent: pulumi.Resource) -> Copy:
    location = source.object_store
    assert location is not None
    spec, net = source.spec, site.side.network
    store_name = f"{source.cluster_name}-primary-archive"
    credentials: dict[str, object]
    identity_spec: dict[str, object] = {}
    identity_deps: list[pulumi.Resource] = []
    if isinstance(net, AwsNetwork):
        assert net.cluster_name is not None
        bucket_arn = location.container.apply(lambda b: f"arn:aws:s3:::{b}")
        policy = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject"],
                        "Resource": pulumi.Output.concat(bucket_arn, f"/{location.prefix}/*"),
                    },
                ],
            }
        )
        identity_deps.append(
            pod_identity_role(
                f"{name}-archive-reader",
                cluster_name=net.cluster_name,
                namespace=NAMESPACE,
                service_account=source.cluster_name,
                policy=policy,
                tags=net.tags,
                opts=pulumi.ResourceOptions(parent=parent, provider=net.provider),
            )
        )
        credentials = {"s3Credentials": {"inheritFromIAMRole": True}}
    else:
        assert isinstance(net, AzureNetwork) and net.oidc_issuer_url is not None
        assert location.account_id is not None
        # The primary's account refuses public access: an endpoint of it in the secondary VNet.
        archive_endpoint = private_endpoint(
            f"{name}-archive", net, location.account_id, "blob", "privatelink.blob.core.windows.net", parent
        )
        identity, federations = federated_identity(
            f"{name}-archive-reader",
            identity_name=f"id-{site.stack_name}-postgres-dr-archive",
            resource_group_name=net.resource_group_name,
            location=net.location,
            issuer=net.oidc_issuer_url,
            service_accounts=[(NAMESPACE, source.cluster_name)],
            tags=net.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        grant = role_assignment(
            f"{name}-archive-reader-blob",
            role=AzureRole.STORAGE_BLOB_DATA_READER,
            principal_id=identity.principal_id,
            scope=pulumi.Output.concat(location.account_id, "/blobServices/default/containers/", location.container),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        identity_deps += [archive_endpoint, *federations, grant]
        credentials = {"azureCredentials": {"useDefaultAzureCredentials": True}}
        identity_spec = {
            "serviceAccountTemplate": {"metadata": {"annotations": {AZURE_CLIENT_ID_ANNOTATION: identity.client_id}}},
            "inheritedMetadata": {"labels": {AZURE_WORKLOAD_IDENTITY_LABEL: "true"}},
        }
    store = k8s.apiextensions.CustomResource(
        f"{name}-object-store",
        api_version="barmancloud.cnpg.io/v1",
        kind="ObjectStore",
        metadata=data_meta(store_name, NAMESPACE, spec.environment),
        spec={"configuration": {"destinationPath": location.destination(), **credentials}},
        opts=site.opts(parent, *site.deps("postgres"), *identity_deps),
    )
    size = source.size
    # The same server certificate as the primary region's, from this cluster's issuer of the
    # shared data CA: the secondary's clients verify it against the same `ca.crt`.
    server_tls = site.ca.certificate(
        f"{name}-server-tls",
        name=postgres_data.SERVER_TLS_SECRET,
        namespace=NAMESPACE,
        dns_names=postgres_data.server_names(NAMESPACE),
        labels=data_labels(spec.environment),
        parent=parent,
        after=site.deps("postgres"),
    )
    zone_key = "topology.kubernetes.io/zone" if spec.multi_zone else "kubernetes.io/hostname"
    cluster = k8s.apiextensions.CustomResource(
        f"{name}-cluster",
        api_version="postgresql.cnpg.io/v1",
        kind="Cluster",
        metadata=data_meta(
            source.cluster_name, NAMESPACE, spec.environment, instance_of(source.cluster_name, spec.environment)
        ),
        spec={
            "instances": size.instances,
            "priorityClassName": DATA.name,
            "imageName": versions.POSTGRES_IMAGE,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": False,
            "certificates": {
                "serverTLSSecret": postgres_data.SERVER_TLS_SECRET,
                "serverCASecret": postgres_data.SERVER_TLS_SECRET,
            },
            # A replica cluster: bootstrapped from the primary's base backup and WAL, then replaying
            # the WAL as it is archived; its designated primary is read-only until promoted.
            "replica": {"enabled": True, "source": "primary"},
            "bootstrap": {"recovery": {"source": "primary"}},
            "externalClusters": [
                {
                    "name": "primary",
                    "plugin": {
                        "name": postgres_data.BARMAN_PLUGIN,
                        "parameters": {"barmanObjectName": store_name, "serverName": source.cluster_name},
                    },
                }
            ],
            "postgresql": {"parameters": dict(source.parameters), "pg_hba": list(postgres_data.PG_HBA)},
            "storage": {"size": f"{size.storage_gib}Gi"},
            "resources": {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}},
            "affinity": {
                "enablePodAntiAffinity": True,
                "topologyKey": zone_key,
                "podAntiAffinityType": "required" if spec.multi_zone else "preferred",
            },
            **identity_spec,
        },
        opts=stateful(parent, spec, depends_on=[*site.deps("postgres"), store, server_tls]),
    )
    endpoint = DataEndpoint(
        service="postgres",
        backend="in-cluster",
        host=f"{source.cluster_name}-rw.{NAMESPACE}.svc.cluster.local",
        port=postgres_data.PORT,
        tls=True,
        trust="data-ca",
        egress=DataEgress(ports=(postgres_data.PORT,), namespace=NAMESPACE),
        extra={**POSTGRES_CLIENT_SETTINGS, "REGION_ROLE": "standby"},
        region_copy=True,
    )
    # The roles and databases are the primary's, replayed: the same logins.
    credentials_ = {c: replace(cred, ready=(*cred.ready, cluster)) for c, cred in primary.credentials.items()}
    output = {
        "backend": "in-cluster (CloudNativePG replica cluster from the WAL archive)",
        "replica": {"id": f"{NAMESPACE}/{source.cluster_name}", "region": site.spec.secondary_region},
        "archive": location.destination(),
        "promote": f"kubectl -n {NAMESPACE} patch cluster {source.cluster_name} --type merge -p "
        '\'{"spec":{"replica":{"enabled":false}}}\'',
    }
    return Copy(BuiltService(endpoint, credentials_), output, (cluster,))


def mongo_replica_site(
    name: str, source: PerconaSource, primary: BuiltService, site: Site, parent: pulumi.Resource
) -> Copy:
    """The replica site of every replica set of the cluster (each shard, the config servers), with
    routers of its own, so the secondary's services connect here as the primary's do there."""
    spec, dr, size = source.spec, site.spec, source.size
    assert source.shared is not None and source.secret_names is not None
    after = site.opts(parent, *site.deps("mongo"))
    secrets = mongo_site_secret_objects(
        f"{name}-site", source.shared, source.secret_names, NAMESPACE, spec.environment, after
    )
    by_replset = mongo_data.member_endpoints(source.members, dr, dr.secondary_region)
    endpoints = tuple(e for group in by_replset.values() for e in group)
    mongo_data.publish_members(name, endpoints, NAMESPACE, spec.environment, dr, after)
    service_account = k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata=data_meta(mongo_data.SERVICE_ACCOUNT, NAMESPACE, spec.environment),
        opts=after,
    )
    # This cluster's own certificates, from its issuer of the shared data CA, with every name of
    # either site: the same subject (O=PSMDB), so x509 membership holds across the regions.
    certificates = [
        site.ca.certificate(
            f"{name}-{secret}",
            name=secret,
            namespace=NAMESPACE,
            dns_names=mongo_data.certificate_names(
                NAMESPACE, size, (dr.primary_region, dr.secondary_region), dr.dns_zone
            ),
            labels=data_labels(spec.environment),
            parent=parent,
            common_name=mongo_data.CLUSTER_NAME,
            organization="PSMDB",
            after=site.deps("mongo"),
        )
        for secret in (source.secret_names.ssl, source.secret_names.ssl_internal)
    ]
    # Only the names these members are listed under: the main site's operator runs every replica
    # set (its `externalNodes`); an unmanaged site leaves the configuration alone.
    overrides = {
        replset: {"replsetOverrides": extra["replsetOverrides"]}
        for replset, extra in mongo_data.site_replsets(
            source.members, dr, dr.secondary_region, dr.primary_region
        ).items()
    }
    shard = mongo_data.replset_spec(
        spec, size=size.members, cpu=size.cpu, memory=size.memory, storage_gib=size.storage_gib
    )
    cluster = k8s.apiextensions.CustomResource(
        f"{name}-cluster",
        api_version="psmdb.percona.com/v1",
        kind="PerconaServerMongoDB",
        metadata=data_meta(
            source.cluster_name, NAMESPACE, spec.environment, instance_of(source.cluster_name, spec.environment)
        ),
        spec={
            "crVersion": versions.PSMDB_CR_VERSION,
            "image": versions.MONGO_IMAGE,
            # The replica site: its operator runs the members, the main site's runs the replica
            # sets (Percona, "Configuring cross-site replication on Replica instances": unmanaged,
            # OnDelete updates, no backups).
            "unmanaged": True,
            "updateStrategy": "OnDelete",
            "upgradeOptions": {"apply": "disabled"},
            "replsets": [{"name": replset, **shard, **overrides[replset]} for replset in mongo_data.shard_names(size)],
            # The config servers' members, and routers of this site reading the one cluster's
            # metadata. The balancer is the main site's setting, stated alike here so neither
            # operator turns it off.
            "sharding": mongo_data.sharding_spec(spec, size, overrides.get(mongo_data.CONFIG_REPLSET)),
            "tls": {"mode": "requireTLS", "allowInvalidCertificates": False},
            "secrets": source.secret_names.spec(),
            # Backups run on the main site; after promotion this site takes them (docs/DR.md).
            "backup": {"enabled": False, "image": versions.MONGO_BACKUP_IMAGE},
        },
        opts=stateful(parent, spec, depends_on=[*site.deps("mongo"), *secrets, service_account, *certificates]),
    )
    # Its routers, as the primary's: the same logins (users replicate with the admin database).
    endpoint = replace(
        mongo_data.endpoint_of(NAMESPACE, size),
        extra={**primary.endpoint.extra, "READ_PREFERENCE": "nearest", "REGION_ROLE": "standby"},
        region_copy=True,
    )
    credentials = {c: replace(cred, ready=(*cred.ready, cluster)) for c, cred in primary.credentials.items()}
    output = {
        "backend": "in-cluster (Percona cross-site replica sites of every shard and the config servers)",
        "replica": {
            "id": f"{NAMESPACE}/{source.cluster_name}",
            "replicaSets": {rs: [e.hostname for e in group] for rs, group in by_replset.items()},
            "region": dr.secondary_region,
        },
        "primary": {
            "replicaSets": {
                rs: [e.hostname for e in group]
                for rs, group in mongo_data.member_endpoints(source.members, dr, dr.primary_region).items()
            },
            "region": dr.primary_region,
        },
        "promote": "forced reconfiguration of every replica set (each shard, then the config servers) from this site "
        "(docs/DR.md)",
    }
    return Copy(BuiltService(endpoint, credentials), output, (cluster,))


def kafka_mirror(name: str, source: StrimziSource, site: Site, parent: pulumi.Resource) -> Copy:
    spec, dr, size = source.spec, site.spec, source.size
    assert source.mirror_password is not None
    target = KafkaCluster(
        name,
        DataComponentArgs(
            stack_name=site.stack_name,
            spec=source.spec,
            size=source.size,
            grants=source.grants,
            admin_password=None,
            namespace=NAMESPACE,
            in_cluster_dependencies=site.deps("kafka"),
            network=site.side.network,
            ca=site.ca,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    after = site.opts(parent, *site.deps("kafka"))
    source_login = basic_auth_secret(
        f"{name}-mirror-source-login",
        f"{kafka_data.CLUSTER_NAME}-mirror-source",
        NAMESPACE,
        spec.environment,
        source.mirror_username,
        source.mirror_password,
        after,
    )
    # Both clusters' listeners (the source's cross-region one, the target's own) carry certificates
    # of the data CA both regions hold: the mirror trusts that CA (a client certificate's Secret
    # carries it as `ca.crt`; the name is a client's, nothing connects to it).
    ca = site.ca.certificate(
        f"{name}-mirror-trust",
        name=MIRROR_TRUST_SECRET,
        namespace=NAMESPACE,
        dns_names=[f"mirror.{NAMESPACE}.data-client.bakhmach.internal"],
        labels=data_labels(spec.environment),
        parent=parent,
        after=site.deps("kafka"),
    )
    target_password = generate_password(f"{name}-mirror-target-password", parent)
    target_login = basic_auth_secret(
        f"{name}-mirror-target-login",
        f"{kafka_data.CLUSTER_NAME}-user-{source.mirror_username}",
        NAMESPACE,
        spec.environment,
        source.mirror_username,
        target_password,
        after,
    )
    labels = {"strimzi.io/cluster": kafka_data.CLUSTER_NAME, **instance_of(kafka_data.CLUSTER_NAME, spec.environment)}
    target_user = k8s.apiextensions.CustomResource(
        f"{name}-mirror-target-user",
        api_version="kafka.strimzi.io/v1",
        kind="KafkaUser",
        metadata=data_meta(source.mirror_username, NAMESPACE, spec.environment, labels),
        spec={
            "authentication": {
                "type": "scram-sha-512",
                "password": {
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": f"{kafka_data.CLUSTER_NAME}-user-{source.mirror_username}",
                            "key": "password",
                        }
                    }
                },
            },
            "authorization": {"type": "simple", "acls": MIRROR_TARGET_ACLS},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[target, target_login]),
    )
    factor = size.replication_factor
    mirror = k8s.apiextensions.CustomResource(
        f"{name}-mirror-maker",
        api_version="kafka.strimzi.io/v1",
        kind="KafkaMirrorMaker2",
        metadata=data_meta("mirror", NAMESPACE, spec.environment, instance_of("mirror", spec.environment)),
        spec={
            "version": spec.version,
            "replicas": 2 if spec.multi_zone else 1,
            "target": {
                "alias": "secondary",
                "bootstrapServers": (
                    f"{kafka_data.CLUSTER_NAME}-kafka-bootstrap.{NAMESPACE}.svc:{kafka_data.IN_CLUSTER_PORT}"
                ),
                "tls": {"trustedCertificates": [{"secretName": MIRROR_TRUST_SECRET, "certificate": "ca.crt"}]},
                "groupId": "mirror-maker-2",
                "configStorageTopic": "mirror-maker-2.config",
                "offsetStorageTopic": "mirror-maker-2.offsets",
                "statusStorageTopic": "mirror-maker-2.status",
                "authentication": {
                    "type": "scram-sha-512",
                    "username": source.mirror_username,
                    "passwordSecret": {
                        "secretName": f"{kafka_data.CLUSTER_NAME}-user-{source.mirror_username}",
                        "password": "password",
                    },
                },
                "config": {
                    "config.storage.replication.factor": factor,
                    "offset.storage.replication.factor": factor,
                    "status.storage.replication.factor": factor,
                },
            },
            "mirrors": [
                {
                    "source": {
                        "alias": "primary",
                        "bootstrapServers": source.bootstrap,
                        "tls": {"trustedCertificates": [{"secretName": MIRROR_TRUST_SECRET, "certificate": "ca.crt"}]},
                        "authentication": {
                            "type": "scram-sha-512",
                            "username": source.mirror_username,
                            "passwordSecret": {
                                "secretName": f"{kafka_data.CLUSTER_NAME}-mirror-source",
                                "password": "password",
                            },
                        },
                    },
                    # Topics keep their names, so consumers fail over to the same ones.
                    "sourceConnector": {
                        "tasksMax": size.brokers,
                        "config": {
                            "replication.factor": factor,
                            "offset-syncs.topic.replication.factor": factor,
                            "sync.topic.acls.enabled": "false",
                            "replication.policy.class": IDENTITY_POLICY,
                        },
                    },
                    "checkpointConnector": {
                        "tasksMax": 1,
                        "config": {
                            "checkpoints.topic.replication.factor": factor,
                            "sync.group.offsets.enabled": "true",
                            "emit.checkpoints.interval.seconds": 30,
                            "replication.policy.class": IDENTITY_POLICY,
                        },
                    },
                    "topicsPattern": ".*",
                    "topicsExcludePattern": "mirror-maker-2\\..*",
                    "groupsPattern": ".*",
                }
            ],
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            "template": {"pod": {"priorityClassName": DATA.name}},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[target, target_user, source_login, ca]),
    )
    output = {
        "backend": "in-cluster (Strimzi + MirrorMaker 2)",
        "primary": {"bootstrap": source.bootstrap, "region": dr.primary_region},
        "replica": {"id": f"{NAMESPACE}/{kafka_data.CLUSTER_NAME}", "region": dr.secondary_region},
        "promote": "switch producers and consumers to this cluster (offsets checkpointed), then stop the mirror",
    }
    return Copy(_copy_endpoint(target.built, "standby"), output, (target, mirror))


def in_cluster_copies(
    name: str,
    sources: Mapping[DataService, Any],
    primaries: Mapping[DataService, BuiltService],
    site: Site,
    parent: pulumi.Resource,
) -> dict[DataService, Copy]:
    copies: dict[DataService, Copy] = {}
    for service, source in sources.items():
        prefix = f"{name}-{service}"
        if isinstance(source, RedisCacheSource):
            copies[service] = redis_cache(prefix, source, site, parent)
        elif isinstance(source, CnpgSource):
            copies[service] = postgres_replica(prefix, source, primaries[service], site, parent)
        elif isinstance(source, PerconaSource):
            copies[service] = mongo_replica_site(prefix, source, primaries[service], site, parent)
        elif isinstance(source, StrimziSource):
            copies[service] = kafka_mirror(prefix, source, site, parent)
    return copies
