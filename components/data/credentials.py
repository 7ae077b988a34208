"""Generated credentials, and their delivery to the namespaces that use them.

Every password is a pulumi-random `RandomPassword`, read through `Output.secret`, so it stays a
secret in state and in every value derived from it (a connection Secret, an RDS password, a
Kafka user's password). Nothing secret is ever written in a stack file.

`ConsumerSecrets` hands each consuming namespace one Secret per data service it uses
(`data-<service>`): host, port, TLS flag, user, password, database. `ContextService` mounts it
read-only at `/var/run/secrets/bakhmach/<service>/` and points `<SVC>_USERNAME_FILE` and
`<SVC>_PASSWORD_FILE` at its `username` and `password` files (never `secretKeyRef` env vars);
the plain parts are given as plain env vars (`<SVC>_HOST`, `_PORT`, `_TLS`, `_DATABASE`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.data.connection import DataConnection
from components.labels import standard_labels

# Letters and digits only: RDS, ElastiCache auth tokens, MSK SCRAM and connection URIs all
# reject or mangle some punctuation; 40 alphanumerics carry ~238 bits.
PASSWORD_LENGTH = 40


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


@dataclass(frozen=True)
class ConsumerSecretsArgs:
    environment: str
    # {namespace: connections its services use}
    consumers: dict[str, tuple[DataConnection, ...]]
    passwords: dict[str, pulumi.Output[str]]
    namespace_dependencies: dict[str, pulumi.Resource]


class ConsumerSecrets(pulumi.ComponentResource):
    secrets: dict[tuple[str, str], k8s.core.v1.Secret]

    def __init__(self, name: str, args: ConsumerSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:ConsumerSecrets", name, None, opts)
        self.secrets = {}
        for namespace, connections in sorted(args.consumers.items()):
            labels = standard_labels(context=namespace, environment=args.environment, component="data-connection")
            after = [args.namespace_dependencies[namespace]] if namespace in args.namespace_dependencies else []
            for conn in connections:
                data: dict[str, pulumi.Input[str]] = {
                    "host": conn.host,
                    "port": str(conn.port),
                    "tls": "true" if conn.tls else "false",
                    "username": conn.username,
                    "password": args.passwords[conn.service],
                }
                if conn.database:
                    data["database"] = conn.database
                self.secrets[(namespace, conn.service)] = k8s.core.v1.Secret(
                    f"{name}-{namespace}-{conn.service}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=conn.secret_name,
                        namespace=namespace,
                        labels=labels | {"bakhmach.io/data-service": conn.service},
                    ),
                    type="Opaque",
                    string_data=data,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=after),
                )
        self.register_outputs({"secrets": [f"{ns}/{svc}" for ns, svc in sorted(self.secrets)]})
