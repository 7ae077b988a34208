"""Each business context's namespace: labels, pod security, quota and zero-trust network policy."""

from __future__ import annotations

import pytest

from hubctl.plan import Plan
from settings.quantity import cpu_millicores, memory_bytes
from tests.planning import k8s, one

CONTEXTS = [
    "bakhmach-hub",
    "slon-credit",
    "audityzer-eu",
    "debt-defense-agent",
    "black-sea-corridor",
    "cannabis-infusion",
]
ALL_NAMESPACES = ["platform", *CONTEXTS]
# Which data services each namespace's service uses (settings/seed.py SERVICE_DATA_NEEDS, by hand).
DATA_NEEDS = {
    "platform": {"postgres", "redis"},
    "bakhmach-hub": {"postgres", "mongo", "redis", "kafka"},
    "slon-credit": {"postgres", "redis", "kafka"},
    "audityzer-eu": {"postgres", "mongo", "redis", "kafka"},
    "debt-defense-agent": {"mongo", "redis", "kafka"},
    "black-sea-corridor": {"postgres", "mongo", "kafka"},
    "cannabis-infusion": {"postgres", "kafka"},
}
# The port each data service answers on, per cloud's default backend: in-cluster operators on
# kind; RDS, ElastiCache, MSK (SASL/SCRAM 9096) on AWS; Flexible Server and Managed Redis (10000)
# on Azure, with MongoDB everywhere and Kafka on Azure in-cluster.
DATA_PORTS = {
    "kind": {"postgres": 5432, "mongo": 27017, "redis": 6379, "kafka": 9092},
    "aws": {"postgres": 5432, "mongo": 27017, "redis": 6379, "kafka": 9096},
    "azure": {"postgres": 5432, "mongo": 27017, "redis": 10000, "kafka": 9092},
}  # "platform" holds the matrix's "All" services


def test_six_business_contexts_and_the_shared_platform_namespace(any_plan: Plan) -> None:
    names = {ns["metadata"]["name"] for ns in k8s(any_plan, "Namespace")}
    assert set(ALL_NAMESPACES) <= names


@pytest.mark.parametrize("context", ALL_NAMESPACES)
def test_namespace_is_labelled_and_enforces_restricted_pod_security(any_plan: Plan, context: str) -> None:
    labels = one(any_plan, "Namespace", context)["metadata"]["labels"]
    assert labels["bakhmach.io/context"] == context
    assert labels["bakhmach.io/tenant"] == context
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"].startswith("v1.")


@pytest.mark.parametrize("context", ALL_NAMESPACES)
def test_default_deny_covers_ingress_and_egress(any_plan: Plan, context: str) -> None:
    deny = one(any_plan, "NetworkPolicy", "default-deny", context)["spec"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny and "egress" not in deny


@pytest.mark.parametrize("context", ALL_NAMESPACES)
def test_only_dns_egress_and_gateway_ingress_are_allowed(any_plan: Plan, context: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(any_plan, "NetworkPolicy", namespace=context)}
    # Every context's services use some data service: egress to those ports only (the data layer).
    # Prometheus in and OTLP out are checked in tests/test_observability.py; the mesh's own (istiod,
    # the calls between services: every business context calls auth-service in platform) in
    # tests/test_mesh.py.
    calls = {"allow-calls-in"} if context == "platform" else {"allow-calls-out"}
    assert set(policies) == {
        "default-deny",
        "allow-dns",
        "allow-from-gateway",
        "allow-to-data",
        "allow-from-prometheus",
        "allow-to-trace-collector",
        "allow-to-identity",
        "allow-to-istiod",
        *calls,
    }
    # Keycloak's HTTP port, for the services' client-credentials tokens (its pods admit them too).
    (identity,) = policies["allow-to-identity"]["egress"]
    assert policies["allow-to-identity"]["policyTypes"] == ["Egress"]
    assert identity["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "identity"}},
            "podSelector": {"matchLabels": {"app": "keycloak", "app.kubernetes.io/instance": "keycloak"}},
        }
    ]
    assert identity["ports"] == [{"protocol": "TCP", "port": 8080}]
    (keycloak,) = k8s(any_plan, "Keycloak", "keycloak", "identity")
    admitted = keycloak["spec"]["networkPolicy"]["http"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": context}}} in admitted
    data = policies["allow-to-data"]
    assert data["policyTypes"] == ["Egress"] and "ingress" not in data
    for rule in data["egress"]:
        assert len(rule["to"]) == 1
    ports = {p["port"] for rule in data["egress"] for p in rule["ports"]}
    assert ports == {DATA_PORTS[any_plan.cloud][service] for service in DATA_NEEDS[context]}
    (dns,) = policies["allow-dns"]["egress"]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    (gateway,) = policies["allow-from-gateway"]["ingress"]
    assert gateway["from"] == [{"namespaceSelector": {"matchLabels": {"bakhmach.io/role": "gateway"}}}]
    deployment_ports = {
        c["ports"][0]["containerPort"]
        for d in k8s(any_plan, "Deployment", namespace=context)
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert {p["port"] for p in gateway["ports"]} == deployment_ports


@pytest.mark.parametrize("context", ALL_NAMESPACES)
def test_quota_fits_every_service_at_its_autoscaling_maximum(any_plan: Plan, context: str) -> None:
    hard = one(any_plan, "ResourceQuota", "context-quota", context)["spec"]["hard"]
    need_cpu = need_mem = 0
    for dep in k8s(any_plan, "Deployment", namespace=context):
        name = dep["metadata"]["name"]
        hpas = k8s(any_plan, "HorizontalPodAutoscaler", name, context)
        most = hpas[0]["spec"]["maxReplicas"] if hpas else dep["spec"]["replicas"]
        requests = dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        need_cpu += (most + 1) * cpu_millicores(requests["cpu"])  # +1: the rollout surge pod
        need_mem += (most + 1) * memory_bytes(requests["memory"])
    assert cpu_millicores(hard["requests.cpu"]) >= need_cpu
    assert memory_bytes(hard["requests.memory"]) >= need_mem
    assert hard["services.loadbalancers"] == "0" and hard["services.nodeports"] == "0"


def test_quota_grows_with_the_environment(dev_plan: Plan, prod_plan: Plan) -> None:
    dev = one(dev_plan, "ResourceQuota", "context-quota", "slon-credit")["spec"]["hard"]
    prod = one(prod_plan, "ResourceQuota", "context-quota", "slon-credit")["spec"]["hard"]
    assert cpu_millicores(prod["requests.cpu"]) > 5 * cpu_millicores(dev["requests.cpu"])


@pytest.mark.parametrize("context", ALL_NAMESPACES)
def test_limit_range_defaults_and_caps_containers(any_plan: Plan, context: str) -> None:
    (item,) = one(any_plan, "LimitRange", "context-limits", context)["spec"]["limits"]
    assert item["type"] == "Container"
    assert set(item["default"]) == set(item["defaultRequest"]) == {"cpu", "memory"}
    for dep in k8s(any_plan, "Deployment", namespace=context):
        limits = dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert cpu_millicores(limits["cpu"]) <= cpu_millicores(item["max"]["cpu"])
        assert memory_bytes(limits["memory"]) <= memory_bytes(item["max"]["memory"])


def test_namespaces_carry_the_environments_ttl_for_cleanup_tooling(any_plan: Plan) -> None:
    # The seed: dev "TTL: 7 days", staging "30 days", prod "Indefinite".
    expected = {"dev": "7d", "staging": "30d", "prod": "indefinite"}[any_plan.stack]
    for context in ALL_NAMESPACES:
        assert one(any_plan, "Namespace", context)["metadata"]["annotations"]["bakhmach.io/ttl"] == expected
