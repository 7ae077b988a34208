"""`ContextService`: one application row of the seed's service matrix, as this stack runs it.

ServiceAccount, Deployment, ClusterIP Service; in staging/prod a HorizontalPodAutoscaler and a
PodDisruptionBudget; everywhere a VerticalPodAutoscaler in recommendation mode.

In the mesh (components/mesh) the pods get Istio's sidecar at admission, so the Deployment waits
for the mesh's injector and node agent. Where a canary rolls the service out (staging, prod),
Flagger owns the Services (`<name>` for callers, `<name>-primary`, `<name>-canary`) and runs the
stable version as `<name>-primary`; the PodDisruptionBudget then selects the service's instance
label, which primary and canary pods share (Flagger renames only the selector label).

Why the VPA does not update pods: the seed asks for VPA "Auto" beside an HPA that scales on CPU
and memory. The Kubernetes autoscaler project documents that combination as a conflict (both
react to the same utilisation signal: VPA raises requests, which lowers utilisation, which makes
the HPA scale in, and so on). So the HPA owns scaling and the VPA only recommends
(`updateMode: "Off"`); its recommendations feed the seed's "weekly evaluation" of requests.

How a service reaches its data services: where they are (`<SVC>_HOST`, `_PORT`, `_TLS`, extras)
and what in them is its context's own (`POSTGRES_DATABASE`, `MONGO_DATABASE`, `REDIS_KEY_PREFIX`,
`KAFKA_TOPIC_PREFIX`) come as plain env vars; the credentials come as files. Each consumed
`data-<service>` Secret is mounted read-only at `/var/run/secrets/bakhmach/<service>/`, and
`<SVC>_USERNAME_FILE` / `<SVC>_PASSWORD_FILE` name the files; `<SVC>_CA_FILE`, where set, names
the mounted certificates that sign the server's (components/data/trust.py). Files rather than `secretKeyRef`
env vars because env vars leak into crash dumps, `/proc/<pid>/environ`, child processes and
debug endpoints, and a rotated Secret reaches a mounted file without a pod restart. The team's
own Secrets (`services.<name>.secrets`, SealedSecrets of the namespace; docs/SECRETS.md) are
mounted the same way, at `/var/run/secrets/bakhmach/team/<secret>/`, one file per key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.data.connection import DataAccess
from components.data.trust import anchor
from components.labels import instance_of, standard_labels
from components.priorities import for_context
from settings.frameworks import Probe
from settings.model import ServiceSpec

RUN_AS_USER = 10001  # an unprivileged UID no image's files belong to; root filesystem is read-only
# A Service with no gateway route by choice (settings `gateway.routes.<name>.internal`).
INTERNAL_ANNOTATION = "bakhmach.io/internal"


@dataclass(frozen=True)
class ContextServiceArgs:
    spec: ServiceSpec
    namespace: str
    # What must exist first: the namespace's objects and PriorityClasses, the metrics API, the VPA CRDs.
    namespace_dependencies: tuple[pulumi.Resource, ...] = ()
    hpa_dependencies: tuple[pulumi.Resource, ...] = ()
    vpa_dependencies: tuple[pulumi.Resource, ...] = ()
    # The data services this service uses: plain env vars for where they are and what is its
    # context's own, files for the credentials (the namespace's `data-<service>` Secrets).
    data: tuple[DataAccess, ...] = ()
    # Plain settings beside the service's own, e.g. the OpenTelemetry SDK's (where to send spans).
    extra_env: tuple[tuple[str, str], ...] = ()
    # No gateway route by choice (`gateway.routes.<name>.internal`): said on the Service, so policy
    # (`context-services-routed`) tells a deliberate gap from a forgotten one.
    internal: bool = False
    # In the mesh: the sidecar serves the app's metrics merged with Envoy's, found through the
    # pod's `prometheus.io/*` annotations (read by Istio's injector).
    meshed: bool = False
    # The image as this cluster pulls it (components/registry.py; default: the spec's reference),
    # and the namespace's pull Secrets its ServiceAccount names (ghcr's credential).
    image: pulumi.Input[str] | None = None
    image_pull_secrets: tuple[str, ...] = ()


# Where each consumed data Secret is mounted: one directory per data service.
CREDENTIALS_ROOT = "/var/run/secrets/bakhmach"
# Where the team's own Secrets are mounted: one directory per Secret.
TEAM_SECRETS_ROOT = f"{CREDENTIALS_ROOT}/team"
# The keys of a `data-<service>` Secret (components/data/credentials.py) that become files.
CREDENTIAL_KEYS = ("username", "password")
# Owner read, group read, nothing for others. Kubelet writes Secret files as root and, with the
# pod's fsGroup (10001), gives them that group; the app runs as UID 10001 (not the owner), so it
# reads through the group bit. 0400 would leave only root able to read them and work solely
# because kubelet ORs in group read for an fsGroup; 0440 states the mode the files really get.
CREDENTIALS_MODE = 0o440


def credentials_dir(conn: DataAccess) -> str:
    return f"{CREDENTIALS_ROOT}/{conn.service}"


def _data_env(conn: DataAccess) -> list[k8s.core.v1.EnvVarArgs]:
    prefix, endpoint, grant = conn.env_prefix, conn.endpoint, conn.credential.grant
    plain: dict[str, pulumi.Input[str]] = {
        f"{prefix}_HOST": endpoint.host,
        f"{prefix}_PORT": str(endpoint.port),
        f"{prefix}_TLS": "true" if endpoint.tls else "false",
        grant.env: grant.resource,
    }
    # The certificates that sign the server's (components/data/trust.py): the data CA or RDS's
    # bundle, mounted; none named: the chain ends in a public root of the image's trust store.
    trusted = anchor(endpoint.trust) if endpoint.tls else None
    if trusted is not None:
        plain[f"{prefix}_CA_FILE"] = trusted.file
    plain |= {f"{prefix}_{key}": value for key, value in endpoint.extra.items()}
    # Only paths: the values stay in the mounted Secret.
    plain |= {f"{prefix}_{key.upper()}_FILE": f"{credentials_dir(conn)}/{key}" for key in CREDENTIAL_KEYS}
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items()]


def _credentials_volume(conn: DataAccess) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=conn.secret_name,
        secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=conn.secret_name,
            default_mode=CREDENTIALS_MODE,
            # Listing the keys makes a Secret that lacks one stop the pod at start, with an event
            # naming the key, instead of the app failing later on a missing file.
            items=[k8s.core.v1.KeyToPathArgs(key=key, path=key) for key in CREDENTIAL_KEYS],
        ),
    )


def _credentials_mount(conn: DataAccess) -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name=conn.secret_name, mount_path=credentials_dir(conn), read_only=True)


def _trust_volumes(data: tuple[DataAccess, ...]) -> list[tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]]:
    """The certificates the pod verifies its data servers with, once per anchor (the data CA
    for in-cluster services, RDS's bundle for RDS): certificates only, read-only."""
    anchors = {a.volume: a for conn in data if conn.endpoint.tls and (a := anchor(conn.endpoint.trust)) is not None}
    return [(a.volume_args(), a.mount_args()) for a in anchors.values()]


def _team_secret_volumes(names: tuple[str, ...]) -> list[tuple[k8s.core.v1.VolumeArgs, k8s.core.v1.VolumeMountArgs]]:
    """Each team Secret, whole (its keys are the team's), read-only; volumes are numbered since a
    Secret's name may be longer than a volume name may be."""
    return [
        (
            k8s.core.v1.VolumeArgs(
                name=f"team-secret-{index}",
                secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=name, default_mode=CREDENTIALS_MODE),
            ),
            k8s.core.v1.VolumeMountArgs(
                name=f"team-secret-{index}", mount_path=f"{TEAM_SECRETS_ROOT}/{name}", read_only=True
            ),
        )
        for index, name in enumerate(names)
    ]


def _probe(probe: Probe, port_name: str, model: str) -> k8s.core.v1.ProbeArgs:
    http_get = tcp_socket = None
    if probe.kind == "tcp":
        tcp_socket = k8s.core.v1.TCPSocketActionArgs(port=port_name)
    else:
        assert probe.path is not None
        http_get = k8s.core.v1.HTTPGetActionArgs(path=probe.path.format(model=model), port=port_name)
    return k8s.core.v1.ProbeArgs(
        http_get=http_get,
        tcp_socket=tcp_socket,
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds,
        failure_threshold=probe.failure_threshold,
        timeout_seconds=probe.timeout_seconds,
    )


class ContextService(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment

    def __init__(self, name: str, args: ContextServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:ContextService", name, None, opts)
        spec = args.spec
        labels = (
            standard_labels(context=spec.context, environment=spec.environment, component="api", name=spec.name)
            | instance_of(spec.name, spec.environment)
            | {"bakhmach.io/framework": spec.framework}
        )
        selector = {"app.kubernetes.io/name": spec.name}
        # The service's pods under a canary too: Flagger keeps every label but the selector's.
        instance = instance_of(spec.name, spec.environment)
        meta = k8s.meta.v1.ObjectMetaArgs(name=spec.name, namespace=args.namespace, labels=labels)
        inside = pulumi.ResourceOptions(parent=self, depends_on=list(args.namespace_dependencies))

        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta,
            # The services call no Kubernetes API, so no token is mounted.
            automount_service_account_token=False,
            # Pods of this account pull with these (the admission controller copies them in).
            image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=n) for n in args.image_pull_secrets] or None,
            opts=inside,
        )

        probes = spec.probes
        port_name = "http"
        team = _team_secret_volumes(spec.secrets) + _trust_volumes(args.data)
        container = k8s.core.v1.ContainerArgs(
            name=spec.name,
            image=args.image if args.image is not None else spec.image,
            image_pull_policy="IfNotPresent",
            args=list(spec.args) or None,
            ports=[k8s.core.v1.ContainerPortArgs(name=port_name, container_port=spec.port, protocol="TCP")],
            env=[
                k8s.core.v1.EnvVarArgs(name="SERVICE_NAME", value=spec.name),
                k8s.core.v1.EnvVarArgs(name="BUSINESS_CONTEXT", value=spec.context),
                k8s.core.v1.EnvVarArgs(name="ENVIRONMENT", value=spec.environment),
                k8s.core.v1.EnvVarArgs(name="PORT", value=str(spec.port)),
                *(env for conn in args.data for env in _data_env(conn)),
                *(k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in args.extra_env),
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": spec.resources.cpu_request, "memory": spec.resources.memory_request},
                limits={"cpu": spec.resources.cpu_limit, "memory": spec.resources.memory_limit},
            ),
            liveness_probe=_probe(probes.liveness, port_name, spec.name),
            readiness_probe=_probe(probes.readiness, port_name, spec.name),
            startup_probe=_probe(probes.startup, port_name, spec.name) if probes.startup else None,
            security_context=k8s.core.v1.SecurityContextArgs(
                run_as_non_root=True,
                run_as_user=RUN_AS_USER,
                run_as_group=RUN_AS_USER,
                read_only_root_filesystem=True,
                allow_privilege_escalation=False,
                privileged=False,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            # Frameworks write temp files (Spring Boot, uvicorn workers): give them a scratch
            # volume instead of a writable root filesystem.
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                *(_credentials_mount(conn) for conn in args.data),
                *(mount for _, mount in team),
            ],
        )

        spread = None
        if spec.replicas > 1:
            # Replicas spread over zones and nodes, so one zone's loss leaves the service up.
            spread = [
                k8s.core.v1.TopologySpreadConstraintArgs(
                    max_skew=1,
                    topology_key=key,
                    when_unsatisfiable="ScheduleAnyway",
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                )
                for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
            ]

        deployment_opts = inside
        if spec.autoscaling:
            # The HPA owns the replica count once running; Pulumi sets the starting value only.
            deployment_opts = pulumi.ResourceOptions.merge(
                inside, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
            )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=spec.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=1, max_unavailable=0 if spec.replicas > 1 else 1
                    ),
                ),
                revision_history_limit=5,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels,
                        annotations=(
                            {
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": str(spec.port),
                                "prometheus.io/path": spec.probes.metrics_path,
                            }
                            if args.meshed
                            else None
                        ),
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=account.metadata.name,
                        automount_service_account_token=False,
                        enable_service_links=False,
                        host_network=False,
                        host_pid=False,
                        host_ipc=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=RUN_AS_USER,
                            run_as_group=RUN_AS_USER,
                            fs_group=RUN_AS_USER,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="tmp",
                                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="256Mi"),
                            ),
                            *(_credentials_volume(conn) for conn in args.data),
                            *(volume for volume, _ in team),
                        ],
                        topology_spread_constraints=spread,
                        termination_grace_period_seconds=30,
                        # Under pressure the business contexts' pods go before the platform's and
                        # the data layer's (components/priorities.py).
                        priority_class_name=for_context(spec.context).name,
                    ),
                ),
            ),
            opts=deployment_opts,
        )

        # Under a canary Flagger creates this Service (and points it at the primary's pods): a
        # second owner would fight it over the selector.
        self.service: k8s.core.v1.Service | None = None
        if not spec.canary:
            self.service = k8s.core.v1.Service(
                f"{name}-service",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=spec.name,
                    namespace=args.namespace,
                    labels=labels,
                    annotations={INTERNAL_ANNOTATION: "true"} if args.internal else None,
                ),
                spec=k8s.core.v1.ServiceSpecArgs(
                    type="ClusterIP",
                    selector=selector,
                    ports=[k8s.core.v1.ServicePortArgs(name=port_name, port=80, target_port=port_name, protocol="TCP")],
                ),
                opts=inside,
            )

        target = k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
            api_version="apps/v1", kind="Deployment", name=spec.name
        )
        after_deployment = pulumi.ResourceOptions(parent=self, depends_on=[self.deployment])
        rule = spec.autoscaling
        if rule:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=meta,
                spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                    scale_target_ref=target,
                    min_replicas=spec.replicas,
                    max_replicas=rule.max_replicas,
                    metrics=[
                        k8s.autoscaling.v2.MetricSpecArgs(
                            type="Resource",
                            resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                                name=resource,
                                target=k8s.autoscaling.v2.MetricTargetArgs(
                                    type="Utilization", average_utilization=percent
                                ),
                            ),
                        )
                        for resource, percent in (
                            ("cpu", rule.cpu_percent),
                            ("memory", rule.memory_percent),
                        )
                    ],
                    behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                        scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                            stabilization_window_seconds=rule.scale_up_seconds,
                            select_policy="Max",
                            policies=[
                                k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                    type="Pods", value=2, period_seconds=rule.scale_up_seconds
                                )
                            ],
                        ),
                        scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                            stabilization_window_seconds=rule.scale_down_seconds,
                            select_policy="Min",
                            # The seed's two-minute cooldown: at most one pod removed per period.
                            policies=[
                                k8s.autoscaling.v2.HPAScalingPolicyArgs(
                                    type="Pods", value=1, period_seconds=rule.cooldown_seconds
                                )
                            ],
                        ),
                    ),
                ),
                opts=pulumi.ResourceOptions.merge(
                    after_deployment,
                    pulumi.ResourceOptions(depends_on=list(args.hpa_dependencies)),
                ),
            )
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=meta,
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=instance if spec.canary else selector),
                ),
                opts=after_deployment,
            )

        k8s.apiextensions.CustomResource(
            f"{name}-vpa",
            api_version="autoscaling.k8s.io/v1",
            kind="VerticalPodAutoscaler",
            metadata=meta,
            spec={
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
                # Recommendation only: an updating VPA beside a CPU/memory HPA fights it.
                "updatePolicy": {"updateMode": "Off"},
                "resourcePolicy": {
                    "containerPolicies": [{"containerName": spec.name, "controlledResources": ["cpu", "memory"]}]
                },
            },
            opts=pulumi.ResourceOptions.merge(
                after_deployment, pulumi.ResourceOptions(depends_on=list(args.vpa_dependencies))
            ),
        )
        self.register_outputs({"deployment": spec.name, "namespace": args.namespace, "port": spec.port})
