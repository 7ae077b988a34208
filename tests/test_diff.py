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


# ---- two stacks, and what a reviewer sees first ----------------------------------------------


def _real(stack: str, cloud: str, tmp_path: Path, name: str, edit: Any = None) -> Path:
    document = planned(stack, cloud).to_json()
    if edit is not None:
        edit(document)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


def _hubctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubctl", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def test_diff_refuses_two_different_stacks_unless_asked(tmp_path: Path) -> None:
    dev, prod = _real("dev", "kind", tmp_path, "dev"), _real("prod", "aws", tmp_path, "prod")
    refused = _hubctl("diff", str(dev), str(prod), "--markdown")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"hubctl: {dev} and {prod} are plans of two different stacks (the base is stack 'dev' of project "
        "'bakhmach-hub', the head stack 'prod' of project 'bakhmach-hub'): every resource would show as deleted "
        "and created; pass --allow-cross-stack to compare them anyway"
    ]
    allowed = _hubctl("diff", str(dev), str(prod), "--allow-cross-stack")
    assert allowed.returncode == 0
    assert allowed.stdout.startswith(f"stack prod, cloud kind → aws: {len(planned('prod', 'aws').resources)} to create")


def test_a_cloud_switch_of_one_stack_is_diffed_with_a_warning() -> None:
    diff = diff_plans(planned("staging", "aws").to_json(), planned("staging", "azure").to_json())
    text = format_markdown(diff)
    assert text.startswith("**staging** (aws → azure): ")
    assert "> ⚠️ the cloud changes from aws to azure: every cloud resource is replaced" in text


def _stateful_plans() -> tuple[dict[str, Any], dict[str, Any]]:
    db = entry(
        "prod-postgres",
        {"engine": "postgres", "engineVersion": "17", "instanceClass": "db.r7g.xlarge", "password": "hunter2"},
        "aws:rds/instance:Instance",
        protect=True,
    )
    pw = entry("pg-password", {"length": 40}, "random:index/randomPassword:RandomPassword")
    cm = entry("settings", {"kind": "ConfigMap", "data": {"a": "1"}})
    deployment = entry(
        "api",
        {
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "platform", "labels": {"image": "not-this"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "api", "image": "api:1.0.0"}]}}},
        },
        "kubernetes:apps/v1:Deployment",
    )
    secret = entry(
        "creds",
        {"kind": "Secret", "metadata": {"namespace": "platform"}, "stringData": {"password": "p", "user": "u"}},
        "kubernetes:core/v1:Secret",
    )
    base = plan(db, pw, cm, *(entry(f"cm-{i}", {"data": {"v": str(i)}}) for i in range(50)))
    head = plan(deployment, secret, {**cm, "inputs": {"kind": "ConfigMap", "data": {"a": "2"}}})
    head["resources"] += [entry(f"cm-{i}", {"data": {"v": str(i)}}) for i in range(50)]
    return base, head


def test_deletions_of_protected_or_stateful_resources_come_first() -> None:
    base, head = _stateful_plans()
    diff = diff_plans(base, head)
    assert [(r.name, r.protected, r.stateful) for r in diff.deleted] == [
        ("prod-postgres", True, "data"),
        ("pg-password", False, "generated credential"),
    ]
    text = format_markdown(diff)
    sections = [line for line in text.splitlines() if line.startswith("#### ")]
    assert sections == [
        "#### Deleted or replaced: protected or stateful (2)",
        "#### Updated (1)",
        "#### Created (2)",
    ]
    assert "> ⚠️ 2 protected or stateful resource(s) deleted or replaced (listed first)" in text
    assert text.index("prod-postgres") < text.index("settings") < text.index("`api`")
    # The cap keeps the most important: a small comment still names the database.
    small = format_markdown(diff, max_chars=1200)
    assert len(small) <= 1200 and "prod-postgres" in small
    assert "more changed resource(s) not shown (2 created)" in small or "not shown (1 updated, 2 created)" in small


def test_created_and_deleted_resources_show_what_they_are_with_secrets_masked() -> None:
    base, head = _stateful_plans()
    text = format_markdown(diff_plans(base, head))
    assert (
        "- - `aws:rds/instance:Instance` `prod-postgres` [protected, data] — engine `postgres`, engineVersion `17`, "
        "instanceClass `db.r7g.xlarge`"
    ) in text
    assert (
        "- + `kubernetes:apps/v1:Deployment` `api` — metadata.namespace `platform`, image `api:1.0.0`, replicas `3`"
    ) in text
    assert (
        '- + `kubernetes:core/v1:Secret` `creds` — metadata.namespace `platform`, keys `["password", "user"]`' in text
    )
    assert "hunter2" not in text and "not-this" not in text
    # Updates keep their field-level changes; no per-resource <details> block repeats a name.
    assert "~ data.a: 1 => 2" in text
    assert "<details>" not in text


def test_a_resource_under_a_new_parent_is_a_replacement() -> None:
    old = entry("db", {"engine": "postgres"}, "aws:rds/instance:Instance", protect=True)
    new = {**old, "urn": "urn:pulumi:prod::bakhmach-hub::bakhmach:data:PostgresCluster$aws:rds/instance:Instance::db"}
    diff = diff_plans(plan(old), plan(new))
    assert (len(diff.created), len(diff.deleted), len(diff.replaced)) == (0, 0, 1)
    assert diff.replaced[0].old_urn == old["urn"]
    assert "± `aws:rds/instance:Instance` `db` [protected, data]" in format_markdown(diff)


def test_markdown_survives_backticks_and_line_breaks_in_values() -> None:
    base = plan(entry("cm", {"data": {"script": "echo ```\nrm -rf /"}}))
    head = plan(entry("cm", {"data": {"script": "echo ````\nrm -rf ~"}}), entry("x`y", {}))
    text = format_markdown(diff_plans(base, head))
    assert "\n````diff\n" not in text and "\n`````diff\n" in text  # a fence longer than any run inside
    assert "``x`y``" in text
    fenced = text.split("`````diff\n", 1)[1].split("\n`````", 1)[0]
    assert fenced.splitlines() == [
        "~ kubernetes:core/v1:ConfigMap  cm",
        '    ~ data.script: "echo ```\\nrm -rf /" => "echo ````\\nrm -rf ~"',
    ]
