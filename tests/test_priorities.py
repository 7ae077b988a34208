"""Scheduling under pressure: every workload of every stack names a PriorityClass, and the classes
rank the platform above the data layer above the business contexts (components/priorities.py).
Also: workloads carry `app.kubernetes.io/instance`, and images pinned by digest pass through."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubctl.plan import REPO_ROOT, Plan, PlannedResource, run_plan
from settings import load_settings, seed
from tests.planning import k8s, of_type
from tests.test_settings import prod_values

PLATFORM, DATA, CONTEXT = "bakhmach-platform-critical", "bakhmach-data", "bakhmach-context"
SYSTEM = "system-cluster-critical"
# Where each chart the stack installs takes its pods' priority class, and which class it gets.
RELEASE_CLASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "cloudnative-pg": (("priorityClassName",), PLATFORM),
    "plugin-barman-cloud": (("priorityClassName",), PLATFORM),
    "cert-manager": (("global", "priorityClassName"), PLATFORM),
    "redis-operator": (("priorityClassName",), PLATFORM),
    "strimzi": (("priorityClassName",), PLATFORM),
    "sealed-secrets": (("priorityClassName",), PLATFORM),
    "metrics-server": (("priorityClassName",), SYSTEM),
    "vpa": (("priorityClassName",), SYSTEM),
    "cluster-autoscaler": (("priorityClassName",), SYSTEM),
    "external-dns": (("priorityClassName",), SYSTEM),
}
# Charts with no value for it (docs/VERSIONS.md says which and why).
NO_PRIORITY_VALUE = {"psmdb-operator"}


def kubernetes_providers(plan: Plan) -> list[PlannedResource]:
    providers = of_type(plan, "pulumi:providers:kubernetes")
    assert len(providers) == (2 if plan.stack == "prod" else 1)
    return providers


def test_the_classes_rank_platform_above_data_above_contexts(any_plan: Plan) -> None:
    for provider in kubernetes_providers(any_plan):
        classes = {c["metadata"]["name"]: c for c in k8s(any_plan, "PriorityClass", provider=provider.urn)}
        assert set(classes) == {PLATFORM, DATA, CONTEXT}
        assert classes[PLATFORM]["value"] > classes[DATA]["value"] > classes[CONTEXT]["value"] > 0
        # Below Kubernetes' own critical classes (2,000,000,000 and up) and user-definable.
        assert classes[PLATFORM]["value"] <= 1_000_000_000
        assert not any(c["globalDefault"] for c in classes.values())


def test_every_service_names_its_class_and_waits_for_it(any_plan: Plan) -> None:
    classes = {
        (r.provider, r.inputs["metadata"]["name"]): r.urn
        for r in of_type(any_plan, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    deployments = of_type(any_plan, "kubernetes:apps/v1:Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment.inputs["spec"]["template"]
        context = pod["metadata"]["labels"]["bakhmach.io/context"]
        expected = PLATFORM if context == seed.SHARED_CONTEXT.slug else CONTEXT
        assert pod["spec"]["priorityClassName"] == expected, deployment.name
        assert classes[(deployment.provider, expected)] in deployment.dependencies


def test_the_shared_platform_services_outrank_the_business_contexts(prod_plan: Plan) -> None:
    auth = next(
        d for d in of_type(prod_plan, "kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "auth-service"
    )
    finance = next(
        d for d in of_type(prod_plan, "kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "slon-finance"
    )
    assert auth.inputs["spec"]["template"]["spec"]["priorityClassName"] == PLATFORM
    assert finance.inputs["spec"]["template"]["spec"]["priorityClassName"] == CONTEXT


def _get(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        values = values.get(key, {})
    return values


def test_every_chart_names_a_class_where_the_chart_takes_one(any_plan: Plan) -> None:
    releases = of_type(any_plan, "kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        chart = release.inputs["name"]
        if chart in NO_PRIORITY_VALUE:
            continue
        assert chart in RELEASE_CLASSES, f"{chart}: say which class it runs in (tests/test_priorities.py)"
        path, expected = RELEASE_CLASSES[chart]
        assert _get(release.inputs["values"], path) == expected, chart
        if expected != SYSTEM:  # Kubernetes' own classes always exist; ours must come first
            assert any(":PriorityClass::" in dep for dep in release.dependencies), chart


def data_pod_classes(plan: Plan) -> dict[str, list[str]]:
    """Every class a data custom resource gives its pods, by kind."""
    found: dict[str, list[str]] = {}
    for r in plan.resources:
        kind, spec = r.inputs.get("kind"), r.inputs.get("spec", {})
        if kind == "Cluster" and r.inputs.get("apiVersion") == "postgresql.cnpg.io/v1":
            found.setdefault(kind, []).append(spec.get("priorityClassName"))
        elif kind == "PerconaServerMongoDB":
            found.setdefault(kind, []).extend(rs.get("priorityClassName") for rs in spec["replsets"])
        elif kind == "RedisCluster":
            found.setdefault(kind, []).append(spec.get("priorityClassName"))
        elif kind == "KafkaNodePool":
            found.setdefault(kind, []).append(spec.get("template", {}).get("pod", {}).get("priorityClassName"))
        elif kind == "Kafka":
            entity = spec["entityOperator"].get("template", {}).get("pod", {})
            found.setdefault(kind, []).append(entity.get("priorityClassName"))
    return found


def test_every_data_pod_runs_in_the_data_class(any_plan: Plan) -> None:
    found = data_pod_classes(any_plan)
    # Every stack runs MongoDB in-cluster; dev runs all four.
    assert "PerconaServerMongoDB" in found
    if any_plan.stack == "dev":
        assert set(found) == {"Cluster", "PerconaServerMongoDB", "RedisCluster", "KafkaNodePool", "Kafka"}
    for kind, classes in found.items():
        assert classes and set(classes) == {DATA}, kind
    for r in any_plan.resources:
        if r.inputs.get("kind") in found:
            assert any(":PriorityClass::" in dep for dep in r.dependencies), r.name


def test_workloads_carry_the_instance_label(any_plan: Plan) -> None:
    for deployment in of_type(any_plan, "kubernetes:apps/v1:Deployment"):
        name = deployment.inputs["metadata"]["name"]
        expected = f"{name}-{any_plan.stack}"
        assert deployment.inputs["metadata"]["labels"]["app.kubernetes.io/instance"] == expected
        assert deployment.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == expected
        # The selector is unchanged: a Deployment's selector cannot change in place.
        assert "app.kubernetes.io/instance" not in deployment.inputs["spec"]["selector"]["matchLabels"]
    for r in any_plan.resources:
        if r.inputs.get("kind") in {"PerconaServerMongoDB", "RedisCluster", "Kafka"} or (
            r.inputs.get("kind") == "Cluster" and r.inputs.get("apiVersion") == "postgresql.cnpg.io/v1"
        ):
            labels = r.inputs["metadata"]["labels"]
            assert labels["app.kubernetes.io/instance"] == f"{r.inputs['metadata']['name']}-{any_plan.stack}"


DIGEST = "sha256:" + "ab" * 32


def test_an_image_pinned_by_tag_and_digest_is_accepted_and_passed_through(tmp_path: Path) -> None:
    image = f"ghcr.io/bakhmach-business-hub/slon-finance:1.0.0@{DIGEST}"
    values = prod_values()
    values["services"]["slon-finance"] = {"image": image}
    assert load_settings(values).service("slon-finance").image == image
    config = copy.deepcopy(yaml.safe_load((REPO_ROOT / "Pulumi.staging.yaml").read_text())["config"])
    config["bakhmach-hub:services"]["slon-finance"]["image"] = image
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    plan = run_plan("staging", "aws", stack_file=path)
    (deployment,) = k8s(plan, "Deployment", "slon-finance")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image


@pytest.mark.parametrize("image", [f"ghcr.io/x/y:latest@{DIGEST}", "ghcr.io/x/y@sha256:abc"])
def test_odd_digests_are_handled(image: str) -> None:
    values = prod_values()
    values["services"]["slon-finance"] = {"image": image}
    if image.endswith("abc"):
        with pytest.raises(Exception, match="not a pinned image reference"):
            load_settings(values)
    else:
        # `latest` with a digest is pinned by the digest.
        assert load_settings(values).service("slon-finance").image == image
