"""Workload policies, each with a compliant and a violating resource."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.test_policy_pack import found, others, resource, run

LABELS = {"bakhmach.io/context": "slon-credit", "app.kubernetes.io/name": "api"}


def container(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "api",
        "image": "ghcr.io/bakhmach-business-hub/api:1.0.0",
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    base.update(overrides)
    return base


def deployment(name: str = "api", replicas: int = 3, **pod: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [container()]} | pod
    return resource(
        "kubernetes:apps/v1:Deployment",
        name,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "slon-credit", "labels": LABELS},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {"metadata": {"labels": LABELS | {"app.kubernetes.io/name": name}}, "spec": spec},
            },
        },
    )


def pdb(name: str = "api") -> dict[str, Any]:
    return resource(
        "kubernetes:policy/v1:PodDisruptionBudget",
        f"{name}-pdb",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "slon-credit", "labels": LABELS},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
        },
    )


def hpa(min_replicas: int = 3, max_replicas: int = 10, cpu: int = 60, memory: int = 70) -> dict[str, Any]:
    return resource(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "api-hpa",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "slon-credit", "labels": LABELS},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": n, "target": {"type": "Utilization", "averageUtilization": t}},
                    }
                    for n, t in (("cpu", cpu), ("memory", memory))
                ],
                "behavior": {
                    "scaleUp": {"stabilizationWindowSeconds": 30},
                    "scaleDown": {
                        "stabilizationWindowSeconds": 300,
                        "selectPolicy": "Min",
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                    },
                },
            },
        },
    )


def vpa(mode: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}}
    if mode is not None:
        spec["updatePolicy"] = {"updateMode": mode}
    return resource(
        "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler",
        "api-vpa",
        {
            "apiVersion": "autoscaling.k8s.io/v1",
            "kind": "VerticalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "slon-credit", "labels": LABELS},
            "spec": spec,
        },
    )


def with_container(**overrides: Any) -> dict[str, Any]:
    entry = deployment()
    entry["inputs"]["spec"]["template"]["spec"]["containers"] = [container(**overrides)]
    return entry


def insecure(**security: Any) -> dict[str, Any]:
    ctx = copy.deepcopy(container()["securityContext"]) | security
    return with_container(securityContext=ctx)


# {policy: (compliant resources, violating resources)} — test_policy_pack checks every policy has one.
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "container-resources": (
        [deployment(), pdb()],
        [with_container(resources={"requests": {"cpu": "500m", "memory": "512Mi"}}), pdb()],
    ),
    "pod-security": ([deployment(), pdb()], [insecure(readOnlyRootFilesystem=False), pdb()]),
    "pinned-images": ([deployment(), pdb()], [with_container(image="ghcr.io/bakhmach-business-hub/api:latest"), pdb()]),
    "hpa-bounds": ([deployment(), pdb(), hpa()], [deployment(), pdb(), hpa(max_replicas=12)]),
    "replicas-and-pdb": ([deployment(), pdb()], [deployment(replicas=2)]),
    "vpa-hpa-conflict": ([deployment(), pdb(), hpa(), vpa("Off")], [deployment(), pdb(), hpa(), vpa("Auto")]),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_compliant_case_passes_and_violating_case_is_caught(policy: str) -> None:
    compliant, violating = CASES[policy]
    ok = run("prod", *compliant)
    assert found(ok, policy) == [] and others(ok, policy) == []
    bad = run("prod", *violating)
    assert found(bad, policy), f"{policy} missed its violating case"
    assert others(bad, policy) == []
    assert all(v.level == "mandatory" for v in bad.violations)


def test_missing_limits_name_the_container_and_resources() -> None:
    bad = run(
        "prod", with_container(resources={"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "1"}}), pdb()
    )
    assert sorted(found(bad, "container-resources")) == [
        "container api: cpu request exceeds its limit",
        "container api: no limits for memory",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"runAsNonRoot": False}, "container api: runAsNonRoot is not true"),
        ({"runAsUser": 0}, "container api: runs as UID 0"),
        ({"allowPrivilegeEscalation": True}, "container api: allowPrivilegeEscalation is not false"),
        ({"privileged": True}, "container api: privileged"),
        ({"capabilities": {"add": ["SYS_ADMIN"]}}, "container api: adds capabilities SYS_ADMIN"),
    ],
)
def test_each_container_hardening_rule(override: dict[str, Any], message: str) -> None:
    assert message in found(run("prod", insecure(**override), pdb()), "pod-security")


def test_allow_privilege_escalation_must_be_explicit() -> None:
    ctx = {k: v for k, v in container()["securityContext"].items() if k != "allowPrivilegeEscalation"}
    assert found(run("prod", with_container(securityContext=ctx), pdb()), "pod-security") == [
        "container api: allowPrivilegeEscalation is not false"
    ]


def test_pod_level_non_root_counts_for_its_containers() -> None:
    ctx = {k: v for k, v in container()["securityContext"].items() if k not in ("runAsNonRoot", "runAsUser")}
    entry = deployment(securityContext={"runAsNonRoot": True, "runAsUser": 10001})
    entry["inputs"]["spec"]["template"]["spec"]["containers"] = [container(securityContext=ctx)]
    assert found(run("prod", entry, pdb()), "pod-security") == []


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        ({"hostNetwork": True}, "hostNetwork is true: pods must not share the node's namespaces"),
        ({"hostPID": True}, "hostPID is true: pods must not share the node's namespaces"),
        ({"volumes": [{"name": "docker", "hostPath": {"path": "/var/run"}}]}, "volume docker mounts a hostPath"),
    ],
)
def test_host_namespaces_and_paths_are_refused(pod: dict[str, Any], message: str) -> None:
    assert found(run("prod", deployment(**pod), pdb()), "pod-security") == [message]


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("ghcr.io/org/api:1.2.3", True),
        ("ghcr.io/org/api@sha256:" + "a" * 64, True),
        ("registry.local:5000/api:2.0", True),
        ("registry.local:5000/api", False),
        ("nginx", False),
        ("nginx:latest", False),
    ],
)
def test_image_references(image: str, ok: bool) -> None:
    problems = found(run("prod", with_container(image=image), pdb()), "pinned-images")
    assert (problems == []) is ok, problems


@pytest.mark.parametrize(
    ("environment", "entry", "message"),
    [
        ("prod", hpa(min_replicas=2), "minReplicas 2 is below the prod floor of 3 replicas"),
        ("prod", hpa(cpu=70), "cpu target is 70, the seed's prod target is 60%"),
        ("staging", hpa(min_replicas=2, cpu=70, memory=70), "memory target is 70, the seed's staging target is 80%"),
        ("staging", hpa(min_replicas=11, max_replicas=10, cpu=70, memory=80), "minReplicas 11 is above maxReplicas 10"),
    ],
)
def test_hpa_bounds_follow_the_environment(environment: str, entry: dict[str, Any], message: str) -> None:
    assert message in found(run(environment, deployment(), pdb(), entry), "hpa-bounds")


def test_an_unset_hpa_minimum_is_kubernetes_default_of_one() -> None:
    entry = hpa()
    del entry["inputs"]["spec"]["minReplicas"]
    messages = found(run("prod", deployment(), pdb(), entry), "hpa-bounds")
    assert "minReplicas 1 is below the prod floor of 3 replicas" in messages


def test_staging_hpa_targets_pass_in_staging() -> None:
    report = run("staging", deployment(replicas=2), hpa(min_replicas=2, cpu=70, memory=80))
    assert found(report, "hpa-bounds") == []


def test_staging_needs_two_replicas_and_a_budget_dev_neither() -> None:
    assert found(run("staging", deployment(replicas=2), pdb()), "replicas-and-pdb") == []
    assert found(run("staging", deployment(replicas=1), pdb()), "replicas-and-pdb") == [
        "Deployment slon-credit/api runs 1 replicas; staging needs at least 2"
    ]
    assert found(run("staging", deployment(replicas=2)), "replicas-and-pdb") == [
        "Deployment slon-credit/api has no PodDisruptionBudget selecting its pods"
    ]
    assert found(run("dev", deployment(replicas=1)), "replicas-and-pdb") == []


def test_an_hpa_minimum_counts_as_the_replica_floor() -> None:
    report = run("prod", deployment(replicas=1), pdb(), hpa(min_replicas=3))
    assert found(report, "replicas-and-pdb") == []


def test_a_pdb_selecting_other_pods_does_not_count() -> None:
    messages = found(run("prod", deployment(), pdb(name="other")), "replicas-and-pdb")
    assert messages == ["Deployment slon-credit/api has no PodDisruptionBudget selecting its pods"]


@pytest.mark.parametrize("mode", ["Auto", "Recreate", "InPlaceOrRecreate", "Initial", None])
def test_every_updating_vpa_mode_conflicts_with_a_cpu_hpa(mode: str | None) -> None:
    messages = found(run("prod", deployment(), pdb(), hpa(), vpa(mode)), "vpa-hpa-conflict")
    assert len(messages) == 1 and "set updateMode Off" in messages[0]


def test_an_updating_vpa_without_an_hpa_is_fine() -> None:
    assert found(run("prod", deployment(), pdb(), vpa("Recreate")), "vpa-hpa-conflict") == []
