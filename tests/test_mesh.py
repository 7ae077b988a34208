"""The service mesh, as every stack plans it: Istio in sidecar mode with the CNI node agent, mesh-wide
STRICT mTLS, each context service's timeouts, retries, circuit breaker, load balancing and
authorization, and the canaries (staging, prod) that roll a new version out at 90/10 and roll it
back when its success rate drops below 95%."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import versions
from components.mesh.endpoints import AGENT_PORT, ISTIO_NAMESPACE, WEBHOOK_PORT, XDS_PORT
from components.observability.endpoints import PROMETHEUS_URL
from hubctl.plan import REPO_ROOT, Plan, PlannedResource, run_plan
from settings import seed
from tests.planning import k8s, of_type, one, primary_provider

SERVICES = [row for row in seed.SERVICE_MATRIX if row.name in seed.APPLICATION_SERVICES]
CONTEXTS = sorted({row.context for row in SERVICES})
RELEASE = "kubernetes:helm.sh/v3:Release"


def releases(plan: Plan) -> dict[str, PlannedResource]:
    """The primary cluster's Helm releases, by release name."""
    provider = primary_provider(plan)
    return {r.inputs["name"]: r for r in of_type(plan, RELEASE) if r.provider == provider}


def by_urn(plan: Plan) -> dict[str, PlannedResource]:
    return {r.urn: r for r in plan.resources}


def resource_of(plan: Plan, kind: str, name: str, namespace: str) -> PlannedResource:
    provider = primary_provider(plan)
    (found,) = [
        r
        for r in plan.resources
        if r.provider == provider
        and r.inputs.get("kind") == kind
        and r.inputs.get("metadata", {}).get("name") == name
        and r.inputs.get("metadata", {}).get("namespace") == namespace
    ]
    return found


def seconds(value: str) -> int:
    assert value.endswith("s"), value
    return int(value[:-1])


# ---- the control plane ----------------------------------------------------------------------


def test_istio_is_the_pinned_release_from_istios_own_chart_repository(any_plan: Plan) -> None:
    found = releases(any_plan)
    for release, chart in (("istio-base", "base"), ("istio-cni", "cni"), ("istiod", "istiod")):
        inputs = found[release].inputs
        assert inputs["chart"] == chart
        assert inputs["version"] == "1.31.0"
        # From 1.31 on Istio publishes only here (not the GCS bucket, which is being switched off).
        assert inputs["repositoryOpts"]["repo"] == "https://blob.istio.io/istio-release/charts"
    for release in ("istio-cni", "istiod"):
        assert found[release].inputs["values"]["global"]["hub"] == "docker.io/istio"
        assert found[release].inputs["values"]["global"]["tag"] == versions.ISTIO_VERSION


def test_sidecars_fit_pod_security_restricted(any_plan: Plan) -> None:
    values = releases(any_plan)["istiod"].inputs["values"]
    # The CNI agent replaces istio-init (NET_ADMIN, NET_RAW), and the proxy gets a seccomp profile.
    assert values["cni"] == {"enabled": True}
    assert values["global"]["proxy"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["seccompProfile"] == {"type": "RuntimeDefault"}
    assert releases(any_plan)["istio-cni"].inputs["values"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for context in CONTEXTS:
        labels = one(any_plan, "Namespace", context)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["istio-injection"] == "enabled"
    assert one(any_plan, "Namespace", ISTIO_NAMESPACE)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )
    # Only the node agent's own namespace may run privileged pods (host paths, host network).
    assert one(any_plan, "Namespace", "istio-cni")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "privileged"
    )
    assert releases(any_plan)["istio-cni"].inputs["namespace"] == "istio-cni"


def test_the_mesh_is_installed_in_order_before_its_workloads(any_plan: Plan) -> None:
    found = releases(any_plan)
    base, cni, istiod = found["istio-base"], found["istio-cni"], found["istiod"]
    assert base.urn in istiod.dependencies
    urns = by_urn(any_plan)
    provider = primary_provider(any_plan)
    deployments = [
        r
        for r in of_type(any_plan, "kubernetes:apps/v1:Deployment")
        if r.provider == provider and r.inputs["metadata"]["namespace"] in CONTEXTS
    ]
    assert len(deployments) == len(SERVICES)
    for deployment in deployments:
        # Injection happens at admission: a pod created before istiod runs without a sidecar.
        assert {istiod.urn, cni.urn} <= set(deployment.dependencies), deployment.name
    for r in any_plan.resources:
        if r.provider == provider and r.type.startswith(
            ("kubernetes:networking.istio.io", "kubernetes:security.istio")
        ):
            assert {base.urn, istiod.urn} <= set(r.dependencies) or any(
                base.urn in urns[d].dependencies for d in r.dependencies if d in urns
            ), r.name


def test_istiod_fits_each_environment(any_plan: Plan) -> None:
    values = releases(any_plan)["istiod"].inputs["values"]
    if any_plan.stack == "dev":
        assert values["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
        assert values["replicaCount"] == 1
    else:
        assert values["replicaCount"] == values["autoscaleMin"] == 2
    assert values["global"]["priorityClassName"] == "bakhmach-platform-critical"
    mesh = values["meshConfig"]
    assert mesh["enablePrometheusMerge"] is True
    assert mesh["defaultConfig"]["holdApplicationUntilProxyStarts"] is True


# ---- mTLS and authorization -----------------------------------------------------------------


def test_mtls_is_strict_mesh_wide_and_nothing_weakens_it(any_plan: Plan) -> None:
    for provider in [r.urn for r in of_type(any_plan, "pulumi:providers:kubernetes")]:
        (policy,) = k8s(any_plan, "PeerAuthentication", provider=provider)
        assert policy["metadata"] == {**policy["metadata"], "name": "default", "namespace": ISTIO_NAMESPACE}
        assert policy["spec"] == {"mtls": {"mode": "STRICT"}}


def test_each_context_denies_what_no_policy_allows(any_plan: Plan) -> None:
    for context in CONTEXTS:
        assert one(any_plan, "AuthorizationPolicy", "allow-nothing", context)["spec"] == {"action": "ALLOW"}


def _rules(plan: Plan, service: seed.ServiceRow) -> list[dict[str, Any]]:
    policy = one(plan, "AuthorizationPolicy", service.name, service.context)
    assert policy["spec"]["action"] == "ALLOW"
    assert policy["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/instance": f"{service.name}-{plan.stack}"}
    return policy["spec"]["rules"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_services_accept_only_the_gateway_and_their_callers(any_plan: Plan, service: seed.ServiceRow) -> None:
    rules = _rules(any_plan, service)
    sources = [source["source"] for rule in rules for source in rule["from"]]
    assert {"namespaces": ["gateway"]} in sources
    principals = sorted(p for s in sources for p in s.get("principals", []))
    if service.name == "auth-service":
        # Every business service calls auth-service (seed.SERVICE_CALLS), each by its own identity.
        assert principals == sorted(
            f"cluster.local/ns/{row.context}/sa/{row.name}" for row in SERVICES if row.name != "auth-service"
        )
    else:
        assert principals == []
    port = {"fastapi": "8000", "nodejs": "3000", "go": "8080", "spring-boot": "8080", "tensorflow-serving": "8501"}
    for rule in rules:
        assert rule["to"] == [{"operation": {"ports": [port[service.framework]]}}]


# ---- traffic policy -------------------------------------------------------------------------


def _routes(plan: Plan, service: seed.ServiceRow) -> list[dict[str, Any]]:
    name = service.name if plan.stack == "dev" else f"{service.name}-routes"
    vs = one(plan, "VirtualService", name, service.context)
    assert vs["spec"]["hosts"] == [f"{service.name}.{service.context}.svc.cluster.local"]
    return vs["spec"]["http"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_api_calls_time_out_at_30s_batch_routes_at_60s(any_plan: Plan, service: seed.ServiceRow) -> None:
    batch, api = _routes(any_plan, service)
    assert batch["match"] == [{"uri": {"prefix": "/batch/"}}]
    assert seconds(batch["timeout"]) == 60
    assert "match" not in api and seconds(api["timeout"]) == 30


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_every_route_retries_3_times_within_its_timeout(any_plan: Plan, service: seed.ServiceRow) -> None:
    for route in _routes(any_plan, service):
        retries = route["retries"]
        assert retries["attempts"] == 3
        assert set(retries["retryOn"].split(",")) == {"5xx", "reset", "connect-failure"}
        assert seconds(retries["perTryTimeout"]) * 3 <= seconds(route["timeout"])
        assert retries["backoff"] == "25ms"


def _traffic_policy(plan: Plan, service: seed.ServiceRow) -> dict[str, Any]:
    if plan.stack == "dev":
        rule = one(plan, "DestinationRule", service.name, service.context)
        assert rule["spec"]["host"] == f"{service.name}.{service.context}.svc.cluster.local"
        return rule["spec"]["trafficPolicy"]
    return one(plan, "Canary", service.name, service.context)["spec"]["service"]["trafficPolicy"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_every_service_has_a_circuit_breaker(any_plan: Plan, service: seed.ServiceRow) -> None:
    policy = _traffic_policy(any_plan, service)
    assert policy["outlierDetection"] == {
        "consecutive5xxErrors": 5,
        "interval": "10s",
        "baseEjectionTime": "30s",
        "maxEjectionPercent": 50,
    }
    assert policy["connectionPool"]["http"] == {
        "http1MaxPendingRequests": 256,
        "http2MaxRequests": 1024,
        "maxRetries": 3,
    }
    assert policy["tls"] == {"mode": "ISTIO_MUTUAL"}


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_round_robin_except_where_settings_say_least_request(any_plan: Plan, service: seed.ServiceRow) -> None:
    wanted = "LEAST_REQUEST" if service.name == "debt-agent-ai" else "ROUND_ROBIN"
    assert _traffic_policy(any_plan, service)["loadBalancer"] == {"simple": wanted}


# ---- canaries -------------------------------------------------------------------------------


def test_dev_runs_no_canaries_and_no_flagger(dev_plan: Plan) -> None:
    assert k8s(dev_plan, "Canary") == []
    assert "flagger" not in releases(dev_plan)
    for service in SERVICES:
        # The stack's own Service and DestinationRule: no canary to hand them to.
        one(dev_plan, "Service", service.name, service.context)


def test_flagger_uses_istio_and_the_observability_prometheus(staging_plan: Plan, prod_plan: Plan) -> None:
    for plan in (staging_plan, prod_plan):
        flagger = releases(plan)["flagger"]
        assert flagger.inputs["chart"] == "flagger" and flagger.inputs["version"] == "1.44.0"
        assert flagger.inputs["repositoryOpts"]["repo"] == "https://flagger.app"
        values = flagger.inputs["values"]
        assert values["meshProvider"] == "istio"
        assert (
            values["metricsServer"] == PROMETHEUS_URL == "http://prometheus-operated.monitoring.svc.cluster.local:9090"
        )
        assert flagger.inputs["namespace"] == "flagger-system"
        assert one(plan, "Namespace", "flagger-system")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
            "restricted"
        )


def _canary_plans(staging_plan: Plan, prod_plan: Plan) -> list[Plan]:
    return [staging_plan, prod_plan]


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_every_service_rolls_out_through_a_90_10_canary(
    staging_plan: Plan, prod_plan: Plan, service: seed.ServiceRow
) -> None:
    for plan in (staging_plan, prod_plan):
        canary = resource_of(plan, "Canary", service.name, service.context)
        spec = canary.inputs["spec"]
        analysis = spec["analysis"]
        # One step of 10 up to 10: stable 90%, canary 10%.
        assert analysis["stepWeight"] == analysis["maxWeight"] == 10
        (metric,) = analysis["metrics"]
        # Rolled back when more than 5% of the canary's requests fail.
        assert metric["name"] == "request-success-rate" and metric["thresholdRange"] == {"min": 95}
        assert analysis["threshold"] >= 1
        assert spec["provider"] == "istio"
        assert spec["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}
        assert spec["autoscalerRef"]["name"] == service.name
        assert releases(plan)["flagger"].urn in canary.dependencies


@pytest.mark.parametrize("service", SERVICES, ids=lambda row: row.name)
def test_canary_and_primary_share_one_traffic_policy_and_no_routing_object_is_doubled(
    staging_plan: Plan, prod_plan: Plan, service: seed.ServiceRow
) -> None:
    for plan in (staging_plan, prod_plan):
        spec = one(plan, "Canary", service.name, service.context)["spec"]["service"]
        # Flagger's delegate VirtualService carries only the weights; timeouts and retries come
        # from the stack's root VirtualService, which delegates every route to it.
        assert spec["delegation"] is True
        assert "timeout" not in spec and "retries" not in spec
        for route in _routes(plan, service):
            assert route["delegate"] == {"name": service.name, "namespace": service.context}
            assert "route" not in route
        # Flagger owns the Service, the DestinationRules and the VirtualService named after it.
        assert k8s(plan, "Service", service.name, service.context) == []
        assert k8s(plan, "DestinationRule", namespace=service.context) == []
        assert k8s(plan, "VirtualService", service.name, service.context) == []


def test_the_disruption_budget_covers_primary_and_canary_pods(staging_plan: Plan) -> None:
    for service in SERVICES:
        pdb = one(staging_plan, "PodDisruptionBudget", service.name, service.context)
        assert pdb["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/instance": f"{service.name}-{staging_plan.stack}"
        }


# ---- network policies -----------------------------------------------------------------------


def _ports(rule: dict[str, Any]) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_istiod_is_reachable_only_on_the_mesh_ports(any_plan: Plan) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(any_plan, "NetworkPolicy", namespace=ISTIO_NAMESPACE)}
    assert set(policies) == {
        "default-deny",
        "allow-dns",
        "allow-sidecars",
        "allow-webhooks",
        "allow-api-server",
        "allow-from-prometheus",  # istiod's monitoring port (components/observability)
    }
    (prometheus,) = policies["allow-from-prometheus"]["ingress"]
    assert _ports(prometheus) == {15014}
    (sidecars,) = policies["allow-sidecars"]["ingress"]
    assert _ports(sidecars) == {XDS_PORT}
    assert sidecars["from"] == [{"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}]
    (webhooks,) = policies["allow-webhooks"]["ingress"]
    assert _ports(webhooks) == {WEBHOOK_PORT}
    (api,) = policies["allow-api-server"]["egress"]
    assert _ports(api) == {443, 6443}


def test_contexts_reach_istiod_and_prometheus_reaches_the_sidecar_agent(any_plan: Plan) -> None:
    for context in CONTEXTS:
        (egress,) = one(any_plan, "NetworkPolicy", "allow-to-istiod", context)["spec"]["egress"]
        assert _ports(egress) == {XDS_PORT}
        assert egress["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": ISTIO_NAMESPACE}
        (scrape,) = one(any_plan, "NetworkPolicy", "allow-from-prometheus", context)["spec"]["ingress"]
        assert _ports(scrape) == {AGENT_PORT}


def test_only_the_allowed_calls_cross_namespaces(any_plan: Plan) -> None:
    into_platform = one(any_plan, "NetworkPolicy", "allow-calls-in", "platform")["spec"]["ingress"]
    callers = {
        rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in into_platform
    }
    assert callers == set(CONTEXTS) - {"platform"}
    assert all(_ports(rule) == {8000} for rule in into_platform)
    for context in set(CONTEXTS) - {"platform"}:
        (out,) = one(any_plan, "NetworkPolicy", "allow-calls-out", context)["spec"]["egress"]
        assert out["to"][0]["podSelector"]["matchLabels"] == {
            "app.kubernetes.io/instance": f"auth-service-{any_plan.stack}"
        }
        assert _ports(out) == {8000}
        assert k8s(any_plan, "NetworkPolicy", "allow-calls-in", context) == []


def test_flagger_reaches_only_the_api_server_and_prometheus(staging_plan: Plan) -> None:
    policies = {
        p["metadata"]["name"]: p["spec"] for p in k8s(staging_plan, "NetworkPolicy", namespace="flagger-system")
    }
    assert set(policies) == {"default-deny", "allow-dns", "allow-api-server-and-prometheus"}
    api, prometheus = policies["allow-api-server-and-prometheus"]["egress"]
    assert _ports(api) == {443, 6443}
    assert _ports(prometheus) == {9090}
    assert prometheus["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}


def test_the_context_quota_counts_the_sidecar(prod_plan: Plan) -> None:
    from components.context_namespace import PodOverhead, quota_for
    from settings.mesh import SIDECARS
    from settings.quantity import cpu_millicores

    without = quota_for((), PodOverhead())
    quota = one(prod_plan, "ResourceQuota", "context-quota", "slon-credit")["spec"]["hard"]
    # slon-finance at its HPA maximum (10) plus a surge pod, each with a 1-CPU sidecar limit.
    sidecar = cpu_millicores(SIDECARS["prod"].cpu_limit)
    assert cpu_millicores(quota["limits.cpu"]) >= 11 * (2000 + sidecar)
    assert cpu_millicores(quota["limits.cpu"]) > cpu_millicores(without.limits_cpu)


# ---- settings -------------------------------------------------------------------------------


@functools.cache
def _plan_with(overrides_json: str) -> Plan:
    import json

    overrides = json.loads(overrides_json)
    document = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    config = document.setdefault("config", {})
    config["bakhmach-hub:services"] = overrides
    path = Path(tempfile.mkdtemp(prefix="mesh-settings-")) / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    return run_plan("dev", None, stack_file=path)


def test_a_stack_file_opens_a_call_between_two_contexts() -> None:
    plan = _plan_with('{"slon-finance": {"calls": ["auth-service", "audityzer-audit"]}}')
    principals = [
        p for rule in _rules(plan, SERVICES[3]) for s in rule["from"] for p in s["source"].get("principals", [])
    ]
    assert SERVICES[3].name == "audityzer-audit"
    assert principals == ["cluster.local/ns/slon-credit/sa/slon-finance"]
    (into,) = one(plan, "NetworkPolicy", "allow-calls-in", "audityzer-eu")["spec"]["ingress"]
    assert into["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "slon-finance-dev"}
    assert _ports(into) == {3000}


def test_a_stack_file_declares_batch_routes_and_least_request() -> None:
    plan = _plan_with(
        '{"trade-connector": {"batchRoutes": ["/v1/imports/", "/v1/exports/"], "loadBalancing": "least-request"}}'
    )
    trade = next(row for row in SERVICES if row.name == "trade-connector")
    routes = _routes(plan, trade)
    assert [(r.get("match"), seconds(r["timeout"])) for r in routes] == [
        ([{"uri": {"prefix": "/v1/exports/"}}], 60),
        ([{"uri": {"prefix": "/v1/imports/"}}], 60),
        (None, 30),
    ]
    assert _traffic_policy(plan, trade)["loadBalancer"] == {"simple": "LEAST_REQUEST"}
