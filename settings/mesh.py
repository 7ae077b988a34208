"""The service mesh's numbers: Istio's traffic policy per service and Flagger's canary analysis.

The seed's "Service Mesh" section gives the figures (settings/seed.py): a 30 s timeout for API
calls and 60 s for batch operations, 3 attempts with exponential backoff, canary 90/10 rolled
back when more than 5% of requests fail. What the seed leaves open is data here, once, for every
service and environment (no per-service hand-written lists):

- retries: 3 attempts on 5xx, reset and connect-failure; each attempt gets a third of the
  route's timeout, so the three fit in it; the first retry waits 25 ms, and Envoy doubles the
  wait (with jitter, up to ten times the base) for each next one: the seed's exponential backoff;
- circuit breaker: a connection pool that queues at most `http1_max_pending` requests and has at
  most `http2_max_requests` in flight per caller, and outlier detection that ejects a pod after
  5 consecutive 5xx for 30 s (longer each time it is ejected again), never more than half of a
  service's pods at once, so a bad pod stops taking traffic while the service stays up;
- load balancing: round-robin, or least-request where the service's settings say so;
- canary (staging and prod): Flagger shifts 10% of the traffic to a new version (one step of 10
  to a maximum of 10: stable 90 / canary 10), checks the success rate every minute, promotes
  once the canary has passed its checks at 10%, and rolls back after `threshold` failed checks,
  where a check fails when fewer than 95% of the canary's requests succeed (error rate above 5%).

`mesh_spec(environment)` hands the components one frozen `MeshSpec`; the per-service parts
(calls, batch routes, load balancing) are on each `ServiceSpec` (settings/model.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from settings import seed
from settings.seed import Environment

RETRY_ON = ("5xx", "reset", "connect-failure")
RETRY_BACKOFF = "25ms"  # Envoy's base interval, stated; the backoff grows exponentially from it
GATEWAY_NAMESPACE = "gateway"  # where the gateway's proxies run (the front-door issue)


@dataclass(frozen=True)
class RouteTimeout:
    """One route of a service: its path prefix (None: everything else) and its timeouts."""

    prefix: str | None
    timeout_seconds: int
    per_try_timeout_seconds: int

    @property
    def timeout(self) -> str:
        return f"{self.timeout_seconds}s"

    @property
    def per_try_timeout(self) -> str:
        return f"{self.per_try_timeout_seconds}s"


@dataclass(frozen=True)
class CircuitBreaker:
    http1_max_pending_requests: int
    http2_max_requests: int
    max_retries: int
    consecutive_5xx_errors: int
    interval: str
    base_ejection_time: str
    max_ejection_percent: int


@dataclass(frozen=True)
class CanaryAnalysis:
    """Flagger's analysis: stable 100 - max_weight, canary max_weight; rolled back when the
    success rate is below `min_success_percent` in `threshold` checks."""

    step_weight: int
    max_weight: int
    min_success_percent: int
    interval: str
    threshold: int
    # How long a rollout may wait on a canary that never becomes ready before it is rolled back.
    progress_deadline_seconds: int

    @property
    def stable_weight(self) -> int:
        return 100 - self.max_weight


@dataclass(frozen=True)
class SidecarResources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class MeshSpec:
    environment: Environment
    retry_attempts: int
    retry_on: tuple[str, ...]
    retry_backoff: str
    breaker: CircuitBreaker
    sidecar: SidecarResources
    # None: no canaries (dev); staging and prod roll every context service out through one.
    canary: CanaryAnalysis | None
    gateway_namespace: str = GATEWAY_NAMESPACE

    @property
    def retry_on_header(self) -> str:
        return ",".join(self.retry_on)

    def routes(self, batch_routes: tuple[str, ...]) -> tuple[RouteTimeout, ...]:
        """A service's routes, most specific first: each batch prefix (60 s), then the rest (30 s)."""

        def route(prefix: str | None, seconds: int) -> RouteTimeout:
            return RouteTimeout(prefix, seconds, seconds // self.retry_attempts)

        batch = [route(p, seed.MESH_BATCH_TIMEOUT_SECONDS) for p in sorted(batch_routes, key=lambda p: (-len(p), p))]
        return (*batch, route(None, seed.MESH_TIMEOUT_SECONDS))


BREAKER = CircuitBreaker(
    http1_max_pending_requests=256,
    http2_max_requests=1024,
    max_retries=seed.MESH_RETRY_ATTEMPTS,
    consecutive_5xx_errors=5,
    interval="10s",
    base_ejection_time="30s",
    max_ejection_percent=50,
)

CANARY = CanaryAnalysis(
    step_weight=seed.CANARY_WEIGHT_PERCENT,
    max_weight=seed.CANARY_WEIGHT_PERCENT,
    min_success_percent=100 - seed.CANARY_MAX_ERROR_RATE_PERCENT,
    interval="1m",
    threshold=5,
    progress_deadline_seconds=600,
)

# The istio-proxy container of every meshed pod. It is injected at admission, so the context
# namespaces' quota counts it per pod (components/context_namespace.py); dev keeps a laptop's
# share, staging and prod Envoy's usual footprint with room for bursts.
SIDECARS: dict[Environment, SidecarResources] = {
    "dev": SidecarResources("20m", "64Mi", "200m", "128Mi"),
    "staging": SidecarResources("100m", "128Mi", "500m", "256Mi"),
    "prod": SidecarResources("100m", "128Mi", "1", "256Mi"),
}


def mesh_spec(environment: Environment) -> MeshSpec:
    return MeshSpec(
        environment=environment,
        retry_attempts=seed.MESH_RETRY_ATTEMPTS,
        retry_on=RETRY_ON,
        retry_backoff=RETRY_BACKOFF,
        breaker=BREAKER,
        sidecar=SIDECARS[environment],
        canary=None if environment == "dev" else CANARY,
    )
