"""Where the observability stack lives, and what other namespaces open for it.

Fixed names, so the namespaces built before the stack (the contexts, the data namespace) can
let Prometheus in and OTLP out without waiting for the stack's resources: data flows one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi_kubernetes as k8s

from settings.model import ServiceSpec
from settings.observability import TRACE_PROPAGATORS, ObservabilitySpec

MONITORING_NAMESPACE = "monitoring"  # Prometheus, Alertmanager, Grafana (kube-prometheus-stack)
TELEMETRY_NAMESPACE = "telemetry"  # Elasticsearch, Kibana, the log shipper, Jaeger
ELASTIC_OPERATOR_NAMESPACE = "elastic-system"

# prometheus-operator labels every Prometheus pod with the component's name.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
JAEGER_POD_LABELS = {"app.kubernetes.io/name": "jaeger"}
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
JAEGER_COLLECTOR_SERVICE = "jaeger-collector"
# OTLP over HTTP/protobuf: the one protocol every OpenTelemetry SDK of the matrix's frameworks
# (Python, Java, Node.js, Go) exports by default or supports without an extra gRPC dependency.
OTLP_ENDPOINT = f"http://{JAEGER_COLLECTOR_SERVICE}.{TELEMETRY_NAMESPACE}.svc.cluster.local:{OTLP_HTTP_PORT}"
# The mesh's sidecars export their spans over OTLP/gRPC (Istio's OpenTelemetry tracing provider).
OTLP_GRPC_COLLECTOR = (f"{JAEGER_COLLECTOR_SERVICE}.{TELEMETRY_NAMESPACE}.svc.cluster.local", OTLP_GRPC_PORT)
# Prometheus's query API: the operator's governing Service of every Prometheus it runs.
PROMETHEUS_URL = f"http://prometheus-operated.{MONITORING_NAMESPACE}.svc.cluster.local:9090"


@dataclass(frozen=True)
class PodPeer:
    """Pods of one namespace, as a NetworkPolicy peer."""

    namespace: str
    pod_labels: dict[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()

    def peer(self) -> k8s.networking.v1.NetworkPolicyPeerArgs:
        return k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"kubernetes.io/metadata.name": self.namespace}
            ),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.pod_labels)),
        )


@dataclass(frozen=True)
class TelemetryAccess:
    """What a fenced (default-deny) namespace opens for observability: Prometheus may scrape its
    services' metrics port, and its pods may send OTLP to the trace collector; nothing else."""

    scraper: PodPeer
    otlp: PodPeer


TELEMETRY_ACCESS = TelemetryAccess(
    scraper=PodPeer(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS),
    otlp=PodPeer(TELEMETRY_NAMESPACE, JAEGER_POD_LABELS, (OTLP_GRPC_PORT, OTLP_HTTP_PORT)),
)


def service_telemetry_env(spec: ServiceSpec, observability: ObservabilitySpec) -> tuple[tuple[str, str], ...]:
    """The OpenTelemetry SDK's standard environment for one service: where to send spans, 5% head
    sampling that follows the caller's decision (`parentbased_traceidratio`), W3C trace context.
    Metrics are scraped (Prometheus) and logs go to stdout as JSON (the node's shipper), so the
    SDK exports neither."""
    attributes = ",".join(
        (
            f"service.namespace={spec.context}",
            f"deployment.environment.name={spec.environment}",
            f"bakhmach.context={spec.context}",
        )
    )
    return (
        ("OTEL_SERVICE_NAME", spec.name),
        ("OTEL_RESOURCE_ATTRIBUTES", attributes),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP_ENDPOINT),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", f"{observability.trace_sample_ratio:g}"),
        ("OTEL_PROPAGATORS", TRACE_PROPAGATORS),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    )
