"""Ownership metadata: cloud tags (own or the AWS provider's default tags) and context labels."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hubctl.policy_run import run_policies
from policy.bakhmach_policies import config_for, tagging
from policy.tools import gen_untaggable
from tests.planning import STACKS, planned
from tests.test_policy_pack import found, others, resource, run

TAGS = {"environment": "prod", "owner": "platform-team", "managed-by": "pulumi", "ttl": "indefinite"}
AWS_PROVIDER_URN = "urn:pulumi:prod::bakhmach-hub::pulumi:providers:aws::prod-aws"


def aws_provider(tags: dict[str, str]) -> dict[str, Any]:
    # Provider inputs reach the engine as strings; defaultTags is JSON (as `hubctl plan` records it).
    entry = resource(
        "pulumi:providers:aws", "prod-aws", {"region": "eu-central-1", "defaultTags": json.dumps({"tags": tags})}
    )
    entry["urn"] = AWS_PROVIDER_URN
    return entry


def vpc(tags: dict[str, str] | None = None, provider: str | None = None) -> dict[str, Any]:
    inputs: dict[str, Any] = {"cidrBlock": "10.0.0.0/16"}
    if tags is not None:
        inputs["tags"] = tags
    return resource("aws:ec2/vpc:Vpc", "vpc", inputs, provider=provider)


def labelled(kind: str, name: str, namespace: str | None, context: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {} if context is None else {"bakhmach.io/context": context}}
    if namespace:
        metadata["namespace"] = namespace
    group = {"Namespace": "core/v1", "ConfigMap": "core/v1", "ClusterRole": "rbac.authorization.k8s.io/v1"}[kind]
    return resource(
        f"kubernetes:{group}:{kind}", f"{kind}-{name}", {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    )


CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "cloud-resource-tags": (
        [vpc(TAGS), aws_provider(TAGS), vpc(provider=AWS_PROVIDER_URN) | {"name": "vpc2", "urn": "urn:x::vpc2"}],
        [vpc({"environment": "prod", "ttl": "indefinite"})],
    ),
    "kubernetes-context-label": (
        [
            labelled("ConfigMap", "settings", "slon-credit", "slon-credit"),
            labelled("ClusterRole", "reader", None, "platform"),
        ],
        [labelled("ConfigMap", "settings", "slon-credit", "platform")],
    ),
}


@pytest.mark.parametrize("policy", list(CASES))
def test_compliant_case_passes_and_violating_case_is_caught(policy: str) -> None:
    compliant, violating = CASES[policy]
    ok = run("prod", *compliant)
    assert found(ok, policy) == [] and others(ok, policy) == []
    bad = run("prod", *violating)
    assert found(bad, policy), f"{policy} missed its violating case"
    assert others(bad, policy) == []


def test_missing_tags_are_named() -> None:
    assert found(run("prod", vpc({"owner": "x"})), "cloud-resource-tags") == [
        "missing tags: environment, managed-by (set them on the resource or the provider's default tags)"
    ]


def test_provider_default_tags_and_own_tags_combine() -> None:
    provider = aws_provider({"owner": "platform-team", "managed-by": "pulumi"})
    assert found(run("prod", provider, vpc({"environment": "prod"}, AWS_PROVIDER_URN)), "cloud-resource-tags") == []
    assert found(run("prod", provider, vpc({}, AWS_PROVIDER_URN)), "cloud-resource-tags") == [
        "missing tags: environment (set them on the resource or the provider's default tags)"
    ]


def test_a_wrong_environment_tag_is_caught() -> None:
    assert found(run("prod", vpc(TAGS | {"environment": "staging"})), "cloud-resource-tags") == [
        "tag environment=staging in the prod stack"
    ]


def test_azure_resources_need_their_own_tags() -> None:
    group = resource("azure-native:resources:ResourceGroup", "rg", {"location": "westeurope"})
    assert found(run("prod", group), "cloud-resource-tags")
    assert found(run("prod", group | {"inputs": {"location": "westeurope", "tags": TAGS}}), "cloud-resource-tags") == []


def test_types_without_a_tags_input_are_exempt() -> None:
    attachment = resource(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", {"role": "r", "policyArn": "arn"}
    )
    assert found(run("prod", attachment), "cloud-resource-tags") == []


def test_untaggable_list_matches_the_pinned_sdks() -> None:
    assert (tagging._UNTAGGABLE_FILE).read_text() == gen_untaggable.render()
    assert not tagging.is_taggable("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert not tagging.is_taggable("azure-native:dbforpostgresql:Configuration")
    assert tagging.is_taggable("aws:rds/instance:Instance")
    assert tagging.is_taggable("azure-native:storage:StorageAccount")


@pytest.mark.parametrize(("stack", "cloud"), [s for s in STACKS if s[1] != "kind"])
def test_every_cloud_type_in_the_plans_is_classified_from_its_sdk(stack: str, cloud: str) -> None:
    """Each aws:/azure-native: type a stack creates is known to the SDK scan (so a new type from the
    data or cloud components is classified, not silently assumed)."""
    import importlib

    for type_ in {r.type for r in planned(stack, cloud).resources if r.type.startswith(tagging.CLOUD_PREFIXES)}:
        package, module, name = type_.split(":")
        root = {"aws": "pulumi_aws", "azure-native": "pulumi_azure_native"}[package]
        mod = importlib.import_module(f"{root}.{module.split('/')[0]}")
        # The SDK names a resource's args `<Name>InitArgs` where `<Name>Args` is a nested type's
        # (aws.ec2.VpcPeeringConnectionAccepterArgs is VpcPeeringConnection's `accepter` block).
        args = getattr(mod, f"{name}InitArgs", None) or getattr(mod, f"{name}Args")
        has_tags = "tags" in args.__init__.__code__.co_varnames
        assert tagging.is_taggable(type_) == has_tags, type_


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        (labelled("Namespace", "slon-credit", None, "slon-credit"), True),
        (labelled("Namespace", "slon-credit", None, "platform"), False),
        (labelled("Namespace", "istio-system", None, "platform"), True),
        (labelled("Namespace", "istio-system", None, None), False),
        (labelled("ConfigMap", "mesh", "kube-system", "platform"), True),
        (labelled("ConfigMap", "mesh", "kube-system", "unknown-context"), False),
        (labelled("ClusterRole", "reader", None, None), False),
    ],
)
def test_context_label_rule(entry: dict[str, Any], ok: bool) -> None:
    assert (found(run("prod", entry), "kubernetes-context-label") == []) is ok


def test_helm_releases_are_exempt_from_labels() -> None:
    release = resource("kubernetes:helm.sh/v3:Release", "vpa", {"chart": "vpa", "namespace": "kube-system"})
    assert found(run("prod", release), "kubernetes-context-label") == []


# ---- malformed metadata: reported, never a crash ---------------------------------------------
def _malformed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    entry = labelled("Namespace", "slon-credit", None, "slon-credit")
    holder = entry["inputs"]
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return entry


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("metadata", "name"), {"a": 1}, "metadata.name is not a string"),
        (("metadata", "namespace"), {"a": 1}, "metadata.namespace is not a string"),
        (("metadata", "labels", "bakhmach.io/context"), {"a": 1}, "label bakhmach.io/context is not a string"),
        (("metadata", "labels"), ["bakhmach.io/context"], "metadata.labels is not a mapping"),
        (("metadata",), "slon-credit", "metadata is not a mapping"),
    ],
    ids=["name", "namespace", "label", "labels", "metadata"],
)
def test_metadata_of_the_wrong_shape_is_reported_and_no_policy_breaks(
    path: tuple[str, ...], value: Any, problem: str
) -> None:
    """A name, namespace or label that is a mapping (or labels that are a list) is no Kubernetes
    object: kubernetes-context-label says so, and no policy fails with a TypeError on it."""
    report = run("prod", _malformed(path, value))
    assert [v.message for v in report.violations if "could not evaluate" in v.message] == []
    (message,) = found(report, "kubernetes-context-label")
    assert problem in message and message.endswith("(Kubernetes requires strings)")


@pytest.mark.parametrize("shape", ["name", "namespace", "labels"])
@pytest.mark.parametrize(("stack", "cloud"), [("dev", "kind"), ("prod", "aws")])
def test_no_policy_breaks_on_a_real_plan_whose_objects_have_malformed_metadata(
    stack: str, cloud: str, shape: str
) -> None:
    """Every policy of the pack (stack policies relate objects by name and namespace) over a real
    plan in which every Kubernetes object's name, namespace or labels has the wrong shape."""
    plan = planned(stack, cloud).to_json()
    objects = 0
    for entry in plan["resources"]:
        inputs = entry["inputs"]
        if entry["type"].startswith("kubernetes:") and "kind" in inputs and isinstance(inputs.get("metadata"), dict):
            objects += 1
            inputs["metadata"][shape] = ["not", "a", "string"] if shape == "labels" else {"a": 1}
    report = run_policies(plan, config_for(stack))
    assert [f"{v.policy}: {v.message}" for v in report.violations if "could not evaluate" in v.message] == []
    assert len(found(report, "kubernetes-context-label")) == objects > 0
