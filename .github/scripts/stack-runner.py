"""Print the runner labels (JSON) of the runner that can reach a stack's cluster API.

The stack file decides, through `cloudCluster.<cloud>.apiAccess` (README.md, "The first run on a
fresh account"; docs/CI.md):
- dev (kind): the self-hosted runner beside the team's kind cluster, `bakhmach-kind`;
- `mode: hub`: a self-hosted runner in the hub network the stack peers with, `bakhmach-<stack>`;
- `mode: allowed-cidrs`: a runner whose egress leaves from a range listed in `apiAccess.cidrs`,
  e.g. a GitHub larger runner with static IPs, labelled `bakhmach-<stack>-egress`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def stack_runner(stack: str, root: Path = ROOT) -> list[str]:
    config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"]
    cloud = str(config["bakhmach-hub:cloud"])
    if cloud == "kind":
        return ["self-hosted", "bakhmach-kind"]
    mode = config["bakhmach-hub:cloudCluster"][cloud]["apiAccess"]["mode"]
    if mode == "hub":
        return ["self-hosted", f"bakhmach-{stack}"]
    return [f"bakhmach-{stack}-egress"]


if __name__ == "__main__":
    print(json.dumps(stack_runner(sys.argv[1])))
