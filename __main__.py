"""The Bakhmach Business Hub platform: one stack per environment (see README.md)."""

import pulumi

from components.platform import build_platform
from settings import load_stack

stack = load_stack()
settings = stack.settings
platform = build_platform(stack, pulumi.get_stack())

pulumi.export("environment", settings.environment)
pulumi.export("cloud", settings.cloud)
pulumi.export("cluster", platform.cluster.description)
pulumi.export("namespaces", sorted(platform.namespaces))
pulumi.export("services", {name: svc.deployment.metadata.name for name, svc in platform.services.items()})
if platform.cluster.kubeconfig is not None:
    pulumi.export("kubeconfig", pulumi.Output.secret(platform.cluster.kubeconfig))
if platform.secondary is not None:
    pulumi.export("secondaryCluster", platform.secondary.cluster.description)
    if platform.secondary.cluster.kubeconfig is not None:
        pulumi.export("secondaryKubeconfig", pulumi.Output.secret(platform.secondary.cluster.kubeconfig))
if platform.failover is not None:
    # The zone to delegate at the registrar; the failover name once something serves it.
    pulumi.export("dnsZone", platform.failover.zone_name)
    if platform.failover.fqdn is not None:
        pulumi.export("failoverName", platform.failover.fqdn)
if platform.recovery is not None:
    # Everything a failover needs (components/dr): `hubctl dr drill --outputs` reads it.
    pulumi.export(
        "dr",
        {
            **platform.recovery.built.output,
            **({"identity": platform.identity_failover} if platform.identity_failover else {}),
        },
    )
