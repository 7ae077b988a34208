"""What a data component hands on: where it is, and each consumer's own credentials, as values.

A backend builds its data service and returns a `BuiltService`: the `DataEndpoint` (host, port,
TLS, where consuming pods may connect) that every consumer shares, and one `Credential` per
consumer (its login, its password as a Pulumi secret, and the database or prefix it owns). The
caller that owns a consuming namespace turns a `DataAccess` (endpoint + that namespace's
credential) into the namespace's `data-<service>` Secret (components/data/credentials.py); the
services mount it as files (components/context_service.py). Nothing reads a component back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pulumi

from settings.data import Backend, DataGrant, DataService

if TYPE_CHECKING:
    from components.data.replication import ReplicationSource

DATA_NAMESPACE = "data"

# Whom a client trusts to sign a data server's certificate: the stack's data CA (in-cluster
# services, components/data/tls.py; the consuming namespace's `trust-data-ca` Secret carries it), a
# publicly trusted CA (the managed services' chains end in roots every image's trust store has),
# or Amazon RDS's own CA (rds-ca-rsa2048-g1; AWS's bundle, mounted: components/data/trust.py).
TlsTrust = Literal["data-ca", "public", "rds"]


def secret_name(service: DataService) -> str:
    """The Secret, in every consuming namespace, that holds a data service's connection."""
    return f"data-{service}"


@dataclass(frozen=True)
class DataEgress:
    """Where consuming pods may connect: the in-cluster data namespace, or the cloud network."""

    ports: tuple[int, ...]
    namespace: str | None = None
    cidr: str | None = None
    # In the namespace: the labels of the only pods consumers may reach (MongoDB's routers of a
    # sharded cluster); None: every pod of the namespace on `ports`.
    pod_labels: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class DataEndpoint:
    """Where a data service is, the same for every consumer."""

    service: DataService
    backend: Backend
    host: pulumi.Input[str]
    port: int
    tls: bool
    egress: DataEgress
    # Non-secret settings a client needs besides host/port/user (e.g. the SASL mechanism).
    extra: dict[str, str] = field(default_factory=dict)
    trust: TlsTrust = "public"
    # A copy in prod's secondary region (components/dr), not the data layer's own service.
    region_copy: bool = False


@dataclass(frozen=True)
class Credential:
    """One consumer's login to one data service."""

    grant: DataGrant
    # The login: the grant's own user, or the one every consumer shares (`shared_because`).
    username: str
    password: pulumi.Output[str]  # a Pulumi secret
    # Why this login is not the consumer's own, where the backend cannot give it one (every
    # consumer then holds the same credential; policy `shared-data-credentials` reports it).
    shared_because: str | None = None
    # What must exist before the login works (the role, user or ACLs that grant it).
    ready: tuple[pulumi.Resource, ...] = ()

    @classmethod
    def own(cls, grant: DataGrant, password: pulumi.Output[str], ready: tuple[pulumi.Resource, ...]) -> Credential:
        """The consumer's own login: the grant's user with a password of its own."""
        return cls(grant=grant, username=grant.username, password=password, ready=ready)


@dataclass(frozen=True)
class BuiltService:
    """What a data component's backend built: its endpoint and every consumer's credential."""

    endpoint: DataEndpoint
    credentials: dict[str, Credential]  # by consumer namespace
    # What a copy in the secondary region needs (prod, managed backends; components/dr).
    replication: ReplicationSource | None = None


@dataclass(frozen=True)
class DataAccess:
    """What one consuming namespace receives for one data service."""

    endpoint: DataEndpoint
    credential: Credential

    @property
    def service(self) -> DataService:
        return self.endpoint.service

    @property
    def secret_name(self) -> str:
        return secret_name(self.service)

    @property
    def env_prefix(self) -> str:
        return self.service.upper()
