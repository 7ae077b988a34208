"""Pinned versions of everything the stack installs. docs/VERSIONS.md gives each one's reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChart:
    repo: str
    chart: str
    version: str


METRICS_SERVER = HelmChart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.0")
VPA = HelmChart("https://charts.fairwinds.com/stable", "vpa", "4.9.0")

# kind v0.33.0's default node image (Kubernetes 1.37.0), pinned by digest.
KIND_NODE_IMAGE = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
