"""The offline plan's contract: what `hubctl plan --json` writes, and that stacks never bleed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hubctl.cli import main
from hubctl.plan import REPO_ROOT, SECRET, Plan, plain
from hubctl.stackfile import SECURE_PLACEHOLDER
from tests.planning import planned

RESOURCE_KEYS = ["urn", "type", "name", "custom", "parent", "provider", "dependencies", "protect", "inputs"]


def test_plan_json_follows_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    done = subprocess.run(
        [sys.executable, "-m", "hubctl", "plan", "dev", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bakhmach:platform:ContextService  auth-service" in done.stdout
    plan = json.loads(out.read_text())
    # The output ends with the summary: stack, cloud and total, the count per type, the total again.
    types = Counter(r["type"] for r in plan["resources"])
    total = len(plan["resources"])
    assert done.stdout.splitlines()[-len(types) - 2 :] == [
        f"stack dev, cloud kind: {total} resources of {len(types)} types",
        *(f"  {count:4d}  {type_}" for type_, count in sorted(types.items())),
        f"  {total:4d}  in total (stack dev, cloud kind)",
    ]
    assert f"plan written to {out}" in done.stdout
    assert list(plan) == ["project", "stack", "cloud", "resources", "outputs"]
    assert (plan["project"], plan["stack"], plan["cloud"]) == ("bakhmach-hub", "dev", "kind")
    urns = {r["urn"] for r in plan["resources"]}
    for r in plan["resources"]:
        assert list(r) == RESOURCE_KEYS
        assert r["urn"].startswith("urn:pulumi:dev::bakhmach-hub::")
        assert r["parent"] is None or isinstance(r["parent"], str)
        assert all(dep in urns for dep in r["dependencies"])
        assert isinstance(r["protect"], bool)
    deployment = next(
        r
        for r in plan["resources"]
        if r["type"] == "kubernetes:apps/v1:Deployment" and r["inputs"]["metadata"]["name"] == "auth-service"
    )
    assert deployment["parent"].endswith(
        "bakhmach:platform:ContextService::" + deployment["inputs"]["metadata"]["name"]
    )
    assert deployment["provider"].endswith("pulumi:providers:kubernetes::dev-k8s")
    # camelCase wire names at every depth, integers as integers
    container = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert "readinessProbe" in container and "readiness_probe" not in container
    assert deployment["inputs"]["spec"]["replicas"] == 1 and isinstance(deployment["inputs"]["spec"]["replicas"], int)
    assert plan["outputs"]["environment"] == "dev"


def test_summary_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "prod", "--cloud", "azure", "--summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    plan = planned("prod", "azure")
    types = len({r.type for r in plan.resources})
    assert lines[0] == f"stack prod, cloud azure: {len(plan.resources)} resources of {types} types"
    assert lines[-1] == f"  {len(plan.resources):4d}  in total (stack prod, cloud azure)"
    assert not any(line.startswith("bakhmach:platform:Cluster  ") for line in lines)  # no tree


def test_secrets_are_masked_wherever_they_sit() -> None:
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    output = {"4dabf18193072939515e22adb298388d": "d0e6a833031e9bbcd3f4e8bde6ca49a4", "secret": True, "value": "x"}
    assert plain({"a": [wrapped, {"b": output}], "n": 3.0}) == {"a": [SECRET, {"b": SECRET}], "n": 3}
    # A secret mapping keeps its keys (which entries a Kubernetes Secret carries), never a value.
    whole = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": {"user": "u", "pass": "p"},
    }
    assert plain({"stringData": whole}) == {"stringData": {"user": SECRET, "pass": SECRET}}


def test_no_secret_value_reaches_any_plan(any_plan: Plan) -> None:
    text = any_plan.dumps()
    for value in (SECURE_PLACEHOLDER, "offline-password"):
        assert value not in text


def test_stacks_planned_in_one_process_do_not_bleed() -> None:
    dev, prod = planned("dev", "kind"), planned("prod", "aws")
    assert all(r.urn.startswith("urn:pulumi:dev::") for r in dev.resources)
    assert all(r.urn.startswith("urn:pulumi:prod::") for r in prod.resources)
    assert len({r.urn for r in dev.resources}) == len(dev.resources)
    from hubctl.plan import run_plan

    fresh = run_plan("dev")  # a third run after prod still sees only dev
    assert sorted(r.urn for r in fresh.resources) == sorted(r.urn for r in dev.resources)


def test_cloud_override_changes_only_the_cloud() -> None:
    aws, azure = planned("prod", "aws"), planned("prod", "azure")
    assert (aws.cloud, azure.cloud) == ("aws", "azure")
    assert aws.outputs["cloud"] == "aws" and azure.outputs["cloud"] == "azure"
