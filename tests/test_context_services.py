"""Every application row of the seed's service matrix, as each environment runs it."""

from __future__ import annotations

import pytest

from hubctl.plan import Plan
from tests.planning import k8s, one, planned

# The seed's matrix (production figures), written out here independently of the code.
MATRIX = {
    "auth-service": ("platform", "fastapi", 3, "500m", "512Mi"),
    "bakhmach-core": ("bakhmach-hub", "fastapi", 2, "750m", "768Mi"),
    "slon-finance": ("slon-credit", "spring-boot", 3, "1", "1536Mi"),
    "audityzer-audit": ("audityzer-eu", "nodejs", 2, "600m", "512Mi"),
    "debt-agent-ai": ("debt-defense-agent", "tensorflow-serving", 2, "2", "2Gi"),
    "trade-connector": ("black-sea-corridor", "fastapi", 2, "750m", "768Mi"),
    "infusion-processor": ("cannabis-infusion", "go", 3, "500m", "512Mi"),
}
# "Resources: 50% production" for staging.
STAGING_REQUESTS = {
    "auth-service": ("250m", "256Mi"),
    "bakhmach-core": ("375m", "384Mi"),
    "slon-finance": ("500m", "768Mi"),
    "audityzer-audit": ("300m", "256Mi"),
    "debt-agent-ai": ("1", "1Gi"),
    "trade-connector": ("375m", "384Mi"),
    "infusion-processor": ("250m", "256Mi"),
}
# Limits: CPU may burst to twice its request; memory's limit is its request (written out).
PROD_CPU_LIMITS = {
    "auth-service": "1",
    "bakhmach-core": "1500m",
    "slon-finance": "2",
    "audityzer-audit": "1200m",
    "debt-agent-ai": "4",
    "trade-connector": "1500m",
    "infusion-processor": "1",
}
STAGING_CPU_LIMITS = {
    "auth-service": "500m",
    "bakhmach-core": "750m",
    "slon-finance": "1",
    "audityzer-audit": "600m",
    "debt-agent-ai": "2",
    "trade-connector": "750m",
    "infusion-processor": "500m",
}
SERVICES = sorted(MATRIX)


def deployment(plan: Plan, name: str) -> dict:
    return one(plan, "Deployment", name, MATRIX[name][0])


def container(plan: Plan, name: str) -> dict:
    (c,) = deployment(plan, name)["spec"]["template"]["spec"]["containers"]
    return c


def test_every_application_service_is_deployed_once_in_its_context(any_plan: Plan) -> None:
    contexts = {context for context, *_rest in MATRIX.values()}
    names = sorted(d["metadata"]["name"] for d in k8s(any_plan, "Deployment") if d["metadata"]["namespace"] in contexts)
    assert names == SERVICES  # the api-gateway row belongs to the gateway, not a ContextService
    for name, (context, *_rest) in MATRIX.items():
        dep = deployment(any_plan, name)
        assert dep["metadata"]["labels"]["bakhmach.io/context"] == context
        # Under a canary (staging, prod) Flagger creates the Service (tests/test_mesh.py).
        if any_plan.stack == "dev":
            svc = one(any_plan, "Service", name, context)
            assert svc["spec"]["type"] == "ClusterIP"
        else:
            assert k8s(any_plan, "Service", name, context) == []
        sa = one(any_plan, "ServiceAccount", name, context)
        assert sa["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", SERVICES)
def test_dev_runs_one_replica_with_minimal_resources(dev_plan: Plan, name: str) -> None:
    assert deployment(dev_plan, name)["spec"]["replicas"] == 1
    res = container(dev_plan, name)["resources"]
    assert res["requests"] == {"cpu": "50m", "memory": "64Mi"}
    assert res["limits"] == {"cpu": "250m", "memory": "128Mi"}


@pytest.mark.parametrize("name", SERVICES)
def test_staging_runs_two_replicas_at_half_production_resources(staging_plan: Plan, name: str) -> None:
    assert deployment(staging_plan, name)["spec"]["replicas"] == 2
    cpu, memory = STAGING_REQUESTS[name]
    res = container(staging_plan, name)["resources"]
    assert res["requests"] == {"cpu": cpu, "memory": memory}
    assert res["limits"] == {"cpu": STAGING_CPU_LIMITS[name], "memory": memory}


@pytest.mark.parametrize("name", SERVICES)
def test_prod_runs_at_least_three_replicas_with_the_matrix_resources(prod_plan: Plan, name: str) -> None:
    _context, _fw, matrix_replicas, cpu, memory = MATRIX[name]
    assert deployment(prod_plan, name)["spec"]["replicas"] == max(3, matrix_replicas)
    res = container(prod_plan, name)["resources"]
    assert res["requests"] == {"cpu": cpu, "memory": memory}
    assert res["limits"] == {"cpu": PROD_CPU_LIMITS[name], "memory": memory}


def test_prod_auth_service_has_three_replicas_and_500m_cpu(prod_plan: Plan) -> None:
    assert deployment(prod_plan, "auth-service")["spec"]["replicas"] >= 3
    assert container(prod_plan, "auth-service")["resources"]["requests"]["cpu"] == "500m"


PROBE_PATHS = {
    "fastapi": ("/healthz", "/readyz"),
    "nodejs": ("/healthz", "/readyz"),
    "go": ("/healthz", "/readyz"),
    "spring-boot": ("/actuator/health/liveness", "/actuator/health/readiness"),
}


@pytest.mark.parametrize("name", SERVICES)
def test_probes_fit_the_framework(any_plan: Plan, name: str) -> None:
    c = container(any_plan, name)
    framework = MATRIX[name][1]
    port = c["ports"][0]
    assert port["name"] == "http"
    if framework == "tensorflow-serving":
        assert port["containerPort"] == 8501  # TF Serving's REST port
        assert c["readinessProbe"]["httpGet"]["path"] == f"/v1/models/{name}"
        assert c["livenessProbe"]["tcpSocket"]["port"] == "http"
        assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 300
    else:
        live, ready = PROBE_PATHS[framework]
        assert c["livenessProbe"]["httpGet"]["path"] == live
        assert c["readinessProbe"]["httpGet"]["path"] == ready
    if framework == "spring-boot":
        assert c["startupProbe"]["httpGet"]["path"] == "/actuator/health/liveness"


@pytest.mark.parametrize("name", SERVICES)
def test_containers_are_hardened(any_plan: Plan, name: str) -> None:
    pod = deployment(any_plan, name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    sc = container(any_plan, name)["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("name", SERVICES)
def test_dev_image_is_a_placeholder_that_answers_on_the_probe_port(dev_plan: Plan, name: str) -> None:
    c = container(dev_plan, name)
    assert c["image"] == "hashicorp/http-echo:1.0.0"
    assert f"-listen=:{c['ports'][0]['containerPort']}" in c["args"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_staging_and_prod_images_come_from_the_stack_file(stack: str, cloud: str) -> None:
    for name in SERVICES:
        image = container(planned(stack, cloud), name)["image"]
        assert image == f"ghcr.io/bakhmach-business-hub/{name}:1.0.0"


# ---- autoscaling -------------------------------------------------------------------------

HPA_TARGETS = {"staging": (70, 80), "prod": (60, 70)}


@pytest.mark.parametrize("name", SERVICES)
def test_hpa_follows_the_seed_in_staging_and_prod(any_plan: Plan, name: str) -> None:
    context = MATRIX[name][0]
    hpas = k8s(any_plan, "HorizontalPodAutoscaler", name, context)
    if any_plan.stack == "dev":
        assert hpas == []
        return
    (hpa,) = hpas
    spec = hpa["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert spec["minReplicas"] == deployment(any_plan, name)["spec"]["replicas"]
    assert spec["maxReplicas"] == 10
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in spec["metrics"]}
    assert targets == dict(zip(("cpu", "memory"), HPA_TARGETS[any_plan.stack], strict=True))
    assert spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 30
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    # "Cooldown: 2 minutes": at most one pod removed per two minutes.
    assert spec["behavior"]["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 120}]


@pytest.mark.parametrize("name", SERVICES)
def test_pdb_keeps_all_but_one_pod_in_staging_and_prod(any_plan: Plan, name: str) -> None:
    context = MATRIX[name][0]
    pdbs = k8s(any_plan, "PodDisruptionBudget", name, context)
    if any_plan.stack == "dev":
        assert pdbs == []
        return
    (pdb,) = pdbs
    assert pdb["spec"]["maxUnavailable"] == 1
    labels = deployment(any_plan, name)["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("name", SERVICES)
def test_vpa_only_recommends(any_plan: Plan, name: str) -> None:
    (vpa,) = k8s(any_plan, "VerticalPodAutoscaler", name, MATRIX[name][0])
    assert vpa["apiVersion"] == "autoscaling.k8s.io/v1"
    assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"
    assert vpa["spec"]["targetRef"]["name"] == name


def test_autoscalers_wait_for_what_they_need(any_plan: Plan) -> None:
    by_name = {r.name: r for r in any_plan.resources}
    vpa_release = next(r.urn for r in any_plan.resources if r.name == "addons-vpa")
    metrics = [r.urn for r in any_plan.resources if r.name == "addons-metrics-server"]
    for name in SERVICES:
        assert vpa_release in by_name[f"{name}-vpa"].dependencies
        if any_plan.stack != "dev":
            hpa = by_name[f"{name}-hpa"]
            if any_plan.cloud == "azure":
                assert metrics == []  # AKS runs its own metrics-server
            else:
                assert metrics and metrics[0] in hpa.dependencies


def test_deployments_wait_for_their_namespace(any_plan: Plan) -> None:
    for name, (context, *_rest) in MATRIX.items():
        dep = next(r for r in any_plan.resources if r.name == f"{name}-deployment")
        ns = next(
            r
            for r in any_plan.resources
            if r.type == "kubernetes:core/v1:Namespace"
            and r.inputs["metadata"]["name"] == context
            and r.provider == dep.provider
        )
        assert ns.urn in dep.dependencies


def test_kind_metrics_server_trusts_kubelet_certificates_only_on_kind() -> None:
    dev = next(r for r in planned("dev", "kind").resources if r.name == "addons-metrics-server")
    assert dev.inputs["values"]["args"] == ["--kubelet-insecure-tls"]
    prod = next(r for r in planned("prod", "aws").resources if r.name == "addons-metrics-server")
    assert prod.inputs["values"]["args"] == []
