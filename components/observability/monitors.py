"""What Prometheus scrapes: one ServiceMonitor or PodMonitor per target, in the target's namespace.

Targets come from the service specs (every context service), from the data layer's in-cluster
operators (`exporters.data_scrape_targets`), and from whatever the composition passes in: the
gateway, the mesh and Keycloak add theirs when they land (`ObservabilityArgs.extra_targets`).
A target in a fenced (default-deny) namespace also gets a NetworkPolicy that lets only the
Prometheus pods reach its metrics port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.labels import instance_of, standard_labels
from components.network_policies import tcp_ports
from components.observability.endpoints import TELEMETRY_ACCESS
from settings.model import ServiceSpec
from settings.observability import SCRAPE_INTERVAL


@dataclass(frozen=True)
class ScrapeTarget:
    name: str
    namespace: str
    kind: Literal["ServiceMonitor", "PodMonitor"]
    match_labels: dict[str, str]
    port: str  # the Service's or container's port name
    context: str
    environment: str
    path: str = "/metrics"
    # Fenced namespaces: the port number the NetworkPolicy opens to Prometheus.
    fenced_port: int | None = None
    # A PodMonitor on a port number rather than a named port (the mesh agent declares none).
    port_number: int | None = None
    relabelings: tuple[dict[str, object], ...] = ()
    # What must exist first (the namespace, the operator that creates the pods).
    dependencies: tuple[pulumi.Resource, ...] = field(default=(), compare=False)


# The sidecar agent's port and path (components/mesh/endpoints.py; not imported: the mesh's
# component imports this package's endpoints).
MESH_AGENT_PORT = 15020
MESH_METRICS_PATH = "/stats/prometheus"
# Under a canary the stable pods are `<name>-primary` (Flagger renames the selector label): the
# `service` label every context rule groups by stays the service's name for both.
SERVICE_LABEL_FROM_POD: dict[str, object] = {
    "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
    "regex": "(.+?)(-primary)?",
    "targetLabel": "service",
    "replacement": "$1",
    "action": "replace",
}


def service_scrape_target(spec: ServiceSpec, meshed: bool = False) -> ScrapeTarget:
    """A context service: its ClusterIP Service's `http` port, the framework's metrics path. In
    the mesh its port speaks mTLS only, so Prometheus scrapes the pods' sidecar agent, which
    serves the app's metrics (from the pod's `prometheus.io/*` annotations) merged with Envoy's
    `istio_*` series: the service's pods by their instance label, primary and canary alike."""
    if meshed:
        return ScrapeTarget(
            name=spec.name,
            namespace=spec.context,
            kind="PodMonitor",
            match_labels=instance_of(spec.name, spec.environment),
            port="",
            port_number=MESH_AGENT_PORT,
            context=spec.context,
            environment=spec.environment,
            path=MESH_METRICS_PATH,
            relabelings=(SERVICE_LABEL_FROM_POD,),
        )
    return ScrapeTarget(
        name=spec.name,
        namespace=spec.context,
        kind="ServiceMonitor",
        match_labels={"app.kubernetes.io/name": spec.name},
        port="http",
        context=spec.context,
        environment=spec.environment,
        path=spec.probes.metrics_path,
    )


def build_monitor(
    resource_name: str, target: ScrapeTarget, after: list[pulumi.Resource], parent: pulumi.Resource
) -> k8s.apiextensions.CustomResource:
    labels = standard_labels(context=target.context, environment=target.environment, component="monitoring")
    endpoint: dict[str, object] = {
        **({"portNumber": target.port_number} if target.port_number is not None else {"port": target.port}),
        "path": target.path,
        # The seed's 30 s, stated on each target too, so no target drifts from Prometheus's default.
        "interval": SCRAPE_INTERVAL,
        **({"relabelings": [dict(r) for r in target.relabelings]} if target.relabelings else {}),
    }
    selector = {"matchLabels": dict(target.match_labels)}
    if target.kind == "ServiceMonitor":
        spec: dict[str, object] = {
            "selector": selector,
            "namespaceSelector": {"matchNames": [target.namespace]},
            "endpoints": [endpoint],
            # The context's alert rules and dashboards select series by `service`.
            "jobLabel": "app.kubernetes.io/name",
        }
    else:
        spec = {
            "selector": selector,
            "namespaceSelector": {"matchNames": [target.namespace]},
            "podMetricsEndpoints": [endpoint],
        }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="monitoring.coreos.com/v1",
        kind=target.kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=target.name, namespace=target.namespace, labels=labels),
        spec=spec,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, *target.dependencies]),
    )


def allow_prometheus(
    resource_name: str,
    namespace: str,
    ports: tuple[int, ...],
    context: str,
    environment: str,
    after: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> k8s.networking.v1.NetworkPolicy:
    """In a default-deny namespace: Prometheus, and only Prometheus, reaches the metrics ports."""
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name="allow-from-prometheus",
            namespace=namespace,
            labels=standard_labels(context=context, environment=environment),
        ),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[TELEMETRY_ACCESS.scraper.peer()], ports=tcp_ports(*sorted(set(ports)))
                )
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
    )
