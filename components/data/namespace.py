"""`DataNamespace`: where the in-cluster data services (and the provisioning Jobs of the managed
ones, each with an egress policy of its own to its service) run, fenced like a context namespace.

- Pod Security `baseline` enforced, `restricted` audited and warned: the operators' database
  pods (Percona's mongod, the OT Redis pods, Strimzi's Kafka pods) do not all set a seccomp
  profile or drop every capability, which `restricted` requires; `baseline` still forbids
  privileged pods, host namespaces and host paths, and the warnings show what is left to tighten;
- a quota sized for the members at this environment's size;
- default-deny for ingress and egress, then: DNS; traffic between the members themselves
  (replication, cluster bus, KRaft); ingress from the operators' namespace; ingress from each
  consuming context namespace on that data service's port only, and where the service has an
  entry point of its own (MongoDB's mongos routers of a sharded cluster) to those pods only;
  egress to the API server and object storage (HTTPS), which the instance managers and backup
  agents need; in prod, the other region's range on the replication ports, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.labels import PLATFORM_CONTEXT, pod_security_labels, standard_labels
from components.network_policies import EVERY_POD, default_deny_spec, dns_egress_spec, namespace_peer, tcp_ports


@dataclass(frozen=True)
class DataNamespaceArgs:
    name: str
    environment: str
    pod_security_version: str
    operator_namespace: str
    # {port: namespaces whose pods may connect to it}
    consumers: dict[int, tuple[str, ...]]
    requests_cpu: str
    requests_memory: str
    limits_memory: str
    storage: str
    # Prod: the in-cluster members' internal load balancers for the other region, and the ports
    # replication uses to and from its range (components/data/cross_region.py).
    load_balancers: int = 0
    other_region: dict[int, str] = field(default_factory=dict)
    # {port: labels of the only pods the consumers may reach on it}; other ports: every pod.
    entry_pods: dict[int, dict[str, str]] = field(default_factory=dict)


# For a container that declares nothing (an operator's sidecar or init container).
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_MEMORY_LIMIT = "256Mi"


def ip_block(cidr: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))


class DataNamespace(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    name: str

    def __init__(self, name: str, args: DataNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataNamespace", name, None, opts)
        self.name = args.name
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="data")
        pss = pod_security_labels(args.pod_security_version, "baseline", audit="restricted", warn="restricted")
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.name, labels=labels | pss),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=args.name, labels=labels)

        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("data-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": args.requests_cpu,
                    "requests.memory": args.requests_memory,
                    "limits.memory": args.limits_memory,
                    "requests.storage": args.storage,
                    # Data services are reached inside the cluster only; prod's members also from
                    # the other region, each through an internal load balancer.
                    "services.loadbalancers": str(args.load_balancers),
                    "services.nodeports": "0",
                }
            ),
            opts=inside,
        )
        # A quota on requests and memory limits makes Kubernetes reject any container that does
        # not declare them, and the operators' sidecars and init containers do not all do so: the
        # LimitRange fills in what they leave out. No CPU limit: throttling a database's CPU
        # trades a little fairness for latency spikes, so CPU is governed by requests only.
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("data-limits"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request=DEFAULT_REQUEST,
                        default={"memory": DEFAULT_MEMORY_LIMIT},
                    )
                ]
            ),
            opts=inside,
        )

        def policy(suffix: str, spec: k8s.networking.v1.NetworkPolicySpecArgs) -> None:
            k8s.networking.v1.NetworkPolicy(f"{name}-{suffix}", metadata=meta(suffix), spec=spec, opts=inside)

        policy("default-deny", default_deny_spec())
        policy("allow-dns", dns_egress_spec())
        policy(
            "allow-members",
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=EVERY_POD,
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[namespace_peer(args.name)])],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[namespace_peer(args.name)])],
            ),
        )
        policy(
            "allow-from-operators",
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=EVERY_POD,
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[namespace_peer(args.operator_namespace)])
                ],
            ),
        )
        # The API server's and object storage's addresses are the cloud's, not known here: HTTPS
        # (and the API server's 6443 on kind) is the narrowest rule that still lets the instance
        # managers and backup agents work.
        policy(
            "allow-https-egress",
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=EVERY_POD,
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=tcp_ports(443, 6443))],
            ),
        )
        if args.other_region:
            # Replication with the other region: its range on the replication ports, both ways.
            policy(
                "allow-other-region",
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress", "Egress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[ip_block(cidr)], ports=tcp_ports(port))
                        for port, cidr in sorted(args.other_region.items())
                    ],
                    egress=[
                        k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[ip_block(cidr)], ports=tcp_ports(port))
                        for port, cidr in sorted(args.other_region.items())
                    ],
                ),
            )

        def consumers_rule(port: int, namespaces: tuple[str, ...]) -> k8s.networking.v1.NetworkPolicyIngressRuleArgs:
            return k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[namespace_peer(ns) for ns in namespaces], ports=tcp_ports(port)
            )

        anywhere = {port: ns for port, ns in args.consumers.items() if port not in args.entry_pods}
        if anywhere:
            policy(
                "allow-from-consumers",
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[consumers_rule(port, namespaces) for port, namespaces in sorted(anywhere.items())],
                ),
            )
        # A port served by an entry point of its own: the consumers reach those pods only, never
        # the members behind them (a sharded MongoDB's shards and config servers share the port).
        for port, entry in sorted(args.entry_pods.items()):
            if port in args.consumers:
                policy(
                    f"allow-from-consumers-{port}",
                    k8s.networking.v1.NetworkPolicySpecArgs(
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=entry),
                        policy_types=["Ingress"],
                        ingress=[consumers_rule(port, args.consumers[port])],
                    ),
                )
        self.register_outputs({"namespace": args.name})
