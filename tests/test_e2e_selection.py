"""What the e2e smoke tests check, derived from the plan, and when they run: unit tests without a
cluster. (The smoke tests themselves are tests/e2e, marked `e2e` and deselected here.)"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.observability.endpoints import TELEMETRY_ACCESS
from hubctl.plan import Plan, PlannedResource, run_plan
from tests.e2e import cluster, netpol, readiness, selection
from tests.planning import k8s, planned
from tests.test_observability_settings import write_stack

DEV = planned("dev", "kind")


def _dev() -> Plan:
    return copy.deepcopy(DEV)


def _context_namespaces(plan: Plan) -> set[str]:
    """The stack's own list of its context namespaces (its `namespaces` output)."""
    return set(plan.outputs["namespaces"])


# ---- the gate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "runs"), [({}, False), ({"BAKHMACH_E2E": "0"}, False), ({"BAKHMACH_E2E": "1"}, True)]
)
def test_the_e2e_tests_run_only_when_the_script_says_a_cluster_is_there(environ: dict[str, str], runs: bool) -> None:
    reason = cluster.skip_reason(environ)
    assert (reason is None) is runs
    if not runs:
        assert reason and "scripts/e2e-kind.sh" in reason


def test_an_asked_for_cluster_that_is_absent_fails_instead_of_skipping(tmp_path: Any) -> None:
    with pytest.raises(cluster.ClusterUnavailableError, match="kind-bakhmach-dev"):
        cluster.connect("kind-bakhmach-dev", kubeconfig=str(tmp_path / "missing"))


def test_the_tests_reach_the_cluster_the_dev_stack_deploys_to() -> None:
    assert selection.kube_context(DEV) == "kind-bakhmach-dev"


# ---- network isolation ---------------------------------------------------------------------


def test_every_context_namespace_probes_every_service_and_data_port() -> None:
    cases, undecided = selection.reach_cases(DEV)
    assert undecided == []
    sources = {c.source.namespace for c in cases}
    assert sources == _context_namespaces(DEV) | {selection.STAND_IN_GATEWAY}
    # Every Service but the gateway's, whose pods Envoy Gateway creates (the plan has no template
    # to probe from or as): tests/e2e/test_services.py reaches it from the laptop instead.
    planned = [s for s in k8s(DEV, "Service") if s["metadata"]["namespace"] != "gateway"]
    services = {f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in planned}
    data = {c.service for c in selection.data_consumers(DEV)}
    assert {c.target.what.rsplit(":", 1)[0] for c in cases} == services | data
    assert {f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in k8s(DEV, "Service")} - services == {
        "gateway/gateway"
    }
    # Every port of every Service (the trace collector has three), each tried from every source.
    ports = {(s.namespace, s.name, s.port) for s in selection.planned_services(DEV)}
    assert len(ports) == sum(len(s["spec"]["ports"]) for s in planned)
    targets = {c.target.what for c in cases}
    assert len(targets) == len(ports) + len(data)
    assert len(cases) == len(sources) * len(targets)


def test_every_source_and_every_target_has_a_connection_the_plan_allows() -> None:
    """A CLOSED result proves a policy only if the same target answers someone, and the same
    probe reaches something (its DNS and network work)."""
    cases, _ = selection.reach_cases(DEV)
    for namespace in {c.source.namespace for c in cases}:
        assert any(c.allowed for c in cases if c.source.namespace == namespace), namespace
    for what in {c.target.what for c in cases}:
        assert any(c.allowed for c in cases if c.target.what == what), what


def test_the_context_namespaces_are_the_stack_s_own_list() -> None:
    assert selection.context_namespaces(DEV) == _context_namespaces(DEV)
    # The platform's other namespaces carry the platform context's label but are no context.
    assert {"data", "telemetry", "monitoring"} <= set(selection.namespace_labels(DEV))


def test_a_context_reaches_exactly_the_data_it_consumes_and_the_trace_collector() -> None:
    """And no other context, nothing else of the telemetry namespace (Jaeger's query and metrics
    ports), and no data it does not consume."""
    cases, _ = selection.reach_cases(DEV)
    consumed: dict[str, set[str]] = {}
    for consumer in selection.data_consumers(DEV):
        consumed.setdefault(consumer.namespace, set()).add(f"{consumer.service}:{consumer.port}")
    otlp = {f"telemetry/jaeger-collector:{port}" for port in TELEMETRY_ACCESS.otlp.ports}
    # And the services its own call (settings: every business context calls auth-service).
    calls = {"platform/auth-service:80"}
    for namespace in _context_namespaces(DEV):
        allowed = {c.target.what for c in cases if c.source.namespace == namespace and c.allowed}
        own_calls = calls if namespace != "platform" else set()
        assert allowed == consumed.get(namespace, set()) | otlp | own_calls, namespace
    telemetry = {c.target.what for c in cases if c.target.namespace == "telemetry"}
    assert telemetry - otlp == {"telemetry/jaeger-collector:8888", "telemetry/jaeger-query:16686"}


def test_every_context_service_sends_its_traces_where_its_namespace_lets_it() -> None:
    cases, _ = selection.reach_cases(DEV)
    for deployment in selection.deployments(DEV):
        namespace = deployment["metadata"]["namespace"]
        if namespace not in _context_namespaces(DEV):
            continue
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        endpoint = {e["name"]: e.get("value") for e in container["env"]}["OTEL_EXPORTER_OTLP_ENDPOINT"]
        host, port = endpoint.removeprefix("http://").split(":")
        target = f"{host.split('.')[1]}/{host.split('.')[0]}:{port}"
        (case,) = [c for c in cases if c.source.namespace == namespace and c.target.what == target]
        assert case.allowed and case.target.host == host, case


def test_platform_services_are_targets_but_no_gateway_route_is_expected_for_them() -> None:
    services = {(s.namespace, s.name, s.port): s for s in selection.planned_services(DEV)}
    collector = services[("telemetry", "jaeger-collector", 4318)]
    # Jaeger's readiness probe is on its health port, which no Service exposes: no GET through the
    # collector's OTLP port, only its ready endpoints.
    assert collector.readiness_path is None
    assert {(s.namespace, s.name) for s in selection.context_services(DEV)} == {
        (n, s) for n, s, _ in services if n in _context_namespaces(DEV)
    }
    assert all(s.readiness_path for s in selection.context_services(DEV))


def test_the_gateway_reaches_every_service_and_no_data() -> None:
    cases, _ = selection.reach_cases(DEV)
    gateway = [c for c in cases if c.source.namespace == selection.STAND_IN_GATEWAY]
    assert gateway and all(c.source.stand_in for c in gateway)
    assert {c.target.what for c in gateway if c.allowed} == {
        c.target.what for c in gateway if c.target.pod_labels is not None
    }
    assert not any(c.allowed for c in gateway if c.target.pod_labels is None)


def test_a_planned_gateway_namespace_replaces_the_stand_in() -> None:
    plan = _dev()
    ns = next(
        r for r in plan.resources if r.inputs.get("kind") == "Namespace" and r.inputs["metadata"]["name"] == "platform"
    )
    ns.inputs["metadata"]["labels"]["bakhmach.io/role"] = "gateway"
    sources = {s.namespace: s for s in selection.sources(plan)}
    assert selection.STAND_IN_GATEWAY not in sources and not sources["platform"].stand_in


def test_probe_pods_are_seen_as_their_namespace_s_service_but_never_receive_its_traffic() -> None:
    deployments = {d["metadata"]["namespace"]: d for d in selection.deployments(DEV)}
    for source in selection.sources(DEV):
        for svc in k8s(DEV, "Service"):
            selector = svc["spec"]["selector"]
            assert not all(source.pod_labels.get(k) == v for k, v in selector.items()), (source.namespace, svc)
        if not source.stand_in:
            template = deployments[source.namespace]["spec"]["template"]["metadata"]["labels"]
            assert source.pod_labels["bakhmach.io/context"] == template["bakhmach.io/context"]


def _planned_policy(plan: Plan, namespace: str, name: str) -> dict[str, Any]:
    (policy,) = [
        r.inputs
        for r in plan.resources
        if r.inputs.get("kind") == "NetworkPolicy"
        and r.inputs["metadata"]["namespace"] == namespace
        and r.inputs["metadata"]["name"] == name
    ]
    return policy


def test_the_expectations_follow_the_plan_s_policies_on_both_sides() -> None:
    """platform may not reach mongo. Opening platform's egress alone is not enough (the data
    namespace still admits only mongo's consumers); opening both sides is."""
    plan = _dev()
    target = "platform->mongo:27017"

    def verdict() -> selection.ReachCase:
        return next(c for c in selection.reach_cases(plan)[0] if c.id == target)

    assert not verdict().allowed and "egress of platform" in verdict().why
    egress = _planned_policy(plan, "platform", "allow-to-data")["spec"]["egress"]
    egress.append(copy.deepcopy(egress[0]) | {"ports": [{"protocol": "TCP", "port": 27017}]})
    assert not verdict().allowed and "ingress of data" in verdict().why
    for rule in _planned_policy(plan, "data", "allow-from-consumers")["spec"]["ingress"]:
        if rule["ports"][0]["port"] == 27017:
            rule["from"].append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}}})
    assert verdict().allowed


# ---- NetworkPolicy semantics ---------------------------------------------------------------


def _policy(namespace: str, spec: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


A = netpol.Endpoint("a", {"kubernetes.io/metadata.name": "a", "team": "x"}, {"app": "web"})
B = netpol.Endpoint("b", {"kubernetes.io/metadata.name": "b"}, {"app": "db"})
PORT = netpol.Port(5432)
DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_pods_no_policy_selects_are_open() -> None:
    assert netpol.connection([], A, B, PORT).allowed
    assert netpol.connection([_policy("b", {"podSelector": {"matchLabels": {"app": "other"}}})], A, B, PORT).allowed


def test_default_deny_closes_both_directions() -> None:
    assert not netpol.connection([_policy("a", DENY_ALL)], A, B, PORT).allowed
    assert not netpol.connection([_policy("b", DENY_ALL)], A, B, PORT).allowed


def test_egress_rules_imply_egress_isolation_without_policy_types() -> None:
    spec = {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}
    assert netpol.policy_types(spec) == {"Ingress", "Egress"}
    assert not netpol.connection([_policy("a", spec)], A, B, PORT).allowed


def test_peers_ports_and_selectors() -> None:
    def ingress(peer: dict[str, Any], ports: list[dict[str, Any]] | None = None) -> bool:
        rule: dict[str, Any] = {"from": [peer]} | ({"ports": ports} if ports is not None else {})
        spec = {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"], "ingress": [rule]}
        return netpol.connection([_policy("b", spec)], A, B, PORT).allowed

    by_name = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}}}
    assert ingress(by_name)
    assert ingress(by_name, [{"protocol": "TCP", "port": 5000, "endPort": 6000}])
    assert not ingress(by_name, [{"protocol": "TCP", "port": 6379}])
    assert not ingress(by_name, [{"protocol": "UDP", "port": 5432}])
    # A bare podSelector peer means pods of the policy's own namespace, not of a.
    assert not ingress({"podSelector": {"matchLabels": {"app": "web"}}})
    assert ingress({"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}})
    expression = {"matchExpressions": [{"key": "team", "operator": "In", "values": ["x", "y"]}]}
    assert ingress({"namespaceSelector": expression})
    assert not ingress({"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}})


def test_what_the_plan_cannot_tell_is_undecidable_not_guessed() -> None:
    ip_block = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}
    with pytest.raises(netpol.UndecidableError, match="ipBlock"):
        netpol.connection([_policy("a", ip_block)], A, B, PORT)
    unknown_pod = netpol.Endpoint("b", B.namespace_labels, None)
    selective = {"podSelector": {"matchLabels": {"role": "primary"}}, "policyTypes": ["Ingress"]}
    with pytest.raises(netpol.UndecidableError):
        netpol.connection([_policy("b", selective)], A, unknown_pod, PORT)
    named = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": "http"}]}]}
    with pytest.raises(netpol.UndecidableError, match="named port"):
        netpol.connection([_policy("b", named)], A, B, PORT)
    assert netpol.connection([_policy("b", named)], A, B, netpol.Port(8080, "http")).allowed


# ---- data credentials ----------------------------------------------------------------------


def test_every_consumer_logs_in_with_its_mounted_credentials_in_the_services_own_image() -> None:
    cases, undecided = selection.credential_cases(DEV)
    assert undecided == []
    consumers = {(c.namespace, c.service) for c in selection.data_consumers(DEV)}
    assert {(c.consumer.namespace, c.consumer.service) for c in cases if c.expect_accepted} == consumers
    deployments = {d["metadata"]["namespace"]: d for d in selection.deployments(DEV)}
    for case in cases:
        container = deployments[case.consumer.namespace]["spec"]["template"]["spec"]["containers"][0]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert case.consumer.mount_path in mounts
        assert dict(case.consumer.env)[f"{case.consumer.prefix}PASSWORD_FILE"].startswith(case.consumer.mount_path)
    images = {c.consumer.service: c.image for c in cases}
    assert images["postgres"] == k8s(DEV, "Cluster", "postgres", "data")[0]["spec"]["imageName"]
    assert images["mongo"] == k8s(DEV, "PerconaServerMongoDB", "mongo", "data")[0]["spec"]["image"]
    assert images["redis"] == k8s(DEV, "RedisCluster", "redis", "data")[0]["spec"]["kubernetesConfig"]["image"]
    assert images["kafka"] == selection.PodImage(
        "data", {"strimzi.io/cluster": "kafka", "strimzi.io/broker-role": "true"}
    )
    # The consumer env names MongoDB's auth database itself: the probe adds nothing.
    mongo = next(c for c in cases if c.consumer.service == "mongo")
    assert mongo.consumer.get("AUTH_SOURCE") == "admin" and mongo.extra_env == ()


def test_every_consumer_s_credentials_are_its_own_so_every_consumer_gets_a_refusal_case() -> None:
    """Issue 13: each context holds its own login and names its own database or prefix, so the
    smoke tests also try each context's credentials on another context's resource."""
    assert selection.shares_credentials(DEV) == {"kafka": False, "mongo": False, "postgres": False, "redis": False}
    cases, undecided = selection.credential_cases(DEV)
    assert undecided == []
    consumers = selection.data_consumers(DEV)
    for service in ("postgres", "mongo", "redis", "kafka"):
        namespaces = sorted(c.namespace for c in consumers if c.service == service)
        refused = [c for c in cases if c.consumer.service == service and not c.expect_accepted]
        assert sorted(c.consumer.namespace for c in refused) == namespaces, service
        assert {c.credentials_of for c in refused} == set(namespaces), service  # every context's are tried
        for case in refused:
            other = next(c for c in consumers if c.service == service and c.namespace == case.credentials_of)
            assert case.credentials_of != case.consumer.namespace and other.resource != case.consumer.resource


def _shared(plan: Plan, service: str) -> Plan:
    """The plan as it looked before issue 13: every consumer's Secret made from one credential."""
    secrets = [
        r
        for r in plan.resources
        if r.inputs.get("kind") == "Secret"
        and ((r.inputs.get("metadata") or {}).get("labels") or {}).get(selection.DATA_SERVICE_LABEL) == service
    ]
    first = selection._credential_sources(plan, secrets[0])
    for r in secrets:
        r.dependencies = [d for d in r.dependencies if d not in selection._credential_sources(plan, r)] + sorted(first)
    return plan


def _set_resource_env(plan: Plan, service: str, value: str | None) -> Plan:
    """Every consumer's `<SVC>_<resource>` env var set to `value` (None: removed)."""
    for r in plan.resources:
        if r.inputs.get("kind") != "Deployment":
            continue
        for container in r.inputs["spec"]["template"]["spec"]["containers"]:
            if "env" not in container:  # a platform container (Jaeger's): no consumer
                continue
            name = f"{service.upper()}_{selection.RESOURCE_ENV[service]}"
            container["env"] = [
                e | ({"value": value} if e["name"] == name else {})
                for e in container["env"]
                if not (value is None and e["name"] == name)
            ]
    return plan


def test_shared_credentials_give_no_refusal_case() -> None:
    plan = _shared(_dev(), "postgres")
    assert selection.shares_credentials(plan)["postgres"] is True
    assert all(c.expect_accepted for c in selection.credential_cases(plan)[0] if c.consumer.service == "postgres")


def test_per_context_credentials_without_a_named_resource_are_undecided() -> None:
    _, undecided = selection.credential_cases(_set_resource_env(_dev(), "redis", None))
    assert undecided and all("REDIS_KEY_PREFIX" in u.reason for u in undecided)


def test_per_context_credentials_on_one_shared_database_are_undecided() -> None:
    _, undecided = selection.credential_cases(_set_resource_env(_dev(), "mongo", "app"))
    assert undecided and all("MONGO_DATABASE=app" in u.reason for u in undecided)


# ---- gateway and Keycloak ------------------------------------------------------------------


def _k8s_resource(plan: Plan, api_version: str, kind: str, namespace: str, name: str, spec: dict[str, Any]) -> None:
    plan.resources.append(
        PlannedResource(
            f"urn:pulumi:dev::bakhmach-hub::kubernetes:{api_version}:{kind}::{namespace}-{name}",
            f"kubernetes:{api_version}:{kind}",
            f"{namespace}-{name}",
            True,
            None,
            selection.primary_provider(plan),
            [],
            False,
            {"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}, "spec": spec},
        )
    )


def _with_gateway_and_keycloak(routes: bool = True) -> Plan:
    plan = _without_gateway_and_keycloak()
    _k8s_resource(
        plan,
        "k8s.keycloak.org/v2alpha1",
        "Keycloak",
        "identity",
        "keycloak",
        {"hostname": {"hostname": "id.dev.localhost"}},
    )
    realm = {
        "realm": "bakhmach",
        "clients": [
            {"clientId": "gateway", "serviceAccountsEnabled": True, "publicClient": False, "secret": "[secret]"},
            {"clientId": "spa", "publicClient": True},
        ],
    }
    _k8s_resource(plan, "k8s.keycloak.org/v2alpha1", "KeycloakRealmImport", "identity", "realm", {"realm": realm})
    _k8s_resource(plan, "gateway.networking.k8s.io/v1", "Gateway", "gateway", "edge", {})
    if routes:
        for svc in selection.context_services(plan):
            _k8s_resource(
                plan,
                "gateway.networking.k8s.io/v1",
                "HTTPRoute",
                svc.namespace,
                svc.name,
                {
                    "hostnames": ["api.dev.localhost"],
                    "rules": [{"matches": [{"path": {"value": f"/{svc.name}"}}], "backendRefs": [{"name": svc.name}]}],
                },
            )
    return plan


def test_the_dev_plan_s_gateway_and_keycloak_give_the_token_check_everything_it_needs() -> None:
    """tests/e2e/gateway.py: a client-credentials token from the realm the plan imports, through
    Keycloak's host name, then every context service's route with and without it."""
    setup, undecided = selection.auth_setup(DEV)
    assert undecided == [] and setup is not None
    assert setup.keycloak_hostname == "auth.localhost" and setup.realm == "bakhmach"
    assert setup.realm_import == ("k8s.keycloak.org/v2beta1", "identity", "bakhmach")
    # The first confidential client is the gateway's, whose service account is an auditor: it may
    # read every route, so its token proves each route open to a valid token.
    assert setup.clients[0] == "api-gateway"
    assert set(setup.clients) == {"api-gateway", *(s.name for s in selection.context_services(DEV))}
    assert {r.service for r in setup.routes} == {f"{s.namespace}/{s.name}" for s in selection.context_services(DEV)}
    assert {r.hostname for r in setup.routes} == {"localhost"}
    assert {r.path for r in setup.routes} == {f"/{s.name}" for s in selection.context_services(DEV)}


def _without_gateway_and_keycloak() -> Plan:
    plan = _dev()
    front_door = ("gateway.networking.k8s.io/", "gateway.envoyproxy.io/", "k8s.keycloak.org/")
    plan.resources = [
        r
        for r in plan.resources
        if not str(r.inputs.get("apiVersion", "")).startswith(front_door)
        and (r.inputs.get("metadata") or {}).get("name") != "gateway"
    ]
    return plan


def test_the_gateway_check_waits_for_the_gateway_and_keycloak() -> None:
    assert selection.auth_setup(_without_gateway_and_keycloak()) == (None, [])
    setup, undecided = selection.auth_setup(_with_gateway_and_keycloak())
    assert undecided == [] and setup is not None
    assert setup.clients == ("gateway",) and setup.realm == "bakhmach"
    assert setup.realm_import == ("k8s.keycloak.org/v2alpha1", "identity", "realm")
    assert {r.service for r in setup.routes} == {f"{s.namespace}/{s.name}" for s in selection.context_services(DEV)}


def test_a_gateway_without_routes_the_tests_understand_fails_the_unit_tests() -> None:
    _, undecided = selection.auth_setup(_with_gateway_and_keycloak(routes=False))
    assert [u.what for u in undecided] == ["gateway routes"]


def test_nothing_in_the_dev_plan_is_left_undecided() -> None:
    """A new policy shape, data service, credential scheme or gateway the smoke tests cannot
    derive checks for shows up here, not as a silently skipped check on the cluster."""
    assert selection.undecided(DEV) == []


# ---- readiness -----------------------------------------------------------------------------


def test_the_wait_covers_every_operator_managed_resource_of_the_plan_and_its_charts() -> None:
    awaited = {(a.rule.kind, a.namespace, a.name) for a in readiness.awaited(DEV)}
    consumers = selection.data_consumers(DEV)
    # Each consumer's own Kafka user (named after its namespace) and PostgreSQL database.
    users = {("KafkaUser", "data", c.namespace) for c in consumers if c.service == "kafka"}
    databases = {("Database", "data", f"postgres-{c.namespace}") for c in consumers if c.service == "postgres"}
    assert users and databases
    assert awaited == {
        ("Cluster", "data", "postgres"),
        ("PerconaServerMongoDB", "data", "mongo"),
        ("RedisCluster", "data", "redis"),
        ("Kafka", "data", "kafka"),
        *users,
        *databases,
        # kube-prometheus-stack's own custom resources: the operator builds their StatefulSets
        # only after `pulumi up` has returned.
        ("Prometheus", "monitoring", "kube-prometheus-stack-prometheus"),
        ("Alertmanager", "monitoring", "kube-prometheus-stack-alertmanager"),
        # The data CA (components/data/tls.py), the data servers' certificates, and each consuming
        # namespace's `trust-data-ca` (its services mount the CA from it).
        ("ClusterIssuer", "", "bakhmach-data-root"),
        ("ClusterIssuer", "", "bakhmach-data-ca"),
        ("Certificate", "cert-manager", "bakhmach-data-ca"),
        ("Certificate", "data", "postgres-server-tls"),
        ("Certificate", "data", "mongo-ssl"),
        ("Certificate", "data", "mongo-ssl-internal"),
        ("Certificate", "data", "redis-tls"),
        ("Certificate", "data", "kafka-listener-tls"),
        *{("Certificate", c.namespace, "trust-data-ca") for c in consumers},
        # The mongo-collections Job's copy of the CA, in the data namespace.
        ("Certificate", "data", "trust-data-ca"),
        # The front door: Keycloak's database, Keycloak and its realm; the dev CA and issuers and
        # the gateway's certificate; the gateway (its proxies exist once it is Programmed).
        ("Database", "data", "postgres-identity"),
        ("Keycloak", "identity", "keycloak"),
        ("KeycloakRealmImport", "identity", "bakhmach"),
        ("ClusterIssuer", "", "bakhmach-dev-root"),
        ("ClusterIssuer", "", "bakhmach"),
        ("Certificate", "cert-manager", "bakhmach-dev-ca"),
        ("Certificate", "gateway", "gateway-tls"),
        ("GatewayClass", "", "bakhmach"),
        ("Gateway", "gateway", "bakhmach"),
    }


def test_with_logging_on_the_wait_covers_elasticsearch_kibana_and_the_shipper(tmp_path: Any) -> None:
    path = write_stack(tmp_path, "dev", {"bakhmach-hub:observability": {"logging": {"enabled": True}}})
    plan = run_plan("dev", stack_file=path)
    awaited = {(a.rule.kind, a.namespace, a.name) for a in readiness.awaited(plan)}
    assert {
        ("Elasticsearch", "telemetry", "logs"),
        ("Kibana", "telemetry", "logs"),
        ("Beat", "telemetry", "filebeat"),
    } <= awaited
    assert selection.undecided(plan) == []


def test_a_team_s_sealed_secret_is_awaited_until_its_secret_is_written() -> None:
    plan = _dev()
    _k8s_resource(plan, "bitnami.com/v1alpha1", "SealedSecret", "slon-credit", "payment-api", {})
    awaited = {(a.rule.kind, a.namespace, a.name) for a in readiness.awaited(plan)}
    assert ("SealedSecret", "slon-credit", "payment-api") in awaited


def test_an_unknown_chart_stops_the_wait() -> None:
    plan = _dev()
    release = next(r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release")
    release.inputs["chart"] = "mystery-operator"
    with pytest.raises(LookupError, match="mystery-operator"):
        readiness.awaited(plan)


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("kube-prometheus-stack", {}, ("kube-prometheus-stack-prometheus", "kube-prometheus-stack-alertmanager")),
        ("metrics", {}, ("metrics-kube-prometheus-st-prometheus", "metrics-kube-prometheus-st-alertmanager")),
        ("kube-prometheus-stack", {"fullnameOverride": "kps"}, ("kps-prometheus", "kps-alertmanager")),
        ("kps", {"cleanPrometheusOperatorObjectNames": True, "nameOverride": "kps"}, ("kps", "kps")),
        ("kube-prometheus-stack", {"alertmanager": {"enabled": False}}, ("kube-prometheus-stack-prometheus", None)),
    ],
)
def test_kube_prometheus_stack_names_its_resources_as_the_chart_does(
    name: str, values: dict[str, Any], expected: tuple[str | None, str | None]
) -> None:
    stack = selection.kube_prometheus_stack({"name": name, "namespace": "monitoring", "values": values})
    assert (stack.prometheus, stack.alertmanager) == expected
    assert stack.prometheus_service.endswith("-prometheus") and stack.prometheus_port == "http-web"


# ---- metrics -------------------------------------------------------------------------------


def test_prometheus_is_checked_for_every_planned_monitor() -> None:
    stack, pools, undecided = selection.scrape_pools(DEV)
    assert undecided == [] and stack is not None
    assert (stack.namespace, stack.prometheus_service, stack.prometheus_port) == (
        "monitoring",
        "kube-prometheus-stack-prometheus",
        "http-web",
    )
    monitors = {
        (m["kind"], m["metadata"]["namespace"], m["metadata"]["name"])
        for kind in selection.MONITOR_ENDPOINTS
        for m in k8s(DEV, kind)
    }
    assert {(p.kind, p.namespace, p.name) for p in pools} == monitors
    # Every context service (through its sidecar), the data services, Jaeger, istiod, and the
    # front door: the gateway's proxies, cert-manager and Keycloak.
    assert {p.namespace for p in pools} == _context_namespaces(DEV) | {
        "data",
        "telemetry",
        "istio-system",
        "gateway",
        "cert-manager",
        "identity",
    }
    assert "podMonitor/slon-credit/slon-finance/0" in {p.job for p in pools}
    assert "podMonitor/data/postgres/0" in {p.job for p in pools}


def test_monitors_without_a_prometheus_are_undecided() -> None:
    plan = _dev()
    plan.resources = [r for r in plan.resources if r.inputs.get("chart") != "kube-prometheus-stack"]
    _, _, undecided = selection.scrape_pools(plan)
    assert [u.what for u in undecided] == ["prometheus"]
    assert selection.undecided(plan) == undecided


@pytest.mark.parametrize(
    ("target", "reached"),
    [
        ({"health": "up", "lastError": ""}, True),
        # The dev placeholder answers text, not metrics: reached, and its own business.
        ({"health": "down", "lastError": 'received unsupported Content-Type "text/plain"'}, True),
        ({"health": "down", "lastError": "server returned HTTP status 404 Not Found"}, True),
        ({"health": "down", "lastError": 'Get "http://10.244.0.9:8080/metrics": context deadline exceeded'}, False),
        ({"health": "down", "lastError": "dial tcp 10.244.0.9:8080: connect: connection refused"}, False),
        ({"health": "unknown", "lastError": ""}, False),
    ],
)
def test_a_target_counts_as_reached_unless_the_network_failed(target: dict[str, Any], reached: bool) -> None:
    assert selection.scrape_reached(target)[0] is reached


def test_a_custom_resource_without_a_readiness_rule_stops_the_wait() -> None:
    plan = _dev()
    _k8s_resource(plan, "example.com/v1", "Widget", "data", "w", {})
    with pytest.raises(LookupError, match="Widget"):
        readiness.awaited(plan)


@pytest.mark.parametrize(
    ("check", "obj", "ready"),
    [
        (
            readiness.deployment_ready,
            {"spec": {"replicas": 2}, "status": {"updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}},
            True,
        ),
        (
            readiness.deployment_ready,
            {"spec": {"replicas": 2}, "status": {"updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 1}},
            False,
        ),
        (
            readiness.deployment_ready,
            {
                "metadata": {"generation": 3},
                "spec": {"replicas": 1},
                "status": {"observedGeneration": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
            },
            False,
        ),
        (readiness.statefulset_ready, {"spec": {"replicas": 3}, "status": {"readyReplicas": 3}}, True),
        (readiness.statefulset_ready, {"spec": {"replicas": 3}, "status": {"readyReplicas": 2}}, False),
        (
            readiness.RULES[("postgresql.cnpg.io/v1", "Cluster")].check,
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            True,
        ),
        (
            readiness.RULES[("postgresql.cnpg.io/v1", "Cluster")].check,
            {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
            False,
        ),
        (readiness.RULES[("psmdb.percona.com/v1", "PerconaServerMongoDB")].check, {"status": {"state": "ready"}}, True),
        (
            readiness.RULES[("psmdb.percona.com/v1", "PerconaServerMongoDB")].check,
            {"status": {"state": "initializing"}},
            False,
        ),
        (
            readiness.RULES[("redis.redis.opstreelabs.in/v1beta2", "RedisCluster")].check,
            {"status": {"state": "Ready"}},
            True,
        ),
        (
            readiness.RULES[("redis.redis.opstreelabs.in/v1beta2", "RedisCluster")].check,
            {"status": {"state": "Bootstrap"}},
            False,
        ),
        (readiness.RULES[("kafka.strimzi.io/v1", "Kafka")].check, {"status": {}}, False),
        (
            readiness.daemonset_ready,
            {
                "status": {
                    "desiredNumberScheduled": 1,
                    "updatedNumberScheduled": 1,
                    "numberReady": 1,
                    "numberAvailable": 1,
                }
            },
            True,
        ),
        (
            readiness.daemonset_ready,
            {
                "status": {
                    "desiredNumberScheduled": 2,
                    "updatedNumberScheduled": 2,
                    "numberReady": 1,
                    "numberAvailable": 1,
                }
            },
            False,
        ),
        (
            readiness.RULES[("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")].check,
            {"spec": {"nodeSets": [{"count": 3}]}, "status": {"phase": "Ready", "health": "green"}},
            True,
        ),
        (
            readiness.RULES[("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")].check,
            {"spec": {"nodeSets": [{"count": 3}]}, "status": {"phase": "Ready", "health": "yellow"}},
            False,
        ),
        (  # one node never places a replica: yellow is its steady state
            readiness.RULES[("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")].check,
            {"spec": {"nodeSets": [{"count": 1}]}, "status": {"phase": "Ready", "health": "yellow"}},
            True,
        ),
        (
            readiness.RULES[("elasticsearch.k8s.elastic.co/v1", "Elasticsearch")].check,
            {"spec": {"nodeSets": [{"count": 1}]}, "status": {"phase": "ApplyingChanges", "health": "green"}},
            False,
        ),
        (readiness.RULES[("kibana.k8s.elastic.co/v1", "Kibana")].check, {"status": {"health": "green"}}, True),
        (readiness.RULES[("kibana.k8s.elastic.co/v1", "Kibana")].check, {"status": {"health": "red"}}, False),
        (readiness.RULES[("beat.k8s.elastic.co/v1beta1", "Beat")].check, {"status": {"health": "yellow"}}, False),
        (readiness.RULES[("beat.k8s.elastic.co/v1beta1", "Beat")].check, {"status": {"health": "green"}}, True),
        (
            readiness.RULES[("monitoring.coreos.com/v1", "Prometheus")].check,
            {"status": {"conditions": [{"type": "Available", "status": "Degraded"}]}},
            False,
        ),
        (
            readiness.RULES[("monitoring.coreos.com/v1", "Alertmanager")].check,
            {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
            True,
        ),
        (
            readiness.RULES[("kafka.strimzi.io/v1", "Kafka")].check,
            {
                "metadata": {"generation": 1},
                "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
            },
            True,
        ),
        (
            readiness.RULES[("bitnami.com/v1alpha1", "SealedSecret")].check,
            {"status": {"conditions": [{"type": "Synced", "status": "False", "message": "no key could decrypt"}]}},
            False,
        ),
        (
            readiness.RULES[("bitnami.com/v1alpha1", "SealedSecret")].check,
            {"status": {"conditions": [{"type": "Synced", "status": "True"}]}},
            True,
        ),
    ],
)
def test_readiness_rules(check: readiness.Check, obj: dict[str, Any], ready: bool) -> None:
    assert check(obj)[0] is ready


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_wait_ends_when_everything_is_ready() -> None:
    clock, logged = FakeClock(), []
    polls = iter([[readiness.Observed("Kafka", "data", "kafka", False, "no Ready condition yet")]] * 3)

    def observe() -> list[readiness.Observed]:
        return next(polls, [readiness.Observed("Kafka", "data", "kafka", True, "Ready=True")])

    assert readiness.wait_until_ready(observe, 600, 10, clock, clock.sleep, logged.append) == []
    assert clock.now == 30 and logged[-1] == "everything is ready"
    assert sum("waiting for 1" in line for line in logged) == 1  # progress only when it changes


def test_the_wait_is_bounded_and_names_what_is_not_ready() -> None:
    clock = FakeClock()
    stuck = readiness.Observed("PerconaServerMongoDB", "data", "mongo", False, "state='initializing'")
    left = readiness.wait_until_ready(lambda: [stuck], 95, 10, clock, clock.sleep, lambda _: None)
    assert left == [stuck] and clock.now == 95
    assert str(stuck) == "PerconaServerMongoDB data/mongo: state='initializing'"


@pytest.mark.parametrize(
    ("status", "failing"),
    [
        ({"phase": "Succeeded"}, False),
        ({"phase": "Running", "containerStatuses": [{"ready": True, "restartCount": 0}]}, False),
        ({"phase": "Running", "containerStatuses": [{"ready": False, "restartCount": 0}]}, True),
        ({"phase": "Running", "containerStatuses": [{"ready": True, "restartCount": 2}]}, True),
        ({"phase": "Pending"}, True),
        ({"phase": "Failed"}, True),
    ],
)
def test_diagnostics_keep_the_logs_of_failing_pods(status: dict[str, Any], failing: bool) -> None:
    assert cluster.failing({"status": status}) is failing


def test_meshed_services_are_not_read_through_the_api_server_proxy() -> None:
    """The context services' ports take mTLS only: the smoke test trusts their ready endpoints (the
    app's readiness probe, run through the sidecar's agent) instead of a plaintext GET."""
    services = selection.planned_services(DEV)
    assert {s.namespace for s in services if s.meshed} == _context_namespaces(DEV)
    assert not any(s.meshed for s in services if s.namespace == "telemetry")
