"""Whom a data client trusts to sign its server's certificate, as files in the client's pod.

An endpoint's `trust` (components/data/connection.py) names one of three anchors:
- `data-ca`: the stack's own data CA (in-cluster services, components/data/tls.py), from the
  consuming namespace's `trust-data-ca` Secret (cert-manager writes it);
- `rds`: Amazon RDS's CAs. RDS signs its servers' certificates with a CA of its own
  (`RDS_CA_IDENTIFIER`, "Amazon RDS <region> Root CA RSA2048 G1"), which no public trust store
  holds. Its global bundle (every region's roots) is vendored under `vendor/amazon-rds/`, checked
  by tests/test_rds_ca_bundle.py (docs/VERSIONS.md has where it came from), and every namespace
  that connects to RDS gets it as the `trust-rds-ca` ConfigMap: public certificates, no secret;
- `public`: nothing to mount. ElastiCache, MSK, Flexible Server and Azure Managed Redis present
  chains that end in public roots (Amazon Trust Services; DigiCert Global Root G2 / Microsoft RSA
  Root CA 2017), which the image's system trust store holds (docs/REAL-PATH.md has the sources).

A pod mounts the anchor of each TLS connection it makes, read-only, and `<SVC>_CA_FILE` names
the file; no `<SVC>_CA_FILE` means the system trust store. PostgreSQL clients verify the server's
certificate and name (`POSTGRES_SSLMODE=verify-full`, components/data/postgres.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components.data.connection import TlsTrust
from components.data.tls import CA_DIR, CA_KEY, CONSUMER_SECRET
from components.labels import standard_labels

# The CA the RDS instances sign with (`ca_cert_identifier`): AWS's default for new instances
# since 2024, set explicitly so that the bundle below and the servers cannot drift apart.
RDS_CA_IDENTIFIER = "rds-ca-rsa2048-g1"
RDS_BUNDLE = Path(__file__).resolve().parents[2] / "vendor" / "amazon-rds" / "global-bundle.pem"
# The vendored bundle's digest: a changed file must be checked again (tests/test_rds_ca_bundle.py).
RDS_BUNDLE_SHA256 = "05c6b4a9bf4daa95c888711481e19cc8e2e11aed4de8db759f51f4a6fce64917"
RDS_CA_CONFIG_MAP = "trust-rds-ca"
# Certificates only, so not under /var/run/secrets: they are public.
RDS_CA_DIR = "/var/run/bakhmach/trust-rds-ca"
# Owner and group read: the app runs as UID 10001 in the pod's fsGroup (components/context_service.py).
CA_FILE_MODE = 0o440


@dataclass(frozen=True)
class TrustAnchor:
    """Where a pod finds the certificates it verifies one kind of data server with."""

    volume: str  # the pod's volume name
    directory: str  # where it is mounted
    key: str  # the key of the Secret/ConfigMap, and the file name
    secret: str | None = None
    config_map: str | None = None

    @property
    def file(self) -> str:
        return f"{self.directory}/{self.key}"

    def volume_args(self) -> k8s.core.v1.VolumeArgs:
        # Listing the key: a Secret or ConfigMap without it stops the pod at start, naming it.
        items = [k8s.core.v1.KeyToPathArgs(key=self.key, path=self.key)]
        if self.secret is not None:
            return k8s.core.v1.VolumeArgs(
                name=self.volume,
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=self.secret, default_mode=CA_FILE_MODE, items=items
                ),
            )
        return k8s.core.v1.VolumeArgs(
            name=self.volume,
            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                name=self.config_map, default_mode=CA_FILE_MODE, items=items
            ),
        )

    def mount_args(self) -> k8s.core.v1.VolumeMountArgs:
        return k8s.core.v1.VolumeMountArgs(name=self.volume, mount_path=self.directory, read_only=True)


DATA_CA = TrustAnchor(volume="data-ca", directory=CA_DIR, key=CA_KEY, secret=CONSUMER_SECRET)
RDS_CA = TrustAnchor(volume="rds-ca", directory=RDS_CA_DIR, key=CA_KEY, config_map=RDS_CA_CONFIG_MAP)
ANCHORS: dict[TlsTrust, TrustAnchor | None] = {"data-ca": DATA_CA, "rds": RDS_CA, "public": None}


def anchor(trust: TlsTrust) -> TrustAnchor | None:
    """The files a client of a server so trusted mounts; None: the image's system trust store."""
    return ANCHORS[trust]


def rds_bundle() -> str:
    """The vendored RDS bundle; refused if it is not the file that was checked."""
    data = RDS_BUNDLE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != RDS_BUNDLE_SHA256:
        raise ValueError(
            f"{RDS_BUNDLE}: sha256 {digest}, expected {RDS_BUNDLE_SHA256} (the bundle checked in "
            "docs/VERSIONS.md); check a new bundle with tests/test_rds_ca_bundle.py and update the pin"
        )
    return data.decode("ascii")


def rds_ca_config_map(
    resource_name: str, namespace: str, context: str, environment: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.ConfigMap:
    """`namespace`'s copy of the RDS CA bundle, which its pods mount to verify RDS servers."""
    return k8s.core.v1.ConfigMap(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=RDS_CA_CONFIG_MAP,
            namespace=namespace,
            labels=standard_labels(context=context, environment=environment, component="data-tls"),
        ),
        data={RDS_CA.key: rds_bundle()},
        opts=opts,
    )
