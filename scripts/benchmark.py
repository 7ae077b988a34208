"""Time the offline plan of every stack and the whole test suite, against the targets.

Targets on a 2-core machine: each stack's plan under 5 s (as a user runs it: a fresh
`python -m hubctl plan` process, imports included), the whole suite under 3 minutes.
Usage: make bench   (or .venv/bin/python scripts/benchmark.py [--skip-suite])
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKS = [("dev", None), ("staging", "aws"), ("staging", "azure"), ("prod", "aws"), ("prod", "azure")]
PLAN_TARGET_S = 5.0
SUITE_TARGET_S = 180.0


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-suite", action="store_true")
    args = parser.parse_args()
    over = 0
    print(f"{'stack':<16}{'plan (s)':>10}  target {PLAN_TARGET_S:.0f} s")
    for stack, cloud in STACKS:
        command = [sys.executable, "-m", "hubctl", "plan", stack] + (["--cloud", cloud] if cloud else [])
        seconds = min(timed(command) for _ in range(2))  # best of two: the first warms the disk cache
        over += seconds > PLAN_TARGET_S
        label = f"{stack}-{cloud or 'kind'}"
        print(f"{label:<16}{seconds:>10.2f}  {'OK' if seconds <= PLAN_TARGET_S else 'OVER'}")
    if not args.skip_suite:
        seconds = timed([sys.executable, "-m", "pytest", "-n", "2", "-q"])
        over += seconds > SUITE_TARGET_S
        print(
            f"{'test suite':<16}{seconds:>10.2f}  target {SUITE_TARGET_S:.0f} s: "
            f"{'OK' if seconds <= SUITE_TARGET_S else 'OVER'}"
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
