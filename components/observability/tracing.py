"""Traces: Jaeger v2 (an OpenTelemetry Collector distribution) receiving OTLP from the services.

Sampling happens at the source: every service's SDK gets `parentbased_traceidratio` at 5%
(`endpoints.service_telemetry_env`), so a trace is kept or dropped as a whole, following the
caller's W3C `traceparent` decision. Jaeger stores what arrives for 72 hours:
- dev: Jaeger's local Badger store on a volume, with a 72 h TTL (one replica: a laptop);
- staging/prod: the stack's Elasticsearch, so Jaeger itself is stateless and runs the
  environment's replicas behind a disruption budget. Jaeger writes hourly indices as its own
  file-realm user; a CronJob deletes every Jaeger index older than 72 hours each hour (Jaeger's
  es-index-cleaner takes the password only from a flag or an environment variable; the CronJob
  reads it from the mounted Secret instead).
The seed's "100% on errors" is not met by traces: head sampling decides before an error is
known. Errors are kept in full by the logs (every error line, with its trace id); keeping every
erroring trace needs tail sampling at a collector that sees whole traces (README, Operations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import versions
from components.labels import PLATFORM_CONTEXT, instance_of, standard_labels
from components.observability.elastic import (
    ES_CA_SECRET,
    ES_URL,
    RESTRICTED_CONTAINER,
    RESTRICTED_POD,
    curl_pod_spec,
)
from components.observability.endpoints import (
    JAEGER_COLLECTOR_SERVICE,
    JAEGER_POD_LABELS,
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    TELEMETRY_NAMESPACE,
)
from components.observability.logging import JAEGER_ES_USER, JAEGER_ES_USER_SECRET
from components.observability.metrics import JAEGER_QUERY_PORT
from settings.observability import ObservabilitySpec

METRICS_PORT = 8888
HEALTH_PORT = 13133
BADGER_MOUNT = "/badger"
STORE = "traces"


def jaeger_config(spec: ObservabilitySpec) -> dict[str, Any]:
    hours = spec.trace_retention_hours
    if spec.trace_store == "badger":
        backend: dict[str, Any] = {
            "badger": {
                "directories": {"keys": f"{BADGER_MOUNT}/keys", "values": f"{BADGER_MOUNT}/values"},
                "ephemeral": False,
                "ttl": {"spans": f"{hours}h"},
            }
        }
    else:
        # Hourly indices, so deleting whole indices older than 72 h keeps 72 to 73 hours of spans.
        hourly = {"rotation": {"periodic": {"date_layout": "2006-01-02-15", "rollover_frequency": "hour"}}}
        backend = {
            "elasticsearch": {
                "server_urls": [ES_URL],
                "auth": {"basic": {"username": JAEGER_ES_USER, "password_file": "/es-user/password"}},
                "tls": {"ca_file": "/es-ca/ca.crt"},
                "indices": {"spans": hourly, "services": hourly},
            }
        }
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {
                    "level": "detailed",
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": METRICS_PORT}}}}],
                },
                "logs": {"level": "info", "encoding": "json"},
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
            "jaeger_query": {"storage": {"traces": STORE}},
            "jaeger_storage": {"backends": {STORE: backend}},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": STORE}},
    }


@dataclass
class Tracing:
    deployment: k8s.apps.v1.Deployment
    collector: k8s.core.v1.Service


def build_tracing(
    name: str,
    spec: ObservabilitySpec,
    *,
    telemetry_namespace: k8s.core.v1.Namespace,
    elasticsearch: list[pulumi.Resource],
    priority_class: str | None,
    scheduling: tuple[pulumi.Resource, ...],
    parent: pulumi.Resource,
) -> Tracing:
    base_labels = standard_labels(context=PLATFORM_CONTEXT, environment=spec.environment, component="tracing")
    # The instance label is not in the selector: a Deployment's selector cannot change in place.
    labels = base_labels | JAEGER_POD_LABELS | instance_of("jaeger", spec.environment)
    selector = dict(JAEGER_POD_LABELS)
    size = spec.sizes.tracing
    inside = pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace])

    def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=TELEMETRY_NAMESPACE, labels=labels)

    config = k8s.core.v1.ConfigMap(
        f"{name}-jaeger-config",
        metadata=meta("jaeger-config"),
        data={"config.yaml": yaml.safe_dump(jaeger_config(spec), sort_keys=False)},
        opts=inside,
    )
    volumes = [
        k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name="jaeger-config")),
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")),
    ]
    mounts = [
        k8s.core.v1.VolumeMountArgs(name="config", mount_path="/etc/jaeger", read_only=True),
        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
    ]
    depends: list[pulumi.Resource] = [config]
    replicas = size.replicas
    if spec.trace_store == "badger":
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-jaeger-badger",
            metadata=meta("jaeger-badger"),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=spec.storage_classes["hot"],
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                    requests={"storage": f"{size.badger_storage_gib}Gi"}
                ),
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace], protect=spec.protect),
        )
        depends.append(claim)
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name="badger",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name="jaeger-badger"),
            )
        )
        mounts.append(k8s.core.v1.VolumeMountArgs(name="badger", mount_path=BADGER_MOUNT))
    else:
        depends.extend(elasticsearch)
        volumes += [
            k8s.core.v1.VolumeArgs(
                name="es-user",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=JAEGER_ES_USER_SECRET,
                    default_mode=0o440,
                    items=[k8s.core.v1.KeyToPathArgs(key="password", path="password")],
                ),
            ),
            k8s.core.v1.VolumeArgs(
                name="es-ca",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=ES_CA_SECRET,
                    default_mode=0o444,
                    items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")],
                ),
            ),
        ]
        mounts += [
            k8s.core.v1.VolumeMountArgs(name="es-user", mount_path="/es-user", read_only=True),
            k8s.core.v1.VolumeMountArgs(name="es-ca", mount_path="/es-ca", read_only=True),
        ]

    def probe(initial: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path="/status", port="health"),
            initial_delay_seconds=initial,
            period_seconds=10,
            timeout_seconds=2,
            failure_threshold=3,
        )

    ports = (
        ("otlp-grpc", OTLP_GRPC_PORT),
        ("otlp-http", OTLP_HTTP_PORT),
        ("query", JAEGER_QUERY_PORT),
        ("metrics", METRICS_PORT),
        ("health", HEALTH_PORT),
    )
    spread = None
    if replicas > 1:
        spread = [
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key=key,
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            )
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
    deployment = k8s.apps.v1.Deployment(
        f"{name}-jaeger",
        metadata=meta("jaeger"),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            # Badger's volume attaches to one pod at a time.
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="Recreate" if spec.trace_store == "badger" else "RollingUpdate"
            ),
            revision_history_limit=5,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(
                    priority_class_name=priority_class,
                    automount_service_account_token=False,
                    enable_service_links=False,
                    security_context=RESTRICTED_POD,
                    topology_spread_constraints=spread,
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="jaeger",
                            image=versions.JAEGER_IMAGE,
                            image_pull_policy="IfNotPresent",
                            args=["--config", "/etc/jaeger/config.yaml"],
                            ports=[
                                k8s.core.v1.ContainerPortArgs(name=port_name, container_port=port, protocol="TCP")
                                for port_name, port in ports
                            ],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": size.jaeger.cpu, "memory": size.jaeger.memory},
                                limits={"cpu": size.jaeger.cpu, "memory": size.jaeger.memory},
                            ),
                            liveness_probe=probe(10),
                            readiness_probe=probe(5),
                            security_context=RESTRICTED_CONTAINER,
                            volume_mounts=mounts,
                        )
                    ],
                    volumes=volumes,
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace, *depends, *scheduling]),
    )
    after_deployment = pulumi.ResourceOptions(parent=parent, depends_on=[deployment])
    if replicas > 1:
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-jaeger-pdb",
            metadata=meta("jaeger"),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
            ),
            opts=after_deployment,
        )
    collector = k8s.core.v1.Service(
        f"{name}-jaeger-collector",
        metadata=meta(JAEGER_COLLECTOR_SERVICE),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[
                k8s.core.v1.ServicePortArgs(name=port_name, port=port, target_port=port_name, protocol="TCP")
                for port_name, port in ports
                if port_name in ("otlp-grpc", "otlp-http", "metrics")
            ],
        ),
        opts=after_deployment,
    )
    k8s.core.v1.Service(
        f"{name}-jaeger-query",
        metadata=meta("jaeger-query"),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=selector,
            ports=[
                k8s.core.v1.ServicePortArgs(name="query", port=JAEGER_QUERY_PORT, target_port="query", protocol="TCP")
            ],
        ),
        opts=after_deployment,
    )
    if spec.trace_store == "elasticsearch":
        # Deletes Jaeger's hourly indices once they are older than the retention.
        seconds = spec.trace_retention_hours * 3600
        script = rf"""
cutoff=$(( ($(date +%s) - {seconds}) * 1000 ))
old=$(es "$ES_URL/_cat/indices/jaeger-*?h=index,creation.date" |
  awk -v cutoff="$cutoff" '$2 < cutoff {{print $1}}' | tr '\n' ',' | sed 's/,$//')
if [ -n "$old" ]; then
  es -X DELETE "$ES_URL/$old"; echo " <- deleted $old"
else
  echo "nothing older than {spec.trace_retention_hours} h"
fi
"""
        # Its own labels: Jaeger's would put these pods behind the collector Service.
        retention_labels = (
            base_labels
            | {"app.kubernetes.io/name": "jaeger-trace-retention"}
            | instance_of("jaeger-trace-retention", spec.environment)
        )
        k8s.batch.v1.CronJob(
            f"{name}-trace-retention",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="jaeger-trace-retention", namespace=TELEMETRY_NAMESPACE, labels=retention_labels
            ),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule="5 * * * *",
                concurrency_policy="Forbid",
                successful_jobs_history_limit=1,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=2,
                        active_deadline_seconds=900,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=retention_labels),
                            spec=curl_pod_spec(
                                script,
                                priority_class=priority_class,
                                user=JAEGER_ES_USER,
                                password_secret=JAEGER_ES_USER_SECRET,
                                password_key="password",
                            ),
                        ),
                    )
                ),
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[telemetry_namespace, *elasticsearch, *scheduling]),
        )
    return Tracing(deployment=deployment, collector=collector)
