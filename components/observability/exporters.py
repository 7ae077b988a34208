"""Metrics of the in-cluster data services, through each operator's own mechanism.

- CloudNativePG: every instance serves metrics on port 9187 (`metrics`); nothing to enable.
- Percona Server for MongoDB: the operator runs sidecars declared on the replica sets (every
  shard's and the config servers'); Percona's own `mongodb_exporter` runs there as the
  operator's cluster-monitor user (the operator's users Secret), on 9216.
- OT redis-operator: `redisExporter` on the RedisCluster runs oliver006/redis_exporter beside
  each node (the operator passes it REDIS_ADDR and the password), on 9121 (`redis-exporter`).
- Strimzi: `metricsConfig: strimziMetricsReporter` on the brokers and controllers, and the Kafka
  Exporter (`kafkaExporter`) for consumer-group lag (the seed's "message queue depth"), both on
  9404 (`tcp-prometheus`).

The data components put these fragments into their custom resources; `data_scrape_targets`
gives Prometheus the PodMonitors for them. Managed services (RDS, ElastiCache, MSK, Azure) are
monitored by their cloud (CloudWatch, Azure Monitor), not scraped here.
"""

from __future__ import annotations

import pulumi

from components import versions
from components.observability.monitors import ScrapeTarget

MONGODB_EXPORTER_PORT = 9216
REDIS_EXPORTER_PORT = 9121
STRIMZI_METRICS_PORT = 9404
CNPG_METRICS_PORT = 9187
# The Secret the Percona operator keeps its system users in when the CR names none.
PSMDB_USERS_SECRET = "percona-server-mongodb-users"

_RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
_SMALL = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}


# mongod requires TLS: the exporter connects by a name the server certificate carries and trusts
# the CA in the operator's `ssl` volume (the pod's, mounted at the operator's own path).
MONGODB_SSL_VOLUME = "ssl"
MONGODB_SSL_DIR = "/etc/mongodb-ssl"


def mongodb_exporter_sidecar() -> dict[str, object]:
    """A container of every mongod pod (Percona's `replsets[].sidecars`)."""
    return {
        "name": "mongodb-exporter",
        "image": versions.MONGODB_EXPORTER_IMAGE,
        "args": [
            f"--mongodb.uri=mongodb://localhost:27017/admin?tls=true&tlsCAFile={MONGODB_SSL_DIR}/ca.crt",
            # The 0.1x metric names (mongodb_mongod_replset_member_replication_lag, ...) the
            # replica-lag alert and the dashboards use.
            "--compatible-mode",
            "--collector.diagnosticdata",
            "--collector.replicasetstatus",
            "--collector.dbstats",
        ],
        "env": [
            {
                "name": "MONGODB_USER",
                "valueFrom": {"secretKeyRef": {"name": PSMDB_USERS_SECRET, "key": "MONGODB_CLUSTER_MONITOR_USER"}},
            },
            {
                "name": "MONGODB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": PSMDB_USERS_SECRET, "key": "MONGODB_CLUSTER_MONITOR_PASSWORD"}},
            },
        ],
        "ports": [{"name": "metrics", "containerPort": MONGODB_EXPORTER_PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": MONGODB_SSL_VOLUME, "mountPath": MONGODB_SSL_DIR, "readOnly": True}],
        "resources": _SMALL,
        "securityContext": _RESTRICTED,
    }


def redis_exporter() -> dict[str, object]:
    """The RedisCluster's `redisExporter`."""
    return {
        "enabled": True,
        "image": versions.REDIS_EXPORTER_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "resources": _SMALL,
        "securityContext": _RESTRICTED,
    }


def kafka_metrics_config() -> dict[str, object]:
    """The Kafka brokers' and controllers' metrics (Strimzi's own reporter, no JMX rules file)."""
    return {"type": "strimziMetricsReporter"}


def kafka_exporter() -> dict[str, object]:
    """Strimzi's Kafka Exporter: lag of every consumer group on every topic."""
    return {
        "groupRegex": ".*",
        "topicRegex": ".*",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def data_scrape_targets(
    in_cluster: tuple[str, ...],
    namespace: str,
    environment: str,
    context: str,
    dependencies: tuple[pulumi.Resource, ...] = (),
) -> tuple[ScrapeTarget, ...]:
    """PodMonitors for the data services this cluster runs through operators; they (and the
    NetworkPolicy opening the fenced data namespace to Prometheus) wait for `dependencies`."""
    targets = {
        "postgres": ScrapeTarget(
            name="postgres",
            namespace=namespace,
            kind="PodMonitor",
            match_labels={"cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance"},
            port="metrics",
            context=context,
            environment=environment,
            fenced_port=CNPG_METRICS_PORT,
            dependencies=dependencies,
        ),
        "mongo": ScrapeTarget(
            name="mongo",
            namespace=namespace,
            kind="PodMonitor",
            match_labels={"app.kubernetes.io/instance": "mongo", "app.kubernetes.io/component": "mongod"},
            port="metrics",
            context=context,
            environment=environment,
            fenced_port=MONGODB_EXPORTER_PORT,
            dependencies=dependencies,
        ),
        "redis": ScrapeTarget(
            name="redis",
            namespace=namespace,
            kind="PodMonitor",
            match_labels={"redis_setup_type": "cluster"},
            port="redis-exporter",
            context=context,
            environment=environment,
            fenced_port=REDIS_EXPORTER_PORT,
            dependencies=dependencies,
        ),
        "kafka": ScrapeTarget(
            name="kafka",
            namespace=namespace,
            kind="PodMonitor",
            # Brokers, controllers and the Kafka Exporter all carry the cluster label and serve
            # `tcp-prometheus`; the entity operator has no such port and is not scraped.
            match_labels={"strimzi.io/cluster": "kafka"},
            port="tcp-prometheus",
            context=context,
            environment=environment,
            fenced_port=STRIMZI_METRICS_PORT,
            dependencies=dependencies,
        ),
    }
    return tuple(targets[s] for s in ("postgres", "mongo", "redis", "kafka") if s in in_cluster)
