"""Environment lifetimes (issue 15): `hubctl ttl`, the sweep the scheduled workflow runs, and the
script that creates a dev stack from the template with its expiry.

An expired dev stack is listed and destroyed; a live one, prod, a shared stack, and a stack with
protected resources (or whose protected resources could not be counted) never are.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.cli import main
from hubctl.plan import REPO_ROOT
from hubctl.ttl import judge, tags_for
from settings.seed import ENVIRONMENT_PROFILES

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def stack(name: str, protected: int | None = 0, **tags: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "updateInProgress": False, "resourceCount": 155}
    entry["tags"] = {f"bakhmach:{k}": v for k, v in tags.items()}
    if protected is not None:
        entry["protectedResources"] = protected
    return entry


STACKS = [
    stack("org/bakhmach-hub/dev-alice", created="2026-11-01T10:00:00Z", expires="2026-11-08T10:00:00Z"),
    stack("dev-pr-42", created="2026-11-28T10:00:00Z"),  # expiry from the seed's 7 days: live
    stack("dev-pr-7", created="2026-11-20T10:00:00Z"),  # 7 days after creation: expired
    stack("dev-carol", protected=2, expires="2026-11-01T00:00:00Z"),
    stack("dev-dave", protected=None, expires="2026-11-01T00:00:00Z"),
    stack("dev", environment="dev"),
    stack("staging", protected=7, created="2026-09-01T00:00:00Z"),
    stack("prod", expires="2020-01-01T00:00:00Z", environment="dev"),
    stack("org/bakhmach-hub/prod"),
]


def verdicts() -> dict[str, Any]:
    return {v.name: v for v in judge(STACKS, NOW)}


def test_an_expired_dev_stack_is_listed_and_chosen_for_destruction() -> None:
    v = verdicts()
    assert v["org/bakhmach-hub/dev-alice"].expired and v["org/bakhmach-hub/dev-alice"].destroy
    assert v["dev-pr-7"].expired and v["dev-pr-7"].destroy  # created + the seed's 7 days
    assert [name for name, x in v.items() if x.destroy] == ["org/bakhmach-hub/dev-alice", "dev-pr-7"]


def test_a_live_stack_and_prod_are_never_destroyed() -> None:
    v = verdicts()
    assert not v["dev-pr-42"].expired and not v["dev-pr-42"].destroy
    for name in ("prod", "org/bakhmach-hub/prod"):
        assert not v[name].expired and not v[name].destroy, name
        assert v[name].environment == "prod"


def test_protected_or_uncounted_or_shared_stacks_are_only_listed() -> None:
    v = verdicts()
    assert v["dev-carol"].expired and not v["dev-carol"].destroy and "2 protected" in v["dev-carol"].reason
    assert v["dev-dave"].expired and not v["dev-dave"].destroy and "not counted" in v["dev-dave"].reason
    assert v["staging"].expired and not v["staging"].destroy and "person decides" in v["staging"].reason
    assert not v["dev"].expired and "expiry unknown" in v["dev"].reason


def test_a_running_update_keeps_the_stack() -> None:
    busy = dict(STACKS[0], updateInProgress=True)
    [v] = judge([busy], NOW)
    assert v.expired and not v.destroy


def test_new_stacks_carry_the_seeds_lifetime() -> None:
    for env, profile in ENVIRONMENT_PROFILES.items():
        tags = tags_for(env, NOW)
        assert tags["bakhmach:environment"] == env and tags["bakhmach:created"] == "2026-11-29T12:00:00Z"
        if profile.ttl_days is None:
            assert "bakhmach:expires" not in tags
        else:
            expires = datetime.fromisoformat(tags["bakhmach:expires"].replace("Z", "+00:00"))
            assert (expires - NOW).days == profile.ttl_days


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_the_command_prints_what_is_expired_and_what_goes(tmp_path: Path) -> None:
    path = tmp_path / "stacks.json"
    path.write_text(json.dumps(STACKS))
    code, out, _ = run(["ttl", str(path), "--now", "2026-11-29T12:00:00Z"])
    assert code == 0 and out.splitlines()[-1] == "9 stack(s): 5 expired, 2 to destroy"
    assert "DESTROY  org/bakhmach-hub/dev-alice" in out and "EXPIRED  staging" in out
    code, out, _ = run(["ttl", str(path), "--now", "2026-11-29T12:00:00Z", "--destroyable"])
    assert out.split() == ["org/bakhmach-hub/dev-alice", "dev-pr-7"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "truncated"),
        ('{"name": "dev"}', "not a stack list"),
        ('[{"tags": {}}]', "no stack name"),
        ('[{"name": "dev-x", "tags": {"bakhmach:expires": "soon"}}]', "is not an ISO 8601 time"),
        ('[{"name": "dev-x", "protectedResources": -1}]', "must be a count"),
        ('[{"name": "dev-x", "tags": {"a": 1}}]', "must map tag names to strings"),
    ],
)
def test_bad_stack_lists_are_refused_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "stacks.json"
    path.write_text(content)
    code, out, err = run(["ttl", str(path), "--now", "2026-11-29T12:00:00Z"])
    assert code == 2 and out == "" and err.startswith("hubctl: ") and message in err and err.count("\n") == 1


# ---- the sweep the workflow runs, with a stub Pulumi CLI ---------------------------------------

PULUMI_STUB = """#!/usr/bin/env bash
echo "pulumi $*" >> "$CALLS"
case "$1 $2" in
  "stack ls") cat "$FIXTURES/ls.json" ;;
  "stack tag") cat "$FIXTURES/tags-${5//\\//_}.json" ;;
  "stack export") cat "$FIXTURES/state-${4//\\//_}.json" ;;
  "destroy --stack") [[ $3 == "${FAIL_DESTROY:-}" ]] && exit 1; exit 0 ;;
esac
exit 0
"""


def sweep(tmp_path: Path, *extra: str, fail: str = "") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    past, future = "2020-01-01T00:00:00Z", f"{now.year + 1}-01-01T00:00:00Z"
    stacks = {
        "dev-alice": ({"bakhmach:expires": past}, []),
        "dev-bob": ({"bakhmach:expires": future}, []),
        "dev-carol": ({"bakhmach:expires": past}, [{"urn": "x", "protect": True}]),
        "org/bakhmach-hub/dev-erin": ({"bakhmach:expires": past}, [{"urn": "y", "protect": False}]),
        "prod": ({"bakhmach:expires": past}, []),
    }
    (fixtures / "ls.json").write_text(json.dumps([{"name": n, "updateInProgress": False} for n in stacks]))
    for name, (tags, resources) in stacks.items():
        safe = name.replace("/", "_")
        (fixtures / f"tags-{safe}.json").write_text(json.dumps(tags))
        (fixtures / f"state-{safe}.json").write_text(json.dumps({"deployment": {"resources": resources}}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "pulumi"
    stub.write_text(PULUMI_STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    calls.write_text("")
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "FIXTURES": str(fixtures),
        "FAIL_DESTROY": fail,
    }
    script = REPO_ROOT / ".github" / "scripts" / "ttl-sweep.sh"
    done = subprocess.run(
        ["bash", str(script), str(tmp_path / "out"), sys.executable, *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return done, calls.read_text().splitlines()


def test_the_sweep_destroys_only_the_expired_ephemeral_stacks(tmp_path: Path) -> None:
    done, calls = sweep(tmp_path, "--destroy")
    assert done.returncode == 0, done.stdout + done.stderr
    destroyed = [c.split()[3] for c in calls if c.startswith("pulumi destroy")]
    removed = [c.split()[4] for c in calls if c.startswith("pulumi stack rm")]
    assert destroyed == removed == ["dev-alice", "org/bakhmach-hub/dev-erin"]
    report = (tmp_path / "out" / "ttl.md").read_text()
    assert "- destroyed `dev-alice`" in report and "EXPIRED  dev-carol" in report and "ok       prod" in report
    judged = json.loads((tmp_path / "out" / "stacks.json").read_text())
    assert {s["name"]: s["protectedResources"] for s in judged}["dev-carol"] == 1


def test_without_destroy_the_sweep_only_lists(tmp_path: Path) -> None:
    done, calls = sweep(tmp_path)
    assert done.returncode == 0, done.stderr
    assert not [c for c in calls if c.startswith(("pulumi destroy", "pulumi stack rm"))]
    assert "DESTROY  dev-alice" in done.stdout


def test_a_failed_destroy_fails_the_sweep_and_keeps_the_stack(tmp_path: Path) -> None:
    done, calls = sweep(tmp_path, "--destroy", fail="dev-alice")
    assert done.returncode == 1
    removed = [c.split()[4] for c in calls if c.startswith("pulumi stack rm")]
    assert removed == ["org/bakhmach-hub/dev-erin"]
    assert "**could not destroy** `dev-alice`" in (tmp_path / "out" / "ttl.md").read_text()


def test_the_workflow_sweeps_daily_on_the_dev_runner() -> None:
    flow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ttl.yml").read_text())
    on = flow.pop(True)
    assert on["schedule"] and "workflow_dispatch" in on
    job = flow["jobs"]["sweep"]
    assert job["runs-on"] == ["self-hosted", "bakhmach-kind"] and job["environment"] == "dev"
    assert flow["permissions"] == {"contents": "read"}
    [step] = [s for s in job["steps"] if "ttl-sweep.sh" in str(s.get("run", ""))]
    assert "--destroy" in step["run"] and "github.event_name == 'schedule'" in step["env"]["DESTROY"]


# ---- a dev stack from the template -------------------------------------------------------------


def test_dev_stack_script_copies_the_template_and_tags_the_expiry(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO_ROOT / "scripts" / "dev-stack.sh", tmp_path / "scripts" / "dev-stack.sh")
    shutil.copy(REPO_ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "pulumi"
    # `stack init` with a passphrase backend writes the stack's salt into its file.
    stub.write_text(
        '#!/usr/bin/env bash\necho "pulumi $*" >> "$CALLS"\n'
        '[[ "$1 $2" == "stack init" ]] && echo "encryptionsalt: v1:abc" > "Pulumi.$3.yaml"\nexit 0\n'
    )
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(REPO_ROOT),
    }
    script = str(tmp_path / "scripts" / "dev-stack.sh")
    done = subprocess.run(["bash", script, "pr-123"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    made = yaml.safe_load((tmp_path / "Pulumi.dev-pr-123.yaml").read_text())
    assert made["encryptionsalt"] == "v1:abc"
    assert made["config"] == yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    tagged = [line.split()[6:] for line in calls.read_text().splitlines() if "stack tag set" in line]
    assert [t[0] for t in tagged] == ["bakhmach:environment", "bakhmach:created", "bakhmach:expires"]
    bad = subprocess.run(["bash", script, "Bad_Name"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "usage:" in bad.stderr


def test_a_dev_stack_without_its_own_file_plans_from_the_template() -> None:
    from hubctl.stackfile import read_stack_config

    config = read_stack_config(REPO_ROOT, "dev-alice")
    assert config.source == "Pulumi.dev.yaml" and config.cloud == "kind"
    assert config.values == read_stack_config(REPO_ROOT, "dev").values
