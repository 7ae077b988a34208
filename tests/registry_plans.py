"""Plans of the registry choices no committed stack file makes: staging and prod with `ecr` (on
AWS) and `acr` (on Azure), each from the committed stack file with its `registry` section and
images in the registry's short form (a tag and digest in each service's repository), and dev with
a ghcr pull credential. Planned once per session, like tests/planning.py's."""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path
from typing import Any

import yaml

from hubctl.plan import REPO_ROOT, Plan, run_plan
from settings import seed

DIGEST = "sha256:" + "ab" * 32
RELEASE = "1.4.2"
# Globally unique in a real subscription: these are this test suite's, never deployed.
ACR_NAMES = {"staging": "bakhmachhubstaging", "prod": "bakhmachhubprod"}
REGISTRY_CLOUD = {"ecr": "aws", "acr": "azure"}
# Every stack and registry choice beside the committed ones: (stack, registry).
VARIANTS = [("staging", "ecr"), ("prod", "ecr"), ("staging", "acr"), ("prod", "acr")]
VARIANT_IDS = [f"{stack}-{registry}" for stack, registry in VARIANTS]


def stack_document(stack: str) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()))


def write_stack_file(document: dict[str, Any], stack: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="registry-plans-")) / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def registry_config(stack: str, registry: str) -> dict[str, Any]:
    """The committed stack file's config with `registry` chosen and short-form images."""
    config = stack_document(stack)["config"]
    config["bakhmach-hub:cloud"] = REGISTRY_CLOUD[registry]
    section: dict[str, Any] = {"type": registry}
    if registry == "acr":
        section["name"] = ACR_NAMES[stack]
    config["bakhmach-hub:registry"] = section
    config["bakhmach-hub:services"] = {name: {"image": f"{RELEASE}@{DIGEST}"} for name in seed.APPLICATION_SERVICES}
    return config


@functools.cache
def registry_plan(stack: str, registry: str) -> Plan:
    path = write_stack_file({"config": registry_config(stack, registry)}, stack)
    return run_plan(stack, REGISTRY_CLOUD[registry], stack_file=path)


@functools.cache
def dev_with_credential() -> Plan:
    """Dev on kind with a ghcr pull credential set (a secret, as `pulumi config set --secret` stores it)."""
    document = stack_document("dev")
    document["config"]["bakhmach-hub:registryPullCredential"] = {"secure": "v1:offline"}
    document["config"]["bakhmach-hub:registry"] = {"username": "bakhmach-bot"}
    document["config"]["bakhmach-hub:services"] = {"auth-service": {"image": f"{RELEASE}@{DIGEST}"}}
    return run_plan("dev", None, stack_file=write_stack_file(document, "dev"))
