"""`SealedSecrets`: how teams put their own secrets in git, and `TeamSecrets`, which applies them.

The Sealed Secrets controller (bitnami-labs chart, pinned in versions.py) holds a private key that
never leaves the cluster; teams encrypt a Secret for one namespace with its public certificate
(`kubeseal`), commit the resulting `SealedSecret` under `sealed-secrets/<namespace>/`, and the
stack applies it; only the controller can turn it back into a Secret, in that namespace only.
docs/SECRETS.md says which secrets live where, how a team seals one, and how the keys are
backed up and restored.

- the sealing key is renewed every 30 days (`keyrenewperiod`): a new key seals from then on,
  the older ones stay, so every committed SealedSecret still unseals;
- the controller runs in its own namespace, Pod Security `restricted`, default-deny: it may
  reach the API server and DNS; anything may reach its HTTP port, which serves the public
  certificate (`kubeseal --fetch-cert`, through the API server's service proxy, whose address
  is the cloud's) and verification, never a key;
- it runs at the platform's priority: without it no team secret reaches its namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.labels import PLATFORM_CONTEXT, pod_security_labels, standard_labels, ttl_label
from components.network_policies import EVERY_POD, default_deny_spec, dns_egress_spec, tcp_ports
from components.priorities import PLATFORM
from settings.sealed_secrets import SealedSecretSpec
from settings.seed import Environment

NAMESPACE = "sealed-secrets"
# kubeseal's default controller name; with the namespace above: `kubeseal --controller-namespace
# sealed-secrets` (docs/SECRETS.md).
CONTROLLER = "sealed-secrets-controller"
HTTP_PORT = 8080
# Go duration (the controller takes no "d" unit): 30 days, the seed's "key rotation".
KEY_RENEW_PERIOD = "720h"
# The image's unprivileged user (the chart's default).
RUN_AS = 1001


@dataclass(frozen=True)
class SealedSecretsArgs:
    environment: Environment
    pod_security_version: str
    # What the controller waits for: the PriorityClass it names.
    after: tuple[pulumi.Resource, ...] = ()


def controller_values() -> dict[str, object]:
    """The chart's values: pinned image, 30-day key renewal, restricted security contexts."""
    restricted = {"type": "RuntimeDefault"}
    return {
        "fullnameOverride": CONTROLLER,
        "image": {
            "registry": "docker.io",
            "repository": "bitnami/sealed-secrets-controller",
            "tag": versions.SEALED_SECRETS_IMAGE_TAG,
        },
        "keyrenewperiod": KEY_RENEW_PERIOD,
        "priorityClassName": PLATFORM.name,
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "podSecurityContext": {
            "enabled": True,
            "fsGroup": 65534,
            "runAsNonRoot": True,
            "seccompProfile": restricted,
        },
        "containerSecurityContext": {
            "enabled": True,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": restricted,
        },
    }


class SealedSecrets(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: SealedSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:SealedSecrets", name, None, opts)
        labels = standard_labels(context=PLATFORM_CONTEXT, environment=args.environment, component="sealed-secrets")
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE,
                labels=labels
                | pod_security_labels(args.pod_security_version, "restricted", audit="restricted", warn="restricted"),
                annotations={"bakhmach.io/ttl": ttl_label(args.environment)},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        def policy(suffix: str, spec: k8s.networking.v1.NetworkPolicySpecArgs) -> k8s.networking.v1.NetworkPolicy:
            return k8s.networking.v1.NetworkPolicy(
                f"{name}-{suffix}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=suffix, namespace=NAMESPACE, labels=labels),
                spec=spec,
                opts=inside,
            )

        policies = [
            policy("default-deny", default_deny_spec()),
            policy("allow-dns", dns_egress_spec()),
            # The controller watches SealedSecrets and writes Secrets through the API server, whose
            # address is the cloud's: HTTPS (and kind's 6443) is the narrowest rule that works.
            policy(
                "allow-api-server",
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Egress"],
                    egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=tcp_ports(443, 6443))],
                ),
            ),
            policy(
                "allow-certificate",
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=EVERY_POD,
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=tcp_ports(HTTP_PORT))],
                ),
            ),
        ]
        self.release = versions.SEALED_SECRETS.release(
            f"{name}-controller",
            name="sealed-secrets",
            namespace=NAMESPACE,
            values=controller_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *policies, *args.after]),
        )
        self.register_outputs({"namespace": NAMESPACE, "controller": CONTROLLER, "keyRenewPeriod": KEY_RENEW_PERIOD})


@dataclass(frozen=True)
class TeamSecretsArgs:
    environment: Environment
    secrets: tuple[SealedSecretSpec, ...]
    # Each SealedSecret waits for the controller (its CRD) and for its namespace's objects.
    controller: pulumi.Resource
    namespaces: dict[str, pulumi.Resource]


class TeamSecrets(pulumi.ComponentResource):
    """The teams' committed SealedSecrets (sealed-secrets/<namespace>/*.yaml), as they wrote them."""

    def __init__(self, name: str, args: TeamSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:TeamSecrets", name, None, opts)
        for sealed in args.secrets:
            k8s.apiextensions.CustomResource(
                f"{name}-{sealed.namespace}-{sealed.name}",
                api_version=sealed.api_version,
                kind="SealedSecret",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=sealed.name,
                    namespace=sealed.namespace,
                    # The team's labels, and the stack's own (its context, so policy knows whose it is).
                    labels=sealed.labels
                    | standard_labels(context=sealed.namespace, environment=args.environment, component="team-secret"),
                    annotations=dict(sealed.annotations) or None,
                ),
                spec=sealed.spec,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[args.controller, args.namespaces[sealed.namespace]]
                ),
            )
        self.register_outputs({"sealedSecrets": [f"{s.namespace}/{s.name}" for s in args.secrets]})
