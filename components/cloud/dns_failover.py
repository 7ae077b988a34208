"""`DnsFailover`: prod's one name for clients, failing over between the two regions' clusters.

The seed's failover procedure: "Detect failure (health checks)" then "DNS failover to secondary
region (< 1 min)". Each region publishes its own origin name (`<record>-<region>.<zone>`,
`DnsFailoverSettings.origin`) through external-dns, which runs in that region's cluster with
workload identity and may only write to this zone; the gateway's Service carries the annotation
`external-dns.alpha.kubernetes.io/hostname` with that origin. The failover name (`<record>.<zone>`)
points at the primary origin while its health check passes and at the secondary origin otherwise:
- AWS: Route53 HTTPS health checks every 10 s (3 failures = 30 s) and PRIMARY/SECONDARY
  failover CNAMEs with a 30 s TTL: clients move within about a minute;
- Azure: a Traffic Manager profile with priority routing, HTTPS probes every 10 s (2 tolerated
  failures) and a 30 s TTL, aliased from the Azure DNS zone.

The zone itself is built first (components/cloud/dns_zone.py: cert-manager writes its DNS-01
records there before any of this). Each region's gateway Service publishes its origin
(components/gateway.py), and `RegionalCluster.origin` says so (components/platform.py,
`_regional`); the health checks wait for that Service and probe that name. Without origins (a
stack that serves nothing) a health check could only fail and a failover record would point at
names that do not exist, so only external-dns is built. Staging runs one region: external-dns
publishes its origin and there is nothing to fail over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.dns as dns
import pulumi_azure_native.trafficmanager as trafficmanager
import pulumi_kubernetes as k8s

from components.cloud import versions
from components.cloud.common import CloudScope
from components.cloud.dns_zone import BuiltZone
from components.cloud.identity import AzureRole, federated_identity, pod_identity_role, role_assignment
from components.labels import standard_labels
from components.network import AwsNetwork, AzureNetwork, CloudNetwork
from components.priorities import SYSTEM_CLUSTER_CRITICAL
from settings.cloud import DnsFailoverSettings
from settings.seed import SHARED_CONTEXT, Cloud

EXTERNAL_DNS_NAMESPACE = "kube-system"
EXTERNAL_DNS_SA = "external-dns"
HEALTH_INTERVAL_SECONDS = 10
FAILOVER_TTL_SECONDS = 30
# Consecutive failed probes before a region is declared down: Route 53's failure threshold, and
# Traffic Manager's tolerated failures (it fails over on the next one).
ROUTE53_FAILURE_THRESHOLD = 3
TRAFFIC_MANAGER_TOLERATED_FAILURES = 2


@dataclass(frozen=True)
class RegionalOrigin:
    """What one region serves clients at: the host name its gateway publishes (through external-dns)
    and the resource that publishes it (the gateway's Service), which health checks wait for."""

    hostname: str
    published_by: pulumi.Resource


@dataclass(frozen=True)
class RegionalCluster:
    """What failover needs of one region's cluster, and its origin once something serves there."""

    scope: CloudScope
    provider: k8s.Provider
    network: CloudNetwork
    origin: RegionalOrigin | None = None


@dataclass(frozen=True)
class DnsFailoverArgs:
    cloud: Cloud
    settings: DnsFailoverSettings
    # Primary first, then secondary (prod); staging has one.
    clusters: tuple[RegionalCluster, ...]
    zone: BuiltZone

    @property
    def origins(self) -> tuple[RegionalOrigin, ...] | None:
        """Every region's origin, or None while no region has one. Failing over between some regions
        and not others would route clients to a region nothing checks: all or none."""
        given = [c.origin for c in self.clusters if c.origin is not None]
        if not given:
            return None
        if len(given) != len(self.clusters):
            raise ValueError("DnsFailover: every region needs an origin, or none does")
        return tuple(given)

    @property
    def fails_over(self) -> bool:
        """Health-checked failover: every region serves, and there are two of them."""
        return self.origins is not None and len(self.clusters) > 1


def external_dns_values(
    settings: DnsFailoverSettings, scope: CloudScope, provider_values: dict[str, object]
) -> dict[str, object]:
    return {
        "domainFilters": [settings.zone],
        # Each cluster owns only the records it created (TXT ownership); it never deletes others'.
        "txtOwnerId": scope.cluster_name,
        "policy": "upsert-only",
        "sources": ["service", "ingress"],
        "interval": "1m",
        "serviceAccount": {"create": True, "name": EXTERNAL_DNS_SA},
        # A cluster add-on in kube-system (components/priorities.py).
        "priorityClassName": SYSTEM_CLUSTER_CRITICAL,
        **provider_values,
    }


class FailoverBackend(Protocol):
    def build(self, args: DnsFailoverArgs, parent: pulumi.Resource) -> pulumi.Output[str]:
        """The zone and each region's external-dns; health checks and failover records once
        `args.origins` exist. Returns the zone's id or name."""
        ...


class Route53Failover:
    def build(self, args: DnsFailoverArgs, parent: pulumi.Resource) -> pulumi.Output[str]:
        settings = args.settings
        primary = args.clusters[0]
        first = primary.network
        assert isinstance(first, AwsNetwork)
        global_opts = pulumi.ResourceOptions(parent=parent, provider=first.provider)
        zone = args.zone
        assert zone.arn is not None
        for cluster in args.clusters:
            network, scope = cluster.network, cluster.scope
            assert isinstance(network, AwsNetwork) and network.cluster_name is not None
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
                f"{scope.prefix}-external-dns",
                cluster_name=network.cluster_name,
                namespace=EXTERNAL_DNS_NAMESPACE,
                service_account=EXTERNAL_DNS_SA,
                policy=policy,
                tags=scope.tags,
                opts=regional,
            )
            versions.EXTERNAL_DNS.release(
                f"{scope.prefix}-external-dns",
                name="external-dns",
                namespace=EXTERNAL_DNS_NAMESPACE,
                values=external_dns_values(
                    settings,
                    scope,
                    {
                        "provider": {"name": "aws"},
                        "env": [{"name": "AWS_DEFAULT_REGION", "value": scope.region}],
                        "extraArgs": ["--aws-zone-type=public"],
                    },
                ),
                opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider, depends_on=[role]),
            )
        origins = args.origins
        if origins is None or not args.fails_over:
            return zone.id
        for index, (cluster, origin) in enumerate(zip(args.clusters, origins, strict=True)):
            scope = cluster.scope
            check = aws.route53.HealthCheck(
                f"{scope.prefix}-health",
                type="HTTPS",
                fqdn=origin.hostname,
                port=443,
                resource_path=settings.health_check_path,
                enable_sni=True,
                request_interval=HEALTH_INTERVAL_SECONDS,
                failure_threshold=ROUTE53_FAILURE_THRESHOLD,
                tags={**scope.tags, "Name": origin.hostname},
                opts=pulumi.ResourceOptions.merge(
                    global_opts, pulumi.ResourceOptions(depends_on=[origin.published_by])
                ),
            )
            role_name = "PRIMARY" if index == 0 else "SECONDARY"
            aws.route53.Record(
                f"{scope.prefix}-failover",
                zone_id=zone.id,
                name=settings.fqdn,
                type="CNAME",
                ttl=FAILOVER_TTL_SECONDS,
                records=[origin.hostname],
                set_identifier=f"{role_name.lower()}-{scope.region}",
                failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=role_name)],
                health_check_id=check.id,
                opts=global_opts,
            )
        return zone.id


class TrafficManagerFailover:
    def build(self, args: DnsFailoverArgs, parent: pulumi.Resource) -> pulumi.Output[str]:
        settings = args.settings
        primary = args.clusters[0]
        scope = primary.scope
        child = pulumi.ResourceOptions(parent=parent)
        zone = args.zone
        assert zone.resource_group_name is not None and zone.resource_group_id is not None
        group_name, group_id = zone.resource_group_name, zone.resource_group_id
        client = authorization.get_client_config_output()

        for cluster in args.clusters:
            network, regional = cluster.network, cluster.scope
            assert isinstance(network, AzureNetwork) and network.oidc_issuer_url is not None
            identity, _ = federated_identity(
                f"{regional.prefix}-external-dns",
                identity_name=f"id-{regional.cluster_name}-external-dns",
                resource_group_name=network.resource_group_name,
                location=regional.region,
                issuer=network.oidc_issuer_url,
                service_accounts=[(EXTERNAL_DNS_NAMESPACE, EXTERNAL_DNS_SA)],
                credential_names=[(f"{regional.prefix}-external-dns-federation", "external-dns")],
                tags=regional.tags,
                opts=child,
            )
            grant = role_assignment(
                f"{regional.prefix}-external-dns-zone",
                role=AzureRole.DNS_ZONE_CONTRIBUTOR,
                principal_id=identity.principal_id,
                scope=zone.id,
                opts=child,
            )
            read_group = role_assignment(
                f"{regional.prefix}-external-dns-group-reader",
                role=AzureRole.READER,
                principal_id=identity.principal_id,
                scope=group_id,
                opts=child,
            )
            # external-dns reads its Azure target from azure.json; it holds identifiers, no secret.
            azure_json = pulumi.Output.all(client.tenant_id, client.subscription_id, group_name).apply(
                lambda v: json.dumps(
                    {
                        "tenantId": v[0],
                        "subscriptionId": v[1],
                        "resourceGroup": v[2],
                        "useWorkloadIdentityExtension": True,
                    }
                )
            )
            config = k8s.core.v1.ConfigMap(
                f"{regional.prefix}-external-dns-azure",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name="external-dns-azure",
                    namespace=EXTERNAL_DNS_NAMESPACE,
                    labels=standard_labels(
                        context=SHARED_CONTEXT.slug,
                        environment=regional.environment,
                        component="dns",
                        name="external-dns",
                    ),
                ),
                data={"azure.json": azure_json},
                opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider),
            )
            versions.EXTERNAL_DNS.release(
                f"{regional.prefix}-external-dns",
                name="external-dns",
                namespace=EXTERNAL_DNS_NAMESPACE,
                values=external_dns_values(
                    settings,
                    regional,
                    {
                        "provider": {"name": "azure"},
                        "podLabels": {"azure.workload.identity/use": "true"},
                        "serviceAccount": {
                            "create": True,
                            "name": EXTERNAL_DNS_SA,
                            "annotations": {"azure.workload.identity/client-id": identity.client_id},
                        },
                        "extraVolumes": [{"name": "azure-config", "configMap": {"name": "external-dns-azure"}}],
                        "extraVolumeMounts": [
                            {"name": "azure-config", "mountPath": "/etc/kubernetes", "readOnly": True}
                        ],
                    },
                ),
                opts=pulumi.ResourceOptions(
                    parent=parent, provider=cluster.provider, depends_on=[grant, read_group, config]
                ),
            )
        origins = args.origins
        if origins is None or not args.fails_over:
            return pulumi.Output.from_input(zone.name)
        profile = trafficmanager.Profile(
            "dns-failover",
            profile_name=f"tm-{scope.cluster_name}",
            resource_group_name=group_name,
            location="global",
            profile_status="Enabled",
            traffic_routing_method=trafficmanager.TrafficRoutingMethod.PRIORITY,
            # The Traffic Manager name is global; the zone's alias below is what clients use.
            dns_config=trafficmanager.DnsConfigArgs(
                relative_name=f"{scope.cluster_name}-{settings.record}", ttl=FAILOVER_TTL_SECONDS
            ),
            monitor_config=trafficmanager.MonitorConfigArgs(
                protocol=trafficmanager.MonitorProtocol.HTTPS,
                port=443,
                path=settings.health_check_path,
                interval_in_seconds=HEALTH_INTERVAL_SECONDS,
                timeout_in_seconds=5,
                tolerated_number_of_failures=TRAFFIC_MANAGER_TOLERATED_FAILURES,
            ),
            tags=scope.tags,
            opts=child,
        )
        for index, (cluster, origin) in enumerate(zip(args.clusters, origins, strict=True)):
            trafficmanager.Endpoint(
                f"{cluster.scope.prefix}-endpoint",
                endpoint_name=cluster.scope.region,
                profile_name=profile.name,
                resource_group_name=group_name,
                endpoint_type="ExternalEndpoints",
                target=origin.hostname,
                priority=index + 1,
                endpoint_status="Enabled",
                opts=pulumi.ResourceOptions(parent=parent, depends_on=[origin.published_by]),
            )
        dns.RecordSet(
            "dns-failover-record",
            relative_record_set_name=settings.record,
            record_type="CNAME",
            zone_name=zone.name,
            resource_group_name=group_name,
            ttl=FAILOVER_TTL_SECONDS,
            # An alias: the record follows the profile, whichever endpoint it answers with.
            target_resource=dns.SubResourceArgs(id=profile.id),
            opts=child,
        )
        return pulumi.Output.from_input(zone.name)


FAILOVER_BACKENDS: dict[Cloud, FailoverBackend] = {"aws": Route53Failover(), "azure": TrafficManagerFailover()}


class DnsFailover(pulumi.ComponentResource):
    zone: pulumi.Output[str]
    # The failover name clients use, once it exists (every region has an origin).
    fqdn: str | None
    zone_name: str

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:DnsFailover", name, None, opts)
        active = args.fails_over
        self.zone = FAILOVER_BACKENDS[args.cloud].build(args, self)
        self.fqdn = args.settings.fqdn if active else None
        self.zone_name = args.settings.zone
        self.register_outputs({"fqdn": self.fqdn, "zone": args.settings.zone})
