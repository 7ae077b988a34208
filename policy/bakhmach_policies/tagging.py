"""Ownership metadata: cloud resources tagged, Kubernetes objects labelled with their context.

Tags on AWS may come from the provider: `aws.Provider(default_tags=...)` stamps its tags on every
taggable resource it creates, so a resource whose provider's `defaultTags.tags` carries the keys
counts as tagged. (The engine passes the provider's inputs as `args.provider.props`; the
`defaultTags` input of a provider arrives JSON-encoded.) Azure has no provider-level default, so
each resource's own `tags` must carry them.

Kubernetes label rule (`bakhmach.io/context`):
- an object in a context namespace carries that namespace's context;
- every other object the stack creates (cluster-scoped objects, namespaces such as istio-system,
  objects in kube-system or operator namespaces) carries a known context, normally `platform`
  (the seed's "All" row: shared by every context);
- Helm releases are not Kubernetes objects: the chart labels what it renders, so the Release
  itself is exempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from . import seed
from .common import (
    as_mapping,
    context_of,
    get,
    is_kubernetes_object,
    labels,
    malformed_metadata,
    name,
    namespace,
    resource_environment,
    resource_policy,
)

_UNTAGGABLE_FILE = Path(__file__).with_name("untaggable.txt")
CLOUD_PREFIXES = ("aws:", "azure-native:")


@cache
def untaggable_types() -> frozenset[str]:
    lines = _UNTAGGABLE_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_taggable(resource_type: str) -> bool:
    return resource_type.startswith(CLOUD_PREFIXES) and resource_type not in untaggable_types()


def _provider_default_tags(args: ResourceValidationArgs) -> Mapping[str, Any]:
    provider = args.provider
    if provider is None or not provider.resource_type.startswith("pulumi:providers:aws"):
        return {}
    return as_mapping(as_mapping(provider.props.get("defaultTags")).get("tags"))


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_taggable(args.resource_type):
        return
    tags = dict(_provider_default_tags(args))
    tags.update(as_mapping(args.props.get("tags")))
    missing = [key for key in seed.REQUIRED_TAGS if not tags.get(key)]
    if missing:
        report(f"missing tags: {', '.join(missing)} (set them on the resource or the provider's default tags)", None)
    env = args.get_config().get("environment")
    if env and tags.get("environment") and tags["environment"] != env:
        report(f"tag environment={tags['environment']} in the {env} stack", None)


def _check_context_label(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not is_kubernetes_object(args.resource_type, props):
        return
    kind = props.get("kind")
    malformed = malformed_metadata(props)
    if malformed:
        # Its context cannot be read from labels that are not strings, nor its home from a name
        # or namespace that is not one.
        report(f"{kind} {name(props)}: {'; '.join(malformed)} (Kubernetes requires strings)", None)
        return
    context = context_of(props)
    home = name(props) if kind == "Namespace" else namespace(props)
    if home in seed.CONTEXTS:
        if context != home:
            report(f"{kind} {name(props)}: label {seed.CONTEXT_LABEL} is {context}, expected {home}", None)
    elif context not in seed.CONTEXTS:
        report(
            f"{kind} {name(props)}: label {seed.CONTEXT_LABEL} is {context}; objects outside the context "
            f"namespaces carry a known context (normally {seed.SHARED_CONTEXT!r})",
            None,
        )
    env = resource_environment(args)
    label_env = labels(props).get(seed.ENVIRONMENT_LABEL)
    if env and label_env and label_env != env:
        report(f"{kind} {name(props)}: label {seed.ENVIRONMENT_LABEL}={label_env} in the {env} stack", None)


def _check_ttl(args: ResourceValidationArgs, report: ReportViolation) -> None:
    env = resource_environment(args)
    if env is None:
        return
    wanted = seed.TTL[env]
    props = args.props
    if is_taggable(args.resource_type):
        tags = dict(_provider_default_tags(args))
        tags.update(as_mapping(props.get("tags")))
        if tags.get(seed.TTL_TAG) != wanted:
            report(
                f"tag {seed.TTL_TAG} is {tags.get(seed.TTL_TAG) or 'unset'}; {env} resources live {wanted} "
                "(the seed's environment TTL)",
                None,
            )
    elif (
        is_kubernetes_object(args.resource_type, props)
        and props.get("kind") == "Namespace"
        and name(props) in seed.CONTEXTS
    ):
        value = as_mapping(get(props, "metadata", "annotations", default={})).get(seed.TTL_ANNOTATION)
        if value != wanted:
            report(
                f"namespace {name(props)}: annotation {seed.TTL_ANNOTATION} is {value or 'unset'}; {env} lives "
                f"{wanted} (the seed's environment TTL)",
                None,
            )


POLICIES = [
    resource_policy(
        "cloud-resource-tags",
        "Every taggable AWS/Azure resource carries the environment, owner and managed-by tags "
        "(its own or its AWS provider's default tags).",
        _check_tags,
    ),
    resource_policy(
        "kubernetes-context-label",
        "Every Kubernetes object carries bakhmach.io/context: its namespace's context, or a known context "
        "(normally 'platform') outside the context namespaces.",
        _check_context_label,
    ),
    resource_policy(
        "environment-ttl",
        "Every cloud resource (tag 'ttl') and context namespace (annotation bakhmach.io/ttl) carries the seed's "
        "environment TTL: dev 7d, staging 30d, prod indefinite.",
        _check_ttl,
    ),
]
