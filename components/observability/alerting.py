"""How an alert reaches on-call: Alertmanager's routes and receivers.

Routes by severity, then by context: `critical` pages (repeated hourly while it fires),
`warning` notifies at low urgency (repeated every 12 h), `info` and the Watchdog heartbeat go
nowhere. Under each severity every context has its own route, grouped by alert name, so one
context's incident never hides another's and a context can get its own receiver later by
changing one route. A critical alert silences the warnings of the same alert in the same context.

The receiver's endpoint is never in the configuration: it is a stack secret, put into the
Kubernetes Secret `alertmanager-on-call` (mounted by Alertmanager) and read through the `*_file`
fields, so neither the chart's values nor the plan carry it. Dev routes nowhere by default.
"""

from __future__ import annotations

from typing import Any

from settings.observability import OnCall

ON_CALL_SECRET = "alertmanager-on-call"
ON_CALL_SECRET_KEY = "endpoint"
# prometheus-operator mounts each listed Secret at /etc/alertmanager/secrets/<name>/.
ON_CALL_ENDPOINT_FILE = f"/etc/alertmanager/secrets/{ON_CALL_SECRET}/{ON_CALL_SECRET_KEY}"
NULL = "null"
SEVERITIES = {"critical": "1h", "warning": "12h"}

_TITLE = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.context }})"
_TEXT = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}"


def receiver_name(severity: str) -> str:
    return f"on-call-{severity}"


def _receiver(on_call: OnCall, severity: str) -> dict[str, Any]:
    name = receiver_name(severity)
    if on_call.receiver == "pagerduty":
        return {
            "name": name,
            "pagerduty_configs": [
                {
                    "routing_key_file": ON_CALL_ENDPOINT_FILE,
                    "severity": severity,
                    "component": "{{ .CommonLabels.context }}",
                    "group": "{{ .CommonLabels.context }}",
                    "send_resolved": True,
                }
            ],
        }
    if on_call.receiver == "slack":
        return {
            "name": name,
            "slack_configs": [
                {"api_url_file": ON_CALL_ENDPOINT_FILE, "title": _TITLE, "text": _TEXT, "send_resolved": True}
            ],
        }
    # Teams through a Power Automate workflow webhook (Office 365 connectors are retired).
    return {
        "name": name,
        "msteamsv2_configs": [
            {"webhook_url_file": ON_CALL_ENDPOINT_FILE, "title": _TITLE, "text": _TEXT, "send_resolved": True}
        ],
    }


def routes_to_on_call(on_call: OnCall) -> bool:
    return on_call.receiver != "none"


def alertmanager_config(on_call: OnCall, contexts: tuple[str, ...]) -> dict[str, Any]:
    paging = routes_to_on_call(on_call)
    receivers: list[dict[str, Any]] = [{"name": NULL}]
    routes: list[dict[str, Any]] = [{"receiver": NULL, "matchers": ['alertname =~ "Watchdog|InfoInhibitor"']}]
    for severity, repeat in SEVERITIES.items():
        target = receiver_name(severity) if paging else NULL
        if paging:
            receivers.append(_receiver(on_call, severity))
        routes.append(
            {
                "receiver": target,
                "matchers": [f'severity = "{severity}"'],
                "group_by": ["alertname", "context", "namespace"],
                "repeat_interval": repeat,
                "routes": [
                    {
                        "receiver": target,
                        "matchers": [f'context = "{context}"'],
                        "group_by": ["alertname", "context"],
                    }
                    for context in contexts
                ],
            }
        )
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": NULL,
            "group_by": ["alertname", "context", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity =~ "warning|info"'],
                "equal": ["alertname", "context", "namespace"],
            },
            {
                "source_matchers": ['severity = "warning"'],
                "target_matchers": ['severity = "info"'],
                "equal": ["alertname", "context", "namespace"],
            },
            # An almost full volume says all that the filling-up warning would.
            {
                "source_matchers": ['alertname = "PersistentVolumeAlmostFull"'],
                "target_matchers": ['alertname = "PersistentVolumeFillingUp"'],
                "equal": ["namespace", "persistentvolumeclaim"],
            },
        ],
        "receivers": receivers,
    }
