"""Observability settings: bad values fail before anything registers, naming the key and what is
allowed; the on-call endpoint is a secret that staging and prod cannot deploy without."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT, run_plan
from settings import SettingsError, load_settings, resolve_stack
from settings.load import check_on_call
from tests.planning import k8s, one, primary_provider
from tests.test_settings import prod_values


def prod_with(observability: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    values = copy.deepcopy(prod_values())
    values["observability"] = {"onCall": {"receiver": "pagerduty"}} | (observability or {})
    return values | extra


def spec_error(values: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as caught:
        settings = load_settings(values, source="Pulumi.prod.yaml")
        resolve_stack(settings, "Pulumi.prod.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("observability", "expected"),
    [
        (
            {"onCall": {}},
            "bakhmach-hub:observability.onCall.receiver: prod must route alerts to someone (allowed: pagerduty, "
            "slack, msteams; `none` is for dev only)",
        ),
        (
            {"onCall": {"receiver": "none"}},
            "bakhmach-hub:observability.onCall.receiver: prod must route alerts to someone",
        ),
        (
            {"onCall": {"receiver": "email"}},
            "bakhmach-hub:observability.onCall.receiver: Input should be 'pagerduty', 'slack', 'msteams' or 'none'",
        ),
        (
            {"logging": {"enabled": False}},
            "bakhmach-hub:observability.logging.enabled: false is not allowed in prod",
        ),
        (
            {"logging": {"retentionDays": 120}},
            "bakhmach-hub:observability.logging.retentionDays: Input should be less than or equal to 90",
        ),
        (
            {"logging": {"retentionDays": 14}},
            "bakhmach-hub:observability.logging.retentionDays: Input should be greater than or equal to 30",
        ),
        (
            {"logging": {"hotDays": 60, "retentionDays": 45}},
            "bakhmach-hub:observability.logging.hotDays: 60 is not below retentionDays 45",
        ),
        (
            {"metrics": {"storageGib": 50}},
            "bakhmach-hub:observability.metrics.storageGib: 50 is below prod's 250 GiB",
        ),
        (
            {"alerts": {"latencyP95Ms": 800, "latencyP99Ms": 400}},
            "bakhmach-hub:observability.alerts.latencyP99Ms: 400 is below latencyP95Ms 800",
        ),
        (
            {"alerts": {"redisHitRatioPercent": 0}},
            "bakhmach-hub:observability.alerts.redisHitRatioPercent: Input should be greater than or equal to 1",
        ),
        ({"tracing": {}}, "bakhmach-hub:observability.tracing: unknown key"),
    ],
)
def test_bad_observability_settings_are_named_with_what_is_allowed(
    observability: dict[str, Any], expected: str
) -> None:
    values = prod_with()
    values["observability"] = observability if "onCall" in observability else values["observability"] | observability
    assert expected in spec_error(values)


def test_observability_problems_come_in_one_error_with_the_stack_s_other_problems() -> None:
    """resolve_stack reports every rule across keys at once: observability's beside the data
    layer's, so a stack file is fixed in one pass."""
    values = prod_with({"onCall": {"receiver": "none"}, "logging": {"enabled": False}})
    values["data"] = {"postgres": {"storageGib": 10}}
    message = spec_error(values)
    assert message.startswith("invalid stack settings in Pulumi.prod.yaml:\n")
    for key in ("observability.onCall.receiver", "observability.logging.enabled", "data.postgres.storageGib"):
        assert f"\n  bakhmach-hub:{key}: " in message, key


def test_the_observability_spec_scrapes_the_data_services_the_stack_runs_in_cluster() -> None:
    stack = resolve_stack(load_settings(prod_with(), source="Pulumi.prod.yaml"), "Pulumi.prod.yaml")
    assert stack.observability.in_cluster_data == stack.data.in_cluster
    assert "mongo" in stack.observability.in_cluster_data and "postgres" not in stack.observability.in_cluster_data


def test_dev_routes_nowhere_and_runs_no_logging_by_default() -> None:
    values = {"environment": "dev", "cloud": "kind", "owner": "platform-team", "cluster": {"kubeconfigContext": "x"}}
    spec = resolve_stack(load_settings(values), "Pulumi.dev.yaml").observability
    assert spec.on_call.receiver == "none" and not spec.logging_enabled
    assert spec.trace_store == "badger"


def test_the_on_call_endpoint_must_be_a_secret() -> None:
    settings = load_settings(prod_with(onCallEndpoint="https://hooks.example/abc"), source="Pulumi.prod.yaml")
    with pytest.raises(SettingsError) as caught:
        check_on_call(settings, "Pulumi.prod.yaml", endpoint_is_secret=False, deploying=False)
    message = str(caught.value)
    assert "bakhmach-hub:onCallEndpoint: is stored in plain text (allowed: a secret" in message
    assert "https://hooks.example/abc" not in message  # the error never repeats the value
    check_on_call(settings, "Pulumi.prod.yaml", endpoint_is_secret=True, deploying=True)


def test_staging_and_prod_cannot_be_deployed_without_the_on_call_endpoint() -> None:
    settings = load_settings(prod_with(), source="Pulumi.prod.yaml")
    with pytest.raises(SettingsError, match=r"bakhmach-hub:onCallEndpoint: required in prod for the pagerduty"):
        check_on_call(settings, "Pulumi.prod.yaml", endpoint_is_secret=False, deploying=True)
    # A preview (and the offline plan) only warns: it shows the routes that will exist.
    check_on_call(settings, "Pulumi.prod.yaml", endpoint_is_secret=False, deploying=False)


def write_stack(tmp_path: Path, stack: str, change: dict[str, Any]) -> Path:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    document["config"].update(change)
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_plain_text_endpoint_in_a_stack_file_stops_the_program_before_any_registration(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "staging", {"bakhmach-hub:onCallEndpoint": "R0UT1NGKEY"})
    with pytest.raises(SettingsError) as caught:
        run_plan("staging", "aws", stack_file=path)
    assert "bakhmach-hub:onCallEndpoint: is stored in plain text" in str(caught.value)
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


def test_a_secret_endpoint_reaches_alertmanager_only_as_a_mounted_secret(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "staging", {"bakhmach-hub:onCallEndpoint": {"secure": "v1:abc"}})
    plan = run_plan("staging", "aws", stack_file=path)
    assert one(plan, "Secret", "alertmanager-on-call", "monitoring")["stringData"] == {"endpoint": "[secret]"}
    assert "offline-placeholder-secret" not in plan.dumps()


def test_dev_can_switch_logging_on(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "dev", {"bakhmach-hub:observability": {"logging": {"enabled": True}}})
    plan = run_plan("dev", stack_file=path)
    (es,) = k8s(plan, "Elasticsearch", provider=primary_provider(plan))
    ((node_set,),) = [es["spec"]["nodeSets"]]
    assert node_set["count"] == 1 and "node.roles" not in node_set["config"]  # one node, every role
    # Traces stay in Jaeger's local store on a laptop.
    assert k8s(plan, "CronJob", "jaeger-trace-retention") == []
