"""The pack's mutation self-test: every policy catches the one misconfiguration it exists for.

Each case takes a real plan of a stack the policy applies to (the session's plans, plus the same
stacks with every data service in-cluster), breaks exactly the property the policy guards — which
resource, which path, which value — and runs that one policy: the unbroken plan passes, and the
broken one is reported on the expected resource, at the level the environment's config gives
(mandatory in staging and prod). A policy without a case here fails
`test_every_policy_has_a_mutation_case`.

Adding a policy: add its cases to CASES (a target, one or more operations, and where the
violation is expected when it is not the mutated resource).
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, Policy

from hubctl.plan import Plan
from hubctl.policy_run import PolicyReport, Violation, run_policies
from policy.bakhmach_policies import POLICIES, config_for
from tests.planning import planned, planned_in_cluster, primary_provider
from tests.registry_plans import REGISTRY_CLOUD, registry_plan

BY_NAME: dict[str, Policy] = {p.name: p for p in POLICIES}


# ---- plans ----------------------------------------------------------------------------------
# "<stack>-<cloud>" is the session's plan; "<stack>-<cloud>-in-cluster" the same stack file with
# every data service in-cluster (CloudNativePG, OT Redis, Strimzi), as a stack file may choose
# (tests/planning.py `planned_in_cluster`, shared with the other tests of those plans);
# "<stack>-<cloud>-ecr|acr" the stack with the cloud's own registry (tests/registry_plans.py).
def plan_of(key: str) -> Plan:
    stack, cloud, *variant = key.split("-", 2)
    if variant and variant[0] in REGISTRY_CLOUD:  # "<stack>-<cloud>-ecr|acr": tests/registry_plans.py
        assert REGISTRY_CLOUD[variant[0]] == cloud, key
        return registry_plan(stack, variant[0])
    return planned_in_cluster(stack, cloud) if variant == ["in-cluster"] else planned(stack, cloud)


# ---- targets and operations -----------------------------------------------------------------
Path_ = tuple[str | int, ...]


def _read(value: Any, path: Path_) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or key >= len(value):
                return None
        elif not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


@dataclass(frozen=True)
class Target:
    """Resources of a type, optionally by plan name (`{stack}` is filled in) and by input values;
    Kubernetes objects on the primary cluster only. The first match is mutated (all with `every`)."""

    type: str
    name: str | None = None
    where: tuple[tuple[Path_, Any], ...] = ()
    every: bool = False

    def find(self, plan: Plan, resources: list[dict[str, Any]]) -> list[tuple[int, Path_]]:
        name = self.name.format(stack=plan.stack) if self.name else None
        primary = primary_provider(plan) if self.type.startswith("kubernetes:") else None
        found = [
            (i, ())
            for i, r in enumerate(resources)
            if r["type"] == self.type
            and (name is None or r["name"] == name)
            and (primary is None or r["provider"] == primary)
            and all(_read(r["inputs"], path) == value for path, value in self.where)
        ]
        assert found, f"no {self} in the {plan.stack}-{plan.cloud} plan"
        return found if self.every else found[:1]


@dataclass(frozen=True)
class AksPool:
    """The AKS node pool `name` of the primary cluster, wherever it is declared: a separate
    AgentPool resource, or an inline agentPoolProfiles entry of the ManagedCluster."""

    name: str

    def find(self, plan: Plan, resources: list[dict[str, Any]]) -> list[tuple[int, Path_]]:
        cluster_urn = resources[Target(AKS, name="{stack}-aks").find(plan, resources)[0][0]]["urn"]
        for i, r in enumerate(resources):
            if (
                r["type"] == AKS_POOL
                and r["inputs"].get("agentPoolName") == self.name
                and cluster_urn in r["dependencies"]
            ):
                return [(i, ("inputs",))]
        for i, r in enumerate(resources):
            if r["urn"] == cluster_urn:
                for j, profile in enumerate(r["inputs"].get("agentPoolProfiles", [])):
                    if profile.get("name") == self.name:
                        return [(i, ("inputs", "agentPoolProfiles", j))]
        raise AssertionError(f"no AKS pool {self.name} in the {plan.stack}-{plan.cloud} plan")


@dataclass(frozen=True)
class Set:
    path: Path_
    value: Any

    def apply(self, entry: dict[str, Any], base: Path_) -> None:
        *parents, last = base + self.path
        holder = _read(entry, tuple(parents))
        assert isinstance(holder, dict | list), f"no {parents} to set {last} in {entry['name']}"
        holder[last] = copy.deepcopy(self.value)  # type: ignore[index]


@dataclass(frozen=True)
class Delete:
    path: Path_

    def apply(self, entry: dict[str, Any], base: Path_) -> None:
        *parents, last = base + self.path
        holder = _read(entry, tuple(parents))
        assert isinstance(holder, dict) and last in holder, f"no {self.path} to delete in {entry['name']}"
        del holder[last]


@dataclass(frozen=True)
class Keep:
    """Keep only the first `count` items of the list at `path`."""

    path: Path_
    count: int

    def apply(self, entry: dict[str, Any], base: Path_) -> None:
        *parents, last = base + self.path
        holder = _read(entry, tuple(parents))
        assert isinstance(holder, dict) and isinstance(holder.get(last), list), f"no list {self.path}"
        holder[last] = holder[last][: self.count]


@dataclass(frozen=True)
class DropDependencies:
    """Drop the entry's dependencies on resources of `type` (after the first `keep`)."""

    type: str
    keep: int = 0

    def apply(self, entry: dict[str, Any], base: Path_) -> None:
        of_type = [urn for urn in entry["dependencies"] if _type_in_urn(urn) == self.type]
        assert len(of_type) > self.keep, f"{entry['name']} has no dependency on a {self.type} to drop"
        dropped = set(of_type[self.keep :])
        entry["dependencies"] = [urn for urn in entry["dependencies"] if urn not in dropped]


def _type_in_urn(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<parent types>$<type>::<name> -> <type>"""
    return urn.split("::")[2].rsplit("$", 1)[-1]


@dataclass(frozen=True)
class Remove:
    """The target leaves the plan (as if its code were deleted)."""


@dataclass(frozen=True)
class AddBeside:
    """A new resource on the target's provider and parent (as if someone added it by hand)."""

    type: str
    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class AddToCluster:
    """A new Kubernetes object on the cluster of the target, a Kubernetes provider (as if someone
    added it by hand)."""

    type: str
    name: str
    inputs: dict[str, Any]


Op = Set | Delete | Keep | DropDependencies | Remove | AddBeside | AddToCluster
ADDED = "the added resource"
PROVIDER = "the target's Kubernetes provider"


@dataclass(frozen=True)
class Case:
    policy: str
    plans: tuple[str, ...]
    target: Target | AksPool
    ops: tuple[Op, ...]
    # Where the violation is expected: the mutated resource by default.
    reported: Target | str | None = None
    note: str = ""
    id: str = field(default="", compare=False)


def mutate(case: Case, plan: Plan) -> tuple[dict[str, Any], str]:
    """The plan with the case's mutation applied, and the URN the violation is expected on.
    The session's plan is shared: only the touched entries are copied."""
    resources = [dict(r) for r in plan.to_json()["resources"]]
    targets = case.target.find(plan, resources)
    expected = resources[targets[0][0]]["urn"]
    removed: set[int] = set()
    added: list[dict[str, Any]] = []
    for index, base in targets:
        entry = copy.deepcopy(resources[index])
        for op in case.ops:
            if isinstance(op, Remove):
                removed.add(index)
            elif isinstance(op, AddBeside):
                urn = f"{entry['urn'].rsplit('::', 2)[0]}::{op.type}::{op.name}"
                added.append(
                    entry | {"urn": urn, "type": op.type, "name": op.name, "inputs": op.inputs, "dependencies": []}
                )
                expected = urn
            elif isinstance(op, AddToCluster):
                assert entry["type"] == K8S_PROVIDER, f"{entry['name']} is not a Kubernetes provider"
                name = f"{entry['name']}-{op.name}"
                urn = f"urn:pulumi:{plan.stack}::{plan.project}::{op.type}::{name}"
                added.append(
                    {
                        "urn": urn,
                        "type": op.type,
                        "name": name,
                        "custom": True,
                        "parent": None,
                        "provider": entry["urn"],
                        "dependencies": [],
                        "protect": False,
                        "inputs": copy.deepcopy(op.inputs),
                    }
                )
                expected = urn
            else:
                op.apply(entry, base)
        resources[index] = entry
    if case.reported == PROVIDER:
        expected = resources[targets[0][0]]["provider"]
    elif isinstance(case.reported, Target):
        expected = resources[case.reported.find(plan, resources)[0][0]]["urn"]
    mutated = plan.to_json() | {"resources": [r for i, r in enumerate(resources) if i not in removed] + added}
    return mutated, expected


# ---- the cases ------------------------------------------------------------------------------
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
VPA = "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
RELEASE = "kubernetes:helm.sh/v3:Release"
CNPG = "kubernetes:postgresql.cnpg.io/v1:Cluster"
CNPG_SCHEDULED = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
PSMDB = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
OT_REDIS = "kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
SUBNET = "aws:ec2/subnet:Subnet"
RDS = "aws:rds/instance:Instance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
ELASTICACHE_PARAMS = "aws:elasticache/parameterGroup:ParameterGroup"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ROUTE53_RECORD = "aws:route53/record:Record"
ROUTE53_CHECK = "aws:route53/healthCheck:HealthCheck"
AKS = "azure-native:containerservice:ManagedCluster"
AKS_POOL = "azure-native:containerservice:AgentPool"
AZ_PG = "azure-native:dbforpostgresql:Server"
AZ_PG_CONFIG = "azure-native:dbforpostgresql:Configuration"
AMR = "azure-native:redisenterprise:RedisEnterprise"
AMR_DB = "azure-native:redisenterprise:Database"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
TM_PROFILE = "azure-native:trafficmanager:Profile"
TM_ENDPOINT = "azure-native:trafficmanager:Endpoint"
VAULT = "azure-native:keyvault:Vault"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
K8S_PROVIDER = "pulumi:providers:kubernetes"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
ACR = "azure-native:containerregistry:Registry"
ACR_REPLICA = "azure-native:containerregistry:Replication"
SECRET = "kubernetes:core/v1:Secret"
GENERATED_PASSWORD = "random:index/randomPassword:RandomPassword"

DR_COMPONENT = "bakhmach:dr:DisasterRecovery"
MSK = "aws:msk/cluster:Cluster"
MSK_REPLICATOR = "aws:msk/replicator:Replicator"
ELASTICACHE_GLOBAL = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
RDS_BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
VPC = "aws:ec2/vpc:Vpc"
VPC_PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
VPC_PEERING_ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
PEERING_OPTIONS = "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions"
ROUTE = "aws:ec2/route:Route"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AZ_VNET = "azure-native:network:VirtualNetwork"
AZ_PEERING = "azure-native:network:VirtualNetworkPeering"
AZ_BACKUP_VAULT = "azure-native:dataprotection:BackupVault"
AZ_BACKUP_POLICY = "azure-native:dataprotection:BackupPolicy"
AZ_BACKUP_INSTANCE = "azure-native:dataprotection:BackupInstance"

CONTAINER = ("inputs", "spec", "template", "spec", "containers", 0)
SLON = Target(NAMESPACE, where=((("metadata", "name"), "slon-credit"),))
AUTH_HPA = Target(HPA, where=((("metadata", "name"), "auth-service"),))
AUTH_PDB = Target(PDB, where=((("metadata", "name"), "auth-service"),))
AUTH_DEPLOYMENT = Target(DEPLOYMENT, where=((("metadata", "name"), "auth-service"),))
PG_PRIMARY_RDS = Target(RDS, name="data-postgres-primary")
PG_PRIMARY_AZ = Target(AZ_PG, name="data-postgres-primary")
PRIMARY_EKS = Target(EKS, name="{stack}-eks")
PRIMARY_AKS = Target(AKS, name="{stack}-aks")
CNPG_CLUSTER = Target(CNPG, name="data-postgres-cluster")
DR = Target(DR_COMPONENT)
RDS_REPLICA_DR = Target(RDS, name="dr-postgres-replica")
BACKUP_RULE = ("inputs", "rules", 0)
DR_ROUTES_BACK = Target(ROUTE, where=((("vpcPeeringConnectionId",), "dr-network-peering-id"),), every=True)
GATEWAY_SERVICE = Target(SERVICE, where=((("metadata", "namespace"), "gateway"), (("metadata", "name"), "gateway")))
REALM_IMPORT = Target("kubernetes:k8s.keycloak.org/v2beta1:KeycloakRealmImport")
CLIENT_POLICY = Target("kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
GATEWAY = Target("kubernetes:gateway.networking.k8s.io/v1:Gateway")
ENVOY_PROXY = Target("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
# Staging and prod run canaries: Flagger creates slon-finance's Service from its Canary.
SLON_FINANCE_SERVICE = Target("kubernetes:flagger.app/v1beta1:Canary", where=((("metadata", "name"), "slon-finance"),))
KEYCLOAK_OPERATOR = Target(DEPLOYMENT, where=((("metadata", "name"), "keycloak-operator"),))
REALM = ("inputs", "spec", "realm")
# The realm's public client (browser and native apps): the last of its clients.
WEB_CLIENT = (*REALM, "clients", 9)
# An inline AKS pool of one fixed system node, as the policy reads it (a second bootstrap pool).
FIXED_SYSTEM_NODE = {
    "name": "spare",
    "mode": "System",
    "vmSize": "Standard_D4s_v5",
    "availabilityZones": ["1", "2", "3"],
    "enableAutoScaling": False,
    "count": 1,
    "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"],
}
MEMORY_GROUPS = Target(NODE_GROUP, where=((("labels", "bakhmach.io/pool-role"), "memory"),), every=True)
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
CANARY = "kubernetes:flagger.app/v1beta1:Canary"
KAFKA = "kubernetes:kafka.strimzi.io/v1:Kafka"
SLON_DEPLOYMENT = Target(DEPLOYMENT, where=((("metadata", "name"), "slon-finance"),))
SLON_ROUTES = Target(VIRTUAL_SERVICE, where=((("metadata", "name"), "slon-finance-routes"),))
SLON_CANARY = Target(CANARY, where=((("metadata", "name"), "slon-finance"),))
SLON_API_ROUTE = ("inputs", "spec", "http", 1)
KPS = Target(RELEASE, name="observability-kube-prometheus-stack")
PROMETHEUS_SPEC = ("inputs", "values", "prometheus", "prometheusSpec")
ILM_POLICIES = Target(CONFIG_MAP, where=((("metadata", "name"), "elasticsearch-ilm-policies"),))


def monitor_of(service: str) -> Target:
    """A context service's monitor: a PodMonitor on its sidecars (in the mesh)."""
    return Target(POD_MONITOR, where=((("metadata", "name"), service),))


def log_policy(delete_after: str) -> str:
    return json.dumps(
        {"policy": {"phases": {"hot": {"actions": {}}, "delete": {"min_age": delete_after, "actions": {"delete": {}}}}}}
    )


CASES: list[Case] = [
    # ---- workloads
    Case(
        "container-resources",
        ("staging-aws", "prod-azure"),
        Target(DEPLOYMENT),
        (Delete((*CONTAINER, "resources", "limits")),),
    ),
    Case(
        "pod-security",
        ("staging-azure", "prod-aws"),
        Target(DEPLOYMENT),
        (Set((*CONTAINER, "securityContext", "allowPrivilegeEscalation"), True),),
    ),
    Case(
        "context-pod-security-restricted",
        ("staging-azure", "prod-aws"),
        SLON,
        (Set(("inputs", "metadata", "labels", "pod-security.kubernetes.io/enforce"), "baseline"),),
    ),
    Case(
        "pinned-images",
        ("staging-aws", "prod-azure"),
        Target(DEPLOYMENT),
        (Set((*CONTAINER, "image"), "nginx:latest"),),
    ),
    Case(
        "hpa-bounds", ("staging-aws", "prod-azure"), AUTH_HPA, (Set(("inputs", "spec", "maxReplicas"), 20),), note="max"
    ),
    Case(
        "hpa-bounds",
        ("staging-azure", "prod-aws"),
        AUTH_HPA,
        (Set(("inputs", "spec", "metrics", 0, "resource", "target", "averageUtilization"), 90),),
        note="cpu target",
    ),
    Case(
        "hpa-bounds",
        ("prod-aws",),
        AUTH_HPA,
        (Set(("inputs", "spec", "behavior", "scaleUp", "stabilizationWindowSeconds"), 0),),
        note="scale-up window",
    ),
    Case(
        "hpa-bounds",
        ("staging-aws",),
        AUTH_HPA,
        (Set(("inputs", "spec", "behavior", "scaleDown", "stabilizationWindowSeconds"), 60),),
        note="scale-down window",
    ),
    Case(
        "hpa-bounds",
        ("prod-azure",),
        AUTH_HPA,
        (Set(("inputs", "spec", "behavior", "scaleDown", "policies", 0, "value"), 3),),
        note="cooldown",
    ),
    Case(
        "replicas-and-pdb",
        ("staging-aws", "prod-azure"),
        AUTH_PDB,
        (Set(("inputs", "spec", "selector", "matchLabels"), {"app.kubernetes.io/name": "someone-else"}),),
        reported=AUTH_DEPLOYMENT,
        note="no budget",
    ),
    Case(
        "replicas-and-pdb",
        ("staging-azure", "prod-aws"),
        AUTH_HPA,
        (Set(("inputs", "spec", "minReplicas"), 1),),
        reported=AUTH_DEPLOYMENT,
        note="replicas",
    ),
    Case(
        "vpa-hpa-conflict",
        ("staging-aws", "prod-azure"),
        Target(VPA, where=((("metadata", "name"), "auth-service"),)),
        (Set(("inputs", "spec", "updatePolicy", "updateMode"), "Recreate"),),
    ),
    # ---- network
    Case(
        "default-deny-per-context",
        ("staging-azure", "prod-aws"),
        Target(
            NETWORK_POLICY,
            where=((("metadata", "name"), "default-deny"), (("metadata", "namespace"), "slon-credit")),
        ),
        (Set(("inputs", "spec", "egress"), [{}]),),
        reported=SLON,
    ),
    Case(
        "egress-allowlist",
        ("staging-aws", "prod-azure"),
        Target(NETWORK_POLICY, where=((("metadata", "name"), "allow-to-data"),)),
        (Set(("inputs", "spec", "egress", 0, "to"), [{"ipBlock": {"cidr": "0.0.0.0/0"}}]),),
        note="0.0.0.0/0",
    ),
    Case(
        "egress-allowlist",
        ("prod-aws",),
        Target(NETWORK_POLICY, where=((("metadata", "name"), "allow-to-data"),)),
        (Delete(("inputs", "spec", "egress", 0, "to")),),
        note="no peers",
    ),
    Case(
        "mesh-mtls-strict",
        ("staging-aws", "prod-azure"),
        SLON,
        (
            AddBeside(
                "kubernetes:security.istio.io/v1:PeerAuthentication",
                "slon-credit-permissive",
                {
                    "apiVersion": "security.istio.io/v1",
                    "kind": "PeerAuthentication",
                    "metadata": {
                        "name": "permissive",
                        "namespace": "slon-credit",
                        "labels": {"bakhmach.io/context": "slon-credit"},
                    },
                    "spec": {"mtls": {"mode": "PERMISSIVE"}},
                },
            ),
        ),
        reported=ADDED,
    ),
    Case(
        "gateway-only-exposure",
        ("staging-azure", "prod-aws"),
        Target(SERVICE, where=((("spec", "type"), "ClusterIP"),)),
        (Set(("inputs", "spec", "type"), "LoadBalancer"),),
    ),
    Case(
        "gateway-only-exposure",
        ("staging-aws", "prod-azure"),
        GATEWAY,
        (Set(("inputs", "metadata", "namespace"), "slon-credit"),),
        note="gateway in a context",
    ),
    Case(
        "gateway-only-exposure",
        ("prod-aws",),
        ENVOY_PROXY,
        (
            Set(("inputs", "metadata", "namespace"), "slon-credit"),
            Set(("inputs", "spec", "provider", "kubernetes", "envoyService", "type"), "LoadBalancer"),
        ),
        note="proxy load balancer in a context",
    ),
    # ---- front door
    Case(
        "identity-token-lifetimes",
        ("staging-aws", "prod-azure"),
        REALM_IMPORT,
        (Set((*REALM, "accessTokenLifespan"), 86400),),
        note="access token",
    ),
    Case(
        "identity-token-lifetimes",
        ("staging-azure", "prod-aws"),
        REALM_IMPORT,
        (Delete((*REALM, "offlineSessionIdleTimeout")),),
        note="offline session default",
    ),
    Case(
        "identity-token-lifetimes",
        ("prod-aws",),
        REALM_IMPORT,
        (Set((*REALM, "ssoSessionMaxLifespan"), 30 * 86400),),
        note="refresh",
    ),
    Case(
        "identity-token-lifetimes",
        ("staging-aws",),
        REALM_IMPORT,
        (Set((*REALM, "clients", 0, "implicitFlowEnabled"), True),),
        note="implicit flow",
    ),
    Case(
        "identity-token-lifetimes",
        ("prod-azure",),
        REALM_IMPORT,
        (Delete((*WEB_CLIENT, "attributes", "pkce.code.challenge.method")),),
        note="pkce",
    ),
    Case(
        "identity-token-lifetimes",
        ("staging-azure",),
        REALM_IMPORT,
        (Set((*REALM, "defaultSignatureAlgorithm"), "HS256"),),
        note="rs256",
    ),
    Case(
        "gateway-tls-minimum",
        ("staging-azure", "prod-aws"),
        CLIENT_POLICY,
        (Set(("inputs", "spec", "tls", "minVersion"), "1.2"),),
        reported=GATEWAY,
    ),
    Case(
        "gateway-tls-minimum",
        ("staging-aws",),
        CLIENT_POLICY,
        (Remove(),),
        reported=GATEWAY,
        note="no client policy",
    ),
    Case(
        "context-services-routed",
        ("staging-aws", "prod-azure"),
        Target(HTTP_ROUTE, where=((("metadata", "name"), "slon-finance"),)),
        (Remove(),),
        reported=SLON_FINANCE_SERVICE,
    ),
    Case(
        "context-services-routed",
        ("staging-azure", "prod-aws"),
        Target(SECURITY_POLICY, where=((("metadata", "name"), "slon-finance"),)),
        (Delete(("inputs", "spec", "jwt")),),
        reported=SLON_FINANCE_SERVICE,
        note="no jwt",
    ),
    Case(
        "replicas-and-pdb",
        ("staging-aws", "prod-azure"),
        KEYCLOAK_OPERATOR,
        (Delete(("inputs", "metadata", "annotations")),),
        note="singleton without a reason",
    ),
    Case(
        "replicas-and-pdb",
        ("prod-aws",),
        KEYCLOAK_OPERATOR,
        (Set(("inputs", "spec", "replicas"), 2),),
        note="singleton asking for more",
    ),
    # ---- data
    Case(
        "data-encryption-at-rest",
        ("staging-aws", "prod-aws"),
        PG_PRIMARY_RDS,
        (Set(("inputs", "storageEncrypted"), False),),
    ),
    Case(
        "data-encryption-at-rest",
        ("staging-azure", "prod-azure"),
        PRIMARY_AKS,
        (Set(("inputs", "securityProfile", "azureKeyVaultKms", "enabled"), False),),
        note="aks secrets",
    ),
    Case(
        "data-tls-in-transit",
        ("staging-aws", "prod-aws"),
        Target(ELASTICACHE),
        (Set(("inputs", "transitEncryptionEnabled"), False),),
    ),
    Case(
        "data-tls-in-transit",
        ("prod-azure",),
        Target(AMR_DB),
        (Set(("inputs", "clientProtocol"), "Plaintext"),),
        note="amr",
    ),
    Case(
        "data-no-public-access",
        ("staging-aws", "prod-aws"),
        PG_PRIMARY_RDS,
        (Set(("inputs", "publiclyAccessible"), True),),
    ),
    Case(
        "data-no-public-access",
        ("prod-azure",),
        Target(AMR),
        (Set(("inputs", "publicNetworkAccess"), "Enabled"),),
        note="amr",
    ),
    Case(
        "data-backup-retention",
        ("staging-aws", "prod-aws"),
        PG_PRIMARY_RDS,
        (Set(("inputs", "backupRetentionPeriod"), 7),),
        note="rds",
    ),
    Case(
        "data-backup-retention",
        ("staging-azure", "prod-azure"),
        PG_PRIMARY_AZ,
        (Set(("inputs", "backup", "backupRetentionDays"), 7),),
        note="flexible server",
    ),
    Case(
        "data-backup-retention",
        ("prod-aws-in-cluster", "staging-azure-in-cluster"),
        Target(OBJECT_STORE),
        (Set(("inputs", "spec", "retentionPolicy"), "7d"),),
        note="cnpg retention",
    ),
    Case(
        "data-backup-retention",
        ("prod-azure-in-cluster",),
        Target(CNPG_SCHEDULED, every=True),
        (Remove(),),
        reported=CNPG_CLUSTER,
        note="cnpg schedule",
    ),
    Case(
        "data-backup-retention",
        ("staging-aws-in-cluster",),
        CNPG_CLUSTER,
        (Set(("inputs", "spec", "plugins", 0, "isWALArchiver"), False),),
        note="cnpg wal archive",
    ),
    Case("stateful-protection", ("staging-aws", "prod-aws"), PG_PRIMARY_RDS, (Set(("protect",), False),)),
    Case("stateful-protection", ("staging-azure",), PG_PRIMARY_AZ, (Set(("protect",), False),), note="azure"),
    Case(
        "s3-public-access-block",
        ("staging-aws", "prod-aws"),
        Target(BUCKET_BLOCK, name="data-backups-public-access-block"),
        (Set(("inputs", "blockPublicPolicy"), False),),
        reported=Target(BUCKET, name="data-backups-bucket"),
    ),
    Case(
        "tls13-where-offered",
        ("staging-azure", "prod-azure"),
        Target(AZ_PG_CONFIG, name="data-postgres-primary-tls13"),
        (Set(("inputs", "value"), "TLSv1.2"),),
        reported=PG_PRIMARY_AZ,
    ),
    Case(
        "tls13-where-offered",
        ("prod-aws",),
        Target(RDS_PARAMS, name="data-postgres-params"),
        (Set(("inputs", "parameters"), [{"name": "rds.force_ssl", "value": "1"}]),),
        reported=PG_PRIMARY_RDS,
        note="rds",
    ),
    # ---- availability
    Case(
        "postgres-ha",
        ("staging-aws", "prod-aws"),
        PG_PRIMARY_RDS,
        (Set(("inputs", "multiAz"), False),),
        note="multi-az",
    ),
    Case(
        "postgres-ha",
        ("staging-aws", "prod-aws"),
        Target(RDS, name="data-postgres-replica-2"),
        (Remove(),),
        reported=PG_PRIMARY_RDS,
        note="replicas",
    ),
    Case(
        "postgres-ha",
        ("staging-azure", "prod-azure"),
        PG_PRIMARY_AZ,
        (Set(("inputs", "highAvailability", "mode"), "SameZone"),),
        note="zone-redundant",
    ),
    Case(
        "postgres-ha",
        ("prod-azure",),
        Target(AZ_PG, name="data-postgres-replica-1"),
        (Remove(),),
        reported=PG_PRIMARY_AZ,
        note="azure replicas",
    ),
    Case(
        "postgres-ha",
        ("prod-aws-in-cluster", "staging-azure-in-cluster"),
        CNPG_CLUSTER,
        (Set(("inputs", "spec", "instances"), 2),),
        note="cnpg instances",
    ),
    Case(
        "postgres-ha",
        ("prod-azure-in-cluster",),
        CNPG_CLUSTER,
        (Set(("inputs", "spec", "affinity", "topologyKey"), "kubernetes.io/hostname"),),
        note="cnpg zones",
    ),
    Case(
        "mongo-replica-set",
        ("staging-aws", "prod-azure"),
        Target(PSMDB),
        (Set(("inputs", "spec", "replsets", 0, "size"), 1),),
    ),
    Case(
        "mongo-replica-set",
        ("prod-aws",),
        Target(PSMDB),
        (Set(("inputs", "spec", "replsets", 0, "affinity", "antiAffinityTopologyKey"), "kubernetes.io/hostname"),),
        note="zones",
    ),
    Case(
        "mongo-replica-set",
        ("staging-azure", "prod-aws"),
        Target(PSMDB),
        (Set(("inputs", "spec", "sharding", "configsvrReplSet", "size"), 1),),
        note="config servers",
    ),
    Case(
        "mongo-replica-set",
        ("prod-azure",),
        Target(PSMDB),
        (
            Set(
                ("inputs", "spec", "sharding", "configsvrReplSet", "affinity", "antiAffinityTopologyKey"),
                "kubernetes.io/hostname",
            ),
        ),
        note="config servers' zones",
    ),
    Case(
        "mongo-replica-set",
        ("staging-aws", "prod-azure"),
        Target(PSMDB),
        (Set(("inputs", "spec", "sharding", "mongos", "size"), 1),),
        note="one router",
    ),
    Case(
        "mongo-replica-set",
        ("prod-aws",),
        Target(PSMDB),
        (
            Set(
                ("inputs", "spec", "sharding", "mongos", "affinity", "antiAffinityTopologyKey"),
                "kubernetes.io/hostname",
            ),
        ),
        note="routers' zones",
    ),
    Case(
        "cache-ha",
        ("staging-aws", "prod-aws"),
        Target(ELASTICACHE),
        (Set(("inputs", "numNodeGroups"), 2),),
        note="4 nodes",
    ),
    Case(
        "cache-ha",
        ("prod-aws",),
        Target(ELASTICACHE),
        (Set(("inputs", "replicasPerNodeGroup"), 0),),
        note="no replicas",
    ),
    Case(
        "cache-ha",
        ("staging-aws",),
        Target(ELASTICACHE),
        (Set(("inputs", "automaticFailoverEnabled"), False),),
        note="failover",
    ),
    Case(
        "cache-ha",
        ("staging-azure", "prod-azure"),
        Target(AMR),
        (Set(("inputs", "highAvailability"), "Disabled"),),
        note="amr",
    ),
    Case(
        "cache-ha",
        ("prod-azure-in-cluster", "staging-aws-in-cluster"),
        Target(OT_REDIS),
        (Set(("inputs", "spec", "redisFollower", "replicas"), 1),),
        note="in-cluster followers",
    ),
    Case(
        "cache-eviction-policy",
        ("staging-aws", "prod-aws"),
        Target(ELASTICACHE_PARAMS),
        (
            Set(
                ("inputs", "parameters"),
                [{"name": "cluster-enabled", "value": "yes"}, {"name": "maxmemory-policy", "value": "volatile-lru"}],
            ),
        ),
    ),
    Case(
        "cache-eviction-policy",
        ("staging-azure", "prod-azure"),
        Target(AMR_DB),
        (Set(("inputs", "evictionPolicy"), "NoEviction"),),
        note="amr",
    ),
    Case(
        "cache-eviction-policy",
        ("prod-aws-in-cluster",),
        Target(CONFIG_MAP, name="data-redis-config"),
        (Set(("inputs", "data"), {"redis-additional.conf": "maxmemory-policy volatile-lru\n"}),),
        note="in-cluster",
    ),
    Case(
        "pdb-max-unavailable", ("staging-aws", "prod-azure"), AUTH_PDB, (Set(("inputs", "spec", "maxUnavailable"), 3),)
    ),
    Case(
        "pdb-max-unavailable",
        ("prod-aws",),
        AUTH_PDB,
        (Delete(("inputs", "spec", "maxUnavailable")), Set(("inputs", "spec", "minAvailable"), 1)),
        note="minAvailable",
    ),
    Case(
        "pdb-max-unavailable",
        ("prod-aws-in-cluster",),
        Target(OT_REDIS),
        (Set(("inputs", "spec", "redisLeader", "pdb", "maxUnavailable"), 2),),
        note="redis operator",
    ),
    Case(
        "pdb-max-unavailable",
        ("prod-azure",),
        Target(PSMDB),
        (Set(("inputs", "spec", "replsets", 0, "podDisruptionBudget", "maxUnavailable"), 2),),
        note="mongo operator",
    ),
    Case(
        "pdb-max-unavailable",
        ("staging-aws",),
        Target(PSMDB),
        (Set(("inputs", "spec", "sharding", "mongos", "podDisruptionBudget", "maxUnavailable"), 2),),
        note="mongo routers",
    ),
    Case(
        "pdb-max-unavailable",
        ("prod-aws",),
        Target(PSMDB),
        (Set(("inputs", "spec", "sharding", "configsvrReplSet", "podDisruptionBudget", "maxUnavailable"), 2),),
        note="mongo config servers",
    ),
    # The gateway's public entry point (its LoadBalancer Service) in each region's cluster, and
    # the failover records or profile gone.
    Case(
        "prod-multi-region-failover",
        ("prod-aws",),
        Target(ROUTE53_RECORD, every=True),
        (Remove(),),
        reported=GATEWAY_SERVICE,
        note="gateway without failover",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-azure",),
        Target(TM_PROFILE),
        (Remove(),),
        reported=GATEWAY_SERVICE,
        note="gateway without traffic manager",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-aws",),
        Target(ROUTE53_RECORD, name="prod-failover"),
        (Set(("inputs", "ttl"), 300),),
        note="ttl",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-aws",),
        Target(ROUTE53_RECORD, name="prod-failover"),
        (Delete(("inputs", "healthCheckId")), DropDependencies(ROUTE53_CHECK)),
        note="health check",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-aws",),
        Target(ROUTE53_RECORD, name="prod-eu-west-1-failover"),
        (Remove(),),
        reported=GATEWAY_SERVICE,
        note="one record",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-azure",),
        Target(TM_PROFILE),
        (Set(("inputs", "monitorConfig", "intervalInSeconds"), 30),),
        note="probe",
    ),
    Case(
        "prod-multi-region-failover",
        ("prod-azure",),
        Target(TM_ENDPOINT, name="prod-northeurope-endpoint"),
        (Set(("inputs", "endpointStatus"), "Disabled"),),
        reported=Target(TM_PROFILE),
        note="one endpoint",
    ),
    # ---- clusters
    Case(
        "cluster-api-private",
        ("staging-aws", "prod-aws"),
        PRIMARY_EKS,
        (Set(("inputs", "vpcConfig", "endpointPublicAccess"), True),),
    ),
    Case(
        "cluster-api-private",
        ("staging-azure", "prod-azure"),
        PRIMARY_AKS,
        (
            Set(
                ("inputs", "apiServerAccessProfile"),
                {"enablePrivateCluster": False, "authorizedIPRanges": ["0.0.0.0/0"]},
            ),
        ),
        note="aks",
    ),
    Case(
        "cluster-audit-logs",
        ("staging-aws", "prod-aws"),
        PRIMARY_EKS,
        (Set(("inputs", "enabledClusterLogTypes"), ["api", "authenticator"]),),
    ),
    Case(
        "cluster-audit-logs",
        ("staging-azure", "prod-azure"),
        Target(DIAGNOSTICS, name="{stack}-control-plane-logs"),
        (Set(("inputs", "logs"), [{"category": "kube-apiserver", "enabled": True}]),),
        reported=PRIMARY_AKS,
        note="aks",
    ),
    Case(
        "cluster-identity-rbac",
        ("staging-azure", "prod-azure"),
        PRIMARY_AKS,
        (Set(("inputs", "disableLocalAccounts"), False),),
    ),
    Case(
        "cluster-identity-rbac",
        ("prod-azure",),
        PRIMARY_AKS,
        (Set(("inputs", "aadProfile", "enableAzureRBAC"), False),),
        note="azure rbac",
    ),
    Case(
        "cluster-identity-rbac",
        ("staging-aws", "prod-aws"),
        PRIMARY_EKS,
        (Set(("inputs", "accessConfig", "authenticationMode"), "API_AND_CONFIG_MAP"),),
        note="eks",
    ),
    Case(
        "cluster-network-policy-enforcement",
        ("staging-aws", "prod-aws"),
        Target(EKS_ADDON, name="{stack}-vpc-cni"),
        (Set(("inputs", "configurationValues"), "{}"),),
    ),
    Case(
        "cluster-network-policy-enforcement",
        ("staging-azure", "prod-azure"),
        PRIMARY_AKS,
        (Set(("inputs", "networkProfile", "networkPolicy"), "none"),),
        note="aks",
    ),
    # ---- nodes
    Case(
        "node-pool-bounds",
        ("staging-aws", "prod-aws"),
        Target(NODE_GROUP, name="{stack}-compute"),
        (Set(("inputs", "scalingConfig", "minSize"), 1),),
        reported=PRIMARY_EKS,
        note="eks floor",
    ),
    Case(
        "node-pool-bounds",
        ("prod-aws",),
        Target(NODE_GROUP, name="{stack}-compute"),
        (Set(("inputs", "scalingConfig", "maxSize"), 45),),
        reported=PRIMARY_EKS,
        note="eks ceiling",
    ),
    Case(
        "node-pool-bounds",
        ("prod-azure",),
        AksPool("system"),
        (Set(("minCount",), 1),),
        reported=PRIMARY_AKS,
        note="aks system pool floor",
    ),
    Case(
        "node-pool-bounds",
        ("staging-azure", "prod-azure"),
        AksPool("compute"),
        (Set(("minCount",), 1),),
        reported=PRIMARY_AKS,
        note="aks compute pool floor",
    ),
    Case(
        "node-pool-bounds",
        ("prod-azure",),
        AksPool("memory"),
        (Set(("maxCount",), 40),),
        reported=PRIMARY_AKS,
        note="aks ceiling",
    ),
    Case(
        "node-pool-bounds",
        ("staging-azure", "prod-azure"),
        AksPool("bootstrap"),
        (Set(("count",), 2),),
        reported=PRIMARY_AKS,
        note="aks fixed pool counts in the ceiling",
    ),
    Case(
        "node-pool-mix",
        ("staging-aws", "prod-aws"),
        MEMORY_GROUPS,
        (Set(("inputs", "instanceTypes"), ["m7i.2xlarge"]),),
        reported=PRIMARY_EKS,
    ),
    Case(
        "node-pool-mix",
        ("staging-azure", "prod-azure"),
        AksPool("memory"),
        (Set(("vmSize",), "Standard_D8s_v5"),),
        reported=PRIMARY_AKS,
        note="aks",
    ),
    Case(
        "cluster-multi-zone",
        ("staging-azure", "prod-azure"),
        AksPool("compute"),
        (Set(("availabilityZones",), ["1"]),),
        note="aks",
    ),
    Case(
        "cluster-multi-zone",
        ("staging-aws", "prod-aws"),
        Target(NODE_GROUP, name="{stack}-compute"),
        (Keep(("inputs", "subnetIds"), 1), DropDependencies(SUBNET, keep=1)),
        note="eks",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-aws", "prod-aws"),
        Target(RELEASE, name="{stack}-cluster-autoscaler"),
        (Set(("inputs", "values", "extraArgs", "scale-down-utilization-threshold"), 0.5),),
        note="eks target",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("prod-aws",),
        Target(RELEASE, name="{stack}-cluster-autoscaler"),
        (Set(("inputs", "values", "extraArgs", "scale-down-unneeded-time"), "20m"),),
        note="eks scale-down",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-aws",),
        Target(RELEASE, name="{stack}-cluster-autoscaler"),
        (Set(("inputs", "values", "extraArgs", "max-nodes-total"), 80),),
        note="eks ceiling",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("prod-aws",),
        Target(RELEASE, name="{stack}-cluster-autoscaler"),
        (Remove(),),
        reported=PRIMARY_EKS,
        note="eks without autoscaler",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-azure", "prod-azure"),
        PRIMARY_AKS,
        (Set(("inputs", "autoScalerProfile", "scaleDownUnneededTime"), "30m"),),
        note="aks scale-down",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("prod-azure",),
        PRIMARY_AKS,
        (Set(("inputs", "autoScalerProfile", "scaleDownUtilizationThreshold"), "0.5"),),
        note="aks target",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-azure",),
        AksPool("compute"),
        (Set(("enableAutoScaling",), False),),
        note="aks pool without autoscaling",
    ),
    # The one exemption is a fixed pool of one System node tainted CriticalAddonsOnly.
    Case(
        "cluster-autoscaler-targets",
        ("staging-azure", "prod-azure"),
        AksPool("bootstrap"),
        (Set(("count",), 3),),
        note="aks fixed pool of three nodes",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-azure", "prod-azure"),
        AksPool("bootstrap"),
        (Delete(("nodeTaints",)),),
        note="aks fixed pool without the taint",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("prod-azure",),
        AksPool("bootstrap"),
        (Set(("nodeTaints",), ["CriticalAddonsOnly=true:PreferNoSchedule"]),),
        note="aks fixed pool with a soft taint",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("staging-azure",),
        AksPool("bootstrap"),
        (Set(("mode",), "User"),),
        note="aks fixed user pool",
    ),
    Case(
        "cluster-autoscaler-targets",
        ("prod-azure",),
        PRIMARY_AKS,
        (Set(("inputs", "agentPoolProfiles"), [FIXED_SYSTEM_NODE | {"name": "bootstrap"}, FIXED_SYSTEM_NODE]),),
        note="aks second fixed pool",
    ),
    # ---- secrets and tenant isolation
    Case(
        "per-context-credentials",
        ("staging-aws", "prod-azure"),
        Target(SECRET, name="ns-slon-credit-data-postgres"),
        (DropDependencies(GENERATED_PASSWORD),),
        note="own credential from no generated password",
    ),
    Case(
        "per-context-credentials",
        ("staging-azure",),
        Target(SECRET, name="ns-slon-credit-data-kafka"),
        (Delete(("inputs", "metadata", "labels", "bakhmach.io/credential-scope")),),
        note="undeclared scope",
    ),
    Case(
        "per-context-credentials",
        ("prod-aws",),
        Target(SECRET, name="ns-bakhmach-hub-data-mongo"),
        (Set(("inputs", "metadata", "labels", "bakhmach.io/credential-scope"), "shared"),),
        note="shared without a reason",
    ),
    # slon-finance names auth-service's database (env 7: POSTGRES_DATABASE, after the four
    # service vars and POSTGRES_HOST/PORT/TLS).
    Case(
        "per-context-credentials",
        ("staging-aws", "prod-azure"),
        Target(DEPLOYMENT, where=((("metadata", "name"), "slon-finance"),)),
        (Set((*CONTAINER, "env", 7), {"name": "POSTGRES_DATABASE", "value": "platform"}),),
        note="another context's database",
    ),
    Case(
        "shared-data-credentials",
        ("staging-aws", "prod-aws"),
        Target(SECRET, name="ns-slon-credit-data-redis"),
        (
            Set(("inputs", "metadata", "labels", "bakhmach.io/credential-scope"), "shared"),
            Set(("inputs", "metadata", "annotations"), {"bakhmach.io/credential-shared-because": "one AUTH token"}),
        ),
    ),
    Case(
        "sealed-secrets-key-renewal",
        ("staging-aws", "prod-azure"),
        Target(RELEASE, name="sealed-secrets-controller"),
        (Set(("inputs", "values", "keyrenewperiod"), "0"),),
        note="renewal off",
    ),
    Case(
        "sealed-secrets-key-renewal",
        ("staging-azure",),
        Target(RELEASE, name="sealed-secrets-controller"),
        (Set(("inputs", "values", "keyrenewperiod"), "1440h"),),
        note="60 days",
    ),
    Case(
        "sealed-secrets-key-renewal",
        ("prod-aws",),
        Target(RELEASE, name="sealed-secrets-controller"),
        (Remove(),),
        reported=PROVIDER,
        note="no controller",
    ),
    # ---- ownership
    # An empty tag on the resource overrides the AWS provider's default tag.
    Case("cloud-resource-tags", ("staging-aws", "prod-aws"), PRIMARY_EKS, (Set(("inputs", "tags", "owner"), ""),)),
    Case("cloud-resource-tags", ("prod-azure",), Target(VAULT), (Delete(("inputs", "tags", "owner")),), note="azure"),
    Case(
        "kubernetes-context-label",
        ("staging-aws", "prod-azure"),
        AUTH_DEPLOYMENT,
        (Set(("inputs", "metadata", "labels", "bakhmach.io/context"), "slon-credit"),),
    ),
    Case(
        "environment-ttl",
        ("staging-azure", "prod-aws"),
        SLON,
        (Set(("inputs", "metadata", "annotations", "bakhmach.io/ttl"), "7d"),),
    ),
    Case(
        "environment-ttl",
        ("staging-aws", "prod-aws"),
        PG_PRIMARY_RDS,
        (Set(("inputs", "tags", "ttl"), "7d"),),
        note="aws",
    ),
    Case(
        "environment-ttl",
        ("prod-azure",),
        Target(RESOURCE_GROUP),
        (Set(("inputs", "tags", "ttl"), "30d"),),
        note="azure",
    ),
    # ---- capacity
    Case(
        "capacity-at-hpa-max",
        ("staging-aws", "prod-azure"),
        AUTH_DEPLOYMENT,
        (
            Set((*CONTAINER, "resources", "requests", "cpu"), "64"),
            Set((*CONTAINER, "resources", "limits", "cpu"), "64"),
        ),
        reported=PROVIDER,
    ),
    # ---- service mesh
    Case(
        "mesh-service-resilience",
        ("staging-aws", "prod-azure"),
        SLON_ROUTES,
        (Delete((*SLON_API_ROUTE, "timeout")),),
        reported=SLON_DEPLOYMENT,
        note="no timeout",
    ),
    Case(
        "mesh-service-resilience",
        ("prod-aws",),
        SLON_ROUTES,
        (Set((*SLON_API_ROUTE, "timeout"), "120s"),),
        reported=SLON_DEPLOYMENT,
        note="timeout above 30s",
    ),
    Case(
        "mesh-service-resilience",
        ("staging-azure",),
        SLON_ROUTES,
        (Set((*SLON_API_ROUTE, "retries", "attempts"), 1),),
        reported=SLON_DEPLOYMENT,
        note="one attempt",
    ),
    Case(
        "mesh-service-resilience",
        ("prod-aws",),
        SLON_ROUTES,
        (Set((*SLON_API_ROUTE, "retries", "retryOn"), "gateway-error"),),
        reported=SLON_DEPLOYMENT,
        note="retry on",
    ),
    Case(
        "mesh-service-resilience",
        ("staging-aws", "prod-azure"),
        SLON_CANARY,
        (Delete(("inputs", "spec", "service", "trafficPolicy", "outlierDetection")),),
        reported=SLON_DEPLOYMENT,
        note="no outlier detection",
    ),
    Case(
        "mesh-service-resilience",
        ("prod-aws",),
        SLON_ROUTES,
        (Remove(),),
        reported=SLON_DEPLOYMENT,
        note="not routed",
    ),
    Case(
        "canary-rollout",
        ("staging-aws", "prod-azure"),
        SLON_CANARY,
        (Remove(),),
        reported=SLON_DEPLOYMENT,
    ),
    Case(
        "canary-rollout",
        ("prod-aws",),
        SLON_CANARY,
        (Set(("inputs", "spec", "analysis", "maxWeight"), 50),),
        note="weight",
    ),
    Case(
        "canary-rollout",
        ("staging-azure",),
        SLON_CANARY,
        (Set(("inputs", "spec", "analysis", "metrics", 0, "thresholdRange", "min"), 90),),
        note="success rate",
    ),
    Case(
        "data-connections-tls",
        ("staging-aws", "prod-azure"),
        SLON_DEPLOYMENT,
        (Set((*CONTAINER, "env", 6), {"name": "POSTGRES_TLS", "value": "false"}),),
        note="client",
    ),
    Case(
        "data-connections-tls",
        ("staging-azure", "prod-aws"),
        Target(PSMDB),
        (Set(("inputs", "spec", "tls", "mode"), "preferTLS"),),
        note="mongo",
    ),
    Case(
        "data-connections-tls",
        ("staging-azure",),
        Target(KAFKA),
        (Set(("inputs", "spec", "kafka", "listeners", 0, "tls"), False),),
        note="kafka",
    ),
    Case(
        "data-connections-tls",
        ("prod-aws-in-cluster",),
        Target(OT_REDIS),
        (Delete(("inputs", "spec", "TLS")),),
        note="redis",
    ),
    Case(
        "data-connections-tls",
        ("staging-aws-in-cluster",),
        CNPG_CLUSTER,
        (Set(("inputs", "spec", "postgresql", "pg_hba", 0), "host sameuser all all scram-sha-256"),),
        note="postgres",
    ),
    # ---- observability
    Case(
        "context-services-scraped",
        ("staging-aws", "prod-azure"),
        monitor_of("slon-finance"),
        (Remove(),),
        reported=Target(DEPLOYMENT, where=((("metadata", "name"), "slon-finance"),)),
    ),
    Case(
        "context-services-scraped",
        ("prod-aws",),
        monitor_of("auth-service"),
        (Set(("inputs", "spec", "selector", "matchLabels"), {"app.kubernetes.io/name": "auth"}),),
        reported=AUTH_DEPLOYMENT,
        note="selector",
    ),
    Case(
        "prometheus-retention-and-interval",
        ("staging-azure", "prod-aws"),
        KPS,
        (Set((*PROMETHEUS_SPEC, "retention"), "30d"),),
    ),
    Case(
        "prometheus-retention-and-interval",
        ("staging-aws",),
        KPS,
        (Set((*PROMETHEUS_SPEC, "scrapeInterval"), "1m"),),
        note="interval",
    ),
    Case(
        "prometheus-retention-and-interval",
        ("prod-azure",),
        monitor_of("slon-finance"),
        (Set(("inputs", "spec", "podMetricsEndpoints", 0, "interval"), "60s"),),
        note="monitor interval",
    ),
    Case(
        "prometheus-retention-and-interval",
        ("prod-aws",),
        KPS,
        (Remove(),),
        reported=PROVIDER,
        note="no prometheus",
    ),
    Case(
        "log-retention-30-90",
        ("staging-aws", "prod-azure"),
        ILM_POLICIES,
        (Set(("inputs", "data", "bakhmach-logs.json"), log_policy("365d")),),
    ),
    Case(
        "log-retention-30-90",
        ("prod-aws",),
        ILM_POLICIES,
        (Set(("inputs", "data", "bakhmach-logs.json"), log_policy("14d")),),
        note="too short",
    ),
    Case(
        "log-retention-30-90",
        ("staging-azure",),
        Target("kubernetes:beat.k8s.elastic.co/v1beta1:Beat"),
        (Set(("inputs", "spec", "config", "setup.ilm.policy_name"), "filebeat"),),
        note="shipper",
    ),
    Case(
        "log-retention-30-90",
        ("prod-aws",),
        ILM_POLICIES,
        (Remove(),),
        reported=Target("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"),
        note="no policy",
    ),
    # ---- disaster recovery (prod)
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        RDS_REPLICA_DR,
        (Remove(),),
        reported=PG_PRIMARY_RDS,
        note="no rds replica",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        RDS_REPLICA_DR,
        (Set(("inputs", "storageEncrypted"), False),),
        note="replica unencrypted",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        Target(RDS_BACKUP_REPLICATION),
        (Remove(),),
        reported=PG_PRIMARY_RDS,
        note="backups not replicated",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        Target(ELASTICACHE_GLOBAL),
        (Remove(),),
        reported=Target(ELASTICACHE, name="data-redis-replication-group"),
        note="no global datastore",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        Target(MSK_REPLICATOR),
        (Remove(),),
        reported=Target(MSK, name="data-kafka-cluster"),
        note="no replicator",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-azure",),
        Target(AZ_PG, name="dr-postgres-replica"),
        (Remove(),),
        reported=PG_PRIMARY_AZ,
        note="no flexible replica",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-azure",),
        Target(AMR_DB, name="dr-redis-database"),
        (Keep(("inputs", "geoReplication", "linkedDatabases"), 1),),
        reported=Target(AMR, name="data-redis-cluster"),
        note="redis not geo-replicated",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-aws",),
        Target(PSMDB),
        (Delete(("inputs", "spec", "replsets", 0, "externalNodes")),),
        note="shard without secondary members",
    ),
    Case(
        "dr-cross-region-copies",
        ("prod-azure",),
        Target(PSMDB),
        (Delete(("inputs", "spec", "sharding", "configsvrReplSet", "externalNodes")),),
        note="config servers without secondary members",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws",),
        Target(BACKUP_PLAN),
        (Set((*BACKUP_RULE, "schedule"), "cron(0 */12 * * ? *)"),),
        note="every 12 hours",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws",),
        Target(BACKUP_PLAN),
        (Set((*BACKUP_RULE, "lifecycle", "deleteAfter"), 30),),
        note="kept 30 days",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws",),
        Target(BACKUP_PLAN),
        (Set((*BACKUP_RULE, "copyActions"), []),),
        note="no cross-region copy",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws",),
        Target(BACKUP_SELECTION),
        (Remove(),),
        reported=PG_PRIMARY_RDS,
        note="rds not selected",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws",),
        Target(S3_REPLICATION),
        (Remove(),),
        reported=Target(BUCKET, name="data-backups-bucket"),
        note="bucket not replicated",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure",),
        Target(AZ_BACKUP_VAULT),
        (Set(("inputs", "properties", "storageSettings", 0, "type"), "LocallyRedundant"),),
        note="vault not geo-redundant",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure",),
        Target(AZ_BACKUP_VAULT),
        (Set(("inputs", "properties", "featureSettings", "crossRegionRestoreSettings", "state"), "Disabled"),),
        note="no cross-region restore",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure",),
        Target(AZ_BACKUP_POLICY),
        (Set(("inputs", "properties", "policyRules", 1, "lifecycles", 0, "deleteAfter", "duration"), "P30D"),),
        note="azure kept 30 days",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure",),
        Target(AZ_BACKUP_INSTANCE),
        (Remove(),),
        reported=PG_PRIMARY_AZ,
        note="flexible server not protected",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure",),
        Target("azure-native:storage:StorageAccount", name="data-backups-mongo-account"),
        (Set(("inputs", "sku", "name"), "Standard_ZRS"),),
        note="backups account in one region",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws", "prod-azure"),
        Target(PSMDB),
        (Keep(("inputs", "spec", "backup", "tasks"), 1),),
        note="mongo daily only",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-aws-in-cluster",),
        Target(CNPG_SCHEDULED, name="data-postgres-snapshot-backup"),
        (Remove(),),
        reported=CNPG_CLUSTER,
        note="cnpg daily only",
    ),
    Case(
        "dr-backups-every-6-hours-90-days",
        ("prod-azure-in-cluster",),
        Target(OBJECT_STORE),
        (Set(("inputs", "spec", "retentionPolicy"), "30d"),),
        note="cnpg kept 30 days",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-aws",),
        Target(VPC_PEERING_ACCEPTER, name="dr-network-peering-accepter"),
        (Remove(),),
        reported=Target(VPC, name="prod-vpc"),
        note="peering not accepted",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-aws",),
        Target(PEERING_OPTIONS, name="dr-network-peering-dns-accepter"),
        (Set(("inputs", "accepter", "allowRemoteVpcDnsResolution"), False),),
        reported=Target(VPC_PEERING, name="dr-network-peering"),
        note="no dns across",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-aws",),
        DR_ROUTES_BACK,
        (Remove(),),
        reported=Target(VPC_PEERING, name="dr-network-peering"),
        note="not routed",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-aws",),
        Target(SG_INGRESS, name="dr-kafka-iam-from-replicator"),
        (
            AddBeside(
                SG_INGRESS,
                "everything-from-the-primary-region",
                {"securityGroupId": "sg-1", "cidrIpv4": "10.60.0.0/16", "ipProtocol": "-1"},
            ),
        ),
        reported=ADDED,
        note="all ports open across",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-azure",),
        Target(AZ_PEERING, name="dr-network-peering"),
        (Set(("inputs", "allowForwardedTraffic"), True),),
        note="forwarding",
    ),
    Case(
        "dr-inter-region-network",
        ("prod-azure",),
        Target(AZ_PEERING, name="dr-network-peering-back"),
        (Remove(),),
        reported=Target(AZ_VNET, name="prod-vnet"),
        note="one way only",
    ),
    Case(
        "dr-rto-budget",
        ("prod-aws",),
        Target(ROUTE53_RECORD, name="prod-failover"),
        (Set(("inputs", "ttl"), 600),),
        reported=DR,
        note="long record ttl",
    ),
    Case(
        "dr-rto-budget",
        ("prod-aws",),
        Target(ROUTE53_CHECK, every=True),
        (Set(("inputs", "requestInterval"), 30), Set(("inputs", "failureThreshold"), 10)),
        reported=DR,
        note="slow detection",
    ),
    Case(
        "dr-rto-budget",
        ("prod-azure",),
        Target(TM_PROFILE),
        (Set(("inputs", "dnsConfig", "ttl"), 600),),
        reported=DR,
        note="long ttl",
    ),
    Case(
        "dr-rto-budget",
        ("prod-azure",),
        Target(TM_PROFILE),
        (Set(("inputs", "monitorConfig", "toleratedNumberOfFailures"), 20),),
        reported=DR,
        note="slow probes",
    ),
    # ---- registry
    Case(
        "images-from-allowed-registries",
        ("staging-aws", "prod-azure"),
        AUTH_DEPLOYMENT,
        (Set((*CONTAINER, "image"), "docker.io/bakhmach/auth-service:1.0.0"),),
        note="context service",
    ),
    Case(
        "images-from-allowed-registries",
        ("prod-aws-ecr", "staging-azure-acr"),
        AUTH_DEPLOYMENT,
        (Set((*CONTAINER, "image"), "ghcr.io/bakhmach-business-hub/auth-service:1.0.0"),),
        note="not the stack's registry",
    ),
    Case(
        "images-from-allowed-registries",
        ("staging-azure", "prod-aws-ecr"),
        Target(DEPLOYMENT, where=((("metadata", "namespace"), "telemetry"),)),
        (Set((*CONTAINER, "image"), "docker.io/someone/jaeger:2.20.0"),),
        note="third party",
    ),
    Case(
        "images-from-allowed-registries",
        ("staging-aws",),
        Target(PSMDB),
        (Set(("inputs", "spec", "image"), "docker.io/someone/percona-server-mongodb:8.0.19-7"),),
        note="custom resource",
    ),
    Case(
        "registry-hardened",
        ("staging-aws-ecr", "prod-aws-ecr"),
        Target(ECR_REPOSITORY),
        (Set(("inputs", "imageTagMutability"), "MUTABLE"),),
        note="mutable tags",
    ),
    Case(
        "registry-hardened",
        ("prod-aws-ecr",),
        Target(ECR_REPOSITORY, name="registry-eu-west-1-slon-finance"),
        (Set(("inputs", "imageScanningConfiguration", "scanOnPush"), False),),
        note="no scan",
    ),
    Case(
        "registry-hardened",
        ("staging-aws-ecr",),
        Target(ECR_REPOSITORY),
        (Set(("inputs", "encryptionConfigurations"), [{"encryptionType": "AES256"}]),),
        note="no kms",
    ),
    Case(
        "registry-hardened",
        ("staging-aws-ecr",),
        Target(ECR_LIFECYCLE, name="registry-auth-service-lifecycle"),
        (Remove(),),
        reported=Target(ECR_REPOSITORY, name="registry-auth-service"),
        note="no lifecycle",
    ),
    Case(
        "registry-hardened",
        ("prod-aws-ecr",),
        Target(ECR_REPLICATION),
        (Remove(),),
        reported=Target(ECR_REPOSITORY, name="registry-auth-service"),
        note="no replication",
    ),
    Case(
        "registry-hardened",
        ("prod-aws-ecr",),
        Target(ECR_REPOSITORY, name="registry-eu-west-1-auth-service"),
        (Remove(),),
        reported=Target(ECR_REPOSITORY, name="registry-auth-service"),
        note="no replica repository",
    ),
    Case(
        "registry-hardened",
        ("staging-azure-acr", "prod-azure-acr"),
        Target(ACR),
        (Set(("inputs", "adminUserEnabled"), True),),
        note="admin user",
    ),
    Case(
        "registry-hardened",
        ("prod-azure-acr",),
        Target(ACR_REPLICA),
        (Remove(),),
        reported=Target(ACR),
        note="no geo replica",
    ),
]


def _id(case: Case) -> str:
    return f"{case.policy}{'-' + case.note.replace(' ', '-') if case.note else ''}"


PARAMS = [pytest.param(case, key, id=f"{_id(case)}@{key}") for case in CASES for key in case.plans]


# ---- running one policy ---------------------------------------------------------------------


def _run(policy: str, plan: dict[str, Any]) -> PolicyReport:
    environment = str(plan["stack"])
    return run_policies(plan, config_for(environment), [BY_NAME[policy]])


@functools.cache
def _baseline(policy: str, key: str) -> tuple[list[Violation], list[Violation]]:
    report = _run(policy, plan_of(key).to_json())
    return report.violations, report.skipped


def expected_level(policy: str, environment: str) -> str:
    return str(config_for(environment)[policy]["enforcementLevel"])


# ---- the tests ------------------------------------------------------------------------------


def test_every_policy_has_a_mutation_case() -> None:
    assert {c.policy for c in CASES} == set(BY_NAME)


def test_every_case_breaks_a_staging_or_prod_plan() -> None:
    for case in CASES:
        assert case.plans, case
        assert all(key.split("-")[0] in ("staging", "prod") for key in case.plans), case


def test_staging_and_prod_levels_are_mandatory_except_advisory_policies() -> None:
    for policy in POLICIES:
        for environment in ("staging", "prod"):
            advisory = policy.enforcement_level == EnforcementLevel.ADVISORY
            assert expected_level(policy.name, environment) == ("advisory" if advisory else "mandatory")


@pytest.mark.parametrize(("case", "key"), PARAMS)
def test_the_pack_catches_the_mutation(case: Case, key: str) -> None:
    plan = plan_of(key)
    violations, skipped = _baseline(case.policy, key)
    assert violations == [] and skipped == [], f"{case.policy} fails the unbroken {key} plan: {violations or skipped}"
    mutated, expected_urn = mutate(case, plan)
    report = _run(case.policy, mutated)
    assert report.skipped == [], report.skipped
    hits = [v for v in report.violations if v.urn == expected_urn]
    assert hits, f"{case.policy} did not report {expected_urn}; it reported {report.violations}"
    assert {v.level for v in hits} == {expected_level(case.policy, plan.stack)}
    assert all(v.policy == case.policy for v in report.violations)


@pytest.mark.parametrize(
    "key",
    [
        "staging-aws-in-cluster",
        "staging-azure-in-cluster",
        "prod-aws-in-cluster",
        "prod-azure-in-cluster",
        "staging-aws-ecr",
        "prod-aws-ecr",
        "staging-azure-acr",
        "prod-azure-acr",
    ],
)
def test_in_cluster_data_stacks_pass_every_mandatory_policy(key: str) -> None:
    report = run_policies(plan_of(key).to_json())
    assert [f"{v.policy} {v.urn}: {v.message}" for v in report.mandatory] == []
    assert report.skipped == []
