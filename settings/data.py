"""Settings of the data layer (PostgreSQL, MongoDB, Redis, Kafka): backends and sizes per stack.

The stack file may choose a backend per component (`bakhmach-hub:data: {postgres: {backend:
in-cluster}}`); everything else is data here, per environment and cloud:
- which backend each component uses by default on each cloud (`DEFAULT_BACKENDS`);
- which managed services exist per cloud (`MANAGED_AVAILABLE`): only faithful substitutes;
- the sizes of each environment (`SIZES`), from the seed's "Database Architecture", "Cache
  Layer" and "Deployment Environments" sections;
- the engine versions (`VERSIONS`; docs/VERSIONS.md gives each one's reason).

`resolve_data_layer` turns the settings into the frozen specs the components receive, or fails
with a message naming the key, the bad value and what is allowed, before anything registers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from settings import seed
from settings.seed import Cloud, Environment

if TYPE_CHECKING:
    from settings.dr import DrSpec

DataService = seed.DataServiceName
DATA_SERVICES: tuple[DataService, ...] = ("postgres", "mongo", "redis", "kafka")
# What a stack file says: run it through an operator in the cluster, or use the cloud's service.
BackendChoice = Literal["in-cluster", "managed"]
# What a component builds: the choice resolved against the stack's cloud.
Backend = Literal["in-cluster", "aws", "azure"]


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ComponentOverride(_Section):
    backend: BackendChoice | None = None


class PostgresOverride(ComponentOverride):
    # Replaces the environment's storage size (`SIZES`); checked against the chosen backend's
    # allowed sizes in `resolve_data_layer`.
    storage_gib: int | None = Field(default=None, ge=1)


# A collection the stack creates: stricter than the server (which refuses an empty name, `$`,
# NUL and its own `system.` prefix): plain ASCII anyone can type in any driver or shell, and at
# most 120 characters, so `<database>.<collection>` (databases are at most 63) stays within the
# 235 bytes MongoDB allows a sharded collection's namespace.
MONGO_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,119}$")


class MongoOverride(ComponentOverride):
    # Shards of the sharded cluster (staging/prod): each one more replica set of the environment's
    # size (docs/MONGODB.md, "Adding a shard"). Dev runs one replica set and takes no value.
    shards: int | None = Field(default=None, ge=1)
    # The collections each consuming context's database holds, sharded on the hashed key:
    # `{<context namespace>: [name, ...]}`, replacing that context's default
    # (`MONGO_DEFAULT_COLLECTIONS`).
    collections: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class DataSettings(_Section):
    postgres: PostgresOverride = Field(default_factory=PostgresOverride)
    mongo: MongoOverride = Field(default_factory=MongoOverride)
    redis: ComponentOverride = Field(default_factory=ComponentOverride)
    kafka: ComponentOverride = Field(default_factory=ComponentOverride)


# Managed services that are faithful to the seed's requirement. MongoDB has none: DocumentDB and
# Cosmos DB for MongoDB (vCore) implement a subset of the MongoDB wire protocol, not MongoDB
# itself. Azure Event Hubs speaks the Kafka protocol but is not Kafka: no compacted topics on
# the Standard tier, no Kafka transactions/exactly-once before Premium, its own retention and
# partition limits, and no Kafka admin API for topic configs, so Kafka stays in-cluster there.
MANAGED_AVAILABLE: dict[Cloud, frozenset[DataService]] = {
    "kind": frozenset(),
    "aws": frozenset({"postgres", "redis", "kafka"}),
    "azure": frozenset({"postgres", "redis"}),
}

DEFAULT_BACKENDS: dict[Cloud, dict[DataService, BackendChoice]] = {
    "kind": {"postgres": "in-cluster", "mongo": "in-cluster", "redis": "in-cluster", "kafka": "in-cluster"},
    "aws": {"postgres": "managed", "mongo": "in-cluster", "redis": "managed", "kafka": "managed"},
    "azure": {"postgres": "managed", "mongo": "in-cluster", "redis": "managed", "kafka": "in-cluster"},
}

VERSIONS: dict[DataService, str] = {
    "postgres": "17",  # seed floor 15; see docs/VERSIONS.md
    "mongo": "8.0",  # seed 6.0 is end of life
    "redis": "7.2",  # seed 7.0; the last BSD-licensed Redis line the operator ships
    "kafka": "4.3.1",  # Strimzi 1.2.0's default and newest Kafka
}
# Managed engine version strings, where the cloud spells them its own way.
RDS_ENGINE_VERSION = "17"
RDS_PARAMETER_FAMILY = "postgres17"
AZURE_POSTGRES_VERSION = "17"
ELASTICACHE_ENGINE_VERSION = "7.1"  # ElastiCache's newest Redis OSS engine
ELASTICACHE_PARAMETER_FAMILY = "redis7"
# Azure Database for PostgreSQL Flexible Server on Premium SSD (its default storage type) takes only
# these disk sizes in GiB (the Premium SSD tiers P4...P80; azurerm's `storage_mb` list and the
# Flexible Server storage docs). Premium SSD v2 takes any size, but it is in preview and lacks
# storage autogrow (and, outside a few regions, HA, read replicas and geo-redundant backups),
# which this stack relies on; docs/REAL-PATH.md.
FLEXIBLE_SERVER_STORAGE_GIB: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767)
# RDS for PostgreSQL on gp3: 20 GiB to 64 TiB.
RDS_STORAGE_GIB = (20, 65536)
# Kafka 4 has no ZooKeeper mode; ".kraft" selects KRaft metadata on MSK. 4.1.x is MSK's newest
# for Standard brokers (kafka.*): 4.2.x.kraft is Express-broker only (docs/VERSIONS.md).
MSK_KAFKA_VERSION = "4.1.x.kraft"

# The seed's "Sharding: Hash-based on tenant_id + context_id", as MongoDB 8.0 allows it: a
# compound key may hash one field only. Each context owns its database, so context_id is one
# value per database: hashing it would spread nothing, and a range on it could only ever hold
# one context. tenant_id is what varies (every tenant of the context), so it is the hashed field
# and the prefix: tenants spread evenly over the shards from the first write (no monotonic
# hot spot), and a query naming its tenant goes to one shard. context_id stays in the key as the
# seed asks (queries that name both are targeted too). The key's cardinality is the number of
# tenants: one tenant's documents of a collection stay on one shard (docs/MONGODB.md).
MONGO_SHARD_KEY: tuple[tuple[str, str | int], ...] = (("tenant_id", "hashed"), ("context_id", 1))


def mongo_shard_key_json() -> str:
    """The shard key as the document MongoDB takes: `{"tenant_id": "hashed", "context_id": 1}`."""
    return json.dumps(dict(MONGO_SHARD_KEY), separators=(",", ":"))


# The collections each context's database starts with, from the seed's description of what its
# services keep as documents (settings/seed.py, SERVICE_DATA_NEEDS). The seed's 15-20 per
# context are the applications'; a stack file lists them (`data.mongo.collections`) as they
# are designed, and the collections Job creates and shards exactly what is listed.
MONGO_DEFAULT_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "bakhmach-hub": ("devices",),  # bakhmach-core: device documents
    "audityzer-eu": ("evidence",),  # audityzer-audit: evidence documents
    "debt-defense-agent": ("cases",),  # debt-agent-ai: case documents for the models
    "black-sea-corridor": ("trade_documents",),  # trade-connector: trade documents
}
REDIS_EVICTION_POLICY = "allkeys-lru"  # "Eviction Policy: allkeys-lru"


@dataclass(frozen=True)
class PostgresSize:
    instances: int  # in-cluster: 1 primary + (instances - 1) streaming replicas
    read_replicas: int  # managed: replicas beside the (multi-AZ) primary
    storage_gib: int
    cpu: str
    memory: str
    aws_instance_class: str
    azure_sku: str
    azure_tier: str


@dataclass(frozen=True)
class MongoSharding:
    """The sharded cluster's parts besides the shards: config servers and mongos routers."""

    shards: int
    config_servers: int
    config_storage_gib: int
    config_cpu: str
    config_memory: str
    routers: int
    router_cpu: str
    router_memory: str


@dataclass(frozen=True)
class MongoSize:
    members: int  # per shard (or of the one replica set, dev)
    storage_gib: int  # per member of each shard
    cpu: str
    memory: str
    sharding: MongoSharding | None = None  # None: one replica set, not sharded (dev)

    @property
    def shards(self) -> int:
        return self.sharding.shards if self.sharding else 1


@dataclass(frozen=True)
class RedisSize:
    leaders: int
    followers_per_leader: int
    cpu: str
    memory: str  # per node; maxmemory is set a little below it
    aws_node_type: str
    azure_sku: str


@dataclass(frozen=True)
class KafkaSize:
    brokers: int
    controllers: int  # 0: the brokers are also the KRaft controllers (dev)
    storage_gib: int
    cpu: str
    memory: str
    aws_broker_type: str
    replication_factor: int
    min_insync_replicas: int


@dataclass(frozen=True)
class EnvironmentDataSizes:
    postgres: PostgresSize
    mongo: MongoSize
    redis: RedisSize
    kafka: KafkaSize


# Prod: the seed's figures. Staging: the same topology at about half the resources ("50%
# production"). Dev: single members on a laptop, except Redis, whose cluster mode needs three
# leaders (the same cluster-mode client code then runs in every environment), each with one
# tiny follower so failover behaves as it will in staging.
# Mongo storage: "500GB per context (projected)" x 6 contexts in prod, on every member of every
# shard: a shard added later brings as much again, so the figure holds per shard as the cluster
# grows (docs/MONGODB.md). Config servers hold only the cluster's metadata (chunk ranges,
# databases, users): a few GiB. Routers hold nothing; prod runs one per zone.
# PostgreSQL storage: 128 GiB (staging) and 512 GiB (prod) are Flexible Server tiers (Azure has no
# 100 or 500 GiB disk); every backend uses the same size, so staging and prod compare on both clouds.
# Redis memory: "128GB distributed" over three leaders in prod.
SIZES: dict[Environment, EnvironmentDataSizes] = {
    "dev": EnvironmentDataSizes(
        postgres=PostgresSize(1, 0, 5, "100m", "256Mi", "db.t4g.micro", "Standard_B1ms", "Burstable"),
        mongo=MongoSize(1, 5, "100m", "512Mi"),
        redis=RedisSize(3, 1, "50m", "128Mi", "cache.t4g.micro", "Balanced_B0"),
        kafka=KafkaSize(1, 0, 5, "200m", "1Gi", "kafka.t3.small", 1, 1),
    ),
    "staging": EnvironmentDataSizes(
        postgres=PostgresSize(3, 2, 128, "1", "4Gi", "db.r7g.large", "Standard_D2ds_v5", "GeneralPurpose"),
        mongo=MongoSize(3, 1500, "1", "4Gi", MongoSharding(1, 3, 10, "250m", "1Gi", 2, "250m", "512Mi")),
        redis=RedisSize(3, 1, "1", "24Gi", "cache.r7g.xlarge", "Balanced_B50"),
        kafka=KafkaSize(3, 3, 250, "1", "4Gi", "kafka.m7g.large", 3, 2),
    ),
    "prod": EnvironmentDataSizes(
        postgres=PostgresSize(3, 2, 512, "2", "8Gi", "db.r7g.xlarge", "Standard_D4ds_v5", "GeneralPurpose"),
        mongo=MongoSize(3, 3000, "2", "8Gi", MongoSharding(1, 3, 20, "500m", "2Gi", 3, "500m", "1Gi")),
        redis=RedisSize(3, 1, "2", "48Gi", "cache.r7g.2xlarge", "Balanced_B150"),
        kafka=KafkaSize(3, 3, 500, "2", "8Gi", "kafka.m7g.xlarge", 3, 2),
    ),
}


@dataclass(frozen=True)
class DataComponentSpec:
    """What every data component's backend receives besides its size."""

    service: DataService
    backend: Backend
    environment: Environment
    version: str
    # Backups to object storage and how long they are kept ("Retention: 30 days").
    backups: bool
    backup_retention_days: int
    # "RPO: 5 minutes": the longest a committed write may wait before it is archived.
    rpo_minutes: int
    multi_zone: bool
    geo_redundant: bool  # prod: "Backups: Hourly + cross-region"
    protect: bool


ConsumerKind = Literal["context", "platform-component"]

# What, inside a shared data service, is one consumer's own, and the env var (after `<SVC>_`)
# that names it to the consumer's services: a database (PostgreSQL, MongoDB), a key prefix
# (Redis), a topic prefix that also prefixes its consumer groups and transactional ids (Kafka).
OWN_RESOURCE_ENV: dict[DataService, str] = {
    "postgres": "DATABASE",
    "mongo": "DATABASE",
    "redis": "KEY_PREFIX",
    "kafka": "TOPIC_PREFIX",
}
# Names the data services or their operators keep for themselves (the servers' admin login, the
# operators' replication and system users): no consumer may be given one.
RESERVED_USERNAMES = frozenset({"app", "admin", "default", "postgres", "streaming_replica", "root"})


@dataclass(frozen=True)
class DataGrant:
    """What one consumer is given in one data service: its login and the one thing it owns."""

    consumer: str  # the namespace that receives the credentials
    service: DataService
    username: str
    # The database (PostgreSQL, MongoDB), key prefix (Redis) or topic prefix (Kafka).
    resource: str
    # MongoDB: the collections of its database that are created and sharded on the hashed key.
    collections: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        """The env var that names `resource` to the consumer's services, e.g. `REDIS_KEY_PREFIX`."""
        return f"{self.service.upper()}_{OWN_RESOURCE_ENV[self.service]}"


def grant_for(consumer: str, service: DataService) -> DataGrant:
    """A consumer's names in a data service, derived from its namespace (a DNS label), so two
    consumers never share one. SQL and MongoDB names take `_` for `-` (no quoting needed); Redis
    users and Kafka principals keep the namespace as it is (a KafkaUser's name is a DNS name)."""
    identifier = consumer.replace("-", "_")
    # Consumers are the seed's contexts and platform components: none may take a service's own login.
    assert identifier not in RESERVED_USERNAMES and consumer not in RESERVED_USERNAMES, consumer
    if service in ("postgres", "mongo"):
        return DataGrant(consumer, service, username=identifier, resource=identifier)
    separator = ":" if service == "redis" else "."
    return DataGrant(consumer, service, username=consumer, resource=f"{consumer}{separator}")


@dataclass(frozen=True)
class DataConsumer:
    """A namespace whose workloads use data services: a business context (its services' needs,
    from the matrix) or a platform component (`seed.PLATFORM_DATA_CONSUMERS`). Either way it gets
    credentials of its own, delivered to its namespace only."""

    namespace: str
    kind: ConsumerKind
    needs: tuple[DataService, ...]

    @property
    def grants(self) -> tuple[DataGrant, ...]:
        return tuple(grant_for(self.namespace, service) for service in self.needs)


@dataclass(frozen=True)
class DataLayerSpec:
    environment: Environment
    cloud: Cloud
    components: dict[DataService, DataComponentSpec]
    sizes: EnvironmentDataSizes
    # Every namespace that uses a data service, in namespace order.
    consumers: tuple[DataConsumer, ...]
    # The collections of each MongoDB consumer's database (its namespace -> names).
    mongo_collections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Prod: the copies in the secondary region, which the in-cluster services are exposed to.
    dr: DrSpec | None = None

    @property
    def in_cluster(self) -> tuple[DataService, ...]:
        return tuple(s for s, c in self.components.items() if c.backend == "in-cluster")

    def grants(self, service: DataService) -> tuple[DataGrant, ...]:
        """Every consumer's grant in one data service (MongoDB's with its collections)."""
        return tuple(
            replace(g, collections=self.mongo_collections.get(g.consumer, ())) if service == "mongo" else g
            for consumer in self.consumers
            for g in consumer.grants
            if g.service == service
        )

    def consumer(self, namespace: str) -> DataConsumer | None:
        return next((c for c in self.consumers if c.namespace == namespace), None)


class DataSettingsError(ValueError):
    """Data-layer choices that do not fit the stack's cloud: (stack-file key, message) for each."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))
        self.problems = problems


def resolve_backend(service: DataService, choice: BackendChoice | None, cloud: Cloud) -> Backend:
    """The backend a component builds; `DataSettingsError` where the choice does not fit the cloud."""
    chosen = choice or DEFAULT_BACKENDS[cloud][service]
    if chosen == "in-cluster":
        return "in-cluster"
    key = f"data.{service}.backend"
    if cloud == "kind":
        raise DataSettingsError(
            [(key, "'managed' is not available on kind (a local cluster has no cloud services) (allowed: in-cluster)")]
        )
    if service not in MANAGED_AVAILABLE[cloud]:
        message = f"'managed' is not available for {service} on {cloud}"
        raise DataSettingsError([(key, f"{message} (no faithful managed service) (allowed: in-cluster)")])
    return cloud


def postgres_storage_problem(gib: int, backend: Backend) -> str | None:
    """Why the chosen backend cannot create a PostgreSQL disk of `gib` GiB (None: it can)."""
    if backend == "azure" and gib not in FLEXIBLE_SERVER_STORAGE_GIB:
        tiers = ", ".join(str(t) for t in FLEXIBLE_SERVER_STORAGE_GIB)
        return (
            f"{gib} GiB is not a disk size Azure Database for PostgreSQL Flexible Server offers on "
            f"Premium SSD (allowed: {tiers})"
        )
    low, high = RDS_STORAGE_GIB
    if backend == "aws" and not low <= gib <= high:
        return f"{gib} GiB is outside what RDS gp3 storage takes (allowed: {low} to {high})"
    return None


def prod_floor_problem(gib: int, floor_gib: int) -> str | None:
    """Why a prod size is refused: below prod's own, the seed's figure where it gives one, else the
    size the project sized prod at (PostgreSQL: the seed names no disk size, so prod's 512 GiB).
    Staging and dev sizes are cost choices a stack file may lower."""
    if gib < floor_gib:
        return f"{gib} GiB is below prod's floor of {floor_gib} GiB (allowed: {floor_gib} or more in prod)"
    return None


def resolve_data_layer(
    data: DataSettings,
    environment: Environment,
    cloud: Cloud,
    consumers: tuple[DataConsumer, ...] = (),
) -> DataLayerSpec:
    """The data layer's spec, or `DataSettingsError` naming every key that does not fit."""
    profile = seed.ENVIRONMENT_PROFILES[environment]
    problems: list[tuple[str, str]] = []
    components: dict[DataService, DataComponentSpec] = {}
    for service in DATA_SERVICES:
        override: ComponentOverride = getattr(data, service)
        try:
            backend = resolve_backend(service, override.backend, cloud)
        except DataSettingsError as exc:
            problems += exc.problems
            continue
        components[service] = DataComponentSpec(
            service=service,
            backend=backend,
            environment=environment,
            version=VERSIONS[service],
            backups=profile.backups != "None",
            backup_retention_days=seed.DATABASE_BACKUP_RETENTION_DAYS,
            rpo_minutes=seed.RPO_MINUTES,
            multi_zone=profile.multi_zone,
            geo_redundant=profile.backups.endswith("cross-region"),
            protect=profile.protect_stateful,
        )
    sizes = SIZES[environment]
    if data.postgres.storage_gib is not None:
        sizes = replace(sizes, postgres=replace(sizes.postgres, storage_gib=data.postgres.storage_gib))
    if "postgres" in components:
        problem = postgres_storage_problem(sizes.postgres.storage_gib, components["postgres"].backend)
        if problem is not None:
            problems.append(("data.postgres.storageGib", problem))
    if environment == "prod":
        problem = prod_floor_problem(sizes.postgres.storage_gib, SIZES["prod"].postgres.storage_gib)
        if problem is not None:
            problems.append(("data.postgres.storageGib", problem))
    if data.mongo.shards is not None:
        sharding = sizes.mongo.sharding
        if sharding is None:
            problems.append(
                (
                    "data.mongo.shards",
                    f"{data.mongo.shards}: {environment} runs MongoDB as one replica set, not sharded "
                    "(allowed: leave the key out)",
                )
            )
        else:
            sizes = replace(sizes, mongo=replace(sizes.mongo, sharding=replace(sharding, shards=data.mongo.shards)))
    collections, collection_problems = resolve_mongo_collections(data.mongo.collections, consumers)
    problems += collection_problems
    if problems:
        raise DataSettingsError(problems)
    return DataLayerSpec(
        environment=environment,
        cloud=cloud,
        components=components,
        sizes=sizes,
        consumers=tuple(sorted(consumers, key=lambda c: c.namespace)),
        mongo_collections=collections,
    )


def resolve_mongo_collections(
    declared: dict[str, tuple[str, ...]], consumers: tuple[DataConsumer, ...]
) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]]]:
    """Each MongoDB consumer's collections (its declared list, else the default), and the
    problems of the stack file's `data.mongo.collections`."""
    users = sorted(c.namespace for c in consumers if "mongo" in c.needs)
    problems: list[tuple[str, str]] = []
    for namespace, names in declared.items():
        key = f"data.mongo.collections.{namespace}"
        if namespace not in users:
            problems.append((key, f"{namespace!r} uses no MongoDB (allowed: {', '.join(users) or 'none'})"))
            continue
        for name in names:
            if not MONGO_COLLECTION_NAME.match(name) or name.startswith("system."):
                problems.append(
                    (
                        key,
                        f"{name!r} is not a collection name the stack creates (allowed: a letter or _, then "
                        "letters, digits, _, - and ., at most 120 characters, not starting with 'system.')",
                    )
                )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append((key, f"{', '.join(duplicates)} listed more than once (allowed: each name once)"))
    resolved = {ns: tuple(declared.get(ns, MONGO_DEFAULT_COLLECTIONS.get(ns, ()))) for ns in users}
    return resolved, problems
