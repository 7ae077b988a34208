"""`InterRegionNetwork`: prod's two regions' networks joined privately, for what replicates between
them over the stack's own network and for reaching one region's private names from the other.

- AWS: a VPC peering across regions (requested in the primary region, accepted in the secondary,
  where an inter-region request must be accepted), each VPC's private route tables routing the
  other's range through it, and DNS resolution across it: with `allowRemoteVpcDnsResolution` on
  both sides, a private-only endpoint's public name (RDS, ElastiCache, MSK) resolves to its private
  address from the peer VPC (VPC peering guide, "Enable DNS resolution for a VPC peering
  connection"; set per side, in that side's region, once the peering is active). Security rules:
  each region's node security group admits the other region's range on the replication ports of
  the in-cluster data services that replicate over it (`ReplicationPort`), and nothing else; the
  managed services replicate over AWS's own network (RDS, ElastiCache Global Datastore, MSK
  Replicator), so their security groups keep admitting the cluster's own nodes only.
- Azure: global VNet peering both ways (a peering is one-directional; traffic flows once both
  exist), no forwarded or gateway traffic. Each VNet takes one change at a time
  ("AnotherOperationInProgress"), so each side waits for its cluster's network (the provider
  waits for the subnets and the hub peering) and the second for the first. Private names resolve
  across through the private DNS zones linked to both VNets (components/dr/azure.py links the
  zones a replica needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as network

from components.cloud.common import CloudScope
from components.network import AwsNetwork, AzureNetwork, CloudNetwork


@dataclass(frozen=True)
class RegionSide:
    """One region of prod as disaster recovery sees it: its scope, its network, and its cluster's
    Kubernetes provider (ready once the cluster and everything on its network are)."""

    scope: CloudScope
    network: CloudNetwork
    provider: pulumi.ProviderResource
    # The cluster's PriorityClasses, which every pod of it names (components/priorities.py).
    scheduling: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class ReplicationPort:
    """A port that replication between the regions uses over the peering."""

    service: str
    port: int


@dataclass(frozen=True)
class InterRegionNetworkArgs:
    primary: RegionSide
    secondary: RegionSide
    ports: tuple[ReplicationPort, ...] = ()


def _aws(name: str, args: InterRegionNetworkArgs, parent: pulumi.Resource) -> list[pulumi.Resource]:
    first, second = args.primary.network, args.secondary.network
    assert isinstance(first, AwsNetwork) and isinstance(second, AwsNetwork)
    here = pulumi.ResourceOptions(parent=parent, provider=first.provider)
    there = pulumi.ResourceOptions(parent=parent, provider=second.provider)
    scope = args.primary.scope
    label = f"{scope.cluster_name}-to-{second.region}"
    peering = aws.ec2.VpcPeeringConnection(
        f"{name}-peering",
        vpc_id=first.vpc_id,
        peer_vpc_id=second.vpc_id,
        peer_region=second.region,
        tags=scope.named(label),
        opts=here,
    )
    accepter = aws.ec2.VpcPeeringConnectionAccepter(
        f"{name}-peering-accepter",
        vpc_peering_connection_id=peering.id,
        auto_accept=True,
        tags=args.secondary.scope.named(label),
        opts=there,
    )
    active = pulumi.ResourceOptions(depends_on=[accepter])
    ready: list[pulumi.Resource] = [peering, accepter]
    ready.append(
        aws.ec2.PeeringConnectionOptions(
            f"{name}-peering-dns-requester",
            vpc_peering_connection_id=peering.id,
            requester=aws.ec2.PeeringConnectionOptionsRequesterArgs(allow_remote_vpc_dns_resolution=True),
            opts=pulumi.ResourceOptions.merge(here, active),
        )
    )
    ready.append(
        aws.ec2.PeeringConnectionOptions(
            f"{name}-peering-dns-accepter",
            vpc_peering_connection_id=peering.id,
            accepter=aws.ec2.PeeringConnectionOptionsAccepterArgs(allow_remote_vpc_dns_resolution=True),
            opts=pulumi.ResourceOptions.merge(there, active),
        )
    )
    for side, tables, destination, opts in (
        ("primary", first.private_route_table_ids, second.vpc_cidr, here),
        ("secondary", second.private_route_table_ids, first.vpc_cidr, there),
    ):
        for index, table in enumerate(tables):
            ready.append(
                aws.ec2.Route(
                    f"{name}-{side}-{index + 1}-to-peer",
                    route_table_id=table,
                    destination_cidr_block=destination,
                    vpc_peering_connection_id=peering.id,
                    opts=pulumi.ResourceOptions.merge(opts, active),
                )
            )
    for port in args.ports:
        for side, net, source, opts, side_scope in (
            ("primary", first, second.vpc_cidr, here, args.primary.scope),
            ("secondary", second, first.vpc_cidr, there, args.secondary.scope),
        ):
            ready.append(
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{side}-{port.service}-from-peer",
                    security_group_id=net.node_security_group_id,
                    description=f"{port.service} replication from the other region",
                    ip_protocol="tcp",
                    from_port=port.port,
                    to_port=port.port,
                    cidr_ipv4=source,
                    tags=side_scope.named(f"{side_scope.cluster_name}-{port.service}-replication"),
                    opts=opts,
                )
            )
    return ready


def _azure(name: str, args: InterRegionNetworkArgs, parent: pulumi.Resource) -> list[pulumi.Resource]:
    first, second = args.primary.network, args.secondary.network
    assert isinstance(first, AzureNetwork) and isinstance(second, AzureNetwork)
    forward = network.VirtualNetworkPeering(
        f"{name}-peering",
        virtual_network_peering_name=f"to-{args.secondary.scope.cluster_name}",
        resource_group_name=first.resource_group_name,
        virtual_network_name=first.vnet_name,
        remote_virtual_network=network.SubResourceArgs(id=second.vnet_id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        allow_gateway_transit=False,
        use_remote_gateways=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[args.primary.provider]),
    )
    back = network.VirtualNetworkPeering(
        f"{name}-peering-back",
        virtual_network_peering_name=f"to-{args.primary.scope.cluster_name}",
        resource_group_name=second.resource_group_name,
        virtual_network_name=second.vnet_name,
        remote_virtual_network=network.SubResourceArgs(id=first.vnet_id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=False,
        allow_gateway_transit=False,
        use_remote_gateways=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[args.secondary.provider, forward]),
    )
    return [forward, back]


class InterRegionNetwork(pulumi.ComponentResource):
    # Everything that must exist before traffic or names cross between the regions.
    ready: Sequence[pulumi.Resource]

    def __init__(self, name: str, args: InterRegionNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:dr:InterRegionNetwork", name, None, opts)
        build = _aws if isinstance(args.primary.network, AwsNetwork) else _azure
        self.ready = tuple(build(name, args, self))
        self.register_outputs({"ports": [p.port for p in args.ports]})
