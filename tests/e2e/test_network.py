"""Network isolation on the cluster is what the plan's NetworkPolicies say: a probe pod in each
context namespace (and in the gateway's, or a stand-in for it) tries every context service and
every in-cluster data port, and each connection opens exactly when the plan allows it."""

from __future__ import annotations

from collections import defaultdict

import pytest
from kubernetes.client import ApiClient

from hubctl.plan import Plan
from tests.e2e import cluster, probes, selection
from tests.planning import planned

pytestmark = pytest.mark.e2e

CASES, _ = selection.reach_cases(planned("dev", "kind"))
# Per pod: settle, then every target at most CONNECT_SECONDS (plus name resolution).
RUN_SECONDS = 240

Observed = dict[str, tuple[cluster.PodOutcome, dict[str, str]]]


@pytest.fixture(scope="module")
def observed(kube: ApiClient, dev_plan: Plan) -> Observed:
    """Run one probe pod per source namespace, all at once; what each saw, by namespace."""
    image = selection.network_image(dev_plan)
    by_source: dict[str, list[selection.ReachCase]] = defaultdict(list)
    for case in CASES:
        by_source[case.source.namespace].append(case)
    stand_ins = {c.source.namespace: c.source for c in CASES if c.source.stand_in}
    for source in stand_ins.values():
        labels = {k: v for k, v in source.namespace_labels.items() if k != "kubernetes.io/metadata.name"}
        cluster.delete_namespace(kube, source.namespace)
        cluster.create_namespace(kube, source.namespace, labels)
    try:
        manifests = [
            probes.network_probe(namespace, cases[0].source.pod_labels, cases, image)
            for namespace, cases in sorted(by_source.items())
        ]
        outcomes = cluster.run_pods(kube, manifests, RUN_SECONDS)
    finally:
        for namespace in stand_ins:
            cluster.delete_namespace(kube, namespace)
    found = {}
    for manifest in manifests:
        outcome = outcomes[f"{manifest['metadata']['namespace']}/{manifest['metadata']['name']}"]
        found[outcome.namespace] = (outcome, probes.parse_network_output(outcome.logs))
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_connection_opens_exactly_when_the_plan_allows_it(observed: Observed, case: selection.ReachCase) -> None:
    outcome, seen = observed[case.source.namespace]
    assert outcome.phase == "Succeeded", (
        f"the probe in {outcome.namespace} did not run to the end: {outcome.phase} {outcome.detail}\n{outcome.logs}"
    )
    target = f"{case.target.host}:{case.target.port}"
    got = seen.get(target, "not probed")
    assert got != "NODNS", f"{case.id}: {case.target.host} does not resolve from {case.source.namespace}"
    want = "OPEN" if case.allowed else "CLOSED"
    assert got == want, (
        f"{case.id}: the plan {'allows' if case.allowed else 'denies'} it ({case.why}), but the connection was {got}"
    )
