"""Every alert rule of the plan, unit-tested by promtool: it fires on the series it exists for,
with the labels Alertmanager routes on and the text on-call reads, and stays quiet just below
its threshold.

promtool is not on PyPI or npm; it comes from the Debian registry (the `prometheus` package,
unpacked without installing: scripts/install-promtool.sh, run by `make test`). That promtool is
2.x while the cluster runs Prometheus 3.x: the rules use nothing that changed between them
(classic histograms, no UTF-8 names), and `promtool check rules` also parses every expression.

The rules come from the prod plan's PrometheusRules (thresholds are the settings' defaults,
settings/observability.py), so a changed threshold, window or label fails here.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT
from settings import seed
from tests.planning import k8s, planned

PROMTOOL = Path(os.environ.get("PROMTOOL", REPO_ROOT / ".tools" / "promtool"))
REQUESTS = "http_server_request_duration_seconds_count"
BUCKETS = "http_server_request_duration_seconds_bucket"
CONTEXTS = [seed.SHARED_CONTEXT.slug, *(c.slug for c in seed.BUSINESS_CONTEXTS)]


def first_service(context: str) -> str:
    return next(row.name for row in seed.SERVICE_MATRIX if row.context == context and row.name != "api-gateway")


def needs(context: str) -> set[str]:
    return {
        need
        for row in seed.SERVICE_MATRIX
        if row.context == context and row.name != "api-gateway"
        for need in seed.SERVICE_DATA_NEEDS[row.name]
    }


@functools.cache
def rule_groups() -> list[dict[str, Any]]:
    plan = planned("prod", "aws")
    return [group for rule in k8s(plan, "PrometheusRule") for group in rule["spec"]["groups"]]


def planned_alerts() -> set[tuple[str, str]]:
    return {
        (rule["alert"], rule["labels"]["context"])
        for group in rule_groups()
        for rule in group["rules"]
        if "alert" in rule
    }


# ---- promtool cases -------------------------------------------------------------------------


@dataclass
class Case:
    """One promtool test: input series, then alerts expected (or not) at one evaluation time."""

    name: str
    series: dict[str, str]
    eval_time: str
    alertname: str
    context: str
    fires: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)  # (labels, annotations)
    quiet: list[str] = field(default_factory=list)  # other alerts that must not fire then

    def promtool(self) -> dict[str, Any]:
        expected = [
            {"exp_labels": labels | {"context": self.context}, "exp_annotations": annotations}
            for labels, annotations in self.fires
        ]
        return {
            "name": self.name,
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in self.series.items()],
            "alert_rule_test": [
                {"eval_time": self.eval_time, "alertname": self.alertname, "exp_alerts": expected},
                *({"eval_time": self.eval_time, "alertname": other, "exp_alerts": []} for other in self.quiet),
            ],
        }


def requests(context: str, service: str, ok_per_min: int, failed_per_min: int, minutes: int) -> dict[str, str]:
    base = f'namespace="{context}",service="{service}"'
    return {
        f'{REQUESTS}{{{base},http_response_status_code="200"}}': f"0+{ok_per_min}x{minutes}",
        f'{REQUESTS}{{{base},http_response_status_code="503"}}': f"0+{failed_per_min}x{minutes}",
    }


def latency(context: str, service: str, upper: str) -> dict[str, str]:
    """100 requests a minute, every one of them in the bucket that ends at `upper`."""
    base = f'namespace="{context}",service="{service}"'
    series = {}
    for le in ("0.25", "0.5", "1", "2.5", "+Inf"):
        per_min = 100 if float(le) >= float(upper) else 0
        series[f'{BUCKETS}{{{base},le="{le}"}}'] = f"0+{per_min}x30"
    return series


def context_cases(context: str) -> list[Case]:
    svc = first_service(context)
    crit = {"severity": "critical", "service": svc}
    warn = {"severity": "warning", "service": svc}
    cases = [
        Case(
            f"{context}: 6% of requests fail",
            requests(context, svc, 940, 60, 30),
            "10m",
            "ServiceErrorRateHigh",
            context,
            fires=[
                (
                    crit,
                    {
                        "summary": f"{svc} ({context}): more than 5% of requests fail",
                        "description": f"5xx responses are 6% of {svc}'s requests over 5m.",
                    },
                )
            ],
        ),
        Case(
            f"{context}: 4% of requests fail",
            requests(context, svc, 960, 40, 30),
            "10m",
            "ServiceErrorRateHigh",
            context,
        ),
        Case(
            f"{context}: p95 975 ms, p99 995 ms",
            latency(context, svc, "1"),
            "15m",
            "ServiceLatencyP95High",
            context,
            fires=[
                (
                    crit,
                    {
                        "summary": f"{svc} ({context}): p95 latency above 500 ms",
                        "description": f"The p95 request latency of {svc} is 975ms.",
                    },
                )
            ],
            quiet=["ServiceLatencyP99High"],
        ),
        Case(
            f"{context}: p99 2.485 s",
            latency(context, svc, "2.5"),
            "15m",
            "ServiceLatencyP99High",
            context,
            fires=[
                (
                    warn,
                    {
                        "summary": f"{svc} ({context}): p99 latency above 1000 ms",
                        "description": f"The p99 request latency of {svc} is 2.485s.",
                    },
                )
            ],
        ),
        Case(
            f"{context}: p95 and p99 at 375 ms",
            latency(context, svc, "0.5"),
            "15m",
            "ServiceLatencyP95High",
            context,
            quiet=["ServiceLatencyP99High"],
        ),
        Case(
            f"{context}: 2% errors for an hour burns the budget fast",
            requests(context, svc, 980, 20, 80),
            "70m",
            "AvailabilitySLOFastBurn",
            context,
            fires=[
                (
                    {"severity": "critical"},
                    {
                        "summary": f"{context}: the 99.95% availability error budget burns too fast",
                        "description": "At this error ratio (2%) the 30-day error budget is gone within days.",
                    },
                )
            ],
        ),
        Case(
            f"{context}: 0.2% errors burn the budget slowly",
            requests(context, svc, 998, 2, 130),
            "2h",
            "AvailabilitySLOSlowBurn",
            context,
            fires=[
                (
                    {"severity": "warning"},
                    {
                        "summary": f"{context}: the 99.95% availability error budget burns too fast",
                        "description": "At this error ratio (0.2%) the 30-day error budget runs out before the month "
                        "ends.",
                    },
                )
            ],
            quiet=["AvailabilitySLOFastBurn", "ServiceErrorRateHigh"],
        ),
        Case(
            f"{context}: 0.04% errors are within the budget",
            requests(context, svc, 9996, 4, 130),
            "2h",
            "AvailabilitySLOSlowBurn",
            context,
            quiet=["AvailabilitySLOFastBurn"],
        ),
    ]
    pool = f'namespace="{context}",service="{svc}",db_client_connection_pool_name="main"'
    if needs(context) & {"postgres", "mongo"}:
        cases += [
            Case(
                f"{context}: pool 90% used",
                {
                    f'db_client_connection_count{{{pool},db_client_connection_state="used"}}': "9x20",
                    f"db_client_connection_max{{{pool}}}": "10x20",
                },
                "10m",
                "DatabasePoolSaturated",
                context,
                fires=[
                    (
                        warn | {"db_client_connection_pool_name": "main"},
                        {
                            "summary": f"{svc} ({context}): connection pool main above 80%",
                            "description": "90% of the pool's connections are in use.",
                        },
                    )
                ],
            ),
            Case(
                f"{context}: pool 70% used",
                {
                    f'db_client_connection_count{{{pool},db_client_connection_state="used"}}': "7x20",
                    f"db_client_connection_max{{{pool}}}": "10x20",
                },
                "10m",
                "DatabasePoolSaturated",
                context,
            ),
        ]
    if "kafka" in needs(context):
        group = f"{context}.{svc}"
        topic = f'namespace="data",partition="0",topic="{context}.events"'
        lag = f'kafka_consumergroup_lag{{{topic},consumergroup="{group}"}}'
        other = f'kafka_consumergroup_lag{{{topic},consumergroup="{context}x.other"}}'
        cases += [
            Case(
                f"{context}: its consumer group 20000 messages behind",
                {lag: "20000x30"},
                "15m",
                "KafkaConsumerLagHigh",
                context,
                fires=[
                    (
                        {"severity": "warning", "consumergroup": group, "topic": f"{context}.events"},
                        {
                            "summary": f"{context}: consumer group {group} is more than 10000 messages behind",
                            "description": f"20000 messages wait on topic {context}.events.",
                        },
                    )
                ],
            ),
            Case(
                f"{context}: 500 messages behind, and another context's lag is not its own",
                {lag: "500x30", other: "50000x30"},
                "15m",
                "KafkaConsumerLagHigh",
                context,
            ),
        ]
    return cases


def platform_cases() -> list[Case]:
    ctx = "platform"
    cert = 'certmanager_certificate_expiration_timestamp_seconds{namespace="data-system",name="barman-cloud-client"}'
    pvc = 'namespace="data",persistentvolumeclaim="pgdata-postgres-1"'
    backup = "bakhmach_backup_created_timestamp_seconds"
    pg = 'namespace="data",database="postgres",cluster="postgres"'
    mongo_lag = (
        'mongodb_mongod_replset_member_replication_lag{namespace="data",set="rs0",name="mongo-rs0-1:27017",'
        'state="SECONDARY",self="0"}'
    )
    redis = 'namespace="data",pod="redis-leader-0"'
    cnpg = 'namespace="data",pod="postgres-1"'
    pressure = 'kube_node_status_condition{node="node-1",condition="MemoryPressure",status="true"}'

    def volume(available: int) -> dict[str, str]:
        return {
            f"kubelet_volume_stats_available_bytes{{{pvc}}}": f"{available}x20",
            f"kubelet_volume_stats_capacity_bytes{{{pvc}}}": "100x20",
            f"kubelet_volume_stats_used_bytes{{{pvc}}}": f"{100 - available}x20",
        }

    vol_labels = {"namespace": "data", "persistentvolumeclaim": "pgdata-postgres-1"}
    bk_labels = {"namespace": "data", "database": "postgres", "cluster": "postgres"}
    return [
        Case(
            "a certificate expiring in 5 days",
            {cert: "432000x180"},
            "2h",
            "CertificateExpiringSoon",
            ctx,
            fires=[
                (
                    {"severity": "warning", "namespace": "data-system", "name": "barman-cloud-client"},
                    {
                        "summary": "Certificate data-system/barman-cloud-client expires within 14 days",
                        "description": "It expires in 4d 22h 0m 0s; cert-manager has not renewed it.",
                    },
                )
            ],
        ),
        Case("a certificate expiring in 30 days", {cert: "2592000x180"}, "2h", "CertificateExpiringSoon", ctx),
        Case(
            "a volume with 10% free",
            volume(10),
            "10m",
            "PersistentVolumeFillingUp",
            ctx,
            fires=[
                (
                    {"severity": "warning"} | vol_labels,
                    {
                        "summary": "Volume data/pgdata-postgres-1 has less than 15% free",
                        "description": "10% of the volume is free.",
                    },
                )
            ],
            quiet=["PersistentVolumeAlmostFull"],
        ),
        Case(
            "a volume with 3% free",
            volume(3),
            "10m",
            "PersistentVolumeAlmostFull",
            ctx,
            fires=[
                (
                    {"severity": "critical"} | vol_labels,
                    {
                        "summary": "Volume data/pgdata-postgres-1 has less than 5% free",
                        "description": "3% of the volume is free; writes will fail soon.",
                    },
                )
            ],
        ),
        Case("a volume with 20% free", volume(20), "10m", "PersistentVolumeFillingUp", ctx),
        Case(
            "the latest backup failed after a good one",
            {f'{backup}{{{pg},phase="completed"}}': "1000x20", f'{backup}{{{pg},phase="failed"}}': "2000x20"},
            "10m",
            "DataBackupFailed",
            ctx,
            fires=[
                (
                    {"severity": "critical"} | bk_labels,
                    {
                        "summary": "The latest postgres backup of data/postgres failed",
                        "description": "A backup newer than the last successful one ended in error (the operator's "
                        "Backup resources, through kube-state-metrics).",
                    },
                )
            ],
        ),
        Case(
            "no backup has ever succeeded",
            {f'{backup}{{{pg},phase="failed"}}': "2000x20"},
            "10m",
            "DataBackupFailed",
            ctx,
            fires=[
                (
                    {"severity": "critical"} | bk_labels,
                    {
                        "summary": "The latest postgres backup of data/postgres failed",
                        "description": "A backup newer than the last successful one ended in error (the operator's "
                        "Backup resources, through kube-state-metrics).",
                    },
                )
            ],
        ),
        Case(
            "a failed backup followed by a good one",
            {f'{backup}{{{pg},phase="completed"}}': "2000x20", f'{backup}{{{pg},phase="failed"}}': "1000x20"},
            "10m",
            "DataBackupFailed",
            ctx,
        ),
        # Creation times before the test's epoch: 100,000 s before it, seen 40 minutes in.
        Case(
            "the last good backup is 28 hours old",
            {f'{backup}{{{pg},phase="completed"}}': "-100000x60"},
            "40m",
            "DataBackupMissing",
            ctx,
            fires=[
                (
                    {"severity": "warning"} | bk_labels,
                    {
                        "summary": "No postgres backup of data/postgres has completed for over 26 hours",
                        "description": "The last successful backup started 1d 4h 26m 40s ago; the schedule is daily.",
                    },
                )
            ],
        ),
        Case(
            "the last good backup is 15 hours old",
            {f'{backup}{{{pg},phase="completed"}}': "-52000x60"},
            "40m",
            "DataBackupMissing",
            ctx,
        ),
        Case(
            "a PostgreSQL replica 400 s behind",
            {f"cnpg_pg_replication_lag{{{cnpg}}}": "400x20"},
            "5m",
            "PostgresReplicaLagAboveRPO",
            ctx,
            fires=[
                (
                    {"severity": "critical", "namespace": "data", "pod": "postgres-1"},
                    {
                        "summary": "PostgreSQL replica postgres-1 lags more than the 5-minute RPO",
                        "description": "The replica has not replayed the primary's last 6m 40s.",
                    },
                )
            ],
        ),
        Case(
            "a PostgreSQL replica 100 s behind",
            {f"cnpg_pg_replication_lag{{{cnpg}}}": "100x20"},
            "5m",
            "PostgresReplicaLagAboveRPO",
            ctx,
        ),
        Case(
            "a MongoDB member 10 minutes behind",
            {mongo_lag: "600x20"},
            "5m",
            "MongoReplicaLagAboveRPO",
            ctx,
            fires=[
                (
                    {"severity": "critical", "namespace": "data", "set": "rs0", "name": "mongo-rs0-1:27017"},
                    {
                        "summary": "MongoDB member mongo-rs0-1:27017 lags more than the 5-minute RPO",
                        "description": "The member is 10m 0s behind the primary.",
                    },
                )
            ],
        ),
        Case("a MongoDB member 2 minutes behind", {mongo_lag: "120x20"}, "5m", "MongoReplicaLagAboveRPO", ctx),
        Case(
            "60% of cache lookups hit",
            {
                f"redis_keyspace_hits_total{{{redis}}}": "0+600x40",
                f"redis_keyspace_misses_total{{{redis}}}": "0+400x40",
            },
            "30m",
            "RedisHitRatioLow",
            ctx,
            fires=[
                (
                    {"severity": "warning", "namespace": "data"},
                    {
                        "summary": "The Redis cache hit ratio is below 80%",
                        "description": "60% of lookups hit the cache over 10 minutes.",
                    },
                )
            ],
        ),
        Case(
            "90% of cache lookups hit",
            {
                f"redis_keyspace_hits_total{{{redis}}}": "0+900x40",
                f"redis_keyspace_misses_total{{{redis}}}": "0+100x40",
            },
            "30m",
            "RedisHitRatioLow",
            ctx,
        ),
        Case(
            "an idle cache is not a missing cache",
            {f"redis_keyspace_hits_total{{{redis}}}": "0+6x40", f"redis_keyspace_misses_total{{{redis}}}": "0+40x40"},
            "30m",
            "RedisHitRatioLow",
            ctx,
        ),
        Case(
            "PostgreSQL at 90 of 100 connections",
            {
                f'cnpg_backends_total{{{cnpg},datname="app",usename="app",state="active"}}': "90x20",
                f'cnpg_pg_settings_setting{{{cnpg},name="max_connections"}}': "100x20",
            },
            "10m",
            "PostgresConnectionsSaturated",
            ctx,
            fires=[
                (
                    {"severity": "warning", "namespace": "data", "pod": "postgres-1"},
                    {
                        "summary": "PostgreSQL postgres-1 uses more than 80% of max_connections",
                        "description": "90% of the server's connections are in use.",
                    },
                )
            ],
        ),
        Case(
            "PostgreSQL at 50 of 100 connections",
            {
                f'cnpg_backends_total{{{cnpg},datname="app",usename="app",state="active"}}': "50x20",
                f'cnpg_pg_settings_setting{{{cnpg},name="max_connections"}}': "100x20",
            },
            "10m",
            "PostgresConnectionsSaturated",
            ctx,
        ),
        Case(
            "a node under memory pressure",
            {pressure: "1x20"},
            "10m",
            "NodeUnderPressure",
            ctx,
            fires=[
                (
                    {"severity": "warning", "node": "node-1", "condition": "MemoryPressure"},
                    {
                        "summary": "Node node-1 reports MemoryPressure",
                        "description": "The kubelet is evicting or refusing pods on this node.",
                    },
                )
            ],
        ),
        Case("a node without pressure", {pressure: "0x20"}, "10m", "NodeUnderPressure", ctx),
    ]


def all_cases() -> list[Case]:
    return [case for context in CONTEXTS for case in context_cases(context)] + platform_cases()


# ---- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> Path:
    assert PROMTOOL.is_file(), (
        f"promtool not found at {PROMTOOL}: run `make promtool` (scripts/install-promtool.sh) or set PROMTOOL"
    )
    return PROMTOOL


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups()}, sort_keys=False))
    return path


def _run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, timeout=300, check=False)


def test_every_rule_parses(promtool: Path, rules_file: Path) -> None:
    result = _run(promtool, "check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_of_every_context_has_a_case_that_fires_it() -> None:
    fired = {(case.alertname, case.context) for case in all_cases() if case.fires}
    assert planned_alerts() == fired


@pytest.mark.parametrize("group", [*CONTEXTS, "platform-shared"])
def test_every_alert_fires_on_its_condition_and_not_below_it(promtool: Path, rules_file: Path, group: str) -> None:
    cases = platform_cases() if group == "platform-shared" else context_cases(group)
    tests = rules_file.parent / f"tests-{group}.yaml"
    tests.write_text(
        yaml.safe_dump(
            {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": [c.promtool() for c in cases]},
            sort_keys=False,
        )
    )
    result = _run(promtool, "test", "rules", str(tests))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
