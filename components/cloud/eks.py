"""`EksBackend`: an EKS cluster in its own VPC, reached through a Kubernetes provider.

Secure by default: the API endpoint is private (public access only for configured CIDRs),
Secrets are envelope-encrypted with a customer-managed KMS key, every control-plane log type
goes to CloudWatch, nodes run in private subnets with IMDSv2 only and encrypted root volumes,
and the VPC CNI enforces NetworkPolicy.

Node autoscaling uses the Cluster Autoscaler rather than Karpenter: the seed states its policy
as a utilisation target ("Node Target: 70%"), a node ceiling ("Max Nodes: 50") and a scale-down
delay ("10 minutes"), which are exactly the Cluster Autoscaler's `scale-down-utilization-threshold`,
`max-nodes-total` and `scale-down-unneeded-time`, the same knobs AKS's autoscaler profile exposes.
Karpenter has no utilisation target (it consolidates by cost) and limits CPU/memory rather than
node count, so the seed's numbers would not map onto it. Managed node groups are tagged for the
autoscaler's auto-discovery by EKS itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cloud import versions
from components.cloud.api_access import ApiPath, aws_hub_access, require_access
from components.cloud.backend import ClusterArgs, ClusterEndpoint, scope_for
from components.cloud.common import CloudScope
from components.cloud.identity import pod_identity_role, service_role
from components.cloud.vpc import AwsVpc, AwsVpcArgs
from components.network import AwsNetwork
from components.priorities import SYSTEM_CLUSTER_CRITICAL
from settings import seed
from settings.cloud import AwsCluster, NatLayout, PoolSize, pool_sizes

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_AUTOSCALER_SA = "cluster-autoscaler"
EBS_CSI_CONFIGURATION = {"defaultStorageClass": {"enabled": True}}
# Pools whose pods hold EBS volumes (Mongo runs in-cluster on AWS): an EBS volume lives in one
# zone, so a pending pod can only use a node in its volume's zone. With one group per zone the
# autoscaler grows the group of that zone; one group spanning three zones may add a node elsewhere.
ZONAL_ROLES = frozenset({"memory"})


@dataclass(frozen=True)
class NodeGroupPlan:
    """One managed node group: its name, zones and share of its pool's floor and ceiling."""

    name: str
    zones: tuple[str, ...]
    minimum: int
    maximum: int


def spread(total: int, parts: int) -> list[int]:
    """`total` split as evenly as possible over `parts` (earlier parts take the remainder)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def node_group_layout(pool: str, role: str, size: PoolSize, zones: Sequence[str]) -> list[NodeGroupPlan]:
    """A pool as node groups: one spanning every zone, or one per zone for `ZONAL_ROLES`, whose
    floors and ceilings add up to the pool's."""
    if role not in ZONAL_ROLES:
        return [NodeGroupPlan(pool, tuple(zones), size.minimum, size.maximum)]
    return [
        NodeGroupPlan(f"{pool}-{zone[-1]}", (zone,), lo, hi)
        for zone, lo, hi in zip(zones, spread(size.minimum, len(zones)), spread(size.maximum, len(zones)), strict=True)
    ]


@dataclass(frozen=True)
class EksClusterArgs:
    scope: CloudScope
    settings: AwsCluster
    nat: NatLayout
    kubernetes_version: str


def eks_kubeconfig(
    name: pulumi.Input[str], endpoint: pulumi.Input[str], ca: pulumi.Input[str], region: str
) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, no stored key)."""

    def render(values: list[str]) -> str:
        cluster, server, ca_data = values
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
                "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
                "current-context": cluster,
                "users": [
                    {
                        "name": cluster,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": [
                                    "--region",
                                    region,
                                    "eks",
                                    "get-token",
                                    "--cluster-name",
                                    cluster,
                                    "--output",
                                    "json",
                                ],
                                "interactiveMode": "Never",
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.secret(pulumi.Output.all(name, endpoint, ca).apply(render))


@dataclass(frozen=True)
class _Parts:
    """Where a part of the cluster puts its children: the component, and the region's provider."""

    parent: pulumi.Resource
    provider: aws.Provider

    def opts(self, **extra: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent, provider=self.provider, **extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ControlPlane:
    kms_key: aws.kms.Key
    cluster: aws.eks.Cluster


@dataclass(frozen=True)
class NodePools:
    node_groups: dict[str, aws.eks.NodeGroup]
    sizes: dict[str, PoolSize]


def control_plane(
    name: str, scope: CloudScope, settings: AwsCluster, kubernetes_version: str, subnet_ids: list[Any], at: _Parts
) -> ControlPlane:
    """The EKS control plane: its Secrets key, its log group, its role and the cluster itself."""
    cluster_name = scope.cluster_name
    kms_key = aws.kms.Key(
        f"{name}-secrets-key",
        description=f"Envelope encryption of Kubernetes Secrets in {cluster_name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=scope.named(f"{cluster_name}-secrets"),
        opts=at.opts(protect=scope.protect),
    )
    aws.kms.Alias(
        f"{name}-secrets-key-alias", name=f"alias/{cluster_name}-secrets", target_key_id=kms_key.key_id, opts=at.opts()
    )
    # EKS writes to this exact group name; creating it first sets the retention.
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-control-plane-logs",
        name=f"/aws/eks/{cluster_name}/cluster",
        retention_in_days=settings.control_plane_log_retention_days,
        tags=scope.named(f"{cluster_name}-control-plane"),
        opts=at.opts(protect=scope.protect),
    )
    cluster_role = service_role(
        f"{name}-cluster-role",
        "eks.amazonaws.com",
        managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
        tags=scope.tags,
        opts=at.opts(),
    )
    access = require_access(settings.api_access, "aws")
    # hub: private only, reached through the peering; allowed-cidrs: also public, for those ranges.
    public = not access.private
    cluster = aws.eks.Cluster(
        f"{name}-eks",
        name=cluster_name,
        version=kubernetes_version,
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=public,
            public_access_cidrs=list(access.cidrs) if public else None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            # Access entries (an EKS API) instead of the aws-auth ConfigMap; the deploying
            # identity is cluster admin so Pulumi can install what runs in the cluster.
            authentication_mode="API",
            bootstrap_cluster_creator_admin_permissions=True,
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=kms_key.arn),
            resources=["secrets"],
        ),
        enabled_cluster_log_types=CONTROL_PLANE_LOGS,
        # The add-ons below are EKS-managed (versioned, upgradable); no unmanaged copies.
        bootstrap_self_managed_addons=False,
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        deletion_protection=scope.protect,
        tags=scope.named(cluster_name),
        opts=at.opts(protect=scope.protect, depends_on=[log_group]),
    )
    return ControlPlane(kms_key=kms_key, cluster=cluster)


def addon(
    name: str,
    addon_name: str,
    cluster: aws.eks.Cluster,
    scope: CloudScope,
    at: _Parts,
    after: Sequence[pulumi.Resource],
    configuration: str | None = None,
    pod_identities: list[aws.eks.AddonPodIdentityAssociationArgs] | None = None,
) -> aws.eks.Addon:
    """An EKS-managed add-on at EKS's default version for the cluster's minor."""
    return aws.eks.Addon(
        f"{name}-{addon_name}",
        cluster_name=cluster.name,
        addon_name=addon_name,
        configuration_values=configuration,
        pod_identity_associations=pod_identities,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="PRESERVE",
        tags=scope.tags,
        opts=at.opts(depends_on=list(after)),
    )


def daemon_addons(name: str, cluster: aws.eks.Cluster, scope: CloudScope, at: _Parts) -> dict[str, aws.eks.Addon]:
    """The add-ons that run on every node; they come before nodes: a node is Ready only once the
    CNI runs on it."""
    return {
        "vpc-cni": addon(
            name,
            "vpc-cni",
            cluster,
            scope,
            at,
            [],
            # The VPC CNI's network-policy agent enforces the contexts' default-deny policies.
            configuration=json.dumps({"enableNetworkPolicy": "true"}),
        ),
        "kube-proxy": addon(name, "kube-proxy", cluster, scope, at, []),
        "eks-pod-identity-agent": addon(name, "eks-pod-identity-agent", cluster, scope, at, []),
    }


def node_pools(
    name: str,
    scope: CloudScope,
    settings: AwsCluster,
    cluster: aws.eks.Cluster,
    subnet_of_zone: dict[str, Any],
    after: Sequence[pulumi.Resource],
    at: _Parts,
) -> NodePools:
    """Every pool of the settings as managed node groups (one per zone for `ZONAL_ROLES`), each
    with its launch template: IMDSv2 only, encrypted gp3 root volumes."""
    cluster_name = scope.cluster_name
    zones = list(subnet_of_zone)
    node_role = service_role(
        f"{name}-node-role",
        "ec2.amazonaws.com",
        managed_policy_arns=[
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            # aws-node starts before any pod identity can be served, so it uses the node role.
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ],
        tags=scope.tags,
        opts=at.opts(),
    )
    node_groups: dict[str, aws.eks.NodeGroup] = {}
    sizes: dict[str, PoolSize] = {}
    # EKS runs no node outside the managed node groups: they share the whole ceiling.
    sized = pool_sizes(settings.node_pools, scope.environment, reserved=0)
    for pool, size in zip(settings.node_pools, sized, strict=True):
        sizes[pool.name] = size
        template = aws.ec2.LaunchTemplate(
            f"{name}-{pool.name}-lt",
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=settings.node_disk_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            # IMDSv2 only, one hop: pods cannot borrow the node's role through the metadata
            # service; they get their own through Pod Identity.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags=scope.named(f"{cluster_name}-{pool.name}")
                )
                for kind in ("instance", "volume")
            ],
            tags=scope.named(f"{cluster_name}-{pool.name}"),
            opts=at.opts(),
        )
        for group in node_group_layout(pool.name, pool.role, size, zones):
            node_groups[group.name] = aws.eks.NodeGroup(
                f"{name}-{group.name}",
                cluster_name=cluster.name,
                node_group_name_prefix=f"{group.name}-",
                node_role_arn=node_role.arn,
                subnet_ids=[subnet_of_zone[z] for z in group.zones],
                instance_types=list(pool.instance_types),
                ami_type="AL2023_x86_64_STANDARD",
                capacity_type="ON_DEMAND",
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=group.minimum, desired_size=group.minimum, max_size=group.maximum
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                # The same labels in every zone's group: the autoscaler balances only groups
                # whose nodes look alike (it ignores the zone and node-group labels itself).
                labels={"bakhmach.io/pool": pool.name, "bakhmach.io/pool-role": pool.role},
                tags=scope.named(f"{cluster_name}-{group.name}"),
                opts=at.opts(
                    depends_on=list(after),
                    # The autoscaler owns the running size; a deploy must not reset it.
                    ignore_changes=["scalingConfig.desiredSize"],
                    # A new name prefix lets a replacement group come up before the old one goes.
                    delete_before_replace=False,
                ),
            )
    return NodePools(node_groups=node_groups, sizes=sizes)


def node_addons(
    name: str,
    cluster: aws.eks.Cluster,
    scope: CloudScope,
    nodes: Sequence[pulumi.Resource],
    pod_identity_agent: aws.eks.Addon,
    at: _Parts,
) -> dict[str, aws.eks.Addon]:
    """The add-ons that run as Deployments, so they need nodes: CoreDNS and the EBS CSI driver."""
    ebs_role = pod_identity_role(
        f"{name}-ebs-csi",
        cluster_name=cluster.name,
        namespace="kube-system",
        service_account="ebs-csi-controller-sa",
        managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
        tags=scope.tags,
        opts=at.opts(),
        associate=False,
    )
    return {
        "coredns": addon(name, "coredns", cluster, scope, at, nodes),
        "aws-ebs-csi-driver": addon(
            name,
            "aws-ebs-csi-driver",
            cluster,
            scope,
            at,
            [*nodes, pod_identity_agent],
            # Since EKS 1.30 no StorageClass is marked default, and PVCs without a class (the
            # operators' volume templates) stay Pending. The add-on's own option creates
            # `ebs-csi-default-sc` (gp3, WaitForFirstConsumer, expandable) as the default; its
            # volumes are encrypted by the region's EBS encryption-by-default.
            configuration=json.dumps(EBS_CSI_CONFIGURATION),
            pod_identities=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_role.arn, service_account="ebs-csi-controller-sa")
            ],
        ),
    }


def kubernetes_provider(
    scope: CloudScope, cluster: aws.eks.Cluster, after: Sequence[pulumi.Resource], parent: pulumi.Resource
) -> tuple[pulumi.Output[str], k8s.Provider]:
    """The kubeconfig (`aws eks get-token`) and the provider everything in-cluster uses; it waits
    for `after` (nodes, CoreDNS, the hub's path to the API), which the kubeconfig refers to none of."""
    kubeconfig = eks_kubeconfig(
        cluster.name,
        cluster.endpoint,
        cluster.certificate_authority.apply(lambda ca: ca.data or ""),
        scope.region,
    )
    provider = k8s.Provider(
        f"{scope.prefix}-k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    return kubeconfig, provider


def autoscaler_policy(cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """What the Cluster Autoscaler may do: describe everything, resize only this cluster's groups."""
    return pulumi.Output.from_input(cluster_name).apply(
        lambda n: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "autoscaling:DescribeAutoScalingGroups",
                            "autoscaling:DescribeAutoScalingInstances",
                            "autoscaling:DescribeLaunchConfigurations",
                            "autoscaling:DescribeScalingActivities",
                            "autoscaling:DescribeTags",
                            "ec2:DescribeImages",
                            "ec2:DescribeInstanceTypes",
                            "ec2:DescribeLaunchTemplateVersions",
                            "ec2:GetInstanceTypesFromInstanceRequirements",
                            "eks:DescribeNodegroup",
                        ],
                        "Resource": "*",
                    },
                    {
                        # Only this cluster's groups (EKS tags them "owned") can be resized.
                        "Effect": "Allow",
                        "Action": [
                            "autoscaling:SetDesiredCapacity",
                            "autoscaling:TerminateInstanceInAutoScalingGroup",
                        ],
                        "Resource": "*",
                        "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{n}": "owned"}},
                    },
                ],
            }
        )
    )


def autoscaling(
    name: str,
    scope: CloudScope,
    cluster: aws.eks.Cluster,
    pod_identity_agent: aws.eks.Addon,
    provider: k8s.Provider,
    at: _Parts,
) -> k8s.helm.v3.Release:
    """The Cluster Autoscaler with the seed's rule (`autoscaler_args`), as its own Pod Identity role."""
    role = pod_identity_role(
        f"{name}-cluster-autoscaler",
        cluster_name=cluster.name,
        namespace="kube-system",
        service_account=CLUSTER_AUTOSCALER_SA,
        policy=autoscaler_policy(cluster.name),
        tags=scope.tags,
        opts=at.opts(depends_on=[pod_identity_agent]),
    )
    return versions.CLUSTER_AUTOSCALER.release(
        f"{name}-cluster-autoscaler",
        name="cluster-autoscaler",
        namespace="kube-system",
        values={
            "cloudProvider": "aws",
            "awsRegion": scope.region,
            "autoDiscovery": {"clusterName": scope.cluster_name},
            "image": {"tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAG},
            "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER_SA}},
            "replicaCount": 2 if scope.environment == "prod" else 1,
            "extraArgs": autoscaler_args(),
            # The chart's default, stated: a cluster add-on (components/priorities.py).
            "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
        },
        opts=pulumi.ResourceOptions(parent=at.parent, provider=provider, depends_on=[role]),
    )


class EksCluster(pulumi.ComponentResource):
    """One region's EKS cluster, built in named parts: VPC, control plane, daemon add-ons, node
    pools, node add-ons, kubeconfig and provider, autoscaling."""

    aws_provider: aws.Provider
    vpc: AwsVpc
    kms_key: aws.kms.Key
    cluster: aws.eks.Cluster
    node_groups: dict[str, aws.eks.NodeGroup]
    addons: dict[str, aws.eks.Addon]
    autoscaler: k8s.helm.v3.Release
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    network: AwsNetwork

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:EksCluster", name, None, opts)
        scope, settings = args.scope, args.settings
        # One provider per region; its default tags reach every taggable resource, including ones
        # created by other components through `AwsNetwork.provider`.
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=scope.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=scope.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        at = _Parts(parent=self, provider=self.aws_provider)
        zones = settings.zones(scope.region)

        # Volumes the EBS CSI driver and node groups create are encrypted even if a manifest forgets.
        aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True, opts=at.opts())

        self.vpc = AwsVpc(
            f"{name}",
            AwsVpcArgs(
                scope=scope,
                cidr=settings.cidr(scope.region),
                zones=zones,
                nat=args.nat,
                cluster_name=scope.cluster_name,
            ),
            opts=at.opts(),
        )
        private_subnet_ids = [s.id for s in self.vpc.private_subnets]

        plane = control_plane(name, scope, settings, args.kubernetes_version, private_subnet_ids, at)
        self.kms_key, self.cluster = plane.kms_key, plane.cluster
        self.addons = daemon_addons(name, self.cluster, scope, at)
        pools = node_pools(
            name,
            scope,
            settings,
            self.cluster,
            dict(zip(zones, private_subnet_ids, strict=True)),
            after=list(self.addons.values()),
            at=at,
        )
        self.node_groups, self.pool_sizes = pools.node_groups, pools.sizes
        nodes = list(self.node_groups.values())
        self.addons |= node_addons(name, self.cluster, scope, nodes, self.addons["eks-pod-identity-agent"], at)

        self.api_path = ApiPath()
        if require_access(settings.api_access, "aws").private:
            self.api_path = aws_hub_access(
                name,
                scope,
                settings,
                self.vpc.vpc.id,
                self.vpc.private_route_tables,
                self.cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or ""),
                self.aws_provider,
                self,
            )
        self.kubeconfig, self.provider = kubernetes_provider(
            scope, self.cluster, after=[*nodes, self.addons["coredns"], *self.api_path.ready], parent=self
        )
        self.autoscaler = autoscaling(
            name, scope, self.cluster, self.addons["eks-pod-identity-agent"], self.provider, at
        )

        self.network = AwsNetwork(
            region=scope.region,
            availability_zones=zones,
            vpc_id=self.vpc.vpc.id,
            vpc_cidr=settings.cidr(scope.region),
            private_subnet_ids=private_subnet_ids,
            public_subnet_ids=[s.id for s in self.vpc.public_subnets],
            # Managed node groups without a custom security group use the cluster security group.
            node_security_group_id=self.cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or ""),
            tags=scope.tags,
            cluster_name=self.cluster.name,
            provider=self.aws_provider,
            private_route_table_ids=[t.id for t in self.vpc.private_route_tables],
        )
        self.register_outputs({"clusterName": self.cluster.name, "endpoint": self.cluster.endpoint})


def autoscaler_args() -> dict[str, object]:
    """The seed's "Cluster Autoscaling" block as Cluster Autoscaler flags."""
    return {
        "scale-down-utilization-threshold": seed.CLUSTER_AUTOSCALING_TARGET_UTILISATION / 100,
        "max-nodes-total": seed.CLUSTER_AUTOSCALING_MAX_NODES,
        "scale-down-unneeded-time": "10m",
        # Groups of one pool in different zones are kept the same size: zone spread survives scaling.
        "balance-similar-node-groups": True,
        "expander": "least-waste",
        "skip-nodes-with-system-pods": False,
    }


class EksBackend:
    """`cloud: aws`: an EKS cluster (and, in prod, one per region) built from `cloudCluster.aws`."""

    def build(self, args: ClusterArgs, parent: pulumi.Resource) -> ClusterEndpoint:
        settings = args.cloud_settings.aws
        assert settings is not None, "cloudCluster.aws: resolve_stack requires it for cloud 'aws'"
        scope = scope_for(args, settings.region, settings.secondary_region, "cloudCluster.aws.secondaryRegion")
        eks = EksCluster(
            scope.prefix,
            EksClusterArgs(
                scope=scope,
                settings=settings,
                nat=args.cloud_settings.nat_layout(args.environment),
                kubernetes_version=args.kubernetes_version,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return ClusterEndpoint(
            provider=eks.provider,
            kubeconfig=eks.kubeconfig,
            description=f"EKS {scope.cluster_name} in {scope.region} (Kubernetes {args.kubernetes_version})",
            network=eks.network,
            region=scope.region,
            scope=scope,
        )
