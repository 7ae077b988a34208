"""`Cluster`: where the platform runs, as one Kubernetes provider everything in-cluster uses.

One interface, one backend per target, chosen once from settings:
- `kind`: a local kind cluster (`kind/cluster.yaml`), reached through its kubeconfig context;
- `aws` / `azure`: until the EKS/AKS backends land, an existing cluster reached through a
  kubeconfig context from settings, so staging and prod plans run from the start.
A backend returns the provider and, where it creates the cluster, its kubeconfig (secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.network import CloudNetwork
from settings.seed import Cloud, Environment


@dataclass(frozen=True)
class ClusterArgs:
    stack_name: str
    environment: Environment
    cloud: Cloud
    kubeconfig_context: str
    kubernetes_version: str


@dataclass(frozen=True)
class ClusterEndpoint:
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str] | None
    description: str
    network: CloudNetwork | None = None


class ClusterBackend(Protocol):
    def build(self, args: ClusterArgs, parent: pulumi.Resource) -> ClusterEndpoint: ...


class KubeconfigContextBackend:
    """A cluster that exists already (kind, or a cloud cluster made elsewhere)."""

    def __init__(self, description: str) -> None:
        self._description = description

    def build(self, args: ClusterArgs, parent: pulumi.Resource) -> ClusterEndpoint:
        provider = k8s.Provider(
            f"{args.stack_name}-k8s",
            context=args.kubeconfig_context,
            # Server-side apply lets the HPA own spec.replicas without a tug of war.
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return ClusterEndpoint(
            provider=provider,
            kubeconfig=None,
            description=f"{self._description} (context {args.kubeconfig_context})",
        )


# The seam for EKS and AKS: their backends replace the two cloud entries here.
BACKENDS: dict[Cloud, ClusterBackend] = {
    "kind": KubeconfigContextBackend("kind cluster"),
    "aws": KubeconfigContextBackend("existing EKS cluster"),
    "azure": KubeconfigContextBackend("existing AKS cluster"),
}


class Cluster(pulumi.ComponentResource):
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str] | None
    network: CloudNetwork | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Cluster", name, None, opts)
        endpoint = BACKENDS[args.cloud].build(args, self)
        self.provider = endpoint.provider
        self.kubeconfig = endpoint.kubeconfig
        self.description = endpoint.description
        self.network = endpoint.network
        self.register_outputs({"description": endpoint.description})
