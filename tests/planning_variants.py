"""Plans of a stack file with a few settings changed: the paths the committed stack files do not
take (an override of the gateway's row, MFA in dev, no edge in staging)."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from hubctl.plan import REPO_ROOT, Plan, run_plan


@functools.cache
def _variant(stack: str, cloud: str, changes: str) -> Plan:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = document.setdefault("config", {})
    for key, value in json.loads(changes).items():
        if value is None:
            config.pop(f"bakhmach-hub:{key}", None)
        else:
            config[f"bakhmach-hub:{key}"] = value
    path = Path(tempfile.mkdtemp(prefix="variant-")) / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return run_plan(stack, None if cloud == "kind" else cloud, stack_file=path)


def variant(stack: str, cloud: str, **changes: Any) -> Plan:
    """`stack` on `cloud` with top-level keys of its stack file replaced (None removes one);
    planned once per session per change."""
    return _variant(stack, cloud, json.dumps(changes, sort_keys=True))


def stack_config(stack: str, key: str) -> Any:
    return yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].get(f"bakhmach-hub:{key}")
