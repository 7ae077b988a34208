"""Settings of the front door: the API gateway, identity (Keycloak) and the edge (Cloudflare).

The seed's numbers are data here ("Security Architecture", the service matrix's `api-gateway`
row, "Service Mesh"'s 30 s timeout); what a stack file may set:

- `gateway.domain`: the public domain the names live under (staging/prod; dev serves `localhost`);
  `gateway.apiHost` the API's label (`api` -> `api.<domain>`), `identity.host` Keycloak's (`auth`);
- `gateway.routes.<service>`: each context service's route (`path`, default `/<service>`, or its
  own `host` label), the roles that may call it (`roles`, default the seed's five), or
  `internal: true` (no route; reached only inside the cluster);
- `gateway.rateLimit.requestsPerMinute` per client, `gateway.maxRequestBody` (a quantity);
- `identity.mfa`: `required` or `optional` (dev only; staging and prod always require it);
- `edge.provider`: `cloudflare` (staging/prod default) or `none` (dev: the only choice);
  `edge.zoneId`: the Cloudflare zone of `gateway.domain`. The API token is the environment's
  `CLOUDFLARE_API_TOKEN` or the stack secret `bakhmach-hub:cloudflareApiToken`.

`resolve_front_door` turns them into the frozen `FrontDoorSpec` the components receive: every
host name, every route with its roles, the realm's token lifetimes and MFA, the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from settings import seed
from settings.quantity import memory_bytes
from settings.seed import Cloud, Environment

# ---- the seed's numbers ("Security Architecture: Authentication & Authorization") ------------
# "Token: JWT (RS256 signing)", "Expiration: 1 hour (access), 7 days (refresh)".
TOKEN_SIGNATURE = "RS256"
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
# "RBAC Matrix": the five roles, as realm roles.
Role = Literal["system-admin", "context-manager", "service-account", "guest", "auditor"]
SYSTEM_ADMIN: Role = "system-admin"
CONTEXT_MANAGER: Role = "context-manager"
SERVICE_ACCOUNT: Role = "service-account"
GUEST: Role = "guest"
AUDITOR: Role = "auditor"
ROLES: tuple[Role, ...] = (SYSTEM_ADMIN, CONTEXT_MANAGER, SERVICE_ACCOUNT, GUEST, AUDITOR)
ROLE_DESCRIPTIONS: dict[Role, str] = {
    SYSTEM_ADMIN: "System Admin: all operations",
    CONTEXT_MANAGER: "Context Manager: context-specific operations",
    SERVICE_ACCOUNT: "Service Account: automated operations",
    GUEST: "Guest: read-only operations",
    AUDITOR: "Auditor: compliance & security audits",
}
# What "read-only" means at the gateway: methods that change nothing.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# "Timeout: 30s default" (Service Mesh): the gateway waits no longer for a service.
UPSTREAM_TIMEOUT_SECONDS = 30
# "Encryption: In-Transit: TLS 1.3": the gateway's listeners accept nothing older. Cloudflare's
# edge talks to an origin with TLS 1.3 when the origin offers it, so 1.3 holds behind it too;
# the edge's own minimum for browsers is 1.2 (edge.py).
GATEWAY_TLS_MINIMUM = "1.3"
EDGE_TLS_MINIMUM = "1.2"
# Certificates are renewed 30 days before they expire (cert-manager's `renewBefore`).
CERTIFICATE_RENEW_BEFORE_DAYS = 30
CERTIFICATE_DURATION_DAYS = 90

REALM = "bakhmach"
# The realm client the gateway is: the audience every API token must carry.
GATEWAY_CLIENT = "api-gateway"
# Grafana's login client (observability's `grafana_login`).
GRAFANA_CLIENT = "grafana"

EdgeProvider = Literal["cloudflare", "none"]
Mfa = Literal["required", "optional"]

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PATH = re.compile(r"^/[a-z0-9][-a-z0-9/]*[a-z0-9]$|^/[a-z0-9]$")


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _label(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(f"{value!r} is not a DNS label (allowed: a-z, 0-9 and '-', at most 63 characters)")
    return value


class RouteSettings(_Section):
    # The path prefix on the API host (default `/<service>`); the gateway strips it, so the
    # service sees `/v1/...` for `/<service>/v1/...`.
    path: str | None = None
    # A host of its own instead (`<host>.<domain>`): the whole host goes to the service.
    host: str | None = None
    # The seed's roles that may call the route at all (each within its matrix row).
    roles: tuple[Role, ...] = ROLES
    # No route: the service is reached only inside the cluster.
    internal: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not _PATH.match(value):
            raise ValueError(f"{value!r} is not a route path (allowed: '/name' or '/a/b', lowercase, no trailing '/')")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else _label(value)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: tuple[Role, ...]) -> tuple[Role, ...]:
        if not value:
            raise ValueError(f"no role may call the route (allowed: some of {', '.join(ROLES)}, or internal: true)")
        return tuple(dict.fromkeys(value))


class RateLimitSettings(_Section):
    # Per client address, per gateway replica (Envoy's local rate limit).
    requests_per_minute: int = Field(default=600, ge=10, le=100_000)


class GatewaySettings(_Section):
    domain: str | None = None
    api_host: str = "api"
    routes: dict[str, RouteSettings] = Field(default_factory=dict)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    # Larger bodies are refused with 413 before they reach a service.
    max_request_body: str = "10Mi"

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain (allowed: e.g. 'bakhmach-business-hub.com')")
        return value

    @field_validator("api_host")
    @classmethod
    def _api_host(cls, value: str) -> str:
        return _label(value)

    @field_validator("routes")
    @classmethod
    def _known(cls, value: dict[str, RouteSettings]) -> dict[str, RouteSettings]:
        for name in value:
            if name not in seed.APPLICATION_SERVICES:
                raise ValueError(f"unknown service {name!r} (allowed: {', '.join(seed.APPLICATION_SERVICES)})")
        return value

    @field_validator("max_request_body")
    @classmethod
    def _body(cls, value: str) -> str:
        size = memory_bytes(value)
        if not 1024 <= size <= 100 * 1024**2:
            raise ValueError(f"{value!r} is outside 1Ki ... 100Mi")
        return value


class IdentitySettings(_Section):
    host: str = "auth"
    # dev only: staging and prod require MFA ("MFA: Requirement: All production access").
    mfa: Mfa | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _label(value)


class EdgeSettings(_Section):
    provider: EdgeProvider | None = None
    # The Cloudflare zone of `gateway.domain` (its id, 32 hex characters, from the dashboard).
    zone_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


# ---- resolved -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    service: str
    context: str
    namespace: str
    port: int  # the Service's port
    hostname: str
    path: str  # "/" for a host of its own
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class FrontDoorSpec:
    environment: Environment
    cloud: Cloud
    # Public host names: the API's, Keycloak's (dev: `localhost`, `auth.localhost`).
    domain: str
    api_hostname: str
    identity_hostname: str
    routes: tuple[Route, ...]
    # Context services without a route (`internal: true`).
    internal: tuple[str, ...]
    rate_limit_per_minute: int
    max_request_body: str
    mfa_required: bool
    edge: EdgeProvider
    edge_zone_id: str | None
    # Keycloak's instances (dev 1, staging 2, prod 3).
    identity_instances: int

    @property
    def hostnames(self) -> tuple[str, ...]:
        """Every name the gateway's certificate covers."""
        return tuple(dict.fromkeys([self.api_hostname, *(r.hostname for r in self.routes), self.identity_hostname]))

    @property
    def issuer(self) -> str:
        return f"https://{self.identity_hostname}/realms/{REALM}"


# Keycloak's instances per environment (the 1/2/3: a single pod on a laptop, two for
# staging's HA, three across prod's zones).
IDENTITY_INSTANCES: dict[Environment, int] = {"dev": 1, "staging": 2, "prod": 3}
DEV_DOMAIN = "localhost"


class FrontDoorSettingsError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))
        self.problems = problems


def resolve_front_door(
    gateway: GatewaySettings,
    identity: IdentitySettings,
    edge: EdgeSettings,
    environment: Environment,
    cloud: Cloud,
    services: tuple[tuple[str, str, int], ...],
) -> FrontDoorSpec:
    """`services`: (name, context, port) of each application service. Raises
    `FrontDoorSettingsError` naming every key that does not fit the environment."""
    problems: list[tuple[str, str]] = []
    if environment == "dev":
        if gateway.domain is not None:
            problems.append(("gateway.domain", f"{gateway.domain!r} is not used on kind (dev serves 'localhost')"))
        domain = DEV_DOMAIN
        api_hostname = DEV_DOMAIN
    else:
        if gateway.domain is None:
            problems.append(("gateway.domain", f"required in {environment} (the public domain, e.g. 'example.com')"))
        domain = gateway.domain or "invalid.example"
        api_hostname = f"{gateway.api_host}.{domain}"
    identity_hostname = f"{identity.host}.{domain}"

    if identity.mfa is not None and environment != "dev":
        problems.append(
            ("identity.mfa", f"{identity.mfa!r} is not a choice in {environment}: MFA is always required there")
        )
    mfa_required = environment != "dev" or identity.mfa == "required"

    provider = edge.provider or ("none" if environment == "dev" else "cloudflare")
    if environment == "dev" and provider != "none":
        problems.append(("edge.provider", f"{provider!r} is not possible on kind (allowed: none)"))
    if provider == "cloudflare" and edge.zone_id is None:
        problems.append(("edge.zoneId", "required with edge.provider cloudflare (the zone id of gateway.domain)"))
    if provider == "none" and edge.zone_id is not None:
        problems.append(("edge.zoneId", "only used with edge.provider cloudflare"))

    routes: list[Route] = []
    internal: list[str] = []
    taken: dict[tuple[str, str], str] = {}
    for name, context, port in services:
        settings = gateway.routes.get(name) or RouteSettings()
        if settings.internal:
            internal.append(name)
            continue
        if settings.host is not None and settings.path is not None:
            problems.append((f"gateway.routes.{name}", "give a path or a host, not both"))
        if settings.host is not None:
            hostname, path = f"{settings.host}.{domain}", "/"
            if environment == "dev":
                hostname = f"{settings.host}.{DEV_DOMAIN}"
        else:
            hostname, path = api_hostname, settings.path or f"/{name}"
        if hostname == identity_hostname:
            problems.append((f"gateway.routes.{name}.host", f"{hostname!r} is Keycloak's host name"))
        other = taken.get((hostname, path))
        if other is not None:
            problems.append((f"gateway.routes.{name}", f"{hostname}{path} is already the route of {other}"))
        taken[(hostname, path)] = name
        routes.append(Route(name, context, context, port, hostname, path, settings.roles))
    if problems:
        raise FrontDoorSettingsError(problems)
    return FrontDoorSpec(
        environment=environment,
        cloud=cloud,
        domain=domain,
        api_hostname=api_hostname,
        identity_hostname=identity_hostname,
        routes=tuple(routes),
        internal=tuple(internal),
        rate_limit_per_minute=gateway.rate_limit.requests_per_minute,
        max_request_body=gateway.max_request_body,
        mfa_required=mfa_required,
        edge=provider,
        edge_zone_id=edge.zone_id,
        identity_instances=IDENTITY_INSTANCES[environment],
    )
