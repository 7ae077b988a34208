"""Capacity: at HPA maximum the pods' requests fit 50 nodes of the largest node type."""

from __future__ import annotations

from typing import Any

import pytest

from policy.bakhmach_policies import seed
from tests.planning import planned
from tests.test_policy_pack import found, others, resource, run
from tests.test_policy_workloads import deployment, hpa, pdb

TAGS = {"environment": "prod", "owner": "platform-team", "managed-by": "pulumi", "ttl": "indefinite"}


def node_group(*instance_types: str) -> dict[str, Any]:
    inputs = {"instanceTypes": list(instance_types), "scalingConfig": {"minSize": 3, "maxSize": 50, "desiredSize": 3}}
    return resource("aws:eks/nodeGroup:NodeGroup", "workers", inputs | {"tags": TAGS})


def hungry(cpu: str, memory: str) -> dict[str, Any]:
    entry = deployment()
    container = entry["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}
    return entry


CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    # 10 pods x 2 CPU = 20 CPU against 50 x m6i.xlarge (~3.9 CPU each): fits.
    "capacity-at-hpa-max": (
        [node_group("m6i.xlarge"), hungry("2", "2Gi"), pdb(), hpa()],
        # 10 pods x 24 CPU = 240 CPU against 50 x c6i.large (~1.9 CPU each = ~96): does not fit.
        [node_group("c6i.large"), hungry("24", "2Gi"), pdb(), hpa()],
    ),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_compliant_case_passes_and_violating_case_is_caught(policy: str) -> None:
    compliant, violating = CASES[policy]
    ok = run("prod", *compliant)
    assert found(ok, policy) == [] and others(ok, policy) == []
    bad = run("prod", *violating)
    assert found(bad, policy) == [
        "cluster prod-k8s: at HPA maximum the pods request 240.0 CPU; 50 x c6i.large allocate 96.5"
    ]
    assert others(bad, policy) == []


def test_memory_is_checked_against_the_largest_type() -> None:
    # 10 x 70 GiB = 700 GiB; 50 x r6i.large (16 GiB, ~13.3 allocatable) = ~665 GiB. The c6i.large
    # has as many vCPUs but half the memory, so the r6i.large is the largest type.
    bad = run("prod", node_group("r6i.large", "c6i.large"), hungry("100m", "70Gi"), pdb(), hpa())
    messages = found(bad, "capacity-at-hpa-max")
    assert len(messages) == 1 and "700.0 GiB; 50 x r6i.large allocate 665." in messages[0]
    fits = run("prod", node_group("r6i.large", "c6i.large"), hungry("100m", "64Gi"), pdb(), hpa())
    assert found(fits, "capacity-at-hpa-max") == []


def test_an_unknown_node_type_is_reported_not_assumed() -> None:
    messages = found(run("prod", node_group("x9z.huge"), deployment(), pdb()), "capacity-at-hpa-max")
    assert messages == ["node type x9z.huge is not in the node size table (policy/bakhmach_policies/seed.py)"]


def test_without_node_groups_there_is_nothing_to_size() -> None:
    assert found(run("prod", hungry("500", "1Ti"), pdb(), hpa()), "capacity-at-hpa-max") == []


@pytest.mark.parametrize(
    ("instance_type", "vcpu", "memory_gib"),
    [
        ("m6i.xlarge", 4, 16),
        ("c7i.2xlarge", 8, 16),
        ("r6i.2xlarge", 8, 64),
        ("t3.large", 2, 8),
        ("Standard_D4s_v5", 4, 16),
        ("Standard_E8ds_v5", 8, 64),
        ("Standard_F16s_v2", 16, 32),
    ],
)
def test_node_size_table(instance_type: str, vcpu: int, memory_gib: int) -> None:
    size = seed.node_size(instance_type)
    assert size is not None and (size.vcpu, size.memory_gib) == (vcpu, memory_gib)
    # Allocatable stays below capacity and above 80% of it for these sizes.
    assert 0.8 * vcpu * 1000 < size.allocatable_millicores < vcpu * 1000
    assert 0.7 * memory_gib * 1024**3 < size.allocatable_bytes < memory_gib * 1024**3


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_prod_node_types_are_all_in_the_table(cloud: str) -> None:
    from pulumi_policy import PolicyResource

    from policy.bakhmach_policies.capacity import node_types

    plan = planned("prod", cloud)
    resources = [PolicyResource(r.type, r.inputs, r.urn, r.name, None, None, None, [], {}) for r in plan.resources]  # type: ignore[arg-type]
    types = node_types(resources)
    assert types, "the prod plan should size its node groups/pools"
    assert all(seed.node_size(t) for t in types), types
