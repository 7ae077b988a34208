"""The first run on a fresh account: the deploying runner reaches the cluster's API.

DESIGN.md: "A private cluster API is reachable only from a network that exists before the stack
(a hub that runners live in, peered to the stack's network) or from listed egress ranges. The stack
file says which." `cloudCluster.<cloud>.apiAccess` is that setting: required in staging and prod,
validated before anything registers, and planned as a path the Kubernetes provider waits for.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT, Plan, PlannedResource, run_plan
from settings import SettingsError, load_settings
from tests.planning import of_type, planned
from tests.test_cloud_settings import with_cloud

ENVIRONMENTS = ["staging", "prod"]
HUB_VNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-network"
    "/providers/Microsoft.Network/virtualNetworks/vnet-hub"
)


def stack_file(stack: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


# ---- the setting --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_a_staging_or_prod_stack_file_without_api_access_is_refused_before_anything_registers(
    stack: str, cloud: str, tmp_path: Path
) -> None:
    config = copy.deepcopy(stack_file(stack))
    del config["bakhmach-hub:cloudCluster"][cloud]["apiAccess"]
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(SettingsError) as caught:
        run_plan(stack, cloud, stack_file=path)
    message = str(caught.value)
    assert f"bakhmach-hub:cloudCluster.{cloud}.apiAccess: required in {stack}" in message
    assert "{mode: hub, ...}" in message and "{mode: allowed-cidrs, cidrs: [...]}" in message
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


def test_the_repositorys_stack_files_choose_an_access_path_for_both_clouds() -> None:
    for stack in ENVIRONMENTS:
        clusters = stack_file(stack)["bakhmach-hub:cloudCluster"]
        assert clusters["aws"]["apiAccess"]["mode"] == "hub"
        assert clusters["azure"]["apiAccess"]["mode"] == "hub"


AWS_HUB = {
    "mode": "hub",
    "hubVpcId": "vpc-0a1b2c3d4e5f60718",
    "hubCidr": "10.0.0.0/20",
    "hubRouteTableIds": ["rtb-0a1b2c3d"],
}


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        ({"mode": "vpn"}, ["apiAccess.mode", "'hub' or 'allowed-cidrs'"]),
        ({"mode": "allowed-cidrs"}, ["apiAccess", "at least one CIDR"]),
        ({"mode": "allowed-cidrs", "cidrs": ["0.0.0.0/0"]}, ["apiAccess", "opens the API to the internet"]),
        ({"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/33"]}, ["apiAccess", "is not a network CIDR"]),
        ({"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/28"], "hubCidr": "10.0.0.0/20"}, ["hubCidr: not used"]),
        ({"mode": "hub", "hubCidr": "10.0.0.0/20"}, ["hubVpcId, hubRouteTableIds: required with mode 'hub'"]),
        ({**AWS_HUB, "cidrs": ["203.0.113.0/28"]}, ["cidrs: not used with mode 'hub'"]),
        ({**AWS_HUB, "hubVpcId": "vpc-hub"}, ["hubVpcId: 'vpc-hub' is not a VPC id"]),
        ({**AWS_HUB, "hubRouteTableIds": ["main"]}, ["hubRouteTableIds: 'main' is not a route table id"]),
        ({**AWS_HUB, "hubRouteTableIds": []}, ["hubRouteTableIds: at least one"]),
        ({**AWS_HUB, "hubCidr": "8.8.8.0/24"}, ["not a private IPv4 range"]),
        ({**AWS_HUB, "hubCidr": "10.40.0.0/20"}, ["hubCidr: '10.40.0.0/20' overlaps vpcCidr"]),
        ({**AWS_HUB, "hubRegion": "Frankfurt"}, ["hubRegion: 'Frankfurt' is not an AWS region"]),
    ],
)
def test_bad_aws_api_access_is_named_with_what_is_allowed(access: dict[str, Any], expected: list[str]) -> None:
    values = with_cloud({"aws": {"region": "eu-central-1", "apiAccess": access}}, "staging")
    with pytest.raises(SettingsError) as caught:
        load_settings(values, source="Pulumi.staging.yaml")
    message = str(caught.value)
    # A rule inside apiAccess is reported at apiAccess; one across the section (overlapping
    # ranges) at the section, naming apiAccess.hubCidr.
    assert "bakhmach-hub:cloudCluster.aws" in message and "apiAccess" in message
    for fragment in expected:
        assert fragment in message


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        ({"mode": "hub"}, "hubVnetId: required with mode 'hub'"),
        ({"mode": "hub", "hubVnetId": "vnet-hub"}, "hubVnetId: 'vnet-hub' is not a VNet resource id"),
        ({"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/28"], "hubVnetId": HUB_VNET}, "hubVnetId: not used"),
    ],
)
def test_bad_azure_api_access_is_named_with_what_is_allowed(access: dict[str, Any], expected: str) -> None:
    values = with_cloud({"azure": {"location": "germanywestcentral", "apiAccess": access}}, "staging", "azure")
    with pytest.raises(SettingsError) as caught:
        load_settings(values, source="Pulumi.staging.yaml")
    assert "bakhmach-hub:cloudCluster.azure.apiAccess" in str(caught.value) and expected in str(caught.value)


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_the_old_api_allowed_cidrs_key_points_to_its_replacement(cloud: str) -> None:
    region = {"aws": {"region": "eu-central-1"}, "azure": {"location": "germanywestcentral"}}[cloud]
    values = with_cloud({cloud: {**region, "apiAllowedCidrs": ["203.0.113.0/28"]}}, "staging", cloud)
    with pytest.raises(SettingsError) as caught:
        load_settings(values, source="Pulumi.staging.yaml")
    assert "apiAllowedCidrs: replaced by apiAccess" in str(caught.value)


# ---- mode hub on AWS: VPC peering, routes both ways, HTTPS from the hub --------------------


def by_cluster(plan: Plan, type_: str, cluster: PlannedResource) -> list[PlannedResource]:
    return [r for r in of_type(plan, type_) if r.parent == cluster.parent]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_aws_hub_mode_peers_each_vpc_with_the_hub_and_routes_both_ways(stack: str) -> None:
    plan = planned(stack, "aws")
    hub = stack_file(stack)["bakhmach-hub:cloudCluster"]["aws"]["apiAccess"]
    clusters = of_type(plan, "aws:eks/cluster:Cluster")
    assert len(clusters) == (2 if stack == "prod" else 1)
    for cluster in clusters:
        assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
        (peering,) = by_cluster(plan, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", cluster)
        assert peering.inputs["peerVpcId"] == hub["hubVpcId"]
        (vpc,) = [v for v in of_type(plan, "aws:ec2/vpc:Vpc") if f"{v.name}-id" == peering.inputs["vpcId"]]
        routes = by_cluster(plan, "aws:ec2/route:Route", cluster)
        to_hub = [r for r in routes if r.inputs["destinationCidrBlock"] == hub["hubCidr"]]
        back = [r for r in routes if r.inputs["destinationCidrBlock"] == vpc.inputs["cidrBlock"]]
        # Every private route table of the VPC (where the API's interfaces live) reaches the hub.
        private_tables = [t for t in of_type(plan, "aws:ec2/routeTable:RouteTable") if "-private-" in t.name]
        private_tables = [t for t in private_tables if t.inputs["vpcId"] == peering.inputs["vpcId"]]
        assert len(private_tables) == 3
        assert {r.inputs["routeTableId"] for r in to_hub} == {f"{t.name}-id" for t in private_tables}
        assert {r.inputs["routeTableId"] for r in back} == set(hub["hubRouteTableIds"])
        assert all(r.inputs["vpcPeeringConnectionId"] == f"{peering.name}-id" for r in routes)
        (rule,) = by_cluster(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", cluster)
        assert rule.inputs["cidrIpv4"] == hub["hubCidr"]
        assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (443, 443, "tcp")
        assert rule.inputs["securityGroupId"] == f"sg-{cluster.inputs['name']}-cluster"


def test_aws_prods_secondary_cluster_peers_across_regions_with_an_accepter_in_the_hubs_region() -> None:
    plan = planned("prod", "aws")
    peerings = {p.name: p for p in of_type(plan, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection")}
    assert peerings["prod-hub-peering"].inputs["autoAccept"] is True
    assert "peerRegion" not in peerings["prod-hub-peering"].inputs
    secondary = peerings["prod-eu-west-1-hub-peering"]
    assert secondary.inputs["peerRegion"] == "eu-central-1" and "autoAccept" not in secondary.inputs
    # (the DR peering between the two regions has its own accepter: tests/test_dr.py)
    (accepter,) = [
        a
        for a in of_type(plan, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")
        if a.name.endswith("hub-peering-accepter")
    ]
    hub_provider = next(p for p in of_type(plan, "pulumi:providers:aws") if p.name == "prod-eu-west-1-hub-aws")
    assert accepter.provider == hub_provider.urn and hub_provider.inputs["region"] == "eu-central-1"
    assert accepter.inputs["vpcPeeringConnectionId"] == f"{secondary.name}-id"
    # The hub's return route lives in the hub's region, after the peering is accepted.
    back = next(
        r
        for r in of_type(plan, "aws:ec2/route:Route")
        if r.name == "prod-eu-west-1-hub-rtb-0a1b2c3d4e5f60718-to-cluster"
    )
    assert back.provider == hub_provider.urn and accepter.urn in back.dependencies


@pytest.mark.parametrize(("stack", "cloud"), [(s, c) for s in ENVIRONMENTS for c in ("aws", "azure")])
def test_the_kubernetes_provider_waits_for_the_hubs_path_to_the_api(stack: str, cloud: str) -> None:
    """Nothing in a kubeconfig refers to the peering, routes, firewall rule or DNS link, so the
    engine cannot infer that every in-cluster object needs them: the provider depends on them."""
    plan = planned(stack, cloud)
    path_types = {
        "aws": {
            "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
            "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
            "aws:ec2/route:Route",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        },
        "azure": {"azure-native:network:VirtualNetworkPeering", "azure-native:privatedns:VirtualNetworkLink"},
    }[cloud]
    providers = [p for p in of_type(plan, "pulumi:providers:kubernetes")]
    assert len(providers) == (2 if stack == "prod" else 1)
    for provider in providers:
        path = [
            r
            for r in plan.resources
            if r.type in path_types
            and r.parent == provider.parent
            and not r.name.endswith("-cluster-link")
            and not (r.type == "aws:ec2/route:Route" and "-nat" in r.name)
        ]
        assert len(path) >= (4 if cloud == "aws" else 3)
        missing = [r.name for r in path if r.urn not in provider.dependencies]
        assert missing == []


# ---- mode hub on Azure: the API's private zone, linked to the hub; peering both ways -------


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_azure_hub_mode_gives_the_api_a_private_zone_linked_to_the_hub_and_peers_both_ways(stack: str) -> None:
    plan = planned(stack, "azure")
    clusters = of_type(plan, "azure-native:containerservice:ManagedCluster")
    for cluster in clusters:
        name, location = cluster.inputs["resourceName"], cluster.inputs["location"]
        (zone,) = by_cluster(plan, "azure-native:privatedns:PrivateZone", cluster)
        # AKS's custom subzone format (tests/test_names.py checks the lengths).
        assert zone.inputs["privateZoneName"] == f"bakhmach-{stack}.privatelink.{location}.azmk8s.io"
        access = cluster.inputs["apiServerAccessProfile"]
        assert access == {"enablePrivateCluster": True, "privateDNSZone": f"{zone.name}-id"}
        links = {
            link.inputs["virtualNetwork"]["id"]: link
            for link in by_cluster(plan, "azure-native:privatedns:VirtualNetworkLink", cluster)
        }
        (vnet,) = [
            v
            for v in of_type(plan, "azure-native:network:VirtualNetwork")
            if v.inputs["virtualNetworkName"] == f"vnet-{name}"
        ]
        assert set(links) == {HUB_VNET, f"{vnet.name}-id"}
        # AKS writes the API's record: its identity needs Private DNS Zone Contributor on the zone,
        # and the cluster waits for that grant and the zone's link to its own VNet.
        (grant,) = [
            g
            for g in of_type(plan, "azure-native:authorization:RoleAssignment")
            if g.inputs["scope"] == f"{zone.name}-id"
        ]
        assert grant.inputs["roleDefinitionId"].endswith("/b12aa53e-6015-4669-85d0-8515ebb3ae7f")
        assert {grant.urn, links[f"{vnet.name}-id"].urn} <= set(cluster.dependencies)
        peerings = {
            p.inputs["virtualNetworkPeeringName"]: p
            for p in by_cluster(plan, "azure-native:network:VirtualNetworkPeering", cluster)
        }
        to_hub, from_hub = peerings["to-hub"], peerings[f"to-{name}"]
        # Azure changes one VNet at a time: the peering waits for the VNet's last subnet.
        (endpoints,) = [
            s
            for s in of_type(plan, "azure-native:network:Subnet")
            if s.inputs["subnetName"] == "private-endpoints"
            and s.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"]
        ]
        assert endpoints.urn in to_hub.dependencies
        assert to_hub.inputs["remoteVirtualNetwork"]["id"] == HUB_VNET
        assert to_hub.inputs["allowVirtualNetworkAccess"] is True
        assert from_hub.inputs["resourceGroupName"] == "rg-hub-network"
        assert from_hub.inputs["virtualNetworkName"] == "vnet-hub"
        assert from_hub.inputs["remoteVirtualNetwork"]["id"] == f"{vnet.name}-id"
        hub_provider = next(p for p in of_type(plan, "pulumi:providers:azure-native") if p.urn == from_hub.provider)
        assert hub_provider.inputs["subscriptionId"] == "00000000-0000-0000-0000-000000000000"


# ---- mode allowed-cidrs: a public endpoint open to the listed ranges only -----------------


@functools.cache
def allowed_cidrs_plan(cloud: str, tmp: str) -> Plan:
    config = copy.deepcopy(stack_file("staging"))
    config["bakhmach-hub:cloudCluster"][cloud]["apiAccess"] = {"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/28"]}
    path = Path(tmp) / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return run_plan("staging", cloud, stack_file=path)


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_allowed_cidrs_mode_opens_the_api_to_those_ranges_only_and_peers_nothing(
    cloud: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plan = allowed_cidrs_plan(cloud, str(tmp_path_factory.mktemp(cloud)))
    if cloud == "aws":
        (cluster,) = of_type(plan, "aws:eks/cluster:Cluster")
        vpc = cluster.inputs["vpcConfig"]
        assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
        assert vpc["publicAccessCidrs"] == ["203.0.113.0/28"]
        assert not of_type(plan, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
        # No rule opens the control plane to a hub; the only ingress rules are the gateway's load
        # balancer's (components/cloud/load_balancer.py), which has a security group of its own.
        rules = of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        assert rules and {r.inputs["securityGroupId"] for r in rules} == {"public-entry-origin-id"}
    else:
        (cluster,) = of_type(plan, "azure-native:containerservice:ManagedCluster")
        assert cluster.inputs["apiServerAccessProfile"] == {
            "enablePrivateCluster": False,
            "authorizedIPRanges": ["203.0.113.0/28"],
        }
        assert not of_type(plan, "azure-native:network:VirtualNetworkPeering")
        assert not [
            z for z in of_type(plan, "azure-native:privatedns:PrivateZone") if "azmk8s" in z.inputs["privateZoneName"]
        ]
