from __future__ import annotations

import pytest

from hubctl.plan import Plan
from tests.planning import STACK_IDS, STACKS, planned


@pytest.fixture(scope="session", params=STACKS, ids=STACK_IDS)
def any_plan(request: pytest.FixtureRequest) -> Plan:
    """Each supported stack/cloud, planned once per session."""
    stack, cloud = request.param
    return planned(stack, cloud)


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return planned("dev", "kind")


@pytest.fixture(scope="session", params=["aws", "azure"])
def staging_plan(request: pytest.FixtureRequest) -> Plan:
    return planned("staging", request.param)


@pytest.fixture(scope="session", params=["aws", "azure"])
def prod_plan(request: pytest.FixtureRequest) -> Plan:
    return planned("prod", request.param)
