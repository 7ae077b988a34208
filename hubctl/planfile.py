"""Reading a plan file: the one gate every command that consumes a plan goes through.

A plan is what `hubctl plan --json` writes, as `plan.schema.json` beside this file describes it,
plus the rules a JSON Schema cannot say: every URN names the plan's own stack, project, type and
name; parents, providers and dependencies point at resources of the plan; the outputs' cloud is
the plan's cloud. Anything else — a missing, unreadable, empty or truncated file, text that is not
JSON, JSON that is not a plan — is a `PlanFileError` whose message is one line naming the file and
what is wrong, so a CI step that wrote something else never passes as a plan.
"""

from __future__ import annotations

import functools
import json
import math
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_PATH = Path(__file__).resolve().parent / "plan.schema.json"
# Real plans nest about 12 levels deep (Helm values inside a Release); the commands that read a
# plan walk it recursively, so a bound keeps a hostile file from exhausting the stack.
MAX_DEPTH = 64
_WIDTH = 240


class InputError(Exception):
    """Bad input to a hubctl command (a file, an option): the CLI prints it and exits 2."""


class PlanFileError(InputError):
    """Not a plan. `str()` is one line: the file, then what is wrong."""


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _where(path: Any) -> str:
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "the document"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _too_deep(document: Any) -> bool:
    queue: deque[tuple[Any, int]] = deque([(document, 1)])
    while queue:
        value, depth = queue.popleft()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        queue.extend((child, depth + 1) for child in children)
    return False


def parse(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys. Raises ValueError with a short reason."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        # A string running to the end of the text, or an error at its very end: the text stops
        # before the JSON does, as a plan step killed half-way through writing would leave it.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise ValueError(f"not JSON: the text ends before the JSON does (truncated?): {exc.msg}") from None
        raise ValueError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"not a plan: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None


def _split_urn(urn: str) -> tuple[str, str, str, str]:
    """urn:pulumi:<stack>::<project>::<qualified type>::<name>"""
    stack, project, qualified, name = urn.removeprefix("urn:pulumi:").split("::", 3)
    return stack, project, qualified, name


def problems(document: Any) -> list[str]:
    """Everything that keeps `document` from being a plan, most telling first (empty: a plan)."""
    if not isinstance(document, dict):
        kind = "an array" if isinstance(document, list) else f"a JSON {type(document).__name__}"
        return [f"not a plan: the document is {kind}, not an object with project, stack, cloud, resources"]
    if _too_deep(document):
        return [f"not a plan: nested more than {MAX_DEPTH} levels deep"]
    errors = list(_validator().iter_errors(document))
    if errors:
        top = [e for e in errors if not e.absolute_path and e.validator in ("required", "additionalProperties")]
        if top:
            # The wrong kind of document altogether: say what a plan has and what this one has instead.
            missing = [key for key in schema()["required"] if key not in document]
            extra = [key for key in document if key not in schema()["properties"]]
            parts = [f"missing {', '.join(missing)}"] if missing else []
            parts += [f"unexpected {', '.join(extra)}"] if extra else []
            return [f"not a plan: {'; '.join(parts)} (a plan has {', '.join(schema()['required'])})"]
        first = best_match(errors)
        return [
            f"not a plan: {_where(error.absolute_path)}: {_schema_message(error)}"
            for error in [first, *(e for e in errors if e is not first)]
        ]
    return _relations(document)


def _schema_message(error: ValidationError) -> str:
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "additionalProperties":
        return error.message
    if error.validator == "pattern":
        return f"{_short(error.instance)} is not {_pattern_name(error)}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in schema_enum(error))
        return f"{_short(error.instance)} is not allowed (allowed: {allowed})"
    if error.validator == "type":
        return f"{_short(error.instance)} is not of type {error.validator_value}"
    if error.validator == "anyOf" and error.context:
        return f"{_short(error.instance)} is not a URN or null"
    return error.message


def schema_enum(error: ValidationError) -> list[Any]:
    value = error.validator_value
    return list(value) if isinstance(value, list) else []


def _pattern_name(error: ValidationError) -> str:
    ref = {
        "urn": "a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)",
        "type": "a type token (package:module:Type)",
    }
    last = error.absolute_path[-1] if error.absolute_path else None
    if last in ("urn", "parent", "provider") or isinstance(last, int):
        return ref["urn"]
    if last == "type":
        return ref["type"]
    return "a Pulumi name (letters, digits, '_', '.', '-')"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _relations(plan: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    stack, project = plan["stack"], plan["project"]
    root = f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
    urns: set[str] = set()
    for index, r in enumerate(plan["resources"]):
        at = f"resources[{index}]"
        urn_stack, urn_project, qualified, name = _split_urn(r["urn"])
        if (urn_stack, urn_project) != (stack, project):
            found.append(
                f"not a plan: {at}.urn belongs to stack {urn_stack!r} of project {urn_project!r}, "
                f"but the plan is stack {stack!r} of project {project!r}"
            )
        if qualified.rsplit("$", 1)[-1] != r["type"] or name != r["name"]:
            found.append(f"not a plan: {at}.urn {_short(r['urn'])} does not name its type and name")
        if r["urn"] in urns:
            found.append(f"not a plan: {at}.urn {_short(r['urn'])} appears twice")
        urns.add(r["urn"])
    for index, r in enumerate(plan["resources"]):
        at = f"resources[{index}]"
        if r["parent"] is not None and r["parent"] not in urns and r["parent"] != root:
            found.append(f"not a plan: {at}.parent {_short(r['parent'])} is not a resource of the plan")
        if r["provider"] is not None and r["provider"] not in urns:
            found.append(f"not a plan: {at}.provider {_short(r['provider'])} is not a resource of the plan")
        missing = [d for d in r["dependencies"] if d not in urns]
        if missing:
            found.append(f"not a plan: {at}.dependencies: {_short(missing[0])} is not a resource of the plan")
    if plan["outputs"]["cloud"] != plan["cloud"]:
        found.append(
            f"not a plan: outputs.cloud {plan['outputs']['cloud']!r} differs from the plan's cloud {plan['cloud']!r}"
        )
    return found


def load_plan(path: Path) -> dict[str, Any]:
    """The plan in `path`, or a `PlanFileError` naming the file and the first thing wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file (expected a plan written by `hubctl plan --json`)") from None
    except IsADirectoryError:
        raise PlanFileError(f"{path}: is a directory, not a plan file") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise PlanFileError(f"{path}: is empty (expected a plan written by `hubctl plan --json`)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{path}: not UTF-8 text (byte {exc.start}), so not JSON") from None
    try:
        document = parse(text)
    except ValueError as exc:
        raise PlanFileError(f"{path}: {_one_line(str(exc))}") from None
    found = problems(document)
    if found:
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        raise PlanFileError(f"{path}: {_one_line(found[0])}{more}")
    return document
