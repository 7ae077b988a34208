"""Settings of the container registry: where the context services' images live, how the clusters
pull them. Stack-file key `bakhmach-hub:registry`; ghcr's pull credential is the stack secret
`bakhmach-hub:registryPullCredential`.

- `ghcr` (the default: the seed names "GitHub Container Registry"): the images are
  `ghcr.io/<owner>/<service>` (owner default `bakhmach-business-hub`). Private packages need a
  pull credential: the stack secret `registryPullCredential`, a token that may read the owner's
  packages (set with `pulumi config set --secret`), and `username`, the account it belongs to
  (not secret; `x-access-token` for a GitHub App's installation token). Each cluster gets it as a
  `kubernetes.io/dockerconfigjson` Secret in every context namespace, named in the context
  services' ServiceAccounts. Staging and prod need it: a preview warns without it, `pulumi up`
  refuses (as for the on-call endpoint). Dev takes it when it is set and otherwise pulls
  anonymously: public images, and the dev placeholder from Docker Hub, need none.
- `ecr` (cloud `aws`): one repository per service, `bakhmach-<stack>/<service>`, with immutable
  tags, a scan on every push, KMS encryption under a key of its own and a lifecycle rule keeping
  the newest `keepReleases` images (default 30); prod replicates every push to the secondary
  region. Nodes pull through their node role (AmazonEC2ContainerRegistryPullOnly): no credential.
- `acr` (cloud `azure`): one registry named `name` (5-50 lowercase letters and digits, unique in
  all of Azure), admin user and anonymous pull off; `Standard` in staging unless `sku: Premium`,
  `Premium` in prod (geo-replication to the secondary location needs it). Each AKS cluster's
  kubelet identity is granted AcrPull: no credential.

A service's image (`services.<name>.image`) is either a full reference, as written (`ghcr.io/...`),
or only a tag and/or digest (`1.4.2`, `1.4.2@sha256:<64 hex>`, `@sha256:<64 hex>`) in the
service's repository of the chosen registry: a value with no `/` and no `:` before its digest is
the short form. In staging and prod a full reference must name the service's repository in the
chosen registry; with `ecr` only the short form is accepted (the stack resolves it to each
region's repository: prod's secondary cluster pulls its own region's replica).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from settings.seed import Cloud, Environment

RegistryType = Literal["ghcr", "ecr", "acr"]
REGISTRY_TYPES: tuple[RegistryType, ...] = ("ghcr", "ecr", "acr")
REGISTRY_CLOUDS: dict[RegistryType, tuple[Cloud, ...]] = {
    "ghcr": ("kind", "aws", "azure"),
    "ecr": ("aws",),
    "acr": ("azure",),
}
PULL_CREDENTIAL_KEY = "registryPullCredential"
GHCR_HOST = "ghcr.io"
DEFAULT_GHCR_OWNER = "bakhmach-business-hub"
# ECR: the images a repository keeps. 30 covers a month of daily releases, far more than any
# rollback needs; the image a stack pins must be among them (ECR expires older ones).
DEFAULT_KEEP_RELEASES = 30
AcrSku = Literal["Standard", "Premium"]
ACR_DEFAULT_SKU: dict[Environment, AcrSku] = {"dev": "Standard", "staging": "Standard", "prod": "Premium"}

# GitHub user and organisation names: letters, digits and single hyphens, at most 39 characters;
# GHCR's image names are lowercase.
_GHCR_OWNER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$")
# Azure Container Registry names: 5-50 alphanumerics; lowercase, so the name is its login server's.
_ACR_NAME = re.compile(r"^[a-z0-9]{5,50}$")
# The short form of an image: a tag, a digest, or both, in the service's repository.
_SHORT = re.compile(r"^(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")

_KEYS_OF: dict[RegistryType, tuple[str, ...]] = {
    "ghcr": ("owner", "username"),
    "ecr": ("keep_releases",),
    "acr": ("name", "sku"),
}


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class RegistrySettings(_Section):
    type: RegistryType = "ghcr"
    # ghcr: the GitHub user or organisation that owns the packages.
    owner: str | None = None
    # ghcr: the account the pull token (`registryPullCredential`) belongs to.
    username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    # ecr: images kept per repository (the newest; older ones expire).
    keep_releases: int | None = Field(default=None, ge=5, le=1000)
    # acr: the registry's name, unique in all of Azure (its login server is <name>.azurecr.io).
    name: str | None = None
    # acr: Standard or Premium (prod needs Premium for geo-replication).
    sku: AcrSku | None = None

    @model_validator(mode="after")
    def _keys_of_type(self) -> RegistrySettings:
        used = _KEYS_OF[self.type]
        every = ("owner", "username", "keep_releases", "name", "sku")
        stray = [to_camel(k) for k in every if k not in used and getattr(self, k)]
        if stray:
            allowed = ", ".join(to_camel(k) for k in used)
            raise ValueError(f"{', '.join(stray)}: not used with type {self.type!r} (allowed: {allowed})")
        if self.owner is not None and not _GHCR_OWNER.match(self.owner):
            raise ValueError(
                f"owner: {self.owner!r} is not a GitHub owner (allowed: lowercase letters, digits and single "
                "hyphens, at most 39)"
            )
        if self.name is not None and not _ACR_NAME.match(self.name):
            raise ValueError(
                f"name: {self.name!r} is not a container registry name (allowed: 5-50 lowercase letters and digits)"
            )
        return self


@dataclass(frozen=True)
class ImageRef:
    """A service's image as the stack file gives it: a full reference, or a tag/digest in the
    service's repository of the stack's registry (`in_registry`)."""

    value: str
    in_registry: bool
    tag: str | None = None
    digest: str | None = None


def parse_image(value: str) -> ImageRef | None:
    """The short form (tag and/or digest) as an ImageRef; None when `value` is a full reference."""
    if "/" in value or ":" in value.split("@", 1)[0]:
        return None
    match = _SHORT.match(value)
    if match is None or not (match["tag"] or match["digest"]):
        return ImageRef(value, True)  # neither: the caller reports it
    return ImageRef(value, True, match["tag"], match["digest"])


def short_image_problem(ref: ImageRef) -> str | None:
    if ref.tag is None and ref.digest is None:
        return (
            f"{ref.value!r} is not a tag or digest (allowed: '1.4.2', '1.4.2@sha256:<64 hex>', '@sha256:<64 hex>', "
            "or a full reference such as 'ghcr.io/<owner>/<service>:1.4.2')"
        )
    if ref.tag == "latest" and ref.digest is None:
        return f"{ref.value!r} uses the 'latest' tag (allowed: a fixed tag or a digest)"
    return None


class RegistrySettingsError(ValueError):
    """Registry choices that do not fit the stack: (stack-file key, message) for each
    (settings/stack.py `resolve_stack` reports them with the stack's other problems)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))
        self.problems = problems


@dataclass(frozen=True)
class RegistrySpec:
    """The stack's registry, resolved: what the registry components and the pull path receive."""

    type: RegistryType
    environment: Environment
    cloud: Cloud
    stack_name: str
    owner: str = DEFAULT_GHCR_OWNER
    username: str | None = None
    keep_releases: int = DEFAULT_KEEP_RELEASES
    acr_name: str | None = None
    acr_sku: AcrSku | None = None
    # ghcr: a pull credential is set (staging/prod: required for `pulumi up`).
    has_credential: bool = False
    protect: bool = False

    @property
    def repository_prefix(self) -> str:
        """ECR: the stack's repositories share this prefix (replication filters on it)."""
        return f"bakhmach-{self.stack_name}"

    def repository(self, service: str) -> str:
        """The service's repository inside the registry (the matrix's row name)."""
        if self.type == "ghcr":
            return f"{self.owner}/{service}"
        if self.type == "ecr":
            return f"{self.repository_prefix}/{service}"
        return service

    @property
    def host(self) -> str | None:
        """The registry's host where it is the same everywhere (ECR's is per account and region)."""
        if self.type == "ghcr":
            return GHCR_HOST
        if self.type == "acr":
            return f"{self.acr_name}.azurecr.io"
        return None

    @property
    def pulls_with_secret(self) -> bool:
        """Whether the clusters pull with the stack's credential (else: nodes' own identity, or anonymous)."""
        return self.type == "ghcr" and (self.has_credential or self.environment != "dev")


def resolve_registry(
    settings: RegistrySettings,
    environment: Environment,
    cloud: Cloud,
    stack_name: str,
    images: dict[str, str],
    *,
    has_credential: bool,
    protect: bool,
) -> RegistrySpec:
    """The spec the components receive, or one `RegistrySettingsError` naming every key that
    breaks a rule. `images`: each service's `services.<name>.image` as the stack file gives it."""
    kind = settings.type
    if cloud not in REGISTRY_CLOUDS[kind]:
        allowed = [t for t in REGISTRY_TYPES if cloud in REGISTRY_CLOUDS[t]]
        # The images are judged against the registry the stack can have, so nothing more is said.
        raise RegistrySettingsError(
            [
                (
                    "registry.type",
                    f"{kind!r} needs cloud {' or '.join(REGISTRY_CLOUDS[kind])}, this stack runs on {cloud} "
                    f"(allowed: {', '.join(allowed)})",
                )
            ]
        )
    problems: list[tuple[str, str]] = []
    sku: AcrSku | None = None
    if has_credential and settings.username is None and kind == "ghcr":
        problems.append(
            (
                "registry.username",
                f"required with {PULL_CREDENTIAL_KEY} (allowed: the account the token belongs to; "
                "'x-access-token' for a GitHub App's installation token)",
            )
        )
    if kind == "acr":
        if settings.name is None:
            problems.append(
                (
                    "registry.name",
                    "required with type 'acr' (allowed: 5-50 lowercase letters and digits, unique in all of Azure)",
                )
            )
        sku = settings.sku or ACR_DEFAULT_SKU[environment]
        if environment == "prod" and sku != "Premium":
            problems.append(
                (
                    "registry.sku",
                    f"{sku!r} in prod: geo-replication to the secondary location needs Premium (allowed: Premium)",
                )
            )
    spec = RegistrySpec(
        type=kind,
        environment=environment,
        cloud=cloud,
        stack_name=stack_name,
        owner=settings.owner or DEFAULT_GHCR_OWNER,
        username=settings.username,
        keep_releases=settings.keep_releases or DEFAULT_KEEP_RELEASES,
        acr_name=settings.name,
        acr_sku=sku,
        has_credential=has_credential,
        protect=protect,
    )
    if kind != "acr" or settings.name is not None:  # an ACR image is judged by its registry's name
        for service, image in images.items():
            problem = image_problem(spec, service, image)
            if problem:
                problems.append((f"services.{service}.image", problem))
    if problems:
        raise RegistrySettingsError(problems)
    return spec


def image_problem(spec: RegistrySpec, service: str, image: str) -> str | None:
    """Why `image` cannot be this service's image with this registry, or None."""
    ref = parse_image(image)
    if ref is not None:
        return short_image_problem(ref)
    if spec.environment == "dev":
        return None  # dev runs any pinned image (a public one, a local build pushed anywhere)
    if spec.type == "ecr":
        return (
            f"{image!r} is a full reference; with registry 'ecr' give the tag and/or digest only (allowed: "
            "'1.4.2', '1.4.2@sha256:<64 hex>'): the stack resolves it to the repository "
            f"{spec.repository(service)} in each region's registry"
        )
    expected = f"{spec.host}/{spec.repository(service)}"
    name = image.split("@", 1)[0]
    if name.rsplit("/", 1)[-1].count(":"):
        name = name.rsplit(":", 1)[0]
    if name != expected:
        return (
            f"{image!r} is not in the stack's registry ({spec.type}) (allowed: {expected}:<tag>[@sha256:<digest>], "
            "or the tag/digest alone)"
        )
    return None


def mutable_tags(spec: RegistrySpec, images: dict[str, str]) -> list[str]:
    """Services whose staging/prod image is a tag alone on a registry whose tags can be moved
    (ghcr, acr: only ECR's repositories here refuse to overwrite a tag)."""
    if spec.environment == "dev" or spec.type == "ecr":
        return []
    return sorted(name for name, image in images.items() if "@sha256:" not in image)


def credential_problem(spec_type: RegistryType, credential: str | None) -> str | None:
    """Why the pull credential cannot be used (never echoing it), or None. Its absence is judged
    by the caller (a preview warns, a deployment refuses)."""
    if credential is None:
        return None
    if spec_type != "ghcr":
        how = "their node role" if spec_type == "ecr" else "their kubelet identity (AcrPull)"
        return f"is set, but with registry {spec_type!r} the nodes pull through {how} (allowed: remove it)"
    if not credential.strip() or any(c.isspace() for c in credential):
        return "is empty or has whitespace (allowed: the token alone, e.g. a classic token with read:packages)"
    return None
