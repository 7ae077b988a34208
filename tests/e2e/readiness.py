"""When is the deployed dev stack ready: the rules, and a bounded wait that names what is not.

`pulumi up` returns once Kubernetes accepted every object; the operators then build the databases,
Prometheus and Alertmanager for minutes. The smoke tests start only when every Deployment,
StatefulSet and DaemonSet on the cluster (the stack's, the charts', the ones the operators create)
and every operator-managed resource of the plan reports ready (the custom resources the plan holds,
and those its Helm charts create, such as kube-prometheus-stack's Prometheus), or the wait ends
after its time limit with the list of what is not ready and the events that say why.

The rules read each object as the API returns it (a dict), so they are unit-tested on fixtures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubctl.plan import Plan
from tests.e2e.selection import helm_releases, kube_prometheus_stack

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


def daemonset_ready(obj: Mapping[str, Any]) -> tuple[bool, str]:
    status = _status(obj)
    want = status.get("desiredNumberScheduled", 0)
    have = {key: status.get(key, 0) for key in ("updatedNumberScheduled", "numberReady", "numberAvailable")}
    if not _observed(obj):
        return False, "the controller has not observed the latest spec yet"
    return all(v >= want for v in have.values()), f"{have['numberAvailable']}/{want} nodes available"


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


def health(expected: str = "green") -> Check:
    """ECK's `status.health` (Kibana, Beat: green once every pod is ready and its association
    with Elasticsearch is established)."""

    def check(obj: Mapping[str, Any]) -> tuple[bool, str]:
        value = _status(obj).get("health")
        return value == expected and _observed(obj), f"health={value!r}"

    return check


def elasticsearch_ready(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """ECK's phase `Ready` (the cluster runs its spec) and the cluster's health: green, or yellow
    on a single node, which can never place a replica (its steady state there)."""
    status = _status(obj)
    phase, colour = status.get("phase"), status.get("health")
    nodes = sum(int(n.get("count", 0)) for n in (obj.get("spec") or {}).get("nodeSets") or [])
    healthy = colour == "green" or (colour == "yellow" and nodes == 1)
    return phase == "Ready" and healthy and _observed(obj), f"phase={phase!r}, health={colour!r}, {nodes} node(s)"


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
# CloudNativePG's `applied` on a Database (the database exists with its owner);
# ECK 3.5's `status.phase`/`status.health` (pkg/apis/elasticsearch/v1/status.go,
# common/v1/common.go, beat/v1beta1/beat_types.go); prometheus-operator's "Available" condition
# on Prometheus and Alertmanager ("True" once every replica is available; "Degraded" otherwise);
# Sealed Secrets' "Synced" on a team's SealedSecret (pkg/apis/sealedsecrets/v1alpha1: the Secret
# is decrypted and written, so the services that mount it can start).
RULES = {
    (r.api_version, r.kind): r
    for r in (
        Rule("postgresql.cnpg.io/v1", "Cluster", "clusters", condition("Ready")),
        Rule("postgresql.cnpg.io/v1", "Database", "databases", state(True, "applied")),
        Rule("psmdb.percona.com/v1", "PerconaServerMongoDB", "perconaservermongodbs", state("ready")),
        Rule("redis.redis.opstreelabs.in/v1beta2", "RedisCluster", "redisclusters", state("Ready")),
        Rule("kafka.strimzi.io/v1", "Kafka", "kafkas", condition("Ready")),
        Rule("kafka.strimzi.io/v1", "KafkaUser", "kafkausers", condition("Ready")),
        Rule("elasticsearch.k8s.elastic.co/v1", "Elasticsearch", "elasticsearches", elasticsearch_ready),
        Rule("kibana.k8s.elastic.co/v1", "Kibana", "kibanas", health()),
        Rule("beat.k8s.elastic.co/v1beta1", "Beat", "beats", health()),
        Rule("monitoring.coreos.com/v1", "Prometheus", "prometheuses", condition("Available")),
        Rule("monitoring.coreos.com/v1", "Alertmanager", "alertmanagers", condition("Available")),
        Rule("bitnami.com/v1alpha1", "SealedSecret", "sealedsecrets", condition("Synced")),
        # cert-manager's "Ready" on a Certificate (its Secret holds a valid certificate) and on a
        # ClusterIssuer (it can sign): the data servers and their consumers mount those Secrets.
        Rule("cert-manager.io/v1", "Certificate", "certificates", condition("Ready")),
        Rule("cert-manager.io/v1", "ClusterIssuer", "clusterissuers", condition("Ready")),
        Rule("gateway.networking.k8s.io/v1", "GatewayClass", "gatewayclasses", condition("Accepted")),
        Rule("gateway.networking.k8s.io/v1", "Gateway", "gateways", condition("Programmed")),
        Rule("k8s.keycloak.org/v2beta1", "Keycloak", "keycloaks", condition("Ready")),
        Rule("k8s.keycloak.org/v2beta1", "KeycloakRealmImport", "keycloakrealmimports", condition("Done")),
    )
}
# Custom resources the stack creates that have no readiness of their own to wait for.
NOT_AWAITED = {
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"): "a recommendation object: nothing becomes ready",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "its brokers are part of the Kafka's Ready condition",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "scrape configuration: the smoke tests check Prometheus scrapes it",
    ("monitoring.coreos.com/v1", "PodMonitor"): "scrape configuration: the smoke tests check Prometheus scrapes it",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "rules Prometheus loads: promtool tests them (test_alert_rules)",
    # The gateway's configuration: each is accepted (or not) per parent in its status, and what it
    # does is what tests/e2e/test_services.py sends requests through once the Gateway is Programmed.
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "routes: the token check requests each one",
    ("gateway.networking.k8s.io/v1", "ReferenceGrant"): "a permission: nothing becomes ready",
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): "the proxies' settings: the Gateway's Programmed covers them",
    ("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"): "listener settings: requests exercise them",
    ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"): "limits: requests exercise them",
    ("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy"): "JWT checks: the token check exercises each",
    ("gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter"): "a direct response: /healthz answers through it",
    **{
        (api_version, kind): "mesh configuration istiod pushes to the sidecars: it has no readiness of its own"
        for api_version, kind in (
            ("networking.istio.io/v1", "VirtualService"),
            ("networking.istio.io/v1", "DestinationRule"),
            ("security.istio.io/v1", "PeerAuthentication"),
            ("security.istio.io/v1", "AuthorizationPolicy"),
            ("telemetry.istio.io/v1", "Telemetry"),
        )
    },
}


def _kube_prometheus_stack(release: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    stack = kube_prometheus_stack(release)
    found = []
    if stack.prometheus:
        found.append(("monitoring.coreos.com/v1", "Prometheus", stack.namespace, stack.prometheus))
    if stack.alertmanager:
        found.append(("monitoring.coreos.com/v1", "Alertmanager", stack.namespace, stack.alertmanager))
    return found


# What each chart the stack installs creates that needs waiting for beyond its Deployments,
# StatefulSets and DaemonSets (which `observe` lists cluster-wide): the custom resources it
# renders, by chart; or why there are none.
CHARTS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str, str, str]]] | str] = {
    "kube-prometheus-stack": _kube_prometheus_stack,
    **{
        chart: "an operator or add-on: its Deployments are listed cluster-wide"
        for chart in (
            "metrics-server",
            "vpa",
            "cluster-autoscaler",
            "external-dns",
            "cloudnative-pg",
            "plugin-barman-cloud",
            "cert-manager",
            "psmdb-operator",
            "redis-operator",
            "strimzi-kafka-operator",
            "sealed-secrets",
            "aws-load-balancer-controller",
            # Envoy Gateway's chart, pulled from its OCI registry by reference: the controller's
            # Deployment; the Gateway it programs and its proxies are the plan's (RULES).
            "oci://docker.io/envoyproxy/gateway-helm",
            "istiod",
            "cni",
            "flagger",
        )
    },
    "base": "Istio's CRDs and its validating webhook configuration: nothing runs",
    "eck-operator": "the operator's StatefulSet is listed cluster-wide; ECK's resources are the plan's own",
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


def chart_resources(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(apiVersion, kind, namespace, name) of the custom resources the plan's Helm charts render."""
    found = []
    for release in helm_releases(plan):
        chart = str(release.inputs.get("chart"))
        what = CHARTS.get(chart)
        if what is None:
            raise LookupError(
                f"Helm chart {chart} (release {release.inputs.get('name')}): not in tests/e2e/readiness.py CHARTS; "
                "say what it creates to wait for, or why nothing"
            )
        if not isinstance(what, str):
            found += what(release.inputs)
    return sorted(found)


def awaited(plan: Plan) -> list[Awaited]:
    """The operator-managed resources of the plan to wait for, its charts' included. A custom
    resource kind or chart with no rule and no reason to skip it is an error: a new operator must
    say when it is ready."""
    found = []
    for api_version, kind, namespace, name in [*custom_resources(plan), *chart_resources(plan)]:
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
