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
from typing import Any, ClassVar

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
    # Set when the price is not the list price of this SKU in this region as read (another
    # region's list price, or one derived from sibling SKUs): such lines are marked, never silent.
    basis: str = ""

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
    def on_basis(self) -> list[Line]:
        """Priced lines whose price is not the region's own list price as read (marked ≈)."""
        return [line for line in self.priced if line.basis]

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
                "basis": line.basis,
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

    # The classes AKS installs in every cluster (AKS docs, "Storage classes"): managed-csi is
    # Standard SSD, managed-csi-premium Premium SSD; a claim that names no class gets "default",
    # which AKS makes Standard SSD too.
    _AKS_CLASSES: ClassVar[dict[str, str]] = {
        "managed-csi": "StandardSSD_LRS",
        "managed-csi-premium": "Premium_LRS",
        "default": "StandardSSD_LRS",
    }

    def storage_classes(self) -> dict[str, dict[str, Any]]:
        """The StorageClasses the plan itself creates, by name, with their parameters."""
        return {
            str(_dig(r.inputs, "metadata", "name")): r.inputs.get("parameters") or {}
            for r in self.plan.resources
            if r.kind == "StorageClass"
        }

    def volumes(self, what: str, r: Res, claims: list[tuple[float | None, int, str | None]]) -> None:
        """Price what a workload claims: (GiB per volume, how many, storage class) each.

        On AWS an EBS volume bills per GB-month of its type, so the sizes add up per type. An
        Azure managed disk bills per disk at the tier its size rounds up to (a 200 GiB claim
        pays for an E15/P15 of 256 GiB), so each size is counted in disks of its tier. kind runs
        on the developer's machine."""
        region = self.region(r)
        if self.plan.cloud == "aws":
            classes = self.storage_classes()
            totals: dict[str, float] = {}
            for size, count, klass in claims:
                if size:
                    # A class the plan does not create is the EBS CSI add-on's default (gp3).
                    kind = str((classes.get(klass or "") or {}).get("type") or "gp3")
                    totals[kind] = totals.get(kind, 0.0) + size * count
            for kind, total in totals.items():
                self.add(what, "block-storage", f"EBS {kind}", region, "GB-month", total, total)
        elif self.plan.cloud == "azure":
            classes = self.storage_classes()
            disks: dict[str, int] = {}
            for size, count, klass in claims:
                if size:
                    sku = (classes.get(klass or "") or {}).get("skuName") or self._AKS_CLASSES.get(
                        klass or "default", "StandardSSD_LRS"
                    )
                    name = azure_disk_tier(str(sku), size)
                    disks[name] = disks.get(name, 0) + count
            for name, count in disks.items():
                self.add(what, "azure-managed-disk", name, region, "disk-month", count, count)
        else:
            total = sum(size * count for size, count, _ in claims if size)
            if total:
                self.add(
                    what,
                    "local-disk",
                    "kind node's local disk (the developer's machine)",
                    region,
                    "GB-month",
                    total,
                    total,
                )

    def collect(self) -> list[Meter]:
        launch_disks = {
            r.urn: (
                _dig(r.inputs, "blockDeviceMappings", 0, "ebs", "volumeSize"),
                _dig(r.inputs, "blockDeviceMappings", 0, "ebs", "volumeType") or "gp3",
            )
            for r in self.plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
        }
        rds_storage: dict[str, tuple[int, int]] = {}
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
        # With several types and on-demand capacity, a managed node group launches the first
        # type it can (EKS: the prioritized allocation strategy), so the first one is priced.
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
        size, kind = next((launch_disks[d] for d in r.dependencies if d in launch_disks), (None, "gp3"))
        size = size if size is not None else r.inputs.get("diskSize")
        if size is not None:
            self.add(
                f"node group {r.name}: root volumes",
                "block-storage",
                f"EBS {kind}",
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

    def _rds(self, r: Res, storage: dict[str, tuple[int, int]]) -> None:
        region = self.region(r)
        klass = str(r.inputs.get("instanceClass") or "instance class not in the plan")
        # Multi-AZ bills the primary and its standby (RDS docs, "Multi-AZ DB instances": both
        # instances and the storage of both), so it counts two single-AZ instances.
        copies = 2 if r.inputs.get("multiAz") is True else 1
        engine = str(r.inputs.get("engine") or "postgres")
        label = "Multi-AZ primary and standby" if copies == 2 else "instance"
        self.add(
            f"RDS {r.name} ({label})", "rds-instance", f"{klass} {engine}", region, "instance-hour", copies, copies
        )
        size: tuple[int, int] | None = None
        if r.inputs.get("allocatedStorage") is not None:
            low = as_int(r.inputs.get("allocatedStorage"))
            # Storage autoscaling may grow the volume up to maxAllocatedStorage: the ceiling.
            size = (low, max(low, as_int(r.inputs.get("maxAllocatedStorage"), low)))
        elif r.inputs.get("replicateSourceDb") is not None:
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
                copies * size[0],
                copies * size[1],
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
        self.usage(
            f"CloudWatch Logs {r.name}: stored for {days} days",
            "log-storage",
            "CloudWatch Logs storage",
            self.region(r),
            "GB-month",
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
        network: dict[str, Any] = r.inputs["networkProfile"] if isinstance(r.inputs.get("networkProfile"), dict) else {}
        if (
            str(network.get("loadBalancerSku") or "standard").lower() == "standard"
            and str(network.get("outboundType") or "loadBalancer") == "loadBalancer"
        ):
            # AKS's egress goes through a Standard Load Balancer it creates with its own public
            # IPs (one unless managedOutboundIPs says more): both bill whether traffic flows or not.
            ips = as_int(_dig(network, "loadBalancerProfile", "managedOutboundIPs", "count"), 1)
            self.add(
                f"AKS load balancer {r.name} (outbound)",
                "load-balancer",
                "Azure Standard Load Balancer (first 5 rules)",
                region,
                "lb-hour",
                1,
                1,
            )
            self.usage(
                f"AKS load balancer {r.name}: data processed",
                "load-balancer-data",
                "Azure Standard Load Balancer data processed",
                region,
                "GB",
            )
            self.add(
                f"AKS load balancer {r.name}: outbound public IPs",
                "public-ipv4",
                "Azure Standard static public IPv4",
                region,
                "address-hour",
                ips,
                ips,
            )

    def _azure_native_containerservice_AgentPool(self, r: Res) -> None:  # noqa: N802
        self._pool(f"node pool {r.name}", r.inputs, self.region(r))

    def _pool(self, what: str, pool: dict[str, Any], region: str | None) -> None:
        low = as_int(pool.get("minCount"), as_int(pool.get("count")))
        high = as_int(pool.get("maxCount"), as_int(pool.get("count")))
        size = str(pool.get("vmSize") or "VM size not in the plan")
        self.add(f"{what} ({low}–{high} nodes)", "azure-vm", f"{size} Linux", region, "instance-hour", low, high)
        if pool.get("osDiskType") != "Ephemeral":
            # A managed OS disk bills per disk at its tier. Without a size in the plan AKS gives
            # 128 GB (AKS docs, "OS disk"), on Premium SSD for sizes that support it (an "s" size).
            gb = float(as_int(pool.get("osDiskSizeGB"), 128))
            premium = re.search(r"_[A-Z]+\d+[a-z]*s[a-z]*_", size + "_") is not None
            tier = azure_disk_tier("Premium_LRS" if premium else "StandardSSD_LRS", gb)
            self.add(f"{what}: OS disks", "azure-managed-disk", tier, region, "disk-month", low, high)

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
        # Azure Managed Redis prices each SKU with and without high availability (the HA one
        # runs a replica): the SKU names which one the plan buys.
        ha = "high availability" if str(r.inputs.get("highAvailability") or "Enabled") == "Enabled" else "no HA"
        self.add(
            f"Azure Managed Redis {r.name}",
            "azure-redis",
            f"{_dig(r.inputs, 'sku', 'name')} {ha}",
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
        self.usage(
            f"Log Analytics {r.name}: retention up to {days} days",
            "log-storage",
            "Log Analytics retention beyond the included days",
            self.region(r),
            "GB-month",
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

    # -- volumes claimed through the operators' custom resources and the charts' values ---------

    def _kubernetes_helm_sh_v3_Release(self, r: Res) -> None:  # noqa: N802
        """A chart's volumeClaimTemplates (kube-prometheus-stack: Prometheus, Alertmanager), each
        times the replicas of the spec it sits in."""
        claims: list[tuple[float | None, int, str | None]] = []

        def walk(node: Any, replicas: int) -> None:
            if isinstance(node, dict):
                replicas = as_int(node.get("replicas"), replicas) if "replicas" in node else replicas
                template = node.get("volumeClaimTemplate")
                if isinstance(template, dict):
                    spec: dict[str, Any] = template["spec"] if isinstance(template.get("spec"), dict) else {}
                    size = gib(_dig(spec, "resources", "requests", "storage"))
                    claims.append((size, replicas, spec.get("storageClassName")))
                for key, value in node.items():
                    if key != "volumeClaimTemplate":
                        walk(value, replicas)
            elif isinstance(node, list):
                for value in node:
                    walk(value, replicas)

        walk(r.inputs.get("values"), 1)
        if any(size for size, _, _ in claims):
            self.volumes(f"chart {r.inputs.get('chart') or r.name} ({r.name}): volumes", r, claims)

    def _claims(self, r: Res) -> None:
        spec: dict[str, Any] = r.inputs["spec"] if isinstance(r.inputs.get("spec"), dict) else {}
        claims: list[tuple[float | None, int, str | None]] = []

        def template(claim: Any) -> tuple[float | None, str | None]:
            claim_spec: dict[str, Any] = (
                claim["spec"] if isinstance(claim, dict) and isinstance(claim.get("spec"), dict) else {}
            )
            return gib(_dig(claim_spec, "resources", "requests", "storage")), claim_spec.get("storageClassName")

        if r.kind == "Cluster" and "postgresql.cnpg.io" in r.type:
            claims.append(
                (
                    gib(_dig(spec, "storage", "size")),
                    as_int(spec.get("instances"), 1),
                    _dig(spec, "storage", "storageClass"),
                )
            )
        elif r.kind == "PerconaServerMongoDB":
            # Every shard's members, and a sharded cluster's config servers (its routers hold none).
            config = _dig(spec, "sharding", "configsvrReplSet") if _dig(spec, "sharding", "enabled") else None
            for rs in [*items(spec.get("replsets")), *([config] if isinstance(config, dict) else [])]:
                pvc = _dig(rs, "volumeSpec", "persistentVolumeClaim")
                size = _dig(pvc, "resources", "requests", "storage")
                claims.append((gib(size), as_int(_dig(rs, "size"), 1), _dig(pvc, "storageClassName")))
        elif r.kind == "RedisCluster":
            size, klass = template(_dig(spec, "storage", "volumeClaimTemplate"))
            leaders = as_int(_dig(spec, "redisLeader", "replicas"), as_int(spec.get("clusterSize")))
            followers = as_int(_dig(spec, "redisFollower", "replicas"), as_int(spec.get("clusterSize")))
            claims.append((size, leaders + followers, klass))
        elif r.kind == "KafkaNodePool":
            for volume in items(_dig(spec, "storage", "volumes")):
                if isinstance(volume, dict) and volume.get("type") == "persistent-claim":
                    claims.append((gib(volume.get("size")), as_int(spec.get("replicas"), 1), volume.get("class")))
        elif r.kind == "Elasticsearch":
            # ECK: every node of a node set gets each of the set's volumeClaimTemplates.
            for node_set in items(spec.get("nodeSets")):
                for claim in items(_dig(node_set, "volumeClaimTemplates")):
                    size, klass = template(claim)
                    claims.append((size, as_int(_dig(node_set, "count"), 1), klass))
        elif r.kind == "PersistentVolumeClaim":
            size, klass = template(r.inputs)
            claims.append((size, 1, klass))
        elif r.kind == "StatefulSet":
            for claim in items(spec.get("volumeClaimTemplates")):
                size, klass = template(claim)
                claims.append((size, as_int(spec.get("replicas"), 1), klass))
        if any(size for size, _, _ in claims):
            name = _dig(r.inputs, "metadata", "name") or r.name
            self.volumes(f"{r.kind} {name}: volumes", r, claims)


# Azure managed disk sizes (GiB) by tier number: a disk bills at the smallest tier that holds it
# (Azure docs, "Azure managed disk types": P/E/S 1 … 80).
_AZURE_TIERS = [
    (4, 1),
    (8, 2),
    (16, 3),
    (32, 4),
    (64, 6),
    (128, 10),
    (256, 15),
    (512, 20),
    (1024, 30),
    (2048, 40),
    (4096, 50),
    (8192, 60),
    (16384, 70),
    (32767, 80),
]
_AZURE_TIER_LETTER = {
    "Premium_LRS": "P",
    "Premium_ZRS": "P",
    "StandardSSD_LRS": "E",
    "StandardSSD_ZRS": "E",
    "Standard_LRS": "S",
}


def azure_disk_tier(sku: str, size_gib: float) -> str:
    """The billed disk for a size: `StandardSSD_LRS E15 (256 GiB)`."""
    letter = _AZURE_TIER_LETTER.get(sku, "")
    for capacity, number in _AZURE_TIERS:
        if size_gib <= capacity:
            return f"{sku} {letter}{number} ({capacity} GiB)"
    return f"{sku} larger than {_AZURE_TIERS[-1][0]} GiB"


def _price(meter: Meter) -> tuple[float | None, str, str]:
    """The table's price for a meter: an entry for its SKU and region (or `*`), with its source
    and, when it is not that region's own list price as read, the basis it stands on."""
    if meter.meter == "local-disk":
        return 0.0, "kind runs on the developer's machine: no bill", ""
    for entry in table()["prices"]:
        if entry["meter"] != meter.meter or entry["region"] not in ("*", meter.region):
            continue
        if entry["sku"] in ("*", meter.sku):
            return float(entry["usd"]), f"{entry['source']} ({entry['date']})", str(entry.get("basis") or "")
    return None, "", ""


def estimate(document: dict[str, Any]) -> Estimate:
    plan = PlanIndex.of(document)
    result = Estimate(plan.stack, plan.cloud)
    for meter in _Meters(plan).collect():
        usd, source, basis = _price(meter)
        result.lines.append(Line(meter, usd, source, basis))
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
        mark = f" ≈ {line.basis}" if line.basis else ""
        lines.append(
            f"  {amount:>16}  {line.meter.what} "
            f"[{line.meter.sku}, {line.meter.region}, {_quantity(line.meter)} × ${line.usd:g}]{mark}"
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
            mark = f" ≈ {line.basis}" if line.basis and line.usd is not None else ""
            lines.append(f"  {line.meter.what} [{line.meter.sku}, {line.meter.region}]{price}{mark}")
    approx = ""
    if e.on_basis:
        share = sum(line.monthly[1] for line in e.on_basis)
        approx = (
            f"; {len(e.on_basis)} priced line(s) (≈, {money(share)} at the ceiling) not on the region's own list price"
        )
    lines.append(
        f"total priced: {money(e.floor)}–{money(e.ceiling)} per month; {len(e.unpriced)} meter(s) not priced{approx} "
        f"(stack {e.stack}, cloud {e.cloud})"
    )
    return "\n".join(lines)


def _key(line: Line) -> tuple[str, str, str]:
    # Without the counts in parentheses, so a resized pool reads as a change, not a swap.
    return re.sub(r" \([^)]*\)", "", line.meter.what), line.meter.sku, line.meter.region


def format_markdown(head: Estimate, base: Estimate | None = None, limit: int = 8) -> str:
    """The PR comment's cost section: the priced total and its delta, and what changed unpriced.
    At most `limit` changed meters are listed: five stacks share one comment's 65,536 characters
    (`hubctl cost` lists them all)."""
    total = f"{money(head.floor)}–{money(head.ceiling)}" if head.floor != head.ceiling else money(head.floor)
    text = f"**Monthly cost** (priced meters, floor–ceiling): {total}"
    if base is not None:
        d_low, d_high = head.floor - base.floor, head.ceiling - base.ceiling
        if abs(d_low) < 0.005 and abs(d_high) < 0.005:
            text += " (unchanged against the base branch)"
        else:
            sign = lambda v: ("+" if v >= 0 else "−") + money(abs(v))  # noqa: E731
            text += f" ({sign(d_low)} / {sign(d_high)} against the base branch)"
    text += f"; {len(head.unpriced)} meter(s) not in the price table, {len(head.usage)} billed by use"
    text += f", {len(head.on_basis)} priced on another basis (≈, see `hubctl cost`)." if head.on_basis else "."
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
