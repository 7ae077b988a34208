"""Front-door policies: the identity realm's token lifetimes, the gateway's TLS minimum, and a
gateway route (or an explicit `internal` mark) for every context service."""

from __future__ import annotations

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    as_bool,
    as_number,
    cluster_of,
    get,
    items,
    kubernetes_objects,
    labels,
    name,
    namespace,
    object_ref,
    stack_policy,
)

# Keycloak's realm fields for the seed's "Expiration: 1 hour (access), 7 days (refresh)": the
# refresh token lives as long as the SSO session (idle and maximum) and the client session.
REALM_LIFETIMES = {
    "accessTokenLifespan": seed.ACCESS_TOKEN_SECONDS,
    "ssoSessionIdleTimeout": seed.REFRESH_TOKEN_SECONDS,
    "ssoSessionMaxLifespan": seed.REFRESH_TOKEN_SECONDS,
    "clientSessionIdleTimeout": seed.REFRESH_TOKEN_SECONDS,
    "clientSessionMaxLifespan": seed.REFRESH_TOKEN_SECONDS,
    "offlineSessionIdleTimeout": seed.REFRESH_TOKEN_SECONDS,
}
# Keycloak's own defaults where a realm leaves a field out (0 on a client session means "the SSO
# session's"); the access token's default (5 minutes) is below the seed's hour.
KEYCLOAK_DEFAULTS = {
    "accessTokenLifespan": 300,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
    "clientSessionIdleTimeout": 0,
    "clientSessionMaxLifespan": 0,
    "offlineSessionIdleTimeout": 2592000,
}
TLS_ORDER = {"1.0": 0, "1.1": 1, "1.2": 2, "1.3": 3}
# The label the gateway puts on a context service's route, and the annotation a service carries
# when it deliberately has none.
INTERNAL_LABEL = "bakhmach.io/internal"


def _custom(resources: list[PolicyResource], kind: str) -> list[PolicyResource]:
    return [r for r in kubernetes_objects(resources) if r.props.get("kind") == kind]


def _check_token_lifetimes(args: StackValidationArgs, report: ReportViolation) -> None:
    for imported in _custom(args.resources, "KeycloakRealmImport"):
        realm = get(imported.props, "spec", "realm", default={}) or {}
        for field, ceiling in REALM_LIFETIMES.items():
            value = as_number(realm.get(field))
            if value is None:
                value = float(KEYCLOAK_DEFAULTS[field])
                if field == "offlineSessionIdleTimeout" and value > ceiling:
                    report(
                        f"{object_ref(imported.props)}: {field} unset (Keycloak's {value:g} s); the seed's refresh "
                        f"tokens live at most {ceiling} s",
                        imported.urn,
                    )
                continue
            if value > ceiling:
                report(
                    f"{object_ref(imported.props)}: {field} {value:g} s exceeds the seed's {ceiling} s",
                    imported.urn,
                )
        for client in items(realm.get("clients")):
            attributes = client.get("attributes") or {}
            override = as_number(attributes.get("access.token.lifespan"))
            if override is not None and override > seed.ACCESS_TOKEN_SECONDS:
                report(
                    f"{object_ref(imported.props)}: client {client.get('clientId')} access.token.lifespan "
                    f"{override:g} s exceeds the seed's {seed.ACCESS_TOKEN_SECONDS} s",
                    imported.urn,
                )
            client_id = client.get("clientId")
            if as_bool(client.get("implicitFlowEnabled")):
                report(f"{object_ref(imported.props)}: client {client_id} enables the implicit flow", imported.urn)
            browser_flow = as_bool(client.get("standardFlowEnabled")) is not False
            if (
                as_bool(client.get("publicClient"))
                and browser_flow
                and attributes.get("pkce.code.challenge.method") != "S256"
            ):
                report(
                    f"{object_ref(imported.props)}: public client {client_id} does not require "
                    "PKCE (pkce.code.challenge.method S256)",
                    imported.urn,
                )
        if realm and realm.get("defaultSignatureAlgorithm", "RS256") != "RS256":
            report(
                f"{object_ref(imported.props)}: defaultSignatureAlgorithm {realm.get('defaultSignatureAlgorithm')}; "
                "the seed signs JWTs with RS256",
                imported.urn,
            )


def _gateway_namespaces(resources: list[PolicyResource]) -> set[tuple[str | None, object]]:
    return {
        (cluster_of(ns), name(ns.props))
        for ns in kubernetes_objects(resources)
        if ns.props.get("kind") == "Namespace" and labels(ns.props).get(seed.ROLE_LABEL) == seed.GATEWAY_ROLE
    }


def _check_tls_minimum(args: StackValidationArgs, report: ReportViolation) -> None:
    gateways = _custom(args.resources, "Gateway")
    policies = _custom(args.resources, "ClientTrafficPolicy")
    for gateway in gateways:
        listeners = items(get(gateway.props, "spec", "listeners"))
        if not any(str(get(listener, "protocol")) == "HTTPS" for listener in listeners):
            continue
        covering = [
            p
            for p in policies
            if cluster_of(p) == cluster_of(gateway)
            and namespace(p.props) == namespace(gateway.props)
            and any(
                get(ref, "kind") == "Gateway" and get(ref, "name") == name(gateway.props)
                for ref in items(get(p.props, "spec", "targetRefs"))
            )
        ]
        versions = [str(get(p.props, "spec", "tls", "minVersion", default="")) for p in covering]
        if not versions or not all(TLS_ORDER.get(v, -1) >= TLS_ORDER[seed.GATEWAY_TLS_MINIMUM] for v in versions):
            shown = ", ".join(v or "unset (Envoy Gateway's 1.2)" for v in versions) or "no ClientTrafficPolicy"
            report(
                f"{object_ref(gateway.props)} terminates TLS with minimum {shown}; the seed's in-transit "
                f"encryption is TLS {seed.GATEWAY_TLS_MINIMUM}",
                gateway.urn,
            )


def _routed_services(resources: list[PolicyResource]) -> set[tuple[str | None, str, str]]:
    """(cluster, namespace, Service) of every HTTPRoute backend, each with a SecurityPolicy that
    validates JWTs on its route."""
    secured = {
        (cluster_of(p), namespace(p.props), str(get(ref, "name")))
        for p in _custom(resources, "SecurityPolicy")
        if get(p.props, "spec", "jwt", "providers")
        for ref in items(get(p.props, "spec", "targetRefs"))
        if get(ref, "kind") == "HTTPRoute"
    }
    routed = set()
    for route in _custom(resources, "HTTPRoute"):
        if (cluster_of(route), namespace(route.props), name(route.props)) not in secured:
            continue
        for rule in items(get(route.props, "spec", "rules")):
            for ref in items(get(rule, "backendRefs")):
                target_ns = str(get(ref, "namespace", default=namespace(route.props)))
                routed.add((cluster_of(route), target_ns, str(get(ref, "name"))))
    return routed


def _check_routes(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _custom(args.resources, "Gateway"):
        return  # no gateway in this stack: nothing routes anything yet
    routed = _routed_services(args.resources)
    gateway_clusters = {cluster_of(g) for g in _custom(args.resources, "Gateway")}
    for svc in kubernetes_objects(args.resources):
        props = svc.props
        kind = props.get("kind")
        if kind not in ("Service", "Canary") or namespace(props) not in seed.CONTEXTS:
            continue
        if cluster_of(svc) not in gateway_clusters:
            continue
        # Under a canary Flagger creates the Service callers name (the apex, named as the Canary)
        # with the Canary's `service.apex` metadata.
        marks = (
            get(props, "spec", "service", "apex", "annotations", default={})
            if kind == "Canary"
            else get(props, "metadata", "annotations", default={})
        ) or {}
        if marks.get(INTERNAL_LABEL) == "true":
            continue
        if (cluster_of(svc), str(namespace(props)), str(name(props))) not in routed:
            report(
                f"{object_ref(props)} has no gateway route with JWT validation and is not marked internal "
                f'(annotation {INTERNAL_LABEL}: "true")',
                svc.urn,
            )


POLICIES = [
    stack_policy(
        "identity-token-lifetimes",
        "The Keycloak realm's access tokens live at most 1 hour and its refresh tokens (SSO, client and offline "
        "sessions) at most 7 days, signed RS256; no client enables the implicit flow and every public client "
        "requires PKCE (S256).",
        _check_token_lifetimes,
    ),
    stack_policy(
        "gateway-tls-minimum",
        "Every Gateway with an HTTPS listener has a ClientTrafficPolicy requiring TLS 1.3 at least.",
        _check_tls_minimum,
    ),
    stack_policy(
        "context-services-routed",
        "Where the stack runs a gateway, every context Service (and each Service a Flagger Canary creates) is the "
        'backend of an HTTPRoute whose SecurityPolicy validates JWTs, or is annotated bakhmach.io/internal: "true".',
        _check_routes,
    ),
]
