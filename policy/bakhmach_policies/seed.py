"""The seed's numbers the policies enforce, kept inside the pack.

The pack must run on its own (`pulumi preview --policy-pack policy`, or published to Pulumi
Cloud), so it cannot import the program's `settings`. tests/test_policy_pack.py checks that
every figure here still equals the program's `settings.seed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENVIRONMENTS = ("dev", "staging", "prod")

# "Multi-Tenant Enterprise Architecture": the shared context ("All") and the six business contexts.
SHARED_CONTEXT = "platform"
CONTEXTS = frozenset(
    {
        SHARED_CONTEXT,
        "bakhmach-hub",
        "slon-credit",
        "audityzer-eu",
        "debt-defense-agent",
        "black-sea-corridor",
        "cannabis-infusion",
    }
)

CONTEXT_LABEL = "bakhmach.io/context"
ENVIRONMENT_LABEL = "bakhmach.io/environment"
ROLE_LABEL = "bakhmach.io/role"
GATEWAY_ROLE = "gateway"

# "Deployment Environments": replicas per service (dev 1, staging 2, prod "3+ (HA)").
REPLICA_FLOOR = {"dev": 1, "staging": 2, "prod": 3}
# "Horizontal Pod Autoscaling" max, and the per-environment CPU/memory targets.
HPA_MAX_REPLICAS = 10
HPA_TARGETS = {"staging": {"cpu": 70, "memory": 80}, "prod": {"cpu": 60, "memory": 70}}
# "Cluster Autoscaling: Max Nodes: 50".
CLUSTER_MAX_NODES = 50
# "Database Architecture: Retention: 30 days" (backups and point-in-time recovery).
BACKUP_RETENTION_DAYS = 30
# Environments whose stateful resources must be protected from deletion.
PROTECTED_ENVIRONMENTS = frozenset({"staging", "prod"})

# "Deployment Environments: TTL": dev 7 days, staging 30 days, prod indefinite; carried as the
# `bakhmach.io/ttl` annotation of a context namespace and the `ttl` tag of a cloud resource.
TTL = {"dev": "7d", "staging": "30d", "prod": "indefinite"}
TTL_ANNOTATION = "bakhmach.io/ttl"
TTL_TAG = "ttl"

# "Horizontal Pod Autoscaling: Scale-up 30 seconds, Scale-down 5 minutes, Cooldown 2 minutes":
# the scale-up and scale-down stabilisation windows, and at most one pod removed per cooldown.
HPA_SCALE_UP_SECONDS = 30
HPA_SCALE_DOWN_SECONDS = 300
HPA_COOLDOWN_SECONDS = 120

# "Replicas: 3+ per service (HA)" and "SLA: 99.95%": a disruption (a node drain, an upgrade)
# takes at most one pod of a workload at a time.
PDB_MAX_UNAVAILABLE = 1

# "Cluster: 5-node AKS/EKS" (staging), "15-node AKS/EKS multi-zone" (prod): each cloud cluster's
# node pools together never shrink below this (dev runs on a single-node kind cluster).
NODE_FLOOR = {"dev": 1, "staging": 5, "prod": 15}
# "Cluster Autoscaling: Node Target: 70% utilization, Scale-down: 10 minutes": the Cluster
# Autoscaler's scale-down-utilization-threshold and scale-down-unneeded-time.
AUTOSCALER_UTILISATION = 0.70
AUTOSCALER_SCALE_DOWN_SECONDS = 600
# Environments whose clusters and data services span zones (prod "multi-zone"; staging is the
# same topology at half the resources). Three zones: one member of each three-member data
# service (PostgreSQL, MongoDB, Kafka) per zone, so losing a zone keeps a quorum.
MULTI_ZONE_ENVIRONMENTS = frozenset({"staging", "prod"})
ZONES = 3
ZONE_TOPOLOGY_KEY = "topology.kubernetes.io/zone"

# "PostgreSQL Cluster: Primary-1, Replica-1, Replica-2 (streaming replication)": replicas beside
# the primary per environment (dev: "Minimal", a single instance).
POSTGRES_REPLICAS = {"dev": 0, "staging": 2, "prod": 2}
# "MongoDB Cluster: Nodes: 3-node replica set".
MONGO_MEMBERS = {"dev": 1, "staging": 3, "prod": 3}
# "Redis Cluster: Nodes: 6 (master-replica pairs)": three masters, each with a replica.
REDIS_NODES = {"dev": 6, "staging": 6, "prod": 6}
# "Cache Layer: Eviction Policy: allkeys-lru".
REDIS_EVICTION_POLICY = "allkeys-lru"
# "RPO: 5 minutes": the longest a committed write may wait before it is archived.
RPO_SECONDS = 300
# "RTO: 15 minutes"; the DR backups: "Frequency: Every 6 hours", "Retention: 90 days".
RTO_SECONDS = 900
DR_SNAPSHOT_HOURS = 6
DR_RETENTION_DAYS = 90

# "Multi-region: Active-active failover" and "DNS failover to secondary region (< 1 min)": the
# time a health check takes to declare a region down plus the record's TTL.
DNS_FAILOVER_SECONDS = 60

# "Monitoring & Observability": Prometheus "Interval: 30 seconds", "Retention: 15 days"; logs
# "30 days (hot), 90 days (cold storage)": deleted after at most 90 days (GDPR), kept at least 30.
SCRAPE_INTERVAL_SECONDS = 30
METRICS_RETENTION_SECONDS = 15 * 86400
LOG_RETENTION_MIN_DAYS = 30
LOG_RETENTION_MAX_DAYS = 90
# The label a ConfigMap of Elasticsearch ILM policies carries (a Job applies them through the API).
ILM_POLICIES_LABEL = "bakhmach.io/ilm-policies"

# "Service Mesh": "Timeout: 30s default, 60s for batch operations", "Retry Policy: 3 attempts",
# retried on what the mesh can safely retry; "Canary: 10% (automated rollback on error rate > 5%)".
MESH_TIMEOUT_SECONDS = 30
MESH_BATCH_TIMEOUT_SECONDS = 60
MESH_RETRY_ATTEMPTS = 3
MESH_RETRY_ON = ("5xx", "reset", "connect-failure")
CANARY_WEIGHT_PERCENT = 10
CANARY_MIN_SUCCESS_PERCENT = 95
CANARY_ENVIRONMENTS = frozenset({"staging", "prod"})
# The env vars through which a service reaches a data service (components/context_service.py):
# `<SVC>_HOST` names one, `<SVC>_TLS` must be "true".
DATA_CONNECTION_PREFIXES = ("POSTGRES", "MONGO", "REDIS", "KAFKA")

# Every cloud resource carries these tags (from its own `tags` or its AWS provider's defaultTags).
REQUIRED_TAGS = ("environment", "owner", "managed-by")


# ---- node sizes -----------------------------------------------------------------------------
# vCPU and memory (GiB) per instance type, for the capacity policy. A small table by family
# rather than a price list: memory per vCPU is fixed within the families a cluster uses.
_AWS_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}
_AWS_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
_AWS_FIXED = {
    "t3.medium": (2, 4),
    "t3.large": (2, 8),
    "t3.xlarge": (4, 16),
    "t3.2xlarge": (8, 32),
    "t3a.large": (2, 8),
    "t3a.xlarge": (4, 16),
    "t3a.2xlarge": (8, 32),
}
_AWS_TYPE = re.compile(r"^(?P<family>[mcr])[5-8][a-z]*\.(?P<size>\w+)$")
# Azure: Standard_D4s_v5 = 4 vCPU; D-series 4 GiB per vCPU, E-series 8, F-series 2.
_AZURE_TYPE = re.compile(r"^Standard_(?P<family>[DEF])(?P<vcpu>\d+)[a-z]*_v[2-6]$")
_AZURE_GIB_PER_VCPU = {"D": 4, "E": 8, "F": 2}


@dataclass(frozen=True)
class NodeSize:
    name: str
    vcpu: int
    memory_gib: int

    @property
    def allocatable_millicores(self) -> int:
        """Capacity less the kubelet/system reservation (the EKS/AKS/GKE CPU table)."""
        cores = self.vcpu
        reserved = 60.0 + (10.0 if cores > 1 else 0.0)
        reserved += 5.0 * max(0, min(cores, 4) - 2)
        reserved += 2.5 * max(0, cores - 4)
        return int(cores * 1000 - reserved)

    @property
    def allocatable_bytes(self) -> int:
        """Memory less the reservation (25% of the first 4 GiB, 20% of the next 4, 10% of the
        next 8, 6% up to 128 GiB, 2% above) and a 100 MiB eviction threshold."""
        gib = 1024**3
        total = self.memory_gib * gib
        reserved = 0.0
        for upto, share in ((4, 0.25), (8, 0.20), (16, 0.10), (128, 0.06), (10**6, 0.02)):
            lower = {4: 0, 8: 4, 16: 8, 128: 16, 10**6: 128}[upto]
            span = max(0, min(self.memory_gib, upto) - lower)
            reserved += span * gib * share
        return int(total - reserved - 100 * 1024**2)


def node_size(instance_type: str) -> NodeSize | None:
    if instance_type in _AWS_FIXED:
        vcpu, mem = _AWS_FIXED[instance_type]
        return NodeSize(instance_type, vcpu, mem)
    match = _AWS_TYPE.match(instance_type)
    if match and match["size"] in _AWS_SIZES:
        vcpu = _AWS_SIZES[match["size"]]
        return NodeSize(instance_type, vcpu, vcpu * _AWS_GIB_PER_VCPU[match["family"]])
    match = _AZURE_TYPE.match(instance_type)
    if match:
        vcpu = int(match["vcpu"])
        return NodeSize(instance_type, vcpu, vcpu * _AZURE_GIB_PER_VCPU[match["family"]])
    return None


# "Security Architecture: Authentication & Authorization": "Expiration: 1 hour (access), 7 days
# (refresh)"; "Encryption: In-Transit: TLS 1.3" at the gateway.
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
GATEWAY_TLS_MINIMUM = "1.3"
