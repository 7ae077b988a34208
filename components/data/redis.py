"""`RedisCluster`: the cache layer, Redis in cluster mode (3 primaries x 1 replica).

Seed: "Redis 7.0 Cluster", "Nodes: 6 (master-replica pairs)", "Memory: 128GB distributed",
"Eviction Policy: allkeys-lru", pub/sub and streams (plain Redis features, any backend).
- in-cluster: the OT redis-operator's `RedisCluster` (3 leaders + 3 followers), eviction policy
  from a config file the operator mounts, maxmemory a share of each pod's memory limit;
- aws: an ElastiCache replication group in cluster mode, 3 shards x 1 replica across zones,
  a parameter group with `maxmemory-policy allkeys-lru`, TLS in transit, encryption at rest,
  an auth token, in private subnets reachable from the nodes only;
- azure: Azure Managed Redis (OSS cluster policy, AllKeysLRU, TLS only, minimum TLS 1.2, high
  availability: a replica per shard) behind a private endpoint. Azure Cache for Redis Premium is
  retiring (2028-09-30) and closed to new tenants since 2026-04-01; Managed Redis replaces it and
  sizes shards from its SKU, so "3 shards" is the SKU's choice there.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi_azure_native import redisenterprise

from components import versions
from components.data.azure_private import private_endpoint
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    azure_delete_lock,
    data_meta,
    nodes_only_security_group,
    operator_credentials,
    require_network,
    stateful,
    unique_suffix,
)
from components.data.connection import DataConnection, DataEgress
from components.labels import instance_of
from components.network import AwsNetwork, AzureNetwork
from components.observability import exporters
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, RedisSize

PORT = 6379
AZURE_PORT = 10000  # Azure Managed Redis listens on 10000 (TLS)
CLUSTER_NAME = "redis"
USERNAME = "default"
# Room for Redis' own buffers and fork copy-on-write under a pod memory limit.
MAXMEMORY_PERCENT_OF_LIMIT = 75

Args = DataComponentArgs[RedisSize]


class InClusterRedis:
    def build(self, name: str, args: Args, parent: pulumi.Resource) -> DataConnection:
        spec, size = args.spec, args.size
        after = pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies))
        credentials = operator_credentials(name, CLUSTER_NAME, args, after, suffix="auth")
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=data_meta(f"{CLUSTER_NAME}-config", args.namespace, args.spec.environment),
            data={"redis-additional.conf": f"maxmemory-policy {data_settings.REDIS_EVICTION_POLICY}\n"},
            opts=after,
        )
        redis_config = {
            "additionalRedisConfig": f"{CLUSTER_NAME}-config",
            "maxMemoryPercentOfLimit": MAXMEMORY_PERCENT_OF_LIMIT,
        }
        resources = {"requests": {"cpu": size.cpu, "memory": size.memory}, "limits": {"memory": size.memory}}
        zone_key = "topology.kubernetes.io/zone" if spec.multi_zone else "kubernetes.io/hostname"

        def role(replicas: int, role_name: str) -> dict[str, object]:
            return {
                "replicas": replicas,
                "redisConfig": redis_config,
                "pdb": {"enabled": replicas > 1, "maxUnavailable": 1},
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": zone_key,
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app": f"{CLUSTER_NAME}-{role_name}"}},
                    }
                ],
            }

        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="redis.redis.opstreelabs.in/v1beta2",
            kind="RedisCluster",
            metadata=data_meta(
                CLUSTER_NAME, args.namespace, spec.environment, instance_of(CLUSTER_NAME, spec.environment)
            ),
            spec={
                "clusterSize": size.leaders,
                "priorityClassName": DATA.name,
                "clusterVersion": "v7",
                "persistenceEnabled": True,
                "kubernetesConfig": {
                    "image": versions.REDIS_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "resources": resources,
                    "redisSecret": {"name": f"{CLUSTER_NAME}-auth", "key": "password"},
                },
                "redisLeader": role(size.leaders, "leader"),
                "redisFollower": role(size.leaders * size.followers_per_leader, "follower"),
                "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000},
                # Metrics for Prometheus (components/observability/exporters.py).
                "redisExporter": exporters.redis_exporter(),
                "storage": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi" if spec.environment == "dev" else "20Gi"}},
                        }
                    }
                },
            },
            opts=stateful(parent, spec, depends_on=[*args.in_cluster_dependencies, credentials, config]),
        )
        return DataConnection(
            service="redis",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-leader.{args.namespace}.svc.cluster.local",
            port=PORT,
            tls=False,
            username=USERNAME,
            database=None,
            egress=DataEgress(ports=(PORT,), namespace=args.namespace),
            extra={"CLUSTER_MODE": "true"},
        )


class ElastiCacheRedis:
    def build(self, name: str, args: Args, parent: pulumi.Resource) -> DataConnection:
        net = require_network(args, AwsNetwork)
        spec, size = args.spec, args.size
        child = pulumi.ResourceOptions(parent=parent)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(net.private_subnet_ids), tags=net.tags, opts=child
        )
        group = nodes_only_security_group(name, net, "Redis from the cluster's nodes only", PORT, parent)
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-params",
            family=data_settings.ELASTICACHE_PARAMETER_FAMILY,
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(name="cluster-enabled", value="yes"),
                aws.elasticache.ParameterGroupParameterArgs(
                    name="maxmemory-policy", value=data_settings.REDIS_EVICTION_POLICY
                ),
            ],
            tags=net.tags,
            opts=child,
        )
        replication = aws.elasticache.ReplicationGroup(
            f"{name}-replication-group",
            replication_group_id=f"{args.stack_name}-redis",
            description="Bakhmach hub cache (cluster mode)",
            engine="redis",
            engine_version=data_settings.ELASTICACHE_ENGINE_VERSION,
            node_type=size.aws_node_type,
            cluster_mode="enabled",
            num_node_groups=size.leaders,
            replicas_per_node_group=size.followers_per_leader,
            automatic_failover_enabled=True,
            multi_az_enabled=spec.multi_zone,
            parameter_group_name=parameters.name,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            port=PORT,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=args.password,
            snapshot_retention_limit=7,
            auto_minor_version_upgrade=True,
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        return DataConnection(
            service="redis",
            backend="aws",
            host=replication.configuration_endpoint_address,
            port=PORT,
            tls=True,
            username=USERNAME,
            database=None,
            egress=DataEgress(ports=(PORT,), cidr=net.vpc_cidr),
            extra={"CLUSTER_MODE": "true"},
        )


class AzureManagedRedis:
    def build(self, name: str, args: Args, parent: pulumi.Resource) -> DataConnection:
        net = require_network(args, AzureNetwork)
        spec, size = args.spec, args.size
        cluster = redisenterprise.RedisEnterprise(
            f"{name}-cluster",
            # The name becomes <name>.<region>.redis.azure.net, shared by every Azure tenant.
            cluster_name=pulumi.Output.concat(f"bakhmach-{args.stack_name}-redis-", unique_suffix(name, parent)),
            resource_group_name=net.resource_group_name,
            location=net.location,
            sku=redisenterprise.SkuArgs(name=size.azure_sku),
            high_availability="Enabled" if size.followers_per_leader > 0 else "Disabled",
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        database = redisenterprise.Database(
            f"{name}-database",
            cluster_name=cluster.name,
            database_name="default",
            resource_group_name=net.resource_group_name,
            client_protocol="Encrypted",
            clustering_policy="OSSCluster",
            eviction_policy="AllKeysLRU",
            port=AZURE_PORT,
            access_keys_authentication="Enabled",
            opts=stateful(parent, spec),
        )
        # The endpoint's connection is an operation on the cluster, which is still busy creating
        # its database: one after the other, and the lock once nothing is left to build.
        endpoint = private_endpoint(
            f"{name}-private",
            net,
            cluster.id,
            "redisEnterprise",
            "privatelink.redis.azure.net",
            parent,
            after=[database],
        )
        azure_delete_lock(name, cluster.id, spec, parent, after=[cluster, database, endpoint])
        # Managed Redis generates its own access keys; the generated password is unused here,
        # and the key replaces it in the consumers' Secrets (still a secret end to end).
        keys = redisenterprise.list_database_keys_output(
            cluster_name=cluster.name, database_name=database.name, resource_group_name=net.resource_group_name
        )
        self.access_key = pulumi.Output.secret(keys.primary_key)
        return DataConnection(
            service="redis",
            backend="azure",
            host=cluster.host_name,
            port=AZURE_PORT,
            tls=True,
            username=USERNAME,
            database=None,
            egress=DataEgress(ports=(AZURE_PORT,), cidr=net.vnet_cidr),
            extra={"CLUSTER_MODE": "true"},
        )


# Classes, not instances: the Azure backend keeps the key it read for the component that built it.
BACKENDS: dict[Backend, Callable[[], DataBackend[RedisSize]]] = {
    "in-cluster": InClusterRedis,
    "aws": ElastiCacheRedis,
    "azure": AzureManagedRedis,
}


class RedisCluster(DataComponent):
    # The password consumers use: the generated one, or the service's own key (Azure).
    password: pulumi.Output[str]

    def __init__(self, name: str, args: Args, opts: pulumi.ResourceOptions | None = None) -> None:
        backend = BACKENDS[args.spec.backend]()
        super().__init__(
            "bakhmach:data:RedisCluster",
            name,
            args,
            backend,
            opts,
            extra_outputs={"evictionPolicy": data_settings.REDIS_EVICTION_POLICY},
        )
        self.password = getattr(backend, "access_key", args.password)
