"""`hubctl diff BASE.json HEAD.json`: what a change does to a stack, from two offline plans.

Resources are matched by URN. A resource that leaves one URN and reappears under another with the
same type and name (its parent changed) is a replacement: without an alias the engine deletes the
old one and creates the new. Which input changes make a provider replace a resource in place is
known only to the provider, so only `pulumi preview` can say that; the offline diff lists those as
updates, and puts updates of protected or stateful resources first among them.

Values that are secret never appear: the plan already masks Pulumi secrets as "[secret]", and on
top of that any input whose key names a credential (password, token, key material, connection
strings) or a Kubernetes Secret's data is shown as "[secret]" — so a secret that a program forgot
to mark still stays out of a PR comment.

The markdown form is for a sticky PR comment (GitHub rejects comments over 65,536 characters):
counts and a per-type table first, then the changes most worth a reviewer's time — deletions and
replacements of protected or stateful resources, other deletions and replacements, updates of
protected or stateful resources, other updates, creations — each created or deleted resource with
the few inputs that say what it is, each update with its field-level changes, until `max_chars`;
then a note of what was left out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubctl.plan import SECRET

DEFAULT_MAX_CHARS = 60000
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|private.?key|access.?key|api.?key|connection.?string|kubeconfig|credentials?)$",
    re.IGNORECASE,
)
_VALUE_WIDTH = 160
_HIGHLIGHT_WIDTH = 60
_MAX_HIGHLIGHTS = 6
_MAX_CHANGES_SHOWN = 25

# What losing or recreating a resource of these types costs, beyond a short outage: data,
# generated credentials that every consumer holds, a whole cluster, or everything in a namespace.
_STATEFUL: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"^aws:(rds|elasticache|msk|memorydb|dynamodb|efs|docdb)/", "data"),
        (r"^aws:s3/bucket(V2)?:", "data"),
        (r"^aws:(kms|secretsmanager)/", "keys and secrets"),
        (r"^aws:eks/cluster:", "cluster"),
        (r"^azure-native:(dbforpostgresql|redisenterprise|cache|documentdb|cosmosdb):", "data"),
        (r"^azure-native:storage:(StorageAccount|BlobContainer):", "data"),
        (r"^azure-native:keyvault:", "keys and secrets"),
        (r"^azure-native:containerservice:ManagedCluster$", "cluster"),
        (r"^random:index/random(Password|String):", "generated credential"),
        (r"^kubernetes:core/v1:(PersistentVolumeClaim|PersistentVolume):?", "data"),
        (r"^kubernetes:core/v1:Namespace$", "namespace and everything in it"),
        (r"^kubernetes:apps/v1:StatefulSet$", "data"),
        (
            r"^kubernetes:(postgresql\.cnpg\.io|psmdb\.percona\.com|mongodbcommunity\.mongodb\.com"
            r"|kafka\.strimzi\.io|redis\.redis\.opstreelabs\.in)/",
            "data",
        ),
    )
)

# The inputs that say what a created or deleted resource is, in the order a reviewer reads them,
# matched against the end of an input's path (list indices dropped).
_HIGHLIGHTS = (
    "metadata.namespace",
    "chart",
    "version",
    "image",
    "replicas",
    "instances",
    "engine",
    "engineVersion",
    "kafkaVersion",
    "kubernetesVersion",
    "instanceClass",
    "nodeType",
    "vmSize",
    "instanceTypes",
    "sku.name",
    "numberOfBrokerNodes",
    "numNodeGroups",
    "replicasPerNodeGroup",
    "scalingConfig.minSize",
    "scalingConfig.maxSize",
    "minCount",
    "maxCount",
    "allocatedStorage",
    "storageSizeGB",
    "multiAz",
    "highAvailability.mode",
    "location",
    "region",
    "cidrBlock",
    "addressPrefix",
    "publiclyAccessible",
    "publicNetworkAccess",
    "deletionProtection",
    "storageEncrypted",
    "backupRetentionPeriod",
    "retentionInDays",
    "spec.type",
)
# Inputs never worth a highlight: labels and tags repeat the stack, Helm values are shown in updates.
_NO_HIGHLIGHT = re.compile(r"^(metadata\.(labels|annotations)|tags|defaultTags|values)(\.|$)")


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
    action: str  # "create" | "delete" | "update" | "replace"
    changes: list[PropertyChange] = field(default_factory=list)
    protected: bool = False
    # Why losing this resource costs more than an outage ("data", "cluster", …), or "".
    stateful: str = ""
    # For created, deleted and replaced resources: (input path, masked value) a reviewer reads first.
    highlights: list[tuple[str, Any]] = field(default_factory=list)
    old_urn: str | None = None  # replace only

    @property
    def weighty(self) -> bool:
        return self.protected or bool(self.stateful)


@dataclass
class PlanDiff:
    stack: str
    created: list[ResourceChange]
    deleted: list[ResourceChange]
    updated: list[ResourceChange]
    unchanged: int
    replaced: list[ResourceChange] = field(default_factory=list)
    base_cloud: str | None = None
    head_cloud: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.created or self.deleted or self.updated or self.replaced)

    @property
    def cloud(self) -> str:
        if self.base_cloud and self.head_cloud and self.base_cloud != self.head_cloud:
            return f"{self.base_cloud} → {self.head_cloud}"
        return str(self.head_cloud or self.base_cloud or "")


def cross_stack(base: Mapping[str, Any], head: Mapping[str, Any]) -> str | None:
    """Why two plans are not two states of one stack, or None when they are."""
    old = (base.get("project"), base.get("stack"))
    new = (head.get("project"), head.get("stack"))
    if old == new:
        return None
    return f"the base is stack {old[1]!r} of project {old[0]!r}, the head stack {new[1]!r} of project {new[0]!r}"


def stateful_reason(type_: str) -> str:
    return next((reason for pattern, reason in _STATEFUL if pattern.search(type_)), "")


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
        return {k: mask(v, f"{path}.{k}" if path else str(k), kind) for k, v in value.items()}
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


def _kind(resource: Mapping[str, Any]) -> str | None:
    kind = (resource.get("inputs") or {}).get("kind")
    return kind if isinstance(kind, str) else None


def _masked_inputs(resource: Mapping[str, Any]) -> Any:
    return mask(resource.get("inputs") or {}, "", _kind(resource))


def _leaves(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(path without list indices, value) of every scalar, and of every list of scalars."""
    if isinstance(value, Mapping) and depth < 8:
        for key, sub in value.items():
            yield from _leaves(sub, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list) and depth < 8:
        if value and all(not isinstance(v, Mapping | list) for v in value):
            yield path, value
        else:
            for sub in value:
                yield from _leaves(sub, path, depth + 1)
    else:
        yield path, value


def highlights(resource: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The few inputs that say what a resource is (secrets masked), in `_HIGHLIGHTS` order."""
    inputs = _masked_inputs(resource)
    found: dict[str, Any] = {}
    for path, value in _leaves(inputs):
        if not path or _NO_HIGHLIGHT.search(path):
            continue
        for wanted in _HIGHLIGHTS:
            if (path == wanted or path.endswith("." + wanted)) and wanted not in found:
                found[wanted] = value
                break
    shown = [(wanted, found[wanted]) for wanted in _HIGHLIGHTS if wanted in found]
    if _kind(resource) in ("Secret", "ConfigMap"):
        # Key names only (masking hides a Secret's whole payload): which entries it carries.
        raw = resource.get("inputs") or {}
        keys = sorted(
            {str(k) for part in ("data", "stringData") if isinstance(raw.get(part), Mapping) for k in raw[part]}
        )
        if keys:
            shown.append(("keys", keys))
    return shown[:_MAX_HIGHLIGHTS]


def _change(action: str, resource: Mapping[str, Any], **extra: Any) -> ResourceChange:
    type_ = str(resource.get("type"))
    return ResourceChange(
        urn=str(resource.get("urn")),
        type=type_,
        name=str(resource.get("name")),
        action=action,
        protected=bool(resource.get("protect")),
        stateful=stateful_reason(type_),
        **extra,
    )


def _property_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[PropertyChange]:
    changes: list[PropertyChange] = []
    _walk(_masked_inputs(old), _masked_inputs(new), "", changes)
    for option in ("protect", "provider"):
        before, after = old.get(option), new.get(option)
        if option == "protect":
            before, after = bool(before), bool(after)
        if before != after:
            changes.append(PropertyChange(f"(option) {option}", before, after, "update"))
    return changes


def diff_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    before = {r["urn"]: r for r in base.get("resources", [])}
    after = {r["urn"]: r for r in head.get("resources", [])}
    gone = [u for u in before if u not in after]
    new = [u for u in after if u not in before]

    # Same stack, type and name under another URN: a replacement, when the match is unambiguous.
    def identity(resource: Mapping[str, Any]) -> tuple[str, str, str]:
        stack_and_project = str(resource.get("urn")).split("::", 2)[:2]
        return "::".join(stack_and_project), str(resource.get("type")), str(resource.get("name"))

    gone_ids = Counter(identity(before[u]) for u in gone)
    new_ids = Counter(identity(after[u]) for u in new)
    moved = {i for i in gone_ids if gone_ids[i] == 1 and new_ids.get(i) == 1}
    replaced: list[ResourceChange] = []
    for urn in new:
        if identity(after[urn]) in moved:
            (old_urn,) = [u for u in gone if identity(before[u]) == identity(after[urn])]
            old, now = before[old_urn], after[urn]
            changes = [PropertyChange("(urn)", old_urn, urn, "update"), *_property_changes(old, now)]
            change = _change("replace", now, changes=changes, highlights=highlights(now), old_urn=old_urn)
            change.protected = change.protected or bool(old.get("protect"))
            replaced.append(change)
    created = [
        _change("create", after[u], highlights=highlights(after[u])) for u in new if identity(after[u]) not in moved
    ]
    deleted = [
        _change("delete", before[u], highlights=highlights(before[u])) for u in gone if identity(before[u]) not in moved
    ]
    updated: list[ResourceChange] = []
    unchanged = 0
    for urn in (u for u in after if u in before):
        changes = _property_changes(before[urn], after[urn])
        if changes:
            change = _change("update", after[urn], changes=changes)
            change.protected = change.protected or bool(before[urn].get("protect"))
            updated.append(change)
        else:
            unchanged += 1
    return PlanDiff(
        stack=str(head.get("stack") or base.get("stack")),
        created=created,
        deleted=deleted,
        updated=updated,
        unchanged=unchanged,
        replaced=replaced,
        base_cloud=base.get("cloud"),
        head_cloud=head.get("cloud"),
    )


# ---- text -------------------------------------------------------------------------------------


def _short(value: Any, width: int = _VALUE_WIDTH) -> str:
    if isinstance(value, str) and value.isprintable():
        text = value
    else:
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _change_line(change: PropertyChange) -> str:
    if change.kind == "add":
        return f"+ {_short(change.path)}: {_short(change.new)}"
    if change.kind == "remove":
        return f"- {_short(change.path)}: {_short(change.old)}"
    return f"~ {_short(change.path)}: {_short(change.old)} => {_short(change.new)}"


def counts(diff: PlanDiff) -> str:
    return (
        f"{len(diff.created)} to create, {len(diff.updated)} to update, {len(diff.replaced)} to replace, "
        f"{len(diff.deleted)} to delete, {diff.unchanged} unchanged"
    )


def headline(diff: PlanDiff) -> str:
    return f"stack {diff.stack}, cloud {diff.cloud or 'unknown'}: {counts(diff)}"


def _marks(r: ResourceChange) -> str:
    marks = []
    if r.protected:
        marks.append("protected")
    if r.stateful:
        marks.append(r.stateful)
    return f" [{', '.join(marks)}]" if marks else ""


def ordered(diff: PlanDiff) -> list[tuple[str, list[ResourceChange]]]:
    """The changes in the order a reviewer should read them, as (section title, resources)."""
    removals = [*diff.deleted, *diff.replaced]
    return [
        ("Deleted or replaced: protected or stateful", [r for r in removals if r.weighty]),
        ("Deleted or replaced", [r for r in removals if not r.weighty]),
        ("Updated: protected or stateful", [r for r in diff.updated if r.weighty]),
        ("Updated", [r for r in diff.updated if not r.weighty]),
        ("Created", diff.created),
    ]


def _warnings(diff: PlanDiff) -> list[str]:
    warnings = []
    if diff.base_cloud and diff.head_cloud and diff.base_cloud != diff.head_cloud:
        warnings.append(
            f"the cloud changes from {diff.base_cloud} to {diff.head_cloud}: every cloud resource is replaced"
        )
    weighty = [r for r in (*diff.deleted, *diff.replaced) if r.weighty]
    if weighty:
        warnings.append(f"{len(weighty)} protected or stateful resource(s) deleted or replaced (listed first)")
    return warnings


_MARK = {"create": "+", "delete": "-", "update": "~", "replace": "±"}
_PAST = {"create": "created", "delete": "deleted", "update": "updated", "replace": "replaced"}


def format_text(diff: PlanDiff) -> str:
    lines = [headline(diff)]
    lines += [f"WARNING: {w}" for w in _warnings(diff)]
    for title, group in ordered(diff):
        if not group:
            continue
        lines += ["", f"{title} ({len(group)}):"]
        for r in group:
            lines.append(f"{_MARK[r.action]} {r.type}  {_short(r.name)}{_marks(r)}")
            if r.action in ("create", "delete") and r.highlights:
                lines.append("    " + ", ".join(f"{path}={_short(v, _HIGHLIGHT_WIDTH)}" for path, v in r.highlights))
            lines += [f"    {_change_line(c)}" for c in r.changes]
    return "\n".join(lines)


# ---- markdown -----------------------------------------------------------------------------------


def _code(text: str) -> str:
    """`text` as a markdown code span, whatever backticks or line breaks it holds."""
    text = " ".join(str(text).split())
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fence(body: str) -> tuple[str, str]:
    run = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (run + 1)
    return f"{fence}diff", fence


def _summary_table(diff: PlanDiff) -> list[str]:
    per_type: dict[str, Counter[str]] = {}
    for group in (diff.created, diff.updated, diff.replaced, diff.deleted):
        for r in group:
            per_type.setdefault(r.type, Counter())[r.action] += 1
    if not per_type:
        return []
    rows = ["| resource type | create | update | replace | delete |", "|---|---:|---:|---:|---:|"]
    for type_, c in sorted(per_type.items()):
        cells = " | ".join(str(c[a] or "") for a in ("create", "update", "replace", "delete"))
        rows.append(f"| {_code(type_)} | {cells} |")
    return rows


def _listed(r: ResourceChange) -> str:
    """One markdown list line for a created, deleted or replaced resource."""
    line = f"- {_MARK[r.action]} {_code(r.type)} {_code(r.name)}{_marks(r)}"
    if r.highlights:
        line += " — " + ", ".join(f"{path} {_code(_short(v, _HIGHLIGHT_WIDTH))}" for path, v in r.highlights)
    if r.action == "replace" and r.old_urn:
        line += f" (was {_code(r.old_urn)})"
    return line


def _update_lines(r: ResourceChange) -> list[str]:
    lines = [f"{_MARK[r.action]} {r.type}  {_short(r.name)}{_marks(r)}"]
    shown = r.changes[:_MAX_CHANGES_SHOWN]
    lines += [f"    {_change_line(c)}" for c in shown]
    if len(r.changes) > len(shown):
        lines.append(f"    … and {len(r.changes) - len(shown)} more change(s)")
    return lines


def format_markdown(diff: PlanDiff, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    head = [f"**{diff.stack}** ({diff.cloud or 'unknown'}): {counts(diff)}"]
    if diff.empty:
        return head[0] + " — no changes."
    head += [f"\n> ⚠️ {w}" for w in _warnings(diff)]
    head += ["", *_summary_table(diff)]
    text = "\n".join(head)
    # Room kept for the truncation note, so the result never passes max_chars.
    note_room = 300
    budget = max_chars - note_room
    if len(text) > budget:
        text = text[:budget].rsplit("\n", 1)[0]
        return text + "\n\n_Summary truncated: the change is too large for one comment; see the job log._"
    left_out: Counter[str] = Counter()
    for title, group in ordered(diff):
        if not group:
            continue
        header = f"\n\n#### {title} ({len(group)})\n\n"
        updates = group[0].action == "update"
        items = [_update_lines(r) if updates else [_listed(r)] for r in group]
        opening, closing = _fence("\n".join(line for item in items for line in item)) if updates else ("", "")
        frame = len(header) + (len(opening) + len(closing) + 2 if updates else 0)
        taken: list[str] = []
        size = len(text) + frame
        for r, item in zip(group, items, strict=True):
            item_size = sum(len(line) + 1 for line in item)
            if left_out or size + item_size > budget:
                left_out[r.action] += 1
                continue
            taken += item
            size += item_size
        if taken:
            body = "\n".join(taken)
            text += header + (f"{opening}\n{body}\n{closing}" if updates else body)
    if left_out:
        what = ", ".join(f"{n} {_PAST[action]}" for action, n in left_out.items())
        text += (
            f"\n\n_{sum(left_out.values())} more changed resource(s) not shown ({what}): the comment stays "
            "under GitHub's 65,536-character limit. The full diff is in the job log (`hubctl diff`)._"
        )
    return text
