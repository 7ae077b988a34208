"""`Edge`: Cloudflare in front of the gateway (staging/prod with `edge.provider: cloudflare`).

The seed's "[WAF - Cloudflare]" above the API gateway. In the business's existing Cloudflare zone
(`edge.zoneId`, the zone of `gateway.domain`; its plan must include the managed rulesets, Pro or
higher):
- proxied records for the API's and Keycloak's names (and any route with a host of its own),
  pointing at the origin: prod's health-checked failover name, staging's one region's origin
  name, both in the stack's cloud zone (components/cloud/dns_zone.py); Keycloak runs in the
  primary region only, so its name points at the primary's origin;
- the cloud zone's delegation (NS records), and for each public name an `_acme-challenge` CNAME
  into the cloud zone, where cert-manager answers DNS-01 with workload identity
  (components/certificates.py): the edge never holds a certificate key or gives one out;
- zone settings: SSL "strict" (Cloudflare checks the origin's certificate), minimum TLS 1.2 for
  clients with TLS 1.3 on, always HTTPS; DNSSEC on the zone;
- Cloudflare's Managed Ruleset and the OWASP Core Ruleset in the managed WAF phase, and a rate
  limit per client address and edge location on the gateway's names.
The API token comes from `CLOUDFLARE_API_TOKEN` in the environment or the stack secret
`bakhmach-hub:cloudflareApiToken` (an explicit provider then); it needs Zone:Edit of DNS, Zone
Settings, Zone WAF and DNSSEC on this zone only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.cloud.dns_zone import BuiltZone
from settings import front_door as fd
from settings.front_door import FrontDoorSpec

# Cloudflare's managed ruleset ids (the same in every account; cloudflare-go `rulesets.go`).
CLOUDFLARE_MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_CORE_RULESET = "4814384a9e5d4991b9815dcfc25d2f1f"
# Route 53 and Azure DNS both give a zone four name servers.
NAME_SERVERS = 4
# Cloudflare's "automatic" TTL (proxied records always use it).
AUTO_TTL = 1
# The rate limit at the edge: requests per client address per edge location per minute, above the
# gateway's own per-replica limit so the gateway answers first in normal use and the edge stops a
# flood before it reaches the origin.
EDGE_RATE_MULTIPLIER = 3
# 10 s is the counting period and block duration every Cloudflare plan offers for rate limiting
# rules (longer ones need Business or Enterprise).
RATE_PERIOD_SECONDS = 10
ZONE_SETTINGS: dict[str, str] = {
    "ssl": "strict",
    "min_tls_version": fd.EDGE_TLS_MINIMUM,
    "tls_1_3": "on",
    "always_use_https": "on",
}


def _nth(index: int) -> Callable[[list[str]], str]:
    return lambda servers: servers[index]


def edge_requests_per_period(spec: FrontDoorSpec) -> int:
    return max(1, spec.rate_limit_per_minute * EDGE_RATE_MULTIPLIER * RATE_PERIOD_SECONDS // 60)


@dataclass(frozen=True)
class EdgeArgs:
    spec: FrontDoorSpec
    zone: BuiltZone  # the cloud zone the origins and DNS-01 records live in
    # The origin the API's names point at (prod: the failover name), and Keycloak's.
    api_origin: str
    identity_origin: str
    api_token: pulumi.Input[str] | None = None
    # The gateways' Services: the records point at names they publish.
    origins: tuple[pulumi.Resource, ...] = ()


class Edge(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:edge:Edge", name, None, opts)
        spec = args.spec
        assert spec.edge_zone_id is not None
        zone_id = spec.edge_zone_id
        provider = (
            cloudflare.Provider(f"{name}-provider", api_token=args.api_token, opts=pulumi.ResourceOptions(parent=self))
            if args.api_token is not None
            else None
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        comment = f"bakhmach-hub {spec.environment} (Pulumi)"

        def relative(hostname: str) -> str:
            return hostname.removesuffix(f".{spec.domain}")

        public = [h for h in spec.hostnames if h != spec.identity_hostname]
        for hostname in public:
            cloudflare.DnsRecord(
                f"{name}-{relative(hostname)}",
                zone_id=zone_id,
                name=hostname,
                type="CNAME",
                content=args.api_origin,
                proxied=True,
                ttl=AUTO_TTL,
                comment=comment,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.origins))),
            )
        cloudflare.DnsRecord(
            f"{name}-{relative(spec.identity_hostname)}",
            zone_id=zone_id,
            name=spec.identity_hostname,
            type="CNAME",
            content=args.identity_origin,
            proxied=True,
            ttl=AUTO_TTL,
            comment=comment,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.origins))),
        )
        cloud_zone = args.zone.name
        for index in range(NAME_SERVERS):
            cloudflare.DnsRecord(
                f"{name}-delegation-{index}",
                zone_id=zone_id,
                name=cloud_zone,
                type="NS",
                content=args.zone.name_servers.apply(_nth(index)),
                ttl=3600,
                comment=comment,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[args.zone.resource])),
            )
        for hostname in spec.hostnames:
            label = relative(hostname)
            cloudflare.DnsRecord(
                f"{name}-acme-{label}",
                zone_id=zone_id,
                name=f"_acme-challenge.{hostname}",
                type="CNAME",
                content=f"_acme-challenge.{label}.{cloud_zone}",
                proxied=False,
                ttl=300,
                comment=comment,
                opts=child,
            )
        for setting, value in ZONE_SETTINGS.items():
            cloudflare.ZoneSetting(
                f"{name}-{setting.replace('_', '-')}", zone_id=zone_id, setting_id=setting, value=value, opts=child
            )
        cloudflare.ZoneDnssec(f"{name}-dnssec", zone_id=zone_id, status="active", opts=child)
        cloudflare.Ruleset(
            f"{name}-waf",
            zone_id=zone_id,
            kind="zone",
            phase="http_request_firewall_managed",
            name="Bakhmach managed WAF",
            description="Cloudflare Managed Ruleset and OWASP Core Ruleset",
            rules=[
                cloudflare.RulesetRuleArgs(
                    action="execute",
                    expression="true",
                    description=description,
                    enabled=True,
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(id=ruleset),
                )
                for ruleset, description in (
                    (CLOUDFLARE_MANAGED_RULESET, "Cloudflare Managed Ruleset"),
                    (OWASP_CORE_RULESET, "Cloudflare OWASP Core Ruleset"),
                )
            ],
            opts=child,
        )
        hosts = " ".join(f'"{h}"' for h in spec.hostnames)
        cloudflare.Ruleset(
            f"{name}-rate-limit",
            zone_id=zone_id,
            kind="zone",
            phase="http_ratelimit",
            name="Bakhmach rate limit",
            description="Requests per client address and edge location",
            rules=[
                cloudflare.RulesetRuleArgs(
                    action="block",
                    expression=f"(http.host in {{{hosts}}})",
                    description="Per-client rate limit on the gateway's names",
                    enabled=True,
                    ratelimit=cloudflare.RulesetRuleRatelimitArgs(
                        characteristics=["ip.src", "cf.colo.id"],
                        period=RATE_PERIOD_SECONDS,
                        requests_per_period=edge_requests_per_period(spec),
                        mitigation_timeout=RATE_PERIOD_SECONDS,
                    ),
                )
            ],
            opts=child,
        )
        self.register_outputs({"zoneId": zone_id, "hostnames": list(spec.hostnames)})
