"""`PublicEntry`: how the gateway's Service is reached from outside, per cluster target.

- kind: a NodePort on 30080/30443, which kind/cluster.yaml maps to 127.0.0.1:80/443 on the laptop
  (no load balancer: a laptop cluster has no public address);
- EKS: an internet-facing Network Load Balancer in the public subnets, made by the AWS Load
  Balancer Controller (installed here, EKS Pod Identity, the IAM policy of its pinned release
  vendored under `vendor/aws-load-balancer-controller/`), IP targets with the client's address
  preserved, and a security group of its own that admits HTTPS only from Cloudflare's published
  ranges (settings/cloudflare_ips.py) and, in prod, from Route 53's health checkers (the managed
  prefix list `com.amazonaws.<region>.route53-healthchecks`);
- AKS: the Azure Standard load balancer, whose NSG rules AKS writes from the Service's
  `loadBalancerSourceRanges` (Cloudflare's ranges) and, in prod, the `AzureTrafficManager`
  service tag for the failover probes.
Without an edge (`edge.provider: none`) the origin is open to the internet on 80 and 443.
Each cloud Service carries external-dns's hostname annotation with the names it serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.cloud.common import CloudScope
from components.cloud.identity import pod_identity_role
from components.gateway import Exposure
from components.network import AwsNetwork, CloudNetwork
from components.priorities import SYSTEM_CLUSTER_CRITICAL
from settings import cloudflare_ips
from settings.front_door import EdgeProvider
from settings.seed import Cloud

KIND_NODE_PORTS = (30080, 30443)
LBC_NAMESPACE = "kube-system"
LBC_SERVICE_ACCOUNT = "aws-load-balancer-controller"
LBC_POLICY = (
    Path(__file__).resolve().parents[2]
    / "vendor"
    / "aws-load-balancer-controller"
    / versions.AWS_LOAD_BALANCER_CONTROLLER_VERSION
    / "iam_policy.json"
)
HTTPS = 443
HTTP = 80
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
AZURE_ALLOWED_SERVICE_TAGS = "service.beta.kubernetes.io/azure-allowed-service-tags"
TRAFFIC_MANAGER_TAG = "AzureTrafficManager"


def route53_health_check_prefix_list(region: str) -> str:
    return f"com.amazonaws.{region}.route53-healthchecks"


@dataclass(frozen=True)
class PublicEntryArgs:
    cloud: Cloud
    edge: EdgeProvider
    # The names external-dns publishes for this cluster's gateway (the region's origin, and without
    # an edge the public names it serves).
    hostnames: tuple[str, ...] = ()
    # Prod: DNS failover health checks probe the origin from the cloud's checkers.
    failover_probes: bool = False
    network: CloudNetwork | None = None
    scope: CloudScope | None = None


class PublicEntry(pulumi.ComponentResource):
    exposure: Exposure

    def __init__(self, name: str, args: PublicEntryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:PublicEntry", name, None, opts)
        behind_edge = args.edge == "cloudflare"
        annotations: dict[str, pulumi.Input[str]] = {}
        if args.hostnames:
            annotations[EXTERNAL_DNS_HOSTNAME] = ",".join(args.hostnames)
        trusted = cloudflare_ips.IPV4 + cloudflare_ips.IPV6 if behind_edge else ()
        if args.cloud == "kind":
            self.exposure = Exposure(type="NodePort", node_ports=KIND_NODE_PORTS)
        elif args.cloud == "aws":
            assert isinstance(args.network, AwsNetwork) and args.scope is not None
            group, controller = self._aws(name, args, args.network, args.scope)
            annotations |= {
                # The controller's NLB, not the in-tree provider's CLB.
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-subnets": pulumi.Output.all(
                    *args.network.public_subnet_ids
                ).apply(lambda ids: ",".join(ids)),
                "service.beta.kubernetes.io/aws-load-balancer-security-groups": group.id,
                # With its own security group the controller adds the targets' rule only if asked.
                "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules": "true",
                # Envoy sees the edge's address, so X-Forwarded-For is trusted from it alone.
                "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": (
                    "preserve_client_ip.enabled=true"
                ),
                "service.beta.kubernetes.io/aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
            }
            self.exposure = Exposure(
                type="LoadBalancer",
                annotations=annotations,
                load_balancer_class="service.k8s.aws/nlb",
                trusted_proxies=trusted,
                dependencies=(group, controller),
            )
        else:
            ranges: tuple[str, ...] = cloudflare_ips.IPV4 if behind_edge else ()
            if args.failover_probes:
                annotations[AZURE_ALLOWED_SERVICE_TAGS] = TRAFFIC_MANAGER_TAG
            self.exposure = Exposure(
                type="LoadBalancer",
                annotations=annotations,
                source_ranges=ranges,
                # The pods see the client's (the edge's) address, as on AWS.
                external_traffic_policy="Local",
                trusted_proxies=trusted,
            )
        self.register_outputs({"type": self.exposure.type})

    def _aws(
        self, name: str, args: PublicEntryArgs, network: AwsNetwork, scope: CloudScope
    ) -> tuple[aws.ec2.SecurityGroup, k8s.helm.v3.Release]:
        cloud_opts = pulumi.ResourceOptions(parent=self, provider=network.provider)
        group = aws.ec2.SecurityGroup(
            f"{name}-origin",
            name=f"{scope.cluster_name}-gateway-origin",
            description="Gateway NLB: HTTPS from the edge only",
            vpc_id=network.vpc_id,
            tags=scope.named(f"{scope.cluster_name}-gateway-origin"),
            opts=cloud_opts,
        )
        rules: list[tuple[str, dict[str, pulumi.Input[str]], int]] = []
        if args.edge == "cloudflare":
            # IPv4 only: the load balancer is IPv4, so Cloudflare reaches it over IPv4.
            rules += [(f"cloudflare-{i}", {"cidr_ipv4": cidr}, HTTPS) for i, cidr in enumerate(cloudflare_ips.IPV4)]
        else:
            rules += [("any-https", {"cidr_ipv4": "0.0.0.0/0"}, HTTPS), ("any-http", {"cidr_ipv4": "0.0.0.0/0"}, HTTP)]
        if args.failover_probes:
            checkers = aws.ec2.get_managed_prefix_list_output(
                name=route53_health_check_prefix_list(scope.region),
                opts=pulumi.InvokeOutputOptions(provider=network.provider),
            )
            rules.append(("route53-health-checks", {"prefix_list_id": checkers.id}, HTTPS))
        for rule_name, source, port in rules:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-origin-{rule_name}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{rule_name} to the gateway",
                tags=scope.tags,
                opts=cloud_opts,
                **source,
            )
        assert network.cluster_name is not None
        role = pod_identity_role(
            f"{scope.prefix}-aws-load-balancer-controller",
            cluster_name=network.cluster_name,
            namespace=LBC_NAMESPACE,
            service_account=LBC_SERVICE_ACCOUNT,
            policy=json.dumps(json.loads(LBC_POLICY.read_text())),
            tags=scope.tags,
            opts=cloud_opts,
        )
        controller = versions.AWS_LOAD_BALANCER_CONTROLLER.release(
            f"{name}-aws-load-balancer-controller",
            name="aws-load-balancer-controller",
            namespace=LBC_NAMESPACE,
            values={
                "clusterName": network.cluster_name,
                "region": scope.region,
                "vpcId": network.vpc_id,
                "serviceAccount": {"create": True, "name": LBC_SERVICE_ACCOUNT},
                # Only Services that ask for it (loadBalancerClass) get an NLB; the webhook would
                # otherwise claim every LoadBalancer Service of the cluster.
                "enableServiceMutatorWebhook": False,
                "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )
        return group, controller
