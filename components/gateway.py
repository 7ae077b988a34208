"""`Gateway`: the front door of one cluster, the seed's `api-gateway` row, on Envoy Gateway.

Why Envoy Gateway (docs/VERSIONS.md, "Front door"): it does everything below with open-source
parts: JWT validation against the realm's JWKS with issuer and audience checks, authorization on
claims, per-client rate limits, body limits, TLS 1.3, Gateway API routes. Kong's open-source line
ends at 3.9 and its `jwt` plugin fetches no JWKS and checks no audience; ingress-nginx is retired.

What it builds (Gateway API `gateway.networking.k8s.io/v1` and Envoy Gateway's `v1alpha1`):
- the controller (chart `gateway-helm`, which also owns the Gateway API CRDs) in
  `envoy-gateway-system`, deploying each Gateway's proxies into the Gateway's own namespace;
- namespace `gateway`, labelled `bakhmach.io/role=gateway` (the only namespace whose pods the
  contexts admit, and the only one that may expose a load balancer);
- `EnvoyProxy`: the matrix row's replicas and resources per environment, the HPA (same bounds and
  behaviour as every service) and a PodDisruptionBudget (staging/prod), the platform priority,
  zone spread, JSON access logs on stdout, Prometheus metrics; Envoy Gateway's own Service stays
  ClusterIP;
- the public Service, this stack's own (so the plan, the policies and DNS failover see it):
  kind a NodePort behind kind/cluster.yaml's port mappings, EKS a Network Load Balancer, AKS the
  Azure load balancer, each locked to the edge's ranges (components/cloud/load_balancer.py);
- `Gateway` with an HTTP listener (which only redirects to HTTPS) and an HTTPS listener with the
  certificate of every public name (cert-manager, renewed 30 days before expiry);
- `ClientTrafficPolicy`: TLS 1.3 minimum, the client's address from the edge's X-Forwarded-For;
  `BackendTrafficPolicy`: a rate limit per client address and a request body limit;
- `/healthz` answered by the gateway itself (an `HTTPRouteFilter` direct response): what the load
  balancer and DNS failover health checks probe;
- one `HTTPRoute` per routed context service (path prefix on the API host, stripped before the
  service, or a host of its own), 30 s timeout, with a `SecurityPolicy`: a JWT of the realm
  (RS256, issuer, audience = the gateway's client, keys from the realm's JWKS) and authorization
  by role and context group (`authorization_rules`); Keycloak's route (its `/realms/` and
  `/resources/` only) has no JWT, Keycloak authenticates there itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.labels import (
    GATEWAY_ROLE,
    GATEWAY_ROLE_LABEL,
    PLATFORM_CONTEXT,
    instance_of,
    pod_security_labels,
    standard_labels,
)
from components.priorities import PLATFORM
from settings import front_door as fd
from settings.front_door import FrontDoorSpec, Route
from settings.model import ServiceSpec

NAMESPACE = "gateway"
CONTROLLER_NAMESPACE = "envoy-gateway-system"
CLASS = "bakhmach"
GATEWAY = "bakhmach"
PROXY_CONFIG = "bakhmach-proxy"
PROXY_DEPLOYMENT = "envoy-bakhmach"
TLS_SECRET = "gateway-tls"
SERVICE = "gateway"
JWT_PROVIDER = "keycloak"
# Envoy binds privileged listener ports shifted by 10000 (Envoy Gateway's wellKnownPortShift).
HTTP_PORT, HTTPS_PORT = 80, 443
CONTAINER_HTTP, CONTAINER_HTTPS = 10080, 10443
# Envoy's Prometheus endpoint (Envoy Gateway's proxy container port `metrics`).
METRICS_PORT = 19001
# What Envoy Gateway labels a Gateway's proxy pods with.
PROXY_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
    "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE,
}
GATEWAY_API = "gateway.networking.k8s.io/v1"
# Istio's per-pod settings for the proxies' sidecars (Istio's annotation reference): no inbound
# port captured, and Envoy held until the sidecar is ready to carry its calls.
MESH_POD_ANNOTATIONS = {
    "traffic.sidecar.istio.io/includeInboundPorts": "",
    "proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}',
}
ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
# JSON access log fields (Envoy command operators).
ACCESS_LOG = {
    "start_time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "upstream_host": "%UPSTREAM_HOST%",
    "client_address": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
    "user_agent": "%REQ(USER-AGENT)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "traceparent": "%REQ(TRACEPARENT)%",
    "authority": "%REQ(:AUTHORITY)%",
    "route": "%ROUTE_NAME%",
}


@dataclass(frozen=True)
class Exposure:
    """How the gateway's Service is reached from outside, per cloud
    (components/cloud/load_balancer.py)."""

    type: str  # LoadBalancer | NodePort
    annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    load_balancer_class: str | None = None
    source_ranges: tuple[str, ...] = ()
    node_ports: tuple[int, int] | None = None  # (http, https) on kind
    external_traffic_policy: str | None = None
    # The client's address comes from X-Forwarded-For, appended by these proxies (the edge).
    trusted_proxies: tuple[str, ...] = ()
    dependencies: tuple[pulumi.Resource, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class IdentityEndpoint:
    """Where the gateway finds Keycloak: its Service for the route and the JWKS (in the cluster
    that runs it), or only its public issuer (a cluster without Keycloak fetches the keys there)."""

    issuer: str
    jwks_uri: str
    service: tuple[str, str, int] | None = None  # namespace, name, port
    dependencies: tuple[pulumi.Resource, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class GatewayArgs:
    spec: FrontDoorSpec
    row: ServiceSpec  # the matrix's api-gateway row, resolved for this stack
    pod_security_version: str
    exposure: Exposure
    identity: IdentityEndpoint
    # The context namespaces (ReferenceGrants for the routes' backends live there).
    namespaces: dict[str, pulumi.Resource]
    # cert-manager and its issuer; the PriorityClasses; the HPA's metrics API.
    certificates: tuple[pulumi.Resource, ...] = ()
    scheduling: tuple[pulumi.Resource, ...] = ()
    hpa_dependencies: tuple[pulumi.Resource, ...] = ()
    # The mesh (components/mesh): the namespace's injection label, and what the proxies' sidecars
    # wait for (istiod, the CNI agent). Empty: a cluster without the mesh.
    mesh_labels: dict[str, str] = field(default_factory=dict)
    mesh_dependencies: tuple[pulumi.Resource, ...] = ()


def authorization_rules(route: Route) -> list[dict[str, Any]]:
    """The seed's RBAC matrix at the gateway, for one route: who may call it, and how.

    - system admin: every operation on every route;
    - context manager and service account: every operation on their context's routes (the
      `groups` claim holds `/<context>`); on the shared platform context's routes (auth-service),
      every context's;
    - guest: read-only operations on their context's routes (platform: everyone's);
    - auditor: read-only operations on every route.
    Roles not in `route.roles` get no rule; everything else is denied."""

    def claims(role: str, context_bound: bool) -> list[dict[str, Any]]:
        wanted = [{"name": "realm_access.roles", "valueType": "StringArray", "values": [role]}]
        if context_bound and route.context != PLATFORM_CONTEXT:
            wanted.append({"name": "groups", "valueType": "StringArray", "values": [f"/{route.context}"]})
        return wanted

    read = {"methods": list(fd.READ_METHODS)}
    matrix: dict[str, tuple[bool, dict[str, Any] | None]] = {
        fd.SYSTEM_ADMIN: (False, None),
        fd.CONTEXT_MANAGER: (True, None),
        fd.SERVICE_ACCOUNT: (True, None),
        fd.GUEST: (True, read),
        fd.AUDITOR: (False, read),
    }
    rules = []
    for role in fd.ROLES:
        if role not in route.roles:
            continue
        context_bound, operation = matrix[role]
        rule: dict[str, Any] = {
            "name": role,
            "action": "Allow",
            "principal": {"jwt": {"provider": JWT_PROVIDER, "claims": claims(role, context_bound)}},
        }
        if operation is not None:
            rule["operation"] = operation
        rules.append(rule)
    return rules


class Gateway(pulumi.ComponentResource):
    service: k8s.core.v1.Service

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Gateway", name, None, opts)
        spec, row, env = args.spec, args.row, args.spec.environment
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=env, component="gateway")
        controller_ns = k8s.core.v1.Namespace(
            f"{name}-controller-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=CONTROLLER_NAMESPACE,
                labels=labels | pod_security_labels(args.pod_security_version, "restricted", warn="restricted"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels=labels
                | {GATEWAY_ROLE_LABEL: GATEWAY_ROLE}
                | args.mesh_labels
                | pod_security_labels(args.pod_security_version, "restricted", warn="restricted"),
            ),
            # The proxies' sidecars are injected at admission: istiod and the CNI agent first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.mesh_dependencies)),
        )
        controller = versions.ENVOY_GATEWAY.release(
            f"{name}-controller",
            name="envoy-gateway",
            namespace=CONTROLLER_NAMESPACE,
            values={
                "deployment": {"priorityClassName": PLATFORM.name, "replicas": 1 if env == "dev" else 2},
                "podDisruptionBudget": {"minAvailable": 0 if env == "dev" else 1},
                # Each Gateway's proxies run in the Gateway's namespace, not the controller's.
                "config": {
                    "envoyGateway": {
                        "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                        "provider": {"type": "Kubernetes", "kubernetes": {"deploy": {"type": "GatewayNamespace"}}},
                        "logging": {"level": {"default": "info"}},
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controller_ns, *args.scheduling]),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace, controller])

        def meta(object_name: str, extra: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=NAMESPACE, labels=labels | (extra or {}))

        def custom(resource_name: str, api: str, kind: str, metadata: Any, body: dict[str, Any], **kw: Any) -> Any:
            return k8s.apiextensions.CustomResource(
                resource_name,
                api_version=api,
                kind=kind,
                metadata=metadata,
                opts=kw.pop("opts", in_ns),
                **body,
            )

        proxy = custom(
            f"{name}-proxy",
            ENVOY_API,
            "EnvoyProxy",
            meta(PROXY_CONFIG),
            {"spec": _proxy_spec(row, env, meshed=bool(args.mesh_labels))},
        )
        gateway_class = custom(
            f"{name}-class",
            GATEWAY_API,
            "GatewayClass",
            k8s.meta.v1.ObjectMetaArgs(name=CLASS, labels=labels),
            {
                "spec": {
                    "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                    "parametersRef": {
                        "group": "gateway.envoyproxy.io",
                        "kind": "EnvoyProxy",
                        "name": PROXY_CONFIG,
                        "namespace": NAMESPACE,
                    },
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controller, proxy]),
        )
        certificate = custom(
            f"{name}-certificate",
            "cert-manager.io/v1",
            "Certificate",
            meta(TLS_SECRET),
            {
                "spec": {
                    "secretName": TLS_SECRET,
                    "dnsNames": list(spec.hostnames),
                    "duration": f"{fd.CERTIFICATE_DURATION_DAYS * 24}h",
                    "renewBefore": f"{fd.CERTIFICATE_RENEW_BEFORE_DAYS * 24}h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "issuerRef": {"name": "bakhmach", "kind": "ClusterIssuer", "group": "cert-manager.io"},
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.certificates]),
        )
        gateway = custom(
            f"{name}-gateway",
            GATEWAY_API,
            "Gateway",
            meta(GATEWAY),
            {
                "spec": {
                    "gatewayClassName": CLASS,
                    "listeners": [
                        {
                            "name": "http",
                            "protocol": "HTTP",
                            "port": HTTP_PORT,
                            "allowedRoutes": {"namespaces": {"from": "Same"}},
                        },
                        {
                            "name": "https",
                            "protocol": "HTTPS",
                            "port": HTTPS_PORT,
                            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
                            "allowedRoutes": {"namespaces": {"from": "Same"}},
                        },
                    ],
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway_class, certificate, namespace]),
        )
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[gateway])
        target = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY}]
        exposure = args.exposure
        client_spec: dict[str, Any] = {
            "targetRefs": target,
            "tls": {"minVersion": fd.GATEWAY_TLS_MINIMUM},
            # Headers with underscores are a classic smuggling vector past proxies that drop them.
            "headers": {"withUnderscoresAction": "RejectRequest"},
            "timeout": {"http": {"requestReceivedTimeout": f"{fd.UPSTREAM_TIMEOUT_SECONDS}s"}},
        }
        if exposure.trusted_proxies:
            client_spec["clientIPDetection"] = {"xForwardedFor": {"trustedCIDRs": list(exposure.trusted_proxies)}}
        custom(
            f"{name}-client-policy",
            ENVOY_API,
            "ClientTrafficPolicy",
            meta("bakhmach-clients"),
            {"spec": client_spec},
            opts=after_gateway,
        )
        custom(
            f"{name}-backend-policy",
            ENVOY_API,
            "BackendTrafficPolicy",
            meta("bakhmach-limits"),
            {
                "spec": {
                    "targetRefs": target,
                    # One bucket per client address (Distinct), per gateway replica.
                    "rateLimit": {
                        "local": {
                            "rules": [
                                {
                                    "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
                                    "limit": {"requests": spec.rate_limit_per_minute, "unit": "Minute"},
                                }
                            ]
                        }
                    },
                    # Larger bodies are refused with 413 before they reach a service.
                    "requestBuffer": {"limit": spec.max_request_body},
                    "timeout": {"http": {"requestTimeout": f"{fd.UPSTREAM_TIMEOUT_SECONDS}s"}},
                }
            },
            opts=after_gateway,
        )

        self.service = self._service(name, exposure, labels, row, [namespace, gateway])

        https_parent = [{"name": GATEWAY, "sectionName": "https"}]
        custom(
            f"{name}-redirect",
            GATEWAY_API,
            "HTTPRoute",
            meta("redirect-to-https"),
            {
                "spec": {
                    "parentRefs": [{"name": GATEWAY, "sectionName": "http"}],
                    "rules": [
                        {
                            "filters": [
                                {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                            ]
                        }
                    ],
                }
            },
            opts=after_gateway,
        )
        healthz = custom(
            f"{name}-healthz-filter",
            ENVOY_API,
            "HTTPRouteFilter",
            meta("healthz"),
            {
                "spec": {
                    "directResponse": {
                        "statusCode": 200,
                        "contentType": "text/plain",
                        "body": {"type": "Inline", "inline": "ok"},
                    }
                }
            },
            opts=after_gateway,
        )
        custom(
            f"{name}-healthz",
            GATEWAY_API,
            "HTTPRoute",
            meta("healthz"),
            {
                "spec": {
                    "parentRefs": https_parent,
                    "rules": [
                        {
                            "matches": [{"path": {"type": "Exact", "value": "/healthz"}}],
                            "filters": [
                                {
                                    "type": "ExtensionRef",
                                    "extensionRef": {
                                        "group": "gateway.envoyproxy.io",
                                        "kind": "HTTPRouteFilter",
                                        "name": "healthz",
                                    },
                                }
                            ],
                        }
                    ],
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway, healthz]),
        )

        identity = args.identity
        grants: dict[str, list[dict[str, str]]] = {}
        provider: dict[str, Any] = {
            "name": JWT_PROVIDER,
            "issuer": identity.issuer,
            "audiences": [fd.GATEWAY_CLIENT],
            "remoteJWKS": {"uri": identity.jwks_uri},
        }
        if identity.service is not None:
            kc_namespace, kc_service, kc_port = identity.service
            provider["remoteJWKS"]["backendRefs"] = [
                {"group": "", "kind": "Service", "name": kc_service, "namespace": kc_namespace, "port": kc_port}
            ]
            grants.setdefault(kc_namespace, []).extend(
                [
                    {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
                    {"group": "gateway.envoyproxy.io", "kind": "SecurityPolicy"},
                ]
            )
            custom(
                f"{name}-route-identity",
                GATEWAY_API,
                "HTTPRoute",
                meta("identity"),
                {
                    "spec": {
                        "parentRefs": https_parent,
                        "hostnames": [spec.identity_hostname],
                        "rules": [
                            {
                                "matches": [
                                    {"path": {"type": "PathPrefix", "value": prefix}}
                                    for prefix in ("/realms/", "/resources/")
                                ],
                                "backendRefs": [{"name": kc_service, "namespace": kc_namespace, "port": kc_port}],
                                "timeouts": {"request": f"{fd.UPSTREAM_TIMEOUT_SECONDS}s"},
                            }
                        ],
                    }
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway, *identity.dependencies]),
            )
        for route in spec.routes:
            grants.setdefault(route.namespace, []).append({"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"})
            rule: dict[str, Any] = {
                "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                "backendRefs": [{"name": route.service, "namespace": route.namespace, "port": route.port}],
                "timeouts": {"request": f"{fd.UPSTREAM_TIMEOUT_SECONDS}s"},
            }
            if route.path != "/":
                rule["filters"] = [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                ]
            http_route = custom(
                f"{name}-route-{route.service}",
                GATEWAY_API,
                "HTTPRoute",
                meta(route.service, {"bakhmach.io/route-context": route.context}),
                {"spec": {"parentRefs": https_parent, "hostnames": [route.hostname], "rules": [rule]}},
                opts=after_gateway,
            )
            custom(
                f"{name}-auth-{route.service}",
                ENVOY_API,
                "SecurityPolicy",
                meta(route.service),
                {
                    "spec": {
                        "targetRefs": [
                            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route.service}
                        ],
                        "jwt": {"providers": [provider]},
                        "authorization": {"defaultAction": "Deny", "rules": authorization_rules(route)},
                    }
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[http_route, *identity.dependencies]),
            )
        for target_ns, sources in sorted(grants.items()):
            depends = [args.namespaces[target_ns]] if target_ns in args.namespaces else list(identity.dependencies)
            custom(
                f"{name}-grant-{target_ns}",
                "gateway.networking.k8s.io/v1",
                "ReferenceGrant",
                k8s.meta.v1.ObjectMetaArgs(
                    name="from-gateway",
                    namespace=target_ns,
                    labels=standard_labels(
                        context=target_ns if target_ns in args.namespaces else PLATFORM_CONTEXT,
                        environment=env,
                        component="gateway",
                    ),
                ),
                {
                    "spec": {
                        "from": [{**source, "namespace": NAMESPACE} for source in sources],
                        "to": [{"group": "", "kind": "Service"}],
                    }
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[controller, *depends]),
            )
        self.register_outputs({"namespace": NAMESPACE, "hostnames": list(spec.hostnames)})

    def _service(
        self, name: str, exposure: Exposure, labels: dict[str, str], row: ServiceSpec, after: list[pulumi.Resource]
    ) -> k8s.core.v1.Service:
        ports = []
        for port_name, port, target, node_port in (
            ("http", HTTP_PORT, CONTAINER_HTTP, exposure.node_ports[0] if exposure.node_ports else None),
            ("https", HTTPS_PORT, CONTAINER_HTTPS, exposure.node_ports[1] if exposure.node_ports else None),
        ):
            ports.append(
                k8s.core.v1.ServicePortArgs(
                    name=port_name, port=port, target_port=target, node_port=node_port, protocol="TCP"
                )
            )
        return k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE,
                namespace=NAMESPACE,
                labels=labels | {"app.kubernetes.io/name": SERVICE} | instance_of(row.name, row.environment),
                annotations=exposure.annotations or None,
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type=exposure.type,
                selector=PROXY_LABELS,
                ports=ports,
                load_balancer_class=exposure.load_balancer_class,
                load_balancer_source_ranges=list(exposure.source_ranges) or None,
                external_traffic_policy=exposure.external_traffic_policy,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *exposure.dependencies]),
        )


def _proxy_spec(row: ServiceSpec, env: str, meshed: bool = False) -> dict[str, Any]:
    """The proxies as the matrix row says: replicas, resources and autoscaling by the same rules as
    every context service (settings/model.py), spread over zones, in the platform class.

    In the mesh the services accept only mTLS from the gateway namespace's identity (STRICT,
    components/mesh): each proxy gets a sidecar that leaves its inbound alone (clients and the
    load balancer talk to Envoy directly, and Prometheus scrapes it) and originates mTLS on the
    way out; the proxies route to each Service's cluster IP, which the sidecar knows as that
    service, rather than to pod addresses; and Envoy starts once its sidecar is ready."""
    resources = {
        "requests": {"cpu": row.resources.cpu_request, "memory": row.resources.memory_request},
        "limits": {"cpu": row.resources.cpu_limit, "memory": row.resources.memory_limit},
    }
    selector = {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY}}
    deployment: dict[str, Any] = {
        "name": PROXY_DEPLOYMENT,
        "pod": {
            **({"annotations": MESH_POD_ANNOTATIONS} if meshed else {}),
            "priorityClassName": PLATFORM.name,
            "labels": instance_of(row.name, row.environment),
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}
                for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
            ],
        },
        "container": {"resources": resources},
    }
    kubernetes: dict[str, Any] = {
        "envoyDeployment": deployment,
        # The public Service is the stack's own (Gateway._service); this one stays inside.
        "envoyService": {"type": "ClusterIP"},
    }
    rule = row.autoscaling
    if rule is None:
        deployment["replicas"] = row.replicas
    else:
        kubernetes["envoyHpa"] = {
            "minReplicas": row.replicas,
            "maxReplicas": rule.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": res, "target": {"type": "Utilization", "averageUtilization": pct}},
                }
                for res, pct in (("cpu", rule.cpu_percent), ("memory", rule.memory_percent))
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": rule.scale_up_seconds,
                    "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": rule.scale_up_seconds}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": rule.scale_down_seconds,
                    "selectPolicy": "Min",
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": rule.cooldown_seconds}],
                },
            },
        }
        kubernetes["envoyPDB"] = {"maxUnavailable": 1}
    return {
        **({"routingType": "Service"} if meshed else {}),
        "provider": {"type": "Kubernetes", "kubernetes": kubernetes},
        "telemetry": {
            "accessLog": {
                "settings": [
                    {
                        "format": {"type": "JSON", "json": ACCESS_LOG},
                        "sinks": [{"type": "File", "file": {"path": "/dev/stdout"}}],
                    }
                ]
            },
            "metrics": {"prometheus": {}},
        },
    }
