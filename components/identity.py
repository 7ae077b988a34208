"""`Identity`: Keycloak through its official operator, with the realm as code.

- The operator from its release manifests, vendored under `vendor/keycloak-operator/<version>/`
  (CRDs and `kubernetes.yml`, docs/VERSIONS.md says where each came from) and registered object
  by object, so the plan shows every one; it watches its own namespace, `identity`.
- `Keycloak` (k8s.keycloak.org/v2beta1): 1/2/3 instances (dev/staging/prod) on PostgreSQL from
  the data layer, in a database and role of its own (settings/seed.py `PLATFORM_DATA_CONSUMERS`),
  HTTP inside the cluster behind the gateway, which terminates TLS for its host name; no Ingress.
  Only `/realms/` and `/resources/` are routed from outside (Keycloak's own recommendation for
  exposed paths): the admin console is reached with `kubectl port-forward`.
- `KeycloakRealmImport` of realm `bakhmach` (the seed's "Security Architecture"): the RBAC
  matrix's five roles, a group per business context, RS256, access tokens 1 h and refresh/SSO
  sessions 7 days, brute-force detection, a password policy, TOTP required (every user configures
  it at first login) and WebAuthn registration enabled (staging/prod; dev from settings), no
  implicit flow anywhere, PKCE (S256) on every client with a browser flow, one confidential client
  per context service (client credentials; its service account has the `service-account` role
  and its context's group) and one for the gateway, whose id is the audience every API token
  carries. Client secrets are generated here (Pulumi secrets) and delivered to each context's
  namespace as Secret `oidc-client`. The operator imports a realm once: later changes to the
  realm are made in Keycloak, or by deleting the realm and re-importing (README).
- Prod's secondary region (components/dr, docs/DR.md): a standby of the same Keycloak, on the copy
  of its database there (read-only until promoted): the operator, the CR with `instances: 0`
  (Keycloak takes a lock and writes at start, which a read-only replica refuses) and annotation
  `bakhmach.io/dr-standby`, the same client secrets (the realm, clients and sessions are in the
  replicated database, so no realm import). A failover promotes the database, then scales the
  CR to its instances; the RTO budget counts both (policy `dr-rto-budget`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components import versions
from components.data.connection import DataAccess
from components.data.credentials import consumer_secret
from components.labels import (
    GATEWAY_ROLE,
    GATEWAY_ROLE_LABEL,
    PLATFORM_CONTEXT,
    instance_of,
    pod_security_labels,
    standard_labels,
)
from components.observability.endpoints import MONITORING_NAMESPACE, PodPeer
from components.priorities import PLATFORM
from settings import front_door as fd
from settings.front_door import FrontDoorSpec
from settings.seed import BUSINESS_CONTEXTS, Environment

NAMESPACE = "identity"
KEYCLOAK = "keycloak"
# The operator names the Keycloak Service `<Keycloak CR name>-service`.
SERVICE = f"{KEYCLOAK}-service"
HTTP_PORT = 8080
MANAGEMENT_PORT = 9000
OIDC_SECRET = "oidc-client"
# On prod's standby Keycloak (secondary region): the instances a failover scales it to.
STANDBY_ANNOTATION = "bakhmach.io/dr-standby-instances"
# What the Keycloak operator labels Keycloak's pods with (for a Keycloak named `keycloak`).
KEYCLOAK_POD_LABELS = {"app": "keycloak", "app.kubernetes.io/instance": KEYCLOAK}
# Where the context namespaces' services ask for tokens (their egress; components/context_namespace.py).
KEYCLOAK_PEER = PodPeer(NAMESPACE, KEYCLOAK_POD_LABELS, (HTTP_PORT,))
# Grafana's pods (kube-prometheus-stack): it completes its users' logins over the back channel.
GRAFANA_POD_LABELS = {"app.kubernetes.io/name": "grafana"}
# policy/bakhmach_policies/workloads.py: a controller that must run as one pod says why.
SINGLE_REPLICA_ANNOTATION = "bakhmach.io/single-replica-because"
VENDOR = Path(__file__).resolve().parents[1] / "vendor" / "keycloak-operator" / versions.KEYCLOAK_VERSION
CRD_FILES = ("keycloaks.k8s.keycloak.org-v1.yml", "keycloakrealmimports.k8s.keycloak.org-v1.yml")
API_VERSION = "k8s.keycloak.org/v2beta1"

# Keycloak's pods per environment: a JVM with the realm caches; the operator's own default is
# 1700Mi/2Gi, which a laptop does not need.
RESOURCES: dict[Environment, dict[str, dict[str, str]]] = {
    "dev": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "staging": {"requests": {"cpu": "500m", "memory": "1536Mi"}, "limits": {"cpu": "1", "memory": "1536Mi"}},
    "prod": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
}
# Brute-force detection: five failures lock the account for a minute, doubling to 15 minutes.
BRUTE_FORCE = {
    "bruteForceProtected": True,
    "permanentLockout": False,
    "failureFactor": 5,
    "waitIncrementSeconds": 60,
    "maxFailureWaitSeconds": 900,
    "maxDeltaTimeSeconds": 43200,
    "quickLoginCheckMilliSeconds": 1000,
    "minimumQuickLoginWaitSeconds": 60,
}
# NIST SP 800-63B's length first, plus classes and no reuse of the last five.
PASSWORD_POLICY = (
    "length(12) and maxLength(128) and upperCase(1) and lowerCase(1) and digits(1) and specialChars(1) "
    "and notUsername and notEmail and passwordHistory(5)"
)


@cache
def vendored(file_name: str) -> tuple[dict[str, Any], ...]:
    with open(VENDOR / file_name, encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.safe_load_all(handle) if doc)


@dataclass(frozen=True)
class BuiltIdentity:
    """What the gateway and Grafana need of Keycloak."""

    namespace: str
    service: str
    port: int
    realm: str
    issuer: str
    # The realm's keys inside the cluster (the gateway fetches them from Keycloak directly).
    jwks_uri: str
    backchannel_url: str
    grafana_secret: pulumi.Output[str]
    ready: tuple[pulumi.Resource, ...] = field(default=(), compare=False)
    # Every client's secret (a standby in the other region is given the same ones).
    client_secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict, compare=False)
    # The standby in prod's secondary region (no instances until a failover).
    standby: bool = False


@dataclass(frozen=True)
class IdentityArgs:
    spec: FrontDoorSpec
    pod_security_version: str
    # PostgreSQL: the identity namespace's own database and login (the data layer's access).
    database: DataAccess
    # Each context namespace that runs services (for its `oidc-client` Secret), by slug, and the
    # services in it.
    namespaces: dict[str, pulumi.Resource]
    services: tuple[tuple[str, str], ...]  # (service, context)
    scheduling: tuple[pulumi.Resource, ...] = ()
    # Prod's secondary region: a standby on the database's copy there, with the primary's client
    # secrets (its realm is the replicated one).
    standby: bool = False
    client_secrets: dict[str, pulumi.Output[str]] | None = None


def _client(client_id: str, secret: pulumi.Output[str], **extra: Any) -> dict[str, Any]:
    """A confidential OpenID Connect client: no implicit flow, no password grant."""
    return {
        "clientId": client_id,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secret,
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": False,
        "protocolMappers": _api_mappers(),
        **extra,
    }


def _api_mappers() -> list[dict[str, Any]]:
    """Every token carries the gateway's client id as audience (the gateway checks it) and the
    user's groups by path (the gateway matches `/<context>`)."""
    return [
        {
            "name": "api-audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.client.audience": fd.GATEWAY_CLIENT,
                "access.token.claim": "true",
                "id.token.claim": "false",
            },
        },
        {
            "name": "groups",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {
                "claim.name": "groups",
                "full.path": "true",
                "access.token.claim": "true",
                "id.token.claim": "true",
                "userinfo.token.claim": "true",
            },
        },
    ]


def realm(
    spec: FrontDoorSpec, services: tuple[tuple[str, str], ...], secrets: dict[str, pulumi.Output[str]]
) -> dict[str, Any]:
    """The realm as code (a KeycloakRealmImport's `spec.realm`)."""
    business = {c.slug for c in BUSINESS_CONTEXTS}
    clients = [
        _client(name, secrets[name], serviceAccountsEnabled=True, description=f"{name} ({context})")
        for name, context in services
    ]
    # The gateway's own client: the audience of every API token. Its service account reads every
    # context (auditor) for the platform's synthetic checks of each route, and changes nothing.
    clients.append(
        _client(fd.GATEWAY_CLIENT, secrets[fd.GATEWAY_CLIENT], serviceAccountsEnabled=True, description="API gateway")
    )
    pkce = {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"}
    clients.append(
        _client(
            fd.GRAFANA_CLIENT,
            secrets[fd.GRAFANA_CLIENT],
            standardFlowEnabled=True,
            redirectUris=["http://localhost:3000/login/generic_oauth"],
            webOrigins=["+"],
            attributes=pkce,
            description="Grafana (kubectl port-forward to localhost:3000)",
            protocolMappers=[
                {
                    "name": "realm-roles",
                    "protocol": "openid-connect",
                    "protocolMapper": "oidc-usermodel-realm-role-mapper",
                    "config": {
                        "claim.name": "roles",
                        "multivalued": "true",
                        "access.token.claim": "true",
                        "id.token.claim": "true",
                        "userinfo.token.claim": "true",
                    },
                }
            ],
        )
    )
    # A public client for browser and native apps: authorization code with PKCE only.
    clients.append(
        {
            "clientId": "bakhmach-web",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": True,
            "standardFlowEnabled": True,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "redirectUris": [f"https://{spec.api_hostname}/*"],
            "webOrigins": ["+"],
            "attributes": pkce,
            "protocolMappers": _api_mappers(),
            "description": "Browser and native apps (authorization code + PKCE)",
        }
    )
    users = [
        {
            "username": f"service-account-{name}",
            "enabled": True,
            "serviceAccountClientId": name,
            "realmRoles": [fd.SERVICE_ACCOUNT],
            "groups": [f"/{context}"] if context in business else [],
        }
        for name, context in services
    ]
    users.append(
        {
            "username": f"service-account-{fd.GATEWAY_CLIENT}",
            "enabled": True,
            "serviceAccountClientId": fd.GATEWAY_CLIENT,
            "realmRoles": [fd.AUDITOR],
            "groups": [],
        }
    )
    mfa = spec.mfa_required
    return {
        "realm": fd.REALM,
        "displayName": "Bakhmach Business Hub",
        "enabled": True,
        "sslRequired": "external",
        "registrationAllowed": False,
        "loginWithEmailAllowed": True,
        "defaultSignatureAlgorithm": fd.TOKEN_SIGNATURE,
        "accessTokenLifespan": fd.ACCESS_TOKEN_SECONDS,
        "ssoSessionIdleTimeout": fd.REFRESH_TOKEN_SECONDS,
        "ssoSessionMaxLifespan": fd.REFRESH_TOKEN_SECONDS,
        "clientSessionIdleTimeout": fd.REFRESH_TOKEN_SECONDS,
        "clientSessionMaxLifespan": fd.REFRESH_TOKEN_SECONDS,
        "offlineSessionIdleTimeout": fd.REFRESH_TOKEN_SECONDS,
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 0,
        **BRUTE_FORCE,
        "passwordPolicy": PASSWORD_POLICY,
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA1",
        "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30,
        "webAuthnPolicyRpEntityName": "Bakhmach Business Hub",
        "webAuthnPolicySignatureAlgorithms": ["ES256", "RS256"],
        "webAuthnPolicyUserVerificationRequirement": "preferred",
        "requiredActions": [
            {
                "alias": "CONFIGURE_TOTP",
                "name": "Configure OTP",
                "providerId": "CONFIGURE_TOTP",
                "enabled": True,
                # Required: every new user sets up TOTP before the first login completes, and the
                # browser flow then asks for it at every login.
                "defaultAction": mfa,
                "priority": 10,
                "config": {},
            },
            {
                "alias": "webauthn-register",
                "name": "Webauthn Register",
                "providerId": "webauthn-register",
                "enabled": mfa,
                "defaultAction": False,
                "priority": 20,
                "config": {},
            },
        ],
        "roles": {
            "realm": [{"name": role, "description": fd.ROLE_DESCRIPTIONS[role]} for role in fd.ROLES],
        },
        "groups": [
            {"name": c.slug, "path": f"/{c.slug}", "attributes": {"title": [c.title]}} for c in BUSINESS_CONTEXTS
        ],
        "clients": clients,
        "users": users,
    }


class Identity(pulumi.ComponentResource):
    built: BuiltIdentity

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Identity", name, None, opts)
        spec = args.spec
        env = spec.environment
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="identity")
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                # The operator decides the Keycloak pods' and the import Job's security context.
                labels=labels | pod_security_labels(args.pod_security_version, "baseline", warn="restricted"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        crds = [
            k8s.apiextensions.v1.CustomResourceDefinition(
                f"{name}-crd-{doc['spec']['names']['plural']}",
                metadata={**doc["metadata"], "labels": {**doc["metadata"].get("labels", {}), **labels}},
                spec=doc["spec"],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for file_name in CRD_FILES
            for doc in vendored(file_name)
        ]
        operator = self._operator(name, env, inside, args.scheduling)

        database = consumer_secret(
            f"{name}-data-postgres", NAMESPACE, args.database, env, inside, context=PLATFORM_CONTEXT
        )
        endpoint, grant = args.database.endpoint, args.database.credential.grant
        options = [
            {"name": "metrics-enabled", "value": "true"},
            {"name": "health-enabled", "value": "true"},
        ]
        if endpoint.tls:
            options.append({"name": "db-url-properties", "value": "?sslmode=require"})
        gateway_peer = {"namespaceSelector": {"matchLabels": {GATEWAY_ROLE_LABEL: GATEWAY_ROLE}}}
        monitoring_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}
        # Who may call Keycloak's HTTP port: the gateway (the public /realms/ and /resources/, and
        # the JWKS), each context's services (client-credentials tokens; their egress admits it
        # too), and Grafana (its users' logins, over the back channel).
        http_peers = [
            gateway_peer,
            *(
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": context}}}
                for context in sorted({context for _, context in args.services})
            ),
            {**monitoring_peer, "podSelector": {"matchLabels": GRAFANA_POD_LABELS}},
        ]
        replicas = 0 if args.standby else spec.identity_instances
        keycloak = k8s.apiextensions.CustomResource(
            f"{name}-keycloak",
            api_version=API_VERSION,
            kind="Keycloak",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=KEYCLOAK,
                namespace=NAMESPACE,
                labels=labels | instance_of(KEYCLOAK, env),
                # What a failover scales it to (docs/DR.md; the `dr` output's identity step).
                annotations={STANDBY_ANNOTATION: str(spec.identity_instances)} if args.standby else None,
            ),
            spec={
                "instances": replicas,
                "db": {
                    "vendor": "postgres",
                    "host": endpoint.host,
                    "port": endpoint.port,
                    "database": grant.resource,
                    "usernameSecret": {"name": args.database.secret_name, "key": "username"},
                    "passwordSecret": {"name": args.database.secret_name, "key": "password"},
                },
                # TLS ends at the gateway; inside the cluster Keycloak speaks HTTP on 8080.
                "http": {"httpEnabled": True, "httpPort": HTTP_PORT},
                # A full URL, not a bare host name: Keycloak then issues every token with the same
                # `iss` (the one the gateway checks), also to a service that asks it inside the
                # cluster over HTTP; with a bare name it would take scheme and port from the request.
                "hostname": {
                    "hostname": f"https://{spec.identity_hostname}",
                    "strict": True,
                    "backchannelDynamic": False,
                },
                "proxy": {"headers": "xforwarded"},
                "ingress": {"enabled": False},
                "additionalOptions": options,
                "resources": RESOURCES[env],
                "scheduling": {
                    "priorityClassName": PLATFORM.name,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": key,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {
                                "matchLabels": {"app": "keycloak", "app.kubernetes.io/instance": KEYCLOAK}
                            },
                        }
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                    ],
                },
                # The operator's NetworkPolicy: HTTP from the peers above, metrics from Prometheus.
                "networkPolicy": {"enabled": True, "http": http_peers, "management": [monitoring_peer]},
                "serviceMonitor": {"enabled": False},
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[namespace, *crds, *operator, database, *args.scheduling]
            ),
        )

        client_ids = [*(s for s, _ in args.services), fd.GATEWAY_CLIENT, fd.GRAFANA_CLIENT]
        # Secrets end to end: the realm import (which carries them, as Keycloak imports them) and
        # every Secret they reach are Pulumi secrets, never plain text in state or a preview.
        secrets: dict[str, pulumi.Output[str]] = dict(args.client_secrets or {})
        for client_id in client_ids:
            if client_id in secrets:
                continue
            generated = random.RandomPassword(
                f"{name}-client-{client_id}", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
            )
            secrets[client_id] = pulumi.Output.secret(generated.result)
        ready: tuple[pulumi.Resource, ...] = (keycloak,)
        if not args.standby:
            realm_import = k8s.apiextensions.CustomResource(
                f"{name}-realm",
                api_version=API_VERSION,
                kind="KeycloakRealmImport",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=fd.REALM, namespace=NAMESPACE, labels=labels),
                spec={"keycloakCRName": KEYCLOAK, "realm": realm(spec, args.services, secrets)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[keycloak]),
            )
            ready = (keycloak, realm_import)
        issuer_host = f"http://{SERVICE}.{NAMESPACE}.svc.cluster.local:{HTTP_PORT}/realms/{fd.REALM}"
        for service, context in args.services:
            k8s.core.v1.Secret(
                f"{name}-client-secret-{service}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{OIDC_SECRET}-{service}",
                    namespace=context,
                    labels=standard_labels(context=context, environment=env, component="identity", name=service),
                ),
                type="Opaque",
                string_data={
                    "client-id": service,
                    "client-secret": secrets[service],
                    "issuer": spec.issuer,
                    "token-url": f"{issuer_host}/protocol/openid-connect/token",
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespaces[context]]),
            )
        self.built = BuiltIdentity(
            namespace=NAMESPACE,
            service=SERVICE,
            port=HTTP_PORT,
            realm=fd.REALM,
            issuer=spec.issuer,
            jwks_uri=f"{issuer_host}/protocol/openid-connect/certs",
            backchannel_url=issuer_host,
            grafana_secret=secrets[fd.GRAFANA_CLIENT],
            ready=ready,
            client_secrets=secrets,
            standby=args.standby,
        )
        self.register_outputs({"namespace": NAMESPACE, "issuer": spec.issuer, "instances": replicas})

    def _operator(
        self, name: str, env: str, inside: pulumi.ResourceOptions, scheduling: tuple[pulumi.Resource, ...]
    ) -> list[pulumi.Resource]:
        """The vendored `kubernetes.yml`, object by object (but its Service), in `identity`: its
        one cluster-wide binding names the namespace it is applied to (upstream writes `keycloak`), and the
        Deployment gets what the platform asks of every workload (priority, restricted security
        context, a scratch /tmp for a read-only root filesystem, the image pulled once)."""
        created: list[pulumi.Resource] = []
        for doc in vendored("kubernetes.yml"):
            body = copy.deepcopy(doc)
            kind, meta = body["kind"], body["metadata"]
            if kind == "Service":
                # Upstream's Service fronts the operator's health endpoints, which only the
                # kubelet calls (on the pod): nothing needs a Service, and nothing may reach it.
                continue
            meta["labels"] = {**meta.get("labels", {}), **standard_labels(context=PLATFORM_CONTEXT, environment=env)}
            if kind not in ("ClusterRole", "ClusterRoleBinding"):
                meta["namespace"] = NAMESPACE
            for subject in body.get("subjects", []):
                subject["namespace"] = NAMESPACE
            resource_name = f"{name}-operator-{kind.lower()}-{meta['name']}"
            opts = inside
            if kind == "Deployment":
                # The operator elects no leader (its RBAC has no Lease): a second pod would
                # reconcile every Keycloak at the same time as the first (keycloak/keycloak#30005).
                meta["annotations"] = {SINGLE_REPLICA_ANNOTATION: "no leader election; two would reconcile at once"}
                body["spec"]["replicas"] = 1
                _harden(body["spec"]["template"]["spec"], env)
                meta["labels"] |= instance_of(meta["name"], env)
                body["spec"]["template"]["metadata"]["labels"] |= instance_of(meta["name"], env)
                opts = pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[*created, *scheduling]))
            created.append(_object(resource_name, body, opts.merge(pulumi.ResourceOptions(parent=self))))
        # The operator serves nothing anyone calls (its port answers the kubelet's probes only):
        # no ingress to its pods.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-operator-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="keycloak-operator",
                namespace=NAMESPACE,
                labels=standard_labels(context=PLATFORM_CONTEXT, environment=env, component="identity"),
            ),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"app.kubernetes.io/name": "keycloak-operator"}
                ),
                policy_types=["Ingress"],
                ingress=[],
            ),
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(parent=self)),
        )
        return created


# The operator's own API token, mounted as the kubelet would automount it (a bound, expiring token
# the client re-reads, the cluster CA, the namespace) but declared: only this container gets it.
API_ACCESS = {
    "name": "kube-api-access",
    "projected": {
        "defaultMode": 0o444,
        "sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ],
    },
}
# A UID above the node's own users: the image runs under any UID (OpenShift's restricted
# profile gives it an arbitrary one), and its files are group-0 readable.
OPERATOR_UID = 10001


def _harden(pod: dict[str, Any], env: str) -> None:
    pod["priorityClassName"] = PLATFORM.name
    pod["automountServiceAccountToken"] = False
    pod["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": OPERATOR_UID,
        "runAsGroup": OPERATOR_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, API_ACCESS]
    for container in pod["containers"]:
        container["imagePullPolicy"] = "IfNotPresent"
        container["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
        container["volumeMounts"] = [
            {"name": "tmp", "mountPath": "/tmp"},
            {
                "name": API_ACCESS["name"],
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": True,
            },
        ]


def _object(resource_name: str, body: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """One manifest object as its typed resource."""
    kind, meta = body["kind"], body["metadata"]
    rest = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}
    types: dict[str, Any] = {
        "ServiceAccount": k8s.core.v1.ServiceAccount,
        "Service": k8s.core.v1.Service,
        "Deployment": k8s.apps.v1.Deployment,
        "ClusterRole": k8s.rbac.v1.ClusterRole,
        "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
        "Role": k8s.rbac.v1.Role,
        "RoleBinding": k8s.rbac.v1.RoleBinding,
    }
    if kind in ("ClusterRoleBinding", "RoleBinding"):
        rest = {"role_ref": rest["roleRef"], "subjects": rest.get("subjects")}
    resource: pulumi.Resource = types[kind](resource_name, metadata=meta, opts=opts, **rest)
    return resource
