"""The e2e tests run only where scripts/e2e-kind.sh says a cluster is there (BAKHMACH_E2E=1)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from kubernetes.client import ApiClient

from hubctl.plan import Plan
from tests.e2e import cluster, selection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = cluster.skip_reason(os.environ)
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def kube(dev_plan: Plan) -> Iterator[ApiClient]:
    """The dev stack's cluster. Asked for and absent is a failure, not a skip."""
    try:
        api = cluster.connect(selection.kube_context(dev_plan))
    except cluster.ClusterUnavailableError as e:
        pytest.fail(f"{cluster.E2E_ENV}=1 but {e}", pytrace=False)
    yield api
    api.close()
