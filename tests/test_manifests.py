"""Every Kubernetes object of every stack validates against the official schemas.

Built-in kinds: kubernetes-validate in strict mode (unknown fields fail) for Kubernetes 1.28.0, the
seed's floor. Custom resources: the operators' CRD schemas in ../shared/crd-schemas (strict
JSON Schemas; `additionalProperties: false` catches a misplaced field), or in tests/crd-schemas where
the pinned operator's CRD is newer than the shared catalog (tests/crd-schemas/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from hubctl.plan import Plan
from hubctl.render import manifests, write_manifests
from settings import seed
from tests.planning import CRD_SCHEMAS

K8S_FLOOR = seed.KUBERNETES_FLOOR  # the seed's "Kubernetes 1.28+"
# Schemas of CRDs newer than the shared catalog, generated from the pinned charts' own CRDs.
LOCAL_CRD_SCHEMAS = Path(__file__).resolve().parent / "crd-schemas"


BUILTIN_GROUPS = {
    "",
    "apps",
    "autoscaling",
    "batch",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
}


def _is_builtin(doc: dict[str, Any]) -> bool:
    return doc["apiVersion"].rpartition("/")[0] in BUILTIN_GROUPS


def crd_schema(doc: dict[str, Any]) -> Path:
    group, _, version = doc["apiVersion"].rpartition("/")
    relative = Path(group) / f"{doc['kind'].lower()}_{version}.json"
    local = LOCAL_CRD_SCHEMAS / relative
    return local if local.exists() else CRD_SCHEMAS / relative


def test_every_builtin_object_is_valid_for_kubernetes_1_28(any_plan: Plan) -> None:
    failures = []
    for doc in manifests(any_plan):
        if not _is_builtin(doc):
            continue
        try:
            kubernetes_validate.validate(doc, K8S_FLOOR, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']} {doc['metadata'].get('name')}: {exc.message}")
    assert failures == []


def test_every_custom_resource_matches_its_operators_crd(any_plan: Plan) -> None:
    assert CRD_SCHEMAS.is_dir(), f"CRD schemas not found at {CRD_SCHEMAS} (set CRD_SCHEMAS)"
    checked, failures = 0, []
    for doc in manifests(any_plan):
        if _is_builtin(doc):
            continue
        schema_path = crd_schema(doc)
        if not schema_path.exists():
            failures.append(f"no CRD schema for {doc['apiVersion']} {doc['kind']} ({schema_path})")
            continue
        schema = json.loads(schema_path.read_text())
        for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
            failures.append(f"{doc['kind']} {doc['metadata'].get('name')}: {error.json_path}: {error.message}")
        checked += 1
    assert checked > 0
    assert failures == []


def test_render_writes_one_manifest_per_object(dev_plan: Plan, tmp_path: Path) -> None:
    written = write_manifests(dev_plan, tmp_path)
    assert len(written) == len(manifests(dev_plan)) > 50
    assert not any(doc["kind"] == "Release" for doc in manifests(dev_plan))


@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy"])
def test_objects_carry_their_context_label(any_plan: Plan, kind: str) -> None:
    for doc in manifests(any_plan):
        if doc["kind"] == kind:
            assert "bakhmach.io/context" in doc["metadata"]["labels"]


def test_strict_validation_catches_a_misspelt_field(dev_plan: Plan) -> None:
    doc = next(d for d in manifests(dev_plan) if d["kind"] == "Deployment")
    broken = {**doc, "spec": {**doc["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_FLOOR, strict=True)
