"""`Mesh`: Istio in sidecar mode with the CNI node agent, mesh-wide STRICT mTLS, and Flagger.

Why sidecars (and not ambient): Flagger, which runs the canaries, drives Istio through
VirtualServices and reads Istio's per-workload request metrics (`istio_requests_total` reported by
the destination); in ambient mode L7 metrics come from waypoints and VirtualServices on waypoints
are still alpha, so Flagger's built-in checks would find no data (docs/VERSIONS.md).

Why the CNI node agent: without it every meshed pod starts with `istio-init`, which needs
NET_ADMIN and NET_RAW, and the context namespaces enforce Pod Security `restricted`. With the
agent the injected init container is `istio-validation` and both it and `istio-proxy` run as UID
1337, non-root, read-only, every capability dropped; `global.proxy.seccompProfile:
RuntimeDefault` adds the seccomp profile `restricted` requires (Istio's injection template only
sets one when asked). The agent itself writes the node's CNI configuration through host paths,
so it lives alone in the `istio-cni` namespace at `privileged`; istiod's namespace stays
`restricted`.

What runs where:
- `istio-system` (restricted): the base chart (CRDs, validating webhook), istiod, the mesh-wide
  `PeerAuthentication` (STRICT) and the `Telemetry` that sends spans to the trace collector at the
  seed's 5%. Fenced: default deny; sidecars in labelled namespaces may reach istiod's xDS port, the
  API server its webhook port, Prometheus its monitoring port (components/observability); istiod
  may reach the API server;
- `istio-cni` (privileged): the node agent (host network, so NetworkPolicies do not apply);
- `flagger-system` (restricted, staging and prod): Flagger, with Istio as its router and the
  observability stack's Prometheus as its metrics source; fenced: it reaches the API server and
  Prometheus only.

Order on a fresh cluster: base (CRDs, webhook configuration) before istiod and every Istio
object; the CNI agent (beside them) and istiod both before every meshed workload (`ready`):
injection happens at admission, and a node must set up an injected pod's redirection.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.labels import PLATFORM_CONTEXT, PodSecurityLevel, pod_security_labels, standard_labels
from components.mesh.endpoints import (
    FLAGGER_NAMESPACE,
    INJECTION_ENABLED,
    INJECTION_LABEL,
    ISTIO_CNI_NAMESPACE,
    ISTIO_NAMESPACE,
    ISTIOD_POD_LABELS,
    WEBHOOK_PORT,
    XDS_PORT,
)
from components.network_policies import EVERY_POD, default_deny_spec, dns_egress_spec, tcp_ports
from components.observability.endpoints import PodPeer
from components.priorities import PLATFORM
from settings.mesh import MeshSpec

# The API server: its address is the cloud's, so the port is the narrowest rule (443 on EKS/AKS,
# 6443 on kind), as for the data namespace.
API_SERVER_PORTS = (443, 6443)
PROMETHEUS_PORT = 9090
TRACING_PROVIDER = "otel-tracing"
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}

# istiod's own size: a laptop's share in dev; two replicas from staging on, so a node drain or
# a crash never leaves sidecars without their control plane (they keep their last configuration,
# but new pods could not start).
ISTIOD_SIZE = {
    "dev": ({"cpu": "100m", "memory": "256Mi"}, {"memory": "1Gi"}, 1),
    "staging": ({"cpu": "500m", "memory": "1Gi"}, {"memory": "2Gi"}, 2),
    "prod": ({"cpu": "500m", "memory": "2Gi"}, {"memory": "4Gi"}, 2),
}


@dataclass(frozen=True)
class MeshArgs:
    spec: MeshSpec
    pod_security_version: str
    # Prometheus (Flagger's metrics source): its pods, and its query URL.
    prometheus: PodPeer
    prometheus_url: str
    # Where sidecars send spans (OTLP/gRPC), and the share of requests traced.
    trace_collector: tuple[str, int]
    trace_sample_percent: float
    # The PriorityClass the control plane names.
    scheduling: tuple[pulumi.Resource, ...] = ()


class Mesh(pulumi.ComponentResource):
    base: k8s.helm.v3.Release
    istiod: k8s.helm.v3.Release
    cni: k8s.helm.v3.Release
    flagger: k8s.helm.v3.Release | None

    def __init__(self, name: str, args: MeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:mesh:Mesh", name, None, opts)
        spec = args.spec
        env = spec.environment
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="mesh")

        def namespace(resource_name: str, ns: str, level: PodSecurityLevel) -> k8s.core.v1.Namespace:
            return k8s.core.v1.Namespace(
                f"{name}-{resource_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ns,
                    labels=labels
                    | pod_security_labels(args.pod_security_version, level, audit="restricted", warn="restricted"),
                ),
                # After the PriorityClasses, as everything else in the cluster: what a fresh cluster
                # gets first stays the same whatever registers fastest.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.scheduling)),
            )

        istio_ns = namespace("istio-system", ISTIO_NAMESPACE, "restricted")
        cni_ns = namespace("istio-cni", ISTIO_CNI_NAMESPACE, "privileged")

        def policy(
            ns: str, object_name: str, after: k8s.core.v1.Namespace, spec_: k8s.networking.v1.NetworkPolicySpecArgs
        ) -> None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{ns}-{object_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ns, labels=labels),
                spec=spec_,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[after]),
            )

        istiod_pods = k8s.meta.v1.LabelSelectorArgs(match_labels=dict(ISTIOD_POD_LABELS))
        policy(ISTIO_NAMESPACE, "default-deny", istio_ns, default_deny_spec())
        policy(ISTIO_NAMESPACE, "allow-dns", istio_ns, dns_egress_spec())
        policy(
            ISTIO_NAMESPACE,
            "allow-sidecars",
            istio_ns,
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=istiod_pods,
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                    match_labels={INJECTION_LABEL: INJECTION_ENABLED}
                                )
                            )
                        ],
                        ports=tcp_ports(XDS_PORT),
                    )
                ],
            ),
        )
        # The API server runs outside the pod network (the cloud's control plane, kind's node):
        # no peer names it, so only the port is narrowed.
        policy(
            ISTIO_NAMESPACE,
            "allow-webhooks",
            istio_ns,
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=istiod_pods,
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=tcp_ports(WEBHOOK_PORT))],
            ),
        )
        policy(
            ISTIO_NAMESPACE,
            "allow-api-server",
            istio_ns,
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=istiod_pods,
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=tcp_ports(*API_SERVER_PORTS))],
            ),
        )

        hub = {"hub": versions.ISTIO_HUB, "tag": versions.ISTIO_VERSION}
        self.base = versions.ISTIO_BASE.release(
            f"{name}-base",
            name="istio-base",
            namespace=ISTIO_NAMESPACE,
            values={"global": {"istioNamespace": ISTIO_NAMESPACE}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[istio_ns]),
        )
        self.cni = versions.ISTIO_CNI.release(
            f"{name}-cni",
            name="istio-cni",
            namespace=ISTIO_CNI_NAMESPACE,
            values={
                "global": {**hub, "logAsJson": True},
                "seccompProfile": RUNTIME_DEFAULT,
                **({"resources": {"requests": {"cpu": "20m", "memory": "64Mi"}}} if env == "dev" else {}),
                # Neither the control plane's nor the node agent's own pods are meshed.
                "excludeNamespaces": ["kube-system", ISTIO_NAMESPACE, ISTIO_CNI_NAMESPACE],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cni_ns]),
        )
        sidecar = spec.sidecar
        requests, limits, replicas = ISTIOD_SIZE[env]
        collector_host, collector_port = args.trace_collector
        self.istiod = versions.ISTIOD.release(
            f"{name}-istiod",
            name="istiod",
            namespace=ISTIO_NAMESPACE,
            values={
                "global": {
                    **hub,
                    "istioNamespace": ISTIO_NAMESPACE,
                    "priorityClassName": PLATFORM.name,
                    "logAsJson": True,
                    "proxy": {
                        # Pod Security `restricted` asks every container for a seccomp profile.
                        "seccompProfile": RUNTIME_DEFAULT,
                        "resources": {
                            "requests": {"cpu": sidecar.cpu_request, "memory": sidecar.memory_request},
                            "limits": {"cpu": sidecar.cpu_limit, "memory": sidecar.memory_limit},
                        },
                    },
                },
                # The injector reads this as `pilot.cni.enabled` (istiod-injector-configmap.yaml picks
                # the chart's top-level `cni` into `pilot`): istio-validation instead of istio-init.
                "cni": {"enabled": True},
                "seccompProfile": RUNTIME_DEFAULT,
                "resources": {"requests": requests, "limits": limits},
                "autoscaleMin": replicas,
                "replicaCount": replicas,
                "meshConfig": {
                    # Prometheus scrapes the app's and Envoy's metrics together from the agent.
                    "enablePrometheusMerge": True,
                    # Apps start once their sidecar is ready, so their first calls are not refused.
                    "defaultConfig": {"holdApplicationUntilProxyStarts": True},
                    "accessLogFile": "/dev/stdout",
                    "accessLogEncoding": "JSON",
                    # Egress is fenced by the namespaces' NetworkPolicies (the managed data services
                    # are outside the mesh's registry, so REGISTRY_ONLY would need an entry for each).
                    "outboundTrafficPolicy": {"mode": "ALLOW_ANY"},
                    "extensionProviders": [
                        {
                            "name": TRACING_PROVIDER,
                            "opentelemetry": {"service": collector_host, "port": collector_port},
                        }
                    ],
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[istio_ns, self.base, *args.scheduling]),
        )
        after_istiod = pulumi.ResourceOptions(parent=self, depends_on=[self.base, self.istiod])
        mesh_meta = k8s.meta.v1.ObjectMetaArgs(name="default", namespace=ISTIO_NAMESPACE, labels=labels)
        # In the root namespace and without a selector: every workload of the mesh.
        self.peer_authentication = k8s.apiextensions.CustomResource(
            f"{name}-peer-authentication",
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata=mesh_meta,
            spec={"mtls": {"mode": "STRICT"}},
            opts=after_istiod,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-telemetry",
            api_version="telemetry.istio.io/v1",
            kind="Telemetry",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="mesh-default", namespace=ISTIO_NAMESPACE, labels=labels),
            spec={
                "tracing": [
                    {
                        "providers": [{"name": TRACING_PROVIDER}],
                        "randomSamplingPercentage": args.trace_sample_percent,
                    }
                ]
            },
            opts=after_istiod,
        )

        self.flagger = None
        if spec.canary is not None:
            flagger_ns = namespace("flagger-system", FLAGGER_NAMESPACE, "restricted")
            policy(FLAGGER_NAMESPACE, "default-deny", flagger_ns, default_deny_spec())
            policy(FLAGGER_NAMESPACE, "allow-dns", flagger_ns, dns_egress_spec())
            policy(
                FLAGGER_NAMESPACE,
                "allow-api-server-and-prometheus",
                flagger_ns,
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=tcp_ports(*API_SERVER_PORTS)),
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                            to=[args.prometheus.peer()], ports=tcp_ports(PROMETHEUS_PORT)
                        ),
                    ],
                ),
            )
            self.flagger = versions.FLAGGER.release(
                f"{name}-flagger",
                name="flagger",
                namespace=FLAGGER_NAMESPACE,
                values={
                    "image": {"tag": versions.FLAGGER_IMAGE_TAG},
                    "meshProvider": "istio",
                    "metricsServer": args.prometheus_url,
                    "podPriorityClassName": PLATFORM.name,
                    # The chart's own annotations ask Linkerd and App Mesh to inject: not used here.
                    "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
                    "securityContext": {
                        "enabled": True,
                        "context": {
                            "readOnlyRootFilesystem": True,
                            "runAsUser": 10001,
                            "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": RUNTIME_DEFAULT,
                        },
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[flagger_ns, self.istiod, *args.scheduling]),
            )
        self.register_outputs(
            {
                "istioVersion": versions.ISTIO_VERSION,
                "mtls": "STRICT",
                "canaries": self.flagger is not None,
            }
        )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a sidecar-injected workload waits for: the node agent and istiod (its injector)."""
        return [self.cni, self.istiod]

    @property
    def traffic_ready(self) -> list[pulumi.Resource]:
        """What the services' Istio and Flagger objects wait for: the CRDs, istiod's validation
        webhook and, where there are canaries, Flagger (its CRDs come with its chart)."""
        return [self.base, self.istiod, *([self.flagger] if self.flagger is not None else [])]
