"""What a data service hands on for disaster recovery: the identifiers and settings a copy of it in
the secondary region needs (components/dr builds that copy).

A managed backend returns one of these in its `BuiltService.replication`; the DR component reads
it as a value, never the backend's resources. Each names only what the other region's replica,
global datastore member, replicator or geo-replicated database must match or point at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.data.backup_store import BackupLocation
from components.data.cross_region import Endpoint, MongoSecretNames, MongoSiteSecrets
from settings.data import DataComponentSpec, DataGrant


@dataclass(frozen=True)
class RdsSource:
    """An RDS for PostgreSQL primary: a cross-region read replica takes it by ARN."""

    identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    instance_class: str
    parameter_family: str
    parameters: tuple[tuple[str, str], ...]
    port: int
    instance: pulumi.Resource


@dataclass(frozen=True)
class ElastiCacheSource:
    """An ElastiCache replication group (cluster mode) that becomes a Global Datastore's primary."""

    replication_group_id: pulumi.Output[str]
    node_type: str
    engine_version: str
    parameter_family: str
    shards: int
    replicas_per_shard: int
    port: int
    # Each consumer's ACL rule string (its own key prefix), and the switched-off default user's
    # password: the secondary region's users are made the same way (users are regional).
    access_strings: dict[str, str]
    default_password: pulumi.Output[str]
    group: pulumi.Resource


@dataclass(frozen=True)
class MskSource:
    """An MSK cluster that MSK Replicator copies to a cluster in the secondary region."""

    arn: pulumi.Output[str]
    broker_type: str
    brokers: int
    storage_gib: int
    kafka_version: str
    server_properties: str
    port: int
    # The SCRAM logins (admin and consumers): the target cluster gets the same ones.
    admin_username: str
    admin_password: pulumi.Output[str]
    # kafka-acls.sh arguments of each consumer (the ACLs MSK Replicator does not copy: groups,
    # transactional ids), for the target's ACL Job.
    acl_script: str
    cluster: pulumi.Resource


@dataclass(frozen=True)
class FlexibleSource:
    """A Flexible Server primary: a replica in another region takes it by id."""

    server_id: pulumi.Output[str]
    server_name: pulumi.Output[str]
    sku: str
    tier: str
    storage_gib: int
    version: str
    port: int
    # The private DNS zone the servers' names resolve in (a replica in another region registers in
    # the same zone, linked to its own VNet too).
    dns_zone_id: pulumi.Output[str]
    dns_zone_name: pulumi.Output[str]
    resource_group_name: pulumi.Input[str]
    # The last operation on the primary (one operation at a time on a Flexible Server).
    after: tuple[pulumi.Resource, ...]


@dataclass(frozen=True)
class ManagedRedisSource:
    """An Azure Managed Redis database created in a geo-replication group."""

    database_id: pulumi.Output[str]
    group_nickname: str
    sku: str
    high_availability: bool
    clustering_policy: str
    eviction_policy: str
    port: int
    access_key: pulumi.Output[str]
    database: pulumi.Resource


# ---- in-cluster services (prod): what the secondary cluster's copy is built from -------------------


@dataclass(frozen=True)
class InClusterSource:
    """An in-cluster data service: the spec, size and grants its copy in the other cluster is sized
    and provisioned by (the same component, on the secondary cluster)."""

    spec: DataComponentSpec
    size: Any
    grants: tuple[DataGrant, ...]


@dataclass(frozen=True)
class CnpgSource(InClusterSource):
    """CloudNativePG with its WAL archive: a replica cluster elsewhere replays it from the store."""

    cluster_name: str = ""
    object_store: BackupLocation | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PerconaSource(InClusterSource):
    """A Percona cluster whose every replica set (each shard, the config servers) the other
    region's members join as non-voting external nodes."""

    cluster_name: str = ""
    shared: MongoSiteSecrets | None = None
    secret_names: MongoSecretNames | None = None
    # Each replica set's members (pod names; the other site's are named alike), and the primary
    # site's members as published for the other region.
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    primary_endpoints: tuple[Endpoint, ...] = ()
    cluster: pulumi.Resource | None = None


@dataclass(frozen=True)
class StrimziSource(InClusterSource):
    """A Strimzi cluster with a listener for MirrorMaker 2 in the other region."""

    # host:port of the DR listener's bootstrap (its certificate is the shared data CA's).
    bootstrap: str = ""
    mirror_username: str = ""
    mirror_password: pulumi.Output[str] | None = None
    cluster: pulumi.Resource | None = None


@dataclass(frozen=True)
class RedisCacheSource(InClusterSource):
    """An in-cluster cache: the other cluster runs an empty one of the same shape (a cache is rebuilt)."""


ReplicationSource = (
    RdsSource
    | ElastiCacheSource
    | MskSource
    | FlexibleSource
    | ManagedRedisSource
    | CnpgSource
    | PerconaSource
    | StrimziSource
    | RedisCacheSource
)
