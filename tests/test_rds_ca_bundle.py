"""The vendored Amazon RDS CA bundle (vendor/amazon-rds/global-bundle.pem) is what it claims to be.

AWS's copy (truststore.pki.rds.amazonaws.com/global/global-bundle.pem) cannot be fetched here;
the vendored file is the copy that three unrelated public repositories hold identically
(docs/VERSIONS.md: which, at which commits, and its sha256). These checks hold it to that: the
pinned digest, every certificate a self-signed Amazon RDS root whose signature verifies, and a
root of the CA the instances are given (`ca_cert_identifier`) for every region the AWS stacks use.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.data import trust
from components.data.trust import RDS_BUNDLE, RDS_BUNDLE_SHA256, RDS_CA_IDENTIFIER, rds_bundle
from hubctl.plan import Plan
from tests.planning import planned

ROOT_NAME = re.compile(
    r"^Amazon RDS (?:(?:Beta|Preview) )?(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d) "
    r"Root CA (?P<ca>(?:RSA2048|RSA4096|ECC384) G1)$"
)
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _ca_name(identifier: str) -> str:
    """`rds-ca-rsa2048-g1` -> `RSA2048 G1`, as the roots' common names spell it (AWS's RDS user
    guide, "Certificate authorities": CN "Amazon RDS region-identifier Root CA RSA2048 G1")."""
    _, _, algorithm, generation = identifier.split("-")
    return f"{algorithm.upper()} {generation.upper()}"


def _aws_regions(plans: list[Plan]) -> set[str]:
    return {r.inputs["region"] for plan in plans for r in plan.resources if r.type == "pulumi:providers:aws"}


def bundle_problems(pem: bytes, regions: set[str], identifier: str) -> list[str]:
    """Why `pem` is not a bundle of Amazon RDS roots covering `regions` for CA `identifier`."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        return [f"does not parse: {error}"]
    if pem.count(b"-----BEGIN CERTIFICATE-----") != len(certificates):
        return ["a PEM block is not a certificate"]
    problems = []
    now = datetime.datetime.now(datetime.UTC)
    current: set[tuple[str, str]] = set()
    for certificate in certificates:
        (common_name,) = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        name = str(common_name.value)
        match = ROOT_NAME.match(name)
        organisation = certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        unit = certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        if (
            match is None
            or [a.value for a in organisation] != ["Amazon Web Services, Inc."]
            or [a.value for a in unit] != ["Amazon RDS"]
        ):
            problems.append(f"{certificate.subject.rfc4514_string()}: not an Amazon RDS root")
            continue
        if certificate.issuer != certificate.subject:
            problems.append(f"{name}: not self-signed (issuer {certificate.issuer.rfc4514_string()})")
            continue
        try:
            certificate.verify_directly_issued_by(certificate)
        except (ValueError, TypeError, InvalidSignature) as error:
            problems.append(f"{name}: its signature does not verify ({type(error).__name__})")
            continue
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            problems.append(f"{name}: not a CA")
            continue
        if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            current.add((match["region"], match["ca"]))
    for region in sorted(regions):
        if (region, _ca_name(identifier)) not in current:
            problems.append(f"no current root of {identifier} for {region}")
    return problems


@pytest.fixture(scope="module")
def aws_regions() -> set[str]:
    regions = _aws_regions([planned("staging", "aws"), planned("prod", "aws")])
    # Prod's secondary region runs its own cluster; both must be covered.
    assert {"eu-central-1", "eu-west-1"} <= regions
    return regions


def test_the_vendored_bundle_is_the_checked_one() -> None:
    data = RDS_BUNDLE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == RDS_BUNDLE_SHA256
    assert rds_bundle() == data.decode("ascii")
    # Its provenance is written down beside the digest.
    assert RDS_BUNDLE_SHA256 in (DOCS / "VERSIONS.md").read_text()


def test_every_certificate_is_a_self_signed_amazon_rds_root(aws_regions: set[str]) -> None:
    pem = RDS_BUNDLE.read_bytes()
    assert bundle_problems(pem, aws_regions, RDS_CA_IDENTIFIER) == []
    assert len(x509.load_pem_x509_certificates(pem)) >= 3 * len(aws_regions)


def test_the_instances_ca_is_one_aws_accepts() -> None:
    # The identifiers of RDS's current CAs (RDS user guide, "Certificate authorities").
    assert RDS_CA_IDENTIFIER in {"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"}


def _foreign_root(common_name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
            x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon RDS"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Someone Else")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_the_checks_fail_on_a_tampered_bundle(
    aws_regions: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = RDS_BUNDLE.read_bytes()
    blocks = [b"-----BEGIN CERTIFICATE-----" + b for b in pem.split(b"-----BEGIN CERTIFICATE-----")[1:]]
    # Without the secondary region's RSA2048 root.
    west = [b for b in blocks if b"eu-west-1 Root CA RSA2048 G1" not in _subject_of(b)]
    assert len(west) == len(blocks) - 1
    assert bundle_problems(b"".join(west), aws_regions, RDS_CA_IDENTIFIER) == [
        f"no current root of {RDS_CA_IDENTIFIER} for eu-west-1"
    ]
    # With a certificate that claims to be an RDS root but is issued by someone else.
    foreign = pem + _foreign_root("Amazon RDS eu-central-1 Root CA RSA2048 G1")
    assert [p.split(" (issuer")[0] for p in bundle_problems(foreign, aws_regions, RDS_CA_IDENTIFIER)] == [
        "Amazon RDS eu-central-1 Root CA RSA2048 G1: not self-signed"
    ]
    # With a broken signature: the last bytes of a certificate (its signature) changed.
    (rsa,) = [i for i, b in enumerate(blocks) if b"eu-central-1 Root CA RSA2048 G1" in _subject_of(b)]
    der = x509.load_pem_x509_certificate(blocks[rsa]).public_bytes(serialization.Encoding.DER)
    forged = x509.load_der_x509_certificate(der[:-2] + bytes([der[-2] ^ 0xFF, der[-1]]))
    tampered = b"".join(blocks[:rsa]) + forged.public_bytes(serialization.Encoding.PEM) + b"".join(blocks[rsa + 1 :])
    assert bundle_problems(tampered, aws_regions, RDS_CA_IDENTIFIER) == [
        "Amazon RDS eu-central-1 Root CA RSA2048 G1: its signature does not verify (InvalidSignature)",
        f"no current root of {RDS_CA_IDENTIFIER} for eu-central-1",
    ]
    # And the program refuses a file that is not the pinned one.
    copy = tmp_path / "global-bundle.pem"
    copy.write_bytes(pem + b"\n")
    monkeypatch.setattr(trust, "RDS_BUNDLE", copy)
    with pytest.raises(ValueError, match="expected " + RDS_BUNDLE_SHA256):
        trust.rds_bundle()


def _subject_of(block: bytes) -> bytes:
    return x509.load_pem_x509_certificate(block).subject.rfc4514_string().encode()
