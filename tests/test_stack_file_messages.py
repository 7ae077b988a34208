"""A bad stack file is named as the file that was read: `--stack-file` points elsewhere than
`Pulumi.<stack>.yaml`, and every message says so, wherever the rule that caught it lives."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.cli import main
from tests.test_settings import prod_values


def _stack_file(tmp_path: Path, values: dict[str, Any], extra: str = "") -> Path:
    path = tmp_path / "proposed" / "prod-change.yaml"
    path.parent.mkdir(exist_ok=True)
    config = {f"bakhmach-hub:{k}": v for k, v in values.items()} | {"aws:region": "eu-central-1"}
    path.write_text(yaml.safe_dump({"config": config}) + extra)
    return path


def _plan_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["plan", "prod", "--summary", "--stack-file", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    return err


def _with(change: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(prod_values())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = values
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return values


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # caught by the settings model (settings/model.py via settings/load.py)
        ({"owner": "Platform Team"}, "bakhmach-hub:owner: String should match pattern"),
        # caught across environment and cloud settings (settings/stack.py resolve_stack)
        (
            {"environment": "staging", "services.auth-service.replicas": 2},
            "bakhmach-hub:cloudCluster.aws.secondaryRegion",
        ),
        # caught by the data layer's rules (settings/data.py, reported by resolve_stack)
        ({"data": {"mongo": {"backend": "managed"}}}, "bakhmach-hub:data.mongo.backend"),
    ],
    ids=["model", "cloud-settings", "data-layer"],
)
def test_every_settings_error_names_the_file_that_was_read(
    change: dict[str, Any], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stack_file(tmp_path, _with(change))
    err = _plan_error(path, capsys)
    assert err.startswith(f"hubctl: invalid stack settings in {path}:\n"), err
    assert expected in err
    assert "Pulumi.prod.yaml" not in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  bakhmach-hub:started: 2026-11-29\n", "bakhmach-hub:started: not a config value (Object of type date"),
        ("  7: seven\n", "config key 7 is not a string"),
        ("  bakhmach-hub:ratio: .nan\n", "bakhmach-hub:ratio: not a config value (Out of range float values"),
        ("  bakhmach-hub:x: [unclosed\n", "is not valid YAML"),
    ],
    ids=["date", "int-key", "nan", "yaml"],
)
def test_what_yaml_can_say_but_config_cannot_is_refused(
    extra: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stack_file(tmp_path, prod_values(), extra)
    err = _plan_error(path, capsys)
    assert err.startswith(f"hubctl: {path}"), err
    assert expected in err


def test_a_stack_file_that_is_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"config:\n  bakhmach-hub:owner: \xff\xfe\n")
    assert _plan_error(path, capsys) == f"hubctl: {path}: not UTF-8 text\n"
    assert _plan_error(tmp_path / "absent.yaml", capsys) == f"hubctl: no stack file {tmp_path / 'absent.yaml'}\n"


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [
        ({"image": "kong:3.9.1"}, "bakhmach-hub:services.api-gateway.image: not settable"),
        ({"data": ["postgres"]}, "bakhmach-hub:services.api-gateway.data: not settable"),
        ({"image": "kong:3.9.1", "args": ["x"]}, "bakhmach-hub:services.api-gateway: args, image are not settable"),
    ],
)
def test_api_gateway_settings_that_would_change_nothing_are_refused(
    gateway: dict[str, Any], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway runs Envoy Gateway's pinned proxy and keeps no data: only its size is the
    stack file's (tests/test_gateway.py applies replicas, cpu and memory)."""
    values = prod_values()
    values["services"]["api-gateway"] = gateway
    err = _plan_error(_stack_file(tmp_path, values), capsys)
    assert expected in err
    assert "(allowed: cpu, memory, replicas)" in err


def test_a_stack_name_pulumi_would_refuse_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", "prod; rm -rf /", "--summary"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "hubctl plan: argument stack: 'prod; rm -rf /' is not a stack name (allowed: letters, digits, '_', '.', '-') "
        "(see `hubctl plan --help`)\n"
    )
