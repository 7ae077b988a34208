"""The container registry: for each choice (ghcr, the default; ecr; acr) the plans show the
registry's resources and each cluster's pull path, the images resolve against the chosen
registry, and bad registry settings stop the run before anything registers.

ecr and acr come from temporary stack files (tests/registry_plans.py): the committed stack files
keep the seed's ghcr."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cloud.identity import AzureRole
from components.registry import PULL_SECRET, docker_config_json
from hubctl.plan import Plan, PlannedResource, run_plan
from hubctl.policy_run import run_policies
from policy.bakhmach_policies.registry import repository_of
from settings import SettingsError, load_settings, resolve_stack, seed
from settings.load import check_registry_credential
from tests.planning import STACK_IDS, STACKS, k8s, of_type, planned, primary_provider
from tests.registry_plans import (
    ACR_NAMES,
    DIGEST,
    RELEASE,
    VARIANT_IDS,
    VARIANTS,
    dev_with_credential,
    registry_config,
    registry_plan,
    stack_document,
    write_stack_file,
)
from tests.test_settings import prod_values

APPS = seed.APPLICATION_SERVICES
CONTEXT_OF = {row.name: row.context for row in seed.SERVICE_MATRIX}
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
ACR = "azure-native:containerregistry:Registry"
ACR_REPLICA = "azure-native:containerregistry:Replication"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
K8S_PROVIDER = "pulumi:providers:kubernetes"
ACCOUNT = "123456789012"  # the offline mocks' account (hubctl/mocks/cloud.py)


def k8s_providers(plan: Plan) -> list[str]:
    return [r.urn for r in plan.resources if r.type == K8S_PROVIDER]


def by_urn(plan: Plan) -> dict[str, PlannedResource]:
    return {r.urn: r for r in plan.resources}


def context_deployments(plan: Plan, provider: str) -> dict[str, PlannedResource]:
    found = {}
    for r in plan.resources:
        meta = r.inputs.get("metadata", {})
        if r.provider == provider and r.inputs.get("kind") == "Deployment" and meta.get("name") in APPS:
            found[meta["name"]] = r
    assert set(found) == set(APPS)
    return found


def image_of(deployment: PlannedResource) -> str:
    image: str = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def region_of(plan: Plan, resource: PlannedResource) -> str:
    return str(by_urn(plan)[str(resource.provider)].inputs["region"])


# ---- ghcr, the default -----------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cloud"), [s for s in STACKS if s[0] != "dev"], ids=STACK_IDS[1:])
def test_staging_and_prod_clusters_pull_ghcr_images_with_the_stacks_credential(stack: str, cloud: str) -> None:
    """On every cluster (prod: both regions), each context namespace holds the pull credential
    as a dockerconfigjson Secret, masked, and each context service's ServiceAccount names it; the
    Deployment waits for its namespace's Secret."""
    plan = planned(stack, cloud)
    providers = k8s_providers(plan)
    assert len(providers) == (2 if stack == "prod" else 1)
    urns = by_urn(plan)
    for provider in providers:
        secrets = {s["metadata"]["namespace"]: s for s in k8s(plan, "Secret", PULL_SECRET, provider=provider)}
        assert set(secrets) == {CONTEXT_OF[name] for name in APPS}
        for secret in secrets.values():
            assert secret["type"] == "kubernetes.io/dockerconfigjson"
            assert secret["stringData"] == {".dockerconfigjson": "[secret]"}
        # Made by the namespace's owner, after the namespace itself, as its data Secrets are.
        for secret_resource in (r for r in pull_secrets(plan) if r.provider == provider):
            owner = urns[secret_resource.parent or ""]
            assert owner.type == "bakhmach:platform:ContextNamespace", secret_resource.urn
            (namespace,) = [r for r in plan.resources if r.parent == owner.urn and r.inputs.get("kind") == "Namespace"]
            assert namespace.inputs["metadata"]["name"] == secret_resource.inputs["metadata"]["namespace"]
            assert namespace.urn in secret_resource.dependencies
        for name, deployment in context_deployments(plan, provider).items():
            (account,) = k8s(plan, "ServiceAccount", name, CONTEXT_OF[name], provider=provider)
            assert account["imagePullSecrets"] == [{"name": PULL_SECRET}]
            assert image_of(deployment) == f"ghcr.io/bakhmach-business-hub/{name}:1.0.0"
            waits_for = {
                urns[d].inputs["metadata"]["namespace"]
                for d in deployment.dependencies
                if urns[d].inputs.get("kind") == "Secret" and urns[d].inputs["metadata"]["name"] == PULL_SECRET
            }
            assert waits_for == {CONTEXT_OF[name]}


def pull_secrets(plan: Plan) -> list[PlannedResource]:
    return [
        r
        for r in plan.resources
        if r.inputs.get("kind") == "Secret" and (r.inputs.get("metadata") or {}).get("name") == PULL_SECRET
    ]


def test_dev_pulls_public_images_without_a_credential(dev_plan: Plan) -> None:
    assert k8s(dev_plan, "Secret", PULL_SECRET) == []
    for account in k8s(dev_plan, "ServiceAccount"):
        assert "imagePullSecrets" not in account


def test_dev_with_a_credential_gets_the_pull_secrets_and_resolves_a_tag_in_ghcr() -> None:
    plan = dev_with_credential()
    provider = primary_provider(plan)
    assert {s["metadata"]["namespace"] for s in k8s(plan, "Secret", PULL_SECRET)} == set(CONTEXT_OF.values())
    deployments = context_deployments(plan, provider)
    assert image_of(deployments["auth-service"]) == f"ghcr.io/bakhmach-business-hub/auth-service:{RELEASE}@{DIGEST}"
    # Services without an image keep the dev placeholder.
    assert image_of(deployments["slon-finance"]) == "hashicorp/http-echo:1.0.0"


def test_the_pull_secret_is_what_docker_login_writes() -> None:
    document = json.loads(docker_config_json("ghcr.io", "bakhmach-bot", "t0ken"))
    entry = document["auths"]["ghcr.io"]
    assert base64.b64decode(entry["auth"]).decode() == "bakhmach-bot:t0ken"
    assert entry["username"] == "bakhmach-bot" and entry["password"] == "t0ken"


# ---- ecr -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_ecr_has_an_immutable_scanned_encrypted_repository_per_service(stack: str) -> None:
    plan = registry_plan(stack, "ecr")
    urns = by_urn(plan)
    repositories = of_type(plan, ECR_REPOSITORY)
    regions = ["eu-central-1", "eu-west-1"] if stack == "prod" else ["eu-central-1"]
    assert sorted((region_of(plan, r), r.inputs["name"]) for r in repositories) == sorted(
        (region, f"bakhmach-{stack}/{name}") for region in regions for name in APPS
    )
    keys: dict[str, str] = {}
    for repository in repositories:
        inputs = repository.inputs
        assert inputs["imageTagMutability"] == "IMMUTABLE"
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        (encryption,) = inputs["encryptionConfigurations"]
        assert encryption["encryptionType"] == "KMS"
        # A key of its own, made beside the repositories in the same region, rotated yearly.
        (key,) = [urns[d] for d in repository.dependencies if urns[d].type == "aws:kms/key:Key"]
        assert encryption["kmsKey"].startswith("arn:aws:kms:") and encryption["kmsKey"].endswith(f"/{key.name}")
        assert key.inputs["enableKeyRotation"] is True and key.parent == repository.parent
        assert region_of(plan, key) == region_of(plan, repository)
        keys[region_of(plan, repository)] = key.urn
        assert repository.protect is True and inputs["forceDelete"] is False
    assert len(set(keys.values())) == len(regions)  # one key per region, used by no other resource
    users = {r.urn for r in plan.resources if any(d in keys.values() for d in r.dependencies)}
    assert users <= {r.urn for r in repositories} | {r.urn for r in of_type(plan, "aws:kms/alias:Alias")}


@pytest.mark.parametrize(("keep", "expected"), [(None, 30), (50, 50)])
def test_ecr_expires_all_but_the_newest_releases(keep: int | None, expected: int, tmp_path: Path) -> None:
    if keep is None:
        plan = registry_plan("staging", "ecr")
    else:
        config = registry_config("staging", "ecr")
        config["bakhmach-hub:registry"]["keepReleases"] = keep
        plan = run_plan("staging", "aws", stack_file=write_stack_file({"config": config}, "staging"))
    policies = {r.inputs["repository"]: json.loads(r.inputs["policy"]) for r in of_type(plan, ECR_LIFECYCLE)}
    assert set(policies) == {f"bakhmach-staging/{name}" for name in APPS}
    for policy in policies.values():
        (rule,) = policy["rules"]
        assert rule["selection"] == {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": expected,
        }
        assert rule["action"] == {"type": "expire"}


def test_prod_replicates_every_ecr_push_into_the_secondary_regions_repositories() -> None:
    plan = registry_plan("prod", "ecr")
    (replication,) = of_type(plan, ECR_REPLICATION)  # one per registry: the primary region's
    assert region_of(plan, replication) == "eu-central-1"
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "eu-west-1", "registryId": ACCOUNT}]
    assert rule["repositoryFilters"] == [{"filter": "bakhmach-prod/", "filterType": "PREFIX_MATCH"}]
    replicas = {r.urn for r in of_type(plan, ECR_REPOSITORY) if region_of(plan, r) == "eu-west-1"}
    assert len(replicas) == len(APPS) and replicas <= set(replication.dependencies)
    assert of_type(registry_plan("staging", "ecr"), ECR_REPLICATION) == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_nodes_pull_from_each_regions_repositories_through_their_role(stack: str) -> None:
    plan = registry_plan(stack, "ecr")
    urns = by_urn(plan)
    repository_of_service = {
        (region_of(plan, r), r.inputs["name"].rsplit("/", 1)[1]): r.urn for r in of_type(plan, ECR_REPOSITORY)
    }
    for provider in k8s_providers(plan):
        region = "eu-west-1" if "eu-west-1" in provider else "eu-central-1"
        assert k8s(plan, "Secret", PULL_SECRET, provider=provider) == []
        for name, deployment in context_deployments(plan, provider).items():
            assert image_of(deployment) == (
                f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/bakhmach-{stack}/{name}:{RELEASE}@{DIGEST}"
            )
            assert repository_of_service[(region, name)] in deployment.dependencies
            (account,) = k8s(plan, "ServiceAccount", name, CONTEXT_OF[name], provider=provider)
            assert "imagePullSecrets" not in account
    roles = [r for r in plan.resources if r.type == "aws:iam/role:Role" and r.name.endswith("node-role")]
    assert len(roles) == len(k8s_providers(plan))
    for role in roles:
        attached = {
            r.inputs["policyArn"]
            for r in plan.resources
            if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and role.urn in r.dependencies
        }
        assert "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly" in attached
    assert urns  # the plan was read


# ---- acr -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "sku"), [("staging", "Standard"), ("prod", "Premium")])
def test_acr_is_one_registry_without_admin_user_or_anonymous_pull(stack: str, sku: str) -> None:
    plan = registry_plan(stack, "acr")
    (registry,) = of_type(plan, ACR)
    inputs = registry.inputs
    assert inputs["registryName"] == ACR_NAMES[stack] and inputs["sku"] == {"name": sku}
    assert inputs["adminUserEnabled"] is False and inputs["anonymousPullEnabled"] is False
    assert inputs["location"] == "germanywestcentral" and registry.protect is True
    replicas = of_type(plan, ACR_REPLICA)
    if stack == "prod":
        assert inputs["zoneRedundancy"] == "Enabled"
        (replica,) = replicas
        assert replica.inputs["location"] == "northeurope" and replica.inputs["zoneRedundancy"] == "Enabled"
        assert registry.urn in replica.dependencies
    else:
        # Standard has no zone redundancy to ask for (the API's default is sent).
        assert replicas == [] and inputs.get("zoneRedundancy", "Disabled") == "Disabled"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_aks_kubelet_identity_may_pull_from_the_registry_before_anything_runs(stack: str) -> None:
    plan = registry_plan(stack, "acr")
    urns = by_urn(plan)
    (registry,) = of_type(plan, ACR)
    grants = [
        r
        for r in of_type(plan, ROLE_ASSIGNMENT)
        if r.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{AzureRole.ACR_PULL}")
    ]
    clusters = of_type(plan, "azure-native:containerservice:ManagedCluster")
    assert len(grants) == len(clusters) == len(k8s_providers(plan))
    assert {g.inputs["principalId"] for g in grants} == {f"{c.inputs['resourceName']}-kubelet-object" for c in clusters}
    for grant in grants:
        assert grant.inputs["scope"] == f"{registry.name}-id" and grant.inputs["principalType"] == "ServicePrincipal"
        # The grant's own cluster's provider waits for it: no pod is created before it can pull.
        waiting = [p for p in k8s_providers(plan) if grant.urn in urns[p].dependencies]
        assert len(waiting) == 1
    for provider in k8s_providers(plan):
        assert k8s(plan, "Secret", PULL_SECRET, provider=provider) == []
        for name, deployment in context_deployments(plan, provider).items():
            # Both regions pull the same name: ACR serves each from its nearest replica.
            assert image_of(deployment) == f"{ACR_NAMES[stack]}.azurecr.io/{name}:{RELEASE}@{DIGEST}"
            assert registry.urn in deployment.dependencies


# ---- every plan ------------------------------------------------------------------------------


def every_plan() -> list[Plan]:
    return [planned(stack, cloud) for stack, cloud in STACKS] + [registry_plan(s, r) for s, r in VARIANTS]


@pytest.mark.parametrize("key", [*STACK_IDS, *VARIANT_IDS])
def test_no_context_service_runs_an_image_from_outside_the_stacks_registry(key: str) -> None:
    plan = dict(zip([*STACK_IDS, *VARIANT_IDS], every_plan(), strict=True))[key]
    ecr = {r.inputs["name"] for r in of_type(plan, ECR_REPOSITORY)}
    acr = {f"{r.inputs['registryName']}.azurecr.io" for r in of_type(plan, ACR)}
    for provider in k8s_providers(plan):
        for name, deployment in context_deployments(plan, provider).items():
            repository = repository_of(image_of(deployment))
            host, _, path = repository.partition("/")
            if ecr:
                assert path == f"bakhmach-{plan.stack}/{name}" and host.endswith(".amazonaws.com"), repository
            elif acr:
                assert host in acr and path == name, repository
            elif plan.stack == "dev":
                assert repository in ("docker.io/hashicorp/http-echo", f"ghcr.io/bakhmach-business-hub/{name}")
            else:
                assert repository == f"ghcr.io/bakhmach-business-hub/{name}", repository
    report = run_policies(plan.to_json())
    assert [v for v in report.violations if v.policy in ("images-from-allowed-registries", "registry-hardened")] == []


# ---- settings --------------------------------------------------------------------------------


def prod_with(**change: Any) -> dict[str, Any]:
    values = copy.deepcopy(prod_values())
    # Prod routes alerts to someone (resolve_stack refuses `none`): the registry is what varies.
    values["observability"] = {"onCall": {"receiver": "pagerduty"}}
    values.update(change)
    return values


def registry_error(values: dict[str, Any]) -> str:
    """What resolve_stack reports, with the stack's other problems, for these settings."""
    with pytest.raises(SettingsError) as caught:
        resolve_stack(load_settings(values, source="Pulumi.prod.yaml"), "Pulumi.prod.yaml", stack_name="prod")
    return str(caught.value)


SHORT = {n: {"image": f"{RELEASE}@{DIGEST}"} for n in APPS}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"registry": {"type": "acr", "name": "bakhmachhubprod"}},
            "bakhmach-hub:registry.type: 'acr' needs cloud azure, this stack runs on aws (allowed: ghcr, ecr)",
        ),
        (
            {"registry": {"type": "ecr", "keepReleases": 3}, "services": SHORT},
            "bakhmach-hub:registry.keepReleases: Input should be greater than or equal to 5",
        ),
        (
            {"registry": {"keepReleases": 40}},
            "bakhmach-hub:registry: keepReleases: not used with type 'ghcr' (allowed: owner, username)",
        ),
        (
            {"registry": {"type": "ecr"}},
            "bakhmach-hub:services.auth-service.image: 'ghcr.io/bakhmach-business-hub/auth-service:1.0.0' is a full "
            "reference; with registry 'ecr' give the tag and/or digest only",
        ),
        (
            {"services": {**SHORT, "slon-finance": {"image": "docker.io/bakhmach/slon-finance:1.0.0"}}},
            "bakhmach-hub:services.slon-finance.image: 'docker.io/bakhmach/slon-finance:1.0.0' is not in the stack's "
            "registry (ghcr) (allowed: ghcr.io/bakhmach-business-hub/slon-finance:<tag>[@sha256:<digest>]",
        ),
        (
            {"services": {**SHORT, "slon-finance": {"image": "ghcr.io/bakhmach-business-hub/auth-service:1.0.0"}}},
            "bakhmach-hub:services.slon-finance.image: 'ghcr.io/bakhmach-business-hub/auth-service:1.0.0' is not in",
        ),
        (
            {"services": {**SHORT, "slon-finance": {"image": "latest"}}},
            "bakhmach-hub:services.slon-finance.image: 'latest' uses the 'latest' tag",
        ),
        (
            {"services": {**SHORT, "slon-finance": {"image": "1.0@sha256:abc"}}},
            "bakhmach-hub:services.slon-finance.image: '1.0@sha256:abc' is not a tag or digest",
        ),
        (
            {"registry": {"owner": "Bakhmach_Hub"}},
            "bakhmach-hub:registry: owner: 'Bakhmach_Hub' is not a GitHub owner",
        ),
        ({"registry": {"type": "quay"}}, "bakhmach-hub:registry.type: Input should be 'ghcr', 'ecr' or 'acr'"),
        ({"registry": {"mirror": "x"}}, "bakhmach-hub:registry.mirror: unknown key"),
    ],
)
def test_bad_registry_settings_are_named_with_what_is_allowed(change: dict[str, Any], expected: str) -> None:
    assert expected in registry_error(prod_with(**change))


def azure_prod(registry: dict[str, Any]) -> dict[str, Any]:
    values = prod_with(cloud="azure", registry=registry, services=SHORT)
    values["cloudCluster"] = {
        "azure": {
            "location": "germanywestcentral",
            "secondaryLocation": "northeurope",
            "apiAccess": {"mode": "allowed-cidrs", "cidrs": ["203.0.113.0/24"]},
        },
        # Below gateway.domain: Cloudflare's zone delegates it (settings/front_door.py).
        "dns": {"zone": "origin.bakhmach-business-hub.com"},
    }
    return values


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ({"type": "acr"}, "bakhmach-hub:registry.name: required with type 'acr'"),
        ({"type": "acr", "name": "Bakhmach-Hub"}, "bakhmach-hub:registry: name: 'Bakhmach-Hub' is not a container"),
        ({"type": "acr", "name": "acr1"}, "is not a container registry name (allowed: 5-50 lowercase letters"),
        ({"type": "acr", "name": "a" * 51}, "is not a container registry name"),
        (
            {"type": "acr", "name": "bakhmachhubprod", "sku": "Standard"},
            "bakhmach-hub:registry.sku: 'Standard' in prod: geo-replication to the secondary location needs Premium",
        ),
        ({"type": "acr", "name": "bakhmachhubprod", "sku": "Basic"}, "registry.sku: Input should be 'Standard'"),
        ({"type": "ecr"}, "bakhmach-hub:registry.type: 'ecr' needs cloud aws, this stack runs on azure"),
    ],
)
def test_bad_acr_settings_are_named_with_what_is_allowed(registry: dict[str, Any], expected: str) -> None:
    assert expected in registry_error(azure_prod(registry))


def test_registry_problems_are_reported_at_once_with_the_stacks_others() -> None:
    """resolve_stack names every problem in one error: each of the registry's, beside another key's."""
    values = azure_prod({"type": "acr", "sku": "Standard"})
    values["observability"] = {"onCall": {"receiver": "none"}}
    values["services"] = {**SHORT, "slon-finance": {"image": "ghcr.io/bakhmach-business-hub/slon-finance:1.0.0"}}
    message = registry_error(values)
    assert "bakhmach-hub:registry.name: required with type 'acr'" in message
    assert "bakhmach-hub:registry.sku: 'Standard' in prod" in message
    assert "bakhmach-hub:observability.onCall.receiver:" in message
    # Images are judged against the registry's name, which is missing: nothing more is said of them.
    assert "services.slon-finance.image" not in message
    values["registry"] = {"type": "acr", "name": "bakhmachhubprod"}
    message = registry_error(values)
    assert "bakhmach-hub:services.slon-finance.image: 'ghcr.io/bakhmach-business-hub/slon-finance:1.0.0' is not" in (
        message
    )
    assert "bakhmach-hub:observability.onCall.receiver:" in message


def test_a_full_acr_reference_must_name_the_services_repository_in_the_registry() -> None:
    values = azure_prod({"type": "acr", "name": "bakhmachhubprod"})
    values["services"] = {**SHORT, "auth-service": {"image": f"bakhmachhubprod.azurecr.io/auth-service:2.0.0@{DIGEST}"}}
    assert resolve_stack(load_settings(values), "Pulumi.prod.yaml", stack_name="prod").registry.type == "acr"
    values["services"]["auth-service"] = {"image": f"otherregistry.azurecr.io/auth-service:2.0.0@{DIGEST}"}
    assert "is not in the stack's registry (acr)" in registry_error(values)


def test_kind_runs_ghcr_only() -> None:
    values = {"environment": "dev", "cloud": "kind", "owner": "t", "cluster": {"kubeconfigContext": "kind-x"}}
    assert "registry.type: 'ecr' needs cloud aws, this stack runs on kind (allowed: ghcr)" in registry_error(
        values | {"registry": {"type": "ecr"}}
    )


# ---- the pull credential ----------------------------------------------------------------------


def test_the_pull_credential_must_be_a_secret_and_is_never_repeated() -> None:
    settings = load_settings(
        prod_with(registryPullCredential="ghp_SECRETVALUE", registry={"username": "bakhmach-bot"}),
        source="Pulumi.prod.yaml",
    )
    with pytest.raises(SettingsError) as caught:
        check_registry_credential(settings, "Pulumi.prod.yaml", credential_is_secret=False, deploying=False)
    message = str(caught.value)
    assert "bakhmach-hub:registryPullCredential: is stored in plain text (allowed: a secret" in message
    assert "ghp_SECRETVALUE" not in message
    check_registry_credential(settings, "Pulumi.prod.yaml", credential_is_secret=True, deploying=True)


def test_staging_and_prod_cannot_be_deployed_without_the_ghcr_credential() -> None:
    settings = load_settings(prod_with(), source="Pulumi.prod.yaml")
    with pytest.raises(SettingsError, match=r"bakhmach-hub:registryPullCredential: required in prod with registry"):
        check_registry_credential(settings, "Pulumi.prod.yaml", credential_is_secret=False, deploying=True)
    # A preview only warns: it shows the pull Secrets that will exist.
    check_registry_credential(settings, "Pulumi.prod.yaml", credential_is_secret=False, deploying=False)
    # ECR and ACR need none: the nodes pull through their own identity.
    ecr = load_settings(prod_with(registry={"type": "ecr"}, services=SHORT))
    check_registry_credential(ecr, "Pulumi.prod.yaml", credential_is_secret=False, deploying=True)


def test_a_credential_is_refused_where_nodes_pull_through_their_identity() -> None:
    settings = load_settings(prod_with(registry={"type": "ecr"}, services=SHORT, registryPullCredential="t0ken"))
    with pytest.raises(SettingsError) as caught:
        check_registry_credential(settings, "Pulumi.prod.yaml", credential_is_secret=True, deploying=False)
    assert "with registry 'ecr' the nodes pull through their node role (allowed: remove it)" in str(caught.value)
    assert "t0ken" not in str(caught.value)


def test_a_credential_needs_the_account_it_belongs_to() -> None:
    assert "bakhmach-hub:registry.username: required with registryPullCredential" in registry_error(
        prod_with(registryPullCredential="t0ken")
    )


def test_a_bad_registry_setting_stops_the_program_before_any_registration(tmp_path: Path) -> None:
    document = stack_document("staging")
    document["config"]["bakhmach-hub:registry"] = {"type": "acr", "name": "bakhmachhubstaging"}
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(SettingsError) as caught:
        run_plan("staging", "aws", stack_file=path)
    assert "bakhmach-hub:registry.type: 'acr' needs cloud azure" in str(caught.value)
    assert caught.value.resources_registered == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.27@sha256:" + "0" * 64, "docker.io/library/nginx"),
        ("jaegertracing/jaeger:2.20.0", "docker.io/jaegertracing/jaeger"),
        ("index.docker.io/percona/mongodb_exporter:0.49.0", "docker.io/percona/mongodb_exporter"),
        ("localhost:5000/auth-service:1.0", "localhost:5000/auth-service"),
        (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/bakhmach-prod/auth-service@{DIGEST}",
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/bakhmach-prod/auth-service",
        ),
        ("ghcr.io/bakhmach-business-hub/auth-service:1.0.0", "ghcr.io/bakhmach-business-hub/auth-service"),
    ],
)
def test_the_policy_reads_an_images_repository_as_the_runtime_resolves_it(image: str, repository: str) -> None:
    assert repository_of(image) == repository
