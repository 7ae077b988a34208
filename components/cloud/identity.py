"""Workload identity: a cloud identity a Kubernetes service account assumes, with no static keys.

AWS, EKS Pod Identity:
Chosen over IRSA: the trust policy is the same for every cluster (the `pods.eks.amazonaws.com`
service principal), so a role needs no per-cluster OIDC provider, and the association is an
EKS API object rather than a service-account annotation. Other components (backups, data layer)
call `pod_identity_role` with the cluster name from `AwsNetwork.cluster_name`.

Azure, AKS workload identity: a user-assigned managed identity with one federated credential per
service account, trusting the cluster's OIDC issuer (`AzureNetwork.oidc_issuer_url`); the pods
carry the label `azure.workload.identity/use: "true"` and their service account the annotation
`azure.workload.identity/client-id`, so AKS's webhook projects a token the Azure SDKs exchange.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
from pulumi_azure_native import managedidentity

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
    """A role for `namespace/service_account`; `associate=False` when an EKS add-on (or the caller,
    for several service accounts: `pod_identity_association`) associates it."""
    role = aws.iam.Role(name, assume_role_policy=POD_IDENTITY_TRUST, tags=tags, opts=opts)
    if policy is not None:
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=opts)
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
    if associate:
        pod_identity_association(
            f"{name}-association",
            cluster_name=cluster_name,
            role=role,
            namespace=namespace,
            service_account=service_account,
            tags=tags,
            opts=opts,
        )
    return role


def pod_identity_association(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    role: aws.iam.Role,
    namespace: str,
    service_account: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.PodIdentityAssociation:
    """One more service account that assumes `role` (a role may serve several)."""
    return aws.eks.PodIdentityAssociation(
        name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=tags,
        opts=opts,
    )


# What AKS's workload identity webhook reads: the pod label, and the service account annotation
# naming the identity; the audience is the one Entra ID accepts for a token exchange.
AZURE_WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
AZURE_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service account token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def federated_identity(
    name: str,
    *,
    identity_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    issuer: pulumi.Input[str],
    service_accounts: Sequence[tuple[str, str]],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[managedidentity.UserAssignedIdentity, list[managedidentity.FederatedIdentityCredential]]:
    """A user-assigned identity that exactly these `(namespace, service account)`s may assume."""
    identity = managedidentity.UserAssignedIdentity(
        name,
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        location=location,
        tags=tags,
        opts=opts,
    )
    credentials: list[managedidentity.FederatedIdentityCredential] = []
    for namespace, service_account in service_accounts:
        # Azure refuses concurrent credential writes under one identity: one after the other.
        credentials.append(
            managedidentity.FederatedIdentityCredential(
                f"{name}-{namespace}-{service_account}",
                # The name, not `identity.name`: the credential is a child path of the identity.
                resource_name_=identity_name,
                resource_group_name=resource_group_name,
                issuer=issuer,
                subject=service_account_subject(namespace, service_account),
                audiences=[AZURE_TOKEN_AUDIENCE],
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(depends_on=[identity, *credentials[-1:]])
                ),
            )
        )
    return identity, credentials
