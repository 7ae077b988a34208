"""Labels every object carries, so policy, cost and on-call tooling can find its owner."""

from __future__ import annotations

from typing import Literal

from settings.seed import ENVIRONMENT_PROFILES, SHARED_CONTEXT, Environment

PART_OF = "bakhmach-business-hub"
# The context of what serves every business context (the matrix's "All" rows, the data layer).
PLATFORM_CONTEXT = SHARED_CONTEXT.slug
CONTEXT_LABEL = "bakhmach.io/context"
TENANT_LABEL = "bakhmach.io/tenant"
ENVIRONMENT_LABEL = "bakhmach.io/environment"
# Namespaces whose pods may reach the context services (the gateway, a later issue).
GATEWAY_ROLE_LABEL = "bakhmach.io/role"
GATEWAY_ROLE = "gateway"


# "A unique name identifying the instance of an application" (Kubernetes recommended labels): the
# workload's name and the environment it runs in.
INSTANCE_LABEL = "app.kubernetes.io/instance"


def instance_of(name: str, environment: str) -> dict[str, str]:
    return {INSTANCE_LABEL: f"{name}-{environment}"}


def standard_labels(
    *, context: str, environment: str, component: str | None = None, name: str | None = None
) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        CONTEXT_LABEL: context,
        TENANT_LABEL: context,
        ENVIRONMENT_LABEL: environment,
    }
    if name:
        labels["app.kubernetes.io/name"] = name
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


def pod_security_labels(
    version: str,
    enforce: PodSecurityLevel,
    *,
    audit: PodSecurityLevel | None = None,
    warn: PodSecurityLevel | None = None,
) -> dict[str, str]:
    """A namespace's Pod Security Standards labels, each mode pinned to `version` (e.g. "v1.36")
    so a cluster upgrade cannot tighten or loosen them silently."""
    levels = {"enforce": enforce, "audit": audit, "warn": warn}
    labels: dict[str, str] = {}
    for mode, level in levels.items():
        if level is not None:
            labels[f"pod-security.kubernetes.io/{mode}"] = level
            labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels


def ttl_label(environment: Environment) -> str:
    """The seed's environment TTL ("7 days", "30 days", "Indefinite") as a tag/annotation value,
    for the cleanup tooling that retires expired environments (the stack never destroys itself)."""
    days = ENVIRONMENT_PROFILES[environment].ttl_days
    return "indefinite" if days is None else f"{days}d"
