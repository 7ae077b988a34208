"""The API gateway (components/gateway.py): Envoy Gateway carrying the seed's `api-gateway` row,
one JWT-checked route per context service, TLS 1.3, per-client rate limits, body limits, JSON
access logs, /healthz, and how each cluster target exposes it."""

from __future__ import annotations

from typing import Any

import pytest

from hubctl.plan import Plan, PlannedResource
from settings import cloudflare_ips, seed
from tests.planning import k8s, of_type, one, planned, primary_provider
from tests.planning_variants import stack_config, variant

GATEWAY_NS = "gateway"
ROUTED = [s for s in seed.APPLICATION_SERVICES]
CONTEXT_OF = {row.name: row.context for row in seed.SERVICE_MATRIX}
RELEASE = "kubernetes:helm.sh/v3:Release"


def release(plan: Plan, name: str, provider: str | None = None) -> PlannedResource:
    provider = provider or primary_provider(plan)
    (found,) = [r for r in of_type(plan, RELEASE) if r.inputs["name"] == name and r.provider == provider]
    return found


def resource_of(plan: Plan, kind: str, name: str, namespace: str | None = None) -> PlannedResource:
    """The planned resource (with its dependencies) of a Kubernetes object on the primary cluster."""
    provider = primary_provider(plan)
    (found,) = [
        r
        for r in plan.resources
        if r.provider == provider
        and r.inputs.get("kind") == kind
        and r.inputs.get("metadata", {}).get("name") == name
        and (namespace is None or r.inputs["metadata"].get("namespace") == namespace)
    ]
    return found


def proxy(plan: Plan) -> dict[str, Any]:
    return one(plan, "EnvoyProxy", "bakhmach-proxy", GATEWAY_NS)["spec"]["provider"]["kubernetes"]


# ---- the controller and the namespace ------------------------------------------------------


def test_envoy_gateway_is_pinned_and_runs_in_its_own_namespace(any_plan: Plan) -> None:
    controller = release(any_plan, "envoy-gateway")
    assert controller.inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    assert controller.inputs["version"] == "v1.9.0" and "repositoryOpts" not in controller.inputs
    assert controller.inputs["namespace"] == "envoy-gateway-system"
    values = controller.inputs["values"]
    # Each Gateway's proxies run in the Gateway's own namespace (the gateway role's).
    assert values["config"]["envoyGateway"]["provider"]["kubernetes"]["deploy"]["type"] == "GatewayNamespace"
    assert values["deployment"]["replicas"] == (1 if any_plan.stack == "dev" else 2)
    namespace = one(any_plan, "Namespace", GATEWAY_NS)["metadata"]["labels"]
    assert namespace["bakhmach.io/role"] == "gateway"
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    # The GatewayClass and every gateway object wait for the controller (its CRDs).
    for kind in ("GatewayClass", "Gateway", "EnvoyProxy", "ClientTrafficPolicy", "BackendTrafficPolicy", "HTTPRoute"):
        for r in of_type_kind(any_plan, kind):
            assert controller.urn in waits_for(any_plan, r), (kind, r.name)


def waits_for(plan: Plan, resource: PlannedResource) -> set[str]:
    """Every URN `resource` waits for, directly or through what it waits for."""
    by_urn = {r.urn: r for r in plan.resources}
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo += by_urn[urn].dependencies if urn in by_urn else []
    return seen


def of_type_kind(plan: Plan, kind: str) -> list[PlannedResource]:
    provider = primary_provider(plan)
    return [r for r in plan.resources if r.provider == provider and r.inputs.get("kind") == kind]


# ---- the api-gateway row -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "cloud", "requests", "limits"),
    [
        ("dev", "kind", ("50m", "64Mi"), ("250m", "128Mi")),
        ("staging", "aws", ("500m", "512Mi"), ("1", "512Mi")),
        ("prod", "azure", ("1", "1Gi"), ("2", "1Gi")),
    ],
)
def test_the_proxies_carry_the_api_gateway_row_per_environment(
    stack: str, cloud: str, requests: tuple[str, str], limits: tuple[str, str]
) -> None:
    """The matrix: api-gateway 2 replicas, 1000m CPU, 1Gi; per environment the rules every
    service follows (README "What each environment gets")."""
    spec = proxy(planned(stack, cloud))
    resources = spec["envoyDeployment"]["container"]["resources"]
    assert (resources["requests"]["cpu"], resources["requests"]["memory"]) == requests
    assert (resources["limits"]["cpu"], resources["limits"]["memory"]) == limits
    assert spec["envoyDeployment"]["pod"]["priorityClassName"] == "bakhmach-platform-critical"
    if stack == "dev":
        assert spec["envoyDeployment"]["replicas"] == 1
        assert "envoyHpa" not in spec and "envoyPDB" not in spec
        return
    hpa = spec["envoyHpa"]
    # The row's 2 replicas, raised to prod's floor of 3.
    assert hpa["minReplicas"] == {"staging": 2, "prod": 3}[stack] and hpa["maxReplicas"] == 10
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert targets == {"staging": {"cpu": 70, "memory": 80}, "prod": {"cpu": 60, "memory": 70}}[stack]
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 30
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert hpa["behavior"]["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 120}]
    assert spec["envoyPDB"] == {"maxUnavailable": 1}
    assert "replicas" not in spec["envoyDeployment"]  # the HPA owns the count


def test_a_stack_file_sizes_the_gateway_like_any_service() -> None:
    """`services.api-gateway.{replicas,cpu,memory}` (main refused them while nothing used them)."""
    config = stack_config("prod", "services") | {"api-gateway": {"replicas": 4, "cpu": "1500m", "memory": "2Gi"}}
    spec = proxy(variant("prod", "aws", services=config))
    assert spec["envoyHpa"]["minReplicas"] == 4
    resources = spec["envoyDeployment"]["container"]["resources"]
    assert resources["requests"] == {"cpu": "1500m", "memory": "2Gi"}
    assert resources["limits"] == {"cpu": "3", "memory": "2Gi"}


# ---- listeners, TLS, limits, logs ----------------------------------------------------------


def test_http_only_redirects_and_https_terminates_tls_1_3_with_the_stack_s_certificate(any_plan: Plan) -> None:
    gateway = one(any_plan, "Gateway", "bakhmach", GATEWAY_NS)["spec"]
    listeners = {listener["name"]: listener for listener in gateway["listeners"]}
    assert (listeners["http"]["protocol"], listeners["http"]["port"]) == ("HTTP", 80)
    assert (listeners["https"]["protocol"], listeners["https"]["port"]) == ("HTTPS", 443)
    assert listeners["https"]["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": "gateway-tls"}],
    }
    # The HTTP listener's only route is the redirect.
    on_http = [
        r["spec"]
        for r in k8s(any_plan, "HTTPRoute", namespace=GATEWAY_NS)
        if any(p.get("sectionName") == "http" for p in r["spec"]["parentRefs"])
    ]
    assert on_http == [
        {
            "parentRefs": [{"name": "bakhmach", "sectionName": "http"}],
            "rules": [
                {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
            ],
        }
    ]
    client = one(any_plan, "ClientTrafficPolicy", "bakhmach-clients", GATEWAY_NS)["spec"]
    assert client["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "bakhmach"}]
    assert client["tls"]["minVersion"] == "1.3"
    certificate = one(any_plan, "Certificate", "gateway-tls", GATEWAY_NS)["spec"]
    assert certificate["secretName"] == "gateway-tls"
    # Renewed 30 days before it expires.
    assert certificate["renewBefore"] == "720h" and certificate["duration"] == "2160h"
    assert certificate["issuerRef"] == {"name": "bakhmach", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    domain = "localhost" if any_plan.stack == "dev" else "bakhmach-business-hub.com"
    api, auth = {
        "dev": ("localhost", "auth.localhost"),
        "staging": (f"api-staging.{domain}", f"auth-staging.{domain}"),
        "prod": (f"api.{domain}", f"auth.{domain}"),
    }[any_plan.stack]
    assert certificate["dnsNames"] == [api, auth]


def test_every_client_is_limited_per_address_and_body_and_every_upstream_within_30_seconds(any_plan: Plan) -> None:
    backend = one(any_plan, "BackendTrafficPolicy", "bakhmach-limits", GATEWAY_NS)["spec"]
    (rule,) = backend["rateLimit"]["local"]["rules"]
    # One bucket per client address (Distinct over every address).
    assert rule["clientSelectors"] == [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}]
    assert rule["limit"] == {"requests": 600, "unit": "Minute"}
    assert backend["requestBuffer"] == {"limit": "10Mi"}
    assert backend["timeout"]["http"]["requestTimeout"] == "30s"
    for route in k8s(any_plan, "HTTPRoute", namespace=GATEWAY_NS):
        for r in route["spec"]["rules"]:
            if r.get("backendRefs"):
                assert r["timeouts"] == {"request": "30s"}, route["metadata"]["name"]


def test_behind_the_edge_the_client_is_the_address_cloudflare_forwards(any_plan: Plan) -> None:
    client = one(any_plan, "ClientTrafficPolicy", "bakhmach-clients", GATEWAY_NS)["spec"]
    if any_plan.stack == "dev":
        assert "clientIPDetection" not in client
        return
    trusted = client["clientIPDetection"]["xForwardedFor"]["trustedCIDRs"]
    assert trusted == [*cloudflare_ips.IPV4, *cloudflare_ips.IPV6]


def test_access_logs_are_json_on_stdout(any_plan: Plan) -> None:
    telemetry = one(any_plan, "EnvoyProxy", "bakhmach-proxy", GATEWAY_NS)["spec"]["telemetry"]
    (settings,) = telemetry["accessLog"]["settings"]
    assert settings["format"]["type"] == "JSON"
    assert {"method", "path", "response_code", "duration_ms", "client_address", "traceparent"} <= set(
        settings["format"]["json"]
    )
    assert settings["sinks"] == [{"type": "File", "file": {"path": "/dev/stdout"}}]


# ---- routes and JWT ------------------------------------------------------------------------


def test_one_route_per_context_service_each_behind_a_realm_jwt(any_plan: Plan) -> None:
    routes = {r["metadata"]["name"]: r["spec"] for r in k8s(any_plan, "HTTPRoute", namespace=GATEWAY_NS)}
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(any_plan, "SecurityPolicy", namespace=GATEWAY_NS)}
    api = one(any_plan, "Certificate", "gateway-tls", GATEWAY_NS)["spec"]["dnsNames"][0]
    issuer = (
        "https://auth.localhost/realms/bakhmach"
        if any_plan.stack == "dev"
        else f"https://{'auth-staging' if any_plan.stack == 'staging' else 'auth'}.bakhmach-business-hub.com"
        "/realms/bakhmach"
    )
    assert set(policies) == set(ROUTED)
    for service in ROUTED:
        route = routes[service]
        assert route["hostnames"] == [api] and route["parentRefs"] == [{"name": "bakhmach", "sectionName": "https"}]
        (rule,) = route["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": f"/{service}"}}]
        assert rule["backendRefs"] == [{"name": service, "namespace": CONTEXT_OF[service], "port": 80}]
        # The prefix is the gateway's: the service sees its own paths.
        assert rule["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
        policy = policies[service]
        assert policy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": service}]
        (provider,) = policy["jwt"]["providers"]
        assert provider["issuer"] == issuer and provider["audiences"] == ["api-gateway"]
        # The realm's keys, fetched from Keycloak inside the cluster.
        assert provider["remoteJWKS"]["uri"] == (
            "http://keycloak-service.identity.svc.cluster.local:8080/realms/bakhmach/protocol/openid-connect/certs"
        )
        assert provider["remoteJWKS"]["backendRefs"] == [
            {"group": "", "kind": "Service", "name": "keycloak-service", "namespace": "identity", "port": 8080}
        ]
        assert policy["authorization"]["defaultAction"] == "Deny"
    # Each context namespace lets the gateway's routes name its Services, and no more.
    for context in {CONTEXT_OF[s] for s in ROUTED}:
        grant = one(any_plan, "ReferenceGrant", "from-gateway", context)["spec"]
        assert grant == {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": GATEWAY_NS}],
            "to": [{"group": "", "kind": "Service"}],
        }


def test_prod_s_second_region_checks_tokens_with_its_own_standby_keycloak(prod_plan: Plan) -> None:
    """The secondary region runs a standby Keycloak on the copy of its database (components/dr,
    docs/DR.md): its gateway routes Keycloak's name to it and fetches the realm's keys from it, so
    after a failover the region issues and checks tokens without the primary."""
    primary = primary_provider(prod_plan)
    (secondary,) = {r.provider for r in of_type(prod_plan, RELEASE) if r.provider != primary}
    policies = k8s(prod_plan, "SecurityPolicy", namespace=GATEWAY_NS, provider=secondary)
    assert {p["metadata"]["name"] for p in policies} == set(ROUTED)
    for policy in policies:
        (provider,) = policy["spec"]["jwt"]["providers"]
        # The same issuer as the primary's tokens: tokens from before a failover stay valid.
        assert provider["issuer"] == "https://auth.bakhmach-business-hub.com/realms/bakhmach"
        assert provider["remoteJWKS"] == {
            "uri": "http://keycloak-service.identity.svc.cluster.local:8080/realms/bakhmach/protocol/openid-connect/certs",
            "backendRefs": [
                {"group": "", "kind": "Service", "name": "keycloak-service", "namespace": "identity", "port": 8080}
            ],
        }
    (keycloak,) = k8s(prod_plan, "Keycloak", provider=secondary)
    assert keycloak["spec"]["instances"] == 0  # until a failover scales it (tests/test_dr.py)
    (route,) = [r for r in k8s(prod_plan, "HTTPRoute", provider=secondary) if r["metadata"]["name"] == "identity"]
    assert route["spec"]["hostnames"] == ["auth.bakhmach-business-hub.com"]


def test_healthz_is_answered_by_the_gateway_itself_without_a_token(any_plan: Plan) -> None:
    route = one(any_plan, "HTTPRoute", "healthz", GATEWAY_NS)["spec"]
    (rule,) = route["rules"]
    assert rule["matches"] == [{"path": {"type": "Exact", "value": "/healthz"}}]
    assert "backendRefs" not in rule and "hostnames" not in route  # any name: the origins' too
    assert rule["filters"] == [
        {
            "type": "ExtensionRef",
            "extensionRef": {"group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "healthz"},
        }
    ]
    response = one(any_plan, "HTTPRouteFilter", "healthz", GATEWAY_NS)["spec"]["directResponse"]
    assert response["statusCode"] == 200
    targeted = {
        ref["name"] for p in k8s(any_plan, "SecurityPolicy", namespace=GATEWAY_NS) for ref in p["spec"]["targetRefs"]
    }
    assert "healthz" not in targeted


def test_keycloak_is_routed_on_its_own_host_for_its_public_paths_only(any_plan: Plan) -> None:
    route = one(any_plan, "HTTPRoute", "identity", GATEWAY_NS)["spec"]
    (auth,) = [h for h in one(any_plan, "Certificate", "gateway-tls", GATEWAY_NS)["spec"]["dnsNames"] if "auth" in h]
    assert route["hostnames"] == [auth]
    (rule,) = route["rules"]
    # Not the admin console: it is reached with kubectl port-forward.
    assert [m["path"]["value"] for m in rule["matches"]] == ["/realms/", "/resources/"]
    assert rule["backendRefs"] == [{"name": "keycloak-service", "namespace": "identity", "port": 8080}]


# ---- exposure ------------------------------------------------------------------------------


def gateway_service(plan: Plan) -> dict[str, Any]:
    return one(plan, "Service", "gateway", GATEWAY_NS)


def test_the_public_service_selects_envoy_gateway_s_proxies_on_their_shifted_ports(any_plan: Plan) -> None:
    service = gateway_service(any_plan)["spec"]
    assert service["selector"]["gateway.envoyproxy.io/owning-gateway-name"] == "bakhmach"
    assert service["selector"]["gateway.envoyproxy.io/owning-gateway-namespace"] == GATEWAY_NS
    # Envoy Gateway binds privileged listener ports 10000 higher inside the pod.
    assert {(p["port"], p["targetPort"]) for p in service["ports"]} == {(80, 10080), (443, 10443)}
    # Envoy Gateway's own Service stays inside the cluster.
    assert proxy(any_plan)["envoyService"] == {"type": "ClusterIP"}


def test_kind_exposes_the_gateway_on_node_ports_behind_the_laptop_s_80_and_443(dev_plan: Plan) -> None:
    service = gateway_service(dev_plan)["spec"]
    assert service["type"] == "NodePort"
    assert {p["nodePort"] for p in service["ports"]} == {30080, 30443}


def test_eks_exposes_an_internet_facing_nlb_in_the_public_subnets_through_the_lb_controller() -> None:
    plan = planned("staging", "aws")
    service = gateway_service(plan)
    annotations = service["metadata"]["annotations"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    subnets = {s.name: s for s in of_type(plan, "aws:ec2/subnet:Subnet")}
    public = sorted(f"{name}-id" for name in subnets if name.startswith("staging-public-"))
    assert len(public) == 3  # one per zone
    assert sorted(annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"].split(",")) == public
    controller = release(plan, "aws-load-balancer-controller")
    assert controller.inputs["version"] == "3.5.0"
    assert controller.inputs["values"]["enableServiceMutatorWebhook"] is False
    assert controller.inputs["values"]["clusterName"] == "bakhmach-staging"
    # EKS Pod Identity: a role for the controller's ServiceAccount with the release's IAM policy.
    (association,) = [
        a
        for a in of_type(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "aws-load-balancer-controller"
    ]
    assert association.inputs["namespace"] == "kube-system"
    resource = resource_of(plan, "Service", "gateway", GATEWAY_NS)
    assert controller.urn in resource.dependencies


def test_aks_exposes_the_azure_load_balancer_open_only_to_the_edge() -> None:
    service = gateway_service(planned("staging", "azure"))["spec"]
    assert service["type"] == "LoadBalancer" and "loadBalancerClass" not in service
    assert service["loadBalancerSourceRanges"] == list(cloudflare_ips.IPV4)
    # The pods see the edge's address, which the ClientTrafficPolicy trusts.
    assert service["externalTrafficPolicy"] == "Local"


def test_only_the_gateway_namespace_exposes_a_load_balancer(any_plan: Plan) -> None:
    exposed = [
        (s["metadata"]["namespace"], s["metadata"]["name"])
        for s in k8s(any_plan, "Service")
        if s["spec"].get("type") in ("LoadBalancer", "NodePort")
        # Prod's in-cluster data members for the other region: internal load balancers open to
        # the two regions' private ranges only (components/data/cross_region.py; policy
        # gateway-only-exposure checks them).
        and s["metadata"].get("labels", {}).get("bakhmach.io/dr-endpoint") != "true"
    ]
    assert exposed == [(GATEWAY_NS, "gateway")]
    for context in any_plan.outputs["namespaces"]:
        quota = one(any_plan, "ResourceQuota", "context-quota", context)["spec"]["hard"]
        assert quota["services.loadbalancers"] == "0"


def test_a_service_marked_internal_has_no_route_and_says_so() -> None:
    routes = {"slon-finance": {"internal": True}, "trade-connector": {"host": "trade"}}
    plan = variant(
        "staging", "aws", gateway={"domain": "bakhmach-business-hub.com", "apiHost": "api-staging", "routes": routes}
    )
    names = {r["metadata"]["name"] for r in k8s(plan, "HTTPRoute", namespace=GATEWAY_NS)}
    assert "slon-finance" not in names and "trade-connector" in names
    # Staging runs canaries: Flagger creates the Service callers name (the apex), with the mark.
    canary = one(plan, "Canary", "slon-finance", "slon-credit")["spec"]["service"]["apex"]
    assert canary["annotations"] == {"bakhmach.io/internal": "true"}
    assert "annotations" not in one(plan, "Canary", "trade-connector", "black-sea-corridor")["spec"]["service"]["apex"]
    dev = variant("dev", "kind", gateway={"routes": {"slon-finance": {"internal": True}}})
    assert one(dev, "Service", "slon-finance", "slon-credit")["metadata"]["annotations"] == {
        "bakhmach.io/internal": "true"
    }
    assert "slon-finance" not in {r["metadata"]["name"] for r in k8s(dev, "HTTPRoute", namespace=GATEWAY_NS)}
    trade = one(plan, "HTTPRoute", "trade-connector", GATEWAY_NS)["spec"]
    assert trade["hostnames"] == ["trade.bakhmach-business-hub.com"]
    assert trade["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert "filters" not in trade["rules"][0]
    assert "trade.bakhmach-business-hub.com" in one(plan, "Certificate", "gateway-tls", GATEWAY_NS)["spec"]["dnsNames"]


# ---- the mesh ------------------------------------------------------------------------------


def test_the_gateway_joins_the_mesh_so_the_services_accept_its_calls(any_plan: Plan) -> None:
    """The services accept only mTLS from the gateway namespace's identity (components/mesh,
    STRICT): the proxies get a sidecar that leaves their inbound to Envoy, route to the Services'
    cluster IPs (which the sidecar knows as the services, and wraps in mTLS), and start once the
    sidecar is ready; the namespace is labelled for injection after istiod and the CNI agent."""
    namespace = one(any_plan, "Namespace", GATEWAY_NS)["metadata"]["labels"]
    assert namespace["istio-injection"] == "enabled"
    spec = one(any_plan, "EnvoyProxy", "bakhmach-proxy", GATEWAY_NS)["spec"]
    assert spec["routingType"] == "Service"
    annotations = spec["provider"]["kubernetes"]["envoyDeployment"]["pod"]["annotations"]
    assert annotations["traffic.sidecar.istio.io/includeInboundPorts"] == ""
    assert annotations["proxy.istio.io/config"] == '{"holdApplicationUntilProxyStarts": true}'
    istiod = release(any_plan, "istiod")
    assert istiod.urn in resource_of(any_plan, "Namespace", GATEWAY_NS).dependencies
    # Each service's AuthorizationPolicy names the gateway's namespace as a caller.
    for policy in k8s(any_plan, "AuthorizationPolicy"):
        if policy["metadata"]["namespace"] in CONTEXT_OF.values():
            sources = [s for rule in policy["spec"].get("rules", []) for s in rule.get("from", [])]
            if sources:
                assert {"source": {"namespaces": [GATEWAY_NS]}} in sources, policy["metadata"]["name"]
