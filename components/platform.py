"""`build_platform`: the whole stack, composed from components in dependency order.

Data flows one way: the resolved stack spec (settings/stack.py) -> registry -> cluster(s) -> the
cloud DNS zone -> per cluster: add-ons -> certificates -> mesh -> data layer -> namespaces ->
services (and their traffic in the mesh) -> identity (Keycloak, where the data layer is) ->
gateway -> observability; then DNS failover between the clusters' gateways and the edge in front
of them. Each component gets only the slice it needs, and what one component built reaches the
next as a value (the registry's ACR id becomes the AKS kubelet's AcrPull grant, its pull
credential each namespace's `registry-pull` Secret and its hosts each service's image; the data
layer's endpoints and credentials become each namespace's Secrets there, and each service's env;
the observability stack gets its resolved spec, the services and the namespaces to wait for);
nothing calls back into a component built earlier. Prod runs a second cluster in its secondary
region with the same in-cluster platform (`build_in_cluster`, once per cluster), and DNS failover
between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pulumi

from components.certificates import NAMESPACE as CERT_MANAGER_NAMESPACE
from components.certificates import Certificates, CertificatesArgs
from components.cloud.dns_failover import DnsFailover, DnsFailoverArgs, RegionalCluster, RegionalOrigin
from components.cloud.dns_zone import BuiltZone, DnsZone, DnsZoneArgs
from components.cloud.load_balancer import PublicEntry, PublicEntryArgs
from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.context_namespace import ContextNamespace, ContextNamespaceArgs, PodOverhead
from components.context_service import INTERNAL_ANNOTATION, ContextService, ContextServiceArgs
from components.data import BuiltData, DataLayer, DataLayerArgs
from components.data.connection import DATA_NAMESPACE
from components.dr import DisasterRecovery, RegionSide, recovery_for
from components.gateway import NAMESPACE as GATEWAY_NAMESPACE
from components.gateway import Gateway, GatewayArgs, IdentityEndpoint
from components.identity import KEYCLOAK, KEYCLOAK_PEER, Identity, IdentityArgs
from components.identity import NAMESPACE as IDENTITY_NAMESPACE
from components.labels import PLATFORM_CONTEXT, instance_of
from components.mesh import MESH_ACCESS, Mesh, MeshArgs, ServiceTraffic, ServiceTrafficArgs
from components.mesh.endpoints import ISTIO_NAMESPACE, ISTIOD_MONITORING_PORT, ISTIOD_POD_LABELS, MeshCall
from components.observability import (
    OTLP_GRPC_COLLECTOR,
    PROMETHEUS_URL,
    TELEMETRY_ACCESS,
    GrafanaLogin,
    Observability,
    ObservabilityArgs,
    ScrapeTarget,
    service_telemetry_env,
)
from components.observability.exporters import data_scrape_targets
from components.priorities import PLATFORM, PriorityClasses, PriorityClassesArgs
from components.registry import PULL_SECRET, RegistryEndpoint, registry_for
from components.sealed_secrets import SealedSecrets, SealedSecretsArgs, TeamSecrets, TeamSecretsArgs
from settings import front_door as fd
from settings.data import DATA_SERVICES, DataLayerSpec
from settings.front_door import FrontDoorSpec
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
    certificates: Certificates | None = None
    identity: Identity | None = None
    gateway: Gateway | None = None
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
    gateway: Gateway | None = None
    # Cloudflare in front of the gateways (components/edge.py), where the stack has an edge.
    edge: pulumi.ComponentResource | None = None
    # Prod: the data copied to the secondary region, and the `dr` output (components/dr).
    recovery: DisasterRecovery | None = None
    # Prod: the standby Keycloak in the secondary region, as the `dr` output's `identity` entry.
    identity_failover: dict[str, Any] | None = None


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
    *,
    front_door: FrontDoorSpec,
    zone: BuiltZone | None = None,
    published: tuple[str, ...] = (),
    failover_probes: bool = False,
    replica_data: BuiltData | None = None,
    priorities: PriorityClasses | None = None,
    certificates: Certificates | None = None,
    identity_secrets: dict[str, pulumi.Output[str]] | None = None,
) -> InCluster:
    """Everything in-cluster, on `cluster`'s provider. `prefix` keeps a second cluster's names unique.
    The data layer is the primary cluster's. Every cluster runs a Sealed Secrets controller and
    the teams' SealedSecrets; a second cluster unseals them once it holds the primary's sealing
    keys (docs/SECRETS.md, "Backing up and restoring the sealing keys"). Keycloak runs beside the
    data layer; every cluster runs cert-manager and a gateway, whose Service publishes `published`
    (external-dns) and which validates tokens against the primary's Keycloak."""
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    # Every workload names one of these classes; a pod naming a missing class is refused.
    priorities = priorities or cluster_priorities(settings, cluster, prefix)
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

    scope = cluster.scope
    certificates = certificates or cluster_certificates(settings, cluster, prefix, zone, priorities)

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
                cert_manager=(certificates.release,),
            ),
            opts=in_cluster,
        )
        built = data.built
    # A cluster without the data layer (prod's secondary) connects to its region's copies.
    connect = built or replica_data
    namespaces: dict[str, ContextNamespace] = {}
    for context in settings.contexts:
        consumer = data_spec.consumer(context.slug) if data_spec else None
        # Without the data layer's spec (the secondary region): whatever the copies hold for it.
        needs = consumer.needs if consumer else DATA_SERVICES
        namespaces[context.slug] = ContextNamespace(
            f"{prefix}ns-{context.slug}",
            ContextNamespaceArgs(
                context=context.slug,
                title=context.title,
                environment=settings.environment,
                pod_security_version=settings.kubernetes_minor,
                services=tuple(s for s in services if s.context == context.slug),
                data=connect.access(consumer.namespace if consumer else context.slug, needs)
                if connect and needs
                else (),
                data_ca=connect.ca if connect else None,
                telemetry=TELEMETRY_ACCESS,
                # Keycloak runs beside the data (prod's secondary: its standby, beside the copies).
                identity=KEYCLOAK_PEER if connect is not None else None,
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
                data=connect.access(spec.context, spec.data_needs) if connect else (),
                hpa_dependencies=tuple(addons.hpa_dependencies),
                vpa_dependencies=tuple(addons.vpa_dependencies),
                extra_env=service_telemetry_env(spec, observability),
                internal=spec.name in front_door.internal,
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
                service_annotations={INTERNAL_ANNOTATION: "true"} if spec.name in front_door.internal else {},
                dependencies=(deployed[spec.name].deployment, namespaces[spec.context], *mesh.traffic_ready),
            ),
            opts=in_cluster,
        )
    # Keycloak beside the data layer (its database); other clusters' gateways use its public keys.
    identity: Identity | None = None
    identity_endpoint = IdentityEndpoint(
        issuer=front_door.issuer, jwks_uri=f"{front_door.issuer}/protocol/openid-connect/certs"
    )
    if connect is not None:
        # Prod's secondary runs a standby on the copy of Keycloak's database there, with the
        # primary's client secrets; a failover promotes the database and scales it up (docs/DR.md).
        standby = built is None
        (database,) = connect.access(IDENTITY_NAMESPACE, ("postgres",))
        identity = Identity(
            f"{prefix}identity",
            IdentityArgs(
                spec=front_door,
                pod_security_version=settings.kubernetes_minor,
                database=database,
                namespaces={slug: ns.namespace for slug, ns in namespaces.items()},
                services=tuple((s.name, s.context) for s in services),
                scheduling=tuple(priorities.ready),
                standby=standby,
                client_secrets=identity_secrets if standby else None,
            ),
            opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[data] if data else [])),
        )
        kc = identity.built
        identity_endpoint = IdentityEndpoint(
            issuer=kc.issuer,
            jwks_uri=kc.jwks_uri,
            service=(kc.namespace, kc.service, kc.port),
            dependencies=kc.ready,
        )
    entry = PublicEntry(
        f"{prefix}public-entry",
        PublicEntryArgs(
            cloud=settings.cloud,
            edge=front_door.edge,
            hostnames=published,
            failover_probes=failover_probes,
            network=cluster.network,
            scope=scope,
        ),
        opts=in_cluster,
    )
    gateway = Gateway(
        f"{prefix}gateway",
        GatewayArgs(
            spec=front_door,
            row=settings.gateway_service,
            pod_security_version=settings.kubernetes_minor,
            exposure=entry.exposure,
            identity=identity_endpoint,
            namespaces={slug: ns.namespace for slug, ns in namespaces.items()},
            certificates=tuple(certificates.ready),
            scheduling=tuple(priorities.ready),
            hpa_dependencies=tuple(addons.hpa_dependencies),
            mesh_labels=dict(MESH_ACCESS.injection_labels),
            mesh_dependencies=tuple(mesh.ready),
        ),
        opts=in_cluster,
    )

    # Metrics, alerts, dashboards, logs and traces of this cluster. The data services' monitors
    # wait for the data layer; the mesh's, the gateway's, cert-manager's and Keycloak's for theirs.
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
    data_targets += front_door_targets(settings.environment, gateway, certificates, identity)
    grafana_login = None
    if identity is not None:
        grafana_login = GrafanaLogin(
            issuer_url=identity.built.issuer,
            client_id=fd.GRAFANA_CLIENT,
            client_secret_ref="grafana-oidc",
            admin_role=fd.SYSTEM_ADMIN,
            client_secret=identity.built.grafana_secret,
            backchannel_url=identity.built.backchannel_url,
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
            grafana_login=grafana_login,
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
        certificates=certificates,
        identity=identity,
        gateway=gateway,
        mesh=mesh,
    )


def front_door_targets(
    environment: str, gateway: Gateway, certificates: Certificates, identity: Identity | None
) -> tuple[ScrapeTarget, ...]:
    """Prometheus targets of the front door: the gateway's proxies (Envoy's own metrics port),
    cert-manager's controller (certificate expiry), Keycloak's management port."""
    targets = [
        ScrapeTarget(
            name="gateway",
            namespace=GATEWAY_NAMESPACE,
            kind="PodMonitor",
            match_labels={"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"},
            port="metrics",
            path="/stats/prometheus",
            context=PLATFORM_CONTEXT,
            environment=environment,
            dependencies=(gateway,),
        ),
        ScrapeTarget(
            name="cert-manager",
            namespace=CERT_MANAGER_NAMESPACE,
            kind="ServiceMonitor",
            match_labels={"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"},
            port="tcp-prometheus-servicemonitor",
            context=PLATFORM_CONTEXT,
            environment=environment,
            dependencies=(certificates.release,),
        ),
    ]
    if identity is not None:
        targets.append(
            ScrapeTarget(
                name="keycloak",
                namespace=IDENTITY_NAMESPACE,
                kind="ServiceMonitor",
                match_labels={"app": "keycloak", "app.kubernetes.io/instance": "keycloak"},
                port="management",
                context=PLATFORM_CONTEXT,
                environment=environment,
                dependencies=identity.built.ready,
            )
        )
    return tuple(targets)


def _regional(in_cluster: InCluster, origin: str) -> RegionalCluster:
    """What DNS failover needs of a region: its cluster, and the origin its gateway's Service
    publishes (external-dns), which the health checks probe once the Service exists."""
    cluster = in_cluster.cluster
    assert cluster.scope is not None and cluster.network is not None and in_cluster.gateway is not None
    return RegionalCluster(
        scope=cluster.scope,
        provider=cluster.provider,
        network=cluster.network,
        origin=RegionalOrigin(hostname=origin, published_by=in_cluster.gateway.service),
    )


def identity_failover(primary: InCluster, secondary: InCluster, front: FrontDoorSpec) -> dict[str, Any] | None:
    """What a failover does for identity: the standby Keycloak in the secondary region runs on the
    copy of its database there; once that copy is promoted (the `postgres` entry), it is scaled to
    the primary's instances."""
    standby = secondary.identity
    if standby is None or not standby.built.standby or primary.identity is None:
        return None
    scale = json.dumps({"spec": {"instances": front.identity_instances}}, separators=(",", ":"))
    return {
        "backend": "Keycloak (operator), standby on the PostgreSQL copy",
        "primary": {
            "id": f"{primary.identity.built.namespace}/{KEYCLOAK}",
            "region": primary.cluster.region,
            "instances": front.identity_instances,
        },
        "replica": {"id": f"{standby.built.namespace}/{KEYCLOAK}", "region": secondary.cluster.region, "instances": 0},
        "database": "postgres",
        "promote": f"kubectl -n {standby.built.namespace} patch keycloak {KEYCLOAK} --type merge -p '{scale}'",
        "issuer": standby.built.issuer,
    }


def cluster_priorities(settings: StackSettings, cluster: Cluster, prefix: str = "") -> PriorityClasses:
    return PriorityClasses(
        f"{prefix}priorities",
        PriorityClassesArgs(environment=settings.environment),
        opts=pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}),
    )


def cluster_certificates(
    settings: StackSettings, cluster: Cluster, prefix: str, zone: BuiltZone | None, priorities: PriorityClasses
) -> Certificates:
    """The cluster's cert-manager and the front door's issuers (components/certificates.py)."""
    scope = cluster.scope
    return Certificates(
        f"{prefix}certificates",
        CertificatesArgs(
            environment=settings.environment,
            pod_security_version=settings.kubernetes_minor,
            zone=zone,
            network=cluster.network,
            region=cluster.region,
            tags=scope.tags if scope else None,
            prefix=scope.prefix if scope else "",
            cluster_name=scope.cluster_name if scope else "",
            after=tuple(priorities.ready),
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}),
    )


def _side(
    cluster: Cluster, scheduling: tuple[pulumi.Resource, ...] = (), cert_manager: tuple[pulumi.Resource, ...] = ()
) -> RegionSide:
    assert cluster.scope is not None and cluster.network is not None
    return RegionSide(
        scope=cluster.scope,
        network=cluster.network,
        provider=cluster.provider,
        scheduling=scheduling,
        cert_manager=cert_manager,
    )


def build_platform(stack: StackSpec, stack_name: str) -> Platform:
    settings = stack.settings
    front = stack.front_door
    dns = settings.cloud_cluster.dns
    registry = registry_for(stack.registry, settings)
    primary_cluster = build_cluster(settings, stack_name, registry)
    secondary_cluster = None
    if settings.cloud_cluster.secondary_region(settings.cloud) is not None:
        # resolve_stack allows a secondary region in prod only, and requires its DNS zone there.
        secondary_cluster = build_cluster(settings, stack_name, registry, secondary=True)
    fails_over = secondary_cluster is not None
    # The cloud zone (staging/prod): cert-manager's DNS-01 records, the origins, the failover name.
    zone: BuiltZone | None = None
    if dns is not None and settings.cloud != "kind":
        assert primary_cluster.scope is not None and primary_cluster.network is not None
        aws_provider = getattr(primary_cluster.network, "provider", None)
        zone = DnsZone(
            "dns",
            DnsZoneArgs(cloud=settings.cloud, zone=dns.zone, scope=primary_cluster.scope, provider=aws_provider),
        ).built

    def published(cluster: Cluster, primary: bool) -> tuple[str, ...]:
        """The names a cluster's gateway Service publishes: its region's origin, and without an
        edge the public names it serves (the API's unless DNS failover owns that name)."""
        if dns is None or cluster.region is None:
            return ()
        names = [dns.origin(cluster.region)]
        if front.edge == "none" and primary:
            names.append(front.identity_hostname)
            if not fails_over:
                names += [h for h in front.hostnames if h != front.identity_hostname]
        return tuple(dict.fromkeys(names))

    primary = build_in_cluster(
        settings,
        primary_cluster,
        stack.observability,
        stack.mesh,
        registry,
        data_spec=stack.data,
        team_secrets=stack.sealed_secrets,
        front_door=front,
        zone=zone,
        published=published(primary_cluster, True),
        failover_probes=fails_over,
    )
    platform = Platform(
        cluster=primary.cluster,
        addons=primary.addons,
        namespaces=primary.namespaces,
        services=primary.services,
        gateway=primary.gateway,
    )
    regions = [primary]
    if secondary_cluster is not None:
        prefix = f"{secondary_cluster.region}-"
        # The secondary's classes and cert-manager first: the copies' pods and provisioning Jobs
        # run there, and their certificates come from its issuer of the shared data CA (components/dr).
        secondary_priorities = cluster_priorities(settings, secondary_cluster, prefix)
        secondary_certificates = cluster_certificates(settings, secondary_cluster, prefix, zone, secondary_priorities)
        platform.recovery = recovery_for(
            stack_name,
            stack.dr,
            settings.cloud_cluster.dns,
            _side(primary.cluster, tuple(primary.priorities.ready) if primary.priorities else ()),
            _side(secondary_cluster, tuple(secondary_priorities.ready), (secondary_certificates.release,)),
            primary.data.built if primary.data else None,
            stack.data,
            settings.kubernetes_minor,
            settings.protect_stateful,
        )
        # The secondary region runs no data layer: its services connect to the copies there
        # (read-only until promotion), and its observability sees no in-cluster data services.
        platform.secondary = build_in_cluster(
            settings,
            secondary_cluster,
            replace(stack.observability, in_cluster_data=()),
            stack.mesh,
            registry,
            prefix=prefix,
            team_secrets=stack.sealed_secrets,
            front_door=front,
            zone=zone,
            published=published(secondary_cluster, False),
            failover_probes=True,
            replica_data=platform.recovery.built.data if platform.recovery else None,
            priorities=secondary_priorities,
            certificates=secondary_certificates,
            identity_secrets=primary.identity.built.client_secrets if primary.identity else None,
        )
        regions.append(platform.secondary)
        platform.identity_failover = identity_failover(primary, platform.secondary, front)
    if zone is not None:
        assert dns is not None
        platform.failover = DnsFailover(
            "failover",
            DnsFailoverArgs(
                cloud=settings.cloud,
                settings=dns,
                clusters=tuple(_regional(r, dns.origin(r.cluster.region or "")) for r in regions),
                zone=zone,
            ),
        )
        if front.edge == "cloudflare":
            # Imported here: Cloudflare's SDK loads every resource module at import (about two
            # seconds), which only the stacks with an edge should pay.
            from components.edge import Edge, EdgeArgs

            primary_origin = dns.origin(primary_cluster.region or "")
            token = settings.cloudflare_api_token
            platform.edge = Edge(
                "edge",
                EdgeArgs(
                    spec=front,
                    zone=zone,
                    api_origin=dns.fqdn if fails_over else primary_origin,
                    # Keycloak fails over with the API: each region's gateway routes its host to
                    # its own Keycloak (the secondary's a standby until a failover, docs/DR.md).
                    identity_origin=dns.fqdn if fails_over else primary_origin,
                    api_token=pulumi.Output.secret(token.get_secret_value()) if token else None,
                    origins=tuple(r.gateway.service for r in regions if r.gateway is not None),
                ),
            )
    return platform
