"""`AzureVnet`: the resource group and VNet of one AKS cluster, and the subnets beside it.

With Azure CNI overlay, pods take addresses from a private overlay range, so the node subnet only
needs room for nodes. PostgreSQL flexible servers need a subnet delegated to them; private
endpoints (Redis, Cosmos DB, Event Hubs) get their own subnet, with network policies enabled so
NSGs and route tables apply to them too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.resources as resources

from components.cloud.common import CloudScope

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"


@dataclass(frozen=True)
class AzureVnetArgs:
    scope: CloudScope
    cidr: str


def vnet_ranges(cidr: str) -> dict[str, str]:
    """Nodes: the first /20 (4,096 nodes); PostgreSQL and private endpoints: /24s after it."""
    net = ipaddress.ip_network(cidr)
    twenty_fours = list(net.subnets(new_prefix=24))
    return {
        "nodes": str(next(net.subnets(new_prefix=20))),
        "postgres": str(twenty_fours[16]),
        "endpoints": str(twenty_fours[17]),
    }


class AzureVnet(pulumi.ComponentResource):
    resource_group: resources.ResourceGroup
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet
    postgres_subnet: network.Subnet
    endpoint_subnet: network.Subnet

    def __init__(self, name: str, args: AzureVnetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:AzureVnet", name, None, opts)
        scope = args.scope
        child = pulumi.ResourceOptions(parent=self)
        ranges = vnet_ranges(args.cidr)

        self.resource_group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=f"rg-{scope.cluster_name}",
            location=scope.region,
            tags=scope.tags,
            opts=child,
        )
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=f"vnet-{scope.cluster_name}",
            resource_group_name=self.resource_group.name,
            location=scope.region,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.cidr]),
            tags=scope.tags,
            # Subnets are their own resources below; the VNet must not claim (and delete) them.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=ranges["nodes"],
            # No implicit outbound: egress goes through the cluster's load balancer rules.
            default_outbound_access=False,
            opts=child,
        )
        # Azure serialises changes to one VNet; chaining the subnets avoids "AnotherOperationInProgress".
        self.postgres_subnet = network.Subnet(
            f"{name}-postgres",
            subnet_name="postgres",
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=ranges["postgres"],
            default_outbound_access=False,
            delegations=[network.DelegationArgs(name="postgres-flexible", service_name=POSTGRES_DELEGATION)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_subnet]),
        )
        self.endpoint_subnet = network.Subnet(
            f"{name}-endpoints",
            subnet_name="private-endpoints",
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=ranges["endpoints"],
            default_outbound_access=False,
            private_endpoint_network_policies="Enabled",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.postgres_subnet]),
        )
        self.register_outputs({"vnetId": self.vnet.id, "nodeSubnetId": self.node_subnet.id})
