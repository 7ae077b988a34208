"""`DnsZone`: the stack's cloud DNS zone (Route53 or Azure DNS), staging and prod.

Built before anything in the clusters, because three things write into it: cert-manager proves
the gateway's names to the ACME CA with DNS-01 records here (components/certificates.py), each
region's external-dns publishes its gateway's origin name here, and prod's health-checked
failover record lives here (components/cloud/dns_failover.py). What they need of it travels as
one value, `BuiltZone`.

Behind Cloudflare the zone is a subdomain of the public domain (`origin.<domain>`), delegated
from Cloudflare's zone by NS records the edge creates from `name_servers` (components/edge.py);
without an edge it is the public domain itself, delegated at the registrar.

The Pulumi names are the ones `DnsFailover` gave the zone when it built it (prod), with an alias
from that parent, so moving it here does not replace a protected zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.dns as dns
import pulumi_azure_native.resources as resources

from components.cloud.common import CloudScope
from settings.seed import Cloud

# Where prod's zone was registered before it moved here (components/cloud/dns_failover.py).
_FORMER_PARENT = ("failover", "bakhmach:cloud:DnsFailover")


@dataclass(frozen=True)
class BuiltZone:
    cloud: Cloud
    name: str
    # AWS: the hosted zone's id and ARN. Azure: the zone's resource id, its group and subscription.
    id: pulumi.Output[str]
    arn: pulumi.Output[str] | None
    resource_group_name: pulumi.Output[str] | None
    resource_group_id: pulumi.Output[str] | None
    subscription_id: pulumi.Output[str] | None
    name_servers: pulumi.Output[list[str]]
    # What writes into the zone must wait for it.
    resource: pulumi.Resource


@dataclass(frozen=True)
class DnsZoneArgs:
    cloud: Cloud
    zone: str
    scope: CloudScope  # the primary cluster's
    # AWS: the primary region's provider (its default tags included).
    provider: pulumi.ProviderResource | None = None


class DnsZone(pulumi.ComponentResource):
    built: BuiltZone

    def __init__(self, name: str, args: DnsZoneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:cloud:DnsZone", name, None, opts)
        scope = args.scope
        former = pulumi.Alias(parent=pulumi.create_urn(*_FORMER_PARENT))
        if args.cloud == "aws":
            zone = aws.route53.Zone(
                "dns-zone",
                name=args.zone,
                comment=f"Bakhmach Business Hub ({scope.environment})",
                tags=scope.tags,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, protect=scope.protect, aliases=[former]
                ),
            )
            self.built = BuiltZone(
                cloud="aws",
                name=args.zone,
                id=zone.zone_id,
                arn=zone.arn,
                resource_group_name=None,
                resource_group_id=None,
                subscription_id=None,
                name_servers=zone.name_servers.apply(list),
                resource=zone,
            )
        else:
            group = resources.ResourceGroup(
                "dns-rg",
                resource_group_name=f"rg-{scope.cluster_name}-global",
                location=scope.region,
                tags=scope.tags,
                opts=pulumi.ResourceOptions(parent=self, aliases=[former]),
            )
            azure_zone = dns.Zone(
                "dns-zone",
                zone_name=args.zone,
                resource_group_name=group.name,
                location="global",
                zone_type=dns.ZoneType.PUBLIC,
                tags=scope.tags,
                opts=pulumi.ResourceOptions(parent=self, protect=scope.protect, aliases=[former]),
            )
            self.built = BuiltZone(
                cloud="azure",
                name=args.zone,
                id=azure_zone.id,
                arn=None,
                resource_group_name=group.name,
                resource_group_id=group.id,
                subscription_id=authorization.get_client_config_output().subscription_id,
                name_servers=azure_zone.name_servers.apply(lambda servers: list(servers or [])),
                resource=azure_zone,
            )
        self.register_outputs({"zone": args.zone})
