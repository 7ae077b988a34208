"""`Certificates`: cert-manager, once per cluster, and the ClusterIssuer of the stack's public names.

One install serves everything that needs certificates in the cluster: the gateway's and
Keycloak's names (components/gateway.py) and the Barman Cloud plugin's mTLS with the
CloudNativePG operator (components/data/operators.py). Two installs of the same chart would fight
over its CRDs and webhooks, so the data layer waits for this one instead of bringing its own.

The issuer, per environment:
- dev: a self-signed root (`bakhmach-dev-root`) signs a CA certificate, and the CA issues the
  gateway's certificates; kind has no public name an ACME CA could check. `curl -k`, or trust the
  CA from Secret `cert-manager/bakhmach-dev-ca` (README);
- staging/prod: Let's Encrypt, DNS-01 in the stack's cloud zone (components/cloud/dns_zone.py),
  which cert-manager writes with workload identity and no key: EKS Pod Identity for a role that
  may change only that zone's records, or an AKS workload identity with DNS Zone Contributor on
  only that zone. Behind Cloudflare the public names' `_acme-challenge` records are CNAMEs into
  the cloud zone (components/edge.py), and the solver follows them (`cnameStrategy: Follow`).

Certificates are renewed 30 days before they expire (`renewBefore`, on each Certificate).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cloud.dns_zone import BuiltZone
from components.cloud.identity import (
    AZURE_CLIENT_ID_ANNOTATION,
    AZURE_WORKLOAD_IDENTITY_LABEL,
    AzureRole,
    federated_identity,
    pod_identity_role,
    role_assignment,
)
from components.labels import PLATFORM_CONTEXT, pod_security_labels, standard_labels
from components.network import AwsNetwork, AzureNetwork, CloudNetwork
from components.priorities import PLATFORM
from settings.seed import Environment

NAMESPACE = "cert-manager"
SERVICE_ACCOUNT = "cert-manager"
# The issuer of the stack's public names (the gateway's and Keycloak's certificates).
ISSUER = "bakhmach"
DEV_ROOT_ISSUER = "bakhmach-dev-root"
DEV_CA_SECRET = "bakhmach-dev-ca"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
API_VERSION = "cert-manager.io/v1"


@dataclass(frozen=True)
class CertificatesArgs:
    environment: Environment
    pod_security_version: str
    # Staging/prod: the zone DNS-01 writes into, and the cluster's network (its identity hooks).
    zone: BuiltZone | None = None
    network: CloudNetwork | None = None
    region: str | None = None
    # The cloud resources' tags and name prefix (the cluster's scope), where there is a zone.
    tags: dict[str, str] | None = None
    prefix: str = ""
    cluster_name: str = ""
    # The PriorityClass it names.
    after: tuple[pulumi.Resource, ...] = ()


class Certificates(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    issuer: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:Certificates", name, None, opts)
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="certificates")
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels=labels | pod_security_labels(args.pod_security_version, "restricted", warn="restricted"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Cloud resources live in the cluster's account/subscription (the region's AWS provider).
        cloud_opts = pulumi.ResourceOptions(parent=self)
        if isinstance(args.network, AwsNetwork) and args.network.provider is not None:
            cloud_opts = pulumi.ResourceOptions(parent=self, providers=[args.network.provider])

        values: dict[str, object] = {
            "crds": {"enabled": True, "keep": True},
            # What every context depends on: the platform class (components/priorities.py).
            "global": {"priorityClassName": PLATFORM.name},
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        }
        solver: dict[str, object] | None = None
        identity_ready: list[pulumi.Resource] = []
        zone = args.zone
        if zone is not None and isinstance(args.network, AwsNetwork):
            assert zone.arn is not None and args.network.cluster_name is not None
            role = pod_identity_role(
                f"{args.prefix}-cert-manager",
                cluster_name=args.network.cluster_name,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                policy=zone.arn.apply(_route53_policy),
                tags=args.tags or {},
                opts=cloud_opts,
            )
            identity_ready.append(role)
            solver = {
                "route53": {"region": args.region, "hostedZoneID": zone.id},
            }
        elif zone is not None and isinstance(args.network, AzureNetwork):
            assert args.network.oidc_issuer_url is not None and zone.resource_group_name is not None
            identity, credentials = federated_identity(
                f"{args.prefix}-cert-manager",
                identity_name=f"id-{args.cluster_name}-cert-manager",
                resource_group_name=args.network.resource_group_name,
                location=args.network.location,
                issuer=args.network.oidc_issuer_url,
                service_accounts=[(NAMESPACE, SERVICE_ACCOUNT)],
                credential_names=[(f"{args.prefix}-cert-manager-federation", "cert-manager")],
                tags=args.tags or {},
                opts=cloud_opts,
            )
            grant = role_assignment(
                f"{args.prefix}-cert-manager-zone",
                role=AzureRole.DNS_ZONE_CONTRIBUTOR,
                principal_id=identity.principal_id,
                scope=zone.id,
                opts=cloud_opts,
            )
            identity_ready += [grant, *credentials]
            # AKS's webhook projects the federated token into pods so labelled.
            values["podLabels"] = {AZURE_WORKLOAD_IDENTITY_LABEL: "true"}
            values["serviceAccount"] = {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {AZURE_CLIENT_ID_ANNOTATION: identity.client_id},
                "labels": {AZURE_WORKLOAD_IDENTITY_LABEL: "true"},
            }
            solver = {
                "azureDNS": {
                    "subscriptionID": zone.subscription_id,
                    "resourceGroupName": zone.resource_group_name,
                    "hostedZoneName": zone.name,
                    "environment": "AzurePublicCloud",
                    "managedIdentity": {"clientID": identity.client_id},
                }
            }

        self.release = versions.CERT_MANAGER.release(
            f"{name}-release",
            name="cert-manager",
            namespace=NAMESPACE,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.after, *identity_ready]),
        )
        if solver is None:
            self.issuer = self_signed_ca(
                (f"{name}-dev-root", f"{name}-dev-ca", f"{name}-issuer"),
                root_issuer=DEV_ROOT_ISSUER,
                ca_secret=DEV_CA_SECRET,
                ca_issuer=ISSUER,
                common_name="Bakhmach Business Hub dev CA",
                duration="8760h",
                renew_before="720h",
                labels=labels,
                parent=self,
                after=[self.release],
            )
        else:
            self.issuer = k8s.apiextensions.CustomResource(
                f"{name}-issuer",
                api_version=API_VERSION,
                kind="ClusterIssuer",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=ISSUER, labels=labels),
                spec={
                    "acme": {
                        "server": LETS_ENCRYPT,
                        "privateKeySecretRef": {"name": "bakhmach-acme-account"},
                        "solvers": [{"dns01": {**solver, "cnameStrategy": "Follow"}}],
                    }
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
            )
        self.register_outputs({"namespace": NAMESPACE, "issuer": ISSUER})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a Certificate waits for: cert-manager and the issuer."""
        return [self.release, self.issuer]


def self_signed_ca(
    resource_names: tuple[str, str, str],
    *,
    root_issuer: str,
    ca_secret: str,
    ca_issuer: str,
    common_name: str,
    duration: str,
    renew_before: str,
    labels: dict[str, str],
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource],
) -> k8s.apiextensions.CustomResource:
    """A CA of the stack's own, kept in cert-manager's namespace: the self-signed ClusterIssuer
    `root_issuer` signs one CA certificate (ECDSA P-256, in Secret `ca_secret`), from which the
    ClusterIssuer `ca_issuer` issues. Each waits for `after` (cert-manager) and the one before it.
    Returns the CA issuer. Used by the dev issuer here and by the data CA (components/data/tls.py);
    `resource_names` (root, CA certificate, CA issuer) are each caller's own, kept as they were."""
    root_name, ca_name, issuer_name = resource_names
    root = k8s.apiextensions.CustomResource(
        root_name,
        api_version=API_VERSION,
        kind="ClusterIssuer",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=root_issuer, labels=labels),
        spec={"selfSigned": {}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    certificate = k8s.apiextensions.CustomResource(
        ca_name,
        api_version=API_VERSION,
        kind="Certificate",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ca_secret, namespace=NAMESPACE, labels=labels),
        spec={
            "isCA": True,
            "commonName": common_name,
            "secretName": ca_secret,
            "duration": duration,
            "renewBefore": renew_before,
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"name": root_issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*after, root]),
    )
    return ca_cluster_issuer(
        issuer_name, ca_issuer=ca_issuer, ca_secret=ca_secret, labels=labels, parent=parent, after=[*after, certificate]
    )


def ca_cluster_issuer(
    resource_name: str,
    *,
    ca_issuer: str,
    ca_secret: str,
    labels: dict[str, str],
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource],
) -> k8s.apiextensions.CustomResource:
    """The ClusterIssuer `ca_issuer` that signs with the CA keypair in Secret `ca_secret` (in
    cert-manager's namespace), once `after` (cert-manager, and whatever writes that Secret) exists."""
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind="ClusterIssuer",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ca_issuer, labels=labels),
        spec={"ca": {"secretName": ca_secret}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )


def _route53_policy(zone_arn: str) -> str:
    """cert-manager's DNS-01 rights: change and read records of this zone only, follow the change,
    and find the zone by name (cert-manager's Route53 documentation)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["route53:GetChange"], "Resource": "arn:aws:route53:::change/*"},
                {
                    "Effect": "Allow",
                    "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
                    "Resource": zone_arn,
                },
                {"Effect": "Allow", "Action": ["route53:ListHostedZonesByName"], "Resource": "*"},
            ],
        }
    )
