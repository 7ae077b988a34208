"""What the smoke tests check, read from the offline plan of the dev stack.

Nothing here is a hand-written list of namespaces, services, ports or grants: every case comes
from the objects the plan registers (Namespaces, Deployments, Services, NetworkPolicies, the
consumers' data Secrets and the operators' custom resources), so a change to the stack changes
what the smoke tests check. What the plan cannot decide is returned as `Undecided` with a reason
(tests/test_e2e_selection.py asserts the dev plan has none), never silently dropped.

Two kinds of namespace matter: a context's own namespace (named after its `bakhmach.io/context`,
components/context_namespace.py), where the probes run as that context's services; and the
platform's namespaces (data, telemetry, ...), whose Services and ports are targets only.

Pure functions over a `Plan`: unit-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from components.labels import CONTEXT_LABEL, GATEWAY_ROLE, GATEWAY_ROLE_LABEL
from hubctl.plan import Plan, PlannedResource
from tests.e2e import netpol

DATA_SERVICE_LABEL = "bakhmach.io/data-service"
NAME_LABEL = "app.kubernetes.io/name"
# Labels every probe pod carries besides the ones it borrows from its namespace's services.
PROBE_LABELS = {NAME_LABEL: "e2e-probe", "app.kubernetes.io/managed-by": "e2e"}
# Where no gateway exists yet, a namespace with the gateway's role label stands in for it, so the
# context services' "only from the gateway" rule is checked from both sides.
STAND_IN_GATEWAY = "e2e-gateway"
# Env names a consumer may carry to name what is its own inside a shared data service.
RESOURCE_ENV = {"postgres": "DATABASE", "mongo": "DATABASE", "redis": "KEY_PREFIX", "kafka": "TOPIC_PREFIX"}


@dataclass(frozen=True)
class Undecided:
    what: str
    reason: str


# ---- reading the plan ----------------------------------------------------------------------


def k8s_objects(plan: Plan, kind: str, api_version: str | None = None) -> list[PlannedResource]:
    """Kubernetes objects of a kind on the primary cluster's provider."""
    provider = primary_provider(plan)
    return [
        r
        for r in plan.resources
        if r.type.startswith("kubernetes:")
        and r.inputs.get("kind") == kind
        and (api_version is None or r.inputs.get("apiVersion") == api_version)
        and r.provider == provider
    ]


def primary_provider(plan: Plan) -> str:
    (urn,) = [
        r.urn
        for r in plan.resources
        if r.type == "pulumi:providers:kubernetes" and r.urn.endswith(f"::{plan.stack}-k8s")
    ]
    return urn


def kube_context(plan: Plan) -> str:
    """The kubeconfig context the stack deploys to (its Kubernetes provider's `context`)."""
    provider = next(r for r in plan.resources if r.urn == primary_provider(plan))
    context = provider.inputs.get("context")
    if not isinstance(context, str) or not context:
        raise ValueError(f"the {plan.stack} stack's Kubernetes provider names no kubeconfig context")
    return context


def _meta(r: PlannedResource) -> Mapping[str, Any]:
    meta = r.inputs.get("metadata") or {}
    assert isinstance(meta, dict)
    return meta


def namespace_labels(plan: Plan) -> dict[str, dict[str, str]]:
    """Every planned namespace's labels, with the name label the API server adds to each."""
    found = {}
    for r in k8s_objects(plan, "Namespace"):
        name = _meta(r)["name"]
        found[name] = dict(_meta(r).get("labels") or {}) | {"kubernetes.io/metadata.name": name}
    return found


def context_namespaces(plan: Plan) -> set[str]:
    """The business and platform contexts' own namespaces: each is named after the context its
    label names. The platform's other namespaces (data, telemetry, monitoring, ...) carry the
    platform context's label under their own names."""
    return {name for name, labels in namespace_labels(plan).items() if labels.get(CONTEXT_LABEL) == name}


def network_policies(plan: Plan) -> list[dict[str, Any]]:
    return [r.inputs for r in k8s_objects(plan, "NetworkPolicy")]


def deployments(plan: Plan) -> list[dict[str, Any]]:
    return sorted(
        (r.inputs for r in k8s_objects(plan, "Deployment")),
        key=lambda d: (d["metadata"]["namespace"], d["metadata"]["name"]),
    )


def _pod_spec(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = deployment["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def _template_labels(deployment: Mapping[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"].get("labels") or {})


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env") or [] if isinstance(e.get("value"), str)}


def _in_cluster_namespace(host: str) -> str | None:
    """`name.namespace.svc[.cluster.local]` -> namespace; None for anything outside the cluster."""
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc" and (len(parts) == 3 or parts[3:] == ["cluster", "local"]):
        return parts[1]
    return None


# ---- services ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedService:
    namespace: str
    name: str
    port_name: str
    port: int  # the Service's port
    pod_port: int  # the container port it forwards to
    pod_port_name: str | None
    pod_labels: Mapping[str, str]
    # The readiness probe's HTTP path where the probe is served on this port; None for a TCP
    # probe, or one on a port the Service does not expose (Jaeger's health port).
    readiness_path: str | None
    # In the mesh (its namespace is labelled for injection): the port takes mTLS only, so nothing
    # outside the mesh (the API server's proxy) can GET it; the pod's readiness is the app's own
    # probe, which Istio runs through the sidecar's agent.
    meshed: bool = False

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _probe_path(probe: Mapping[str, Any], pod_port: int, by_name: Mapping[str | None, int]) -> str | None:
    http = probe.get("httpGet") or {}
    port = http.get("port")
    if http.get("path") is None or (by_name.get(port) if isinstance(port, str) else port) != pod_port:
        return None
    return str(http["path"])


def planned_services(plan: Plan) -> list[PlannedService]:
    """Every Service in front of a planned Deployment (the contexts' and the platform's), with
    the readiness path of its container where that port serves it."""
    found = []
    planned = deployments(plan)
    meshed = {
        ns.inputs["metadata"]["name"]
        for ns in k8s_objects(plan, "Namespace")
        if (ns.inputs["metadata"].get("labels") or {}).get("istio-injection") == "enabled"
    }
    for r in k8s_objects(plan, "Service"):
        svc = r.inputs
        namespace, selector = svc["metadata"]["namespace"], svc["spec"].get("selector") or {}
        backing = [
            d for d in planned if d["metadata"]["namespace"] == namespace and _selects(selector, _template_labels(d))
        ]
        if not backing:
            continue
        deployment = backing[0]
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for container in _pod_spec(deployment)["containers"]:
                by_name = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
                if isinstance(target, str) and target not in by_name:
                    continue
                pod_port = by_name[target] if isinstance(target, str) else int(target)
                pod_port_name = next((n for n, p in by_name.items() if p == pod_port and n), None)
                probe = container.get("readinessProbe") or {}
                found.append(
                    PlannedService(
                        namespace=namespace,
                        name=svc["metadata"]["name"],
                        port_name=port.get("name") or str(port["port"]),
                        port=int(port["port"]),
                        pod_port=int(pod_port),
                        pod_port_name=pod_port_name,
                        pod_labels=_template_labels(deployment),
                        readiness_path=_probe_path(probe, int(pod_port), by_name),
                        meshed=namespace in meshed,
                    )
                )
                break
    return sorted(found, key=lambda s: (s.namespace, s.name, s.port))


def context_services(plan: Plan) -> list[PlannedService]:
    """The Services of the contexts' own namespaces: what the gateway routes to."""
    contexts = context_namespaces(plan)
    return [s for s in planned_services(plan) if s.namespace in contexts]


# ---- data consumers ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConsumer:
    """A context namespace's use of a data service, as its Deployment declares it."""

    namespace: str
    service: str
    secret: str
    mount_path: str
    # The consumer's env for this data service (`<SVC>_HOST`, `_PORT`, `_USERNAME_FILE`, ...).
    env: tuple[tuple[str, str], ...]
    # What the Secret's credentials are made from (URNs of its dependencies other than
    # namespaces): the same set for two consumers means they share one credential.
    credential_sources: frozenset[str]

    @property
    def prefix(self) -> str:
        return f"{self.service.upper()}_"

    def get(self, key: str) -> str | None:
        return dict(self.env).get(f"{self.prefix}{key}")

    @property
    def host(self) -> str:
        host = self.get("HOST")
        assert host, f"{self.namespace} consumes {self.service} without {self.prefix}HOST"
        return host

    @property
    def port(self) -> int:
        port = self.get("PORT")
        assert port, f"{self.namespace} consumes {self.service} without {self.prefix}PORT"
        return int(port)

    @property
    def resource(self) -> str | None:
        """What inside the data service is this consumer's own (database, key or topic prefix)."""
        return self.get(RESOURCE_ENV[self.service])


def _consumer_secrets(plan: Plan) -> dict[tuple[str, str], PlannedResource]:
    """(namespace, Secret name) -> the planned Secret, for Secrets labelled with a data service."""
    return {
        (_meta(r)["namespace"], _meta(r)["name"]): r
        for r in k8s_objects(plan, "Secret")
        if DATA_SERVICE_LABEL in (_meta(r).get("labels") or {})
    }


def _credential_sources(plan: Plan, secret: PlannedResource) -> frozenset[str]:
    by_urn = {r.urn: r for r in plan.resources}
    namespace = _meta(secret)["namespace"]
    sources = set()
    for urn in secret.dependencies:
        dep = by_urn.get(urn)
        if dep is None or dep.inputs.get("kind") == "Namespace":
            continue
        if dep.type.startswith("kubernetes:") and (dep.inputs.get("metadata") or {}).get("namespace") == namespace:
            continue
        sources.add(urn)
    return frozenset(sources)


def data_consumers(plan: Plan) -> list[DataConsumer]:
    secrets = _consumer_secrets(plan)
    found: dict[tuple[str, str], DataConsumer] = {}
    for deployment in deployments(plan):
        namespace = deployment["metadata"]["namespace"]
        spec = _pod_spec(deployment)
        volumes = {v["name"]: v["secret"]["secretName"] for v in spec.get("volumes") or [] if "secret" in v}
        for container in spec["containers"]:
            env = _env(container)
            for mount in container.get("volumeMounts") or []:
                secret_name = volumes.get(mount["name"])
                secret = secrets.get((namespace, secret_name)) if secret_name else None
                if secret is None:
                    continue
                service = _meta(secret)["labels"][DATA_SERVICE_LABEL]
                prefix = f"{service.upper()}_"
                found.setdefault(
                    (namespace, service),
                    DataConsumer(
                        namespace=namespace,
                        service=service,
                        secret=secret_name or "",
                        mount_path=mount["mountPath"],
                        env=tuple(sorted((k, v) for k, v in env.items() if k.startswith(prefix))),
                        credential_sources=_credential_sources(plan, secret),
                    ),
                )
    return sorted(found.values(), key=lambda c: (c.service, c.namespace))


# ---- network reachability ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a probe pod runs: a namespace, and the labels the probe pod carries there."""

    namespace: str
    namespace_labels: Mapping[str, str]
    pod_labels: Mapping[str, str]
    # The test creates (and deletes) this namespace itself.
    stand_in: bool = False


@dataclass(frozen=True)
class Target:
    what: str
    namespace: str
    host: str
    port: int
    pod_port: int
    pod_port_name: str | None
    pod_labels: Mapping[str, str] | None


@dataclass(frozen=True)
class ReachCase:
    source: Source
    target: Target
    allowed: bool
    why: str

    @property
    def id(self) -> str:
        return f"{self.source.namespace}->{self.target.what}"


def _probe_labels(borrowed: Mapping[str, str]) -> dict[str, str]:
    """A service's pod labels without its selector label, plus the probe's own: the probe is
    seen by the namespace's policies as that service is, but no Service sends traffic to it."""
    return {k: v for k, v in borrowed.items() if k != NAME_LABEL} | PROBE_LABELS


def sources(plan: Plan) -> list[Source]:
    """Every context namespace that runs a service, and the gateway (or a stand-in for it)."""
    labels = namespace_labels(plan)
    contexts = context_namespaces(plan)
    found: dict[str, Source] = {}
    for deployment in deployments(plan):
        namespace = deployment["metadata"]["namespace"]
        is_gateway = labels.get(namespace, {}).get(GATEWAY_ROLE_LABEL) == GATEWAY_ROLE
        if namespace in labels and (namespace in contexts or is_gateway):
            found.setdefault(
                namespace, Source(namespace, labels[namespace], _probe_labels(_template_labels(deployment)))
            )
    if not any(s.namespace_labels.get(GATEWAY_ROLE_LABEL) == GATEWAY_ROLE for s in found.values()):
        stand_in = {GATEWAY_ROLE_LABEL: GATEWAY_ROLE, "kubernetes.io/metadata.name": STAND_IN_GATEWAY}
        found[STAND_IN_GATEWAY] = Source(STAND_IN_GATEWAY, stand_in, dict(PROBE_LABELS), stand_in=True)
    return sorted(found.values(), key=lambda s: s.namespace)


def targets(plan: Plan) -> tuple[list[Target], list[Undecided]]:
    """Every port of every planned Service (the contexts' and the platform's, such as the trace
    collector), and every in-cluster data service the consumers name."""
    found = [
        Target(
            what=f"{s.namespace}/{s.name}:{s.port}",
            namespace=s.namespace,
            host=s.host,
            port=s.port,
            pod_port=s.pod_port,
            pod_port_name=s.pod_port_name,
            pod_labels=s.pod_labels,
        )
        for s in planned_services(plan)
    ]
    undecided = []
    endpoints: dict[str, set[tuple[str, int]]] = {}
    for consumer in data_consumers(plan):
        endpoints.setdefault(consumer.service, set()).add((consumer.host, consumer.port))
    for service, where in sorted(endpoints.items()):
        if len(where) != 1:
            undecided.append(Undecided(service, f"consumers disagree on where it is: {sorted(where)}"))
            continue
        ((host, port),) = where
        namespace = _in_cluster_namespace(host)
        if namespace is None:
            # A managed service outside the cluster: its firewall, not a NetworkPolicy, decides.
            continue
        # Operators name their Services' ports after the pods' ports, so the pod port is the port.
        found.append(Target(f"{service}:{port}", namespace, host, port, port, None, None))
    return found, undecided


def reach_cases(plan: Plan) -> tuple[list[ReachCase], list[Undecided]]:
    """Every (source namespace, target) pair with the verdict the plan's policies give it."""
    policies = network_policies(plan)
    labels = namespace_labels(plan)
    found, undecided = targets(plan)
    cases = []
    for source in sources(plan):
        src = netpol.Endpoint(source.namespace, source.namespace_labels, source.pod_labels)
        for target in found:
            dst = netpol.Endpoint(target.namespace, labels.get(target.namespace, {}), target.pod_labels)
            port = netpol.Port(target.pod_port, target.pod_port_name)
            try:
                verdict = netpol.connection(policies, src, dst, port)
            except netpol.UndecidableError as e:
                undecided.append(Undecided(f"{source.namespace}->{target.what}", str(e)))
                continue
            cases.append(ReachCase(source, target, verdict.allowed, verdict.why))
    return cases, undecided


# ---- data credentials ----------------------------------------------------------------------


@dataclass(frozen=True)
class PodImage:
    """An image taken at run time from the running pods of a data service (the plan does not
    name it: the operator picks it)."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class CredentialCase:
    consumer: DataConsumer
    # The namespace whose credentials the probe mounts: the consumer's own (they must be
    # accepted) or another context's (they must be refused on this consumer's resource).
    credentials_of: str
    image: str | PodImage
    extra_env: tuple[tuple[str, str], ...] = ()

    @property
    def expect_accepted(self) -> bool:
        return self.credentials_of == self.consumer.namespace

    @property
    def id(self) -> str:
        if self.expect_accepted:
            return f"{self.consumer.namespace}-{self.consumer.service}"
        return f"{self.consumer.namespace}-{self.consumer.service}-with-{self.credentials_of}s"


# The operator's custom resource behind each in-cluster data service, and how its Services are
# named from the resource's name (CloudNativePG `<name>-rw`, Percona `<name>-rs0`, OT Redis
# `<name>-leader`, Strimzi `<name>-kafka-bootstrap`).
OPERATOR_RESOURCE = {
    "postgres": ("postgresql.cnpg.io/v1", "Cluster"),
    "mongo": ("psmdb.percona.com/v1", "PerconaServerMongoDB"),
    "redis": ("redis.redis.opstreelabs.in/v1beta2", "RedisCluster"),
    "kafka": ("kafka.strimzi.io/v1", "Kafka"),
}


def _behind(plan: Plan, service: str, host: str) -> dict[str, Any] | None:
    api_version, kind = OPERATOR_RESOURCE[service]
    namespace, head = _in_cluster_namespace(host), host.split(".")[0]
    for r in k8s_objects(plan, kind, api_version):
        meta = _meta(r)
        if meta.get("namespace") == namespace and head.startswith(f"{meta['name']}-"):
            return r.inputs
    return None


def client_image(plan: Plan, consumer: DataConsumer) -> str | PodImage:
    """The data service's own image, which carries its client (psql, mongosh, redis-cli, Kafka's
    tools) and is already on the node."""
    resource = _behind(plan, consumer.service, consumer.host)
    if resource is None:
        raise LookupError(f"no in-cluster {OPERATOR_RESOURCE[consumer.service][1]} serves {consumer.host}")
    spec = resource["spec"]
    image = {
        "postgres": lambda: spec.get("imageName"),
        "mongo": lambda: spec.get("image"),
        "redis": lambda: (spec.get("kubernetesConfig") or {}).get("image"),
        "kafka": lambda: None,
    }[consumer.service]()
    if image:
        return str(image)
    if consumer.service == "kafka":
        return PodImage(
            resource["metadata"]["namespace"],
            {"strimzi.io/cluster": resource["metadata"]["name"], "strimzi.io/broker-role": "true"},
        )
    raise LookupError(f"the {consumer.service} resource behind {consumer.host} names no image")


def network_image(plan: Plan) -> str:
    """The network probe's image: PostgreSQL's (bash for `/dev/tcp`, `getent`, `timeout`), which
    the dev stack runs anyway, so the probe pulls nothing."""
    api_version, kind = OPERATOR_RESOURCE["postgres"]
    for r in k8s_objects(plan, kind, api_version):
        image = (r.inputs.get("spec") or {}).get("imageName")
        if image:
            return str(image)
    raise LookupError("no in-cluster PostgreSQL with an image in the plan: the network probe has no image")


def _extra_env(plan: Plan, consumer: DataConsumer) -> tuple[tuple[str, str], ...]:
    if consumer.service != "mongo" or consumer.get("AUTH_SOURCE"):
        return ()
    # The consumer env names no auth database; Percona creates every user in the one its
    # `users` entry names, so that is where a client must authenticate.
    resource = _behind(plan, "mongo", consumer.host) or {}
    databases = {u.get("db") for u in (resource.get("spec") or {}).get("users") or []}
    if len(databases) != 1:
        raise LookupError(f"cannot tell the auth database of {consumer.host}: users in {sorted(map(str, databases))}")
    return (("E2E_MONGO_AUTH_SOURCE", str(databases.pop())),)


def credential_cases(plan: Plan) -> tuple[list[CredentialCase], list[Undecided]]:
    """Each consumer with its own credentials (accepted); and, where the plan gives contexts
    their own credentials, each consumer with another context's (refused on its resource)."""
    cases: list[CredentialCase] = []
    undecided: list[Undecided] = []
    consumers = data_consumers(plan)
    for consumer in consumers:
        if _in_cluster_namespace(consumer.host) is None:
            undecided.append(Undecided(f"{consumer.namespace}-{consumer.service}", "a managed service: not on kind"))
            continue
        try:
            image, extra = client_image(plan, consumer), _extra_env(plan, consumer)
        except LookupError as e:
            undecided.append(Undecided(f"{consumer.namespace}-{consumer.service}", str(e)))
            continue
        cases.append(CredentialCase(consumer, consumer.namespace, image, extra))
        others = [c for c in consumers if c.service == consumer.service and c.namespace != consumer.namespace]
        foreign = _foreign_for(consumer, others)
        if isinstance(foreign, Undecided):
            undecided.append(foreign)
        elif foreign is not None:
            cases.append(CredentialCase(consumer, foreign.namespace, image, extra))
    return cases, undecided


def _foreign_for(consumer: DataConsumer, others: Iterable[DataConsumer]) -> DataConsumer | Undecided | None:
    """The next context (in name order, wrapping) whose credentials differ from this one's."""
    distinct = [o for o in others if o.credential_sources != consumer.credential_sources]
    if not distinct:
        return None  # shared credentials: nothing to refuse (yet)
    if consumer.resource is None:
        return Undecided(
            f"{consumer.namespace}-{consumer.service}",
            f"per-context credentials, but the consumer env names no {consumer.prefix}{RESOURCE_ENV[consumer.service]}"
            " to try another context's credentials on",
        )
    after = sorted(distinct, key=lambda o: (o.namespace <= consumer.namespace, o.namespace))
    for other in after:
        if other.resource != consumer.resource:
            return other
    return Undecided(
        f"{consumer.namespace}-{consumer.service}",
        f"per-context credentials, but every context uses {consumer.prefix}{RESOURCE_ENV[consumer.service]}="
        f"{consumer.resource}",
    )


def shares_credentials(plan: Plan) -> dict[str, bool]:
    """Per data service: do all its consumers use one credential?"""
    by_service: dict[str, set[frozenset[str]]] = {}
    for consumer in data_consumers(plan):
        by_service.setdefault(consumer.service, set()).add(consumer.credential_sources)
    return {service: len(sources) == 1 for service, sources in sorted(by_service.items())}


# ---- metrics: the chart's Prometheus and what it must scrape -------------------------------


@dataclass(frozen=True)
class KubePrometheusStack:
    """What a kube-prometheus-stack release runs, named as its chart names them: the Prometheus
    and Alertmanager custom resources (None where the values turn one off) and Prometheus'
    Service and port."""

    namespace: str
    prometheus: str | None
    alertmanager: str | None
    prometheus_service: str
    prometheus_port: str


KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"


def helm_releases(plan: Plan, chart: str | None = None) -> list[PlannedResource]:
    """The plan's Helm releases on the primary cluster (of one chart, if given)."""
    provider = primary_provider(plan)
    return [
        r
        for r in plan.resources
        if r.type == "kubernetes:helm.sh/v3:Release"
        and r.provider == provider
        and (chart is None or r.inputs.get("chart") == chart)
    ]


def kube_prometheus_stack(release: Mapping[str, Any]) -> KubePrometheusStack:
    """The chart's names (its `_helpers.tpl` at 88.5.3): `fullname` is the release name when
    that contains the chart's name, else `<release>-<name>`, cut to 26 characters; the custom
    resources are `<fullname>-prometheus` and `<fullname>-alertmanager` (or `<fullname>` with
    `cleanPrometheusOperatorObjectNames`), Prometheus' Service `<fullname>-prometheus`."""
    values = release.get("values") or {}
    name = values.get("nameOverride") or KUBE_PROMETHEUS_STACK
    if values.get("fullnameOverride"):
        full = str(values["fullnameOverride"])
    elif name in release["name"]:
        full = str(release["name"])
    else:
        full = f"{release['name']}-{name}"
    full = full[:26].rstrip("-")
    prometheus, alertmanager = values.get("prometheus") or {}, values.get("alertmanager") or {}
    if prometheus.get("agentMode"):
        raise LookupError("kube-prometheus-stack in agent mode: a PrometheusAgent, which the smoke tests do not read")
    clean = bool(values.get("cleanPrometheusOperatorObjectNames"))
    return KubePrometheusStack(
        namespace=str(values.get("namespaceOverride") or release["namespace"]),
        prometheus=None if prometheus.get("enabled") is False else (full if clean else f"{full}-prometheus"),
        alertmanager=None if alertmanager.get("enabled") is False else (full if clean else f"{full}-alertmanager"),
        prometheus_service=f"{full}-prometheus",
        prometheus_port=str((prometheus.get("prometheusSpec") or {}).get("portName") or "http-web"),
    )


@dataclass(frozen=True)
class ScrapePool:
    """One endpoint of a planned ServiceMonitor or PodMonitor, as prometheus-operator names its
    scrape job (`serviceMonitor/<namespace>/<name>/<endpoint index>`, pkg/prometheus/promcfg.go)."""

    kind: str
    namespace: str
    name: str
    endpoint: int

    @property
    def job(self) -> str:
        return f"{self.kind[0].lower()}{self.kind[1:]}/{self.namespace}/{self.name}/{self.endpoint}"


MONITOR_ENDPOINTS = {"ServiceMonitor": "endpoints", "PodMonitor": "podMetricsEndpoints"}


def scrape_pools(plan: Plan) -> tuple[KubePrometheusStack | None, list[ScrapePool], list[Undecided]]:
    """The Prometheus that scrapes, and every scrape job the planned monitors give it."""
    pools, undecided = [], []
    for kind, key in MONITOR_ENDPOINTS.items():
        for r in k8s_objects(plan, kind, "monitoring.coreos.com/v1"):
            meta = _meta(r)
            endpoints = (r.inputs.get("spec") or {}).get(key) or []
            if not endpoints:
                undecided.append(Undecided(f"{kind} {meta.get('namespace')}/{meta['name']}", f"no {key}"))
            pools += [ScrapePool(kind, meta.get("namespace", ""), meta["name"], i) for i in range(len(endpoints))]
    releases = helm_releases(plan, KUBE_PROMETHEUS_STACK)
    if not pools:
        return None, [], undecided
    if len(releases) != 1:
        undecided.append(Undecided("prometheus", f"{len(releases)} kube-prometheus-stack releases scrape the monitors"))
        return None, pools, undecided
    try:
        stack = kube_prometheus_stack(releases[0].inputs)
    except LookupError as e:
        return None, pools, [*undecided, Undecided("prometheus", str(e))]
    if stack.prometheus is None:
        undecided.append(Undecided("prometheus", "the release runs no Prometheus, yet the plan has monitors"))
        return None, pools, undecided
    return stack, sorted(pools, key=lambda p: p.job), undecided


# Scrape errors that say Prometheus never got an answer: a NetworkPolicy dropping or refusing its
# connection, or nothing listening. Any other error (a body that is not metrics, a 404) means the
# target was reached; what it serves is the application's business, not the platform's.
NETWORK_FAILURES = (
    "context deadline exceeded",
    "i/o timeout",
    "connection refused",
    "connection reset",
    "no route to host",
    "network is unreachable",
)


def scrape_reached(target: Mapping[str, Any]) -> tuple[bool, str]:
    """Did Prometheus reach this active target (one entry of `/api/v1/targets`)?"""
    where = str(target.get("scrapeUrl") or (target.get("labels") or {}).get("instance") or "?")
    error = str(target.get("lastError") or "")
    if target.get("health") == "up":
        return True, f"{where}: up"
    if target.get("health") == "unknown" or not error:
        return False, f"{where}: not scraped yet"
    if any(failure in error.lower() for failure in NETWORK_FAILURES):
        return False, f"{where}: {error}"
    return True, f"{where}: reached ({error})"


# ---- the gateway and Keycloak --------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    hostname: str
    path: str
    service: str  # namespace/name of the context Service behind the route


@dataclass(frozen=True)
class AuthSetup:
    keycloak_hostname: str
    realm: str
    # Where the realm's client secrets are on the cluster: (apiVersion, namespace, name) of the
    # KeycloakRealmImport (the plan holds them masked).
    realm_import: tuple[str, str, str]
    # Confidential clients with a service account (client-credentials grant), by clientId.
    clients: tuple[str, ...]
    routes: tuple[Route, ...]


def auth_setup(plan: Plan) -> tuple[AuthSetup | None, list[Undecided]]:
    """The request path through the gateway with a Keycloak token, once both exist in the plan.

    Read from Gateway API `HTTPRoute`s to the context Services and the Keycloak operator's
    `Keycloak` and `KeycloakRealmImport`. A gateway or Keycloak the plan has but this function does
    not understand is `Undecided` (so the unit tests fail), never a silently skipped check."""
    labels = namespace_labels(plan)
    gateway = any(ls.get(GATEWAY_ROLE_LABEL) == GATEWAY_ROLE for ls in labels.values()) or bool(
        k8s_objects(plan, "Gateway")
    )
    keycloaks = [r.inputs for r in k8s_objects(plan, "Keycloak")]
    if not gateway and not keycloaks:
        return None, []
    if not (gateway and keycloaks):
        # One without the other: the request path is not complete yet, nothing to test.
        return None, []
    services = {f"{s.namespace}/{s.name}" for s in context_services(plan)}
    routes = []
    for r in k8s_objects(plan, "HTTPRoute"):
        spec = r.inputs.get("spec") or {}
        hostnames = spec.get("hostnames") or []
        for rule in spec.get("rules") or []:
            paths = [(m.get("path") or {}).get("value", "/") for m in rule.get("matches") or [{"path": {"value": "/"}}]]
            for ref in rule.get("backendRefs") or []:
                backend = f"{ref.get('namespace', _meta(r).get('namespace'))}/{ref['name']}"
                if backend in services and hostnames:
                    routes.append(Route(hostnames[0], paths[0], backend))
    undecided = []
    missing = services - {route.service for route in routes}
    if missing:
        undecided.append(Undecided("gateway routes", f"no HTTPRoute understood for {sorted(missing)}"))
    keycloak = keycloaks[0]
    # Keycloak's `hostname` is a host name or a URL (the stack writes `https://<host>`).
    configured = ((keycloak.get("spec") or {}).get("hostname") or {}).get("hostname") or ""
    hostname = urlsplit(configured).hostname if "://" in configured else configured
    imports = [r.inputs for r in k8s_objects(plan, "KeycloakRealmImport")]
    realm = ((imports[0].get("spec") or {}).get("realm") or {}) if imports else {}
    where = (
        (imports[0]["apiVersion"], imports[0]["metadata"].get("namespace", ""), imports[0]["metadata"]["name"])
        if imports
        else ("", "", "")
    )
    clients = tuple(
        sorted(
            c["clientId"]
            for c in realm.get("clients") or []
            if c.get("serviceAccountsEnabled") and not c.get("publicClient") and c.get("clientId")
        )
    )
    if not hostname or not realm.get("realm") or not clients:
        undecided.append(
            Undecided("keycloak", "no hostname, realm or confidential service-account client found in the plan")
        )
        return None, undecided
    routes_sorted = tuple(sorted(routes, key=lambda x: x.service))
    return AuthSetup(hostname, realm["realm"], where, clients, routes_sorted), undecided


def undecided(plan: Plan) -> list[Undecided]:
    """Everything the smoke tests could not derive from this plan."""
    return [*reach_cases(plan)[1], *credential_cases(plan)[1], *auth_setup(plan)[1], *scrape_pools(plan)[2]]
