"""The NetworkPolicy building blocks every fenced namespace uses (context and data namespaces).

Zero trust in one place: deny everything, then allow DNS to kube-dns and only the narrow peers a
namespace needs, so a change to what "DNS" or "default deny" means is made once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    # Only the type: the data package builds its own policies with these blocks, so importing it
    # here would be circular for whoever imports this module first (the observability monitors).
    from components.data.connection import DataEgress

EVERY_POD = k8s.meta.v1.LabelSelectorArgs()


def namespace_peer(namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace})
    )


def tcp_ports(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def default_deny_spec() -> k8s.networking.v1.NetworkPolicySpecArgs:
    """Every pod of the namespace: no ingress, no egress, until an allow says otherwise."""
    return k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=EVERY_POD, policy_types=["Ingress", "Egress"])


def dns_egress_spec() -> k8s.networking.v1.NetworkPolicySpecArgs:
    """Name resolution, and only to the cluster's DNS pods."""
    return k8s.networking.v1.NetworkPolicySpecArgs(
        pod_selector=EVERY_POD,
        policy_types=["Egress"],
        egress=[
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                to=[
                    k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={"kubernetes.io/metadata.name": "kube-system"}
                        ),
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                    )
                ],
                ports=[
                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                    k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
                ],
            )
        ],
    )


def data_egress_rule(egress: DataEgress) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    """To a data service: only its own ports, only where it runs (its namespace, or its network)."""
    if egress.namespace is not None:
        peer = namespace_peer(egress.namespace)
        if egress.pod_labels is not None:
            peer = k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=peer.namespace_selector,
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(egress.pod_labels)),
            )
    else:
        assert egress.cidr is not None, "a data service is in a namespace or a network range"
        peer = k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=egress.cidr))
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[peer], ports=tcp_ports(*egress.ports))
