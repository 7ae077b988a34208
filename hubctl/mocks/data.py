"""Mock answers for the data resources (computed outputs, invokes)."""

from hubctl.mocks import register_call, register_state

register_state("aws:rds/instance:Instance", lambda a: {"address": f"{a.name}.offline.rds.amazonaws.com"})
register_state(
    "aws:elasticache/replicationGroup:ReplicationGroup",
    lambda a: {"configurationEndpointAddress": f"clustercfg.{a.name}.offline.cache.amazonaws.com"},
)
register_state(
    "aws:msk/cluster:Cluster",
    lambda a: {
        "arn": f"arn:aws:kafka:offline:000000000000:cluster/{a.name}",
        "bootstrapBrokersSaslScram": ",".join(f"b-{i}.{a.name}.offline.kafka.amazonaws.com:9096" for i in (1, 2, 3)),
    },
)
register_state(
    "aws:msk/configuration:Configuration",
    lambda a: {"arn": f"arn:aws:kafka:offline:config/{a.name}", "latestRevision": 1},
)
register_state("aws:kms/key:Key", lambda a: {"arn": f"arn:aws:kms:offline:key/{a.name}", "keyId": f"{a.name}-key-id"})
register_state("aws:secretsmanager/secret:Secret", lambda a: {"arn": f"arn:aws:secretsmanager:offline:secret/{a.name}"})
register_state(
    "aws:s3/bucket:Bucket", lambda a: {"bucket": f"{a.name}-offline", "arn": f"arn:aws:s3:::{a.name}-offline"}
)
register_state(
    "azure-native:dbforpostgresql:Server",
    lambda a: {"fullyQualifiedDomainName": f"{a.name}.postgres.database.azure.com", "name": a.name},
)
register_state(
    "azure-native:redisenterprise:RedisEnterprise",
    lambda a: {"hostName": f"{a.name}.offline.redis.azure.net", "name": a.name},
)
register_state(
    "azure-native:storage:StorageAccount", lambda a: {"name": a.inputs.get("accountName") or f"{a.name}-offline"}
)
register_state("azure-native:storage:BlobContainer", lambda a: {"name": a.inputs.get("containerName") or a.name})
register_call(
    "azure-native:redisenterprise:listDatabaseKeys",
    lambda args: {"primaryKey": "offline-password", "secondaryKey": "offline-password"},
)
register_call(
    "azure-native:storage:listStorageAccountKeys",
    lambda args: {"keys": [{"keyName": "key1", "value": "offline-password", "permissions": "FULL"}]},
)

# Disaster recovery (components/dr): the identifiers the `dr` output and the copies refer to.
register_state(
    "aws:rds/instance:Instance",
    lambda a: {
        "arn": f"arn:aws:rds:offline:000000000000:db:{a.inputs.get('identifier') or a.name}",
        "address": f"{a.name}.offline.rds.amazonaws.com",
    },
)
register_state(
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
    lambda a: {"globalReplicationGroupId": f"ldgnf-{a.inputs.get('globalReplicationGroupIdSuffix')}"},
)
register_state(
    "aws:msk/replicator:Replicator", lambda a: {"arn": f"arn:aws:kafka:offline:000000000000:replicator/{a.name}"}
)
register_state("aws:sns/topic:Topic", lambda a: {"arn": f"arn:aws:sns:offline:000000000000:{a.inputs.get('name')}"})
register_state(
    "aws:backup/vault:Vault",
    lambda a: {"arn": f"arn:aws:backup:offline:000000000000:backup-vault:{a.inputs.get('name')}"},
)
register_state("azure-native:dataprotection:BackupVault", lambda a: {"name": a.inputs.get("vaultName") or a.name})
