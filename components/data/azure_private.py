"""Private endpoints for Azure PaaS data services: reachable only from inside the VNet.

A private endpoint puts the service on a private IP in the network's private-endpoint subnet;
the `privatelink` DNS zone, linked to the VNet, makes the service's usual host name resolve to
that IP from the cluster. The service itself then disables public network access.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

from components.network import AzureNetwork


@dataclass(frozen=True)
class LinkedZone:
    """A private DNS zone and its link to the cluster's VNet: names in it resolve from the VNet only
    once the link exists, so whatever needs the names waits for `link`."""

    zone: privatedns.PrivateZone
    link: privatedns.VirtualNetworkLink

    @property
    def id(self) -> pulumi.Output[str]:
        return self.zone.id


def private_dns_zone(name: str, net: AzureNetwork, zone: str, parent: pulumi.Resource) -> LinkedZone:
    dns_zone = privatedns.PrivateZone(
        f"{name}-dns",
        private_zone_name=zone,
        resource_group_name=net.resource_group_name,
        location="Global",
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-dns-link",
        private_zone_name=dns_zone.name,
        resource_group_name=net.resource_group_name,
        location="Global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=net.vnet_id),
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return LinkedZone(zone=dns_zone, link=link)


def private_endpoint(
    name: str,
    net: AzureNetwork,
    resource_id: pulumi.Input[str],
    group_id: str,
    zone: str,
    parent: pulumi.Resource,
    dns_zone: LinkedZone | None = None,
    after: list[pulumi.Resource] | None = None,
) -> network.PrivateEndpoint:
    """`dns_zone`: a zone shared by several endpoints (a VNet links only one zone of a name);
    without it the endpoint gets a zone of its own. `after`: what must finish first (a service that
    runs one operation at a time and is still being configured)."""
    dns_zone = dns_zone or private_dns_zone(name, net, zone, parent)
    endpoint = network.PrivateEndpoint(
        f"{name}-endpoint",
        resource_group_name=net.resource_group_name,
        location=net.location,
        subnet=network.SubnetArgs(id=net.private_endpoint_subnet_id),
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=f"{name}-link",
                private_link_service_id=resource_id,
                group_ids=[group_id],
            )
        ],
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after or []),
    )
    network.PrivateDnsZoneGroup(
        f"{name}-dns-group",
        private_endpoint_name=endpoint.name,
        resource_group_name=net.resource_group_name,
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=zone.replace(".", "-"), private_dns_zone_id=dns_zone.id)
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return endpoint
