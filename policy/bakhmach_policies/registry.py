"""Registry policies: where the images come from, and what the stack's own registry guarantees.

- `images-from-allowed-registries` (staging, prod): every image the plan shows — containers of
  every pod template, and the image fields of operators' custom resources (`image`,
  `imageName`) — comes from the stack's registry or, outside the context namespaces, from the
  third-party allow-list. The stack's registry is the one the plan creates (its ECR repositories,
  its Azure Container Registry), else the pack config's `platformRegistries` (ghcr, which the
  stack does not create). A context service's image must come from the stack's registry.
- `registry-hardened` (staging, prod): the stack's ECR repositories keep tags immutable, scan on
  push, encrypt under a KMS key and expire old releases; its ACR has no admin user and no
  anonymous pull; in prod the registry reaches the secondary region (ECR replication into
  repositories there, or an ACR geo-replica).

Images a Helm chart renders are not in the plan (only the release's values are); they are not
judged here, and the allow-list names the images the plan does show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource, ReportViolation, StackValidationArgs

from . import seed
from .common import (
    CONFIG_SCHEMA,
    as_bool,
    containers,
    get,
    is_kubernetes_object,
    is_list,
    items,
    namespace,
    object_ref,
    of_type,
    peek,
    pod_spec,
    stack_environment,
    stack_policy,
)

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
AWS_PROVIDER = "pulumi:providers:aws"
ACR = "azure-native:containerregistry:Registry"
ACR_REPLICATION = "azure-native:containerregistry:Replication"

# The pack's defaults, written into policy/config/<environment>.json by gen_config.py; a team
# edits them there (or passes its own file with --policy-pack-config).
# - platformRegistries: where the platform's own images live when the stack creates no registry
#   of its own (ghcr, the seed's registry: settings/registry.py's default owner);
# - thirdPartyImages: the repositories of third-party images the stack runs outside the context
#   namespaces, as pinned in components/ (a prefix ending in "/" allows everything under it).
PLATFORM_REGISTRIES: tuple[str, ...] = ("ghcr.io/bakhmach-business-hub/",)
THIRD_PARTY_IMAGES: tuple[str, ...] = (
    "docker.io/jaegertracing/jaeger",
    "docker.io/curlimages/curl",
    "docker.io/percona/percona-server-mongodb",
    "docker.io/percona/percona-backup-mongodb",
    "docker.io/percona/mongodb_exporter",
    "quay.io/opstree/redis",
    "docker.io/oliver006/redis_exporter",
    "ghcr.io/cloudnative-pg/postgresql",
    # MSK's ACL provisioning Job (kafka-acls.sh): the image Strimzi itself runs for its Kafka.
    "quay.io/strimzi/kafka",
    # The Keycloak operator, from its vendored release manifests (components/identity.py); the
    # Keycloak server image it runs is named in its environment (RELATED_IMAGE_KEYCLOAK).
    "quay.io/keycloak/keycloak-operator",
)
# Each policy's settings beside `environment`, as config_for() writes them.
POLICY_CONFIG: dict[str, dict[str, list[str]]] = {
    "images-from-allowed-registries": {
        "platformRegistries": list(PLATFORM_REGISTRIES),
        "thirdPartyImages": list(THIRD_PARTY_IMAGES),
    }
}
_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
IMAGES_CONFIG_SCHEMA = PolicyConfigSchema(
    properties={**CONFIG_SCHEMA.properties, "platformRegistries": _LIST, "thirdPartyImages": _LIST},
)
# Custom-resource fields that name an image (Percona's `image`, CloudNativePG's `imageName`, …).
IMAGE_FIELDS = ("image", "imageName")
_ECR_HOST = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$")


def repository_of(image: str) -> str:
    """An image reference's repository with its registry, as the container runtime resolves it:
    `jaegertracing/jaeger:2.20.0` -> `docker.io/jaegertracing/jaeger`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first, _, rest = name.partition("/")
    if not rest:
        return f"docker.io/library/{name}"
    if first in ("index.docker.io", "registry-1.docker.io"):
        return f"docker.io/{rest}"
    if "." in first or ":" in first or first == "localhost":
        return name
    return f"docker.io/{name}"


def allowed_by(entries: Sequence[str], repository: str) -> bool:
    return any(repository.startswith(e) if e.endswith("/") else repository == e for e in entries)


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf of a nested value with its path; a value unknown before deployment reads as None."""
    if isinstance(value, Mapping):
        for key in value:
            yield from _strings(peek(value, key), (*path, str(key)))
    elif is_list(value):
        for index in range(len(value)):
            yield from _strings(peek(value, index), (*path, str(index)))
    else:
        yield path, value


def images_of(resource: PolicyResource) -> list[tuple[str, Any]]:
    """(where, image) for every image a resource names: its pod template's containers, or a
    custom resource's image fields."""
    props = resource.props
    spec = pod_spec(resource.resource_type, props)
    if spec is not None:
        return [(f"container {c.get('name')}", c.get("image")) for c in containers(spec)]
    if not is_kubernetes_object(resource.resource_type, props) or "/" not in resource.resource_type.split(":")[1]:
        return []
    group = resource.resource_type.split(":")[1].split("/")[0]
    if "." not in group:  # a built-in API group (apps, batch, …) holds no other image fields
        return []
    return [
        (".".join(path), value)
        for path, value in _strings(get(props, "spec", default={}), ("spec",))
        if path and path[-1] in IMAGE_FIELDS and isinstance(value, str)
    ]


def _ecr_repositories(resources: list[PolicyResource]) -> set[str]:
    return {str(name) for r in of_type(resources, ECR_REPOSITORY) if (name := peek(r.props, "name"))}


def _acr_hosts(resources: list[PolicyResource]) -> set[str]:
    return {
        f"{str(name).lower()}.azurecr.io/" for r in of_type(resources, ACR) if (name := peek(r.props, "registryName"))
    }


def _stack_registry(resources: list[PolicyResource], platform: Sequence[str]) -> tuple[str, Any]:
    """What the stack's own images must match, and how to say it."""
    ecr = _ecr_repositories(resources)
    acr = _acr_hosts(resources)
    if ecr:
        return "its ECR repositories", lambda repository: _in_ecr(repository, ecr)
    if acr:
        return f"its registry {', '.join(sorted(acr))}", lambda repository: allowed_by(sorted(acr), repository)
    return f"{', '.join(platform)}", lambda repository: allowed_by(platform, repository)


def _in_ecr(repository: str, names: set[str]) -> bool:
    host, _, path = repository.partition("/")
    return bool(_ECR_HOST.match(host)) and path in names


def _check_images(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    platform = list(config.get("platformRegistries") or PLATFORM_REGISTRIES)
    third_party = list(config.get("thirdPartyImages") or THIRD_PARTY_IMAGES)
    where, own = _stack_registry(args.resources, platform)
    for resource in args.resources:
        found = images_of(resource)
        if not found:
            continue
        in_context = namespace(resource.props) in seed.CONTEXTS
        for field, image in found:
            text = str(image or "")
            if not text:
                continue
            repository = repository_of(text)
            if own(repository):
                continue
            if in_context:
                report(
                    f"{object_ref(resource.props)} {field}: image {text} is not from the stack's registry ({where}); "
                    "a context service runs only images the stack's registry holds",
                    resource.urn,
                )
            elif not allowed_by(third_party, repository):
                report(
                    f"{object_ref(resource.props)} {field}: image {text} is from neither the stack's registry "
                    f"({where}) nor the third-party allow-list (the pack config's thirdPartyImages)",
                    resource.urn,
                )


def _region_of(resource: PolicyResource) -> str | None:
    """The region an AWS resource lands in: its own `region`, else its provider's."""
    own = peek(resource.props, "region")
    if own:
        return str(own)
    provider = resource.provider
    if provider is None or provider.resource_type != AWS_PROVIDER:
        return None
    region = peek(provider.props, "region")
    return str(region) if region else None


def _ecr_problems(repository: PolicyResource, lifecycles: set[tuple[str | None, str]]) -> list[str]:
    p = repository.props
    problems = []
    mutability = get(p, "imageTagMutability")
    if mutability != "IMMUTABLE":
        problems.append(f"imageTagMutability is {mutability or 'unset (MUTABLE)'}, not IMMUTABLE")
    if as_bool(get(p, "imageScanningConfiguration", "scanOnPush")) is not True:
        problems.append("imageScanningConfiguration.scanOnPush is not true")
    encryption = items(get(p, "encryptionConfigurations"))
    if not encryption or get(encryption[0], "encryptionType") != "KMS" or not get(encryption[0], "kmsKey"):
        problems.append("encryptionConfigurations is not KMS with a key of its own (kmsKey)")
    name = peek(p, "name")
    if name is not None and (_region_of(repository), str(name)) not in lifecycles:
        problems.append("no lifecycle policy expires its old releases")
    return problems


def _replicated_regions(configurations: list[PolicyResource]) -> set[str]:
    return {
        str(get(d, "region"))
        for c in configurations
        for rule in items(get(c.props, "replicationConfiguration", "rules"))
        for d in items(get(rule, "destinations"))
    }


def _covered(
    repository: PolicyResource, configurations: list[PolicyResource], names_in: dict[str | None, set[str]]
) -> bool:
    """Whether a replication rule of the repository's region copies it to a region that has a
    repository of the same name (made by the stack, with its settings)."""
    region, name = _region_of(repository), str(peek(repository.props, "name"))
    for configuration in configurations:
        if _region_of(configuration) != region:
            continue
        for rule in items(get(configuration.props, "replicationConfiguration", "rules")):
            prefixes = [str(get(f, "filter", default="")) for f in items(get(rule, "repositoryFilters"))]
            if prefixes and not any(name.startswith(p) for p in prefixes):
                continue
            targets = {get(d, "region") for d in items(get(rule, "destinations"))} - {region}
            if any(name in names_in.get(str(t), set()) for t in targets):
                return True
    return False


def _check_hardened(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = args.resources
    repositories = of_type(resources, ECR_REPOSITORY)
    lifecycles = {
        (_region_of(p), str(r)) for p in of_type(resources, ECR_LIFECYCLE) if (r := peek(p.props, "repository"))
    }
    for repository in repositories:
        for problem in _ecr_problems(repository, lifecycles):
            report(f"ECR repository {peek(repository.props, 'name')}: {problem}", repository.urn)
    registries = of_type(resources, ACR)
    for registry in registries:
        name = peek(registry.props, "registryName")
        for key, meaning in (
            ("adminUserEnabled", "a shared password"),
            ("anonymousPullEnabled", "pulls without a token"),
        ):
            if as_bool(get(registry.props, key)) is not False:
                report(f"container registry {name}: {key} is not false ({meaning})", registry.urn)
    if stack_environment(args) != "prod":
        return
    configurations = of_type(resources, ECR_REPLICATION)
    replicas = _replicated_regions(configurations)
    names_in: dict[str | None, set[str]] = {}
    for repository in repositories:
        names_in.setdefault(_region_of(repository), set()).add(str(peek(repository.props, "name")))
    for repository in repositories:
        if _region_of(repository) in replicas or _covered(repository, configurations, names_in):
            continue
        report(
            f"ECR repository {peek(repository.props, 'name')} ({_region_of(repository)}): prod replicates every "
            "push to a repository of the same name in the secondary region (aws.ecr.ReplicationConfiguration)",
            repository.urn,
        )
    for registry in registries:
        home = peek(registry.props, "location")
        geo = [
            r
            for r in of_type(resources, ACR_REPLICATION)
            if peek(r.props, "registryName") == peek(registry.props, "registryName")
            and peek(r.props, "location") not in (None, home)
        ]
        if get(registry.props, "sku", "name") != "Premium" or not geo:
            report(
                f"container registry {peek(registry.props, 'registryName')}: prod needs a Premium registry "
                "geo-replicated to the secondary location",
                registry.urn,
            )


POLICIES = [
    stack_policy(
        "images-from-allowed-registries",
        "Staging and prod run images from the stack's registry only (context services), or from the third-party "
        "allow-list (everything else).",
        _check_images,
        environments=("staging", "prod"),
        config_schema=IMAGES_CONFIG_SCHEMA,
    ),
    stack_policy(
        "registry-hardened",
        "The stack's registry keeps tags immutable, scans on push, encrypts under its own KMS key, expires old "
        "releases, allows no admin user or anonymous pull, and reaches the secondary region in prod.",
        _check_hardened,
        environments=("staging", "prod"),
    ),
]
