"""When is the deployed dev stack ready: the rules, and a bounded wait that names what is not.

`pulumi up` returns once Kubernetes accepted every object; the operators then build the databases
for minutes. The smoke tests start only when every Deployment and StatefulSet on the cluster (the
stack's, the operators', the ones the operators create) and every operator-managed database of
the plan reports ready, or the wait ends after its time limit with the list of what is not ready
and the events that say why.

The rules read each object as the API returns it (a dict), so they are unit-tested on fixtures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubctl.plan import Plan

Check = Callable[[Mapping[str, Any]], tuple[bool, str]]


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _observed(obj: Mapping[str, Any]) -> bool:
    generation = (obj.get("metadata") or {}).get("generation")
    seen = _status(obj).get("observedGeneration")
    return generation is None or seen is None or seen >= generation


def deployment_ready(obj: Mapping[str, Any]) -> tuple[bool, str]:
    want = (obj.get("spec") or {}).get("replicas", 1)
    status = _status(obj)
    have = {key: status.get(key, 0) for key in ("updatedReplicas", "readyReplicas", "availableReplicas")}
    detail = f"{have['availableReplicas']}/{want} available, {have['updatedReplicas']} updated"
    if not _observed(obj):
        return False, "the controller has not observed the latest spec yet"
    return all(v >= want for v in have.values()), detail


def statefulset_ready(obj: Mapping[str, Any]) -> tuple[bool, str]:
    want = (obj.get("spec") or {}).get("replicas", 1)
    ready = _status(obj).get("readyReplicas", 0)
    if not _observed(obj):
        return False, "the controller has not observed the latest spec yet"
    return ready >= want, f"{ready}/{want} ready"


def condition(type_: str) -> Check:
    def check(obj: Mapping[str, Any]) -> tuple[bool, str]:
        for c in _status(obj).get("conditions") or []:
            if c.get("type") == type_:
                detail = f"{type_}={c.get('status')}" + (f" ({c['message']})" if c.get("message") else "")
                return c.get("status") == "True" and _observed(obj), detail
        return False, f"no {type_} condition yet"

    return check


def state(expected: object, key: str = "state") -> Check:
    def check(obj: Mapping[str, Any]) -> tuple[bool, str]:
        value = _status(obj).get(key)
        reason = _status(obj).get("reason") or _status(obj).get("message")
        return value == expected, f"{key}={value!r}" + (f" ({reason})" if reason else "")

    return check


@dataclass(frozen=True)
class Rule:
    api_version: str
    kind: str
    plural: str
    check: Check

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


# Each operator's own readiness signal, from its API types:
# CloudNativePG `ConditionClusterReady` ("Ready"), Percona `AppStateReady` ("ready"),
# OT redis-operator `RedisClusterReady` ("Ready", set once `redis-cli --cluster check` passes),
# Strimzi's "Ready" condition on Kafka and KafkaUser (the user exists in the brokers),
# CloudNativePG's `applied` on a Database (the database exists with its owner).
RULES = {
    (r.api_version, r.kind): r
    for r in (
        Rule("postgresql.cnpg.io/v1", "Cluster", "clusters", condition("Ready")),
        Rule("postgresql.cnpg.io/v1", "Database", "databases", state(True, "applied")),
        Rule("psmdb.percona.com/v1", "PerconaServerMongoDB", "perconaservermongodbs", state("ready")),
        Rule("redis.redis.opstreelabs.in/v1beta2", "RedisCluster", "redisclusters", state("Ready")),
        Rule("kafka.strimzi.io/v1", "Kafka", "kafkas", condition("Ready")),
        Rule("kafka.strimzi.io/v1", "KafkaUser", "kafkausers", condition("Ready")),
    )
}
# Custom resources the stack creates that have no readiness of their own to wait for.
NOT_AWAITED = {
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"): "a recommendation object: nothing becomes ready",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "its brokers are part of the Kafka's Ready condition",
}
# API groups Kubernetes itself serves: their objects are not operator-managed.
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
}


@dataclass(frozen=True)
class Awaited:
    rule: Rule
    namespace: str
    name: str


def custom_resources(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(apiVersion, kind, namespace, name) of every custom resource in the plan."""
    found = []
    for r in plan.resources:
        api_version, kind = r.inputs.get("apiVersion"), r.inputs.get("kind")
        if not r.type.startswith("kubernetes:") or not api_version or not kind:
            continue
        group = api_version.rpartition("/")[0]
        if group in BUILTIN_GROUPS:
            continue
        meta = r.inputs.get("metadata") or {}
        found.append((api_version, kind, meta.get("namespace", ""), meta.get("name", "")))
    return sorted(found)


def awaited(plan: Plan) -> list[Awaited]:
    """The operator-managed resources of the plan to wait for. A custom resource kind with no
    rule and no reason to skip it is an error: a new operator must say when it is ready."""
    found = []
    for api_version, kind, namespace, name in custom_resources(plan):
        if (api_version, kind) in NOT_AWAITED:
            continue
        rule = RULES.get((api_version, kind))
        if rule is None:
            raise LookupError(
                f"{kind} ({api_version}) {namespace}/{name}: no readiness rule in tests/e2e/readiness.py; "
                "add one to RULES, or the reason it has none to NOT_AWAITED"
            )
        found.append(Awaited(rule, namespace, name))
    return found


@dataclass(frozen=True)
class Observed:
    kind: str
    namespace: str
    name: str
    ready: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.detail}"


def wait_until_ready(
    observe: Callable[[], list[Observed]],
    timeout: float,
    interval: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> list[Observed]:
    """Poll until everything observed is ready; return what is still not ready at the deadline
    (empty when all is ready). Progress goes to `log` whenever the set of waiting objects changes."""
    deadline = clock() + timeout
    last: list[str] = []
    while True:
        waiting = [o for o in observe() if not o.ready]
        if not waiting:
            log("everything is ready")
            return []
        names = [str(o) for o in waiting]
        if names != last:
            log(f"waiting for {len(waiting)}: " + "; ".join(names))
            last = names
        remaining = deadline - clock()
        if remaining <= 0:
            return waiting
        sleep(min(interval, remaining))
