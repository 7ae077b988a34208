"""The data layer: PostgreSQL, MongoDB, Redis and Kafka, each one component with interchangeable
backends (in-cluster through an operator, or the cloud's managed service), chosen once from
settings (settings/data.py).

`data_layer_spec(settings)` validates the choices (before anything registers); `DataLayer`
builds the operators, the data namespace, the backup store and the four components; then
`deliver(namespaces)` hands each consuming namespace its connection Secrets, and
`connections_for(service)` gives `ContextService` what it needs for its env vars.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.data import kafka, mongo, postgres, redis
from components.data.backup_store import BackupStore, BackupStoreArgs
from components.data.base import DataComponentArgs
from components.data.connection import DATA_NAMESPACE, DataConnection, DataEgress
from components.data.credentials import ConsumerSecrets, ConsumerSecretsArgs, generate_password
from components.data.kafka import KafkaCluster
from components.data.mongo import MongoCluster
from components.data.namespace import DataNamespace, DataNamespaceArgs
from components.data.operators import OPERATOR_NAMESPACE, DataOperators, DataOperatorsArgs
from components.data.postgres import PostgresCluster
from components.data.redis import RedisCluster
from components.network import AwsNetwork, CloudNetwork
from settings.data import DataLayerSpec, DataService, DataSettingsError, resolve_data_layer
from settings.load import PROJECT, SettingsError, stack_file_name
from settings.model import ServiceSpec, StackSettings
from settings.quantity import MI, cpu_millicores, format_cpu, format_memory, memory_bytes

__all__ = ["DataConnection", "DataEgress", "DataLayer", "DataLayerArgs", "data_layer_spec"]

# Room in the data namespace for what runs beside the members: exporters, backup agents,
# Strimzi's entity operator, init containers, rollout surge.
HEADROOM_PERCENT = 150
BASE_CPU_M = 1000
BASE_MEMORY_B = 2048 * MI


def data_layer_spec(settings: StackSettings, source: str | None = None) -> DataLayerSpec:
    needs = {s.name: s.data_needs for s in settings.application_services}
    try:
        return resolve_data_layer(settings.data, settings.environment, settings.cloud, needs)
    except DataSettingsError as exc:
        where = source or stack_file_name()
        raise SettingsError(f"invalid stack settings in {where}:\n  {PROJECT}:{exc}") from None


@dataclass(frozen=True)
class DataLayerArgs:
    stack_name: str
    spec: DataLayerSpec
    services: tuple[ServiceSpec, ...]
    pod_security_version: str
    network: CloudNetwork | None
    # The PriorityClasses the operators and data pods name (components/priorities.py).
    scheduling: tuple[pulumi.Resource, ...] = ()


def _namespace_size(spec: DataLayerSpec) -> dict[str, str]:
    s = spec.sizes
    members: list[tuple[int, str, str, int]] = []  # count, cpu, memory, storage GiB
    if spec.components["postgres"].backend == "in-cluster":
        members.append((s.postgres.instances, s.postgres.cpu, s.postgres.memory, s.postgres.storage_gib))
    if spec.components["mongo"].backend == "in-cluster":
        members.append((s.mongo.members, s.mongo.cpu, s.mongo.memory, s.mongo.storage_gib))
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


class DataLayer(pulumi.ComponentResource):
    connections: dict[DataService, DataConnection]
    consumer_secrets: ConsumerSecrets | None

    def __init__(self, name: str, args: DataLayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataLayer", name, None, opts)
        spec = args.spec
        self._args = args
        self.consumer_secrets = None
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
        namespace = None
        backup = None
        if in_cluster:
            operators = DataOperators(
                f"{name}-operators",
                DataOperatorsArgs(
                    environment=spec.environment,
                    pod_security_version=args.pod_security_version,
                    services=in_cluster,
                    postgres_backups=needs_backup_store and "postgres" in in_cluster,
                    after=args.scheduling,
                ),
                opts=child,
            )
            consumers: dict[int, set[str]] = {}
            for svc in args.services:
                for need in svc.data_needs:
                    if need in in_cluster:
                        consumers.setdefault(_IN_CLUSTER_PORTS[need], set()).add(svc.context)
            namespace = DataNamespace(
                f"{name}-namespace",
                DataNamespaceArgs(
                    name=DATA_NAMESPACE,
                    environment=spec.environment,
                    pod_security_version=args.pod_security_version,
                    operator_namespace=OPERATOR_NAMESPACE,
                    consumers={port: tuple(sorted(ns)) for port, ns in consumers.items()},
                    **_namespace_size(spec),
                ),
                opts=child,
            )
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

        self.passwords: dict[str, pulumi.Output[str]] = {}
        self.connections = {}
        components: dict[DataService, tuple[type, object]] = {
            "postgres": (PostgresCluster, spec.sizes.postgres),
            "mongo": (MongoCluster, spec.sizes.mongo),
            "redis": (RedisCluster, spec.sizes.redis),
            "kafka": (KafkaCluster, spec.sizes.kafka),
        }
        for service, (component_type, size) in components.items():
            component_spec = spec.components[service]
            password = generate_password(f"{name}-{service}-password", self)
            deps: tuple[pulumi.Resource, ...] = ()
            location = backup.locations.get(service) if backup else None
            if component_spec.backend == "in-cluster":
                assert operators is not None and namespace is not None
                deps = (namespace.namespace, *operators.for_service(component_spec.service), *args.scheduling)
            component = component_type(
                f"{name}-{service}",
                DataComponentArgs(
                    stack_name=args.stack_name,
                    spec=component_spec,
                    size=size,
                    password=password,
                    namespace=DATA_NAMESPACE,
                    in_cluster_dependencies=deps,
                    network=args.network,
                    backup=location,
                    backup_dependencies=location.dependencies if location else (),
                ),
                opts=child,
            )
            self.connections[component_spec.service] = component.connection
            self.passwords[service] = getattr(component, "password", password)
        self.register_outputs(
            {
                name: {"backend": c.backend, "host": c.host, "port": c.port, "tls": c.tls, "secret": c.secret_name}
                for name, c in self.connections.items()
            }
        )

    def egress_for(self, services: tuple[ServiceSpec, ...]) -> tuple[DataEgress, ...]:
        """Where a namespace's services connect, one entry per data service they use."""
        used = dict.fromkeys(need for svc in services for need in svc.data_needs)
        return tuple(self.connections[need].egress for need in used)

    def connections_for(self, service: ServiceSpec) -> tuple[DataConnection, ...]:
        return tuple(self.connections[need] for need in service.data_needs)

    def deliver(self, namespaces: dict[str, pulumi.Resource]) -> None:
        """One connection Secret per (consuming namespace, data service)."""
        consumers: dict[str, dict[DataService, DataConnection]] = {}
        for svc in self._args.services:
            for need in svc.data_needs:
                consumers.setdefault(svc.context, {})[need] = self.connections[need]
        self.consumer_secrets = ConsumerSecrets(
            "data-connections",
            ConsumerSecretsArgs(
                environment=self._args.spec.environment,
                consumers={ns: tuple(conns.values()) for ns, conns in consumers.items()},
                passwords=self.passwords,
                namespace_dependencies=namespaces,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def secrets_in(self, namespace: str) -> list[pulumi.Resource]:
        if self.consumer_secrets is None:
            return []
        return [s for (ns, _), s in self.consumer_secrets.secrets.items() if ns == namespace]


_IN_CLUSTER_PORTS: dict[DataService, int] = {
    "postgres": postgres.PORT,
    "mongo": mongo.PORT,
    "redis": redis.PORT,
    "kafka": kafka.IN_CLUSTER_PORT,
}
