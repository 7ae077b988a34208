"""`ClusterAddons`: what the platform's own objects need from a bare cluster.

- metrics-server, so HorizontalPodAutoscalers can read CPU/memory (kind and EKS ship none;
  AKS runs its own, so it is skipped there);
- the Vertical Pod Autoscaler's recommender and its CRDs, so VerticalPodAutoscaler objects
  exist and produce recommendations. The updater and admission controller are not installed:
  every VPA here is in recommendation mode (see ContextService for why).
Chart versions are pinned in `versions.py` and explained in docs/VERSIONS.md. Both run in
kube-system at Kubernetes' `system-cluster-critical` (components/priorities.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.priorities import SYSTEM_CLUSTER_CRITICAL
from settings.seed import Cloud


@dataclass(frozen=True)
class ClusterAddonsArgs:
    cloud: Cloud


class ClusterAddons(pulumi.ComponentResource):
    metrics_server: k8s.helm.v3.Release | None
    vpa: k8s.helm.v3.Release

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.metrics_server = None
        if args.cloud != "azure":
            metrics_args = ["--kubelet-insecure-tls"] if args.cloud == "kind" else []
            # kind's kubelets serve self-signed certificates; on EKS they are CA-signed, so the
            # insecure flag is for kind only.
            self.metrics_server = versions.METRICS_SERVER.release(
                f"{name}-metrics-server",
                name="metrics-server",
                namespace="kube-system",
                values={
                    "args": metrics_args,
                    "replicas": 1 if args.cloud == "kind" else 2,
                    "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
                },
                opts=child,
            )

        self.vpa = versions.VPA.release(
            f"{name}-vpa",
            name="vpa",
            namespace="kube-system",
            values={
                "recommender": {"enabled": True},
                "updater": {"enabled": False},
                "admissionController": {"enabled": False},
                "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
            },
            opts=child,
        )
        self.register_outputs({})

    @property
    def hpa_dependencies(self) -> list[pulumi.Resource]:
        """What an HPA needs before it can act: a metrics API."""
        return [self.metrics_server] if self.metrics_server else []

    @property
    def vpa_dependencies(self) -> list[pulumi.Resource]:
        """What a VerticalPodAutoscaler object needs: the VPA CRDs and recommender."""
        return [self.vpa]
