"""Network policies: default deny per context namespace, mesh-wide mTLS, gateway-only exposure."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.test_policy_pack import found, others, resource, run

PLATFORM = {"bakhmach.io/context": "platform"}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    restricted = {"bakhmach.io/context": name, "pod-security.kubernetes.io/enforce": "restricted"}
    return resource(
        "kubernetes:core/v1:Namespace",
        f"ns-{name}",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": labels or restricted,
                "annotations": {"bakhmach.io/ttl": "indefinite"},
            },
        },
    )


def network_policy(ns: str, name: str = "default-deny", **spec: Any) -> dict[str, Any]:
    body = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]} | spec
    return resource(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        f"{ns}-{name}",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "labels": {"bakhmach.io/context": ns}},
            "spec": body,
        },
    )


def istiod() -> dict[str, Any]:
    return resource(
        "kubernetes:helm.sh/v3:Release",
        "istiod",
        {"chart": "istiod", "version": "1.28.0", "namespace": "istio-system", "name": "istiod"},
    )


def peer_authentication(ns: str, mode: str, **extra: Any) -> dict[str, Any]:
    return resource(
        "kubernetes:security.istio.io/v1:PeerAuthentication",
        f"{ns}-mtls",
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": ns, "labels": PLATFORM},
            "spec": {"mtls": {"mode": mode}} | extra,
        },
    )


def service(ns: str, type_: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return resource(
        "kubernetes:core/v1:Service",
        f"{ns}-svc",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "svc",
                "namespace": ns,
                "labels": {"bakhmach.io/context": "platform"} | (labels or {}),
            },
            "spec": {"type": type_, "ports": [{"port": 443}]},
        },
    )


GATEWAY_NS = namespace("gateway", PLATFORM | {"bakhmach.io/role": "gateway"})

CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "default-deny-per-context": (
        [namespace("slon-credit"), network_policy("slon-credit")],
        [namespace("slon-credit"), network_policy("slon-credit", name="allow-dns", policyTypes=["Egress"])],
    ),
    "mesh-mtls-strict": (
        [istiod(), peer_authentication("istio-system", "STRICT")],
        [istiod()],
    ),
    "gateway-only-exposure": (
        [GATEWAY_NS, service("gateway", "LoadBalancer")],
        [namespace("platform"), network_policy("platform"), service("platform", "LoadBalancer")],
    ),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_compliant_case_passes_and_violating_case_is_caught(policy: str) -> None:
    compliant, violating = CASES[policy]
    ok = run("prod", *compliant)
    assert found(ok, policy) == [] and others(ok, policy) == []
    bad = run("prod", *violating)
    assert found(bad, policy), f"{policy} missed its violating case"
    assert others(bad, policy) == []


def test_default_deny_must_cover_ingress_and_egress_with_no_rules() -> None:
    ingress_only = network_policy("slon-credit", policyTypes=["Ingress"])
    with_rule = network_policy("slon-credit", egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}])
    for policy in (ingress_only, with_rule):
        assert found(run("prod", namespace("slon-credit"), policy), "default-deny-per-context") == [
            "namespace slon-credit has no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)"
        ]


def test_a_deny_policy_in_another_cluster_does_not_count() -> None:
    other_cluster = network_policy("slon-credit")
    other_cluster["provider"] = "urn:pulumi:prod::bakhmach-hub::pulumi:providers:kubernetes::dr-k8s"
    assert found(run("prod", namespace("slon-credit"), other_cluster), "default-deny-per-context")


def test_system_namespaces_need_no_default_deny() -> None:
    assert found(run("prod", namespace("istio-system", PLATFORM)), "default-deny-per-context") == []


def test_mtls_is_vacuous_without_istio() -> None:
    assert found(run("prod", namespace("slon-credit"), network_policy("slon-credit")), "mesh-mtls-strict") == []


def test_any_istio_resource_means_the_mesh_is_there() -> None:
    gateway = resource(
        "kubernetes:networking.istio.io/v1:Gateway",
        "gw",
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "gateway", "labels": PLATFORM},
        },
    )
    assert found(run("prod", GATEWAY_NS, gateway), "mesh-mtls-strict")
    assert (
        found(run("prod", GATEWAY_NS, gateway, peer_authentication("istio-system", "STRICT")), "mesh-mtls-strict") == []
    )


@pytest.mark.parametrize(
    "weakening",
    [
        peer_authentication("slon-credit", "PERMISSIVE"),
        peer_authentication("slon-credit", "STRICT", portLevelMtls={"8080": {"mode": "DISABLE"}}),
    ],
)
def test_nothing_may_weaken_strict_mtls(weakening: dict[str, Any]) -> None:
    weakening["inputs"]["metadata"]["labels"] = {"bakhmach.io/context": "slon-credit"}
    messages = found(
        run("prod", istiod(), peer_authentication("istio-system", "STRICT"), weakening), "mesh-mtls-strict"
    )
    assert len(messages) == 1 and "weakens mTLS" in messages[0]


def test_a_mesh_wide_policy_outside_istio_system_does_not_count() -> None:
    assert found(run("prod", istiod(), peer_authentication("platform", "STRICT")), "mesh-mtls-strict")


def test_the_gateway_label_on_the_service_itself_is_enough() -> None:
    svc = service("platform", "NodePort", {"bakhmach.io/role": "gateway"})
    assert found(run("prod", svc), "gateway-only-exposure") == []


def test_cluster_ip_services_are_fine_anywhere() -> None:
    assert found(run("prod", service("platform", "ClusterIP")), "gateway-only-exposure") == []


# ---- public entry points: what prod-multi-region-failover fails over -------------------------
EKS = "aws:eks/cluster:Cluster"
OTHER_CLUSTER = "urn:pulumi:prod::bakhmach-hub::pulumi:providers:kubernetes::dr-k8s"


def two_regions() -> list[dict[str, Any]]:
    return [resource(EKS, f"{n}-eks", {"name": f"bakhmach-prod-{n}"}) for n in ("primary", "secondary")]


def failover_messages(*resources: dict[str, Any]) -> list[str]:
    return found(run("prod", *two_regions(), *resources), "prod-multi-region-failover")


def test_without_a_public_entry_point_prod_needs_no_failover_records() -> None:
    assert failover_messages() == []
    assert failover_messages(namespace("platform"), service("platform", "ClusterIP")) == []


@pytest.mark.parametrize(
    "entry",
    [
        [GATEWAY_NS, service("gateway", "LoadBalancer")],
        [namespace("edge", PLATFORM), service("edge", "LoadBalancer", {"bakhmach.io/role": "gateway"})],
    ],
    ids=["in-the-gateway-namespace", "labelled-gateway"],
)
def test_a_gateway_load_balancer_is_a_public_entry_point_that_needs_failover(entry: list[dict[str, Any]]) -> None:
    (message,) = failover_messages(*entry)
    assert message.startswith(f"Service {entry[1]['inputs']['metadata']['namespace']}/svc is a public entry point")
    assert "no health-checked DNS record set spanning two regions" in message


def test_only_a_gateway_load_balancer_is_a_public_entry_point() -> None:
    # A NodePort opens no address of its own; a LoadBalancer outside the gateway is
    # gateway-only-exposure's violation, not an entry point to fail over.
    assert failover_messages(GATEWAY_NS, service("gateway", "NodePort")) == []
    assert failover_messages(namespace("platform"), service("platform", "LoadBalancer")) == []
    # The gateway namespace of another cluster does not make this cluster's Service a gateway.
    elsewhere = copy.deepcopy(GATEWAY_NS) | {"provider": OTHER_CLUSTER}
    assert failover_messages(elsewhere, service("gateway", "LoadBalancer")) == []
