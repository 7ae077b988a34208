"""`ServiceTraffic`: one context service's routing, resilience, rollout and authorization in the mesh.

Every stack:
- a VirtualService for the service's host with one HTTP route per batch prefix (60 s) and one for
  everything else (30 s), each retrying 3 times (a third of the timeout per attempt, on 5xx, reset
  and connect-failure, 25 ms backoff growing exponentially);
- the traffic policy (settings/mesh.py): round-robin or least-request, a connection pool,
  outlier detection, Istio mTLS to the pods;
- authorization: the service's pods accept requests only from the gateway's namespace and from
  the services that call it (settings: `calls`), each by its mTLS identity (its ServiceAccount);
  beside that the namespace's `allow-nothing` policy denies what no policy allows.

Dev: the VirtualService routes to the service, and a DestinationRule carries the traffic policy.

Staging and prod: a Flagger `Canary` owns the rollout. Flagger creates the service's Services
(`<name>`, `<name>-primary`, `<name>-canary`), the DestinationRules of primary and canary (both
from the one `trafficPolicy` in the Canary's service spec), and a delegate VirtualService
`<name>` whose only job is the 90/10 weights (`delegation: true`: no hosts, no timeout, no
retries of its own). The stack's root VirtualService `<name>-routes` holds the host and the
routes, each delegating to Flagger's: Istio merges a delegate route into its root route and fills
what the delegate leaves unset (timeout, retries) from the root (pilot/pkg/model/virtualservice.go
`mergeHTTPRoute` at Istio 1.31). So the timeouts and retries are written once, the traffic policy
once, and primary and canary get the same; no two objects route the same host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.labels import INSTANCE_LABEL, instance_of, standard_labels
from settings.mesh import MeshSpec, RouteTimeout
from settings.model import ServiceSpec

SERVICE_PORT = 80  # the ClusterIP port every context service is called on (components/context_service.py)
PORT_NAME = "http"
NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
FLAGGER = "flagger.app/v1beta1"
LOAD_BALANCERS = {"round-robin": "ROUND_ROBIN", "least-request": "LEAST_REQUEST"}
# Flagger's built-in Istio check: the share of the canary's requests answered without a 5xx.
SUCCESS_RATE_METRIC = "request-success-rate"


def host_of(spec: ServiceSpec) -> str:
    return f"{spec.name}.{spec.context}.svc.cluster.local"


def principal_of(spec: ServiceSpec) -> str:
    """The service's mTLS identity: its namespace and ServiceAccount (named after it)."""
    return f"cluster.local/ns/{spec.context}/sa/{spec.name}"


def workload_selector(spec: ServiceSpec) -> dict[str, str]:
    """The service's pods, primary and canary alike: Flagger copies every pod label to the primary
    and renames only the selector label (`app.kubernetes.io/name`)."""
    return instance_of(spec.name, spec.environment)


def traffic_policy(spec: ServiceSpec, mesh: MeshSpec) -> dict[str, Any]:
    """The DestinationRule traffic policy, in the shape both Istio's DestinationRule and Flagger's
    Canary `service.trafficPolicy` take (the Canary's schema has HTTP connection-pool limits only,
    so TCP limits are left out everywhere to keep dev and the canary stacks the same)."""
    breaker = mesh.breaker
    return {
        "loadBalancer": {"simple": LOAD_BALANCERS[spec.load_balancing]},
        "connectionPool": {
            "http": {
                "http1MaxPendingRequests": breaker.http1_max_pending_requests,
                "http2MaxRequests": breaker.http2_max_requests,
                "maxRetries": breaker.max_retries,
            }
        },
        "outlierDetection": {
            "consecutive5xxErrors": breaker.consecutive_5xx_errors,
            "interval": breaker.interval,
            "baseEjectionTime": breaker.base_ejection_time,
            "maxEjectionPercent": breaker.max_ejection_percent,
        },
        "tls": {"mode": "ISTIO_MUTUAL"},
    }


def http_routes(spec: ServiceSpec, mesh: MeshSpec, destination: dict[str, Any]) -> list[dict[str, Any]]:
    """One route per batch prefix (longest first) and a last one for the rest; `destination` is
    either a `route` (dev) or a `delegate` to Flagger's VirtualService."""

    def route(index: int, r: RouteTimeout) -> dict[str, Any]:
        return {
            "name": f"batch-{index}" if r.prefix else "api",
            **({"match": [{"uri": {"prefix": r.prefix}}]} if r.prefix else {}),
            "timeout": r.timeout,
            "retries": {
                "attempts": mesh.retry_attempts,
                "perTryTimeout": r.per_try_timeout,
                "retryOn": mesh.retry_on_header,
                "backoff": mesh.retry_backoff,
            },
            **destination,
        }

    return [route(i, r) for i, r in enumerate(mesh.routes(spec.batch_routes))]


def canary_spec(
    spec: ServiceSpec, mesh: MeshSpec, labels: dict[str, str], apex_annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    assert mesh.canary is not None
    analysis = mesh.canary
    service: dict[str, Any] = {
        "port": SERVICE_PORT,
        "portName": PORT_NAME,
        "targetPort": PORT_NAME,
        "delegation": True,
        "trafficPolicy": traffic_policy(spec, mesh),
        # The Services Flagger creates carry the stack's labels (owner, context, environment).
        # The apex Service is the one callers (and the gateway's route) name: it carries what the
        # stack would have put on the Service it no longer creates (the internal mark).
        "apex": {"labels": labels, **({"annotations": apex_annotations} if apex_annotations else {})},
        "primary": {"labels": labels},
        "canary": {"labels": labels},
    }
    return {
        "provider": "istio",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
        **(
            {
                "autoscalerRef": {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "name": spec.name,
                }
            }
            if spec.autoscaling
            else {}
        ),
        "progressDeadlineSeconds": analysis.progress_deadline_seconds,
        "service": service,
        "analysis": {
            "interval": analysis.interval,
            "threshold": analysis.threshold,
            "stepWeight": analysis.step_weight,
            "maxWeight": analysis.max_weight,
            "metrics": [
                {
                    "name": SUCCESS_RATE_METRIC,
                    "interval": analysis.interval,
                    "thresholdRange": {"min": analysis.min_success_percent},
                }
            ],
        },
    }


def authorization_rules(spec: ServiceSpec, mesh: MeshSpec, callers: tuple[ServiceSpec, ...]) -> list[dict[str, Any]]:
    """Who may call the service's port: the gateway's namespace, and each caller by identity."""
    to = [{"operation": {"ports": [str(spec.port)]}}]
    rules: list[dict[str, Any]] = [{"from": [{"source": {"namespaces": [mesh.gateway_namespace]}}], "to": to}]
    if callers:
        rules.append({"from": [{"source": {"principals": sorted(principal_of(c) for c in callers)}}], "to": to})
    return rules


@dataclass(frozen=True)
class ServiceTrafficArgs:
    spec: ServiceSpec
    mesh: MeshSpec
    # The services whose settings say they call this one.
    callers: tuple[ServiceSpec, ...] = ()
    # The service's Deployment (a Canary's target must exist), the mesh's CRDs and Flagger.
    dependencies: tuple[pulumi.Resource, ...] = ()
    # Annotations of the Service Flagger creates under a canary (components/context_service.py
    # puts them on its own Service otherwise).
    service_annotations: dict[str, str] = field(default_factory=dict)


class ServiceTraffic(pulumi.ComponentResource):
    virtual_service: k8s.apiextensions.CustomResource
    canary: k8s.apiextensions.CustomResource | None

    def __init__(self, name: str, args: ServiceTrafficArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:mesh:ServiceTraffic", name, None, opts)
        spec, mesh = args.spec, args.mesh
        labels = standard_labels(context=spec.context, environment=spec.environment, component="mesh", name=spec.name)
        after = pulumi.ResourceOptions(parent=self, depends_on=list(args.dependencies))

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=spec.context, labels=labels)

        host = host_of(spec)
        self.canary = None
        if mesh.canary is None:
            k8s.apiextensions.CustomResource(
                f"{name}-destination-rule",
                api_version=NETWORKING,
                kind="DestinationRule",
                metadata=meta(spec.name),
                spec={"host": host, "trafficPolicy": traffic_policy(spec, mesh)},
                opts=after,
            )
            destination: dict[str, Any] = {"route": [{"destination": {"host": host, "port": {"number": SERVICE_PORT}}}]}
            vs_name = spec.name
        else:
            self.canary = k8s.apiextensions.CustomResource(
                f"{name}-canary",
                api_version=FLAGGER,
                kind="Canary",
                metadata=meta(spec.name),
                spec=canary_spec(spec, mesh, labels, args.service_annotations),
                opts=after,
            )
            # Flagger's delegate VirtualService takes the service's own name.
            destination = {"delegate": {"name": spec.name, "namespace": spec.context}}
            vs_name = f"{spec.name}-routes"
        self.virtual_service = k8s.apiextensions.CustomResource(
            f"{name}-virtual-service",
            api_version=NETWORKING,
            kind="VirtualService",
            metadata=meta(vs_name),
            spec={"hosts": [host], "http": http_routes(spec, mesh, destination)},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*args.dependencies, *([self.canary] if self.canary else [])]
            ),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-authorization",
            api_version=SECURITY,
            kind="AuthorizationPolicy",
            metadata=meta(spec.name),
            spec={
                "selector": {"matchLabels": workload_selector(spec)},
                "action": "ALLOW",
                "rules": authorization_rules(spec, mesh, args.callers),
            },
            opts=after,
        )
        self.register_outputs(
            {
                "host": host,
                "canary": self.canary is not None,
                "callers": sorted(c.name for c in args.callers),
                "selector": {INSTANCE_LABEL: workload_selector(spec)[INSTANCE_LABEL]},
            }
        )
