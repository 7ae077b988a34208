"""The contract between `Cluster` (components/cluster.py) and its backends (kind, EKS, AKS).

It lives beside the backends, not in cluster.py: cluster.py chooses a backend and the backends
implement this contract, so each imports this module and neither imports the other.
- `ClusterArgs`: what `Cluster` asks a backend for (which stack, cloud, version, region role);
- `ClusterEndpoint`: what a backend gives back (the Kubernetes provider, the kubeconfig, the
  network managed services join, the cloud scope the cluster was built with);
- `ClusterBackend`: the one method every backend has;
- `scope_for`: the region and tags of the cluster `ClusterArgs` asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.cloud.common import CloudScope
from components.network import CloudNetwork
from settings.cloud import CloudSettings
from settings.seed import Cloud, Environment


@dataclass(frozen=True)
class ClusterArgs:
    stack_name: str
    environment: Environment
    cloud: Cloud
    kubeconfig_context: str | None
    kubernetes_version: str
    # Cloud clusters only: their settings, tag owner, and whether this is prod's second region.
    cloud_settings: CloudSettings = field(default_factory=CloudSettings)
    owner: str = "platform-team"
    secondary: bool = False
    protect: bool = False
    # The ACR the nodes pull from (AKS: the kubelet identity is granted AcrPull on it); EKS nodes
    # pull from ECR through their node role, and ghcr needs nothing of the cluster.
    acr_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ClusterEndpoint:
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str] | None
    description: str
    network: CloudNetwork | None = None
    region: str | None = None
    # Cloud clusters: the stack/region/tags they were built with (DNS failover reuses them).
    scope: CloudScope | None = None


class ClusterBackend(Protocol):
    def build(self, args: ClusterArgs, parent: pulumi.Resource) -> ClusterEndpoint: ...


def scope_for(args: ClusterArgs, region: str, secondary_region: str | None, key: str) -> CloudScope:
    """The scope of the cluster `args` asks for: the primary region, or (prod) the secondary one.
    A secondary cluster is asked for only where resolve_stack found the secondary region `key`."""
    chosen = secondary_region if args.secondary else region
    assert chosen is not None, f"{key}: resolve_stack requires it for a secondary cluster"
    return CloudScope(
        stack_name=args.stack_name,
        environment=args.environment,
        owner=args.owner,
        region=chosen,
        secondary=args.secondary,
        protect=args.protect,
    )
