"""Kubernetes NetworkPolicy semantics, evaluated over the policies of a plan.

The smoke tests must know, for every probe connection, whether the stack's policies allow it: a
connection the plan allows has to succeed on the cluster, one it denies has to fail. Writing those
expectations by hand would test the hand-written list, not the stack; so they are computed here
from the NetworkPolicy objects the plan registers, following the API's rules
(https://kubernetes.io/docs/concepts/services-networking/network-policies/):

- a pod is isolated for a direction only if some policy of its namespace selects it and lists that
  direction in `policyTypes` (default `["Ingress"]`, plus `"Egress"` when the policy has egress
  rules); an isolated pod admits only what the union of those policies' rules allows;
- a connection needs both the source's egress and the destination's ingress to allow it;
- a peer with only `podSelector` means pods of the policy's own namespace; with
  `namespaceSelector` (and optionally `podSelector`) pods of the matching namespaces; an empty
  or absent `from`/`to` means every peer, an empty or absent `ports` every port;
- ports match the destination pod's port (after the Service's translation), by number, range
  (`endPort`) or name.

What cannot be decided from the plan raises `UndecidableError` instead of guessing: `ipBlock` peers
(pod and Service addresses are only known on the cluster), selectors over the labels of pods an
operator creates (their labels are not in the plan), and named ports of such pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]


class UndecidableError(Exception):
    """The plan does not say enough to predict this connection."""


@dataclass(frozen=True)
class Endpoint:
    """One side of a connection: a pod (by its labels) in a namespace (by its labels)."""

    namespace: str
    namespace_labels: Labels
    # None: the pod's labels are unknown to the plan (an operator creates the pod).
    pod_labels: Labels | None


@dataclass(frozen=True)
class Port:
    number: int
    # The destination container port's name, where the plan knows it.
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # Which policies decided, for the test's failure message.
    why: str


def _requirement_matches(requirement: Mapping[str, Any], labels: Labels) -> bool:
    key, operator = requirement["key"], requirement["operator"]
    values = requirement.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise UndecidableError(f"unknown label selector operator {operator!r}")


def selector_matches(selector: Mapping[str, Any] | None, labels: Labels | None) -> bool:
    """A LabelSelector against labels; an empty selector matches everything."""
    selector = selector or {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return True
    if labels is None:
        raise UndecidableError(f"selector {dict(selector)} over the labels of a pod the plan does not describe")
    return all(labels.get(k) == v for k, v in match_labels.items()) and all(
        _requirement_matches(e, labels) for e in expressions
    )


def policy_types(spec: Mapping[str, Any]) -> set[str]:
    declared = spec.get("policyTypes")
    if declared:
        return set(declared)
    return {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        raise UndecidableError(f"ipBlock peer {dict(peer['ipBlock'])}: addresses are known only on the cluster")
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.pod_labels)


def _port_matches(rule_port: Mapping[str, Any], port: Port) -> bool:
    if rule_port.get("protocol", "TCP") != port.protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        if port.name is None:
            raise UndecidableError(f"named port {wanted!r} of a pod whose port names the plan does not describe")
        return wanted == port.name
    end = rule_port.get("endPort", wanted)
    return int(wanted) <= port.number <= int(end)


def _rule_matches(rule: Mapping[str, Any], peers_key: str, policy_namespace: str, other: Endpoint, port: Port) -> bool:
    peers = rule.get(peers_key) or []
    ports = rule.get("ports") or []
    peer_ok = not peers or any(_peer_matches(p, policy_namespace, other) for p in peers)
    port_ok = not ports or any(_port_matches(p, port) for p in ports)
    return peer_ok and port_ok


def _direction(
    policies: Iterable[Mapping[str, Any]], direction: str, pod: Endpoint, other: Endpoint, port: Port
) -> Verdict:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in policy_types(p["spec"])
        and selector_matches(p["spec"].get("podSelector"), pod.pod_labels)
    ]
    if not selecting:
        return Verdict(True, f"no {direction.lower()} policy in {pod.namespace} selects the pod")
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            if _rule_matches(rule, peers_key, pod.namespace, other, port):
                return Verdict(True, f"{pod.namespace}/{policy['metadata']['name']} allows it")
    names = ", ".join(sorted(p["metadata"]["name"] for p in selecting))
    return Verdict(False, f"{direction.lower()} of {pod.namespace} is limited by {names} and none allows it")


def connection(policies: Iterable[Mapping[str, Any]], source: Endpoint, destination: Endpoint, port: Port) -> Verdict:
    """Whether `source` may open a connection to `destination` on `port` (the destination pod's)."""
    policies = list(policies)
    egress = _direction(policies, "Egress", source, destination, port)
    if not egress.allowed:
        return egress
    ingress = _direction(policies, "Ingress", destination, source, port)
    if not ingress.allowed:
        return ingress
    return Verdict(True, f"egress: {egress.why}; ingress: {ingress.why}")
