"""The stack as people draw this platform, derived from the offline plan.

Not one box per resource: every resource folds into one of a few things a reviewer recognises —
the edge (Internet, DNS failover), a gateway, a region, a cluster, a business context with its
services, a data service, or a platform piece (a component that installs charts or operators) —
and the edges between them are the plan's own facts:

- a **context** is a namespace on a cluster that carries a `bakhmach.io/context-title`
  annotation (its title) and runs workloads (Deployment, StatefulSet, DaemonSet);
- a **data connection** is a workload mounting a Secret labelled `bakhmach.io/data-service`
  (each consuming namespace's own `data-<service>` Secret, with that namespace's credentials):
  one edge per (service, data service);
- a **data service** is the component named `...-<data service>` that holds the database, cache
  or broker (in-cluster custom resources, or managed cloud resources): drawn in its cluster, or in
  its region beside the cluster when it is a managed service;
- a **region** is where a cluster's cloud resources are (`location`, or the AWS provider's
  `region`); prod has two;
- the **gateway** is whatever the plan has that takes traffic in (a Gateway API `Gateway`, an
  `Ingress`, a `LoadBalancer` Service, or workloads in a namespace labelled
  `bakhmach.io/role=gateway`); with none, the contexts' NetworkPolicies that admit that role are
  drawn to a dashed "not in this plan" gateway, so the picture shows what exists today;
- a **platform piece** is any other component (the innermost one holding the leftover
  resources): it shows the Helm charts it installs, or the kinds of what it creates. The mesh,
  observability or identity components appear this way as soon as the plan has them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hubctl.planview import CLUSTER_TYPES, K8S_PROVIDER, PlanIndex, Res, as_int, dig, items, short_type

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
DATA_SERVICE_LABEL = "bakhmach.io/data-service"
DR_ENDPOINT_LABEL = "bakhmach.io/dr-endpoint"
CONTEXT_TITLE = "bakhmach.io/context-title"
GATEWAY_ROLE = ("bakhmach.io/role", "gateway")
# What people call the data services the connections name.
DATA_TITLES = {"postgres": "PostgreSQL", "mongo": "MongoDB", "redis": "Redis", "kafka": "Kafka"}
# The resource that *is* a data service, per backend, and what to call it; anything else in a
# data component (secrets, parameter groups, security groups) folds into it.
ENGINES = {
    "kubernetes:postgresql.cnpg.io/v1:Cluster": "CloudNativePG",
    "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": "Percona Operator",
    "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster": "OT redis-operator",
    "kubernetes:kafka.strimzi.io/v1:Kafka": "Strimzi",
    "aws:rds/instance:Instance": "RDS",
    "aws:rds/cluster:Cluster": "Aurora",
    "aws:elasticache/replicationGroup:ReplicationGroup": "ElastiCache",
    "aws:msk/cluster:Cluster": "MSK",
    "aws:docdb/cluster:Cluster": "DocumentDB",
    "azure-native:dbforpostgresql:Server": "Azure PostgreSQL Flexible Server",
    "azure-native:redisenterprise:RedisEnterprise": "Azure Managed Redis",
    "azure-native:cache:Redis": "Azure Cache for Redis",
    "azure-native:eventhub:Namespace": "Event Hubs",
}
# The data service each engine is (prod's copies in the other region are found by it).
ENGINE_SERVICES = {
    "kubernetes:postgresql.cnpg.io/v1:Cluster": "postgres",
    "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": "mongo",
    "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster": "redis",
    "kubernetes:kafka.strimzi.io/v1:Kafka": "kafka",
    "aws:rds/instance:Instance": "postgres",
    "aws:elasticache/replicationGroup:ReplicationGroup": "redis",
    "aws:msk/cluster:Cluster": "kafka",
    "azure-native:dbforpostgresql:Server": "postgres",
    "azure-native:redisenterprise:RedisEnterprise": "redis",
}
# The component that copies prod's data to the other region (components/dr).
RECOVERY_TYPE = "bakhmach:dr:DisasterRecovery"
# Cloud resources that put a name on the Internet: the edge in front of the regions.
EDGE_TYPE_PREFIXES = ("aws:route53/", "azure-native:trafficmanager:", "azure-native:dns:", "cloudflare:")
# What puts a component on a request's path as its failover name.
FAILOVER_TYPES = ("aws:route53/record:Record", "azure-native:trafficmanager:Profile", "azure-native:dns:RecordSet")
# Kubernetes objects that take traffic into a cluster.
INGRESS_KINDS = ("Gateway", "Ingress", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")
# Namespace-level housekeeping: it folds into the namespace's group and is never drawn alone.
NAMESPACED_HOUSEKEEPING = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "VerticalPodAutoscaler",
    "Role",
    "RoleBinding",
    # A service's place in the mesh (routes, traffic policy, canary, who may call it) and the
    # namespace's copy of the data CA: part of the context, not a piece of their own.
    "VirtualService",
    "DestinationRule",
    "AuthorizationPolicy",
    "Canary",
    "Certificate",
)


@dataclass
class Node:
    id: str
    label: str
    kind: str  # internet | edge | gateway | service | data | platform
    detail: str = ""
    placeholder: bool = False


@dataclass
class Group:
    id: str
    label: str
    kind: str  # region | cluster | context
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def walk_nodes(self) -> list[Node]:
        found = list(self.nodes)
        for group in self.groups:
            found += group.walk_nodes()
        return found

    def walk_groups(self) -> list[Group]:
        found = [self]
        for group in self.groups:
            found += group.walk_groups()
        return found


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # data | ingress | route | planned
    label: str = ""


@dataclass
class Architecture:
    stack: str
    cloud: str
    nodes: list[Node]  # outside every region (Internet, DNS failover)
    groups: list[Group]  # regions
    edges: list[Edge]

    def all_nodes(self) -> list[Node]:
        found = list(self.nodes)
        for group in self.groups:
            found += group.walk_nodes()
        return found

    def all_groups(self) -> list[Group]:
        found: list[Group] = []
        for group in self.groups:
            found += group.walk_groups()
        return found

    def node(self, id_: str) -> Node:
        return next(n for n in self.all_nodes() if n.id == id_)


def node_id(*parts: str) -> str:
    """An identifier Mermaid and DOT both accept as is."""
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_") for p in parts if p) or "n"


def _namespace_of(r: Res) -> str | None:
    if r.kind == "Namespace":
        name = r.metadata.get("name")
        return name if isinstance(name, str) else None
    ns = r.metadata.get("namespace")
    return ns if isinstance(ns, str) else None


def _mounted_secrets(workload: Res) -> list[str]:
    """Secrets a workload's pods mount (volumes, projected sources) or read whole (envFrom)."""
    pod = dig(workload.inputs, "spec", "template", "spec")
    names: list[Any] = []
    for volume in items(dig(pod, "volumes")):
        names.append(dig(volume, "secret", "secretName"))
        names += [dig(source, "secret", "name") for source in items(dig(volume, "projected", "sources"))]
    for container in items(dig(pod, "containers")):
        names += [dig(env_from, "secretRef", "name") for env_from in items(dig(container, "envFrom"))]
    return [name for name in names if isinstance(name, str)]


def _charts(resources: list[Res]) -> list[str]:
    found = []
    for r in resources:
        if r.type.startswith("kubernetes:helm.sh/") and isinstance(r.inputs.get("chart"), str):
            version = r.inputs.get("version")
            # An OCI chart is named by its reference (oci://registry/path/name): its name is the last part.
            chart = (
                r.inputs["chart"].rsplit("/", 1)[-1] if r.inputs["chart"].startswith("oci://") else r.inputs["chart"]
            )
            found.append(f"{chart} {version}" if isinstance(version, str) else chart)
    return found


def _summary(resources: list[Res], limit: int = 3) -> str:
    """What a folded component holds, as a person would say it: its charts, else its kinds."""
    charts = _charts(resources)
    if charts:
        return ", ".join(sorted(charts))
    # In the order the component registers them: its main resource usually comes first.
    counts = Counter(r.kind or short_type(r.type) for r in resources if r.custom)
    parts = [f"{kind} ×{n}" if n > 1 else kind for kind, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        parts.append(f"+{len(counts) - limit} more kinds")
    return ", ".join(parts)


def _private_zone(r: Res) -> bool:
    """A DNS zone only the stack's networks resolve (Route 53 associated with VPCs): not the edge."""
    return r.type == "aws:route53/zone:Zone" and bool(items(r.inputs.get("vpcs")))


class _Builder:
    def __init__(self, plan: PlanIndex) -> None:
        self.plan = plan
        self.folded: set[str] = set()  # URNs drawn as part of something
        self.regions: dict[str, Group] = {}
        self.clusters: dict[str, Group] = {}  # k8s provider URN -> cluster group
        self.edges: list[Edge] = []
        self.top_nodes: list[Node] = [Node("internet", "Internet", "internet")]
        self._waf_nodes: set[str] = set()  # edge nodes of the WAF (Cloudflare)
        self._zone_only_nodes: set[str] = set()  # edge nodes holding a zone but no failover record

    # -- regions and clusters ---------------------------------------------------------------------

    def region(self, name: str | None) -> Group:
        key = name or ("local" if self.plan.cloud == "kind" else "region not in the plan")
        if key not in self.regions:
            role = "primary" if not self.regions else "secondary"
            label = key if len(self.regions) == 0 and self.plan.cloud == "kind" else f"{key} · {role}"
            self.regions[key] = Group(f"r{len(self.regions) + 1}", label, "region")
        return self.regions[key]

    def build_clusters(self) -> None:
        primary = self.plan.primary_provider()
        for provider in sorted(self.plan.k8s_providers, key=lambda p: p is not primary):
            self.folded.add(provider.urn)
            cluster = self.plan.cluster_resource(provider)
            label = self._cluster_label(provider, cluster)
            group = Group(f"c{len(self.clusters) + 1}", label, "cluster")
            self.clusters[provider.urn] = group
            self.region(self.plan.cluster_region(provider)).groups.append(group)
            # The cloud pieces that make the cluster (network, node groups, add-ons, identity)
            # fold into it: the component that made the provider, minus data and edge pieces.
            owner = next(iter(self.plan.ancestors(provider)), None)
            if owner is not None:
                outer = self.plan.top(owner)
                self.folded.update(r.urn for r in [outer, *self.plan.descendants(outer)])

    def _cluster_label(self, provider: Res, cluster: Res | None) -> str:
        if cluster is None:
            context = provider.inputs.get("context")
            where = f" · context {context}" if isinstance(context, str) else ""
            return f"{'kind' if self.plan.cloud == 'kind' else 'Kubernetes'} cluster{where}"
        name = cluster.inputs.get("name") or cluster.inputs.get("resourceName") or cluster.name
        version = cluster.inputs.get("version") or cluster.inputs.get("kubernetesVersion")
        floor, ceiling, pools = self._node_pools(cluster)
        parts = [f"{CLUSTER_TYPES[cluster.type]} {name}"]
        if isinstance(version, str):
            parts.append(f"Kubernetes {version}")
        if pools:
            parts.append(f"{pools} node pools, {floor}–{ceiling} nodes")
        return " · ".join(parts)

    def _node_pools(self, cluster: Res) -> tuple[int, int, int]:
        floor = ceiling = pools = 0
        owner = self.plan.by_urn.get(cluster.parent or "")
        scope = list(self.plan.descendants(owner)) if owner else []
        for r in [cluster, *scope]:
            if r.type == "aws:eks/nodeGroup:NodeGroup":
                floor += as_int(dig(r.inputs, "scalingConfig", "minSize"))
                ceiling += as_int(dig(r.inputs, "scalingConfig", "maxSize"))
                pools += 1
            elif r.type == "azure-native:containerservice:AgentPool" or r is cluster:
                profiles = items(r.inputs.get("agentPoolProfiles")) if r is cluster else [r.inputs]
                for p in profiles:
                    if isinstance(p, dict):
                        floor += as_int(p.get("minCount"), as_int(p.get("count")))
                        ceiling += as_int(p.get("maxCount"), as_int(p.get("count")))
                        pools += 1
        return floor, ceiling, pools

    # -- contexts and services --------------------------------------------------------------------

    def build_contexts(self) -> dict[tuple[str, str, str], Node]:
        """Context groups with a node per workload; returns (provider, namespace, workload) -> node."""
        titles: dict[tuple[str, str], str] = {}
        for r in self.plan.resources:
            if r.kind == "Namespace" and r.provider:
                annotations = r.metadata.get("annotations") or {}
                title = annotations.get(CONTEXT_TITLE) if isinstance(annotations, dict) else None
                titles[(r.provider, str(r.metadata.get("name")))] = title if isinstance(title, str) else ""
        services: dict[tuple[str, str, str], Node] = {}
        contexts: dict[tuple[str, str], Group] = {}
        for r in self.plan.resources:
            if r.kind not in WORKLOAD_KINDS or r.provider not in self.clusters:
                continue
            namespace = _namespace_of(r) or "default"
            key = (r.provider, namespace)
            # Only a context namespace carries a context title; workloads elsewhere (the
            # observability stack, operators) stay in the platform piece that creates them.
            if not titles.get(key):
                continue
            if key not in contexts:
                title = titles.get(key) or namespace
                label = title if title == namespace else f"{title} ({namespace})"
                contexts[key] = Group(node_id(self.clusters[r.provider].id, namespace), label, "context")
                self.clusters[r.provider].groups.append(contexts[key])
                self.clusters[r.provider].groups.sort(key=lambda g: g.label.lower())
            name = str(r.metadata.get("name") or r.name)
            replicas = dig(r.inputs, "spec", "replicas")
            detail = f"×{as_int(replicas)}" if replicas is not None and r.kind != "DaemonSet" else ""
            node = Node(node_id(contexts[key].id, name), name, "service", detail)
            contexts[key].nodes.append(node)
            services[(r.provider, namespace, name)] = node
            self.folded.add(r.urn)
        self.context_groups = contexts
        return services

    # -- data services ----------------------------------------------------------------------------

    def build_data(self, services: dict[tuple[str, str, str], Node]) -> None:
        connections: dict[tuple[str, str, str], str] = {}  # (provider, namespace, secret) -> data service
        for r in self.plan.resources:
            if r.kind == "Secret" and isinstance(r.labels.get(DATA_SERVICE_LABEL), str) and r.provider:
                connections[(r.provider, _namespace_of(r) or "default", str(r.metadata.get("name")))] = r.labels[
                    DATA_SERVICE_LABEL
                ]
        data_nodes: dict[str, Node] = {}
        copies = self._copies()
        for service in sorted(set(connections.values())):
            data_nodes[service] = self._data_node(service)
        seen: set[tuple[str, str]] = set()
        for r in self.plan.resources:
            if r.kind not in WORKLOAD_KINDS or r.provider not in self.clusters:
                continue
            namespace = _namespace_of(r) or "default"
            source = services.get((r.provider, namespace, str(r.metadata.get("name") or r.name)))
            for secret in _mounted_secrets(r):
                data = connections.get((r.provider, namespace, secret))
                if source is None or data is None or (source.id, data) in seen:
                    continue
                seen.add((source.id, data))
                # Prod's secondary cluster connects to the copies in its region.
                target = copies.get((r.provider or "", data)) or data_nodes[data]
                self.edges.append(Edge(source.id, target.id, "data"))

    def _copies(self) -> dict[tuple[str, str], Node]:
        """Prod's copies of the data services in the other region, by (cluster provider, service):
        the engines under the recovery component, in that cluster or in its region."""
        found: dict[tuple[str, str], Node] = {}
        for recovery in self.plan.of_type(RECOVERY_TYPE):
            inside = list(self.plan.descendants(recovery))
            engines = [r for r in inside if r.type in ENGINE_SERVICES]
            for provider, cluster in self.clusters.items():
                region = self.plan.cluster_region(self.plan.by_urn[provider])
                for service in sorted({ENGINE_SERVICES[r.type] for r in engines}):
                    mine = [
                        r
                        for r in engines
                        if ENGINE_SERVICES[r.type] == service
                        and (
                            r.provider == provider
                            if r.type.startswith("kubernetes:")
                            else self.plan.region_of(r) == region
                        )
                    ]
                    if not mine:
                        continue
                    # The copy's whole data component, where it is one (an in-cluster copy).
                    for r in mine:
                        owner = self.plan.by_urn.get(r.parent or "")
                        inside = (
                            [owner, *self.plan.descendants(owner)]
                            if owner and owner.type.startswith("bakhmach:data:")
                            else [r]
                        )
                        self.folded.update(x.urn for x in inside)
                    detail = ", ".join(sorted({ENGINES[r.type] for r in mine})) + " (copy)"
                    node = Node(node_id("copy", cluster.id, service), DATA_TITLES.get(service, service), "data", detail)
                    if mine[0].type.startswith("kubernetes:"):
                        cluster.nodes.append(node)
                    else:
                        self.region(region).nodes.append(node)
                    found[(provider, service)] = node
        return found

    def _data_node(self, service: str) -> Node:
        component = self._data_component(service)
        title = DATA_TITLES.get(service, service)
        if component is None:
            node = Node(node_id("data", service), title, "data", "not found in the plan", placeholder=True)
            self.top_nodes.append(node)
            return node
        inside = [component, *self.plan.descendants(component)]
        self.folded.update(r.urn for r in inside)
        engines = Counter(ENGINES[r.type] for r in inside if r.type in ENGINES)
        detail = ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in engines.items()) or _summary(inside)
        node = Node(node_id("data", service), title, "data", detail)
        # Where the engine runs decides the place: a managed service keeps Kubernetes objects of
        # its own in the cluster too (the Job that makes its logins, its admin Secret), and is
        # still drawn in its region.
        placed = [r for r in inside if r.type in ENGINES] or inside
        k8s = [r for r in placed if r.type.startswith("kubernetes:") and r.provider in self.clusters]
        if k8s:
            self.clusters[k8s[0].provider or ""].nodes.append(node)
        else:
            regions = [self.plan.region_of(r) for r in placed if r.custom]
            self.region(next((g for g in regions if g), self.plan.default_region())).nodes.append(node)
        return node

    def _data_component(self, service: str) -> Res | None:
        # The data layer's own, not a copy of it in prod's other region (drawn by `_copies`).
        copies = {x.urn for rec in self.plan.of_type(RECOVERY_TYPE) for x in self.plan.descendants(rec)}
        for r in self.plan.resources:
            if not r.custom and r.urn not in copies and (r.name == service or r.name.endswith(f"-{service}")):
                return r
        return None

    # -- edge, gateway, platform pieces -----------------------------------------------------------

    def build_rest(self, services: dict[tuple[str, str, str], Node]) -> None:
        hosting = {(p, ns) for (p, ns, _) in services} | self._data_namespaces()
        leftover: dict[str, list[Res]] = {}
        for r in self.plan.resources:
            if r.urn in self.folded or not r.custom:
                continue
            if r.type.startswith("random:"):
                continue  # generated values: part of what uses them
            if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh/"):
                ns = _namespace_of(r)
                if r.kind in NAMESPACED_HOUSEKEEPING and ns and (r.provider, ns) in hosting and not self._is_ingress(r):
                    continue
            owner = self.plan.by_urn.get(r.parent or "")
            leftover.setdefault(owner.urn if owner else r.urn, []).append(r)
        gateways: list[tuple[str, Node]] = []
        edge_nodes: list[Node] = []
        for owner_urn, resources in leftover.items():
            owner = self.plan.by_urn[owner_urn]
            title = short_type(owner.type) if not owner.custom else owner.name
            if any(r.type.startswith(EDGE_TYPE_PREFIXES) and not _private_zone(r) for r in resources):
                node = Node(node_id("edge", owner.name), title, "edge", self._edge_detail(resources))
                self.top_nodes.append(node)
                edge_nodes.append(node)
                if any(r.type.startswith("cloudflare:") for r in resources):
                    self._waf_nodes.add(node.id)
                elif not any(r.type in FAILOVER_TYPES for r in resources):
                    self._zone_only_nodes.add(node.id)
                continue
            gateway = any(self._is_ingress(r) for r in resources)
            node = Node(
                node_id("gateway" if gateway else "platform", owner.name),
                title,
                "gateway" if gateway else "platform",
                _summary(resources),
            )
            k8s = [r for r in resources if r.provider in self.clusters]
            if k8s:
                self.clusters[k8s[0].provider or ""].nodes.append(node)
                if gateway:
                    gateways.append((k8s[0].provider or "", node))
            else:
                regions = [self.plan.region_of(r) for r in resources]
                region = next((g for g in regions if g), None)
                if region is None and not any(r.type.startswith(("aws:", "azure-native:")) for r in resources):
                    continue  # nothing placeable (no cluster, no region)
                self.region(region or self.plan.default_region()).nodes.append(node)
        self._wire_edge(edge_nodes, gateways)

    def _data_namespaces(self) -> set[tuple[str | None, str]]:
        found: set[tuple[str | None, str]] = set()
        for r in self.plan.resources:
            if r.urn in self.folded and r.type.startswith("kubernetes:") and r.kind not in NAMESPACED_HOUSEKEEPING:
                ns = _namespace_of(r)
                if ns:
                    found.add((r.provider, ns))
        return found

    def _is_ingress(self, r: Res) -> bool:
        if r.kind in INGRESS_KINDS:
            return True
        if r.kind == "Service" and dig(r.inputs, "spec", "type") == "LoadBalancer":
            # Prod's replication endpoints are internal load balancers between the regions.
            return r.labels.get(DR_ENDPOINT_LABEL) != "true"
        return r.kind == "Namespace" and r.labels.get(GATEWAY_ROLE[0]) == GATEWAY_ROLE[1]

    @staticmethod
    def _edge_detail(resources: list[Res]) -> str:
        zones = [r.inputs.get("zoneName") for r in resources if r.type == "azure-native:dns:Zone"]
        zones += [r.inputs.get("name") for r in resources if r.type == "aws:route53/zone:Zone"]
        zone = next((z for z in zones if isinstance(z, str)), "")
        names = sorted(
            {str(r.inputs.get("name")) for r in resources if r.type == "aws:route53/record:Record"}
            | {
                f"{r.inputs.get('relativeRecordSetName')}.{r.inputs.get('zoneName') or zone}"
                for r in resources
                if r.type == "azure-native:dns:RecordSet" and (r.inputs.get("zoneName") or zone)
            }
        )
        if names:
            return ", ".join(names[:2])
        # The zone exists before anything is published in it (the failover record waits for the
        # gateway's per-region origins).
        return f"zone {zone}, no failover record yet" if zone else _summary(resources)

    def _admitting_contexts(self, provider: str) -> list[Group]:
        """Context groups whose NetworkPolicies admit pods of namespaces in the gateway role."""
        found: list[Group] = []
        for r in self.plan.resources:
            if r.kind != "NetworkPolicy" or r.provider != provider:
                continue
            for rule in items(dig(r.inputs, "spec", "ingress")):
                for peer in items(dig(rule, "from")):
                    if dig(peer, "namespaceSelector", "matchLabels", GATEWAY_ROLE[0]) == GATEWAY_ROLE[1]:
                        group = self.context_groups.get((provider, _namespace_of(r) or ""))
                        if group is not None and group not in found:
                            found.append(group)
        return found

    def _wire_edge(self, edge_nodes: list[Node], gateways: list[tuple[str, Node]]) -> None:
        entries: list[Node] = []
        for provider, cluster in self.clusters.items():
            real = [node for p, node in gateways if p == provider]
            admitting = self._admitting_contexts(provider)
            if not real and not admitting:
                continue
            if real:
                gateway = real[0]
            else:
                gateway = Node(
                    node_id("gateway", cluster.id),
                    "gateway",
                    "gateway",
                    "not in this plan yet",
                    placeholder=True,
                )
                cluster.nodes.insert(0, gateway)
            entries.append(gateway)
            for group in admitting:
                for svc in group.nodes:
                    self.edges.append(Edge(gateway.id, svc.id, "planned" if gateway.placeholder else "route"))
        # A request's path through the edge, outermost first: the WAF (Cloudflare), then the
        # failover name (Route 53 / Traffic Manager). A DNS zone that holds no record on the path
        # (the origins' names, cert-manager's answers) is drawn beside it, off the path, unless
        # nothing else is at the edge.
        waf = [n for n in edge_nodes if n.id in self._waf_nodes]
        failover = [n for n in edge_nodes if n not in waf and n.id not in self._zone_only_nodes]
        path = waf + failover or edge_nodes
        if failover:
            for node in edge_nodes:
                if node.id in self._zone_only_nodes:
                    node.detail = node.detail.removesuffix(", no failover record yet")
        previous = ["internet"]
        for hop in [waf, failover] if waf or failover else [edge_nodes]:
            if not hop:
                continue
            for source in previous:
                for edge in hop:
                    self.edges.append(Edge(source, edge.id, "ingress"))
            previous = [n.id for n in hop]
        sources = [n.id for n in path if n.id in previous] or ["internet"]
        for source in sources:
            for gateway in entries:
                self.edges.append(Edge(source, gateway.id, "planned" if gateway.placeholder else "ingress"))


def build(document: dict[str, Any]) -> Architecture:
    """The architecture of a plan (its JSON document, as `hubctl.planfile.load_plan` returns it)."""
    plan = PlanIndex.of(document)
    builder = _Builder(plan)
    builder.build_clusters()
    services = builder.build_contexts()
    builder.build_data(services)
    builder.build_rest(services)
    # The program registers resources concurrently, so plan order varies from run to run: the
    # picture is sorted, so the same plan always gives the same text (the README embeds it).
    rank = {kind: i for i, kind in enumerate(("internet", "edge", "gateway", "data", "platform", "service"))}
    for group in [g for region in builder.regions.values() for g in region.walk_groups()]:
        group.nodes.sort(key=lambda n: (rank[n.kind], n.id))
    builder.top_nodes.sort(key=lambda n: (rank[n.kind], n.id))
    edge_rank = {kind: i for i, kind in enumerate(("ingress", "route", "planned", "data"))}
    builder.edges.sort(key=lambda e: (edge_rank[e.kind], e.source, e.target))
    return Architecture(
        stack=plan.stack,
        cloud=plan.cloud,
        nodes=builder.top_nodes,
        groups=list(builder.regions.values()),
        edges=builder.edges,
    )


__all__ = ["K8S_PROVIDER", "Architecture", "Edge", "Group", "Node", "build"]
