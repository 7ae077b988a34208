"""Grafana dashboards as code: one per business context and a platform overview.

The JSON files under `dashboards/` are what Grafana loads (through its sidecar, from ConfigMaps
labelled `grafana_dashboard`); they are generated from this module by
`scripts/gen_dashboards.py`, and tests/test_observability.py fails when a committed file differs
from what this module generates. Each context's dashboard shows its requests, errors (4xx and
5xx), latency percentiles (p50/p95/p99), the 99.95% SLO's error ratio, saturation (CPU, memory,
replicas against the autoscaler's bounds, connection pools) and the data services its services
use (its Kafka consumer groups' lag, the shared PostgreSQL, MongoDB and Redis).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from settings import seed

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
PLATFORM_OVERVIEW = "platform-overview"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
REQUESTS = "http_server_request_duration_seconds_count"
BUCKETS = "http_server_request_duration_seconds_bucket"


class _Layout:
    """Panels placed left to right, two per row, with section rows between groups."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.y = 0
        self.x = 0

    def row(self, title: str) -> None:
        if self.x:
            self.y += 8
            self.x = 0
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def panel(self, title: str, targets: list[tuple[str, str]], unit: str, kind: str = "timeseries") -> None:
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": kind,
                "title": title,
                "datasource": PROMETHEUS,
                "gridPos": {"h": 8, "w": 12, "x": self.x, "y": self.y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
                "targets": [
                    {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                    for i, (expr, legend) in enumerate(targets)
                ],
            }
        )
        self.x = 12 if self.x == 0 else 0
        if self.x == 0:
            self.y += 8


def _dashboard(uid: str, title: str, tags: list[str], panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["bakhmach", *tags],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def _service_panels(layout: _Layout, namespace: str) -> None:
    ns = f'namespace="{namespace}"'
    layout.row("Requests and errors")
    layout.panel("Requests per second", [(f"sum by (service) (rate({REQUESTS}{{{ns}}}[5m]))", "{{service}}")], "reqps")
    layout.panel(
        "Error ratio (4xx, 5xx)",
        [
            (
                f'sum by (service) (rate({REQUESTS}{{{ns},http_response_status_code=~"5.."}}[5m])) / '
                f"sum by (service) (rate({REQUESTS}{{{ns}}}[5m]))",
                "{{service}} 5xx",
            ),
            (
                f'sum by (service) (rate({REQUESTS}{{{ns},http_response_status_code=~"4.."}}[5m])) / '
                f"sum by (service) (rate({REQUESTS}{{{ns}}}[5m]))",
                "{{service}} 4xx",
            ),
        ],
        "percentunit",
    )
    layout.row("Latency")
    layout.panel(
        "Latency percentiles",
        [
            (
                f"histogram_quantile({q}, sum by (service, le) (rate({BUCKETS}{{{ns}}}[5m])))",
                f"{{{{service}}}} p{round(q * 100)}",
            )
            for q in (0.5, 0.95, 0.99)
        ],
        "s",
    )
    layout.panel(
        "Availability SLO (99.95%): error ratio by window",
        [
            (f'context:http_error_ratio:rate{window}{{context="{namespace}"}}', window)
            for window in ("5m", "1h", "6h", "1d", "3d")
        ],
        "percentunit",
    )
    layout.row("Saturation")
    layout.panel(
        "CPU used / requested",
        [
            (
                f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{ns},container!=""}}[5m])) / '
                f'sum by (pod) (kube_pod_container_resource_requests{{{ns},resource="cpu"}})',
                "{{pod}}",
            )
        ],
        "percentunit",
    )
    layout.panel(
        "Memory working set / limit",
        [
            (
                f'sum by (pod) (container_memory_working_set_bytes{{{ns},container!=""}}) / '
                f'sum by (pod) (kube_pod_container_resource_limits{{{ns},resource="memory"}})',
                "{{pod}}",
            )
        ],
        "percentunit",
    )
    layout.panel(
        "Replicas (autoscaler current / max)",
        [
            (f"kube_horizontalpodautoscaler_status_current_replicas{{{ns}}}", "{{horizontalpodautoscaler}} current"),
            (f"kube_horizontalpodautoscaler_spec_max_replicas{{{ns}}}", "{{horizontalpodautoscaler}} max"),
            (f"kube_deployment_status_replicas_available{{{ns}}}", "{{deployment}} available"),
        ],
        "short",
    )
    layout.panel(
        "Database connection pools (used / max)",
        [
            (
                f"sum by (service, db_client_connection_pool_name) "
                f'(db_client_connection_count{{{ns},db_client_connection_state="used"}}) / '
                f"sum by (service, db_client_connection_pool_name) (db_client_connection_max{{{ns}}})",
                "{{service}} {{db_client_connection_pool_name}}",
            )
        ],
        "percentunit",
    )


def _data_panels(layout: _Layout, needs: set[str], consumer_prefix: str | None) -> None:
    if not needs:
        return
    layout.row("Data services")
    if "kafka" in needs:
        regex = f"{consumer_prefix}[._-].*" if consumer_prefix else ".*"
        layout.panel(
            "Kafka consumer lag (queue depth)",
            [
                (
                    f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{consumergroup=~"{regex}"}})',
                    "{{consumergroup}} {{topic}}",
                )
            ],
            "short",
        )
    if "redis" in needs:
        hits = "sum(rate(redis_keyspace_hits_total[5m]))"
        layout.panel(
            "Cache hit ratio (shared Redis)",
            [(f"{hits} / ({hits} + sum(rate(redis_keyspace_misses_total[5m])))", "hit ratio")],
            "percentunit",
        )
    if "postgres" in needs:
        layout.panel(
            "PostgreSQL connections / max_connections, replica lag",
            [
                (
                    "sum by (pod) (cnpg_backends_total) / "
                    'max by (pod) (cnpg_pg_settings_setting{name="max_connections"})',
                    "{{pod}} connections",
                ),
                ("max by (pod) (cnpg_pg_replication_lag) / 300", "{{pod}} lag / RPO"),
            ],
            "percentunit",
        )
    if "mongo" in needs:
        layout.panel(
            "MongoDB replication lag",
            [("max by (name) (mongodb_mongod_replset_member_replication_lag)", "{{name}}")],
            "s",
        )


def context_dashboard(context: seed.BusinessContext) -> dict[str, Any]:
    rows = [row for row in seed.SERVICE_MATRIX if row.context == context.slug]
    needs: set[str] = {need for row in rows for need in seed.SERVICE_DATA_NEEDS.get(row.name, ())}
    layout = _Layout()
    _service_panels(layout, context.slug)
    _data_panels(layout, needs, context.slug)
    title = f"{context.title}: {context.focus}"
    return _dashboard(f"bakhmach-{context.slug}", title, ["context", context.slug], layout.panels)


def platform_dashboard() -> dict[str, Any]:
    layout = _Layout()
    layout.row("Every context")
    layout.panel(
        "Requests per second by context",
        [(f"sum by (namespace) (rate({REQUESTS}[5m]))", "{{namespace}}")],
        "reqps",
    )
    layout.panel(
        "5xx ratio by context",
        [
            (
                f'sum by (namespace) (rate({REQUESTS}{{http_response_status_code=~"5.."}}[5m])) / '
                f"sum by (namespace) (rate({REQUESTS}[5m]))",
                "{{namespace}}",
            )
        ],
        "percentunit",
    )
    layout.panel(
        "Firing alerts by context and severity",
        [('count by (context, severity) (ALERTS{alertstate="firing"})', "{{context}} {{severity}}")],
        "short",
    )
    layout.panel(
        "Availability SLO error ratio (1 h) by context",
        [("context:http_error_ratio:rate1h", "{{context}}")],
        "percentunit",
    )
    _service_panels(layout, seed.SHARED_CONTEXT.slug)
    _data_panels(layout, {"postgres", "mongo", "redis", "kafka"}, None)
    layout.row("Cluster")
    layout.panel(
        "Node CPU and memory used",
        [
            ('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', "{{instance}} cpu"),
            ("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}} memory"),
        ],
        "percentunit",
    )
    layout.panel(
        "Volumes: free space",
        [
            (
                "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes",
                "{{namespace}}/{{persistentvolumeclaim}}",
            )
        ],
        "percentunit",
    )
    layout.panel(
        "Backups: hours since the last completed",
        [
            (
                "(time() - max by (database, namespace, cluster) "
                '(bakhmach_backup_created_timestamp_seconds{phase=~"completed|ready"})) / 3600',
                "{{database}} {{cluster}}",
            )
        ],
        "h",
    )
    layout.panel(
        "Nodes under pressure",
        [
            (
                'sum by (condition) (kube_node_status_condition{condition=~"MemoryPressure|DiskPressure|PIDPressure",'
                'status="true"})',
                "{{condition}}",
            )
        ],
        "short",
    )
    return _dashboard("bakhmach-platform", "Platform overview", ["platform"], layout.panels)


def generated() -> dict[str, str]:
    """File name -> JSON text, as committed under `dashboards/`."""
    files = {f"{c.slug}.json": context_dashboard(c) for c in seed.BUSINESS_CONTEXTS}
    files[f"{PLATFORM_OVERVIEW}.json"] = platform_dashboard()
    return {name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in files.items()}


def committed() -> dict[str, str]:
    """The dashboards Grafana loads: the repository's JSON files."""
    return {path.name: path.read_text() for path in sorted(DASHBOARD_DIR.glob("*.json"))}
