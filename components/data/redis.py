"""`RedisCluster`: the cache layer, Redis in cluster mode (3 primaries x 1 replica).

Seed: "Redis 7.0 Cluster", "Nodes: 6 (master-replica pairs)", "Memory: 128GB distributed",
"Eviction Policy: allkeys-lru", pub/sub and streams (plain Redis features, any backend).
- in-cluster: the OT redis-operator's `RedisCluster` (3 leaders + 3 followers), eviction policy
  from a config file the operator mounts, maxmemory a share of each pod's memory limit; TLS only
  (`spec.TLS`: the operator then serves `tls-port` 6379 with `port 0`, and replication and the
  cluster bus use TLS too), TLS 1.3 only, with a certificate of the stack's data CA;
- aws: an ElastiCache replication group in cluster mode, 3 shards x 1 replica across zones,
  a parameter group with `maxmemory-policy allkeys-lru`, TLS in transit, encryption at rest,
  an auth token, in private subnets reachable from the nodes only;
- azure: Azure Managed Redis (OSS cluster policy, AllKeysLRU, TLS only, minimum TLS 1.2, high
  availability: a replica per shard) behind a private endpoint. Azure Cache for Redis Premium is
  retiring (2028-09-30) and closed to new tenants since 2026-04-01; Managed Redis replaces it and
  sizes shards from its SKU, so "3 shards" is the SKU's choice there.

Every consumer is an ACL user of its own, limited to keys and channels under its prefix
(`<context>:`) and barred from admin and dangerous commands (`ACCESS_RULES`):
- in-cluster: an ACL file the operator mounts (`spec.acl`), with the `default` user (the
  operator's own login) and one user per consumer, passwords as SHA-256 hashes;
- aws: ElastiCache RBAC, a user per consumer in a user group, the group's `default` user switched
  off; RBAC replaces the AUTH token (a replication group has one or the other) and requires TLS
  in transit, which the group has;
- azure: not possible. Azure Managed Redis authenticates with its access keys or Entra ID
  identities, each with full access to the database: the only access policy its GA API
  (2025-07-01) offers is "default"; per-user ACL strings exist only in a preview API
  (2026-05-01-preview) and only for Entra identities, which the services' password-based
  clients do not use. Every consumer receives the same access key, and its Secret says so
  (`bakhmach.io/credential-scope: shared`, reported by policy `shared-data-credentials`).
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, redisenterprise

from components import versions
from components.data.azure_private import private_endpoint
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    admin_password_of,
    azure_delete_lock,
    ca_of,
    consumer_passwords,
    data_labels,
    data_meta,
    nodes_only_security_group,
    require_network,
    stateful,
    unique_suffix,
)
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.replication import ElastiCacheSource, ManagedRedisSource, RedisCacheSource
from components.labels import instance_of
from components.network import AwsNetwork, AzureNetwork
from components.observability import exporters
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, DataGrant, RedisSize

PORT = 6379
AZURE_PORT = 10000  # Azure Managed Redis listens on 10000 (TLS)
CLUSTER_NAME = "redis"
# Redis' built-in user: the operator's login in-cluster, Azure's access keys' everywhere.
DEFAULT_USER = "default"
ACL_FILE_KEY = "user.acl"  # the key the operator mounts as /etc/redis/user.acl
ACL_USERS_ANNOTATION = "bakhmach.io/acl-users"
AZURE_SHARED_BECAUSE = (
    "Azure Managed Redis has no per-user ACLs in its GA API: every access key has full access to the "
    "database (components/data/redis.py)"
)
AZURE_CLUSTERING_POLICY = "OSSCluster"
AZURE_EVICTION_POLICY = "AllKeysLRU"
# Room for Redis' own buffers and fork copy-on-write under a pod memory limit.
MAXMEMORY_PERCENT_OF_LIMIT = 75
TLS_SECRET = f"{CLUSTER_NAME}-tls"
# Redis 7.2 (OpenSSL 3) offers TLS 1.3: nothing older is accepted.
TLS_PROTOCOLS = "TLSv1.3"
# Azure Managed Redis' highest minimum: its API takes "1.0", "1.1" or "1.2" (pulumi-azure-native
# 3.29.0 `redisenterprise.TlsVersion`), and Microsoft's "TLS configuration" page for Azure Managed
# Redis says it supports TLS 1.2 and 1.3 only and "presently, there's no option to enforce that
# TLS 1.3 is used by clients": clients that offer 1.3 negotiate it.
AZURE_MINIMUM_TLS = "1.2"


def certificate_names(namespace: str) -> list[str]:
    """The leader and follower Services' names and every pod's: with TLS the operator announces
    hostnames (`cluster-preferred-endpoint-type hostname`), the headless Services' pod names."""
    names = []
    for role in ("leader", "follower"):
        for service in (f"{CLUSTER_NAME}-{role}", f"*.{CLUSTER_NAME}-{role}-headless"):
            names += [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
        names += [f"{CLUSTER_NAME}-{role}", f"{CLUSTER_NAME}-{role}.{namespace}"]
    return names


Args = DataComponentArgs[RedisSize]


def access_rules(grant: DataGrant) -> str:
    """A consumer's Redis ACL rules: its own keys and channels, every command but admin and
    dangerous ones (CONFIG, FLUSHALL, KEYS, DEBUG, ...); cluster-mode clients keep CLUSTER SLOTS."""
    return f"~{grant.resource}* &{grant.resource}* +@all -@admin -@dangerous"


def _sha256(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def render_acl(admin_password: str, users: list[tuple[DataGrant, str]]) -> str:
    """The ACL file: `default` (the operator's login, all access) and one user per consumer.
    With an ACL file Redis ignores `requirepass`, so `default` must be in it, or it would be
    created passwordless. Passwords appear as SHA-256 hashes (`#<hex>`)."""
    lines = [f"user {DEFAULT_USER} on #{_sha256(admin_password)} ~* &* +@all"]
    lines += [f"user {g.username} on #{_sha256(p)} resetkeys resetchannels {access_rules(g)}" for g, p in users]
    return "\n".join(lines) + "\n"


def acl_file(admin: pulumi.Output[str], users: dict[DataGrant, pulumi.Output[str]]) -> pulumi.Output[str]:
    grants = list(users)
    rendered = pulumi.Output.all(admin, *users.values()).apply(
        lambda passwords: render_acl(passwords[0], list(zip(grants, passwords[1:], strict=True)))
    )
    return pulumi.Output.secret(rendered)


class InClusterRedis:
    admin_password = True  # the `default` user, which the operator logs in as

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        spec, size = args.spec, args.size
        after = pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies))
        admin = admin_password_of(args)
        credentials = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=data_meta(f"{CLUSTER_NAME}-auth", args.namespace, spec.environment),
            type="Opaque",
            string_data={"password": admin},
            opts=after,
        )
        passwords = consumer_passwords(name, args.grants, parent)
        acl = k8s.core.v1.Secret(
            f"{name}-acl",
            metadata=data_meta(f"{CLUSTER_NAME}-acl", args.namespace, spec.environment),
            type="Opaque",
            string_data={ACL_FILE_KEY: acl_file(admin, {g: passwords[g.consumer] for g in args.grants})},
            opts=after,
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=data_meta(f"{CLUSTER_NAME}-config", args.namespace, args.spec.environment),
            data={
                "redis-additional.conf": (
                    f"maxmemory-policy {data_settings.REDIS_EVICTION_POLICY}\ntls-protocols {TLS_PROTOCOLS}\n"
                )
            },
            opts=after,
        )
        certificate = ca_of(args).certificate(
            f"{name}-tls",
            name=TLS_SECRET,
            namespace=args.namespace,
            dns_names=certificate_names(args.namespace),
            labels=data_labels(spec.environment),
            parent=parent,
            after=args.in_cluster_dependencies,
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

        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="redis.redis.opstreelabs.in/v1beta2",
            kind="RedisCluster",
            metadata=data_meta(
                CLUSTER_NAME,
                args.namespace,
                spec.environment,
                instance_of(CLUSTER_NAME, spec.environment),
                # The operator copies the resource's annotations onto its pods, and mounts the ACL
                # file with subPath (a changed Secret never reaches a running pod): a new consumer
                # changes this list, which rolls the pods onto the new file.
                annotations={ACL_USERS_ANNOTATION: ",".join(sorted(g.username for g in args.grants))},
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
                "acl": {"secret": {"secretName": f"{CLUSTER_NAME}-acl"}},
                "TLS": {"ca": "ca.crt", "cert": "tls.crt", "key": "tls.key", "secret": {"secretName": TLS_SECRET}},
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
            opts=stateful(
                parent, spec, depends_on=[*args.in_cluster_dependencies, credentials, acl, config, certificate]
            ),
        )
        endpoint = DataEndpoint(
            service="redis",
            backend="in-cluster",
            host=f"{CLUSTER_NAME}-leader.{args.namespace}.svc.cluster.local",
            port=PORT,
            tls=True,
            trust="data-ca",
            egress=DataEgress(ports=(PORT,), namespace=args.namespace),
            extra={"CLUSTER_MODE": "true"},
        )
        # Prod: the other region runs an empty cache of the same shape (components/dr).
        source = RedisCacheSource(spec=spec, size=size, grants=args.grants) if args.dr is not None else None
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(cluster,)) for g in args.grants},
            replication=source,
        )


class ElastiCacheRedis:
    admin_password = True  # the user group's `default` user, switched off, still needs one

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
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
        # Every user group holds a user named `default`; this one is switched off, so only the
        # consumers' users log in. User ids are unique per account and region.
        default = aws.elasticache.User(
            f"{name}-default-user",
            user_id=f"{args.stack_name}-redis-default",
            user_name=DEFAULT_USER,
            engine="redis",
            access_string="off -@all",
            passwords=[admin_password_of(args)],
            tags=net.tags,
            opts=child,
        )
        passwords = consumer_passwords(name, args.grants, parent)
        users = {
            g.consumer: aws.elasticache.User(
                f"{name}-{g.consumer}-user",
                user_id=f"{args.stack_name}-redis-{g.consumer}",
                user_name=g.username,
                engine="redis",
                access_string=f"on {access_rules(g)}",
                passwords=[passwords[g.consumer]],
                tags=net.tags,
                opts=child,
            )
            for g in args.grants
        }
        user_group = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=f"{args.stack_name}-redis",
            engine="redis",
            user_ids=[default.user_id, *(u.user_id for u in users.values())],
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
            user_group_ids=[user_group.user_group_id],
            snapshot_retention_limit=7,
            auto_minor_version_upgrade=True,
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        endpoint = DataEndpoint(
            service="redis",
            backend="aws",
            host=replication.configuration_endpoint_address,
            port=PORT,
            tls=True,
            egress=DataEgress(ports=(PORT,), cidr=net.vpc_cidr),
            extra={"CLUSTER_MODE": "true"},
        )
        source = ElastiCacheSource(
            replication_group_id=replication.replication_group_id,
            node_type=size.aws_node_type,
            engine_version=data_settings.ELASTICACHE_ENGINE_VERSION,
            parameter_family=data_settings.ELASTICACHE_PARAMETER_FAMILY,
            shards=size.leaders,
            replicas_per_shard=size.followers_per_leader,
            port=PORT,
            access_strings={g.consumer: f"on {access_rules(g)}" for g in args.grants},
            default_password=admin_password_of(args),
            group=replication,
        )
        return BuiltService(
            endpoint,
            {g.consumer: Credential.own(g, passwords[g.consumer], ready=(replication,)) for g in args.grants},
            replication=source,
        )


class AzureManagedRedis:
    admin_password = False  # the service generates its access keys

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
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
            minimum_tls_version=AZURE_MINIMUM_TLS,
            public_network_access="Disabled",
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        # Prod: created in an active geo-replication group (a database joins one only when it is
        # created), listing itself; the secondary region's database links to it (components/dr).
        geo = None
        database_id = None
        if spec.geo_redundant:
            client = authorization.get_client_config_output()
            database_id = pulumi.Output.concat(
                "/subscriptions/",
                client.subscription_id,
                "/resourceGroups/",
                net.resource_group_name,
                "/providers/Microsoft.Cache/redisEnterprise/",
                cluster.name,
                "/databases/default",
            )
            geo = redisenterprise.DatabasePropertiesGeoReplicationArgs(
                group_nickname=geo_group(args.stack_name),
                linked_databases=[redisenterprise.LinkedDatabaseArgs(id=database_id)],
            )
        database = redisenterprise.Database(
            f"{name}-database",
            cluster_name=cluster.name,
            database_name="default",
            resource_group_name=net.resource_group_name,
            client_protocol="Encrypted",
            clustering_policy=AZURE_CLUSTERING_POLICY,
            eviction_policy=AZURE_EVICTION_POLICY,
            port=AZURE_PORT,
            access_keys_authentication="Enabled",
            geo_replication=geo,
            # Azure adds each database that joins the group to this list.
            opts=stateful(parent, spec, ignore_changes=["geoReplication.linkedDatabases"] if geo else None),
        )
        # The endpoint's connection is an operation on the cluster, which is still busy creating
        # its database: one after the other, and the lock once nothing is left to build.
        endpoint_resource = private_endpoint(
            f"{name}-private",
            net,
            cluster.id,
            "redisEnterprise",
            "privatelink.redis.azure.net",
            parent,
            after=[database],
        )
        azure_delete_lock(name, cluster.id, spec, parent, after=[cluster, database, endpoint_resource])
        # Managed Redis generates its own access keys; the primary one is every consumer's login
        # (still a secret end to end). Each consumer still gets its key prefix, by convention only.
        keys = redisenterprise.list_database_keys_output(
            cluster_name=cluster.name, database_name=database.name, resource_group_name=net.resource_group_name
        )
        access_key = pulumi.Output.secret(keys.primary_key).apply(str)
        endpoint = DataEndpoint(
            service="redis",
            backend="azure",
            host=cluster.host_name,
            port=AZURE_PORT,
            tls=True,
            egress=DataEgress(ports=(AZURE_PORT,), cidr=net.vnet_cidr),
            extra={"CLUSTER_MODE": "true"},
        )
        shared = {
            g.consumer: Credential(
                grant=g,
                username=DEFAULT_USER,
                password=access_key,
                shared_because=AZURE_SHARED_BECAUSE,
                ready=(database, endpoint_resource),
            )
            for g in args.grants
        }
        source = None
        if database_id is not None:
            source = ManagedRedisSource(
                database_id=database_id,
                group_nickname=geo_group(args.stack_name),
                sku=size.azure_sku,
                high_availability=size.followers_per_leader > 0,
                clustering_policy=AZURE_CLUSTERING_POLICY,
                eviction_policy=AZURE_EVICTION_POLICY,
                port=AZURE_PORT,
                access_key=access_key,
                database=database,
            )
        return BuiltService(endpoint, shared, replication=source)


def geo_group(stack_name: str) -> str:
    """The active geo-replication group's nickname, the same in every member."""
    return f"bakhmach-{stack_name}-cache"


BACKENDS: dict[Backend, DataBackend[RedisSize]] = {
    "in-cluster": InClusterRedis(),
    "aws": ElastiCacheRedis(),
    "azure": AzureManagedRedis(),
}


class RedisCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:RedisCluster"
    BACKENDS = BACKENDS

    def extra_outputs(self) -> dict[str, object]:
        return {"evictionPolicy": data_settings.REDIS_EVICTION_POLICY}
