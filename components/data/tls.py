"""`DataTls`: the certificate authority of the in-cluster data services, through cert-manager.

Every in-cluster data service (CloudNativePG, Percona MongoDB, OT Redis, Strimzi Kafka) serves TLS
only, with a certificate cert-manager issues from one CA of the stack's own:
- a self-signed root issuer signs one CA certificate (ECDSA P-256, ten years, renewed a year
  before it expires), kept in cert-manager's namespace;
- the `bakhmach-data-ca` ClusterIssuer issues every data server's certificate from it (90 days,
  renewed 30 days before expiry; the operators reload renewed files);
- each consuming namespace gets a `trust-data-ca` Certificate from the same issuer: cert-manager
  writes the CA into its Secret (`ca.crt`), which the services mount and verify servers against
  (`<SVC>_CA_FILE`). The CA never leaves the cluster and is not in the stack's state.

cert-manager itself: the cluster's one install (components/certificates.py), passed in
(`DataTlsArgs.cert_manager`); the root → CA → issuer chain is made by the same helper as the dev
issuer there (`self_signed_ca`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.certificates import API_VERSION, ca_cluster_issuer, self_signed_ca
from components.certificates import NAMESPACE as CERT_MANAGER_NAMESPACE
from components.data.shared_ca import SharedCa
from components.labels import PLATFORM_CONTEXT, standard_labels

ROOT_ISSUER = "bakhmach-data-root"
CA_ISSUER = "bakhmach-data-ca"
CA_SECRET = "bakhmach-data-ca"
# In each consuming namespace: the Secret whose `ca.crt` the services verify data servers with.
CONSUMER_SECRET = "trust-data-ca"
CA_KEY = "ca.crt"
CA_DIR = "/var/run/secrets/bakhmach/trust-data-ca"
CA_FILE = f"{CA_DIR}/{CA_KEY}"
SERVER_DURATION = "2160h"  # 90 days
SERVER_RENEW_BEFORE = "720h"  # 30 days


@dataclass(frozen=True)
class DataTlsArgs:
    environment: str
    # The cluster's cert-manager install: its release and whatever must exist before a Certificate.
    cert_manager: tuple[pulumi.Resource, ...]
    # Prod: the CA both regions' clusters hold (components/data/shared_ca.py), instead of one
    # made in this cluster.
    shared: SharedCa | None = None


@dataclass(frozen=True)
class DataCa:
    """What a Certificate of the data CA needs: the issuer's name and what must exist first."""

    issuer: str
    ready: tuple[pulumi.Resource, ...]

    def certificate(
        self,
        resource_name: str,
        *,
        name: str,
        namespace: str,
        dns_names: list[str],
        labels: dict[str, str],
        parent: pulumi.Resource,
        common_name: str | None = None,
        organization: str | None = None,
        after: tuple[pulumi.Resource, ...] = (),
    ) -> k8s.apiextensions.CustomResource:
        """A server certificate for `dns_names`, in Secret `name` (tls.crt, tls.key, ca.crt)."""
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=API_VERSION,
            kind="Certificate",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
            spec={
                "secretName": name,
                **({"commonName": common_name} if common_name else {}),
                **({"subject": {"organizations": [organization]}} if organization else {}),
                "dnsNames": dns_names,
                "duration": SERVER_DURATION,
                "renewBefore": SERVER_RENEW_BEFORE,
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": {"name": self.issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*self.ready, *after]),
        )


def consumer_ca(
    resource_name: str,
    namespace: str,
    ca: DataCa,
    environment: str,
    parent: pulumi.Resource,
    after: list[pulumi.Resource],
) -> k8s.apiextensions.CustomResource:
    """The consuming namespace's `trust-data-ca` Certificate: its Secret's `ca.crt` is the data CA."""
    return ca.certificate(
        resource_name,
        name=CONSUMER_SECRET,
        namespace=namespace,
        # A client name of the namespace: nothing connects to it; the Secret carries the CA.
        dns_names=[f"{namespace}.data-client.bakhmach.internal"],
        labels=standard_labels(context=namespace, environment=environment, component="data-tls"),
        parent=parent,
        after=tuple(after),
    )


class DataTls(pulumi.ComponentResource):
    ca: DataCa
    cert_manager: tuple[pulumi.Resource, ...]

    def __init__(self, name: str, args: DataTlsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataTls", name, None, opts)
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="data-tls")
        self.cert_manager = args.cert_manager
        issuer: pulumi.Resource
        if args.shared is not None:
            ca_secret = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=CA_SECRET, namespace=CERT_MANAGER_NAMESPACE, labels=labels),
                type="kubernetes.io/tls",
                string_data={"tls.crt": args.shared.cert_pem, "tls.key": args.shared.key_pem},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.cert_manager)),
            )
            issuer = ca_cluster_issuer(
                f"{name}-ca-issuer",
                ca_issuer=CA_ISSUER,
                ca_secret=CA_SECRET,
                labels=labels,
                parent=self,
                after=[*self.cert_manager, ca_secret],
            )
        else:
            issuer = self_signed_ca(
                (f"{name}-root-issuer", f"{name}-ca", f"{name}-ca-issuer"),
                root_issuer=ROOT_ISSUER,
                ca_secret=CA_SECRET,
                ca_issuer=CA_ISSUER,
                common_name="Bakhmach Business Hub data CA",
                duration="87600h",  # ten years
                renew_before="8760h",  # a year ahead, so every server certificate is reissued in time
                labels=labels,
                parent=self,
                after=self.cert_manager,
            )
        self.ca = DataCa(issuer=CA_ISSUER, ready=(*self.cert_manager, issuer))
        self.register_outputs({"issuer": CA_ISSUER})
