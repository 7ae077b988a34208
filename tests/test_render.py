"""`hubctl render`: each Kubernetes object of a plan as a manifest a reviewer can read, in the
conventional key order, Secrets with their keys and a placeholder value (never a value)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from hubctl.cli import main
from hubctl.plan import SECRET, Plan
from hubctl.render import PLACEHOLDER, conventional_order, manifests
from tests.planning import planned


def test_every_manifest_starts_with_api_version_kind_and_metadata(any_plan: Plan) -> None:
    for doc in manifests(any_plan):
        assert list(doc)[:3] == ["apiVersion", "kind", "metadata"], doc.get("kind")
        assert next(iter(doc["metadata"])) == "name"


def test_the_rest_keeps_the_programs_order() -> None:
    doc = {
        "type": "Opaque",
        "stringData": {},
        "metadata": {"labels": {}, "name": "x"},
        "kind": "Secret",
        "apiVersion": "v1",
    }
    assert list(conventional_order(doc)) == ["apiVersion", "kind", "metadata", "type", "stringData"]
    assert list(conventional_order(doc)["metadata"]) == ["name", "labels"]


def test_cluster_prerequisites_come_first_whatever_the_registration_order() -> None:
    """The mocks register resources in an order their asynchronous outputs decide; the rendered
    files must not follow it: PriorityClasses, then CRDs, then Namespaces, then the rest in the
    plan's order."""
    plan = planned("dev", "kind")
    objects = [r for r in plan.resources if r.custom and r.inputs.get("kind")]
    reversed_plan = Plan(plan.project, plan.stack, plan.cloud, list(reversed(objects)), plan.outputs)
    kinds = [doc["kind"] for doc in manifests(reversed_plan)]
    first = ("PriorityClass", "CustomResourceDefinition", "Namespace")
    counts = [kinds.count(kind) for kind in first]
    assert all(counts), dict(zip(first, counts, strict=True))
    assert kinds[: sum(counts)] == [kind for kind, count in zip(first, counts, strict=True) for _ in range(count)]
    rest = [doc for doc in manifests(reversed_plan) if doc["kind"] not in first]
    assert rest == [doc for doc in reversed(manifests(plan)) if doc["kind"] not in first]


def test_secrets_render_their_keys_with_a_placeholder(any_plan: Plan) -> None:
    planned_secrets = [r.inputs for r in any_plan.resources if r.custom and r.inputs.get("kind") == "Secret"]
    rendered = [doc for doc in manifests(any_plan) if doc["kind"] == "Secret"]
    assert len(rendered) == len(planned_secrets) > 0
    for plan_doc, doc in zip(planned_secrets, rendered, strict=True):
        payload = plan_doc.get("stringData")
        if isinstance(payload, dict):
            assert doc["stringData"] == dict.fromkeys(payload, PLACEHOLDER)
        else:
            # Values still unknown in a preview (Azure Managed Redis' host and key): the whole
            # payload is one secret whose keys the plan cannot see, rendered empty.
            assert payload == SECRET and doc["stringData"] == {}
    # The data layer's connection Secrets say what a client needs to connect.
    keyed = {tuple(sorted(doc["stringData"])) for doc in rendered if doc["metadata"]["name"] == "data-postgres"}
    assert keyed == {("database", "host", "password", "port", "tls", "username")}


def test_a_secret_in_data_gets_a_base64_placeholder() -> None:
    plan = planned("dev", "kind")
    resource = next(r for r in plan.resources if r.inputs.get("kind") == "Secret")
    fake = Plan(plan.project, plan.stack, plan.cloud, [resource], plan.outputs)
    original = resource.inputs
    resource.inputs = {**original, "data": {"token": SECRET}, "stringData": SECRET}
    try:
        [doc] = manifests(fake)
    finally:
        resource.inputs = original
    assert base64.b64decode(doc["data"]["token"]).decode() == PLACEHOLDER
    assert doc["stringData"] == {}  # masked as a whole: no keys known, and still a valid object


def test_render_from_a_plan_file_writes_what_render_from_the_stack_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "dev.json"
    plan_file.write_text(planned("dev", "kind").dumps())
    assert main(["render", "--plan", str(plan_file), "--out", str(tmp_path / "a")]) == 0
    assert main(["render", "dev", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out.splitlines()
    count = len(manifests(planned("dev", "kind")))
    assert out == [f"stack dev, cloud kind: {count} manifests written to {tmp_path / d}" for d in ("a", "b")]

    def contents(d: str) -> list[dict]:
        return sorted((yaml.safe_load(p.read_text()) for p in (tmp_path / d).glob("*.yaml")), key=str)

    assert contents("a") == contents("b")
    # Files are numbered in the plan's order (what a fresh cluster needs first comes first: the
    # PriorityClasses, then the namespaces), and each starts with apiVersion and kind.
    in_order = [yaml.safe_load(p.read_text()) for p in sorted((tmp_path / "a").glob("*.yaml"))]
    assert in_order == manifests(planned("dev", "kind"))
    first = sorted((tmp_path / "a").glob("*.yaml"))[0].read_text().splitlines()
    assert first[:2] == ["apiVersion: scheduling.k8s.io/v1", "kind: PriorityClass"]
