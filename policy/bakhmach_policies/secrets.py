"""Secrets and tenant isolation: each context's data credentials are its own, the exceptions are
declared and reported, and every cluster runs Sealed Secrets with 30-day key renewal.

A consuming namespace's data credentials are the Secrets labelled `bakhmach.io/data-service`
(components/data/credentials.py). Each says whose credential it carries
(`bakhmach.io/credential-scope`): `own`, made from a generated password no other namespace's
Secret is made from, or `shared`, where the backend has no per-user access control, with the
reason in `bakhmach.io/credential-shared-because`. The services name what is theirs in a data
service through their env (`<SVC>_DATABASE`, `REDIS_KEY_PREFIX`, `KAFKA_TOPIC_PREFIX`); two
namespaces naming the same one would share it whatever their logins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, ReportViolation, StackValidationArgs

from .common import (
    as_mapping,
    cluster_of,
    duration_seconds,
    get,
    items,
    kubernetes_objects,
    labels,
    name,
    namespace,
    peek,
    pod_spec,
    stack_policy,
)

DATA_SERVICE_LABEL = "bakhmach.io/data-service"
SCOPE_LABEL = "bakhmach.io/credential-scope"
SHARED_BECAUSE = "bakhmach.io/credential-shared-because"
GENERATED_PASSWORD = "random:index/randomPassword:RandomPassword"
# What a consumer owns in each data service, as its services' env names it.
OWN_RESOURCE_ENV = {
    "postgres": "POSTGRES_DATABASE",
    "mongo": "MONGO_DATABASE",
    "redis": "REDIS_KEY_PREFIX",
    "kafka": "KAFKA_TOPIC_PREFIX",
}
SEALED_SECRETS_CHART = "sealed-secrets"
KEY_RENEWAL_SECONDS = 30 * 24 * 3600  # the seed's key rotation, as Sealed Secrets' default


def _data_secrets(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [
        r
        for r in kubernetes_objects(resources)
        if r.props.get("kind") == "Secret" and DATA_SERVICE_LABEL in labels(r.props)
    ]


def _passwords(secret: PolicyResource) -> set[str]:
    return {d.urn for d in secret.dependencies if d.resource_type == GENERATED_PASSWORD}


def _check_secrets(resources: list[PolicyResource], report: ReportViolation) -> None:
    # Per cluster: generated password -> the namespaces whose data Secrets are made from it.
    readers: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    secrets = _data_secrets(resources)
    for secret in secrets:
        ns = namespace(secret.props) or ""
        scope = labels(secret.props).get(SCOPE_LABEL)
        what = f"Secret {ns}/{name(secret.props)}"
        if scope == "shared":
            if not get(as_mapping(get(secret.props, "metadata", "annotations", default={})), SHARED_BECAUSE):
                report(f"{what} carries a shared credential without saying why ({SHARED_BECAUSE})", secret.urn)
            continue
        if scope != "own":
            report(
                f"{what}: label {SCOPE_LABEL} is {scope or 'unset'} (allowed: own, or shared with a reason)", secret.urn
            )
            continue
        passwords = _passwords(secret)
        if not passwords:
            report(f"{what} is labelled as its own credential but is made from no generated password", secret.urn)
        for password in passwords:
            readers[(cluster_of(secret), password)].add(ns)
    for secret in secrets:
        ns = namespace(secret.props) or ""
        for password in _passwords(secret):
            others = sorted(readers[(cluster_of(secret), password)] - {ns})
            if others and labels(secret.props).get(SCOPE_LABEL) == "own":
                report(
                    f"Secret {ns}/{name(secret.props)} is made from the same password as the data credentials of "
                    f"{', '.join(others)}: a context would hold another's login",
                    secret.urn,
                )


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for variable in items(container.get("env")):
        value = peek(variable, "value")
        if isinstance(value, str):
            found[str(variable.get("name"))] = value
    return found


def _check_owned_resources(resources: list[PolicyResource], report: ReportViolation) -> None:
    # Per cluster and data service: what each namespace names as its own, and where it says so.
    named: dict[tuple[str | None, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    where: dict[tuple[str | None, str, str], PolicyResource] = {}
    for workload in kubernetes_objects(resources):
        spec = pod_spec(workload.resource_type, workload.props)
        if spec is None:
            continue
        ns = namespace(workload.props) or ""
        mounted = {
            str(get(v, "secret", "secretName"))
            for v in items(spec.get("volumes"))
            if str(get(v, "secret", "secretName", default="")).startswith("data-")
        }
        for container in items(spec.get("containers")):
            env = _env(container)
            for service, variable in OWN_RESOURCE_ENV.items():
                if f"data-{service}" not in mounted or f"{service.upper()}_HOST" not in env:
                    continue
                value = env.get(variable)
                if not value:
                    report(
                        f"{workload.props.get('kind')} {ns}/{name(workload.props)} uses {service} without naming "
                        f"what is its own ({variable})",
                        workload.urn,
                    )
                    continue
                named[(cluster_of(workload), service)][value].add(ns)
                where.setdefault((cluster_of(workload), service, ns), workload)
    for (cluster, service), values in named.items():
        for value, namespaces in values.items():
            if len(namespaces) > 1:
                for ns in sorted(namespaces):
                    report(
                        f"{OWN_RESOURCE_ENV[service]}={value} is named by {', '.join(sorted(namespaces))}: "
                        "each context owns its own database or prefix",
                        where[(cluster, service, ns)].urn,
                    )
        prefixes = list(values) if service in ("redis", "kafka") else []
        for a in prefixes:
            for b in prefixes:
                if a != b and b.startswith(a):
                    for ns in sorted(values[a]):
                        report(
                            f"{OWN_RESOURCE_ENV[service]}={a} of {ns} also covers {b} of "
                            f"{', '.join(sorted(values[b]))}",
                            where[(cluster, service, ns)].urn,
                        )


def _check_per_context(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    _check_secrets(resources, report)
    _check_owned_resources(resources, report)


def _check_shared(args: StackValidationArgs, report: ReportViolation) -> None:
    for secret in _data_secrets(list(args.resources)):
        if labels(secret.props).get(SCOPE_LABEL) == "shared":
            why = get(as_mapping(get(secret.props, "metadata", "annotations", default={})), SHARED_BECAUSE)
            report(
                f"Secret {namespace(secret.props)}/{name(secret.props)} holds a credential every consumer of "
                f"{labels(secret.props).get(DATA_SERVICE_LABEL)} shares: {why or 'no reason given'}",
                secret.urn,
            )


def _check_sealed_secrets(args: StackValidationArgs, report: ReportViolation) -> None:
    objects = kubernetes_objects(args.resources)
    clusters = {cluster_of(r) for r in objects if r.props.get("kind") == "Namespace"}
    releases = [
        r
        for r in args.resources
        if r.resource_type.startswith("kubernetes:helm.sh/") and r.props.get("chart") == SEALED_SECRETS_CHART
    ]
    for cluster in sorted(c for c in clusters if c is not None):
        mine = [r for r in releases if cluster_of(r) == cluster]
        if not mine:
            report(
                "this cluster runs no Sealed Secrets controller (chart sealed-secrets): teams have no way to add "
                "secrets through git",
                cluster,
            )
            continue
        for release in mine:
            values = as_mapping(release.props.get("values"))
            period = values.get("keyrenewperiod")
            seconds = duration_seconds(period) if period not in (None, "") else None
            if seconds is None or seconds <= 0 or seconds > KEY_RENEWAL_SECONDS:
                report(
                    f"sealed-secrets keyrenewperiod is {period!r}: the sealing key must be renewed at least every "
                    "30 days (set it explicitly, e.g. '720h'; '0' disables renewal)",
                    release.urn,
                )


POLICIES = [
    stack_policy(
        "per-context-credentials",
        "Each consuming namespace's data credentials are its own: every data Secret is made from a generated "
        "password no other namespace's is made from (or is labelled shared, with the reason), and no two "
        "namespaces name the same database, key prefix or topic prefix (nor one prefix inside another).",
        _check_per_context,
    ),
    stack_policy(
        "shared-data-credentials",
        "Reports every data credential that all consumers of a data service share because the backend has no "
        "per-user access control (Azure Managed Redis), so the exception stays visible in every preview.",
        _check_shared,
        EnforcementLevel.ADVISORY,
    ),
    stack_policy(
        "sealed-secrets-key-renewal",
        "Every cluster runs the Sealed Secrets controller, with its sealing key renewed at least every 30 days.",
        _check_sealed_secrets,
    ),
]
