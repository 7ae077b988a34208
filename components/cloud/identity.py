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

Azure role assignments: `role_assignment` grants one built-in role (`AzureRole`) to a principal on
one scope; the role definition id is the subscription-qualified GUID (`role_definition_id`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
from pulumi_azure_native import authorization, managedidentity

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


class AzureRole:
    """Built-in Azure role definitions (fixed GUIDs, the same in every tenant) the stack grants."""

    # The AKS control-plane identity manages load balancers and private endpoints in the VNet.
    NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
    # Wrap/unwrap with the KMS key, nothing else.
    KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
    # With Azure RBAC on and no local accounts, the identity running `pulumi up` acts in the
    # cluster only through a role like this.
    AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
    # external-dns writes the records of one public zone.
    DNS_ZONE_CONTRIBUTOR = "befefa01-2a29-4197-83a8-272ff33ce314"
    # external-dns lists the zones of its resource group before writing (its Azure tutorial
    # grants Reader on the group as well as DNS Zone Contributor on the zone).
    READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    # Read, write and delete blobs (no account keys).
    STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    # Read blobs only (prod's other region replays the WAL archive).
    STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    # AKS writes its API server's record into a private DNS zone it was given.
    PRIVATE_DNS_ZONE_CONTRIBUTOR = "b12aa53e-6015-4669-85d0-8515ebb3ae7f"
    # A cluster's kubelet identity pulls images from a container registry, nothing else.
    ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def role_definition_id(role: str) -> pulumi.Output[str]:
    """The subscription-qualified id of a built-in role, as role assignments take it."""
    return authorization.get_client_config_output().subscription_id.apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


def role_assignment(
    name: str,
    *,
    role: str,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    principal_type: pulumi.Input[str] = "ServicePrincipal",
) -> authorization.RoleAssignment:
    """`role` (an `AzureRole`) for one principal on one scope. Managed identities are service
    principals; giving the type spares Azure a directory lookup that fails while a new identity
    is still replicating."""
    return authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=role_definition_id(role),
        scope=scope,
        opts=opts,
    )


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service account token."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def federated_credential(
    name: str,
    *,
    identity_name: str,
    resource_group_name: pulumi.Input[str],
    issuer: pulumi.Input[str],
    namespace: str,
    service_account: str,
    opts: pulumi.ResourceOptions,
    credential_name: str | None = None,
) -> managedidentity.FederatedIdentityCredential:
    """One service account that may assume the identity `identity_name`, through the cluster's
    OIDC issuer. `credential_name`: the credential's name in Azure (default: generated)."""
    return managedidentity.FederatedIdentityCredential(
        name,
        federated_identity_credential_resource_name=credential_name,
        # The name, not `identity.name`: the credential is a child path of the identity.
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        issuer=issuer,
        subject=service_account_subject(namespace, service_account),
        audiences=[AZURE_TOKEN_AUDIENCE],
        opts=opts,
    )


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
    credential_names: Sequence[tuple[str, str | None]] | None = None,
) -> tuple[managedidentity.UserAssignedIdentity, list[managedidentity.FederatedIdentityCredential]]:
    """A user-assigned identity that exactly these `(namespace, service account)`s may assume.
    `credential_names`: per service account, the credential's Pulumi name and its name in Azure
    (default: `<name>-<namespace>-<service account>`, and a generated Azure name)."""
    identity = managedidentity.UserAssignedIdentity(
        name,
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        location=location,
        tags=tags,
        opts=opts,
    )
    names = list(credential_names or [(f"{name}-{ns}-{sa}", None) for ns, sa in service_accounts])
    credentials: list[managedidentity.FederatedIdentityCredential] = []
    for (credential, azure_name), (namespace, service_account) in zip(names, service_accounts, strict=True):
        # Azure refuses concurrent credential writes under one identity: one after the other.
        credentials.append(
            federated_credential(
                credential,
                identity_name=identity_name,
                resource_group_name=resource_group_name,
                issuer=issuer,
                namespace=namespace,
                service_account=service_account,
                credential_name=azure_name,
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(depends_on=[identity, *credentials[-1:]])
                ),
            )
        )
    return identity, credentials
