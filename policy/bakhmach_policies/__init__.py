"""The Bakhmach Business Hub policy pack: the seed's security and SLA rules as CrossGuard policies.

Importable on its own (the pack's `__main__.py` only assembles `POLICIES` into a PolicyPack), so
tests and the offline run (`python -m hubctl policy`) use exactly the policies the engine runs.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from . import (
    availability,
    capacity,
    cluster,
    data,
    dr,
    front_door,
    mesh,
    network,
    nodes,
    observability,
    registry,
    secrets,
    tagging,
    workloads,
)
from .seed import ENVIRONMENTS

PACK_NAME = "bakhmach-hub-policies"

# Each area module lists its policies in POLICIES; a new area adds its module here (and its
# promises to inventory.PROMISES, its mutation cases to tests/policy_mutations.py).
POLICIES: list[Policy] = [
    *workloads.POLICIES,
    *network.POLICIES,
    *front_door.POLICIES,
    *data.POLICIES,
    *secrets.POLICIES,
    *availability.POLICIES,
    *cluster.POLICIES,
    *nodes.POLICIES,
    *tagging.POLICIES,
    *capacity.POLICIES,
    *observability.POLICIES,
    *dr.POLICIES,
    *mesh.POLICIES,
    *registry.POLICIES,
]
# Settings a policy reads from the pack config beside `environment` (their defaults).
POLICY_CONFIG: dict[str, dict[str, Any]] = {**registry.POLICY_CONFIG}


def enforcement_for(policy: Policy, environment: str) -> EnforcementLevel:
    """Dev reports (nothing on a laptop should block); staging and prod block. Policies that are
    advisory by nature stay advisory everywhere."""
    if policy.enforcement_level == EnforcementLevel.ADVISORY or environment == "dev":
        return EnforcementLevel.ADVISORY
    return EnforcementLevel.MANDATORY


def config_for(environment: str) -> dict[str, Any]:
    """The pack's config for one environment: what policy/config/<environment>.json holds, passed
    to `pulumi preview --policy-pack-config` and read by the offline run."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment {environment!r} (allowed: {', '.join(ENVIRONMENTS)})")
    return {
        p.name: {
            "enforcementLevel": enforcement_for(p, environment).value,
            "environment": environment,
            **POLICY_CONFIG.get(p.name, {}),
        }
        for p in POLICIES
    }


__all__ = ["PACK_NAME", "POLICIES", "config_for", "enforcement_for"]
