"""The smoke tests' hands on the cluster, through the Kubernetes Python client.

Everything here talks to an API server: the gate that decides whether the e2e tests run, the
readiness observation behind `python -m tests.e2e wait`, the probe pods, the service proxy, and
the diagnostics written on failure (`python -m tests.e2e diagnose`). Objects are handled as the
API's JSON (dicts), the form the readiness rules and the probe manifests use. tests/test_e2e_client.py
runs these functions against a fake API server; only a real cluster proves the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from tests.e2e.readiness import Awaited, Observed, daemonset_ready, deployment_ready, statefulset_ready
from tests.e2e.selection import PodImage

E2E_ENV = "BAKHMACH_E2E"
POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def skip_reason(environ: Mapping[str, str]) -> str | None:
    """Why the e2e tests do not run here, or None when the script says a cluster is there.

    Only the variable decides skipping. Once it is set, a missing or unreachable cluster is a
    failure (`connect`), not a skip: a CI run that skipped every smoke test must not pass."""
    if environ.get(E2E_ENV) == "1":
        return None
    return f"needs the dev stack deployed on kind: scripts/e2e-kind.sh (make e2e) runs these with {E2E_ENV}=1"


class ClusterUnavailableError(RuntimeError):
    pass


def connect(context: str, kubeconfig: str | None = None, timeout: float = 10) -> ApiClient:
    """A client for the kubeconfig context, checked to answer (KUBECONFIG or ~/.kube/config)."""
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
    except (config.ConfigException, OSError) as e:
        raise ClusterUnavailableError(f"no usable kubeconfig context {context!r}: {e}") from e
    try:
        client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception as e:
        raise ClusterUnavailableError(f"the API server of context {context!r} does not answer: {e}") from e
    return api


def as_dict(api: ApiClient, obj: Any) -> dict[str, Any]:
    plain = api.sanitize_for_serialization(obj)
    assert isinstance(plain, dict)
    return plain


Model = TypeVar("Model", client.V1Pod, client.V1Secret, client.V1Namespace)


def _model(kind: type[Model], obj: Mapping[str, Any]) -> Model:
    """An API model from its JSON form (the client's strict models reject a wrong field here)."""
    model = kind.from_dict(dict(obj))
    assert model is not None, f"{kind.__name__} from {obj}"
    return model


def _ignore_missing(call: Callable[[], Any]) -> None:
    try:
        call()
    except ApiException as e:
        if e.status != 404:
            raise


# ---- readiness and events ------------------------------------------------------------------


def observe(api: ApiClient, awaited: Iterable[Awaited]) -> list[Observed]:
    """Every Deployment, StatefulSet and DaemonSet on the cluster (node-exporter and the log
    shipper run as DaemonSets), and each awaited custom resource."""
    apps, custom = client.AppsV1Api(api), client.CustomObjectsApi(api)
    found = []
    listed = (
        ("Deployment", apps.list_deployment_for_all_namespaces, deployment_ready),
        ("StatefulSet", apps.list_stateful_set_for_all_namespaces, statefulset_ready),
        ("DaemonSet", apps.list_daemon_set_for_all_namespaces, daemonset_ready),
    )
    for kind, list_all, check in listed:
        for item in list_all().items:
            obj = as_dict(api, item)
            ready, detail = check(obj)
            found.append(Observed(kind, obj["metadata"]["namespace"], obj["metadata"]["name"], ready, detail))
    for a in awaited:
        try:
            found_obj = custom.get_namespaced_custom_object(
                a.rule.group, a.rule.version, a.namespace, a.rule.plural, a.name
            )
        except ApiException as e:
            if e.status != 404:
                raise
            found.append(Observed(a.rule.kind, a.namespace, a.name, False, "not found"))
            continue
        assert isinstance(found_obj, dict)
        ready, detail = a.rule.check(found_obj)
        found.append(Observed(a.rule.kind, a.namespace, a.name, ready, detail))
    return found


def _event_time(event: Mapping[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def format_event(event: Mapping[str, Any]) -> str:
    obj = event.get("involvedObject") or {}
    count = f" (x{event['count']})" if (event.get("count") or 1) > 1 else ""
    return (
        f"{_event_time(event)} {event.get('type', '')} {event.get('reason', '')} "
        f"{obj.get('kind', '')}/{obj.get('name', '')}{count}: {(event.get('message') or '').strip()}"
    )


def events_for(api: ApiClient, namespace: str, name: str, limit: int = 20) -> list[str]:
    """The latest events of an object and of what it owns by name (`<name>-...`: its pods,
    ReplicaSets, jobs and PVCs as the controllers and operators name them)."""
    events = [as_dict(api, e) for e in client.CoreV1Api(api).list_namespaced_event(namespace).items]
    mine = [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("name") == name
        or str((e.get("involvedObject") or {}).get("name", "")).startswith(f"{name}-")
    ]
    return [format_event(e) for e in sorted(mine, key=_event_time)[-limit:]]


# ---- probe pods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PodOutcome:
    namespace: str
    name: str
    phase: str
    exit_code: int | None
    logs: str
    # Why it did not finish (status and events), when it did not.
    detail: str = ""


def _exit_code(pod: Mapping[str, Any]) -> int | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if terminated:
            return int(terminated.get("exitCode", -1))
    return None


def _waiting(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    parts = [f"phase {status.get('phase')}"]
    for c in status.get("containerStatuses") or []:
        for state, info in (c.get("state") or {}).items():
            if info and (info.get("reason") or info.get("message")):
                parts.append(f"{c.get('name')} {state}: {info.get('reason', '')} {info.get('message', '')}".strip())
    for c in status.get("conditions") or []:
        if c.get("status") != "True" and c.get("message"):
            parts.append(f"{c.get('type')}: {c['message']}")
    return "; ".join(parts)


def _logs(core: client.CoreV1Api, namespace: str, name: str, container: str | None = None, **kw: Any) -> str:
    try:
        return str(core.read_namespaced_pod_log(name, namespace, container=container, **kw))
    except ApiException as e:
        return f"(no logs: {e.status} {e.reason})"


def delete_pod(core: client.CoreV1Api, namespace: str, name: str) -> None:
    _ignore_missing(lambda: core.delete_namespaced_pod(name, namespace, grace_period_seconds=0))


def _wait_gone(
    read: Callable[[], Any], timeout: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> None:
    deadline = clock() + timeout
    while clock() < deadline:
        try:
            read()
        except ApiException as e:
            if e.status == 404:
                return
            raise
        sleep(1)


def _reader(core: client.CoreV1Api, namespace: str, name: str) -> Callable[[], Any]:
    return lambda: core.read_namespaced_pod(name, namespace)


def run_pods(
    api: ApiClient,
    manifests: Iterable[Mapping[str, Any]],
    timeout: float,
    interval: float = 2,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, PodOutcome]:
    """Create the pods together, wait until each has run to completion (or `timeout`), and
    return each one's exit code and logs by `namespace/name`. The pods are deleted afterwards."""
    core = client.CoreV1Api(api)
    manifests = list(manifests)
    outcomes: dict[str, PodOutcome] = {}
    pending: dict[str, tuple[str, str]] = {}
    try:
        for m in manifests:
            namespace, name = m["metadata"]["namespace"], m["metadata"]["name"]
            delete_pod(core, namespace, name)
            _wait_gone(_reader(core, namespace, name), 60, clock, sleep)
            try:
                core.create_namespaced_pod(namespace, _model(client.V1Pod, m))
            except ApiException as e:
                # Refused at admission (Pod Security, quota): that is the test's finding.
                outcomes[f"{namespace}/{name}"] = PodOutcome(namespace, name, "Rejected", None, "", str(e.body or e))
                continue
            pending[f"{namespace}/{name}"] = (namespace, name)
        deadline = clock() + timeout
        while pending:
            for key, (namespace, name) in sorted(pending.items()):
                pod = as_dict(api, core.read_namespaced_pod(name, namespace))
                phase = (pod.get("status") or {}).get("phase") or "Unknown"
                finished = phase in {"Succeeded", "Failed"}
                if finished or clock() >= deadline:
                    detail = "" if phase == "Succeeded" else _waiting(pod)
                    if not finished:
                        detail = f"did not finish within {timeout:.0f} s: {detail}; events: " + " | ".join(
                            events_for(api, namespace, name)
                        )
                    outcomes[key] = PodOutcome(
                        namespace, name, phase, _exit_code(pod), _logs(core, namespace, name), detail
                    )
                    del pending[key]
            if pending:
                sleep(interval)
    finally:
        for m in manifests:
            delete_pod(core, m["metadata"]["namespace"], m["metadata"]["name"])
    return outcomes


def pod_image(api: ApiClient, ref: PodImage) -> str:
    """The image of the first container of a running pod matching the labels."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(ref.labels.items()))
    pods = client.CoreV1Api(api).list_namespaced_pod(ref.namespace, label_selector=selector).items
    if not pods:
        raise LookupError(f"no pod in {ref.namespace} matches {selector}")
    return str(as_dict(api, pods[0])["spec"]["containers"][0]["image"])


# ---- services, secrets, namespaces ---------------------------------------------------------


def service_get(
    api: ApiClient, namespace: str, service: str, port: str, path: str, timeout: float = 15
) -> tuple[int, str]:
    """GET `path` on a Service through the API server's proxy: (status, body)."""
    resource = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{path}"
    request = api.param_serialize("GET", resource, auth_settings=["BearerToken"])
    response = api.call_api(*request, _request_timeout=timeout)
    body = response.read()
    return response.status, body.decode(errors="replace") if isinstance(body, bytes) else str(body)


def prometheus_targets(api: ApiClient, namespace: str, service: str, port: str) -> list[dict[str, Any]]:
    """Prometheus' active targets (`/api/v1/targets?state=active`), through the service proxy."""
    status, body = service_get(api, namespace, service, port, "/api/v1/targets?state=active")
    if status != 200:
        raise LookupError(f"Prometheus {namespace}/{service} answered {status} to /api/v1/targets: {body[:300]}")
    answer = json.loads(body)
    targets = (answer.get("data") or {}).get("activeTargets") or []
    assert isinstance(targets, list)
    return targets


def ready_endpoints(api: ApiClient, namespace: str, service: str) -> int:
    """How many ready endpoints the Service's EndpointSlices list."""
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    return sum(
        1
        for s in slices.items
        for e in as_dict(api, s).get("endpoints") or []
        if (e.get("conditions") or {}).get("ready")
    )


def copy_secret(api: ApiClient, source: tuple[str, str], target: tuple[str, str], keys: Iterable[str]) -> None:
    """Copy some keys of a Secret into another namespace (replacing a leftover copy)."""
    core = client.CoreV1Api(api)
    data = as_dict(api, core.read_namespaced_secret(source[1], source[0])).get("data") or {}
    missing = [k for k in keys if k not in data]
    if missing:
        raise LookupError(f"Secret {source[0]}/{source[1]} lacks {missing}")
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": target[1], "namespace": target[0], "labels": {"app.kubernetes.io/managed-by": "e2e"}},
        "type": "Opaque",
        "data": {k: data[k] for k in keys},
    }
    delete_secret(api, *target)
    core.create_namespaced_secret(target[0], _model(client.V1Secret, body))


def delete_secret(api: ApiClient, namespace: str, name: str) -> None:
    core = client.CoreV1Api(api)
    _ignore_missing(lambda: core.delete_namespaced_secret(name, namespace))


def create_namespace(api: ApiClient, name: str, labels: Mapping[str, str]) -> None:
    """A namespace the test owns, under Pod Security `restricted` like the context namespaces."""
    core = client.CoreV1Api(api)
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**labels, **POD_SECURITY, "app.kubernetes.io/managed-by": "e2e"}},
    }
    core.create_namespace(_model(client.V1Namespace, body))


def delete_namespace(
    api: ApiClient,
    name: str,
    timeout: float = 120,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    core = client.CoreV1Api(api)
    _ignore_missing(lambda: core.delete_namespace(name))
    _wait_gone(lambda: core.read_namespace(name), timeout, clock, sleep)


# ---- diagnostics ---------------------------------------------------------------------------


def failing(pod: Mapping[str, Any]) -> bool:
    """A pod worth its logs: not finished successfully, not running ready, or restarted."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase == "Succeeded":
        return False
    containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    restarted = any((c.get("restartCount") or 0) > 0 for c in containers)
    not_ready = any(not c.get("ready") for c in status.get("containerStatuses") or [])
    return phase != "Running" or not_ready or restarted


def diagnose(api: ApiClient, out: Path) -> list[Path]:
    """Write the state of every pod, every event, and the logs of every failing pod to `out`."""
    core = client.CoreV1Api(api)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    pods = [as_dict(api, p) for p in core.list_pod_for_all_namespaces().items]
    lines = []
    for pod in sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
        lines.append(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}: {_waiting(pod)}")
    (out / "pods.txt").write_text("\n".join(lines) + "\n")
    written.append(out / "pods.txt")
    events = [as_dict(api, e) for e in core.list_event_for_all_namespaces().items]
    text = "\n".join(
        f"{(e.get('metadata') or {}).get('namespace', '')} {format_event(e)}" for e in sorted(events, key=_event_time)
    )
    (out / "events.txt").write_text(text + "\n")
    written.append(out / "events.txt")
    for pod in pods:
        if not failing(pod):
            continue
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        spec = pod.get("spec") or {}
        statuses = {
            c.get("name"): c
            for c in [
                *((pod.get("status") or {}).get("initContainerStatuses") or []),
                *((pod.get("status") or {}).get("containerStatuses") or []),
            ]
        }
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            cname = container["name"]
            path = out / f"{namespace}.{name}.{cname}.log"
            path.write_text(_logs(core, namespace, name, cname, tail_lines=5000))
            written.append(path)
            if (statuses.get(cname) or {}).get("restartCount"):
                previous = out / f"{namespace}.{name}.{cname}.previous.log"
                previous.write_text(_logs(core, namespace, name, cname, previous=True, tail_lines=5000))
                written.append(previous)
    return written
