"""`resolve_stack`: the validated settings resolved, once, into what the components receive.

The settings model (settings/model.py) refuses what one key can get wrong; this module adds the
rules across keys (environment, cloud, `cloudCluster`, `data`, `observability`, `registry` and
the services' images) and raises one
`SettingsError` naming every problem, before anything registers. Nothing after it checks a
setting again: the components take the resolved specs and trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pulumi

from settings import sealed_secrets as sealed_secrets_folder
from settings import seed
from settings.data import DataConsumer, DataLayerSpec, DataService, DataSettingsError, resolve_data_layer
from settings.dr import DrSpec, resolve_dr
from settings.front_door import FrontDoorSettingsError, FrontDoorSpec, resolve_front_door
from settings.load import load_settings, settings_error, stack_file_name
from settings.mesh import MeshSpec, mesh_spec
from settings.model import StackSettings
from settings.observability import ObservabilitySettingsError, ObservabilitySpec, resolve_observability
from settings.registry import RegistrySettingsError, RegistrySpec, mutable_tags, resolve_registry
from settings.sealed_secrets import SealedSecretSpec, load_sealed_secrets

# Every context Service listens on port 80 (components/context_service.py) whatever the app's port.
SERVICE_PORT = 80


@dataclass(frozen=True)
class StackSpec:
    """Everything a stack builds, resolved: the validated settings, the data layer's spec, the
    observability stack's spec, the mesh's, the container registry's spec and the teams' committed
    SealedSecrets."""

    settings: StackSettings
    data: DataLayerSpec
    observability: ObservabilitySpec
    front_door: FrontDoorSpec
    mesh: MeshSpec
    registry: RegistrySpec
    sealed_secrets: tuple[SealedSecretSpec, ...] = ()
    # Prod: the cross-region replicas and copies (settings/dr.py); None elsewhere.
    dr: DrSpec | None = None


def data_consumers(settings: StackSettings) -> tuple[DataConsumer, ...]:
    """Each context namespace whose services use a data service, with the union of their needs,
    and each platform component that keeps data of its own (`seed.PLATFORM_DATA_CONSUMERS`)."""
    by_context: dict[str, dict[DataService, None]] = {}
    for service in settings.application_services:
        if service.data_needs:
            by_context.setdefault(service.context, {}).update(dict.fromkeys(service.data_needs))
    contexts = [DataConsumer(namespace, "context", tuple(needs)) for namespace, needs in by_context.items()]
    components = [
        DataConsumer(namespace, "platform-component", tuple(dict.fromkeys(needs)))
        for namespace, needs in seed.PLATFORM_DATA_CONSUMERS.items()
        if needs
    ]
    return tuple(sorted((*contexts, *components), key=lambda c: c.namespace))


def resolve_stack(
    settings: StackSettings, source: str, sealed_secrets: Path | None = None, *, stack_name: str | None = None
) -> StackSpec:
    """The stack's specs, or one `SettingsError` naming every rule across keys that `source`
    breaks, and every committed SealedSecret under `sealed_secrets` (default: the repository's
    `sealed-secrets/`) that would be refused. `stack_name` (default: the running stack's) names
    the stack's own registry resources (ECR's repositories, ACR's resource group)."""
    problems = settings.cloud_cluster.check(settings.environment, settings.cloud)
    data = None
    try:
        data = resolve_data_layer(settings.data, settings.environment, settings.cloud, data_consumers(settings))
    except DataSettingsError as exc:
        problems += exc.problems
    dr, dr_problems = _resolve_dr(settings, data)
    problems += dr_problems
    if data is not None:
        # The archive interval is what each backend's archiving waits at most (settings/dr.py).
        interval = settings.dr.archive_interval_minutes
        components = {s: replace(c, rpo_minutes=interval) for s, c in data.components.items()}
        data = replace(data, components=components, dr=dr)
    observability = None
    try:
        observability = resolve_observability(
            settings.observability,
            settings.environment,
            settings.cloud,
            on_call_endpoint_set=settings.on_call_endpoint is not None,
            # The data services whose exporters Prometheus scrapes: those run in the cluster.
            in_cluster_data=data.in_cluster if data else (),
        )
    except ObservabilitySettingsError as exc:
        problems += exc.problems
    front_door = None
    try:
        front_door = resolve_front_door(
            settings.gateway,
            settings.identity,
            settings.edge,
            settings.environment,
            settings.cloud,
            tuple((s.name, s.context, SERVICE_PORT) for s in settings.application_services),
        )
    except FrontDoorSettingsError as exc:
        problems += exc.problems
    dns = settings.cloud_cluster.dns
    if settings.environment == "staging" and dns is None:
        problems.append(
            (
                "cloudCluster.dns",
                "required in staging: the cloud DNS zone the gateway's certificates are validated in (ACME DNS-01) "
                "and its origin name is published in",
            )
        )
    if front_door is not None and dns is not None and settings.environment != "dev":
        domain = front_door.domain
        if front_door.edge == "cloudflare" and not dns.zone.endswith(f".{domain}"):
            problems.append(
                (
                    "cloudCluster.dns.zone",
                    f"{dns.zone!r} is not below gateway.domain {domain!r}: behind Cloudflare the public names live in "
                    f"Cloudflare's zone and the cloud zone is delegated from it (allowed: e.g. 'origin.{domain}')",
                )
            )
        if front_door.edge == "none" and dns.zone != domain:
            problems.append(
                (
                    "cloudCluster.dns.zone",
                    f"{dns.zone!r} differs from gateway.domain {domain!r}: without an edge the public names live in "
                    f"the cloud zone (allowed: {domain!r})",
                )
            )
    images = {name: o.image for name, o in settings.services.items() if o.image is not None}
    registry = None
    try:
        registry = resolve_registry(
            settings.registry,
            settings.environment,
            settings.cloud,
            stack_name or pulumi.get_stack(),
            images,
            has_credential=settings.registry_pull_credential is not None,
            protect=settings.protect_stateful,
        )
    except RegistrySettingsError as exc:
        problems += exc.problems
    folder = sealed_secrets or sealed_secrets_folder.SEALED_SECRETS_DIR
    sealed, sealed_problems = load_sealed_secrets({c.slug for c in settings.contexts}, folder)
    problems += sealed_problems
    for service in settings.application_services:
        committed = sorted(s.name for s in sealed if s.namespace == service.context)
        for name in service.secrets:
            if name not in committed:
                problems.append(
                    (
                        f"services.{service.name}.secrets",
                        f"{name!r} is no SealedSecret of namespace {service.context} (allowed: "
                        f"{', '.join(committed) or 'none yet'}; commit it under sealed-secrets/{service.context}/, "
                        "docs/SECRETS.md)",
                    )
                )
    if problems or data is None or observability is None or front_door is None or registry is None:
        raise settings_error(source, problems)
    tag_only = mutable_tags(registry, images)
    if tag_only:
        pulumi.log.warn(
            f"services.<name>.image: {', '.join(tag_only)} pinned by tag alone, and {registry.type}'s tags can be "
            "moved: pin staging/prod by digest ('<tag>@sha256:<digest>', the build workflow prints it)"
        )
    return StackSpec(
        settings=settings,
        data=data,
        observability=observability,
        front_door=front_door,
        registry=registry,
        sealed_secrets=sealed,
        mesh=mesh_spec(settings.environment),
        dr=dr,
    )


def _resolve_dr(settings: StackSettings, data: DataLayerSpec | None) -> tuple[DrSpec | None, list[tuple[str, str]]]:
    """Prod's cross-region recovery between the cloud section's two regions."""
    cloud = settings.cloud_cluster
    regions: tuple[str, str | None] = ("", None)
    cidrs = ("", "")
    if settings.cloud == "aws" and cloud.aws is not None:
        regions, cidrs = (
            (cloud.aws.region, cloud.aws.secondary_region),
            (cloud.aws.vpc_cidr, cloud.aws.secondary_vpc_cidr),
        )
    elif settings.cloud == "azure" and cloud.azure is not None:
        regions = (cloud.azure.location, cloud.azure.secondary_location)
        cidrs = (cloud.azure.vnet_cidr, cloud.azure.secondary_vnet_cidr)
    explicit = "dr" in settings.model_fields_set
    return resolve_dr(settings.dr, explicit, settings.environment, settings.cloud, regions, cidrs, data)


def load_stack() -> StackSpec:
    """The stack file this run reads, validated and resolved: what `__main__.py` builds."""
    return resolve_stack(load_settings(), stack_file_name())
