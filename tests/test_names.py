"""Every cloud name the program generates fits its service's documented rules, on every stack.

A name that is too long, or has a character the service refuses, fails only at `pulumi up` (and
often only in one region, whose name is longer). This walks every plan (dev, and staging and
prod on both clouds) and checks each cloud resource's own name against the rule of its type:
- names the program sets: the input that carries the name;
- names Pulumi generates (the resource's name plus a random suffix, when the name input is left
  out): the resource name with room for an 8-character suffix (AWS adds "-" and 7 characters;
  azure-native appends 8);
- random parts the offline mocks answer with `offlinestring` (13 characters), longer than any the
  program asks for (5, 6 or 8), so a name that fits with it fits with the real one.

Sources: Azure's "Naming rules and restrictions for Azure resources" (resource-name-rules), AKS's
API and private-cluster docs (agent pool names, DNS subzones), the AWS API references of each
service (EKS CreateCluster/CreateNodegroup, RDS, ElastiCache, MSK, S3 bucket naming, IAM quotas,
KMS aliases, CloudWatch Logs), Container Insights' rule name (`MSCI-<region>-<cluster>`, 64).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hubctl.plan import REPO_ROOT, Plan, PlannedResource, run_plan
from tests.registry_plans import VARIANT_IDS, VARIANTS, registry_plan

AUTONAME_SUFFIX = 8


@dataclass(frozen=True)
class Rule:
    key: str  # the input carrying the name; absent -> the name is generated (when `generated`)
    low: int
    high: int
    pattern: str
    generated: bool = False  # Pulumi may generate it (the key is optional)
    # A prefix input (`namePrefix`, `bucketPrefix`): the service adds this many characters.
    prefix_suffix: int = 0


AZ_80 = r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]"  # Microsoft.Network: start alnum, end alnum or _
DNS_LABELS = r"([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
LOWER_HYPHEN = r"[a-z][a-z0-9]*(-[a-z0-9]+)*"  # RDS/ElastiCache ids: letter first, no "--", no trailing "-"
ECR_REPOSITORY_NAME = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
# ECR RepositoryFilter (API reference): a repository name prefix, 2-256.
ECR_FILTER = r"(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*"

RULES: dict[str, Rule] = {
    # ---- AWS --------------------------------------------------------------------------------
    "aws:eks/cluster:Cluster": Rule("name", 1, 100, r"[0-9A-Za-z][A-Za-z0-9\-_]*"),
    # A node group name is at most 63; the provider adds a 26-character unique id to the prefix.
    "aws:eks/nodeGroup:NodeGroup": Rule("nodeGroupNamePrefix", 1, 63, r"[0-9A-Za-z][A-Za-z0-9\-_]*", prefix_suffix=26),
    "aws:cloudwatch/logGroup:LogGroup": Rule("name", 1, 512, r"[\.\-_/#A-Za-z0-9]+"),
    "aws:kms/alias:Alias": Rule("name", 7, 256, r"alias/(?!aws/)[a-zA-Z0-9/_-]+"),
    "aws:iam/role:Role": Rule("name", 1, 64, r"[\w+=,.@-]+", generated=True),
    "aws:iam/rolePolicy:RolePolicy": Rule("name", 1, 128, r"[\w+=,.@-]+", generated=True),
    "aws:ec2/securityGroup:SecurityGroup": Rule("name", 1, 255, r"[\x20-\x7e]+", generated=True),
    "aws:ec2/launchTemplate:LaunchTemplate": Rule("name", 3, 128, r"[a-zA-Z0-9\(\)\.\-/_]+", generated=True),
    "aws:rds/instance:Instance": Rule("identifier", 1, 63, LOWER_HYPHEN),
    "aws:rds/parameterGroup:ParameterGroup": Rule("name", 1, 255, LOWER_HYPHEN),
    "aws:rds/subnetGroup:SubnetGroup": Rule("name", 1, 255, r"[a-z0-9_. -]+", generated=True),
    "aws:elasticache/replicationGroup:ReplicationGroup": Rule("replicationGroupId", 1, 40, LOWER_HYPHEN),
    "aws:elasticache/subnetGroup:SubnetGroup": Rule("name", 1, 255, r"[a-z0-9-]+", generated=True),
    "aws:elasticache/parameterGroup:ParameterGroup": Rule("name", 1, 255, LOWER_HYPHEN, generated=True),
    # RBAC user and user group ids: the CreateUser/CreateUserGroup API's pattern (letter first, letters,
    # digits, hyphens). The API states no maximum; 40, the replication group id's, keeps ours well inside.
    "aws:elasticache/user:User": Rule("userId", 1, 40, r"[a-zA-Z][a-zA-Z0-9-]*"),
    "aws:elasticache/userGroup:UserGroup": Rule("userGroupId", 1, 40, r"[a-zA-Z][a-zA-Z0-9-]*"),
    "aws:msk/cluster:Cluster": Rule("clusterName", 1, 64, r"[0-9A-Za-z][0-9A-Za-z-]*"),
    "aws:msk/configuration:Configuration": Rule("name", 1, 64, r"[0-9A-Za-z][0-9A-Za-z-]*"),
    # The provider adds 26 characters to a prefix; a secret name is at most 512.
    "aws:secretsmanager/secret:Secret": Rule("namePrefix", 1, 512, r"[A-Za-z0-9/_+=.@-]+", prefix_suffix=26),
    # Bucket names: 3-63 lowercase letters, digits, hyphens, dots; the provider adds 26 to a prefix.
    "aws:s3/bucket:Bucket": Rule("bucketPrefix", 3, 63, r"[a-z0-9][a-z0-9.-]*", prefix_suffix=26),
    "aws:route53/zone:Zone": Rule("name", 1, 253, DNS_LABELS),
    # Disaster recovery (components/dr): AWS Backup vault, plan and selection names (Backup API:
    # vault 2-50, plan and selection 1-50, letters, digits, hyphens, underscores; a plan's also
    # dots), the SNS topic (1-256 of letters, digits, hyphens, underscores), MSK Replicator's name
    # (CreateReplicator: 1-128, `^[0-9A-Za-z][0-9A-Za-z-]{0,}$`), and the Global Datastore's suffix
    # (ElastiCache adds a region prefix; kept within a replication group id's 40).
    "aws:backup/vault:Vault": Rule("name", 2, 50, r"[a-zA-Z0-9_-]+"),
    "aws:backup/plan:Plan": Rule("name", 1, 50, r"[a-zA-Z0-9_.-]+"),
    "aws:backup/selection:Selection": Rule("name", 1, 50, r"[a-zA-Z0-9_.-]+"),
    "aws:sns/topic:Topic": Rule("name", 1, 256, r"[A-Za-z0-9_-]+"),
    "aws:msk/replicator:Replicator": Rule("replicatorName", 1, 128, r"[0-9A-Za-z][0-9A-Za-z-]*"),
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": Rule(
        "globalReplicationGroupIdSuffix", 1, 34, LOWER_HYPHEN
    ),
    # ECR CreateRepository: 2-256, lowercase path segments separated by "/".
    "aws:ecr/repository:Repository": Rule("name", 2, 256, ECR_REPOSITORY_NAME),
    # ---- Azure ------------------------------------------------------------------------------
    "azure-native:resources:ResourceGroup": Rule("resourceGroupName", 1, 90, r"[-\w._()]*[-\w_()]"),
    "azure-native:network:VirtualNetwork": Rule("virtualNetworkName", 2, 64, AZ_80),
    "azure-native:network:Subnet": Rule("subnetName", 1, 80, AZ_80),
    "azure-native:network:VirtualNetworkPeering": Rule("virtualNetworkPeeringName", 1, 80, AZ_80),
    "azure-native:network:PrivateEndpoint": Rule("privateEndpointName", 2, 64, AZ_80, generated=True),
    "azure-native:network:PrivateDnsZoneGroup": Rule("privateDnsZoneGroupName", 1, 80, AZ_80, generated=True),
    "azure-native:privatedns:PrivateZone": Rule("privateZoneName", 1, 63, DNS_LABELS),
    "azure-native:privatedns:VirtualNetworkLink": Rule("virtualNetworkLinkName", 1, 80, AZ_80, generated=True),
    "azure-native:dns:Zone": Rule("zoneName", 1, 63, DNS_LABELS),
    "azure-native:containerservice:ManagedCluster": Rule(
        "resourceName", 1, 63, r"[a-zA-Z0-9]|[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]"
    ),
    "azure-native:containerservice:AgentPool": Rule("agentPoolName", 1, 12, r"[a-z][a-z0-9]{0,11}"),
    "azure-native:operationalinsights:Workspace": Rule("workspaceName", 4, 63, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]"),
    "azure-native:keyvault:Vault": Rule("vaultName", 3, 24, r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]"),
    "azure-native:keyvault:Key": Rule("keyName", 1, 127, r"[a-zA-Z0-9-]+"),
    "azure-native:managedidentity:UserAssignedIdentity": Rule("resourceName", 3, 128, r"[a-zA-Z0-9][a-zA-Z0-9_-]*"),
    "azure-native:managedidentity:FederatedIdentityCredential": Rule(
        "federatedIdentityCredentialResourceName", 3, 120, r"[a-zA-Z0-9][a-zA-Z0-9_-]*", generated=True
    ),
    "azure-native:monitor:DataCollectionRule": Rule("dataCollectionRuleName", 1, 64, r"[A-Za-z0-9][A-Za-z0-9_.-]*"),
    "azure-native:monitor:DiagnosticSetting": Rule("name", 1, 260, r"[^<>*%&:\\?+/]+"),
    "azure-native:authorization:ManagementLockByScope": Rule("lockName", 1, 90, r"[\w.()-]*[\w()-]"),
    "azure-native:dbforpostgresql:Server": Rule("serverName", 3, 63, r"[a-z0-9][a-z0-9-]*[a-z0-9]"),
    "azure-native:dbforpostgresql:Database": Rule("databaseName", 1, 63, r"[A-Za-z0-9-_]+"),
    "azure-native:redisenterprise:RedisEnterprise": Rule(
        "clusterName", 1, 60, r"[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9]))*"
    ),
    "azure-native:storage:StorageAccount": Rule("accountName", 3, 24, r"[a-z0-9]+"),
    "azure-native:storage:BlobContainer": Rule("containerName", 3, 63, r"[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]"),
    "azure-native:trafficmanager:Profile": Rule("profileName", 1, 63, r"[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]"),
    # Azure Backup (components/dr): a vault is 2-50 letters, digits and hyphens starting with a
    # letter; policies and instances are kept to the same alphabet.
    "azure-native:dataprotection:BackupVault": Rule("vaultName", 2, 50, r"[a-zA-Z][a-zA-Z0-9-]*"),
    "azure-native:dataprotection:BackupPolicy": Rule("backupPolicyName", 3, 50, r"[a-zA-Z][a-zA-Z0-9-]*"),
    "azure-native:dataprotection:BackupInstance": Rule("backupInstanceName", 3, 50, r"[a-zA-Z][a-zA-Z0-9-]*"),
    # Container registries and their replications: 5-50 alphanumerics (the registry's is global).
    "azure-native:containerregistry:Registry": Rule("registryName", 5, 50, r"[a-zA-Z0-9]+"),
    "azure-native:containerregistry:Replication": Rule("replicationName", 5, 50, r"[a-zA-Z0-9]+"),
}
# Cloud resources with no name of their own (a parent's name, an id, or a fixed name): tags only.
NAMELESS = {
    "aws:ebs/encryptionByDefault:EncryptionByDefault",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/route:Route",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
    "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions",
    "aws:msk/clusterPolicy:ClusterPolicy",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:eks/addon:Addon",  # the add-on's AWS name
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",  # the repository's
    "aws:ecr/replicationConfiguration:ReplicationConfiguration",  # the registry's (one per account and region)
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/key:Key",
    "aws:msk/scramSecretAssociation:ScramSecretAssociation",
    "aws:route53/healthCheck:HealthCheck",
    "aws:route53/record:Record",  # the record name is the failover DNS name (settings validate it)
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "azure-native:authorization:RoleAssignment",  # a generated GUID
    "azure-native:dbforpostgresql:Configuration",  # the PostgreSQL parameter's own name
    "azure-native:monitor:DataCollectionRuleAssociation",  # Container Insights' fixed name
    "azure-native:redisenterprise:Database",  # must be "default"
    "azure-native:trafficmanager:Endpoint",  # the region's name
    "azure-native:dns:RecordSet",  # the failover record (settings validate it)
}
UNKNOWN = "[unknown]"
MOCK_RANDOM = "offlinestring"


def names_of(plan: Plan) -> list[tuple[PlannedResource, str, Rule]]:
    checked = []
    for r in plan.resources:
        if not r.custom or not r.type.startswith(("aws:", "azure-native:")):
            continue
        if r.type in NAMELESS:
            continue
        assert r.type in RULES, f"{r.type}: add its naming rule (or NAMELESS) to tests/test_names.py"
        rule = RULES[r.type]
        value = r.inputs.get(rule.key)
        if value is None:
            assert rule.generated, f"{r.type} {r.name}: no {rule.key}, and Pulumi does not generate one"
            value = r.name + "x" * AUTONAME_SUFFIX
        if not isinstance(value, str) or value == UNKNOWN:
            continue  # another resource's output (checked where it is made)
        value += "x" * rule.prefix_suffix
        checked.append((r, value, rule))
    return checked


def test_every_generated_cloud_name_fits_its_services_rules(any_plan: Plan) -> None:
    failures = []
    checked = names_of(any_plan)
    for r, value, rule in checked:
        if not rule.low <= len(value) <= rule.high:
            failures.append(f"{r.type} {r.name}: {value!r} is {len(value)} characters ({rule.low}-{rule.high})")
        elif not re.fullmatch(rule.pattern, value):
            failures.append(f"{r.type} {r.name}: {value!r} has characters {rule.key} does not allow")
    assert failures == []
    if any_plan.cloud != "kind":
        assert len(checked) > 30


@pytest.mark.parametrize(("stack", "registry"), VARIANTS, ids=VARIANT_IDS)
def test_registry_names_fit_their_services_rules(stack: str, registry: str) -> None:
    """ECR and ACR are not in any committed stack file: their plans are walked here."""
    plan = registry_plan(stack, registry)
    test_every_generated_cloud_name_fits_its_services_rules(plan)
    types = {r.type for r, _, _ in names_of(plan)}
    assert (
        "aws:ecr/repository:Repository" if registry == "ecr" else "azure-native:containerregistry:Registry"
    ) in types
    for r in plan.resources:
        if r.type == "aws:ecr/replicationConfiguration:ReplicationConfiguration":
            for rule in r.inputs["replicationConfiguration"]["rules"]:
                for f in rule["repositoryFilters"]:
                    assert 2 <= len(f["filter"]) <= 256 and re.fullmatch(ECR_FILTER, f["filter"])


def test_aks_pool_names_include_the_bootstrap_pool(any_plan: Plan) -> None:
    """The inline pool of a ManagedCluster follows the AgentPool rule too."""
    pattern = RULES["azure-native:containerservice:AgentPool"].pattern
    for r in any_plan.resources:
        if r.type == "azure-native:containerservice:ManagedCluster":
            for profile in r.inputs["agentPoolProfiles"]:
                assert re.fullmatch(pattern, profile["name"])


def test_the_dns_prefix_of_each_cluster_fits(any_plan: Plan) -> None:
    # AKS dnsPrefix: 1-54, alphanumerics and hyphens, starting and ending with an alphanumeric.
    for r in any_plan.resources:
        if r.type == "azure-native:containerservice:ManagedCluster":
            assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,52}[a-zA-Z0-9]", r.inputs["dnsPrefix"])
            assert len(r.inputs["nodeResourceGroup"]) <= 80


def test_tags_fit_both_clouds_limits(any_plan: Plan) -> None:
    # AWS: keys <= 128, values <= 256; Azure: names <= 512, values <= 256.
    for r in any_plan.resources:
        tags = r.inputs.get("tags")
        if isinstance(tags, dict) and r.type.startswith(("aws:", "azure-native:")):
            for key, value in tags.items():
                assert len(key) <= 128 and (not isinstance(value, str) or len(value) <= 256), (r.name, key)


def test_the_rules_catch_what_they_claim() -> None:
    """The table is not vacuous: names known to fail do fail."""
    cases = {
        "azure-native:monitor:DataCollectionRule": "MSCI-" + "x" * 60,
        "azure-native:keyvault:Vault": "kv--double-hyphen",
        "azure-native:storage:StorageAccount": "Has-Upper",
        "azure-native:privatedns:PrivateZone": "bakhmach-prod-germanywestcentral.privatelink.germanywestcentral.io",
        "aws:rds/instance:Instance": "ends-with-hyphen-",
        "aws:eks/nodeGroup:NodeGroup": "p" * 38 + "x" * 26,
        "aws:ecr/repository:Repository": "bakhmach-prod//auth-service",
        "azure-native:containerregistry:Registry": "bakhmach-hub",
        "azure-native:containerregistry:Replication": "eu1",
    }
    for type_, value in cases.items():
        rule = RULES[type_]
        assert not (rule.low <= len(value) <= rule.high and re.fullmatch(rule.pattern, value)), type_


# The longest region names each cloud has, to show names that depend on the region still fit.
LONG_REGIONS = {
    "aws": {"region": "ap-southeast-4", "secondaryRegion": "ap-northeast-3", "key": "aws:region"},
    "azure": {
        "location": "australiasoutheast",
        "secondaryLocation": "southafricanorth",
        "key": "azure-native:location",
    },
}


@functools.cache
def long_region_plan(cloud: str, tmp: str) -> Plan:
    config = copy.deepcopy(yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"])
    regions = dict(LONG_REGIONS[cloud])
    config[regions.pop("key")] = next(iter(regions.values()))
    config["bakhmach-hub:cloudCluster"][cloud].update(regions)
    config["bakhmach-hub:cloud"] = cloud
    path = Path(tmp) / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return run_plan("prod", cloud, stack_file=path)


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_names_fit_in_the_clouds_longest_regions_too(cloud: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = long_region_plan(cloud, str(tmp_path_factory.mktemp(cloud)))
    test_every_generated_cloud_name_fits_its_services_rules(plan)
    clusters = [
        r
        for r in plan.resources
        if r.type in {"aws:eks/cluster:Cluster", "azure-native:containerservice:ManagedCluster"}
    ]
    assert len(clusters) == 2


def test_container_insights_rule_names_are_cut_to_64_characters() -> None:
    """`MSCI-<region>-<cluster>` outgrows a rule name with a long stack name in a long region."""
    from components.cloud.aks import container_insights_rule_name

    name = container_insights_rule_name("australiasoutheast", "bakhmach-production-customer-one-australiasoutheast")
    assert len(name) == 64 and name.startswith("MSCI-australiasoutheast-bakhmach-production-customer-one-")
    assert re.fullmatch(RULES["azure-native:monitor:DataCollectionRule"].pattern, name)
    assert container_insights_rule_name("northeurope", "bakhmach-prod") == "MSCI-northeurope-bakhmach-prod"
