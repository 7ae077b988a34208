"""`BackupStore`: the object storage the in-cluster databases back up to, per cloud.

- AWS: an S3 bucket, versioned, encrypted at rest, every kind of public access blocked, plain
  HTTP refused; noncurrent versions expire after the retention period (the backup tools prune
  their own backups by retention; versioning guards against a bad prune or a deletion).
- Azure: a StorageV2 account with TLS 1.2 minimum, HTTPS only, no public blob access and no
  public network access (a private endpoint in the VNet), and one private container.
The backup agents get credentials scoped to this store only, as a Secret in the data namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import storage

from components.data.azure_private import private_endpoint
from components.labels import PLATFORM_CONTEXT, standard_labels
from components.network import AwsNetwork, AzureNetwork, CloudNetwork

BACKUP_CREDENTIALS_SECRET = "backup-credentials"


@dataclass(frozen=True)
class BackupLocation:
    kind: Literal["s3", "azure"]
    container: pulumi.Output[str]  # bucket or blob container
    endpoint: pulumi.Output[str]  # s3://<bucket> or https://<account>.blob.core.windows.net/<container>
    region: str | None
    credentials_secret: str
    # Keys inside the credentials Secret, by role ("access_key_id", "secret_access_key",
    # "storage_account", "storage_key"); Percona reads fixed key names, so these are they.
    keys: dict[str, str]

    def destination(self, prefix: str) -> pulumi.Output[str]:
        return self.endpoint.apply(lambda base: f"{base}/{prefix}")


@dataclass(frozen=True)
class BackupStoreArgs:
    stack_name: str
    environment: str
    network: CloudNetwork
    data_namespace: str
    retention_days: int
    geo_redundant: bool
    protect: bool


class _Backend(Protocol):
    def build(
        self, name: str, args: BackupStoreArgs, parent: pulumi.Resource
    ) -> tuple[BackupLocation, dict[str, pulumi.Input[str]]]: ...


class AwsBackupStore:
    def build(
        self, name: str, args: BackupStoreArgs, parent: pulumi.Resource
    ) -> tuple[BackupLocation, dict[str, pulumi.Input[str]]]:
        net = args.network
        assert isinstance(net, AwsNetwork)
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
        # A user limited to this bucket. Workload identity (IRSA / Pod Identity) would avoid a
        # long-lived key; it needs the EKS cluster's OIDC issuer, which the network contract
        # does not carry yet.
        user = aws.iam.User(f"{name}-agent", name=f"{args.stack_name}-db-backup-agent", tags=net.tags, opts=child)
        aws.iam.UserPolicy(
            f"{name}-agent-policy",
            user=user.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                            "Resource": bucket.arn,
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                            "Resource": pulumi.Output.concat(bucket.arn, "/*"),
                        },
                    ],
                }
            ),
            opts=child,
        )
        key = aws.iam.AccessKey(f"{name}-agent-key", user=user.name, opts=child)
        location = BackupLocation(
            kind="s3",
            container=bucket.bucket,
            endpoint=bucket.bucket.apply(lambda b: f"s3://{b}"),
            region=net.region,
            credentials_secret=BACKUP_CREDENTIALS_SECRET,
            keys={"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY"},
        )
        return location, {
            "AWS_ACCESS_KEY_ID": pulumi.Output.secret(key.id),
            "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(key.secret),
        }


class AzureBackupStore:
    CONTAINER = "db-backups"

    def build(
        self, name: str, args: BackupStoreArgs, parent: pulumi.Resource
    ) -> tuple[BackupLocation, dict[str, pulumi.Input[str]]]:
        net = args.network
        assert isinstance(net, AzureNetwork)
        child = pulumi.ResourceOptions(parent=parent)
        suffix = random.RandomString(
            f"{name}-suffix", length=8, special=False, upper=False, opts=pulumi.ResourceOptions(parent=parent)
        )
        account = storage.StorageAccount(
            f"{name}-account",
            # Storage account names are global: 3-24 lowercase letters and digits.
            account_name=suffix.result.apply(lambda s: f"bh{args.environment[:4]}bkp{s}"),
            resource_group_name=net.resource_group_name,
            location=net.location,
            kind=storage.Kind.STORAGE_V2,
            # Prod: "Backups: Hourly + cross-region" -> geo-zone-redundant; else zone-redundant.
            sku=storage.SkuArgs(name="Standard_GZRS" if args.geo_redundant else "Standard_ZRS"),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            public_network_access=storage.PublicNetworkAccess.DISABLED,
            tags=net.tags,
            opts=pulumi.ResourceOptions(parent=parent, protect=args.protect),
        )
        container = storage.BlobContainer(
            f"{name}-container",
            account_name=account.name,
            resource_group_name=net.resource_group_name,
            container_name=self.CONTAINER,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        private_endpoint(f"{name}-blob", net, account.id, "blob", "privatelink.blob.core.windows.net", parent)
        keys = storage.list_storage_account_keys_output(
            account_name=account.name, resource_group_name=net.resource_group_name
        )
        location = BackupLocation(
            kind="azure",
            container=container.name,
            endpoint=account.name.apply(lambda a: f"https://{a}.blob.core.windows.net/{self.CONTAINER}"),
            region=None,
            credentials_secret=BACKUP_CREDENTIALS_SECRET,
            keys={"storage_account": "AZURE_STORAGE_ACCOUNT_NAME", "storage_key": "AZURE_STORAGE_ACCOUNT_KEY"},
        )
        return location, {
            "AZURE_STORAGE_ACCOUNT_NAME": account.name,
            "AZURE_STORAGE_ACCOUNT_KEY": pulumi.Output.secret(keys.keys[0].value),
        }


BACKENDS: dict[str, _Backend] = {"aws": AwsBackupStore(), "azure": AzureBackupStore()}


class BackupStore(pulumi.ComponentResource):
    location: BackupLocation

    def __init__(
        self,
        name: str,
        args: BackupStoreArgs,
        namespace: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bakhmach:data:BackupStore", name, None, opts)
        kind = "aws" if isinstance(args.network, AwsNetwork) else "azure"
        self.location, credentials = BACKENDS[kind].build(name, args, self)
        self.credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=BACKUP_CREDENTIALS_SECRET,
                namespace=args.data_namespace,
                labels=standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="data"),
            ),
            type="Opaque",
            string_data=credentials,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        self.register_outputs({"container": self.location.container})
