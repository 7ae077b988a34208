"""`hubctl dr budget`: the failover path of a stack's plan, step by step, against the seed's RTO.

The budget is the policy pack's (`policy/bakhmach_policies/dr.py` `rto_budget`): detection
(health-check interval x failure threshold), the slowest of the data services' promotions (each
backend's typical figure, with its source), the failover record's TTL and the services'
reconnection, read from the plan's resources, so `hubctl dr budget` and the `dr-rto-budget`
policy always agree. Exit 1 when the total exceeds the RTO or a data service has no copy in the
other region to promote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubctl.policy_run import policy_resources
from policy.bakhmach_policies.dr import Budget, rto_budget

STEP_TITLES = {
    "detect": "detect the failure",
    "promote": "promote a copy",
    "dns": "switch DNS",
    "reconnect": "reconnect",
}


def budget_of(plan: Mapping[str, Any]) -> Budget:
    return rto_budget(policy_resources(plan))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def format_text(plan: Mapping[str, Any], budget: Budget) -> str:
    lines = [
        f"RTO budget of stack {plan['stack']}, cloud {plan['cloud']} (the seed's RTO: {_minutes(budget.rto_seconds)})"
    ]
    slowest = max((s.seconds for s in budget.steps if s.step == "promote"), default=0.0)
    for step in budget.steps:
        counted = step.step != "promote" or step.seconds == slowest
        mark = "" if counted else "  (in parallel; not the slowest)"
        lines.append(f"  {STEP_TITLES[step.step]:<18} {step.seconds:>6.0f} s  {step.what}{mark}")
        lines.append(f"  {'':<18} {'':>8}  {step.basis}")
    for _, gap in budget.gaps:
        lines.append(f"  NO COPY            {gap}")
    verdict = "within" if budget.within else "OVER"
    lines.append(
        f"total {budget.total:.0f} s ({_minutes(budget.total)}): {verdict} the RTO of {_minutes(budget.rto_seconds)}"
        + (f"; {len(budget.gaps)} data service(s) without a copy to promote" if budget.gaps else "")
    )
    return "\n".join(lines)


def to_json(plan: Mapping[str, Any], budget: Budget) -> dict[str, Any]:
    return {
        "stack": plan["stack"],
        "cloud": plan["cloud"],
        "rtoSeconds": budget.rto_seconds,
        "totalSeconds": budget.total,
        "within": budget.within,
        "steps": [{"step": s.step, "what": s.what, "seconds": s.seconds, "basis": s.basis} for s in budget.steps],
        "withoutCopy": [gap for _, gap in budget.gaps],
    }
