"""API defaulting, as the API server applies it before anything else sees an object.

Sources: ``pkg/apis/core/v1/defaults.go`` (SetDefaults_Pod, SetDefaults_PodSpec,
SetDefaults_ContainerPort via hostNetwork), ``plugin/pkg/admission/priority`` (priority
resolution from PriorityClass). Scheduling, QoS and quota all read the defaulted pod:
for example a container that sets only limits gets equal requests, so it is charged its
limit and may be Guaranteed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from podfit.errors import PodfitError
from podfit.model import (
    DEFAULT_NAMESPACE,
    DEFAULT_SCHEDULER,
    NAMESPACE_NAME_LABEL,
    Container,
    DaemonSet,
    KubeObject,
    LimitRange,
    Namespace,
    Pod,
    PodDisruptionBudget,
    PriorityClass,
    ResourceList,
    ResourceQuota,
    ResourceRequirements,
    Service,
    WorkloadSelector,
    evolve,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import Quantity

# Built-in PriorityClasses the API server creates (pkg/apis/scheduling/types.go).
SYSTEM_PRIORITY_CLASSES: tuple[PriorityClass, ...] = (
    PriorityClass(name="system-cluster-critical", value=2000000000),
    PriorityClass(name="system-node-critical", value=2000001000),
)


def round_to_milli(rl: ResourceList) -> ResourceList:
    """SetDefaults_ResourceList: every quantity is rounded up to milli precision."""
    if all(1000 % q.value.denominator == 0 for q in rl.values()):
        return rl  # already whole milli-units (the usual case)
    out = {}
    for name, q in rl.items():
        rounded = Fraction(math.ceil(q.value * 1000), 1000)
        out[name] = q if rounded == q.value else Quantity(rounded, q.format)
    return frozen_resources(out)


def default_container(c: Container, *, host_network: bool) -> Container:
    """Requests default to limits per resource; hostNetwork copies containerPort to hostPort."""
    limits = c.resources.limits
    if not host_network and all(name in c.resources.requests for name in limits):
        requests, rounded_limits = round_to_milli(c.resources.requests), round_to_milli(limits)
        if requests is c.resources.requests and rounded_limits is limits:
            return c  # nothing to default (the usual case): keep the object
        return replace(c, resources=ResourceRequirements(requests, rounded_limits))
    requests = dict(c.resources.requests)
    for name, limit in limits.items():
        requests.setdefault(name, limit)
    ports = c.ports
    if host_network:
        ports = tuple(
            replace(p, host_port=p.container_port) if p.host_port == 0 else p for p in c.ports
        )
    return replace(
        c,
        resources=ResourceRequirements(
            requests=round_to_milli(requests), limits=round_to_milli(c.resources.limits)
        ),
        ports=ports,
    )


def _is_pod_level_resource(name: str) -> bool:
    return name in ("cpu", "memory") or name.startswith("hugepages-")


def default_pod_level(pod: Pod) -> ResourceRequirements | None:
    """Pod-level requests default to pod-level limits for resources no container requests.

    (SetDefaults_Pod with PodLevelResources: a pod-level limit without a pod-level request,
    for a resource the containers do not request either, becomes the request.)
    """
    if pod.resources is None or not pod.resources.limits:
        return pod.resources
    requested = {n for c in pod.all_containers() for n in c.resources.requests}
    requests = dict(pod.resources.requests)
    for name, limit in pod.resources.limits.items():
        if _is_pod_level_resource(name) and name not in requests and name not in requested:
            requests[name] = limit
    return ResourceRequirements(requests=frozen_resources(requests), limits=pod.resources.limits)


def default_pod(pod: Pod) -> Pod:
    """The pod as the API server stores it (without priority: see :func:`resolve_priority`)."""
    containers = tuple(default_container(c, host_network=pod.host_network) for c in pod.containers)
    init_containers = tuple(
        default_container(c, host_network=pod.host_network) for c in pod.init_containers
    )
    namespace = pod.namespace or DEFAULT_NAMESPACE
    scheduler_name = pod.scheduler_name or DEFAULT_SCHEDULER
    if (
        pod.resources is None
        and namespace is pod.namespace
        and scheduler_name is pod.scheduler_name
        and all(a is b for a, b in zip(containers, pod.containers, strict=True))
        and all(a is b for a, b in zip(init_containers, pod.init_containers, strict=True))
    ):
        return pod  # nothing to default (a pod read from a dump): keep the object
    defaulted = evolve(
        pod,
        namespace=namespace,
        scheduler_name=scheduler_name,
        containers=containers,
        init_containers=init_containers,
    )
    if defaulted.resources is None:
        return defaulted
    return replace(defaulted, resources=default_pod_level(defaulted))


def default_object(obj: KubeObject) -> KubeObject:
    if isinstance(obj, Pod):
        return default_pod(obj)
    if isinstance(obj, DaemonSet):
        namespace = obj.namespace or DEFAULT_NAMESPACE
        template = default_pod(replace(obj.template, namespace=namespace))
        return replace(obj, namespace=namespace, template=template)
    if isinstance(obj, Namespace) and obj.labels.get(NAMESPACE_NAME_LABEL) != obj.name:
        # The API server always sets this label to the namespace's name.
        return replace(obj, labels=frozen_map({**obj.labels, NAMESPACE_NAME_LABEL: obj.name}))
    if (
        isinstance(
            obj, LimitRange | ResourceQuota | PodDisruptionBudget | Service | WorkloadSelector
        )
        and not obj.namespace
    ):
        return replace(obj, namespace=DEFAULT_NAMESPACE)
    return obj


PREEMPT_DEFAULT = "PreemptLowerPriority"


class PriorityError(PodfitError):
    pass


def resolve_priority(pod: Pod, classes: Mapping[str, PriorityClass], *, strict: bool = True) -> Pod:
    """What the Priority admission plugin does on pod creation.

    A pod that names no class gets the globalDefault class (the one with the lowest value
    if several claim it; its name is written into priorityClassName) or priority 0; a pod
    naming an unknown class is rejected. The class's value and preemptionPolicy are
    written into the pod; with ``strict``, a pod that already carries a different
    priority or preemptionPolicy is rejected, as upstream does. Without ``strict`` (pods
    read from a cluster dump, already admitted), a pod that carries a priority keeps it.
    """
    fields = priority_fields(pod, classes, strict=strict)
    return pod if fields is None else evolve(pod, **fields)


def priority_fields(
    pod: Pod, classes: Mapping[str, PriorityClass], *, strict: bool = True
) -> dict[str, Any] | None:
    """The fields :func:`resolve_priority` writes into the pod, or None when it keeps the
    pod as it is."""
    if pod.priority is not None and not strict:
        return None if pod.preemption_policy else {"preemption_policy": PREEMPT_DEFAULT}
    name = pod.priority_class_name
    if name:
        cls = classes.get(name) or _system_class(name)
        if cls is None:
            raise PriorityError(f"no PriorityClass with name {name} was found")
    else:
        cls = global_default(classes.values())
    value = cls.value if cls is not None else 0
    policy = cls.preemption_policy if cls is not None else PREEMPT_DEFAULT
    if pod.priority is not None and pod.priority != value:
        raise PriorityError(
            f"the integer value of priority ({pod.priority}) must not be provided in pod spec; "
            f"priority admission controller computed {value} from the given PriorityClass name"
        )
    if pod.preemption_policy and pod.preemption_policy != policy:
        raise PriorityError(
            f"the string value of PreemptionPolicy ({pod.preemption_policy}) must not be provided "
            f"in pod spec; priority admission controller computed {policy} from the given "
            "PriorityClass name"
        )
    return {
        "priority": value,
        "priority_class_name": cls.name if cls is not None else "",
        "preemption_policy": policy,
    }


def global_default(classes: Iterable[PriorityClass]) -> PriorityClass | None:
    """The default class; when several claim it (a race upstream allows), the lowest value."""
    defaults = [c for c in classes if c.global_default]
    return min(defaults, key=lambda c: c.value) if defaults else None


def _system_class(name: str) -> PriorityClass | None:
    for cls in SYSTEM_PRIORITY_CLASSES:
        if cls.name == name:
            return cls
    return None
