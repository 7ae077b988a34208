"""Plan each stack once per test session (per xdist worker) and look things up in it."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func

from hubctl.plan import REPO_ROOT, Plan, PlanMocks, PlannedResource, RecordingMonitor, run_plan

# Every stack and cloud the project supports; staging and prod must work on both clouds.
STACKS: list[tuple[str, str]] = [
    ("dev", "kind"),
    ("staging", "aws"),
    ("staging", "azure"),
    ("prod", "aws"),
    ("prod", "azure"),
]
STACK_IDS = [f"{stack}-{cloud}" for stack, cloud in STACKS]

CRD_SCHEMAS = Path(os.environ.get("CRD_SCHEMAS", Path(__file__).resolve().parents[2] / "shared" / "crd-schemas"))


@functools.cache
def planned(stack: str, cloud: str) -> Plan:
    return run_plan(stack, None if cloud == "kind" else cloud)


# What a stack file may choose instead of the managed services: every data service in the
# cluster, through its operator (MongoDB always is).
IN_CLUSTER_DATA = {
    "postgres": {"backend": "in-cluster"},
    "redis": {"backend": "in-cluster"},
    "kafka": {"backend": "in-cluster"},
}


@functools.cache
def planned_in_cluster(stack: str, cloud: str) -> Plan:
    """The stack's own file with every data service overridden to in-cluster, planned once per
    session (per xdist worker) from a copy under a temporary directory."""
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = document.setdefault("config", {})
    config["bakhmach-hub:data"] = {**(config.get("bakhmach-hub:data") or {}), **IN_CLUSTER_DATA}
    path = Path(tempfile.mkdtemp(prefix=f"bakhmach-{stack}-{cloud}-in-cluster-")) / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return run_plan(stack, cloud, stack_file=path)


# Which backend builds each data service by default, per cloud (settings/data.py `DEFAULT_BACKENDS`,
# written out: a changed default fails the tests that read it).
DEFAULT_DATA_BACKENDS: dict[str, dict[str, str]] = {
    "kind": {"postgres": "in-cluster", "mongo": "in-cluster", "redis": "in-cluster", "kafka": "in-cluster"},
    "aws": {"postgres": "aws", "mongo": "in-cluster", "redis": "aws", "kafka": "aws"},
    "azure": {"postgres": "azure", "mongo": "in-cluster", "redis": "azure", "kafka": "in-cluster"},
}


class DataPlan(NamedTuple):
    """A stack and cloud as the stack file has it, or with every data service in-cluster."""

    stack: str
    cloud: str
    in_cluster: bool = False

    @property
    def id(self) -> str:
        return f"{self.stack}-{self.cloud}" + ("-in-cluster" if self.in_cluster else "")

    def plan(self) -> Plan:
        return planned_in_cluster(self.stack, self.cloud) if self.in_cluster else planned(self.stack, self.cloud)

    def backend(self, service: str) -> str:
        return "in-cluster" if self.in_cluster else DEFAULT_DATA_BACKENDS[self.cloud][service]


CLOUD_STACKS: list[tuple[str, str]] = [s for s in STACKS if s[1] != "kind"]
# Every stack and cloud, plus each staging/prod one with its data services overridden in-cluster.
DATA_PLANS: list[DataPlan] = [
    *(DataPlan(stack, cloud) for stack, cloud in STACKS),
    *(DataPlan(stack, cloud, in_cluster=True) for stack, cloud in CLOUD_STACKS),
]


@functools.cache
def resource_options(stack: str, cloud: str) -> dict[str, dict[str, Any]]:
    """Resource options the recorded plan does not carry, by URN: `ignoreChanges`,
    `deleteBeforeReplace` and alias URNs, as the engine receives them (one more plan of the
    stack, recorded through the same monitor)."""
    captured: dict[str, dict[str, Any]] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        captured[self.make_urn(request.parent, request.type, request.name)] = {
            "ignoreChanges": list(request.ignoreChanges),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "aliases": [a.urn for a in request.aliases if a.urn],
        }
        return original(self, request)

    RecordingMonitor.RegisterResource = register  # type: ignore[method-assign]
    try:
        run_plan(stack, None if cloud == "kind" else cloud)
    finally:
        RecordingMonitor.RegisterResource = original  # type: ignore[method-assign]
    return captured


def record(program: Callable[[], None], stack: str = "prod") -> list[PlannedResource]:
    """Run `program` (which registers resources) under the offline plan's mocks and monitor, and
    return what it registered: for a component's paths no stack file reaches yet."""

    def run() -> list[PlannedResource]:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        monitor = RecordingMonitor(PlanMocks())
        try:
            pulumi_mocks.set_mocks(PlanMocks(), project="bakhmach-hub", stack=stack, preview=True, monitor=monitor)
            loop.run_until_complete(run_pulumi_func(program))
            return monitor.recorded
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    return contextvars.Context().run(run)


def of_type(plan: Plan, type_: str) -> list[PlannedResource]:
    return [r for r in plan.resources if r.type == type_]


def outside_dr(plan: Plan, resources: list[PlannedResource]) -> list[PlannedResource]:
    """The resources not of prod's disaster recovery (components/dr: the copies in the secondary
    region, its network and backups): what the data layer and the platform made."""
    by_urn = {r.urn: r for r in plan.resources}

    def of_dr(r: PlannedResource | None) -> bool:
        while r is not None:
            if r.type == "bakhmach:dr:DisasterRecovery":
                return True
            r = by_urn.get(r.parent or "")
        return False

    return [r for r in resources if not of_dr(r)]


def primary_provider(plan: Plan) -> str:
    """The URN of the primary cluster's Kubernetes provider (prod also has a secondary region)."""
    (urn,) = [
        r.urn
        for r in plan.resources
        if r.type == "pulumi:providers:kubernetes" and r.urn.endswith(f"::{plan.stack}-k8s")
    ]
    return urn


def k8s(
    plan: Plan,
    kind: str,
    name: str | None = None,
    namespace: str | None = None,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    """Kubernetes objects of a kind (inputs as sent) on one cluster (default: the primary),
    optionally by metadata name/namespace."""
    provider = provider or primary_provider(plan)
    found = []
    for r in plan.resources:
        if not r.type.startswith("kubernetes:") or r.inputs.get("kind") != kind or r.provider != provider:
            continue
        meta = r.inputs.get("metadata", {})
        if name is not None and meta.get("name") != name:
            continue
        if namespace is not None and meta.get("namespace") != namespace:
            continue
        found.append(r.inputs)
    return found


def one(plan: Plan, kind: str, name: str, namespace: str | None = None, provider: str | None = None) -> dict[str, Any]:
    found = k8s(plan, kind, name, namespace, provider)
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]


def resource(plan: Plan, type_: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
    return found[0]
