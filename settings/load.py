"""Build `StackSettings` from the stack's Pulumi config, or fail with a message a person can act on.

This is the only place that reads `pulumi.Config`. Every key of the project's namespace is read
(not just the known ones), so a misspelt key in a stack file is an error, not a silent default.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from settings.model import StackSettings

PROJECT = "bakhmach-hub"


class SettingsError(pulumi.RunError):
    """A bad stack setting. A RunError: Pulumi prints the message without a traceback."""


def project_config(project: str = PROJECT) -> dict[str, Any]:
    """The project's config as `{key: value}`, JSON values decoded (as the stack file wrote them)."""
    prefix = f"{project}:"
    values: dict[str, Any] = {}
    # Under `pulumi up` the language host passes the config in the PULUMI_CONFIG environment
    # variable; mocks and the automation API set it in the runtime's context. Read both.
    merged = {**(runtime_config.get_config_env() or {}), **runtime_config.CONFIG.get()}
    for full_key, raw in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        # Pulumi hands objects and lists over JSON-encoded and scalars as plain strings; a
        # scalar is never decoded, so "1.30" stays the string it was written as.
        if isinstance(raw, str) and raw[:1] in ("{", "["):
            try:
                values[key] = json.loads(raw)
                continue
            except json.JSONDecodeError:
                pass
        values[key] = raw
    return values


def load_settings(values: dict[str, Any] | None = None, *, source: str | None = None) -> StackSettings:
    """Validate the stack's config. `source` names the stack file in messages."""
    if values is None:
        values = project_config()
        source = source or f"Pulumi.{pulumi.get_stack()}.yaml"
    try:
        return StackSettings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(describe(exc, source or "stack settings")) from None


def describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid stack settings in {source}:"]
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not key:  # a rule across keys names its key first: "cloud: ..."
            key, _, message = message.partition(": ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the settings reference in README.md)"
        elif error["type"] == "missing":
            message = "required key is missing"
        shown = error.get("input")
        quiet = error["type"] == "missing" or isinstance(shown, dict) or repr(shown) in message
        got = "" if quiet else f" (got {shown!r})"
        lines.append(f"  {PROJECT}:{key}: {message}{got}")
    return "\n".join(lines)
