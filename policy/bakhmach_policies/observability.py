"""Observability policies: every context service is scraped, Prometheus keeps the seed's interval
and retention, and logs are kept at least 30 and at most 90 days.

What the pack sees: ServiceMonitors/PodMonitors, Services and Deployments (first-class objects),
the kube-prometheus-stack release's values or a `Prometheus` resource, and the ILM policies the
stack applies (a ConfigMap labelled `bakhmach.io/ilm-policies`, which a Job PUTs through the
Elasticsearch API) together with what the log shipper writes with (the ECK `Beat`'s
`setup.ilm.policy_name`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    cluster_of,
    get,
    group_of,
    items,
    kubernetes_objects,
    labels,
    name,
    namespace,
    object_ref,
    pod_template_labels,
    selector_matches,
    stack_policy,
)

MONITORING = "monitoring.coreos.com"
KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"
_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def prometheus_duration(value: Any) -> float | None:
    """A Prometheus duration ('30s', '1m', '15d', '2w', '1h30m') in seconds."""
    text = str(value or "")
    parts = re.findall(r"(\d+)(ms|y|w|d|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _objects(resources: list[PolicyResource], kind: str) -> list[PolicyResource]:
    return [r for r in kubernetes_objects(resources) if r.props.get("kind") == kind]


def _monitors(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [
        r
        for r in kubernetes_objects(resources)
        if group_of(r.resource_type) == MONITORING and r.props.get("kind") in ("ServiceMonitor", "PodMonitor")
    ]


def _endpoints(monitor: PolicyResource) -> list[Any]:
    key = "endpoints" if monitor.props.get("kind") == "ServiceMonitor" else "podMetricsEndpoints"
    return items(get(monitor.props, "spec", key))


def _watches(monitor: PolicyResource, ns: str | None) -> bool:
    selector = get(monitor.props, "spec", "namespaceSelector", default={})
    if get(selector, "any"):
        return True
    names = items(get(selector, "matchNames"))
    return ns in names if names else namespace(monitor.props) == ns


def _scraped(workload: PolicyResource, monitors: list[PolicyResource], services: list[PolicyResource]) -> bool:
    pod_labels = pod_template_labels(workload.props)
    ns = namespace(workload.props)
    for monitor in monitors:
        if cluster_of(monitor) != cluster_of(workload) or not _watches(monitor, ns) or not _endpoints(monitor):
            continue
        selector = get(monitor.props, "spec", "selector")
        if monitor.props.get("kind") == "PodMonitor" and selector_matches(selector, pod_labels):
            return True
        if monitor.props.get("kind") == "ServiceMonitor":
            for svc in services:
                if cluster_of(svc) != cluster_of(workload) or namespace(svc.props) != ns:
                    continue
                svc_selector = get(svc.props, "spec", "selector", default={})
                selects_pods = bool(svc_selector) and all(pod_labels.get(k) == v for k, v in svc_selector.items())
                if selects_pods and selector_matches(selector, labels(svc.props)):
                    return True
    return False


def _check_scraped(args: StackValidationArgs, report: ReportViolation) -> None:
    monitors = _monitors(args.resources)
    services = _objects(args.resources, "Service")
    for workload in kubernetes_objects(args.resources):
        if workload.props.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        if namespace(workload.props) not in seed.CONTEXTS:
            continue
        if not _scraped(workload, monitors, services):
            report(
                f"{object_ref(workload.props)} is not scraped: no ServiceMonitor selects a Service of its pods, and "
                "no PodMonitor selects its pods, in its namespace",
                workload.urn,
            )


def _prometheus_specs(resources: list[PolicyResource]) -> list[tuple[PolicyResource, Mapping[str, Any]]]:
    found = []
    for r in resources:
        if r.resource_type.startswith("kubernetes:helm.sh/") and r.props.get("chart") == KUBE_PROMETHEUS_STACK:
            found.append((r, get(r.props, "values", "prometheus", "prometheusSpec", default={})))
        elif group_of(r.resource_type) == MONITORING and r.props.get("kind") == "Prometheus":
            found.append((r, get(r.props, "spec", default={})))
    return found


def _check_prometheus(args: StackValidationArgs, report: ReportViolation) -> None:
    interval = seed.SCRAPE_INTERVAL_SECONDS
    retention = seed.METRICS_RETENTION_SECONDS
    specs = _prometheus_specs(args.resources)
    for resource, spec in specs:
        for field, wanted in (("scrapeInterval", interval), ("evaluationInterval", interval), ("retention", retention)):
            value = spec.get(field) if isinstance(spec, Mapping) else None
            if prometheus_duration(value) != wanted:
                report(
                    f"Prometheus {field} is {value or 'unset (the chart default)'}; the seed says "
                    f"{'30 seconds' if wanted == interval else '15 days'}",
                    resource.urn,
                )
    for monitor in _monitors(args.resources):
        for endpoint in _endpoints(monitor):
            value = get(endpoint, "interval")
            if value is not None and prometheus_duration(value) != interval:
                report(f"{object_ref(monitor.props)} scrapes every {value}; the seed says 30 seconds", monitor.urn)
    # Every cluster that runs context services runs a Prometheus.
    with_prometheus = {cluster_of(r) for r, _ in specs}
    reported: set[str | None] = set()
    for ns in kubernetes_objects(args.resources):
        if ns.props.get("kind") != "Namespace" or name(ns.props) not in seed.CONTEXTS:
            continue
        cluster = cluster_of(ns)
        if cluster not in with_prometheus and cluster not in reported:
            reported.add(cluster)
            report("this cluster runs context services but no Prometheus (kube-prometheus-stack)", cluster)


def _ilm_policies(resources: list[PolicyResource]) -> dict[tuple[str | None, str], tuple[PolicyResource, Any]]:
    found: dict[tuple[str | None, str], tuple[PolicyResource, Any]] = {}
    for config in _objects(resources, "ConfigMap"):
        if labels(config.props).get(seed.ILM_POLICIES_LABEL) != "true":
            continue
        for key, text in (get(config.props, "data", default={}) or {}).items():
            try:
                body = json.loads(str(text))
            except ValueError:
                body = None
            found[(cluster_of(config), str(key).removesuffix(".json"))] = (config, body)
    return found


def _delete_days(body: Any) -> float | None:
    min_age = get(body, "policy", "phases", "delete", "min_age")
    seconds = prometheus_duration(min_age)
    return None if seconds is None else seconds / 86400


def _check_log_retention(args: StackValidationArgs, report: ReportViolation) -> None:
    low, high = seed.LOG_RETENTION_MIN_DAYS, seed.LOG_RETENTION_MAX_DAYS
    policies = _ilm_policies(args.resources)
    for (_, policy_name), (config, body) in policies.items():
        days = _delete_days(body)
        if days is None:
            report(
                f"ILM policy {policy_name} in {object_ref(config.props)} never deletes (no delete phase)", config.urn
            )
        elif not low <= days <= high:
            report(
                f"ILM policy {policy_name} deletes logs after {days:g} days; the seed keeps logs at least {low} and "
                f"at most {high} days",
                config.urn,
            )
    stores = {cluster_of(r): r for r in kubernetes_objects(args.resources) if r.props.get("kind") == "Elasticsearch"}
    for cluster, store in stores.items():
        if not any(key[0] == cluster for key in policies):
            report(
                f"{object_ref(store.props)} holds logs but the stack applies no ILM policy to them "
                f"(a ConfigMap labelled {seed.ILM_POLICIES_LABEL})",
                store.urn,
            )
    for beat in kubernetes_objects(args.resources):
        if beat.props.get("kind") != "Beat" or get(beat.props, "spec", "type") != "filebeat":
            continue
        config = get(beat.props, "spec", "config", default={})
        # Beats read dotted keys and nested maps alike.
        used = get(config, "setup.ilm.policy_name") or get(config, "setup", "ilm", "policy_name")
        if (cluster_of(beat), str(used)) not in policies:
            shown = used or "unset (the shipper's default, which never deletes)"
            report(
                f"{object_ref(beat.props)} writes with ILM policy {shown}, which the stack does not apply",
                beat.urn,
            )


POLICIES = [
    stack_policy(
        "context-services-scraped",
        "Every Deployment/StatefulSet in a context namespace is scraped by Prometheus: a ServiceMonitor selects a "
        "Service of its pods, or a PodMonitor selects its pods.",
        _check_scraped,
    ),
    stack_policy(
        "prometheus-retention-and-interval",
        "Prometheus scrapes and evaluates every 30 seconds and keeps 15 days (kube-prometheus-stack values or a "
        "Prometheus resource), no monitor overrides the interval, and every cluster with context services runs one.",
        _check_prometheus,
    ),
    stack_policy(
        "log-retention-30-90",
        "Every ILM policy the stack applies deletes logs after 30 to 90 days, every Elasticsearch that holds logs "
        "gets one, and the log shipper writes with one of them.",
        _check_log_retention,
    ),
]
