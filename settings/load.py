"""Build `StackSettings` from the stack's Pulumi config, or fail with a message a person can act on.

This is the only place that reads `pulumi.Config`. Every key of the project's namespace is read
(not just the known ones), so a misspelt key in a stack file is an error, not a silent default.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from settings.model import StackSettings
from settings.observability import ON_CALL_ENDPOINT_KEY
from settings.registry import PULL_CREDENTIAL_KEY, credential_problem

PROJECT = "bakhmach-hub"


class SettingsError(pulumi.RunError):
    """A bad stack setting. A RunError: Pulumi prints the message without a traceback."""


# The stack file this run reads, as messages should name it. The engine reads
# `Pulumi.<stack>.yaml`; `hubctl plan --stack-file FILE` reads another file and says so here (a
# context variable: each offline plan runs in its own context).
STACK_FILE: ContextVar[str | None] = ContextVar("stack_file", default=None)


def stack_file_name() -> str:
    return STACK_FILE.get() or f"Pulumi.{pulumi.get_stack()}.yaml"


def _all_config() -> dict[str, Any]:
    # Under `pulumi up` the language host passes the config in the PULUMI_CONFIG environment
    # variable; mocks and the automation API set it in the runtime's context. Read both.
    return {**(runtime_config.get_config_env() or {}), **runtime_config.CONFIG.get()}


# Provider config keys that must agree with the settings: the default providers read these,
# the components read the settings, and a resource must never land in a region nobody chose.
_PROVIDER_REGION_KEYS = {
    "aws:region": ("aws", "region"),
    "azure-native:location": ("azure", "location"),
}


def settings_error(source: str, problems: list[tuple[str, str]]) -> SettingsError:
    """One error naming the file and, a line each, every (key, message) it breaks. Every
    settings check ends here (`describe` formats the model's own errors the same way). A key is
    a stack-file key (shown in the project's namespace unless it names its own) or, with a `/`,
    a file of the repository (a team's SealedSecret)."""
    lines = [f"invalid stack settings in {source}:"]
    lines += [f"  {key if ':' in key or '/' in key else f'{PROJECT}:{key}'}: {message}" for key, message in problems]
    return SettingsError("\n".join(lines))


def _check_provider_regions(settings: StackSettings, config: dict[str, Any], source: str) -> None:
    problems: list[tuple[str, str]] = []
    for config_key, (cloud, field) in _PROVIDER_REGION_KEYS.items():
        section = getattr(settings.cloud_cluster, cloud, None)
        given = config.get(config_key)
        if section is None or given is None:
            continue
        wanted = getattr(section, field)
        if given != wanted:
            problems.append(
                (
                    config_key,
                    f"{given!r} differs from {PROJECT}:cloudCluster.{cloud}.{field} {wanted!r} "
                    "(allowed: the same region in both keys)",
                )
            )
    if problems:
        raise settings_error(source, problems)


def _is_secret(key: str) -> bool:
    # Mocks and the automation API mark secret keys in the runtime's context; under `pulumi up`
    # the language host passes them in PULUMI_CONFIG_SECRET_KEYS.
    return runtime_config.is_config_secret(key) or key in runtime_config.get_config_secret_keys_env()


def check_on_call(settings: StackSettings, source: str, *, endpoint_is_secret: bool, deploying: bool) -> None:
    """The on-call endpoint is a stack secret, and staging/prod cannot be deployed without one.

    A preview (and the offline plan) shows the alert routes without the endpoint and warns; the
    deployment itself stops here, before anything is registered. The repository's stack files
    never hold the endpoint: each team sets it with `pulumi config set --secret`."""
    key = f"{PROJECT}:{ON_CALL_ENDPOINT_KEY}"
    how = f"set it with `pulumi config set --secret {key} <routing key or webhook URL>`"
    receiver = settings.observability.on_call.receiver
    if settings.on_call_endpoint is not None:
        if not endpoint_is_secret:
            raise SettingsError(
                f"invalid stack settings in {source}:\n  {key}: is stored in plain text (allowed: a secret; "
                f"remove it and {how})"
            )
        if receiver in (None, "none") and settings.environment == "dev":
            raise SettingsError(
                f"invalid stack settings in {source}:\n  {key}: is set but observability.onCall.receiver is "
                "none (allowed: choose pagerduty, slack or msteams, or remove the endpoint)"
            )
        return
    if receiver in (None, "none") and settings.environment == "dev":
        return
    message = (
        f"{key}: required in {settings.environment} for the {receiver or 'on-call'} receiver: without it no "
        f"alert reaches on-call ({how})"
    )
    if deploying:
        raise SettingsError(f"invalid stack settings in {source}:\n  {message}")
    pulumi.log.warn(f"{message}; this preview shows the alert routes, `pulumi up` refuses to deploy without it")


def check_registry_credential(
    settings: StackSettings, source: str, *, credential_is_secret: bool, deploying: bool
) -> None:
    """ghcr's pull credential is a stack secret, and staging/prod cannot be deployed without one:
    their images are private packages, and a cluster without the credential would sit in
    ImagePullBackOff. A preview (and the offline plan) shows the pull Secrets and warns; the
    deployment stops here, before anything is registered. Messages never echo the value."""
    key = f"{PROJECT}:{PULL_CREDENTIAL_KEY}"
    how = f"set it with `pulumi config set --secret {key} <token>` and registry.username"
    credential = settings.registry_pull_credential
    if credential is not None:
        if not credential_is_secret:
            raise SettingsError(
                f"invalid stack settings in {source}:\n  {key}: is stored in plain text (allowed: a secret; "
                f"remove it, revoke the token, and {how})"
            )
        problem = credential_problem(settings.registry.type, credential.get_secret_value())
        if problem:
            raise SettingsError(f"invalid stack settings in {source}:\n  {key}: {problem}")
        return
    if settings.registry.type != "ghcr" or settings.environment == "dev":
        return
    message = (
        f"{key}: required in {settings.environment} with registry 'ghcr': without it the clusters cannot pull "
        f"the services' private images ({how})"
    )
    if deploying:
        raise SettingsError(f"invalid stack settings in {source}:\n  {message}")
    pulumi.log.warn(f"{message}; this preview shows the pull Secrets, `pulumi up` refuses to deploy without it")


def project_config(project: str = PROJECT) -> dict[str, Any]:
    """The project's config as `{key: value}`, JSON values decoded (as the stack file wrote them)."""
    prefix = f"{project}:"
    values: dict[str, Any] = {}
    for full_key, raw in _all_config().items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        # Pulumi hands objects and lists over JSON-encoded and scalars as plain strings; a
        # scalar is never decoded, so "1.30" stays the string it was written as.
        if isinstance(raw, str) and raw[:1] in ("{", "["):
            try:
                values[key] = json.loads(raw)
                continue
            except json.JSONDecodeError:
                pass
        values[key] = raw
    return values


def load_settings(values: dict[str, Any] | None = None, *, source: str | None = None) -> StackSettings:
    """Validate the stack's config. `source` names the stack file in messages."""
    from_config = values is None
    if values is None:
        values = project_config()
        source = source or stack_file_name()
    try:
        settings = StackSettings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(describe(exc, source or "stack settings")) from None
    if from_config:
        _check_provider_regions(settings, _all_config(), source or "stack settings")
        check_on_call(
            settings,
            source or "stack settings",
            endpoint_is_secret=_is_secret(f"{PROJECT}:{ON_CALL_ENDPOINT_KEY}"),
            deploying=not pulumi.runtime.is_dry_run(),
        )
        check_registry_credential(
            settings,
            source or "stack settings",
            credential_is_secret=_is_secret(f"{PROJECT}:{PULL_CREDENTIAL_KEY}"),
            deploying=not pulumi.runtime.is_dry_run(),
        )
    return settings


def describe(exc: ValidationError, source: str) -> str:
    lines = [f"invalid stack settings in {source}:"]
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not key:  # a rule across keys names its key first: "cloud: ..."
            key, _, message = message.partition(": ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the settings reference in README.md)"
        elif error["type"] == "missing":
            message = "required key is missing"
        shown = error.get("input")
        quiet = error["type"] == "missing" or isinstance(shown, dict) or repr(shown) in message
        got = "" if quiet else f" (got {shown!r})"
        lines.append(f"  {PROJECT}:{key}: {message}{got}")
    return "\n".join(lines)
