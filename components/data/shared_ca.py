"""`SharedCa`: prod's one data CA, held by both regions' clusters.

Prod's in-cluster data services replicate across regions (MongoDB cross-site members, Kafka's
mirror listener; components/dr) and the secondary region's services connect to the copies there,
so a client or member in either region must verify a server of the other: both clusters' data
certificates have to chain to one CA. cert-manager's CA issuer signs with a keypair in its own
cluster's Secret (cert-manager docs, "CA": "You can create this externally if you wish"), and a
cluster cannot issue from a key that lives in another, so on the first `pulumi up`, before
either cluster exists to copy from, the only way both issuers hold one CA is a keypair made
outside both: here, once, by pulumi-tls (ECDSA P-256, ten years), kept in the stack's state as a
secret and written to each cluster's cert-manager namespace as the `bakhmach-data-ca` Secret its
`bakhmach-data-ca` ClusterIssuer signs with (components/data/tls.py). Each cluster then issues and
renews its own servers' certificates; no server key crosses regions.

A root kept here with an intermediate per region was the alternative: each cluster would hold
only its own intermediate's key, but every issued Secret's `ca.crt` (what the consumers, mongod's
`CAFile` and Strimzi trust) would carry that region's intermediate, not the root, so a client of
one region would refuse the other region's servers unless every trust point were re-plumbed to a
bundle. One keypair keeps `ca.crt` identical in both regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

CA_VALIDITY_HOURS = 10 * 365 * 24
# Renewed by the `pulumi up` inside its last year, as the in-cluster CA is (components/data/tls.py).
CA_EARLY_RENEWAL_HOURS = 365 * 24
COMMON_NAME = "Bakhmach Business Hub data CA"


@dataclass(frozen=True)
class SharedCa:
    """The CA's certificate and key (PEM); the key is a Pulumi secret."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


def shared_data_ca(name: str, parent: pulumi.Resource) -> SharedCa:
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    cert = tls.SelfSignedCert(
        f"{name}-cert",
        private_key_pem=key.private_key_pem,
        is_ca_certificate=True,
        subject=tls.SelfSignedCertSubjectArgs(common_name=COMMON_NAME, organization="Bakhmach Business Hub"),
        validity_period_hours=CA_VALIDITY_HOURS,
        early_renewal_hours=CA_EARLY_RENEWAL_HOURS,
        allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
        opts=child,
    )
    return SharedCa(cert_pem=cert.cert_pem, key_pem=pulumi.Output.secret(key.private_key_pem))
