"""`cloud: azure`: staging and prod get a complete, secure AKS platform (and prod a second region)."""

from __future__ import annotations

import itertools

import pytest

from hubctl.plan import SECRET, Plan, PlannedResource
from policy.bakhmach_policies.tagging import is_taggable
from settings import seed
from tests.planning import of_type, planned, resource_options

# The seed's "Deployment Environments" and "Cluster Autoscaling", written out.
SEED_NODES = {"staging": 5, "prod": 15}
SEED_MAX_NODES = 50

ENVIRONMENTS = ["staging", "prod"]
REQUIRED_TAGS = {"environment", "owner", "managed-by"}
# Built-in role definition ids (Azure's fixed GUIDs).
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
DNS_ZONE_CONTRIBUTOR = "befefa01-2a29-4197-83a8-272ff33ce314"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def plan_for(environment: str) -> Plan:
    return planned(environment, "azure")


def clusters_expected(plan: Plan) -> int:
    """Prod runs a second cluster in its secondary region; staging one."""
    return 2 if plan.stack == "prod" else 1


def managed_clusters(plan: Plan) -> list[PlannedResource]:
    found = of_type(plan, "azure-native:containerservice:ManagedCluster")
    assert len(found) == clusters_expected(plan)  # so no loop over them can pass by running zero times
    return found


def aks_components(plan: Plan) -> list[PlannedResource]:
    found = of_type(plan, "bakhmach:cloud:AksCluster")
    assert len(found) == clusters_expected(plan)
    return found


def agent_pools(plan: Plan, cluster: PlannedResource) -> list[PlannedResource]:
    return [
        p
        for p in of_type(plan, "azure-native:containerservice:AgentPool")
        if p.inputs["resourceName"] == cluster.inputs["resourceName"]
    ]


def pools_of(plan: Plan, cluster: PlannedResource) -> dict[str, dict]:
    """The settings' pools of one cluster by role: every one an AgentPool resource."""
    return {p.inputs["nodeLabels"]["bakhmach.io/pool-role"]: p.inputs for p in agent_pools(plan, cluster)}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_vnet_has_node_postgres_and_private_endpoint_subnets(environment: str) -> None:
    plan = plan_for(environment)
    vnets = of_type(plan, "azure-native:network:VirtualNetwork")
    assert len(vnets) == len(aks_components(plan))
    for vnet in vnets:
        subnets = {
            s.inputs["subnetName"]: s.inputs
            for s in of_type(plan, "azure-native:network:Subnet")
            if s.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"]
        }
        assert set(subnets) == {"nodes", "postgres", "private-endpoints"}
        assert subnets["postgres"]["delegations"][0]["serviceName"] == "Microsoft.DBforPostgreSQL/flexibleServers"
        assert subnets["private-endpoints"]["privateEndpointNetworkPolicies"] == "Enabled"
        assert all(s["defaultOutboundAccess"] is False for s in subnets.values())


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_aks_uses_cni_overlay_with_a_network_policy_engine(environment: str) -> None:
    for cluster in managed_clusters(plan_for(environment)):
        network = cluster.inputs["networkProfile"]
        assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
        assert network["networkPolicy"] == "cilium" and network["networkDataplane"] == "cilium"
        assert cluster.inputs["kubernetesVersion"] == "1.36"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_entra_id_rbac_without_local_accounts_and_a_private_api(environment: str) -> None:
    for cluster in managed_clusters(plan_for(environment)):
        assert cluster.inputs["disableLocalAccounts"] is True
        assert cluster.inputs["enableRBAC"] is True
        assert cluster.inputs["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
        # mode hub: a private API server, its name in the stack's own private zone (test_api_access.py).
        access = cluster.inputs["apiServerAccessProfile"]
        assert access["enablePrivateCluster"] is True and access["privateDNSZone"].endswith("-api-zone-id")
        assert cluster.protect


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_secrets_are_envelope_encrypted_with_a_key_vault_key(environment: str) -> None:
    plan = plan_for(environment)
    keys = {k.name: k for k in of_type(plan, "azure-native:keyvault:Key")}
    vaults = {v.inputs["vaultName"]: v for v in of_type(plan, "azure-native:keyvault:Vault")}
    for cluster in managed_clusters(plan):
        kms = cluster.inputs["securityProfile"]["azureKeyVaultKms"]
        assert kms["enabled"] is True
        key = keys[f"{cluster.name.removesuffix('-aks')}-kms-key"]
        assert key.urn in cluster.dependencies and key.protect
        assert kms["keyId"].endswith(f"/keys/{key.inputs['keyName']}/0000")
        vault = vaults[key.inputs["vaultName"]]
        assert len(vault.inputs["vaultName"]) <= 24
        assert vault.protect
        assert vault.inputs["properties"]["enableRbacAuthorization"] is True
        assert vault.inputs["properties"]["enablePurgeProtection"] is True
    roles = [r.inputs["roleDefinitionId"] for r in of_type(plan, "azure-native:authorization:RoleAssignment")]
    assert sum(r.endswith("12338af0-0e69-4776-bea7-57ae8d297424") for r in roles) == len(managed_clusters(plan))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_oidc_issuer_and_workload_identity_are_on(environment: str) -> None:
    for cluster in managed_clusters(plan_for(environment)):
        assert cluster.inputs["oidcIssuerProfile"] == {"enabled": True}
        assert cluster.inputs["securityProfile"]["workloadIdentity"] == {"enabled": True}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_system_pool_and_user_pools_across_three_zones_sized_from_the_seed(environment: str) -> None:
    plan = plan_for(environment)
    nodes = SEED_NODES[environment]
    for cluster in managed_clusters(plan):
        pools = pools_of(plan, cluster)
        assert set(pools) == {"system", "compute", "memory"}
        assert pools["system"]["mode"] == "System" and pools["compute"]["mode"] == "User"
        assert pools["system"]["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
        assert "nodeTaints" not in pools["compute"] and "nodeTaints" not in pools["memory"]
        assert pools["compute"]["vmSize"].startswith("Standard_F")  # compute-optimised
        assert pools["memory"]["vmSize"].startswith("Standard_E")  # memory-optimised
        for pool in pools.values():
            assert pool["availabilityZones"] == ["1", "2", "3"]
            assert pool["enableAutoScaling"] is True
            assert pool["count"] == pool["minCount"]
        assert sum(p["minCount"] for p in pools.values()) == nodes
        # The cluster's ceiling counts the bootstrap pool's fixed node too (the seed: "Max Nodes: 50").
        (bootstrap,) = cluster.inputs["agentPoolProfiles"]
        assert sum(p["maxCount"] for p in pools.values()) + bootstrap["count"] == SEED_MAX_NODES


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_pool_is_an_agent_pool_and_the_cluster_never_resends_a_changed_pool(environment: str) -> None:
    """One pattern for all pools: AKS refuses to add a pool through a ManagedCluster update ("A new
    agent pool was introduced"), so every pool is an AgentPool; the cluster itself carries only
    the one-node bootstrap pool it must be created with, and ignores later changes to it."""
    plan = plan_for(environment)
    for cluster in managed_clusters(plan):
        (bootstrap,) = cluster.inputs["agentPoolProfiles"]
        assert bootstrap["name"] == "bootstrap" and bootstrap["mode"] == "System"
        assert bootstrap["count"] == 1 and bootstrap["enableAutoScaling"] is False
        assert "orchestratorVersion" not in bootstrap  # it follows the control plane
        assert bootstrap["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
        pools = agent_pools(plan, cluster)
        assert {p.inputs["agentPoolName"] for p in pools} == {"system", "compute", "memory"}
        # Versions in a request are all given or all left out: every AgentPool names the cluster's.
        assert {p.inputs["orchestratorVersion"] for p in pools} == {cluster.inputs["kubernetesVersion"]}
        # One pool operation at a time on a cluster: each pool waits for the one before it.
        urns = {q.urn for q in pools}
        ordered = sorted(pools, key=lambda p: len(set(p.dependencies) & urns))
        assert ordered[0].inputs["agentPoolName"] == "system"
        for before, after in itertools.pairwise(ordered):
            assert before.urn in after.dependencies
        options = resource_options(environment, "azure")
        assert options[cluster.urn]["ignoreChanges"] == ["agentPoolProfiles"]
        # The autoscaler owns each pool's running size.
        assert all(options[p.urn]["ignoreChanges"] == ["count"] for p in pools)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_autoscaler_profile_targets_70_percent(environment: str) -> None:
    for cluster in managed_clusters(plan_for(environment)):
        profile = cluster.inputs["autoScalerProfile"]
        assert profile["scaleDownUtilizationThreshold"] == "0.7"
        assert profile["scaleDownUnneededTime"] == "10m"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_monitoring_and_control_plane_logs_go_to_log_analytics(environment: str) -> None:
    plan = plan_for(environment)
    workspaces = {w.name: w for w in of_type(plan, "azure-native:operationalinsights:Workspace")}
    settings = of_type(plan, "azure-native:monitor:DiagnosticSetting")
    for cluster in managed_clusters(plan):
        oms = cluster.inputs["addonProfiles"]["omsagent"]
        assert oms["enabled"] is True
        workspace = workspaces[oms["config"]["logAnalyticsWorkspaceResourceID"].removesuffix("-id")]
        assert workspace.inputs["retentionInDays"] == 90 and workspace.protect
        diagnostic = next(d for d in settings if d.inputs["resourceUri"] == f"{cluster.name}-id")
        categories = {log["category"] for log in diagnostic.inputs["logs"] if log["enabled"]}
        assert {"kube-apiserver", "kube-audit-admin", "cluster-autoscaler"} <= categories


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_azure_resource_carries_the_required_tags(environment: str) -> None:
    plan = plan_for(environment)
    checked = 0
    for r in plan.resources:
        # Types whose API has no tags: the policy pack's list (generated from the provider schema).
        if not is_taggable(r.type) or r.type.startswith("pulumi:") or "bakhmach:cloud:" not in r.urn:
            continue
        tags = r.inputs.get("tags", {})
        assert set(tags) >= REQUIRED_TAGS, f"{r.type} {r.name} lacks tags"
        assert tags["environment"] == environment
        checked += 1
    assert checked >= 7


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_kubernetes_resource_uses_an_aks_derived_provider(environment: str) -> None:
    plan = plan_for(environment)
    aks_urns = {a.urn for a in aks_components(plan)}
    providers = {p.urn for p in of_type(plan, "pulumi:providers:kubernetes") if p.parent in aks_urns}
    assert len(providers) == len(aks_urns)
    k8s_resources = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert k8s_resources
    for r in k8s_resources:
        assert r.provider in providers, f"{r.type} {r.name} uses {r.provider}"
    for p in of_type(plan, "pulumi:providers:kubernetes"):
        assert p.inputs["kubeconfig"] == SECRET
    assert plan.outputs["kubeconfig"] == SECRET


def test_prod_runs_a_second_cluster_in_the_secondary_location() -> None:
    plan = plan_for("prod")
    clusters = managed_clusters(plan)
    assert sorted(c.inputs["location"] for c in clusters) == ["germanywestcentral", "northeurope"]
    assert plan.outputs["secondaryKubeconfig"] == SECRET
    deployments: dict[str, set[str]] = {}
    for r in plan.resources:
        if r.type == "kubernetes:apps/v1:Deployment":
            deployments.setdefault(r.provider or "", set()).add(r.inputs["metadata"]["name"])
    assert len(deployments) == 2
    first, second = deployments.values()
    assert set(seed.APPLICATION_SERVICES) <= first and set(seed.APPLICATION_SERVICES) <= second


def test_prod_runs_external_dns_in_both_regions_as_its_own_identity() -> None:
    """Failover itself is in tests/test_dns_failover.py; here, what each region needs to publish."""
    plan = plan_for("prod")
    credentials = of_type(plan, "azure-native:managedidentity:FederatedIdentityCredential")
    external_dns = [c for c in credentials if c.inputs["subject"] == "system:serviceaccount:kube-system:external-dns"]
    assert len(external_dns) == 2
    assert len({c.inputs["issuer"] for c in external_dns}) == 2  # one per cluster


def test_staging_has_one_cluster_and_no_failover() -> None:
    plan = plan_for("staging")
    assert len(managed_clusters(plan)) == 1
    assert not of_type(plan, "azure-native:trafficmanager:Profile")


def role_assignments(plan: Plan, role: str) -> list[PlannedResource]:
    return [
        r
        for r in of_type(plan, "azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{role}")
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_deployer_is_cluster_admin_before_anything_is_installed(environment: str) -> None:
    """Azure RBAC without local accounts: `pulumi up`'s own identity needs a role on the cluster."""
    plan = plan_for(environment)
    grants = {g.inputs["scope"]: g for g in role_assignments(plan, AKS_RBAC_CLUSTER_ADMIN)}
    providers = {p.parent: p for p in of_type(plan, "pulumi:providers:kubernetes")}
    for cluster in managed_clusters(plan):
        grant = grants[f"{cluster.name}-id"]
        # The object id `authorization.getClientConfig` reports for the deploying principal.
        assert grant.inputs["principalId"] == "offline-object"
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert grant.parent == cluster.parent
        # Every Kubernetes resource goes through the provider, which waits for the grant.
        assert grant.urn in providers[cluster.parent].dependencies
    assert len(grants) == len(managed_clusters(plan))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_container_insights_has_a_data_collection_rule_on_each_cluster(environment: str) -> None:
    plan = plan_for(environment)
    rules = {r.name: r for r in of_type(plan, "azure-native:monitor:DataCollectionRule")}
    associations = {
        a.inputs["resourceUri"]: a for a in of_type(plan, "azure-native:monitor:DataCollectionRuleAssociation")
    }
    for cluster in managed_clusters(plan):
        oms = cluster.inputs["addonProfiles"]["omsagent"]
        assert oms["config"]["useAADAuth"] == "true"
        association = associations[f"{cluster.name}-id"]
        assert association.inputs["associationName"] == "ContainerInsightsExtension"
        rule = rules[association.inputs["dataCollectionRuleId"].removesuffix("-id")]
        assert rule.inputs["location"] == cluster.inputs["location"]
        [extension] = rule.inputs["dataSources"]["extensions"]
        assert extension["extensionName"] == "ContainerInsights"
        assert extension["streams"] == ["Microsoft-ContainerInsights-Group-Default"]
        [destination] = rule.inputs["destinations"]["logAnalytics"]
        # The same workspace the add-on and the control-plane logs use.
        assert destination["workspaceResourceId"] == oms["config"]["logAnalyticsWorkspaceResourceID"]
        [flow] = rule.inputs["dataFlows"]
        assert flow["streams"] == extension["streams"] and flow["destinations"] == [destination["name"]]
    assert len(associations) == len(managed_clusters(plan))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_key_vault_names_carry_a_random_part(environment: str) -> None:
    """Purge protection keeps a deleted vault's name for 90 days: a fixed name blocks re-creation."""
    plan = plan_for(environment)
    suffixes = {r.urn: r for r in of_type(plan, "random:index/randomString:RandomString")}
    vaults = of_type(plan, "azure-native:keyvault:Vault")
    assert len(vaults) == len(managed_clusters(plan))
    for vault in vaults:
        assert vault.inputs["vaultName"].startswith(f"kv-{environment}-")
        [suffix] = [suffixes[d] for d in vault.dependencies if d in suffixes]
        assert suffix.parent == vault.parent
        assert 5 <= suffix.inputs["length"] <= 6
        assert suffix.inputs["special"] is False and suffix.inputs["upper"] is False
        # kv-<10 chars of stack>-<4 hash chars><random>: within Key Vault's 24 characters.
        assert len("kv-") + 10 + len("-") + 4 + suffix.inputs["length"] <= 24


def test_key_vault_name_fits_and_differs_per_cluster() -> None:
    from components.cloud.aks import key_vault_name

    primary = key_vault_name("production", "bakhmach-production", "ab1c2")
    secondary = key_vault_name("production", "bakhmach-production-northeurope", "ab1c2")
    assert primary != secondary
    assert primary.startswith("kv-production-") and primary.endswith("ab1c2") and len(primary) <= 24
    assert len(key_vault_name("averyveryverylongstackname", "x", "zzzzz")) <= 24


def test_external_dns_can_list_the_zones_of_its_resource_group() -> None:
    plan = plan_for("prod")
    identities = {f"{i.name}-principal" for i in of_type(plan, "azure-native:managedidentity:UserAssignedIdentity")}
    # The group holding the zone (the failover's own group, not a cluster's).
    (group,) = [g for g in of_type(plan, "azure-native:resources:ResourceGroup") if g.name == "dns-rg"]
    (zone,) = of_type(plan, "azure-native:dns:Zone")
    # external-dns' grants (DnsFailover's); cert-manager's own DNS-01 grants are tests/test_certificates.py's.
    writers = [w for w in role_assignments(plan, DNS_ZONE_CONTRIBUTOR) if "DnsFailover" in w.urn]
    # Readers of the public zone's group (the private zone's external-dns reads its own group).
    readers = [r for r in role_assignments(plan, READER) if r.name.endswith("-external-dns-group-reader")]
    assert len(writers) == len(readers) == 2  # one external-dns per region
    assert {w.inputs["scope"] for w in writers} == {f"{zone.name}-id"}
    assert {r.inputs["scope"] for r in readers} == {f"{group.name}-id"}
    external_dns = {w.inputs["principalId"] for w in writers}
    assert external_dns <= identities and {r.inputs["principalId"] for r in readers} == external_dns
    releases = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "external-dns"]
    reader_urns = {r.urn for r in readers}
    assert all(reader_urns & set(r.dependencies) for r in releases)
