"""Read `Pulumi.yaml` and `Pulumi.<stack>.yaml` into the config map Pulumi would hand the program.

Values become strings (objects JSON-encoded), as the engine passes them. Secure values cannot be
decrypted offline, so each becomes a placeholder and its key is marked secret: the program sees a
secret, as it would under `pulumi up`, and the plan masks it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings.load import SettingsError
from settings.seed import CLOUDS

SECURE_PLACEHOLDER = "offline-placeholder-secret"
# Stacks made from the dev template (hubctl/ttl.py EPHEMERAL is the same rule).
DEV_TEMPLATE = re.compile(r"dev-[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?")


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    cloud: str
    values: dict[str, str]
    secret_keys: list[str]
    # The stack file as messages name it: `Pulumi.<stack>.yaml`, or the --stack-file path as given.
    source: str


def _available_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def read_stack_config(root: Path, stack: str, cloud: str | None = None, stack_file: Path | None = None) -> StackConfig:
    """`stack_file` replaces `Pulumi.<stack>.yaml` (to plan a proposed or a broken change)."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())["name"]
    path = stack_file or root / f"Pulumi.{stack}.yaml"
    if stack_file is None and not path.is_file() and DEV_TEMPLATE.fullmatch(stack):
        # A per-developer or per-PR stack (`dev-<name>`, scripts/dev-stack.sh) without a stack file
        # of its own is planned from the dev template, as its stack file is made from it.
        path = root / "Pulumi.dev.yaml"
    # Messages name the file as the user gave it (--stack-file), or the stack file by its name.
    shown = str(stack_file) if stack_file is not None else path.name
    if stack_file is not None and not path.is_file():
        raise SettingsError(f"no stack file {shown}")
    if not path.is_file():
        raise SettingsError(f"no stack file {shown} (allowed stacks: {', '.join(_available_stacks(root))})")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{shown}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise SettingsError(f"{shown} is not valid YAML: {problem}") from None
    except RecursionError:
        raise SettingsError(f"{shown}: nested too deeply to be a stack file") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise SettingsError(f"{shown}: expected a mapping with a 'config:' mapping")
    raw: dict[str, Any] = document.get("config") or {}
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise SettingsError(f"{shown}: config key {key!r} is not a string (allowed: 'key' or 'namespace:key')")
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full_key] = SECURE_PLACEHOLDER
            secret_keys.append(full_key)
        elif isinstance(value, str):
            values[full_key] = value
        else:
            try:
                values[full_key] = json.dumps(_reveal(value, secret_keys, full_key), allow_nan=False)
            except (TypeError, ValueError) as exc:
                # YAML has dates, sets, binary, non-string keys and .nan/.inf, which Pulumi's config
                # (strings and JSON) cannot carry.
                raise SettingsError(
                    f"{shown}: {full_key}: not a config value ({exc}; allowed: strings, finite numbers, "
                    "booleans, and lists and mappings of them with string keys)"
                ) from None
    cloud_key = f"{project}:cloud"
    if cloud is not None:
        if cloud not in CLOUDS:
            raise SettingsError(f"--cloud {cloud!r} is not a cloud (allowed: {', '.join(CLOUDS)})")
        values[cloud_key] = cloud
    return StackConfig(
        project=project,
        stack=stack,
        cloud=values.get(cloud_key, ""),
        values=values,
        secret_keys=secret_keys,
        source=shown,
    )


def _reveal(value: Any, secret_keys: list[str], key: str) -> Any:
    """Nested `secure:` values inside an object: placeholder, and the whole key becomes secret."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            if key not in secret_keys:
                secret_keys.append(key)
            return SECURE_PLACEHOLDER
        return {k: _reveal(v, secret_keys, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v, secret_keys, key) for v in value]
    return value
