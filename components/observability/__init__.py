"""`Observability`: metrics, alerts, dashboards, logs and traces for one cluster.

- metrics, alerts and dashboards: kube-prometheus-stack (metrics.py, alerting.py, rules.py,
  dashboards.py), a ServiceMonitor per context service and a monitor per extra target
  (monitors.py; the data services' from exporters.py);
- logs: ECK's Elasticsearch and Kibana, Filebeat on every node, the 30/90-day lifecycle
  (logging.py); off by default in dev;
- traces: Jaeger v2 receiving OTLP, 72 hours (tracing.py); the services' SDK settings come from
  `endpoints.service_telemetry_env`.

Seams for later issues: `extra_targets` (the gateway, the mesh and Keycloak add their monitors),
`grafana_login` (Keycloak as Grafana's login), `priority_class` (the platform-critical class).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import versions
from components.labels import PLATFORM_CONTEXT, standard_labels
from components.observability.alerting import ON_CALL_SECRET, ON_CALL_SECRET_KEY, routes_to_on_call
from components.observability.dashboards import committed
from components.observability.endpoints import (
    ELASTIC_OPERATOR_NAMESPACE,
    JAEGER_POD_LABELS,
    MONITORING_NAMESPACE,
    OTLP_GRPC_COLLECTOR,
    PROMETHEUS_URL,
    TELEMETRY_ACCESS,
    TELEMETRY_NAMESPACE,
    TelemetryAccess,
    service_telemetry_env,
)
from components.observability.logging import build_logging
from components.observability.metrics import (
    DASHBOARD_LABEL,
    GRAFANA_ADMIN_SECRET,
    RELEASE_NAME,
    GrafanaLogin,
    kube_prometheus_stack_values,
)
from components.observability.monitors import ScrapeTarget, allow_prometheus, build_monitor, service_scrape_target
from components.observability.namespaces import observability_namespace
from components.observability.rules import context_rules, platform_rules
from components.observability.tracing import build_tracing
from settings.model import ServiceSpec
from settings.observability import ObservabilitySpec

__all__ = [
    "OTLP_GRPC_COLLECTOR",
    "PROMETHEUS_URL",
    "TELEMETRY_ACCESS",
    "GrafanaLogin",
    "Observability",
    "ObservabilityArgs",
    "ScrapeTarget",
    "TelemetryAccess",
    "service_telemetry_env",
]


@dataclass(frozen=True)
class ObservabilityArgs:
    spec: ObservabilitySpec
    cluster_name: str
    pod_security_version: str
    # Every context (namespace) in seed order, and the services that run in them.
    contexts: tuple[str, ...]
    services: tuple[ServiceSpec, ...]
    # The context namespaces: each service's monitor waits for its namespace.
    namespaces: dict[str, pulumi.Resource]
    # The on-call receiver's endpoint (a stack secret); None where alerts route nowhere (dev),
    # or in a preview of a stack whose endpoint is not set yet (the deployment refuses).
    on_call_endpoint: pulumi.Input[str] | None = None
    extra_targets: tuple[ScrapeTarget, ...] = field(default=())
    priority_class: str | None = None
    # The PriorityClass objects: a pod naming a class that does not exist yet is refused at
    # admission, so everything that creates pods (the charts, the ECK resources, Jaeger, the
    # Jobs) waits for them itself, as the data layer's and the context services' workloads do.
    scheduling: tuple[pulumi.Resource, ...] = ()
    grafana_login: GrafanaLogin | None = None
    # The context services run in the mesh: Prometheus scrapes their sidecars (monitors.py).
    meshed: bool = False


class Observability(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Observability", name, None, opts)
        spec = args.spec
        env = spec.environment
        child = pulumi.ResourceOptions(parent=self)
        monitoring = observability_namespace(
            f"{name}-monitoring", MONITORING_NAMESPACE, env, args.pod_security_version, self
        )
        telemetry = observability_namespace(
            f"{name}-telemetry", TELEMETRY_NAMESPACE, env, args.pod_security_version, self
        )
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="monitoring")
        in_monitoring = pulumi.ResourceOptions(parent=self, depends_on=[monitoring])

        def meta(object_name: str, extra: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=MONITORING_NAMESPACE, labels=labels | (extra or {})
            )

        admin_password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False, opts=child)
        secrets: list[pulumi.Resource] = [
            k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata=meta(GRAFANA_ADMIN_SECRET),
                string_data={"admin-user": "admin", "admin-password": admin_password.result},
                opts=in_monitoring,
            )
        ]
        login = args.grafana_login
        if login is not None and login.client_secret is not None:
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-grafana-oidc",
                    metadata=meta(login.client_secret_ref),
                    string_data={"client-secret": pulumi.Output.secret(login.client_secret)},
                    opts=in_monitoring,
                )
            )
        if routes_to_on_call(spec.on_call):
            # Without an endpoint only a preview gets here (settings refuse to deploy): the Secret
            # is shown as it will exist, its value unknown until the endpoint is set.
            endpoint = args.on_call_endpoint if args.on_call_endpoint is not None else ""
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-on-call",
                    metadata=meta(ON_CALL_SECRET),
                    string_data={ON_CALL_SECRET_KEY: pulumi.Output.secret(endpoint)},
                    opts=in_monitoring,
                )
            )
        self.release = versions.KUBE_PROMETHEUS_STACK.release(
            f"{name}-kube-prometheus-stack",
            name=RELEASE_NAME,
            namespace=MONITORING_NAMESPACE,
            values=kube_prometheus_stack_values(
                spec,
                cluster_name=args.cluster_name,
                contexts=args.contexts,
                priority_class=args.priority_class,
                grafana_login=args.grafana_login,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[monitoring, *secrets, *args.scheduling]),
        )
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[monitoring, self.release])

        for file_name, text in committed().items():
            slug = file_name.removesuffix(".json")
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{slug}",
                metadata=meta(f"dashboard-{slug}", {DASHBOARD_LABEL: "1"}),
                data={file_name: text},
                opts=in_monitoring,
            )

        by_context: dict[str, list[ServiceSpec]] = {}
        for svc in args.services:
            by_context.setdefault(svc.context, []).append(svc)
        rule_sets = {
            f"context-{context}": context_rules(context, tuple(by_context[context]), spec)
            for context in args.contexts
            if context in by_context
        }
        rule_sets["platform"] = platform_rules(spec)
        for rule_name, rule_spec in rule_sets.items():
            k8s.apiextensions.CustomResource(
                f"{name}-rules-{rule_name}",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=meta(rule_name),
                spec=rule_spec,
                opts=after_release,
            )

        # Every context service is scraped: its monitor lives beside it, once its namespace exists.
        for svc in args.services:
            build_monitor(
                f"{name}-monitor-{svc.name}",
                service_scrape_target(svc, meshed=args.meshed),
                [self.release, args.namespaces[svc.context]],
                self,
            )
        fenced: dict[str, list[ScrapeTarget]] = {}
        for target in args.extra_targets:
            build_monitor(f"{name}-monitor-{target.namespace}-{target.name}", target, [self.release], self)
            if target.fenced_port is not None:
                fenced.setdefault(target.namespace, []).append(target)
        for namespace, targets in fenced.items():
            allow_prometheus(
                f"{name}-allow-prometheus-{namespace}",
                namespace,
                tuple(t.fenced_port for t in targets if t.fenced_port is not None),
                targets[0].context,
                env,
                [dep for t in targets for dep in t.dependencies],
                self,
            )

        elasticsearch: list[pulumi.Resource] = []
        if spec.logging_enabled:
            operator_namespace = observability_namespace(
                f"{name}-elastic-system", ELASTIC_OPERATOR_NAMESPACE, env, args.pod_security_version, self
            )
            logging = build_logging(
                name,
                spec,
                telemetry_namespace=telemetry,
                operator_namespace=operator_namespace,
                priority_class=args.priority_class,
                scheduling=args.scheduling,
                parent=self,
            )
            elasticsearch = [logging.elasticsearch, *([logging.jaeger_user] if logging.jaeger_user else [])]
        tracing = build_tracing(
            name,
            spec,
            telemetry_namespace=telemetry,
            elasticsearch=elasticsearch,
            priority_class=args.priority_class,
            scheduling=args.scheduling,
            parent=self,
        )
        build_monitor(
            f"{name}-monitor-jaeger",
            ScrapeTarget(
                name="jaeger",
                namespace=TELEMETRY_NAMESPACE,
                kind="ServiceMonitor",
                match_labels=dict(JAEGER_POD_LABELS),
                port="metrics",
                context=PLATFORM_CONTEXT,
                environment=env,
            ),
            [self.release, tracing.collector],
            self,
        )
        self.register_outputs(
            {
                "monitoringNamespace": MONITORING_NAMESPACE,
                "telemetryNamespace": TELEMETRY_NAMESPACE,
                "logging": spec.logging_enabled,
                "onCall": spec.on_call.receiver,
            }
        )
