"""`BackupStore`: the object storage the in-cluster databases back up to, per cloud.

- AWS: an S3 bucket, versioned, encrypted at rest, every kind of public access blocked, plain
  HTTP refused; noncurrent versions expire after the retention period (the backup tools prune
  their own backups by retention; versioning guards against a bad prune or a deletion).
- Azure: per backup agent a StorageV2 account with TLS 1.2 minimum, HTTPS only, no public blob
  access and no public network access (a private endpoint in the VNet), and one private container.

The backup agents hold no long-lived cloud key where their operator can do without one:
- AWS: one IAM role per agent, assumed through EKS Pod Identity by the exact service accounts the
  agent runs as, allowed only its own prefix of the bucket (SSE-S3, so no KMS key to grant);
- Azure: one user-assigned identity per agent with a federated credential per service account,
  "Storage Blob Data Contributor" on its own container only; that account refuses Shared Key.
  An agent whose operator cannot use Entra ID (Percona's `azure` storage requires
  `credentialsSecret`) gets an account of its own, so its key reaches its own backups only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import storage

from components.cloud.identity import (
    AzureRole,
    federated_identity,
    pod_identity_association,
    pod_identity_role,
    role_assignment,
)
from components.data.azure_private import private_dns_zone, private_endpoint
from components.labels import PLATFORM_CONTEXT, standard_labels
from components.network import AwsNetwork, AzureNetwork, CloudNetwork

BLOB_ZONE = "privatelink.blob.core.windows.net"


@dataclass(frozen=True)
class BackupAgent:
    """An in-cluster backup agent: what it is called (its prefix in the store) and who it runs as."""

    name: str
    # (namespace, service account) of every pod that reads or writes the backups.
    service_accounts: tuple[tuple[str, str], ...]
    # False where the operator has no keyless way to Azure Blob Storage.
    azure_workload_identity: bool = True


@dataclass(frozen=True)
class BackupLocation:
    kind: Literal["s3", "azure"]
    container: pulumi.Output[str]  # bucket or blob container
    endpoint: pulumi.Output[str]  # s3://<bucket> or https://<account>.blob.core.windows.net/<container>
    region: str | None
    prefix: str  # the agent's own folder in the store
    # None: the agent authenticates as its cloud identity. Otherwise the Secret holding a key.
    credentials_secret: str | None = None
    # Keys inside the credentials Secret, by role ("storage_account", "storage_key"); Percona
    # reads fixed key names, so these are they.
    keys: dict[str, str] | None = None
    # Azure workload identity: the client id the agent's service account is annotated with.
    azure_client_id: pulumi.Output[str] | None = None
    # What must exist before the agent starts: its identity's binding, or its Secret.
    dependencies: tuple[pulumi.Resource, ...] = ()
    # Azure: the storage account's id (prod's other region reaches it through an endpoint of its own).
    account_id: pulumi.Output[str] | None = None

    def destination(self) -> pulumi.Output[str]:
        return self.endpoint.apply(lambda base: f"{base}/{self.prefix}")


@dataclass(frozen=True)
class BackupStoreArgs:
    stack_name: str
    environment: str
    network: CloudNetwork
    data_namespace: str
    agents: tuple[BackupAgent, ...]
    retention_days: int
    geo_redundant: bool
    protect: bool


# What a backend returns: each agent's location, and per Secret name the key data it holds.
Built = tuple[dict[str, BackupLocation], dict[str, dict[str, pulumi.Input[str]]]]


class _Backend(Protocol):
    def build(self, name: str, args: BackupStoreArgs, parent: pulumi.Resource) -> Built: ...


class AwsBackupStore:
    def build(self, name: str, args: BackupStoreArgs, parent: pulumi.Resource) -> Built:
        net = args.network
        assert isinstance(net, AwsNetwork)
        if net.cluster_name is None:
            raise pulumi.RunError(
                "data backups: EKS Pod Identity needs the cluster's name (AwsNetwork.cluster_name); "
                "this stack's network carries none"
            )
        child = pulumi.ResourceOptions(parent=parent)
        stateful = pulumi.ResourceOptions(parent=parent, protect=args.protect)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"{args.stack_name}-db-backups-",
            # Backups outlive a `pulumi destroy` in staging/prod: protected, and never force-emptied.
            force_destroy=not args.protect,
            tags=net.tags,
            opts=stateful,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.retention_days
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            ),
            opts=child,
        )
        locations: dict[str, BackupLocation] = {}
        for agent in args.agents:
            prefix = agent.name
            role = pod_identity_role(
                f"{name}-{agent.name}-agent",
                cluster_name=net.cluster_name,
                namespace=agent.service_accounts[0][0],
                service_account=agent.service_accounts[0][1],
                policy=_s3_agent_policy(bucket.arn, prefix),
                tags=net.tags,
                opts=child,
                associate=False,  # one association per service account, below
            )
            deps = [
                pod_identity_association(
                    f"{name}-{agent.name}-agent-{namespace}-{service_account}",
                    cluster_name=net.cluster_name,
                    role=role,
                    namespace=namespace,
                    service_account=service_account,
                    tags=net.tags,
                    opts=child,
                )
                for namespace, service_account in agent.service_accounts
            ]
            locations[agent.name] = BackupLocation(
                kind="s3",
                container=bucket.bucket,
                endpoint=bucket.bucket.apply(lambda b: f"s3://{b}"),
                region=net.region,
                prefix=prefix,
                dependencies=tuple(deps),
            )
        return locations, {}


def _s3_agent_policy(bucket_arn: pulumi.Output[str], prefix: str) -> pulumi.Output[str]:
    """Listing the bucket, and reading, writing and deleting objects under the agent's prefix only."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListTheBackupBucket",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": bucket_arn,
                },
                {
                    "Sid": "ReadWriteOwnPrefix",
                    "Effect": "Allow",
                    # Multipart uploads are authorised by PutObject; aborting one is its own action.
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                    "Resource": pulumi.Output.concat(bucket_arn, f"/{prefix}/*"),
                },
            ],
        }
    )


class AzureBackupStore:
    CONTAINER = "db-backups"

    def build(self, name: str, args: BackupStoreArgs, parent: pulumi.Resource) -> Built:
        net = args.network
        assert isinstance(net, AzureNetwork)
        child = pulumi.ResourceOptions(parent=parent)
        suffix = random.RandomString(
            f"{name}-suffix", length=8, special=False, upper=False, opts=pulumi.ResourceOptions(parent=parent)
        )
        # One privatelink zone for every account's endpoint: a VNet links one zone of a name.
        dns_zone = private_dns_zone(f"{name}-blob", net, BLOB_ZONE, parent)
        locations: dict[str, BackupLocation] = {}
        secrets: dict[str, dict[str, pulumi.Input[str]]] = {}
        for agent in args.agents:
            keyless = agent.azure_workload_identity
            if keyless and net.oidc_issuer_url is None:
                raise pulumi.RunError(
                    "data backups: workload identity needs the AKS cluster's OIDC issuer "
                    "(AzureNetwork.oidc_issuer_url); this stack's network carries none"
                )
            account = storage.StorageAccount(
                f"{name}-{agent.name}-account",
                # Storage account names are global: 3-24 lowercase letters and digits.
                account_name=pulumi.Output.concat("bh", args.environment[:4], agent.name[:5], suffix.result),
                resource_group_name=net.resource_group_name,
                location=net.location,
                kind=storage.Kind.STORAGE_V2,
                # Prod: "Backups: Hourly + cross-region" -> geo-zone-redundant; else zone-redundant.
                sku=storage.SkuArgs(name="Standard_GZRS" if args.geo_redundant else "Standard_ZRS"),
                # The highest minimum Storage enforces: the API lists TLS1_3, but Microsoft's "Enforce
                # a minimum required version of TLS for requests to a storage account" says 1.3 is
                # supported and negotiated, not yet enforceable as the minimum (1.2 recommended).
                minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
                enable_https_traffic_only=True,
                allow_blob_public_access=False,
                # Entra ID only where the agent authenticates as its identity: no key, no SAS.
                allow_shared_key_access=not keyless,
                public_network_access=storage.PublicNetworkAccess.DISABLED,
                tags=net.tags,
                opts=pulumi.ResourceOptions(parent=parent, protect=args.protect),
            )
            container = storage.BlobContainer(
                f"{name}-{agent.name}-container",
                account_name=account.name,
                resource_group_name=net.resource_group_name,
                container_name=self.CONTAINER,
                public_access=storage.PublicAccess.NONE,
                opts=child,
            )
            private_endpoint(f"{name}-{agent.name}-blob", net, account.id, "blob", BLOB_ZONE, parent, dns_zone=dns_zone)
            endpoint = account.name.apply(lambda a: f"https://{a}.blob.core.windows.net/{self.CONTAINER}")
            if keyless:
                assert net.oidc_issuer_url is not None
                identity, credentials = federated_identity(
                    f"{name}-{agent.name}-agent",
                    identity_name=f"id-{args.stack_name}-{agent.name}-backups",
                    resource_group_name=net.resource_group_name,
                    location=net.location,
                    issuer=net.oidc_issuer_url,
                    service_accounts=agent.service_accounts,
                    tags=net.tags,
                    opts=child,
                )
                grant = role_assignment(
                    f"{name}-{agent.name}-agent-blob-data",
                    role=AzureRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
                    principal_id=identity.principal_id,
                    # The agent's own container, not the account: nothing else is reachable.
                    scope=container.id,
                    opts=child,
                )
                locations[agent.name] = BackupLocation(
                    kind="azure",
                    container=container.name,
                    endpoint=endpoint,
                    region=None,
                    prefix=agent.name,
                    azure_client_id=identity.client_id,
                    dependencies=(*credentials, grant),
                    account_id=account.id,
                )
                continue
            # Percona Server for MongoDB's `azure` storage requires `credentialsSecret` (its CRD as
            # checked at crVersion 1.22.0; re-check on each operator upgrade), a Secret with
            # AZURE_STORAGE_ACCOUNT_NAME and _KEY (the only keys
            # percona/k8spsmdb-docs backups-storage-azure.md names): no Entra ID option, no SAS.
            # The key is that of an account holding this agent's backups only.
            secret_name = f"{agent.name}-backup-credentials"
            keys = storage.list_storage_account_keys_output(
                account_name=account.name, resource_group_name=net.resource_group_name
            )
            secrets[secret_name] = {
                "AZURE_STORAGE_ACCOUNT_NAME": account.name,
                "AZURE_STORAGE_ACCOUNT_KEY": pulumi.Output.secret(keys.keys[0].value),
            }
            locations[agent.name] = BackupLocation(
                kind="azure",
                container=container.name,
                endpoint=endpoint,
                region=None,
                prefix=agent.name,
                credentials_secret=secret_name,
                keys={"storage_account": "AZURE_STORAGE_ACCOUNT_NAME", "storage_key": "AZURE_STORAGE_ACCOUNT_KEY"},
            )
        return locations, secrets


BACKENDS: dict[str, _Backend] = {"aws": AwsBackupStore(), "azure": AzureBackupStore()}


class BackupStore(pulumi.ComponentResource):
    locations: dict[str, BackupLocation]
    credentials: dict[str, k8s.core.v1.Secret]

    def __init__(
        self,
        name: str,
        args: BackupStoreArgs,
        namespace: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bakhmach:data:BackupStore", name, None, opts)
        kind = "aws" if isinstance(args.network, AwsNetwork) else "azure"
        locations, secrets = BACKENDS[kind].build(name, args, self)
        # Only for an agent that cannot use its cloud identity.
        self.credentials = {
            secret_name: k8s.core.v1.Secret(
                f"{name}-{secret_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=secret_name,
                    namespace=args.data_namespace,
                    labels=standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="data"),
                ),
                type="Opaque",
                string_data=data,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            for secret_name, data in secrets.items()
        }
        self.locations = {
            agent: replace(
                location, dependencies=(*location.dependencies, self.credentials[location.credentials_secret])
            )
            if location.credentials_secret
            else location
            for agent, location in locations.items()
        }
        self.register_outputs(
            {
                "containers": {agent: location.container for agent, location in self.locations.items()},
                "keyless": sorted(a for a, location in self.locations.items() if location.credentials_secret is None),
            }
        )
