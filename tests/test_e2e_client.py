"""tests/e2e/cluster.py against a fake Kubernetes API server: the real Python client (its request
paths, parameters and model parsing, which are strict in the 37.x client) without a cluster.
The fake answers like an API server with canned objects; what a real cluster does with them is
for the e2e run."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes.client import ApiClient

from tests.e2e import cluster, probes, readiness, selection
from tests.planning import planned

META = {"creationTimestamp": "2026-11-29T10:00:00Z"}
PROMETHEUS_PROXY = "/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:http-web/proxy"


def _deployment(namespace: str, name: str, ready: int) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name, "generation": 1, **META},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
        "status": {
            "observedGeneration": 1,
            "updatedReplicas": ready,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def _event(namespace: str, obj: str, reason: str, when: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": f"{obj}.{reason}", **META},
        "involvedObject": {"kind": "Pod", "name": obj, "namespace": namespace},
        "reason": reason,
        "message": f"{reason} happened",
        "type": "Warning",
        "lastTimestamp": when,
        "count": 2,
    }


class FakeApi:
    """An in-memory API server: pods finish as soon as they are created, with logs from `logs`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {
            ("slon-credit", "data-postgres"): {
                "metadata": {"namespace": "slon-credit", "name": "data-postgres", **META},
                "data": {"username": base64.b64encode(b"app").decode(), "password": base64.b64encode(b"pw").decode()},
                "type": "Opaque",
            }
        }
        self.namespaces: set[str] = set()
        self.logs: Callable[[dict[str, Any]], str] = lambda pod: "AUTH-OK app on app\n"
        self.deployments = [_deployment("platform", "auth-service", 1), _deployment("data-system", "strimzi", 0)]
        self.daemonsets = [
            {
                "metadata": {"namespace": "monitoring", "name": "node-exporter", "generation": 1, **META},
                "spec": {
                    "selector": {"matchLabels": {"app": "node-exporter"}},
                    "template": {"metadata": {"labels": {"app": "node-exporter"}}, "spec": {"containers": []}},
                },
                "status": {
                    "observedGeneration": 1,
                    "desiredNumberScheduled": 1,
                    "currentNumberScheduled": 1,
                    "numberMisscheduled": 0,
                    "updatedNumberScheduled": 1,
                    "numberReady": 0,
                    "numberAvailable": 0,
                },
            }
        ]
        self.targets = [
            {"scrapePool": "serviceMonitor/telemetry/jaeger/0", "health": "up", "lastError": ""},
        ]
        self.events = [
            _event("data-system", "strimzi-7f9-abcde", "FailedScheduling", "2026-11-29T10:01:00Z"),
            _event("data-system", "other-1", "Pulled", "2026-11-29T10:00:30Z"),
        ]
        self.custom = {
            ("psmdb.percona.com", "data", "perconaservermongodbs", "mongo"): {"status": {"state": "initializing"}},
            ("kafka.strimzi.io", "data", "kafkas", "kafka"): {
                "metadata": {"generation": 1},
                "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
            },
        }

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        m = re.fullmatch
        path = path.rstrip("/")
        if path == "/version":
            keys = ("buildDate", "compiler", "gitCommit", "gitTreeState", "goVersion", "platform")
            return 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0"} | {k: "x" for k in keys}
        if path == "/apis/apps/v1/deployments":
            return 200, {"items": self.deployments, "metadata": {}}
        if path == "/apis/apps/v1/statefulsets":
            return 200, {"items": [], "metadata": {}}
        if path == "/apis/apps/v1/daemonsets":
            return 200, {"items": self.daemonsets, "metadata": {}}
        if hit := m(r"/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([^/]+)/([^/]+)", path):
            group, _, namespace, plural, name = hit.groups()
            obj = self.custom.get((group, namespace, plural, name))
            return (200, obj) if obj else (404, {"kind": "Status", "code": 404, "reason": "NotFound"})
        if hit := m(r"/api/v1/namespaces/([^/]+)/events", path):
            return 200, {"items": [e for e in self.events if e["metadata"]["namespace"] == hit[1]], "metadata": {}}
        if path == "/api/v1/events":
            return 200, {"items": self.events, "metadata": {}}
        if path == "/api/v1/pods":
            return 200, {"items": list(self.pods.values()), "metadata": {}}
        if hit := m(r"/api/v1/namespaces/([^/]+)/pods", path):
            if method == "POST":
                pod = body | {"status": self._finished(body)}
                pod["metadata"] |= META
                self.pods[(hit[1], body["metadata"]["name"])] = pod
                return 201, pod
            selector = dict(kv.split("=", 1) for kv in query.get("labelSelector", "").split(",") if kv)
            items = [
                p
                for (ns, _), p in self.pods.items()
                if ns == hit[1] and all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ]
            return 200, {"items": items, "metadata": {}}
        if hit := m(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", path):
            pod = self.pods.get((hit[1], hit[2]))
            return (200, self.logs(pod)) if pod else (404, {"kind": "Status", "code": 404})
        if hit := m(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", path):
            key = (hit[1], hit[2])
            if key not in self.pods:
                return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
            return 200, self.pods.pop(key) if method == "DELETE" else self.pods[key]
        if path == PROMETHEUS_PROXY + "/api/v1/targets":
            if query.get("state") != "active":
                return 400, "the fake serves active targets only"
            return 200, json.dumps({"status": "success", "data": {"activeTargets": self.targets}})
        if hit := m(r"/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)", path):
            return 200, f"ready: {hit[3]}"
        if hit := m(r"/apis/discovery.k8s.io/v1/namespaces/([^/]+)/endpointslices", path):
            endpoint = {"addresses": ["10.244.0.7"], "conditions": {"ready": True}}
            item = {
                "metadata": {"name": "s", **META},
                "addressType": "IPv4",
                "endpoints": [endpoint, endpoint | {"conditions": {}}],
            }
            return 200, {"items": [item], "metadata": {}}
        if hit := m(r"/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?", path):
            key = (hit[1], hit[2] or (body or {}).get("metadata", {}).get("name"))
            if method == "POST":
                self.secrets[key] = body
                return 201, body
            if key not in self.secrets:
                return 404, {"kind": "Status", "code": 404}
            return 200, self.secrets.pop(key) if method == "DELETE" else self.secrets[key]
        if hit := m(r"/api/v1/namespaces(?:/([^/]+))?", path):
            name = hit[1] or body["metadata"]["name"]
            if method == "POST":
                self.namespaces.add(name)
                return 201, body
            if name not in self.namespaces:
                return 404, {"kind": "Status", "code": 404}
            if method == "DELETE":
                self.namespaces.discard(name)
            return 200, {"metadata": {"name": name}}
        return 500, {"kind": "Status", "message": f"the fake does not serve {method} {path}"}

    @staticmethod
    def _finished(pod: dict[str, Any]) -> dict[str, Any]:
        container = pod["spec"]["containers"][0]
        status = {
            "name": container["name"],
            "image": container["image"],
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        }
        return {"phase": "Succeeded", "containerStatuses": [status]}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeApi, ApiClient]]:
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            api.requests.append((self.command, self.path, dict(self.headers)))
            status, answer = api.handle(self.command, url.path, query, body)
            data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's method names

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                "users": [{"name": "fake", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "kind-bakhmach-dev", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "kind-bakhmach-dev",
            }
        )
    )
    client = cluster.connect("kind-bakhmach-dev", kubeconfig=str(kubeconfig))
    yield api, client
    client.close()
    server.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_connect_reaches_the_context_s_server_and_names_a_missing_context(
    fake: tuple[FakeApi, ApiClient], tmp_path: Path
) -> None:
    api, _ = fake
    assert api.requests[0][:2] == ("GET", "/version/")
    with pytest.raises(cluster.ClusterUnavailableError, match="kind-other"):
        cluster.connect("kind-other", kubeconfig=str(tmp_path / "kubeconfig"))


def test_observe_reads_deployments_and_awaited_databases(fake: tuple[FakeApi, ApiClient]) -> None:
    _, client = fake
    awaited = [
        a
        for a in readiness.awaited(planned("dev", "kind"))
        if a.rule.kind in {"PerconaServerMongoDB", "Kafka", "Cluster"}
    ]
    seen = {(o.kind, o.namespace, o.name): o for o in cluster.observe(client, awaited)}
    assert seen[("Deployment", "platform", "auth-service")].ready
    assert not seen[("Deployment", "data-system", "strimzi")].ready
    assert seen[("Kafka", "data", "kafka")].ready
    assert seen[("PerconaServerMongoDB", "data", "mongo")].detail == "state='initializing'"
    assert seen[("Cluster", "data", "postgres")].detail == "not found"
    node_exporter = seen[("DaemonSet", "monitoring", "node-exporter")]
    assert not node_exporter.ready and node_exporter.detail == "0/1 nodes available"


def test_prometheus_targets_are_read_through_the_service_proxy(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    stack, _, _ = selection.scrape_pools(planned("dev", "kind"))
    assert stack is not None
    targets = cluster.prometheus_targets(client, stack.namespace, stack.prometheus_service, stack.prometheus_port)
    assert targets == api.targets
    assert api.requests[-1][1] == PROMETHEUS_PROXY + "/api/v1/targets?state=active"


def test_events_of_an_object_include_its_pods_and_are_formatted(fake: tuple[FakeApi, ApiClient]) -> None:
    _, client = fake
    assert cluster.events_for(client, "data-system", "strimzi") == [
        "2026-11-29T10:01:00+00:00 Warning FailedScheduling Pod/strimzi-7f9-abcde (x2): FailedScheduling happened"
    ]


def test_probe_pods_are_created_read_and_deleted(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    plan = planned("dev", "kind")
    cases, _ = selection.credential_cases(plan)
    manifests = [probes.credential_probe(c, "postgres:image", c.consumer.secret) for c in cases[:3]]
    outcomes = cluster.run_pods(client, manifests, timeout=30, clock=Clock(), sleep=lambda _: None)
    assert set(outcomes) == {f"{m['metadata']['namespace']}/{m['metadata']['name']}" for m in manifests}
    assert all(o.phase == "Succeeded" and o.exit_code == 0 for o in outcomes.values())
    assert all(probes.verdict(o.logs) == ("AUTH-OK", "app on app") for o in outcomes.values())
    assert api.pods == {}  # deleted afterwards
    assert len([r for r in api.requests if r[0] == "POST"]) == 3


def test_a_pod_that_does_not_finish_is_reported_with_its_state(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    api._finished = lambda pod: {  # type: ignore[method-assign]
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/1 nodes: Insufficient cpu"}],
    }
    manifest = probes.network_probe("platform", {"a": "b"}, [], "img")
    (outcome,) = cluster.run_pods(client, [manifest], timeout=10, clock=(clock := Clock()), sleep=clock.sleep).values()
    assert outcome.phase == "Pending" and "Insufficient cpu" in outcome.detail and "within 10 s" in outcome.detail


def test_the_kafka_image_is_read_from_its_running_brokers(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    broker = {
        "metadata": {
            "namespace": "data",
            "name": "kafka-dual-role-0",
            "labels": {"strimzi.io/cluster": "kafka", "strimzi.io/broker-role": "true"},
        },
        "spec": {"containers": [{"name": "kafka", "image": "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1"}]},
    }
    api.pods[("data", "kafka-dual-role-0")] = broker
    ref = selection.PodImage("data", {"strimzi.io/cluster": "kafka", "strimzi.io/broker-role": "true"})
    assert cluster.pod_image(client, ref) == "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1"
    query = parse_qs(urlparse(api.requests[-1][1]).query)
    assert query["labelSelector"] == ["strimzi.io/broker-role=true,strimzi.io/cluster=kafka"]
    with pytest.raises(LookupError):
        cluster.pod_image(client, selection.PodImage("data", {"strimzi.io/cluster": "other"}))


def test_the_readiness_path_goes_through_the_service_proxy_with_credentials(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    status, body = cluster.service_get(client, "slon-credit", "slon-finance", "http", "/actuator/health/readiness")
    assert (status, body) == (200, "ready: /actuator/health/readiness")
    _, path, headers = api.requests[-1]
    assert path == "/api/v1/namespaces/slon-credit/services/slon-finance:http/proxy/actuator/health/readiness"
    assert {k.lower(): v for k, v in headers.items()}["authorization"] == "Bearer t0ken"
    assert cluster.ready_endpoints(client, "slon-credit", "slon-finance") == 1


def test_secrets_and_namespaces_the_tests_own(fake: tuple[FakeApi, ApiClient]) -> None:
    api, client = fake
    cluster.copy_secret(
        client, ("slon-credit", "data-postgres"), ("platform", "e2e-postgres-of-slon-credit"), ("username", "password")
    )
    copied = api.secrets[("platform", "e2e-postgres-of-slon-credit")]
    assert copied["data"] == api.secrets[("slon-credit", "data-postgres")]["data"]
    assert copied["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "e2e"}
    with pytest.raises(LookupError, match="lacks"):
        cluster.copy_secret(client, ("slon-credit", "data-postgres"), ("platform", "x"), ("database",))
    cluster.delete_secret(client, "platform", "e2e-postgres-of-slon-credit")
    cluster.delete_secret(client, "platform", "e2e-postgres-of-slon-credit")  # already gone: fine
    assert ("platform", "e2e-postgres-of-slon-credit") not in api.secrets
    cluster.create_namespace(client, "e2e-gateway", {"bakhmach.io/role": "gateway"})
    assert next(r for r in reversed(api.requests) if r[0] == "POST")[1] == "/api/v1/namespaces"
    assert "e2e-gateway" in api.namespaces
    cluster.delete_namespace(client, "e2e-gateway", clock=(clock := Clock()), sleep=clock.sleep)
    assert "e2e-gateway" not in api.namespaces


def test_diagnostics_write_states_events_and_failing_pods_logs(fake: tuple[FakeApi, ApiClient], tmp_path: Path) -> None:
    api, client = fake
    ok = {"metadata": {"namespace": "platform", "name": "ok"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    ok["status"] = {
        "phase": "Running",
        "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": True, "restartCount": 0}],
    }
    crashing = {
        "metadata": {"namespace": "data", "name": "mongo-rs0-0"},
        "spec": {"containers": [{"name": "mongod", "image": "i"}]},
    }
    crashing["status"] = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "mongod",
                "image": "i",
                "imageID": "",
                "ready": False,
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            }
        ],
    }
    api.pods = {("platform", "ok"): ok, ("data", "mongo-rs0-0"): crashing}
    api.logs = lambda pod: f"log of {pod['metadata']['name']}"
    written = {p.name for p in cluster.diagnose(client, tmp_path / "out")}
    assert written == {"pods.txt", "events.txt", "data.mongo-rs0-0.mongod.log", "data.mongo-rs0-0.mongod.previous.log"}
    assert (tmp_path / "out" / "data.mongo-rs0-0.mongod.log").read_text() == "log of mongo-rs0-0"
    assert "CrashLoopBackOff" in (tmp_path / "out" / "pods.txt").read_text()
    assert "FailedScheduling" in (tmp_path / "out" / "events.txt").read_text()
