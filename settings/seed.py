"""The seed's numbers, once, as data.

Every figure here is quoted from `seed/deployment-architecture.md`; components never hard-code
them. A stack file may override per-service values (image, replicas, cpu, memory), which the
settings model validates before anything is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Framework = Literal["fastapi", "spring-boot", "nodejs", "go", "tensorflow-serving", "kong"]
Environment = Literal["dev", "staging", "prod"]
Cloud = Literal["kind", "aws", "azure"]

ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")
CLOUDS: tuple[Cloud, ...] = ("kind", "aws", "azure")


@dataclass(frozen=True)
class BusinessContext:
    """One of the seed's six parallel business contexts (a tenant of the hub)."""

    slug: str
    title: str
    focus: str


# "Multi-Tenant Enterprise Architecture": six parallel business contexts.
BUSINESS_CONTEXTS: tuple[BusinessContext, ...] = (
    BusinessContext("bakhmach-hub", "Bakhmach-Hub", "Smart City + Web3 Integration"),
    BusinessContext("slon-credit", "Slon Credit", "Microfinance Platform"),
    BusinessContext("audityzer-eu", "Audityzer-EU", "Compliance & Audit Framework"),
    BusinessContext("debt-defense-agent", "DebtDefenseAgent", "Financial AI & Automation"),
    BusinessContext("black-sea-corridor", "Black Sea Economic Corridor", "Regional Trade Network"),
    BusinessContext("cannabis-infusion", "Cannabis Infusion", "Agricultural Processing"),
)

# Services whose matrix context is "All" live in one shared namespace, managed like a context.
SHARED_CONTEXT = BusinessContext("platform", "All contexts", "Cross-context platform services")


@dataclass(frozen=True)
class ServiceRow:
    """One row of the seed's "Service Deployment Matrix" (production figures)."""

    name: str
    context: str  # a BusinessContext slug, or SHARED_CONTEXT.slug for "All"
    framework: Framework
    replicas: int
    cpu: str
    memory: str


SERVICE_MATRIX: tuple[ServiceRow, ...] = (
    ServiceRow("auth-service", "platform", "fastapi", 3, "500m", "512Mi"),
    ServiceRow("api-gateway", "platform", "kong", 2, "1000m", "1Gi"),
    ServiceRow("bakhmach-core", "bakhmach-hub", "fastapi", 2, "750m", "768Mi"),
    ServiceRow("slon-finance", "slon-credit", "spring-boot", 3, "1000m", "1.5Gi"),
    ServiceRow("audityzer-audit", "audityzer-eu", "nodejs", 2, "600m", "512Mi"),
    ServiceRow("debt-agent-ai", "debt-defense-agent", "tensorflow-serving", 2, "2000m", "2Gi"),
    ServiceRow("trade-connector", "black-sea-corridor", "fastapi", 2, "750m", "768Mi"),
    ServiceRow("infusion-processor", "cannabis-infusion", "go", 3, "500m", "512Mi"),
)

# The api-gateway row is realised by the Gateway component (components/gateway), from the same row.
GATEWAY_SERVICE = "api-gateway"
APPLICATION_SERVICES: tuple[str, ...] = tuple(row.name for row in SERVICE_MATRIX if row.name != GATEWAY_SERVICE)


@dataclass(frozen=True)
class AutoscalingRule:
    """ "Horizontal Pod Autoscaling" plus the environment's own CPU/memory targets."""

    cpu_percent: int
    memory_percent: int
    max_replicas: int = 10
    scale_up_seconds: int = 30  # "Scale-up: 30 seconds"
    scale_down_seconds: int = 300  # "Scale-down: 5 minutes"
    cooldown_seconds: int = 120  # "Cooldown: 2 minutes": one scale-down step per period


@dataclass(frozen=True)
class EnvironmentProfile:
    """ "Deployment Environments" of the seed, one per stack."""

    name: Environment
    # Replicas: dev "1 per service", staging "2 per service", prod "3+ per service (HA)".
    replicas_fixed: int | None  # every service gets exactly this many
    replicas_floor: int  # the matrix value is raised to this floor
    # Resources: prod "Full allocation", staging "50% production", dev "Minimal".
    resource_percent: int | None  # share of the matrix figures; None = the minimal profile
    autoscaling: AutoscalingRule | None
    backups: str  # "None" | "Daily" | "Hourly + cross-region"
    ttl_days: int | None
    nodes: int  # cluster size the seed names
    multi_zone: bool
    protect_stateful: bool


# Dev's "Minimal" resources: enough for a placeholder container on a laptop.
DEV_MINIMAL_CPU = "50m"
DEV_MINIMAL_MEMORY = "64Mi"
DEV_MINIMAL_CPU_LIMIT = "250m"
DEV_MINIMAL_MEMORY_LIMIT = "128Mi"

# Limits relative to requests: CPU may burst to twice its request; memory is not compressible,
# so its limit equals the request (a pod is OOM-killed at a predictable size, never the node).
CPU_LIMIT_FACTOR = 2
MEMORY_LIMIT_FACTOR = 1

ENVIRONMENT_PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        replicas_fixed=1,
        replicas_floor=1,
        resource_percent=None,
        autoscaling=None,
        backups="None",
        ttl_days=7,
        nodes=1,
        multi_zone=False,
        protect_stateful=False,
    ),
    "staging": EnvironmentProfile(
        name="staging",
        replicas_fixed=2,
        replicas_floor=2,
        resource_percent=50,
        autoscaling=AutoscalingRule(cpu_percent=70, memory_percent=80),
        backups="Daily",
        ttl_days=30,
        nodes=5,
        multi_zone=True,
        protect_stateful=True,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        replicas_fixed=None,
        replicas_floor=3,
        resource_percent=100,
        autoscaling=AutoscalingRule(cpu_percent=60, memory_percent=70),
        backups="Hourly + cross-region",
        ttl_days=None,
        nodes=15,
        multi_zone=True,
        protect_stateful=True,
    ),
}

# "Cluster Autoscaling": node target and ceiling, shared by every cloud cluster.
CLUSTER_AUTOSCALING_MAX_NODES = 50
CLUSTER_AUTOSCALING_TARGET_UTILISATION = 70

# "Disaster Recovery" and "Database Architecture": "RPO: 5 minutes", "RTO: 15 minutes"; the
# databases' own point-in-time backups are kept "30 days", the DR copies "90 days", taken "Every 6
# hours" and copied to the secondary region ("Backups: Hourly + cross-region"). settings/dr.py
# reads them.
RPO_MINUTES = 5
RTO_MINUTES = 15
DATABASE_BACKUP_RETENTION_DAYS = 30
DR_BACKUP_RETENTION_DAYS = 90
DR_SNAPSHOT_INTERVAL_HOURS = 6

# The seed's floor is "Kubernetes 1.28+"; manifests are validated against it.
KUBERNETES_FLOOR = "1.28.0"

# Which data services each service uses (the seed's descriptions read as data needs). A stack
# file may override a service's list (`services.<name>.data`).
# - auth-service: users and clients (PostgreSQL), sessions and token revocation (Redis);
# - api-gateway: none: Envoy's local rate limits keep their counters in each proxy (components/gateway.py);
# - bakhmach-core (smart city + Web3): relational core, device documents, cache, city events;
# - slon-finance (microfinance): ledgers (PostgreSQL, transactional), cache, payment events;
# - audityzer-audit: findings, evidence documents, audit-trail streams (Redis Streams), events;
# - debt-agent-ai: case documents for the models, feature cache, work events;
# - trade-connector: partners and orders, trade documents, trade events;
# - infusion-processor: batches and lots, processing events.
DataServiceName = Literal["postgres", "mongo", "redis", "kafka"]
SERVICE_DATA_NEEDS: dict[str, tuple[DataServiceName, ...]] = {
    "auth-service": ("postgres", "redis"),
    "bakhmach-core": ("postgres", "mongo", "redis", "kafka"),
    "slon-finance": ("postgres", "redis", "kafka"),
    "audityzer-audit": ("postgres", "mongo", "redis", "kafka"),
    "debt-agent-ai": ("mongo", "redis", "kafka"),
    "trade-connector": ("postgres", "mongo", "kafka"),
    "infusion-processor": ("postgres", "kafka"),
}

# Platform components (not rows of the matrix) that keep data of their own in a data service, by
# the namespace they run in. Each gets what a business context gets: its own database and login
# role, user, key prefix or topic prefix, and credentials delivered to that namespace only
# (settings/data.py `DataConsumer`); the component that owns the namespace mounts what it is given.
# - identity: Keycloak's realms, users and sessions (PostgreSQL, its own database and role).
PLATFORM_DATA_CONSUMERS: dict[str, tuple[DataServiceName, ...]] = {"identity": ("postgres",)}

# ---- "Service Mesh" ---------------------------------------------------------------------------
# "Timeout: 30s default, 60s for batch operations"; "Retry Policy: 3 attempts with exponential
# backoff"; "Canary: 10% (automated rollback on error rate > 5%)".
MESH_TIMEOUT_SECONDS = 30
MESH_BATCH_TIMEOUT_SECONDS = 60
MESH_RETRY_ATTEMPTS = 3
CANARY_WEIGHT_PERCENT = 10
CANARY_MAX_ERROR_RATE_PERCENT = 5
# "Destination Rules: Load balancing (round-robin, least-request)".
LoadBalancing = Literal["round-robin", "least-request"]
LOAD_BALANCING: tuple[LoadBalancing, ...] = ("round-robin", "least-request")

# Who calls whom inside the mesh (the seed's "Network Topology": the gateway fronts every service,
# and "Auth Svc" serves every context). The gateway's calls are not listed: it reaches every
# service. Every business service may call auth-service (token introspection, user lookups);
# the seed names no call between two business contexts ("Configure cross-context communication"
# is a later phase), so none is open until a stack file adds it (`services.<name>.calls`).
SERVICE_CALLS: dict[str, tuple[str, ...]] = {
    name: ("auth-service",) for name in APPLICATION_SERVICES if name != "auth-service"
}
# The routes a service declares as batch get the 60 s timeout; by the platform's API convention
# batch operations live under this prefix (a stack file may list others: `services.<name>.batchRoutes`).
BATCH_ROUTE_PREFIX = "/batch/"
# Least-request where a service's requests vary widely in cost: debt-agent-ai runs model
# inference (TensorFlow Serving), where one slow prediction must not queue others behind it on
# the same pod as round-robin would. Everything else: round-robin.
SERVICE_LOAD_BALANCING: dict[str, LoadBalancing] = {"debt-agent-ai": "least-request"}
