"""`AksBackend`: an AKS cluster in its own VNet, reached through a Kubernetes provider.

Secure by default: Entra ID authentication with Azure RBAC and local accounts disabled (no
static admin kubeconfig exists), a private API server (or one limited to configured CIDRs),
Azure CNI overlay with the Cilium dataplane enforcing NetworkPolicy, an OIDC issuer and
workload identity for pods that need Azure access, Container Insights and control-plane logs in
Log Analytics. The cluster autoscaler is AKS's own, tuned by its autoscaler profile to the
seed's "Node Target: 70% utilization" and "Scale-down: 10 minutes".
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.containerservice as containerservice
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.operationalinsights as operationalinsights
import pulumi_azure_native.resources as resources
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components.cloud.api_access import AksPrivateZone, ApiPath, aks_private_zone, azure_hub_access, require_access
from components.cloud.backend import ClusterArgs, ClusterEndpoint, scope_for
from components.cloud.common import CloudScope
from components.cloud.identity import AzureRole, role_assignment
from components.cloud.vnet import AzureVnet, AzureVnetArgs, vnet_ranges
from components.network import AzureNetwork
from settings import seed
from settings.cloud import AKS_BOOTSTRAP_NODES, AKS_BOOTSTRAP_POOL, AzureCluster, PoolSize, pool_sizes

ZONES = ["1", "2", "3"]
# The pool a cluster is created with (`bootstrap_pool`); the settings may not use the name.
BOOTSTRAP_POOL = AKS_BOOTSTRAP_POOL
# Container Insights with managed-identity auth reads what to collect from a data collection rule
# associated with the cluster (Microsoft's onboarding templates: stream, extension and names).
CONTAINER_INSIGHTS_STREAMS = ["Microsoft-ContainerInsights-Group-Default"]
CONTAINER_INSIGHTS_EXTENSION = "ContainerInsightsExtension"
DATA_COLLECTION_RULE_NAME_MAX = 64
# Key Vault names are global, 3-24 characters; a soft-deleted vault under purge protection keeps
# its name reserved for the retention period, so each vault gets a random part.
KEY_VAULT_NAME_MAX = 24
KEY_VAULT_SUFFIX_LENGTH = 5
# The AKS Entra ID server application every AKS cluster's tokens are issued for.
AKS_ENTRA_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
CONTROL_PLANE_LOGS = [
    "kube-apiserver",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "guard",
]


@dataclass(frozen=True)
class AksClusterArgs:
    scope: CloudScope
    settings: AzureCluster
    kubernetes_version: str
    # The container registry the nodes pull from (components/registry.py), where the stack has one.
    acr_id: pulumi.Input[str] | None = None


def autoscaler_profile() -> containerservice.ManagedClusterPropertiesAutoScalerProfileArgs:
    """The seed's "Cluster Autoscaling" block as AKS's autoscaler profile (values are strings)."""
    return containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
        scale_down_utilization_threshold=str(seed.CLUSTER_AUTOSCALING_TARGET_UTILISATION / 100),
        scale_down_unneeded_time="10m",
        balance_similar_node_groups="true",
        expander=containerservice.Expander.LEAST_WASTE,
        skip_nodes_with_system_pods="true",
    )


def key_vault_name(stack_name: str, cluster_name: str, suffix: str) -> str:
    """`kv-<stack>-<cluster hash><random>`: per cluster, and new after a destroy (at most 24 characters)."""
    digest = hashlib.sha256(cluster_name.encode()).hexdigest()[:4]
    return f"kv-{stack_name[:10]}-{digest}{suffix}"[:KEY_VAULT_NAME_MAX]


def container_insights_rule_args(
    workspace_id: pulumi.Input[str],
) -> tuple[
    monitor.DataCollectionRuleDataSourcesArgs, monitor.DataCollectionRuleDestinationsArgs, list[monitor.DataFlowArgs]
]:
    """The data sources, destination and flow of the rule the ama-logs agent reads."""
    sources = monitor.DataCollectionRuleDataSourcesArgs(
        extensions=[
            monitor.ExtensionDataSourceArgs(
                name=CONTAINER_INSIGHTS_EXTENSION,
                extension_name="ContainerInsights",
                streams=CONTAINER_INSIGHTS_STREAMS,
                extension_settings={
                    "dataCollectionSettings": {
                        "interval": "1m",
                        "namespaceFilteringMode": "Off",
                        "enableContainerLogV2": True,
                    }
                },
            )
        ]
    )
    destinations = monitor.DataCollectionRuleDestinationsArgs(
        log_analytics=[monitor.LogAnalyticsDestinationArgs(name="ciworkspace", workspace_resource_id=workspace_id)]
    )
    flows = [monitor.DataFlowArgs(streams=CONTAINER_INSIGHTS_STREAMS, destinations=["ciworkspace"])]
    return sources, destinations, flows


def container_insights_rule_name(region: str, cluster_name: str) -> str:
    """Container Insights' own name for the rule, `MSCI-<region>-<cluster>` (its onboarding docs),
    cut to 64 characters, as its onboarding tooling does; long region and cluster names exceed it
    (e.g. a secondary cluster in australiasoutheast)."""
    return f"MSCI-{region}-{cluster_name}"[:DATA_COLLECTION_RULE_NAME_MAX].rstrip("-")


def non_interactive_kubeconfig(encoded: str) -> str:
    """The user kubeconfig, logging in with the deployer's Azure CLI session instead of a device code."""
    config: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded))
    for user in config.get("users", []):
        exec_ = user.get("user", {}).get("exec")
        if exec_ is not None:
            exec_["args"] = ["get-token", "--login", "azurecli", "--server-id", AKS_ENTRA_SERVER_ID]
            exec_["interactiveMode"] = "Never"
    return yaml.safe_dump(config, sort_keys=False)


@dataclass(frozen=True)
class ControlPlaneIdentity:
    """The cluster's user-assigned identity and the grants AKS needs before it is created."""

    identity: managedidentity.UserAssignedIdentity
    grants: list[pulumi.Resource]


def log_workspace(
    name: str, scope: CloudScope, settings: AzureCluster, rg: resources.ResourceGroup, parent: pulumi.Resource
) -> operationalinsights.Workspace:
    """The cluster's Log Analytics workspace (Container Insights and control-plane logs)."""
    return operationalinsights.Workspace(
        f"{name}-logs",
        workspace_name=f"log-{scope.cluster_name}",
        resource_group_name=rg.name,
        location=scope.region,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=settings.log_retention_days,
        tags=scope.tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=scope.protect),
    )


def control_plane_identity(
    name: str, scope: CloudScope, vnet: AzureVnet, parent: pulumi.Resource
) -> ControlPlaneIdentity:
    """A user-assigned control-plane identity exists before the cluster, so it can be given Network
    Contributor on the VNet first (a system-assigned one would come too late)."""
    child = pulumi.ResourceOptions(parent=parent)
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_name_=f"id-{scope.cluster_name}",
        resource_group_name=vnet.resource_group.name,
        location=scope.region,
        tags=scope.tags,
        opts=child,
    )
    network_role = role_assignment(
        f"{name}-identity-network",
        role=AzureRole.NETWORK_CONTRIBUTOR,
        principal_id=identity.principal_id,
        scope=vnet.vnet.id,
        opts=child,
    )
    return ControlPlaneIdentity(identity=identity, grants=[network_role])


def secrets_encryption(
    name: str,
    scope: CloudScope,
    rg: resources.ResourceGroup,
    identity: managedidentity.UserAssignedIdentity,
    parent: pulumi.Resource,
) -> tuple[keyvault.Key, authorization.RoleAssignment]:
    """KMS envelope encryption of Secrets, as on EKS: a vault and key the control plane may use.
    The vault name carries a short hash of the cluster name and a random part: purge protection
    reserves a deleted vault's name for 90 days, which would otherwise block re-creating the stack
    after a destroy."""
    child = pulumi.ResourceOptions(parent=parent)
    stateful = pulumi.ResourceOptions(parent=parent, protect=scope.protect)
    vault_suffix = random.RandomString(
        f"{name}-kms-vault-suffix",
        length=KEY_VAULT_SUFFIX_LENGTH,
        lower=True,
        upper=False,
        numeric=True,
        special=False,
        opts=child,
    )
    vault = keyvault.Vault(
        f"{name}-kms-vault",
        vault_name=vault_suffix.result.apply(lambda s: key_vault_name(scope.stack_name, scope.cluster_name, s)),
        resource_group_name=rg.name,
        location=scope.region,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=identity.tenant_id,
            sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
            # Access by Azure RBAC only (no access policies); a deleted key stays recoverable.
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=90,
            enable_purge_protection=True,
        ),
        tags=scope.tags,
        opts=stateful,
    )
    kms_key = keyvault.Key(
        f"{name}-kms-key",
        key_name="kubernetes-secrets",
        vault_name=vault.name,
        resource_group_name=rg.name,
        properties=keyvault.KeyPropertiesArgs(kty=keyvault.JsonWebKeyType.RSA, key_size=2048),
        tags=scope.tags,
        opts=stateful,
    )
    kms_role = role_assignment(
        f"{name}-identity-kms",
        role=AzureRole.KEY_VAULT_CRYPTO_USER,
        principal_id=identity.principal_id,
        scope=vault.id,
        opts=child,
    )
    return kms_key, kms_role


def control_plane(
    name: str,
    scope: CloudScope,
    settings: AzureCluster,
    kubernetes_version: str,
    rg: resources.ResourceGroup,
    vnet: AzureVnet,
    identity: ControlPlaneIdentity,
    kms_key: keyvault.Key,
    workspace: operationalinsights.Workspace,
    api_zone: AksPrivateZone | None,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> containerservice.ManagedCluster:
    """The AKS control plane: Entra ID with Azure RBAC, KMS, workload identity, Cilium, the API
    server's access, and the bootstrap pool it must be created with (`bootstrap_pool`)."""
    cluster_name = scope.cluster_name
    access = require_access(settings.api_access, "azure")
    return containerservice.ManagedCluster(
        f"{name}-aks",
        resource_name_=cluster_name,
        resource_group_name=rg.name,
        location=scope.region,
        kubernetes_version=kubernetes_version,
        dns_prefix=cluster_name,
        # Standard tier: the financially backed API-server SLA (99.95% with zones), as prod's SLA asks.
        sku=containerservice.ManagedClusterSKUArgs(
            name=containerservice.ManagedClusterSKUName.BASE, tier=containerservice.ManagedClusterSKUTier.STANDARD
        ),
        identity=containerservice.ManagedClusterIdentityArgs(
            type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.identity.id]
        ),
        enable_rbac=True,
        disable_local_accounts=True,
        aad_profile=containerservice.ManagedClusterAADProfileArgs(
            managed=True,
            enable_azure_rbac=True,
            admin_group_object_ids=list(settings.admin_group_object_ids) or None,
        ),
        oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
        security_profile=containerservice.ManagedClusterSecurityProfileArgs(
            workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
            azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                enabled=True,
                key_id=kms_key.key_uri_with_version,
                # Public: the vault is reached over its public endpoint, guarded by RBAC. The
                # private mode needs API-server VNet integration, which this cluster does not use.
                key_vault_network_access=containerservice.KeyVaultNetworkAccessTypes.PUBLIC,
            ),
        ),
        api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
            # hub: a private API in a private zone the hub is linked to; allowed-cidrs: a public
            # API server open to those ranges only.
            enable_private_cluster=access.private,
            private_dns_zone=api_zone.zone.id if api_zone else None,
            authorized_ip_ranges=None if access.private else list(access.cidrs),
        ),
        network_profile=containerservice.ContainerServiceNetworkProfileArgs(
            network_plugin=containerservice.NetworkPlugin.AZURE,
            network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
            # Cilium as dataplane and policy engine: eBPF enforcement of the contexts' policies.
            network_dataplane=containerservice.NetworkDataplane.CILIUM,
            network_policy=containerservice.NetworkPolicy.CILIUM,
            pod_cidr=settings.pod_cidr,
            service_cidr=settings.service_cidr,
            # The tenth address, as AKS itself picks by default.
            dns_service_ip=str(ipaddress.ip_network(settings.service_cidr).network_address + 10),
            load_balancer_sku="standard",
            outbound_type=containerservice.OutboundType.LOAD_BALANCER,
        ),
        agent_pool_profiles=[bootstrap_pool(scope, settings, vnet)],
        auto_scaler_profile=autoscaler_profile(),
        auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
            upgrade_channel=containerservice.UpgradeChannel.PATCH,
            node_os_upgrade_channel=containerservice.NodeOSUpgradeChannel.NODE_IMAGE,
        ),
        addon_profiles={
            # Container Insights into the cluster's Log Analytics workspace.
            "omsagent": containerservice.ManagedClusterAddonProfileArgs(
                enabled=True,
                config={"logAnalyticsWorkspaceResourceID": workspace.id, "useAADAuth": "true"},
            ),
        },
        node_resource_group=f"rg-{cluster_name}-nodes",
        tags=scope.tags,
        opts=pulumi.ResourceOptions(
            parent=parent,
            protect=scope.protect,
            depends_on=[*after, *(api_zone.before_cluster if api_zone else ())],
            # The pools are AgentPool resources (`node_pools`); the cluster resends only the
            # bootstrap pool it was created with, unchanged, so its updates never add, remove or
            # resize a pool ("A new agent pool was introduced").
            ignore_changes=["agentPoolProfiles"],
        ),
    )


def monitoring(
    name: str,
    scope: CloudScope,
    rg: resources.ResourceGroup,
    cluster: containerservice.ManagedCluster,
    workspace: operationalinsights.Workspace,
    parent: pulumi.Resource,
) -> monitor.DataCollectionRule:
    """Container Insights and control-plane logs into the workspace. With `useAADAuth`, the
    ama-logs agent collects only what a data collection rule associated with the cluster names;
    without the rule it runs and sends nothing."""
    child = pulumi.ResourceOptions(parent=parent)
    sources, destinations, flows = container_insights_rule_args(workspace.id)
    rule = monitor.DataCollectionRule(
        f"{name}-container-insights",
        data_collection_rule_name=container_insights_rule_name(scope.region, scope.cluster_name),
        resource_group_name=rg.name,
        location=scope.region,
        kind=monitor.KnownDataCollectionRuleResourceKind.LINUX,
        description="Container Insights of the AKS cluster (managed-identity auth)",
        data_sources=sources,
        destinations=destinations,
        data_flows=flows,
        tags=scope.tags,
        opts=child,
    )
    monitor.DataCollectionRuleAssociation(
        f"{name}-container-insights-association",
        association_name=CONTAINER_INSIGHTS_EXTENSION,
        resource_uri=cluster.id,
        data_collection_rule_id=rule.id,
        description="Container Insights collection for this cluster; deleting it stops the collection.",
        opts=child,
    )
    monitor.DiagnosticSetting(
        f"{name}-control-plane-logs",
        name="control-plane",
        resource_uri=cluster.id,
        workspace_id=workspace.id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in CONTROL_PLANE_LOGS],
        opts=child,
    )
    return rule


def bootstrap_pool(
    scope: CloudScope, settings: AzureCluster, vnet: AzureVnet
) -> containerservice.ManagedClusterAgentPoolProfileArgs:
    """The one pool a ManagedCluster must be created with (AKS refuses a cluster without a system
    pool). Every pool of the settings is an AgentPool of its own (`node_pools`), so every pool has
    the same update path: AKS refuses to add a pool through the ManagedCluster ("A new agent pool
    was introduced"), changes no VM size in place, and an inline pool beside AgentPools puts them
    all into "Scaling" on each change (pulumi-azure-native#579, #2719, #4264). azure-native cannot
    adopt an inline pool as an AgentPool either (it refuses to create what exists, and an import
    fails the first preview, when the pool does not exist yet). So the inline pool is a single
    system node that the stack never changes; the settings' system pool carries the add-ons."""
    system = next(p for p in settings.node_pools if p.role == "system")
    return containerservice.ManagedClusterAgentPoolProfileArgs(
        name=BOOTSTRAP_POOL,
        mode=containerservice.AgentPoolMode.SYSTEM,
        vm_size=system.instance_types[0],
        os_type="Linux",
        os_sku=containerservice.OSSKU.AZURE_LINUX,
        availability_zones=ZONES,
        enable_auto_scaling=False,
        count=AKS_BOOTSTRAP_NODES,
        vnet_subnet_id=vnet.node_subnet.id,
        node_taints=["CriticalAddonsOnly=true:NoSchedule"],
        node_labels={"bakhmach.io/pool": BOOTSTRAP_POOL, "bakhmach.io/pool-role": "system"},
        type="VirtualMachineScaleSets",
        tags=scope.tags,
    )


def node_pools(
    name: str,
    scope: CloudScope,
    settings: AzureCluster,
    kubernetes_version: str,
    rg: resources.ResourceGroup,
    vnet: AzureVnet,
    cluster: containerservice.ManagedCluster,
    sizes: dict[str, PoolSize],
    parent: pulumi.Resource,
) -> dict[str, containerservice.AgentPool]:
    """Every pool of the settings, system pool included, as an AgentPool autoscaled between the
    seed's floor and ceiling. AKS takes one operation at a time on a cluster's pools, so each pool
    waits for the one before it."""
    pools: dict[str, containerservice.AgentPool] = {}
    previous: list[pulumi.Resource] = []
    for pool in sorted(settings.node_pools, key=lambda p: p.role != "system"):
        size = sizes[pool.name]
        system = pool.role == "system"
        pools[pool.name] = containerservice.AgentPool(
            f"{name}-{pool.name}",
            agent_pool_name=pool.name,
            resource_name_=cluster.name,
            resource_group_name=rg.name,
            mode=containerservice.AgentPoolMode.SYSTEM if system else containerservice.AgentPoolMode.USER,
            vm_size=pool.instance_types[0],
            os_type="Linux",
            os_sku=containerservice.OSSKU.AZURE_LINUX,
            availability_zones=ZONES,
            enable_auto_scaling=True,
            count=size.minimum,
            min_count=size.minimum,
            max_count=size.maximum,
            vnet_subnet_id=vnet.node_subnet.id,
            # Every AgentPool names the control plane's version (AKS requires pools' versions in
            # one request to be all given or all left out; the bootstrap pool's follows the cluster).
            orchestrator_version=kubernetes_version,
            # Application pods stay off the system pool.
            node_taints=["CriticalAddonsOnly=true:NoSchedule"] if system else None,
            node_labels={"bakhmach.io/pool": pool.name, "bakhmach.io/pool-role": pool.role},
            type="VirtualMachineScaleSets",
            tags=scope.tags,
            # The autoscaler owns the running size.
            opts=pulumi.ResourceOptions(parent=parent, depends_on=previous, ignore_changes=["count"]),
        )
        previous = [pools[pool.name]]
    return pools


def kubelet_object_id(cluster: containerservice.ManagedCluster) -> pulumi.Output[str]:
    """The object id of the identity the nodes' kubelet pulls images with (AKS creates it in the
    node resource group when the cluster names none)."""

    def object_id(profile: Any) -> str:
        kubelet = (profile or {}).get("kubeletidentity")
        return (kubelet.object_id if kubelet is not None else None) or ""

    return cluster.identity_profile.apply(object_id)


def kubernetes_provider(
    scope: CloudScope,
    rg: resources.ResourceGroup,
    cluster: containerservice.ManagedCluster,
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> tuple[pulumi.Output[str], k8s.Provider]:
    """The user kubeconfig (kubelogin with the deployer's Azure CLI session) and the provider
    everything in-cluster uses; it waits for `after`, which nothing in the kubeconfig refers to."""
    credentials = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=rg.name, resource_name=cluster.name, format="exec"
    )
    kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
        credentials.kubeconfigs.apply(lambda configs: non_interactive_kubeconfig(configs[0].value))
    )
    provider = k8s.Provider(
        f"{scope.prefix}-k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    return kubeconfig, provider


class AksCluster(pulumi.ComponentResource):
    """One region's AKS cluster, built in named parts: VNet, logs, control-plane identity, secrets
    encryption, API zone, control plane, monitoring, deployer access, node pools, hub access,
    kubeconfig and provider."""

    vnet: AzureVnet
    workspace: operationalinsights.Workspace
    cluster: containerservice.ManagedCluster
    insights_rule: monitor.DataCollectionRule
    deployer_admin: authorization.RoleAssignment
    node_pools: dict[str, containerservice.AgentPool]
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    network: AzureNetwork

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:AksCluster", name, None, opts)
        scope, settings = args.scope, args.settings
        cidr = settings.cidr(scope.region)

        self.vnet = AzureVnet(name, AzureVnetArgs(scope=scope, cidr=cidr), opts=pulumi.ResourceOptions(parent=self))
        rg = self.vnet.resource_group
        self.workspace = log_workspace(name, scope, settings, rg, self)
        identity = control_plane_identity(name, scope, self.vnet, self)
        kms_key, kms_role = secrets_encryption(name, scope, rg, identity.identity, self)
        access = require_access(settings.api_access, "azure")
        api_zone = (
            aks_private_zone(name, scope, rg.name, self.vnet.vnet.id, identity.identity.principal_id, self)
            if access.private
            else None
        )

        self.pool_sizes: dict[str, PoolSize] = dict(
            zip(
                [p.name for p in settings.node_pools],
                pool_sizes(settings.node_pools, scope.environment, reserved=AKS_BOOTSTRAP_NODES),
                strict=True,
            )
        )
        self.cluster = control_plane(
            name,
            scope,
            settings,
            args.kubernetes_version,
            rg,
            self.vnet,
            identity,
            kms_key,
            self.workspace,
            api_zone,
            after=[*identity.grants, kms_role],
            parent=self,
        )
        self.insights_rule = monitoring(name, scope, rg, self.cluster, self.workspace, self)

        # Azure RBAC is on and local accounts are off: the identity that runs `pulumi up` acts in
        # the cluster only through a role assignment on it (otherwise the API answers 403).
        self.deployer_admin = role_assignment(
            f"{name}-deployer-cluster-admin",
            role=AzureRole.AKS_RBAC_CLUSTER_ADMIN,
            principal_id=authorization.get_client_config_output().object_id,
            principal_type=settings.deployer_principal_type,
            scope=self.cluster.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.node_pools = node_pools(
            name, scope, settings, args.kubernetes_version, rg, self.vnet, self.cluster, self.pool_sizes, self
        )
        # The nodes pull the services' images through their kubelet identity: the provider waits
        # for the grant, so no pod is created before its image can be pulled.
        self.acr_pull: authorization.RoleAssignment | None = None
        if args.acr_id is not None:
            self.acr_pull = role_assignment(
                f"{name}-kubelet-acr-pull",
                role=AzureRole.ACR_PULL,
                principal_id=kubelet_object_id(self.cluster),
                scope=args.acr_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.api_path = ApiPath()
        if api_zone is not None:
            self.api_path = azure_hub_access(
                name,
                scope,
                access,
                rg.name,
                self.vnet.vnet.name,
                self.vnet.vnet.id,
                api_zone,
                after_subnets=[self.vnet.endpoint_subnet],
                parent=self,
            )
        # Role assignments take effect only once created: the provider waits for the deployer's,
        # and for the hub's path to the API.
        self.kubeconfig, self.provider = kubernetes_provider(
            scope,
            rg,
            self.cluster,
            after=[
                *self.node_pools.values(),
                self.deployer_admin,
                *self.api_path.ready,
                *([self.acr_pull] if self.acr_pull else []),
            ],
            parent=self,
        )
        self.network = AzureNetwork(
            location=scope.region,
            resource_group_name=rg.name,
            vnet_id=self.vnet.vnet.id,
            vnet_name=self.vnet.vnet.name,
            vnet_cidr=cidr,
            node_subnet_id=self.vnet.node_subnet.id,
            postgres_subnet_id=self.vnet.postgres_subnet.id,
            private_endpoint_subnet_id=self.vnet.endpoint_subnet.id,
            tags=scope.tags,
            cluster_name=self.cluster.name,
            oidc_issuer_url=self.cluster.oidc_issuer_profile.apply(lambda p: (p.issuer_url if p else None) or ""),
        )
        self.register_outputs({"clusterName": self.cluster.name, "ranges": vnet_ranges(cidr)})


class AksBackend:
    """`cloud: azure`: an AKS cluster (and, in prod, one per region) built from `cloudCluster.azure`."""

    def build(self, args: ClusterArgs, parent: pulumi.Resource) -> ClusterEndpoint:
        settings = args.cloud_settings.azure
        assert settings is not None, "cloudCluster.azure: resolve_stack requires it for cloud 'azure'"
        scope = scope_for(args, settings.location, settings.secondary_location, "cloudCluster.azure.secondaryLocation")
        aks = AksCluster(
            scope.prefix,
            AksClusterArgs(
                scope=scope, settings=settings, kubernetes_version=args.kubernetes_version, acr_id=args.acr_id
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return ClusterEndpoint(
            provider=aks.provider,
            kubeconfig=aks.kubeconfig,
            description=f"AKS {scope.cluster_name} in {scope.region} (Kubernetes {args.kubernetes_version})",
            network=aks.network,
            region=scope.region,
            scope=scope,
        )
