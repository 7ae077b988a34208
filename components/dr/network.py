"""`InterRegionNetwork`: prod's two regions' networks joined privately, for what replicates between
them over the stack's own network and for reaching one region's private names from the other.

- AWS: a VPC peering across regions (requested in the primary region, accepted in the secondary,
  where an inter-region request must be accepted), each VPC's private route tables routing the
  other's range through it, and DNS resolution across it: with `allowRemoteVpcDnsResolution` on
  both sides, a private-only endpoint's public name (RDS, ElastiCache, MSK) resolves to its private
  address from the peer VPC (VPC peering guide, "Enable DNS resolution for a VPC peering
  connection"; set per side, in that side's region, once the peering is active);
- Azure: global VNet peering both ways (a peering is one-directional; traffic flows once both
  exist), no forwarded or gateway traffic. Each VNet takes one change at a time
  ("AnotherOperationInProgress"), so each side waits for its cluster's network (the provider
  waits for the subnets and the hub peering) and the second for the first;
- both: a private DNS zone (`bakhmach.internal`) that both regions resolve (a Route 53 private
  hosted zone associated with both VPCs; an Azure private DNS zone linked to both VNets), where the
  in-cluster data services' members are published for the other region.

Security rules: what crosses the peering is the in-cluster data services' replication, each member
behind an internal load balancer whose `loadBalancerSourceRanges` admit the two regions' ranges on
its one port: the cloud controller writes the matching node security group rules (EKS) or load
balancer rules (AKS) from them, and the data namespace's NetworkPolicy admits the other region's
range on those ports only (components/data/cross_region.py). The managed services replicate over
the cloud's own network (RDS, ElastiCache Global Datastore, MSK Replicator, Flexible Server, Azure
Managed Redis): their security groups keep admitting their own cluster's nodes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns

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
    # The cluster's cert-manager (components/certificates.py): the copies' certificates wait for it.
    cert_manager: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class InterRegionNetworkArgs:
    primary: RegionSide
    secondary: RegionSide
    # The private zone both regions resolve (settings/dr.py `DR_DNS_ZONE`).
    zone: str


@dataclass(frozen=True)
class PrivateZone:
    """The zone the in-cluster members are published in for the other region."""

    name: str
    id: pulumi.Output[str]
    # AWS: the hosted zone's ARN (external-dns's role is limited to it); Azure: its resource group.
    arn: pulumi.Output[str] | None = None
    resource_group_name: pulumi.Input[str] | None = None


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
    return ready


def _aws_zone(name: str, args: InterRegionNetworkArgs, parent: pulumi.Resource) -> PrivateZone:
    first, second = args.primary.network, args.secondary.network
    assert isinstance(first, AwsNetwork) and isinstance(second, AwsNetwork)
    zone = aws.route53.Zone(
        f"{name}-zone",
        name=args.zone,
        comment="Bakhmach hub: in-cluster data members, for the other region",
        # A private hosted zone associated with both VPCs: each resolves the other's names.
        vpcs=[
            aws.route53.ZoneVpcArgs(vpc_id=first.vpc_id, vpc_region=first.region),
            aws.route53.ZoneVpcArgs(vpc_id=second.vpc_id, vpc_region=second.region),
        ],
        tags=args.primary.scope.tags,
        opts=pulumi.ResourceOptions(parent=parent, provider=first.provider),
    )
    return PrivateZone(name=args.zone, id=zone.zone_id, arn=zone.arn)


def _azure_zone(name: str, args: InterRegionNetworkArgs, parent: pulumi.Resource) -> PrivateZone:
    first, second = args.primary.network, args.secondary.network
    assert isinstance(first, AzureNetwork) and isinstance(second, AzureNetwork)
    zone = privatedns.PrivateZone(
        f"{name}-zone",
        private_zone_name=args.zone,
        resource_group_name=first.resource_group_name,
        location="Global",
        tags=args.primary.scope.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    previous: list[pulumi.Resource] = []
    for side, net, scope in (("primary", first, args.primary.scope), ("secondary", second, args.secondary.scope)):
        # One change to a zone at a time: the second link after the first.
        previous = [
            privatedns.VirtualNetworkLink(
                f"{name}-zone-{side}-link",
                virtual_network_link_name=scope.cluster_name,
                private_zone_name=zone.name,
                resource_group_name=first.resource_group_name,
                location="Global",
                registration_enabled=False,
                virtual_network=privatedns.SubResourceArgs(id=net.vnet_id),
                tags=scope.tags,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=previous),
            )
        ]
    return PrivateZone(name=args.zone, id=zone.id, resource_group_name=first.resource_group_name)


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
    zone: PrivateZone

    def __init__(self, name: str, args: InterRegionNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:dr:InterRegionNetwork", name, None, opts)
        aws_side = isinstance(args.primary.network, AwsNetwork)
        self.ready = tuple((_aws if aws_side else _azure)(name, args, self))
        self.zone = (_aws_zone if aws_side else _azure_zone)(name, args, self)
        self.register_outputs({"zone": args.zone})
