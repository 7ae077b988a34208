"""`AwsVpc`: the VPC of one EKS cluster, over three availability zones.

Nodes and managed data services live in private subnets only; public subnets hold nothing but
internet-facing load balancers and the NAT gateways. Subnets are tagged for the AWS Load Balancer
Controller's / cloud provider's subnet discovery (`kubernetes.io/role/elb`, `.../internal-elb`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cloud.common import CloudScope
from settings.cloud import NatLayout


@dataclass(frozen=True)
class AwsVpcArgs:
    scope: CloudScope
    cidr: str
    zones: tuple[str, ...]
    nat: NatLayout
    cluster_name: str


def subnet_ranges(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Private /19s (the VPC CNI gives every pod a VPC address, so they need room) and public /24s."""
    network = ipaddress.IPv4Network(cidr)
    nineteens = list(network.subnets(new_prefix=19))
    private = [str(n) for n in nineteens[:zones]]
    public = [str(n) for n in list(nineteens[zones].subnets(new_prefix=24))[:zones]]
    return private, public


class AwsVpc(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    nat_gateways: list[aws.ec2.NatGateway]

    def __init__(self, name: str, args: AwsVpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:AwsVpc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            # EKS private endpoints and interface endpoints resolve through VPC DNS.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=scope.named(f"{args.cluster_name}-vpc"),
            opts=child,
        )
        # The default security group allows all traffic between its members: strip it (CIS 5.4).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=scope.named(f"{args.cluster_name}-default-locked"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=scope.named(f"{args.cluster_name}-igw"), opts=child
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=scope.named(f"{args.cluster_name}-public"),
            opts=child,
        )

        private_cidrs, public_cidrs = subnet_ranges(args.cidr, len(args.zones))
        self.private_subnets, self.public_subnets, self.nat_gateways = [], [], []
        self.private_route_tables = []
        for i, zone in enumerate(args.zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=zone,
                # Load balancers get their addresses from AWS; no instance gets a public IP.
                map_public_ip_on_launch=False,
                tags={
                    **scope.named(f"{args.cluster_name}-public-{zone}"),
                    **cluster_tag,
                    "kubernetes.io/role/elb": "1",
                },
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            self.public_subnets.append(public)
            if args.nat == "perZone" or i == 0:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}-eip",
                    domain="vpc",
                    tags=scope.named(f"{args.cluster_name}-nat-{zone}"),
                    opts=child,
                )
                self.nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=scope.named(f"{args.cluster_name}-nat-{zone}"),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
            nat = self.nat_gateways[-1]
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    **scope.named(f"{args.cluster_name}-private-{zone}"),
                    **cluster_tag,
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=child,
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}-rt",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=scope.named(f"{args.cluster_name}-private-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone}-rta", subnet_id=private.id, route_table_id=private_rt.id, opts=child
            )
            self.private_subnets.append(private)
            self.private_route_tables.append(private_rt)

        self.register_outputs({"vpcId": self.vpc.id, "privateSubnetIds": [s.id for s in self.private_subnets]})
