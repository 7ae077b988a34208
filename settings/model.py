"""The typed stack settings: the stack file, validated, with the seed's numbers resolved.

`StackSettings` mirrors the stack file's keys (camelCase, as they are written there); the
`ServiceSpec`s it resolves are what components receive. Nothing here registers a resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from settings import seed
from settings.cloud import CloudSettings
from settings.data import DataService, DataSettings
from settings.dr import DrSettings
from settings.frameworks import FRAMEWORKS, FrameworkProfile
from settings.front_door import EdgeSettings, GatewaySettings, IdentitySettings
from settings.observability import ObservabilitySettings
from settings.quantity import cpu_millicores, format_cpu, format_memory, memory_bytes
from settings.registry import RegistrySettings, parse_image, short_image_problem
from settings.seed import Cloud, Environment

# The dev default: a tiny static HTTP server that answers 200 on every path (so on every
# framework's probe path), runs as any UID and writes nothing, so `pulumi up -s dev` comes up
# healthy on a bare kind cluster before the real images exist.
DEV_PLACEHOLDER_IMAGE = "hashicorp/http-echo:1.0.0"

# A Kubernetes object name (RFC 1123 subdomain; at most 253 characters).
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IMAGE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"((:(?P<tag>[\w][\w.-]{0,127}))|(@(?P<digest>sha256:[a-f0-9]{64})))+$"
)


def _cpu(value: Any) -> str:
    cpu_millicores(value)
    return str(value)


def _memory(value: Any) -> str:
    memory_bytes(value)
    return str(value)


def _pinned_image(value: str) -> str:
    short = parse_image(value)
    if short is not None:  # a tag/digest in the service's repository (settings/registry.py)
        problem = short_image_problem(short)
        if problem:
            raise ValueError(problem)
        return value
    match = _IMAGE.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a pinned image reference (allowed: 'registry/name:tag' or "
            "'registry/name@sha256:<digest>')"
        )
    if match["tag"] == "latest" and not match["digest"]:
        raise ValueError(f"{value!r} uses the 'latest' tag (allowed: a fixed tag or a digest)")
    return value


def is_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(SUBDOMAIN.match(value))


def _secret_name(value: str) -> str:
    if not is_subdomain(value):
        raise ValueError(f"{value!r} is not a Secret name (allowed: a lowercase DNS subdomain, e.g. 'payment-api')")
    return value


def _batch_route(value: str) -> str:
    if not re.fullmatch(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*", value):
        raise ValueError(f"{value!r} is not a path prefix (allowed: a URL path starting with '/', e.g. '/v1/reports/')")
    return value


CpuQuantity = Annotated[str, AfterValidator(_cpu)]
BatchRoute = Annotated[str, AfterValidator(_batch_route)]
SecretName = Annotated[str, AfterValidator(_secret_name)]
MemoryQuantity = Annotated[str, AfterValidator(_memory)]
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]


class _Section(BaseModel):
    """Stack-file sections: camelCase keys, unknown keys rejected, immutable once read."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ServiceOverride(_Section):
    """Per-service values a stack file may set; unset ones come from the seed's matrix."""

    image: PinnedImage | None = None
    args: tuple[str, ...] | None = None
    replicas: int | None = Field(default=None, ge=1, le=50)
    cpu: CpuQuantity | None = None
    memory: MemoryQuantity | None = None
    # The data services this service uses (replaces the seed's list for it).
    data: tuple[DataService, ...] | None = None
    # The team's own Secrets (committed as SealedSecrets under sealed-secrets/<namespace>/) the
    # service mounts, by name; docs/SECRETS.md.
    secrets: tuple[SecretName, ...] = ()
    # The mesh (settings/mesh.py): the services it calls (replaces the seed's list for it), the
    # path prefixes it serves as batch operations (60 s timeout; replaces the default prefix),
    # and how requests are spread over its pods.
    calls: tuple[str, ...] | None = None
    batch_routes: tuple[BatchRoute, ...] | None = None
    load_balancing: seed.LoadBalancing | None = None


# What a stack file may set for the gateway's row: its size (components/gateway).
GATEWAY_OVERRIDES = frozenset({"replicas", "cpu", "memory"})


class ClusterSettings(_Section):
    # kind only: the kubeconfig context of the local cluster ("kind-<cluster name>"). EKS and AKS
    # clusters are created by the stack, which builds their kubeconfig itself.
    kubeconfig_context: str | None = Field(default=None, min_length=1)
    # The seed's floor is 1.28; the default is the newest minor both EKS and AKS support.
    kubernetes_version: str = Field(default="1.36", pattern=r"^1\.(2[89]|3[0-9])$")


class StackSettings(_Section):
    environment: Environment
    cloud: Cloud
    owner: str = Field(min_length=1, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    # The data layer's backends and sizes (settings/data.py).
    data: DataSettings = Field(default_factory=DataSettings)
    # The cloud cluster's regions, network and node pools (settings/cloud.py); staging/prod only.
    cloud_cluster: CloudSettings = Field(default_factory=CloudSettings)
    # Metrics, alerts, logs and traces (settings/observability.py).
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    # Backup schedule and archiving, and prod's cross-region recovery (settings/dr.py).
    dr: DrSettings = Field(default_factory=DrSettings)
    # The on-call receiver's endpoint (PagerDuty routing key, Slack/Teams webhook URL): a stack
    # secret (`pulumi config set --secret bakhmach-hub:onCallEndpoint ...`), never plain text.
    on_call_endpoint: SecretStr | None = Field(default=None, min_length=1)
    # The front door (settings/front_door.py): the gateway's routes, Keycloak, the edge WAF.
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    # Cloudflare's API token, where the environment has no CLOUDFLARE_API_TOKEN: a stack secret.
    cloudflare_api_token: SecretStr | None = Field(default=None, min_length=1)
    # Where the services' images live and how the clusters pull them (settings/registry.py).
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    # ghcr's pull token (for `registry.username`): a stack secret, never plain text (checked in
    # settings/load.py without echoing it).
    registry_pull_credential: SecretStr | None = None

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: dict[str, ServiceOverride]) -> dict[str, ServiceOverride]:
        known = [row.name for row in seed.SERVICE_MATRIX]
        for name in value:
            if name not in known:
                raise ValueError(f"unknown service {name!r} (allowed: {', '.join(known)})")
        return value

    @model_validator(mode="after")
    def _cloud_fits_environment(self) -> StackSettings:
        allowed = ("kind",) if self.environment == "dev" else ("aws", "azure")
        if self.cloud not in allowed:
            raise ValueError(
                f"cloud: {self.cloud!r} is not allowed for environment {self.environment!r} "
                f"(allowed: {', '.join(allowed)})"
            )
        context = self.cluster.kubeconfig_context
        if self.cloud == "kind" and context is None:
            raise ValueError(
                "cluster.kubeconfigContext: required for kind (allowed: the kind cluster's context, "
                "e.g. 'kind-bakhmach-dev')"
            )
        if self.cloud != "kind" and context is not None:
            raise ValueError(
                f"cluster.kubeconfigContext: {context!r} is not used on {self.cloud}: the stack creates "
                "the cluster and its kubeconfig (allowed: leave the key out)"
            )
        gateway = self.services.get(seed.GATEWAY_SERVICE)
        unused = sorted(set(gateway.model_fields_set) - GATEWAY_OVERRIDES) if gateway is not None else []
        if unused:
            # The gateway runs Envoy Gateway's proxy (components/gateway): its image comes with the
            # pinned release and it keeps no data, so only its size is the stack file's to set.
            keys = [to_camel(k) for k in unused]
            where = f"services.{seed.GATEWAY_SERVICE}"
            what = f"{where}.{keys[0]}: not" if len(keys) == 1 else f"{where}: {', '.join(keys)} are not"
            raise ValueError(
                f"{what} settable: the gateway runs Envoy Gateway's pinned proxy and keeps no data "
                f"(allowed: {', '.join(sorted(GATEWAY_OVERRIDES))})"
            )
        callable_services = seed.APPLICATION_SERVICES
        for name, override in self.services.items():
            for callee in override.calls or ():
                if callee == name or callee not in callable_services:
                    others = ", ".join(other for other in callable_services if other != name)
                    raise ValueError(
                        f"services.{name}.calls: {callee!r} is not a service it can call (allowed: {others})"
                    )
        floor = self.profile.replicas_floor
        for name, override in self.services.items():
            if override.replicas is not None and override.replicas < floor:
                raise ValueError(
                    f"services.{name}.replicas: {override.replicas} is below the "
                    f"{self.environment} floor of {floor} (allowed: {floor} to 50)"
                )
        if self.environment != "dev":
            unpinned = [
                row.name
                for row in seed.SERVICE_MATRIX
                if row.name in seed.APPLICATION_SERVICES
                and (self.services.get(row.name) or ServiceOverride()).image is None
            ]
            if unpinned:
                raise ValueError(
                    f"services.<name>.image: required in {self.environment} for: "
                    f"{', '.join(unpinned)} (the dev placeholder image is for kind only)"
                )
        return self

    # ---- resolved views handed to components -------------------------------------------

    @property
    def profile(self) -> seed.EnvironmentProfile:
        return seed.ENVIRONMENT_PROFILES[self.environment]

    @property
    def protect_stateful(self) -> bool:
        return self.profile.protect_stateful

    def service(self, name: str) -> ServiceSpec:
        row = next(r for r in seed.SERVICE_MATRIX if r.name == name)
        return _resolve_service(row, self.services.get(name) or ServiceOverride(), self)

    @property
    def application_services(self) -> tuple[ServiceSpec, ...]:
        return tuple(self.service(name) for name in seed.APPLICATION_SERVICES)

    @property
    def gateway_service(self) -> ServiceSpec:
        """The matrix's `api-gateway` row as this stack runs it: replicas, resources and
        autoscaling by the same rules as every service (components/gateway)."""
        return self.service(seed.GATEWAY_SERVICE)

    @property
    def contexts(self) -> tuple[seed.BusinessContext, ...]:
        """Every namespace-owning context: the six business contexts and the shared one."""
        return (seed.SHARED_CONTEXT, *seed.BUSINESS_CONTEXTS)

    @property
    def kubernetes_minor(self) -> str:
        return f"v{self.cluster.kubernetes_version}"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    @property
    def cpu_request_millicores(self) -> int:
        return cpu_millicores(self.cpu_request)

    @property
    def memory_request_bytes(self) -> int:
        return memory_bytes(self.memory_request)

    @property
    def cpu_limit_millicores(self) -> int:
        return cpu_millicores(self.cpu_limit)

    @property
    def memory_limit_bytes(self) -> int:
        return memory_bytes(self.memory_limit)


@dataclass(frozen=True)
class ServiceSpec:
    """One context service as this stack runs it: what `ContextService` receives."""

    name: str
    context: str
    framework: str
    environment: Environment
    replicas: int
    resources: Resources
    image: str
    args: tuple[str, ...]
    probes: FrameworkProfile
    autoscaling: seed.AutoscalingRule | None
    data_needs: tuple[DataService, ...] = ()
    # `image` is a tag/digest in the service's repository of the stack's registry, resolved per
    # cluster (components/registry.py), rather than a full reference.
    image_in_registry: bool = False
    # The team's own Secrets it mounts (SealedSecrets of its namespace).
    secrets: tuple[str, ...] = ()
    # The mesh: the services it calls, its batch routes (path prefixes), its load balancing, and
    # whether new versions reach users through a canary (staging and prod).
    calls: tuple[str, ...] = ()
    batch_routes: tuple[str, ...] = (seed.BATCH_ROUTE_PREFIX,)
    load_balancing: seed.LoadBalancing = "round-robin"
    canary: bool = False

    @property
    def port(self) -> int:
        return self.probes.port

    @property
    def max_replicas(self) -> int:
        return self.autoscaling.max_replicas if self.autoscaling else self.replicas


def _resolve_service(row: seed.ServiceRow, override: ServiceOverride, stack: StackSettings) -> ServiceSpec:
    profile = stack.profile
    if override.replicas is not None:
        replicas = override.replicas
    elif profile.replicas_fixed is not None:
        replicas = profile.replicas_fixed
    else:
        replicas = max(row.replicas, profile.replicas_floor)

    cpu = cpu_millicores(override.cpu or row.cpu)
    memory = memory_bytes(override.memory or row.memory)
    if profile.resource_percent is None:
        if override.cpu or override.memory:
            resources = _scaled(cpu, memory, 100)
        else:
            resources = Resources(
                seed.DEV_MINIMAL_CPU,
                seed.DEV_MINIMAL_MEMORY,
                seed.DEV_MINIMAL_CPU_LIMIT,
                seed.DEV_MINIMAL_MEMORY_LIMIT,
            )
    else:
        resources = _scaled(cpu, memory, profile.resource_percent)

    framework = FRAMEWORKS[row.framework]
    if override.image is not None:
        image, args = override.image, override.args or ()
    else:
        image = DEV_PLACEHOLDER_IMAGE
        args = override.args or (f"-listen=:{framework.port}", f"-text={row.name} (dev placeholder)")
    return ServiceSpec(
        name=row.name,
        context=row.context,
        framework=row.framework,
        environment=stack.environment,
        replicas=replicas,
        resources=resources,
        image=image,
        args=tuple(args),
        probes=framework,
        autoscaling=profile.autoscaling,
        data_needs=_data_needs(row.name, override),
        image_in_registry=override.image is not None and parse_image(override.image) is not None,
        secrets=tuple(dict.fromkeys(override.secrets)),
        calls=tuple(dict.fromkeys(seed.SERVICE_CALLS.get(row.name, ()) if override.calls is None else override.calls)),
        batch_routes=tuple(
            dict.fromkeys((seed.BATCH_ROUTE_PREFIX,) if override.batch_routes is None else override.batch_routes)
        ),
        load_balancing=override.load_balancing or seed.SERVICE_LOAD_BALANCING.get(row.name, "round-robin"),
        # Canaries need real traffic and a second environment to promote from: staging and prod.
        canary=stack.environment != "dev",
    )


def _data_needs(name: str, override: ServiceOverride) -> tuple[DataService, ...]:
    if override.data is not None:
        return tuple(dict.fromkeys(override.data))
    return seed.SERVICE_DATA_NEEDS.get(name, ())


def _scaled(cpu_m: int, memory_b: int, percent: int) -> Resources:
    cpu_req = -(-cpu_m * percent // 100)
    mem_req = -(-memory_b * percent // 100)
    return Resources(
        cpu_request=format_cpu(cpu_req),
        memory_request=format_memory(mem_req),
        cpu_limit=format_cpu(cpu_req * seed.CPU_LIMIT_FACTOR),
        memory_limit=format_memory(mem_req * seed.MEMORY_LIMIT_FACTOR),
    )
