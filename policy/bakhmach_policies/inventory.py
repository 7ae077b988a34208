"""The seed's promises and what guards each: a policy of this pack, or — deliberately — the
program's tests or a later issue, with the reason. docs/POLICIES.md is generated from this list
and the pack (policy/tools/gen_docs.py); tests fail when a policy guards no promise, when a
promise names a policy the pack does not have, or when the committed file is stale.

A new policy adds (or extends) its promise here; a promise the pack cannot judge from a plan
says why and where it is checked instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Promise:
    section: str  # the seed's section (deployment-architecture.md)
    promise: str  # what the seed says, in its words where it has them
    policies: tuple[str, ...] = ()  # the pack's policies that guard it
    # Why the pack does not judge it, and what does (when `policies` is empty, or only in part).
    elsewhere: str = ""


SECURITY = "Security Architecture"
NETWORK = "Security Architecture: Network Security"
ENCRYPTION = "Security Architecture: Encryption"
AUTH = "Security Architecture: Authentication & Authorization"
DATABASE = "Database Architecture"
CACHE = "Database Architecture: Cache Layer"
ENVIRONMENTS = "Deployment Environments"
SCALING = "Scaling Strategy"
DR = "Disaster Recovery"
TENANCY = "Multi-Tenant Enterprise Architecture"
MESH = "Service Mesh"
OBSERVABILITY = "Monitoring & Observability"
STACK = "Infrastructure Components: Cloud Deployment Stack"
PIPELINE = "CI/CD Pipeline Integration"

PROMISES: tuple[Promise, ...] = (
    # ---- security
    Promise(
        NETWORK,
        "Ingress: only from WAF/Load Balancer",
        ("gateway-only-exposure",),
        elsewhere="That the load balancer admits only Cloudflare's published ranges (security group rules on AWS, "
        "the Service's source ranges that AKS turns into NSG rules): tests/test_edge.py over every cloud plan.",
    ),
    Promise(
        NETWORK,
        "The cluster API is not an ingress: private endpoints, or public only to listed ranges",
        ("cluster-api-private",),
    ),
    Promise(NETWORK, "Egress: whitelist CIDR blocks", ("egress-allowlist",)),
    Promise(
        NETWORK,
        "Pod-to-pod: NetworkPolicy enforcement (default-deny per context, a network plugin that enforces it)",
        ("default-deny-per-context", "cluster-network-policy-enforcement"),
        elsewhere="kind (dev) is not a resource of the plan: kind/cluster.yaml documents that kindnet enforces "
        "NetworkPolicy since kind v0.24.",
    ),
    Promise(
        NETWORK,
        "DNS: Kube-DNS with DNSSEC",
        elsewhere="DNSSEC is enabled on the public zone at Cloudflare (staging/prod, components/edge.py; "
        "tests/test_edge.py); cluster DNS is the cloud's managed CoreDNS.",
    ),
    Promise(
        SECURITY,
        "Zero-trust workloads: Pod Security 'restricted' enforced on every context namespace",
        ("context-pod-security-restricted",),
    ),
    Promise(
        SECURITY,
        "Zero-trust workloads: non-root, read-only root filesystem, no privilege escalation, no host access",
        ("pod-security",),
    ),
    Promise(SECURITY, "Scanned, immutable images (every image pinned by tag or digest)", ("pinned-images",)),
    Promise(
        STACK,
        "Registry: Docker Hub / GitHub Container Registry. Staging and prod run the platform's images from the "
        "stack's registry only (ghcr, or the cloud's ECR/ACR), third-party images from an allow-list",
        ("images-from-allowed-registries",),
        elsewhere="Images a Helm chart renders are not in the plan (only the release's values); the allow-list "
        "(pack config thirdPartyImages) names the ones the plan shows. How each cluster pulls (the ghcr "
        "credential, the EKS node role, AcrPull) is tests/test_registry.py.",
    ),
    Promise(
        PIPELINE,
        "Scan: container scanning. The stack's registry keeps tags immutable, scans on push, encrypts, expires old "
        "releases and, in prod, reaches the secondary region",
        ("registry-hardened",),
        elsewhere="ghcr is outside the stack: its images are scanned by the build workflow's Trivy gate before they "
        "are pushed (.github/workflows/build-image.yml, for every registry). ACR's own scanning is Microsoft "
        "Defender for Containers, a subscription-wide plan the stack does not own; ACR tags are not immutable, "
        "so staging/prod pin ACR and ghcr images by digest (a preview warns on a tag alone).",
    ),
    Promise(
        SECURITY,
        "Auditor role: compliance & security audits (every cluster ships its API audit log)",
        ("cluster-audit-logs",),
    ),
    Promise(
        AUTH,
        "RBAC matrix: cluster access only through the organisation's identity (AKS local accounts off, Entra ID "
        "with Azure RBAC; EKS access entries)",
        ("cluster-identity-rbac",),
    ),
    Promise(
        AUTH,
        "OAuth 2.0 + OpenID Connect (Keycloak), JWT RS256, 1 h access / 7 d refresh tokens, no implicit flow, PKCE",
        ("identity-token-lifetimes",),
        elsewhere="The realm's five roles, context groups, MFA and the role matrix at the gateway: "
        "tests/test_identity.py derives the seed's RBAC table from the realm and the routes.",
    ),
    Promise(
        AUTH,
        "Every request from outside is authenticated: each context service behind a JWT-validating gateway route, "
        "or internal",
        ("context-services-routed",),
    ),
    Promise(
        ENCRYPTION,
        "In-transit: TLS 1.3 at the gateway (1.2 only at the edge, for clients)",
        ("gateway-tls-minimum",),
    ),
    Promise(
        AUTH,
        "MFA: required for all production access",
        elsewhere="Enforced by Entra ID / IAM Identity Center conditional access and by GitHub environment reviewers "
        "with 2FA (docs/CI.md); neither is a resource of the plan.",
    ),
    Promise(
        AUTH,
        "A context never holds another context's credentials (per-context credentials)",
        ("per-context-credentials", "shared-data-credentials"),
        elsewhere="Azure Managed Redis has no per-user ACLs in its GA API: its consumers share the access key, "
        "declared on their Secrets and reported (advisory) by shared-data-credentials (docs/SECRETS.md). How each "
        "backend confines a login to its own database or prefix (roles, ACLs, users) is tested per stack and cloud "
        "in tests/test_data_isolation.py, and on a real cluster by make e2e (another context's credentials refused).",
    ),
    Promise(
        ENCRYPTION, "At-rest: AES-256 for databases (and cluster secrets under a KMS key)", ("data-encryption-at-rest",)
    ),
    Promise(
        ENCRYPTION,
        "In-transit: TLS 1.3",
        ("data-tls-in-transit", "tls13-where-offered"),
        elsewhere="TLS 1.2 is the blocking floor: managed Redis, Kafka, Cosmos DB and Storage offer no 1.3 minimum, "
        "so tls13-where-offered is advisory where the service can require 1.3.",
    ),
    Promise(ENCRYPTION, "mTLS for the service mesh", ("mesh-mtls-strict",)),
    Promise(
        ENCRYPTION,
        "In-transit: no data connection in plaintext (clients and in-cluster servers)",
        ("data-connections-tls",),
        elsewhere="Every data connection of every stack and cloud, with its TLS minimum, is walked in "
        "tests/test_data_tls.py.",
    ),
    Promise(
        ENCRYPTION,
        "Secrets: Sealed Secrets with key rotation",
        ("sealed-secrets-key-renewal",),
        elsewhere="What the stack generates stays a Pulumi secret; teams' own secrets are SealedSecrets in git "
        "(docs/SECRETS.md). Backing the sealing keys up is a documented monthly step "
        "(scripts/sealed_secrets_keys.py), not something a plan can show.",
    ),
    Promise(
        SECURITY,
        "Data services are never reachable from the internet",
        ("data-no-public-access", "s3-public-access-block"),
    ),
    # ---- database and cache
    Promise(
        DATABASE,
        "PostgreSQL: Primary-1 with Replica-1 and Replica-2 (streaming replication), the primary zone-redundant",
        ("postgres-ha",),
    ),
    Promise(
        DATABASE,
        "PostgreSQL: daily snapshots, retention 30 days; RPO 5 minutes (point-in-time recovery)",
        ("data-backup-retention",),
    ),
    Promise(
        DATABASE,
        "RTO: 15 minutes",
        ("dr-rto-budget",),
        elsewhere="The pack adds up the failover path the plan configures (detection, the slowest promotion, the "
        "record's TTL, reconnection; `hubctl dr budget` prints it). The achieved time is measured by the weekly "
        "failover drill (`hubctl dr drill`, .github/workflows/dr-drill.yml).",
    ),
    Promise(DATABASE, "MongoDB: 3-node replica set", ("mongo-replica-set",)),
    Promise(
        DATABASE,
        "MongoDB: sharding hash-based on tenant_id + context_id; 15-20 collections and 500 GB per context",
        ("mongo-replica-set",),
        elsewhere="The pack guards the sharded cluster's shape (every shard and the config servers a zone-spread "
        "replica set, two or more routers across zones). The key is applied inside the cluster by the "
        "collections Job to the collections the settings list, and sizes are settings data: "
        "tests/test_mongo_sharding.py checks both, running the Job's script (docs/MONGODB.md); "
        "tests/test_data_sizes.py checks 500 GB x 6 contexts on every member.",
    ),
    Promise(CACHE, "Redis Cluster: 6 nodes (master-replica pairs)", ("cache-ha",)),
    Promise(CACHE, "Eviction Policy: allkeys-lru", ("cache-eviction-policy",)),
    Promise(
        CACHE,
        "Memory: 128 GB distributed; TTL context-dependent; Pub/Sub; Streams",
        elsewhere="Sizing per SKU/node type and application behaviour: tests/test_data_sizes.py checks the memory "
        "(node type x shards, the SKU, pod memory x leaders).",
    ),
    Promise(
        DR,
        "Stateful data survives a mistaken delete (protected resources, deletion protection, final snapshots)",
        ("stateful-protection",),
    ),
    # ---- environments
    Promise(
        ENVIRONMENTS,
        "Replicas: 1 per service (dev), 2 per service (staging), 3+ per service (prod, HA)",
        ("replicas-and-pdb", "hpa-bounds"),
    ),
    Promise(
        ENVIRONMENTS,
        "HA in staging and prod: no disruption takes more than one pod of a workload at a time",
        ("pdb-max-unavailable", "replicas-and-pdb"),
    ),
    Promise(
        ENVIRONMENTS,
        "Resources: minimal (dev), 50% of production (staging), full allocation (prod)",
        ("container-resources",),
        elsewhere="The pack requires requests and limits; the per-service figures are the service matrix, which "
        "a stack file may override per service by design (tests/test_context_services.py checks them).",
    ),
    Promise(ENVIRONMENTS, "TTL: 7 days (dev), 30 days (staging), indefinite (prod)", ("environment-ttl",)),
    Promise(
        ENVIRONMENTS,
        "Cluster: single node (dev), 5-node AKS/EKS (staging), 15-node AKS/EKS (prod)",
        ("node-pool-bounds",),
        elsewhere="dev's kind cluster is not a resource of the plan (kind/cluster.yaml has one node).",
    ),
    Promise(ENVIRONMENTS, "Prod: multi-zone", ("cluster-multi-zone", "postgres-ha", "mongo-replica-set", "cache-ha")),
    Promise(
        ENVIRONMENTS,
        "Backups: none (dev), daily (staging), hourly + cross-region (prod)",
        ("data-backup-retention", "dr-backups-every-6-hours-90-days"),
        elsewhere="Hourly: point-in-time recovery (WAL and oplog archived at most every 5 minutes) stands for the "
        "hourly incremental backups; the scheduled ones run every 6 hours.",
    ),
    Promise(
        ENVIRONMENTS,
        "Auto-scaling: CPU > 70% (staging); CPU > 60%, memory > 70% (prod)",
        ("hpa-bounds",),
    ),
    Promise(
        ENVIRONMENTS,
        "Prod: multi-region, active-active failover",
        ("prod-multi-region-failover",),
        elsewhere="The pack requires a cluster in each of two regions, and health-checked DNS failover between "
        "the regions' public entry points (each gateway's LoadBalancer Service, which publishes its region's "
        "origin): tests/test_dns_failover.py on the prod plans. Active-active data is the disaster-recovery "
        "issue's.",
    ),
    Promise(
        ENVIRONMENTS,
        "SLA: 99.95% uptime",
        elsewhere="A measured outcome, not a setting; the pack guards what it rests on (replicas, budgets, zones, "
        "regions), and every context's 99.95% SLO has multi-window burn-rate alerts (tests/test_alert_rules.py).",
    ),
    Promise(
        DR,
        "RPO: 5 minutes; storage replicated to the secondary region in real time (every data service has a copy there)",
        ("dr-cross-region-copies",),
        elsewhere="The replica lag is watched by the alert rules (tests/test_alert_rules.py) and checked against "
        "the RPO by the drill before it promotes; the settings refuse an archive interval above the RPO.",
    ),
    Promise(
        DR,
        "Backup strategy: every 6 hours, retention 90 days, copies in the secondary region",
        ("dr-backups-every-6-hours-90-days",),
        elsewhere="Azure Backup schedules Flexible Server daily at its finest; point-in-time recovery covers every "
        "point between (docs/DR.md).",
    ),
    Promise(
        DR,
        "The two regions joined privately for replication (peering, routes, private DNS, replication ports only)",
        ("dr-inter-region-network",),
    ),
    Promise(
        DR,
        "Failover procedure: detect, promote, switch DNS, verify, notify, stop before restoring; weekly drill",
        elsewhere="Operational: `hubctl dr drill` runs the procedure from the `dr` stack output (moto-tested in "
        "tests/test_dr_drill.py), weekly in report mode (.github/workflows/dr-drill.yml).",
    ),
    Promise(
        DR,
        "DNS failover to the secondary region in under a minute",
        ("prod-multi-region-failover",),
        elsewhere="Required whenever prod exposes a public entry point (a LoadBalancer Service in a namespace "
        "labelled bakhmach.io/role=gateway, or so labelled itself): failover is for the public entry point. "
        "Failover records that exist are checked either way (health checks, detection + TTL within a minute).",
    ),
    # ---- scaling
    Promise(
        SCALING,
        "HPA: CPU 70%, memory 80%, min 2, max 10 replicas; scale-up 30 s, scale-down 5 min, cooldown 2 min",
        ("hpa-bounds",),
    ),
    Promise(
        SCALING,
        "VPA: update mode 'Auto' (rolling restart), 24 h history, weekly evaluation",
        ("vpa-hpa-conflict",),
        elsewhere="Deliberately not enforced as written: a VPA updating pods that an HPA scales on the same CPU/"
        "memory signal fights it (Kubernetes autoscaler docs). The VPA recommends (updateMode Off), which the "
        "policy enforces; README explains.",
    ),
    Promise(
        SCALING,
        "Cluster autoscaling: node target 70% utilisation, scale-down after 10 minutes",
        ("cluster-autoscaler-targets",),
        elsewhere='One exemption from "every pool autoscales": a fixed one-node AKS System pool tainted '
        "CriticalAddonsOnly, the pool AKS requires when it creates a cluster (a fixed pool of more nodes, or one "
        "without the taint, is a violation). Its node counts in the floor and the 50-node ceiling.",
    ),
    Promise(
        SCALING,
        "Cluster autoscaling: max nodes 50, fixed pools (AKS's bootstrap node) included",
        ("node-pool-bounds", "cluster-autoscaler-targets"),
    ),
    Promise(SCALING, "Max nodes 50 hold every service at its HPA maximum", ("capacity-at-hpa-max",)),
    Promise(SCALING, "Instance types: mix of compute-optimized + memory-optimized", ("node-pool-mix",)),
    Promise(
        SCALING,
        "Scale-up: 1-2 minutes",
        elsewhere="How fast the cloud provisions a node, not a setting a plan carries.",
    ),
    # ---- tenancy and ownership
    Promise(TENANCY, "Six business contexts plus the shared one, each labelled", ("kubernetes-context-label",)),
    Promise(TENANCY, "Every cloud resource is owned (environment, owner, managed-by tags)", ("cloud-resource-tags",)),
    # ---- service mesh
    Promise(
        MESH,
        "Timeout: 30 s default, 60 s for batch operations; retry policy: 3 attempts with exponential backoff; "
        "circuit breaker",
        ("mesh-service-resilience",),
        elsewhere="The backoff is Envoy's (exponential from the 25 ms base the routes state) and the numbers per "
        "service are tests/test_mesh.py's.",
    ),
    Promise(
        MESH,
        "Traffic distribution (canary): stable 90%, canary 10%, automated rollback on error rate > 5%",
        ("canary-rollout",),
        elsewhere="Dev has no canaries (a laptop has no traffic to judge a canary by).",
    ),
    Promise(
        MESH,
        "Destination rules: load balancing (round-robin, least-request)",
        elsewhere="A per-service choice (settings: services.<name>.loadBalancing); tests/test_mesh.py checks "
        "each service's per stack.",
    ),
    # ---- observability
    Promise(
        OBSERVABILITY,
        "Metrics collection: Prometheus, interval 30 seconds, retention 15 days",
        ("prometheus-retention-and-interval",),
        elsewhere="Storage sized per environment with retentionSize as the guard: tests/test_observability.py. "
        "'Cardinality: 50M+ time series' is beyond one Prometheus pair; README, Operations.",
    ),
    Promise(
        OBSERVABILITY,
        "Metrics per context: every context service is scraped (latency, errors, volume, pools, queue depth, cache)",
        ("context-services-scraped",),
        elsewhere="The data services' exporters, the per-context alert rules (promtool, tests/test_alert_rules.py) "
        "and dashboards: tests/test_observability.py. In the mesh each service is scraped through its sidecar, with "
        "Istio's request metrics beside its own (tests/test_observability.py).",
    ),
    Promise(
        OBSERVABILITY,
        "Logging: ELK, JSON, 30 days hot, 90 days cold storage (then deleted)",
        ("log-retention-30-90",),
        elsewhere="The hot/cold phases, JSON decoding and the 10% debug sampling: tests/test_observability.py.",
    ),
    Promise(
        OBSERVABILITY,
        "Tracing: Jaeger, 5% sampling, W3C Trace Context, 72 hours retention",
        elsewhere="The sampler and propagators are every service's SDK environment and the retention is Jaeger's "
        "store: tests/test_observability.py checks each service and stack. '100% on errors' needs tail "
        "sampling (README, Operations). The mesh's sidecars report spans at the same 5% (Istio Telemetry, "
        "tests/test_mesh.py).",
    ),
    Promise(
        OBSERVABILITY,
        "Alerts: error rate > 5%, latency, pools, queue depth, cache, certificates, volumes, backups, replica lag "
        "above the RPO, node pressure, the 99.95% SLA's burn rate; on-call notified",
        elsewhere="Rule semantics are promtool unit tests (tests/test_alert_rules.py); routing to the on-call secret: "
        "tests/test_observability.py and tests/test_observability_settings.py.",
    ),
)
