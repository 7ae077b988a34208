"""The pods the smoke tests run inside the cluster, and the scripts those pods run.

Every probe pod satisfies Pod Security `restricted` (the context namespaces enforce it), fits the
namespaces' quota and limit range, runs once (`restartPolicy: Never`) and reports through its
output: the network probe prints `OPEN`/`CLOSED`/`NODNS` per target, a credential probe prints one
`AUTH-OK`, `REFUSED` (an authentication or authorization error of the data service itself) or
`ERROR` (anything else: a refusal must be the service's, not a timeout or a typo).

The images are the data services' own (taken from the plan, or for Kafka from its running
brokers): they carry the clients (psql, mongosh, redis-cli, Kafka's tools) and are already on the
node, so the probes pull nothing. The network probe runs in the PostgreSQL image, which has bash
for `/dev/tcp`, `getent` and `timeout`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tests.e2e.selection import PROBE_LABELS, CredentialCase, ReachCase

RUN_AS = 10001  # an unprivileged UID, as the services use
NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
# Each consuming namespace's copy of the data CA (components/data/tls.py).
DATA_CA_SECRET = "trust-data-ca"
CONNECT_SECONDS = 4
# How long a probe waits after it starts before it probes: the policy engine learns a new pod's
# address from the API server, and a connection made before that is judged as a stranger's.
SETTLE_SECONDS = 5
POD_DEADLINE_SECONDS = 300

NETWORK_SCRIPT = r"""set -u
# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash that opens the connection
connect='exec 3<>"/dev/tcp/$1/$2"'
sleep "$E2E_SETTLE_SECONDS"
for target in "$@"; do
  host=${target%:*}
  port=${target##*:}
  if ! getent hosts "$host" >/dev/null 2>&1; then
    echo "NODNS $target"
  elif timeout "$E2E_CONNECT_SECONDS" bash -c "$connect" probe "$host" "$port" 2>/dev/null; then
    echo "OPEN $target"
  else
    echo "CLOSED $target"
  fi
done
"""

# Shared by every credential probe: turn a client's exit status and output into one verdict.
_CLASSIFY = r"""set -u
classify() {
  if [ "$1" -eq 0 ]; then
    echo "AUTH-OK $2"
    exit 0
  fi
  if printf '%s\n' "$2" | grep -Eqi "$E2E_REFUSAL"; then
    echo "REFUSED $(printf '%s\n' "$2" | grep -Ei "$E2E_REFUSAL" | head -n 1)"
    exit 3
  fi
  echo "ERROR $2"
  exit 4
}
"""

_READ_CREDENTIALS = r"""if ! user=$(cat "${P}USERNAME_FILE") || ! pass=$(cat "${P}PASSWORD_FILE"); then
  echo "ERROR cannot read the mounted credentials"
  exit 4
fi
"""

CREDENTIAL_SCRIPTS = {
    "postgres": _CLASSIFY
    + _READ_CREDENTIALS.replace("${P}", "$POSTGRES_")
    + r"""tmp=${E2E_TMP:-/tmp}
tls="sslmode=disable"
if [ "${POSTGRES_TLS:-false}" = true ]; then tls="sslmode=require"; fi
if [ -n "${POSTGRES_CA_FILE:-}" ]; then tls="sslmode=verify-full sslrootcert=$POSTGRES_CA_FILE"; fi
umask 077
printf '%s:%s:%s:%s:%s\n' "$POSTGRES_HOST" "$POSTGRES_PORT" "$POSTGRES_DATABASE" "$user" "$pass" >"$tmp/pgpass"
export PGPASSFILE="$tmp/pgpass" PGCONNECT_TIMEOUT=20
out=$(psql "host=$POSTGRES_HOST port=$POSTGRES_PORT dbname=$POSTGRES_DATABASE user=$user $tls" \
  -v ON_ERROR_STOP=1 -tAc "select current_user || ' on ' || current_database()" 2>&1)
classify $? "$out"
""",
    "mongo": _CLASSIFY
    + r"""out=$(timeout 60 mongosh --nodb --quiet --eval '
const fs = require("fs");
const env = process.env;
const read = (file) => encodeURIComponent(fs.readFileSync(file, "utf8").trim());
const params = ["authSource=" + (env.MONGO_AUTH_SOURCE || env.E2E_MONGO_AUTH_SOURCE), "serverSelectionTimeoutMS=20000"];
if (env.MONGO_REPLICA_SET) params.push("replicaSet=" + env.MONGO_REPLICA_SET);
const trust = env.MONGO_CA_FILE ? "tlsCAFile=" + env.MONGO_CA_FILE : "tlsInsecure=true";
if (env.MONGO_TLS === "true") params.push("tls=true", trust);
const conn = new Mongo("mongodb://" + read(env.MONGO_USERNAME_FILE) + ":" + read(env.MONGO_PASSWORD_FILE) + "@" +
  env.MONGO_HOST + ":" + env.MONGO_PORT + "/?" + params.join("&"));
const db = conn.getDB(env.MONGO_DATABASE);
print(db.getName() + " listed (" + db.getCollectionNames().length + " collections)");
' 2>&1)
classify $? "$out"
""",
    "redis": _CLASSIFY
    + _READ_CREDENTIALS.replace("${P}", "$REDIS_")
    + r"""export REDISCLI_AUTH="$pass"
if [ -n "${REDIS_CA_FILE:-}" ]; then set -- --tls --cacert "$REDIS_CA_FILE"
elif [ "${REDIS_TLS:-false}" = true ]; then set -- --tls --insecure; else set --; fi
out=$(timeout 30 redis-cli "$@" -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$user" PING 2>&1)
if [ "$out" != PONG ]; then classify 1 "$out"; fi
if [ -n "${REDIS_KEY_PREFIX:-}" ]; then
  out=$(timeout 30 redis-cli "$@" -c -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$user" \
    GET "${REDIS_KEY_PREFIX}e2e-probe" 2>&1)
  if printf '%s\n' "$out" | grep -Eq '^(ERR|NOPERM|NOAUTH|WRONGPASS)'; then classify 1 "$out"; fi
fi
classify 0 "PONG as $user"
""",
    "kafka": _CLASSIFY
    + _READ_CREDENTIALS.replace("${P}", "$KAFKA_")
    + r"""protocol=SASL_PLAINTEXT
if [ "${KAFKA_TLS:-false}" = true ]; then protocol=SASL_SSL; fi
case "$KAFKA_SASL_MECHANISM" in
  SCRAM-*) module=org.apache.kafka.common.security.scram.ScramLoginModule ;;
  PLAIN) module=org.apache.kafka.common.security.plain.PlainLoginModule ;;
  *) echo "ERROR unknown SASL mechanism $KAFKA_SASL_MECHANISM"; exit 4 ;;
esac
tmp=${E2E_TMP:-/tmp}
umask 077
{
  echo "security.protocol=$protocol"
  # The data CA where the broker's certificate is the stack's own (else the JVM's public roots).
  if [ -n "${KAFKA_CA_FILE:-}" ]; then
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$KAFKA_CA_FILE"
  fi
  echo "sasl.mechanism=$KAFKA_SASL_MECHANISM"
  echo "sasl.jaas.config=$module required username=\"$user\" password=\"$pass\";"
} >"$tmp/client.properties"
export LOG_DIR="$tmp" KAFKA_HEAP_OPTS=-Xmx192m
bin=${E2E_KAFKA_BIN:-/opt/kafka/bin}  # where Strimzi's image keeps Kafka's tools
out=$(timeout 120 "$bin/kafka-broker-api-versions.sh" --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" \
  --command-config "$tmp/client.properties" 2>&1)
status=$?
if [ "$status" -ne 0 ]; then classify "$status" "$out"; fi
if [ -n "${KAFKA_TOPIC_PREFIX:-}" ]; then
  out=$(timeout 120 "$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" \
    --command-config "$tmp/client.properties" --describe --topic "${KAFKA_TOPIC_PREFIX}e2e-probe" 2>&1)
  if printf '%s\n' "$out" | grep -Eq 'TopicAuthorization|Not authorized'; then classify 1 "$out"; fi
fi
classify 0 "broker API versions as $user"
""",
}

# What each service answers when it refuses credentials (authentication) or access (authorization).
REFUSAL_PATTERNS = {
    # CloudNativePG's pg_hba admits a role on its own database only (`sameuser`) and rejects the rest.
    "postgres": "password authentication failed|permission denied|no pg_hba.conf entry|pg_hba.conf rejects connection"
    "|role .* does not exist",
    "mongo": "Authentication failed|not authorized|Unauthorized",
    "redis": "WRONGPASS|NOPERM|NOAUTH",
    "kafka": "Authentication failed|SaslAuthenticationException|TopicAuthorization|Not authorized",
}

# Requests and limits: small, but enough for the client (mongosh is Node.js, Kafka's tools a JVM),
# and together under each context namespace's quota beside its service.
CREDENTIAL_RESOURCES = {
    "postgres": ({"cpu": "10m", "memory": "32Mi"}, {"cpu": "250m", "memory": "128Mi"}),
    "mongo": ({"cpu": "10m", "memory": "128Mi"}, {"cpu": "250m", "memory": "256Mi"}),
    "redis": ({"cpu": "10m", "memory": "16Mi"}, {"cpu": "250m", "memory": "64Mi"}),
    "kafka": ({"cpu": "10m", "memory": "256Mi"}, {"cpu": "250m", "memory": "512Mi"}),
}
NETWORK_RESOURCES = ({"cpu": "10m", "memory": "16Mi"}, {"cpu": "100m", "memory": "64Mi"})


def pod_name(*parts: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(("e2e", *parts)).lower()).strip("-")
    return name[:63].rstrip("-")


def _container(
    name: str, image: str, command: list[str], env: Mapping[str, str], resources: tuple[dict[str, str], dict[str, str]]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {"requests": resources[0], "limits": resources[1]},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod(name: str, namespace: str, labels: Mapping[str, str], container: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        # Outside the mesh: a probe runs once and exits, and it tests the network policies and the
        # data services' own logins (TCP and TLS), which a sidecar would only stand between.
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels) | NO_SIDECAR},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": POD_DEADLINE_SECONDS,
            "terminationGracePeriodSeconds": 5,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "fsGroup": RUN_AS,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        },
    }


def network_probe(namespace: str, labels: Mapping[str, str], cases: Iterable[ReachCase], image: str) -> dict[str, Any]:
    """One pod per source namespace that tries every target of its cases in turn."""
    targets = sorted({f"{c.target.host}:{c.target.port}" for c in cases})
    container = _container(
        "probe",
        image,
        ["bash", "-c", NETWORK_SCRIPT, "probe", *targets],
        {"E2E_SETTLE_SECONDS": str(SETTLE_SECONDS), "E2E_CONNECT_SECONDS": str(CONNECT_SECONDS), "HOME": "/tmp"},
        NETWORK_RESOURCES,
    )
    return _pod(pod_name("net", namespace), namespace, labels, container)


def parse_network_output(logs: str) -> dict[str, str]:
    """`host:port` -> OPEN, CLOSED or NODNS."""
    found = {}
    for line in logs.splitlines():
        verdict, _, target = line.strip().partition(" ")
        if verdict in {"OPEN", "CLOSED", "NODNS"} and target:
            found[target] = verdict
    return found


def credential_probe(case: CredentialCase, image: str, secret: str) -> dict[str, Any]:
    """A pod in the consumer's namespace that mounts `secret` where the consumer's service mounts
    its own, with the consumer's env, and logs in as the consumer's service would."""
    consumer = case.consumer
    env = dict(consumer.env) | dict(case.extra_env)
    env |= {"HOME": "/tmp", "E2E_REFUSAL": REFUSAL_PATTERNS[consumer.service]}
    container = _container(
        "client", image, ["sh", "-c", CREDENTIAL_SCRIPTS[consumer.service]], env, CREDENTIAL_RESOURCES[consumer.service]
    )
    container["volumeMounts"].append({"name": "credentials", "mountPath": consumer.mount_path, "readOnly": True})
    # The data CA the consumer's services verify in-cluster servers with, where they do.
    ca_file = env.get(f"{consumer.service.upper()}_CA_FILE")
    if ca_file:
        container["volumeMounts"].append({"name": "data-ca", "mountPath": ca_file.rsplit("/", 1)[0], "readOnly": True})
    labels = PROBE_LABELS | {"bakhmach.io/e2e-case": pod_name(case.id)[4:]}
    pod = _pod(pod_name(case.id), consumer.namespace, labels, container)
    pod["spec"]["volumes"].append(
        {
            "name": "credentials",
            "secret": {
                "secretName": secret,
                # Group-readable, as the services mount theirs: the probe reads through fsGroup.
                "defaultMode": 0o440,
                "items": [{"key": "username", "path": "username"}, {"key": "password", "path": "password"}],
            },
        }
    )
    if ca_file:
        pod["spec"]["volumes"].append(
            {
                "name": "data-ca",
                "secret": {
                    "secretName": DATA_CA_SECRET,
                    "defaultMode": 0o440,
                    "items": [{"key": "ca.crt", "path": ca_file.rsplit("/", 1)[1]}],
                },
            }
        )
    return pod


def verdict(logs: str) -> tuple[str, str]:
    """The credential probe's verdict: (AUTH-OK|REFUSED|ERROR|NONE, the rest). The script prints
    nothing but its verdict (the client's output is captured into it), so the first line counts."""
    for line in logs.strip().splitlines():
        head, _, rest = line.partition(" ")
        if head in {"AUTH-OK", "REFUSED", "ERROR"}:
            return head, rest
    return "NONE", logs.strip()[-500:]
