"""What talks to the stack's Elasticsearch: its names, and the small curl container that calls its
API as a Job (the ILM policies) or a CronJob (trace retention).

ECK names everything after the Elasticsearch resource (`logs`): the HTTPS Service `logs-es-http`,
the CA of its self-signed certificate in `logs-es-http-certs-public`, the superuser's password in
`logs-es-elastic-user`. Credentials are mounted as files and handed to curl on stdin, never as
environment variables or arguments (they would show in `ps` and crash dumps).
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components import versions
from components.observability.endpoints import TELEMETRY_NAMESPACE

ELASTICSEARCH = "logs"
ES_URL = f"https://{ELASTICSEARCH}-es-http.{TELEMETRY_NAMESPACE}.svc:9200"
ES_CA_SECRET = f"{ELASTICSEARCH}-es-http-certs-public"
ES_ELASTIC_USER_SECRET = f"{ELASTICSEARCH}-es-elastic-user"
RUN_AS = 10001

RESTRICTED_CONTAINER = k8s.core.v1.SecurityContextArgs(
    run_as_non_root=True,
    run_as_user=RUN_AS,
    run_as_group=RUN_AS,
    read_only_root_filesystem=True,
    allow_privilege_escalation=False,
    privileged=False,
    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
)
RESTRICTED_POD = k8s.core.v1.PodSecurityContextArgs(
    run_as_non_root=True,
    run_as_user=RUN_AS,
    run_as_group=RUN_AS,
    fs_group=RUN_AS,
    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
)

# Reads the user's password from its mounted file and passes it to curl as a config on stdin.
CURL_FUNCTION = r"""
es() {
  printf 'user = "%s:%s"\n' "$ES_USER" "$(cat "$ES_PASSWORD_FILE")" |
    curl --config - --fail --silent --show-error --cacert /es-ca/ca.crt "$@"
}
until es -o /dev/null "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=30s"; do
  echo "waiting for Elasticsearch at $ES_URL"; sleep 10
done
"""


def curl_pod_spec(
    script: str,
    *,
    user: str,
    password_secret: str,
    password_key: str,
    extra_volumes: list[k8s.core.v1.VolumeArgs] | None = None,
    extra_mounts: list[k8s.core.v1.VolumeMountArgs] | None = None,
    restart_policy: str = "OnFailure",
    priority_class: str | None = None,
) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        restart_policy=restart_policy,
        priority_class_name=priority_class,
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=RESTRICTED_POD,
        containers=[
            k8s.core.v1.ContainerArgs(
                name="es-api",
                image=versions.CURL_IMAGE,
                image_pull_policy="IfNotPresent",
                command=["/bin/sh", "-c", "set -eu\n" + CURL_FUNCTION + script],
                env=[
                    k8s.core.v1.EnvVarArgs(name="ES_URL", value=ES_URL),
                    k8s.core.v1.EnvVarArgs(name="ES_USER", value=user),
                    k8s.core.v1.EnvVarArgs(name="ES_PASSWORD_FILE", value=f"/es-user/{password_key}"),
                ],
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": "10m", "memory": "32Mi"}, limits={"cpu": "100m", "memory": "64Mi"}
                ),
                security_context=RESTRICTED_CONTAINER,
                volume_mounts=[
                    k8s.core.v1.VolumeMountArgs(name="es-user", mount_path="/es-user", read_only=True),
                    k8s.core.v1.VolumeMountArgs(name="es-ca", mount_path="/es-ca", read_only=True),
                    *(extra_mounts or []),
                ],
            )
        ],
        volumes=[
            k8s.core.v1.VolumeArgs(
                name="es-user",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=password_secret,
                    default_mode=0o440,
                    items=[k8s.core.v1.KeyToPathArgs(key=password_key, path=password_key)],
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
            *(extra_volumes or []),
        ],
    )
