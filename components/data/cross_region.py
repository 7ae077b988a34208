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
certificate authority (Percona, "Set up cross-site replication": the replica site uses copies of
the main site's Secrets); they are generated here once, as Pulumi secrets, and written to both
clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

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
# One year, renewed by the next `pulumi up` in its last 30 days (pulumi-tls early renewal).
CERT_VALIDITY_HOURS = 365 * 24
CERT_EARLY_RENEWAL_HOURS = 30 * 24
CA_VALIDITY_HOURS = 10 * 365 * 24


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


@dataclass(frozen=True)
class SiteCertificate:
    """A certificate authority and one server/client certificate under it, both sites alike."""

    ca_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


CertificateAuthority = tuple[tls.PrivateKey, tls.SelfSignedCert]


def certificate_authority(name: str, common_name: str, parent: pulumi.Resource) -> CertificateAuthority:
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    cert = tls.SelfSignedCert(
        f"{name}-ca",
        private_key_pem=key.private_key_pem,
        is_ca_certificate=True,
        subject=tls.SelfSignedCertSubjectArgs(common_name=common_name, organization="Bakhmach Business Hub"),
        validity_period_hours=CA_VALIDITY_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
        opts=child,
    )
    return key, cert


def site_certificate(
    name: str,
    ca: CertificateAuthority,
    common_name: str,
    organization: str,
    dns_names: list[str],
    parent: pulumi.Resource,
) -> SiteCertificate:
    """A certificate for both sites' members (server and client use: members authenticate to each
    other with it), with every name either site's members are reached at."""
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    request = tls.CertRequest(
        f"{name}-request",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=organization),
        dns_names=dns_names,
        opts=child,
    )
    cert = tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca[0].private_key_pem,
        ca_cert_pem=ca[1].cert_pem,
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=CERT_EARLY_RENEWAL_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        opts=child,
    )
    return SiteCertificate(
        ca_pem=ca[1].cert_pem, cert_pem=cert.cert_pem, key_pem=pulumi.Output.secret(key.private_key_pem)
    )


def tls_secret(
    name: str,
    object_name: str,
    certificate: SiteCertificate,
    namespace: str,
    environment: str,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    return k8s.core.v1.Secret(
        name,
        metadata=data_meta(object_name, namespace, environment),
        type="kubernetes.io/tls",
        string_data={"ca.crt": certificate.ca_pem, "tls.crt": certificate.cert_pem, "tls.key": certificate.key_pem},
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
    """The values both sites' Secrets hold: system users, key file, TLS (external and internal)."""

    users: dict[str, pulumi.Input[str]]
    key_file: pulumi.Output[str]
    tls: SiteCertificate
    tls_internal: SiteCertificate


def mongo_site_secrets(name: str, dns_names: list[str], parent: pulumi.Resource) -> MongoSiteSecrets:
    users: dict[str, pulumi.Input[str]] = {}
    for role in MONGO_SYSTEM_USERS:
        users[f"MONGODB_{role}_USER"] = MONGO_SYSTEM_USERNAMES[role]
        users[f"MONGODB_{role}_PASSWORD"] = generate_password(f"{name}-{role.lower().replace('_', '-')}", parent)
    # mongod's key file: 6 to 1024 base64 characters; 64 alphanumerics are valid base64.
    key_file = generate_password(f"{name}-keyfile", parent)
    ca = certificate_authority(f"{name}-tls", "Bakhmach MongoDB cross-site CA", parent)
    # Members authenticate to each other with x509: their certificates share O and OU.
    external = site_certificate(f"{name}-tls-external", ca, "mongo", "PSMDB", dns_names, parent)
    internal = site_certificate(f"{name}-tls-internal", ca, "mongo", "PSMDB", dns_names, parent)
    return MongoSiteSecrets(users=users, key_file=key_file, tls=external, tls_internal=internal)


@dataclass(frozen=True)
class MongoSecretNames:
    users: str
    key_file: str
    ssl: str
    ssl_internal: str

    def spec(self) -> dict[str, str]:
        """The PerconaServerMongoDB `secrets` block naming them."""
        return {"users": self.users, "keyFile": self.key_file, "ssl": self.ssl, "sslInternal": self.ssl_internal}


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
        tls_secret(f"{name}-ssl", names.ssl, values.tls, namespace, environment, opts),
        tls_secret(f"{name}-ssl-internal", names.ssl_internal, values.tls_internal, namespace, environment, opts),
    ]
