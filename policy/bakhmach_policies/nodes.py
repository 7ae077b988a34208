"""Node pools and the cluster autoscaler: the seed's node floor (staging 5, prod 15) and ceiling
(50), nodes over three zones, a mix of compute- and memory-optimised nodes, and the autoscaler's
70% utilisation target and 10-minute scale-down.

Pools are counted per cluster, wherever they are declared (cluster.cluster_pools): EKS managed
node groups; AKS inline `agentPoolProfiles` and separate `AgentPool` resources alike.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .cluster import (
    AKS_CLUSTER,
    CRITICAL_ADDONS_TAINT,
    EKS_CLUSTER,
    ClusterPools,
    Pool,
    cluster_name,
    cluster_pools,
)
from .common import (
    as_mapping,
    as_number,
    depends_on,
    duration_seconds,
    get,
    of_type,
    peek,
    stack_environment,
    stack_policy,
)

# ---- floors and ceilings --------------------------------------------------------------------


def _total(pools: list[Pool], attr: str) -> float | None:
    values = [getattr(p, attr) for p in pools]
    return None if any(v is None for v in values) else float(sum(values))


def _check_bounds(args: StackValidationArgs, report: ReportViolation) -> None:
    env = stack_environment(args)
    for entry in cluster_pools(args.resources):
        for pool in entry.pools:
            if pool.minimum is None or pool.maximum is None:
                report(f"{entry.label}: {pool.where} has no minimum/maximum node count", pool.declared_in.urn)
        low, high = _total(entry.pools, "minimum"), _total(entry.pools, "maximum")
        if high is not None and high > seed.CLUSTER_MAX_NODES:
            report(
                f"{entry.label}: its node pools may grow to {high:g} nodes; the seed's ceiling is "
                f"{seed.CLUSTER_MAX_NODES}",
                entry.reported_on,
            )
        # A cluster the stack does not create may have pools this stack does not see.
        if entry.cluster is None or env is None or low is None:
            continue
        floor = seed.NODE_FLOOR[env]
        if low < floor:
            report(
                f"{entry.label}: its node pools may shrink to {low:g} nodes; the seed's {env} cluster has "
                f"{floor} ({', '.join(f'{p.name} {p.minimum:g}' for p in entry.pools)})",
                entry.reported_on,
            )


# ---- compute- and memory-optimised nodes -----------------------------------------------------
# AWS: c = compute-optimised, r/x/z = memory-optimised; Azure: F = compute, E/M = memory.
_AWS_FAMILY = re.compile(r"^(?P<family>[a-z]+?)\d")
_AZURE_FAMILY = re.compile(r"^Standard_(?P<family>[A-Z]+?)\d")
COMPUTE_FAMILIES = frozenset({"aws:c", "azure:F"})
MEMORY_FAMILIES = frozenset({"aws:r", "aws:x", "aws:z", "azure:E", "azure:M"})


def node_family(node_type: str) -> str | None:
    match = _AZURE_FAMILY.match(node_type)
    if match:
        return f"azure:{match['family']}"
    match = _AWS_FAMILY.match(node_type)
    return f"aws:{match['family']}" if match else None


def _check_mix(args: StackValidationArgs, report: ReportViolation) -> None:
    for entry in cluster_pools(args.resources):
        if entry.cluster is None:
            continue
        families = {node_family(t) for p in entry.pools for t in p.node_types}
        missing = [
            kind
            for kind, wanted in (("compute-optimised", COMPUTE_FAMILIES), ("memory-optimised", MEMORY_FAMILIES))
            if not families & wanted
        ]
        if missing:
            types = sorted({t for p in entry.pools for t in p.node_types})
            report(
                f"{entry.label}: no {' and no '.join(missing)} node pool (node types: {', '.join(types) or 'none'})",
                entry.reported_on,
            )


# ---- zones ----------------------------------------------------------------------------------


def _check_zones(args: StackValidationArgs, report: ReportViolation) -> None:
    for entry in cluster_pools(args.resources):
        # Pools of the same node types are one capacity (EKS often runs one group per zone, so
        # that the autoscaler can add a node in the zone a volume lives in).
        by_types: dict[tuple[str, ...], list[Pool]] = defaultdict(list)
        for pool in entry.pools:
            by_types[pool.node_types].append(pool)
        for types, pools in by_types.items():
            zones = frozenset().union(*(p.zones for p in pools))
            if len(zones) >= seed.ZONES:
                continue
            for pool in pools:
                report(
                    f"{entry.label}: {', '.join(types) or 'its'} nodes span {len(zones)} zone(s) "
                    f"({', '.join(sorted(zones)) or 'none set'}); the seed's multi-zone clusters need {seed.ZONES}",
                    pool.declared_in.urn,
                )


# ---- the cluster autoscaler -------------------------------------------------------------------
AUTOSCALER_CHART = "cluster-autoscaler"


def _provider_of(release: PolicyResource, resources: list[PolicyResource]) -> PolicyResource | None:
    if release.provider is None:
        return None
    return next((r for r in resources if r.urn == release.provider.urn), None)


def _autoscaler_for(cluster: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    """The cluster-autoscaler releases that scale an EKS cluster: deployed through a Kubernetes
    provider built on the cluster, or discovering the cluster's node groups by its name."""
    found = []
    for release in resources:
        if (
            not release.resource_type.startswith("kubernetes:helm.sh/")
            or release.props.get("chart") != AUTOSCALER_CHART
        ):
            continue
        provider = _provider_of(release, resources)
        discovers = peek(release.props, "values", "autoDiscovery", "clusterName") == cluster_name(cluster)
        if discovers or (provider is not None and depends_on(provider, cluster)):
            found.append(release)
    return found


def _threshold_problem(value: object, where: str) -> str | None:
    number = as_number(value)
    if number is None or abs(number - seed.AUTOSCALER_UTILISATION) > 1e-9:
        return (
            f"{where} is {value if value is not None else 'unset'}; the seed's node target is "
            f"{seed.AUTOSCALER_UTILISATION:g} utilisation"
        )
    return None


def _scale_down_problem(value: object, where: str) -> str | None:
    seconds = duration_seconds(value)
    if seconds is None or seconds != seed.AUTOSCALER_SCALE_DOWN_SECONDS:
        return (
            f"{where} is {value if value is not None else 'unset'}; the seed scales down after "
            f"{seed.AUTOSCALER_SCALE_DOWN_SECONDS // 60} minutes"
        )
    return None


def _check_eks_autoscaler(cluster: PolicyResource, args: StackValidationArgs, report: ReportViolation) -> None:
    releases = _autoscaler_for(cluster, args.resources)
    if not releases:
        report(
            f"EKS cluster {cluster_name(cluster)}: no cluster-autoscaler release scales its node groups", cluster.urn
        )
    for release in releases:
        extra = as_mapping(get(release.props, "values", "extraArgs", default={}))
        problems = [
            _threshold_problem(
                extra.get("scale-down-utilization-threshold"), "extraArgs.scale-down-utilization-threshold"
            ),
            _scale_down_problem(extra.get("scale-down-unneeded-time"), "extraArgs.scale-down-unneeded-time"),
        ]
        ceiling = as_number(extra.get("max-nodes-total"))
        if ceiling is None or ceiling <= 0 or ceiling > seed.CLUSTER_MAX_NODES:
            problems.append(
                f"extraArgs.max-nodes-total is {extra.get('max-nodes-total', 'unset')}; the seed's ceiling is "
                f"{seed.CLUSTER_MAX_NODES} nodes"
            )
        for problem in problems:
            if problem:
                report(f"{release.name}: {problem}", release.urn)


def _check_aks_autoscaler(entry: ClusterPools, report: ReportViolation) -> None:
    cluster = entry.cluster
    assert cluster is not None
    profile = as_mapping(get(cluster.props, "autoScalerProfile", default={}))
    label = f"AKS cluster {cluster_name(cluster)}"
    for problem in (
        _threshold_problem(
            profile.get("scaleDownUtilizationThreshold"), "autoScalerProfile.scaleDownUtilizationThreshold"
        ),
        _scale_down_problem(profile.get("scaleDownUnneededTime"), "autoScalerProfile.scaleDownUnneededTime"),
    ):
        if problem:
            report(f"{label}: {problem}", cluster.urn)
    # AKS requires a pool when it creates a cluster; one fixed system node, kept free of workloads
    # by its taint, is that pool, counted in the floor and ceiling (`_check_bounds`). One such
    # pool meets the requirement, so only the first is exempt.
    exempt = next((pool for pool in entry.pools if pool.fixed_system_node), None)
    for pool in entry.pools:
        if pool.autoscaled or pool is exempt:
            continue
        if pool.fixed_system_node and exempt is not None:
            why = f"it is a second fixed one-node System pool; {exempt.where} is the one a cluster may keep"
        else:
            why = f"only one one-node System pool tainted {CRITICAL_ADDONS_TAINT} may stay fixed"
        report(f"{label}: {pool.where} does not autoscale (enableAutoScaling is not true): {why}", pool.declared_in.urn)


def _check_autoscaler(args: StackValidationArgs, report: ReportViolation) -> None:
    for cluster in of_type(args.resources, EKS_CLUSTER):
        _check_eks_autoscaler(cluster, args, report)
    for entry in cluster_pools(args.resources):
        if entry.cluster is not None and entry.cluster.resource_type == AKS_CLUSTER:
            _check_aks_autoscaler(entry, report)
            continue
        for pool in entry.pools:
            if pool.declared_in.resource_type.startswith("aws:") and not pool.autoscaled:
                report(f"{entry.label}: {pool.where} cannot scale (maxSize is not above minSize)", pool.declared_in.urn)


POLICIES = [
    stack_policy(
        "node-pool-bounds",
        f"Each cloud cluster's node pools together keep the seed's node count (staging {seed.NODE_FLOOR['staging']}, "
        f"prod {seed.NODE_FLOOR['prod']}) as their minimum and never exceed {seed.CLUSTER_MAX_NODES} nodes, "
        "fixed pools (AKS inline or separate) included.",
        _check_bounds,
    ),
    stack_policy(
        "node-pool-mix",
        "Each cloud cluster has compute-optimised and memory-optimised node pools (the seed's instance mix).",
        _check_mix,
    ),
    stack_policy(
        "cluster-multi-zone",
        f"Every node type of a cluster spans {seed.ZONES} availability zones (staging and prod).",
        _check_zones,
        environments=seed.MULTI_ZONE_ENVIRONMENTS,
    ),
    stack_policy(
        "cluster-autoscaler-targets",
        f"Every cluster autoscales its pools with the seed's targets: scale down below "
        f"{seed.AUTOSCALER_UTILISATION:.0%} utilisation after {seed.AUTOSCALER_SCALE_DOWN_SECONDS // 60} minutes, "
        f"at most {seed.CLUSTER_MAX_NODES} nodes (EKS cluster-autoscaler values, AKS autoScalerProfile). "
        f"Every AKS pool autoscales except one fixed single-node System pool tainted {CRITICAL_ADDONS_TAINT} "
        "(the pool AKS requires at creation; counted in node-pool-bounds).",
        _check_autoscaler,
    ),
]
