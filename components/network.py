"""The network a cloud cluster gives to what runs beside it (managed data services).

This is the contract between the `Cluster` backends (EKS/AKS create the network) and the data
components (their managed backends live in its private subnets). kind has no cloud network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class AwsNetwork:
    region: str
    availability_zones: Sequence[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    # Private subnets, one per zone: nodes and managed data services live here.
    private_subnet_ids: Sequence[pulumi.Input[str]]
    # The security group of the cluster's nodes: the only source allowed into data services.
    node_security_group_id: pulumi.Input[str]
    tags: dict[str, str]
    # Added by the EKS backend: the cluster's name (for EKS Pod Identity associations, see
    # components/cloud/identity.py) and the region's AWS provider (its default tags included).
    cluster_name: pulumi.Input[str] | None = None
    provider: pulumi.ProviderResource | None = None
    # The private subnets' route tables (one per zone): prod's inter-region peering routes here.
    private_route_table_ids: Sequence[pulumi.Input[str]] = ()
    # Public subnets, one per zone: internet-facing load balancers only (the gateway's NLB).
    public_subnet_ids: Sequence[pulumi.Input[str]] = ()


@dataclass(frozen=True)
class AzureNetwork:
    location: str
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    vnet_name: pulumi.Input[str]
    vnet_cidr: str
    node_subnet_id: pulumi.Input[str]
    # A subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers (VNet-integrated servers).
    postgres_subnet_id: pulumi.Input[str]
    # A subnet for private endpoints (Redis, Cosmos DB, Event Hubs), no delegation.
    private_endpoint_subnet_id: pulumi.Input[str]
    tags: dict[str, str]
    # Added by the AKS backend: the cluster's name and its OIDC issuer, for workload identity
    # (a user-assigned identity's federated credential trusts this issuer).
    cluster_name: pulumi.Input[str] | None = None
    oidc_issuer_url: pulumi.Input[str] | None = None


CloudNetwork = AwsNetwork | AzureNetwork
