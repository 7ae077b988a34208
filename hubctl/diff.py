"""`hubctl diff BASE.json HEAD.json`: what a change does to a stack, from two offline plans.

Resources are matched by URN. For a changed resource each differing input is listed by its path
(`spec.template.spec.containers[0].image`). Values that are secret never appear: the plan already
masks Pulumi secrets as "[secret]", and on top of that any input whose key names a credential
(password, token, key material, connection strings) or a Kubernetes Secret's data is shown as
"[secret]" — so a secret that a program forgot to mark still stays out of a PR comment.

The markdown form is for a sticky PR comment: a summary first, then per-resource details until the
text reaches `max_chars` (GitHub rejects comments over 65536 characters), then a note saying what
was left out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hubctl.plan import SECRET

DEFAULT_MAX_CHARS = 60000
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|private.?key|access.?key|api.?key|connection.?string|kubeconfig|credentials?)$",
    re.IGNORECASE,
)
_VALUE_WIDTH = 160


@dataclass(frozen=True)
class PropertyChange:
    path: str
    old: Any  # None with `kind` "add"
    new: Any  # None with `kind` "remove"
    kind: str  # "add" | "remove" | "update"


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    action: str  # "create" | "delete" | "update"
    changes: list[PropertyChange] = field(default_factory=list)


@dataclass
class PlanDiff:
    stack: str
    created: list[ResourceChange]
    deleted: list[ResourceChange]
    updated: list[ResourceChange]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.created or self.deleted or self.updated)


def _is_secret_path(path: str, kind: str | None) -> bool:
    last = re.split(r"[.\[]", path)[-1].rstrip("]")
    if _SECRET_KEY.search(last):
        return True
    return kind == "Secret" and (path.startswith("data") or path.startswith("stringData"))


def mask(value: Any, path: str = "", kind: str | None = None) -> Any:
    """A copy of `value` with every credential-like entry replaced by "[secret]"."""
    if path and _is_secret_path(path, kind):
        return SECRET
    if isinstance(value, Mapping):
        return {k: mask(v, f"{path}.{k}" if path else k, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, f"{path}[{i}]", kind) for i, v in enumerate(value)]
    return value


def _walk(old: Any, new: Any, path: str, out: list[PropertyChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(PropertyChange(sub, None, new[key], "add"))
            elif key not in new:
                out.append(PropertyChange(sub, old[key], None, "remove"))
            else:
                _walk(old[key], new[key], sub, out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(a, b, f"{path}[{i}]", out)
    elif old != new:
        out.append(PropertyChange(path, old, new, "update"))


def _resource_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    kind = (resource.get("inputs") or {}).get("kind")
    view: dict[str, Any] = {"inputs": mask(resource.get("inputs") or {}, "", kind)}
    # Options that change what the engine does with the resource.
    view["protect"] = bool(resource.get("protect"))
    view["provider"] = resource.get("provider")
    return view


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    before = {r["urn"]: r for r in base.get("resources", [])}
    after = {r["urn"]: r for r in head.get("resources", [])}
    created = [ResourceChange(u, after[u]["type"], after[u]["name"], "create") for u in after if u not in before]
    deleted = [ResourceChange(u, before[u]["type"], before[u]["name"], "delete") for u in before if u not in after]
    updated: list[ResourceChange] = []
    unchanged = 0
    for urn in (u for u in after if u in before):
        changes: list[PropertyChange] = []
        old_view, new_view = _resource_view(before[urn]), _resource_view(after[urn])
        _walk(old_view["inputs"], new_view["inputs"], "", changes)
        for option in ("protect", "provider"):
            if old_view[option] != new_view[option]:
                changes.append(PropertyChange(f"(option) {option}", old_view[option], new_view[option], "update"))
        if changes:
            updated.append(ResourceChange(urn, after[urn]["type"], after[urn]["name"], "update", changes))
        else:
            unchanged += 1
    return PlanDiff(str(head.get("stack") or base.get("stack")), created, deleted, updated, unchanged)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _change_line(change: PropertyChange) -> str:
    if change.kind == "add":
        return f"+ {change.path}: {_short(change.new)}"
    if change.kind == "remove":
        return f"- {change.path}: {_short(change.old)}"
    return f"~ {change.path}: {_short(change.old)} => {_short(change.new)}"


def counts(diff: PlanDiff) -> str:
    return (
        f"{len(diff.created)} to create, {len(diff.updated)} to update, {len(diff.deleted)} to delete, "
        f"{diff.unchanged} unchanged"
    )


def format_text(diff: PlanDiff) -> str:
    lines = [f"stack {diff.stack}: {counts(diff)}"]
    for mark, group in (("+", diff.created), ("-", diff.deleted), ("~", diff.updated)):
        for r in group:
            lines.append(f"{mark} {r.type}  {r.name}")
            lines += [f"    {_change_line(c)}" for c in r.changes]
    return "\n".join(lines)


def _summary_table(diff: PlanDiff) -> list[str]:
    per_type: dict[str, Counter[str]] = {}
    for group in (diff.created, diff.updated, diff.deleted):
        for r in group:
            per_type.setdefault(r.type, Counter())[r.action] += 1
    if not per_type:
        return []
    rows = ["| resource type | create | update | delete |", "|---|---:|---:|---:|"]
    for type_, c in sorted(per_type.items()):
        rows.append(f"| `{type_}` | {c['create'] or ''} | {c['update'] or ''} | {c['delete'] or ''} |")
    return rows


def format_markdown(diff: PlanDiff, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    head = [f"**{diff.stack}**: {counts(diff)}"]
    if diff.empty:
        return head[0] + " — no changes."
    head += ["", *_summary_table(diff)]
    text = "\n".join(head)
    # Room kept for the truncation note, so the result never passes max_chars.
    note_room = 200
    if len(text) > max_chars - note_room:
        text = text[: max_chars - note_room].rsplit("\n", 1)[0]
        return text + "\n\n_Summary truncated: the change is too large for one comment; see the job log._"
    shown = 0
    resources = [*diff.created, *diff.deleted, *diff.updated]
    for r in resources:
        mark = {"create": "+", "delete": "-", "update": "~"}[r.action]
        body = "\n".join(_change_line(c) for c in r.changes) if r.changes else f"{mark} {r.name}"
        block = (
            f"\n<details><summary>{mark} <code>{r.type}</code> {r.name}</summary>\n\n```diff\n{body}\n```\n</details>"
        )
        if len(text) + len(block) > max_chars - note_room:
            break
        text += block
        shown += 1
    if shown < len(resources):
        text += (
            f"\n\n_{len(resources) - shown} more changed resource(s) not shown: the comment stays under GitHub's "
            "65536-character limit. The full diff is in the job log (`hubctl diff`)._"
        )
    return text
