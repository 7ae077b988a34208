"""`PriorityClasses`: who keeps running when a node is full.

When the scheduler cannot place a pod, it preempts pods of lower priority; the kubelet, evicting
under memory pressure, takes lower-priority pods first. The stack's workloads get one of three
classes, highest first:
- `platform`: what every context depends on — the data operators (a dead operator leaves its
  databases unmanaged), the services of the shared "platform" context (the seed's "All" rows:
  auth-service; the gateway and identity join this class when they land), and the observability
  stack (metrics, alerts, logs and traces are how on-call sees the rest fail);
- `data`: the database, cache and broker pods (PostgreSQL, MongoDB, Redis, Kafka);
- `context`: the business contexts' services.
Cluster add-ons in kube-system (metrics-server, the VPA recommender, the cluster autoscaler,
external-dns) keep Kubernetes' own `system-cluster-critical`, which ranks above all three.
No class is the global default: a pod the stack does not know keeps priority 0, below all of these.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.labels import PLATFORM_CONTEXT, standard_labels
from settings.seed import Environment

# Kubernetes' class for cluster add-ons (above every user-defined class).
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"


@dataclass(frozen=True)
class Priority:
    name: str
    value: int
    description: str


PLATFORM = Priority(
    "bakhmach-platform-critical",
    100_000,
    "What every business context depends on: data operators, the platform context's services, gateway, identity.",
)
DATA = Priority("bakhmach-data", 50_000, "Database, cache and broker pods of the data layer.")
CONTEXT = Priority("bakhmach-context", 10_000, "The business contexts' services.")
PRIORITIES = (PLATFORM, DATA, CONTEXT)


def for_context(context: str) -> Priority:
    """A service's class: the shared platform context's services above the business contexts'."""
    return PLATFORM if context == PLATFORM_CONTEXT else CONTEXT


@dataclass(frozen=True)
class PriorityClassesArgs:
    environment: Environment


class PriorityClasses(pulumi.ComponentResource):
    """The three classes, on one cluster. A pod naming a class that does not exist is refused at
    admission, so every workload waits for `ready`."""

    classes: dict[str, k8s.scheduling.v1.PriorityClass]

    def __init__(self, name: str, args: PriorityClassesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bakhmach:platform:PriorityClasses", name, None, opts)
        self.classes = {
            priority.name: k8s.scheduling.v1.PriorityClass(
                f"{name}-{priority.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=priority.name,
                    labels=standard_labels(
                        context=PLATFORM_CONTEXT, environment=args.environment, component="scheduling"
                    ),
                ),
                value=priority.value,
                global_default=False,
                description=priority.description,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for priority in PRIORITIES
        }
        self.register_outputs({"classes": sorted(self.classes)})

    @property
    def ready(self) -> list[pulumi.Resource]:
        return list(self.classes.values())
