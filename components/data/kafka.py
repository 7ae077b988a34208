"""`KafkaCluster`: the event backbone (the seed's "RabbitMQ 3.12 / Apache Kafka": Kafka).

- in-cluster: Strimzi `Kafka` + `KafkaNodePool`s in KRaft mode (current `kafka.strimzi.io/v1`
  API): three controllers and three brokers in staging/prod, spread over zones; one dual-role
  node in dev. Clients authenticate with SCRAM-SHA-512 as a `KafkaUser` whose password is the
  generated one;
- aws: MSK, three brokers over three zones, TLS between clients and brokers and between brokers,
  encryption at rest with a dedicated KMS key, SASL/SCRAM with the generated password (kept in
  Secrets Manager, where MSK reads it), in private subnets reachable from the nodes only;
- azure: Strimzi in the cluster. Event Hubs' Kafka endpoint is not a faithful substitute: it is
  not Kafka (no compacted topics on Standard, no transactions/exactly-once below Premium, its own
  partition and retention limits, no Kafka admin API for topic configuration).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    data_meta,
    nodes_only_security_group,
    operator_credentials,
    require_network,
    stateful,
)
from components.data.connection import DataConnection, DataEgress
from components.labels import instance_of
from components.network import AwsNetwork
from components.observability import exporters
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, KafkaSize

IN_CLUSTER_PORT = 9092
MSK_SCRAM_PORT = 9096
CLUSTER_NAME = "kafka"
USERNAME = "app"
SASL = {"SASL_MECHANISM": "SCRAM-SHA-512"}

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


class StrimziKafka:
    def build(self, name: str, args: Args, parent: pulumi.Resource) -> DataConnection:
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
        for pool, replicas, pool_roles in roles:
            pools.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-pool-{pool}",
                    api_version="kafka.strimzi.io/v1",
                    kind="KafkaNodePool",
                    metadata=meta(pool),
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
                    "listeners": [
                        {
                            "name": "scram",
                            "port": IN_CLUSTER_PORT,
                            "type": "internal",
                            "tls": False,
                            "authentication": {"type": "scram-sha-512"},
                        }
                    ],
                    "authorization": {"type": "simple"},
                    "config": _broker_config(size),
                    **rack,
                    # Metrics for Prometheus, and consumer lag (components/observability/exporters.py).
                    "metricsConfig": exporters.kafka_metrics_config(),
                },
                "entityOperator": {"topicOperator": {}, "userOperator": {}, "template": data_pods},
                "kafkaExporter": {**exporters.kafka_exporter(), "template": data_pods},
            },
            opts=stateful(parent, spec, depends_on=[*deps, *pools]),
        )
        credentials = operator_credentials(
            name, CLUSTER_NAME, args, pulumi.ResourceOptions(parent=parent, depends_on=deps)
        )
        k8s.apiextensions.CustomResource(
            f"{name}-app-user",
            api_version="kafka.strimzi.io/v1",
            kind="KafkaUser",
            metadata=meta(USERNAME),
            spec={
                "authentication": {
                    "type": "scram-sha-512",
                    "password": {
                        "valueFrom": {"secretKeyRef": {"name": f"{CLUSTER_NAME}-app-credentials", "key": "password"}}
                    },
                },
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "resource": {"type": "topic", "name": "*", "patternType": "literal"},
                            "operations": ["Describe", "Read", "Write", "Create"],
                        },
                        {
                            "resource": {"type": "group", "name": "*", "patternType": "literal"},
                            "operations": ["Describe", "Read"],
                        },
                    ],
                },
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster, credentials]),
        )
        return DataConnection(
            service="kafka",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-kafka-bootstrap.{args.namespace}.svc.cluster.local",
            port=IN_CLUSTER_PORT,
            tls=False,
            username=USERNAME,
            database=None,
            egress=DataEgress(ports=(IN_CLUSTER_PORT,), namespace=args.namespace),
            extra=SASL,
        )


class MskKafka:
    def build(self, name: str, args: Args, parent: pulumi.Resource) -> DataConnection:
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
            server_properties="\n".join(
                f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in _broker_config(size).items()
            ),
            opts=child,
        )
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
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(scram=True),
                unauthenticated=False,
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn, revision=configuration.latest_revision
            ),
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-scram",
            # MSK only reads SCRAM secrets whose names start with "AmazonMSK_". A prefix, not a
            # name: a deleted secret keeps its name through the recovery window, and a fixed name
            # would block re-creating the stack for those days.
            name_prefix=f"AmazonMSK_{args.stack_name}-kafka-{USERNAME}-",
            kms_key_id=key.key_id,
            recovery_window_in_days=7,
            tags=net.tags,
            opts=child,
        )
        version = aws.secretsmanager.SecretVersion(
            f"{name}-scram-value",
            secret_id=secret.id,
            # Derived from the (secret) password, so it stays a secret.
            secret_string=args.password.apply(lambda p: json.dumps({"username": USERNAME, "password": p})),
            opts=child,
        )
        aws.msk.SingleScramSecretAssociation(
            f"{name}-scram-association",
            cluster_arn=cluster.arn,
            secret_arn=secret.arn,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[version]),
        )
        return DataConnection(
            service="kafka",
            backend="aws",
            # The SASL/SCRAM bootstrap list: "host:9096,host:9096,host:9096".
            host=cluster.bootstrap_brokers_sasl_scram,
            port=MSK_SCRAM_PORT,
            tls=True,
            username=USERNAME,
            database=None,
            egress=DataEgress(ports=(MSK_SCRAM_PORT,), cidr=net.vpc_cidr),
            extra=SASL,
        )


BACKENDS: dict[Backend, DataBackend[KafkaSize]] = {"in-cluster": StrimziKafka(), "aws": MskKafka()}


class KafkaCluster(DataComponent):
    def __init__(self, name: str, args: Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:KafkaCluster", name, args, BACKENDS[args.spec.backend], opts)
