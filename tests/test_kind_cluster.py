"""The kind cluster file the dev stack runs on."""

from __future__ import annotations

import yaml

from hubctl.plan import REPO_ROOT
from settings.load import load_settings
from tests.planning import k8s, planned

KIND = yaml.safe_load((REPO_ROOT / "kind" / "cluster.yaml").read_text())


def test_kind_cluster_uses_the_current_config_api_and_a_pinned_node_image() -> None:
    assert KIND["kind"] == "Cluster"
    assert KIND["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = KIND["nodes"]  # the seed's "Single node"
    assert node["role"] == "control-plane"
    image, _, digest = node["image"].partition("@sha256:")
    assert image.startswith("kindest/node:v1.") and len(digest) == 64


def test_the_dev_stack_targets_this_cluster_context() -> None:
    assert planned("dev", "kind").outputs["cluster"].endswith(f"(context kind-{KIND['name']})")
    dev = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    settings = load_settings({k.split(":", 1)[1]: v for k, v in dev.items()})
    assert settings.cluster.kubeconfig_context == f"kind-{KIND['name']}"


def test_the_laptop_s_ports_80_and_443_reach_the_gateway_s_node_ports() -> None:
    """`curl https://localhost/...` (README): kind maps 127.0.0.1:80/443 to the node ports of the
    gateway's Service in the dev plan, HTTP to HTTP and HTTPS to HTTPS, and to nothing else."""
    (node,) = KIND["nodes"]
    mappings = {m["hostPort"]: m["containerPort"] for m in node["extraPortMappings"]}
    assert set(mappings) == {80, 443}
    assert all(m["listenAddress"] == "127.0.0.1" and m["protocol"] == "TCP" for m in node["extraPortMappings"])
    (service,) = k8s(planned("dev", "kind"), "Service", "gateway", "gateway")
    assert service["spec"]["type"] == "NodePort"
    node_ports = {p["port"]: p["nodePort"] for p in service["spec"]["ports"]}
    assert node_ports == {80: mappings[80], 443: mappings[443]}
