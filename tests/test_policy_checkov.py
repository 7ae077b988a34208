"""checkov over the rendered Kubernetes manifests of every stack: zero failed checks, and every
skip written down with its reason in .checkov.yaml."""

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
from hubctl.render import write_manifests
from tests.planning import STACK_IDS, STACKS, planned

CHECKOV = Path(os.environ.get("CHECKOV", REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
CONFIG = REPO_ROOT / ".checkov.yaml"


def checkov(*dirs: Path) -> list[dict[str, Any]]:
    """One report per directory (checkov prints them one after another)."""
    assert CHECKOV.exists(), f"{CHECKOV} missing: `make scan` creates .venv-checkov from requirements-checkov.txt"
    args = [str(CHECKOV), "--config-file", str(CONFIG), "-o", "json"]
    for d in dirs:
        args += ["-d", str(d)]
    done = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.stdout.strip(), done.stderr
    reports: list[dict[str, Any]] = []
    decoder, text, at = json.JSONDecoder(), done.stdout, 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        report, at = decoder.raw_decode(text, at)
        reports += report if isinstance(report, list) else [report]
    assert len(reports) == len(dirs), done.stdout[:500]
    return reports


@pytest.mark.slow
def test_checkov_finds_nothing_in_any_stacks_manifests(tmp_path: Path) -> None:
    dirs = []
    for (stack, cloud), stack_id in zip(STACKS, STACK_IDS, strict=True):
        written = write_manifests(planned(stack, cloud), tmp_path / stack_id)
        assert written, f"{stack_id} rendered no manifests"
        dirs.append(tmp_path / stack_id)
    reports = checkov(*dirs)
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']})" for r in reports for f in r["results"]["failed_checks"]
    ]
    assert failed == []
    for stack_id, report in zip(STACK_IDS, reports, strict=True):
        assert report["summary"]["passed"] > 500, stack_id
        assert report["summary"]["parsing_errors"] == 0, stack_id


@pytest.mark.slow
def test_checkov_still_fails_a_privileged_container(tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "slon-credit"},
        "spec": {"containers": [{"name": "bad", "image": "nginx:1.27", "securityContext": {"privileged": True}}]},
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(manifest))
    [report] = checkov(tmp_path)
    failed = {f["check_id"] for f in report["results"]["failed_checks"]}
    assert "CKV_K8S_16" in failed  # "Container should not be privileged"


def test_every_skipped_check_has_a_written_reason() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    lines = CONFIG.read_text().splitlines()
    for check in config["skip-check"]:
        index = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s*- {check}", line))
        reason = []
        for line in reversed(lines[:index]):
            if not line.strip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 80, f"{check} has no reason written above it in .checkov.yaml"
        assert check in lines[index - len(reason)], f"the reason above {check} should name it"
