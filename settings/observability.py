"""Settings of the observability stack: metrics, alerts and their on-call receiver, logs, traces.

The seed's "Monitoring & Observability" numbers are data here, not settings: Prometheus scrapes
every 30 s and keeps 15 days; logs are JSON, 30 days hot, deleted at 90 days, debug lines sampled
at 10%; traces are sampled at 5% (following the parent's decision, W3C trace context) and kept
72 hours; the availability SLO is the seed's 99.95% SLA. What a stack file may set
(`bakhmach-hub:observability`):

- `alerts.*`: thresholds of the alert rules whose numbers the seed does not give (defaults below);
- `onCall.receiver`: where alerts go: `pagerduty`, `slack`, `msteams` or `none`. Staging and prod
  must name a receiver; dev defaults to `none` (alerts are evaluated and visible in Alertmanager,
  but reach no one). The receiver's endpoint (a PagerDuty routing key, a Slack or Teams webhook
  URL) is the stack secret `bakhmach-hub:onCallEndpoint`, set with `pulumi config set --secret`;
- `logging.enabled`: dev switches logging off by default (Elasticsearch does not fit a laptop
  next to everything else); staging and prod must keep it on (the seed's ELK, and the traces are
  stored in the same Elasticsearch there);
- `logging.hotDays` / `logging.retentionDays`: within the seed's 30 (hot) and 90 (deleted) days;
- storage sizes per environment (`metrics.storageGib`, `logging.hotStorageGib`, ...), above the
  floor each environment's retention needs.

`resolve_observability` turns the settings into the frozen `ObservabilitySpec` the components
receive, with sizes per environment and storage classes per cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from settings import seed
from settings.seed import Cloud, Environment

# ---- the seed's numbers ("Monitoring & Observability", "Deployment Environments") ----------
SCRAPE_INTERVAL = "30s"  # "Interval: 30 seconds"
METRICS_RETENTION = "15d"  # "Retention: 15 days"
LOG_HOT_DAYS = 30  # "Retention: 30 days (hot)"
LOG_RETENTION_DAYS = 90  # "90 days (cold storage)", deleted afterwards (GDPR)
LOG_MIN_RETENTION_DAYS = 30
DEBUG_LOG_SAMPLE_PERCENT = 10  # "Sampling: 10% for debug logs, 100% for errors"
TRACE_SAMPLE_RATIO = 0.05  # "Sampling: 5% normal"
TRACE_RETENTION_HOURS = 72  # "Local Trace Retention: 72 hours"
TRACE_PROPAGATORS = "tracecontext,baggage"  # "Span Context Propagation: W3C Trace Context"
SLO_AVAILABILITY = 0.9995  # "SLA: 99.95% uptime"
ERROR_RATE_THRESHOLD = 0.05  # "error rate > 5%" (the canary's rollback trigger, over 5 minutes)
ERROR_RATE_WINDOW = "5m"

OnCallReceiver = Literal["pagerduty", "slack", "msteams", "none"]
ON_CALL_RECEIVERS: tuple[OnCallReceiver, ...] = ("pagerduty", "slack", "msteams", "none")
ON_CALL_ENDPOINT_KEY = "onCallEndpoint"


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class AlertThresholds(_Section):
    """Thresholds the seed leaves to the operators. Defaults, and why:
    - latency: p95 above 500 ms pages, p99 above 1 s warns: a synchronous API call that takes
      longer than half a second at the 95th percentile is felt by most users;
    - a connection pool more than 80% used leaves too little room for a burst or a failover;
    - consumer lag above 10,000 messages for 10 minutes: a consumer that does not catch up;
    - a Redis hit ratio below 80% for 15 minutes means the cache no longer shields the databases;
    - a certificate that expires within 14 days gives two weeks to fix a failed renewal;
    - a volume with less than 15% free space (warning; 5% is critical).
    """

    latency_p95_ms: int = Field(default=500, ge=10, le=60_000)
    latency_p99_ms: int = Field(default=1000, ge=10, le=60_000)
    db_pool_saturation_percent: int = Field(default=80, ge=50, le=100)
    kafka_consumer_lag_messages: int = Field(default=10_000, ge=1)
    redis_hit_ratio_percent: int = Field(default=80, ge=1, le=100)
    certificate_expiry_days: int = Field(default=14, ge=1, le=90)
    volume_free_percent: int = Field(default=15, ge=6, le=50)


class OnCallSettings(_Section):
    receiver: OnCallReceiver | None = None


class MetricsSettings(_Section):
    storage_gib: int | None = Field(default=None, ge=5, le=4096)


class LoggingSettings(_Section):
    enabled: bool | None = None
    hot_days: int = Field(default=LOG_HOT_DAYS, ge=1, le=LOG_RETENTION_DAYS)
    retention_days: int = Field(default=LOG_RETENTION_DAYS, ge=LOG_MIN_RETENTION_DAYS, le=LOG_RETENTION_DAYS)
    hot_storage_gib: int | None = Field(default=None, ge=5, le=16384)
    cold_storage_gib: int | None = Field(default=None, ge=5, le=16384)


class ObservabilitySettings(_Section):
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)
    on_call: OnCallSettings = Field(default_factory=OnCallSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)


# ---- sizes per environment --------------------------------------------------------------------


@dataclass(frozen=True)
class Compute:
    cpu: str
    memory: str  # request and limit (memory is not compressible)


@dataclass(frozen=True)
class MetricsSize:
    prometheus_replicas: int
    prometheus: Compute
    storage_gib: int
    alertmanager_replicas: int
    alertmanager: Compute
    grafana: Compute


@dataclass(frozen=True)
class ElasticNodeSet:
    name: str
    count: int
    roles: tuple[str, ...]  # empty: every role (a single dev node)
    compute: Compute
    storage_gib: int
    storage_tier: Literal["hot", "cold"]


@dataclass(frozen=True)
class LoggingSize:
    hot: ElasticNodeSet
    cold: ElasticNodeSet | None
    kibana_replicas: int
    kibana: Compute
    shipper: Compute


@dataclass(frozen=True)
class TracingSize:
    replicas: int
    jaeger: Compute
    badger_storage_gib: int  # dev only: local storage when traces are not kept in Elasticsearch


@dataclass(frozen=True)
class ObservabilitySizes:
    metrics: MetricsSize
    logging: LoggingSize
    tracing: TracingSize


# Prometheus: ~1.5 bytes per sample on disk; 30 s scrapes; 15 days. Staging's 100 GiB hold about
# 1M active series, prod's 250 GiB about 2.5M, with retentionSize as the guard below the volume.
# The seed's "50M+ time series" is far beyond one Prometheus pair (tens of GB of memory per
# million series): that scale needs sharding or a remote-write backend (Mimir/Thanos), which
# this stack does not build (README, Operations).
# Elasticsearch: hot nodes hold 30 days, cold nodes 60 more; heap is half the container memory
# (the JVM's default under ECK). Kibana and Jaeger are stateless in staging/prod.
SIZES: dict[Environment, ObservabilitySizes] = {
    "dev": ObservabilitySizes(
        metrics=MetricsSize(1, Compute("200m", "1Gi"), 10, 1, Compute("20m", "64Mi"), Compute("50m", "256Mi")),
        logging=LoggingSize(
            hot=ElasticNodeSet("default", 1, (), Compute("500m", "2Gi"), 10, "hot"),
            cold=None,
            kibana_replicas=1,
            kibana=Compute("100m", "1Gi"),
            shipper=Compute("50m", "200Mi"),
        ),
        tracing=TracingSize(1, Compute("50m", "256Mi"), 5),
    ),
    "staging": ObservabilitySizes(
        metrics=MetricsSize(2, Compute("1", "6Gi"), 100, 2, Compute("50m", "128Mi"), Compute("100m", "512Mi")),
        logging=LoggingSize(
            hot=ElasticNodeSet(
                "hot", 3, ("master", "data_hot", "data_content", "ingest"), Compute("1", "4Gi"), 200, "hot"
            ),
            cold=ElasticNodeSet("cold", 1, ("data_cold",), Compute("500m", "2Gi"), 400, "cold"),
            kibana_replicas=1,
            kibana=Compute("200m", "1Gi"),
            shipper=Compute("100m", "300Mi"),
        ),
        tracing=TracingSize(2, Compute("200m", "512Mi"), 0),
    ),
    "prod": ObservabilitySizes(
        metrics=MetricsSize(2, Compute("2", "16Gi"), 250, 3, Compute("100m", "256Mi"), Compute("200m", "1Gi")),
        logging=LoggingSize(
            hot=ElasticNodeSet(
                "hot", 3, ("master", "data_hot", "data_content", "ingest"), Compute("2", "8Gi"), 500, "hot"
            ),
            cold=ElasticNodeSet("cold", 2, ("data_cold",), Compute("1", "4Gi"), 1000, "cold"),
            kibana_replicas=2,
            kibana=Compute("500m", "2Gi"),
            shipper=Compute("200m", "500Mi"),
        ),
        tracing=TracingSize(3, Compute("500m", "1Gi"), 0),
    ),
}

# Storage classes per cloud: the fast class for Prometheus, Alertmanager and hot logs, a cheaper
# one for cold logs. kind: the local-path provisioner's only class. EKS: the EBS CSI add-on's
# gp3 default; cold logs on throughput-optimised HDD (st1), a class this stack creates because
# EKS ships none (st1 volumes are at least 125 GiB). AKS: premium SSD for hot, standard SSD
# (the built-in default class) for cold.
STORAGE_CLASSES: dict[Cloud, dict[str, str]] = {
    "kind": {"hot": "standard", "cold": "standard"},
    "aws": {"hot": "ebs-csi-default-sc", "cold": "bakhmach-logs-cold"},
    "azure": {"hot": "managed-csi-premium", "cold": "managed-csi"},
}
ST1_MIN_GIB = 125


# ---- the resolved spec -------------------------------------------------------------------------


@dataclass(frozen=True)
class OnCall:
    receiver: OnCallReceiver
    # Present when routing to someone: the secret endpoint, never printed.
    has_endpoint: bool


@dataclass(frozen=True)
class ObservabilitySpec:
    environment: Environment
    cloud: Cloud
    thresholds: AlertThresholds
    on_call: OnCall
    sizes: ObservabilitySizes
    metrics_storage_gib: int
    logging_enabled: bool
    log_hot_days: int
    log_retention_days: int
    storage_classes: dict[str, str]
    protect: bool
    # Traces go to Elasticsearch where logging runs and the environment needs HA (staging/prod);
    # dev keeps them in Jaeger's local Badger store.
    trace_store: Literal["badger", "elasticsearch"]
    scrape_interval: str = SCRAPE_INTERVAL
    metrics_retention: str = METRICS_RETENTION
    trace_sample_ratio: float = TRACE_SAMPLE_RATIO
    trace_retention_hours: int = TRACE_RETENTION_HOURS
    slo_availability: float = SLO_AVAILABILITY
    rpo_minutes: int = seed.RPO_MINUTES
    # Data services run in this cluster through operators (their exporters are scraped).
    in_cluster_data: tuple[str, ...] = field(default_factory=tuple)

    @property
    def metrics_retention_size(self) -> str:
        """Prometheus's size guard: 85% of its volume, so compaction never fills the disk."""
        return f"{self.metrics_storage_gib * 85 // 100}GB"


class ObservabilitySettingsError(ValueError):
    """Observability settings that break a rule across keys: (stack-file key, message) for each."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))
        self.problems = problems


def resolve_observability(
    settings: ObservabilitySettings,
    environment: Environment,
    cloud: Cloud,
    *,
    on_call_endpoint_set: bool,
    in_cluster_data: tuple[str, ...] = (),
) -> ObservabilitySpec:
    """The spec the components receive, or one error naming every key it breaks and what is
    allowed (settings/stack.py `resolve_stack` reports them with the stack's other problems)."""
    problems: list[tuple[str, str]] = []
    sizes = SIZES[environment]
    alerts = settings.alerts
    if alerts.latency_p99_ms < alerts.latency_p95_ms:
        problems.append(
            (
                "observability.alerts.latencyP99Ms",
                f"{alerts.latency_p99_ms} is below latencyP95Ms {alerts.latency_p95_ms} (allowed: at least the p95 "
                "threshold)",
            )
        )
    if settings.logging.hot_days >= settings.logging.retention_days:
        problems.append(
            (
                "observability.logging.hotDays",
                f"{settings.logging.hot_days} is not below retentionDays {settings.logging.retention_days} "
                "(allowed: fewer hot days than days kept)",
            )
        )
    receiver = settings.on_call.receiver
    if receiver is None:
        receiver = "none" if environment == "dev" else None
    if receiver is None or (environment != "dev" and receiver == "none"):
        problems.append(
            (
                "observability.onCall.receiver",
                f"{environment} must route alerts to someone (allowed: pagerduty, slack, msteams; `none` is for "
                "dev only)",
            )
        )
    logging_enabled = settings.logging.enabled
    if logging_enabled is None:
        logging_enabled = environment != "dev"
    if not logging_enabled and environment != "dev":
        problems.append(
            (
                "observability.logging.enabled",
                f"false is not allowed in {environment}: the seed's ELK keeps every log, and traces are stored "
                "in the same Elasticsearch there (allowed: true, or leave it out)",
            )
        )
    metrics_gib = settings.metrics.storage_gib or sizes.metrics.storage_gib
    if metrics_gib < sizes.metrics.storage_gib:
        problems.append(
            (
                "observability.metrics.storageGib",
                f"{metrics_gib} is below {environment}'s {sizes.metrics.storage_gib} GiB, sized for 15 days of "
                f"metrics (allowed: {sizes.metrics.storage_gib} to 4096)",
            )
        )
    logging_size = sizes.logging
    hot_gib = settings.logging.hot_storage_gib or logging_size.hot.storage_gib
    if hot_gib < logging_size.hot.storage_gib:
        problems.append(
            (
                "observability.logging.hotStorageGib",
                f"{hot_gib} is below {environment}'s {logging_size.hot.storage_gib} GiB (allowed: "
                f"{logging_size.hot.storage_gib} to 16384)",
            )
        )
    cold = logging_size.cold
    if settings.logging.cold_storage_gib is not None:
        if cold is None:
            problems.append(
                (
                    "observability.logging.coldStorageGib",
                    f"{environment} runs no cold Elasticsearch tier (allowed: leave it out)",
                )
            )
        elif settings.logging.cold_storage_gib < cold.storage_gib:
            problems.append(
                (
                    "observability.logging.coldStorageGib",
                    f"{settings.logging.cold_storage_gib} is below {environment}'s {cold.storage_gib} GiB "
                    f"(allowed: {cold.storage_gib} to 16384)",
                )
            )
        else:
            cold = ElasticNodeSet(
                cold.name, cold.count, cold.roles, cold.compute, settings.logging.cold_storage_gib, cold.storage_tier
            )
    if problems or receiver is None:
        raise ObservabilitySettingsError(problems)
    hot = logging_size.hot
    hot = ElasticNodeSet(hot.name, hot.count, hot.roles, hot.compute, hot_gib, hot.storage_tier)
    resolved_sizes = ObservabilitySizes(
        metrics=sizes.metrics,
        logging=LoggingSize(hot, cold, logging_size.kibana_replicas, logging_size.kibana, logging_size.shipper),
        tracing=sizes.tracing,
    )
    profile = seed.ENVIRONMENT_PROFILES[environment]
    return ObservabilitySpec(
        environment=environment,
        cloud=cloud,
        thresholds=settings.alerts,
        on_call=OnCall(receiver=receiver, has_endpoint=on_call_endpoint_set),
        sizes=resolved_sizes,
        metrics_storage_gib=metrics_gib,
        logging_enabled=logging_enabled,
        log_hot_days=settings.logging.hot_days,
        log_retention_days=settings.logging.retention_days,
        storage_classes=STORAGE_CLASSES[cloud],
        protect=profile.protect_stateful,
        trace_store="elasticsearch" if environment != "dev" else "badger",
        in_cluster_data=in_cluster_data,
    )
