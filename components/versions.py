"""Pinned versions of everything the stack installs. docs/VERSIONS.md gives each one's reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class HelmChart:
    # A classic chart repository's URL, or an OCI registry path (`oci://...`, the chart's own
    # reference: Helm pulls it by name and version, with no repository index).
    repo: str
    chart: str
    version: str

    def release(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: str,
        values: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions,
    ) -> k8s.helm.v3.Release:
        """A Helm release of this chart at its pinned version, under a fixed release name."""
        oci = self.repo.startswith("oci://")
        return k8s.helm.v3.Release(
            resource_name,
            name=name,
            chart=f"{self.repo.rstrip('/')}/{self.chart}" if oci else self.chart,
            version=self.version,
            repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=self.repo),
            namespace=namespace,
            values=values,
            opts=opts,
        )


# Sealed Secrets (docs/VERSIONS.md, "Secrets"): the bitnami-labs chart, built and published apart
# from the Bitnami catalog; the image pinned to the chart's own appVersion.
SEALED_SECRETS = HelmChart("https://bitnami-labs.github.io/sealed-secrets", "sealed-secrets", "2.18.5")
SEALED_SECRETS_IMAGE_TAG = "0.36.6"

METRICS_SERVER = HelmChart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.1")
VPA = HelmChart("https://charts.fairwinds.com/stable", "vpa", "5.0.0")

# ---- data layer (docs/VERSIONS.md, "Data layer") -------------------------------------------
CLOUDNATIVE_PG = HelmChart("https://cloudnative-pg.github.io/charts", "cloudnative-pg", "0.29.0")
BARMAN_CLOUD_PLUGIN = HelmChart("https://cloudnative-pg.github.io/charts", "plugin-barman-cloud", "0.7.0")
# cert-manager: one install per cluster (components/certificates.py) for the gateway's and
# Keycloak's certificates and the Barman Cloud plugin's mTLS with the CloudNativePG operator.
CERT_MANAGER = HelmChart("https://charts.jetstack.io", "cert-manager", "v1.21.1")
PSMDB_OPERATOR = HelmChart("https://percona.github.io/percona-helm-charts/", "psmdb-operator", "1.22.0")
REDIS_OPERATOR = HelmChart("https://ot-container-kit.github.io/helm-charts/", "redis-operator", "0.26.1")
STRIMZI = HelmChart("https://strimzi.io/charts/", "strimzi-kafka-operator", "1.2.0")

POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie"
PSMDB_CR_VERSION = "1.22.0"
# The images Percona's own psmdb-db chart 1.22.0 defaults to for operator 1.22.0.
MONGO_IMAGE = "percona/percona-server-mongodb:8.0.19-7"
MONGO_BACKUP_IMAGE = "percona/percona-backup-mongodb:2.12.0"
REDIS_IMAGE = "quay.io/opstree/redis:v7.2.7"
# Kafka's tools for the MSK ACL Job: the image Strimzi 1.2.0 runs for Kafka 4.3.1 (its chart's
# `_kafka_image_map.tpl`), a client that speaks to MSK's 4.1 brokers.
KAFKA_CLIENT_IMAGE = "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1"

# ---- observability (docs/VERSIONS.md, "Observability") ---------------------------------------
KUBE_PROMETHEUS_STACK = HelmChart(
    "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.5.3"
)
ECK_OPERATOR = HelmChart("https://helm.elastic.co", "eck-operator", "3.5.0")
# Elasticsearch, Kibana and Filebeat run the same stack version (ECK 3.5.0 supports 8.18-9.x).
ELASTIC_STACK_VERSION = "9.5.1"
JAEGER_IMAGE = "jaegertracing/jaeger:2.20.0"
# Applies the ILM policies through the Elasticsearch API (StackConfigPolicy needs Enterprise).
CURL_IMAGE = "curlimages/curl:8.21.0"
# Exporters the data operators run beside their members (Strimzi and CloudNativePG bring their own).
MONGODB_EXPORTER_IMAGE = "percona/mongodb_exporter:0.49.0"
REDIS_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.88.0"

# ---- service mesh (docs/VERSIONS.md, "Service mesh") -------------------------------------------
# Istio publishes its charts at blob.istio.io from 1.31 on (the 1.31 upgrade notes: no more
# artifacts on gcr.io, registry.istio.io or the GCS bucket); images come from Docker Hub, set
# explicitly because the charts' own defaults point at a testing registry.
ISTIO_VERSION = "1.31.0"
ISTIO_HUB = "docker.io/istio"
ISTIO_CHARTS = "https://blob.istio.io/istio-release/charts"
ISTIO_BASE = HelmChart(ISTIO_CHARTS, "base", ISTIO_VERSION)
ISTIO_CNI = HelmChart(ISTIO_CHARTS, "cni", ISTIO_VERSION)
ISTIOD = HelmChart(ISTIO_CHARTS, "istiod", ISTIO_VERSION)
# Flagger: progressive delivery with Istio as its router (sidecar mode) and Prometheus as its source.
FLAGGER = HelmChart("https://flagger.app", "flagger", "1.44.0")
FLAGGER_IMAGE_TAG = "1.44.0"

# ---- front door (docs/VERSIONS.md, "Front door") ---------------------------------------------
# Envoy Gateway: the chart's version carries the `v`; published only as an OCI artifact.
ENVOY_GATEWAY = HelmChart("oci://docker.io/envoyproxy", "gateway-helm", "v1.9.0")
# The AWS Load Balancer Controller turns the gateway's Service into a Network Load Balancer.
AWS_LOAD_BALANCER_CONTROLLER = HelmChart("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0")
AWS_LOAD_BALANCER_CONTROLLER_VERSION = "v3.5.0"
# Keycloak and its operator, the same release (the operator runs the server image it is built for).
KEYCLOAK_VERSION = "26.6.4"
KEYCLOAK_IMAGE = f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}"
KEYCLOAK_OPERATOR_IMAGE = f"quay.io/keycloak/keycloak-operator:{KEYCLOAK_VERSION}"
