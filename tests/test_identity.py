"""Keycloak through its operator, with the realm as code (components/identity.py), and the seed's
RBAC matrix derived from that realm and the gateway's routes.

The seed ("Security Architecture"): OAuth 2.0 + OpenID Connect, JWT RS256, access tokens 1 hour,
refresh 7 days; RBAC: System Admin all operations, Context Manager context-specific operations,
Service Account automated operations, Guest read-only, Auditor compliance & security audits;
MFA for all production access (TOTP, WebAuthn)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from components import identity, versions
from hubctl.plan import Plan, PlannedResource
from settings import seed
from tests.planning import k8s, of_type, one, planned, primary_provider
from tests.planning_variants import variant

REALM_IMPORT = "KeycloakRealmImport"
ROLES = ("system-admin", "context-manager", "service-account", "guest", "auditor")
BUSINESS = tuple(c.slug for c in seed.BUSINESS_CONTEXTS)
SERVICES = {row.name: row.context for row in seed.SERVICE_MATRIX if row.name != "api-gateway"}
READ, WRITE = "GET", "POST"


def realm(plan: Plan) -> dict[str, Any]:
    return one(plan, REALM_IMPORT, "bakhmach", "identity")["spec"]["realm"]


def planned_resource(plan: Plan, kind: str, name: str) -> PlannedResource:
    provider = primary_provider(plan)
    (found,) = [
        r
        for r in plan.resources
        if r.provider == provider and r.inputs.get("kind") == kind and r.inputs["metadata"].get("name") == name
    ]
    return found


# ---- the operator and Keycloak --------------------------------------------------------------


def test_the_operator_s_crds_and_deployment_come_before_any_keycloak(any_plan: Plan) -> None:
    crds = {
        r.inputs["metadata"]["name"]: r
        for r in of_type(any_plan, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    }
    assert {"keycloaks.k8s.keycloak.org", "keycloakrealmimports.k8s.keycloak.org"} <= set(crds)
    for name in ("keycloaks.k8s.keycloak.org", "keycloakrealmimports.k8s.keycloak.org"):
        (version,) = [v for v in crds[name].inputs["spec"]["versions"] if v["storage"]]
        assert version["name"] == "v2beta1"
    keycloak = planned_resource(any_plan, "Keycloak", "keycloak")
    operator = planned_resource(any_plan, "Deployment", "keycloak-operator")
    assert {crds["keycloaks.k8s.keycloak.org"].urn, operator.urn} <= set(keycloak.dependencies)
    assert keycloak.urn in planned_resource(any_plan, REALM_IMPORT, "bakhmach").dependencies
    (container,) = operator.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "quay.io/keycloak/keycloak-operator:26.6.4"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RELATED_IMAGE_KEYCLOAK"] == "quay.io/keycloak/keycloak:26.6.4"
    # Its one cluster-wide binding names the namespace it runs in (upstream writes `keycloak`).
    binding = one(any_plan, "ClusterRoleBinding", "keycloak-operator-clusterrole-binding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "keycloak-operator", "namespace": "identity"}]


# The vendored operator release, file by file, as docs/VERSIONS.md records it with its evidence: a
# changed byte, a file more or less, or a version bump without new evidence fails here.
VENDORED_SHA256 = {
    "26.6.4": {
        "keycloaks.k8s.keycloak.org-v1.yml": "846783b8de418a5b4187705d9f651af46d1740df58fa4b4348b5e10a91e1678a",
        "keycloakrealmimports.k8s.keycloak.org-v1.yml": (
            "4b2220309a91f04e7b561fe1c3bdabe112612842d3e2658193e364721579d762"
        ),
        "kubernetes.yml": "3879e218e03abc5f66292b3c55f83805a42e94cb53764f6c01ecbb332d634f08",
    },
}
VERSIONS_MD = Path(__file__).resolve().parents[1] / "docs" / "VERSIONS.md"


def test_the_vendored_operator_files_are_the_ones_docs_versions_records() -> None:
    recorded = VENDORED_SHA256[versions.KEYCLOAK_VERSION]
    found = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in identity.VENDOR.iterdir()}
    assert found == recorded
    assert {*identity.CRD_FILES, "kubernetes.yml"} == set(recorded)
    evidence = VERSIONS_MD.read_text(encoding="utf-8")
    assert all(digest in evidence for digest in recorded.values())


@pytest.mark.parametrize(("stack", "instances"), [("dev", 1), ("staging", 2), ("prod", 3)])
def test_keycloak_runs_1_2_3_instances_on_its_own_postgresql_database_behind_the_gateway(
    stack: str, instances: int
) -> None:
    plan = planned(stack, "kind" if stack == "dev" else "aws")
    spec = one(plan, "Keycloak", "keycloak", "identity")["spec"]
    assert spec["instances"] == instances
    assert spec["db"]["vendor"] == "postgres" and spec["db"]["database"] == "identity"
    assert spec["db"]["usernameSecret"] == {"name": "data-postgres", "key": "username"}
    assert spec["db"]["passwordSecret"] == {"name": "data-postgres", "key": "password"}
    # TLS ends at the gateway: no Ingress of the operator's, HTTP inside the cluster.
    assert spec["ingress"] == {"enabled": False}
    assert spec["http"] == {"httpEnabled": True, "httpPort": 8080}
    auth = {"dev": "auth.localhost", "staging": "auth-staging.bakhmach-business-hub.com"}.get(
        stack, "auth.bakhmach-business-hub.com"
    )
    assert spec["hostname"]["hostname"] == f"https://{auth}"
    assert spec["proxy"] == {"headers": "xforwarded"}
    assert spec["scheduling"]["priorityClassName"] == "bakhmach-platform-critical"


# ---- the realm ------------------------------------------------------------------------------


def test_the_realm_has_the_rbac_matrix_s_five_roles_and_a_group_per_business_context(any_plan: Plan) -> None:
    r = realm(any_plan)
    assert r["realm"] == "bakhmach" and r["enabled"] is True
    assert [role["name"] for role in r["roles"]["realm"]] == list(ROLES)
    assert sorted(g["path"] for g in r["groups"]) == sorted(f"/{c}" for c in BUSINESS)


def test_tokens_are_rs256_with_the_seed_s_lifetimes(any_plan: Plan) -> None:
    r = realm(any_plan)
    assert r["defaultSignatureAlgorithm"] == "RS256"
    assert r["accessTokenLifespan"] == 3600  # 1 hour
    week = 7 * 24 * 3600
    # The refresh token lives as long as the SSO session and the client session.
    for key in (
        "ssoSessionIdleTimeout",
        "ssoSessionMaxLifespan",
        "clientSessionIdleTimeout",
        "clientSessionMaxLifespan",
    ):
        assert r[key] == week, key
    assert r["offlineSessionIdleTimeout"] <= week
    assert r["revokeRefreshToken"] is True and r["refreshTokenMaxReuse"] == 0


def test_brute_force_detection_and_a_password_policy(any_plan: Plan) -> None:
    r = realm(any_plan)
    assert r["bruteForceProtected"] is True and r["failureFactor"] == 5
    assert "length(12)" in r["passwordPolicy"] and "passwordHistory(5)" in r["passwordPolicy"]
    assert r["registrationAllowed"] is False and r["sslRequired"] == "external"


def required_actions(plan: Plan) -> dict[str, dict[str, Any]]:
    return {a["alias"]: a for a in realm(plan)["requiredActions"]}


@pytest.mark.parametrize(("stack", "cloud"), [("staging", "azure"), ("prod", "aws")])
def test_staging_and_prod_require_totp_and_enable_webauthn(stack: str, cloud: str) -> None:
    actions = required_actions(planned(stack, cloud))
    # Every user configures TOTP before the first login completes; the browser flow then asks for it.
    assert actions["CONFIGURE_TOTP"]["enabled"] and actions["CONFIGURE_TOTP"]["defaultAction"]
    assert actions["webauthn-register"]["enabled"]
    assert realm(planned(stack, cloud))["otpPolicyType"] == "totp"


def test_dev_makes_mfa_optional_unless_its_settings_require_it() -> None:
    actions = required_actions(planned("dev", "kind"))
    assert actions["CONFIGURE_TOTP"]["enabled"] and not actions["CONFIGURE_TOTP"]["defaultAction"]
    assert not actions["webauthn-register"]["enabled"]
    required = required_actions(variant("dev", "kind", identity={"mfa": "required"}))
    assert required["CONFIGURE_TOTP"]["defaultAction"] and required["webauthn-register"]["enabled"]


def clients(plan: Plan) -> dict[str, dict[str, Any]]:
    return {c["clientId"]: c for c in realm(plan)["clients"]}


def test_no_implicit_flow_and_pkce_on_every_browser_flow(any_plan: Plan) -> None:
    for client in clients(any_plan).values():
        assert client["implicitFlowEnabled"] is False, client["clientId"]
        assert client.get("directAccessGrantsEnabled") is False, client["clientId"]
        if client.get("standardFlowEnabled"):
            assert client["attributes"]["pkce.code.challenge.method"] == "S256", client["clientId"]
    assert clients(any_plan)["bakhmach-web"]["publicClient"] is True


def test_one_confidential_client_per_context_service_and_one_for_the_gateway(any_plan: Plan) -> None:
    found = clients(any_plan)
    users = {u["serviceAccountClientId"]: u for u in realm(any_plan)["users"]}
    for service, context in SERVICES.items():
        client = found[service]
        assert client["publicClient"] is False and client["clientAuthenticatorType"] == "client-secret"
        assert client["serviceAccountsEnabled"] is True and client["standardFlowEnabled"] is False
        # The secret is generated by the stack and kept secret (masked in the plan).
        assert client["secret"] == "[secret]"
        user = users[service]
        assert user["realmRoles"] == ["service-account"]
        assert user["groups"] == ([f"/{context}"] if context in BUSINESS else [])
    gateway = found["api-gateway"]
    assert gateway["serviceAccountsEnabled"] is True and users["api-gateway"]["realmRoles"] == ["auditor"]
    # Every token carries the gateway's client as audience, and the groups by path.
    for client_id in (*SERVICES, "api-gateway", "bakhmach-web"):
        mappers = {m["protocolMapper"]: m["config"] for m in found[client_id]["protocolMappers"]}
        assert mappers["oidc-audience-mapper"]["included.client.audience"] == "api-gateway"
        assert mappers["oidc-group-membership-mapper"]["full.path"] == "true"
    generated = {
        r.name.removeprefix("identity-client-")
        for r in of_type(any_plan, "random:index/randomPassword:RandomPassword")
        if r.name.startswith("identity-client-")
    }
    assert generated == {*SERVICES, "api-gateway", "grafana"}


def test_each_service_gets_its_client_secret_in_its_own_namespace_only(any_plan: Plan) -> None:
    secrets = [s for s in k8s(any_plan, "Secret") if s["metadata"]["name"].startswith("oidc-client-")]
    assert {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in secrets} == {
        (context, f"oidc-client-{service}") for service, context in SERVICES.items()
    }
    # The whole Secret is a Pulumi secret: its client secret travels no other way.
    assert all(s["stringData"] == {k: "[secret]" for k in s["stringData"]} for s in secrets)
    for service in SERVICES:
        (secret,) = [r for r in any_plan.resources if r.name == f"identity-client-secret-{service}"]
        assert any(dep.endswith(f"::identity-client-{service}") for dep in secret.dependencies)


# ---- the RBAC matrix -----------------------------------------------------------------------


def claim(token: dict[str, Any], dotted: str) -> Any:
    value: Any = token
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def allowed(policy: dict[str, Any], token: dict[str, Any], method: str) -> bool:
    """Envoy Gateway's authorization over a validated JWT: the first rule whose principal (every
    claim holds one of its values) and operation (its methods) match decides; else the default."""
    spec = policy["authorization"]
    for rule in spec["rules"]:
        claims = rule["principal"]["jwt"]["claims"]
        matched = all(
            set(c["values"]) & set(claim(token, c["name"]) or [])
            if c.get("valueType") == "StringArray"
            else claim(token, c["name"]) in c["values"]
            for c in claims
        )
        methods = (rule.get("operation") or {}).get("methods")
        if matched and (methods is None or method in methods):
            return bool(rule["action"] == "Allow")
    return bool(spec["defaultAction"] == "Allow")


def derived_matrix(plan: Plan) -> dict[tuple[str, str, str, str], bool]:
    """(role, the caller's context, the route's context, operation) -> allowed, for a token the
    realm can issue: its realm role and its context group, against every routed service."""
    r = realm(plan)
    roles = [role["name"] for role in r["roles"]["realm"]]
    groups = [g["path"] for g in r["groups"]]
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(plan, "SecurityPolicy", namespace="gateway")}
    matrix = {}
    for role in roles:
        for group in groups:
            token = {"realm_access": {"roles": [role]}, "groups": [group], "aud": ["api-gateway"]}
            for service, policy in policies.items():
                for operation in (READ, WRITE):
                    matrix[(role, group.strip("/"), SERVICES[service], operation)] = allowed(policy, token, operation)
    return matrix


def seed_matrix() -> dict[tuple[str, str, str, str], bool]:
    """The seed's table, written out: who may do what in which context."""
    expected = {}
    for role in ROLES:
        for own in BUSINESS:
            for context in set(SERVICES.values()):
                mine = context in (own, seed.SHARED_CONTEXT.slug)
                for operation in (READ, WRITE):
                    expected[(role, own, context, operation)] = {
                        "system-admin": True,  # all operations
                        "context-manager": mine,  # its context's operations
                        "service-account": mine,  # automated operations of its context
                        "guest": mine and operation == READ,  # read-only
                        "auditor": operation == READ,  # audits read everything, change nothing
                    }[role]
    return expected


def test_the_realm_and_the_routes_give_the_seed_s_rbac_matrix(any_plan: Plan) -> None:
    assert derived_matrix(any_plan) == seed_matrix()


def test_a_token_without_a_known_role_or_for_another_audience_gets_nothing(dev_plan: Plan) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in k8s(dev_plan, "SecurityPolicy", namespace="gateway")}
    nobody = {"realm_access": {"roles": ["offline_access"]}, "groups": ["/slon-credit"]}
    assert not any(allowed(p, nobody, m) for p in policies.values() for m in (READ, WRITE))
    # The audience and the issuer are checked before any rule: every provider names both.
    for policy in policies.values():
        (provider,) = policy["jwt"]["providers"]
        assert provider["audiences"] == ["api-gateway"] and provider["issuer"].endswith("/realms/bakhmach")


def test_a_route_limited_to_some_roles_admits_only_those() -> None:
    routes = {"slon-finance": {"roles": ["system-admin", "auditor"]}}
    plan = variant(
        "staging", "aws", gateway={"domain": "bakhmach-business-hub.com", "apiHost": "api-staging", "routes": routes}
    )
    (policy,) = [p["spec"] for p in k8s(plan, "SecurityPolicy", "slon-finance", "gateway")]
    assert [rule["name"] for rule in policy["authorization"]["rules"]] == ["system-admin", "auditor"]
    manager = {"realm_access": {"roles": ["context-manager"]}, "groups": ["/slon-credit"]}
    assert not allowed(policy, manager, READ)
