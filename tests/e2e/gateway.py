"""Requests through the gateway with and without a Keycloak token (active once the plan has both).

On kind the gateway listens on the node's port 443, mapped to 127.0.0.1:443 by kind/cluster.yaml;
routes and Keycloak are told apart by host name, so each request carries its route's host name
as SNI and Host header. The dev certificates come from a self-signed CA, and what is under test
here is authentication, so the TLS certificate is not verified (the certificate tests belong to
the gateway's own issue).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import urllib3
from kubernetes import client
from kubernetes.client import ApiClient

from tests.e2e.selection import AuthSetup, Route

GATEWAY_ADDRESS = ("127.0.0.1", 443)


def https(
    hostname: str, method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None
) -> tuple[int, str]:
    pool = urllib3.HTTPSConnectionPool(
        *GATEWAY_ADDRESS,
        server_hostname=hostname,
        assert_hostname=False,
        cert_reqs="CERT_NONE",
        timeout=urllib3.Timeout(connect=5, read=30),
        retries=False,
    )
    response = pool.request(method, path, headers={"Host": hostname, **(headers or {})}, body=body)
    return response.status, response.data.decode(errors="replace")


def client_secret(api: ApiClient, setup: AuthSetup, client_id: str) -> str:
    """The client's secret as the realm import on the cluster carries it."""
    api_version, namespace, name = setup.realm_import
    group, _, version = api_version.rpartition("/")
    realm_import = client.CustomObjectsApi(api).get_namespaced_custom_object(
        group, version, namespace, "keycloakrealmimports", name
    )
    assert isinstance(realm_import, dict)
    for c in ((realm_import.get("spec") or {}).get("realm") or {}).get("clients") or []:
        if c.get("clientId") == client_id and c.get("secret"):
            return str(c["secret"])
    raise LookupError(f"the realm import {namespace}/{name} carries no secret for client {client_id!r}")


def token(api: ApiClient, setup: AuthSetup) -> str:
    """An access token of the realm, by the client-credentials grant of its first confidential client."""
    client_id = setup.clients[0]
    form = urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret(api, setup, client_id),
        }
    )
    status, body = https(
        setup.keycloak_hostname,
        "POST",
        f"/realms/{setup.realm}/protocol/openid-connect/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    if status != 200:
        raise AssertionError(f"Keycloak refused the client-credentials grant of {client_id!r}: {status} {body[:300]}")
    return str(json.loads(body)["access_token"])


def check_route(api: ApiClient, setup: AuthSetup, route: Route) -> None:
    """Without a token the gateway refuses; with a realm token the request reaches the service."""
    status, body = https(route.hostname, "GET", route.path)
    assert status in {401, 403}, f"{route.hostname}{route.path} without a token answered {status}: {body[:200]}"
    status, body = https(route.hostname, "GET", route.path, {"Authorization": f"Bearer {token(api, setup)}"})
    assert 200 <= status < 400, f"{route.hostname}{route.path} with a realm token answered {status}: {body[:200]}"
