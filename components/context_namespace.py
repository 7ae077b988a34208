"""`ContextNamespace`: one business context's namespace, fenced and sized.

- labels naming the context and tenant, and Pod Security Standards `restricted` enforcement;
- a ResourceQuota that fits the context's services at their autoscaling maximum plus a rollout
  surge, and a LimitRange giving containers without resources a default and a ceiling;
- zero trust: a default-deny NetworkPolicy for ingress and egress, then only DNS to kube-dns and
  ingress from the gateway namespaces on the services' own ports, and egress to the data
  services the namespace's services use, on those services' ports only; with observability,
  ingress from Prometheus on the services' ports (their metrics are served there) and egress to
  the trace collector's OTLP ports;
- the namespace's own credentials for those data services, one `data-<service>` Secret each
  (components/data/credentials.py), where one of them runs in the cluster the data CA its
  services verify servers with (a `trust-data-ca` Certificate: components/data/tls.py), where
  one of them is RDS, RDS's CA bundle (the `trust-rds-ca` ConfigMap: components/data/trust.py), and,
  where the clusters pull from ghcr with the stack's credential, its `registry-pull` Secret
  (components/registry.py): made here because this component owns the namespace;
- in the mesh (components/mesh): the injection label, egress to istiod's xDS port, Prometheus in
  on the sidecar agent's merged-metrics port instead of the services' own ports (their ports
  speak only mTLS), each call the settings allow (`calls`) opened between exactly the two
  services' pods on the callee's port, and an `allow-nothing` AuthorizationPolicy, so a workload
  no policy names accepts no request at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.data.connection import DataAccess
from components.data.credentials import consumer_secret
from components.data.tls import DataCa, consumer_ca
from components.data.trust import rds_ca_config_map
from components.labels import GATEWAY_ROLE, GATEWAY_ROLE_LABEL, pod_security_labels, standard_labels, ttl_label
from components.mesh.endpoints import MeshAccess, MeshCall
from components.network_policies import EVERY_POD, data_egress_rule, default_deny_spec, dns_egress_spec, tcp_ports
from components.observability.endpoints import PodPeer, TelemetryAccess
from components.registry import pull_secret
from settings.mesh import SidecarResources
from settings.model import ServiceSpec
from settings.quantity import MI, cpu_millicores, format_cpu, format_memory, memory_bytes
from settings.seed import Environment

# Room per pod for what runs beside the app container (an init container, a debugging sidecar);
# in the mesh, the injected sidecar's own requests and limits (`PodOverhead.of`).
POD_OVERHEAD_CPU_M = 100
POD_OVERHEAD_MEMORY_B = 128 * MI
# Room for what the context runs besides its services (jobs, migrations, debugging pods).
BASE_CPU_M = 500
BASE_MEMORY_B = 512 * MI
BASE_PODS = 10
HEADROOM_PERCENT = 125

# LimitRange defaults for a container that declares no resources.
DEFAULT_REQUEST = {"cpu": "50m", "memory": "64Mi"}
DEFAULT_LIMIT = {"cpu": "250m", "memory": "256Mi"}


@dataclass(frozen=True)
class PodOverhead:
    """What each pod runs beside its app container, requests and limits (millicores, bytes)."""

    cpu_request_m: int = POD_OVERHEAD_CPU_M
    memory_request_b: int = POD_OVERHEAD_MEMORY_B
    cpu_limit_m: int = POD_OVERHEAD_CPU_M
    memory_limit_b: int = POD_OVERHEAD_MEMORY_B

    @classmethod
    def of(cls, sidecar: SidecarResources) -> PodOverhead:
        return cls(
            cpu_millicores(sidecar.cpu_request),
            memory_bytes(sidecar.memory_request),
            cpu_millicores(sidecar.cpu_limit),
            memory_bytes(sidecar.memory_limit),
        )


@dataclass(frozen=True)
class ContextNamespaceArgs:
    context: str
    title: str
    environment: Environment
    pod_security_version: str  # e.g. "v1.36": pinned so a cluster upgrade cannot tighten it silently
    services: tuple[ServiceSpec, ...] = field(default_factory=tuple)
    # The data services the namespace's services use: where they are (for the egress policy) and
    # the namespace's own credentials (for its Secrets).
    data: tuple[DataAccess, ...] = field(default_factory=tuple)
    # The CA of the in-cluster data services (None where nothing runs in the cluster).
    data_ca: DataCa | None = None
    # Prometheus in, OTLP out (components/observability).
    telemetry: TelemetryAccess | None = None
    # Keycloak's pods, where the namespace's services ask for their client-credentials tokens
    # (components/identity.py `KEYCLOAK_PEER`), in a cluster that runs Keycloak.
    identity: PodPeer | None = None
    # The mesh: injection, istiod, the calls in and out of the namespace (components/mesh), what
    # each pod runs beside its app (the sidecar), and what the namespace's Istio objects wait for.
    mesh: MeshAccess | None = None
    calls: tuple[MeshCall, ...] = field(default_factory=tuple)
    pod_overhead: PodOverhead = field(default_factory=PodOverhead)
    mesh_dependencies: tuple[pulumi.Resource, ...] = field(default_factory=tuple)
    # ghcr: the docker config (a secret) the namespace's `registry-pull` Secret carries, where the
    # clusters pull with the stack's credential (`RegistryEndpoint.docker_config`).
    registry_pull: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class QuotaSize:
    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str
    pods: int
    max_container_cpu: str
    max_container_memory: str


def quota_for(services: tuple[ServiceSpec, ...], overhead: PodOverhead | None = None) -> QuotaSize:
    """Every service at its maximum replicas plus one surge pod, with overhead and headroom."""
    extra = overhead or PodOverhead()
    req_cpu, req_mem = BASE_CPU_M, BASE_MEMORY_B
    lim_cpu, lim_mem = BASE_CPU_M, BASE_MEMORY_B
    pods = BASE_PODS
    max_cpu, max_mem = 1000, 1024 * MI
    for svc in services:
        count = svc.max_replicas + 1
        r = svc.resources
        req_cpu += count * (r.cpu_request_millicores + extra.cpu_request_m)
        req_mem += count * (r.memory_request_bytes + extra.memory_request_b)
        lim_cpu += count * (r.cpu_limit_millicores + extra.cpu_limit_m)
        lim_mem += count * (r.memory_limit_bytes + extra.memory_limit_b)
        pods += count
        max_cpu = max(max_cpu, r.cpu_limit_millicores, extra.cpu_limit_m)
        max_mem = max(max_mem, r.memory_limit_bytes, extra.memory_limit_b)

    def grow(value: int, step: int) -> int:
        scaled = -(-value * HEADROOM_PERCENT // 100)
        return -(-scaled // step) * step

    return QuotaSize(
        requests_cpu=format_cpu(grow(req_cpu, 100)),
        requests_memory=format_memory(grow(req_mem, 128 * MI)),
        limits_cpu=format_cpu(grow(lim_cpu, 100)),
        limits_memory=format_memory(grow(lim_mem, 128 * MI)),
        pods=pods,
        max_container_cpu=format_cpu(max_cpu),
        max_container_memory=format_memory(max_mem),
    )


class ContextNamespace(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    name: str

    def __init__(self, name: str, args: ContextNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:ContextNamespace", name, None, opts)
        self.name = args.context
        labels = standard_labels(context=args.context, environment=args.environment)
        pss = pod_security_labels(args.pod_security_version, "restricted", audit="restricted", warn="restricted")
        injection = args.mesh.injection_labels if args.mesh else {}
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.context,
                labels=labels | pss | injection,
                annotations={"bakhmach.io/context-title": args.title, "bakhmach.io/ttl": ttl_label(args.environment)},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.context, labels=labels)

        size = quota_for(args.services, args.pod_overhead)
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("context-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": size.requests_cpu,
                    "requests.memory": size.requests_memory,
                    "limits.cpu": size.limits_cpu,
                    "limits.memory": size.limits_memory,
                    "pods": str(size.pods),
                    # Only the gateway may be exposed outside the cluster.
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                }
            ),
            opts=inside,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("context-limits"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request=DEFAULT_REQUEST,
                        default=DEFAULT_LIMIT,
                        max={"cpu": size.max_container_cpu, "memory": size.max_container_memory},
                    )
                ]
            ),
            opts=inside,
        )

        self.default_deny = k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny", metadata=meta("default-deny"), spec=default_deny_spec(), opts=inside
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-dns", metadata=meta("allow-dns"), spec=dns_egress_spec(), opts=inside
        )
        ports = sorted({svc.port for svc in args.services})
        if ports:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-gateway",
                metadata=meta("allow-from-gateway"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[
                                k8s.networking.v1.NetworkPolicyPeerArgs(
                                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                        match_labels={GATEWAY_ROLE_LABEL: GATEWAY_ROLE}
                                    )
                                )
                            ],
                            ports=tcp_ports(*ports),
                        )
                    ],
                ),
                opts=inside,
            )
        if args.telemetry is not None and ports:
            # In the mesh the services' ports accept mTLS only: Prometheus scrapes the sidecar
            # agent, which serves the app's metrics merged with Envoy's.
            scraped = [args.mesh.metrics_port] if args.mesh else ports
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-prometheus",
                metadata=meta("allow-from-prometheus"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[args.telemetry.scraper.peer()], ports=tcp_ports(*scraped)
                        )
                    ],
                ),
                opts=inside,
            )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-otlp",
                metadata=meta("allow-to-trace-collector"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[args.telemetry.otlp.peer()], ports=tcp_ports(*args.telemetry.otlp.ports)
                        )
                    ],
                ),
                opts=inside,
            )
        if args.identity is not None and ports:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-identity",
                metadata=meta("allow-to-identity"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[args.identity.peer()], ports=tcp_ports(*args.identity.ports)
                        )
                    ],
                ),
                opts=inside,
            )
        if args.data:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-data",
                metadata=meta("allow-to-data"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[data_egress_rule(access.endpoint.egress) for access in args.data],
                ),
                opts=inside,
            )
        if args.mesh is not None:
            self._mesh(name, args, args.mesh, meta, inside)
        self.data_secrets: list[pulumi.Resource] = [
            consumer_secret(f"{name}-data-{access.service}", args.context, access, args.environment, inside)
            for access in args.data
        ]
        if args.data_ca is not None and any(access.endpoint.trust == "data-ca" for access in args.data):
            self.data_secrets.append(
                consumer_ca(f"{name}-data-tls", args.context, args.data_ca, args.environment, self, [self.namespace])
            )
        if any(access.endpoint.tls and access.endpoint.trust == "rds" for access in args.data):
            self.data_secrets.append(
                rds_ca_config_map(f"{name}-rds-ca", args.context, args.context, args.environment, inside)
            )
        self.pull_secret = (
            pull_secret(f"{name}-registry-pull", args.context, args.registry_pull, args.environment, inside)
            if args.registry_pull is not None
            else None
        )
        self.register_outputs({"namespace": args.context})

    def _mesh(
        self,
        name: str,
        args: ContextNamespaceArgs,
        mesh: MeshAccess,
        meta: Callable[[str], k8s.meta.v1.ObjectMetaArgs],
        inside: pulumi.ResourceOptions,
    ) -> None:
        k8s.networking.v1.NetworkPolicy(
            f"{name}-allow-istiod",
            metadata=meta("allow-to-istiod"),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=EVERY_POD,
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[mesh.istiod_peer()], ports=tcp_ports(mesh.xds_port)
                    )
                ],
            ),
            opts=inside,
        )
        calls_in = [c for c in args.calls if c.callee_namespace == args.context]
        calls_out = [c for c in args.calls if c.caller_namespace == args.context]
        if calls_in:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-calls-in",
                metadata=meta("allow-calls-in"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[call.caller_peer()], ports=tcp_ports(call.port)
                        )
                        for call in calls_in
                    ],
                ),
                opts=inside,
            )
        if calls_out:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-calls-out",
                metadata=meta("allow-calls-out"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[call.callee_peer()], ports=tcp_ports(call.port)
                        )
                        for call in calls_out
                    ],
                ),
                opts=inside,
            )
        # An ALLOW policy without rules matches nothing: with it, a request reaches a workload of
        # the namespace only where another policy (the services' own, components/mesh) allows it.
        k8s.apiextensions.CustomResource(
            f"{name}-allow-nothing",
            api_version="security.istio.io/v1",
            kind="AuthorizationPolicy",
            metadata=meta("allow-nothing"),
            spec={"action": "ALLOW"},
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=list(args.mesh_dependencies))),
        )
