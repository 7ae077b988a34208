"""`private_dns`: in each of prod's clusters, an external-dns that publishes the in-cluster data
services' members in the private zone both regions resolve (components/dr/network.py).

It watches only Services labelled `bakhmach.io/dr-endpoint=true` (components/data/cross_region.py)
and writes only to the private zone, with upsert-only and a TXT owner per cluster, so the two
clusters never touch each other's records and nothing else in the cluster reaches the zone. It is a
second release beside the public zone's external-dns (components/cloud/dns_failover.py), with an
identity of its own, allowed that one zone:
- AWS: an EKS Pod Identity role, `route53:ChangeResourceRecordSets` on the private hosted zone;
- Azure: a user-assigned identity for its service account, "Private DNS Zone Contributor" on the
  zone and Reader on its resource group (external-dns's `azure-private-dns` provider lists it).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_kubernetes as k8s

from components.cloud import versions
from components.cloud.identity import AzureRole, federated_identity, pod_identity_role, role_assignment
from components.data.cross_region import DR_ENDPOINT_LABEL
from components.dr.network import PrivateZone, RegionSide
from components.labels import standard_labels
from components.network import AwsNetwork, AzureNetwork
from components.priorities import SYSTEM_CLUSTER_CRITICAL
from settings.seed import SHARED_CONTEXT

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "external-dns-dr"


def _values(zone: PrivateZone, side: RegionSide, provider_values: dict[str, object]) -> dict[str, object]:
    extra = provider_values.pop("extraArgs", [])
    return {
        "domainFilters": [zone.name],
        "txtOwnerId": f"{side.scope.cluster_name}-dr",
        "policy": "upsert-only",
        "sources": ["service"],
        "interval": "1m",
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
        "extraArgs": [f"--label-filter={DR_ENDPOINT_LABEL}=true", *extra],  # type: ignore[misc]
        **provider_values,
    }


def private_dns(name: str, side: RegionSide, zone: PrivateZone, parent: pulumi.Resource) -> k8s.helm.v3.Release:
    network, scope = side.network, side.scope
    on_cluster = pulumi.ResourceOptions(parent=parent, provider=side.provider)
    if isinstance(network, AwsNetwork):
        assert network.cluster_name is not None and zone.arn is not None
        regional = pulumi.ResourceOptions(parent=parent, provider=network.provider)
        policy = zone.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"], "Resource": [arn]},
                        {
                            "Effect": "Allow",
                            "Action": [
                                "route53:ListHostedZones",
                                "route53:ListResourceRecordSets",
                                "route53:ListTagsForResources",
                            ],
                            "Resource": "*",
                        },
                    ],
                }
            )
        )
        role = pod_identity_role(
            f"{name}-role",
            cluster_name=network.cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=policy,
            tags=scope.tags,
            opts=regional,
        )
        return versions.EXTERNAL_DNS.release(
            name,
            name="external-dns-dr",
            namespace=NAMESPACE,
            values=_values(
                zone,
                side,
                {
                    "provider": {"name": "aws"},
                    "env": [{"name": "AWS_DEFAULT_REGION", "value": scope.region}],
                    "extraArgs": ["--aws-zone-type=private"],
                },
            ),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[role, *side.scheduling])),
        )
    assert isinstance(network, AzureNetwork) and network.oidc_issuer_url is not None
    assert zone.resource_group_name is not None
    child = pulumi.ResourceOptions(parent=parent)
    identity, _ = federated_identity(
        f"{name}-identity",
        identity_name=f"id-{scope.cluster_name}-external-dns-dr",
        resource_group_name=network.resource_group_name,
        location=scope.region,
        issuer=network.oidc_issuer_url,
        service_accounts=[(NAMESPACE, SERVICE_ACCOUNT)],
        tags=scope.tags,
        opts=child,
    )
    grant = role_assignment(
        f"{name}-zone",
        role=AzureRole.PRIVATE_DNS_ZONE_CONTRIBUTOR,
        principal_id=identity.principal_id,
        scope=zone.id,
        opts=child,
    )
    client = authorization.get_client_config_output()
    read_group = role_assignment(
        f"{name}-group-reader",
        role=AzureRole.READER,
        principal_id=identity.principal_id,
        scope=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", zone.resource_group_name
        ),
        opts=child,
    )
    azure_json = pulumi.Output.all(client.tenant_id, client.subscription_id, zone.resource_group_name).apply(
        lambda v: json.dumps(
            {"tenantId": v[0], "subscriptionId": v[1], "resourceGroup": v[2], "useWorkloadIdentityExtension": True}
        )
    )
    config = k8s.core.v1.ConfigMap(
        f"{name}-azure",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name="external-dns-dr-azure",
            namespace=NAMESPACE,
            labels=standard_labels(
                context=SHARED_CONTEXT.slug, environment=scope.environment, component="dns", name="external-dns-dr"
            ),
        ),
        data={"azure.json": azure_json},
        opts=on_cluster,
    )
    return versions.EXTERNAL_DNS.release(
        name,
        name="external-dns-dr",
        namespace=NAMESPACE,
        values=_values(
            zone,
            side,
            {
                "provider": {"name": "azure-private-dns"},
                "podLabels": {"azure.workload.identity/use": "true"},
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": {"azure.workload.identity/client-id": identity.client_id},
                },
                "extraVolumes": [{"name": "azure-config", "configMap": {"name": "external-dns-dr-azure"}}],
                "extraVolumeMounts": [{"name": "azure-config", "mountPath": "/etc/kubernetes", "readOnly": True}],
            },
        ),
        opts=pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[grant, read_group, config, *side.scheduling])
        ),
    )
