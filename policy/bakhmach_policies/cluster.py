"""The cloud clusters themselves (EKS, AKS): a private API, control-plane audit logs, access only
through the cloud's identity, and a network plugin that enforces NetworkPolicy.

Also the topology the node and autoscaler policies share: which node pools belong to which
cluster. A pool belongs to a cluster when it depends on it (how a program that passes the
cluster's name or id builds it), or when it names the cluster. AKS pools may be declared inline
(`agentPoolProfiles` of the ManagedCluster) or as separate `AgentPool` resources, or both; every
pool of a cluster counts, wherever it is declared.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from .common import (
    as_bool,
    as_mapping,
    as_number,
    depends_on,
    get,
    has_key,
    items,
    of_type,
    peek,
    resource_policy,
    stack_policy,
)

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
AWS_SUBNET = "aws:ec2/subnet:Subnet"
AWS_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
AZ_DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
CLUSTER_TYPES = (EKS_CLUSTER, AKS_CLUSTER)


def cluster_name(cluster: PolicyResource) -> str:
    """What a pool or add-on names its cluster by: EKS `name`, AKS `resourceName`."""
    key = "name" if cluster.resource_type == EKS_CLUSTER else "resourceName"
    return str(peek(cluster.props, key, default=cluster.name))


def belongs_to(resource: PolicyResource, cluster: PolicyResource, name_key: str) -> bool:
    if depends_on(resource, cluster):
        return True
    named = peek(resource.props, name_key)
    if named is None or named != peek(
        cluster.props, "name" if cluster.resource_type == EKS_CLUSTER else "resourceName"
    ):
        return False
    if cluster.resource_type == AKS_CLUSTER:
        # AKS names are unique per resource group only.
        group = peek(resource.props, "resourceGroupName")
        return group is None or group == peek(cluster.props, "resourceGroupName")
    return True


# ---- node pools -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """One node pool, however it is declared."""

    name: str
    declared_in: PolicyResource  # the NodeGroup / AgentPool, or the ManagedCluster for an inline pool
    where: str  # for messages: "node group compute", "agentPoolProfiles[0] (system)"
    minimum: float | None
    maximum: float | None
    autoscaled: bool
    node_types: tuple[str, ...]
    zones: frozenset[str]
    # An AKS pool of one fixed, System-mode node tainted CriticalAddonsOnly: the pool AKS requires
    # a cluster to be created with, kept apart from the pools the workloads scale on.
    fixed_system_node: bool = False


@dataclass
class ClusterPools:
    cluster: PolicyResource | None  # None: pools of a cluster the stack does not create
    label: str
    pools: list[Pool] = field(default_factory=list)

    @property
    def reported_on(self) -> str:
        return self.cluster.urn if self.cluster is not None else self.pools[0].declared_in.urn


def _eks_pool(group: PolicyResource) -> Pool:
    props = group.props
    minimum = as_number(get(props, "scalingConfig", "minSize"))
    maximum = as_number(get(props, "scalingConfig", "maxSize"))
    types = [str(t) for t in items(props.get("instanceTypes"))]
    if not types:
        types = [
            str(t.props["instanceType"])
            for t in group.dependencies
            if t.resource_type == AWS_LAUNCH_TEMPLATE and peek(t.props, "instanceType")
        ]
    # Subnet ids are computed (unknown in a preview); the subnets the group depends on are not.
    zones = {
        str(peek(s.props, "availabilityZone") or peek(s.props, "availabilityZoneId"))
        for s in group.dependencies
        if s.resource_type == AWS_SUBNET and (peek(s.props, "availabilityZone") or peek(s.props, "availabilityZoneId"))
    }
    name = str(peek(props, "nodeGroupName") or peek(props, "nodeGroupNamePrefix") or group.name).rstrip("-")
    return Pool(
        name=name,
        declared_in=group,
        where=f"node group {group.name}",
        minimum=minimum,
        maximum=maximum,
        autoscaled=minimum is not None and maximum is not None and maximum > minimum,
        node_types=tuple(sorted(types)),
        zones=frozenset(zones),
    )


# The taint AKS documents for a system pool: only pods that tolerate it (critical add-ons) run there.
CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly"
_KEEPING_OFF_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


def _keeps_workloads_off(taints: object) -> bool:
    """Whether the pool's nodeTaints ("key[=value]:effect") include CriticalAddonsOnly with an
    effect that keeps other pods off (PreferNoSchedule does not)."""
    for taint in items(taints):
        key_value, _, effect = str(taint).rpartition(":")
        if key_value.partition("=")[0] == CRITICAL_ADDONS_TAINT and effect in _KEEPING_OFF_EFFECTS:
            return True
    return False


def _aks_pool(profile: Mapping[str, Any], declared_in: PolicyResource, where: str, name: str) -> Pool:
    autoscaled = as_bool(profile.get("enableAutoScaling")) is True
    count = as_number(profile.get("count"))
    minimum = as_number(profile.get("minCount")) if autoscaled else count
    maximum = as_number(profile.get("maxCount")) if autoscaled else count
    size = profile.get("vmSize")
    return Pool(
        name=name,
        declared_in=declared_in,
        where=where,
        minimum=minimum,
        maximum=maximum,
        autoscaled=autoscaled,
        node_types=(str(size),) if size else (),
        zones=frozenset(str(z) for z in items(profile.get("availabilityZones"))),
        fixed_system_node=(
            not autoscaled
            and count == 1
            and profile.get("mode") == "System"
            and _keeps_workloads_off(profile.get("nodeTaints"))
        ),
    )


def cluster_pools(resources: list[PolicyResource]) -> list[ClusterPools]:
    """Every cloud cluster of the stack with all its node pools (EKS managed node groups; AKS
    inline and separate pools), plus pools whose cluster the stack does not create."""
    found: list[ClusterPools] = []
    claimed: set[str] = set()
    for cluster in of_type(resources, EKS_CLUSTER):
        entry = ClusterPools(cluster, f"EKS cluster {cluster_name(cluster)}")
        for group in of_type(resources, EKS_NODE_GROUP):
            if belongs_to(group, cluster, "clusterName"):
                entry.pools.append(_eks_pool(group))
                claimed.add(group.urn)
        found.append(entry)
    for cluster in of_type(resources, AKS_CLUSTER):
        entry = ClusterPools(cluster, f"AKS cluster {cluster_name(cluster)}")
        for i, profile in enumerate(items(cluster.props.get("agentPoolProfiles"))):
            name = str(profile.get("name", i))
            entry.pools.append(_aks_pool(profile, cluster, f"agentPoolProfiles[{i}] ({name})", name))
        for pool in of_type(resources, AKS_POOL):
            if belongs_to(pool, cluster, "resourceName"):
                name = str(peek(pool.props, "agentPoolName") or pool.name)
                entry.pools.append(_aks_pool(pool.props, pool, f"agent pool {pool.name}", name))
                claimed.add(pool.urn)
        found.append(entry)
    orphans: dict[str, ClusterPools] = {}
    for r in of_type(resources, EKS_NODE_GROUP, AKS_POOL):
        if r.urn in claimed:
            continue
        key = str(peek(r.props, "clusterName") or peek(r.props, "resourceName") or r.name)
        entry = orphans.setdefault(key, ClusterPools(None, f"cluster {key} (not created by this stack)"))
        if r.resource_type == EKS_NODE_GROUP:
            entry.pools.append(_eks_pool(r))
        else:
            name = str(peek(r.props, "agentPoolName") or r.name)
            entry.pools.append(_aks_pool(r.props, r, f"agent pool {r.name}", name))
    return found + list(orphans.values())


# ---- private API endpoint -------------------------------------------------------------------


def _open_ranges(cidrs: list[str]) -> list[str]:
    """Ranges that open the endpoint to everyone: /0, or not a range at all."""
    bad = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            bad.append(cidr)
            continue
        if network.prefixlen == 0:
            bad.append(cidr)
    return bad


def _check_api_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == EKS_CLUSTER:
        # EKS makes the API endpoint public by default, open to 0.0.0.0/0.
        if as_bool(get(props, "vpcConfig", "endpointPublicAccess")) is False:
            return
        cidrs = [str(c) for c in items(get(props, "vpcConfig", "publicAccessCidrs"))]
        if not cidrs:
            report(
                "vpcConfig.endpointPublicAccess is on with no publicAccessCidrs: the API is open to the internet", None
            )
        elif _open_ranges(cidrs):
            report(f"vpcConfig.publicAccessCidrs {', '.join(_open_ranges(cidrs))} open the API to the internet", None)
    elif args.resource_type == AKS_CLUSTER:
        if as_bool(get(props, "apiServerAccessProfile", "enablePrivateCluster")) is True:
            return
        ranges = [str(c) for c in items(get(props, "apiServerAccessProfile", "authorizedIPRanges"))]
        if not ranges:
            report(
                "apiServerAccessProfile: neither a private cluster nor authorizedIPRanges: the API server is public",
                None,
            )
        elif _open_ranges(ranges):
            report(
                f"apiServerAccessProfile.authorizedIPRanges {', '.join(_open_ranges(ranges))} open the API server "
                "to the internet",
                None,
            )


# ---- control-plane audit logs ---------------------------------------------------------------
EKS_AUDIT_LOG = "audit"
# AKS resource-log categories that carry the API server's audit events (kube-audit-admin leaves
# out get/list, which is what Microsoft recommends for cost) and the groups that include them.
AKS_AUDIT_CATEGORIES = frozenset({"kube-audit", "kube-audit-admin"})
AKS_AUDIT_GROUPS = frozenset({"audit", "allLogs"})
DIAGNOSTIC_DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def _sends_audit(setting: PolicyResource) -> bool:
    if not any(has_key(setting.props, key) for key in DIAGNOSTIC_DESTINATIONS):
        return False
    for entry in items(setting.props.get("logs")):
        if as_bool(entry.get("enabled")) is not True:
            continue
        if entry.get("category") in AKS_AUDIT_CATEGORIES or entry.get("categoryGroup") in AKS_AUDIT_GROUPS:
            return True
    return False


def _check_audit_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    for cluster in of_type(args.resources, EKS_CLUSTER):
        types = {str(t) for t in items(cluster.props.get("enabledClusterLogTypes"))}
        if EKS_AUDIT_LOG not in types:
            report(
                f"EKS cluster {cluster_name(cluster)}: enabledClusterLogTypes lacks '{EKS_AUDIT_LOG}' "
                f"(has {', '.join(sorted(types)) or 'none'})",
                cluster.urn,
            )
    settings = of_type(args.resources, AZ_DIAGNOSTIC_SETTING)
    for cluster in of_type(args.resources, AKS_CLUSTER):
        # The setting's resourceUri is the cluster's id, unknown before deployment: it depends on it.
        mine = [s for s in settings if depends_on(s, cluster)]
        if not any(_sends_audit(s) for s in mine):
            report(
                f"AKS cluster {cluster_name(cluster)}: no diagnostic setting sends an enabled kube-audit or "
                "kube-audit-admin log to a destination",
                cluster.urn,
            )


# ---- identity -------------------------------------------------------------------------------


def _check_identity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == AKS_CLUSTER:
        if as_bool(props.get("disableLocalAccounts")) is not True:
            report("disableLocalAccounts must be true: local accounts bypass Entra ID and its audit trail", None)
        if as_bool(get(props, "aadProfile", "managed")) is not True:
            report("aadProfile.managed must be true (AKS-managed Entra ID integration)", None)
        if as_bool(get(props, "aadProfile", "enableAzureRBAC")) is not True:
            report(
                "aadProfile.enableAzureRBAC must be true: Kubernetes access is granted by Azure role assignments", None
            )
        if as_bool(props.get("enableRBAC")) is False:
            report("enableRBAC must not be false", None)
    elif args.resource_type == EKS_CLUSTER:
        # Without accessConfig EKS uses the aws-auth ConfigMap, which anyone who can edit it extends.
        mode = get(props, "accessConfig", "authenticationMode", default="CONFIG_MAP")
        if mode != "API":
            report(
                f"accessConfig.authenticationMode is {mode}; 'API' grants access only through IAM access entries",
                None,
            )


# ---- NetworkPolicy enforcement ----------------------------------------------------------------
AKS_ENFORCING_POLICIES = frozenset({"azure", "calico", "cilium"})
# Charts of network plugins that enforce NetworkPolicy when installed on EKS instead of the VPC CNI's own.
ENFORCING_CNI_CHARTS = frozenset({"cilium", "tigera-operator", "calico"})


def _vpc_cni_enforces(addon: PolicyResource) -> bool:
    # configurationValues is the add-on's JSON configuration, as a string.
    return as_bool(as_mapping(addon.props.get("configurationValues")).get("enableNetworkPolicy")) is True


def _check_network_policy_enforcement(args: StackValidationArgs, report: ReportViolation) -> None:
    other_cni = any(
        r.resource_type.startswith("kubernetes:helm.sh/") and r.props.get("chart") in ENFORCING_CNI_CHARTS
        for r in args.resources
    )
    addons = [a for a in of_type(args.resources, EKS_ADDON) if a.props.get("addonName") == "vpc-cni"]
    for cluster in of_type(args.resources, EKS_CLUSTER):
        mine = [a for a in addons if belongs_to(a, cluster, "clusterName")]
        if not other_cni and not any(_vpc_cni_enforces(a) for a in mine):
            report(
                f"EKS cluster {cluster_name(cluster)}: the vpc-cni add-on does not set enableNetworkPolicy "
                "(and no Cilium/Calico is installed): NetworkPolicies would not be enforced",
                mine[0].urn if mine else cluster.urn,
            )
    for cluster in of_type(args.resources, AKS_CLUSTER):
        plugin = get(cluster.props, "networkProfile", "networkPolicy")
        if plugin not in AKS_ENFORCING_POLICIES:
            report(
                f"AKS cluster {cluster_name(cluster)}: networkProfile.networkPolicy is {plugin or 'unset'} "
                f"(allowed: {', '.join(sorted(AKS_ENFORCING_POLICIES))}): NetworkPolicies would not be enforced",
                cluster.urn,
            )


POLICIES = [
    resource_policy(
        "cluster-api-private",
        "EKS and AKS API servers are private, or public only to listed ranges (never 0.0.0.0/0).",
        _check_api_private,
    ),
    stack_policy(
        "cluster-audit-logs",
        "Every cluster ships its API audit log: EKS enables the 'audit' control-plane log; AKS has a diagnostic "
        "setting with kube-audit or kube-audit-admin enabled.",
        _check_audit_logs,
    ),
    resource_policy(
        "cluster-identity-rbac",
        "Cluster access only through the cloud's identity: AKS without local accounts, with Entra ID and Azure "
        "RBAC; EKS access entries (authenticationMode API), not the aws-auth ConfigMap.",
        _check_identity,
    ),
    stack_policy(
        "cluster-network-policy-enforcement",
        "Every cluster's network plugin enforces NetworkPolicy: EKS vpc-cni with enableNetworkPolicy (or Cilium/"
        "Calico), AKS networkPolicy azure, calico or cilium.",
        _check_network_policy_enforcement,
    ),
]
