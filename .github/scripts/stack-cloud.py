"""Print the cloud a stack runs on (`bakhmach-hub:cloud` in Pulumi.<stack>.yaml): kind, aws or azure.

The workflows pick their cloud login steps from it, so a stack file's `cloud` alone decides which
credentials a deployment uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def stack_cloud(stack: str) -> str:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return str(config["bakhmach-hub:cloud"])


if __name__ == "__main__":
    print(stack_cloud(sys.argv[1]))
