"""Looking things up in a plan: parents, children, providers, regions.

The commands built on a plan (graph, critical-path, cost) read it through this index, so each
knows the same way which cluster and which region a resource belongs to. Everything here works
on the plan contract alone (`hubctl/plan.schema.json`): no module knows a component by its
Python class, only by its type token, its parent and its inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

K8S_PROVIDER = "pulumi:providers:kubernetes"


def short_type(type_: str) -> str:
    """`aws:rds/instance:Instance` -> `Instance`; `bakhmach:data:PostgresCluster` -> `PostgresCluster`."""
    return type_.rsplit(":", 1)[-1]


@dataclass
class Res:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    protect: bool
    inputs: dict[str, Any]

    @property
    def kind(self) -> str | None:
        """A Kubernetes object's kind (None for anything else)."""
        if self.type.startswith("kubernetes:") and isinstance(self.inputs.get("kind"), str):
            return str(self.inputs["kind"])
        return None

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.inputs.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}


@dataclass
class PlanIndex:
    """A plan (its JSON document) with the lookups the commands need."""

    stack: str
    cloud: str
    resources: list[Res]
    outputs: dict[str, Any]
    by_urn: dict[str, Res] = field(init=False)
    children: dict[str | None, list[Res]] = field(init=False)
    _regions: dict[str, str | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}
        self.children = {}
        for r in self.resources:
            parent = r.parent if r.parent in self.by_urn else None
            self.children.setdefault(parent, []).append(r)

    @classmethod
    def of(cls, document: dict[str, Any]) -> PlanIndex:
        keys = ("urn", "type", "name", "custom", "parent", "provider", "dependencies", "protect", "inputs")
        return cls(
            stack=document["stack"],
            cloud=document["cloud"],
            resources=[Res(**{k: r[k] for k in keys}) for r in document["resources"]],
            outputs=document.get("outputs") or {},
        )

    def ancestors(self, r: Res) -> Iterator[Res]:
        seen: set[str] = set()
        parent = self.by_urn.get(r.parent or "")
        while parent is not None and parent.urn not in seen:
            seen.add(parent.urn)
            yield parent
            parent = self.by_urn.get(parent.parent or "")

    def descendants(self, r: Res) -> Iterator[Res]:
        stack = list(self.children.get(r.urn, []))
        seen: set[str] = set()
        while stack:
            child = stack.pop()
            if child.urn in seen:
                continue
            seen.add(child.urn)
            yield child
            stack.extend(self.children.get(child.urn, []))

    def top(self, r: Res) -> Res:
        """The resource's outermost component (itself when it has no parent in the plan)."""
        found = r
        for ancestor in self.ancestors(r):
            found = ancestor
        return found

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources if r.type == type_]

    # ---- clusters and regions -------------------------------------------------------------------

    @functools.cached_property
    def k8s_providers(self) -> list[Res]:
        return self.of_type(K8S_PROVIDER)

    def region_of(self, r: Res) -> str | None:
        """Where a cloud resource lives: its `location` input, or its AWS provider's `region`;
        for a Kubernetes object, the region of its cluster. None when the plan does not say."""
        if r.type.startswith("kubernetes:") and r.provider in self.by_urn:
            return self.cluster_region(self.by_urn[r.provider])
        location = r.inputs.get("location")
        # "global" is where Azure keeps DNS zones and Traffic Manager: no region of its own.
        if isinstance(location, str) and location and not location.startswith("[") and location.lower() != "global":
            return location
        provider = self.by_urn.get(r.provider or "")
        if provider is not None:
            region = provider.inputs.get("region") or provider.inputs.get("location")
            if isinstance(region, str) and region:
                return region
        return None

    def cluster_region(self, provider: Res) -> str | None:
        """A Kubernetes provider's region: the first region found among the custom resources of
        the component that made the provider (the EKS/AKS cluster component), if any."""
        if provider.urn not in self._regions:
            self._regions[provider.urn] = self._find_cluster_region(provider)
        return self._regions[provider.urn]

    def _find_cluster_region(self, provider: Res) -> str | None:
        for owner in self.ancestors(provider):
            for r in self.descendants(owner):
                if r.type.startswith("kubernetes:") or r.type == K8S_PROVIDER:
                    continue
                if r.custom:
                    region = self.region_of(r)
                    if region:
                        return region
        return None

    def cluster_resource(self, provider: Res) -> Res | None:
        """The cloud resource that is the cluster (EKS, AKS) beside a Kubernetes provider."""
        for owner in self.ancestors(provider):
            for r in self.descendants(owner):
                if r.type in CLUSTER_TYPES:
                    return r
        return None

    def primary_provider(self) -> Res | None:
        """The primary cluster's Kubernetes provider: the one whose region the stack's `cluster`
        output names (prod registers its secondary region's cluster too), else the first."""
        described = self.outputs.get("cluster")
        for provider in self.k8s_providers:
            region = self.cluster_region(provider)
            if isinstance(described, str) and region and f" in {region}" in described:
                return provider
        return self.k8s_providers[0] if self.k8s_providers else None

    def default_region(self) -> str | None:
        """The primary region: the primary cluster's region, else the first region in the plan."""
        primary = self.primary_provider()
        for provider in ([primary] if primary else []) + self.k8s_providers:
            region = self.cluster_region(provider)
            if region:
                return region
        for r in self.resources:
            if r.custom and not r.type.startswith("kubernetes:"):
                region = self.region_of(r)
                if region:
                    return region
        return None


# The resource types that are a Kubernetes cluster, with the name people call them by.
CLUSTER_TYPES = {
    "aws:eks/cluster:Cluster": "EKS",
    "azure-native:containerservice:ManagedCluster": "AKS",
}


def dig(value: Any, *path: str | int) -> Any:
    """`value[path[0]][path[1]]…`, or None where the plan has something else (inputs are free-form)."""
    for part in path:
        if isinstance(part, int):
            value = value[part] if isinstance(value, list) and -len(value) <= part < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def items(value: Any) -> list[Any]:
    """A list from a plan's inputs, or nothing when the plan has another kind of value there."""
    return value if isinstance(value, list) else []


def as_int(value: Any, default: int = 0) -> int:
    """A count from a plan's inputs (numbers arrive as ints or floats; unknowns as strings)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return default
