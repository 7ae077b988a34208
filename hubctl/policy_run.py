"""`hubctl policy --plan FILE`: run the policy pack against an offline plan, as the engine would.

Each resource policy gets a resource's camelCase inputs wrapped by
`pulumi_policy.proxy.unknown_checking_proxy` (unknown values in the plan become the engine's
unknown sentinel again), its options (protect, parent) and its provider's inputs; each stack policy
gets every resource with parent and dependency links. Enforcement levels come from the pack's
config for the plan's environment (policy/config/<environment>.json), exactly the file that
`pulumi preview --policy-pack policy --policy-pack-config ...` is given.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from hubctl.plan import REPO_ROOT, UNKNOWN
from hubctl.planfile import InputError, load_plan, parse
from policy.bakhmach_policies import PACK_NAME, POLICIES

CONFIG_DIR = REPO_ROOT / "policy" / "config"
# What the pack itself declares as its default (policy/__main__.py): unconfigured means blocking.
PACK_DEFAULT = EnforcementLevel.MANDATORY


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str | None
    message: str


@dataclass
class PolicyReport:
    stack: str
    environment: str
    violations: list[Violation]
    # Policies that could not run on a value unknown before deployment (advisory, as in preview).
    skipped: list[Violation]
    # What was checked: the plan's cloud, how many resources, how many policies ran (not disabled).
    cloud: str = ""
    resources: int = 0
    policies: int = 0

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": PACK_NAME,
            "stack": self.stack,
            "cloud": self.cloud,
            "environment": self.environment,
            "resources": self.resources,
            "policies": self.policies,
            "mandatory": len(self.mandatory),
            "violations": [asdict(v) for v in self.violations],
            "skipped": [asdict(v) for v in self.skipped],
        }


def _engine_value(value: Any) -> Any:
    """Plan form -> what the analyzer deserialises: unknowns as the engine's sentinel."""
    if isinstance(value, dict):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v) for v in value]
    if value == UNKNOWN:
        return UNKNOWN_STRING_VALUE
    return value


def _props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(_engine_value(dict(inputs)))


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(resource.get("protect")),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent"),
    )


def environment_of(plan: Mapping[str, Any]) -> str:
    return str((plan.get("outputs") or {}).get("environment") or plan.get("stack"))


def load_config(environment: str, config_file: Path | None = None) -> dict[str, Any]:
    """The pack config for an environment (or `config_file`), checked as the engine would read it."""
    path = config_file or CONFIG_DIR / f"{environment}.json"
    if config_file is None and not path.exists():
        return {}
    try:
        loaded = parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such policy config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a policy config ({exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: a policy config is a JSON object of policy name -> level or settings")
    levels = [level.value for level in EnforcementLevel]
    for name, entry in loaded.items():
        level = entry.get("enforcementLevel") if isinstance(entry, dict) else entry
        if not isinstance(entry, dict | str) or (level is not None and level not in levels):
            raise InputError(f"{path}: {name}: {level!r} is not an enforcement level (allowed: {', '.join(levels)})")
    return loaded


def _level_and_config(policy: Policy, config: Mapping[str, Any]) -> tuple[EnforcementLevel, dict[str, Any]]:
    """The engine's rule: the policy's own entry, else the `all` entry, else the policy's or pack's default."""
    level = policy.enforcement_level or PACK_DEFAULT
    everyone = config.get("all")
    if isinstance(everyone, str):
        level = EnforcementLevel(everyone)
    elif isinstance(everyone, Mapping) and "enforcementLevel" in everyone:
        level = EnforcementLevel(everyone["enforcementLevel"])
    entry = config.get(policy.name)
    properties: dict[str, Any] = {}
    if isinstance(entry, str):
        level = EnforcementLevel(entry)
    elif isinstance(entry, Mapping):
        if "enforcementLevel" in entry:
            level = EnforcementLevel(entry["enforcementLevel"])
        properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
    return level, properties


def _run_validation(result: Any) -> None:
    if inspect.isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def policy_resources(plan: Mapping[str, Any]) -> list[PolicyResource]:
    """Every resource of the plan as a stack policy receives it: props as the engine wraps them,
    its provider's inputs, its parent and its dependencies."""
    planned = [r for r in plan.get("resources", []) if r.get("type") != "pulumi:pulumi:Stack"]
    by_urn = {r["urn"]: r for r in planned}

    def provider_of(resource: Mapping[str, Any]) -> PolicyProviderResource | None:
        provider = by_urn.get(resource.get("provider") or "")
        if provider is None:
            return None
        return PolicyProviderResource(provider["type"], _props(provider["inputs"]), provider["urn"], provider["name"])

    resources = {
        r["urn"]: PolicyResource(
            r["type"], _props(r["inputs"]), r["urn"], r["name"], _options(r), provider_of(r), None, [], {}
        )
        for r in planned
    }
    for r in planned:
        resources[r["urn"]].parent = resources.get(r.get("parent") or "")
        resources[r["urn"]].dependencies = [resources[d] for d in r.get("dependencies", []) if d in resources]
    return list(resources.values())


def run_policies(
    plan: Mapping[str, Any], config: Mapping[str, Any] | None = None, policies: list[Policy] | None = None
) -> PolicyReport:
    environment = environment_of(plan)
    config = load_config(environment) if config is None else config
    policies = POLICIES if policies is None else policies
    planned = [r for r in plan.get("resources", []) if r.get("type") != "pulumi:pulumi:Stack"]
    evaluated = 0
    by_urn = {r["urn"]: r for r in planned}

    def provider_of(resource: Mapping[str, Any]) -> PolicyProviderResource | None:
        provider = by_urn.get(resource.get("provider") or "")
        if provider is None:
            return None
        return PolicyProviderResource(provider["type"], _props(provider["inputs"]), provider["urn"], provider["name"])

    violations: list[Violation] = []
    skipped: list[Violation] = []

    def attempt(policy: Policy, level: EnforcementLevel, urn: str | None, validate: Any, args: Any) -> None:
        def report(message: str, reported_urn: str | None = None) -> None:
            violations.append(Violation(policy.name, level.value, reported_urn or urn, message))

        try:
            _run_validation(validate(args, report))
        except UnknownValueError as exc:
            skipped.append(Violation(policy.name, EnforcementLevel.ADVISORY.value, urn, exc.message))
        except _NotApplicableError:
            pass
        except Exception as exc:
            # A policy that breaks on a value has not checked it. The engine fails the preview
            # when an analyzer raises; the offline run fails closed too, with a line, not a traceback.
            message = f"the policy could not evaluate this resource ({type(exc).__name__}: {exc})"
            violations.append(Violation(policy.name, EnforcementLevel.MANDATORY.value, urn, message))

    for policy in policies:
        level, properties = _level_and_config(policy, config)
        if level == EnforcementLevel.DISABLED:
            continue
        evaluated += 1
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY
        if isinstance(policy, ResourceValidationPolicy):
            for r in planned:
                args = ResourceValidationArgs(
                    r["type"], _props(r["inputs"]), r["urn"], r["name"], _options(r), provider_of(r), properties
                )
                attempt(policy, level, r["urn"], policy.validate, args)
        elif isinstance(policy, StackValidationPolicy):
            resources = policy_resources(plan)
            attempt(policy, level, None, policy.validate, StackValidationArgs(resources, properties))
    return PolicyReport(
        stack=str(plan.get("stack")),
        environment=environment,
        violations=violations,
        skipped=skipped,
        cloud=str(plan.get("cloud")),
        resources=len(planned),
        policies=evaluated,
    )


def checked(report: PolicyReport) -> str:
    return (
        f"stack {report.stack}, cloud {report.cloud}, environment {report.environment}: "
        f"{report.resources} resources, {report.policies} policies evaluated"
    )


def format_text(report: PolicyReport) -> str:
    lines = [f"policy pack {PACK_NAME} on {checked(report)}"]
    for v in sorted(report.violations, key=lambda v: (v.level != "mandatory", v.policy, v.urn or "")):
        lines.append(f"  [{v.level}] {v.policy}  {v.urn or '(stack)'}")
        lines.append(f"      {v.message}")
    for v in report.skipped:
        lines.append(f"  [skipped] {v.policy}  {v.urn or '(stack)'}: {v.message}")
    advisory = len(report.violations) - len(report.mandatory)
    verdict = "FAILED" if report.mandatory else "passed"
    lines.append(
        f"{verdict}: {len(report.mandatory)} mandatory, {advisory} advisory violation(s) "
        f"(stack {report.stack}, cloud {report.cloud})"
    )
    return "\n".join(lines)


def format_markdown(report: PolicyReport, max_rows: int = 15) -> str:
    mandatory, advisory = len(report.mandatory), len(report.violations) - len(report.mandatory)
    status = "❌" if mandatory else "✅"
    lines = [
        f"{status} **{report.stack}** ({report.cloud}): {mandatory} mandatory, {advisory} advisory violation(s) "
        f"— {report.resources} resources, {report.policies} policies evaluated"
    ]
    shown = sorted(report.violations, key=lambda v: (v.level != "mandatory", v.policy))[:max_rows]
    if shown:
        lines += ["", "| level | policy | resource | message |", "|---|---|---|---|"]
        for v in shown:
            resource = (v.urn or "(stack)").rsplit("::", 1)[-1]
            message = v.message.replace("|", "\\|")
            lines.append(f"| {v.level} | `{v.policy}` | `{resource}` | {message} |")
        if len(report.violations) > len(shown):
            lines.append(f"\n… and {len(report.violations) - len(shown)} more (see the job log).")
    return "\n".join(lines)


def run_file(
    plan_file: Path, config_file: Path | None = None, *, stack: str | None = None, cloud: str | None = None
) -> PolicyReport:
    """Run the pack on a plan file, refusing anything that is not a non-empty plan of `stack`/`cloud`."""
    plan = load_plan(plan_file)
    asked = [(what, wanted, plan[what]) for what, wanted in (("stack", stack), ("cloud", cloud)) if wanted]
    for what, wanted, found in asked:
        if wanted != found:
            raise InputError(
                f"{plan_file}: a plan of stack {plan['stack']!r} (cloud {plan['cloud']}), not of {what} "
                f"{wanted!r} as --{what} asks: refusing to check another stack's plan"
            )
    if not plan["resources"]:
        raise InputError(f"{plan_file}: the plan of stack {plan['stack']!r} has no resources: nothing to check")
    config = load_config(environment_of(plan), config_file)
    return run_policies(plan, config)
