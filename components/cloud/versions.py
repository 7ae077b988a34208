"""Pinned versions of what the cloud clusters install. docs/VERSIONS.md ("Cloud clusters") says why."""

from __future__ import annotations

from components.versions import HelmChart

# Chart 9.59.0 is the newest release seen published (appVersion 1.35.0); its image is moved to
# the autoscaler release that matches the cluster's minor (1.36.1, released 2026-07-23), because
# the cluster autoscaler supports only the Kubernetes minor it was built against.
CLUSTER_AUTOSCALER = HelmChart("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0")
CLUSTER_AUTOSCALER_IMAGE_TAG = "v1.36.1"

EXTERNAL_DNS = HelmChart("https://kubernetes-sigs.github.io/external-dns/", "external-dns", "1.21.1")
