"""Generated credentials, and the Secret a consuming namespace receives for each data service.

Every password is a pulumi-random `RandomPassword`, read through `Output.secret`, so it stays a
secret in state and in every value derived from it (a connection Secret, an RDS password, a
Kafka user's password). Nothing secret is ever written in a stack file.

`consumer_secret` is how whoever owns a consuming namespace (a `ContextNamespace`, or a platform
component such as Keycloak) turns its `DataAccess` into the namespace's `data-<service>` Secret:
host, port, TLS flag, its own user and password, and the database or prefix it owns.
`ContextService` mounts it read-only at `/var/run/secrets/bakhmach/<service>/` and points
`<SVC>_USERNAME_FILE` and `<SVC>_PASSWORD_FILE` at its `username` and `password` files (never
`secretKeyRef` env vars); the plain parts are given as plain env vars.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.data.connection import DataAccess
from components.labels import standard_labels
from settings.data import OWN_RESOURCE_ENV

# Letters and digits only: RDS, ElastiCache users, MSK SCRAM and connection URIs all reject or
# mangle some punctuation; 40 alphanumerics carry ~238 bits.
PASSWORD_LENGTH = 40
DATA_SERVICE_LABEL = "bakhmach.io/data-service"
# `own`: the consumer's own login; `shared`: a login every consumer holds, because the backend
# has no per-user access control (the annotation says why). Policies read both.
CREDENTIAL_SCOPE_LABEL = "bakhmach.io/credential-scope"
SHARED_BECAUSE_ANNOTATION = "bakhmach.io/credential-shared-because"


def generate_password(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    password = random.RandomPassword(
        name,
        length=PASSWORD_LENGTH,
        special=False,
        min_lower=4,
        min_upper=4,
        min_numeric=4,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(password.result)


def resource_key(access: DataAccess) -> str:
    """The Secret key that names what the consumer owns: `database`, `key-prefix`, `topic-prefix`."""
    return OWN_RESOURCE_ENV[access.service].lower().replace("_", "-")


def _former_urn(namespace: str, service: str) -> str:
    """The URN this Secret had when the data layer made every namespace's Secrets itself (its
    `ConsumerSecrets` child, "data-connections"). With it as an alias an existing stack updates
    each Secret in place; without, Pulumi would create the new resource over the same Kubernetes
    object and then delete the old one, and with it the object both stand for."""
    # The engine leaves the root stack's type out of its children's URNs.
    parent = "bakhmach:data:DataLayer$bakhmach:data:ConsumerSecrets"
    stack, project = pulumi.get_stack(), pulumi.get_project()
    return f"urn:pulumi:{stack}::{project}::{parent}$kubernetes:core/v1:Secret::data-connections-{namespace}-{service}"


def consumer_secret(
    resource_name: str,
    namespace: str,
    access: DataAccess,
    environment: str,
    opts: pulumi.ResourceOptions,
    context: str | None = None,
) -> k8s.core.v1.Secret:
    """`namespace`'s Secret for one data service, after what grants its login (`ready`). A
    platform component's namespace (settings/seed.py PLATFORM_DATA_CONSUMERS) names its `context`
    (the shared platform's); a business context's namespace is its context."""
    endpoint, credential = access.endpoint, access.credential
    data: dict[str, pulumi.Input[str]] = {
        "host": endpoint.host,
        "port": str(endpoint.port),
        "tls": "true" if endpoint.tls else "false",
        "username": credential.username,
        "password": credential.password,
        resource_key(access): credential.grant.resource,
    }
    labels = standard_labels(context=context or namespace, environment=environment, component="data-connection") | {
        DATA_SERVICE_LABEL: access.service,
        CREDENTIAL_SCOPE_LABEL: "shared" if credential.shared_because else "own",
    }
    annotations = {SHARED_BECAUSE_ANNOTATION: credential.shared_because} if credential.shared_because else None
    return k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=access.secret_name, namespace=namespace, labels=labels, annotations=annotations
        ),
        type="Opaque",
        string_data=data,
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                depends_on=list(credential.ready),
                # A copy's Secrets (prod's secondary region) are new: they never had that URN.
                aliases=[] if endpoint.region_copy else [_former_urn(namespace, access.service)],
            ),
        ),
    )
