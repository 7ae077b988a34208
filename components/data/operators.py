"""`DataOperators`: the operators whose custom resources the in-cluster backends create.

Only the operators a stack needs are installed (a stack with managed PostgreSQL installs no
CloudNativePG). All of them live in one namespace, so the data namespace's policy admits one
operator namespace. Each release pins its chart (components/versions.py) and watches every
namespace, since the clusters live in `data`, not beside the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.labels import PLATFORM_CONTEXT, pod_security_labels, standard_labels
from components.priorities import PLATFORM
from components.versions import HelmChart
from settings.data import DataService

OPERATOR_NAMESPACE = "data-system"


@dataclass(frozen=True)
class DataOperatorsArgs:
    environment: str
    pod_security_version: str
    services: tuple[DataService, ...]  # the in-cluster ones
    postgres_backups: bool  # installs the Barman Cloud plugin
    # What the operators wait for: the PriorityClass they name.
    after: tuple[pulumi.Resource, ...] = ()
    # The cluster's one cert-manager (components/certificates.py, passed through components/data/tls.py):
    # for the certificates of its mTLS with the operator.
    cert_manager: tuple[pulumi.Resource, ...] = ()


class DataOperators(pulumi.ComponentResource):
    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: DataOperatorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataOperators", name, None, opts)
        self.releases = {}
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OPERATOR_NAMESPACE,
                labels=standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="operators")
                # The operators' charts do not all set restricted-compliant security contexts.
                | pod_security_labels(args.pod_security_version, "baseline", warn="restricted"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        def release(key: str, chart: HelmChart, values: dict[str, object], after: list[pulumi.Resource]) -> None:
            self.releases[key] = chart.release(
                f"{name}-{key}",
                name=key,
                namespace=OPERATOR_NAMESPACE,
                values=values,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *args.after, *after]),
            )

        # A dead operator leaves its databases unmanaged: the operators run in the platform class.
        # (Each chart names the value its own way; psmdb-operator's chart has none.)
        critical: dict[str, object] = {"priorityClassName": PLATFORM.name}
        if "postgres" in args.services:
            release("cloudnative-pg", versions.CLOUDNATIVE_PG, {"config": {"clusterWide": True}, **critical}, [])
            if args.postgres_backups:
                release(
                    "plugin-barman-cloud",
                    versions.BARMAN_CLOUD_PLUGIN,
                    critical,
                    # The plugin registers with the operator and asks cert-manager for certificates.
                    [self.releases["cloudnative-pg"], *args.cert_manager],
                )
        if "mongo" in args.services:
            release("psmdb-operator", versions.PSMDB_OPERATOR, {"watchAllNamespaces": True}, [])
        if "redis" in args.services:
            release(
                "redis-operator", versions.REDIS_OPERATOR, {"redisOperator": {"watchNamespace": ""}, **critical}, []
            )
        if "kafka" in args.services:
            # Strimzi otherwise generates a NetworkPolicy that opens every listener to every namespace,
            # undoing the data namespace's per-port consumer list; the namespace's own policies
            # already admit broker-to-broker and operator traffic.
            release(
                "strimzi", versions.STRIMZI, {"watchAnyNamespace": True, "generateNetworkPolicy": False, **critical}, []
            )
        self.register_outputs({"namespace": OPERATOR_NAMESPACE, "releases": sorted(self.releases)})

    def for_service(self, service: DataService) -> list[pulumi.Resource]:
        """What a service's custom resources must wait for: its operator (and backup plugin)."""
        keys = {
            "postgres": ("cloudnative-pg", "plugin-barman-cloud"),
            "mongo": ("psmdb-operator",),
            "redis": ("redis-operator",),
            "kafka": ("strimzi",),
        }[service]
        return [self.releases[k] for k in keys if k in self.releases]
