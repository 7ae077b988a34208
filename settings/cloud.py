"""Settings of the cloud clusters (EKS/AKS): regions, network ranges, node pools, DNS failover.

Stack-file key `bakhmach-hub:cloudCluster`. A stack file carries both clouds' sections, so
`hubctl plan prod --cloud azure` previews the other cloud from the same file; only the section of
the chosen cloud is required (`CloudSettings.check`). Node counts are not set here: they come from
the seed (`ENVIRONMENT_PROFILES[...].nodes`, `CLUSTER_AUTOSCALING_*`) and are split across the
node pools by each pool's `share`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from settings import seed
from settings.seed import Cloud, Environment

_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_AZURE_LOCATION = re.compile(r"^[a-z]+[a-z0-9]*$")
# AKS pool names: lowercase alphanumeric, starting with a letter, at most 12 characters (Linux).
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8}([0-9a-f]{9})?$")
_VNET_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/(?P<group>[-\w._()]{1,90})"
    r"/providers/Microsoft\.Network/virtualNetworks/(?P<name>[-\w._]{2,64})$"
)
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# AKS clusters are created with a one-node pool of this name, which the stack never changes
# (components/cloud/aks.py, `bootstrap_pool`); the settings' pools may not take it. Its node
# counts against the seed's 50-node ceiling, so the settings' pools share what is left.
AKS_BOOTSTRAP_POOL = "bootstrap"
AKS_BOOTSTRAP_NODES = 1

NatLayout = Literal["single", "perZone"]
# One NAT gateway per zone keeps a zone's egress alive when another zone fails (prod's SLA);
# staging accepts the single point of failure for a third of the cost.
NAT_LAYOUT_DEFAULTS: dict[Environment, NatLayout] = {"dev": "single", "staging": "single", "prod": "perZone"}


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{value!r} is not a network CIDR (allowed: e.g. '10.40.0.0/16')") from None
    return str(network)


def _private_cidr(value: str, smallest_prefix: int) -> str:
    network = ipaddress.ip_network(_cidr(value))
    if not network.is_private or network.version != 4:
        raise ValueError(f"{value!r} is not a private IPv4 range (allowed: RFC 1918, e.g. '10.40.0.0/16')")
    if network.prefixlen > smallest_prefix:
        raise ValueError(f"{value!r} is too small (allowed: a /{smallest_prefix} or larger)")
    return str(network)


def _allowed_cidrs(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("at least one CIDR (allowed: the deploying runners' egress ranges, e.g. '203.0.113.0/28')")
    for cidr in value:
        if ipaddress.ip_network(_cidr(cidr)).prefixlen == 0:
            raise ValueError(f"{cidr!r} opens the API to the internet (allowed: specific CIDRs, never /0)")
    return value


ApiAccessMode = Literal["hub", "allowed-cidrs"]
_ACCESS_HINT = (
    "allowed: {mode: hub, ...} to peer with an existing hub network where the runners live, or "
    "{mode: allowed-cidrs, cidrs: [...]} for a public endpoint limited to the runners' egress ranges"
)


class _ApiAccess(_Section):
    """How whoever runs `pulumi up` reaches the cluster's API (DESIGN.md, "The first run on a fresh
    account"): the API of a fresh cluster lives in a network this stack creates, so the runner
    must either sit in a hub network that exists before the stack and is peered to it (`hub`), or
    reach a public endpoint open to its own egress ranges only (`allowed-cidrs`)."""

    mode: ApiAccessMode
    # allowed-cidrs: the egress ranges of the runners (never 0.0.0.0/0).
    cidrs: tuple[str, ...] = ()

    def _fields_of_mode(self, hub_fields: dict[str, Any]) -> None:
        if self.mode == "allowed-cidrs":
            _allowed_cidrs(self.cidrs)
            given = [key for key, value in hub_fields.items() if value]
            if given:
                raise ValueError(f"{', '.join(given)}: not used with mode 'allowed-cidrs' (allowed: cidrs)")
            return
        if self.cidrs:
            raise ValueError("cidrs: not used with mode 'hub' (the API stays private; allowed: the hub's keys)")
        missing = [key for key, value in hub_fields.items() if value is None]
        if missing:
            raise ValueError(f"{', '.join(missing)}: required with mode 'hub'")

    @property
    def private(self) -> bool:
        return self.mode == "hub"


class AwsApiAccess(_ApiAccess):
    # hub: the hub VPC (same AWS account), its range and the route tables that get a route back.
    hub_vpc_id: str | None = None
    hub_cidr: str | None = None
    # Default: the cluster's primary region. Prod's secondary cluster peers across regions.
    hub_region: str | None = None
    hub_route_table_ids: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AwsApiAccess:
        self._fields_of_mode(
            {"hubVpcId": self.hub_vpc_id, "hubCidr": self.hub_cidr, "hubRouteTableIds": self.hub_route_table_ids}
        )
        if self.hub_vpc_id is not None and not _VPC_ID.match(self.hub_vpc_id):
            raise ValueError(f"hubVpcId: {self.hub_vpc_id!r} is not a VPC id (allowed: e.g. 'vpc-0a1b2c3d4e5f60718')")
        if self.hub_cidr is not None:
            _private_cidr(self.hub_cidr, 28)
        if self.hub_region is not None and not _AWS_REGION.match(self.hub_region):
            raise ValueError(f"hubRegion: {self.hub_region!r} is not an AWS region (allowed: e.g. 'eu-central-1')")
        for table in self.hub_route_table_ids or ():
            if not _ROUTE_TABLE_ID.match(table):
                raise ValueError(f"hubRouteTableIds: {table!r} is not a route table id (allowed: e.g. 'rtb-0a1b2c3d')")
        if self.hub_route_table_ids is not None and not self.hub_route_table_ids:
            raise ValueError("hubRouteTableIds: at least one (the hub's route tables that reach the runners)")
        return self


class AzureApiAccess(_ApiAccess):
    # hub: the hub VNet's resource id (any subscription of the tenant).
    hub_vnet_id: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AzureApiAccess:
        self._fields_of_mode({"hubVnetId": self.hub_vnet_id})
        if self.hub_vnet_id is not None and not _VNET_ID.match(self.hub_vnet_id):
            raise ValueError(
                f"hubVnetId: {self.hub_vnet_id!r} is not a VNet resource id (allowed: /subscriptions/<id>/"
                "resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)"
            )
        return self

    @property
    def hub(self) -> tuple[str, str, str]:
        """(subscription, resource group, name) of the hub VNet."""
        match = _VNET_ID.match(self.hub_vnet_id or "")
        assert match is not None, "mode 'hub' has a valid hubVnetId"
        return match["subscription"], match["group"], match["name"]


def _replaced_key(values: Any) -> Any:
    if isinstance(values, dict) and "apiAllowedCidrs" in values:
        raise ValueError(
            "apiAllowedCidrs: replaced by apiAccess (allowed: apiAccess: {mode: allowed-cidrs, cidrs: [...]} "
            "or {mode: hub, ...}; see README.md)"
        )
    return values


class NodePool(_Section):
    """One node pool (EKS managed node group / AKS agent pool) and its share of the seed's nodes."""

    name: str
    role: Literal["system", "compute", "memory"]
    # AWS: instance types of the group (first is preferred); Azure: exactly one VM size.
    instance_types: tuple[str, ...] = Field(min_length=1)
    # Percent of the environment's node count and of the autoscaling ceiling.
    share: int = Field(ge=1, le=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _POOL_NAME.match(value):
            raise ValueError(f"{value!r} is not a pool name (allowed: a-z0-9, starting with a letter, <= 12)")
        return value


def _check_pools(pools: tuple[NodePool, ...]) -> None:
    if sum(p.share for p in pools) != 100:
        raise ValueError(
            f"nodePools: shares add up to {sum(p.share for p in pools)} (allowed: shares that add up to 100)"
        )
    names = [p.name for p in pools]
    if len(set(names)) != len(names):
        raise ValueError(f"nodePools: duplicate pool names in {names}")
    roles = {p.role for p in pools}
    # The seed: "Instance Types: Mix of compute-optimized + memory-optimized".
    if not {"compute", "memory"} <= roles:
        raise ValueError("nodePools: need a 'compute' and a 'memory' pool (the seed mixes both)")


def split(total: int, shares: list[int]) -> list[int]:
    """`total` split by percentage shares (largest remainder), every pool at least 1."""
    exact = [total * s / 100 for s in shares]
    counts = [max(1, int(x)) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for i in order:
        if sum(counts) >= total:
            break
        counts[i] += 1
    return counts


class PoolSize(_Section):
    name: str
    minimum: int
    maximum: int


def pool_sizes(pools: tuple[NodePool, ...], environment: Environment, *, reserved: int) -> list[PoolSize]:
    """Each pool's floor (its share of the seed's node count) and ceiling (its share of the
    50-node max, less the `reserved` nodes the cluster runs outside these pools, such as AKS's
    bootstrap pool), so that the whole cluster never grows past the seed's 50 nodes. The floor
    is the pools' alone: a reserved node is tainted for system add-ons and adds no capacity
    for the workloads the seed's node count is sized for."""
    if not 0 <= reserved <= seed.CLUSTER_AUTOSCALING_MAX_NODES - len(pools):
        raise ValueError(f"reserved: {reserved} nodes leave less than one node per pool under the 50-node ceiling")
    shares = [p.share for p in pools]
    floors = split(seed.ENVIRONMENT_PROFILES[environment].nodes, shares)
    ceilings = split(seed.CLUSTER_AUTOSCALING_MAX_NODES - reserved, shares)
    return [PoolSize(name=p.name, minimum=lo, maximum=hi) for p, lo, hi in zip(pools, floors, ceilings, strict=True)]


AWS_DEFAULT_POOLS: tuple[NodePool, ...] = (
    # c7i/c6i: compute-optimised (2 GiB per vCPU); r7i/r6i: memory-optimised (8 GiB per vCPU).
    NodePool(name="compute", role="compute", instance_types=("c7i.2xlarge", "c6i.2xlarge"), share=60),
    NodePool(name="memory", role="memory", instance_types=("r7i.2xlarge", "r6i.2xlarge"), share=40),
)

AZURE_DEFAULT_POOLS: tuple[NodePool, ...] = (
    # AKS needs a System-mode pool for its own add-ons; it is tainted CriticalAddonsOnly.
    NodePool(name="system", role="system", instance_types=("Standard_D4s_v5",), share=20),
    NodePool(name="compute", role="compute", instance_types=("Standard_F8s_v2",), share=50),
    NodePool(name="memory", role="memory", instance_types=("Standard_E8s_v5",), share=30),
)


class AwsCluster(_Section):
    region: str
    secondary_region: str | None = None
    # Default: the region's a/b/c zones. Set them where a region's zones are named otherwise.
    availability_zones: tuple[str, ...] | None = None
    secondary_availability_zones: tuple[str, ...] | None = None
    vpc_cidr: str = "10.40.0.0/16"
    # Distinct from the primary's, so the two VPCs can be peered for cross-region replication.
    secondary_vpc_cidr: str = "10.41.0.0/16"
    # Required in staging/prod (CloudSettings.check): how the deploying runner reaches the API.
    api_access: AwsApiAccess | None = None
    nat_gateways: NatLayout | None = None
    # CloudWatch accepts only certain values; 90 covers the seed's 90-day cold log retention.
    control_plane_log_retention_days: Literal[30, 60, 90, 180, 365] = 90
    node_pools: tuple[NodePool, ...] = AWS_DEFAULT_POOLS
    node_disk_gib: int = Field(default=100, ge=20, le=1000)

    @field_validator("region", "secondary_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _AWS_REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region (allowed: e.g. 'eu-central-1')")
        return value

    @field_validator("vpc_cidr", "secondary_vpc_cidr")
    @classmethod
    def _vpc(cls, value: str) -> str:
        return _private_cidr(value, 16)

    _replaced = model_validator(mode="before")(_replaced_key)

    @model_validator(mode="after")
    def _consistent(self) -> AwsCluster:
        _check_pools(self.node_pools)
        if self.secondary_region == self.region:
            raise ValueError(
                f"secondaryRegion: {self.secondary_region!r} is the primary region (allowed: another region)"
            )
        if ipaddress.ip_network(self.vpc_cidr).overlaps(ipaddress.ip_network(self.secondary_vpc_cidr)):
            raise ValueError(f"secondaryVpcCidr: {self.secondary_vpc_cidr!r} overlaps vpcCidr {self.vpc_cidr!r}")
        for key, region, zones in (
            ("availabilityZones", self.region, self.availability_zones),
            ("secondaryAvailabilityZones", self.secondary_region, self.secondary_availability_zones),
        ):
            if zones is not None and (len(zones) != 3 or any(not z.startswith(str(region)) for z in zones)):
                raise ValueError(f"{key}: {list(zones)} (allowed: three zones of {region}, e.g. '{region}a')")
        hub = self.api_access.hub_cidr if self.api_access else None
        for key, cidr in (("vpcCidr", self.vpc_cidr), ("secondaryVpcCidr", self.secondary_vpc_cidr)):
            if hub is not None and ipaddress.ip_network(hub).overlaps(ipaddress.ip_network(cidr)):
                raise ValueError(f"apiAccess.hubCidr: {hub!r} overlaps {key} {cidr!r} (peered ranges must not overlap)")
        return self

    def hub_region(self) -> str:
        """The region of the hub VPC (hub mode)."""
        return (self.api_access.hub_region if self.api_access else None) or self.region

    def zones(self, region: str) -> tuple[str, ...]:
        explicit = self.availability_zones if region == self.region else self.secondary_availability_zones
        return explicit or tuple(f"{region}{suffix}" for suffix in "abc")

    def cidr(self, region: str) -> str:
        return self.vpc_cidr if region == self.region else self.secondary_vpc_cidr


class AzureCluster(_Section):
    location: str
    secondary_location: str | None = None
    vnet_cidr: str = "10.50.0.0/16"
    secondary_vnet_cidr: str = "10.51.0.0/16"
    # Overlay pod range and service range: never routed in the VNet, the same in both regions.
    pod_cidr: str = "192.168.0.0/16"
    service_cidr: str = "172.16.0.0/16"
    # Required in staging/prod (CloudSettings.check): how the deploying runner reaches the API.
    api_access: AzureApiAccess | None = None
    # Entra ID groups that get cluster-admin (Azure RBAC also grants access per role assignment).
    admin_group_object_ids: tuple[str, ...] = ()
    # What runs `pulumi up` (it gets "AKS RBAC Cluster Admin" on the cluster): CI's federated app
    # is a service principal; set "User" when a person deploys with their own `az login`.
    deployer_principal_type: Literal["ServicePrincipal", "User", "Group"] = "ServicePrincipal"
    log_retention_days: int = Field(default=90, ge=30, le=730)
    node_pools: tuple[NodePool, ...] = AZURE_DEFAULT_POOLS

    @field_validator("location", "secondary_location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is not None and not _AZURE_LOCATION.match(value):
            raise ValueError(f"{value!r} is not an Azure location (allowed: e.g. 'germanywestcentral')")
        return value

    @field_validator("vnet_cidr", "secondary_vnet_cidr")
    @classmethod
    def _vnet(cls, value: str) -> str:
        return _private_cidr(value, 16)

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _overlay(cls, value: str) -> str:
        return _private_cidr(value, 16)

    _replaced = model_validator(mode="before")(_replaced_key)

    @model_validator(mode="after")
    def _consistent(self) -> AzureCluster:
        _check_pools(self.node_pools)
        if sum(1 for p in self.node_pools if p.role == "system") != 1:
            raise ValueError("nodePools: AKS needs exactly one pool with role 'system'")
        if any(p.name == AKS_BOOTSTRAP_POOL for p in self.node_pools):
            raise ValueError(f"nodePools: {AKS_BOOTSTRAP_POOL!r} is the name of the pool AKS clusters are created with")
        for pool in self.node_pools:
            if len(pool.instance_types) != 1:
                raise ValueError(f"nodePools.{pool.name}.instanceTypes: an AKS pool has exactly one VM size")
        if self.secondary_location == self.location:
            raise ValueError(
                f"secondaryLocation: {self.secondary_location!r} is the primary location (allowed: another one)"
            )
        ranges = {
            "vnetCidr": self.vnet_cidr,
            "secondaryVnetCidr": self.secondary_vnet_cidr,
            "podCidr": self.pod_cidr,
            "serviceCidr": self.service_cidr,
        }
        keys = list(ranges)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if ipaddress.ip_network(ranges[a]).overlaps(ipaddress.ip_network(ranges[b])):
                    raise ValueError(f"{b}: {ranges[b]!r} overlaps {a} {ranges[a]!r}")
        return self

    def cidr(self, location: str) -> str:
        return self.vnet_cidr if location == self.location else self.secondary_vnet_cidr


class DnsFailoverSettings(_Section):
    # The public zone the platform answers on (delegated to the cloud's DNS at the registrar).
    zone: str
    # The failover name clients use: <record>.<zone>.
    record: str = "api"
    health_check_path: str = Field(default="/healthz", pattern=r"^/[\x21-\x7e]*$")

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _DNS_NAME.match(value):
            raise ValueError(f"{value!r} is not a DNS zone name (allowed: e.g. 'hub.example.com')")
        return value

    @field_validator("record")
    @classmethod
    def _record(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
            raise ValueError(f"{value!r} is not a DNS label (allowed: a-z, 0-9, '-')")
        return value

    @property
    def fqdn(self) -> str:
        return f"{self.record}.{self.zone}"

    def origin(self, region: str) -> str:
        """Each region's own name, which the failover record points at (kept by external-dns)."""
        return f"{self.record}-{region}.{self.zone}"


class CloudSettings(_Section):
    aws: AwsCluster | None = None
    azure: AzureCluster | None = None
    # Prod's cross-region failover (the seed: "DNS failover to secondary region (< 1 min)").
    dns: DnsFailoverSettings | None = None

    def check(self, environment: Environment, cloud: Cloud) -> list[tuple[str, str]]:
        """Rules that need the stack's environment and cloud: (key, message) for each violation."""
        if cloud == "kind":
            return []
        problems: list[tuple[str, str]] = []
        section = self.aws if cloud == "aws" else self.azure
        region_key = "region" if cloud == "aws" else "location"
        if section is None:
            return [(f"cloudCluster.{cloud}", f"required for cloud {cloud!r} (with at least {region_key!r})")]
        if section.api_access is None:
            problems.append(
                (
                    f"cloudCluster.{cloud}.apiAccess",
                    f"required in {environment}: how the deploying runner reaches the cluster's API on the first "
                    f"run ({_ACCESS_HINT}; README.md, 'The first run on a fresh account')",
                )
            )
        secondary = section.secondary_region if isinstance(section, AwsCluster) else section.secondary_location
        secondary_key = "secondaryRegion" if cloud == "aws" else "secondaryLocation"
        if environment == "prod":
            if secondary is None:
                problems.append(
                    (
                        f"cloudCluster.{cloud}.{secondary_key}",
                        "required in prod (the seed's multi-region active-active failover; "
                        f"allowed: a {cloud} region other than the primary)",
                    )
                )
            if self.dns is None:
                problems.append(("cloudCluster.dns", "required in prod (the failover record between the two regions)"))
        elif secondary is not None:
            problems.append(
                (f"cloudCluster.{cloud}.{secondary_key}", f"only prod runs a secondary region (got {secondary!r})")
            )
        return problems

    def secondary_region(self, cloud: Cloud) -> str | None:
        """The region of the second cluster, where the stack runs one (prod)."""
        if cloud == "aws" and self.aws is not None:
            return self.aws.secondary_region
        if cloud == "azure" and self.azure is not None:
            return self.azure.secondary_location
        return None

    def nat_layout(self, environment: Environment) -> NatLayout:
        chosen = self.aws.nat_gateways if self.aws else None
        return chosen or NAT_LAYOUT_DEFAULTS[environment]
