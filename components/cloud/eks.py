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
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cloud import versions
from components.cloud.common import CloudScope, scope_for
from components.cloud.identity import pod_identity_role, service_role
from components.cloud.vpc import AwsVpc, AwsVpcArgs
from components.network import AwsNetwork
from settings import seed
from settings.cloud import AwsCluster, NatLayout, PoolSize, pool_sizes

if TYPE_CHECKING:
    from components.cluster import ClusterArgs, ClusterEndpoint

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


class EksCluster(pulumi.ComponentResource):
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
        cluster_name = scope.cluster_name
        # One provider per region; its default tags reach every taggable resource, including ones
        # created by other components through `AwsNetwork.provider`.
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=scope.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=scope.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)
        stateful = pulumi.ResourceOptions(parent=self, provider=self.aws_provider, protect=scope.protect)
        zones = settings.zones(scope.region)

        # Volumes the EBS CSI driver and node groups create are encrypted even if a manifest forgets.
        aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True, opts=child)

        self.vpc = AwsVpc(
            f"{name}",
            AwsVpcArgs(
                scope=scope, cidr=settings.cidr(scope.region), zones=zones, nat=args.nat, cluster_name=cluster_name
            ),
            opts=child,
        )
        private_subnet_ids = [s.id for s in self.vpc.private_subnets]

        self.kms_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes Secrets in {cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=scope.named(f"{cluster_name}-secrets"),
            opts=stateful,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=f"alias/{cluster_name}-secrets",
            target_key_id=self.kms_key.key_id,
            opts=child,
        )

        # EKS writes to this exact group name; creating it first sets the retention.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=settings.control_plane_log_retention_days,
            tags=scope.named(f"{cluster_name}-control-plane"),
            opts=stateful,
        )

        cluster_role = service_role(
            f"{name}-cluster-role",
            "eks.amazonaws.com",
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
            tags=scope.tags,
            opts=child,
        )
        public = bool(settings.api_allowed_cidrs)
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(settings.api_allowed_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                # Access entries (an EKS API) instead of the aws-auth ConfigMap; the deploying
                # identity is cluster admin so Pulumi can install what runs in the cluster.
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            # The add-ons below are EKS-managed (versioned, upgradable); no unmanaged copies.
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=scope.protect,
            tags=scope.named(cluster_name),
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.aws_provider, protect=scope.protect, depends_on=[log_group]
            ),
        )

        def addon(
            addon_name: str,
            after: Sequence[pulumi.Resource],
            configuration: str | None = None,
            pod_identities: list[aws.eks.AddonPodIdentityAssociationArgs] | None = None,
        ) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{addon_name}",
                cluster_name=self.cluster.name,
                addon_name=addon_name,
                configuration_values=configuration,
                pod_identity_associations=pod_identities,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=scope.tags,
                opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider, depends_on=list(after)),
            )

        # Daemon add-ons come before nodes: a node is Ready only once the CNI runs on it.
        self.addons = {
            "vpc-cni": addon(
                "vpc-cni",
                [],
                # The VPC CNI's network-policy agent enforces the contexts' default-deny policies.
                configuration=json.dumps({"enableNetworkPolicy": "true"}),
            ),
            "kube-proxy": addon("kube-proxy", []),
            "eks-pod-identity-agent": addon("eks-pod-identity-agent", []),
        }

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
            opts=child,
        )
        self.node_groups = {}
        self.pool_sizes: dict[str, PoolSize] = {}
        subnet_of_zone = dict(zip(zones, private_subnet_ids, strict=True))
        for pool, size in zip(settings.node_pools, pool_sizes(settings.node_pools, scope.environment), strict=True):
            self.pool_sizes[pool.name] = size
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
                opts=child,
            )
            for group in node_group_layout(pool.name, pool.role, size, zones):
                self.node_groups[group.name] = aws.eks.NodeGroup(
                    f"{name}-{group.name}",
                    cluster_name=self.cluster.name,
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
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=self.aws_provider,
                        depends_on=list(self.addons.values()),
                        # The autoscaler owns the running size; a deploy must not reset it.
                        ignore_changes=["scalingConfig.desiredSize"],
                        # A new name prefix lets a replacement group come up before the old one goes.
                        delete_before_replace=False,
                    ),
                )
        nodes = list(self.node_groups.values())

        ebs_role = pod_identity_role(
            f"{name}-ebs-csi",
            cluster_name=self.cluster.name,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"],
            tags=scope.tags,
            opts=child,
            associate=False,
        )
        self.addons["coredns"] = addon("coredns", nodes)
        self.addons["aws-ebs-csi-driver"] = addon(
            "aws-ebs-csi-driver",
            [*nodes, self.addons["eks-pod-identity-agent"]],
            # Since EKS 1.30 no StorageClass is marked default, and PVCs without a class (the
            # operators' volume templates) stay Pending. The add-on's own option creates
            # `ebs-csi-default-sc` (gp3, WaitForFirstConsumer, expandable) as the default; its
            # volumes are encrypted by the region's EBS encryption-by-default above.
            configuration=json.dumps(EBS_CSI_CONFIGURATION),
            pod_identities=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_role.arn, service_account="ebs-csi-controller-sa")
            ],
        )

        self.kubeconfig = eks_kubeconfig(
            self.cluster.name,
            self.cluster.endpoint,
            self.cluster.certificate_authority.apply(lambda ca: ca.data or ""),
            scope.region,
        )
        self.provider = k8s.Provider(
            f"{scope.prefix}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*nodes, self.addons["coredns"]]),
        )

        autoscaler_policy = self.cluster.name.apply(
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
        autoscaler_role = pod_identity_role(
            f"{name}-cluster-autoscaler",
            cluster_name=self.cluster.name,
            namespace="kube-system",
            service_account=CLUSTER_AUTOSCALER_SA,
            policy=autoscaler_policy,
            tags=scope.tags,
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.aws_provider, depends_on=[self.addons["eks-pod-identity-agent"]]
            ),
        )
        self.autoscaler = versions.CLUSTER_AUTOSCALER.release(
            f"{name}-cluster-autoscaler",
            name="cluster-autoscaler",
            namespace="kube-system",
            values={
                "cloudProvider": "aws",
                "awsRegion": scope.region,
                "autoDiscovery": {"clusterName": cluster_name},
                "image": {"tag": versions.CLUSTER_AUTOSCALER_IMAGE_TAG},
                "rbac": {"serviceAccount": {"create": True, "name": CLUSTER_AUTOSCALER_SA}},
                "replicaCount": 2 if scope.environment == "prod" else 1,
                "extraArgs": autoscaler_args(),
            },
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[autoscaler_role]),
        )

        self.network = AwsNetwork(
            region=scope.region,
            availability_zones=zones,
            vpc_id=self.vpc.vpc.id,
            vpc_cidr=settings.cidr(scope.region),
            private_subnet_ids=private_subnet_ids,
            # Managed node groups without a custom security group use the cluster security group.
            node_security_group_id=self.cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or ""),
            tags=scope.tags,
            cluster_name=self.cluster.name,
            provider=self.aws_provider,
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
        from components.cluster import ClusterEndpoint  # cluster.py imports this module

        settings = args.cloud_settings.aws
        if settings is None:  # CloudSettings.check refuses this before anything registers
            raise ValueError("cloudCluster.aws is required for cloud 'aws'")
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
