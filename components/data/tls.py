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

cert-manager itself: one install per cluster. Until the front-door issue's shared install lands
(components/certificates.py there), the data layer installs it (`install_cert_manager`) unless
the composition passes an existing install in (`DataTlsArgs.cert_manager`): that is the seam
where the shared one plugs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.data.shared_ca import SharedCa
from components.labels import PLATFORM_CONTEXT, pod_security_labels, standard_labels
from components.priorities import PLATFORM

CERT_MANAGER_NAMESPACE = "cert-manager"
API_VERSION = "cert-manager.io/v1"
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
    pod_security_version: str
    # An existing cert-manager install (its release and whatever must exist before a Certificate);
    # None: the data layer installs one.
    cert_manager: tuple[pulumi.Resource, ...] | None = None
    # The PriorityClass cert-manager's pods name.
    scheduling: tuple[pulumi.Resource, ...] = ()
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


def install_cert_manager(
    name: str, args: DataTlsArgs, parent: pulumi.Resource
) -> tuple[k8s.core.v1.Namespace, k8s.helm.v3.Release]:
    labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="certificates")
    namespace = k8s.core.v1.Namespace(
        f"{name}-cert-manager-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=CERT_MANAGER_NAMESPACE,
            labels=labels | pod_security_labels(args.pod_security_version, "restricted", warn="restricted"),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(args.scheduling)),
    )
    release = versions.CERT_MANAGER.release(
        f"{name}-cert-manager",
        name="cert-manager",
        namespace=CERT_MANAGER_NAMESPACE,
        values={
            "crds": {"enabled": True, "keep": True},
            "global": {"priorityClassName": PLATFORM.name},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[namespace, *args.scheduling]),
    )
    return namespace, release


class DataTls(pulumi.ComponentResource):
    ca: DataCa
    cert_manager: tuple[pulumi.Resource, ...]

    def __init__(self, name: str, args: DataTlsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:data:DataTls", name, None, opts)
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="data-tls")
        if args.cert_manager is None:
            _, release = install_cert_manager(name, args, self)
            self.cert_manager = (release,)
        else:
            self.cert_manager = args.cert_manager
        after_cert_manager = pulumi.ResourceOptions(parent=self, depends_on=list(self.cert_manager))
        ca_certificate: pulumi.Resource
        if args.shared is not None:
            ca_certificate = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=CA_SECRET, namespace=CERT_MANAGER_NAMESPACE, labels=labels),
                type="kubernetes.io/tls",
                string_data={"tls.crt": args.shared.cert_pem, "tls.key": args.shared.key_pem},
                opts=after_cert_manager,
            )
        else:
            root = k8s.apiextensions.CustomResource(
                f"{name}-root-issuer",
                api_version=API_VERSION,
                kind="ClusterIssuer",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=ROOT_ISSUER, labels=labels),
                spec={"selfSigned": {}},
                opts=after_cert_manager,
            )
            ca_certificate = k8s.apiextensions.CustomResource(
                f"{name}-ca",
                api_version=API_VERSION,
                kind="Certificate",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=CA_SECRET, namespace=CERT_MANAGER_NAMESPACE, labels=labels),
                spec={
                    "isCA": True,
                    "commonName": "Bakhmach Business Hub data CA",
                    "secretName": CA_SECRET,
                    "duration": "87600h",  # ten years
                    "renewBefore": "8760h",  # a year ahead, so every server certificate is reissued in time
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"name": ROOT_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.cert_manager, root]),
            )
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-ca-issuer",
            api_version=API_VERSION,
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CA_ISSUER, labels=labels),
            spec={"ca": {"secretName": CA_SECRET}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.cert_manager, ca_certificate]),
        )
        self.ca = DataCa(issuer=CA_ISSUER, ready=(*self.cert_manager, issuer))
        self.register_outputs({"issuer": CA_ISSUER})
