"""Availability: the seed's database and cache topology (managed on AWS and Azure, or in-cluster
through operators), disruption budgets, and prod's multi-region DNS failover.

Relations between resources (a replica and its primary, a cache and its parameter group, a DNS
record and its health check) are read from dependencies first: ids and ARNs are computed, so a
preview does not know them, while the dependency is always there.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .cluster import AKS_CLUSTER, EKS_CLUSTER
from .common import (
    SCALABLE_KINDS,
    as_bool,
    as_mapping,
    as_number,
    cluster_of,
    depends_on,
    get,
    group_of,
    has_key,
    items,
    kind_of,
    kubernetes_objects,
    name,
    namespace,
    object_ref,
    of_type,
    peek,
    pod_template_labels,
    selector_matches,
    stack_environment,
    stack_policy,
)
from .dr import global_datastore_primary
from .network import public_entry_points

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
AZ_POSTGRES = "azure-native:dbforpostgresql:Server"
ELASTICACHE_RG = "aws:elasticache/replicationGroup:ReplicationGroup"
ELASTICACHE_PARAMETER_GROUP = "aws:elasticache/parameterGroup:ParameterGroup"
AZ_REDIS = "azure-native:redis:Redis"
AZ_REDIS_ENTERPRISE = "azure-native:redisenterprise:RedisEnterprise"
AZ_REDIS_ENTERPRISE_DB = "azure-native:redisenterprise:Database"
ROUTE53_RECORD = "aws:route53/record:Record"
ROUTE53_HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
TM_PROFILE = "azure-native:trafficmanager:Profile"
TM_ENDPOINT_TYPES = (
    "azure-native:trafficmanager:Endpoint",
    "azure-native:trafficmanager:AzureEndpoint",
    "azure-native:trafficmanager:ExternalEndpoint",
    "azure-native:trafficmanager:NestedEndpoint",
)

CNPG = ("postgresql.cnpg.io", "Cluster")
PSMDB = ("psmdb.percona.com", "PerconaServerMongoDB")
MONGODB_COMMUNITY = ("mongodbcommunity.mongodb.com", "MongoDBCommunity")
OT_REDIS_CLUSTER = ("redis.redis.opstreelabs.in", "RedisCluster")
STRIMZI_KAFKA = ("kafka.strimzi.io", "Kafka")
STRIMZI_NODE_POOL = ("kafka.strimzi.io", "KafkaNodePool")


def _is(resource: PolicyResource, group_kind: tuple[str, str]) -> bool:
    return (
        resource.resource_type.startswith("kubernetes:")
        and (group_of(resource.resource_type), kind_of(resource.resource_type)) == group_kind
    )


def _custom(resources: list[PolicyResource], group_kind: tuple[str, str]) -> list[PolicyResource]:
    return [r for r in resources if _is(r, group_kind)]


def _references(resource: PolicyResource, target: PolicyResource, key: str, target_keys: tuple[str, ...]) -> bool:
    """`resource` points at `target`: through a dependency, or by a known name/id."""
    if depends_on(resource, target):
        return True
    value = peek(resource.props, key)
    return value is not None and any(value == peek(target.props, k) for k in target_keys)


def _same_region(a: PolicyResource, b: PolicyResource) -> bool:
    """Both in one region: the same AWS provider, or the same Azure location. A copy in another
    region (disaster recovery) is not one of the primary's high-availability replicas."""
    if (a.provider.urn if a.provider else None) != (b.provider.urn if b.provider else None):
        return False
    here, there = peek(a.props, "location"), peek(b.props, "location")
    return here is None or there is None or here == there


# ---- PostgreSQL -----------------------------------------------------------------------------


def _check_postgres(args: StackValidationArgs, report: ReportViolation) -> None:
    env = stack_environment(args)
    if env is None:
        return
    wanted = seed.POSTGRES_REPLICAS[env]
    zoned = env in seed.MULTI_ZONE_ENVIRONMENTS
    resources = args.resources

    rds = of_type(resources, RDS_INSTANCE)
    for primary in rds:
        if "postgres" not in str(peek(primary.props, "engine", default="")) or has_key(
            primary.props, "replicateSourceDb"
        ):
            continue
        if zoned and as_bool(primary.props.get("multiAz")) is not True:
            report(
                f"RDS {primary.name}: multiAz is not true; the {env} primary needs a standby in another zone",
                primary.urn,
            )
        replicas = [
            r
            for r in rds
            if has_key(r.props, "replicateSourceDb")
            and _references(r, primary, "replicateSourceDb", ("identifier", "arn"))
            and _same_region(r, primary)
        ]
        if len(replicas) < wanted:
            report(
                f"RDS {primary.name}: {len(replicas)} read replica(s); the seed's {env} PostgreSQL has {wanted} "
                "(Replica-1, Replica-2)",
                primary.urn,
            )

    instances = of_type(resources, RDS_CLUSTER_INSTANCE)
    for cluster in of_type(resources, RDS_CLUSTER):
        if "postgres" not in str(peek(cluster.props, "engine", default="")):
            continue
        members = [i for i in instances if _references(i, cluster, "clusterIdentifier", ("clusterIdentifier",))]
        if len(members) < 1 + wanted:
            report(
                f"Aurora cluster {cluster.name}: {len(members)} instance(s); {env} needs a writer and {wanted} readers",
                cluster.urn,
            )

    servers = of_type(resources, AZ_POSTGRES)
    for primary in servers:
        if peek(primary.props, "createMode") in ("Replica", "GeoRestore", "ReviveDropped"):
            continue
        mode = get(primary.props, "highAvailability", "mode", default="Disabled")
        if zoned and mode != "ZoneRedundant":
            report(
                f"Flexible Server {primary.name}: highAvailability.mode is {mode}; the {env} primary needs "
                "ZoneRedundant (a standby in another zone)",
                primary.urn,
            )
        replicas = [
            s
            for s in servers
            if peek(s.props, "createMode") == "Replica"
            and _references(s, primary, "sourceServerResourceId", ("id",))
            and _same_region(s, primary)
        ]
        if len(replicas) < wanted:
            report(
                f"Flexible Server {primary.name}: {len(replicas)} read replica(s); the seed's {env} PostgreSQL "
                f"has {wanted}",
                primary.urn,
            )

    for cluster in _custom(resources, CNPG):
        spec = as_mapping(get(cluster.props, "spec", default={}))
        if as_bool(get(spec, "replica", "enabled")) is True:
            continue  # a replica cluster (another region) follows its source's topology
        instances_ = as_number(spec.get("instances")) or 1.0
        if instances_ < 1 + wanted:
            report(
                f"{object_ref(cluster.props)}: {instances_:g} instance(s); the seed's {env} PostgreSQL is a primary "
                f"and {wanted} streaming replicas",
                cluster.urn,
            )
        if zoned:
            affinity = as_mapping(spec.get("affinity", {}))
            if (
                as_bool(affinity.get("enablePodAntiAffinity")) is False
                or affinity.get("topologyKey") != seed.ZONE_TOPOLOGY_KEY
                or affinity.get("podAntiAffinityType") != "required"
            ):
                report(
                    f"{object_ref(cluster.props)}: instances are not required to run in different zones "
                    f"(affinity.topologyKey {seed.ZONE_TOPOLOGY_KEY}, podAntiAffinityType required)",
                    cluster.urn,
                )


# ---- MongoDB --------------------------------------------------------------------------------


def _mongo_replica_sets(spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every replica set of a Percona cluster: each shard (or the one replica set), and the config
    servers where it is sharded."""
    found = [(f"replset {replset.get('name')}", as_mapping(replset)) for replset in items(spec.get("replsets"))]
    if as_bool(get(spec, "sharding", "enabled")) is True:
        found.append(("config server replset", as_mapping(get(spec, "sharding", "configsvrReplSet", default={}))))
    return found


def _check_mongo(args: StackValidationArgs, report: ReportViolation) -> None:
    env = stack_environment(args)
    if env is None:
        return
    wanted = seed.MONGO_MEMBERS[env]
    zoned = env in seed.MULTI_ZONE_ENVIRONMENTS
    for mongo in _custom(args.resources, PSMDB):
        spec = as_mapping(get(mongo.props, "spec", default={}))
        for part, replset in _mongo_replica_sets(spec):
            size = as_number(replset.get("size")) or 0.0
            label = f"{object_ref(mongo.props)} {part}"
            if size < wanted:
                report(f"{label}: {size:g} member(s); the seed's {env} replica set has {wanted}", mongo.urn)
            if zoned and get(replset, "affinity", "antiAffinityTopologyKey") != seed.ZONE_TOPOLOGY_KEY:
                report(
                    f"{label}: members are not spread over zones (affinity.antiAffinityTopologyKey "
                    f"{seed.ZONE_TOPOLOGY_KEY})",
                    mongo.urn,
                )
        # A sharded cluster is reached through its routers only: one router, or routers that may
        # share a zone, would make a zone (or a node) take every database down with it.
        if zoned and as_bool(get(spec, "sharding", "enabled")) is True:
            mongos = as_mapping(get(spec, "sharding", "mongos", default={}))
            routers = as_number(mongos.get("size")) or 0.0
            if routers < 2 or get(mongos, "affinity", "antiAffinityTopologyKey") != seed.ZONE_TOPOLOGY_KEY:
                report(
                    f"{object_ref(mongo.props)} mongos: {routers:g} router(s); at least 2, spread over zones "
                    f"(affinity.antiAffinityTopologyKey {seed.ZONE_TOPOLOGY_KEY})",
                    mongo.urn,
                )
    for mongo in _custom(args.resources, MONGODB_COMMUNITY):
        members = as_number(get(mongo.props, "spec", "members")) or 0.0
        if members < wanted:
            report(
                f"{object_ref(mongo.props)}: {members:g} member(s); the seed's {env} replica set has {wanted}",
                mongo.urn,
            )


# ---- Redis: nodes ---------------------------------------------------------------------------


def _elasticache_nodes(props: Mapping[str, Any]) -> tuple[float, float]:
    """(nodes, replicas per primary) of a replication group, cluster mode or not."""
    if has_key(props, "numNodeGroups"):
        shards = as_number(props.get("numNodeGroups")) or 1.0
        replicas = as_number(props.get("replicasPerNodeGroup")) or 0.0
        return shards * (1 + replicas), replicas
    clusters = as_number(props.get("numCacheClusters")) or 1.0
    return clusters, clusters - 1


def _leader_follower(spec: Mapping[str, Any]) -> tuple[float, float]:
    size = as_number(spec.get("clusterSize")) or 0.0
    leaders = as_number(get(spec, "redisLeader", "replicas"))
    followers = as_number(get(spec, "redisFollower", "replicas"))
    return (size if leaders is None else leaders), (size if followers is None else followers)


def _spreads_over_zones(role: Mapping[str, Any]) -> bool:
    constraints = items(role.get("topologySpreadConstraints"))
    return any(c.get("topologyKey") == seed.ZONE_TOPOLOGY_KEY for c in constraints)


def _check_cache_ha(args: StackValidationArgs, report: ReportViolation) -> None:
    env = stack_environment(args)
    if env is None:
        return
    wanted = seed.REDIS_NODES[env]
    zoned = env in seed.MULTI_ZONE_ENVIRONMENTS
    for group in of_type(args.resources, ELASTICACHE_RG):
        nodes, replicas = _elasticache_nodes(group.props)
        label = f"ElastiCache {group.name}"
        if has_key(group.props, "globalReplicationGroupId"):
            # A Global Datastore member has its primary's shards and its own replicas.
            primary = global_datastore_primary(group, args.resources)
            if primary is None:
                report(f"{label}: a Global Datastore member whose primary the stack does not build", group.urn)
                continue
            shards = as_number(primary.props.get("numNodeGroups")) or 1.0
            replicas = as_number(group.props.get("replicasPerNodeGroup")) or 0.0
            nodes = shards * (1 + replicas)
        if nodes < wanted:
            report(
                f"{label}: {nodes:g} node(s); the seed's Redis cluster has {wanted} (master-replica pairs)", group.urn
            )
        if replicas < 1:
            report(f"{label}: primaries without a replica; the seed pairs every master with a replica", group.urn)
        if as_bool(group.props.get("automaticFailoverEnabled")) is not True:
            report(f"{label}: automaticFailoverEnabled is not true: a failed primary is not replaced", group.urn)
        if zoned and as_bool(group.props.get("multiAzEnabled")) is not True:
            report(f"{label}: multiAzEnabled is not true in {env}", group.urn)
    for cache in of_type(args.resources, AZ_REDIS):
        shards = as_number(cache.props.get("shardCount")) or 1.0
        per_master = as_number(cache.props.get("replicasPerMaster"))
        per_shard = 1 + (1.0 if per_master is None else per_master)
        if shards * per_shard < wanted:
            report(
                f"Azure Cache for Redis {cache.name}: {shards:g} shard(s) x {per_shard:g} node(s); the seed's "
                f"Redis cluster has {wanted}",
                cache.urn,
            )
    for cache in of_type(args.resources, AZ_REDIS_ENTERPRISE):
        # Azure Managed Redis has no node count to set: high availability gives every shard a
        # replica on another node (the SKU sets the shards); without it there are none.
        if cache.props.get("highAvailability") == "Disabled":
            report(
                f"Azure Managed Redis {cache.name}: highAvailability is Disabled: no replica of any shard", cache.urn
            )
    for database in of_type(args.resources, AZ_REDIS_ENTERPRISE_DB):
        if database.props.get("clusteringPolicy") == "NoCluster":
            report(
                f"Azure Managed Redis database {database.name}: clusteringPolicy NoCluster; the seed runs a "
                "Redis Cluster",
                database.urn,
            )
    for cluster in _custom(args.resources, OT_REDIS_CLUSTER):
        spec = as_mapping(get(cluster.props, "spec", default={}))
        leaders, followers = _leader_follower(spec)
        label = object_ref(cluster.props)
        if leaders + followers < wanted:
            report(
                f"{label}: {leaders:g} leader(s) + {followers:g} follower(s); the seed's Redis cluster has "
                f"{wanted} nodes",
                cluster.urn,
            )
        if followers < leaders:
            report(
                f"{label}: {followers:g} follower(s) for {leaders:g} leader(s); every master needs a replica",
                cluster.urn,
            )
        if zoned:
            for role in ("redisLeader", "redisFollower"):
                if not _spreads_over_zones(as_mapping(spec.get(role, {}))):
                    report(f"{label}: {role} pods are not spread over zones ({seed.ZONE_TOPOLOGY_KEY})", cluster.urn)


# ---- Redis: eviction ------------------------------------------------------------------------
_MAXMEMORY_POLICY = re.compile(r"^\s*maxmemory-policy\s+(\S+)", re.M)


def _parameter(props: Mapping[str, Any], key: str) -> str | None:
    for entry in items(props.get("parameters")):
        if entry.get("name") == key:
            return str(entry.get("value"))
    return None


def _check_eviction(args: StackValidationArgs, report: ReportViolation) -> None:
    wanted = seed.REDIS_EVICTION_POLICY
    groups = of_type(args.resources, ELASTICACHE_PARAMETER_GROUP)
    for cache in of_type(args.resources, ELASTICACHE_RG):
        if has_key(cache.props, "globalReplicationGroupId") and global_datastore_primary(cache, args.resources):
            continue  # ElastiCache derives a Global Datastore member's parameter group from its primary's
        mine = [g for g in groups if _references(cache, g, "parameterGroupName", ("name",))]
        if not mine:
            report(
                f"ElastiCache {cache.name}: no parameter group of the stack; the default group evicts volatile-lru, "
                f"the seed's policy is {wanted}",
                cache.urn,
            )
        for group in mine:
            value = _parameter(group.props, "maxmemory-policy")
            if value != wanted:
                report(
                    f"ElastiCache parameter group {group.name}: maxmemory-policy is {value or 'unset (volatile-lru)'}; "
                    f"the seed's policy is {wanted}",
                    group.urn,
                )
    for database in of_type(args.resources, AZ_REDIS_ENTERPRISE_DB):
        value = database.props.get("evictionPolicy")
        if str(value).lower() != wanted.replace("-", ""):
            report(
                f"Azure Managed Redis database {database.name}: evictionPolicy is {value or 'unset (VolatileLRU)'}; "
                "the seed's policy is AllKeysLRU",
                database.urn,
            )
    for cache in of_type(args.resources, AZ_REDIS):
        value = get(cache.props, "redisConfiguration", "maxmemoryPolicy")
        if value != wanted:
            report(
                f"Azure Cache for Redis {cache.name}: redisConfiguration.maxmemoryPolicy is "
                f"{value or 'unset (volatile-lru)'}; the seed's policy is {wanted}",
                cache.urn,
            )
    config_maps = [r for r in kubernetes_objects(args.resources) if r.props.get("kind") == "ConfigMap"]
    for cluster in _custom(args.resources, OT_REDIS_CLUSTER):
        spec = as_mapping(get(cluster.props, "spec", default={}))
        for role in ("redisLeader", "redisFollower"):
            ref = get(spec, role, "redisConfig", "additionalRedisConfig")
            where = f"{object_ref(cluster.props)} {role}"
            config = next(
                (
                    c
                    for c in config_maps
                    if ref is not None
                    and name(c.props) == ref
                    and namespace(c.props) == namespace(cluster.props)
                    and cluster_of(c) == cluster_of(cluster)
                ),
                None,
            )
            if config is None:
                report(
                    f"{where}: no additionalRedisConfig ConfigMap of the stack sets maxmemory-policy (the default is "
                    f"noeviction); the seed's policy is {wanted}",
                    cluster.urn,
                )
                continue
            policies = [
                m
                for text in (get(config.props, "data", default={}) or {}).values()
                for m in _MAXMEMORY_POLICY.findall(str(text))
            ]
            if policies[-1:] != [wanted]:
                shown = policies[-1] if policies else "unset (noeviction)"
                report(
                    f"{object_ref(config.props)}: maxmemory-policy is {shown} for {where}; the seed's policy is "
                    f"{wanted}",
                    config.urn,
                )


# ---- disruption budgets ---------------------------------------------------------------------


def _scaled(value: Any, replicas: float) -> float | None:
    """An IntOrString against a replica count; percentages round up, as Kubernetes does."""
    number = as_number(value)
    if number is not None:
        return number
    match = re.fullmatch(r"(\d+)%", str(value or ""))
    return float(math.ceil(int(match[1]) * replicas / 100)) if match else None


def _most_replicas(pdb: PolicyResource, resources: list[PolicyResource]) -> float | None:
    """The most pods the PDB's workloads may run: an HPA's maximum, else spec.replicas."""
    objects = kubernetes_objects(resources)
    hpa_max = {
        (cluster_of(h), namespace(h.props), get(h.props, "spec", "scaleTargetRef", "name")): as_number(
            get(h.props, "spec", "maxReplicas")
        )
        for h in objects
        if h.props.get("kind") == "HorizontalPodAutoscaler"
    }
    counts = []
    for workload in objects:
        if workload.props.get("kind") not in SCALABLE_KINDS:
            continue
        if cluster_of(workload) != cluster_of(pdb) or namespace(workload.props) != namespace(pdb.props):
            continue
        if not selector_matches(get(pdb.props, "spec", "selector"), pod_template_labels(workload.props)):
            continue
        replicas = hpa_max.get((cluster_of(workload), namespace(workload.props), name(workload.props)))
        if replicas is None:
            replicas = as_number(get(workload.props, "spec", "replicas"))
        counts.append(1.0 if replicas is None else replicas)
    return max(counts) if counts else None


def _budget_problem(spec: Mapping[str, Any], replicas: float | None) -> str | None:
    """Why a budget lets more than one pod go at once, or None."""
    limit = seed.PDB_MAX_UNAVAILABLE
    if has_key(spec, "maxUnavailable"):
        value = spec.get("maxUnavailable")
        number = as_number(value)
        if number is None and replicas is None:
            return (
                f"maxUnavailable {value} cannot be judged without the workload's replicas; use maxUnavailable: {limit}"
            )
        allowed = number if number is not None else _scaled(value, replicas or 0.0)
        if allowed is None or allowed > limit:
            shown = "an unknown number of" if allowed is None else f"{allowed:g}"
            return f"maxUnavailable {value} lets {shown} pods go at once; at most {limit}"
        return None
    if has_key(spec, "minAvailable"):
        value = spec.get("minAvailable")
        if replicas is None:
            return f"minAvailable {value} cannot be judged without the workload's replicas; use maxUnavailable: {limit}"
        kept = _scaled(value, replicas)
        if kept is None or replicas - kept > limit:
            return (
                f"minAvailable {value} of up to {replicas:g} pods lets {replicas - (kept or 0):g} go at once; "
                f"at most {limit}"
            )
        return None
    return f"sets neither maxUnavailable nor minAvailable; use maxUnavailable: {limit}"


def _operator_budgets(resource: PolicyResource) -> list[tuple[str, Mapping[str, Any]]]:
    """Disruption budgets an operator's custom resource asks its operator to create."""
    spec = as_mapping(get(resource.props, "spec", default={}))
    found: list[tuple[str, Mapping[str, Any]]] = []
    if _is(resource, OT_REDIS_CLUSTER):
        for role in ("redisLeader", "redisFollower"):
            pdb = as_mapping(get(spec, role, "pdb", default={}))
            if as_bool(pdb.get("enabled")) is True:
                found.append((f"{role}.pdb", pdb))
    elif _is(resource, PSMDB):
        parts = _mongo_replica_sets(spec)
        if as_bool(get(spec, "sharding", "enabled")) is True:
            parts.append(("mongos", as_mapping(get(spec, "sharding", "mongos", default={}))))
        for part, members in parts:
            pdb = as_mapping(members.get("podDisruptionBudget", {}))
            if pdb:
                found.append((f"{part} podDisruptionBudget", pdb))
    elif _is(resource, STRIMZI_KAFKA):
        for part in ("kafka", "zookeeper", "cruiseControl"):
            pdb = as_mapping(get(spec, part, "template", "podDisruptionBudget", default={}))
            if pdb:
                found.append((f"{part}.template.podDisruptionBudget", pdb))
    return found


def _check_pdb(args: StackValidationArgs, report: ReportViolation) -> None:
    for obj in kubernetes_objects(args.resources):
        if obj.props.get("kind") == "PodDisruptionBudget":
            problem = _budget_problem(
                as_mapping(get(obj.props, "spec", default={})), _most_replicas(obj, args.resources)
            )
            if problem:
                report(f"{object_ref(obj.props)}: {problem}", obj.urn)
            continue
        for where, budget in _operator_budgets(obj):
            # The operators take an integer here; a member count is the CR's own.
            problem = _budget_problem(budget, None)
            if problem:
                report(f"{object_ref(obj.props)} {where}: {problem}", obj.urn)


# ---- prod: two regions behind health-checked DNS --------------------------------------------
_ROUTING_POLICIES = (
    "failoverRoutingPolicies",
    "weightedRoutingPolicies",
    "latencyRoutingPolicies",
    "geolocationRoutingPolicies",
    "geoproximityRoutingPolicy",
    "cidrRoutingPolicy",
)


def _health_check_seconds(check: PolicyResource) -> float:
    # Route 53 defaults: a check every 30 s, three failures to declare the endpoint unhealthy.
    interval = as_number(check.props.get("requestInterval")) or 30.0
    failures = as_number(check.props.get("failureThreshold")) or 3.0
    return interval * failures


def _check_route53(records: list[PolicyResource], resources: list[PolicyResource], report: ReportViolation) -> int:
    """Checks the routed record sets; returns how many span two or more targets."""
    checks = of_type(resources, ROUTE53_HEALTH_CHECK)
    sets: dict[tuple[Any, Any], list[PolicyResource]] = defaultdict(list)
    for record in records:
        if any(has_key(record.props, key) for key in _ROUTING_POLICIES):
            sets[(peek(record.props, "name"), peek(record.props, "type"))].append(record)
    spanning = 0
    for (record_name, _), members in sets.items():
        if len(members) < 2:
            continue
        spanning += 1
        failover = [str(get(p, "type")) for m in members for p in items(m.props.get("failoverRoutingPolicies"))]
        if failover and not {"PRIMARY", "SECONDARY"} <= set(failover):
            report(f"Route 53 {record_name}: failover records without both PRIMARY and SECONDARY", members[0].urn)
        for record in members:
            mine = [c for c in checks if depends_on(record, c)]
            checked = mine or has_key(record.props, "healthCheckId")
            alias_checked = as_bool(get(record.props, "aliases", 0, "evaluateTargetHealth")) is True
            if not checked and not alias_checked:
                report(f"Route 53 record {record.name}: no health check, so DNS cannot fail over from it", record.urn)
                continue
            detection = max((_health_check_seconds(c) for c in mine), default=0.0)
            ttl = as_number(record.props.get("ttl")) or 0.0
            if detection + ttl > seed.DNS_FAILOVER_SECONDS:
                report(
                    f"Route 53 record {record.name}: health check detection {detection:g} s + TTL {ttl:g} s = "
                    f"{detection + ttl:g} s; the seed fails over within {seed.DNS_FAILOVER_SECONDS} s",
                    record.urn,
                )
    return spanning


def _check_traffic_manager(resources: list[PolicyResource], report: ReportViolation) -> int:
    spanning = 0
    endpoints = of_type(resources, *TM_ENDPOINT_TYPES)
    for profile in of_type(resources, TM_PROFILE):
        if profile.props.get("profileStatus") == "Disabled":
            report(f"Traffic Manager {profile.name}: profileStatus Disabled", profile.urn)
            continue
        live = [
            e
            for e in endpoints
            if _references(e, profile, "profileName", ("profileName",)) and e.props.get("endpointStatus") != "Disabled"
        ]
        if len(live) < 2:
            report(
                f"Traffic Manager {profile.name}: {len(live)} enabled endpoint(s); failover needs two regions",
                profile.urn,
            )
            continue
        spanning += 1
        monitor = as_mapping(profile.props.get("monitorConfig", {}))
        if not monitor:
            report(f"Traffic Manager {profile.name}: no monitorConfig, so endpoints are never probed", profile.urn)
            continue
        # Traffic Manager defaults: a probe every 30 s, three tolerated failures.
        interval = as_number(monitor.get("intervalInSeconds")) or 30.0
        tolerated = as_number(monitor.get("toleratedNumberOfFailures"))
        detection = interval * ((3.0 if tolerated is None else tolerated) + 1)
        ttl = as_number(get(profile.props, "dnsConfig", "ttl")) or 0.0
        if detection + ttl > seed.DNS_FAILOVER_SECONDS:
            report(
                f"Traffic Manager {profile.name}: probe detection {detection:g} s + TTL {ttl:g} s = "
                f"{detection + ttl:g} s; the seed fails over within {seed.DNS_FAILOVER_SECONDS} s",
                profile.urn,
            )
    return spanning


def _check_failover(args: StackValidationArgs, report: ReportViolation) -> None:
    clusters = of_type(args.resources, EKS_CLUSTER, AKS_CLUSTER)
    if not clusters:
        return  # nothing regional here (a stack on an existing cluster, or add-ons only)
    if len(clusters) < 2:
        report(
            f"prod runs one cluster ({clusters[0].name}); the seed's prod is multi-region with active-active failover",
            clusters[0].urn,
        )
    spanning = _check_route53(of_type(args.resources, ROUTE53_RECORD), args.resources, report)
    spanning += _check_traffic_manager(args.resources, report)
    if spanning:
        return
    # Failover moves clients' traffic from one region's public entry point to the other's. With
    # no entry point (the gateway is not built yet) there is nothing to fail over, and records
    # could only point at names nobody serves (components/cloud/dns_failover.py builds them once
    # each region publishes one).
    for entry in public_entry_points(args.resources):
        report(
            f"{object_ref(entry.props)} is a public entry point, but prod has no health-checked DNS record set "
            "spanning two regions (Route 53 or Traffic Manager) to fail it over",
            entry.urn,
        )


POLICIES = [
    stack_policy(
        "postgres-ha",
        "PostgreSQL runs the seed's primary and two streaming replicas, the primary with a standby in another zone: "
        "RDS multiAz and two read replicas, Flexible Server ZoneRedundant and two replicas, CloudNativePG three "
        "instances across zones (staging, prod).",
        _check_postgres,
        environments=("staging", "prod"),
    ),
    stack_policy(
        "mongo-replica-set",
        "MongoDB runs the seed's 3-member replica set, members spread over zones (staging, prod); sharded, every "
        "shard and the config servers are such a replica set, and at least two routers span the zones.",
        _check_mongo,
        environments=("staging", "prod"),
    ),
    stack_policy(
        "cache-ha",
        "Redis runs the seed's 6 nodes as master-replica pairs with automatic failover: ElastiCache numNodeGroups x "
        "(1 + replicasPerNodeGroup), Azure Managed Redis high availability, in-cluster leaders + followers.",
        _check_cache_ha,
    ),
    stack_policy(
        "cache-eviction-policy",
        "Redis evicts allkeys-lru: the ElastiCache parameter group, the Azure Redis database, or the in-cluster "
        "Redis configuration.",
        _check_eviction,
    ),
    stack_policy(
        "pdb-max-unavailable",
        "No PodDisruptionBudget (or operator-managed budget) lets more than one pod of a workload go at once.",
        _check_pdb,
    ),
    stack_policy(
        "prod-multi-region-failover",
        "Prod runs a cluster in each of two regions; once the stack exposes a public entry point (a LoadBalancer "
        "Service of the gateway: labelled bakhmach.io/role=gateway or in a namespace so labelled), health-checked "
        "DNS fails it over between two regions within a minute (Route 53 routed records with health checks, or "
        "Traffic Manager with two endpoints). Failover records that exist are checked either way.",
        _check_failover,
        environments=("prod",),
    ),
]
