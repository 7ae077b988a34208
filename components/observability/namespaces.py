"""The observability namespaces, and the Pod Security level each one needs.

- `monitoring`: node-exporter reads the node's /proc and /sys through host namespaces and host
  paths, which only the `privileged` level allows (the chart's own pods elsewhere are
  restricted-compliant; `restricted` is audited and warned so anything new shows up);
- `telemetry`: the log shipper (Filebeat) reads /var/log/pods from every node as root: also
  `privileged`, with the same audit and warnings; Elasticsearch, Kibana and Jaeger run beside it;
- `elastic-system`: the ECK operator, `baseline` enforced, `restricted` warned.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.labels import PLATFORM_CONTEXT, standard_labels, ttl_label
from components.observability.endpoints import (
    ELASTIC_OPERATOR_NAMESPACE,
    MONITORING_NAMESPACE,
    TELEMETRY_NAMESPACE,
)
from settings.seed import Environment

LEVELS = {
    MONITORING_NAMESPACE: "privileged",
    TELEMETRY_NAMESPACE: "privileged",
    ELASTIC_OPERATOR_NAMESPACE: "baseline",
}


def observability_namespace(
    resource_name: str, name: str, environment: Environment, pod_security_version: str, parent: pulumi.Resource
) -> k8s.core.v1.Namespace:
    pss = {
        "pod-security.kubernetes.io/enforce": LEVELS[name],
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    } | {f"pod-security.kubernetes.io/{m}-version": pod_security_version for m in ("enforce", "audit", "warn")}
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            labels=standard_labels(context=PLATFORM_CONTEXT, environment=environment, component="observability") | pss,
            annotations={"bakhmach.io/ttl": ttl_label(environment)},
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
