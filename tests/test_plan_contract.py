"""The plan contract (hubctl/plan.schema.json): every plan written validates, and every command
that reads a plan refuses anything else with exit code 2 and one line naming the file."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest

from hubctl.cli import main
from hubctl.plan import REPO_ROOT
from hubctl.planfile import MAX_DEPTH, SCHEMA_PATH, load_plan, problems, schema
from settings.seed import CLOUDS, Environment
from tests.planning import STACK_IDS, STACKS, planned


def dev_json() -> dict[str, Any]:
    return planned("dev", "kind").to_json()


def test_the_schema_is_a_valid_json_schema_and_names_what_settings_allow() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["cloud"]["enum"] == list(CLOUDS)
    assert schema()["properties"]["outputs"]["properties"]["environment"]["enum"] == list(get_args(Environment))
    assert SCHEMA_PATH.parent == REPO_ROOT / "hubctl"


@pytest.mark.parametrize(("stack", "cloud"), STACKS, ids=STACK_IDS)
def test_every_stacks_plan_validates_against_the_schema(stack: str, cloud: str) -> None:
    document = json.loads(planned(stack, cloud).dumps())
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert problems(document) == []


def test_plan_json_written_by_the_cli_loads_back(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    assert main(["plan", "dev", "--summary", "--json", str(out)]) == 0
    loaded, planned_ = load_plan(out), dev_json()
    # Registration order varies between runs (the program's outputs resolve asynchronously).
    assert {r["urn"]: r for r in loaded.pop("resources")} == {r["urn"]: r for r in planned_.pop("resources")}
    assert loaded == planned_


# ---- what is not a plan ------------------------------------------------------------------------


def _edit(change: Callable[[dict[str, Any]], None]) -> str:
    document = copy.deepcopy(dev_json())
    change(document)
    return json.dumps(document)


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()
_REAL = json.dumps(dev_json())

# (case id, file content (None: no file), the words the one-line message must contain)
NOT_PLANS: list[tuple[str, bytes | None, str]] = [
    ("missing", None, "no such file"),
    ("empty", b"", "is empty"),
    ("blank", b" \n\t\n", "is empty"),
    ("truncated", _REAL[: len(_REAL) // 2].encode(), "truncated"),
    ("not-json", b"stack: prod\nresources: []\n", "not JSON"),
    ("not-utf8", b'{"stack": "\xff\xfe"}', "not UTF-8"),
    ("nan", _edit(_set("resources.0.inputs.x", 1)).replace(": 1}", ": NaN}", 1).encode(), "NaN"),
    ("duplicate-key", b'{"stack": "dev", "stack": "prod"}', "appears twice"),
    ("foo", b'{"foo": 1}', "missing project, stack, cloud, resources, outputs; unexpected foo"),
    ("array", b"[1, 2, 3]", "is an array"),
    ("number", b"42", "not a plan"),
    ("too-deep", _deep(MAX_DEPTH + 5).encode(), "nested more than"),
    ("resource-key-missing", _edit(_set("resources.3.protect", _DELETE)).encode(), "'protect' is missing"),
    ("protect-not-bool", _edit(_set("resources.3.protect", "yes")).encode(), "'yes' is not of type boolean"),
    ("unknown-cloud", _edit(_set("cloud", "gcp")).encode(), "'gcp' is not allowed"),
    ("no-environment", _edit(_set("outputs.environment", _DELETE)).encode(), "'environment' is missing"),
    ("outputs-cloud", _edit(_set("outputs.cloud", "aws")).encode(), "outputs.cloud 'aws' differs"),
    ("urn-not-a-urn", _edit(_set("resources.3.urn", "Deployment/auth")).encode(), "is not a Pulumi URN"),
    (
        "urn-of-another-stack",
        _edit(lambda d: d["resources"][0].update(urn=d["resources"][0]["urn"].replace(":dev::", ":prod::"))).encode(),
        "belongs to stack 'prod'",
    ),
    (
        "dangling-dependency",
        _edit(_set("resources.5.dependencies", ["urn:pulumi:dev::bakhmach-hub::x:y:Z::gone"])).encode(),
        "is not a resource of the plan",
    ),
    ("stack-name", _edit(_set("stack", "dev; rm -rf /")).encode(), "is not a Pulumi name"),
]


def _write(tmp_path: Path, content: bytes | None) -> Path:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_bytes(content)
    return path


def _refuses(argv: list[str], path: Path, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"hubctl: {path}: "), err
    assert words in err, err


@pytest.mark.parametrize(("content", "words"), [c[1:] for c in NOT_PLANS], ids=[c[0] for c in NOT_PLANS])
def test_every_command_that_reads_a_plan_refuses_what_is_not_one(
    content: bytes | None, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path, content)
    good = tmp_path / "good.json"
    good.write_text(_REAL)
    _refuses(["policy", "--plan", str(bad)], bad, words, capsys)
    _refuses(["policy", "--plan", str(bad), "--stack", "dev", "--json"], bad, words, capsys)
    _refuses(["diff", str(good), str(bad)], bad, words, capsys)
    _refuses(["diff", str(bad), str(good), "--markdown"], bad, words, capsys)
    _refuses(["render", "--plan", str(bad), "--out", str(tmp_path / "out")], bad, words, capsys)
    _refuses(["validate", str(bad)], bad, words, capsys)


def test_a_directory_is_not_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refuses(["policy", "--plan", str(tmp_path)], tmp_path, "is a directory", capsys)


def test_the_cli_says_it_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    """End to end, as CI runs it: `{"foo": 1}` (say, what a failed plan step left) fails the gate."""
    bad = tmp_path / "plan.json"
    bad.write_text('{"foo": 1}')
    for args in (["policy", "--plan", str(bad)], ["diff", str(bad), str(bad)]):
        done = subprocess.run(
            [sys.executable, "-m", "hubctl", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2
        assert done.stdout == "" and "Traceback" not in done.stderr
        assert done.stderr.splitlines() == [
            f"hubctl: {bad}: not a plan: missing project, stack, cloud, resources, outputs; unexpected foo "
            "(a plan has project, stack, cloud, resources, outputs)"
        ]


# ---- policy checks the plan of the stack it was asked about -------------------------------------


def test_policy_refuses_another_stacks_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = tmp_path / "dev.json"
    dev.write_text(_REAL)
    _refuses(["policy", "--plan", str(dev), "--stack", "prod"], dev, "a plan of stack 'dev' (cloud kind)", capsys)
    _refuses(["policy", "--plan", str(dev), "--stack", "dev", "--cloud", "aws"], dev, "not of cloud 'aws'", capsys)


def test_policy_refuses_a_plan_with_nothing_to_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(_edit(_set("resources", [])))
    _refuses(["policy", "--plan", str(empty), "--stack", "dev"], empty, "has no resources: nothing to check", capsys)


def test_policy_says_what_it_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = planned("prod", "azure")
    path = tmp_path / "prod.json"
    path.write_text(plan.dumps())
    assert main(["policy", "--plan", str(path), "--stack", "prod", "--cloud", "azure"]) == 0
    out = capsys.readouterr().out.splitlines()
    from policy.bakhmach_policies import POLICIES

    assert out[0] == (
        f"policy pack bakhmach-hub-policies on stack prod, cloud azure, environment prod: "
        f"{len(plan.resources)} resources, {len(POLICIES)} policies evaluated"
    )
    assert out[-1].startswith("passed: 0 mandatory") and out[-1].endswith("(stack prod, cloud azure)")
    assert main(["policy", "--plan", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["stack"], report["cloud"], report["resources"]) == ("prod", "azure", len(plan.resources))


def test_a_broken_policy_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "dev.json"
    plan.write_text(_REAL)
    config = tmp_path / "config.json"
    config.write_text('{"pod-security": "blocking"}')
    _refuses(["policy", "--plan", str(plan), "--config", str(config)], config, "is not an enforcement level", capsys)
    _refuses(
        ["policy", "--plan", str(plan), "--config", str(tmp_path / "no.json")],
        tmp_path / "no.json",
        "no such policy config file",
        capsys,
    )
