"""The policy pack as a whole: assembled as the engine loads it, configured per environment, in
step with the seed, and passing on every stack's plan; plus the helpers the per-area tests use.

Every policy runs through `hubctl.policy_run.run_policies`, the offline run: the same props the
engine would pass (camelCase inputs under `unknown_checking_proxy`), the same config files."""

from __future__ import annotations

import ast
import json
import runpy
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from components.labels import ttl_label
from components.observability.logging import ILM_LABEL
from hubctl.plan import REPO_ROOT
from hubctl.policy_run import PolicyReport, run_policies
from policy.bakhmach_policies import PACK_NAME, POLICIES, config_for, seed
from policy.tools import gen_config
from settings import data as program_data
from settings import front_door as program_front_door
from settings import observability as program_observability
from settings import seed as program_seed
from tests.planning import STACK_IDS, STACKS, planned

# ---- helpers for the per-area tests --------------------------------------------------------

K8S_PROVIDER = "urn:pulumi:prod::bakhmach-hub::pulumi:providers:kubernetes::prod-k8s"


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    *,
    provider: str | None = None,
    protect: bool = False,
    dependencies: list[str] | None = None,
) -> dict[str, Any]:
    """One plan entry, as `hubctl plan --json` writes it."""
    if provider is None and type_.startswith("kubernetes:"):
        provider = K8S_PROVIDER
    return {
        "urn": f"urn:pulumi:test::bakhmach-hub::{type_}::{name}",
        "type": type_,
        "name": name,
        "custom": True,
        "parent": None,
        "provider": provider,
        "dependencies": dependencies or [],
        "protect": protect,
        "inputs": inputs,
    }


def k8s_provider() -> dict[str, Any]:
    entry = resource("pulumi:providers:kubernetes", "prod-k8s", {"context": "prod"})
    entry["urn"] = K8S_PROVIDER
    return entry


def run(environment: str, *resources: dict[str, Any]) -> PolicyReport:
    plan = {
        "project": "bakhmach-hub",
        "stack": environment,
        "cloud": "aws",
        "resources": [k8s_provider(), *resources],
        "outputs": {"environment": environment},
    }
    return run_policies(plan, config_for(environment))


def found(report: PolicyReport, policy: str) -> list[str]:
    """Messages `policy` reported (and fails on any other policy's, so cases stay focused)."""
    assert report.skipped == [], report.skipped
    return [v.message for v in report.violations if v.policy == policy]


# Policies that judge how resources fit together (a database and its replicas, a cluster and its
# node pools, autoscaler, audit log, DNS and Prometheus): a single hand-made resource cannot satisfy them, so
# the per-resource cases leave them out. They run on real plans in tests/test_policy_mutations.py.
TOPOLOGY_POLICIES = frozenset(
    {
        "postgres-ha",
        "mongo-replica-set",
        "cache-ha",
        "cache-eviction-policy",
        "prod-multi-region-failover",
        "node-pool-bounds",
        "node-pool-mix",
        "cluster-multi-zone",
        "cluster-autoscaler-targets",
        "cluster-audit-logs",
        "cluster-network-policy-enforcement",
        "sealed-secrets-key-renewal",
        # A workload and the monitor that scrapes it; a cluster and its Prometheus.
        "context-services-scraped",
        "prometheus-retention-and-interval",
    }
)


def others(report: PolicyReport, policy: str) -> list[str]:
    """Blocking violations of any other resource-level policy (advisory ones, e.g. TLS 1.3, are
    checked on their own; topology policies above are judged on real plans)."""
    return [
        f"{v.policy}: {v.message}" for v in report.mandatory if v.policy != policy and v.policy not in TOPOLOGY_POLICIES
    ]


def urn_of(entry: dict[str, Any]) -> str:
    return str(entry["urn"])


# ---- the pack -------------------------------------------------------------------------------


def test_pack_main_only_assembles_the_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    source = (REPO_ROOT / "policy" / "__main__.py").read_text()
    statements = ast.parse(source).body
    calls = [s for s in statements if not isinstance(s, ast.Import | ast.ImportFrom | ast.Expr) or _is_call(s)]
    assert len(calls) == 1, "policy/__main__.py should import the policies and construct one PolicyPack"

    captured: dict[str, Any] = {}

    class FakePack:
        def __init__(self, **kwargs: Any) -> None:
            captured.update(kwargs)

    import pulumi_policy

    fake = types.ModuleType("pulumi_policy")
    fake.__dict__.update(pulumi_policy.__dict__)
    fake.PolicyPack = FakePack  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pulumi_policy", fake)
    monkeypatch.syspath_prepend(str(REPO_ROOT / "policy"))
    runpy.run_path(str(REPO_ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert captured["name"] == PACK_NAME
    assert [p.name for p in captured["policies"]] == [p.name for p in POLICIES]
    assert captured["enforcement_level"] == EnforcementLevel.MANDATORY


def _is_call(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)


def test_policy_names_are_unique() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("environment", seed.ENVIRONMENTS)
def test_checked_in_config_matches_the_pack(environment: str) -> None:
    """Regenerate with `.venv/bin/python policy/tools/gen_config.py`."""
    path = REPO_ROOT / "policy" / "config" / f"{environment}.json"
    assert json.loads(path.read_text()) == config_for(environment)
    assert path.read_text() == gen_config.render(environment)


def test_prod_and_staging_block_dev_reports() -> None:
    for environment in ("staging", "prod"):
        levels = {name: entry["enforcementLevel"] for name, entry in config_for(environment).items()}
        # Report-only by nature: a TLS floor a service cannot raise, a credential a backend cannot split.
        assert levels.pop("tls13-where-offered") == "advisory"
        assert levels.pop("shared-data-credentials") == "advisory"
        assert set(levels.values()) == {"mandatory"}
    assert {e["enforcementLevel"] for e in config_for("dev").values()} == {"advisory"}


def test_pack_seed_numbers_match_the_program_seed() -> None:
    assert {c.slug for c in (program_seed.SHARED_CONTEXT, *program_seed.BUSINESS_CONTEXTS)} == seed.CONTEXTS
    for env, profile in program_seed.ENVIRONMENT_PROFILES.items():
        assert seed.REPLICA_FLOOR[env] == profile.replicas_floor
        assert (env in seed.PROTECTED_ENVIRONMENTS) == profile.protect_stateful
        if profile.autoscaling:
            assert seed.HPA_TARGETS[env] == {
                "cpu": profile.autoscaling.cpu_percent,
                "memory": profile.autoscaling.memory_percent,
            }
            assert profile.autoscaling.max_replicas == seed.HPA_MAX_REPLICAS
    assert seed.CLUSTER_MAX_NODES == program_seed.CLUSTER_AUTOSCALING_MAX_NODES
    assert seed.BACKUP_RETENTION_DAYS == program_seed.DATABASE_BACKUP_RETENTION_DAYS
    assert seed.AUTOSCALER_UTILISATION == program_seed.CLUSTER_AUTOSCALING_TARGET_UTILISATION / 100
    assert seed.RPO_SECONDS == program_seed.RPO_MINUTES * 60
    assert seed.REDIS_EVICTION_POLICY == program_data.REDIS_EVICTION_POLICY
    assert f"{seed.SCRAPE_INTERVAL_SECONDS}s" == program_observability.SCRAPE_INTERVAL
    assert f"{seed.METRICS_RETENTION_SECONDS // 86400}d" == program_observability.METRICS_RETENTION
    assert seed.LOG_RETENTION_MIN_DAYS == program_observability.LOG_MIN_RETENTION_DAYS
    assert seed.LOG_RETENTION_MAX_DAYS == program_observability.LOG_RETENTION_DAYS
    assert seed.ILM_POLICIES_LABEL == ILM_LABEL
    assert seed.ACCESS_TOKEN_SECONDS == program_front_door.ACCESS_TOKEN_SECONDS
    assert seed.REFRESH_TOKEN_SECONDS == program_front_door.REFRESH_TOKEN_SECONDS
    assert seed.GATEWAY_TLS_MINIMUM == program_front_door.GATEWAY_TLS_MINIMUM
    for env, profile in program_seed.ENVIRONMENT_PROFILES.items():
        assert seed.NODE_FLOOR[env] == profile.nodes
        assert seed.TTL[env] == ttl_label(env)
        assert (env in seed.MULTI_ZONE_ENVIRONMENTS) == profile.multi_zone
        if profile.autoscaling:
            assert (
                profile.autoscaling.scale_up_seconds,
                profile.autoscaling.scale_down_seconds,
                profile.autoscaling.cooldown_seconds,
            ) == (seed.HPA_SCALE_UP_SECONDS, seed.HPA_SCALE_DOWN_SECONDS, seed.HPA_COOLDOWN_SECONDS)
        sizes = program_data.SIZES[env]
        assert seed.POSTGRES_REPLICAS[env] == sizes.postgres.read_replicas == sizes.postgres.instances - 1
        assert seed.MONGO_MEMBERS[env] == sizes.mongo.members
        assert seed.REDIS_NODES[env] == sizes.redis.leaders * (1 + sizes.redis.followers_per_leader)


def test_hand_made_cases_name_policies_of_the_pack() -> None:
    """Each test_policy_<area>.py lists hand-made cases in CASES: {policy name: (compliant,
    violating)}. Every policy's real-plan case is in tests/test_policy_mutations.py."""
    from tests import (
        test_policy_capacity,
        test_policy_data,
        test_policy_network,
        test_policy_tagging,
        test_policy_workloads,
    )

    covered: set[str] = set()
    for module in (test_policy_workloads, test_policy_network, test_policy_data, test_policy_tagging):
        covered |= set(module.CASES)
    covered |= set(test_policy_capacity.CASES)
    assert covered <= {p.name for p in POLICIES}


# ---- every stack ----------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cloud"), STACKS, ids=STACK_IDS)
def test_every_stack_passes_every_mandatory_policy(stack: str, cloud: str) -> None:
    plan = planned(stack, cloud).to_json()
    report = run_policies(plan)
    assert report.environment == stack
    assert [f"{v.policy} {v.urn}: {v.message}" for v in report.mandatory] == []
    assert report.skipped == []


def test_a_seeded_misconfiguration_fails_the_offline_run(tmp_path: Path) -> None:
    plan = planned("prod", "aws").to_json()
    baseline = run_policies(plan)
    deployment = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    container = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    seeded = tmp_path / "prod-seeded.json"
    seeded.write_text(json.dumps(plan))

    def hubctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hubctl", "policy", *args], cwd=REPO_ROOT, capture_output=True, text=True
        )

    failed = hubctl("--plan", str(seeded))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "[mandatory] pod-security  " + deployment["urn"] in failed.stdout
    assert "container " + container["name"] + ": readOnlyRootFilesystem is not true" in failed.stdout

    as_json = json.loads(hubctl("--plan", str(seeded), "--json").stdout)
    assert as_json["mandatory"] == len(baseline.mandatory) + 1
    new = [v for v in as_json["violations"] if v["policy"] == "pod-security"]
    assert new == [
        {
            "policy": "pod-security",
            "level": "mandatory",
            "urn": deployment["urn"],
            "message": f"container {container['name']}: readOnlyRootFilesystem is not true",
        }
    ]


def test_a_clean_plan_exits_zero(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(planned("prod", "aws").dumps())
    done = subprocess.run(
        [sys.executable, "-m", "hubctl", "policy", "--plan", str(plan), "--stack", "prod", "--cloud", "aws"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed: 0 mandatory, 0 advisory violation(s)" in done.stdout


def test_dev_reports_without_blocking() -> None:
    plan = planned("dev", "kind").to_json()
    before = {(v.policy, v.urn, v.message) for v in run_policies(plan).violations}
    deployment = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:latest"
    report = run_policies(plan)
    added = [v for v in report.violations if (v.policy, v.urn, v.message) not in before]
    assert [(v.policy, v.level) for v in added] == [("pinned-images", "advisory")]
    assert report.mandatory == []


def test_unknown_values_skip_the_policy_like_a_preview() -> None:
    rds = resource(
        "aws:rds/instance:Instance",
        "db",
        {"storageEncrypted": "[unknown]", "tags": {"environment": "prod", "owner": "o", "managed-by": "pulumi"}},
    )
    report = run_policies(
        {"stack": "prod", "outputs": {"environment": "prod"}, "resources": [rds]},
        {"data-encryption-at-rest": {"enforcementLevel": "mandatory", "environment": "prod"}},
        policies=[p for p in POLICIES if p.name == "data-encryption-at-rest"],
    )
    assert report.violations == []
    assert [(s.policy, s.level) for s in report.skipped] == [("data-encryption-at-rest", "advisory")]
    assert "storageEncrypted" in report.skipped[0].message


def test_config_levels_follow_the_engines_rules() -> None:
    """A policy's own entry wins over `all`, which wins over the policy's default; `disabled` skips."""
    bad = resource(
        "aws:ec2/vpc:Vpc", "vpc", {"tags": {"environment": "prod"}}, provider="urn:none"
    )  # missing owner/managed-by tags
    plan = {"stack": "prod", "outputs": {"environment": "prod"}, "resources": [bad]}
    only = [p for p in POLICIES if p.name == "cloud-resource-tags"]
    assert [v.level for v in run_policies(plan, {}, only).violations] == ["mandatory"]
    assert [v.level for v in run_policies(plan, {"all": "advisory"}, only).violations] == ["advisory"]
    levels = run_policies(plan, {"all": "advisory", "cloud-resource-tags": "mandatory"}, only)
    assert [v.level for v in levels.violations] == ["mandatory"]
    assert run_policies(plan, {"cloud-resource-tags": {"enforcementLevel": "disabled"}}, only).violations == []


def test_the_pack_does_not_import_the_program() -> None:
    """The engine loads policy/ on its own (or from Pulumi Cloud): no settings, components, hubctl."""
    script = (
        "import sys\n"
        "for name in ('settings', 'components', 'hubctl'):\n"
        "    sys.modules[name] = None\n"
        "import bakhmach_policies\n"
        "print(len(bakhmach_policies.POLICIES))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT / "policy", capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(POLICIES)
