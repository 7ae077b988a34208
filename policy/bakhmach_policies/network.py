"""Network policies: default-deny per context namespace, mesh-wide mTLS, gateway-only exposure."""

from __future__ import annotations

import ipaddress

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    cluster_of,
    get,
    group_of,
    items,
    kubernetes_objects,
    labels,
    name,
    namespace,
    object_ref,
    stack_policy,
)

ISTIO_GROUPS = ("networking.istio.io", "security.istio.io")
ISTIO_ROOT_NAMESPACE = "istio-system"


def _namespaces(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [r for r in kubernetes_objects(resources) if r.props.get("kind") == "Namespace"]


def context_namespaces(resources: list[PolicyResource]) -> list[PolicyResource]:
    """The namespaces of the seed's contexts (the six business contexts and the shared one)."""
    return [r for r in _namespaces(resources) if name(r.props) in seed.CONTEXTS]


def _is_default_deny(policy: PolicyResource) -> bool:
    spec = get(policy.props, "spec", default={})
    selector = spec.get("podSelector")
    selects_all = selector is not None and not get(selector, "matchLabels") and not get(selector, "matchExpressions")
    types = {str(t) for t in items(spec.get("policyTypes"))}
    return (
        selects_all
        and {"Ingress", "Egress"} <= types
        and not items(spec.get("ingress"))
        and not items(spec.get("egress"))
    )


def _check_default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = [r for r in kubernetes_objects(args.resources) if r.props.get("kind") == "NetworkPolicy"]
    for ns in context_namespaces(args.resources):
        if not any(
            cluster_of(p) == cluster_of(ns) and namespace(p.props) == name(ns.props) and _is_default_deny(p)
            for p in policies
        ):
            report(
                f"namespace {name(ns.props)} has no default-deny NetworkPolicy (empty podSelector, "
                "Ingress and Egress, no rules)",
                ns.urn,
            )


def _open_egress(rule: object) -> str | None:
    """Why an egress rule reaches any destination, or None: no `to` at all, or a /0 ipBlock."""
    peers = items(get(rule, "to"))
    if not peers:
        return "an egress rule without 'to' allows every destination"
    for peer in peers:
        cidr = str(get(peer, "ipBlock", "cidr", default=""))
        if cidr:
            try:
                open_ = ipaddress.ip_network(cidr, strict=False).prefixlen == 0
            except ValueError:
                return f"egress to ipBlock {cidr}, which is not a range"
            if open_:
                return f"egress to ipBlock {cidr} allows every destination"
    return None


def _check_egress_allowlist(args: StackValidationArgs, report: ReportViolation) -> None:
    contexts = {(cluster_of(ns), name(ns.props)) for ns in context_namespaces(args.resources)}
    for policy in kubernetes_objects(args.resources):
        if policy.props.get("kind") != "NetworkPolicy":
            continue
        if (cluster_of(policy), namespace(policy.props)) not in contexts:
            continue
        for rule in items(get(policy.props, "spec", "egress")):
            problem = _open_egress(rule)
            if problem:
                report(
                    f"{object_ref(policy.props)}: {problem}; the seed allows egress to listed ranges only", policy.urn
                )


def stack_has_istio(resources: list[PolicyResource]) -> bool:
    for r in resources:
        if r.resource_type.startswith("kubernetes:helm.sh/") and r.props.get("chart") == "istiod":
            return True
        if r.resource_type.startswith("kubernetes:") and group_of(r.resource_type) in ISTIO_GROUPS:
            return True
    return False


def _check_mtls(args: StackValidationArgs, report: ReportViolation) -> None:
    peer_auths = [r for r in kubernetes_objects(args.resources) if r.props.get("kind") == "PeerAuthentication"]
    # Each cluster that runs Istio needs its own mesh-wide policy; no Istio anywhere: vacuous.
    meshes = {cluster_of(r) for r in args.resources if stack_has_istio([r])}
    for cluster in sorted(meshes, key=str):
        mesh_wide = [
            p
            for p in peer_auths
            if cluster_of(p) == cluster
            and namespace(p.props) == ISTIO_ROOT_NAMESPACE
            and not get(p.props, "spec", "selector")
            and get(p.props, "spec", "mtls", "mode") == "STRICT"
        ]
        if not mesh_wide:
            where = f" (cluster {cluster.rsplit('::', 1)[-1]})" if cluster else ""
            report(
                f"Istio is installed{where} but no mesh-wide PeerAuthentication in {ISTIO_ROOT_NAMESPACE} "
                "sets mtls.mode STRICT",
                None,
            )
    for p in peer_auths:
        modes = [get(p.props, "spec", "mtls", "mode")]
        modes += [get(v, "mode") for v in (get(p.props, "spec", "portLevelMtls", default={}) or {}).values()]
        weak = sorted({str(m) for m in modes if m in ("PERMISSIVE", "DISABLE")})
        if weak:
            report(f"{object_ref(p.props)} weakens mTLS to {', '.join(weak)}", p.urn)


def _is_gateway(svc: PolicyResource, gateway_namespaces: set[tuple[str | None, object]]) -> bool:
    """A Service of the gateway: labelled bakhmach.io/role=gateway, or in a namespace so labelled
    (namespaces of the same name in two clusters are two namespaces)."""
    return (
        labels(svc.props).get(seed.ROLE_LABEL) == seed.GATEWAY_ROLE
        or (cluster_of(svc), namespace(svc.props)) in gateway_namespaces
    )


def _gateway_namespaces(resources: list[PolicyResource]) -> set[tuple[str | None, object]]:
    return {
        (cluster_of(ns), name(ns.props))
        for ns in _namespaces(resources)
        if labels(ns.props).get(seed.ROLE_LABEL) == seed.GATEWAY_ROLE
    }


def _exposed(resources: list[PolicyResource]) -> list[tuple[PolicyResource, str]]:
    """Services of type LoadBalancer or NodePort, with their type."""
    found = []
    for svc in kubernetes_objects(resources):
        if svc.props.get("kind") != "Service":
            continue
        svc_type = get(svc.props, "spec", "type", default="ClusterIP")
        if svc_type in ("LoadBalancer", "NodePort"):
            found.append((svc, str(svc_type)))
    return found


def public_entry_points(resources: list[PolicyResource]) -> list[PolicyResource]:
    """The stack's public entry points: the gateway's LoadBalancer Services, the only Services
    `gateway-only-exposure` lets the internet reach (a NodePort opens no address of its own)."""
    gateway_namespaces = _gateway_namespaces(resources)
    return [
        svc
        for svc, svc_type in _exposed(resources)
        if svc_type == "LoadBalancer" and _is_gateway(svc, gateway_namespaces)
    ]


# Prod's in-cluster data members reached from the other region (components/data/cross_region.py):
# an internal load balancer (never an internet-facing one), open to private ranges only.
DR_ENDPOINT_LABEL = "bakhmach.io/dr-endpoint"
INTERNAL_LB_ANNOTATIONS = (
    "service.beta.kubernetes.io/aws-load-balancer-internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal",
)


def is_replication_endpoint(svc: PolicyResource) -> bool:
    """An internal load balancer for the other region's replication: labelled as such, internal on
    its cloud, and open only to listed private ranges."""
    annotations = get(svc.props, "metadata", "annotations", default={}) or {}
    sources = [str(c) for c in (get(svc.props, "spec", "loadBalancerSourceRanges", default=[]) or [])]
    return (
        labels(svc.props).get(DR_ENDPOINT_LABEL) == "true"
        and any(annotations.get(a) == "true" for a in INTERNAL_LB_ANNOTATIONS)
        and bool(sources)
        and all(_private_range(c) for c in sources)
    )


def _private_range(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return network.is_private and network.prefixlen > 0


def _check_exposure(args: StackValidationArgs, report: ReportViolation) -> None:
    gateway_namespaces = _gateway_namespaces(args.resources)
    for svc, svc_type in _exposed(args.resources):
        if svc_type == "LoadBalancer" and is_replication_endpoint(svc):
            continue
        if not _is_gateway(svc, gateway_namespaces):
            report(f"{object_ref(svc.props)} is of type {svc_type}; only the gateway may be exposed", svc.urn)
    # A Gateway API Gateway makes its controller create a Service (Envoy Gateway: a LoadBalancer
    # unless its EnvoyProxy says otherwise): Gateways, and proxy configurations that ask for a
    # load balancer, belong in the gateway namespace too.
    for resource in kubernetes_objects(args.resources):
        kind = resource.props.get("kind")
        where = (cluster_of(resource), namespace(resource.props))
        if kind == "Gateway" and where not in gateway_namespaces:
            report(
                f"{object_ref(resource.props)} is a Gateway outside the gateway namespace; its controller would "
                "expose it",
                resource.urn,
            )
        service_type = get(resource.props, "spec", "provider", "kubernetes", "envoyService", "type")
        if kind == "EnvoyProxy" and service_type in ("LoadBalancer", "NodePort") and where not in gateway_namespaces:
            report(
                f"{object_ref(resource.props)} asks for a {service_type} Service outside the gateway namespace",
                resource.urn,
            )


POLICIES = [
    stack_policy(
        "default-deny-per-context",
        "Every context namespace has a default-deny NetworkPolicy for ingress and egress.",
        _check_default_deny,
    ),
    stack_policy(
        "egress-allowlist",
        "NetworkPolicies in the context namespaces allow egress only to listed peers: every egress rule names its "
        "destinations, none of them 0.0.0.0/0 or ::/0.",
        _check_egress_allowlist,
    ),
    stack_policy(
        "mesh-mtls-strict",
        "Where the stack installs Istio, a mesh-wide PeerAuthentication in istio-system sets mTLS STRICT and "
        "nothing weakens it.",
        _check_mtls,
    ),
    stack_policy(
        "gateway-only-exposure",
        "No Service of type LoadBalancer or NodePort except the gateway's (labelled bakhmach.io/role=gateway "
        "or in a namespace so labelled), and prod's replication endpoints: internal load balancers labelled "
        "bakhmach.io/dr-endpoint open to private ranges only; Gateway API Gateways and Envoy proxy "
        "configurations asking for a load balancer live only in such a namespace.",
        _check_exposure,
    ),
]
