"""The kind cluster file the dev stack runs on."""

from __future__ import annotations

import yaml

from hubctl.plan import REPO_ROOT
from settings.load import load_settings
from tests.planning import planned

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


def test_the_gateway_can_bind_http_and_https_on_the_node() -> None:
    (node,) = KIND["nodes"]
    assert node["labels"]["ingress-ready"] == "true"
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {(80, 80), (443, 443)}
    assert all(m["listenAddress"] == "127.0.0.1" for m in node["extraPortMappings"])
