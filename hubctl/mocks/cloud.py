"""Mock answers for the cloud resources (computed outputs, invokes)."""

from __future__ import annotations

import base64
from typing import Any

import yaml
from pulumi.runtime.mocks import MockResourceArgs

from hubctl.mocks import register_call, register_state

ACCOUNT = "123456789012"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "11111111-1111-1111-1111-111111111111"
# A syntactically valid base64 PEM body; no key material.
FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nb2ZmbGluZQ==\n-----END CERTIFICATE-----\n").decode()


def _arn(service: str, a: MockResourceArgs, kind: str) -> str:
    return f"arn:aws:{service}::{ACCOUNT}:{kind}/{a.inputs.get('name') or a.name}"


def _eks_cluster(a: MockResourceArgs) -> dict[str, Any]:
    name = a.inputs.get("name") or a.name
    return {
        "arn": f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/{name}",
        "name": name,
        "endpoint": f"https://{name}.gr7.eks.amazonaws.com",
        "certificateAuthority": {"data": FAKE_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.amazonaws.com/id/{name.upper()}"}]}],
        "vpcConfig": {**a.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}-cluster"},
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }


register_state("aws:eks/cluster:Cluster", _eks_cluster)
register_call(
    "aws:index/getCallerIdentity:getCallerIdentity",
    lambda args: {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/offline",
        "userId": "AROAOFFLINE:offline",
        "id": ACCOUNT,
    },
)
register_state(
    "aws:ecr/repository:Repository",
    lambda a: {
        "arn": f"arn:aws:ecr:eu-central-1:{ACCOUNT}:repository/{a.inputs.get('name')}",
        "registryId": ACCOUNT,
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com/{a.inputs.get('name')}",
    },
)
register_state("aws:iam/role:Role", lambda a: {"arn": _arn("iam", a, "role"), "name": a.inputs.get("name") or a.name})
register_state(
    "aws:kms/key:Key", lambda a: {"arn": f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/{a.name}", "keyId": a.name}
)
register_state("aws:ec2/launchTemplate:LaunchTemplate", lambda a: {"latestVersion": 1, "defaultVersion": 1})
register_state(
    "aws:route53/zone:Zone", lambda a: {"zoneId": f"Z{a.name.upper()}", "nameServers": ["ns-1.awsdns-01.org"]}
)
register_state(
    "aws:eks/nodeGroup:NodeGroup",
    lambda a: {"arn": f"arn:aws:eks:eu-central-1:{ACCOUNT}:nodegroup/{a.name}", "status": "ACTIVE"},
)


def _aks_cluster(a: MockResourceArgs) -> dict[str, Any]:
    name = a.inputs.get("resourceName") or a.name
    return {
        # AKS creates the kubelet's identity in the node resource group when the cluster names none.
        "identityProfile": {
            "kubeletidentity": {
                "clientId": f"{name}-kubelet-client",
                "objectId": f"{name}-kubelet-object",
                "resourceId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-{name}-nodes/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
            }
        },
        "fqdn": f"{name}.hcp.germanywestcentral.azmk8s.io",
        "privateFQDN": f"{name}.privatelink.germanywestcentral.azmk8s.io",
        "oidcIssuerProfile": {"enabled": True, "issuerURL": f"https://oidc.prod-aks.azure.com/{TENANT}/{name}/"},
        "name": name,
        # The API answers user-assigned identities as a map keyed by identity id.
        "identity": {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                i: {"principalId": f"{i}-principal", "clientId": f"{i}-client"}
                for i in (a.inputs.get("identity") or {}).get("userAssignedIdentities", [])
            },
        },
    }


register_state("azure-native:containerservice:ManagedCluster", _aks_cluster)
register_state(
    "azure-native:managedidentity:UserAssignedIdentity",
    lambda a: {"principalId": f"{a.name}-principal", "clientId": f"{a.name}-client", "tenantId": TENANT},
)
register_state(
    "azure-native:trafficmanager:Profile",
    lambda a: {"dnsConfig": {**a.inputs.get("dnsConfig", {}), "fqdn": f"{a.name}.trafficmanager.net"}},
)
register_state("azure-native:resources:ResourceGroup", lambda a: {"name": a.inputs.get("resourceGroupName") or a.name})
register_state("azure-native:network:VirtualNetwork", lambda a: {"name": a.inputs.get("virtualNetworkName") or a.name})


def _user_credentials(args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("resourceName", "cluster")
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": f"https://{name}.azmk8s.io:443", "certificate-authority-data": FAKE_CA},
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterUser_{name}"}}],
        "current-context": name,
        "users": [
            {
                "name": f"clusterUser_{name}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--login",
                            "devicecode",
                            "--server-id",
                            "6dae42f8-4368-4678-94ff-3960e28e3630",
                        ],
                    }
                },
            }
        ],
    }
    encoded = base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}


register_call("azure-native:containerservice:listManagedClusterUserCredentials", _user_credentials)
register_call(
    "azure-native:authorization:getClientConfig",
    lambda args: {
        "clientId": "offline-client",
        "objectId": "offline-object",
        "subscriptionId": SUBSCRIPTION,
        "tenantId": TENANT,
    },
)
register_state(
    "azure-native:containerregistry:Registry",
    lambda a: {
        "name": a.inputs.get("registryName") or a.name,
        "loginServer": f"{a.inputs.get('registryName') or a.name}.azurecr.io",
    },
)
register_state("azure-native:keyvault:Vault", lambda a: {"name": a.inputs.get("vaultName") or a.name})
register_state(
    "azure-native:keyvault:Key",
    lambda a: {
        "keyUri": f"https://offline.vault.azure.net/keys/{a.inputs.get('keyName')}",
        "keyUriWithVersion": f"https://offline.vault.azure.net/keys/{a.inputs.get('keyName')}/0000",
    },
)

# DNS zones: four name servers each, as Route 53 and Azure DNS give (the edge delegates to them).
register_state(
    "aws:route53/zone:Zone",
    lambda a: {
        "zoneId": "Z0123456789ABCDEFGHIJ",
        "arn": "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ",
        "nameServers": [f"ns-{i}.awsdns-{i:02d}.net" for i in range(4)],
    },
)
register_state(
    "azure-native:dns:Zone",
    lambda a: {"nameServers": [f"ns{i}-01.azure-dns.com." for i in range(1, 5)], "name": a.inputs.get("zoneName")},
)
register_call(
    "aws:ec2/getManagedPrefixList:getManagedPrefixList",
    lambda args: {"id": "pl-0123456789abcdef0", "name": args.get("name"), "entries": []},
)
