"""scripts/e2e-kind.sh and .github/workflows/e2e.yml without Docker: shellcheck and actionlint,
and the script run end to end with stub `docker`, `kind`, `pulumi` and Python steps, so its order,
its isolation (temporary kubeconfig and backend) and its trap (destroy and delete on any failure)
are exercised."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "e2e-kind.sh"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "e2e.yml"
SHELLCHECK = REPO_ROOT / ".venv" / "bin" / "shellcheck"
ACTIONLINT = REPO_ROOT / ".venv" / "bin" / "actionlint"
CLUSTER = yaml.safe_load((REPO_ROOT / "kind" / "cluster.yaml").read_text())["name"]


def test_the_scripts_pass_shellcheck() -> None:
    scripts = [SCRIPT, *sorted((REPO_ROOT / ".github" / "scripts").glob("*.sh")), REPO_ROOT / ".ci" / "run"]
    done = subprocess.run([str(SHELLCHECK), *map(str, scripts)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_catches_a_broken_script(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    done = subprocess.run([str(SHELLCHECK), str(broken)], capture_output=True, text=True)
    assert done.returncode != 0 and "SC2086" in done.stdout


def test_the_script_is_strict_bash() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -Eeuo pipefail$", text, re.MULTILINE)
    assert os.access(SCRIPT, os.X_OK)


# ---- the script with stub tools ------------------------------------------------------------

STUBS = {
    "docker": "[[ -z ${DOCKER_DOWN:-} ]]",
    "kind": """echo "kind $*" >> "$CALLS"
case "$1 $2" in
  "get clusters") for c in ${EXISTING:-}; do echo "$c"; done ;;
  "create cluster") [[ ${FAIL_AT:-} == kind ]] && exit 1; echo "apiVersion: v1" > "$KUBECONFIG" ;;
esac
exit 0""",
    "pulumi": """where="dir=$(basename "$PWD") backend=$PULUMI_BACKEND_URL kubeconfig=$KUBECONFIG"
echo "pulumi $* | $where passphrase=${PULUMI_CONFIG_PASSPHRASE:+set}" >> "$CALLS"
if [[ $1 == stack && $2 == init ]]; then echo "encryptionsalt: v1:stub" >> Pulumi.dev.yaml; fi
if [[ $1 == "${HANG_AT:-}" ]]; then sleep 30; fi
[[ $1 != "${FAIL_AT:-}" ]]""",
    "make": 'echo "make $*" >> "$CALLS"',
}
PYTHON_STUB = """if [[ $1 == -m && ( $2 == tests.e2e || $2 == pytest ) ]]; then
  echo "python $* | e2e=${{BAKHMACH_E2E:-}}" >> "$CALLS"
  [[ ${{FAIL_AT:-}} != "$3" && ! ( $2 == pytest && ${{FAIL_AT:-}} == pytest ) ]]
  exit
fi
exec {python} "$@"
"""


def _executable(path: Path, body: str) -> None:
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    """A copy of what the script reads, stub tools first on PATH, and a log of their calls."""
    repo = tmp_path / "repo"
    for relative in ("scripts/e2e-kind.sh", "kind/cluster.yaml", "Pulumi.dev.yaml", "policy/PulumiPolicy.yaml"):
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, repo / relative)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        _executable(bin_dir / name, body)
    python = tmp_path / "python"
    _executable(python, PYTHON_STUB.format(python=sys.executable))
    calls = tmp_path / "calls"
    calls.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "KUBECONFIG", "GITHUB_", "E2E_"))}
    env |= {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "E2E_PYTHON": str(python),
        "E2E_ARTIFACTS": str(tmp_path / "artifacts"),
        "TMPDIR": str(tmp_path),
    }
    return {"repo": repo, "env": env, "calls": calls}


def _run(sandbox: dict[str, Any], **env: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        ["bash", str(sandbox["repo"] / "scripts" / "e2e-kind.sh")],
        env=sandbox["env"] | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, sandbox["calls"].read_text().splitlines(), done.stdout + done.stderr


def _commands(calls: list[str]) -> list[str]:
    return [line.split(" | ")[0] for line in calls]


POLICY = "--policy-pack policy --policy-pack-config policy/config/dev.json"


def test_a_passing_run_deploys_previews_waits_tests_destroys_and_deletes(sandbox: dict[str, Any]) -> None:
    original = (sandbox["repo"] / "Pulumi.dev.yaml").read_text()
    status, calls, output = _run(sandbox)
    assert status == 0, output
    assert _commands(calls) == [
        "kind get clusters",
        "kind create cluster --config kind/cluster.yaml --wait 180s",
        "pulumi install",
        "pulumi stack init dev --secrets-provider passphrase --non-interactive",
        f"pulumi preview -s dev {POLICY} --non-interactive --diff",
        f"pulumi up -s dev --yes --skip-preview {POLICY} --non-interactive",
        "python -m tests.e2e wait --timeout 900",
        "python -m pytest tests/e2e -m e2e -p no:cacheprovider -v --junitxml "
        f"{sandbox['env']['E2E_ARTIFACTS']}/junit.xml",
        "pulumi destroy -s dev --yes --skip-preview --non-interactive",
        f"kind delete cluster --name {CLUSTER}",
    ]
    # The pack's dependencies are installed in its own directory; the smoke tests know a cluster is there.
    assert "dir=policy" in calls[2] and calls[7].endswith("e2e=1")
    # A throwaway backend, passphrase and kubeconfig under a temporary directory, gone afterwards.
    tmp = sandbox["env"]["TMPDIR"]
    for line in calls[2:9]:
        if line.startswith("pulumi"):
            assert f"backend=file://{tmp}/" in line and f"kubeconfig={tmp}/" in line and "passphrase=set" in line
    assert [p.name for p in Path(tmp).glob("tmp.*")] == []
    # `pulumi stack init` wrote the passphrase salt into the stack file: it is put back.
    assert (sandbox["repo"] / "Pulumi.dev.yaml").read_text() == original


@pytest.mark.parametrize(
    ("fail_at", "last_step"),
    [
        ("kind", "kind create cluster"),
        ("preview", "pulumi preview"),
        ("up", "pulumi up"),
        ("wait", "python -m tests.e2e wait"),
        ("pytest", "python -m pytest"),
        ("destroy", "pulumi destroy -s dev --yes --skip-preview --non-interactive"),
    ],
)
def test_a_failing_run_still_collects_diagnostics_destroys_and_deletes(
    sandbox: dict[str, Any], fail_at: str, last_step: str
) -> None:
    original = (sandbox["repo"] / "Pulumi.dev.yaml").read_text()
    status, calls, output = _run(sandbox, FAIL_AT=fail_at, GITHUB_ACTIONS="true")
    commands = _commands(calls)
    assert status != 0
    failed = min(i for i, c in enumerate(commands) if c.startswith(last_step))
    after = commands[failed + 1 :]
    assert f"python -m tests.e2e diagnose --out {sandbox['env']['E2E_ARTIFACTS']}" in after
    if fail_at != "kind":  # the stack exists from `stack init` on: destroy it
        assert "pulumi destroy -s dev --yes --skip-preview --non-interactive" in after or fail_at == "destroy"
    assert after[-1] == f"kind delete cluster --name {CLUSTER}"
    assert "::error::e2e failed in step:" in output
    assert (sandbox["repo"] / "Pulumi.dev.yaml").read_text() == original


def test_an_existing_cluster_of_that_name_is_left_alone(sandbox: dict[str, Any]) -> None:
    status, calls, output = _run(sandbox, EXISTING=f"other {CLUSTER}")
    assert status == 1 and f"a kind cluster named {CLUSTER} exists already" in output
    assert _commands(calls) == ["kind get clusters"]


def test_no_docker_no_run(sandbox: dict[str, Any]) -> None:
    status, calls, output = _run(sandbox, DOCKER_DOWN="1")
    assert status == 1 and "Docker is installed but not running" in output and calls == []


def test_an_interrupted_run_cleans_up(sandbox: dict[str, Any]) -> None:
    process = subprocess.Popen(
        ["bash", str(sandbox["repo"] / "scripts" / "e2e-kind.sh")],
        env=sandbox["env"] | {"HANG_AT": "up"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "pulumi up" not in sandbox["calls"].read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    # As a terminal's Ctrl-C or a CI cancellation does: the whole process group.
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    commands = _commands(sandbox["calls"].read_text().splitlines())
    assert process.returncode == 143
    assert commands[-2:] == [
        "pulumi destroy -s dev --yes --skip-preview --non-interactive",
        f"kind delete cluster --name {CLUSTER}",
    ]


def test_make_e2e_runs_the_script_and_make_scan_checks_the_scripts() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^e2e: \$\(STAMP\).*\n\tscripts/e2e-kind\.sh$", makefile, re.MULTILINE)
    scan = makefile[makefile.index("\nscan:") :]
    assert "shellcheck scripts/*.sh" in scan and "-shellcheck $(VENV)/bin/shellcheck" in scan
    assert not re.search(r"^test:.*\be2e\b", makefile, re.MULTILINE)


# ---- the workflow --------------------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    loaded["on"] = loaded.pop(True)
    return loaded


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]
    return step


def test_the_workflow_passes_actionlint_with_shellcheck() -> None:
    done = subprocess.run(
        [str(ACTIONLINT), "-shellcheck", str(SHELLCHECK), "-ignore", 'runtime "node20" is deprecated', str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_runs_on_pull_requests_nightly_and_by_hand_without_secrets() -> None:
    flow = _workflow()
    assert flow["on"]["pull_request"]["branches"] == ["develop", "staging", "main"]
    assert "paths" not in flow["on"]["pull_request"]  # the filter is a job: see test below
    assert flow["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]
    assert "workflow_dispatch" in flow["on"]
    assert flow["permissions"] == {"contents": "read"}
    assert "secrets." not in WORKFLOW.read_text()
    kind = flow["jobs"]["kind"]
    assert _uses(kind, "actions/checkout")["with"]["ref"] == "${{ github.event_name == 'schedule' && 'main' || '' }}"


def test_the_job_installs_the_pinned_kind_and_pulumi_then_runs_make_e2e() -> None:
    flow = _workflow()
    kind = flow["jobs"]["kind"]
    versions = (REPO_ROOT / "docs" / "VERSIONS.md").read_text()
    (kind_pin,) = re.findall(r"^\| kind \|[^|]*\| kind (v\d+\.\d+\.\d+)", versions, re.MULTILINE)
    assert flow["env"]["KIND_VERSION"] == kind_pin
    action = _uses(kind, "helm/kind-action")["with"]
    assert action == {
        "version": "${{ env.KIND_VERSION }}",
        "install_only": True,
        "cluster_name": CLUSTER,
        "ignore_failed_clean": True,
    }
    (pulumi_pin,) = re.findall(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert flow["env"]["PULUMI_VERSION"] == pulumi_pin
    assert _uses(kind, "pulumi/actions")["with"] == {"pulumi-version": "${{ env.PULUMI_VERSION }}"}
    steps = kind["steps"]
    (run,) = [s for s in steps if s.get("run") == "make e2e"]
    order = [steps.index(_uses(kind, a)) for a in ("actions/setup-python", "helm/kind-action", "pulumi/actions")]
    assert order == sorted(order) and order[-1] < steps.index(run)
    upload = _uses(kind, "actions/upload-artifact")
    assert upload["if"] == "failure()" and run["env"]["E2E_ARTIFACTS"].endswith(upload["with"]["path"].rstrip("/"))
    assert int(run["env"]["E2E_WAIT_SECONDS"]) + int(run["env"]["E2E_DESTROY_SECONDS"]) < kind["timeout-minutes"] * 60
    assert kind["timeout-minutes"] <= 40


def _run_step(script: str, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    output = tmp_path / "output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-c", script], env=os.environ | env | {"GITHUB_OUTPUT": str(output)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.parametrize(
    ("files", "program"),
    [
        (["README.md", "docs/CI.md"], "false"),
        (["tests/test_settings.py", "Pulumi.prod.yaml", ".github/workflows/deploy.yml"], "false"),
        (["components/context_service.py"], "true"),
        (["docs/x.md", "Pulumi.dev.yaml"], "true"),
        (["policy/config/dev.json"], "true"),
        (["requirements-dev.txt"], "true"),
        (["tests/e2e/test_network.py"], "true"),
        (["scripts/e2e-kind.sh"], "true"),
        (["kind/cluster.yaml"], "true"),
    ],
)
def test_pull_requests_run_the_e2e_only_when_the_program_changes(
    files: list[str], program: str, tmp_path: Path
) -> None:
    (step,) = _workflow()["jobs"]["changes"]["steps"]
    _executable(tmp_path / "gh", "printf '%s\\n' " + " ".join(files))
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "EVENT": "pull_request", "REPO": "o/r", "PR": "1"}
    assert _run_step(step["run"], env, tmp_path) == {"program": program}
    assert _run_step(step["run"], env | {"EVENT": "schedule"}, tmp_path) == {"program": "true"}


@pytest.mark.parametrize(
    ("changes", "program", "kind", "passes"),
    [
        ("success", "true", "success", True),
        ("success", "false", "skipped", True),
        ("success", "true", "failure", False),
        ("success", "true", "cancelled", False),
        ("failure", "", "skipped", False),
    ],
)
def test_the_required_check_passes_only_for_a_passed_or_unneeded_run(
    changes: str, program: str, kind: str, passes: bool
) -> None:
    job = _workflow()["jobs"]["result"]
    assert job["if"] == "always()" and job["needs"] == ["changes", "kind"]
    (step,) = job["steps"]
    done = subprocess.run(
        ["bash", "-c", step["run"]],
        env=os.environ | {"CHANGES": changes, "PROGRAM": program, "KIND": kind},
        capture_output=True,
        text=True,
    )
    assert (done.returncode == 0) is passes


def test_docs_make_the_result_a_required_check_and_the_readme_points_to_make_e2e() -> None:
    ci = " ".join((REPO_ROOT / "docs" / "CI.md").read_text().split())
    protection = ci[ci.index("**Branch protection**") :].split(" - **")[0]
    assert "require the status checks" in protection and "`e2e / result`" in protection
    readme = (REPO_ROOT / "README.md").read_text()
    real = readme[readme.index("## Deploying for real") :]
    assert "make e2e" in real[: real.index("###")]
