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
# Where each chart the stack installs takes its pods' priority class (every value of the chart's
# pods the stack runs), and which class it gets.
ONE_VALUE = (("priorityClassName",),)
RELEASE_CLASSES: dict[str, tuple[tuple[tuple[str, ...], ...], str]] = {
    "cloudnative-pg": (ONE_VALUE, PLATFORM),
    "plugin-barman-cloud": (ONE_VALUE, PLATFORM),
    "cert-manager": ((("global", "priorityClassName"),), PLATFORM),
    "redis-operator": (ONE_VALUE, PLATFORM),
    "strimzi": (ONE_VALUE, PLATFORM),
    "sealed-secrets": (ONE_VALUE, PLATFORM),
    "metrics-server": (ONE_VALUE, SYSTEM),
    "vpa": (ONE_VALUE, SYSTEM),
    "cluster-autoscaler": (ONE_VALUE, SYSTEM),
    "external-dns": (ONE_VALUE, SYSTEM),
    # Prod: the private zone's external-dns for the in-cluster data members (components/dr).
    "external-dns-dr": (ONE_VALUE, SYSTEM),
    # kube-prometheus-stack 88.5.3: the operator, its admission webhook's hook Jobs, Prometheus,
    # Alertmanager, Grafana, kube-state-metrics and node-exporter (values.yaml at the tag and
    # its sub-charts'); the webhook's own Deployment and Thanos Ruler are off.
    "kube-prometheus-stack": (
        (
            ("prometheusOperator", "priorityClassName"),
            ("prometheusOperator", "admissionWebhooks", "patch", "priorityClassName"),
            ("prometheus", "prometheusSpec", "priorityClassName"),
            ("alertmanager", "alertmanagerSpec", "priorityClassName"),
            ("grafana", "priorityClassName"),
            ("kube-state-metrics", "priorityClassName"),
            ("prometheus-node-exporter", "priorityClassName"),
        ),
        PLATFORM,
    ),
    "elastic-operator": (ONE_VALUE, PLATFORM),
    # Envoy Gateway v1.9.0: the controller Deployment (its proxies' class is the EnvoyProxy's).
    "envoy-gateway": ((("deployment", "priorityClassName"),), PLATFORM),
    # The AWS Load Balancer Controller 3.5.0 runs beside kube-system's own add-ons.
    "aws-load-balancer-controller": (ONE_VALUE, SYSTEM),
    # Istio 1.31: istiod's pods (the istiod chart's `global.priorityClassName`); Flagger's
    # (`podPriorityClassName`). The base chart runs no pods.
    "istiod": ((("global", "priorityClassName"),), PLATFORM),
    "flagger": ((("podPriorityClassName",),), PLATFORM),
}
# The stack's own workloads that are a step of an in-cluster database (they wait for it and are
# nothing without it) rank with the database pods (components/data/mongo.py).
DATA_CLASS_WORKLOADS = {("data", "mongo-collections")}
# Charts with no value for it (docs/VERSIONS.md says which and why).
# istio-base runs no pods; istio-cni's DaemonSet hard-codes `system-node-critical` (its chart's
# templates/daemonset.yaml at 1.31), which outranks every class of ours, as a node agent should.
NO_PRIORITY_VALUE = {"psmdb-operator", "istio-base", "istio-cni"}


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


def pod_templates(value: Any) -> list[dict[str, Any]]:
    """Every pod template in a resource's inputs, wherever its kind keeps it (a Deployment's
    `spec.template`, a CronJob's `spec.jobTemplate.spec.template`, ECK's `podTemplate`s, ...):
    any mapping whose `spec` lists containers."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("spec"), dict) and isinstance(value["spec"].get("containers"), list):
            found.append(value)
        for item in value.values():
            found.extend(pod_templates(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(pod_templates(item))
    return found


def workloads(plan: Plan) -> list[tuple[PlannedResource, list[dict[str, Any]]]]:
    """Every Kubernetes object the stack writes a pod template into (charts are opaque: their
    values are checked per chart below)."""
    found = []
    for r in plan.resources:
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release":
            templates = pod_templates(r.inputs.get("spec"))
            if templates:
                found.append((r, templates))
    return found


def test_every_workload_names_its_class_and_waits_for_it(any_plan: Plan) -> None:
    """Deployments, Jobs, CronJobs and the ECK resources alike. Each depends on its class itself:
    waiting through its namespace would hold only while that namespace waits for the classes,
    which nothing about a namespace requires."""
    classes = {
        (r.provider, r.inputs["metadata"]["name"]): r.urn
        for r in of_type(any_plan, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    found = workloads(any_plan)
    kinds = {r.inputs["kind"] for r, _ in found}
    assert "Deployment" in kinds
    if any_plan.stack != "dev":  # logs (ECK, the ILM Job) and the trace retention CronJob
        assert {"Elasticsearch", "Kibana", "Beat", "Job", "CronJob"} <= kinds
    for r, templates in found:
        context = r.inputs["metadata"]["labels"]["bakhmach.io/context"]
        expected = PLATFORM if context == seed.SHARED_CONTEXT.slug else CONTEXT
        if (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) in DATA_CLASS_WORKLOADS:
            expected = DATA
        for template in templates:
            assert template["spec"].get("priorityClassName") == expected, r.name
        assert classes[(r.provider, expected)] in r.dependencies, r.name


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
        paths, expected = RELEASE_CLASSES[chart]
        for path in paths:
            assert _get(release.inputs["values"], path) == expected, (chart, path)
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
    for r, templates in workloads(any_plan):
        expected = f"{r.inputs['metadata']['name']}-{any_plan.stack}"
        assert r.inputs["metadata"]["labels"]["app.kubernetes.io/instance"] == expected, r.name
        for template in templates:
            assert template["metadata"]["labels"]["app.kubernetes.io/instance"] == expected, r.name
    for deployment in of_type(any_plan, "kubernetes:apps/v1:Deployment"):
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
