"""The AWS side of disaster recovery: each managed data service copied to the secondary region,
backups every `snapshot_interval_hours` kept `retention_days` with copies there, and the topic a
failover notifies.

- PostgreSQL (RDS): a cross-region read replica, created from the primary's ARN (RDS takes a
  cross-region source by ARN), encrypted with a KMS key of the secondary region (an encrypted
  source's replica needs a key in its own region), in the secondary VPC's subnets behind a
  security group that admits the secondary cluster's nodes only, Multi-AZ so that once promoted it
  is as available as the primary; the primary's automated backups (point-in-time recovery) are
  replicated to the secondary region too (RDS automated backup replication), so a restore there
  does not depend on the replica;
- Redis (ElastiCache): a Global Datastore with the primary replication group as its primary and a
  replication group in the secondary region, which inherits the engine, node type, shards and
  encryption from the global datastore (they cannot be set on a secondary); its RBAC users and
  user group are regional, so the same users with the same passwords are made there;
- Kafka (MSK): a cluster of the same size in the secondary region and MSK Replicator from the
  primary to it: topics under their own names (identical names need Kafka 2.8.1+), their
  configurations and topic ACLs, and consumer groups with their offsets. The replicator connects
  with IAM over the source's multi-VPC connectivity and needs the source's cluster policy to let
  `kafka.amazonaws.com` create that connection (MSK developer guide, "Prepare the source
  cluster"). MSK Replicator does not copy group or transactional-id ACLs: the same ACL Job as the
  primary's runs against the target, from the secondary cluster;
- backups: an AWS Backup plan in the primary region: snapshots every `snapshot_interval_hours`
  kept `retention_days`, each copied to a vault in the secondary region kept as long, and
  continuous backups (point-in-time recovery, at most 35 days) taken daily in full; the vaults
  are encrypted with keys of their own regions. The in-cluster services' backup bucket is
  replicated to a bucket in the secondary region (S3 Replication Time Control: 99.99% of objects
  within 15 minutes, with metrics), kept `retention_days`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components import versions
from components.cloud.common import CloudScope
from components.cloud.identity import service_role
from components.data import kafka as kafka_data
from components.data.backup_store import BackupLocation
from components.data.base import nodes_only_security_group
from components.data.connection import BuiltService, DataEgress, DataEndpoint
from components.data.postgres import CLIENT_SETTINGS as POSTGRES_CLIENT_SETTINGS
from components.data.provisioning import ProvisioningJob, provisioning_job
from components.data.replication import ElastiCacheSource, MskSource, RdsSource
from components.data.trust import RDS_CA_IDENTIFIER
from components.network import AwsNetwork
from settings import seed
from settings.dr import DrSpec

STANDBY = {"REGION_ROLE": "standby"}


@dataclass(frozen=True)
class Copy:
    """A data service's copy in the secondary region: what the secondary's services connect to,
    and what the `dr` output says about it (for the drill and the operators)."""

    built: BuiltService
    output: dict[str, Any]
    # What was created in the secondary region (the budget and policies read the plan, not these).
    resources: tuple[pulumi.Resource, ...] = field(default_factory=tuple)


def _standby(service: BuiltService, endpoint: DataEndpoint, ready: tuple[pulumi.Resource, ...]) -> BuiltService:
    """The same logins (the replica holds the primary's roles and users), at the copy's endpoint,
    once the copy exists."""
    credentials = {c: replace(cred, ready=(*cred.ready, *ready)) for c, cred in service.credentials.items()}
    return BuiltService(endpoint, credentials)


def region_key(name: str, scope: CloudScope, purpose: str, protect: bool, parent: pulumi.Resource) -> aws.kms.Key:
    """A customer-managed key of the secondary region (replicas and copies of encrypted data must be
    encrypted with a key of their own region)."""
    return aws.kms.Key(
        name,
        description=f"{purpose} in {scope.region}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=scope.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )


def postgres_replica(
    name: str,
    source: RdsSource,
    service: BuiltService,
    stack_name: str,
    spec: DrSpec,
    net: AwsNetwork,
    scope: CloudScope,
    protect: bool,
    parent: pulumi.Resource,
) -> Copy:
    key = region_key(f"{name}-key", scope, "RDS PostgreSQL replica and replicated backups", protect, parent)
    subnets = aws.rds.SubnetGroup(
        f"{name}-subnets",
        subnet_ids=list(net.private_subnet_ids),
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    group = nodes_only_security_group(name, net, "PostgreSQL from the cluster's nodes only", source.port, parent)
    # Parameter groups are regional: the same name and parameters here (TLS forced, TLS 1.3).
    parameters = aws.rds.ParameterGroup(
        f"{name}-params",
        name=f"bakhmach-{stack_name}-{source.parameter_family}",
        family=source.parameter_family,
        parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v) for k, v in source.parameters],
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    replica = aws.rds.Instance(
        f"{name}-replica",
        identifier=f"{stack_name}-postgres-dr",
        # Across regions RDS takes the source by ARN; the replica copies its engine and version.
        replicate_source_db=source.arn,
        instance_class=source.instance_class,
        storage_encrypted=True,
        kms_key_id=key.arn,
        multi_az=True,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[group.id],
        parameter_group_name=parameters.name,
        publicly_accessible=False,
        # Its own automated backups, so that once promoted it keeps point-in-time recovery.
        backup_retention_period=seed.DATABASE_BACKUP_RETENTION_DAYS,
        copy_tags_to_snapshot=True,
        deletion_protection=protect,
        skip_final_snapshot=True,
        auto_minor_version_upgrade=True,
        performance_insights_enabled=True,
        # The CA whose root the clients' mounted bundle holds, as on the primary.
        ca_cert_identifier=RDS_CA_IDENTIFIER,
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=[source.instance]),
    )
    backups = aws.rds.InstanceAutomatedBackupsReplication(
        f"{name}-backup-replication",
        source_db_instance_arn=source.arn,
        kms_key_id=key.arn,
        retention_period=seed.DATABASE_BACKUP_RETENTION_DAYS,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[source.instance]),
    )
    endpoint = DataEndpoint(
        service="postgres",
        backend="aws",
        host=replica.address,
        port=source.port,
        tls=True,
        trust="rds",
        egress=DataEgress(ports=(source.port,), cidr=net.vpc_cidr),
        extra={**POSTGRES_CLIENT_SETTINGS, **STANDBY},
        region_copy=True,
    )
    output = {
        "backend": "rds",
        "primary": {"id": source.identifier, "arn": source.arn, "region": spec.primary_region},
        "replica": {"id": replica.identifier, "arn": replica.arn, "region": spec.secondary_region},
        "endpoint": replica.address,
        "promote": "rds:PromoteReadReplica",
        "backupsReplicatedTo": spec.secondary_region,
    }
    return Copy(_standby(service, endpoint, (replica,)), output, (replica, backups))


def redis_global_datastore(
    name: str,
    source: ElastiCacheSource,
    service: BuiltService,
    stack_name: str,
    spec: DrSpec,
    net: AwsNetwork,
    primary_provider: pulumi.ProviderResource | None,
    parent: pulumi.Resource,
    protect: bool,
) -> Copy:
    datastore = aws.elasticache.GlobalReplicationGroup(
        f"{name}-global",
        # ElastiCache prefixes the suffix with a region code of its own.
        global_replication_group_id_suffix=f"{stack_name}-cache",
        global_replication_group_description="Bakhmach hub cache across regions",
        primary_replication_group_id=source.replication_group_id,
        opts=pulumi.ResourceOptions(parent=parent, provider=primary_provider, depends_on=[source.group]),
    )
    subnets = aws.elasticache.SubnetGroup(
        f"{name}-subnets",
        subnet_ids=list(net.private_subnet_ids),
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    group = nodes_only_security_group(name, net, "Redis from the cluster's nodes only", source.port, parent)
    # RBAC users are regional: the same ids, access strings and passwords as the primary's.
    default = aws.elasticache.User(
        f"{name}-default-user",
        user_id=f"{stack_name}-redis-default",
        user_name="default",
        engine="redis",
        access_string="off -@all",
        passwords=[source.default_password],
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    users = [
        aws.elasticache.User(
            f"{name}-{consumer}-user",
            user_id=f"{stack_name}-redis-{consumer}",
            user_name=credential.username,
            engine="redis",
            access_string=source.access_strings[consumer],
            passwords=[credential.password],
            tags=net.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for consumer, credential in sorted(service.credentials.items())
    ]
    user_group = aws.elasticache.UserGroup(
        f"{name}-users",
        user_group_id=f"{stack_name}-redis",
        engine="redis",
        user_ids=[default.user_id, *(u.user_id for u in users)],
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    secondary = aws.elasticache.ReplicationGroup(
        f"{name}-replication-group",
        replication_group_id=f"{stack_name}-redis-dr",
        description="Bakhmach hub cache, secondary region (Global Datastore member)",
        global_replication_group_id=datastore.global_replication_group_id,
        replicas_per_node_group=source.replicas_per_shard,
        automatic_failover_enabled=True,
        multi_az_enabled=True,
        subnet_group_name=subnets.name,
        security_group_ids=[group.id],
        port=source.port,
        user_group_ids=[user_group.user_group_id],
        snapshot_retention_limit=7,
        auto_minor_version_upgrade=True,
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    endpoint = DataEndpoint(
        service="redis",
        backend="aws",
        host=secondary.configuration_endpoint_address,
        port=source.port,
        tls=True,
        egress=DataEgress(ports=(source.port,), cidr=net.vpc_cidr),
        extra={"CLUSTER_MODE": "true", **STANDBY},
        region_copy=True,
    )
    output = {
        "backend": "elasticache-global-datastore",
        "globalDatastore": datastore.global_replication_group_id,
        "primary": {"id": source.replication_group_id, "region": spec.primary_region},
        "replica": {"id": secondary.replication_group_id, "region": spec.secondary_region},
        "endpoint": secondary.configuration_endpoint_address,
        "promote": "elasticache:FailoverGlobalReplicationGroup",
    }
    return Copy(_standby(service, endpoint, (secondary,)), output, (datastore, secondary))


def _replicator_policy(source_arn: pulumi.Input[str], target_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """What the replicator's role may do on both clusters (MSK developer guide, the replicator's
    service execution role): connect, read the source, write and configure the target."""

    def document(arns: list[str]) -> str:
        statements = []
        for arn in arns:
            base = arn.replace(":cluster/", ":{kind}/", 1)
            resources = [arn, f"{base.format(kind='topic')}/*", f"{base.format(kind='group')}/*"]
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": [
                        "kafka-cluster:Connect",
                        "kafka-cluster:DescribeCluster",
                        "kafka-cluster:AlterCluster",
                        "kafka-cluster:DescribeTopic",
                        "kafka-cluster:CreateTopic",
                        "kafka-cluster:AlterTopic",
                        "kafka-cluster:WriteData",
                        "kafka-cluster:ReadData",
                        "kafka-cluster:AlterGroup",
                        "kafka-cluster:DescribeGroup",
                        "kafka-cluster:DescribeTopicDynamicConfiguration",
                        "kafka-cluster:AlterTopicDynamicConfiguration",
                        "kafka-cluster:WriteDataIdempotently",
                    ],
                    "Resource": resources,
                }
            )
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    return pulumi.Output.all(source_arn, target_arn).apply(document)


def kafka_replicator(
    name: str,
    source: MskSource,
    service: BuiltService,
    stack_name: str,
    spec: DrSpec,
    primary: AwsNetwork,
    net: AwsNetwork,
    scope: CloudScope,
    protect: bool,
    acl_namespace: str,
    acl_after: tuple[pulumi.Resource, ...],
    parent: pulumi.Resource,
    job_parent: pulumi.Resource,
) -> Copy:
    child = pulumi.ResourceOptions(parent=parent)
    key = region_key(f"{name}-key", scope, "MSK data at rest and SCRAM credentials", protect, parent)
    group = nodes_only_security_group(
        name, net, "Kafka (SASL/SCRAM over TLS) from the cluster's nodes only", source.port, parent
    )
    replicator_group = aws.ec2.SecurityGroup(
        f"{name}-replicator-sg",
        vpc_id=net.vpc_id,
        description="MSK Replicator's network interfaces in the secondary region",
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp", from_port=MSK_IAM_PORT, to_port=MSK_IAM_PORT, cidr_blocks=[net.vpc_cidr]
            )
        ],
        tags=net.tags,
        opts=child,
    )
    # The replicator writes over IAM (9098): the target admits it from its own interfaces only.
    iam_from_replicator = aws.vpc.SecurityGroupIngressRule(
        f"{name}-iam-from-replicator",
        security_group_id=group.id,
        description="MSK Replicator (IAM) into the target cluster",
        ip_protocol="tcp",
        from_port=MSK_IAM_PORT,
        to_port=MSK_IAM_PORT,
        referenced_security_group_id=replicator_group.id,
        tags=net.tags,
        opts=child,
    )
    configuration = aws.msk.Configuration(
        f"{name}-config",
        name=f"{stack_name}-kafka-dr",
        kafka_versions=[source.kafka_version],
        server_properties=source.server_properties,
        opts=child,
    )
    target = aws.msk.Cluster(
        f"{name}-cluster",
        cluster_name=f"{stack_name}-kafka-dr",
        kafka_version=source.kafka_version,
        number_of_broker_nodes=source.brokers,
        broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
            instance_type=source.broker_type,
            client_subnets=list(net.private_subnet_ids)[: source.brokers],
            security_groups=[group.id],
            storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                    volume_size=source.storage_gib
                )
            ),
        ),
        encryption_info=aws.msk.ClusterEncryptionInfoArgs(
            encryption_at_rest_kms_key_arn=key.arn,
            encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                client_broker="TLS", in_cluster=True
            ),
        ),
        client_authentication=aws.msk.ClusterClientAuthenticationArgs(
            sasl=aws.msk.ClusterClientAuthenticationSaslArgs(scram=True, iam=True),
            unauthenticated=False,
        ),
        configuration_info=aws.msk.ClusterConfigurationInfoArgs(
            arn=configuration.arn, revision=configuration.latest_revision
        ),
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    logins = {source.admin_username: source.admin_password}
    logins |= {c.username: c.password for _, c in sorted(service.credentials.items())}
    versions_ = [
        kafka_data.scram_secret(
            f"{name}-scram-{username}", f"{stack_name}-dr", username, password, key, net.tags, parent
        )
        for username, password in logins.items()
    ]
    association = aws.msk.ScramSecretAssociation(
        f"{name}-scram-association",
        cluster_arn=target.arn,
        secret_arn_lists=[v.secret_id for v in versions_],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(versions_)),
    )
    # The source lets MSK's service principal open the replicator's private connection to it.
    cluster_policy = aws.msk.ClusterPolicy(
        f"{name}-source-policy",
        cluster_arn=source.arn,
        policy=pulumi.Output.from_input(source.arn).apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "kafka.amazonaws.com"},
                            "Action": [
                                "kafka:CreateVpcConnection",
                                "kafka:GetBootstrapBrokers",
                                "kafka:DescribeClusterV2",
                            ],
                            "Resource": arn,
                        }
                    ],
                }
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=primary.provider, depends_on=[source.cluster]),
    )
    role = aws.iam.Role(
        f"{name}-replicator-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "kafka.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        tags=net.tags,
        opts=child,
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-replicator-role-policy", role=role.id, policy=_replicator_policy(source.arn, target.arn), opts=child
    )
    replicator = aws.msk.Replicator(
        f"{name}-replicator",
        replicator_name=f"{stack_name}-kafka-to-{spec.secondary_region}",
        description="Topics, their configurations and ACLs, and consumer group offsets, to the secondary region",
        service_execution_role_arn=role.arn,
        kafka_clusters=[
            aws.msk.ReplicatorKafkaClusterArgs(
                amazon_msk_cluster=aws.msk.ReplicatorKafkaClusterAmazonMskClusterArgs(msk_cluster_arn=source.arn),
                # Across regions the replicator reaches the source through its multi-VPC connectivity;
                # it needs no security group there.
                vpc_config=aws.msk.ReplicatorKafkaClusterVpcConfigArgs(subnet_ids=list(primary.private_subnet_ids)),
            ),
            aws.msk.ReplicatorKafkaClusterArgs(
                amazon_msk_cluster=aws.msk.ReplicatorKafkaClusterAmazonMskClusterArgs(msk_cluster_arn=target.arn),
                vpc_config=aws.msk.ReplicatorKafkaClusterVpcConfigArgs(
                    subnet_ids=list(net.private_subnet_ids), security_groups_ids=[replicator_group.id]
                ),
            ),
        ],
        replication_info_list=aws.msk.ReplicatorReplicationInfoListArgs(
            source_kafka_cluster_arn=source.arn,
            target_kafka_cluster_arn=target.arn,
            target_compression_type="NONE",
            topic_replications=[
                aws.msk.ReplicatorReplicationInfoListTopicReplicationArgs(
                    topics_to_replicates=[".*"],
                    # The consumers fail over to the same topic names.
                    topic_name_configuration=aws.msk.ReplicatorReplicationInfoListTopicReplicationTopicNameConfigurationArgs(
                        type="IDENTICAL"
                    ),
                    starting_position=aws.msk.ReplicatorReplicationInfoListTopicReplicationStartingPositionArgs(
                        type="EARLIEST"
                    ),
                    copy_topic_configurations=True,
                    copy_access_control_lists_for_topics=True,
                    detect_and_copy_new_topics=True,
                )
            ],
            consumer_group_replications=[
                aws.msk.ReplicatorReplicationInfoListConsumerGroupReplicationArgs(
                    consumer_groups_to_replicates=[".*"],
                    synchronise_consumer_group_offsets=True,
                    detect_and_copy_new_consumer_groups=True,
                )
            ],
        ),
        tags=net.tags,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[cluster_policy, role_policy, iam_from_replicator, association]
        ),
    )
    egress = DataEgress(ports=(source.port,), cidr=net.vpc_cidr)
    acls = provisioning_job(
        f"{name}-acls",
        ProvisioningJob(
            object_name="kafka-dr-acls",
            namespace=acl_namespace,
            environment=scope.environment,
            image=versions.KAFKA_CLIENT_IMAGE,
            script=source.acl_script,
            env={"BOOTSTRAP": target.bootstrap_brokers_sasl_scram},
            secrets={"admin-username": source.admin_username, "admin-password": source.admin_password},
            egress=egress,
            after=(*acl_after, association),
        ),
        job_parent,
    )
    endpoint = DataEndpoint(
        service="kafka",
        backend="aws",
        host=target.bootstrap_brokers_sasl_scram,
        port=source.port,
        tls=True,
        egress=egress,
        extra={**kafka_data.SASL, **STANDBY},
        region_copy=True,
    )
    output = {
        "backend": "msk-replicator",
        "primary": {"id": source.arn, "region": spec.primary_region},
        "replica": {"id": target.arn, "region": spec.secondary_region},
        "replicator": replicator.arn,
        "endpoint": target.bootstrap_brokers_sasl_scram,
        "promote": "switch producers and consumers to the target (offsets synchronised)",
    }
    return Copy(_standby(service, endpoint, (target, association, acls)), output, (target, replicator))


MSK_IAM_PORT = 9098


@dataclass(frozen=True)
class BackupVaults:
    primary: aws.backup.Vault
    secondary: aws.backup.Vault
    plan: aws.backup.Plan


def backup_plan(
    name: str,
    stack_name: str,
    spec: DrSpec,
    primary_scope: CloudScope,
    secondary_scope: CloudScope,
    primary_provider: pulumi.ProviderResource | None,
    secondary_provider: pulumi.ProviderResource | None,
    databases: list[pulumi.Output[str]],
    protect: bool,
    parent: pulumi.Resource,
) -> BackupVaults:
    """An AWS Backup plan over the databases: snapshots every `snapshot_interval_hours` kept
    `retention_days` and copied to the secondary region's vault, and daily continuous backups."""
    here = pulumi.ResourceOptions(parent=parent, provider=primary_provider)
    there = pulumi.ResourceOptions(parent=parent, provider=secondary_provider)
    vaults = []
    for side, scope, opts in (("primary", primary_scope, here), ("secondary", secondary_scope, there)):
        key_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect))
        # A key is regional: each vault's key is created with that vault's provider.
        key = aws.kms.Key(
            f"{name}-{side}-vault-key",
            description=f"AWS Backup vault in {scope.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=scope.tags,
            opts=key_opts,
        )
        vaults.append(
            aws.backup.Vault(
                f"{name}-{side}-vault",
                # 2-50 characters of letters, digits, hyphens and underscores.
                name=f"bakhmach-{stack_name}-{scope.region}",
                kms_key_arn=key.arn,
                force_destroy=not protect,
                tags=scope.tags,
                opts=key_opts,
            )
        )
    primary_vault, secondary_vault = vaults
    plan = aws.backup.Plan(
        f"{name}-plan",
        name=f"bakhmach-{stack_name}-dr",
        rules=[
            aws.backup.PlanRuleArgs(
                rule_name=f"every-{spec.snapshot_interval_hours}-hours",
                target_vault_name=primary_vault.name,
                schedule=spec.aws_backup_schedule,
                start_window=60,
                completion_window=6 * 60,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=spec.retention_days),
                copy_actions=[
                    aws.backup.PlanRuleCopyActionArgs(
                        destination_vault_arn=secondary_vault.arn,
                        lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=spec.retention_days),
                    )
                ],
            ),
            # "Hourly incremental, daily full": continuous backups restore to any second within
            # their window (at most 35 days), with a full snapshot each day.
            aws.backup.PlanRuleArgs(
                rule_name="continuous",
                target_vault_name=primary_vault.name,
                schedule="cron(0 2 * * ? *)",
                enable_continuous_backup=True,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=spec.pitr_days),
            ),
        ],
        tags=primary_scope.tags,
        opts=here,
    )
    role = service_role(
        f"{name}-role",
        "backup.amazonaws.com",
        managed_policy_arns=[
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        ],
        tags=primary_scope.tags,
        opts=here,
    )
    aws.backup.Selection(
        f"{name}-databases",
        name="databases",
        plan_id=plan.id,
        iam_role_arn=role.arn,
        resources=databases,
        opts=here,
    )
    return BackupVaults(primary=primary_vault, secondary=secondary_vault, plan=plan)


def replicate_backup_bucket(
    name: str,
    location: BackupLocation,
    spec: DrSpec,
    primary: AwsNetwork,
    secondary: AwsNetwork,
    stack_name: str,
    protect: bool,
    parent: pulumi.Resource,
) -> aws.s3.Bucket:
    """The in-cluster services' backup bucket, replicated to a bucket of the secondary region with
    the same protections, kept `retention_days`."""
    there = pulumi.ResourceOptions(parent=parent, provider=secondary.provider)
    copy = aws.s3.Bucket(
        f"{name}-bucket",
        bucket_prefix=f"{stack_name}-db-backups-dr-",
        force_destroy=not protect,
        tags=secondary.tags,
        opts=pulumi.ResourceOptions.merge(there, pulumi.ResourceOptions(protect=protect)),
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=copy.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=there,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=copy.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=there,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=copy.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=there,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=copy.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="keep-dr-copies",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.retention_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=spec.retention_days
                ),
            )
        ],
        opts=there,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=copy.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [copy.arn, pulumi.Output.concat(copy.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
        opts=there,
    )
    source_arn = location.container.apply(lambda bucket: f"arn:aws:s3:::{bucket}")
    here = pulumi.ResourceOptions(parent=parent, provider=primary.provider)
    role = aws.iam.Role(
        f"{name}-replication-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        tags=primary.tags,
        opts=here,
    )
    # S3 Replication's documented minimum: read the source's configuration and versions,
    # replicate into the destination.
    policy = aws.iam.RolePolicy(
        f"{name}-replication-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                        "Resource": [source_arn],
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "s3:GetObjectVersionForReplication",
                            "s3:GetObjectVersionAcl",
                            "s3:GetObjectVersionTagging",
                        ],
                        "Resource": [pulumi.Output.concat(source_arn, "/*")],
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                        "Resource": [pulumi.Output.concat(copy.arn, "/*")],
                    },
                ],
            }
        ),
        opts=here,
    )
    aws.s3.BucketReplicationConfig(
        f"{name}-replication",
        bucket=location.container,
        role=role.arn,
        rules=[
            aws.s3.BucketReplicationConfigRuleArgs(
                id="to-secondary-region",
                status="Enabled",
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                # A deletion in the primary (a backup tool's pruning, or a mistake) is not copied:
                # the copies live out their own retention.
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                    status="Disabled"
                ),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=copy.arn,
                    storage_class="STANDARD",
                    # Replication Time Control: 15 minutes for 99.99% of objects, and metrics to
                    # alert on when it lags.
                    replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                        status="Enabled",
                        time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=15),
                    ),
                    metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                        status="Enabled",
                        event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                            minutes=15
                        ),
                    ),
                ),
            )
        ],
        # Replication needs versioning on both buckets (the source's is the backup store's).
        opts=pulumi.ResourceOptions(parent=parent, provider=primary.provider, depends_on=[versioning, policy]),
    )
    return copy


def notification_topic(name: str, stack_name: str, scope: CloudScope, parent: pulumi.Resource) -> aws.sns.Topic:
    """Where a failover announces itself: in the secondary region, which is the one left standing
    when the primary fails. Encrypted with SNS's AWS-managed key."""
    return aws.sns.Topic(
        name,
        name=f"bakhmach-{stack_name}-dr",
        kms_master_key_id="alias/aws/sns",
        tags=scope.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
