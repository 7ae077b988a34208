"""Kubernetes objects of a plan as manifests (for schema validation, checkov and review)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hubctl.plan import SECRET, Plan, PlannedResource

# Types under the kubernetes package that are not API objects themselves.
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:helm:", "kubernetes:yaml", "kubernetes:kustomize")


def is_kubernetes_object(resource: PlannedResource) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and not resource.type.startswith(_NOT_OBJECTS)
        and "kind" in resource.inputs
    )


def _unmask(doc: dict[str, Any]) -> dict[str, Any]:
    """A Secret whose whole payload is a Pulumi secret renders with an empty payload: the plan
    never holds the values, and a manifest must stay a valid object for schema checks."""
    if doc.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if doc.get(key) == SECRET:
                doc[key] = {}
    return doc


def manifests(plan: Plan) -> list[dict[str, Any]]:
    return [_unmask(dict(r.inputs)) for r in plan.resources if is_kubernetes_object(r)]


def _file_name(index: int, doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    parts = [doc.get("kind", "Object"), meta.get("namespace", "cluster"), meta.get("name", "unnamed")]
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", "-".join(str(p) for p in parts)).lower()
    return f"{index:03d}-{slug}.yaml"


def write_manifests(plan: Plan, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.yaml"):
        stale.unlink()
    written = []
    for index, doc in enumerate(manifests(plan)):
        path = out / _file_name(index, doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        written.append(path)
    return written
