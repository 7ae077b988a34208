"""Workload policies: resources, pod security, pinned images, HA replicas, autoscaler bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from . import seed
from .common import (
    SCALABLE_KINDS,
    as_bool,
    as_number,
    cluster_of,
    containers,
    get,
    is_kubernetes_object,
    items,
    kind_of,
    kubernetes_objects,
    labels,
    name,
    namespace,
    object_ref,
    pod_spec,
    pod_template_labels,
    quantity,
    resource_environment,
    resource_policy,
    selector_matches,
    stack_environment,
    stack_policy,
)

# Capabilities a restricted pod may add (Pod Security Standards "restricted").
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def _check_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for container in containers(spec):
        cname = container.get("name")
        for section in ("requests", "limits"):
            values = get(container, "resources", section, default={})
            missing = [r for r in ("cpu", "memory") if r not in values]
            if missing:
                report(f"container {cname}: no {section} for {', '.join(missing)}", None)
        for resource in ("cpu", "memory"):
            request = quantity(get(container, "resources", "requests", resource))
            limit = quantity(get(container, "resources", "limits", resource))
            if request is not None and limit is not None and request > limit:
                report(f"container {cname}: {resource} request exceeds its limit", None)


def _check_pod_security(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if as_bool(spec.get(field)):
            report(f"{field} is true: pods must not share the node's namespaces", None)
    for volume in items(spec.get("volumes")):
        if "hostPath" in volume:
            report(f"volume {volume.get('name')} mounts a hostPath", None)
    pod_ctx = get(spec, "securityContext", default={})
    for container in containers(spec):
        cname = container.get("name")
        ctx = get(container, "securityContext", default={})

        def effective(field: str, ctx: Mapping[str, Any] = ctx) -> Any:
            return ctx[field] if field in ctx else pod_ctx.get(field)

        if as_bool(effective("runAsNonRoot")) is not True:
            report(f"container {cname}: runAsNonRoot is not true", None)
        if as_number(effective("runAsUser")) == 0:
            report(f"container {cname}: runs as UID 0", None)
        if as_bool(ctx.get("readOnlyRootFilesystem")) is not True:
            report(f"container {cname}: readOnlyRootFilesystem is not true", None)
        # Kubernetes defaults allowPrivilegeEscalation to true, so it must be set explicitly.
        if as_bool(ctx.get("allowPrivilegeEscalation")) is not False:
            report(f"container {cname}: allowPrivilegeEscalation is not false", None)
        if as_bool(ctx.get("privileged")):
            report(f"container {cname}: privileged", None)
        added = {str(c) for c in items(get(ctx, "capabilities", "add"))} - ALLOWED_ADDED_CAPABILITIES
        if added:
            report(f"container {cname}: adds capabilities {', '.join(sorted(added))}", None)
        for port in items(container.get("ports")):
            if port.get("hostPort"):
                report(f"container {cname}: binds hostPort {port.get('hostPort')}", None)


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None."""
    text = str(image or "")
    if not text:
        return "has no image"
    if "@sha256:" in text:
        return None
    last = text.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {text} has no tag (it means 'latest')"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {text} uses the 'latest' tag"
    return None


def _check_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    for container in containers(spec):
        problem = image_problem(container.get("image"))
        if problem:
            report(f"container {container.get('name')}: {problem}", None)


# Pod Security Admission: the namespace label that makes the API server refuse violating pods.
PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
PSA_RESTRICTED = "restricted"


def _check_namespace_pod_security(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not is_kubernetes_object(args.resource_type, props) or props.get("kind") != "Namespace":
        return
    if name(props) not in seed.CONTEXTS:
        return
    level = labels(props).get(PSA_ENFORCE_LABEL)
    if level != PSA_RESTRICTED:
        report(
            f"namespace {name(props)}: label {PSA_ENFORCE_LABEL} is {level or 'unset'}; a context namespace "
            f"enforces {PSA_RESTRICTED}",
            None,
        )


def _metric_targets(hpa: Mapping[str, Any]) -> dict[str, float | None]:
    targets: dict[str, float | None] = {}
    for metric in items(get(hpa, "spec", "metrics")):
        source = metric.get("resource") if metric.get("type") == "Resource" else metric.get("containerResource")
        if metric.get("type") in ("Resource", "ContainerResource") and isinstance(source, Mapping):
            targets[str(source.get("name"))] = as_number(get(source, "target", "averageUtilization"))
    return targets


def _scale_down_rate_problem(rules: Mapping[str, Any]) -> str | None:
    """At most one pod removed per cooldown: with selectPolicy Min, one policy must keep to it;
    otherwise (Max, the default) every policy must."""
    cooldown = seed.HPA_COOLDOWN_SECONDS
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return "behavior.scaleDown.selectPolicy is Disabled: the seed scales down"
    policies = list(items(rules.get("policies")))

    def slow(policy: Mapping[str, Any]) -> bool:
        value, period = as_number(policy.get("value")), as_number(policy.get("periodSeconds"))
        return policy.get("type") == "Pods" and value is not None and value <= 1 and (period or 0) >= cooldown

    ok = any(slow(p) for p in policies) if select == "Min" else bool(policies) and all(slow(p) for p in policies)
    if ok:
        return None
    return (
        f"behavior.scaleDown removes more than one pod per {cooldown} s (the seed's {cooldown // 60}-minute cooldown)"
    )


def _behaviour_problems(behaviour: Mapping[str, Any]) -> list[str]:
    """The seed's "Scale-up: 30 seconds, Scale-down: 5 minutes, Cooldown: 2 minutes". Without a
    behavior, Kubernetes scales up with no window and removes every surplus pod at once."""
    problems = []
    for direction, wanted in (("scaleUp", seed.HPA_SCALE_UP_SECONDS), ("scaleDown", seed.HPA_SCALE_DOWN_SECONDS)):
        window = as_number(get(behaviour, direction, "stabilizationWindowSeconds"))
        if window != wanted:
            shown = "unset" if window is None else f"{window:g} s"
            problems.append(f"behavior.{direction}.stabilizationWindowSeconds is {shown}; the seed's is {wanted} s")
    rate = _scale_down_rate_problem(get(behaviour, "scaleDown", default={}))
    if rate:
        problems.append(rate)
    return problems


def _check_hpa(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if kind_of(args.resource_type) != "HorizontalPodAutoscaler" or not args.resource_type.startswith("kubernetes:"):
        return
    env = resource_environment(args)
    spec = get(args.props, "spec", default={})
    max_replicas = as_number(spec.get("maxReplicas"))
    min_replicas = as_number(spec.get("minReplicas"))
    min_replicas = 1.0 if min_replicas is None else min_replicas
    if max_replicas is None or max_replicas > seed.HPA_MAX_REPLICAS:
        shown = "unset" if max_replicas is None else f"{max_replicas:g}"
        report(f"maxReplicas {shown} exceeds the seed's maximum of {seed.HPA_MAX_REPLICAS}", None)
    if max_replicas is not None and min_replicas > max_replicas:
        report(f"minReplicas {min_replicas:g} is above maxReplicas {max_replicas:g}", None)
    for problem in _behaviour_problems(get(spec, "behavior", default={})):
        report(problem, None)
    if env is None:
        return
    floor = seed.REPLICA_FLOOR[env]
    if min_replicas < floor:
        report(f"minReplicas {min_replicas:g} is below the {env} floor of {floor} replicas", None)
    wanted = seed.HPA_TARGETS.get(env)
    if wanted:
        actual = _metric_targets(args.props)
        for resource, percent in wanted.items():
            if actual.get(resource) != percent:
                have = actual.get(resource)
                shown = "none" if have is None else f"{have:g}"
                report(f"{resource} target is {shown}, the seed's {env} target is {percent}%", None)


def _workloads(resources: list[PolicyResource]) -> list[PolicyResource]:
    return [r for r in kubernetes_objects(resources) if r.props.get("kind") in SCALABLE_KINDS]


def workload_key(resource: PolicyResource, kind: Any, name_: Any) -> tuple[str | None, str | None, str, str]:
    return (cluster_of(resource), namespace(resource.props), str(kind), str(name_))


def hpas_by_target(resources: list[PolicyResource]) -> dict[tuple[str | None, str | None, str, str], PolicyResource]:
    found = {}
    for r in kubernetes_objects(resources):
        if r.props.get("kind") == "HorizontalPodAutoscaler":
            ref = get(r.props, "spec", "scaleTargetRef", default={})
            found[workload_key(r, ref.get("kind"), ref.get("name"))] = r
    return found


# An operator that has no leader election must run as one pod: a second copy would reconcile the
# same objects at the same time (the Keycloak operator: keycloak/keycloak#30005). Its Deployment
# says why in this annotation; a business context's workload never may.
SINGLE_REPLICA_ANNOTATION = "bakhmach.io/single-replica-because"


def _single_by_design(props: Mapping[str, Any]) -> bool:
    annotations = get(props, "metadata", "annotations", default={}) or {}
    return bool(annotations.get(SINGLE_REPLICA_ANNOTATION)) and namespace(props) not in seed.CONTEXTS


def _check_replicas_and_pdb(args: StackValidationArgs, report: ReportViolation) -> None:
    env = stack_environment(args)
    if env is None:
        return
    floor = seed.REPLICA_FLOOR[env]
    hpas = hpas_by_target(args.resources)
    pdbs = [r for r in kubernetes_objects(args.resources) if r.props.get("kind") == "PodDisruptionBudget"]
    for workload in _workloads(args.resources):
        props = workload.props
        if _single_by_design(props):
            if as_number(get(props, "spec", "replicas")) not in (None, 1.0):
                report(
                    f"{object_ref(props)} says it runs as one pod ({SINGLE_REPLICA_ANNOTATION}) but asks for more",
                    workload.urn,
                )
            continue
        hpa = hpas.get(workload_key(workload, props.get("kind"), name(props)))
        replicas = (
            as_number(get(hpa.props, "spec", "minReplicas")) if hpa else as_number(get(props, "spec", "replicas"))
        )
        replicas = 1.0 if replicas is None else replicas
        if replicas < floor:
            report(f"{object_ref(props)} runs {replicas:g} replicas; {env} needs at least {floor}", workload.urn)
        template = pod_template_labels(props)
        covered = any(
            cluster_of(p) == cluster_of(workload)
            and namespace(p.props) == namespace(props)
            and selector_matches(get(p.props, "spec", "selector"), template)
            for p in pdbs
        )
        if not covered:
            report(f"{object_ref(props)} has no PodDisruptionBudget selecting its pods", workload.urn)


def _check_vpa_hpa(args: StackValidationArgs, report: ReportViolation) -> None:
    hpas = hpas_by_target(args.resources)
    for vpa in kubernetes_objects(args.resources):
        if vpa.props.get("kind") != "VerticalPodAutoscaler":
            continue
        # The VPA's default mode updates pods ("Recreate", formerly "Auto"); only "Off" does not.
        mode = get(vpa.props, "spec", "updatePolicy", "updateMode", default="Recreate")
        if mode == "Off":
            continue
        ref = get(vpa.props, "spec", "targetRef", default={})
        hpa = hpas.get(workload_key(vpa, ref.get("kind"), ref.get("name")))
        if hpa is None:
            continue
        signals = sorted(set(_metric_targets(hpa.props)) & {"cpu", "memory"})
        if signals:
            report(
                f"{object_ref(vpa.props)} updates pods (mode {mode}) while {object_ref(hpa.props)} scales the same "
                f"workload on {', '.join(signals)}: the two fight; set updateMode Off",
                vpa.urn,
            )


POLICIES = [
    resource_policy(
        "container-resources",
        "Every container declares CPU and memory requests and limits (requests no larger than limits).",
        _check_resources,
    ),
    resource_policy(
        "pod-security",
        "Containers run as non-root with a read-only root filesystem and no privilege escalation; pods use "
        "no host network, PID, IPC, ports or paths.",
        _check_pod_security,
    ),
    resource_policy(
        "context-pod-security-restricted",
        "Every context namespace enforces the Pod Security Standard 'restricted' (pod-security.kubernetes.io/enforce).",
        _check_namespace_pod_security,
    ),
    resource_policy(
        "pinned-images", "Every container image has a fixed tag or digest, never 'latest' or none.", _check_images
    ),
    resource_policy(
        "hpa-bounds",
        "HorizontalPodAutoscalers stay within the seed: at most 10 replicas, at least the environment's replicas, "
        "CPU/memory targets 70/80% in staging and 60/70% in prod, scale-up window 30 s, scale-down window 5 minutes, "
        "at most one pod removed per 2 minutes.",
        _check_hpa,
    ),
    stack_policy(
        "replicas-and-pdb",
        f"Every Deployment/StatefulSet runs at least the environment's replicas (staging "
        f"{seed.REPLICA_FLOOR['staging']}, prod {seed.REPLICA_FLOOR['prod']}) and has a PodDisruptionBudget; outside "
        f"the business contexts, an operator without leader election runs exactly one pod and says why "
        f"({SINGLE_REPLICA_ANNOTATION}).",
        _check_replicas_and_pdb,
        environments=("staging", "prod"),
    ),
    stack_policy(
        "vpa-hpa-conflict",
        "No VerticalPodAutoscaler updates pods of a workload that an HPA scales on CPU or memory.",
        _check_vpa_hpa,
    ),
]
