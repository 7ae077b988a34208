"""Kubernetes objects of a plan as manifests (for schema validation, checkov and review)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import yaml

from hubctl.plan import SECRET, Plan, PlannedResource

# Types under the kubernetes package that are not API objects themselves.
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:helm:", "kubernetes:yaml", "kubernetes:kustomize")
# Where a manifest's keys go, as `kubectl get -o yaml` and every Kubernetes document writes them.
_FIRST_KEYS = ("apiVersion", "kind", "metadata")
_FIRST_METADATA_KEYS = ("name", "namespace", "labels", "annotations")
# What a rendered Secret carries instead of a value the plan never holds: the key is real (the
# program's), the value a marker that no one can mistake for a credential.
PLACEHOLDER = "[secret: set by the stack at deploy time]"
_PLACEHOLDER_BASE64 = base64.b64encode(PLACEHOLDER.encode()).decode()


def is_kubernetes_object(resource: PlannedResource) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and not resource.type.startswith(_NOT_OBJECTS)
        and "kind" in resource.inputs
    )


def _placeholders(doc: dict[str, Any]) -> dict[str, Any]:
    """A Secret's masked values become the placeholder (base64 in `data`); a payload masked as a
    whole, whose keys the plan does not know, renders empty, so the manifest stays a valid object."""
    if doc.get("kind") != "Secret":
        return doc
    for key, placeholder in (("data", _PLACEHOLDER_BASE64), ("stringData", PLACEHOLDER)):
        payload = doc.get(key)
        if payload == SECRET:
            doc[key] = {}
        elif isinstance(payload, dict):
            doc[key] = {k: placeholder if v == SECRET else v for k, v in payload.items()}
    return doc


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    first = {key: mapping[key] for key in keys if key in mapping}
    return first | {key: value for key, value in mapping.items() if key not in first}


def conventional_order(doc: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata (name, namespace, labels, annotations first), then the rest as
    the program wrote them."""
    ordered = _first(doc, _FIRST_KEYS)
    if isinstance(ordered.get("metadata"), dict):
        ordered["metadata"] = _first(ordered["metadata"], _FIRST_METADATA_KEYS)
    return ordered


# What a fresh cluster needs before anything that lives in or refers to it, in Helm's install
# order; every other kind keeps the plan's order after these. The plan's order alone is the order
# the program registered resources in, which under the mocks' asynchronous outputs can vary from
# run to run, so the files' numbering would too.
_INSTALL_FIRST = ("PriorityClass", "CustomResourceDefinition", "Namespace")


def _install_rank(doc: dict[str, Any]) -> int:
    kind = doc.get("kind")
    return _INSTALL_FIRST.index(kind) if kind in _INSTALL_FIRST else len(_INSTALL_FIRST)


def manifests(plan: Plan) -> list[dict[str, Any]]:
    docs = [conventional_order(_placeholders(dict(r.inputs))) for r in plan.resources if is_kubernetes_object(r)]
    return sorted(docs, key=_install_rank)


def _file_name(index: int, doc: dict[str, Any]) -> str:
    meta = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    parts = [doc.get("kind", "Object"), meta.get("namespace", "cluster"), meta.get("name", "unnamed")]
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", "-".join(str(p) for p in parts)).lower()[:120]
    return f"{index:03d}-{slug}.yaml"


def write_manifests(plan: Plan, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.yaml"):
        stale.unlink()
    written = []
    for index, doc in enumerate(manifests(plan)):
        path = out / _file_name(index, doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(path)
    return written
