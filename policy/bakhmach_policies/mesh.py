"""Service mesh and progressive delivery: every context service's timeouts, retries and circuit
breaker, its canary where the seed asks for one, and no data connection in plaintext.

(`mesh-mtls-strict`, the mesh-wide mTLS rule, lives with the network policies.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    POD_SPEC_PATHS,
    as_number,
    cluster_of,
    containers,
    duration_seconds,
    get,
    items,
    kubernetes_objects,
    name,
    namespace,
    object_ref,
    pod_spec,
    stack_policy,
)
from .network import stack_has_istio


def _context_deployments(resources: list[PolicyResource]) -> list[PolicyResource]:
    """The context services of every cluster that runs Istio (as for mesh-mtls-strict: a stack
    without the mesh is judged by the network policies alone)."""
    meshes = {cluster_of(r) for r in resources if stack_has_istio([r])}
    return [
        r
        for r in kubernetes_objects(resources)
        if r.props.get("kind") == "Deployment" and namespace(r.props) in seed.CONTEXTS and cluster_of(r) in meshes
    ]


def _of_kind(resources: list[PolicyResource], kind: str) -> list[PolicyResource]:
    return [r for r in kubernetes_objects(resources) if r.props.get("kind") == kind]


def _hosts_of(workload: PolicyResource) -> set[str]:
    """The names a Service named after the workload answers to, short to fully qualified."""
    svc, ns = name(workload.props), namespace(workload.props)
    return {f"{svc}", f"{svc}.{ns}", f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local"}


def _same_place(a: PolicyResource, b: PolicyResource) -> bool:
    return cluster_of(a) == cluster_of(b) and namespace(a.props) == namespace(b.props)


def _canary_for(workload: PolicyResource, canaries: list[PolicyResource]) -> PolicyResource | None:
    for canary in canaries:
        target = get(canary.props, "spec", "targetRef", default={})
        kind, target_name = get(target, "kind"), get(target, "name")
        if _same_place(canary, workload) and kind == "Deployment" and target_name == name(workload.props):
            return canary
    return None


def _route_problems(route: Mapping[str, Any]) -> list[str]:
    problems = []
    timeout = duration_seconds(get(route, "timeout"))
    limit = seed.MESH_TIMEOUT_SECONDS if not items(get(route, "match")) else seed.MESH_BATCH_TIMEOUT_SECONDS
    if timeout is None or not 0 < timeout <= limit:
        problems.append(f"timeout {get(route, 'timeout')} (the seed: at most {limit}s on this route)")
    retries = get(route, "retries", default={})
    attempts = as_number(get(retries, "attempts"))
    if attempts != seed.MESH_RETRY_ATTEMPTS:
        problems.append(f"retries.attempts {get(retries, 'attempts')} (the seed: {seed.MESH_RETRY_ATTEMPTS})")
    retry_on = {c.strip() for c in str(get(retries, "retryOn", default="")).split(",") if c.strip()}
    missing = [c for c in seed.MESH_RETRY_ON if c not in retry_on]
    if missing:
        problems.append(f"retries.retryOn lacks {', '.join(missing)}")
    per_try = duration_seconds(get(retries, "perTryTimeout"))
    if per_try is None or (timeout is not None and per_try * seed.MESH_RETRY_ATTEMPTS > timeout):
        problems.append(f"retries.perTryTimeout {get(retries, 'perTryTimeout')} (every attempt must fit the timeout)")
    return problems


def _breaker_problems(policy: Any) -> list[str]:
    problems = []
    outlier = get(policy, "outlierDetection", default={})
    if (
        as_number(get(outlier, "consecutive5xxErrors")) is None
        and as_number(get(outlier, "consecutiveGatewayErrors")) is None
    ):
        problems.append("no outlier detection on consecutive errors")
    elif (
        duration_seconds(get(outlier, "baseEjectionTime")) is None
        or as_number(get(outlier, "maxEjectionPercent")) is None
    ):
        problems.append("outlier detection without baseEjectionTime and maxEjectionPercent")
    pool = get(policy, "connectionPool", default={})
    if not get(pool, "http") and not get(pool, "tcp"):
        problems.append("no connection-pool limits")
    return problems


def _check_resilience(args: StackValidationArgs, report: ReportViolation) -> None:
    services = _of_kind(args.resources, "VirtualService")
    rules = _of_kind(args.resources, "DestinationRule")
    canaries = _of_kind(args.resources, "Canary")
    for workload in _context_deployments(args.resources):
        hosts = _hosts_of(workload)
        routed = [
            vs
            for vs in services
            if _same_place(vs, workload) and hosts & {str(h) for h in items(get(vs.props, "spec", "hosts"))}
        ]
        problems: list[str] = []
        if not routed:
            problems.append("no VirtualService routes its host")
        for vs in routed:
            for route in items(get(vs.props, "spec", "http")):
                problems += [
                    f"{object_ref(vs.props)} route {get(route, 'name', default='?')}: {p}"
                    for p in _route_problems(route)
                ]
        canary = _canary_for(workload, canaries)
        policies = [get(canary.props, "spec", "service", "trafficPolicy")] if canary else []
        policies += [
            get(rule.props, "spec", "trafficPolicy")
            for rule in rules
            if _same_place(rule, workload) and str(get(rule.props, "spec", "host")) in hosts
        ]
        if not policies:
            problems.append("no DestinationRule (or Canary traffic policy) gives it a circuit breaker")
        for policy in policies:
            problems += _breaker_problems(policy)
        for problem in problems:
            report(f"{object_ref(workload.props)}: {problem}", workload.urn)


def _check_canary(args: StackValidationArgs, report: ReportViolation) -> None:
    canaries = _of_kind(args.resources, "Canary")
    for workload in _context_deployments(args.resources):
        canary = _canary_for(workload, canaries)
        if canary is None:
            report(
                f"{object_ref(workload.props)} has no Canary: a new version would reach every user at once",
                workload.urn,
            )
            continue
        analysis = get(canary.props, "spec", "analysis", default={})
        weights = [as_number(w) for w in items(get(analysis, "stepWeights"))] or [
            as_number(get(analysis, "stepWeight"))
        ]
        top = max((w for w in weights if w is not None), default=None)
        max_weight = as_number(get(analysis, "maxWeight")) if not items(get(analysis, "stepWeights")) else top
        if max_weight != seed.CANARY_WEIGHT_PERCENT or top is None or top > seed.CANARY_WEIGHT_PERCENT:
            report(
                f"{object_ref(canary.props)}: canary weight up to {max_weight} (the seed: stable "
                f"{100 - seed.CANARY_WEIGHT_PERCENT}%, canary {seed.CANARY_WEIGHT_PERCENT}%)",
                canary.urn,
            )
        rates = [
            as_number(get(m, "thresholdRange", "min"))
            for m in items(get(analysis, "metrics"))
            if get(m, "name") == "request-success-rate"
        ]
        if not rates or any(r is None or r < seed.CANARY_MIN_SUCCESS_PERCENT for r in rates):
            report(
                f"{object_ref(canary.props)}: no request-success-rate check of at least "
                f"{seed.CANARY_MIN_SUCCESS_PERCENT}% (the seed rolls back above a 5% error rate)",
                canary.urn,
            )
        elif (as_number(get(analysis, "threshold")) or 0) < 1:
            report(f"{object_ref(canary.props)}: analysis.threshold must allow a rollback", canary.urn)


# ---- data connections -----------------------------------------------------------------------


def _env(container: Mapping[str, Any]) -> dict[str, Any]:
    return {str(get(e, "name")): get(e, "value") for e in items(container.get("env")) if get(e, "name")}


def _mounted(spec: Mapping[str, Any], container: Mapping[str, Any], path: str) -> bool:
    return any(
        str(path).startswith(str(get(m, "mountPath", default="/nowhere")).rstrip("/") + "/")
        for m in items(container.get("volumeMounts"))
    )


def _client_problems(workload: PolicyResource) -> list[str]:
    spec = pod_spec(workload.resource_type, workload.props)
    if spec is None:
        return []
    problems = []
    for container in containers(spec):
        env = _env(container)
        for prefix in seed.DATA_CONNECTION_PREFIXES:
            if f"{prefix}_HOST" not in env:
                continue
            if str(env.get(f"{prefix}_TLS", "")).lower() != "true":
                problems.append(f"container {get(container, 'name')} connects to {prefix.lower()} without TLS")
            ca_file = env.get(f"{prefix}_CA_FILE")
            if ca_file is not None and not _mounted(spec, container, str(ca_file)):
                problems.append(f"container {get(container, 'name')}: {prefix}_CA_FILE {ca_file} is not mounted")
    return problems


def _server_problems(resource: PolicyResource) -> list[str]:
    kind, spec = resource.props.get("kind"), get(resource.props, "spec", default={})
    if kind == "PerconaServerMongoDB":
        mode = get(spec, "tls", "mode")
        if mode != "requireTLS" or get(spec, "unsafeFlags", "tls"):
            return [f"tls.mode is {mode or 'unset (preferTLS)'}; require TLS"]
    elif kind == "Kafka":
        plain = [
            str(get(listener, "name"))
            for listener in items(get(spec, "kafka", "listeners"))
            if get(listener, "tls") is not True
        ]
        if plain:
            return [f"listener(s) {', '.join(plain)} accept plaintext"]
    elif kind == "RedisCluster" and not get(spec, "TLS", "secret", "secretName"):
        return ["no TLS (spec.TLS): clients and replicas talk plaintext"]
    elif kind == "Cluster" and resource.resource_type.startswith("kubernetes:postgresql.cnpg.io"):
        loose = [
            line
            for line in items(get(spec, "postgresql", "pg_hba"))
            if str(line).split()[:1] == ["host"] and not str(line).rstrip().endswith("reject")
        ]
        if loose:
            return [f"pg_hba accepts non-TLS connections: {loose[0]}"]
    return []


SERVER_KINDS = ("PerconaServerMongoDB", "Kafka", "RedisCluster", "Cluster")


def _check_data_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in kubernetes_objects(args.resources):
        kind = resource.props.get("kind")
        if kind in POD_SPEC_PATHS:
            problems = _client_problems(resource)
        elif kind in SERVER_KINDS:
            problems = _server_problems(resource)
        else:
            continue
        for problem in problems:
            report(f"{object_ref(resource.props)}: {problem}", resource.urn)


POLICIES = [
    stack_policy(
        "mesh-service-resilience",
        "Where the stack installs Istio, every context service is routed by a VirtualService whose routes "
        "time out (30 s, 60 s for batch routes) and retry 3 times on 5xx, reset and connect-failure within "
        "the timeout, and has a circuit breaker (outlier detection and connection-pool limits) in a "
        "DestinationRule or its Canary's traffic policy.",
        _check_resilience,
    ),
    stack_policy(
        "canary-rollout",
        "In staging and prod, where the stack installs Istio, every context service rolls out through a "
        "Flagger Canary at stable 90% / canary 10%, rolled back when its request success rate is below 95% "
        "(error rate above 5%).",
        _check_canary,
        environments=sorted(seed.CANARY_ENVIRONMENTS),
    ),
    stack_policy(
        "data-connections-tls",
        "No data connection in plaintext: every workload that names a data service (<SVC>_HOST) sets <SVC>_TLS=true "
        "and mounts the CA file it names, and the in-cluster data servers require TLS (Percona requireTLS, every "
        "Strimzi listener TLS, OT Redis TLS, CloudNativePG pg_hba hostssl only).",
        _check_data_tls,
    ),
]
