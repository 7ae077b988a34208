"""Each data service accepts its consumer's credentials, read from files mounted where the
consumer's service mounts them; and, where the plan gives contexts their own credentials,
refuses another context's on this context's database, key or topic prefix.

The cases come from `selection.credential_cases`: each context's own credentials (accepted), and,
since each context holds credentials of its own (issue 13), another context's on this context's
database, key prefix or topic prefix (refused by the data service itself)."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from tests.e2e import cluster, probes, selection
from tests.planning import planned

pytestmark = pytest.mark.e2e

CASES, _ = selection.credential_cases(planned("dev", "kind"))
RUN_SECONDS = 300
CREDENTIAL_KEYS = ("username", "password")


def _foreign_secret(case: selection.CredentialCase) -> str:
    return probes.pod_name(case.consumer.service, "of", case.credentials_of)


@pytest.fixture(scope="module")
def outcomes(kube: ApiClient) -> dict[str, cluster.PodOutcome]:
    """Every probe, in two waves (own credentials, then others'), so no context namespace runs
    more than one probe per data service at a time and the probes fit its quota."""
    images: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def image_of(case: selection.CredentialCase) -> str:
        if isinstance(case.image, str):
            return case.image
        key = (case.image.namespace, tuple(sorted(case.image.labels.items())))
        if key not in images:
            images[key] = cluster.pod_image(kube, case.image)
        return images[key]

    found: dict[str, cluster.PodOutcome] = {}
    copies = []
    try:
        for wave in (True, False):
            manifests = {}
            for case in (c for c in CASES if c.expect_accepted is wave):
                secret = case.consumer.secret
                if not case.expect_accepted:
                    secret = _foreign_secret(case)
                    cluster.copy_secret(
                        kube,
                        (case.credentials_of, case.consumer.secret),
                        (case.consumer.namespace, secret),
                        CREDENTIAL_KEYS,
                    )
                    copies.append((case.consumer.namespace, secret))
                manifest = probes.credential_probe(case, image_of(case), secret)
                manifests[case.id] = manifest
            ran = cluster.run_pods(kube, manifests.values(), RUN_SECONDS)
            for case_id, m in manifests.items():
                found[case_id] = ran[f"{m['metadata']['namespace']}/{m['metadata']['name']}"]
    finally:
        for namespace, name in copies:
            cluster.delete_secret(kube, namespace, name)
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_data_service_accepts_its_consumers_credentials_and_refuses_anothers(
    outcomes: dict[str, cluster.PodOutcome], case: selection.CredentialCase
) -> None:
    outcome = outcomes[case.id]
    verdict, detail = probes.verdict(outcome.logs)
    consumer = case.consumer
    if case.expect_accepted:
        assert verdict == "AUTH-OK", (
            f"{consumer.service} at {consumer.host} did not accept the credentials mounted in {consumer.namespace}: "
            f"{verdict} {detail} [{outcome.phase}, exit {outcome.exit_code}] {outcome.detail}"
        )
    else:
        assert verdict == "REFUSED", (
            f"{consumer.service}: {case.credentials_of}'s credentials on {consumer.namespace}'s "
            f"{consumer.resource} were not refused: {verdict} {detail} [{outcome.phase}] {outcome.detail}"
        )
