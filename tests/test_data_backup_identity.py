"""The in-cluster backup agents reach object storage as workload identities, not with cloud keys.

AWS: an IAM role per agent that only EKS Pod Identity may assume, associated with exactly the
service accounts the agent runs as, allowed only its own prefix of the backup bucket.
Azure: a user-assigned identity per agent, federated with the agent's service account on the
cluster's OIDC issuer, "Storage Blob Data Contributor" on its own container; its account refuses
Shared Key. Percona's `azure` storage has no keyless option, so MongoDB keeps a key, of an account
holding its backups only.

Staging and prod use managed PostgreSQL by default, so the in-cluster PostgreSQL path is planned
with a stack-file override, once per session: the stack file with every data service in-cluster
(tests/planning.py `planned_in_cluster`, the plans the other tests of in-cluster data share;
Redis and Kafka run no backup agent, so PostgreSQL and MongoDB are still the only ones).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from components.cloud.identity import POD_IDENTITY_TRUST, AzureRole
from hubctl.plan import Plan, PlannedResource
from hubctl.render import manifests
from tests.planning import k8s, of_type, one, planned, planned_in_cluster, resource
from tests.test_manifests import K8S_FLOOR, _is_builtin, crd_schema

STAGES = ["staging", "prod"]
CLOUD_STACKS = [(stack, cloud) for stack in STAGES for cloud in ("aws", "azure")]

# Who each agent runs as: CloudNativePG's instance pods (the Barman Cloud sidecar among their
# containers) as the ServiceAccount named after the Cluster; PBM in the replica set pods as the
# `mongo` ServiceAccount; Percona's operator as its chart's ServiceAccount.
AGENT_SERVICE_ACCOUNTS = {
    "postgres": {("data", "postgres")},
    "mongo": {("data", "mongo"), ("data-system", "psmdb-operator")},
}


def _statements(document: str) -> list[dict[str, Any]]:
    statements = json.loads(document)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _backup_secrets(plan: Plan) -> list[str]:
    return [s["metadata"]["name"] for s in k8s(plan, "Secret", namespace="data") if "backup" in s["metadata"]["name"]]


# ---- the override plans are real plans: the in-cluster path it adds is in them --------------


@pytest.mark.parametrize(("stack", "cloud"), CLOUD_STACKS)
def test_override_plans_postgres_in_cluster_with_the_barman_plugin(stack: str, cloud: str) -> None:
    plan = planned_in_cluster(stack, cloud)
    assert one(plan, "ObjectStore", "postgres-backups", "data")
    assert one(plan, "Cluster", "postgres", "data")["spec"]["plugins"][0]["name"] == "barman-cloud.cloudnative-pg.io"
    assert not of_type(plan, "aws:rds/instance:Instance") and not of_type(plan, "azure-native:dbforpostgresql:Server")


@pytest.mark.parametrize(("stack", "cloud"), CLOUD_STACKS)
def test_override_plans_objects_validate_against_their_schemas(stack: str, cloud: str) -> None:
    failures = []
    for doc in manifests(planned_in_cluster(stack, cloud)):
        name = f"{doc['kind']} {doc['metadata'].get('name')}"
        if _is_builtin(doc):
            try:
                kubernetes_validate.validate(doc, K8S_FLOOR, strict=True)
            except kubernetes_validate.ValidationError as exc:
                failures.append(f"{name}: {exc.message}")
            continue
        schema_path = crd_schema(doc)
        if not schema_path.exists():
            failures.append(f"no CRD schema for {doc['apiVersion']} {doc['kind']}")
            continue
        schema = json.loads(schema_path.read_text())
        failures += [f"{name}: {e.json_path}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    assert failures == []


# ---- AWS: EKS Pod Identity --------------------------------------------------------------------


def _bucket_arn(plan: Plan) -> str:
    (statement,) = _statements(
        resource(plan, "aws:s3/bucketPolicy:BucketPolicy", "data-backups-tls-only").inputs["policy"]
    )
    arn = statement["Resource"][0]
    assert arn.startswith("arn:aws:s3:::")
    return str(arn)


@pytest.mark.parametrize("stack", STAGES)
@pytest.mark.parametrize("agent", sorted(AGENT_SERVICE_ACCOUNTS))
def test_aws_agent_role_is_assumable_by_pod_identity_only(stack: str, agent: str) -> None:
    plan = planned_in_cluster(stack, "aws")
    role = resource(plan, "aws:iam/role:Role", f"data-backups-{agent}-agent")
    (trust,) = _statements(role.inputs["assumeRolePolicy"])
    assert trust["Effect"] == "Allow" and trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(_as_list(trust["Action"])) == ["sts:AssumeRole", "sts:TagSession"]
    assert role.inputs["assumeRolePolicy"] == POD_IDENTITY_TRUST


@pytest.mark.parametrize("stack", STAGES)
@pytest.mark.parametrize("agent", sorted(AGENT_SERVICE_ACCOUNTS))
def test_aws_agent_role_is_associated_with_exactly_the_agents_service_accounts(stack: str, agent: str) -> None:
    plan = planned_in_cluster(stack, "aws")
    role = resource(plan, "aws:iam/role:Role", f"data-backups-{agent}-agent")
    clusters = {r.inputs["name"] for r in of_type(plan, "aws:eks/cluster:Cluster")}
    associations = [
        a
        for a in of_type(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["roleArn"].endswith(f":role/{role.name}")
    ]
    assert {(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in associations} == AGENT_SERVICE_ACCOUNTS[agent]
    assert len(associations) == len(AGENT_SERVICE_ACCOUNTS[agent])
    assert all(a.inputs["clusterName"] in clusters for a in associations)


@pytest.mark.parametrize("stack", STAGES)
@pytest.mark.parametrize("agent", sorted(AGENT_SERVICE_ACCOUNTS))
def test_aws_agent_policy_reaches_its_own_prefix_of_the_backup_bucket_only(stack: str, agent: str) -> None:
    plan = planned_in_cluster(stack, "aws")
    bucket = _bucket_arn(plan)
    policies = [
        p for p in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if p.name == f"data-backups-{agent}-agent-policy"
    ]
    (policy,) = policies
    granted: dict[str, set[str]] = {}
    for statement in _statements(policy.inputs["policy"]):
        assert statement["Effect"] == "Allow" and "NotResource" not in statement and "NotAction" not in statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action}"
            granted.setdefault(action, set()).update(_as_list(statement["Resource"]))
    assert granted["s3:ListBucket"] == {bucket}
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert granted[action] == {f"{bucket}/{agent}/*"}
    assert set().union(*granted.values()) <= {bucket, f"{bucket}/{agent}/*"}
    assert not [a for a in granted if not a.startswith("s3:")]  # SSE-S3: no KMS key to grant


@pytest.mark.parametrize("stack", STAGES)
def test_aws_custom_resources_inherit_the_pod_identity(stack: str) -> None:
    plan = planned_in_cluster(stack, "aws")
    store = one(plan, "ObjectStore", "postgres-backups", "data")["spec"]["configuration"]
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assert store["destinationPath"].endswith("/postgres")
    psmdb = one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    (storage,) = psmdb["backup"]["storages"].values()
    assert storage["type"] == "s3" and "credentialsSecret" not in storage["s3"]
    assert storage["s3"]["prefix"] == "mongo" and storage["s3"]["region"]
    # PBM runs in the replica set pods: they run as the service account the role is associated with.
    assert {r["serviceAccountName"] for r in psmdb["replsets"]} == {"mongo"}
    assert one(plan, "ServiceAccount", "mongo", "data")


@pytest.mark.parametrize("stack", STAGES)
def test_aws_plans_create_no_access_key_and_no_backup_secret(stack: str) -> None:
    for plan in (planned(stack, "aws"), planned_in_cluster(stack, "aws")):
        assert not of_type(plan, "aws:iam/accessKey:AccessKey")
        assert not of_type(plan, "aws:iam/user:User")
        assert _backup_secrets(plan) == []
        store = json.dumps(k8s(plan, "ObjectStore"))
        assert "accessKeyId" not in store and "secretAccessKey" not in store


# ---- Azure: workload identity (PostgreSQL); a key of its own account (MongoDB) --------------


def _account(plan: Plan, agent: str) -> PlannedResource:
    return resource(plan, "azure-native:storage:StorageAccount", f"data-backups-{agent}-account")


@pytest.mark.parametrize("stack", STAGES)
def test_azure_postgres_identity_is_federated_with_the_clusters_service_account(stack: str) -> None:
    plan = planned_in_cluster(stack, "azure")
    identity = resource(plan, "azure-native:managedidentity:UserAssignedIdentity", "data-backups-postgres-agent")
    (credential,) = [
        c
        for c in of_type(plan, "azure-native:managedidentity:FederatedIdentityCredential")
        if c.inputs["resourceName"] == identity.inputs["resourceName"]
    ]
    # CloudNativePG names the instance pods' ServiceAccount after the Cluster.
    cluster = one(plan, "Cluster", "postgres", "data")
    assert credential.inputs["subject"] == f"system:serviceaccount:data:{cluster['metadata']['name']}"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    # The issuer is the AKS cluster's OIDC issuer output (which names the cluster), not a constant.
    clusters = {r.inputs["resourceName"] for r in of_type(plan, "azure-native:containerservice:ManagedCluster")}
    issuer = credential.inputs["issuer"]
    assert issuer.startswith("https://") and [c for c in clusters if f"/{c}/" in issuer]


@pytest.mark.parametrize("stack", STAGES)
def test_azure_postgres_identity_may_use_its_own_container_only(stack: str) -> None:
    plan = planned_in_cluster(stack, "azure")
    identity = resource(plan, "azure-native:managedidentity:UserAssignedIdentity", "data-backups-postgres-agent")
    container = resource(plan, "azure-native:storage:BlobContainer", "data-backups-postgres-container")
    grants = [g for g in of_type(plan, "azure-native:authorization:RoleAssignment") if identity.urn in g.dependencies]
    (grant,) = grants
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{AzureRole.STORAGE_BLOB_DATA_CONTRIBUTOR}")
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert container.urn in grant.dependencies and grant.inputs["scope"] == f"{container.name}-id"
    # Entra ID only: the account refuses Shared Key (and so every account-key SAS).
    account = _account(plan, "postgres")
    assert account.inputs["allowSharedKeyAccess"] is False


@pytest.mark.parametrize("stack", STAGES)
def test_azure_postgres_cluster_runs_as_the_identity_and_the_store_inherits_it(stack: str) -> None:
    plan = planned_in_cluster(stack, "azure")
    spec = one(plan, "Cluster", "postgres", "data")["spec"]
    client_id = spec["serviceAccountTemplate"]["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert client_id == "data-backups-postgres-agent-client"  # the identity's clientId output
    assert spec["inheritedMetadata"]["labels"] == {"azure.workload.identity/use": "true"}
    store = one(plan, "ObjectStore", "postgres-backups", "data")["spec"]["configuration"]
    # DefaultAzureCredential (plugin v0.11+) takes the projected workload-identity token;
    # `inheritFromAzureAD` would ask the node's managed identity instead.
    assert store["azureCredentials"] == {"useDefaultAzureCredentials": True}
    assert store["destinationPath"].startswith(f"https://{_account(plan, 'postgres').inputs['accountName']}.")


@pytest.mark.parametrize(("stack", "in_cluster_postgres"), [(s, o) for s in STAGES for o in (False, True)])
def test_azure_mongo_key_is_of_an_account_holding_mongo_backups_only(stack: str, in_cluster_postgres: bool) -> None:
    plan = planned_in_cluster(stack, "azure") if in_cluster_postgres else planned(stack, "azure")
    psmdb = one(plan, "PerconaServerMongoDB", "mongo", "data")["spec"]
    (storage,) = psmdb["backup"]["storages"].values()
    # Percona's `azure` storage requires credentialsSecret (its CRD): the one key left.
    assert storage["type"] == "azure" and storage["azure"]["credentialsSecret"] == "mongo-backup-credentials"
    assert _backup_secrets(plan) == ["mongo-backup-credentials"]
    secret = one(plan, "Secret", "mongo-backup-credentials", "data")
    assert secret["stringData"] == "[secret]" or secret["stringData"]["AZURE_STORAGE_ACCOUNT_KEY"] == "[secret]"
    assert _account(plan, "mongo").inputs["allowSharedKeyAccess"] is True
    # Nothing else holds a key: every other backup account is Entra ID only, no identity for mongo.
    accounts = [a for a in of_type(plan, "azure-native:storage:StorageAccount") if a.name.startswith("data-backups-")]
    assert {a.name for a in accounts if a.inputs.get("allowSharedKeyAccess") is not False} == {
        "data-backups-mongo-account"
    }
    assert len(accounts) == (2 if in_cluster_postgres else 1)
    identities = {i.name for i in of_type(plan, "azure-native:managedidentity:UserAssignedIdentity")}
    assert "data-backups-mongo-agent" not in identities


@pytest.mark.parametrize("stack", STAGES)
def test_azure_backup_accounts_share_one_privatelink_zone(stack: str) -> None:
    plan = planned_in_cluster(stack, "azure")
    zones = [
        z
        for z in of_type(plan, "azure-native:privatedns:PrivateZone")
        if z.inputs["privateZoneName"] == "privatelink.blob.core.windows.net"
    ]
    # A VNet links one zone of a name; each account has its endpoint in it. Prod's secondary VNet
    # has its own, for its endpoint of the WAL archive (components/dr/in_cluster.py).
    regions = {z.inputs["resourceGroupName"] for z in zones}
    assert len(zones) == len(regions) == (2 if stack == "prod" else 1)
    endpoints = [e for e in of_type(plan, "azure-native:network:PrivateEndpoint") if e.name.startswith("data-backups-")]
    assert {e.name for e in endpoints} == {"data-backups-postgres-blob-endpoint", "data-backups-mongo-blob-endpoint"}


def test_dev_has_no_backup_identities(dev_plan: Plan) -> None:
    types = {r.type for r in dev_plan.resources}
    assert not {t for t in types if "podIdentityAssociation" in t or "managedidentity" in t}
    assert _backup_secrets(dev_plan) == []
