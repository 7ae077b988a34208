"""The teams' SealedSecrets, as committed under `sealed-secrets/<namespace>/*.yaml`, read and checked.

A team seals a Secret for its own namespace with `kubeseal` and commits the SealedSecret in the
folder named after that namespace (docs/SECRETS.md). This module reads them all and refuses,
before anything registers, what the controller would refuse later or what would weaken the
tenant boundary: a file that is not a `bitnami.com/v1alpha1` SealedSecret, one whose namespace is
not its folder's, a folder that is no context namespace, a cluster-wide scope (it could be
unsealed in any namespace), a name Kubernetes would reject, or two with the same name.
Problems come back as (key, message) pairs, reported with every other settings problem by
settings/stack.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from settings.model import is_subdomain

SEALED_SECRETS_DIR = Path(__file__).resolve().parents[1] / "sealed-secrets"
API_VERSION = "bitnami.com/v1alpha1"
CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"


@dataclass(frozen=True)
class SealedSecretSpec:
    """One committed SealedSecret, as its team wrote it (the stack adds only its own labels)."""

    namespace: str
    name: str
    spec: dict[str, Any]
    source: str  # the file, relative to the repository, for messages
    api_version: str = API_VERSION
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _problems_of(doc: Any, folder: str, where: str) -> list[str]:
    if not isinstance(doc, dict):
        return ["not a YAML mapping"]
    problems = []
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "SealedSecret":
        problems.append(
            f"apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')} (allowed: {API_VERSION}/SealedSecret, "
            "what kubeseal writes)"
        )
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return [*problems, "no metadata (allowed: kubeseal's output, with metadata.name and metadata.namespace)"]
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str) or not is_subdomain(name):
        problems.append(f"metadata.name {name!r} is not a Kubernetes name (allowed: lowercase DNS subdomain)")
    if namespace != folder:
        problems.append(
            f"metadata.namespace {namespace!r} is not its folder's (allowed: {folder!r}; seal with "
            f"`kubeseal --namespace {folder}` and commit it under sealed-secrets/{folder}/)"
        )
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        problems.append("metadata.annotations must map strings to strings")
    elif annotations.get(CLUSTER_WIDE) == "true":
        problems.append(
            f"{CLUSTER_WIDE}: 'true' lets it be unsealed in any namespace (allowed: strict, the default, or "
            f"namespace-wide: `kubeseal --scope strict|namespace-wide`)"
        )
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        problems.append("metadata.labels must map strings to strings")
    spec = doc.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("encryptedData"), dict) or not spec["encryptedData"]:
        problems.append("spec.encryptedData is missing or empty (allowed: kubeseal's output)")
    else:
        template_ns = ((spec.get("template") or {}).get("metadata") or {}).get("namespace")
        if template_ns not in (None, folder):
            problems.append(f"spec.template.metadata.namespace {template_ns!r} is not {folder!r}")
    return problems


def load_sealed_secrets(
    namespaces: set[str], root: Path = SEALED_SECRETS_DIR
) -> tuple[tuple[SealedSecretSpec, ...], list[tuple[str, str]]]:
    """Every SealedSecret under `root`, and (key, message) for each problem; `namespaces` are the
    context namespaces a team may seal for."""
    found: list[SealedSecretSpec] = []
    problems: list[tuple[str, str]] = []
    if not root.is_dir():
        return (), []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.suffix not in (".yaml", ".yml"):
            continue
        where = str(path.relative_to(root.parent))
        folder = path.parent.name if path.parent != root else ""
        if folder not in namespaces:
            allowed = ", ".join(sorted(namespaces))
            problems.append((where, f"is not in a context namespace's folder (allowed: sealed-secrets/<{allowed}>/)"))
            continue
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append((where, f"cannot be read as YAML ({str(exc).splitlines()[0]})"))
            continue
        for index, doc in enumerate(docs):
            key = where if len(docs) == 1 else f"{where}[{index}]"
            doc_problems = _problems_of(doc, folder, key)
            if doc_problems:
                problems += [(key, p) for p in doc_problems]
                continue
            meta = doc["metadata"]
            ident = (folder, meta["name"])
            if ident in seen:
                problems.append((key, f"{folder}/{meta['name']} is also in {seen[ident]} (allowed: one of each name)"))
                continue
            seen[ident] = key
            found.append(
                SealedSecretSpec(
                    namespace=folder,
                    name=meta["name"],
                    spec=doc["spec"],
                    source=key,
                    labels=dict(meta.get("labels") or {}),
                    annotations=dict(meta.get("annotations") or {}),
                )
            )
    return tuple(found), problems
