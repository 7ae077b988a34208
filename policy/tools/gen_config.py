"""Write policy/config/<environment>.json, the pack's config per environment (`config_for()`):
what `pulumi preview --policy-pack-config` and the offline run read. tests/test_policy_pack.py
fails while a committed file differs.

    .venv/bin/python policy/tools/gen_config.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "policy" / "config"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policy.bakhmach_policies import config_for  # noqa: E402
from policy.bakhmach_policies.seed import ENVIRONMENTS  # noqa: E402


def render(environment: str) -> str:
    return json.dumps(config_for(environment), indent=2) + "\n"


def main() -> None:
    for environment in ENVIRONMENTS:
        (CONFIG_DIR / f"{environment}.json").write_text(render(environment), encoding="utf-8")
    print(f"wrote policy/config/{{{','.join(ENVIRONMENTS)}}}.json")


if __name__ == "__main__":
    main()
