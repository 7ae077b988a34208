"""How each application service receives its data-service credentials: as files from the
namespace's `data-<service>` Secrets, mounted read-only, never as secret env vars (checkov
CKV_K8S_35; env vars leak into crash dumps, child processes and /proc/<pid>/environ)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT, Plan
from tests.planning import of_type, one

# Which data services each service uses, written out here independently of the code (the seed's
# service descriptions, as settings/seed.py reads them), with each service's namespace.
NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "auth-service": ("platform", ("postgres", "redis")),
    "bakhmach-core": ("bakhmach-hub", ("postgres", "mongo", "redis", "kafka")),
    "slon-finance": ("slon-credit", ("postgres", "redis", "kafka")),
    "audityzer-audit": ("audityzer-eu", ("postgres", "mongo", "redis", "kafka")),
    "debt-agent-ai": ("debt-defense-agent", ("mongo", "redis", "kafka")),
    "trade-connector": ("black-sea-corridor", ("postgres", "mongo", "kafka")),
    "infusion-processor": ("cannabis-infusion", ("postgres", "kafka")),
}
ALL_DATA = ("postgres", "mongo", "redis", "kafka")
MOUNT_ROOT = "/var/run/secrets/bakhmach"
# The volume types Pod Security Standards "restricted" allows.
PSS_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod(plan: Plan, service: str) -> dict[str, Any]:
    pod_spec: dict[str, Any] = one(plan, "Deployment", service, NEEDS[service][0])["spec"]["template"]["spec"]
    return pod_spec


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_files(volume: dict[str, Any], mount_path: str) -> dict[str, str]:
    """{Secret key: absolute path of its file} for a secret or projected volume mounted at mount_path."""
    if "secret" in volume:
        sources = [volume["secret"]]
    else:
        sources = [s["secret"] for s in volume["projected"]["sources"] if "secret" in s]
    files = {}
    for source in sources:
        # Without items every key is a file named after the key.
        for item in source.get("items") or []:
            files[item["key"]] = f"{mount_path}/{item['path']}"
    return files


@pytest.mark.parametrize("service", sorted(NEEDS))
def test_each_data_secret_a_service_uses_is_mounted_read_only_as_files(any_plan: Plan, service: str) -> None:
    namespace, needs = NEEDS[service]
    spec = pod(any_plan, service)
    (container,) = spec["containers"]
    env = env_of(container)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    for data in needs:
        prefix = data.upper()
        # Exactly one volume carries this data service's Secret, and it is the namespace's own.
        carrying = [
            v
            for v in volumes.values()
            if v.get("secret", {}).get("secretName") == f"data-{data}"
            or any(s.get("secret", {}).get("name") == f"data-{data}" for s in v.get("projected", {}).get("sources", []))
        ]
        assert len(carrying) == 1, f"{service}: volumes carrying data-{data}: {carrying}"
        (volume,) = carrying
        one(any_plan, "Secret", f"data-{data}", namespace)
        source = volume.get("secret") or volume["projected"]
        # Readable by the app (UID 10001 reads through fsGroup 10001's group bit), by no other user.
        assert source["defaultMode"] in (0o440, 0o400), oct(source["defaultMode"])
        assert source["defaultMode"] & 0o007 == 0
        mount = mounts[volume["name"]]
        assert mount["readOnly"] is True
        assert mount["mountPath"] == f"{MOUNT_ROOT}/{data}"
        assert "subPath" not in mount  # a subPath mount would never see a rotated Secret
        files = secret_files(volume, mount["mountPath"])
        for key in ("username", "password"):
            variable = env[f"{prefix}_{key.upper()}_FILE"]
            assert set(variable) == {"name", "value"}, variable  # a plain path, not a reference
            assert variable["value"] == files[key], f"{service}: {prefix}_{key.upper()}_FILE"
            assert variable["value"].startswith(mount["mountPath"] + "/")
            assert f"{prefix}_{key.upper()}" not in env
        # Where the data service is stays a plain env var.
        assert "value" in env[f"{prefix}_HOST"] and env[f"{prefix}_PORT"]["value"].isdigit()
        assert env[f"{prefix}_TLS"]["value"] in ("true", "false")
    for data in set(ALL_DATA) - set(needs):
        # A service sees only the credentials of the data services it uses.
        assert f"{data.upper()}_PASSWORD_FILE" not in env and f"{data.upper()}_HOST" not in env
        assert not [v for v in volumes.values() if v.get("secret", {}).get("secretName") == f"data-{data}"]


@pytest.mark.parametrize("service", sorted(NEEDS))
def test_credential_files_keep_the_pod_restricted(any_plan: Plan, service: str) -> None:
    spec = pod(any_plan, service)
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"] == 10001
    for volume in spec["volumes"]:
        kinds = set(volume) - {"name"}
        assert len(kinds) == 1 and kinds <= PSS_RESTRICTED_VOLUMES, volume
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {v["name"]: v for v in spec["volumes"]}["tmp"]["emptyDir"]["sizeLimit"] == "256Mi"
    # Every mount but the scratch volume is read-only.
    assert all(m.get("readOnly") is True for m in container["volumeMounts"] if m["name"] != "tmp")


def test_no_workload_takes_a_secret_into_its_environment(any_plan: Plan) -> None:
    # Every Deployment on every cluster (prod's secondary region included), every container.
    deployments = of_type(any_plan, "kubernetes:apps/v1:Deployment")
    assert len(deployments) >= len(NEEDS)
    for deployment in deployments:
        spec = deployment.inputs["spec"]["template"]["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            for variable in container.get("env", []):
                assert "secretKeyRef" not in variable.get("valueFrom", {}), (deployment.name, variable["name"])
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, (deployment.name, source)


def test_checkov_no_longer_skips_secrets_as_env_vars() -> None:
    config = yaml.safe_load((REPO_ROOT / ".checkov.yaml").read_text())
    assert "CKV_K8S_35" not in config.get("skip-check", [])
