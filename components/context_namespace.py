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
  (components/data/credentials.py), and, where the clusters pull from ghcr with the stack's
  credential, its `registry-pull` Secret (components/registry.py): made here because this
  component owns the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.data.connection import DataAccess
from components.data.credentials import consumer_secret
from components.labels import GATEWAY_ROLE, GATEWAY_ROLE_LABEL, pod_security_labels, standard_labels, ttl_label
from components.network_policies import EVERY_POD, data_egress_rule, default_deny_spec, dns_egress_spec, tcp_ports
from components.observability.endpoints import PodPeer, TelemetryAccess
from components.registry import pull_secret
from settings.model import ServiceSpec
from settings.quantity import MI, format_cpu, format_memory
from settings.seed import Environment

# Room per pod for what runs beside the app container (a mesh sidecar, an init container).
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
class ContextNamespaceArgs:
    context: str
    title: str
    environment: Environment
    pod_security_version: str  # e.g. "v1.36": pinned so a cluster upgrade cannot tighten it silently
    services: tuple[ServiceSpec, ...] = field(default_factory=tuple)
    # The data services the namespace's services use: where they are (for the egress policy) and
    # the namespace's own credentials (for its Secrets).
    data: tuple[DataAccess, ...] = field(default_factory=tuple)
    # Prometheus in, OTLP out (components/observability).
    telemetry: TelemetryAccess | None = None
    # Keycloak's pods, where the namespace's services ask for their client-credentials tokens
    # (components/identity.py `KEYCLOAK_PEER`), in a cluster that runs Keycloak.
    identity: PodPeer | None = None
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


def quota_for(services: tuple[ServiceSpec, ...]) -> QuotaSize:
    """Every service at its maximum replicas plus one surge pod, with overhead and headroom."""
    req_cpu, req_mem = BASE_CPU_M, BASE_MEMORY_B
    lim_cpu, lim_mem = BASE_CPU_M, BASE_MEMORY_B
    pods = BASE_PODS
    max_cpu, max_mem = 1000, 1024 * MI
    for svc in services:
        count = svc.max_replicas + 1
        r = svc.resources
        req_cpu += count * (r.cpu_request_millicores + POD_OVERHEAD_CPU_M)
        req_mem += count * (r.memory_request_bytes + POD_OVERHEAD_MEMORY_B)
        lim_cpu += count * (r.cpu_limit_millicores + POD_OVERHEAD_CPU_M)
        lim_mem += count * (r.memory_limit_bytes + POD_OVERHEAD_MEMORY_B)
        pods += count
        max_cpu = max(max_cpu, r.cpu_limit_millicores)
        max_mem = max(max_mem, r.memory_limit_bytes)

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
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.context,
                labels=labels | pss,
                annotations={"bakhmach.io/context-title": args.title, "bakhmach.io/ttl": ttl_label(args.environment)},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.context, labels=labels)

        size = quota_for(args.services)
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
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-prometheus",
                metadata=meta("allow-from-prometheus"),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[args.telemetry.scraper.peer()], ports=tcp_ports(*ports)
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
        self.data_secrets = [
            consumer_secret(f"{name}-data-{access.service}", args.context, access, args.environment, inside)
            for access in args.data
        ]
        self.pull_secret = (
            pull_secret(f"{name}-registry-pull", args.context, args.registry_pull, args.environment, inside)
            if args.registry_pull is not None
            else None
        )
        self.register_outputs({"namespace": args.context})
