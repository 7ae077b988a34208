"""The data layer: PostgreSQL, MongoDB, Redis and Kafka, each one component with interchangeable
backends (in-cluster through an operator, or the cloud's managed service), chosen once from
settings (settings/data.py, resolved by settings/stack.py).

`DataLayer` builds the operators, the data namespace, the backup store and the four components,
and hands on what they built as one value, `DataLayer.built` (`BuiltData`): each service's
endpoint and every consumer's own credentials. Whoever owns a consuming namespace takes its
`access(...)` from that value and creates the namespace's Secrets (components/data/credentials.py
`consumer_secret`); nothing calls the data layer again once it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.data import kafka, mongo, postgres, redis
from components.data.backup_store import BackupLocation, BackupStore, BackupStoreArgs
from components.data.base import DataComponent, DataComponentArgs
from components.data.connection import DATA_NAMESPACE, BuiltService, DataAccess, DataEgress
from components.data.credentials import generate_password
from components.data.kafka import KafkaCluster
from components.data.mongo import MongoCluster
from components.data.namespace import DataNamespace, DataNamespaceArgs
from components.data.operators import OPERATOR_NAMESPACE, DataOperators, DataOperatorsArgs
from components.data.postgres import PostgresCluster
from components.data.redis import RedisCluster
from components.data.shared_ca import SharedCa, shared_data_ca
from components.data.tls import DataCa, DataTls, DataTlsArgs
from components.network import AwsNetwork, CloudNetwork
from settings.data import DataLayerSpec, DataService
from settings.quantity import MI, cpu_millicores, format_cpu, format_memory, memory_bytes

__all__ = ["BuiltData", "DataAccess", "DataEgress", "DataLayer", "DataLayerArgs", "namespace_size"]

# Room in the data namespace for what runs beside the members: exporters, backup agents,
# Strimzi's entity operator, init containers, rollout surge.
HEADROOM_PERCENT = 150
BASE_CPU_M = 1000
BASE_MEMORY_B = 2048 * MI


@dataclass(frozen=True)
class DataLayerArgs:
    stack_name: str
    spec: DataLayerSpec
    pod_security_version: str
    network: CloudNetwork | None
    # The cluster's one cert-manager (components/certificates.py): the data CA's certificates
    # and the Barman Cloud plugin need it.
    cert_manager: tuple[pulumi.Resource, ...]
    # The PriorityClasses the operators and data pods name (components/priorities.py).
    scheduling: tuple[pulumi.Resource, ...] = ()


def namespace_size(spec: DataLayerSpec) -> dict[str, str]:
    s = spec.sizes
    members: list[tuple[int, str, str, int]] = []  # count, cpu, memory, storage GiB
    if spec.components["postgres"].backend == "in-cluster":
        members.append((s.postgres.instances, s.postgres.cpu, s.postgres.memory, s.postgres.storage_gib))
    if spec.components["mongo"].backend == "in-cluster":
        members.append((s.mongo.members * s.mongo.shards, s.mongo.cpu, s.mongo.memory, s.mongo.storage_gib))
        if s.mongo.sharding is not None:
            m = s.mongo.sharding
            members.append((m.config_servers, m.config_cpu, m.config_memory, m.config_storage_gib))
            members.append((m.routers, m.router_cpu, m.router_memory, 0))
    if spec.components["redis"].backend == "in-cluster":
        nodes = s.redis.leaders * (1 + s.redis.followers_per_leader)
        members.append((nodes, s.redis.cpu, s.redis.memory, 1 if spec.environment == "dev" else 20))
    if spec.components["kafka"].backend == "in-cluster":
        nodes = s.kafka.brokers + s.kafka.controllers
        members.append((nodes, s.kafka.cpu, s.kafka.memory, s.kafka.storage_gib))
    cpu = BASE_CPU_M + sum(n * cpu_millicores(c) for n, c, _, _ in members)
    mem = BASE_MEMORY_B + sum(n * memory_bytes(m) for n, _, m, _ in members)
    storage = sum(n * g for n, _, _, g in members) + 10
    cpu = -(-cpu * HEADROOM_PERCENT // 100)
    mem = -(-mem * HEADROOM_PERCENT // 100)
    return {
        "requests_cpu": format_cpu(cpu),
        "requests_memory": format_memory(mem),
        "limits_memory": format_memory(mem),
        "storage": f"{storage}Gi",
    }


def _other_region(spec: DataLayerSpec) -> tuple[int, dict[int, str]]:
    """Prod: the in-cluster members the other region replicates with, each behind an internal load
    balancer, and the ports it uses (components/data/cross_region.py)."""
    balancers, ports = 0, dict[int, str]()
    if spec.dr is None:
        return balancers, ports
    if spec.components["mongo"].backend == "in-cluster":
        # Every member of every replica set: each shard's and the config servers'.
        balancers += sum(len(pods) for pods in mongo.replica_sets(spec.sizes.mongo).values())
        ports[mongo.PORT] = spec.dr.secondary_cidr
    if spec.components["kafka"].backend == "in-cluster":
        balancers += spec.sizes.kafka.brokers + 1  # and the bootstrap
        ports[kafka.MIRROR_PORT] = spec.dr.secondary_cidr
    return balancers, ports


@dataclass(frozen=True)
class BuiltData:
    """What the data layer built: each data service's endpoint and its consumers' credentials."""

    services: dict[DataService, BuiltService]
    # Where the in-cluster services back up to, by agent (prod copies them to the other region).
    backups: dict[str, BackupLocation] = field(default_factory=dict)
    # The CA the in-cluster servers' certificates come from (None: nothing runs in-cluster).
    ca: DataCa | None = None
    # Prod: that CA's keypair, which the secondary region's cluster holds too (components/dr).
    shared_ca: SharedCa | None = None

    def access(self, consumer: str, needs: tuple[DataService, ...]) -> tuple[DataAccess, ...]:
        """What `consumer`'s namespace receives for the data services in `needs`: its own
        credentials only (a namespace that is not a consumer of a service, or a region without a
        copy of it, gets nothing of it)."""
        return tuple(
            DataAccess(self.services[need].endpoint, self.services[need].credentials[consumer])
            for need in dict.fromkeys(needs)
            if need in self.services and consumer in self.services[need].credentials
        )


# The component of each data service, and the in-cluster port consumers connect to.
COMPONENTS: dict[DataService, type[DataComponent]] = {
    "postgres": PostgresCluster,
    "mongo": MongoCluster,
    "redis": RedisCluster,
    "kafka": KafkaCluster,
}
_IN_CLUSTER_PORTS: dict[DataService, int] = {
    "postgres": postgres.PORT,
    "mongo": mongo.PORT,
    "redis": redis.PORT,
    "kafka": kafka.IN_CLUSTER_PORT,
}


class DataLayer(pulumi.ComponentResource):
    built: BuiltData

    def __init__(self, name: str, args: DataLayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataLayer", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        # AWS resources go through the region's provider when the network carries one.
        if isinstance(args.network, AwsNetwork) and args.network.provider is not None:
            child = pulumi.ResourceOptions(parent=self, providers=[args.network.provider])
        in_cluster = spec.in_cluster
        # The in-cluster components whose backups go to the store, each through its agent.
        agent_of = {"postgres": postgres.backup_agent, "mongo": mongo.backup_agent}
        backup_agents = tuple(
            agent_of[s](DATA_NAMESPACE) for s in in_cluster if s in agent_of and spec.components[s].backups
        )
        needs_backup_store = spec.cloud != "kind" and bool(backup_agents)

        operators = None
        tls = None
        shared_ca = None
        if in_cluster:
            # Prod: one data CA both regions' clusters hold (components/data/shared_ca.py).
            shared_ca = shared_data_ca(f"{name}-shared-ca", self) if spec.dr is not None else None
            # Every in-cluster data service serves TLS only, with certificates of the data CA.
            tls = DataTls(
                f"{name}-tls",
                DataTlsArgs(environment=spec.environment, cert_manager=args.cert_manager, shared=shared_ca),
                opts=child,
            )
            operators = DataOperators(
                f"{name}-operators",
                DataOperatorsArgs(
                    environment=spec.environment,
                    pod_security_version=args.pod_security_version,
                    services=in_cluster,
                    postgres_backups=needs_backup_store and "postgres" in in_cluster,
                    after=args.scheduling,
                    cert_manager=tls.cert_manager,
                ),
                opts=child,
            )
        # Each in-cluster port admits the namespaces of that service's consumers, and only them.
        consumers: dict[int, set[str]] = {}
        for grant_service in in_cluster:
            for grant in spec.grants(grant_service):
                consumers.setdefault(_IN_CLUSTER_PORTS[grant_service], set()).add(grant.consumer)
        # Where a data service has an entry point of its own (a sharded MongoDB's routers), its
        # consumers reach those pods only.
        entry_pods: dict[int, dict[str, str]] = {}
        mongo_routers = mongo.router_labels(spec.sizes.mongo) if "mongo" in in_cluster else None
        if mongo_routers is not None:
            entry_pods[mongo.PORT] = mongo_routers
        # The namespace also runs the provisioning Jobs of the managed services, so it always exists.
        balancers, other_region = _other_region(spec)
        namespace = DataNamespace(
            f"{name}-namespace",
            DataNamespaceArgs(
                name=DATA_NAMESPACE,
                environment=spec.environment,
                pod_security_version=args.pod_security_version,
                operator_namespace=OPERATOR_NAMESPACE,
                consumers={port: tuple(sorted(ns)) for port, ns in consumers.items()},
                entry_pods=entry_pods,
                **namespace_size(spec),
                load_balancers=balancers,
                other_region=other_region,
            ),
            opts=child,
        )
        backup = None
        if needs_backup_store:
            assert args.network is not None, "in-cluster backups on a cloud need the cloud network"
            first = spec.components[in_cluster[0]]
            backup = BackupStore(
                f"{name}-backups",
                BackupStoreArgs(
                    stack_name=args.stack_name,
                    environment=spec.environment,
                    network=args.network,
                    data_namespace=DATA_NAMESPACE,
                    agents=backup_agents,
                    retention_days=first.backup_retention_days,
                    geo_redundant=first.geo_redundant,
                    protect=first.protect,
                ),
                namespace=namespace.namespace,
                opts=child,
            )

        built: dict[DataService, BuiltService] = {}
        for service, component_type in COMPONENTS.items():
            component_spec = spec.components[service]
            backend = component_type.BACKENDS[component_spec.backend]
            # Objects in the data namespace wait for it, for the PriorityClasses and for their operator.
            deps: tuple[pulumi.Resource, ...] = (namespace.namespace, *args.scheduling)
            if component_spec.backend == "in-cluster":
                assert operators is not None
                deps = (namespace.namespace, *operators.for_service(service), *args.scheduling)
            location = backup.locations.get(service) if backup else None
            component = component_type(
                f"{name}-{service}",
                DataComponentArgs(
                    stack_name=args.stack_name,
                    spec=component_spec,
                    size=getattr(spec.sizes, service),
                    grants=spec.grants(service),
                    # The name it always had: the service's password survives this refactoring.
                    admin_password=(
                        generate_password(f"{name}-{service}-password", self) if backend.admin_password else None
                    ),
                    namespace=DATA_NAMESPACE,
                    in_cluster_dependencies=deps,
                    network=args.network,
                    backup=location,
                    backup_dependencies=location.dependencies if location else (),
                    dr=spec.dr,
                    ca=tls.ca if tls else None,
                ),
                opts=child,
            )
            built[service] = component.built
        self.built = BuiltData(
            built, backups=dict(backup.locations) if backup else {}, ca=tls.ca if tls else None, shared_ca=shared_ca
        )
        self.register_outputs(
            {
                service: {
                    "backend": b.endpoint.backend,
                    "host": b.endpoint.host,
                    "port": b.endpoint.port,
                    "tls": b.endpoint.tls,
                    "trust": b.endpoint.trust,
                    "consumers": sorted(b.credentials),
                }
                for service, b in built.items()
            }
        )
