"""The container registry: where the context services' images live, and how each cluster pulls them.

One interface, one backend per registry type, chosen once from settings (`settings/registry.py`):
- `ghcr`: GitHub's registry, outside this stack. Nothing to create; where the stack has a pull
  credential, each cluster gets it as a `kubernetes.io/dockerconfigjson` Secret in every context
  namespace (`pull_secret`, made by the namespace's owner, components/context_namespace.py),
  named in the context services' ServiceAccounts;
- `ecr` (`EcrRegistry`): a repository per service in the primary region, and in prod the same
  repositories in the secondary region, filled by ECR's replication. EKS nodes pull through
  their node role (AmazonEC2ContainerRegistryPullOnly, components/cloud/eks.py);
- `acr` (`AcrRegistry`): one registry, geo-replicated to the secondary location in prod. Each AKS
  cluster grants its kubelet identity AcrPull on it (components/cloud/aks.py), and the cluster's
  Kubernetes provider waits for that grant.
A backend returns a `RegistryEndpoint`, a frozen value: the registry host of each region, each
service's repository, what must exist before a pod pulls, and the pull credential or ACR id a
cluster needs. The clusters, namespaces and services take what they need of it; nothing calls
back into the registry. Its settings are checked by `resolve_stack` (settings/stack.py), which
hands over the resolved `RegistrySpec`.

Why not a private ACR (private endpoints, Premium everywhere): the application repositories'
workflows (.github/workflows/build-image.yml) push from GitHub-hosted runners, whose addresses
are not fixed; a private registry would need every application repository to build on runners
inside the hub network. Access is by Entra ID only instead: no admin user, no anonymous pull.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from typing import Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerregistry, resources

from components.cloud.common import CloudScope
from components.labels import standard_labels
from settings.model import ServiceSpec, StackSettings
from settings.registry import RegistrySpec

# The Secret each context namespace holds for ghcr (its type's one key is `.dockerconfigjson`).
PULL_SECRET = "registry-pull"
DOCKER_CONFIG_KEY = ".dockerconfigjson"


@dataclass(frozen=True)
class RegistryEndpoint:
    """What the clusters and services need of the registry."""

    spec: RegistrySpec
    # The registry's host per region; `None` where it is the same in every region.
    hosts: dict[str | None, pulumi.Input[str]]
    # What must exist before a pod pulls (repositories, the registry and its replicas).
    ready: tuple[pulumi.Resource, ...] = ()
    # acr: the registry each AKS cluster's kubelet identity is granted AcrPull on.
    acr_id: pulumi.Output[str] | None = None
    # ghcr: the docker config the pull Secrets carry (a secret), where the clusters pull with one.
    docker_config: pulumi.Output[str] | None = None

    def host(self, region: str | None) -> pulumi.Input[str]:
        return self.hosts[region] if region in self.hosts else self.hosts[None]

    def image(self, spec: ServiceSpec, region: str | None) -> pulumi.Input[str]:
        """The service's image on a cluster in `region` (None: kind): the stack file's full
        reference, or its tag/digest in the service's repository of this region's registry."""
        if not spec.image_in_registry:
            return spec.image
        separator = "" if spec.image.startswith("@") else ":"
        return pulumi.Output.concat(self.host(region), "/", self.spec.repository(spec.name), separator, spec.image)


@dataclass(frozen=True)
class RegistryArgs:
    spec: RegistrySpec
    services: tuple[ServiceSpec, ...]
    # The registry's home (the primary region) and, in prod, the region it replicates to.
    primary: CloudScope | None = None
    secondary: CloudScope | None = None
    # ghcr: the stack's pull token (a secret), where it is set.
    pull_credential: pulumi.Input[str] | None = None


class RegistryBackend(Protocol):
    def build(self, name: str, args: RegistryArgs) -> RegistryEndpoint: ...


def docker_config_json(host: str, user: str, token: str) -> str:
    """A `kubernetes.io/dockerconfigjson` document for one registry: what `docker login` writes."""
    auth = base64.b64encode(f"{user}:{token}".encode()).decode()
    return json.dumps({"auths": {host: {"username": user, "password": token, "auth": auth}}})


def docker_config(host: str, user: str, token: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.secret(pulumi.Output.from_input(token).apply(lambda t: docker_config_json(host, user, t)))


class GhcrBackend:
    """GitHub's registry: nothing to create; the credential, where the stack pulls with one."""

    def build(self, name: str, args: RegistryArgs) -> RegistryEndpoint:
        spec = args.spec
        assert spec.host is not None
        config = None
        if spec.pulls_with_secret:
            # Staging/prod without the credential only in a preview (settings/load.py refuses the
            # deployment): the Secrets are shown with an empty credential, as the plan's intent.
            token = args.pull_credential if args.pull_credential is not None else ""
            config = docker_config(spec.host, spec.username or "", token)
        return RegistryEndpoint(spec=spec, hosts={None: spec.host}, docker_config=config)


# ---- ECR ------------------------------------------------------------------------------------


def lifecycle_policy(keep: int) -> str:
    """Keep the newest `keep` tagged images of a repository; older ones expire. Tags are
    immutable, so every tag is one release; untagged images (attestations pushed beside an image,
    which refer to it) are left alone, since removing them would strip kept images' provenance."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the newest {keep} releases",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True)
class EcrRegion:
    provider: aws.Provider
    key: aws.kms.Key
    repositories: dict[str, aws.ecr.Repository]


class EcrRegistry(pulumi.ComponentResource):
    """The stack's ECR repositories: per service, in the primary region and (prod) the secondary."""

    regions: dict[str, EcrRegion]
    replication: aws.ecr.ReplicationConfiguration | None

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:EcrRegistry", name, None, opts)
        assert args.primary is not None
        self.regions = {}
        scopes = [args.primary, *([args.secondary] if args.secondary else [])]
        for scope in scopes:
            self.regions[scope.region] = self._region(name, scope, args)
        primary = self.regions[args.primary.region]
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=primary.provider))
        self.account_id = account.account_id
        self.replication = None
        if args.secondary is not None:
            replicas = self.regions[args.secondary.region]
            # One replication configuration per registry (an account's registry in one region):
            # ECR replaces the whole configuration on every write, so this stack owns its source
            # region's; other replication rules in that account and region belong in it too. It
            # copies only images pushed after it exists, into the replica repositories made below
            # (with this stack's settings), never into ones ECR would create with its defaults.
            self.replication = aws.ecr.ReplicationConfiguration(
                f"{name}-replication",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=args.secondary.region, registry_id=self.account_id
                                )
                            ],
                            repository_filters=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                    filter=f"{args.spec.repository_prefix}/", filter_type="PREFIX_MATCH"
                                )
                            ],
                        )
                    ]
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=primary.provider, depends_on=list(replicas.repositories.values())
                ),
            )
        self.register_outputs(
            {"repositories": {s: r.name for s, r in primary.repositories.items()}, "regions": sorted(self.regions)}
        )

    def _region(self, name: str, scope: CloudScope, args: RegistryArgs) -> EcrRegion:
        prefix = f"{name}-{scope.region}" if scope.secondary else name
        provider = aws.Provider(
            f"{prefix}-aws",
            region=scope.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=scope.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        at = pulumi.ResourceOptions(parent=self, provider=provider)
        stateful = pulumi.ResourceOptions(parent=self, provider=provider, protect=scope.protect)
        alias = f"alias/{args.spec.repository_prefix}-ecr"
        key = aws.kms.Key(
            f"{prefix}-images-key",
            description=f"Images of {args.spec.repository_prefix}/* in ECR ({scope.region})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=scope.named(alias.removeprefix("alias/")),
            opts=stateful,
        )
        aws.kms.Alias(f"{prefix}-images-key-alias", name=alias, target_key_id=key.key_id, opts=at)
        repositories: dict[str, aws.ecr.Repository] = {}
        for service in args.services:
            repository_name = args.spec.repository(service.name)
            repository = aws.ecr.Repository(
                f"{prefix}-{service.name}",
                name=repository_name,
                # A pushed tag can never point at other content: the tag a stack pins is the image.
                image_tag_mutability="IMMUTABLE",
                # Basic scanning on every push. Enhanced scanning (Amazon Inspector, continuous)
                # is a registry-wide setting (RegistryScanningConfiguration, one per account and
                # region): it belongs to the account's owner, not to one stack of it.
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)
                ],
                # A repository that holds images is not deleted with the stack by accident.
                force_delete=False,
                tags=scope.named(repository_name),
                opts=stateful,
            )
            aws.ecr.LifecyclePolicy(
                f"{prefix}-{service.name}-lifecycle",
                repository=repository.name,
                policy=lifecycle_policy(args.spec.keep_releases),
                opts=at,
            )
            repositories[service.name] = repository
        return EcrRegion(provider=provider, key=key, repositories=repositories)


class EcrBackend:
    def build(self, name: str, args: RegistryArgs) -> RegistryEndpoint:
        registry = EcrRegistry(name, args)
        hosts: dict[str | None, pulumi.Input[str]] = {
            region: pulumi.Output.concat(registry.account_id, f".dkr.ecr.{region}.amazonaws.com")
            for region in registry.regions
        }
        ready: list[pulumi.Resource] = [r for region in registry.regions.values() for r in region.repositories.values()]
        if registry.replication is not None:
            ready.append(registry.replication)
        return RegistryEndpoint(spec=args.spec, hosts=hosts, ready=tuple(ready))


# ---- ACR ------------------------------------------------------------------------------------


class AcrRegistry(pulumi.ComponentResource):
    """The stack's container registry in its own resource group, geo-replicated in prod."""

    registry: containerregistry.Registry
    replication: containerregistry.Replication | None

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:AcrRegistry", name, None, opts)
        spec, scope = args.spec, args.primary
        assert scope is not None and spec.acr_name is not None and spec.acr_sku is not None
        stateful = pulumi.ResourceOptions(parent=self, protect=scope.protect)
        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=f"rg-bakhmach-{spec.stack_name}-registry",
            location=scope.region,
            tags=scope.tags,
            opts=stateful,
        )
        premium = spec.acr_sku == "Premium"
        self.registry = containerregistry.Registry(
            f"{name}-acr",
            registry_name=spec.acr_name,
            resource_group_name=group.name,
            location=scope.region,
            sku=containerregistry.SkuArgs(name=spec.acr_sku),
            # Entra ID only: no shared admin password, no pulls without a token.
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=containerregistry.PublicNetworkAccess.ENABLED,
            # Premium spreads the registry over the region's zones (Standard cannot).
            zone_redundancy=containerregistry.ZoneRedundancy.ENABLED if premium else None,
            tags=scope.tags,
            opts=stateful,
        )
        self.replication = None
        if args.secondary is not None:
            # The secondary region's clusters pull from a replica in their own region under the
            # same login server, and keep pulling when the home region is down.
            self.replication = containerregistry.Replication(
                f"{name}-replica-{args.secondary.region}",
                replication_name=args.secondary.region,
                registry_name=self.registry.name,
                resource_group_name=group.name,
                location=args.secondary.region,
                region_endpoint_enabled=True,
                zone_redundancy=containerregistry.ZoneRedundancy.ENABLED,
                tags=args.secondary.tags,
                opts=stateful,
            )
        self.register_outputs({"loginServer": self.registry.login_server})


class AcrBackend:
    def build(self, name: str, args: RegistryArgs) -> RegistryEndpoint:
        registry = AcrRegistry(name, args)
        assert args.spec.host is not None
        ready: tuple[pulumi.Resource, ...] = (registry.registry,)
        if registry.replication is not None:
            ready += (registry.replication,)
        return RegistryEndpoint(spec=args.spec, hosts={None: args.spec.host}, ready=ready, acr_id=registry.registry.id)


BACKENDS: dict[str, RegistryBackend] = {"ghcr": GhcrBackend(), "ecr": EcrBackend(), "acr": AcrBackend()}


def build_registry(name: str, args: RegistryArgs) -> RegistryEndpoint:
    return BACKENDS[args.spec.type].build(name, args)


# ---- in each cluster ------------------------------------------------------------------------


def pull_secret(
    resource_name: str,
    namespace: str,
    docker_config: pulumi.Input[str],
    environment: str,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """ghcr's pull credential in one namespace (a pod can name only Secrets of its own
    namespace), for the namespace's owner to make with its other Secrets."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=PULL_SECRET,
            namespace=namespace,
            labels=standard_labels(context=namespace, environment=environment, component="registry"),
        ),
        type="kubernetes.io/dockerconfigjson",
        string_data={DOCKER_CONFIG_KEY: pulumi.Output.secret(docker_config)},
        opts=opts,
    )


def registry_for(spec: RegistrySpec, settings: StackSettings) -> RegistryEndpoint:
    """The stack's registry, as `resolve_stack` resolved it, built by its backend in the cloud's
    primary region (and, in prod, the secondary one)."""
    credential = settings.registry_pull_credential
    args = RegistryArgs(
        spec=spec,
        services=settings.application_services,
        pull_credential=pulumi.Output.secret(credential.get_secret_value()) if credential else None,
    )
    if spec.type != "ghcr":
        region = settings.cloud_cluster.aws.region if settings.cloud_cluster.aws and spec.type == "ecr" else None
        if spec.type == "acr" and settings.cloud_cluster.azure:
            region = settings.cloud_cluster.azure.location
        assert region is not None, "resolve_stack requires the cloud's section and the registry's cloud"
        secondary = settings.cloud_cluster.secondary_region(settings.cloud)

        def scope(where: str, is_secondary: bool) -> CloudScope:
            return CloudScope(
                stack_name=spec.stack_name,
                environment=settings.environment,
                owner=settings.owner,
                region=where,
                secondary=is_secondary,
                protect=settings.protect_stateful,
            )

        args = replace(args, primary=scope(region, False), secondary=scope(secondary, True) if secondary else None)
    return build_registry("registry", args)
