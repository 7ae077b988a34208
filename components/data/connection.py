"""What a data component gives its consumers: where it is, and how a service reaches it.

`DataConnection` is every component's output (host, port, TLS, user, secret name), whatever the
backend. The password is never here: it lives in the generated credential and reaches each
consuming namespace only inside the Kubernetes Secret named `secret_name`, which the consuming
pods mount as files (components/context_service.py), never read into env vars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from settings.data import Backend, DataService

DATA_NAMESPACE = "data"


def secret_name(service: DataService) -> str:
    """The Secret, in every consuming namespace, that holds a data service's connection."""
    return f"data-{service}"


@dataclass(frozen=True)
class DataEgress:
    """Where consuming pods may connect: the in-cluster data namespace, or the cloud network."""

    ports: tuple[int, ...]
    namespace: str | None = None
    cidr: str | None = None


@dataclass(frozen=True)
class DataConnection:
    service: DataService
    backend: Backend
    host: pulumi.Input[str]
    port: int
    tls: bool
    username: str
    database: str | None
    egress: DataEgress
    # Non-secret settings a client needs besides host/port/user (e.g. the SASL mechanism).
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def secret_name(self) -> str:
        return secret_name(self.service)

    @property
    def env_prefix(self) -> str:
        return self.service.upper()
