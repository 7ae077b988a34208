"""`python -m hubctl plan|render|policy|validate|diff|graph|critical-path|cost|ttl|dr ...`: the offline
plan of a stack and what is built on it.

Exit codes: 0 done (policy: no mandatory violation), 1 policy found a mandatory violation,
2 bad input — a stack file, a plan file or an option — with one message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hubctl.plan import Plan, run_plan
from hubctl.planfile import InputError, load_plan
from hubctl.render import write_manifests
from settings.load import SettingsError
from settings.seed import CLOUDS

_STACK_CLOUDS = [c for c in CLOUDS if c != "kind"]


def tree(plan: Plan) -> str:
    children: dict[str | None, list[str]] = {}
    by_urn = {r.urn: r for r in plan.resources}
    for r in plan.resources:
        parent = r.parent if r.parent in by_urn else None
        children.setdefault(parent, []).append(r.urn)
    lines: list[str] = []

    def walk(urn: str, depth: int) -> None:
        r = by_urn[urn]
        marks = " [protected]" if r.protect else ""
        lines.append(f"{'  ' * depth}{r.type}  {r.name}{marks}")
        for child in children.get(urn, []):
            walk(child, depth + 1)

    for urn in children.get(None, []):
        walk(urn, 0)
    return "\n".join(lines)


def summary(plan: Plan) -> str:
    """Stack, cloud and total first, then the count of each resource type."""
    counts = Counter(r.type for r in plan.resources)
    header = f"stack {plan.stack}, cloud {plan.cloud}: {len(plan.resources)} resources of {len(counts)} types"
    rows = [f"  {count:4d}  {type_}" for type_, count in sorted(counts.items())]
    # The total once more under a long table, where the eye lands.
    footer = f"  {len(plan.resources):4d}  in total (stack {plan.stack}, cloud {plan.cloud})"
    return "\n".join([header, *rows, footer])


def _stack_name(value: str) -> str:
    """Pulumi's rule for stack names, which the plan contract's URNs rely on."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a stack name (allowed: letters, digits, '_', '.', '-')")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line (exit 2, as before)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hubctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_ in (
        ("plan", "run a stack's program under mocks and show what it would create"),
        ("render", "write the Kubernetes objects of a stack's plan as YAML manifests"),
    ):
        cmd = sub.add_parser(name, help=help_)
        if name == "render":
            source = cmd.add_mutually_exclusive_group(required=True)
            source.add_argument(
                "stack", nargs="?", type=_stack_name, help="dev, staging or prod (a Pulumi.<stack>.yaml)"
            )
            source.add_argument("--plan", type=Path, metavar="FILE", help="render a plan written by `plan --json`")
        else:
            cmd.add_argument("stack", type=_stack_name, help="dev, staging or prod (a Pulumi.<stack>.yaml)")
        cmd.add_argument("--cloud", choices=_STACK_CLOUDS, help="override the stack file's cloud (staging/prod)")
        cmd.add_argument(
            "--stack-file", type=Path, metavar="FILE", help="read this file instead of Pulumi.<stack>.yaml"
        )
        if name == "plan":
            cmd.add_argument("--json", type=Path, metavar="FILE", help="write the plan as JSON")
            cmd.add_argument("--summary", action="store_true", help="print only the summary, not the resource tree")
        else:
            cmd.add_argument("--out", type=Path, required=True, metavar="DIR")
    _add_policy_and_diff(sub)
    _add_insight(sub)
    _add_dr(sub)
    return parser


def _add_dr(sub: argparse._SubParsersAction) -> None:
    dr = sub.add_parser("dr", help="disaster recovery: the RTO budget of a plan, the failover drill")
    steps = dr.add_subparsers(dest="dr_command", required=True, parser_class=_Parser)
    cmd = steps.add_parser("budget", help="the failover path's time from a plan, step by step, against the RTO")
    _plan_source(cmd)
    cmd.add_argument("--json", action="store_true", help="print the budget as JSON")
    cmd = steps.add_parser("drill", help="the seed's failover procedure against prod's `dr` stack output")
    cmd.add_argument("--outputs", type=Path, required=True, metavar="FILE", help="`pulumi stack output --json` of prod")
    cmd.add_argument("--execute", action="store_true", help="change things (default: report what would be done)")
    cmd.add_argument("--force", action="store_true", help="promote even when the replica lags more than the RPO")
    cmd.add_argument("--endpoint-url", metavar="URL", help="an AWS-compatible endpoint (tests, local emulators)")
    cmd.add_argument("--state", type=Path, metavar="FILE", help="the journal (default: build/dr-drill-<stack>.json)")
    cmd.add_argument("--json-out", type=Path, metavar="FILE", help="also write the report as JSON to FILE")


def _dr(args: argparse.Namespace) -> int:
    if args.dr_command == "budget":
        from hubctl.dr import budget_of, format_text, to_json

        document = _plan_document(args)
        budget = budget_of(document)
        print(json.dumps(to_json(document, budget), indent=2) if args.json else format_text(document, budget))
        return 0 if budget.within else 1
    from hubctl.drill import Journal, boto3_clients, read_outputs, run_drill
    from hubctl.drill import format_text as drill_text

    dr = read_outputs(args.outputs)
    stack = str(dr.get("stack", "prod"))
    journal = Journal(args.state or Path("build") / f"dr-drill-{stack}.json", stack)
    report = run_drill(dr, boto3_clients(args.endpoint_url), execute=args.execute, force=args.force, journal=journal)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    print(drill_text(report))
    return 0 if report.ok else 1


def _plan_source(cmd: argparse.ArgumentParser) -> None:
    """STACK [--cloud] [--stack-file] (planned now) or --plan FILE (a plan written before)."""
    source = cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("stack", nargs="?", type=_stack_name, help="dev, staging or prod (a Pulumi.<stack>.yaml)")
    source.add_argument("--plan", type=Path, metavar="FILE", help="a plan written by `plan --json`")
    cmd.add_argument("--cloud", choices=_STACK_CLOUDS, help="override the stack file's cloud (staging/prod)")
    cmd.add_argument("--stack-file", type=Path, metavar="FILE", help="read this file instead of Pulumi.<stack>.yaml")


def _add_insight(sub: argparse._SubParsersAction) -> None:
    from hubctl.graph import FORMATS

    cmd = sub.add_parser("graph", help="the stack as a diagram: edge, gateway, contexts, data services, regions")
    _plan_source(cmd)
    cmd.add_argument("--format", choices=FORMATS, default="mermaid", help="default: mermaid")
    cmd.add_argument("--out", type=Path, metavar="FILE", help="write here (required for png; default: stdout)")
    cmd.add_argument("--markdown", action="store_true", help="mermaid inside a ```mermaid fence")

    cmd = sub.add_parser("critical-path", help="estimated `pulumi up` from empty: total, critical path, widest step")
    _plan_source(cmd)
    cmd.add_argument("--parallel", type=int, default=None, metavar="N", help="pulumi's --parallel (default 16)")
    cmd.add_argument("--base", type=Path, metavar="FILE", help="the base branch's plan: show how the change moves it")
    form = cmd.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the estimate as JSON")
    form.add_argument("--markdown", action="store_true", help="one markdown paragraph (the PR comment)")
    cmd.add_argument("--json-out", type=Path, metavar="FILE", help="also write the estimate as JSON to FILE")

    cmd = sub.add_parser("cost", help="estimated monthly cost from the pinned price table (hubctl/data/prices.json)")
    _plan_source(cmd)
    cmd.add_argument("--base", type=Path, metavar="FILE", help="the base branch's plan: show the cost delta")
    form = cmd.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the estimate as JSON")
    form.add_argument("--markdown", action="store_true", help="a markdown section (the PR comment)")
    cmd.add_argument("--json-out", type=Path, metavar="FILE", help="also write the estimate as JSON to FILE")

    cmd = sub.add_parser("ttl", help="which stacks of a `pulumi stack ls --json` list are expired, which may go")
    source = cmd.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "stacks", nargs="?", type=Path, metavar="FILE", help="`pulumi stack ls --json` output, with each stack's tags"
    )
    source.add_argument("--tags-for", metavar="ENV", help="print the tags a new stack of ENV carries (name=value)")
    cmd.add_argument("--now", metavar="TIME", help="judge at this UTC time (ISO 8601; default: now)")
    cmd.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    cmd.add_argument("--destroyable", action="store_true", help="print only the names of stacks to destroy, one a line")


def _add_policy_and_diff(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("policy", help="run the policy pack (policy/) against an offline plan")
    cmd.add_argument("--plan", type=Path, required=True, metavar="FILE", help="a plan written by `plan --json`")
    cmd.add_argument("--stack", type=_stack_name, metavar="STACK", help="refuse the plan unless it is of this stack")
    cmd.add_argument("--cloud", choices=CLOUDS, help="refuse the plan unless it was made for this cloud")
    cmd.add_argument(
        "--config", type=Path, metavar="FILE", help="pack config (default: policy/config/<environment>.json)"
    )
    form = cmd.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the result as JSON")
    form.add_argument("--markdown", action="store_true", help="print the result as a markdown section")

    cmd = sub.add_parser("validate", help="check that files are plans (hubctl/plan.schema.json); exit 2 if not")
    cmd.add_argument("plans", type=Path, nargs="+", metavar="FILE")

    cmd = sub.add_parser("diff", help="resources added, removed and changed between two plans of one stack")
    cmd.add_argument("base", type=Path, help="the base branch's plan JSON")
    cmd.add_argument("head", type=Path, help="the pull request's plan JSON")
    cmd.add_argument("--markdown", action="store_true", help="markdown for a pull request comment")
    cmd.add_argument(
        "--max-chars", type=int, default=None, metavar="N", help="cap the markdown at N characters (default 60000)"
    )
    cmd.add_argument(
        "--allow-cross-stack", action="store_true", help="compare plans of two different stacks (refused by default)"
    )


def _policy(args: argparse.Namespace) -> int:
    from hubctl.policy_run import format_markdown, format_text, run_file

    report = run_file(args.plan, args.config, stack=args.stack, cloud=args.cloud)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif args.markdown:
        print(format_markdown(report))
    else:
        print(format_text(report))
    return 1 if report.mandatory else 0


def _diff(args: argparse.Namespace) -> int:
    from hubctl.diff import DEFAULT_MAX_CHARS, cross_stack, diff_plans, format_markdown, format_text

    if args.max_chars is not None and args.max_chars < 1000:
        raise InputError(f"--max-chars {args.max_chars}: too small for a summary (allowed: 1000 or more)")
    base, head = load_plan(args.base), load_plan(args.head)
    mismatch = cross_stack(base, head)
    if mismatch and not args.allow_cross_stack:
        raise InputError(
            f"{args.base} and {args.head} are plans of two different stacks ({mismatch}): every resource would "
            "show as deleted and created; pass --allow-cross-stack to compare them anyway"
        )
    changes = diff_plans(base, head)
    if args.markdown:
        print(format_markdown(changes, max_chars=args.max_chars or DEFAULT_MAX_CHARS))
    else:
        print(format_text(changes))
    return 0


def _plan_document(args: argparse.Namespace) -> dict[str, Any]:
    """The plan a command works on: read from --plan (checked against the contract) or planned now."""
    if args.plan is not None:
        if args.cloud or args.stack_file:
            raise InputError(
                f"{args.command} --plan FILE takes the stack and cloud from the plan (no --cloud, --stack-file)"
            )
        return load_plan(args.plan)
    return run_plan(args.stack, args.cloud, stack_file=args.stack_file).to_json()


def _graph(args: argparse.Namespace) -> int:
    from hubctl.architecture import build
    from hubctl.graph import render

    if args.format == "png" and args.out is None:
        raise InputError("--format png writes a binary image: give --out FILE")
    if args.markdown and args.format != "mermaid":
        raise InputError(f"--markdown is for --format mermaid, not {args.format}")
    document = _plan_document(args)
    arch = build(document)
    data = render(arch, args.format)
    if args.markdown:
        data = b"```mermaid\n" + data + b"```\n"
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    contexts = sum(1 for g in arch.all_groups() if g.kind == "context")
    print(
        f"stack {arch.stack}, cloud {arch.cloud}: {args.format} written to {args.out} "
        f"({len(arch.groups)} region(s), {contexts} context(s), {len(arch.all_nodes())} nodes, {len(arch.edges)} edges)"
    )
    return 0


def _critical_path(args: argparse.Namespace) -> int:
    from hubctl.critical_path import DEFAULT_PARALLEL, estimate, format_markdown, format_text

    parallel = DEFAULT_PARALLEL if args.parallel is None else args.parallel
    if not 1 <= parallel <= 10_000:
        raise InputError(
            f"--parallel {parallel}: allowed 1 … 10000 (pulumi's default is 4 × CPUs; here {DEFAULT_PARALLEL})"
        )
    head = estimate(_plan_document(args), parallel)
    base = estimate(load_plan(args.base), parallel) if args.base is not None else None
    result = head.to_json()
    if base is not None:
        result["base_total_seconds"] = round(base.total, 1)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.markdown:
        print(format_markdown(head, base))
    else:
        print(format_text(head))
    return 0


def _cost(args: argparse.Namespace) -> int:
    from hubctl.cost import estimate, format_markdown, format_text

    head = estimate(_plan_document(args))
    base = estimate(load_plan(args.base)) if args.base is not None else None
    result = head.to_json()
    if base is not None:
        result["base"] = {"floor": round(base.floor, 2), "ceiling": round(base.ceiling, 2)}
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.markdown:
        print(format_markdown(head, base))
    else:
        print(format_text(head))
    return 0


def _ttl(args: argparse.Namespace) -> int:
    from hubctl.ttl import format_text, judge, parse_now, read_stack_list, tags_for

    if args.tags_for is not None:
        for name, value in tags_for(args.tags_for, parse_now(args.now)).items():
            print(f"{name}={value}")
        return 0
    verdicts = judge(read_stack_list(args.stacks), parse_now(args.now))
    if args.destroyable:
        for v in verdicts:
            if v.destroy:
                print(v.name)
    elif args.json:
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        print(format_text(verdicts))
    return 0


def _validate(args: argparse.Namespace) -> int:
    for path in args.plans:
        plan = load_plan(path)
        print(f"{path}: a plan of stack {plan['stack']}, cloud {plan['cloud']}: {len(plan['resources'])} resources")
    return 0


def _plan_or_render(args: argparse.Namespace) -> int:
    if getattr(args, "plan", None) is not None:
        if args.cloud or args.stack_file:
            raise InputError("render --plan FILE takes the stack and cloud from the plan (no --cloud, --stack-file)")
        plan = Plan.from_json(load_plan(args.plan))
    else:
        plan = run_plan(args.stack, args.cloud, stack_file=args.stack_file)
    if args.command == "render":
        written = write_manifests(plan, args.out)
        print(f"stack {plan.stack}, cloud {plan.cloud}: {len(written)} manifests written to {args.out}")
        return 0
    if not args.summary:
        print(tree(plan))
        print()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(plan.dumps() + "\n")
        print(f"plan written to {args.json}")
    # Last, so the totals are what stays on screen.
    print(summary(plan))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "policy":
            return _policy(args)
        if args.command == "diff":
            return _diff(args)
        if args.command == "validate":
            return _validate(args)
        handler = {"graph": _graph, "critical-path": _critical_path, "cost": _cost, "ttl": _ttl, "dr": _dr}.get(
            args.command
        )
        if handler is not None:
            return handler(args)
        return _plan_or_render(args)
    except (SettingsError, InputError) as exc:
        print(f"hubctl: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # Writing the outputs (--json, --out): a missing permission, a full disk, a file in the way.
        print(f"hubctl: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
