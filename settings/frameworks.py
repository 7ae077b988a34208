"""How each framework of the service matrix is probed and which port it serves.

These are the frameworks' own conventions (Spring Boot Actuator's liveness/readiness groups,
TensorFlow Serving's model status API, the usual /healthz and /readyz of FastAPI, Node.js and Go
services), so an image built the ordinary way for its framework answers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from settings.seed import Framework


@dataclass(frozen=True)
class Probe:
    kind: Literal["http", "tcp"]
    path: str | None
    initial_delay_seconds: int
    period_seconds: int
    failure_threshold: int
    timeout_seconds: int = 2


@dataclass(frozen=True)
class FrameworkProfile:
    port: int
    liveness: Probe
    readiness: Probe
    # A startup probe holds liveness off while a slow runtime (a JVM, a model load) starts.
    startup: Probe | None
    # Where Prometheus scrapes the service's metrics, on its HTTP port (README, "Operations"):
    # the framework's usual exporter path.
    metrics_path: str = "/metrics"


def _http(path: str, delay: int = 0, period: int = 10, failures: int = 3) -> Probe:
    return Probe("http", path, delay, period, failures)


FRAMEWORKS: dict[Framework, FrameworkProfile] = {
    "fastapi": FrameworkProfile(
        port=8000, liveness=_http("/healthz"), readiness=_http("/readyz", period=5), startup=None
    ),
    "nodejs": FrameworkProfile(
        port=3000, liveness=_http("/healthz"), readiness=_http("/readyz", period=5), startup=None
    ),
    "go": FrameworkProfile(port=8080, liveness=_http("/healthz"), readiness=_http("/readyz", period=5), startup=None),
    # Spring Boot exposes liveness/readiness groups under Actuator; the JVM may take a minute.
    "spring-boot": FrameworkProfile(
        port=8080,
        liveness=_http("/actuator/health/liveness"),
        readiness=_http("/actuator/health/readiness", period=5),
        startup=_http("/actuator/health/liveness", period=5, failures=24),
        # Micrometer's Prometheus registry under Actuator.
        metrics_path="/actuator/prometheus",
    ),
    # TensorFlow Serving's REST API answers 200 on /v1/models/<name> once the model is loaded;
    # loading a model can take minutes, so liveness is a TCP check behind a long startup probe.
    "tensorflow-serving": FrameworkProfile(
        port=8501,
        liveness=Probe("tcp", None, 0, 10, 3),
        readiness=_http("/v1/models/{model}", period=10),
        startup=_http("/v1/models/{model}", period=10, failures=30),
        # TensorFlow Serving's Prometheus endpoint (enabled by its --monitoring_config_file).
        metrics_path="/monitoring/prometheus/metrics",
    ),
    # Kong's status API; used by the gateway (a later issue), listed so the matrix row resolves.
    "kong": FrameworkProfile(port=8000, liveness=_http("/status"), readiness=_http("/status/ready"), startup=None),
}
