"""The alert rules: per business context where the seed measures per context, and the platform's.

Per context (its namespace's services): 5xx above 5% over 5 minutes; p95 and p99 latency above
the settings' thresholds; connection-pool saturation (where its services use a database); Kafka
consumer lag of its consumer groups (where they use Kafka); the 99.95% availability SLO with
multi-window, multi-burn-rate alerts (Google SRE workbook: 2% of the 30-day budget in 1 h or 5%
in 6 h pages; 10% in 3 days tickets).

Platform: certificate expiry, volumes filling up, failed or missing backups, replica lag above
the RPO (5 minutes), Redis hit ratio, PostgreSQL connections, node pressure.

The service metrics follow OpenTelemetry's semantic conventions as the SDKs export them to
Prometheus (README, "Operations"): `http_server_request_duration_seconds` (a histogram with
`http_response_status_code`) and `db_client_connection_count` / `db_client_connection_max`.
Kafka consumer groups are named after their context (`<context>.<service>...`), as topics are.
Every rule here has a promtool unit test (tests/test_alert_rules.py).
"""

from __future__ import annotations

from typing import Any

from settings.model import ServiceSpec
from settings.observability import ERROR_RATE_THRESHOLD, ERROR_RATE_WINDOW, AlertThresholds, ObservabilitySpec

REQUESTS = "http_server_request_duration_seconds_count"
BUCKETS = "http_server_request_duration_seconds_bucket"
PLATFORM = "platform"
# (long window, short window, burn rate, severity): SRE workbook, chapter 5, table 5-8.
BURN_WINDOWS: tuple[tuple[str, str, float, str], ...] = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)
RATIO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
BACKUP_METRIC = "bakhmach_backup_created_timestamp_seconds"
BACKUP_FAILED = 'phase=~"failed|error"'
BACKUP_DONE = 'phase=~"completed|ready"'
# A daily backup, plus two hours for a slow one.
BACKUP_MAX_AGE_SECONDS = 26 * 3600


def _num(value: float) -> str:
    return f"{value:.6g}"


def _alert(
    name: str, expr: str, *, severity: str, context: str, for_: str, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "context": context},
        "annotations": {"summary": summary, "description": description},
    }


def ratio_record(window: str) -> str:
    return f"context:http_error_ratio:rate{window}"


def context_rules(context: str, services: tuple[ServiceSpec, ...], spec: ObservabilitySpec) -> dict[str, Any]:
    """The PrometheusRule spec of one context (its namespace's services)."""
    t: AlertThresholds = spec.thresholds
    ns = f'namespace="{context}"'
    errors = f'{REQUESTS}{{{ns},http_response_status_code=~"5.."}}'
    total = f"{REQUESTS}{{{ns}}}"
    needs = {need for svc in services for need in svc.data_needs}
    rules: list[dict[str, Any]] = [
        _alert(
            "ServiceErrorRateHigh",
            f"(sum by (service) (rate({errors}[{ERROR_RATE_WINDOW}])) / "
            f"sum by (service) (rate({total}[{ERROR_RATE_WINDOW}]))) > {_num(ERROR_RATE_THRESHOLD)}",
            severity="critical",
            context=context,
            for_="1m",
            summary=f"{{{{ $labels.service }}}} ({context}): more than {ERROR_RATE_THRESHOLD:.0%} of requests fail",
            description=f"5xx responses are {{{{ $value | humanizePercentage }}}} of {{{{ $labels.service }}}}'s "
            f"requests over {ERROR_RATE_WINDOW}.",
        ),
    ]
    for quantile, threshold_ms, severity in (
        (0.95, t.latency_p95_ms, "critical"),
        (0.99, t.latency_p99_ms, "warning"),
    ):
        label = f"P{round(quantile * 100)}"
        rules.append(
            _alert(
                f"ServiceLatency{label}High",
                f"histogram_quantile({_num(quantile)}, sum by (service, le) (rate({BUCKETS}{{{ns}}}[5m]))) "
                f"> {_num(threshold_ms / 1000)}",
                severity=severity,
                context=context,
                for_="10m",
                summary=f"{{{{ $labels.service }}}} ({context}): {label.lower()} latency above {threshold_ms} ms",
                description=f"The {label.lower()} request latency of {{{{ $labels.service }}}} is "
                "{{ $value | humanizeDuration }}.",
            )
        )
    if needs & {"postgres", "mongo"}:
        by = "service, db_client_connection_pool_name"
        rules.append(
            _alert(
                "DatabasePoolSaturated",
                f'(sum by ({by}) (db_client_connection_count{{{ns},db_client_connection_state="used"}}) / '
                f"sum by ({by}) (db_client_connection_max{{{ns}}})) > {_num(t.db_pool_saturation_percent / 100)}",
                severity="warning",
                context=context,
                for_="5m",
                summary=f"{{{{ $labels.service }}}} ({context}): connection pool "
                f"{{{{ $labels.db_client_connection_pool_name }}}} above {t.db_pool_saturation_percent}%",
                description="{{ $value | humanizePercentage }} of the pool's connections are in use.",
            )
        )
    if "kafka" in needs:
        rules.append(
            _alert(
                "KafkaConsumerLagHigh",
                f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{consumergroup=~"{context}[._-].*"}}) '
                f"> {t.kafka_consumer_lag_messages}",
                severity="warning",
                context=context,
                for_="10m",
                summary=f"{context}: consumer group {{{{ $labels.consumergroup }}}} is "
                f"more than {t.kafka_consumer_lag_messages} messages behind",
                description="{{ $value }} messages wait on topic {{ $labels.topic }}.",
            )
        )
    # The availability SLO: error ratios over each window the burn-rate alerts read.
    records: list[dict[str, Any]] = [
        {
            "record": ratio_record(window),
            "expr": f"sum(rate({errors}[{window}])) / sum(rate({total}[{window}]))",
            "labels": {"context": context},
        }
        for window in RATIO_WINDOWS
    ]
    budget = 1 - spec.slo_availability
    for name, severity in (("AvailabilitySLOFastBurn", "critical"), ("AvailabilitySLOSlowBurn", "warning")):
        clauses = []
        for long, short, burn, level in BURN_WINDOWS:
            if level != severity:
                continue
            limit = _num(burn * budget)
            clauses.append(
                f'({ratio_record(long)}{{context="{context}"}} > {limit} and '
                f'{ratio_record(short)}{{context="{context}"}} > {limit})'
            )
        rules.append(
            _alert(
                name,
                " or ".join(clauses),
                severity=severity,
                context=context,
                for_="2m" if severity == "critical" else "15m",
                summary=f"{context}: the {spec.slo_availability:.2%} availability error budget burns too fast",
                description="At this error ratio ({{ $value | humanizePercentage }}) the 30-day error budget "
                + ("is gone within days." if severity == "critical" else "runs out before the month ends."),
            )
        )
    return {
        "groups": [
            {"name": f"context.{context}.slo", "rules": records},
            {"name": f"context.{context}.alerts", "rules": rules},
        ]
    }


def platform_rules(spec: ObservabilitySpec) -> dict[str, Any]:
    """Rules about what every context shares: certificates, volumes, data services, nodes."""
    t = spec.thresholds
    rpo_seconds = spec.rpo_minutes * 60
    free = t.volume_free_percent / 100
    volume = "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes"
    by_backup = "namespace, database, cluster"
    hits = "sum by (namespace) (rate(redis_keyspace_hits_total[10m]))"
    lookups = f"({hits} + sum by (namespace) (rate(redis_keyspace_misses_total[10m])))"
    rules = [
        _alert(
            "CertificateExpiringSoon",
            f"(certmanager_certificate_expiration_timestamp_seconds - time()) < {t.certificate_expiry_days * 86400}",
            severity="warning",
            context=PLATFORM,
            for_="1h",
            summary=f"Certificate {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} expires within "
            f"{t.certificate_expiry_days} days",
            description="It expires in {{ $value | humanizeDuration }}; cert-manager has not renewed it.",
        ),
        _alert(
            "PersistentVolumeFillingUp",
            f"({volume}) < {_num(free)} and kubelet_volume_stats_used_bytes > 0",
            severity="warning",
            context=PLATFORM,
            for_="5m",
            summary=f"Volume {{{{ $labels.namespace }}}}/{{{{ $labels.persistentvolumeclaim }}}} has less than "
            f"{t.volume_free_percent}% free",
            description="{{ $value | humanizePercentage }} of the volume is free.",
        ),
        _alert(
            "PersistentVolumeAlmostFull",
            f"({volume}) < 0.05 and kubelet_volume_stats_used_bytes > 0",
            severity="critical",
            context=PLATFORM,
            for_="5m",
            summary="Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 5% free",
            description="{{ $value | humanizePercentage }} of the volume is free; writes will fail soon.",
        ),
        _alert(
            "DataBackupFailed",
            f"(max by ({by_backup}) ({BACKUP_METRIC}{{{BACKUP_FAILED}}}) > "
            f"max by ({by_backup}) ({BACKUP_METRIC}{{{BACKUP_DONE}}})) or "
            f"(max by ({by_backup}) ({BACKUP_METRIC}{{{BACKUP_FAILED}}}) unless on ({by_backup}) "
            f"{BACKUP_METRIC}{{{BACKUP_DONE}}})",
            severity="critical",
            context=PLATFORM,
            for_="5m",
            summary="The latest {{ $labels.database }} backup of {{ $labels.namespace }}/{{ $labels.cluster }} failed",
            description="A backup newer than the last successful one ended in error (the operator's Backup "
            "resources, through kube-state-metrics).",
        ),
        _alert(
            "DataBackupMissing",
            f"(time() - max by ({by_backup}) ({BACKUP_METRIC}{{{BACKUP_DONE}}})) > {BACKUP_MAX_AGE_SECONDS}",
            severity="warning",
            context=PLATFORM,
            for_="30m",
            summary="No {{ $labels.database }} backup of {{ $labels.namespace }}/{{ $labels.cluster }} "
            "has completed for over 26 hours",
            description="The last successful backup started {{ $value | humanizeDuration }} ago; the schedule "
            "is daily.",
        ),
        _alert(
            "PostgresReplicaLagAboveRPO",
            f"max by (namespace, pod) (cnpg_pg_replication_lag) > {rpo_seconds}",
            severity="critical",
            context=PLATFORM,
            for_="1m",
            summary=f"PostgreSQL replica {{{{ $labels.pod }}}} lags more than the {spec.rpo_minutes}-minute RPO",
            description="The replica has not replayed the primary's last {{ $value | humanizeDuration }}.",
        ),
        _alert(
            "MongoReplicaLagAboveRPO",
            f"max by (namespace, set, name) (mongodb_mongod_replset_member_replication_lag) > {rpo_seconds}",
            severity="critical",
            context=PLATFORM,
            for_="1m",
            summary=f"MongoDB member {{{{ $labels.name }}}} lags more than the {spec.rpo_minutes}-minute RPO",
            description="The member is {{ $value | humanizeDuration }} behind the primary.",
        ),
        _alert(
            "RedisHitRatioLow",
            f"({hits} / {lookups}) < {_num(t.redis_hit_ratio_percent / 100)} and {lookups} > 1",
            severity="warning",
            context=PLATFORM,
            for_="15m",
            summary=f"The Redis cache hit ratio is below {t.redis_hit_ratio_percent}%",
            description="{{ $value | humanizePercentage }} of lookups hit the cache over 10 minutes.",
        ),
        _alert(
            "PostgresConnectionsSaturated",
            "(sum by (namespace, pod) (cnpg_backends_total) / "
            'max by (namespace, pod) (cnpg_pg_settings_setting{name="max_connections"})) '
            f"> {_num(t.db_pool_saturation_percent / 100)}",
            severity="warning",
            context=PLATFORM,
            for_="5m",
            summary=f"PostgreSQL {{{{ $labels.pod }}}} uses more than {t.db_pool_saturation_percent}% of "
            "max_connections",
            description="{{ $value | humanizePercentage }} of the server's connections are in use.",
        ),
        _alert(
            "NodeUnderPressure",
            "max by (node, condition) "
            '(kube_node_status_condition{condition=~"MemoryPressure|DiskPressure|PIDPressure",status="true"}) == 1',
            severity="warning",
            context=PLATFORM,
            for_="5m",
            summary="Node {{ $labels.node }} reports {{ $labels.condition }}",
            description="The kubelet is evicting or refusing pods on this node.",
        ),
    ]
    return {"groups": [{"name": "platform.shared", "rules": rules}]}
