"""`hubctl critical-path`: how long a `pulumi up` from empty takes, estimated from the plan.

The plan's graph is what the engine schedules on:

- a resource starts when every resource it depends on is done (`dependencies`: the SDK waits
  for their outputs before it registers the resource), when its provider is done, and when its
  parent is registered — a custom parent is registered when it has been created (its URN and
  outputs come back only then), a component as soon as its own dependencies are done;
- a component is done when all its children are;
- each custom resource then takes its typical creation time (`hubctl/data/creation-times.json`,
  every figure with its source), and at most `--parallel` of them are created at once.

Pulumi's default `--parallel` is 4 × the number of CPUs (`defaultParallel()` in
pkg/cmd/pulumi/operations/up.go of pulumi/pulumi, v3.259.0: `runtime.GOMAXPROCS(0) * 4`, or
PULUMI_PARALLEL when set); the Python language host passes it to the program, which sizes its
thread pool from it, so the engine's step workers are the bound. The default here, 16, is that
rule on a 4-vCPU runner.

The result is a list-scheduling simulation in registration order: the total, the critical path
(the chain of resources, each waiting for the one before, that ends last), and the widest step
(the moment the most resources are being created at once).
"""

from __future__ import annotations

import functools
import heapq
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubctl.planview import PlanIndex, Res

DATA = Path(__file__).resolve().parent / "data" / "creation-times.json"
DEFAULT_PARALLEL = 16


@functools.cache
def table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


def duration(type_: str) -> tuple[float, bool]:
    """Seconds to create one resource of a type, and whether the table knows the type."""
    data = table()
    if type_ in data["types"]:
        return float(data["types"][type_]["seconds"]), True
    for prefix, entry in data.get("prefix_defaults", {}).items():
        if type_.startswith(prefix):
            return float(entry["seconds"]), True
    return float(data["default"]["seconds"]), False


@dataclass
class Step:
    urn: str
    type: str
    name: str
    start: float
    end: float
    waited_for: str | None  # the URN whose completion decided the start (None: ready at 0)
    queued: float = 0.0  # seconds ready but waiting for a free worker


@dataclass
class Estimate:
    stack: str
    cloud: str
    parallel: int
    total: float
    path: list[Step]
    widest: int
    widest_at: float
    unknown: dict[str, int] = field(default_factory=dict)  # type -> count, timed at the default
    ends: dict[str, float] = field(default_factory=dict)  # URN -> when it is done

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cloud": self.cloud,
            "parallel": self.parallel,
            "total_seconds": round(self.total, 1),
            "critical_path": [
                {"type": s.type, "name": s.name, "start": round(s.start, 1), "end": round(s.end, 1)} for s in self.path
            ],
            "widest": {"resources": self.widest, "at_seconds": round(self.widest_at, 1)},
            "unknown_types": self.unknown,
        }


def estimate(document: dict[str, Any], parallel: int = DEFAULT_PARALLEL) -> Estimate:
    plan = PlanIndex.of(document)
    order = {r.urn: i for i, r in enumerate(plan.resources)}
    preds: dict[str, list[str]] = {}  # a resource's start waits for these to be *done*
    registered_after: dict[str, str] = {}  # a resource's start waits for this component's *start*
    for r in plan.resources:
        waits = [d for d in r.dependencies if d in plan.by_urn and d != r.urn]
        if r.provider in plan.by_urn:
            waits.append(r.provider or "")
        parent = plan.by_urn.get(r.parent or "")
        if parent is not None:
            if parent.custom:
                waits.append(parent.urn)
            else:
                registered_after[r.urn] = parent.urn
        preds[r.urn] = sorted(set(waits), key=order.__getitem__)

    start: dict[str, float] = {}
    end: dict[str, float] = {}
    why: dict[str, str | None] = {}
    queued: dict[str, float] = {}
    unknown: dict[str, int] = {}
    children = {r.urn: [c.urn for c in plan.children.get(r.urn, [])] for r in plan.resources}
    end_waiters: dict[str, list[str]] = {}
    start_waiters: dict[str, list[str]] = {}
    remaining: dict[str, int] = {}
    ready_at: dict[str, tuple[float, str | None]] = {r.urn: (0.0, None) for r in plan.resources}
    for urn, waits in preds.items():
        for p in waits:
            end_waiters.setdefault(p, []).append(urn)
        if urn in registered_after:
            start_waiters.setdefault(registered_after[urn], []).append(urn)
        remaining[urn] = len(waits) + (urn in registered_after)
    # Event-driven list scheduling: resources leave the queue in the order they become ready
    # (then in registration order, as the engine's step queue sees them).
    queue = [(0.0, order[urn], urn) for urn, n in remaining.items() if n == 0]
    heapq.heapify(queue)
    free_at: list[float] = [0.0] * max(1, parallel)  # when each worker is free
    running: list[tuple[float, float]] = []

    def satisfied(urn: str, at: float, cause: str | None) -> None:
        if at >= ready_at[urn][0]:
            ready_at[urn] = (at, cause)
        remaining[urn] -= 1
        if remaining[urn] == 0:
            heapq.heappush(queue, (ready_at[urn][0], order[urn], urn))

    def finished(urn: str, at: float) -> None:
        end[urn] = at
        for waiter in end_waiters.get(urn, []):
            satisfied(waiter, at, urn)
        parent = registered_after.get(urn)
        if parent is not None:
            component_done(parent)

    def component_done(urn: str) -> None:
        kids = children[urn]
        if urn in start and urn not in end and all(k in end for k in kids):
            if kids:
                last = max(kids, key=lambda k: (end[k], order[k]))
                why[urn] = last
                finished(urn, max(start[urn], end[last]))
            else:
                finished(urn, start[urn])

    while queue:
        at, _, urn = heapq.heappop(queue)
        r = plan.by_urn[urn]
        cause = ready_at[urn][1]
        if not r.custom:
            start[urn], why[urn] = at, cause
            for waiter in start_waiters.get(urn, []):
                # A child waits for its component's registration, which waited for `cause`.
                satisfied(waiter, at, cause)
            component_done(urn)
            continue
        seconds, known = duration(r.type)
        if not known:
            unknown[r.type] = unknown.get(r.type, 0) + 1
        begin = max(at, heapq.heappop(free_at))
        start[urn], why[urn], queued[urn] = begin, cause, begin - at
        heapq.heappush(free_at, begin + seconds)
        running.append((begin, begin + seconds))
        finished(urn, begin + seconds)
    pending = [urn for urn in order if urn not in end]
    if pending:
        # A cycle cannot come from a real program (the SDK would wait forever); a hand-made plan
        # can have one. Name a resource on it rather than estimating part of the graph.
        from hubctl.planfile import InputError

        stuck = plan.by_urn[pending[0]]
        raise InputError(f"the plan's dependencies form a cycle through {stuck.type} {stuck.name}: no estimate")

    total = max(end.values(), default=0.0)
    path = _critical_path(plan, start, end, why, queued)
    widest, widest_at = _widest(running)
    return Estimate(plan.stack, plan.cloud, parallel, total, path, widest, widest_at, unknown, end)


def _critical_path(
    plan: PlanIndex,
    start: dict[str, float],
    end: dict[str, float],
    why: dict[str, str | None],
    queued: dict[str, float],
) -> list[Step]:
    customs = [r for r in plan.resources if r.custom]
    if not customs:
        return []
    last = max(customs, key=lambda r: (end[r.urn], -plan.resources.index(r)))
    chain: list[Step] = []
    seen: set[str] = set()
    current: str | None = last.urn
    while current is not None and current not in seen:
        seen.add(current)
        r: Res = plan.by_urn[current]
        if r.custom:
            chain.append(Step(r.urn, r.type, r.name, start[r.urn], end[r.urn], why.get(r.urn), queued.get(r.urn, 0.0)))
        current = why.get(current)
    return list(reversed(chain))


def _widest(running: list[tuple[float, float]]) -> tuple[int, float]:
    """The most creations in progress at one moment, and when (zero-length steps excluded)."""
    events = sorted([(b, 1) for b, e in running if e > b] + [(e, -1) for b, e in running if e > b])
    widest, at, current = 0, 0.0, 0
    for moment, delta in events:
        current += delta
        if current > widest:
            widest, at = current, moment
    return widest, at


def clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def format_text(e: Estimate) -> str:
    lines = [
        f"stack {e.stack}, cloud {e.cloud}: `pulumi up` from empty ≈ {minutes(e.total)} ({clock(e.total)}), "
        f"--parallel {e.parallel}",
        "critical path (each waits for the one before; the last decides the total):",
    ]
    for s in e.path:
        wait = f"  (queued {s.queued:.0f} s for a worker)" if s.queued >= 1 else ""
        lines.append(f"  {clock(s.start):>8} → {clock(s.end):>8}  {s.type}  {s.name}{wait}")
    lines.append(f"widest step: {e.widest} resources being created at once, at {clock(e.widest_at)}")
    if e.unknown:
        default = table()["default"]["seconds"]
        listed = ", ".join(f"{t} ×{n}" for t, n in sorted(e.unknown.items()))
        lines.append(f"types not in hubctl/data/creation-times.json, timed at the default {default} s: {listed}")
    lines.append(f"total: {minutes(e.total)} (stack {e.stack}, cloud {e.cloud})")
    return "\n".join(lines)


def format_markdown(head: Estimate, base: Estimate | None = None) -> str:
    """One paragraph for the PR comment: the estimate, and how the change moves it."""
    if base is None or not base.path:
        moved = ""
    else:
        delta = head.total - base.total
        moved = (
            " (unchanged against the base branch)"
            if abs(delta) < 1
            else f" ({'+' if delta > 0 else '−'}{minutes(abs(delta))} against the base branch's {minutes(base.total)})"
        )
    chain = " → ".join(f"`{s.name}`" for s in head.path if s.end - s.start >= 30) or "—"
    unknown = (
        f" {sum(head.unknown.values())} resource(s) of unlisted types timed at the default." if head.unknown else ""
    )
    return (
        f"**Deploy time** (`pulumi up` from empty, --parallel {head.parallel}): ≈ {minutes(head.total)}{moved}. "
        f"Critical path: {chain}. Widest step: {head.widest} at once.{unknown}"
    )
