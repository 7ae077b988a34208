"""Where the mesh's control plane lives, and what a meshed namespace opens for it.

Fixed names, like the observability stack's (components/observability/endpoints.py), so the
context namespaces can label themselves for injection and let the sidecars reach istiod without
reaching back into the mesh component: data flows one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

ISTIO_NAMESPACE = "istio-system"  # istiod and the mesh-wide policies (Istio's root namespace)
ISTIO_CNI_NAMESPACE = "istio-cni"  # the CNI node agent: host paths, so its own privileged namespace
FLAGGER_NAMESPACE = "flagger-system"
ISTIOD_POD_LABELS = {"app": "istiod"}
# Sidecars fetch their configuration and certificates from istiod over mTLS on 15012.
XDS_PORT = 15012
# The API server calls istiod's injection and validation webhooks on 15017 (the Service's 443).
WEBHOOK_PORT = 15017
ISTIOD_MONITORING_PORT = 15014
# pilot-agent's port: health checks the kubelet's probes are rewritten to, and the merged
# Prometheus metrics (the app's own and Envoy's) on /stats/prometheus. Envoy itself never
# intercepts it, so Prometheus scrapes it without a client certificate under STRICT mTLS.
AGENT_PORT = 15020
MERGED_METRICS_PATH = "/stats/prometheus"
# Namespaces so labelled get the sidecar injected into every new pod.
INJECTION_LABEL = "istio-injection"
INJECTION_ENABLED = "enabled"


@dataclass(frozen=True)
class MeshAccess:
    """What a meshed (default-deny) namespace needs: the injection label, egress to istiod's xDS
    port, and Prometheus in on the agent's metrics port instead of the apps' own ports."""

    injection_labels: dict[str, str]
    istiod_namespace: str = ISTIO_NAMESPACE
    istiod_pod_labels: tuple[tuple[str, str], ...] = tuple(ISTIOD_POD_LABELS.items())
    xds_port: int = XDS_PORT
    metrics_port: int = AGENT_PORT

    def istiod_peer(self) -> k8s.networking.v1.NetworkPolicyPeerArgs:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"kubernetes.io/metadata.name": self.istiod_namespace}
            ),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.istiod_pod_labels)),
        )


MESH_ACCESS = MeshAccess(injection_labels={INJECTION_LABEL: INJECTION_ENABLED})


@dataclass(frozen=True)
class MeshCall:
    """One service calling another through the mesh (settings: `calls`): the NetworkPolicies of
    both namespaces open exactly this path, and the callee's AuthorizationPolicy names the caller."""

    caller_namespace: str
    caller_pods: tuple[tuple[str, str], ...]
    callee_namespace: str
    callee_pods: tuple[tuple[str, str], ...]
    port: int

    def caller_peer(self) -> k8s.networking.v1.NetworkPolicyPeerArgs:
        return _peer(self.caller_namespace, self.caller_pods)

    def callee_peer(self) -> k8s.networking.v1.NetworkPolicyPeerArgs:
        return _peer(self.callee_namespace, self.callee_pods)


def _peer(namespace: str, pods: tuple[tuple[str, str], ...]) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(pods)),
    )
