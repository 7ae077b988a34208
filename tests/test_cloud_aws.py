"""`cloud: aws`: staging and prod get a complete, secure EKS platform (and prod a second region)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hubctl.plan import SECRET, Plan, PlannedResource
from policy.bakhmach_policies.tagging import is_taggable
from settings import seed
from tests.planning import of_type, planned

# The seed's "Deployment Environments" and "Cluster Autoscaling", written out.
SEED_NODES = {"staging": 5, "prod": 15}
SEED_MAX_NODES = 50

ENVIRONMENTS = ["staging", "prod"]
REQUIRED_TAGS = {"environment", "owner", "managed-by"}


def plan_for(environment: str) -> Plan:
    return planned(environment, "aws")


def clusters(plan: Plan) -> list[PlannedResource]:
    return of_type(plan, "aws:eks/cluster:Cluster")


def under(plan: Plan, component_urn_part: str, type_: str) -> list[PlannedResource]:
    return [r for r in of_type(plan, type_) if component_urn_part in (r.parent or "")]


def clusters_expected(plan: Plan) -> int:
    """Prod runs a second cluster in its secondary region; staging one."""
    return 2 if plan.stack == "prod" else 1


def eks_components(plan: Plan) -> list[PlannedResource]:
    found = of_type(plan, "bakhmach:cloud:EksCluster")
    assert len(found) == clusters_expected(plan)  # so no loop over them can pass by running zero times
    return found


def region_of(plan: Plan, eks: PlannedResource) -> str:
    provider = next(r for r in of_type(plan, "pulumi:providers:aws") if r.urn.endswith(f"::{eks.name}-aws"))
    return provider.inputs["region"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_vpc_spans_three_zones_with_nodes_in_private_subnets(environment: str) -> None:
    plan = plan_for(environment)
    for eks in eks_components(plan):
        region = region_of(plan, eks)
        subnets = [r for r in of_type(plan, "aws:ec2/subnet:Subnet") if r.inputs["availabilityZone"].startswith(region)]
        private = [s for s in subnets if "-private-" in s.name]
        public = [s for s in subnets if "-public-" in s.name]
        assert sorted(s.inputs["availabilityZone"] for s in private) == [f"{region}{z}" for z in "abc"]
        assert len(public) == 3
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
        assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
        assert all(s.inputs["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
        cluster = next(c for c in clusters(plan) if c.parent == eks.urn)
        private_ids = {f"{s.name}-id" for s in private}
        assert set(cluster.inputs["vpcConfig"]["subnetIds"]) == private_ids
        groups = [g for g in of_type(plan, "aws:eks/nodeGroup:NodeGroup") if g.parent == eks.urn]
        for group in groups:
            assert set(group.inputs["subnetIds"]) <= private_ids
        # Every pool reaches every zone, whether through one group or one group per zone.
        for role in ("compute", "memory"):
            pool = [g for g in groups if g.inputs["labels"]["bakhmach.io/pool-role"] == role]
            assert set().union(*(g.inputs["subnetIds"] for g in pool)) == private_ids


@pytest.mark.parametrize(("environment", "per_cluster"), [("staging", 1), ("prod", 3)])
def test_prod_has_a_nat_gateway_per_zone_and_staging_one(environment: str, per_cluster: int) -> None:
    plan = plan_for(environment)
    nats = of_type(plan, "aws:ec2/natGateway:NatGateway")
    assert len(nats) == per_cluster * len(eks_components(plan))
    private_routes = [r for r in of_type(plan, "aws:ec2/routeTable:RouteTable") if "-private-" in r.name]
    assert all(rt.inputs["routes"][0]["natGatewayId"].endswith("-id") for rt in private_routes)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_api_endpoint_is_private_on_a_supported_version(environment: str) -> None:
    for cluster in clusters(plan_for(environment)):
        vpc = cluster.inputs["vpcConfig"]
        # mode hub (both stack files): private only, reached through the peering (test_api_access.py).
        assert vpc["endpointPrivateAccess"] is True
        assert vpc["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in vpc
        major, minor = (int(x) for x in cluster.inputs["version"].split("."))
        assert (major, minor) >= (1, 28)
        assert cluster.inputs["version"] == "1.36"
        assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_secrets_are_envelope_encrypted_with_a_rotated_kms_key(environment: str) -> None:
    plan = plan_for(environment)
    for cluster in clusters(plan):
        encryption = cluster.inputs["encryptionConfig"]
        assert encryption["resources"] == ["secrets"]
        key = next(k for k in of_type(plan, "aws:kms/key:Key") if k.parent == cluster.parent)
        assert encryption["provider"]["keyArn"].endswith(f"key/{key.name}")
        assert key.urn in cluster.dependencies
        assert key.inputs["enableKeyRotation"] is True
        assert key.protect and cluster.protect
        assert cluster.inputs["deletionProtection"] is True


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_control_plane_log_goes_to_cloudwatch(environment: str) -> None:
    plan = plan_for(environment)
    for cluster in clusters(plan):
        assert cluster.inputs["enabledClusterLogTypes"] == [
            "api",
            "audit",
            "authenticator",
            "controllerManager",
            "scheduler",
        ]
        group = next(g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup") if g.parent == cluster.parent)
        assert group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
        assert group.inputs["retentionInDays"] == 90
        assert group.urn in cluster.dependencies


def node_groups(plan: Plan, eks: PlannedResource) -> dict[str, list[PlannedResource]]:
    """One cluster's node groups by pool role."""
    groups: dict[str, list[PlannedResource]] = {}
    for g in of_type(plan, "aws:eks/nodeGroup:NodeGroup"):
        if g.parent == eks.urn:
            groups.setdefault(g.inputs["labels"]["bakhmach.io/pool-role"], []).append(g)
    return groups


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_node_groups_mix_compute_and_memory_sized_from_the_seed(environment: str) -> None:
    plan = plan_for(environment)
    nodes = SEED_NODES[environment]
    for eks in eks_components(plan):
        groups = node_groups(plan, eks)
        assert set(groups) == {"compute", "memory"}
        assert all(t.startswith("c") for g in groups["compute"] for t in g.inputs["instanceTypes"])
        assert all(t.startswith("r") for g in groups["memory"] for t in g.inputs["instanceTypes"])
        scaling = [g.inputs["scalingConfig"] for pool in groups.values() for g in pool]
        # The seed: staging "5-node", prod "15-node"; "Max Nodes: 50" (summed over every group).
        assert sum(s["minSize"] for s in scaling) == nodes
        assert sum(s["desiredSize"] for s in scaling) == nodes
        assert sum(s["maxSize"] for s in scaling) == SEED_MAX_NODES
        assert all(s["maxSize"] >= 1 and s["desiredSize"] == s["minSize"] for s in scaling)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_memory_pool_has_one_node_group_per_zone(environment: str) -> None:
    """Mongo's pods follow their EBS volumes' zones: the autoscaler must grow the right zone."""
    plan = plan_for(environment)
    for eks in eks_components(plan):
        region = region_of(plan, eks)
        memory = node_groups(plan, eks)["memory"]
        zones = sorted(subnet for g in memory for subnet in g.inputs["subnetIds"])
        assert all(len(g.inputs["subnetIds"]) == 1 for g in memory)
        assert zones == [f"{eks.name}-private-{region}{z}-id" for z in "abc"]
        # Groups of one pool look alike to the autoscaler: same labels and instance types.
        assert len({json.dumps(g.inputs["labels"], sort_keys=True) for g in memory}) == 1
        assert len({tuple(g.inputs["instanceTypes"]) for g in memory}) == 1
        floors = [g.inputs["scalingConfig"]["minSize"] for g in memory]
        ceilings = [g.inputs["scalingConfig"]["maxSize"] for g in memory]
        # Evenly split: no zone's share differs from another's by more than one node.
        assert max(floors) - min(floors) <= 1 and max(ceilings) - min(ceilings) <= 1


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_nodes_use_imdsv2_and_encrypted_root_volumes(environment: str) -> None:
    plan = plan_for(environment)
    templates = of_type(plan, "aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2 * len(eks_components(plan))
    for template in templates:
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert all(e.inputs["enabled"] is True for e in of_type(plan, "aws:ebs/encryptionByDefault:EncryptionByDefault"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_cluster_autoscaler_targets_70_percent_and_50_nodes(environment: str) -> None:
    plan = plan_for(environment)
    releases = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "cluster-autoscaler"]
    assert len(releases) == len(eks_components(plan))
    for release in releases:
        values = release.inputs["values"]
        assert release.inputs["chart"] == "cluster-autoscaler"
        assert release.inputs["version"] == "9.59.0"
        assert values["extraArgs"]["scale-down-utilization-threshold"] == 0.7
        assert values["extraArgs"]["max-nodes-total"] == 50
        assert values["extraArgs"]["scale-down-unneeded-time"] == "10m"
        # The memory pool's per-zone groups grow together, so zone spread survives scaling.
        assert values["extraArgs"]["balance-similar-node-groups"] is True
        assert values["autoDiscovery"]["clusterName"].startswith("bakhmach-")
        assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"


def addons(plan: Plan, eks: PlannedResource) -> dict[str, dict[str, Any]]:
    return {a.inputs["addonName"]: a.inputs for a in of_type(plan, "aws:eks/addon:Addon") if a.parent == eks.urn}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_vpc_cni_enforces_network_policy_and_ebs_csi_has_its_own_role(environment: str) -> None:
    plan = plan_for(environment)
    for eks in eks_components(plan):
        found = addons(plan, eks)
        assert set(found) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}
        assert json.loads(found["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
        # EKS >= 1.30 marks no StorageClass default: the add-on's gp3 class must be the default.
        assert json.loads(found["aws-ebs-csi-driver"]["configurationValues"]) == {
            "defaultStorageClass": {"enabled": True}
        }
        association = found["aws-ebs-csi-driver"]["podIdentityAssociations"][0]
        assert association["serviceAccount"] == "ebs-csi-controller-sa"
        assert association["roleArn"].endswith(f"role/{eks.name}-ebs-csi")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_workloads_with_aws_access_use_pod_identity(environment: str) -> None:
    plan = plan_for(environment)
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in of_type(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert ("kube-system", "cluster-autoscaler") in associations
    if environment == "prod":
        assert ("kube-system", "external-dns") in associations
    for role in of_type(plan, "aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        principal = trust["Statement"][0]["Principal"]["Service"]
        # Pods, EKS and its nodes; in prod also the services that copy data to the secondary
        # region (AWS Backup, S3 replication, MSK Replicator: components/dr).
        services = {"pods.eks.amazonaws.com", "eks.amazonaws.com", "ec2.amazonaws.com"}
        if environment == "prod":
            services |= {"backup.amazonaws.com", "s3.amazonaws.com", "kafka.amazonaws.com"}
        assert principal in services


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_aws_resource_carries_the_required_tags(environment: str) -> None:
    plan = plan_for(environment)
    for provider in of_type(plan, "pulumi:providers:aws"):
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert set(tags) >= REQUIRED_TAGS and tags["environment"] == environment
    # The clusters, their networks and DNS failover (the data layer checks its own resources).
    checked = 0
    for r in plan.resources:
        # Types whose API has no tags (the policy pack's list, generated from the provider schema)
        # are still covered by the provider's default tags above.
        if not r.type.startswith("aws:") or not is_taggable(r.type) or "bakhmach:cloud:" not in r.urn:
            continue
        assert set(r.inputs.get("tags", {})) >= REQUIRED_TAGS, f"{r.type} {r.name} lacks tags"
        assert r.provider and "pulumi:providers:aws" in r.provider
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_kubernetes_resource_uses_an_eks_derived_provider(environment: str) -> None:
    plan = plan_for(environment)
    eks_urns = {e.urn for e in eks_components(plan)}
    providers = {p.urn for p in of_type(plan, "pulumi:providers:kubernetes") if p.parent in eks_urns}
    assert len(providers) == len(eks_urns)
    k8s_resources = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert k8s_resources
    for r in k8s_resources:
        assert r.provider in providers, f"{r.type} {r.name} uses {r.provider}"
    for p in of_type(plan, "pulumi:providers:kubernetes"):
        assert p.inputs["kubeconfig"] == SECRET


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_kubeconfig_outputs_are_secret(environment: str) -> None:
    outputs = plan_for(environment).outputs
    assert outputs["kubeconfig"] == SECRET
    assert (outputs.get("secondaryKubeconfig") == SECRET) == (environment == "prod")


def test_prod_runs_the_same_platform_in_a_second_region() -> None:
    plan = plan_for("prod")
    assert sorted(region_of(plan, e) for e in eks_components(plan)) == ["eu-central-1", "eu-west-1"]
    assert len({c.inputs["name"] for c in clusters(plan)}) == 2
    by_provider: dict[str, set[tuple[str, str, str]]] = {}
    for r in plan.resources:
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") in {
            "Namespace",
            "Deployment",
            "Service",
            "NetworkPolicy",
        }:
            meta = r.inputs["metadata"]
            by_provider.setdefault(r.provider or "", set()).add(
                (r.inputs["kind"], meta.get("namespace", ""), meta["name"])
            )
    primary, secondary = (by_provider[p] for p in sorted(by_provider, key=lambda p: "eu-west-1" in p))
    # Every context namespace and service runs in both regions (the data layer's own objects and
    # Keycloak, which runs beside the data layer, may differ).
    contexts = {
        k
        for k in primary
        if (k[0] in {"Deployment", "Service"} and k[1] != "identity")
        or (k[0] == "Namespace" and k[2] in {c.slug for c in (seed.SHARED_CONTEXT, *seed.BUSINESS_CONTEXTS)})
    }
    assert contexts and contexts <= secondary
    assert plan.outputs["secondaryCluster"].startswith("EKS bakhmach-prod-eu-west-1")


def test_staging_has_one_cluster_and_no_failover() -> None:
    plan = plan_for("staging")
    assert len(clusters(plan)) == 1
    assert not of_type(plan, "aws:route53/record:Record")


def test_prod_runs_external_dns_in_both_regions_with_write_access_to_its_zone_only() -> None:
    """Failover itself is in tests/test_dns_failover.py; here, what each region needs to publish."""
    plan = plan_for("prod")
    # The public zone; the private zone of the in-cluster data members (components/dr) is
    # associated with both VPCs and has an external-dns of its own in each region.
    zone = [z for z in of_type(plan, "aws:route53/zone:Zone") if not z.inputs.get("vpcs")]
    assert len(zone) == 1 and zone[0].protect
    external_dns = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "external-dns"]
    assert len(external_dns) == 2
    assert {r.inputs["values"]["policy"] for r in external_dns} == {"upsert-only"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cloud_resources_carry_the_environments_ttl(environment: str) -> None:
    # The seed: staging "TTL: 30 days", prod "Indefinite"; tags let cleanup tooling find expired stacks.
    plan = plan_for(environment)
    expected = {"staging": "30d", "prod": "indefinite"}[environment]
    providers = of_type(plan, "pulumi:providers:aws")
    assert providers
    for provider in providers:
        # Provider config reaches the engine JSON-encoded, as the provider plugin reads it.
        assert json.loads(provider.inputs["defaultTags"])["tags"]["ttl"] == expected
