"""Sealed Secrets: every cluster runs the controller, pinned, restricted, with 30-day key renewal;
teams' committed SealedSecrets are checked, applied in their namespace and mounted where a
service asks; the key backup script keeps what a restore needs (docs/SECRETS.md)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components import versions
from hubctl.plan import REPO_ROOT, Plan, run_plan
from settings import SettingsError, load_settings, resolve_stack
from settings import sealed_secrets as sealed_folder
from settings.sealed_secrets import load_sealed_secrets
from tests.planning import CRD_SCHEMAS, k8s, of_type
from tests.test_settings import prod_values

DOC = REPO_ROOT / "docs" / "SECRETS.md"
SCRIPT = REPO_ROOT / "scripts" / "sealed_secrets_keys.py"
CONTEXTS = {
    "platform",
    "bakhmach-hub",
    "slon-credit",
    "audityzer-eu",
    "debt-defense-agent",
    "black-sea-corridor",
    "cannabis-infusion",
}


def _providers(plan: Plan) -> list[str]:
    return [r.urn for r in plan.resources if r.type == "pulumi:providers:kubernetes"]


def _releases(plan: Plan) -> list[Any]:
    return [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "sealed-secrets"]


def test_every_cluster_runs_the_pinned_controller_with_30_day_key_renewal(any_plan: Plan) -> None:
    releases = _releases(any_plan)
    # One per cluster: prod's secondary region too.
    assert sorted(r.provider for r in releases) == sorted(_providers(any_plan))
    for release in releases:
        i = release.inputs
        assert (i["repositoryOpts"]["repo"], i["version"]) == (
            "https://bitnami-labs.github.io/sealed-secrets",
            "2.18.5",
        )
        assert i["namespace"] == "sealed-secrets"
        values = i["values"]
        assert values["keyrenewperiod"] == "720h"  # 30 days
        assert values["image"]["tag"] == versions.SEALED_SECRETS_IMAGE_TAG == "0.36.6"
        assert values["priorityClassName"] == "bakhmach-platform-critical"
        pod, container = values["podSecurityContext"], values["containerSecurityContext"]
        assert pod["runAsNonRoot"] and pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["readOnlyRootFilesystem"] and container["allowPrivilegeEscalation"] is False
        assert (
            container["capabilities"] == {"drop": ["ALL"]} and container["seccompProfile"]["type"] == "RuntimeDefault"
        )
        # After its namespace, its network policies and the PriorityClass it names.
        deps = " ".join(release.dependencies)
        assert "Namespace::" in deps and "PriorityClass::" in deps and "NetworkPolicy::" in deps


def test_the_controller_namespace_is_restricted_and_default_deny(any_plan: Plan) -> None:
    for provider in _providers(any_plan):
        (ns,) = k8s(any_plan, "Namespace", "sealed-secrets", provider=provider)
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        policies = {
            p["metadata"]["name"]: p["spec"]
            for p in k8s(any_plan, "NetworkPolicy", namespace="sealed-secrets", provider=provider)
        }
        assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert [p["port"] for r in policies["allow-certificate"]["ingress"] for p in r["ports"]] == [8080]
        assert set(policies) == {"default-deny", "allow-dns", "allow-api-server", "allow-certificate"}


# ---- the teams' SealedSecrets ----------------------------------------------------------------


def _doc_example() -> dict[str, Any]:
    """The committed SealedSecret docs/SECRETS.md shows."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    (example,) = [yaml.safe_load(b) for b in blocks if "kind: SealedSecret" in b]
    return example


def _schema() -> dict[str, Any]:
    return json.loads((CRD_SCHEMAS / "bitnami.com" / "sealedsecret_v1alpha1.json").read_text())


def test_the_documented_sealed_secret_is_valid_and_accepted() -> None:
    example = _doc_example()
    jsonschema.Draft7Validator(_schema()).validate(example)
    assert example["metadata"]["namespace"] == "slon-credit"


def _folder(tmp_path: Path, files: dict[str, Any]) -> Path:
    root = tmp_path / "sealed-secrets"
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump_all(content))
    return root


def _with(example: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(example))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for part in parents:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


def test_committed_sealed_secrets_that_would_weaken_the_boundary_are_refused_naming_the_file(tmp_path: Path) -> None:
    good = _doc_example()
    root = _folder(
        tmp_path,
        {
            "slon-credit/payment-api.yaml": [good],
            "slon-credit/wide.yaml": [
                _with(
                    good,
                    metadata__name="wide",
                    metadata__annotations={"sealedsecrets.bitnami.com/cluster-wide": "true"},
                )
            ],
            "slon-credit/elsewhere.yaml": [_with(good, metadata__name="elsewhere", metadata__namespace="platform")],
            "slon-credit/z-again.yaml": [good],
            "slon-credit/plain.yaml": [
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "slon-credit"}}
            ],
            "slon-credit/empty.yaml": [_with(good, metadata__name="empty", spec__encryptedData={})],
            "kube-system/sneaky.yaml": [_with(good, metadata__namespace="kube-system")],
            "slon-credit/broken.yaml": "apiVersion: [unclosed\n",
            "slon-credit/README.md": "not a manifest",
        },
    )
    found, problems = load_sealed_secrets(CONTEXTS, root)
    assert [(s.namespace, s.name) for s in found] == [("slon-credit", "payment-api")]
    by_file: dict[str, str] = {}
    for key, message in problems:
        by_file[key] = f"{by_file.get(key, '')} {message}"
    assert "cluster-wide" in by_file["sealed-secrets/slon-credit/wide.yaml"]
    assert "not its folder's" in by_file["sealed-secrets/slon-credit/elsewhere.yaml"]
    duplicate = by_file["sealed-secrets/slon-credit/z-again.yaml"]
    assert "is also in sealed-secrets/slon-credit/payment-api.yaml" in duplicate
    assert "bitnami.com/v1alpha1/SealedSecret" in by_file["sealed-secrets/slon-credit/plain.yaml"]
    assert "encryptedData" in by_file["sealed-secrets/slon-credit/empty.yaml"]
    assert "context namespace" in by_file["sealed-secrets/kube-system/sneaky.yaml"]
    assert "cannot be read as YAML" in by_file["sealed-secrets/slon-credit/broken.yaml"]
    assert len(by_file) == 7
    # resolve_stack reports them with every other settings problem, naming each file.
    settings = load_settings(
        {
            **prod_values(),
            "services": {
                **prod_values()["services"],
                "slon-finance": {**prod_values()["services"]["slon-finance"], "secrets": ["missing-one"]},
            },
        }
    )
    with pytest.raises(SettingsError) as caught:
        resolve_stack(settings, "Pulumi.prod.yaml", sealed_secrets=root)
    message = str(caught.value)
    assert "  sealed-secrets/slon-credit/wide.yaml: " in message
    assert (
        "bakhmach-hub:services.slon-finance.secrets: 'missing-one' is no SealedSecret of namespace slon-credit"
        in message
    )


def test_the_repository_folder_holds_only_valid_sealed_secrets() -> None:
    found, problems = load_sealed_secrets(CONTEXTS)
    assert problems == []
    schema = jsonschema.Draft7Validator(_schema())
    for path in sealed_folder.SEALED_SECRETS_DIR.rglob("*.y*ml"):
        for doc in yaml.safe_load_all(path.read_text()):
            schema.validate(doc)
    assert len(found) == len(list(sealed_folder.SEALED_SECRETS_DIR.rglob("*.y*ml")))


@pytest.fixture(scope="module")
def team_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """prod on AWS with the documented SealedSecret committed and slon-finance mounting it."""
    tmp = tmp_path_factory.mktemp("team")
    root = _folder(tmp, {"slon-credit/payment-api.yaml": [_doc_example()]})
    document = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    services = document["config"]["bakhmach-hub:services"]
    services["slon-finance"] = {**services["slon-finance"], "secrets": ["payment-api"]}
    stack_file = tmp / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    original = sealed_folder.SEALED_SECRETS_DIR
    sealed_folder.SEALED_SECRETS_DIR = root
    try:
        return run_plan("prod", "aws", stack_file=stack_file)
    finally:
        sealed_folder.SEALED_SECRETS_DIR = original


def test_a_committed_sealed_secret_is_applied_in_its_namespace_on_every_cluster(team_plan: Plan) -> None:
    schema = jsonschema.Draft7Validator(_schema())
    sealed = [r for r in team_plan.resources if r.inputs.get("kind") == "SealedSecret"]
    assert sorted(r.provider for r in sealed) == sorted(_providers(team_plan))
    releases = {r.provider: r.urn for r in _releases(team_plan)}
    for r in sealed:
        schema.validate(r.inputs)
        meta = r.inputs["metadata"]
        assert (meta["namespace"], meta["name"]) == ("slon-credit", "payment-api")
        assert meta["labels"]["bakhmach.io/context"] == "slon-credit"
        assert r.inputs["spec"] == _doc_example()["spec"]  # as the team sealed it
        # After the controller (its CRD) and the namespace.
        assert releases[r.provider] in r.dependencies
        assert any(d.endswith("Namespace::ns-slon-credit") or d.endswith("-ns-slon-credit") for d in r.dependencies)


def test_a_service_mounts_its_team_secret_read_only_after_it_is_applied(team_plan: Plan) -> None:
    (deployment,) = [
        r
        for r in team_plan.resources
        if r.type == "kubernetes:apps/v1:Deployment" and r.name == "slon-finance-deployment"
    ]
    pod = deployment.inputs["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "payment-api"]
    assert volume["secret"]["defaultMode"] == 0o440
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount == {
        "name": volume["name"],
        "mountPath": "/var/run/secrets/bakhmach/team/payment-api",
        "readOnly": True,
    }
    assert any(d.endswith("::team-secrets-slon-credit-payment-api") for d in deployment.dependencies)


# ---- the key backup script -------------------------------------------------------------------

KEY = {
    "apiVersion": "v1",
    "kind": "Secret",
    "type": "kubernetes.io/tls",
    "metadata": {
        "name": "sealed-secrets-keyabcde",
        "namespace": "sealed-secrets",
        "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
        "uid": "1234",
        "resourceVersion": "99",
        "creationTimestamp": "2026-11-01T00:00:00Z",
        "managedFields": [{"manager": "controller"}],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
    },
    "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"},
}


def _stub_kubectl(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "kubectl"
    stub.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" >> "$CALLS"\n'
        'if [[ "$*" == *"get secret"* ]]; then cat "$LISTED"; fi\n'
        'if [[ "$*" == *"apply --filename -"* ]]; then cat > "$APPLIED"; fi\n'
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "LISTED": str(tmp_path / "listed.json"),
        "APPLIED": str(tmp_path / "applied.yaml"),
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_key_backup_keeps_every_key_portable_and_private_and_restores_it(tmp_path: Path) -> None:
    env = _stub_kubectl(tmp_path)
    Path(env["LISTED"]).write_text(json.dumps({"items": [KEY, {**KEY, "metadata": {**KEY["metadata"], "name": "k2"}}]}))
    backup = tmp_path / "keys.yaml"
    done = _run(env, "backup", str(backup), "--context", "kind-bakhmach-dev")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    keys = list(yaml.safe_load_all(backup.read_text()))
    assert [k["metadata"]["name"] for k in keys] == ["sealed-secrets-keyabcde", "k2"]
    for key in keys:
        # What only the source cluster knows is gone; the key, its type and its label stay.
        assert set(key["metadata"]) == {"name", "namespace", "labels"}
        assert key["data"] == KEY["data"] and key["type"] == "kubernetes.io/tls"
    calls = Path(env["CALLS"]).read_text()
    assert "--context kind-bakhmach-dev get secret --namespace sealed-secrets --selector " in calls

    done = _run(env, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    applied = list(yaml.safe_load_all(Path(env["APPLIED"]).read_text()))
    assert [k["metadata"]["name"] for k in applied] == ["sealed-secrets-keyabcde", "k2"]
    calls = Path(env["CALLS"]).read_text().splitlines()
    restart = "rollout restart deployment sealed-secrets-controller --namespace sealed-secrets"
    assert calls.index(restart) > next(i for i, c in enumerate(calls) if c.startswith("apply"))


def test_the_key_scripts_refuse_what_is_not_a_key_backup_and_an_empty_controller(tmp_path: Path) -> None:
    env = _stub_kubectl(tmp_path)
    Path(env["LISTED"]).write_text(json.dumps({"items": []}))
    done = _run(env, "backup", str(tmp_path / "none.yaml"))
    assert done.returncode == 1 and "no sealing key" in done.stderr and not (tmp_path / "none.yaml").exists()
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
    done = _run(env, "restore", str(other))
    assert done.returncode == 1 and "not a sealing key backup" in done.stderr
    assert not Path(env["APPLIED"]).exists()
