"""How the runner that deploys a stack reaches its cluster's private API: peering with a hub.

DESIGN.md, "The first run on a fresh account": a private API is reachable only from a network that
exists before the stack. In `apiAccess.mode: hub` the stack peers the cluster's VPC/VNet with that
existing hub network (where the CI runners and operators live) and makes the private endpoint
resolvable and routable from it. The Kubernetes provider waits for everything returned here: the
kubeconfig refers to none of it, so the engine could not infer the order itself.

AWS (VPC peering, same account; the hub may sit in another region, as prod's secondary cluster
does): the requester side here, the accepter in the hub's region, a route to the hub in every
private route table of the cluster's VPC (the API's network interfaces live in the private
subnets), a route back in each listed hub route table, and HTTPS from the hub's range into the
cluster security group, which guards the control plane's interfaces ("You must ensure that your
Amazon EKS control plane security group contains rules to allow ingress traffic on port 443 from
your connected network", EKS user guide, cluster endpoint). No DNS resource is needed: for a
private-only endpoint, EKS advertises the endpoint's private addresses through its public DNS name
(AWS knowledge center, "connect to a private EKS cluster endpoint from a peered VPC").

Azure (VNet peering both ways; the hub may sit in another subscription of the tenant): the AKS API
server gets a private DNS zone of the stack's own (`<cluster>.privatelink.<region>.azmk8s.io`,
AKS's "custom private DNS subzone"), which the cluster identity may write to and which is linked
to the cluster's VNet and to the hub VNet, so the hub resolves the API's private name through
Azure DNS (AKS private cluster docs, "Hub and spoke with custom DNS").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.provider as azure_provider

from components.cloud.common import CloudScope
from components.cloud.identity import AzureRole, role_assignment
from settings.cloud import AwsApiAccess, AwsCluster, AzureApiAccess

HTTPS = 443
AccessT = TypeVar("AccessT", AwsApiAccess, AzureApiAccess)


def require_access(access: AccessT | None, cloud: str) -> AccessT:
    """The cluster section's `apiAccess`. settings/stack.py refuses a stack file without it, with
    every other settings problem, before anything registers: here it is always set."""
    assert access is not None, f"cloudCluster.{cloud}.apiAccess: resolve_stack requires it for a cloud cluster"
    return access


@dataclass(frozen=True)
class ApiPath:
    """What must exist before anything talks to the cluster's API from the hub."""

    ready: tuple[pulumi.Resource, ...] = ()


def aws_hub_access(
    name: str,
    scope: CloudScope,
    settings: AwsCluster,
    vpc_id: pulumi.Input[str],
    private_route_tables: Sequence[aws.ec2.RouteTable],
    cluster_security_group_id: pulumi.Input[str],
    provider: aws.Provider,
    parent: pulumi.Resource,
) -> ApiPath:
    """Peer the cluster's VPC with the hub VPC and open HTTPS from it to the control plane."""
    access = settings.api_access
    assert access is not None and access.private and access.hub_vpc_id and access.hub_cidr
    hub_region = settings.hub_region()
    cross_region = hub_region != scope.region
    here = pulumi.ResourceOptions(parent=parent, provider=provider)
    hub_provider = provider
    if cross_region:
        hub_provider = aws.Provider(
            f"{name}-hub-aws",
            region=hub_region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=scope.tags),
            opts=pulumi.ResourceOptions(parent=parent),
        )
    hub = pulumi.ResourceOptions(parent=parent, provider=hub_provider)
    peering = aws.ec2.VpcPeeringConnection(
        f"{name}-hub-peering",
        vpc_id=vpc_id,
        peer_vpc_id=access.hub_vpc_id,
        peer_region=hub_region if cross_region else None,
        # Within one region the requester accepts its own request; across regions the accepter
        # must act in the hub's region.
        auto_accept=None if cross_region else True,
        tags=scope.named(f"{scope.cluster_name}-to-hub"),
        opts=here,
    )
    accepted: list[pulumi.Resource] = [peering]
    if cross_region:
        accepted.append(
            aws.ec2.VpcPeeringConnectionAccepter(
                f"{name}-hub-peering-accepter",
                vpc_peering_connection_id=peering.id,
                auto_accept=True,
                tags=scope.named(f"{scope.cluster_name}-to-hub"),
                opts=hub,
            )
        )
    after_accept = pulumi.ResourceOptions(depends_on=accepted)
    ready: list[pulumi.Resource] = list(accepted)
    for index, table in enumerate(private_route_tables):
        ready.append(
            aws.ec2.Route(
                f"{name}-private-{index + 1}-to-hub",
                route_table_id=table.id,
                destination_cidr_block=access.hub_cidr,
                vpc_peering_connection_id=peering.id,
                opts=pulumi.ResourceOptions.merge(here, after_accept),
            )
        )
    for table_id in access.hub_route_table_ids or ():
        ready.append(
            aws.ec2.Route(
                f"{name}-hub-{table_id}-to-cluster",
                route_table_id=table_id,
                destination_cidr_block=settings.cidr(scope.region),
                vpc_peering_connection_id=peering.id,
                opts=pulumi.ResourceOptions.merge(hub, after_accept),
            )
        )
    ready.append(
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-hub",
            security_group_id=cluster_security_group_id,
            description="Kubernetes API from the hub network (CI runners, operators)",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4=access.hub_cidr,
            tags=scope.named(f"{scope.cluster_name}-api-from-hub"),
            opts=here,
        )
    )
    return ApiPath(ready=tuple(ready))


@dataclass(frozen=True)
class AksPrivateZone:
    """The API server's private DNS zone and what AKS needs of it before the cluster is created."""

    zone: privatedns.PrivateZone
    before_cluster: tuple[pulumi.Resource, ...]


# A private DNS zone's name is at most 63 characters (Azure's naming rules for privateDnsZones);
# AKS takes a subzone of at most 32 (AKS private cluster docs).
PRIVATE_ZONE_NAME_MAX = 63
AKS_SUBZONE_MAX = 32


def aks_api_zone_name(scope: CloudScope) -> str:
    """AKS's custom private DNS subzone, `<subzone>.privatelink.<region>.azmk8s.io`. The subzone
    names the stack (`bakhmach-<stack>`: unique per region, and recognisable in a shared hub whose
    VNet cannot link two zones of one name), cut so the whole fits Azure's limits."""
    parent = f"privatelink.{scope.region}.azmk8s.io"
    room = min(AKS_SUBZONE_MAX, PRIVATE_ZONE_NAME_MAX - len(parent) - 1)
    return f"{f'bakhmach-{scope.stack_name}'[:room].rstrip('-')}.{parent}"


def aks_private_zone(
    name: str,
    scope: CloudScope,
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    identity_principal_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> AksPrivateZone:
    """A private zone for the API server that the cluster identity may write to (Private DNS Zone
    Contributor), linked to the cluster's VNet before the cluster exists, as Microsoft's private
    cluster example does."""
    child = pulumi.ResourceOptions(parent=parent)
    zone = privatedns.PrivateZone(
        f"{name}-api-zone",
        private_zone_name=aks_api_zone_name(scope),
        resource_group_name=resource_group_name,
        location="Global",
        tags=scope.tags,
        opts=child,
    )
    grant = role_assignment(
        f"{name}-identity-api-zone",
        role=AzureRole.PRIVATE_DNS_ZONE_CONTRIBUTOR,
        principal_id=identity_principal_id,
        scope=zone.id,
        opts=child,
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-api-zone-cluster-link",
        virtual_network_link_name=f"{scope.cluster_name}-cluster",
        private_zone_name=zone.name,
        resource_group_name=resource_group_name,
        location="Global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        tags=scope.tags,
        opts=child,
    )
    return AksPrivateZone(zone=zone, before_cluster=(grant, link))


def azure_hub_access(
    name: str,
    scope: CloudScope,
    access: AzureApiAccess,
    resource_group_name: pulumi.Input[str],
    vnet_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    zone: AksPrivateZone,
    after_subnets: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> ApiPath:
    """Peer the cluster's VNet with the hub VNet both ways and link the API zone to the hub."""
    assert access.private and access.hub_vnet_id
    hub_subscription, hub_group, hub_vnet = access.hub
    # Azure changes one VNet at a time: the peering waits for the subnets ("AnotherOperationInProgress").
    to_hub = network.VirtualNetworkPeering(
        f"{name}-to-hub",
        virtual_network_peering_name="to-hub",
        resource_group_name=resource_group_name,
        virtual_network_name=vnet_name,
        remote_virtual_network=network.SubResourceArgs(id=access.hub_vnet_id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=True,
        use_remote_gateways=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after_subnets)),
    )
    # The hub side lives in the hub's subscription and resource group.
    hub_provider = azure_provider.Provider(
        f"{name}-hub-azure", subscription_id=hub_subscription, opts=pulumi.ResourceOptions(parent=parent)
    )
    from_hub = network.VirtualNetworkPeering(
        f"{name}-from-hub",
        virtual_network_peering_name=f"to-{scope.cluster_name}",
        resource_group_name=hub_group,
        virtual_network_name=hub_vnet,
        remote_virtual_network=network.SubResourceArgs(id=vnet_id),
        allow_virtual_network_access=True,
        allow_forwarded_traffic=True,
        use_remote_gateways=False,
        opts=pulumi.ResourceOptions(parent=parent, provider=hub_provider, depends_on=[to_hub]),
    )
    # One change to the zone at a time: after the cluster's own link.
    hub_link = privatedns.VirtualNetworkLink(
        f"{name}-api-zone-hub-link",
        virtual_network_link_name=f"{scope.cluster_name}-hub",
        private_zone_name=zone.zone.name,
        resource_group_name=resource_group_name,
        location="Global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=access.hub_vnet_id),
        tags=scope.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(zone.before_cluster)),
    )
    return ApiPath(ready=(to_hub, from_hub, hub_link))
