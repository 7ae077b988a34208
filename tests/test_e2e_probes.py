"""The e2e probe pods and their scripts, without a cluster: Pod Security `restricted`, schema,
quota, and what each script reports for what its client answers (stub clients on PATH)."""

from __future__ import annotations

import http.server
import os
import re
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from settings import seed
from tests.e2e import probes, selection
from tests.planning import k8s, planned

DEV = planned("dev", "kind")
REACH, _ = selection.reach_cases(DEV)
CREDENTIALS, _ = selection.credential_cases(DEV)
K8S_FLOOR = seed.KUBERNETES_FLOOR  # the seed's "Kubernetes 1.28+"
SHELLCHECK = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "shellcheck"


def _network_pods() -> list[dict[str, Any]]:
    by_source: dict[str, list[selection.ReachCase]] = {}
    for case in REACH:
        by_source.setdefault(case.source.namespace, []).append(case)
    image = selection.network_image(DEV)
    return [probes.network_probe(ns, cases[0].source.pod_labels, cases, image) for ns, cases in by_source.items()]


def _credential_pods(cases: list[selection.CredentialCase] | None = None) -> list[dict[str, Any]]:
    return [
        probes.credential_probe(c, c.image if isinstance(c.image, str) else "quay.io/strimzi/kafka", c.consumer.secret)
        for c in (CREDENTIALS if cases is None else cases)
    ]


ALL_PODS = _network_pods() + _credential_pods()


# Pod Security Standards, "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards).
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    spec, found = pod["spec"], []
    pod_sc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            found.append(key)
    for volume in spec.get("volumes") or []:
        if not set(volume) - {"name"} <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']}")
    for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"{c['name']} privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{c['name']} allowPrivilegeEscalation")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"{c['name']} capabilities")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            found.append(f"{c['name']} runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            found.append(f"{c['name']} runAsUser 0")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            found.append(f"{c['name']} seccompProfile")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            found.append(f"{c['name']} hostPort")
    return found


@pytest.mark.parametrize("pod", ALL_PODS, ids=lambda p: f"{p['metadata']['namespace']}/{p['metadata']['name']}")
def test_every_probe_pod_meets_pod_security_restricted_and_the_schema(pod: dict[str, Any]) -> None:
    assert restricted_violations(pod) == []
    kubernetes_validate.validate(pod, K8S_FLOOR, strict=True)
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["activeDeadlineSeconds"] > 0
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_the_restricted_check_catches_a_root_pod() -> None:
    pod = _network_pods()[0]
    pod["spec"]["containers"][0]["securityContext"] |= {"runAsUser": 0, "allowPrivilegeEscalation": True}
    assert restricted_violations(pod) == ["probe allowPrivilegeEscalation", "probe runAsUser 0"]


def test_one_network_probe_per_source_tries_each_of_its_targets() -> None:
    for pod in _network_pods():
        namespace = pod["metadata"]["namespace"]
        command = pod["spec"]["containers"][0]["command"]
        wanted = {f"{c.target.host}:{c.target.port}" for c in REACH if c.source.namespace == namespace}
        assert command[:2] == ["bash", "-c"] and set(command[4:]) == wanted


def test_a_credential_probe_mounts_the_consumer_s_secret_as_the_service_does() -> None:
    deployments = {d["metadata"]["namespace"]: d for d in selection.deployments(DEV)}
    for case, pod in zip(CREDENTIALS, _credential_pods(), strict=True):
        service_spec = deployments[case.consumer.namespace]["spec"]["template"]["spec"]
        (service_volume,) = [
            v for v in service_spec["volumes"] if v.get("secret", {}).get("secretName") == case.consumer.secret
        ]
        (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "credentials"]
        assert volume["secret"] == service_volume["secret"]
        (mount,) = [m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "credentials"]
        assert mount["mountPath"] == case.consumer.mount_path and mount["readOnly"] is True
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        assert dict(case.consumer.env).items() <= env.items()
        assert pod["spec"]["securityContext"]["fsGroup"] == service_spec["securityContext"]["fsGroup"]


_UNITS = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS.get(unit, 1)


def test_a_wave_of_credential_probes_fits_each_namespace_s_quota_beside_its_service() -> None:
    """All probes of one wave (own credentials, then others') run at once: per namespace, their
    requests and limits plus the service's must stay under the namespace's ResourceQuota, and
    each under the LimitRange max."""
    waves = [[c for c in CREDENTIALS if c.expect_accepted is own] for own in (True, False)]
    assert all(waves), "both waves have probes once contexts hold their own credentials"
    for namespace, wave in {(c.consumer.namespace, i) for i, w in enumerate(waves) for c in w}:
        (quota,) = k8s(DEV, "ResourceQuota", namespace=namespace)
        (limit_range,) = k8s(DEV, "LimitRange", namespace=namespace)
        maximum = limit_range["spec"]["limits"][0]["max"]
        containers = [
            c for d in k8s(DEV, "Deployment", namespace=namespace) for c in d["spec"]["template"]["spec"]["containers"]
        ]
        pods = [p for p in _credential_pods(waves[wave]) if p["metadata"]["namespace"] == namespace]
        containers += [c for p in pods for c in p["spec"]["containers"]]
        assert len(pods) + 1 <= quantity(quota["spec"]["hard"]["pods"])
        for key, hard in quota["spec"]["hard"].items():
            kind, _, resource = key.partition(".")
            if kind not in {"requests", "limits"} or resource not in {"cpu", "memory"}:
                continue
            used = sum(quantity(c["resources"][kind][resource]) for c in containers)
            assert used <= quantity(hard), f"{namespace}: {key} {used} > {hard}"
        for c in containers:
            for resource, most in maximum.items():
                assert quantity(c["resources"]["limits"][resource]) <= quantity(most), (namespace, c["name"])


# ---- the scripts ---------------------------------------------------------------------------


def test_the_probe_scripts_pass_shellcheck(tmp_path: Path) -> None:
    scripts = {"network.sh": ("bash", probes.NETWORK_SCRIPT)}
    scripts |= {f"{name}.sh": ("sh", text) for name, text in probes.CREDENTIAL_SCRIPTS.items()}
    for name, (shell, text) in scripts.items():
        (tmp_path / name).write_text(f"#!/bin/{shell}\n{text}")
    done = subprocess.run(
        [str(SHELLCHECK), *sorted(str(p) for p in tmp_path.iterdir())], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def listening() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_network_script_tells_open_closed_and_unresolvable(listening: int) -> None:
    with_closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    closed = with_closed.server_address[1]
    with_closed.server_close()
    done = subprocess.run(
        [
            "bash",
            "-c",
            probes.NETWORK_SCRIPT,
            "probe",
            f"localhost:{listening}",
            f"localhost:{closed}",
            "nosuch.invalid:80",
        ],
        env=os.environ | {"E2E_SETTLE_SECONDS": "0", "E2E_CONNECT_SECONDS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probes.parse_network_output(done.stdout) == {
        f"localhost:{listening}": "OPEN",
        f"localhost:{closed}": "CLOSED",
        "nosuch.invalid:80": "NODNS",
    }


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_client(service: str, tmp_path: Path, stub: str, body: str) -> tuple[str, str]:
    """Run a credential script with the consumer's env, files in tmp_path, and a stub client."""
    consumer = next(c.consumer for c in CREDENTIALS if c.consumer.service == service)
    secrets, bin_dir = tmp_path / "secrets", tmp_path / "bin"
    secrets.mkdir(exist_ok=True)
    bin_dir.mkdir(exist_ok=True)
    (secrets / "username").write_text("app")
    (secrets / "password").write_text("s3cret")
    _stub(bin_dir, stub, body)
    env = {k: v.replace(consumer.mount_path, str(secrets)) for k, v in consumer.env}
    env |= {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "E2E_REFUSAL": probes.REFUSAL_PATTERNS[service],
        "E2E_KAFKA_BIN": str(bin_dir),
        "E2E_MONGO_AUTH_SOURCE": "admin",
        "HOME": str(tmp_path),
        "E2E_TMP": str(tmp_path),
    }
    done = subprocess.run(
        ["sh", "-c", probes.CREDENTIAL_SCRIPTS[service]], env=env, capture_output=True, text=True, timeout=60
    )
    return probes.verdict(done.stdout + done.stderr)


@pytest.mark.parametrize(
    ("service", "stub", "body", "verdict"),
    [
        ("postgres", "psql", 'echo "app on app"', "AUTH-OK"),
        ("postgres", "psql", 'echo "FATAL:  password authentication failed for user \\"app\\""; exit 2', "REFUSED"),
        ("postgres", "psql", 'echo "psql: error: connection to server failed: Connection refused"; exit 2', "ERROR"),
        ("mongo", "mongosh", 'echo "app listed (0 collections)"', "AUTH-OK"),
        ("mongo", "mongosh", 'echo "MongoServerError: Authentication failed."; exit 1', "REFUSED"),
        ("mongo", "mongosh", 'echo "MongoServerSelectionError: connect ECONNREFUSED"; exit 1', "ERROR"),
        ("redis", "redis-cli", 'test "$REDISCLI_AUTH" = s3cret && echo PONG', "AUTH-OK"),
        (
            "redis",
            "redis-cli",
            'echo "AUTH failed: WRONGPASS invalid username-password pair"; echo "NOAUTH Authentication required."',
            "REFUSED",
        ),
        ("redis", "redis-cli", 'echo "Could not connect to Redis at redis-leader:6379: Connection refused"', "ERROR"),
        (
            "kafka",
            "kafka-broker-api-versions.sh",
            'grep -q "username=\\"app\\" password=\\"s3cret\\"" "$E2E_TMP/client.properties"',
            "AUTH-OK",
        ),
        (
            "kafka",
            "kafka-broker-api-versions.sh",
            'echo "SaslAuthenticationException: Authentication failed"; exit 1',
            "REFUSED",
        ),
        (
            "kafka",
            "kafka-broker-api-versions.sh",
            'echo "TimeoutException: Timed out waiting for a node"; exit 1',
            "ERROR",
        ),
    ],
)
def test_a_credential_script_reports_what_the_client_answered(
    tmp_path: Path, service: str, stub: str, body: str, verdict: str
) -> None:
    got, detail = _run_client(service, tmp_path, stub, body)
    assert got == verdict, detail


def test_the_verdict_is_the_script_s_first_verdict_line() -> None:
    assert probes.verdict("ERROR psql failed\nERROR [log4j] noise\n") == ("ERROR", "psql failed")
    assert probes.verdict("AUTH-OK app on app\n") == ("AUTH-OK", "app on app")
    assert probes.verdict("Killed\n")[0] == "NONE"
