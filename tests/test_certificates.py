"""cert-manager, one install per cluster, and the ClusterIssuer of the stack's public names
(components/certificates.py): a self-signed CA on kind, ACME DNS-01 in the stack's cloud zone with
workload identity (no keys) on EKS and AKS; certificates renewed 30 days before they expire."""

from __future__ import annotations

import json

import pytest

from hubctl.plan import Plan
from tests.planning import k8s, of_type, one, outside_dr, planned, primary_provider
from tests.planning_variants import variant

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
RELEASE = "kubernetes:helm.sh/v3:Release"


def cert_managers(plan: Plan) -> list[dict[str, object]]:
    return [r.inputs for r in of_type(plan, RELEASE) if r.inputs["name"] == "cert-manager"]


def test_one_pinned_cert_manager_per_cluster(any_plan: Plan) -> None:
    releases = [r for r in of_type(any_plan, RELEASE) if r.inputs["name"] == "cert-manager"]
    clusters = {r.provider for r in of_type(any_plan, RELEASE)}
    assert len(releases) == len(clusters) == (2 if any_plan.stack == "prod" else 1)
    assert len({r.provider for r in releases}) == len(releases)
    for r in releases:
        assert (r.inputs["chart"], r.inputs["version"]) == ("cert-manager", "v1.21.1")
        assert r.inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
        assert r.inputs["values"]["crds"] == {"enabled": True, "keep": True}


def test_the_barman_cloud_plugin_uses_the_cluster_s_one_cert_manager() -> None:
    """In-cluster PostgreSQL with backups (staging's, when a stack file chooses it) brings the
    Barman Cloud plugin, which asks cert-manager for its certificates: the same install."""
    plan = variant("staging", "aws", data={"postgres": {"backend": "in-cluster"}})
    (cert_manager,) = [r for r in of_type(plan, RELEASE) if r.inputs["name"] == "cert-manager"]
    (plugin,) = [r for r in of_type(plan, RELEASE) if r.inputs["name"] == "plugin-barman-cloud"]
    assert cert_manager.urn in plugin.dependencies


def test_kind_issues_from_a_self_signed_ca(dev_plan: Plan) -> None:
    # The data layer's CA issuers (components/data/tls.py) are tests/test_data_tls.py's.
    issuers = {
        i["metadata"]["name"]: i["spec"]
        for i in k8s(dev_plan, "ClusterIssuer")
        if not i["metadata"]["name"].startswith("bakhmach-data-")
    }
    assert issuers == {"bakhmach-dev-root": {"selfSigned": {}}, "bakhmach": {"ca": {"secretName": "bakhmach-dev-ca"}}}
    ca = one(dev_plan, "Certificate", "bakhmach-dev-ca", "cert-manager")["spec"]
    assert ca["isCA"] is True and ca["secretName"] == "bakhmach-dev-ca"
    assert ca["issuerRef"]["name"] == "bakhmach-dev-root"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_proves_the_names_with_dns01_in_route53_through_pod_identity(stack: str) -> None:
    plan = planned(stack, "aws")
    # The public cloud zone (prod's private zone between the regions is tests/test_dr.py's).
    (zone,) = outside_dr(plan, of_type(plan, "aws:route53/zone:Zone"))
    issuers = [
        r
        for r in of_type(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer")
        if r.inputs["metadata"]["name"] == "bakhmach"
    ]
    assert len(issuers) == (2 if stack == "prod" else 1)
    for issuer in issuers:
        acme = issuer.inputs["spec"]["acme"]
        assert acme["server"] == LETS_ENCRYPT
        (solver,) = acme["solvers"]
        # Behind Cloudflare the public names' challenges are CNAMEs into the cloud zone.
        assert solver["dns01"]["cnameStrategy"] == "Follow"
        route53 = solver["dns01"]["route53"]
        assert route53["hostedZoneID"] == "Z0123456789ABCDEFGHIJ"  # the mocked zone's id (hubctl/mocks/cloud.py)
        assert zone.inputs["name"] in {"staging-origin.bakhmach-business-hub.com", "origin.bakhmach-business-hub.com"}
        # No access keys: ambient credentials from EKS Pod Identity.
        assert set(route53) == {"region", "hostedZoneID"}
    associations = [
        a
        for a in of_type(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "cert-manager"
    ]
    assert len(associations) == len(issuers) and {a.inputs["namespace"] for a in associations} == {"cert-manager"}
    for policy in [p for p in of_type(plan, "aws:iam/rolePolicy:RolePolicy") if "cert-manager" in p.name]:
        statements = json.loads(policy.inputs["policy"])["Statement"]
        writes = [s for s in statements if "route53:ChangeResourceRecordSets" in s["Action"]]
        # Changes only in the stack's own zone.
        assert [s["Resource"] for s in writes] == ["arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_aks_proves_the_names_with_dns01_in_azure_dns_through_workload_identity(stack: str) -> None:
    plan = planned(stack, "azure")
    (zone,) = of_type(plan, "azure-native:dns:Zone")
    for issuer in of_type(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer"):
        if issuer.inputs["metadata"]["name"] != "bakhmach":
            continue  # the data CA's issuers
        (solver,) = issuer.inputs["spec"]["acme"]["solvers"]
        azure = solver["dns01"]["azureDNS"]
        assert azure["hostedZoneName"] == zone.inputs["zoneName"]
        assert set(azure["managedIdentity"]) == {"clientID"}
        assert "clientSecretSecretRef" not in azure
    grants = [
        g for g in of_type(plan, "azure-native:authorization:RoleAssignment") if g.name.endswith("-cert-manager-zone")
    ]
    # DNS Zone Contributor on the zone alone, one identity per cluster.
    assert grants and all(g.inputs["scope"] == f"{zone.name}-id" for g in grants)
    assert all(g.inputs["roleDefinitionId"].endswith("/befefa01-2a29-4197-83a8-272ff33ce314") for g in grants)
    for release in [r for r in of_type(plan, RELEASE) if r.inputs["name"] == "cert-manager"]:
        values = release.inputs["values"]
        assert values["podLabels"] == {"azure.workload.identity/use": "true"}
        assert "azure.workload.identity/client-id" in values["serviceAccount"]["annotations"]


def test_the_gateway_s_certificate_waits_for_its_issuer_and_is_renewed_30_days_ahead(any_plan: Plan) -> None:
    provider = primary_provider(any_plan)
    (certificate,) = [
        r
        for r in any_plan.resources
        if r.provider == provider
        and r.inputs.get("kind") == "Certificate"
        and r.inputs["metadata"]["name"] == "gateway-tls"
    ]
    (issuer,) = [
        r
        for r in any_plan.resources
        if r.provider == provider
        and r.inputs.get("kind") == "ClusterIssuer"
        and r.inputs["metadata"]["name"] == "bakhmach"
    ]
    assert issuer.urn in certificate.dependencies
    assert certificate.inputs["spec"]["renewBefore"] == f"{30 * 24}h"
