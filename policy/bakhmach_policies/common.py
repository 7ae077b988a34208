"""Reading resource props the way the engine hands them over.

Props arrive wrapped by `pulumi_policy.proxy.unknown_checking_proxy`: mappings and sequences
are proxies (not dict/list), an unknown value raises `UnknownValueError` when read, and numbers
are floats. Every helper here accepts that shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .seed import CONTEXT_LABEL, ENVIRONMENT_LABEL, ENVIRONMENTS

# Every policy takes the stack's environment from the pack's config (policy/config/<env>.json).
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={"environment": {"type": "string", "enum": list(ENVIRONMENTS)}},
)


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """value[path0][path1]... or `default` where a step is missing."""
    for key in path:
        if isinstance(key, int):
            if not is_list(value) or key >= len(value):
                return default
            value = value[key]
        else:
            if not isinstance(value, Mapping) or key not in value:
                return default
            value = value[key]
        if value is None:
            return default
    return value


def peek(value: Any, *path: str | int, default: Any = None) -> Any:
    """`get`, but a value unknown before deployment reads as `default`: for matching resources to
    each other (names, ids), where an unknown value just means "no match by this route"."""
    try:
        return get(value, *path, default=default)
    except UnknownValueError:
        return default


def has_key(value: Any, key: str) -> bool:
    """Whether a mapping holds `key`, without reading its value: `key in props` reads it, and an
    unknown value (a computed id in a preview) would raise. Only the key matters to the caller."""
    return isinstance(value, Mapping) and any(k == key for k in value)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


def as_bool(value: Any) -> bool | None:
    """Booleans may arrive as strings (provider inputs) or real booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A mapping, also from a JSON string (provider inputs such as `defaultTags` are JSON)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(value: Any) -> float | None:
    """A Go duration ('10m', '1m30s', '600s') or a number of seconds, in seconds."""
    number = as_number(value)
    if number is not None:
        return number
    text = str(value or "")
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def version_tuple(value: Any) -> tuple[int, ...]:
    """'1.2' -> (1, 2); 'TLS1_2' / 'Tls12' / 'TLSv1.2' -> (1, 2)."""
    text = str(value or "")
    digits = re.findall(r"\d", text) if re.fullmatch(r"[A-Za-z]*1\d", text) else re.findall(r"\d+", text)
    return tuple(int(d) for d in digits)


# ---- quantities -----------------------------------------------------------------------------
_SUFFIX = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "m": 0.001,
}


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number in base units (cores for CPU, bytes for memory)."""
    number = as_number(value)
    if number is not None:
        return number
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value or ""))
    if not match or (match[2] and match[2] not in _SUFFIX):
        return None
    return float(match[1]) * (_SUFFIX[match[2]] if match[2] else 1)


# ---- Kubernetes objects ---------------------------------------------------------------------
# Types under the kubernetes package that are not API objects (their chart or files own labels).
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:helm:", "kubernetes:yaml", "kubernetes:kustomize")


def is_kubernetes_object(resource_type: str, props: Mapping[str, Any]) -> bool:
    return resource_type.startswith("kubernetes:") and not resource_type.startswith(_NOT_OBJECTS) and "kind" in props


def kind_of(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def group_of(resource_type: str) -> str:
    """'kubernetes:security.istio.io/v1:PeerAuthentication' -> 'security.istio.io'."""
    parts = resource_type.split(":")
    return parts[1].split("/")[0] if len(parts) == 3 else ""


# A Kubernetes object's name and namespace are strings and its labels a mapping; a plan may hold
# anything (a mapping where a name belongs). The accessors return only the right shape, so that a
# policy compares, hashes and joins what they return without breaking on a malformed object;
# `malformed_metadata` says what is wrong, and kubernetes-context-label reports it.


def labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    value = get(props, "metadata", "labels", default={})
    return value if isinstance(value, Mapping) else {}


def namespace(props: Mapping[str, Any]) -> str | None:
    value = get(props, "metadata", "namespace")
    return value if isinstance(value, str) else None


def name(props: Mapping[str, Any]) -> str | None:
    value = get(props, "metadata", "name")
    return value if isinstance(value, str) else None


def _known(value: Mapping[str, Any], key: str) -> Any:
    """value[key], or None when it is missing or unknown before deployment (a computed name is a
    string once known)."""
    try:
        return get(value, key)
    except UnknownValueError:
        return None


def malformed_metadata(props: Mapping[str, Any]) -> list[str]:
    """What in an object's metadata is not the shape Kubernetes requires: name and namespace
    strings, labels a mapping of strings (empty when all is well)."""
    metadata = _known(props, "metadata")
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        return ["metadata is not a mapping"]
    problems = []
    for key in ("name", "namespace"):
        value = _known(metadata, key)
        if value is not None and not isinstance(value, str):
            problems.append(f"metadata.{key} is not a string")
    found = _known(metadata, "labels")
    if found is not None and not isinstance(found, Mapping):
        problems.append("metadata.labels is not a mapping")
    elif found is not None:
        for key in found:
            value = _known(found, key)
            if value is not None and not isinstance(value, str):
                problems.append(f"label {key} is not a string")
    return problems


def object_ref(props: Mapping[str, Any]) -> str:
    ns = namespace(props)
    return f"{props.get('kind', 'object')} {ns + '/' if ns else ''}{name(props)}"


# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if not is_kubernetes_object(resource_type, props):
        return None
    path = POD_SPEC_PATHS.get(str(props.get("kind")))
    if path is None or not resource_type.endswith(":" + str(props.get("kind"))):
        return None
    spec = get(props, *path)
    return spec if isinstance(spec, Mapping) else None


def pod_template_labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    value = get(props, "spec", "template", "metadata", "labels", default={})
    return value if isinstance(value, Mapping) else {}


def containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        found.extend(c for c in items(spec.get(key)) if isinstance(c, Mapping))
    return found


def selector_matches(selector: Any, pod_labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a pod's labels."""
    if not isinstance(selector, Mapping):
        return False
    for key, value in (get(selector, "matchLabels", default={}) or {}).items():
        if pod_labels.get(key) != value:
            return False
    for expr in items(selector.get("matchExpressions")):
        key, op, values = expr.get("key"), expr.get("operator"), list(items(expr.get("values")))
        present = key in pod_labels
        if (
            (op == "In" and pod_labels.get(key) not in values)
            or (op == "NotIn" and pod_labels.get(key) in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return bool(get(selector, "matchLabels") or get(selector, "matchExpressions"))


# ---- the stack's environment ----------------------------------------------------------------


def _environment_of_props(props: Mapping[str, Any]) -> str | None:
    for value in (labels(props).get(ENVIRONMENT_LABEL), as_mapping(props.get("tags")).get("environment")):
        if value in ENVIRONMENTS:
            return str(value)
    return None


def resource_environment(args: ResourceValidationArgs) -> str | None:
    """The pack config's `environment`, else the resource's own environment label or tag."""
    configured = args.get_config().get("environment")
    if configured in ENVIRONMENTS:
        return str(configured)
    return _environment_of_props(args.props)


def stack_environment(args: StackValidationArgs) -> str | None:
    configured = args.get_config().get("environment")
    if configured in ENVIRONMENTS:
        return str(configured)
    seen = {env for r in args.resources if (env := _environment_of_props(r.props))}
    return seen.pop() if len(seen) == 1 else None


def context_of(props: Mapping[str, Any]) -> str | None:
    value = labels(props).get(CONTEXT_LABEL)
    return str(value) if value is not None else None


# ---- policy constructors --------------------------------------------------------------------
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]

# The environments each policy judges (the inventory, docs/POLICIES.md, shows them). A policy
# outside its environments is vacuous; within them, policy/config/<env>.json sets its level.
APPLIES_IN: dict[str, tuple[str, ...]] = {}


def _scope(name: str, environments: Iterable[str]) -> frozenset[str]:
    scope = frozenset(environments)
    unknown = scope - set(ENVIRONMENTS)
    if not scope or unknown:
        raise ValueError(f"policy {name}: environments {sorted(scope)} (allowed: {', '.join(ENVIRONMENTS)})")
    APPLIES_IN[name] = tuple(e for e in ENVIRONMENTS if e in scope)
    return scope


def resource_policy(
    name: str,
    description: str,
    check: ResourceCheck,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    environments: Iterable[str] = ENVIRONMENTS,
) -> ResourceValidationPolicy:
    """A policy over one resource at a time. With `environments`, it judges only stacks of those
    environments (an unknown environment counts as outside them)."""
    scope = _scope(name, environments)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if scope != set(ENVIRONMENTS) and resource_environment(args) not in scope:
            return
        check(args, report)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level, config_schema=CONFIG_SCHEMA
    )


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    environments: Iterable[str] = ENVIRONMENTS,
    config_schema: PolicyConfigSchema = CONFIG_SCHEMA,
) -> StackValidationPolicy:
    """A policy over the whole stack (relations between resources); `environments` as above;
    `config_schema`: the pack config it reads beside `environment` (CONFIG_SCHEMA's properties)."""
    scope = _scope(name, environments)

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if scope != set(ENVIRONMENTS) and stack_environment(args) not in scope:
            return
        check(args, report)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level, config_schema=config_schema
    )


def cluster_of(resource: PolicyResource) -> str | None:
    """Which cluster a Kubernetes object goes to: its provider. A stack may drive several clusters
    (prod's primary and DR regions), and namespaces of the same name in each are different ones."""
    return resource.provider.urn if resource.provider is not None else None


def kubernetes_objects(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if is_kubernetes_object(r.resource_type, r.props)]


def depends_on(resource: PolicyResource, target: PolicyResource) -> bool:
    return target.urn in {d.urn for d in resource.dependencies}


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]
