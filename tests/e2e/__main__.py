"""`python -m tests.e2e wait|diagnose`: the cluster steps of scripts/e2e-kind.sh.

wait      until every Deployment, StatefulSet, DaemonSet and operator-managed resource of the dev
          stack (its custom resources and its charts') is ready; exit 1 after --timeout seconds
          naming what is not, with its events
diagnose  write pod states, events and the logs of failing pods to --out (the CI artifact)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.e2e import cluster, readiness, selection
from tests.planning import planned


def _wait(timeout: float, interval: float) -> int:
    plan = planned("dev", "kind")
    api = cluster.connect(selection.kube_context(plan))
    awaited = readiness.awaited(plan)
    not_ready = readiness.wait_until_ready(
        lambda: cluster.observe(api, awaited), timeout, interval, log=lambda m: print(m, flush=True)
    )
    if not not_ready:
        return 0
    print(f"\nnot ready after {timeout:.0f} s:", file=sys.stderr)
    for o in not_ready:
        print(f"- {o}", file=sys.stderr)
        for event in cluster.events_for(api, o.namespace, o.name):
            print(f"    {event}", file=sys.stderr)
    return 1


def _diagnose(out: Path) -> int:
    api = cluster.connect(selection.kube_context(planned("dev", "kind")))
    written = cluster.diagnose(api, out)
    print(f"wrote {len(written)} files to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    wait = commands.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=900)
    wait.add_argument("--interval", type=float, default=10)
    diagnose = commands.add_parser("diagnose")
    diagnose.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "wait":
            return _wait(args.timeout, args.interval)
        return _diagnose(args.out)
    except cluster.ClusterUnavailableError as e:
        print(f"e2e: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
