"""`provisioning_job`: logins and grants on a managed data service, made from inside the cluster.

A managed PostgreSQL server (RDS, Flexible Server) and MSK have no API for a database's roles or a
Kafka ACL: those are made over the service's own protocol, with its admin login, from somewhere
that reaches the service. The stack runs that step as a Kubernetes Job in the data namespace:
- the cluster's nodes are the only network the services accept (their security groups, private
  endpoints and VNet integration admit nothing else), so nothing has to be opened for the runner
  that deploys the stack, and the first `pulumi up` works with the API reachable only from the hub;
- a SQL or Kafka provider in the Pulumi program would instead connect from the runner, at preview
  time too, which needs the runner inside the data network and a preview of a server that may not
  exist yet.
The Job is idempotent (it creates what is missing and sets what exists to the wanted state), the
admin login reaches it as mounted files in a Secret of the data namespace only, and it is
replaced, and so re-run, whenever its script, its grants or a password changes. The Kubernetes
provider waits for it to complete, so the consumers' Secrets, which wait for the Job, appear
only once their logins work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.data.base import data_meta
from components.data.connection import DataEgress
from components.data.trust import TrustAnchor
from components.labels import instance_of
from components.network_policies import data_egress_rule
from components.priorities import PLATFORM, Priority

SECRETS_DIR = "/var/run/secrets/bakhmach/provisioning"
# The Job's container: small, and it runs for seconds.
RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
# Give up (and fail `pulumi up`) after this long: a service that stays unreachable is an error.
DEADLINE_SECONDS = 900
DIGEST_ANNOTATION = "bakhmach.io/inputs-digest"
# An unprivileged UID no image's files belong to (as the context services'): the clients need
# nothing of their image's own user, and writes go to the /tmp volume only.
RUN_AS = 10001


@dataclass(frozen=True)
class ProvisioningJob:
    object_name: str  # the Job's (and its Secret's and NetworkPolicy's) name in the namespace
    namespace: str
    environment: str
    image: str
    script: str  # a POSIX shell script; the files of `secrets` are under SECRETS_DIR
    env: dict[str, pulumi.Input[str]]  # plain (non-secret) settings
    secrets: dict[str, pulumi.Input[str]]  # file name -> secret value
    egress: DataEgress  # where the service is
    # The certificates the Job verifies its server with, mounted read-only (components/data/trust.py):
    # the data CA's Secret for a service in the cluster, RDS's bundle for RDS; None: none needed.
    ca: TrustAnchor | None = None
    after: tuple[pulumi.Resource, ...] = field(default_factory=tuple)
    # The managed services' Jobs run in the operators' class; a Job that is a step of an
    # in-cluster database itself (it waits for it, and is nothing without it) in the data class.
    priority: Priority = PLATFORM
    # How long the Job (and so `pulumi up`, which waits for it) may take: it retries until the
    # service answers, and an in-cluster cluster that is still being created takes longer.
    deadline_seconds: int = DEADLINE_SECONDS


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def provisioning_job(name: str, job: ProvisioningJob, parent: pulumi.Resource) -> k8s.batch.v1.Job:
    labels = {"app.kubernetes.io/name": job.object_name}
    # The Job and its pod name their instance, as every workload of the stack does.
    workload_labels = labels | instance_of(job.object_name, job.environment)
    after = pulumi.ResourceOptions(parent=parent, depends_on=list(job.after))
    secret = k8s.core.v1.Secret(
        f"{name}-provisioning",
        metadata=data_meta(job.object_name, job.namespace, job.environment, labels),
        type="Opaque",
        string_data=job.secrets,
        opts=after,
    )
    policy = k8s.networking.v1.NetworkPolicy(
        f"{name}-provisioning-egress",
        metadata=data_meta(f"{job.object_name}-egress", job.namespace, job.environment, labels),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            policy_types=["Egress"],
            egress=[data_egress_rule(job.egress)],
        ),
        opts=after,
    )
    # A Job's pod template cannot change, and the Job runs once: a digest of everything it acts
    # on (its script, settings and the passwords it sets) in the template makes any change replace
    # the Job, which runs it again. Only the digest is shown (a SHA-256 over passwords of ~238
    # random bits each reveals nothing of them), so the pod spec stays readable in previews.
    keys = [job.image, job.script, *job.env, *job.secrets]
    digest = pulumi.Output.unsecret(
        pulumi.Output.all(*job.env.values(), *job.secrets.values()).apply(
            lambda values: _digest([*keys, *(str(v) for v in values)])
        )
    )
    security = k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS,
        run_as_group=RUN_AS,
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )
    return k8s.batch.v1.Job(
        name,
        metadata=data_meta(job.object_name, job.namespace, job.environment, workload_labels),
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=6,
            active_deadline_seconds=job.deadline_seconds,
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=workload_labels, annotations={DIGEST_ANNOTATION: digest}),
                spec=k8s.core.v1.PodSpecArgs(
                    restart_policy="OnFailure",
                    automount_service_account_token=False,
                    enable_service_links=False,
                    priority_class_name=job.priority.name,
                    security_context=k8s.core.v1.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=RUN_AS,
                        run_as_group=RUN_AS,
                        fs_group=RUN_AS,
                        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    containers=[
                        k8s.core.v1.ContainerArgs(
                            name="provision",
                            image=job.image,
                            image_pull_policy="IfNotPresent",
                            command=["sh", "-c", job.script],
                            env=[
                                k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
                                *(k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in job.env.items()),
                            ],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests=RESOURCES["requests"], limits=RESOURCES["limits"]
                            ),
                            security_context=security,
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                                k8s.core.v1.VolumeMountArgs(name="secrets", mount_path=SECRETS_DIR, read_only=True),
                                *([job.ca.mount_args()] if job.ca else []),
                            ],
                        )
                    ],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")
                        ),
                        k8s.core.v1.VolumeArgs(
                            name="secrets",
                            secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=job.object_name, default_mode=0o440),
                        ),
                        *([job.ca.volume_args()] if job.ca else []),
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[*job.after, secret, policy],
            delete_before_replace=True,
            # The provider gives up on a Job after its default 10 minutes; the Job's own deadline
            # (and a minute for its pod to start) is the real limit.
            custom_timeouts=pulumi.CustomTimeouts(
                create=f"{job.deadline_seconds // 60 + 1}m", update=f"{job.deadline_seconds // 60 + 1}m"
            ),
        ),
    )
