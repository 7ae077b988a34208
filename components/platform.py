"""`build_platform`: the whole stack, composed from components in dependency order.

Data flows one way: the resolved stack spec (settings/stack.py) -> registry -> cluster(s) ->
add-ons -> mesh -> data layer -> namespaces -> services (and their traffic in the mesh) ->
observability. Each component gets only the slice it needs, and what one component built reaches
the next as a value (the registry's ACR id becomes the AKS kubelet's AcrPull grant, its pull
credential each namespace's `registry-pull` Secret and its hosts each service's image; the data
layer's endpoints and credentials become each namespace's Secrets there, and each service's env;
the observability stack gets its resolved spec, the services and the namespaces to wait for);
nothing calls back into a component built earlier. Prod runs a second cluster in its secondary
region with the same in-cluster platform (`build_in_cluster`, once per cluster), and DNS failover
between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi

from components.cloud.dns_failover import DnsFailover, DnsFailoverArgs, RegionalCluster
from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.context_namespace import ContextNamespace, ContextNamespaceArgs, PodOverhead
from components.context_service import ContextService, ContextServiceArgs
from components.data import BuiltData, DataLayer, DataLayerArgs
from components.data.connection import DATA_NAMESPACE
from components.labels import PLATFORM_CONTEXT, instance_of
from components.mesh import MESH_ACCESS, Mesh, MeshArgs, ServiceTraffic, ServiceTrafficArgs
from components.mesh.endpoints import ISTIO_NAMESPACE, ISTIOD_MONITORING_PORT, ISTIOD_POD_LABELS, MeshCall
from components.observability import (
    OTLP_GRPC_COLLECTOR,
    PROMETHEUS_URL,
    TELEMETRY_ACCESS,
    Observability,
    ObservabilityArgs,
    ScrapeTarget,
    service_telemetry_env,
)
from components.observability.exporters import data_scrape_targets
from components.priorities import PLATFORM, PriorityClasses, PriorityClassesArgs
from components.registry import PULL_SECRET, RegistryEndpoint, registry_for
from components.sealed_secrets import SealedSecrets, SealedSecretsArgs, TeamSecrets, TeamSecretsArgs
from settings.data import DataLayerSpec
from settings.mesh import MeshSpec
from settings.model import ServiceSpec, StackSettings
from settings.observability import ObservabilitySpec
from settings.sealed_secrets import SealedSecretSpec
from settings.stack import StackSpec


@dataclass
class InCluster:
    """What runs inside one cluster."""

    cluster: Cluster
    addons: ClusterAddons
    namespaces: dict[str, ContextNamespace]
    services: dict[str, ContextService]
    data: DataLayer | None = None
    priorities: PriorityClasses | None = None
    sealed_secrets: SealedSecrets | None = None
    observability: Observability | None = None
    mesh: Mesh | None = None


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


def build_cluster(
    settings: StackSettings, stack_name: str, registry: RegistryEndpoint, *, secondary: bool = False
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
            acr_id=registry.acr_id,
        ),
    )


def mesh_calls(services: tuple[ServiceSpec, ...]) -> tuple[MeshCall, ...]:
    """Every call the settings allow, between the two services' pods, on the callee's port."""
    by_name = {s.name: s for s in services}
    return tuple(
        MeshCall(
            caller_namespace=caller.context,
            caller_pods=tuple(instance_of(caller.name, caller.environment).items()),
            callee_namespace=by_name[callee].context,
            callee_pods=tuple(instance_of(callee, caller.environment).items()),
            port=by_name[callee].port,
        )
        for caller in services
        for callee in caller.calls
    )


def build_in_cluster(
    settings: StackSettings,
    cluster: Cluster,
    observability: ObservabilitySpec,
    mesh_spec: MeshSpec,
    registry: RegistryEndpoint,
    prefix: str = "",
    data_spec: DataLayerSpec | None = None,
    team_secrets: tuple[SealedSecretSpec, ...] = (),
) -> InCluster:
    """Everything in-cluster, on `cluster`'s provider. `prefix` keeps a second cluster's names unique.
    The data layer is the primary cluster's. Every cluster runs a Sealed Secrets controller and
    the teams' SealedSecrets; a second cluster unseals them once it holds the primary's sealing
    keys (docs/SECRETS.md, "Backing up and restoring the sealing keys")."""
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    # Every workload names one of these classes; a pod naming a missing class is refused.
    priorities = PriorityClasses(
        f"{prefix}priorities", PriorityClassesArgs(environment=settings.environment), opts=in_cluster
    )
    addons = ClusterAddons(f"{prefix}addons", ClusterAddonsArgs(cloud=settings.cloud), opts=in_cluster)
    sealed_secrets = SealedSecrets(
        f"{prefix}sealed-secrets",
        SealedSecretsArgs(
            environment=settings.environment,
            pod_security_version=settings.kubernetes_minor,
            after=tuple(priorities.ready),
        ),
        opts=in_cluster,
    )

    services = settings.application_services
    # The mesh before every meshed workload: sidecars are injected at admission.
    mesh = Mesh(
        f"{prefix}mesh",
        MeshArgs(
            spec=mesh_spec,
            pod_security_version=settings.kubernetes_minor,
            prometheus=TELEMETRY_ACCESS.scraper,
            prometheus_url=PROMETHEUS_URL,
            trace_collector=OTLP_GRPC_COLLECTOR,
            trace_sample_percent=round(observability.trace_sample_ratio * 100, 2),
            scheduling=tuple(priorities.ready),
        ),
        opts=in_cluster,
    )
    calls = mesh_calls(services)
    # The data layer (components/data) lives beside the primary cluster only.
    data: DataLayer | None = None
    built: BuiltData | None = None
    if data_spec is not None:
        data = DataLayer(
            f"{prefix}data",
            DataLayerArgs(
                stack_name=pulumi.get_stack(),
                spec=data_spec,
                pod_security_version=settings.kubernetes_minor,
                network=cluster.network,
                scheduling=tuple(priorities.ready),
            ),
            opts=in_cluster,
        )
        built = data.built
    namespaces: dict[str, ContextNamespace] = {}
    for context in settings.contexts:
        consumer = data_spec.consumer(context.slug) if data_spec else None
        namespaces[context.slug] = ContextNamespace(
            f"{prefix}ns-{context.slug}",
            ContextNamespaceArgs(
                context=context.slug,
                title=context.title,
                environment=settings.environment,
                pod_security_version=settings.kubernetes_minor,
                services=tuple(s for s in services if s.context == context.slug),
                data=built.access(consumer.namespace, consumer.needs) if built and consumer else (),
                data_ca=built.ca if built else None,
                telemetry=TELEMETRY_ACCESS,
                mesh=MESH_ACCESS,
                calls=tuple(c for c in calls if context.slug in (c.caller_namespace, c.callee_namespace)),
                pod_overhead=PodOverhead.of(mesh_spec.sidecar),
                mesh_dependencies=tuple(mesh.traffic_ready),
                registry_pull=registry.docker_config,
            ),
            opts=in_cluster,
        )

    team: TeamSecrets | None = None
    if team_secrets:
        team = TeamSecrets(
            f"{prefix}team-secrets",
            TeamSecretsArgs(
                environment=settings.environment,
                secrets=team_secrets,
                controller=sealed_secrets.release,
                namespaces={slug: ns.namespace for slug, ns in namespaces.items()},
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
                # The namespace's objects, its data and pull Secrets among them, the
                # PriorityClasses, the mesh's injector, the teams' SealedSecrets where the service
                # mounts one, and the registry's repositories (and replicas) its image is pulled from.
                namespace_dependencies=(
                    namespace,
                    *priorities.ready,
                    *mesh.ready,
                    *([team] if team and spec.secrets else []),
                    *registry.ready,
                ),
                data=built.access(spec.context, spec.data_needs) if built else (),
                hpa_dependencies=tuple(addons.hpa_dependencies),
                vpa_dependencies=tuple(addons.vpa_dependencies),
                extra_env=service_telemetry_env(spec, observability),
                meshed=True,
                image=registry.image(spec, cluster.region),
                image_pull_secrets=(PULL_SECRET,) if registry.docker_config is not None else (),
            ),
            opts=in_cluster,
        )
    for spec in services:
        ServiceTraffic(
            f"{prefix}{spec.name}-traffic",
            ServiceTrafficArgs(
                spec=spec,
                mesh=mesh_spec,
                callers=tuple(s for s in services if spec.name in s.calls),
                dependencies=(deployed[spec.name].deployment, namespaces[spec.context], *mesh.traffic_ready),
            ),
            opts=in_cluster,
        )
    # Metrics, alerts, dashboards, logs and traces of this cluster. The data services' monitors
    # wait for the data layer; the gateway, mesh and Keycloak add their targets when they land.
    data_targets: tuple[ScrapeTarget, ...] = (
        ScrapeTarget(
            name="istiod",
            namespace=ISTIO_NAMESPACE,
            kind="ServiceMonitor",
            match_labels=dict(ISTIOD_POD_LABELS),
            port="http-monitoring",
            context=PLATFORM_CONTEXT,
            environment=settings.environment,
            fenced_port=ISTIOD_MONITORING_PORT,
            dependencies=(mesh.istiod,),
        ),
    )
    if data is not None and data_spec is not None:
        data_targets += data_scrape_targets(
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
            meshed=True,
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
        sealed_secrets=sealed_secrets,
        observability=monitoring,
        mesh=mesh,
    )


def _regional(cluster: Cluster) -> RegionalCluster:
    """What failover needs of a region. No `origin` yet: nothing serves clients until the gateway
    (a later issue) publishes `DnsFailoverSettings.origin(region)`; that issue passes
    `origin=RegionalOrigin(hostname=..., published_by=<its Service>)` here, and DnsFailover then
    adds the health checks and failover records (components/cloud/dns_failover.py)."""
    assert cluster.scope is not None and cluster.network is not None
    return RegionalCluster(scope=cluster.scope, provider=cluster.provider, network=cluster.network)


def build_platform(stack: StackSpec, stack_name: str) -> Platform:
    settings = stack.settings
    registry = registry_for(stack.registry, settings)
    primary = build_in_cluster(
        settings,
        build_cluster(settings, stack_name, registry),
        stack.observability,
        stack.mesh,
        registry,
        data_spec=stack.data,
        team_secrets=stack.sealed_secrets,
    )
    platform = Platform(
        cluster=primary.cluster, addons=primary.addons, namespaces=primary.namespaces, services=primary.services
    )
    if settings.cloud_cluster.secondary_region(settings.cloud) is not None:
        # resolve_stack allows a secondary region in prod only, and requires its DNS zone there.
        secondary_cluster = build_cluster(settings, stack_name, registry, secondary=True)
        # The secondary region runs no data layer yet: its observability sees no data services.
        platform.secondary = build_in_cluster(
            settings,
            secondary_cluster,
            replace(stack.observability, in_cluster_data=()),
            stack.mesh,
            registry,
            prefix=f"{secondary_cluster.region}-",
            team_secrets=stack.sealed_secrets,
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
