"""Metrics, alerts and dashboards: kube-prometheus-stack, with the seed's numbers in its values.

One Helm release (`v3.Release`, so the values are in the plan) runs the Prometheus operator,
Prometheus (scrape every 30 s, keep 15 days, `retentionSize` at 85% of the volume as the guard),
Alertmanager (routes in `alerting.py`), Grafana (dashboards from the repository's JSON through
its sidecar), kube-state-metrics and node-exporter. Prometheus selects every ServiceMonitor,
PodMonitor and PrometheusRule in the cluster, not only the chart's own (the `*NilUsesHelmValues`
switches), so the stack's monitors in the context and data namespaces are picked up.

The managed control planes (EKS, AKS) expose no scheduler, controller-manager or etcd metrics,
and kind binds them to localhost: those scrapers and their rules are off everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.observability.alerting import ON_CALL_SECRET, alertmanager_config, routes_to_on_call
from components.observability.endpoints import TELEMETRY_NAMESPACE
from settings.observability import ObservabilitySpec

RELEASE_NAME = "kube-prometheus-stack"
GRAFANA_ADMIN_SECRET = "grafana-admin"
DASHBOARD_LABEL = "grafana_dashboard"
JAEGER_QUERY_PORT = 16686


@dataclass(frozen=True)
class GrafanaLogin:
    """Grafana's single sign-on through an OpenID Connect provider (Keycloak, components/identity.py).
    `client_secret_ref` names a Secret in the monitoring namespace with the key `client-secret`;
    with `client_secret` the Observability component creates it. The browser is sent to
    `issuer_url`; Grafana itself calls `backchannel_url` (the realm's in-cluster address) for the
    token and user info, since the public name may not resolve inside the cluster."""

    issuer_url: str
    client_id: str
    client_secret_ref: str
    admin_role: str = "platform-admin"
    client_secret: Any = None
    backchannel_url: str | None = None


def _resources(cpu: str, memory: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}


def _volume(size_gib: int, storage_class: str) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gib}Gi"}},
            }
        }
    }


def backup_state_metrics(in_cluster: tuple[str, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """kube-state-metrics' custom-resource metrics for the operators' backup objects:
    `bakhmach_backup_created_timestamp_seconds{database, namespace, cluster, phase}`, which the
    backup alerts read. Only the kinds whose operator this cluster runs (their CRDs exist)."""
    kinds = []
    rules = []
    if "postgres" in in_cluster:
        kinds.append(("postgresql.cnpg.io", "Backup", "postgres", ["spec", "cluster", "name"], ["status", "phase"]))
        rules.append({"apiGroups": ["postgresql.cnpg.io"], "resources": ["backups"], "verbs": ["list", "watch"]})
    if "mongo" in in_cluster:
        kinds.append(
            ("psmdb.percona.com", "PerconaServerMongoDBBackup", "mongo", ["spec", "clusterName"], ["status", "state"])
        )
        rules.append(
            {
                "apiGroups": ["psmdb.percona.com"],
                "resources": ["perconaservermongodbbackups"],
                "verbs": ["list", "watch"],
            }
        )
    resources = [
        {
            "groupVersionKind": {"group": group, "version": "v1", "kind": kind},
            "metricNamePrefix": "bakhmach_backup",
            "commonLabels": {"database": database},
            "labelsFromPath": {"namespace": ["metadata", "namespace"], "cluster": cluster, "phase": phase},
            "metrics": [
                {
                    "name": "created_timestamp_seconds",
                    "help": "When the backup was started (its object's creation), by phase",
                    "each": {
                        "type": "Gauge",
                        "gauge": {"path": ["metadata"], "valueFrom": ["creationTimestamp"]},
                    },
                }
            ],
        }
        for group, kind, database, cluster, phase in kinds
    ]
    return {"kind": "CustomResourceStateMetrics", "spec": {"resources": resources}}, rules


def kube_prometheus_stack_values(
    spec: ObservabilitySpec,
    *,
    cluster_name: str,
    contexts: tuple[str, ...],
    priority_class: str | None = None,
    grafana_login: GrafanaLogin | None = None,
) -> dict[str, Any]:
    size = spec.sizes.metrics
    hot = spec.storage_classes["hot"]
    priority = {"priorityClassName": priority_class} if priority_class else {}
    alertmanager_spec: dict[str, Any] = {
        "replicas": size.alertmanager_replicas,
        "retention": "120h",
        "resources": _resources(size.alertmanager.cpu, size.alertmanager.memory),
        "storage": _volume(2, hot),
        **priority,
    }
    if routes_to_on_call(spec.on_call):
        alertmanager_spec["secrets"] = [ON_CALL_SECRET]
    crs_config, crs_rules = backup_state_metrics(spec.in_cluster_data)
    kube_state_metrics: dict[str, Any] = {}
    if crs_config["spec"]["resources"]:
        kube_state_metrics = {
            "customResourceState": {"enabled": True, "config": crs_config},
            "rbac": {"extraRules": crs_rules},
        }
    grafana_ini: dict[str, Any] = {
        "analytics": {"check_for_updates": False, "reporting_enabled": False},
        "users": {"allow_sign_up": False},
    }
    grafana_env: dict[str, Any] = {}
    if grafana_login is not None:
        grafana_ini["auth.generic_oauth"] = {
            "enabled": True,
            "name": "Keycloak",
            "client_id": grafana_login.client_id,
            "client_secret": "$__env{GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET}",
            "scopes": "openid profile email roles",
            "auth_url": f"{grafana_login.issuer_url}/protocol/openid-connect/auth",
            "token_url": f"{grafana_login.backchannel_url or grafana_login.issuer_url}/protocol/openid-connect/token",
            "api_url": f"{grafana_login.backchannel_url or grafana_login.issuer_url}/protocol/openid-connect/userinfo",
            "role_attribute_path": f"contains(roles[*], '{grafana_login.admin_role}') && 'Admin' || 'Viewer'",
            "use_pkce": True,
        }
        grafana_env = {
            "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET": {
                "secretKeyRef": {"name": grafana_login.client_secret_ref, "key": "client-secret"}
            }
        }
    return {
        "crds": {"enabled": True},
        "windowsMonitoring": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "defaultRules": {
            "create": True,
            "rules": {
                "etcd": False,
                "kubeControllerManager": False,
                "kubeSchedulerAlerting": False,
                "kubeSchedulerRecording": False,
                "kubeProxy": False,
                "windows": False,
                # The stack's own volume rules (rules.py) replace these, with the settings' threshold.
                "kubernetesStorage": False,
            },
        },
        "prometheus": {
            "prometheusSpec": {
                "scrapeInterval": spec.scrape_interval,
                "evaluationInterval": spec.scrape_interval,
                "retention": spec.metrics_retention,
                "retentionSize": spec.metrics_retention_size,
                "replicas": size.prometheus_replicas,
                "resources": _resources(size.prometheus.cpu, size.prometheus.memory),
                "storageSpec": _volume(spec.metrics_storage_gib, hot),
                "externalLabels": {"cluster": cluster_name, "environment": spec.environment},
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "serviceMonitorNamespaceSelector": {},
                "podMonitorNamespaceSelector": {},
                "ruleNamespaceSelector": {},
                **priority,
            }
        },
        "alertmanager": {
            "config": alertmanager_config(spec.on_call, contexts),
            "alertmanagerSpec": alertmanager_spec,
        },
        "grafana": {
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "resources": _resources(size.grafana.cpu, size.grafana.memory),
            "grafana.ini": grafana_ini,
            **({"envValueFrom": grafana_env} if grafana_env else {}),
            "sidecar": {
                "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1", "searchNamespace": "ALL"}
            },
            "additionalDataSources": [
                {
                    "name": "Jaeger",
                    "uid": "jaeger",
                    "type": "jaeger",
                    "access": "proxy",
                    "url": f"http://jaeger-query.{TELEMETRY_NAMESPACE}.svc.cluster.local:{JAEGER_QUERY_PORT}",
                    "editable": False,
                }
            ],
            **priority,
        },
        "kube-state-metrics": {**kube_state_metrics, **priority},
        "prometheus-node-exporter": {**priority},
        # The operator, and the hook Jobs that issue its admission webhook's certificate before
        # the chart's other objects (the webhook's own Deployment is off by default).
        "prometheusOperator": {"admissionWebhooks": {"patch": {**priority}}, **priority},
    }
