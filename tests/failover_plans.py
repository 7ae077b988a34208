"""Prod as it will be once the gateway (issue 10) serves each region: DnsFailover built with every
region's origin, and the public entry points (the gateway's LoadBalancer Services) it fails over.

The program does not build a gateway yet, so no prod plan has either. `failover_with_origins`
registers DnsFailover as the gateway issue will (components/cloud/dns_failover.py, the
`RegionalOrigin` seam), under the offline plan's mocks; `with_gateway` adds what that registers
(the gateway's Namespace and Service in both regions' clusters, the health checks and failover
records) to the real prod plan, on the real plan's cluster providers, so that the failover policy's
checks of health checks, TTLs and endpoints run on the records the component really builds.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cloud.common import CloudScope
from components.cloud.dns_failover import DnsFailover, DnsFailoverArgs, RegionalCluster, RegionalOrigin
from components.labels import GATEWAY_ROLE, GATEWAY_ROLE_LABEL, PLATFORM_CONTEXT, standard_labels
from components.network import AwsNetwork, AzureNetwork
from hubctl.plan import Plan
from settings.cloud import DnsFailoverSettings
from tests.planning import planned, record

ZONE = "bakhmach-business-hub.com"
GATEWAY_NAMESPACE = "gateway"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
FAILOVER_TYPES = {
    "aws": ("aws:route53/healthCheck:HealthCheck", "aws:route53/record:Record"),
    "azure": (
        "azure-native:trafficmanager:Profile",
        "azure-native:trafficmanager:Endpoint",
        "azure-native:dns:RecordSet",
    ),
}


def regions(cloud: str) -> list[str]:
    """Pulumi.prod.yaml's primary and secondary region of each cloud."""
    return ["eu-central-1", "eu-west-1"] if cloud == "aws" else ["germanywestcentral", "northeurope"]


def gateway_namespace(environment: str = "prod") -> dict[str, Any]:
    """The gateway's namespace, labelled as the one whose Services may be exposed."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": GATEWAY_NAMESPACE,
            "labels": {
                **standard_labels(context=PLATFORM_CONTEXT, environment=environment, component="gateway"),
                GATEWAY_ROLE_LABEL: GATEWAY_ROLE,
            },
        },
    }


def gateway_service(origin: str, environment: str = "prod") -> dict[str, Any]:
    """The gateway's public entry point: a LoadBalancer Service that external-dns publishes as the
    region's origin name."""
    labels = standard_labels(context=PLATFORM_CONTEXT, environment=environment, component="gateway", name="gateway")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "gateway",
            "namespace": GATEWAY_NAMESPACE,
            "labels": labels,
            "annotations": {"external-dns.alpha.kubernetes.io/hostname": origin},
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app.kubernetes.io/name": "gateway"},
            "ports": [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}],
        },
    }


def failover_with_origins(cloud: str, with_origins: tuple[bool, bool] = (True, True)) -> None:
    """DnsFailover as the gateway issue will build it: each region's gateway Service publishes the
    region's origin name."""
    settings = DnsFailoverSettings(zone=ZONE)
    clusters = []
    for index, region in enumerate(regions(cloud)):
        scope = CloudScope(
            stack_name="prod", environment="prod", owner="t", region=region, secondary=index == 1, protect=True
        )
        cluster = k8s.Provider(f"{scope.prefix}-k8s", kubeconfig="{}")
        network: AwsNetwork | AzureNetwork
        if cloud == "aws":
            network = AwsNetwork(
                region=region,
                availability_zones=[f"{region}a"],
                vpc_id="vpc",
                vpc_cidr="10.60.0.0/16",
                private_subnet_ids=[],
                node_security_group_id="sg",
                tags=scope.tags,
                cluster_name=scope.cluster_name,
                provider=aws.Provider(f"{scope.prefix}-aws", region=region),
            )
        else:
            network = AzureNetwork(
                location=region,
                resource_group_name=f"rg-{scope.cluster_name}",
                vnet_id="vnet",
                vnet_name="vnet",
                vnet_cidr="10.70.0.0/16",
                node_subnet_id="nodes",
                postgres_subnet_id="pg",
                private_endpoint_subnet_id="pe",
                tags=scope.tags,
                cluster_name=scope.cluster_name,
                oidc_issuer_url=f"https://oidc/{scope.cluster_name}/",
            )
        on_cluster = pulumi.ResourceOptions(provider=cluster)
        body = gateway_namespace()
        namespace = k8s.core.v1.Namespace(
            f"{scope.prefix}-gateway-namespace", metadata=body["metadata"], opts=on_cluster
        )
        body = gateway_service(settings.origin(region))
        gateway = k8s.core.v1.Service(
            f"{scope.prefix}-gateway",
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(provider=cluster, depends_on=[namespace]),
        )
        origin = RegionalOrigin(hostname=settings.origin(region), published_by=gateway) if with_origins[index] else None
        clusters.append(RegionalCluster(scope=scope, provider=cluster, network=network, origin=origin))
    DnsFailover("failover", DnsFailoverArgs(cloud=cloud, settings=settings, clusters=tuple(clusters)))  # type: ignore[arg-type]


def _type_and_name(urn: str) -> tuple[str, str]:
    """urn:pulumi:<stack>::<project>::<parent types>$<type>::<name> -> (<type>, <name>)"""
    _, _, types, name = urn.split("::", 3)
    return types.rsplit("$", 1)[-1], name


@functools.cache
def with_gateway(cloud: str) -> Plan:
    """The real prod plan of `cloud` plus the gateway's entry points in both regions' clusters and
    the health checks and failover records DnsFailover builds for them."""
    real = planned("prod", cloud).to_json()
    providers = {
        _type_and_name(r["urn"]): r["urn"] for r in real["resources"] if r["type"].startswith("pulumi:providers:")
    }
    known = {r["urn"] for r in real["resources"]}
    wanted = {NAMESPACE, SERVICE, *FAILOVER_TYPES[cloud]}
    added = []
    for resource in record(lambda: failover_with_origins(cloud)):
        if resource.type not in wanted:
            continue
        entry = resource.to_json()
        assert entry["urn"] not in known, f"{entry['urn']} is in the prod plan already"
        if entry["provider"]:
            # The real plan's provider of the same name: the same region's cluster or account.
            entry["provider"] = providers[_type_and_name(entry["provider"])]
        added.append(entry)
    urns = known | {r["urn"] for r in added}
    for entry in added:
        missing = [d for d in entry["dependencies"] if d not in urns]
        assert not missing, f"{entry['urn']} depends on what the prod plan does not have: {missing}"
    return Plan.from_json(real | {"resources": real["resources"] + added})
