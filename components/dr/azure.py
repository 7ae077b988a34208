"""The Azure side of disaster recovery: each managed data service copied to the secondary region,
and the PostgreSQL backups kept `retention_days` in a geo-redundant vault.

- PostgreSQL (Flexible Server): a read replica in the secondary region (`createMode: Replica` with
  another location), VNet-integrated in the secondary VNet's delegated subnet and registered in
  the primary's private DNS zone, which is linked to the secondary VNet first (a VNet-integrated
  server resolves its own name through the zone from creation). Flexible Server runs one
  operation at a time and creating a replica holds the primary "updating": the replica waits for
  every operation on the primary (its in-region replicas included), and its TLS setting waits for
  it. A replica cannot have HA of its own (read-replica docs): once promoted, HA is enabled by
  hand (docs/DR.md);
- Redis (Azure Managed Redis): active geo-replication. The primary database was created in the
  group (a database joins one only at creation: components/data/redis.py); the secondary
  region's cluster has the same SKU, high availability, clustering and eviction policy, TLS and
  port (every member must), and its database links to the primary's. Both are writable (CRDTs),
  so a failover moves clients and promotes nothing. Not offered on Balanced B0/B1 and Flash SKUs
  (settings/dr.py refuses them); FLUSHALL and FLUSHDB are refused in a geo-replicated database;
- backups: Azure Backup's vaulted (long-term) backups of the primary Flexible Server, daily (the
  finest schedule Azure Backup offers for Flexible Server: daily or weekly) kept `retention_days`
  in a geo-redundant vault with cross-region restore, on top of the server's own point-in-time
  recovery (35 days at most, geo-redundant). The vault's identity reads the server (Reader on its
  resource group) and backs it up ("PostgreSQL Flexible Server Long Term Retention Backup Role").
  Geo-redundant storage copies to the primary region's Azure-paired region, which Azure chooses:
  for germanywestcentral that is germanynorth, not the stack's secondary region (docs/DR.md).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, dataprotection, dbforpostgresql, privatedns, redisenterprise

from components.cloud.common import CloudScope
from components.cloud.identity import AzureRole, role_assignment
from components.data.azure_private import private_endpoint
from components.data.base import unique_suffix
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.postgres import CLIENT_SETTINGS as POSTGRES_CLIENT_SETTINGS
from components.data.replication import FlexibleSource, ManagedRedisSource
from components.dr.aws import STANDBY, Copy, _standby
from components.network import AzureNetwork
from settings.dr import DrSpec

# The built-in role Azure Backup's vault needs on a Flexible Server it backs up (a fixed GUID, the
# same in every tenant; Azure's built-in roles list).
POSTGRES_LTR_BACKUP_ROLE = "c088a766-074b-43ba-90d4-1fb21feae531"
POSTGRES_DATASOURCE = "Microsoft.DBforPostgreSQL/flexibleServers"


def _lock(
    name: str,
    resource_id: pulumi.Input[str],
    protect: bool,
    what: str,
    after: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> None:
    """A CanNotDelete lock, as the primary's (components/data/base.py `azure_delete_lock`)."""
    if protect:
        authorization.ManagementLockByScope(
            f"{name}-delete-lock",
            scope=resource_id,
            lock_name="bakhmach-do-not-delete",
            level=authorization.LockLevel.CAN_NOT_DELETE,
            notes=f"Holds the {what} copy of prod's data; remove this lock deliberately before a planned deletion.",
            opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
        )


def postgres_replica(
    name: str,
    source: FlexibleSource,
    service: BuiltService,
    spec: DrSpec,
    net: AzureNetwork,
    after_network: tuple[pulumi.Resource, ...],
    protect: bool,
    parent: pulumi.Resource,
) -> Copy:
    # The zone the servers register in, linked to the secondary VNet: one change to the zone at a
    # time, after the primary's own link (which every primary server waits for).
    link = privatedns.VirtualNetworkLink(
        f"{name}-dns-link",
        private_zone_name=source.dns_zone_name,
        resource_group_name=source.resource_group_name,
        location="Global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=net.vnet_id),
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(source.after)),
    )
    replica_name = pulumi.Output.concat(source.server_name, "-dr")
    replica = dbforpostgresql.Server(
        f"{name}-replica",
        server_name=replica_name,
        resource_group_name=net.resource_group_name,
        location=net.location,
        create_mode="Replica",
        source_server_resource_id=source.server_id,
        sku=dbforpostgresql.SkuArgs(name=source.sku, tier=source.tier),
        # The primary's disk and autogrow: a replica's disk is never smaller than its primary's.
        storage=dbforpostgresql.StorageArgs(storage_size_gb=source.storage_gib, auto_grow="Enabled"),
        network=dbforpostgresql.NetworkArgs(
            delegated_subnet_resource_id=net.postgres_subnet_id,
            private_dns_zone_arm_resource_id=source.dns_zone_id,
            public_network_access="Disabled",
        ),
        tags=net.tags,
        opts=pulumi.ResourceOptions(
            parent=parent,
            protect=protect,
            depends_on=[*source.after, link, *after_network],
            ignore_changes=["storage.storageSizeGB"],
        ),
    )
    tls = dbforpostgresql.Configuration(
        f"{name}-replica-tls13",
        configuration_name="ssl_min_protocol_version",
        value="TLSv1.3",
        source="user-override",
        server_name=replica_name,
        resource_group_name=net.resource_group_name,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[replica]),
    )
    _lock(name, replica.id, protect, "PostgreSQL", [replica, tls], parent)
    endpoint = DataEndpoint(
        service="postgres",
        backend="azure",
        host=replica.fully_qualified_domain_name,
        port=source.port,
        tls=True,
        egress=DataEgress(ports=(source.port,), cidr=net.vnet_cidr),
        extra={**POSTGRES_CLIENT_SETTINGS, **STANDBY},
        region_copy=True,
    )
    output = {
        "backend": "flexible-server",
        "primary": {"id": source.server_id, "region": spec.primary_region},
        "replica": {"id": replica.id, "region": spec.secondary_region},
        "endpoint": replica.fully_qualified_domain_name,
        "promote": "Microsoft.DBforPostgreSQL/flexibleServers replica promote (PATCH replica.promoteMode)",
    }
    return Copy(_standby(service, endpoint, (replica, tls)), output, (replica,))


def redis_geo_replica(
    name: str,
    source: ManagedRedisSource,
    service: BuiltService,
    stack_name: str,
    spec: DrSpec,
    net: AzureNetwork,
    protect: bool,
    parent: pulumi.Resource,
) -> Copy:
    cluster = redisenterprise.RedisEnterprise(
        f"{name}-cluster",
        # Host names <name>.<region>.redis.azure.net are shared by every tenant: a random part.
        cluster_name=pulumi.Output.concat(f"bakhmach-{stack_name}-redis-dr-", unique_suffix(name, parent)),
        resource_group_name=net.resource_group_name,
        location=net.location,
        sku=redisenterprise.SkuArgs(name=source.sku),
        high_availability="Enabled" if source.high_availability else "Disabled",
        minimum_tls_version="1.2",
        public_network_access="Disabled",
        tags=net.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    client = authorization.get_client_config_output()
    own_id = pulumi.Output.concat(
        "/subscriptions/",
        client.subscription_id,
        "/resourceGroups/",
        net.resource_group_name,
        "/providers/Microsoft.Cache/redisEnterprise/",
        cluster.name,
        "/databases/default",
    )
    database = redisenterprise.Database(
        f"{name}-database",
        cluster_name=cluster.name,
        database_name="default",
        resource_group_name=net.resource_group_name,
        client_protocol="Encrypted",
        clustering_policy=source.clustering_policy,
        eviction_policy=source.eviction_policy,
        port=source.port,
        access_keys_authentication="Enabled",
        geo_replication=redisenterprise.DatabasePropertiesGeoReplicationArgs(
            group_nickname=source.group_nickname,
            linked_databases=[
                redisenterprise.LinkedDatabaseArgs(id=source.database_id),
                redisenterprise.LinkedDatabaseArgs(id=own_id),
            ],
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=[source.database]),
    )
    endpoint_resource = private_endpoint(
        f"{name}-private", net, cluster.id, "redisEnterprise", "privatelink.redis.azure.net", parent, after=[database]
    )
    _lock(name, cluster.id, protect, "Redis", [cluster, database, endpoint_resource], parent)
    # Each member has access keys of its own; as in the primary, every consumer shares them.
    keys = redisenterprise.list_database_keys_output(
        cluster_name=cluster.name, database_name=database.name, resource_group_name=net.resource_group_name
    )
    access_key = pulumi.Output.secret(keys.primary_key).apply(str)
    endpoint = DataEndpoint(
        service="redis",
        backend="azure",
        host=cluster.host_name,
        port=source.port,
        tls=True,
        egress=DataEgress(ports=(source.port,), cidr=net.vnet_cidr),
        # Active-active: writable in both regions.
        extra={"CLUSTER_MODE": "true", "REGION_ROLE": "active"},
        region_copy=True,
    )
    credentials = {
        consumer: Credential(
            grant=credential.grant,
            username=credential.username,
            password=access_key,
            shared_because=credential.shared_because,
            ready=(database, endpoint_resource),
        )
        for consumer, credential in service.credentials.items()
    }
    output = {
        "backend": "managed-redis-active-geo-replication",
        "group": source.group_nickname,
        "primary": {"id": source.database_id, "region": spec.primary_region},
        "replica": {"id": own_id, "region": spec.secondary_region},
        "endpoint": cluster.host_name,
        "promote": "none: active-active, clients move with DNS",
    }
    return Copy(BuiltService(endpoint, credentials), output, (cluster, database))


def postgres_vault(
    name: str,
    stack_name: str,
    source: FlexibleSource,
    spec: DrSpec,
    net: AzureNetwork,
    scope: CloudScope,
    protect: bool,
    parent: pulumi.Resource,
) -> dataprotection.BackupVault:
    """Daily vaulted backups of the primary Flexible Server kept `retention_days`, geo-redundant."""
    child = pulumi.ResourceOptions(parent=parent)
    vault = dataprotection.BackupVault(
        f"{name}-vault",
        # 2-50 letters, digits and hyphens, starting with a letter.
        vault_name=f"bvault-bakhmach-{stack_name}",
        resource_group_name=net.resource_group_name,
        location=net.location,
        identity=dataprotection.DppIdentityDetailsArgs(type="SystemAssigned"),
        properties=dataprotection.BackupVaultArgs(
            storage_settings=[
                dataprotection.StorageSettingArgs(
                    datastore_type=dataprotection.StorageSettingStoreTypes.VAULT_STORE,
                    type=dataprotection.StorageSettingTypes.GEO_REDUNDANT,
                )
            ],
            # Restores from the geo copy in the paired region, also while the primary region is up.
            feature_settings=dataprotection.FeatureSettingsArgs(
                cross_region_restore_settings=dataprotection.CrossRegionRestoreSettingsArgs(
                    state=dataprotection.CrossRegionRestoreState.ENABLED
                )
            ),
            security_settings=dataprotection.SecuritySettingsArgs(
                soft_delete_settings=dataprotection.SoftDeleteSettingsArgs(
                    state=dataprotection.SoftDeleteState.ON, retention_duration_in_days=14
                )
            ),
        ),
        tags=scope.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    store = dataprotection.DataStoreInfoBaseArgs(
        data_store_type=dataprotection.DataStoreTypes.VAULT_STORE, object_type="DataStoreInfoBase"
    )
    policy = dataprotection.BackupPolicy(
        f"{name}-policy",
        backup_policy_name=f"postgres-daily-{spec.retention_days}d",
        vault_name=vault.name,
        resource_group_name=net.resource_group_name,
        properties=dataprotection.BackupPolicyArgs(
            datasource_types=[POSTGRES_DATASOURCE],
            object_type="BackupPolicy",
            policy_rules=[
                dataprotection.AzureBackupRuleArgs(
                    name="BackupDaily",
                    object_type="AzureBackupRule",
                    data_store=store,
                    backup_parameters=dataprotection.AzureBackupParamsArgs(
                        backup_type="Full", object_type="AzureBackupParams"
                    ),
                    trigger=dataprotection.ScheduleBasedTriggerContextArgs(
                        object_type="ScheduleBasedTriggerContext",
                        schedule=dataprotection.BackupScheduleArgs(
                            repeating_time_intervals=["R/2026-01-01T02:00:00+00:00/P1D"], time_zone="UTC"
                        ),
                        tagging_criteria=[
                            dataprotection.TaggingCriteriaArgs(
                                is_default=True,
                                tag_info=dataprotection.RetentionTagArgs(tag_name="Default"),
                                tagging_priority=99,
                            )
                        ],
                    ),
                ),
                dataprotection.AzureRetentionRuleArgs(
                    name="Default",
                    object_type="AzureRetentionRule",
                    is_default=True,
                    lifecycles=[
                        dataprotection.SourceLifeCycleArgs(
                            delete_after=dataprotection.AbsoluteDeleteOptionArgs(
                                duration=f"P{spec.retention_days}D", object_type="AbsoluteDeleteOption"
                            ),
                            source_data_store=store,
                            target_data_store_copy_settings=[],
                        )
                    ],
                ),
            ],
        ),
        opts=child,
    )
    principal = vault.identity.apply(lambda i: (i.principal_id if i else None) or "")
    read_group = role_assignment(
        f"{name}-vault-reader",
        role=AzureRole.READER,
        principal_id=principal,
        scope=pulumi.Output.concat(
            "/subscriptions/",
            authorization.get_client_config_output().subscription_id,
            "/resourceGroups/",
            source.resource_group_name,
        ),
        opts=child,
    )
    backup_role = role_assignment(
        f"{name}-vault-backup",
        role=POSTGRES_LTR_BACKUP_ROLE,
        principal_id=principal,
        scope=source.server_id,
        opts=child,
    )
    dataprotection.BackupInstance(
        f"{name}-instance",
        backup_instance_name="postgres-primary",
        vault_name=vault.name,
        resource_group_name=net.resource_group_name,
        properties=dataprotection.BackupInstanceArgs(
            object_type="BackupInstance",
            friendly_name="postgres-primary",
            data_source_info=dataprotection.DatasourceArgs(
                resource_id=source.server_id,
                datasource_type=POSTGRES_DATASOURCE,
                object_type="Datasource",
                resource_location=net.location,
                resource_name=source.server_name,
                resource_type=POSTGRES_DATASOURCE,
                resource_uri=source.server_id,
            ),
            policy_info=dataprotection.PolicyInfoArgs(policy_id=policy.id),
        ),
        tags=scope.tags,
        # The vault's identity needs both roles before it can protect the server; the server is
        # busy until its own operations (replicas) are done.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[read_group, backup_role, *source.after]),
    )
    return vault
