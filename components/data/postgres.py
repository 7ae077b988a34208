"""`PostgresCluster`: the seed's primary data store, one interface over three backends.

Seed: PostgreSQL 15+ (17 here), "Primary-1 + Replica-1, Replica-2 (streaming replication)",
"Daily snapshots to S3", "Retention: 30 days", "RPO: 5 minutes".
- in-cluster: a CloudNativePG `Cluster` (1 primary + streaming replicas), WAL archived
  continuously and a daily base backup through the Barman Cloud plugin (`ObjectStore` +
  `ScheduledBackup`), since the in-tree `barmanObjectStore` is deprecated;
- aws: RDS PostgreSQL, Multi-AZ primary plus read replicas, PITR from automated backups kept
  30 days, encrypted, TLS forced, in private subnets, reachable from the nodes only;
- azure: Flexible Server, zone-redundant HA plus read replicas, VNet-integrated (private
  access), backups kept 30 days, geo-redundant in prod.

Every consumer gets a login role and a database of the same name that it owns, and no other:
- in-cluster: CloudNativePG managed roles and one `Database` per consumer; `pg_hba` accepts a
  role only on the database named after it (`sameuser`) and rejects everything else over TCP;
- managed: a Job in the data namespace makes the roles and databases with the server's admin
  login and revokes every database's CONNECT from PUBLIC (components/data/provisioning.py says
  why a Job and not a provider).
The servers keep the admin login they were created with (`app`, on RDS and Flexible Server;
renaming it would replace the server): no consumer receives it, only the provisioning Job.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi_azure_native import dbforpostgresql

from components import versions
from components.cloud.identity import AZURE_CLIENT_ID_ANNOTATION, AZURE_WORKLOAD_IDENTITY_LABEL
from components.data.azure_private import private_dns_zone
from components.data.backup_store import BackupAgent
from components.data.base import (
    DataBackend,
    DataComponent,
    DataComponentArgs,
    admin_password_of,
    azure_delete_lock,
    basic_auth_secret,
    ca_of,
    consumer_passwords,
    data_labels,
    data_meta,
    nodes_only_security_group,
    require_network,
    stateful,
    unique_suffix,
)
from components.data.connection import BuiltService, Credential, DataEgress, DataEndpoint
from components.data.provisioning import SECRETS_DIR, ProvisioningJob, provisioning_job
from components.data.replication import CnpgSource, FlexibleSource, RdsSource
from components.data.trust import RDS_CA, RDS_CA_IDENTIFIER, TrustAnchor, rds_ca_config_map
from components.labels import PLATFORM_CONTEXT, instance_of
from components.network import AwsNetwork, AzureNetwork
from components.priorities import DATA
from settings import data as data_settings
from settings.data import Backend, DataGrant, PostgresSize

PORT = 5432
# The first database and its owner (in-cluster), the servers' admin login (managed): kept as they
# were created. No consumer is given either.
DATABASE = "app"
USERNAME = "app"
CLUSTER_NAME = "postgres"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
# CloudNativePG schedules have a seconds field: every day at 02:00.
DAILY_BACKUP = "0 0 2 * * *"
# A role logs in only to the database named after it; nothing else logs in over TCP (the
# operator and the instance manager use the local socket and certificates, matched by
# CloudNativePG's own rules ahead of these).
PG_HBA = ("hostssl sameuser all all scram-sha-256", "host all all all reject")

SERVER_TLS_SECRET = f"{CLUSTER_NAME}-server-tls"
# What every client is told (`POSTGRES_SSLMODE`): encrypt, verify the chain and the server's name
# against `POSTGRES_CA_FILE` (the data CA, RDS's bundle) or, where none is named (Flexible Server,
# whose chain ends in a public root), the image's system trust store (libpq `sslrootcert=system`).
CLIENT_SETTINGS = {"SSLMODE": "verify-full"}

Args = DataComponentArgs[PostgresSize]


def server_names(namespace: str) -> list[str]:
    """CloudNativePG's three Services (read-write, read, read-only), every way they are named."""
    return [
        f"{CLUSTER_NAME}-{kind}{suffix}"
        for kind in ("rw", "r", "ro")
        for suffix in ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.cluster.local")
    ]


def backup_agent(namespace: str) -> BackupAgent:
    """CloudNativePG runs each instance pod as a ServiceAccount named after the Cluster; the Barman
    Cloud plugin's sidecar is a container of that pod, so it is the one identity backups need."""
    return BackupAgent(name="postgres", service_accounts=((namespace, CLUSTER_NAME),))


class InClusterPostgres:
    admin_password = True  # the first database's owner, which bootstrap needs

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        spec, size = args.spec, args.size
        after = pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies))
        credentials = basic_auth_secret(
            f"{name}-app-credentials",
            f"{CLUSTER_NAME}-app-credentials",
            args.namespace,
            spec.environment,
            USERNAME,
            admin_password_of(args),
            after,
        )
        passwords = consumer_passwords(name, args.grants, parent)
        role_secrets = {
            g.consumer: basic_auth_secret(
                f"{name}-{g.consumer}-role",
                role_secret_name(g),
                args.namespace,
                spec.environment,
                g.username,
                passwords[g.consumer],
                after,
                # CloudNativePG reloads a managed role's password when its Secret changes.
                labels={"cnpg.io/reload": "true"},
            )
            for g in args.grants
        }
        plugins = None
        backup_deps: list[pulumi.Resource] = []
        identity_spec: dict[str, object] = {}
        if spec.backups and args.backup is not None:
            location = args.backup
            # No key: the Barman Cloud sidecar runs in the instance pods, as the Cluster's service
            # account, which the store's identity trusts (EKS Pod Identity, AKS workload identity).
            # Azure: `useDefaultAzureCredentials` (plugin v0.11+, plugin-barman-cloud#681) makes
            # barman-cloud use azure-identity's DefaultAzureCredential, which takes the workload
            # identity token AKS's webhook projects (AZURE_FEDERATED_TOKEN_FILE). The older
            # `inheritFromAzureAD` passes `--credential managed-identity`, the node's IMDS identity,
            # which is not the identity the store trusts.
            credentials_spec: dict[str, object] = (
                {"s3Credentials": {"inheritFromIAMRole": True}}
                if location.kind == "s3"
                else {"azureCredentials": {"useDefaultAzureCredentials": True}}
            )
            if location.azure_client_id is not None:
                identity_spec = {
                    "serviceAccountTemplate": {
                        "metadata": {"annotations": {AZURE_CLIENT_ID_ANNOTATION: location.azure_client_id}}
                    },
                    # Pods (and the Cluster's other objects) carry the label AKS's webhook selects.
                    "inheritedMetadata": {"labels": {AZURE_WORKLOAD_IDENTITY_LABEL: "true"}},
                }
            store = k8s.apiextensions.CustomResource(
                f"{name}-object-store",
                api_version="barmancloud.cnpg.io/v1",
                kind="ObjectStore",
                metadata=data_meta(f"{CLUSTER_NAME}-backups", args.namespace, args.spec.environment),
                spec={
                    "configuration": {
                        "destinationPath": location.destination(),
                        **credentials_spec,
                        "wal": {"compression": "zstd", "maxParallel": 2},
                        "data": {"compression": "gzip"},
                    },
                    # Prod keeps the seed's DR retention (90 days), beyond the base 30.
                    "retentionPolicy": f"{args.dr.retention_days if args.dr else spec.backup_retention_days}d",
                },
                opts=pulumi.ResourceOptions(
                    parent=parent, depends_on=[*args.in_cluster_dependencies, *args.backup_dependencies]
                ),
            )
            backup_deps.append(store)
            plugins = [
                {
                    "name": BARMAN_PLUGIN,
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": f"{CLUSTER_NAME}-backups"},
                }
            ]
        # The server's certificate from the data CA, so clients verify it against the CA their
        # namespace holds; CloudNativePG keeps its own CA for replication and client certificates,
        # and its default `ssl_min_protocol_version` is TLSv1.3 (pkg/postgres/configuration.go).
        server_tls = ca_of(args).certificate(
            f"{name}-server-tls",
            name=SERVER_TLS_SECRET,
            namespace=args.namespace,
            dns_names=server_names(args.namespace),
            labels=data_labels(spec.environment),
            parent=parent,
            after=args.in_cluster_dependencies,
        )
        zone_key = "topology.kubernetes.io/zone" if spec.multi_zone else "kubernetes.io/hostname"
        cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=data_meta(
                CLUSTER_NAME, args.namespace, spec.environment, instance_of(CLUSTER_NAME, spec.environment)
            ),
            spec={
                "instances": size.instances,
                "priorityClassName": DATA.name,
                "imageName": versions.POSTGRES_IMAGE,
                "primaryUpdateStrategy": "unsupervised",
                "enableSuperuserAccess": False,
                "certificates": {"serverTLSSecret": SERVER_TLS_SECRET, "serverCASecret": SERVER_TLS_SECRET},
                "bootstrap": {
                    "initdb": {"database": DATABASE, "owner": USERNAME, "secret": {"name": credentials.metadata.name}}
                },
                "postgresql": {
                    # A WAL segment is switched (and so archived) at least every RPO interval.
                    "parameters": {"archive_timeout": f"{spec.rpo_minutes}min"},
                    "pg_hba": list(PG_HBA),
                },
                "managed": {
                    "roles": [
                        {
                            "name": g.username,
                            "ensure": "present",
                            "login": True,
                            "passwordSecret": {"name": role_secret_name(g)},
                            "comment": f"{g.consumer}: owns database {g.resource}",
                        }
                        for g in args.grants
                    ]
                },
                "storage": {"size": f"{size.storage_gib}Gi"},
                "resources": {
                    "requests": {"cpu": size.cpu, "memory": size.memory},
                    "limits": {"memory": size.memory},
                },
                "affinity": {
                    "enablePodAntiAffinity": True,
                    "topologyKey": zone_key,
                    "podAntiAffinityType": "required" if spec.multi_zone else "preferred",
                },
                **({"plugins": plugins} if plugins else {}),
                **identity_spec,
            },
            opts=stateful(
                parent,
                spec,
                depends_on=[
                    *args.in_cluster_dependencies,
                    credentials,
                    *role_secrets.values(),
                    server_tls,
                    *backup_deps,
                ],
            ),
        )
        databases = {
            g.consumer: k8s.apiextensions.CustomResource(
                f"{name}-{g.consumer}-database",
                api_version="postgresql.cnpg.io/v1",
                kind="Database",
                metadata=data_meta(f"{CLUSTER_NAME}-{g.consumer}", args.namespace, spec.environment),
                spec={
                    "cluster": {"name": CLUSTER_NAME},
                    "name": g.resource,
                    "owner": g.username,
                    "ensure": "present",
                    # Dropping the resource (a consumer that leaves) keeps its data.
                    "databaseReclaimPolicy": "retain",
                },
                opts=stateful(parent, spec, depends_on=[cluster]),
            )
            for g in args.grants
        }
        if plugins:
            k8s.apiextensions.CustomResource(
                f"{name}-daily-backup",
                api_version="postgresql.cnpg.io/v1",
                kind="ScheduledBackup",
                metadata=data_meta(f"{CLUSTER_NAME}-daily", args.namespace, args.spec.environment),
                spec={
                    "schedule": DAILY_BACKUP,
                    "immediate": True,
                    "backupOwnerReference": "self",
                    "cluster": {"name": CLUSTER_NAME},
                    "method": "plugin",
                    "pluginConfiguration": {"name": BARMAN_PLUGIN},
                },
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster]),
            )
            if args.dr is not None:
                # Prod: the seed's DR snapshots, a base backup every 6 hours (settings/dr.py).
                k8s.apiextensions.CustomResource(
                    f"{name}-snapshot-backup",
                    api_version="postgresql.cnpg.io/v1",
                    kind="ScheduledBackup",
                    metadata=data_meta(
                        f"{CLUSTER_NAME}-every-{args.dr.snapshot_interval_hours}h",
                        args.namespace,
                        args.spec.environment,
                    ),
                    spec={
                        "schedule": args.dr.cnpg_schedule,
                        "backupOwnerReference": "self",
                        "cluster": {"name": CLUSTER_NAME},
                        "method": "plugin",
                        "pluginConfiguration": {"name": BARMAN_PLUGIN},
                    },
                    opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster]),
                )
        endpoint = DataEndpoint(
            service="postgres",
            backend="in-cluster",
            # CloudNativePG's read-write service always points at the current primary.
            host=f"{CLUSTER_NAME}-rw.{args.namespace}.svc.cluster.local",
            port=PORT,
            tls=True,
            trust="data-ca",
            egress=DataEgress(ports=(PORT,), namespace=args.namespace),
            extra=CLIENT_SETTINGS,
        )
        # Prod: a replica cluster in the other region replays the WAL archive (components/dr).
        source = None
        if args.dr is not None and plugins and args.backup is not None:
            source = CnpgSource(
                spec=spec,
                size=size,
                grants=args.grants,
                cluster_name=CLUSTER_NAME,
                object_store=args.backup,
                parameters={"archive_timeout": f"{spec.rpo_minutes}min"},
            )
        return BuiltService(
            endpoint,
            {
                g.consumer: Credential.own(g, passwords[g.consumer], ready=(cluster, databases[g.consumer]))
                for g in args.grants
            },
            replication=source,
        )


def role_secret_name(grant: DataGrant) -> str:
    return f"{CLUSTER_NAME}-role-{grant.consumer}"


# TLS forced, and the seed's "TLS 1.3" in transit (every current PostgreSQL driver speaks it).
RDS_PARAMETERS = (("rds.force_ssl", "1"), ("ssl_min_protocol_version", "TLSv1.3"))

# Idempotent: each role and database is created when missing and set to the wanted state
# otherwise. The admin is no superuser on RDS or Flexible Server: it owns a role it creates, and
# `GRANT ... WITH SET TRUE` (PostgreSQL 16+) lets it create databases owned by that role. Only
# the role and the admin may connect to a database (CONNECT is revoked from PUBLIC).
ROLES_SCRIPT = r"""set -eu
dir=SECRETS_DIR
umask 077
admin=$(cat "$dir/admin-username")
printf '*:*:*:%s:%s\n' "$admin" "$(cat "$dir/admin-password")" >/tmp/pgpass
export PGPASSFILE=/tmp/pgpass PGUSER="$admin" PGDATABASE=postgres PGCONNECT_TIMEOUT=20
for role in $ROLES; do
  password=$(cat "$dir/role-$role")
  psql -v ON_ERROR_STOP=1 -v role="$role" -q <<SQL
\set password '$password'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password')\gexec
SELECT format('GRANT %I TO CURRENT_USER WITH SET TRUE', :'role')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role')\gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'role', :'role')\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role')\gexec
SQL
  echo "role and database $role ready"
done
""".replace("SECRETS_DIR", SECRETS_DIR)


def managed_credentials(
    name: str,
    args: Args,
    host: pulumi.Input[str],
    egress: DataEgress,
    after: list[pulumi.Resource],
    parent: pulumi.Resource,
    ca: TrustAnchor | None = None,
) -> dict[str, Credential]:
    """Each consumer's role and database on a managed server, made by a provisioning Job. With
    `ca` (RDS) it verifies the server's certificate and name before it sends the admin login;
    without (Flexible Server) it requires TLS but does not verify: the image's libpq would need
    the system store (`sslrootcert=system`), which was not checked for this image."""
    passwords = consumer_passwords(name, args.grants, parent)
    tls: dict[str, pulumi.Input[str]] = (
        {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": ca.file} if ca is not None else {"PGSSLMODE": "require"}
    )
    # Roles and databases are named alike (data_settings.grant_for), so one name stands for both.
    assert all(g.username == g.resource for g in args.grants)
    job = provisioning_job(
        f"{name}-roles",
        ProvisioningJob(
            object_name=f"{CLUSTER_NAME}-roles",
            namespace=args.namespace,
            environment=args.spec.environment,
            image=versions.POSTGRES_IMAGE,
            script=ROLES_SCRIPT,
            env={"PGHOST": host, "PGPORT": str(PORT), **tls, "ROLES": " ".join(g.username for g in args.grants)},
            secrets={
                "admin-username": USERNAME,
                "admin-password": admin_password_of(args),
                **{f"role-{g.username}": passwords[g.consumer] for g in args.grants},
            },
            egress=egress,
            ca=ca,
            after=(*args.in_cluster_dependencies, *after),
        ),
        parent,
    )
    return {g.consumer: Credential.own(g, passwords[g.consumer], ready=(job,)) for g in args.grants}


class RdsPostgres:
    admin_password = True

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        net = require_network(args, AwsNetwork)
        spec, size = args.spec, args.size
        child = pulumi.ResourceOptions(parent=parent)
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(net.private_subnet_ids), tags=net.tags, opts=child
        )
        group = nodes_only_security_group(name, net, "PostgreSQL from the cluster's nodes only", PORT, parent)
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            # Named (the family in the name, so a major upgrade creates a new group beside the old
            # one): the instance then refers to a name known at preview, which policy can check.
            name=f"bakhmach-{args.stack_name}-{data_settings.RDS_PARAMETER_FAMILY}",
            family=data_settings.RDS_PARAMETER_FAMILY,
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v) for k, v in RDS_PARAMETERS],
            tags=net.tags,
            opts=child,
        )
        primary = aws.rds.Instance(
            f"{name}-primary",
            identifier=f"{args.stack_name}-postgres",
            engine="postgres",
            engine_version=data_settings.RDS_ENGINE_VERSION,
            instance_class=size.aws_instance_class,
            allocated_storage=size.storage_gib,
            max_allocated_storage=size.storage_gib * 2,
            storage_type="gp3",
            storage_encrypted=True,
            multi_az=spec.multi_zone,
            db_name=DATABASE,
            username=USERNAME,
            password=admin_password_of(args),
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            # The CA whose roots the clients' bundle holds (components/data/trust.py).
            ca_cert_identifier=RDS_CA_IDENTIFIER,
            publicly_accessible=False,
            # Automated backups + transaction logs every 5 minutes give point-in-time recovery.
            backup_retention_period=spec.backup_retention_days,
            backup_window="02:00-03:00",
            copy_tags_to_snapshot=True,
            deletion_protection=spec.protect,
            skip_final_snapshot=not spec.protect,
            final_snapshot_identifier=f"{args.stack_name}-postgres-final" if spec.protect else None,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            tags=net.tags,
            opts=stateful(parent, spec),
        )
        for index in range(size.read_replicas):
            aws.rds.Instance(
                f"{name}-replica-{index + 1}",
                identifier=f"{args.stack_name}-postgres-replica-{index + 1}",
                replicate_source_db=primary.identifier,
                instance_class=size.aws_instance_class,
                storage_encrypted=True,
                vpc_security_group_ids=[group.id],
                parameter_group_name=parameters.name,
                ca_cert_identifier=RDS_CA_IDENTIFIER,
                publicly_accessible=False,
                deletion_protection=spec.protect,
                skip_final_snapshot=True,
                auto_minor_version_upgrade=True,
                tags=net.tags,
                opts=stateful(parent, spec),
            )
        endpoint = DataEndpoint(
            service="postgres",
            backend="aws",
            host=primary.address,
            port=PORT,
            tls=True,
            # RDS signs with its own CA (RDS_CA_IDENTIFIER), which no public trust store has.
            trust="rds",
            egress=DataEgress(ports=(PORT,), cidr=net.vpc_cidr),
            extra=CLIENT_SETTINGS,
        )
        # The roles Job verifies RDS with its bundle, from the data namespace's copy.
        bundle = rds_ca_config_map(
            f"{name}-rds-ca",
            args.namespace,
            PLATFORM_CONTEXT,
            spec.environment,
            pulumi.ResourceOptions(parent=parent, depends_on=list(args.in_cluster_dependencies)),
        )
        # Roles and databases are SQL on the primary (replicas copy them), so the Job needs only it.
        return BuiltService(
            endpoint,
            managed_credentials(name, args, primary.address, endpoint.egress, [primary, bundle], parent, ca=RDS_CA),
            replication=RdsSource(
                identifier=primary.identifier,
                arn=primary.arn,
                instance_class=size.aws_instance_class,
                parameter_family=data_settings.RDS_PARAMETER_FAMILY,
                parameters=RDS_PARAMETERS,
                port=PORT,
                instance=primary,
            ),
        )


class FlexiblePostgres:
    """Flexible Server runs one management operation per server at a time, and creating a replica
    holds its primary in an "updating" state until the replica is ready (Microsoft's read-replica
    docs). So the primary's own operations (database, TLS setting) come first, then each replica
    and its TLS setting, one after the other, and the delete lock last: one operation at a time."""

    admin_password = True

    def build(self, name: str, args: Args, parent: pulumi.Resource) -> BuiltService:
        net = require_network(args, AzureNetwork)
        spec, size = args.spec, args.size
        # VNet-integrated servers resolve through a private zone named *.postgres.database.azure.com;
        # the server resolves its own name through it from the start, so it waits for the VNet link.
        dns_zone = private_dns_zone(name, net, f"{args.stack_name}-pg.private.postgres.database.azure.com", parent)
        network = dbforpostgresql.NetworkArgs(
            delegated_subnet_resource_id=net.postgres_subnet_id,
            private_dns_zone_arm_resource_id=dns_zone.id,
            public_network_access="Disabled",
        )
        sku = dbforpostgresql.SkuArgs(name=size.azure_sku, tier=size.azure_tier)
        # The same disk and autogrow on every server: a replica's storage may never be smaller than
        # its primary's, and autogrow on the primary requires it on the replicas.
        storage = dbforpostgresql.StorageArgs(storage_size_gb=size.storage_gib, auto_grow="Enabled")
        # Autogrow doubles the disk when it fills up, and a disk never shrinks: the stack's size is
        # the starting size, not one to reset on the next deploy.
        grown = ["storage.storageSizeGB"]
        # Server names become <name>.postgres.database.azure.com, shared by every Azure tenant.
        server_name = pulumi.Output.concat(f"bakhmach-{args.stack_name}-pg-", unique_suffix(name, parent))
        primary = dbforpostgresql.Server(
            f"{name}-primary",
            server_name=server_name,
            resource_group_name=net.resource_group_name,
            location=net.location,
            version=data_settings.AZURE_POSTGRES_VERSION,
            create_mode="Create",
            sku=sku,
            storage=storage,
            backup=dbforpostgresql.BackupArgs(
                backup_retention_days=spec.backup_retention_days,
                geo_redundant_backup="Enabled" if spec.geo_redundant else "Disabled",
            ),
            # Read replicas are allowed beside zone-redundant HA on the primary; only a replica
            # cannot have HA itself (Microsoft's read-replica and HA docs; docs/REAL-PATH.md).
            high_availability=dbforpostgresql.HighAvailabilityArgs(
                mode="ZoneRedundant" if spec.multi_zone else "Disabled"
            ),
            network=network,
            administrator_login=USERNAME,
            administrator_login_password=admin_password_of(args),
            tags=net.tags,
            opts=stateful(parent, spec, depends_on=[dns_zone.link], ignore_changes=grown),
        )
        database = dbforpostgresql.Database(
            f"{name}-database",
            database_name=DATABASE,
            server_name=primary.name,
            resource_group_name=net.resource_group_name,
            charset="UTF8",
            collation="en_US.utf8",
            opts=stateful(parent, spec),
        )
        last: pulumi.Resource = tls13(f"{name}-primary", primary, server_name, net, parent, after=database)
        servers: list[pulumi.Resource] = [primary]
        for index in range(size.read_replicas):
            replica_name = pulumi.Output.concat(server_name, f"-r{index + 1}")
            replica = dbforpostgresql.Server(
                f"{name}-replica-{index + 1}",
                server_name=replica_name,
                resource_group_name=net.resource_group_name,
                location=net.location,
                create_mode="Replica",
                source_server_resource_id=primary.id,
                sku=sku,
                storage=storage,
                network=network,
                tags=net.tags,
                opts=stateful(parent, spec, depends_on=[last], ignore_changes=grown),
            )
            servers.append(replica)
            last = tls13(f"{name}-replica-{index + 1}", replica, replica_name, net, parent, after=replica)
        azure_delete_lock(name, primary.id, spec, parent, after=[*servers, last])
        endpoint = DataEndpoint(
            service="postgres",
            backend="azure",
            host=primary.fully_qualified_domain_name,
            port=PORT,
            tls=True,
            egress=DataEgress(ports=(PORT,), cidr=net.vnet_cidr),
            extra=CLIENT_SETTINGS,
        )
        # The roles are made once every server operation is done (one operation at a time).
        credentials = managed_credentials(
            name, args, primary.fully_qualified_domain_name, endpoint.egress, [*servers, last], parent
        )
        source = FlexibleSource(
            server_id=primary.id,
            server_name=server_name,
            sku=size.azure_sku,
            tier=size.azure_tier,
            storage_gib=size.storage_gib,
            version=data_settings.AZURE_POSTGRES_VERSION,
            port=PORT,
            dns_zone_id=dns_zone.id,
            dns_zone_name=dns_zone.zone.name,
            resource_group_name=net.resource_group_name,
            after=(*servers, last),
        )
        return BuiltService(endpoint, credentials, replication=source)


def tls13(
    resource_name: str,
    server: dbforpostgresql.Server,
    server_name: pulumi.Input[str],
    net: AzureNetwork,
    parent: pulumi.Resource,
    after: pulumi.Resource,
) -> dbforpostgresql.Configuration:
    """The seed's "TLS 1.3" in transit (the server's default minimum is 1.2), set once `after` is done."""
    return dbforpostgresql.Configuration(
        f"{resource_name}-tls13",
        configuration_name="ssl_min_protocol_version",
        value="TLSv1.3",
        source="user-override",
        server_name=server_name,
        resource_group_name=net.resource_group_name,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[server, after]),
    )


BACKENDS: dict[Backend, DataBackend[PostgresSize]] = {
    "in-cluster": InClusterPostgres(),
    "aws": RdsPostgres(),
    "azure": FlexiblePostgres(),
}


class PostgresCluster(DataComponent):
    TYPE_TOKEN = "bakhmach:data:PostgresCluster"
    BACKENDS = BACKENDS
