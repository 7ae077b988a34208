"""`Cluster`: where the platform runs, as one Kubernetes provider everything in-cluster uses.

One interface, one backend per target, chosen once from settings:
- `kind`: a local kind cluster (`kind/cluster.yaml`), reached through its kubeconfig context;
- `aws`: an EKS cluster in its own VPC (`components/cloud/eks.py`);
- `azure`: an AKS cluster in its own VNet (`components/cloud/aks.py`).
A backend returns the provider and, where it creates the cluster, its kubeconfig (secret) and
the network managed data services join. In prod, `build_platform` asks the same backend for a
second cluster in the secondary region (`ClusterArgs.secondary`). The contract the backends
implement (`ClusterArgs`, `ClusterEndpoint`, `ClusterBackend`) is in components/cloud/backend.py.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cloud.aks import AksBackend
from components.cloud.backend import ClusterArgs, ClusterBackend, ClusterEndpoint
from components.cloud.common import CloudScope
from components.cloud.eks import EksBackend
from components.network import CloudNetwork
from settings.seed import Cloud

__all__ = ["BACKENDS", "Cluster", "ClusterArgs", "ClusterEndpoint"]


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


BACKENDS: dict[Cloud, ClusterBackend] = {
    "kind": KubeconfigContextBackend("kind cluster"),
    "aws": EksBackend(),
    "azure": AksBackend(),
}


class Cluster(pulumi.ComponentResource):
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str] | None
    network: CloudNetwork | None
    region: str | None
    scope: CloudScope | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Cluster", name, None, opts)
        endpoint = BACKENDS[args.cloud].build(args, self)
        self.provider = endpoint.provider
        self.kubeconfig = endpoint.kubeconfig
        self.description = endpoint.description
        self.network = endpoint.network
        self.region = endpoint.region
        self.scope = endpoint.scope
        self.register_outputs({"description": endpoint.description})
