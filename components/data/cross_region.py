"""How an in-cluster data service is reached from prod's other region, and what both regions' copies
of it must share.

A member of an in-cluster data service (a mongod, a Kafka broker) is reached from the other region
at a private name, `<member>.<region>.bakhmach.internal` (settings/dr.py `DrSpec.endpoint`): an
internal load balancer Service per member, selecting that one pod, which the cluster's
external-dns for the private zone publishes (components/dr/endpoints.py), in the zone both
regions resolve (components/dr/network.py). The Service admits the other region's range and its
own only (`loadBalancerSourceRanges`, which the cloud's load balancer rules follow) and keeps the
client's address (`externalTrafficPolicy: Local`), so the data namespace's NetworkPolicy can admit
the other region's range on that one port.

MongoDB's two sites must share their system users, their internal-authentication key file and a
certificate authority (Percona, "Configure the Main site": the replica site uses copies of the main
site's users, key file and TLS Secrets). The users and key file are generated here once, as Pulumi
secrets, and written to both clusters; the certificates are each cluster's own, issued from the
data CA both clusters hold (components/data/shared_ca.py), so nothing copies a private key of
a server between regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.data.base import data_meta
from components.data.credentials import generate_password
from settings.seed import Cloud

# Labels the private zone's external-dns selects Services by (components/dr/endpoints.py).
DR_ENDPOINT_LABEL = "bakhmach.io/dr-endpoint"
HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"
# Internal load balancers: the EKS cloud controller's network load balancer, AKS's internal one.
INTERNAL_LB: dict[Cloud, dict[str, str]] = {
    "aws": {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    },
    "azure": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
    "kind": {},
}


@dataclass(frozen=True)
class Endpoint:
    """One member of an in-cluster data service, published for the other region."""

    service_name: str  # the Service's name in the data namespace
    hostname: str  # the private name the other region reaches it at
    selector: dict[str, str]
    port: int
    target_port: int | None = None


def endpoint_service(
    name: str,
    endpoint: Endpoint,
    namespace: str,
    environment: str,
    cloud: Cloud,
    sources: tuple[str, ...],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(
        name,
        metadata=data_meta(
            endpoint.service_name,
            namespace,
            environment,
            {DR_ENDPOINT_LABEL: "true"},
            {HOSTNAME_ANNOTATION: endpoint.hostname, **INTERNAL_LB[cloud]},
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="LoadBalancer",
            selector=endpoint.selector,
            ports=[
                k8s.core.v1.ServicePortArgs(
                    name="replication",
                    port=endpoint.port,
                    target_port=endpoint.target_port or endpoint.port,
                    protocol="TCP",
                )
            ],
            external_traffic_policy="Local",
            load_balancer_source_ranges=list(sources),
            # A member that is not ready is still reached by its replication peers.
            publish_not_ready_addresses=True,
        ),
        opts=opts,
    )


# ---- MongoDB: what both sites share -----------------------------------------------------------
# The Percona operator's system users (the keys of its users Secret) and internal-auth key file.
MONGO_SYSTEM_USERS = ("BACKUP", "DATABASE_ADMIN", "CLUSTER_ADMIN", "CLUSTER_MONITOR", "USER_ADMIN")
MONGO_SYSTEM_USERNAMES = {
    "BACKUP": "backup",
    "DATABASE_ADMIN": "databaseAdmin",
    "CLUSTER_ADMIN": "clusterAdmin",
    "CLUSTER_MONITOR": "clusterMonitor",
    "USER_ADMIN": "userAdmin",
}


@dataclass(frozen=True)
class MongoSiteSecrets:
    """The values both sites' Secrets hold: system users and the internal-auth key file. (Each
    site's operator makes its own at-rest encryption key: a member's key encrypts only its own
    files, and replication carries the data decrypted, over TLS.)"""

    users: dict[str, pulumi.Input[str]]
    key_file: pulumi.Output[str]


def mongo_site_secrets(name: str, parent: pulumi.Resource) -> MongoSiteSecrets:
    users: dict[str, pulumi.Input[str]] = {}
    for role in MONGO_SYSTEM_USERS:
        users[f"MONGODB_{role}_USER"] = MONGO_SYSTEM_USERNAMES[role]
        users[f"MONGODB_{role}_PASSWORD"] = generate_password(f"{name}-{role.lower().replace('_', '-')}", parent)
    # mongod's key file: 6 to 1024 base64 characters; 64 alphanumerics are valid base64.
    key_file = generate_password(f"{name}-keyfile", parent)
    return MongoSiteSecrets(users=users, key_file=key_file)


@dataclass(frozen=True)
class MongoSecretNames:
    users: str
    key_file: str
    ssl: str
    ssl_internal: str

    def spec(self) -> dict[str, str]:
        """The PerconaServerMongoDB `secrets` block naming them."""
        return {
            "users": self.users,
            "keyFile": self.key_file,
            "ssl": self.ssl,
            "sslInternal": self.ssl_internal,
        }


def mongo_site_secret_objects(
    name: str,
    values: MongoSiteSecrets,
    names: MongoSecretNames,
    namespace: str,
    environment: str,
    opts: pulumi.ResourceOptions,
) -> list[k8s.core.v1.Secret]:
    """The shared values as the Secrets the operator reads, in one site's data namespace."""
    return [
        k8s.core.v1.Secret(
            f"{name}-users",
            metadata=data_meta(names.users, namespace, environment),
            type="Opaque",
            string_data=values.users,
            opts=opts,
        ),
        k8s.core.v1.Secret(
            f"{name}-keyfile",
            metadata=data_meta(names.key_file, namespace, environment),
            type="Opaque",
            string_data={"mongodb-key": values.key_file},
            opts=opts,
        ),
    ]
