"""EKS Pod Identity: an IAM role a Kubernetes service account assumes, with no static keys.

Chosen over IRSA: the trust policy is the same for every cluster (the `pods.eks.amazonaws.com`
service principal), so a role needs no per-cluster OIDC provider, and the association is an
EKS API object rather than a service-account annotation. Other components (backups, data layer)
call `pod_identity_role` with the cluster name from `AwsNetwork.cluster_name`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

POD_IDENTITY_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
)


def service_role(
    name: str,
    service: str,
    *,
    managed_policy_arns: Sequence[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """A role an AWS service (EKS, EC2) assumes, with AWS-managed policies attached."""
    role = aws.iam.Role(
        name,
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            }
        ),
        tags=tags,
        opts=opts,
    )
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
    return role


def pod_identity_role(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    policy: pulumi.Input[str] | None = None,
    managed_policy_arns: Sequence[str] = (),
    associate: bool = True,
) -> aws.iam.Role:
    """A role for `namespace/service_account`; `associate=False` when an EKS add-on associates it."""
    role = aws.iam.Role(name, assume_role_policy=POD_IDENTITY_TRUST, tags=tags, opts=opts)
    if policy is not None:
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=opts)
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
    if associate:
        aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            tags=tags,
            opts=opts,
        )
    return role
