"""`hubctl diff`: what a pull request changes in a stack, with secrets kept out of the comment."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hubctl.diff import diff_plans, format_markdown, format_text, mask
from hubctl.plan import REPO_ROOT, SECRET
from tests.planning import planned


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"project": "bakhmach-hub", "stack": "prod", "cloud": "aws", "resources": list(resources), "outputs": {}}


def entry(
    name: str, inputs: dict[str, Any], type_: str = "kubernetes:core/v1:ConfigMap", **extra: Any
) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:prod::bakhmach-hub::{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": True,
        "parent": None,
        "provider": None,
        "dependencies": [],
        "protect": False,
        "inputs": inputs,
    } | extra


def test_added_removed_and_changed_resources_with_property_paths() -> None:
    base = plan(entry("kept", {"data": {"a": "1"}}), entry("gone", {"x": 1}), entry("same", {"y": [1, 2]}))
    head = plan(
        entry("kept", {"data": {"a": "2", "b": "new"}}, protect=True),
        entry("new", {"x": 2}),
        entry("same", {"y": [1, 2]}),
    )
    diff = diff_plans(base, head)
    assert [r.name for r in diff.created] == ["new"]
    assert [r.name for r in diff.deleted] == ["gone"]
    assert [r.name for r in diff.updated] == ["kept"]
    assert diff.unchanged == 1
    changes = {(c.path, c.kind, c.old, c.new) for c in diff.updated[0].changes}
    assert changes == {
        ("data.a", "update", "1", "2"),
        ("data.b", "add", None, "new"),
        ("(option) protect", "update", False, True),
    }
    text = format_text(diff)
    assert text.startswith("stack prod, cloud aws: 1 to create, 1 to update, 0 to replace, 1 to delete, 1 unchanged")
    assert "    ~ data.a: 1 => 2" in text


def test_list_items_are_compared_by_position() -> None:
    base = plan(entry("d", {"spec": {"containers": [{"image": "api:1.0.0"}]}}))
    head = plan(entry("d", {"spec": {"containers": [{"image": "api:1.1.0"}]}}))
    [change] = diff_plans(base, head).updated[0].changes
    assert change.path == "spec.containers[0].image"


def test_secrets_never_reach_the_output() -> None:
    base = plan(
        entry("db", {"password": "[secret]", "masterPassword": "hunter2", "port": 5432}, "aws:rds/instance:Instance"),
        entry(
            "creds",
            {"kind": "Secret", "stringData": {"user": "app", "pass": "plain-text"}},
            "kubernetes:core/v1:Secret",
        ),
    )
    head = copy.deepcopy(base)
    head["resources"][0]["inputs"] |= {"masterPassword": "correct-horse", "port": 5433}
    head["resources"][1]["inputs"]["stringData"]["pass"] = "other-plain-text"
    diff = diff_plans(base, head)
    rendered = format_text(diff) + format_markdown(diff)
    for leaked in ("hunter2", "correct-horse", "plain-text"):
        assert leaked not in rendered
    # A changed unmarked credential is masked on both sides, so only the port shows as changed.
    assert [c.path for r in diff.updated for c in r.changes] == ["port"]


def test_mask_keeps_ordinary_values() -> None:
    masked = mask({"tokenTtl": 3600, "apiKey": "k", "data": {"ca.crt": "x"}}, "", "ConfigMap")
    assert masked == {"tokenTtl": 3600, "apiKey": SECRET, "data": {"ca.crt": "x"}}


def test_markdown_of_a_large_change_stays_under_githubs_limit() -> None:
    base = plan(*(entry(f"cm-{i}", {"data": {"value": "a" * 100}}) for i in range(3000)))
    head = plan(*(entry(f"cm-{i}", {"data": {"value": "b" * 100}}) for i in range(3000)), entry("extra", {}))
    markdown = format_markdown(diff_plans(base, head))
    assert len(markdown) < 65536
    assert markdown.startswith("**prod** (aws): 1 to create, 3000 to update, 0 to replace, 0 to delete, 0 unchanged")
    assert "| `kubernetes:core/v1:ConfigMap` | 1 | 3000 |  |  |" in markdown
    assert "more changed resource(s) not shown" in markdown
    small = format_markdown(diff_plans(base, head), max_chars=5000)
    assert len(small) <= 5000


def test_no_change_is_said_in_one_line() -> None:
    same = plan(entry("a", {"x": 1}))
    assert (
        format_markdown(diff_plans(same, same))
        == "**prod** (aws): 0 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged — no changes."
    )


def test_diff_between_two_real_plans(tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    head.write_text(planned("prod", "aws").dumps())
    same = subprocess.run(
        [sys.executable, "-m", "hubctl", "diff", str(head), str(head)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert same.returncode == 0 and "0 to create, 0 to update, 0 to replace, 0 to delete" in same.stdout
    # Make the head a change of the base: prod with one deployment's image bumped.
    changed = json.loads(head.read_text())
    deployment = next(r for r in changed["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] += "-rc1"
    bumped = tmp_path / "bumped.json"
    bumped.write_text(json.dumps(changed))
    done = subprocess.run(
        [sys.executable, "-m", "hubctl", "diff", str(head), str(bumped), "--markdown"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0 to create, 1 to update, 0 to replace, 0 to delete" in done.stdout
    assert "~ spec.template.spec.containers[0].image:" in done.stdout
