"""`build_platform`: the whole stack, composed from components in dependency order.

Data flows one way: settings -> cluster(s) -> add-ons -> namespaces -> services. Each component
gets only the slice of settings it needs. Prod runs a second cluster in its secondary region with
the same in-cluster platform (`build_in_cluster`, once per cluster), and DNS failover between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi

from components.cloud.dns_failover import DnsFailover, DnsFailoverArgs, RegionalCluster
from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.context_namespace import ContextNamespace, ContextNamespaceArgs
from components.context_service import ContextService, ContextServiceArgs
from components.data import DataLayer, DataLayerArgs, data_layer_spec
from components.data.connection import DATA_NAMESPACE
from components.labels import PLATFORM_CONTEXT
from components.observability import (
    TELEMETRY_ACCESS,
    Observability,
    ObservabilityArgs,
    ScrapeTarget,
    observability_spec,
    service_telemetry_env,
)
from components.observability.exporters import data_scrape_targets
from components.priorities import PLATFORM, PriorityClasses, PriorityClassesArgs
from components.registry import PULL_SECRET, PullSecrets, PullSecretsArgs, RegistryEndpoint, registry_for
from settings.data import DataLayerSpec
from settings.load import PROJECT, SettingsError, stack_file_name
from settings.model import StackSettings
from settings.observability import ObservabilitySpec


@dataclass
class InCluster:
    """What runs inside one cluster."""

    cluster: Cluster
    addons: ClusterAddons
    namespaces: dict[str, ContextNamespace]
    services: dict[str, ContextService]
    data: DataLayer | None = None
    priorities: PriorityClasses | None = None
    observability: Observability | None = None


@dataclass
class Platform:
    # The primary cluster's platform (the only one outside prod).
    cluster: Cluster
    addons: ClusterAddons
    namespaces: dict[str, ContextNamespace]
    services: dict[str, ContextService]
    # Prod: the secondary region's cluster and platform, and the failover name in front of both.
    secondary: InCluster | None = None
    failover: DnsFailover | None = None


def check_cloud_settings(settings: StackSettings, stack_name: str) -> None:
    """Rules across `environment`, `cloud` and `cloudCluster`, checked before anything registers."""
    problems = settings.cloud_cluster.check(settings.environment, settings.cloud)
    if problems:
        lines = [f"invalid stack settings in {stack_file_name()}:"]
        lines += [f"  {PROJECT}:{key}: {message}" for key, message in problems]
        raise SettingsError("\n".join(lines))


def build_cluster(
    settings: StackSettings, stack_name: str, *, secondary: bool = False, registry: RegistryEndpoint | None = None
) -> Cluster:
    name = f"{stack_name}-secondary" if secondary else stack_name
    return Cluster(
        name,
        ClusterArgs(
            stack_name=stack_name,
            environment=settings.environment,
            cloud=settings.cloud,
            kubeconfig_context=settings.cluster.kubeconfig_context,
            kubernetes_version=settings.cluster.kubernetes_version,
            cloud_settings=settings.cloud_cluster,
            owner=settings.owner,
            secondary=secondary,
            protect=settings.protect_stateful,
            acr_id=registry.acr_id if registry else None,
        ),
    )


def build_in_cluster(
    settings: StackSettings,
    cluster: Cluster,
    observability: ObservabilitySpec,
    prefix: str = "",
    data_spec: DataLayerSpec | None = None,
    registry: RegistryEndpoint | None = None,
) -> InCluster:
    """Everything in-cluster, on `cluster`'s provider. `prefix` keeps a second cluster's names unique."""
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    # Every workload names one of these classes; a pod naming a missing class is refused.
    priorities = PriorityClasses(
        f"{prefix}priorities", PriorityClassesArgs(environment=settings.environment), opts=in_cluster
    )
    addons = ClusterAddons(f"{prefix}addons", ClusterAddonsArgs(cloud=settings.cloud), opts=in_cluster)

    services = settings.application_services
    # The data layer (components/data) lives beside the primary cluster only.
    data = None
    if data_spec is not None:
        data = DataLayer(
            f"{prefix}data",
            DataLayerArgs(
                stack_name=pulumi.get_stack(),
                spec=data_spec,
                services=services,
                pod_security_version=settings.kubernetes_minor,
                network=cluster.network,
                scheduling=tuple(priorities.ready),
            ),
            opts=in_cluster,
        )
    namespaces: dict[str, ContextNamespace] = {}
    for context in settings.contexts:
        namespaces[context.slug] = ContextNamespace(
            f"{prefix}ns-{context.slug}",
            ContextNamespaceArgs(
                context=context.slug,
                title=context.title,
                environment=settings.environment,
                pod_security_version=settings.kubernetes_minor,
                services=tuple(s for s in services if s.context == context.slug),
                data_egress=data.egress_for(tuple(s for s in services if s.context == context.slug)) if data else (),
                telemetry=TELEMETRY_ACCESS,
            ),
            opts=in_cluster,
        )
    if data is not None:
        data.deliver({slug: ns.namespace for slug, ns in namespaces.items()})
    # How this cluster pulls the services' images (components/registry.py).
    pulls = None
    if registry is not None and registry.docker_config is not None:
        pulls = PullSecrets(
            f"{prefix}registry-pull",
            PullSecretsArgs(
                docker_config=registry.docker_config,
                environment=settings.environment,
                namespaces={s.context: namespaces[s.context].namespace for s in services},
            ),
            opts=in_cluster,
        )

    deployed: dict[str, ContextService] = {}
    for spec in services:
        namespace = namespaces[spec.context]
        deployed[spec.name] = ContextService(
            f"{prefix}{spec.name}",
            ContextServiceArgs(
                spec=spec,
                namespace=namespace.name,
                namespace_dependencies=(
                    namespace,
                    *(data.secrets_in(namespace.name) if data else ()),
                    *priorities.ready,
                    *(registry.ready if registry else ()),
                    *([pulls.secrets[spec.context]] if pulls else []),
                ),
                data=data.connections_for(spec) if data else (),
                hpa_dependencies=tuple(addons.hpa_dependencies),
                vpa_dependencies=tuple(addons.vpa_dependencies),
                extra_env=service_telemetry_env(spec, observability),
                image=registry.image(spec, cluster.region) if registry else None,
                image_pull_secrets=(PULL_SECRET,) if pulls else (),
            ),
            opts=in_cluster,
        )
    # Metrics, alerts, dashboards, logs and traces of this cluster. The data services' monitors
    # wait for the data layer; the gateway, mesh and Keycloak add their targets when they land.
    data_targets: tuple[ScrapeTarget, ...] = ()
    if data is not None and data_spec is not None:
        data_targets = data_scrape_targets(
            data_spec.in_cluster, DATA_NAMESPACE, settings.environment, PLATFORM_CONTEXT, dependencies=(data,)
        )
    endpoint = settings.on_call_endpoint
    monitoring = Observability(
        f"{prefix}observability",
        ObservabilityArgs(
            spec=observability,
            cluster_name=f"{pulumi.get_stack()}-{prefix.rstrip('-')}" if prefix else pulumi.get_stack(),
            pod_security_version=settings.kubernetes_minor,
            contexts=tuple(c.slug for c in settings.contexts),
            services=services,
            namespaces={slug: ns.namespace for slug, ns in namespaces.items()},
            on_call_endpoint=pulumi.Output.secret(endpoint.get_secret_value()) if endpoint else None,
            extra_targets=data_targets,
            priority_class=PLATFORM.name,
            scheduling=tuple(priorities.ready),
        ),
        opts=in_cluster,
    )
    return InCluster(
        cluster=cluster,
        addons=addons,
        namespaces=namespaces,
        services=deployed,
        data=data,
        priorities=priorities,
        observability=monitoring,
    )


def _regional(cluster: Cluster) -> RegionalCluster:
    """What failover needs of a region. No `origin` yet: nothing serves clients until the gateway
    (a later issue) publishes `DnsFailoverSettings.origin(region)`; that issue passes
    `origin=RegionalOrigin(hostname=..., published_by=<its Service>)` here, and DnsFailover then
    adds the health checks and failover records (components/cloud/dns_failover.py)."""
    assert cluster.scope is not None and cluster.network is not None
    return RegionalCluster(scope=cluster.scope, provider=cluster.provider, network=cluster.network)


def build_platform(settings: StackSettings, stack_name: str) -> Platform:
    check_cloud_settings(settings, stack_name)
    data_spec = data_layer_spec(settings, stack_file_name())
    observability = observability_spec(settings, data_spec.in_cluster, stack_file_name())
    registry = registry_for(settings, stack_name, stack_file_name())
    primary = build_in_cluster(
        settings,
        build_cluster(settings, stack_name, registry=registry),
        observability,
        data_spec=data_spec,
        registry=registry,
    )
    platform = Platform(
        cluster=primary.cluster, addons=primary.addons, namespaces=primary.namespaces, services=primary.services
    )
    if settings.cloud_cluster.secondary_region(settings.cloud) is not None:
        # check_cloud_settings allows a secondary region in prod only, and requires its DNS zone.
        secondary_cluster = build_cluster(settings, stack_name, secondary=True, registry=registry)
        # The secondary region runs no data layer yet: its observability sees no data services.
        platform.secondary = build_in_cluster(
            settings,
            secondary_cluster,
            replace(observability, in_cluster_data=()),
            prefix=f"{secondary_cluster.region}-",
            registry=registry,
        )
        assert settings.cloud_cluster.dns is not None
        platform.failover = DnsFailover(
            "failover",
            DnsFailoverArgs(
                cloud=settings.cloud,
                settings=settings.cloud_cluster.dns,
                clusters=(_regional(primary.cluster), _regional(secondary_cluster)),
            ),
        )
    return platform
