"""Capacity: at every HPA's maximum, the stack's pod requests fit the node autoscaler's ceiling
(the seed's 50 nodes of the largest node type the stack's node groups/pools may launch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    SCALABLE_KINDS,
    as_number,
    cluster_of,
    get,
    group_of,
    items,
    kubernetes_objects,
    name,
    namespace,
    pod_spec,
    quantity,
    stack_policy,
)

INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")


def node_types(resources: list[PolicyResource]) -> list[str]:
    """Instance types / VM sizes the stack's node groups, pools and Karpenter NodePools may launch."""
    found: list[str] = []
    for r in resources:
        props, type_ = r.props, r.resource_type
        if type_ == "aws:eks/nodeGroup:NodeGroup":
            found += [str(t) for t in items(props.get("instanceTypes"))]
        elif type_ == "aws:ec2/launchTemplate:LaunchTemplate" and props.get("instanceType"):
            found.append(str(props["instanceType"]))
        elif type_ == "azure-native:containerservice:ManagedCluster":
            found += [str(p["vmSize"]) for p in items(props.get("agentPoolProfiles")) if get(p, "vmSize")]
        elif type_ == "azure-native:containerservice:AgentPool" and props.get("vmSize"):
            found.append(str(props["vmSize"]))
        elif type_.startswith("kubernetes:") and group_of(type_) == "karpenter.sh" and props.get("kind") == "NodePool":
            for req in items(get(props, "spec", "template", "spec", "requirements")):
                if req.get("key") in INSTANCE_TYPE_LABELS and req.get("operator") == "In":
                    found += [str(v) for v in items(req.get("values"))]
    return sorted(set(found))


def _pod_requests(spec: Mapping[str, Any]) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in items(spec.get("containers")):
        cpu += quantity(get(container, "resources", "requests", "cpu")) or 0.0
        memory += quantity(get(container, "resources", "requests", "memory")) or 0.0
    return cpu, memory


def requests_at_max(resources: list[PolicyResource]) -> dict[str | None, tuple[float, float]]:
    """Per cluster: CPU cores and memory bytes requested with every HPA at its maximum."""
    objects = kubernetes_objects(resources)
    hpa_max: dict[tuple[Any, ...], float] = {}
    for hpa in objects:
        if hpa.props.get("kind") == "HorizontalPodAutoscaler":
            ref = get(hpa.props, "spec", "scaleTargetRef", default={})
            key = (cluster_of(hpa), namespace(hpa.props), ref.get("kind"), ref.get("name"))
            hpa_max[key] = as_number(get(hpa.props, "spec", "maxReplicas")) or 1.0
    totals: dict[str | None, tuple[float, float]] = {}
    for obj in objects:
        spec = pod_spec(obj.resource_type, obj.props)
        if spec is None:
            continue
        kind = obj.props.get("kind")
        if kind in SCALABLE_KINDS:
            replicas = hpa_max.get((cluster_of(obj), namespace(obj.props), kind, name(obj.props)))
            if replicas is None:
                replicas = as_number(get(obj.props, "spec", "replicas"))
                replicas = 1.0 if replicas is None else replicas
        elif kind == "DaemonSet":
            replicas = float(seed.CLUSTER_MAX_NODES)
        else:
            replicas = 1.0
        pod_cpu, pod_memory = _pod_requests(spec)
        cpu, memory = totals.get(cluster_of(obj), (0.0, 0.0))
        totals[cluster_of(obj)] = (cpu + replicas * pod_cpu, memory + replicas * pod_memory)
    return totals


def _check_capacity(args: StackValidationArgs, report: ReportViolation) -> None:
    types = node_types(args.resources)
    if not types:
        return  # no node groups in this stack (kind, or an existing cluster): nothing to size against
    sizes = []
    for instance_type in types:
        size = seed.node_size(instance_type)
        if size is None:
            report(
                f"node type {instance_type} is not in the node size table (policy/bakhmach_policies/seed.py)",
                None,
            )
        else:
            sizes.append(size)
    if not sizes:
        return
    largest = max(sizes, key=lambda s: (s.allocatable_millicores, s.allocatable_bytes))
    cpu_capacity = seed.CLUSTER_MAX_NODES * largest.allocatable_millicores / 1000
    memory_capacity = seed.CLUSTER_MAX_NODES * largest.allocatable_bytes
    gib = 1024**3
    # Each cluster has its own autoscaler and so its own 50-node ceiling; a finding is reported
    # on the cluster (its Kubernetes provider).
    for cluster, (cpu, memory) in sorted(requests_at_max(args.resources).items(), key=lambda kv: str(kv[0])):
        where = f"cluster {cluster.rsplit('::', 1)[-1]}: " if cluster else ""
        if cpu > cpu_capacity:
            report(
                f"{where}at HPA maximum the pods request {cpu:.1f} CPU; {seed.CLUSTER_MAX_NODES} x {largest.name} "
                f"allocate {cpu_capacity:.1f}",
                cluster,
            )
        if memory > memory_capacity:
            report(
                f"{where}at HPA maximum the pods request {memory / gib:.1f} GiB; {seed.CLUSTER_MAX_NODES} x "
                f"{largest.name} allocate {memory_capacity / gib:.1f} GiB",
                cluster,
            )


POLICIES = [
    stack_policy(
        "capacity-at-hpa-max",
        "With every HPA at its maximum, the pods' requests fit 50 nodes of the largest node type.",
        _check_capacity,
    ),
]
