"""`hubctl cost`: the monthly cost a plan commits to, from a pinned price table.

The plan says what is bought, in what size and where; `hubctl/data/prices.json` says what each
unit costs (region, SKU, unit price, the date and source of each). This module turns the plan
into **meters** — node pools at their floor (the autoscaler's minimum) and at their ceiling (its
maximum), control planes, managed databases, caches and brokers with their storage, NAT gateways
and public addresses, disks (node root volumes, and the volumes the operators' custom resources
claim), log retention — and prices each meter it finds in the table. A meter the table does not
price is listed with its quantity, never guessed; a meter billed by use (log ingestion, NAT data)
is listed with its unit price where the table has one, since the plan cannot know the volume.

dev runs on kind: nothing in it is billed (the developer's machine); its volumes are listed as
such.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubctl.planview import PlanIndex, Res, as_int, dig, items

DATA = Path(__file__).resolve().parent / "data" / "prices.json"


@functools.cache
def table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


@dataclass
class Meter:
    what: str  # what a reviewer recognises: "node pool prod-compute"
    meter: str  # the price table's meter
    sku: str
    region: str
    unit: str  # per hour or per month, as the table's unit says
    floor: float  # quantity at the floor
    ceiling: float  # quantity at the ceiling
    usage: bool = False  # billed by use: the plan cannot know the quantity


@dataclass
class Line:
    meter: Meter
    usd: float | None  # unit price, None when the table has none
    source: str = ""

    @property
    def monthly(self) -> tuple[float, float]:
        if self.usd is None or self.meter.usage:
            return 0.0, 0.0
        factor = table()["hours_per_month"] if self.meter.unit.endswith("-hour") else 1.0
        return self.usd * self.meter.floor * factor, self.usd * self.meter.ceiling * factor


@dataclass
class Estimate:
    stack: str
    cloud: str
    lines: list[Line] = field(default_factory=list)

    @property
    def priced(self) -> list[Line]:
        return [line for line in self.lines if line.usd is not None and not line.meter.usage]

    @property
    def unpriced(self) -> list[Line]:
        return [line for line in self.lines if line.usd is None and not line.meter.usage]

    @property
    def usage(self) -> list[Line]:
        return [line for line in self.lines if line.meter.usage]

    @property
    def floor(self) -> float:
        return sum(line.monthly[0] for line in self.priced)

    @property
    def ceiling(self) -> float:
        return sum(line.monthly[1] for line in self.priced)

    def to_json(self) -> dict[str, Any]:
        def row(line: Line) -> dict[str, Any]:
            m = line.meter
            return {
                "what": m.what,
                "meter": m.meter,
                "sku": m.sku,
                "region": m.region,
                "unit": m.unit,
                "quantity": [m.floor, m.ceiling],
                "usd_per_unit": line.usd,
                "monthly": [round(v, 2) for v in line.monthly],
                "source": line.source,
            }

        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "monthly_usd": {"floor": round(self.floor, 2), "ceiling": round(self.ceiling, 2)},
            "priced": [row(line) for line in self.priced],
            "not_priced": [row(line) for line in self.unpriced],
            "usage_based": [row(line) for line in self.usage],
        }


# ---- reading quantities from the plan ----------------------------------------------------------

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$")
_TO_GIB: dict[str | None, float] = {
    "Ki": 2**-20,
    "Mi": 2**-10,
    "Gi": 1,
    "Ti": 2**10,
    "Pi": 2**20,
    "K": 1e3 / 2**30,
    "M": 1e6 / 2**30,
}
_TO_GIB |= {"G": 1e9 / 2**30, "T": 1e12 / 2**30, "P": 1e15 / 2**30, None: 1 / 2**30}


def gib(value: Any) -> float | None:
    """A Kubernetes quantity (`5Gi`, `500G`) in GiB; None when it is not one."""
    match = _QUANTITY.match(str(value).strip()) if value is not None else None
    return float(match[1]) * _TO_GIB[match[2]] if match else None


_dig = dig


class _Meters:
    def __init__(self, plan: PlanIndex) -> None:
        self.plan = plan
        self.found: list[Meter] = []

    def add(self, what: str, meter: str, sku: str, region: str | None, unit: str, floor: float, ceiling: float) -> None:
        self.found.append(Meter(what, meter, sku, region or "region not in the plan", unit, floor, ceiling))

    def usage(self, what: str, meter: str, sku: str, region: str | None, unit: str) -> None:
        self.found.append(Meter(what, meter, sku, region or "region not in the plan", unit, 0, 0, usage=True))

    def region(self, r: Res) -> str | None:
        """Where a resource is billed: its own region, else that of what it depends on (an AKS node
        pool is where its cluster is), else the stack's primary region; kind is local."""
        if self.plan.cloud == "kind":
            return "local"
        found = self.plan.region_of(r)
        for dep in r.dependencies:
            if found:
                break
            if dep in self.plan.by_urn:
                found = self.plan.region_of(self.plan.by_urn[dep])
        return found or self.plan.default_region()

    def disk(self, r: Res) -> tuple[str, str]:
        """The block storage a Kubernetes volume of this cluster gets: its default StorageClass."""
        if self.plan.cloud == "aws":
            return "block-storage", "EBS gp3"
        if self.plan.cloud == "azure":
            return "block-storage", "Azure managed disk StandardSSD_LRS (managed-csi)"
        return "local-disk", "kind node's local disk (the developer's machine)"

    def collect(self) -> list[Meter]:
        launch_disks = {
            r.urn: _dig(r.inputs, "blockDeviceMappings", 0, "ebs", "volumeSize")
            for r in self.plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
        }
        rds_storage: dict[str, Any] = {}
        for r in self.plan.resources:
            handler = getattr(self, "_" + re.sub(r"[^A-Za-z0-9]", "_", r.type), None)
            if handler is not None:
                handler(r)
            elif r.type == "aws:eks/nodeGroup:NodeGroup":
                self._node_group(r, launch_disks)
            elif r.type == "aws:rds/instance:Instance":
                self._rds(r, rds_storage)
            elif r.kind is not None:
                self._claims(r)
        return self.found

    # -- AWS ------------------------------------------------------------------------------------

    def _aws_eks_cluster_Cluster(self, r: Res) -> None:  # noqa: N802 - named after the type token
        self.add(
            f"EKS control plane {r.inputs.get('name', r.name)}",
            "kubernetes-control-plane",
            "EKS standard support",
            self.region(r),
            "cluster-hour",
            1,
            1,
        )

    def _node_group(self, r: Res, launch_disks: dict[str, Any]) -> None:
        low, high = as_int(dig(r.inputs, "scalingConfig", "minSize")), as_int(dig(r.inputs, "scalingConfig", "maxSize"))
        types = items(r.inputs.get("instanceTypes")) or ["instance type not in the plan"]
        capacity = str(r.inputs.get("capacityType") or "ON_DEMAND").lower().replace("_", "-")
        region = self.region(r)
        self.add(
            f"node group {r.name} ({low}–{high} nodes)",
            "ec2-instance",
            f"{types[0]} {capacity}",
            region,
            "instance-hour",
            low,
            high,
        )
        # The node group's launch template (a dependency) sizes its root volume.
        size = next((launch_disks[d] for d in r.dependencies if d in launch_disks), None)
        size = size if size is not None else r.inputs.get("diskSize")
        if size is not None:
            self.add(
                f"node group {r.name}: root volumes",
                "block-storage",
                "EBS gp3",
                region,
                "GB-month",
                low * as_int(size),
                high * as_int(size),
            )

    def _aws_ec2_natGateway_NatGateway(self, r: Res) -> None:  # noqa: N802
        self.add(f"NAT gateway {r.name}", "nat-gateway", "NAT gateway", self.region(r), "gateway-hour", 1, 1)
        self.usage(
            f"NAT gateway {r.name}: data processed",
            "nat-gateway-data",
            "NAT gateway data processed",
            self.region(r),
            "GB",
        )

    def _aws_ec2_eip_Eip(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"Elastic IP {r.name}", "public-ipv4", "in-use public IPv4 address", self.region(r), "address-hour", 1, 1
        )

    def _rds(self, r: Res, storage: dict[str, Any]) -> None:
        region = self.region(r)
        klass = str(r.inputs.get("instanceClass") or "instance class not in the plan")
        copies = 2 if r.inputs.get("multiAz") is True else 1
        engine = str(r.inputs.get("engine") or "postgres")
        label = "Multi-AZ primary and standby" if copies == 2 else "instance"
        self.add(
            f"RDS {r.name} ({label})", "rds-instance", f"{klass} {engine}", region, "instance-hour", copies, copies
        )
        size = r.inputs.get("allocatedStorage")
        if size is None and r.inputs.get("replicateSourceDb") is not None:
            size = next(iter(storage.values()), None)  # a replica gets its source's storage
        if size is not None:
            storage[r.urn] = size
            kind = str(r.inputs.get("storageType") or "gp3")
            self.add(
                f"RDS {r.name}: storage",
                "rds-storage",
                kind,
                region,
                "GB-month",
                copies * as_int(size),
                copies * as_int(size),
            )

    def _aws_elasticache_replicationGroup_ReplicationGroup(self, r: Res) -> None:  # noqa: N802
        shards = as_int(r.inputs.get("numNodeGroups"), 1)
        nodes = shards * (1 + as_int(r.inputs.get("replicasPerNodeGroup")))
        nodes = as_int(r.inputs.get("numCacheClusters"), nodes) if "numCacheClusters" in r.inputs else nodes
        self.add(
            f"ElastiCache {r.name} ({nodes} nodes)",
            "elasticache-node",
            str(r.inputs.get("nodeType")),
            self.region(r),
            "node-hour",
            nodes,
            nodes,
        )

    def _aws_msk_cluster_Cluster(self, r: Res) -> None:  # noqa: N802
        brokers = as_int(r.inputs.get("numberOfBrokerNodes"))
        info = r.inputs.get("brokerNodeGroupInfo")
        self.add(
            f"MSK {r.name} ({brokers} brokers)",
            "msk-broker",
            str(dig(info, "instanceType")),
            self.region(r),
            "broker-hour",
            brokers,
            brokers,
        )
        size = as_int(_dig(info, "storageInfo", "ebsStorageInfo", "volumeSize"))
        if size:
            self.add(
                f"MSK {r.name}: broker storage",
                "msk-storage",
                "broker storage",
                self.region(r),
                "GB-month",
                brokers * size,
                brokers * size,
            )

    def _aws_cloudwatch_logGroup_LogGroup(self, r: Res) -> None:  # noqa: N802
        days = r.inputs.get("retentionInDays")
        self.usage(
            f"CloudWatch Logs {r.name} (kept {days} days)",
            "log-ingestion",
            "CloudWatch Logs ingestion",
            self.region(r),
            "GB",
        )

    def _aws_kms_key_Key(self, r: Res) -> None:  # noqa: N802
        self.add(f"KMS key {r.name}", "kms-key", "customer managed key", self.region(r), "key-month", 1, 1)

    def _aws_route53_zone_Zone(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"Route 53 hosted zone {r.inputs.get('name', r.name)}",
            "dns-zone",
            "Route 53 hosted zone",
            "global",
            "zone-month",
            1,
            1,
        )

    def _aws_route53_healthCheck_HealthCheck(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"Route 53 health check {r.name}",
            "dns-health-check",
            "Route 53 health check",
            "global",
            "check-month",
            1,
            1,
        )

    def _aws_s3_bucket_Bucket(self, r: Res) -> None:  # noqa: N802
        self.usage(f"S3 bucket {r.name}", "object-storage", "S3 Standard", self.region(r), "GB-month")

    def _aws_secretsmanager_secret_Secret(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"Secrets Manager secret {r.name}", "secret", "Secrets Manager secret", self.region(r), "secret-month", 1, 1
        )

    # -- Azure ----------------------------------------------------------------------------------

    def _azure_native_containerservice_ManagedCluster(self, r: Res) -> None:  # noqa: N802
        tier = str(_dig(r.inputs, "sku", "tier") or "Free")
        region = self.region(r)
        self.add(
            f"AKS control plane {r.inputs.get('resourceName', r.name)}",
            "kubernetes-control-plane",
            f"AKS {tier} tier",
            region,
            "cluster-hour",
            1,
            1,
        )
        for pool in items(r.inputs.get("agentPoolProfiles")):
            if isinstance(pool, dict):
                self._pool(f"{r.name} pool {pool.get('name')}", pool, region)

    def _azure_native_containerservice_AgentPool(self, r: Res) -> None:  # noqa: N802
        self._pool(f"node pool {r.name}", r.inputs, self.region(r))

    def _pool(self, what: str, pool: dict[str, Any], region: str | None) -> None:
        low = as_int(pool.get("minCount"), as_int(pool.get("count")))
        high = as_int(pool.get("maxCount"), as_int(pool.get("count")))
        size = str(pool.get("vmSize") or "VM size not in the plan")
        self.add(f"{what} ({low}–{high} nodes)", "azure-vm", f"{size} Linux", region, "instance-hour", low, high)
        disk = pool.get("osDiskSizeGB")
        if pool.get("osDiskType") != "Ephemeral":
            # Without a size in the plan, AKS gives a 128 GB managed OS disk (AKS docs, OS disk).
            gb = as_int(disk, 128)
            self.add(
                f"{what}: OS disks",
                "block-storage",
                "Azure managed disk (AKS OS disk)",
                region,
                "GB-month",
                low * gb,
                high * gb,
            )

    def _azure_native_dbforpostgresql_Server(self, r: Res) -> None:  # noqa: N802
        sku = _dig(r.inputs, "sku", "name") or "SKU not in the plan"
        copies = 2 if _dig(r.inputs, "highAvailability", "mode") in ("ZoneRedundant", "SameZone") else 1
        label = "primary and HA standby" if copies == 2 else "server"
        region = self.region(r)
        self.add(
            f"PostgreSQL flexible server {r.name} ({label})",
            "azure-postgres-compute",
            f"{_dig(r.inputs, 'sku', 'tier')} {sku}",
            region,
            "instance-hour",
            copies,
            copies,
        )
        size = _dig(r.inputs, "storage", "storageSizeGB")
        if size is not None:
            self.add(
                f"PostgreSQL flexible server {r.name}: storage",
                "azure-postgres-storage",
                "storage",
                region,
                "GB-month",
                copies * as_int(size),
                copies * as_int(size),
            )

    def _azure_native_redisenterprise_RedisEnterprise(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"Azure Managed Redis {r.name}",
            "azure-redis",
            str(_dig(r.inputs, "sku", "name")),
            self.region(r),
            "instance-hour",
            1,
            1,
        )

    def _azure_native_operationalinsights_Workspace(self, r: Res) -> None:  # noqa: N802
        days = r.inputs.get("retentionInDays")
        self.usage(
            f"Log Analytics {r.name} (kept {days} days)",
            "log-ingestion",
            f"Log Analytics {_dig(r.inputs, 'sku', 'name')} ingestion",
            self.region(r),
            "GB",
        )

    def _azure_native_network_PrivateEndpoint(self, r: Res) -> None:  # noqa: N802
        self.add(
            f"private endpoint {r.name}", "private-endpoint", "private endpoint", self.region(r), "endpoint-hour", 1, 1
        )

    def _azure_native_storage_StorageAccount(self, r: Res) -> None:  # noqa: N802
        self.usage(
            f"storage account {r.name}",
            "object-storage",
            f"Blob {_dig(r.inputs, 'sku', 'name')}",
            self.region(r),
            "GB-month",
        )

    def _azure_native_trafficmanager_Profile(self, r: Res) -> None:  # noqa: N802
        self.usage(
            f"Traffic Manager {r.name}", "dns-queries", "Traffic Manager DNS queries", "global", "million queries"
        )

    def _azure_native_keyvault_Vault(self, r: Res) -> None:  # noqa: N802
        self.usage(f"Key Vault {r.name}", "key-operations", "Key Vault operations", self.region(r), "10k operations")

    # -- volumes claimed through the operators' custom resources --------------------------------

    def _claims(self, r: Res) -> None:
        spec: dict[str, Any] = r.inputs["spec"] if isinstance(r.inputs.get("spec"), dict) else {}
        claims: list[tuple[float | None, int]] = []
        if r.kind == "Cluster" and "postgresql.cnpg.io" in r.type:
            claims.append((gib(_dig(spec, "storage", "size")), as_int(spec.get("instances"), 1)))
        elif r.kind == "PerconaServerMongoDB":
            for rs in items(spec.get("replsets")):
                size = _dig(rs, "volumeSpec", "persistentVolumeClaim", "resources", "requests", "storage")
                claims.append((gib(size), as_int(_dig(rs, "size"), 1)))
        elif r.kind == "RedisCluster":
            size = _dig(spec, "storage", "volumeClaimTemplate", "spec", "resources", "requests", "storage")
            leaders = as_int(_dig(spec, "redisLeader", "replicas"), as_int(spec.get("clusterSize")))
            followers = as_int(_dig(spec, "redisFollower", "replicas"), as_int(spec.get("clusterSize")))
            claims.append((gib(size), leaders + followers))
        elif r.kind == "KafkaNodePool":
            for volume in items(_dig(spec, "storage", "volumes")):
                if isinstance(volume, dict) and volume.get("type") == "persistent-claim":
                    claims.append((gib(volume.get("size")), as_int(spec.get("replicas"), 1)))
        elif r.kind == "PersistentVolumeClaim":
            claims.append((gib(_dig(spec, "resources", "requests", "storage")), 1))
        elif r.kind == "StatefulSet":
            for template in items(spec.get("volumeClaimTemplates")):
                size = _dig(template, "spec", "resources", "requests", "storage")
                claims.append((gib(size), as_int(spec.get("replicas"), 1)))
        total = sum(size * count for size, count in claims if size is not None)
        if total:
            meter, sku = self.disk(r)
            name = _dig(r.inputs, "metadata", "name") or r.name
            self.add(f"{r.kind} {name}: volumes", meter, sku, self.region(r), "GB-month", total, total)


def _price(meter: Meter) -> tuple[float | None, str]:
    if meter.meter == "local-disk":
        return 0.0, "kind runs on the developer's machine: no bill"
    for entry in table()["prices"]:
        if entry["meter"] != meter.meter or entry["region"] not in ("*", meter.region):
            continue
        if entry["sku"] in ("*", meter.sku):
            return float(entry["usd"]), f"{entry['source']} ({entry['date']})"
    return None, ""


def estimate(document: dict[str, Any]) -> Estimate:
    plan = PlanIndex.of(document)
    result = Estimate(plan.stack, plan.cloud)
    for meter in _Meters(plan).collect():
        usd, source = _price(meter)
        result.lines.append(Line(meter, usd, source))
    return result


def money(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"


def _quantity(m: Meter) -> str:
    if m.usage:
        return f"billed per {m.unit} used"
    q = f"{m.floor:g}" if m.floor == m.ceiling else f"{m.floor:g}–{m.ceiling:g}"
    return f"{q} {m.unit}"


def format_text(e: Estimate) -> str:
    lines = [
        f"stack {e.stack}, cloud {e.cloud}: monthly cost of what is priced: {money(e.floor)} at the floor, "
        f"{money(e.ceiling)} at the ceiling (node pools at their autoscaling minimum / maximum)"
    ]
    for line in e.priced:
        low, high = line.monthly
        amount = money(low) if low == high else f"{money(low)}–{money(high)}"
        lines.append(
            f"  {amount:>16}  {line.meter.what} "
            f"[{line.meter.sku}, {line.meter.region}, {_quantity(line.meter)} × ${line.usd:g}]"
        )
    if e.unpriced:
        lines.append(f"not priced ({len(e.unpriced)}: no entry in hubctl/data/prices.json for the SKU and region):")
        for line in e.unpriced:
            m = line.meter
            lines.append(f"  {m.what} [{m.sku}, {m.region}, {_quantity(m)}]")
    if e.usage:
        lines.append("billed by use (the plan cannot know the volume):")
        for line in e.usage:
            price = f" at ${line.usd:g} per {line.meter.unit}" if line.usd is not None else ""
            lines.append(f"  {line.meter.what} [{line.meter.sku}, {line.meter.region}]{price}")
    lines.append(
        f"total priced: {money(e.floor)}–{money(e.ceiling)} per month; {len(e.unpriced)} meter(s) not priced "
        f"(stack {e.stack}, cloud {e.cloud})"
    )
    return "\n".join(lines)


def _key(line: Line) -> tuple[str, str, str]:
    # Without the counts in parentheses, so a resized pool reads as a change, not a swap.
    return re.sub(r" \([^)]*\)", "", line.meter.what), line.meter.sku, line.meter.region


def format_markdown(head: Estimate, base: Estimate | None = None, limit: int = 12) -> str:
    """The PR comment's cost section: the priced total and its delta, and what changed unpriced."""
    total = f"{money(head.floor)}–{money(head.ceiling)}" if head.floor != head.ceiling else money(head.floor)
    text = f"**Monthly cost** (priced meters, floor–ceiling): {total}"
    if base is not None:
        d_low, d_high = head.floor - base.floor, head.ceiling - base.ceiling
        if abs(d_low) < 0.005 and abs(d_high) < 0.005:
            text += " (unchanged against the base branch)"
        else:
            sign = lambda v: ("+" if v >= 0 else "−") + money(abs(v))  # noqa: E731
            text += f" ({sign(d_low)} / {sign(d_high)} against the base branch)"
    text += f"; {len(head.unpriced)} meter(s) not in the price table, {len(head.usage)} billed by use."
    if base is None:
        return text
    before = {_key(line): line.meter for line in base.lines}
    after = {_key(line): line.meter for line in head.lines}
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and (old.floor, old.ceiling) == (new.floor, new.ceiling):
            continue
        what = f"{key[0]} [{key[1]}, {key[2]}]"
        if old is None and new is not None:
            changes.append(f"- added: {what}: {_quantity(new)}")
        elif new is None and old is not None:
            changes.append(f"- removed: {what}: {_quantity(old)}")
        elif old is not None and new is not None:
            changes.append(f"- {what}: {_quantity(old)} → {_quantity(new)}")
    if changes:
        shown = changes[:limit]
        more = f"\n- … and {len(changes) - limit} more" if len(changes) > limit else ""
        text += "\n\nWhat the change buys or frees:\n" + "\n".join(shown) + more
    return text
