"""`python -m hubctl plan|render ...`: the offline plan of a stack and what is built on it."""

from __future__ import annotations

import argparse
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
