"""`KafkaCluster`: the event backbone (the seed's "RabbitMQ 3.12 / Apache Kafka": Kafka).

- in-cluster: Strimzi `Kafka` + `KafkaNodePool`s in KRaft mode (current `kafka.strimzi.io/v1`
  API): three controllers and three brokers in staging/prod, spread over zones; one dual-role
  node in dev. Clients authenticate with SCRAM-SHA-512 as a `KafkaUser` whose password is the
  generated one, over TLS only (the one client listener has `tls: true`, TLS 1.3, with a
  certificate of the stack's data CA for the bootstrap and every broker's name; the brokers'
  own replication listener is Strimzi's mTLS);
- aws: MSK, three brokers over three zones, TLS between clients and brokers and between brokers,
  encryption at rest with a dedicated KMS key, SASL/SCRAM with the generated password (kept in
  Secrets Manager, where MSK reads it), in private subnets reachable from the nodes only;
- azure: Strimzi in the cluster. Event Hubs' Kafka endpoint is not a faithful substitute: it is
  not Kafka (no compacted topics on Standard, no transactions/exactly-once below Premium, its own
  partition and retention limits, no Kafka admin API for topic configuration).

Every consumer is a SCRAM user of its own whose ACLs (`CONSUMER_ACLS`) cover only the topics,
consumer groups and transactional ids under its prefix (`<context>.`):
- in-cluster: a Strimzi `KafkaUser` per consumer (Strimzi's authorizer denies what no ACL allows);
- aws: a SCRAM secret per consumer (Secrets Manager, associated with the cluster) and the same
  ACLs as Kafka ACLs. MSK has no API for Kafka ACLs: a provisioning Job applies them with
  `kafka-acls.sh` as an `admin` SCRAM user (components/data/provisioning.py says why a Job).
  MSK allows everything on a resource with no ACL at all (`allow.everyone.if.no.acl.found`
  is true there and cannot be otherwise before the first ACL exists), so the Job first gives the
  admin wildcard ACLs on the cluster, every topic, group and transactional id: from then on every
  resource has an ACL, and a principal is allowed only what an ACL names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    admin_password_of,
    basic_auth_secret,
    ca_of,
    consumer_passwords,
    data_labels,
    data_meta,
    nodes_only_security_group,
    require_network,
    stateful,
)
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.credentials import generate_password
from components.data.cross_region import Endpoint, endpoint_service
from components.data.provisioning import SECRETS_DIR, ProvisioningJob, provisioning_job
from components.data.replication import MskSource, StrimziSource
from components.labels import instance_of
from components.network import AwsNetwork
from components.observability import exporters
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, DataGrant, KafkaSize

IN_CLUSTER_PORT = 9092
MSK_SCRAM_PORT = 9096
CLUSTER_NAME = "kafka"
LISTENER_TLS_SECRET = f"{CLUSTER_NAME}-listener-tls"
# Kafka 4.3 on Java 17+ offers TLS 1.3: the brokers offer nothing older (Strimzi passes these
# two `ssl.*` options through; the cipher suites are Java's TLS 1.3 defaults).
TLS_CONFIG = {"ssl.enabled.protocols": "TLSv1.3", "ssl.protocol": "TLSv1.3"}


def listener_names(namespace: str) -> list[str]:
    """The bootstrap Service's names, and every broker's (Strimzi advertises
    `<pod>.<cluster>-kafka-brokers.<namespace>.svc`)."""
    bootstrap = f"{CLUSTER_NAME}-kafka-bootstrap"
    brokers = f"{CLUSTER_NAME}-kafka-brokers"
    suffixes = ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.cluster.local")
    return [
        *(f"{bootstrap}{s}" for s in suffixes),
        *(f"*.{brokers}{s}" for s in suffixes[2:]),
    ]


# MSK: the SCRAM user the ACL Job runs as (no consumer is given it).
ADMIN_USERNAME = "admin"
SASL = {"SASL_MECHANISM": "SCRAM-SHA-512"}
# What a consumer may do, on resources whose names start with its prefix: produce, consume and
# create its own topics, commit offsets in its own groups, run its own transactions.
CONSUMER_ACLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("topic", ("Read", "Write", "Describe", "DescribeConfigs", "Create")),
    ("group", ("Read", "Describe")),
    ("transactionalId", ("Write", "Describe")),
)

Args = DataComponentArgs[KafkaSize]


def _broker_config(size: KafkaSize) -> dict[str, object]:
    return {
        "default.replication.factor": size.replication_factor,
        "min.insync.replicas": size.min_insync_replicas,
        "offsets.topic.replication.factor": size.replication_factor,
        "transaction.state.log.replication.factor": size.replication_factor,
        "transaction.state.log.min.isr": size.min_insync_replicas,
        # Topics are declared (KafkaTopic / migrations), never created by a typo in a client.
        "auto.create.topics.enable": False,
    }


def strimzi_acls(grant: DataGrant) -> list[dict[str, object]]:
    return [
        {"resource": {"type": kind, "name": grant.resource, "patternType": "prefix"}, "operations": list(operations)}
        for kind, operations in CONSUMER_ACLS
    ]


# kafka-acls.sh's option for each resource type of CONSUMER_ACLS.
_ACL_OPTION = {"topic": "--topic", "group": "--group", "transactionalId": "--transactional-id"}


def acl_commands(grant: DataGrant) -> list[str]:
    """The same ACLs as `strimzi_acls`, as kafka-acls.sh arguments (the MSK Job's)."""
    return [
        f"acl --allow-principal 'User:{grant.username}' --resource-pattern-type prefixed "
        f"{_ACL_OPTION[kind]} '{grant.resource}' " + " ".join(f"--operation {op}" for op in operations)
        for kind, operations in CONSUMER_ACLS
    ]


ACLS_SCRIPT_HEAD = r"""set -eu
dir=SECRETS_DIR
umask 077
admin=$(cat "$dir/admin-username")
module=org.apache.kafka.common.security.scram.ScramLoginModule
{
  echo "security.protocol=SASL_SSL"
  echo "sasl.mechanism=SCRAM-SHA-512"
  echo "sasl.jaas.config=$module required username=\"$admin\" password=\"$(cat "$dir/admin-password")\";"
} >/tmp/admin.properties
export LOG_DIR=/tmp KAFKA_HEAP_OPTS=-Xmx256m
acl() {
  /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config /tmp/admin.properties --add "$@"
}
# First the admin's wildcard ACLs: once every resource has an ACL, MSK's
# allow.everyone.if.no.acl.found no longer opens anything.
acl --allow-principal "User:$admin" --operation All --cluster
acl --allow-principal "User:$admin" --operation All --topic '*'
acl --allow-principal "User:$admin" --operation All --group '*'
acl --allow-principal "User:$admin" --operation All --transactional-id '*'
""".replace("SECRETS_DIR", SECRETS_DIR)


class StrimziKafka:
    admin_password = False  # Strimzi's own components authenticate with certificates

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        spec, size = args.spec, args.size
        deps = list(args.in_cluster_dependencies)

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return data_meta(
                object_name,
                args.namespace,
                spec.environment,
                {"strimzi.io/cluster": CLUSTER_NAME, **instance_of(CLUSTER_NAME, spec.environment)},
            )

        data_pods = {"pod": {"priorityClassName": DATA.name}}

        resources = {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}}
        storage = {"type": "persistent-claim", "size": f"{size.storage_gib}Gi", "deleteClaim": False}
        pools: list[pulumi.Resource] = []
        roles = [("brokers", size.brokers, ["broker"])]
        if size.controllers:
            roles.append(("controllers", size.controllers, ["controller"]))
        else:
            roles = [("dual-role", size.brokers, ["controller", "broker"])]
        # Prod: each pool's node ids are fixed (brokers first), so the brokers' pod names, which the
        # other region reaches them by, are known before Strimzi assigns them.
        first_id = 0
        for pool, replicas, pool_roles in roles:
            pool_meta = meta(pool)
            if args.dr is not None:
                pool_meta = data_meta(
                    pool,
                    args.namespace,
                    spec.environment,
                    {"strimzi.io/cluster": CLUSTER_NAME, **instance_of(CLUSTER_NAME, spec.environment)},
                    {"strimzi.io/next-node-ids": f"[{first_id}-{first_id + replicas - 1}]"},
                )
            first_id += replicas
            pools.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-pool-{pool}",
                    api_version="kafka.strimzi.io/v1",
                    kind="KafkaNodePool",
                    metadata=pool_meta,
                    spec={
                        "replicas": replicas,
                        "roles": pool_roles,
                        "storage": {"type": "jbod", "volumes": [{"id": 0, **storage, "kraftMetadata": "shared"}]},
                        "resources": resources,
                        "template": data_pods,
                    },
                    opts=stateful(parent, spec, depends_on=deps),
                )
            )
        rack = {"rack": {"topologyKey": "topology.kubernetes.io/zone"}} if spec.multi_zone else {}
        certificate = ca_of(args).certificate(
            f"{name}-listener-tls",
            name=LISTENER_TLS_SECRET,
            namespace=args.namespace,
            dns_names=listener_names(args.namespace),
            labels=data_labels(spec.environment),
            parent=parent,
            after=tuple(deps),
        )
        listeners: list[dict[str, object]] = [
            {
                "name": "scram",
                "port": IN_CLUSTER_PORT,
                "type": "internal",
                "tls": True,
                "authentication": {"type": "scram-sha-512"},
                "configuration": {
                    "brokerCertChainAndKey": {
                        "secretName": LISTENER_TLS_SECRET,
                        "certificate": "tls.crt",
                        "key": "tls.key",
                    }
                },
            }
        ]
        mirror = mirror_listener(name, args, size, parent) if args.dr is not None else None
        if mirror is not None:
            listeners.append(mirror.listener)
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="kafka.strimzi.io/v1",
            kind="Kafka",
            metadata=data_meta(
                CLUSTER_NAME, args.namespace, spec.environment, instance_of(CLUSTER_NAME, spec.environment)
            ),
            spec={
                "kafka": {
                    "version": spec.version,
                    "listeners": listeners,
                    "authorization": {"type": "simple"},
                    "config": {**_broker_config(size), **TLS_CONFIG},
                    **rack,
                    # Metrics for Prometheus, and consumer lag (components/observability/exporters.py).
                    "metricsConfig": exporters.kafka_metrics_config(),
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}, "template": data_pods},
                "kafkaExporter": {**exporters.kafka_exporter(), "template": data_pods},
            },
            opts=stateful(
                parent, spec, depends_on=[*deps, *pools, certificate, *([mirror.certificate] if mirror else [])]
            ),
        )
        passwords = consumer_passwords(name, args.grants, parent)
        users = {}
        for g in args.grants:
            secret = basic_auth_secret(
                f"{name}-{g.consumer}-user",
                f"{CLUSTER_NAME}-user-{g.consumer}",
                args.namespace,
                spec.environment,
                g.username,
                passwords[g.consumer],
                pulumi.ResourceOptions(parent=parent, depends_on=deps),
            )
            users[g.consumer] = k8s.apiextensions.CustomResource(
                f"{name}-{g.consumer}-kafka-user",
                api_version="kafka.strimzi.io/v1",
                kind="KafkaUser",
                # The resource's name is the SCRAM user name.
                metadata=meta(g.username),
                spec={
                    "authentication": {
                        "type": "scram-sha-512",
                        "password": {
                            "valueFrom": {
                                "secretKeyRef": {"name": f"{CLUSTER_NAME}-user-{g.consumer}", "key": "password"}
                            }
                        },
                    },
                    "authorization": {"type": "simple", "acls": strimzi_acls(g)},
                },
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster, secret]),
            )
        endpoint = DataEndpoint(
            service="kafka",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-kafka-bootstrap.{args.namespace}.svc.cluster.local",
            port=IN_CLUSTER_PORT,
            tls=True,
            trust="data-ca",
            egress=DataEgress(ports=(IN_CLUSTER_PORT,), namespace=args.namespace),
            extra=SASL,
        )
        source = None
        if mirror is not None:
            # MirrorMaker 2 in the other region reads every topic and group as this user.
            mirror_password = generate_password(f"{name}-mirror-maker-password", parent)
            mirror_secret = basic_auth_secret(
                f"{name}-mirror-maker-user",
                f"{CLUSTER_NAME}-user-{MIRROR_MAKER}",
                args.namespace,
                spec.environment,
                MIRROR_MAKER,
                mirror_password,
                pulumi.ResourceOptions(parent=parent, depends_on=deps),
            )
            mirror_user = k8s.apiextensions.CustomResource(
                f"{name}-mirror-maker-kafka-user",
                api_version="kafka.strimzi.io/v1",
                kind="KafkaUser",
                metadata=meta(MIRROR_MAKER),
                spec={
                    "authentication": {
                        "type": "scram-sha-512",
                        "password": {
                            "valueFrom": {
                                "secretKeyRef": {"name": f"{CLUSTER_NAME}-user-{MIRROR_MAKER}", "key": "password"}
                            }
                        },
                    },
                    "authorization": {"type": "simple", "acls": MIRROR_SOURCE_ACLS},
                },
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster, mirror_secret]),
            )
            source = StrimziSource(
                spec=spec,
                size=size,
                grants=args.grants,
                bootstrap=mirror.bootstrap,
                mirror_username=MIRROR_MAKER,
                mirror_password=mirror_password,
                cluster=mirror_user,
            )
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(users[g.consumer],)) for g in args.grants},
            replication=source,
        )


MIRROR_MAKER = "mirror-maker"
MIRROR_PORT = 9094
# What MirrorMaker 2 reads on the source: every topic and its configuration, every group's offsets.
MIRROR_SOURCE_ACLS = [
    {
        "resource": {"type": "topic", "name": "*", "patternType": "literal"},
        "operations": ["Read", "Describe", "DescribeConfigs"],
    },
    {"resource": {"type": "group", "name": "*", "patternType": "literal"}, "operations": ["Read", "Describe"]},
    {"resource": {"type": "cluster"}, "operations": ["Describe", "DescribeConfigs"]},
]


@dataclass(frozen=True)
class MirrorListener:
    listener: dict[str, object]
    # The listener's certificate, from the data CA both regions share (components/data/tls.py).
    certificate: pulumi.Resource
    bootstrap: str


def broker_pods(size: KafkaSize) -> list[str]:
    """The brokers' pod names (`<cluster>-<pool>-<node id>`, ids fixed by the pools' annotation)."""
    pool = "brokers" if size.controllers else "dual-role"
    return [f"{CLUSTER_NAME}-{pool}-{i}" for i in range(size.brokers)]


def mirror_listener(name: str, args: Args, size: KafkaSize, parent: pulumi.Resource) -> MirrorListener:
    """A TLS + SCRAM listener that each broker advertises under its cross-region name, each broker
    (and a bootstrap) behind an internal load balancer published there (cross_region.py)."""
    dr, spec = args.dr, args.spec
    assert dr is not None
    after = pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies))
    region = dr.primary_region
    # From the data CA, which the other region's cluster shares: MirrorMaker 2 there trusts it.
    certificate = ca_of(args).certificate(
        f"{name}-mirror-tls",
        name=f"{CLUSTER_NAME}-dr-listener",
        namespace=args.namespace,
        dns_names=[f"*.{region}.{dr.dns_zone}"],
        labels=data_labels(spec.environment),
        parent=parent,
        after=tuple(args.in_cluster_dependencies),
    )
    pods = broker_pods(size)
    endpoints = [
        Endpoint(f"{pod}-dr", dr.endpoint(pod, region), {"strimzi.io/pod-name": pod}, MIRROR_PORT) for pod in pods
    ]
    bootstrap = Endpoint(
        f"{CLUSTER_NAME}-dr-bootstrap",
        dr.endpoint(f"{CLUSTER_NAME}-bootstrap", region),
        {"strimzi.io/cluster": CLUSTER_NAME, "strimzi.io/broker-role": "true"},
        MIRROR_PORT,
    )
    for endpoint in (*endpoints, bootstrap):
        endpoint_service(
            f"{name}-{endpoint.service_name}",
            endpoint,
            args.namespace,
            spec.environment,
            dr.cloud,
            (dr.secondary_cidr, dr.primary_cidr),
            after,
        )
    listener = {
        "name": "mirror",
        "port": MIRROR_PORT,
        "type": "cluster-ip",
        "tls": True,
        "authentication": {"type": "scram-sha-512"},
        "configuration": {
            "advertisedHostTemplate": f"{{nodePodName}}.{region}.{dr.dns_zone}",
            "brokerCertChainAndKey": {
                "secretName": f"{CLUSTER_NAME}-dr-listener",
                "certificate": "tls.crt",
                "key": "tls.key",
            },
        },
    }
    return MirrorListener(listener, certificate, f"{bootstrap.hostname}:{MIRROR_PORT}")


class MskKafka:
    admin_password = True  # the ACL Job's SCRAM user

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        net = require_network(args, AwsNetwork)
        spec, size = args.spec, args.size
        child = pulumi.ResourceOptions(parent=parent)
        group = nodes_only_security_group(
            name, net, "Kafka (SASL/SCRAM over TLS) from the cluster's nodes only", MSK_SCRAM_PORT, parent
        )
        # MSK encrypts at rest with this key, and SCRAM secrets must use a customer-managed key.
        key = aws.kms.Key(
            f"{name}-key",
            description="MSK data at rest and SCRAM credentials",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        configuration = aws.msk.Configuration(
            f"{name}-config",
            name=f"{args.stack_name}-kafka",
            kafka_versions=[data_settings.MSK_KAFKA_VERSION],
            server_properties=server_properties(size),
            opts=child,
        )
        # Prod: MSK Replicator copies the cluster to the secondary region. It reads with IAM
        # access control over multi-VPC private connectivity (MSK developer guide, "Prepare the
        # source cluster"); the services keep SASL/SCRAM.
        replicated = spec.geo_redundant
        cluster = aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=f"{args.stack_name}-kafka",
            kafka_version=data_settings.MSK_KAFKA_VERSION,
            number_of_broker_nodes=size.brokers,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=size.aws_broker_type,
                client_subnets=list(net.private_subnet_ids)[: size.brokers],
                security_groups=[group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=size.storage_gib
                    )
                ),
                connectivity_info=replicator_connectivity() if replicated else None,
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(scram=True, iam=True if replicated else None),
                unauthenticated=False,
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn, revision=configuration.latest_revision
            ),
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        passwords = consumer_passwords(name, args.grants, parent)
        logins = {ADMIN_USERNAME: admin_password_of(args), **{g.username: passwords[g.consumer] for g in args.grants}}
        versions_ = [
            scram_secret(f"{name}-scram-{username}", args.stack_name, username, password, key, net.tags, parent)
            for username, password in logins.items()
        ]
        # One association holds every SCRAM secret of the cluster (a secret it does not list is
        # disassociated): a consumer that leaves loses its login.
        association = aws.msk.ScramSecretAssociation(
            f"{name}-scram-association",
            cluster_arn=cluster.arn,
            secret_arn_lists=[v.secret_id for v in versions_],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(versions_)),
        )
        endpoint = DataEndpoint(
            service="kafka",
            backend="aws",
            # The SASL/SCRAM bootstrap list: "host:9096,host:9096,host:9096".
            host=cluster.bootstrap_brokers_sasl_scram,
            port=MSK_SCRAM_PORT,
            tls=True,
            egress=DataEgress(ports=(MSK_SCRAM_PORT,), cidr=net.vpc_cidr),
            extra=SASL,
        )
        acl_script = ACLS_SCRIPT_HEAD + "".join(line + "\n" for g in args.grants for line in acl_commands(g))
        job = provisioning_job(
            f"{name}-acls",
            ProvisioningJob(
                object_name=f"{CLUSTER_NAME}-acls",
                namespace=args.namespace,
                environment=spec.environment,
                image=versions.KAFKA_CLIENT_IMAGE,
                script=acl_script,
                env={"BOOTSTRAP": cluster.bootstrap_brokers_sasl_scram},
                secrets={"admin-username": ADMIN_USERNAME, "admin-password": admin_password_of(args)},
                egress=endpoint.egress,
                after=(*args.in_cluster_dependencies, association),
            ),
            parent,
        )
        source = MskSource(
            arn=cluster.arn,
            broker_type=size.aws_broker_type,
            brokers=size.brokers,
            storage_gib=size.storage_gib,
            kafka_version=data_settings.MSK_KAFKA_VERSION,
            server_properties=server_properties(size),
            port=MSK_SCRAM_PORT,
            admin_username=ADMIN_USERNAME,
            admin_password=admin_password_of(args),
            acl_script=acl_script,
            cluster=cluster,
        )
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(association, job)) for g in args.grants},
            replication=source if replicated else None,
        )


def server_properties(size: KafkaSize) -> str:
    return "\n".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in _broker_config(size).items())


def replicator_connectivity() -> aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoArgs:
    """Multi-VPC private connectivity for IAM clients: how MSK Replicator in another region reaches
    the brokers (the only scheme it uses)."""
    return aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoArgs(
        vpc_connectivity=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityArgs(
            client_authentication=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityClientAuthenticationArgs(
                sasl=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityClientAuthenticationSaslArgs(
                    iam=True
                )
            )
        )
    )


def scram_secret(
    name: str,
    stack_name: str,
    username: str,
    password: pulumi.Output[str],
    key: aws.kms.Key,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.secretsmanager.SecretVersion:
    """One SCRAM login, where MSK reads it: a Secrets Manager secret under the MSK KMS key."""
    child = pulumi.ResourceOptions(parent=parent)
    secret = aws.secretsmanager.Secret(
        name,
        # MSK only reads SCRAM secrets whose names start with "AmazonMSK_". A prefix, not a name:
        # a deleted secret keeps its name through the recovery window, and a fixed name would
        # block re-creating the stack for those days.
        name_prefix=f"AmazonMSK_{stack_name}-kafka-{username}-",
        kms_key_id=key.key_id,
        recovery_window_in_days=7,
        tags=tags,
        opts=child,
    )
    return aws.secretsmanager.SecretVersion(
        f"{name}-value",
        secret_id=secret.arn,
        # Derived from the (secret) password, so it stays a secret.
        secret_string=password.apply(lambda p: json.dumps({"username": username, "password": p})),
        opts=child,
    )


BACKENDS: dict[Backend, DataBackend[KafkaSize]] = {"in-cluster": StrimziKafka(), "aws": MskKafka()}


class KafkaCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:KafkaCluster"
    BACKENDS = BACKENDS
