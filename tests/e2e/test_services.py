"""Every Service of the dev plan in front of a planned Deployment answers on the cluster: the
context services (and, once the plan has the gateway and Keycloak, only with a realm token through
the gateway) and the platform's own, such as Jaeger's collector and query Services."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from tests.e2e import cluster, gateway, selection
from tests.planning import planned

pytestmark = pytest.mark.e2e

PLAN = planned("dev", "kind")
SERVICES = selection.planned_services(PLAN)
AUTH, _ = selection.auth_setup(PLAN)
ROUTES = {route.service: route for route in AUTH.routes} if AUTH else {}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: f"{s.namespace}/{s.name}:{s.port}")
def test_service_answers_its_readiness_path(kube: ApiClient, service: selection.PlannedService) -> None:
    ready = cluster.ready_endpoints(kube, service.namespace, service.name)
    assert ready >= 1, f"Service {service.namespace}/{service.name} has no ready endpoint"
    # A meshed service's port refuses plaintext (STRICT mTLS): its ready endpoints are the app's
    # own readiness probe passing, through the sidecar's agent.
    if service.readiness_path is not None and not service.meshed:
        status, body = cluster.service_get(
            kube, service.namespace, service.name, service.port_name, service.readiness_path
        )
        assert 200 <= status < 300, (
            f"GET {service.readiness_path} on {service.namespace}/{service.name} answered {status}: {body[:300]}"
        )
    route = ROUTES.get(f"{service.namespace}/{service.name}")
    if AUTH is not None and route is not None:
        gateway.check_route(kube, AUTH, route)
