"""`python -m hubctl plan|render|policy|diff ...`: the offline plan of a stack and what is built on it."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from hubctl.plan import Plan, run_plan
from hubctl.render import write_manifests
from settings.load import SettingsError
from settings.seed import CLOUDS


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
    counts = Counter(r.type for r in plan.resources)
    width = max((len(t) for t in counts), default=0)
    rows = [f"  {count:4d}  {type_}" for type_, count in sorted(counts.items())]
    header = f"stack {plan.stack} (cloud {plan.cloud}): {len(plan.resources)} resources"
    return "\n".join([header, *rows]) if width else header


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("plan", "run a stack's program under mocks and show what it would create"),
        ("render", "write the Kubernetes objects of a stack's plan as YAML manifests"),
    ):
        cmd = sub.add_parser(name, help=help_)
        cmd.add_argument("stack", help="dev, staging or prod (a Pulumi.<stack>.yaml)")
        cmd.add_argument(
            "--cloud", choices=[c for c in CLOUDS if c != "kind"], help="override the stack file's cloud (staging/prod)"
        )
        cmd.add_argument(
            "--stack-file", type=Path, metavar="FILE", help="read this file instead of Pulumi.<stack>.yaml"
        )
        if name == "plan":
            cmd.add_argument("--json", type=Path, metavar="FILE", help="write the plan as JSON")
        else:
            cmd.add_argument("--out", type=Path, required=True, metavar="DIR")
    _add_policy_and_diff(sub)
    return parser


def _add_policy_and_diff(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("policy", help="run the policy pack (policy/) against an offline plan")
    cmd.add_argument("--plan", type=Path, required=True, metavar="FILE", help="a plan written by `plan --json`")
    cmd.add_argument(
        "--config", type=Path, metavar="FILE", help="pack config (default: policy/config/<environment>.json)"
    )
    form = cmd.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the result as JSON")
    form.add_argument("--markdown", action="store_true", help="print the result as a markdown section")

    cmd = sub.add_parser("diff", help="resources added, removed and changed between two plans")
    cmd.add_argument("base", type=Path, help="the base branch's plan JSON")
    cmd.add_argument("head", type=Path, help="the pull request's plan JSON")
    cmd.add_argument("--markdown", action="store_true", help="markdown for a pull request comment")
    cmd.add_argument(
        "--max-chars", type=int, default=None, metavar="N", help="cap the markdown at N characters (default 60000)"
    )


def _policy(args: argparse.Namespace) -> int:
    from hubctl.policy_run import format_markdown, format_text, run_file

    report = run_file(args.plan, args.config)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif args.markdown:
        print(format_markdown(report))
    else:
        print(format_text(report))
    return 1 if report.mandatory else 0


def _diff(args: argparse.Namespace) -> int:
    from hubctl.diff import DEFAULT_MAX_CHARS, diff_plans, format_markdown, format_text

    changes = diff_plans(json.loads(args.base.read_text()), json.loads(args.head.read_text()))
    if args.markdown:
        print(format_markdown(changes, max_chars=args.max_chars or DEFAULT_MAX_CHARS))
    else:
        print(format_text(changes))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "policy":
        return _policy(args)
    if args.command == "diff":
        return _diff(args)
    try:
        plan = run_plan(args.stack, args.cloud, stack_file=args.stack_file)
    except SettingsError as exc:
        print(f"hubctl: {exc}", file=sys.stderr)
        return 2
    if args.command == "plan":
        print(tree(plan))
        print()
        print(summary(plan))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(plan.dumps() + "\n")
            print(f"\nplan written to {args.json}")
    else:
        written = write_manifests(plan, args.out)
        print(f"{len(written)} manifests written to {args.out}")
    return 0
