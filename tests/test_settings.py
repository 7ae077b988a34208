"""Bad stack settings fail before anything is registered, naming the key, the value and what is allowed."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT, run_plan
from settings import SettingsError, load_settings

APP_SERVICES = [
    "auth-service",
    "bakhmach-core",
    "slon-finance",
    "audityzer-audit",
    "debt-agent-ai",
    "trade-connector",
    "infusion-processor",
]


def prod_values() -> dict[str, Any]:
    return {
        "environment": "prod",
        "cloud": "aws",
        "owner": "platform-team",
        "cluster": {},
        "services": {n: {"image": f"ghcr.io/bakhmach-business-hub/{n}:1.0.0"} for n in APP_SERVICES},
        # Prod's second region, failover zone and the runners' path to the API, all required in
        # prod (settings/cloud.py; tests/test_cloud_settings.py, tests/test_api_access.py).
        "cloudCluster": {
            "aws": {
                "region": "eu-central-1",
                "secondaryRegion": "eu-west-1",
                "apiAccess": {"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/24"]},
            },
            # The cloud zone below the public domain, which Cloudflare's zone delegates to it.
            "dns": {"zone": "origin.bakhmach-business-hub.com"},
        },
        # The front door's public names, behind Cloudflare (settings/front_door.py).
        "gateway": {"domain": "bakhmach-business-hub.com"},
        "edge": {"provider": "cloudflare", "zoneId": "0123456789abcdef0123456789abcdef"},
    }


def error_for(change: dict[str, Any]) -> str:
    values = copy.deepcopy(prod_values())
    for dotted, value in change.items():
        *path, last = dotted.split(".")
        target = values
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    with pytest.raises(SettingsError) as caught:
        load_settings(values, source="Pulumi.prod.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"services.auth-service.replicas": -1},
            ["services.auth-service.replicas", "greater than or equal to 1", "-1"],
        ),
        ({"cloud": "gcp"}, ["bakhmach-hub:cloud", "'gcp'", "'kind', 'aws' or 'azure'"]),
        ({"environment": "qa"}, ["bakhmach-hub:environment", "'qa'", "'dev', 'staging' or 'prod'"]),
        (
            {"services.payments": {"image": "x/y:1"}},
            ["bakhmach-hub:services", "'payments'", "auth-service", "infusion-processor"],
        ),
        ({"services.slon-finance.cpu": "lots"}, ["services.slon-finance.cpu", "'lots'", "'500m'"]),
        ({"services.slon-finance.memory": "huge"}, ["services.slon-finance.memory", "'huge'", "Mi, Gi"]),
        (
            {"services.auth-service.image": "auth:latest"},
            ["services.auth-service.image", "latest", "fixed tag or a digest"],
        ),
        ({"services.auth-service.replicas": 2}, ["services.auth-service.replicas", "below the prod floor of 3"]),
        ({"cloud": "kind"}, ["bakhmach-hub:cloud", "'kind' is not allowed for environment 'prod'", "aws, azure"]),
        ({"clustr": {}}, ["bakhmach-hub:clustr", "unknown key"]),
        ({"cluster.kubernetesVersion": "1.20"}, ["cluster.kubernetesVersion", "'1.20'"]),
        (
            {"cluster.kubeconfigContext": "bakhmach-prod"},
            ["bakhmach-hub:cluster.kubeconfigContext", "not used on aws", "leave the key out"],
        ),
    ],
)
def test_bad_value_is_named_with_what_is_allowed(change: dict[str, Any], expected: list[str]) -> None:
    message = error_for(change)
    assert message.startswith("invalid stack settings in Pulumi.prod.yaml:")
    for fragment in expected:
        assert fragment in message


def test_missing_key_is_named() -> None:
    values = prod_values()
    del values["owner"]
    with pytest.raises(SettingsError, match="bakhmach-hub:owner: required key is missing"):
        load_settings(values, source="Pulumi.prod.yaml")


def test_staging_and_prod_require_real_images() -> None:
    values = prod_values()
    del values["services"]["debt-agent-ai"]
    with pytest.raises(SettingsError, match=r"image: required in prod for: debt-agent-ai"):
        load_settings(values)


def test_valid_settings_resolve_the_seed() -> None:
    settings = load_settings(prod_values())
    assert settings.service("slon-finance").resources.memory_request == "1536Mi"
    assert [s.name for s in settings.application_services] == APP_SERVICES


def write_stack(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump({"config": {f"bakhmach-hub:{k}": v for k, v in config.items()}}))
    return path


def test_bad_stack_file_stops_the_program_before_any_registration(tmp_path: Path) -> None:
    values = prod_values()
    values["services"]["auth-service"]["replicas"] = -1
    with pytest.raises(SettingsError) as caught:
        run_plan("prod", stack_file=write_stack(tmp_path, values))
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


def test_cli_prints_the_message_without_a_traceback(tmp_path: Path) -> None:
    values = prod_values()
    values["cloud"] = "gcp"
    done = subprocess.run(
        [sys.executable, "-m", "hubctl", "plan", "prod", "--stack-file", str(write_stack(tmp_path, values))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "bakhmach-hub:cloud: Input should be 'kind', 'aws' or 'azure' (got 'gcp')" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_unknown_cloud_on_the_command_line_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hubctl", "plan", "prod", "--cloud", "gcp"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "argument --cloud: invalid choice: 'gcp'" in done.stderr
    assert "aws" in done.stderr and "azure" in done.stderr


def test_settings_are_read_from_the_engine_environment_as_under_pulumi_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python language host hands config over in PULUMI_CONFIG, not through the runtime."""
    import contextvars
    import json

    # As `pulumi up` of prod passes them: the on-call endpoint decrypted, its key listed as secret.
    endpoint = {"observability": {"onCall": {"receiver": "pagerduty"}}, "onCallEndpoint": "routing-key"}
    values = {
        f"bakhmach-hub:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in (prod_values() | endpoint).items()
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values | {"aws:region": "eu-central-1"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["bakhmach-hub:onCallEndpoint"]))
    settings = contextvars.Context().run(load_settings)
    assert settings.environment == "prod"
    assert settings.service("auth-service").replicas == 3


def test_provider_region_must_agree_with_the_cluster_region(tmp_path: Path) -> None:
    stack = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    stack["config"]["aws:region"] = "us-east-1"  # cloudCluster.aws.region says eu-central-1
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(stack))
    with pytest.raises(SettingsError) as caught:
        run_plan("prod", stack_file=path)
    message = str(caught.value)
    assert "aws:region: 'us-east-1' differs from bakhmach-hub:cloudCluster.aws.region 'eu-central-1'" in message
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


def test_kind_needs_the_kubeconfig_context_of_its_cluster() -> None:
    values = {"environment": "dev", "cloud": "kind", "owner": "platform-team"}
    with pytest.raises(SettingsError, match=r"bakhmach-hub:cluster\.kubeconfigContext: required for kind"):
        load_settings(values, source="Pulumi.dev.yaml")
