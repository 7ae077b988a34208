"""`build_platform`: the whole stack, composed from components in dependency order.

Data flows one way: settings -> cluster -> add-ons -> namespaces -> services. Each component gets
only the slice of settings it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.context_namespace import ContextNamespace, ContextNamespaceArgs
from components.context_service import ContextService, ContextServiceArgs
from settings.model import StackSettings


@dataclass
class Platform:
    cluster: Cluster
    addons: ClusterAddons
    namespaces: dict[str, ContextNamespace]
    services: dict[str, ContextService]


def build_platform(settings: StackSettings, stack_name: str) -> Platform:
    cluster = Cluster(
        stack_name,
        ClusterArgs(
            stack_name=stack_name,
            environment=settings.environment,
            cloud=settings.cloud,
            kubeconfig_context=settings.cluster.kubeconfig_context,
            kubernetes_version=settings.cluster.kubernetes_version,
        ),
    )
    in_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    addons = ClusterAddons("addons", ClusterAddonsArgs(cloud=settings.cloud), opts=in_cluster)

    services = settings.application_services
    namespaces: dict[str, ContextNamespace] = {}
    for context in settings.contexts:
        namespaces[context.slug] = ContextNamespace(
            f"ns-{context.slug}",
            ContextNamespaceArgs(
                context=context.slug,
                title=context.title,
                environment=settings.environment,
                pod_security_version=settings.kubernetes_minor,
                services=tuple(s for s in services if s.context == context.slug),
            ),
            opts=in_cluster,
        )

    deployed: dict[str, ContextService] = {}
    for spec in services:
        namespace = namespaces[spec.context]
        deployed[spec.name] = ContextService(
            spec.name,
            ContextServiceArgs(
                spec=spec,
                namespace=namespace.name,
                namespace_dependencies=(namespace,),
                hpa_dependencies=tuple(addons.hpa_dependencies),
                vpa_dependencies=tuple(addons.vpa_dependencies),
            ),
            opts=in_cluster,
        )
    return Platform(cluster=cluster, addons=addons, namespaces=namespaces, services=deployed)
