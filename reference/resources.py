"""A pod's effective resource request, as kube-scheduler and quota compute it.

Upstream: ``k8s.io/component-helpers/resource/helpers.go`` (PodRequests, PodLimits),
``pkg/scheduler/framework/types.go`` (what NodeInfo charges a pod, with the scorers'
defaults) and ``pkg/scheduler/util/pod_resources.go`` (those defaults).

App containers run together, so their requests add up. Init containers run one at a
time before them, each next to the sidecars (init containers with
``restartPolicy: Always``) started before it; sidecars keep running, so they also add
to the app containers' total. The pod needs the larger of the two phases. Pod-level
``spec.resources`` (cpu, memory and hugepages-*) replace the containers' aggregate for
the resources they name, and the overhead (RuntimeClass) is added on top.

Amounts stay exact (``Fraction`` in base units) until :func:`to_scheduler_units`
rounds the pod's aggregate up, cpu to millicores and everything else to whole units,
as ``Quantity.MilliValue()`` / ``Quantity.Value()`` do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction

from podfit.model import Container, Pod, ResourceList, frozen_resources
from podfit.quantity import Quantity, to_milli, to_units
from podfit.validation import qualified_name_problems

Amounts = dict[str, Fraction]

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
HUGEPAGES_PREFIX = "hugepages-"
ATTACHABLE_VOLUMES_PREFIX = "attachable-volumes-"
# The namespace of resources Kubernetes itself defines ("kubernetes.io/...").
NATIVE_RESOURCE_NAMESPACE = "kubernetes.io/"
QUOTA_REQUESTS_PREFIX = "requests."
# Resources that pod-level spec.resources may set (besides every hugepages-* size).
POD_LEVEL_RESOURCES = (CPU, MEMORY)

# Defaults the scorers assume for containers that do not mention cpu or memory at all
# (an explicit "0" stays 0): 0.1 core and 200 MiB.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
NONZERO_DEFAULTS: Mapping[str, Fraction] = {
    CPU: Fraction(DEFAULT_MILLI_CPU_REQUEST, 1000),
    MEMORY: Fraction(DEFAULT_MEMORY_REQUEST),
}


# --- resource name classes (pkg/apis/core/v1/helper) ------------------------------------------


def is_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX)


def is_prefixed_native_resource(name: str) -> bool:
    return NATIVE_RESOURCE_NAMESPACE in name


def is_native_resource(name: str) -> bool:
    """cpu, memory, hugepages-2Mi, kubernetes.io/...: names without a foreign domain."""
    return "/" not in name or is_prefixed_native_resource(name)


@functools.lru_cache(maxsize=4096)
def is_extended_resource(name: str) -> bool:
    """A domain-qualified resource that is not Kubernetes' own (nvidia.com/gpu)."""
    if is_native_resource(name) or name.startswith(QUOTA_REQUESTS_PREFIX):
        return False
    # Quota tracks it as "requests.<name>", which must still be a qualified name.
    return not qualified_name_problems(QUOTA_REQUESTS_PREFIX + name)


@functools.lru_cache(maxsize=4096)
def is_scalar_resource(name: str) -> bool:
    """Resources the scheduler counts as plain integers besides cpu, memory and storage."""
    return (
        is_extended_resource(name)
        or is_hugepages(name)
        or is_prefixed_native_resource(name)
        or name.startswith(ATTACHABLE_VOLUMES_PREFIX)
    )


def is_pod_level_resource(name: str) -> bool:
    return name in POD_LEVEL_RESOURCES or is_hugepages(name)


# --- aggregation ------------------------------------------------------------------------------


def _add(into: Amounts, values: Mapping[str, Fraction]) -> None:
    for name, value in values.items():
        # Fractions are immutable: a first value is stored as is (0 + value is value).
        into[name] = into[name] + value if name in into else value


def _max(into: Amounts, values: Mapping[str, Fraction]) -> None:
    # A name is recorded even when its value is 0 (maxResourceList keeps the key).
    for name, value in values.items():
        if name not in into or value > into[name]:
            into[name] = value


def _values(rl: ResourceList) -> Amounts:
    return {name: q.value for name, q in rl.items()}


ContainerAmounts = Callable[[Container], Amounts]


def container_requests(c: Container) -> Amounts:
    return _values(c.resources.requests)


def _effective(
    spec: ResourceList, actuated: ResourceList, allocated: ResourceList | None, infeasible: bool
) -> Amounts:
    """What a resized pod holds (determineEffectiveRequests): the largest of its spec, what
    the kubelet actuated and what it allocated; when the resize is Infeasible the spec is
    not coming, so only the actuated and allocated amounts count."""
    out: Amounts = {} if infeasible else _values(spec)
    _max(out, _values(actuated))
    _max(out, _values(allocated or {}))
    return out


def bound_container_requests(pod: Pod) -> ContainerAmounts:
    """Per container, the requests a pod on a node holds: with in-place resize (every
    release podfit models), a regular or sidecar container whose status reports resources
    holds the largest of spec, actuated and allocated; other init containers their spec."""

    def requests(c: Container) -> Amounts:
        if c.status_requests is None or (c in pod.init_containers and not c.is_sidecar):
            return container_requests(c)
        return _effective(
            c.resources.requests, c.status_requests, c.allocated, pod.resize_infeasible
        )

    return requests


def container_limits(c: Container) -> Amounts:
    return _values(c.resources.limits)


def with_defaults(amounts: Mapping[str, Fraction], defaults: Mapping[str, Fraction]) -> Amounts:
    """``amounts`` plus every default whose name it does not mention (applyNonMissing)."""
    out = dict(amounts)
    for name, value in defaults.items():
        if name not in amounts:
            out[name] = value
    return out


def nonzero_container_requests(c: Container) -> Amounts:
    """Requests with the scorers' defaults for missing (not zero) cpu and memory."""
    return with_defaults(container_requests(c), NONZERO_DEFAULTS)


def aggregate_containers(pod: Pod, per_container: ContainerAmounts) -> Amounts:
    """Combine per-container amounts the way the pod's lifecycle needs them."""
    total: Amounts = {}
    for c in pod.containers:
        _add(total, per_container(c))
    sidecars: Amounts = {}
    init_peak: Amounts = {}
    for c in pod.init_containers:
        amounts = per_container(c)
        if c.is_sidecar:
            _add(total, amounts)
            _add(sidecars, amounts)
            # A sidecar's start also needs room next to the sidecars before it.
            _max(init_peak, sidecars)
        else:
            running = dict(sidecars)
            _add(running, amounts)
            _max(init_peak, running)
    _max(total, init_peak)
    return total


def apply_pod_level(total: Amounts, pod_level: ResourceList | None) -> None:
    """Pod-level values replace the aggregate for the resources pod-level may set."""
    if not pod_level:
        return
    for name, q in pod_level.items():
        if is_pod_level_resource(name):
            total[name] = q.value


def aggregate(
    pod: Pod,
    per_container: ContainerAmounts,
    *,
    pod_level: ResourceList | None = None,
    include_overhead: bool = True,
) -> Amounts:
    """Containers' aggregate, pod-level values, then the overhead (PodRequests' order)."""
    total = aggregate_containers(pod, per_container)
    apply_pod_level(total, pod_level)
    if include_overhead:
        _add(total, _values(pod.overhead))
    return total


def _pod_level_requests(pod: Pod) -> ResourceList | None:
    return pod.resources.requests if pod.resources else None


def bound_pod_level_requests(pod: Pod) -> ResourceList | None:
    """Pod-level requests a pod on a node holds: with status.resources reported (pod-level
    in-place resize, v1.36; earlier releases ignore those fields, see podfit.apiserver) the
    largest of spec, actuated and allocated, for the resources the spec names."""
    requests = _pod_level_requests(pod)
    if not requests or pod.status_requests is None:
        return requests
    effective = _effective(requests, pod.status_requests, pod.allocated, pod.resize_infeasible)
    return frozen_resources({name: Quantity(effective.get(name, Fraction(0))) for name in requests})


def bound_pod_requests(pod: Pod) -> Amounts:
    """:func:`pod_requests` for a pod on a node, resizes in progress included."""
    if not _resized(pod):
        return pod_requests(pod)
    return aggregate(pod, bound_container_requests(pod), pod_level=bound_pod_level_requests(pod))


def bound_pod_nonzero_requests(pod: Pod) -> Amounts:
    """:func:`pod_nonzero_requests` for a pod on a node, resizes in progress included."""
    if not _resized(pod):
        return pod_nonzero_requests(pod)
    per_container = bound_container_requests(pod)
    pod_level = bound_pod_level_requests(pod)
    if not pod_level_requests_set(pod):
        return aggregate(
            pod, lambda c: with_defaults(per_container(c), NONZERO_DEFAULTS), pod_level=pod_level
        )
    requests = aggregate(pod, per_container, pod_level=pod_level)
    missing = {n: v for n, v in NONZERO_DEFAULTS.items() if n not in requests}
    if not missing:
        return requests
    return aggregate(pod, lambda c: with_defaults(per_container(c), missing), pod_level=pod_level)


def resized_in_place(pod: Pod) -> bool:
    """Whether the pod's status reports resources of its own (an in-place resize)."""
    return _resized(pod)


def _resized(pod: Pod) -> bool:
    return pod.status_requests is not None or any(
        c.status_requests is not None for c in pod.all_containers()
    )


def pod_level_requests_set(pod: Pod) -> bool:
    """Whether spec.resources.requests names a resource pod-level resources support."""
    requests = _pod_level_requests(pod)
    return bool(requests) and any(is_pod_level_resource(n) for n in requests or {})


def pod_requests(pod: Pod) -> Amounts:
    """What the pod asks for (exact values in base units), overhead included."""
    return aggregate(pod, container_requests, pod_level=_pod_level_requests(pod))


def pod_limits(pod: Pod) -> Amounts:
    """The pod's limits; the overhead is added only to limits that are set and non-zero."""
    pod_level = pod.resources.limits if pod.resources else None
    limits = aggregate(pod, container_limits, pod_level=pod_level, include_overhead=False)
    for name, q in pod.overhead.items():
        if limits.get(name, Fraction(0)) != 0:
            limits[name] += q.value
    return limits


def _requests_with(pod: Pod, defaults: Mapping[str, Fraction]) -> Amounts:
    return aggregate(
        pod,
        lambda c: with_defaults(container_requests(c), defaults),
        pod_level=_pod_level_requests(pod),
    )


def pod_nonzero_requests(pod: Pod) -> Amounts:
    """Requests as NodeInfo charges a pod on a node for scoring (NonZeroRequested).

    Every container (init containers and sidecars too) that does not mention cpu or
    memory counts the default for it. With pod-level requests set, a default applies
    only to a resource that neither the pod level nor any container mentions.
    """
    if not pod_level_requests_set(pod):
        return _requests_with(pod, NONZERO_DEFAULTS)
    requests = pod_requests(pod)
    missing = {n: v for n, v in NONZERO_DEFAULTS.items() if n not in requests}
    return _requests_with(pod, missing) if missing else requests


def pod_scoring_requests(pod: Pod) -> Amounts:
    """The incoming pod's requests as NodeResourcesFit's scoring strategies see them.

    Upstream builds the Fit scorer without the pod-level-resources option, so it reads
    the containers alone, with the defaults for every container that does not mention
    cpu or memory, and ignores ``spec.resources`` (v1.34 to v1.36 alike; the filter and
    BalancedAllocation do use the pod-level request).
    """
    return aggregate(pod, lambda c: with_defaults(container_requests(c), NONZERO_DEFAULTS))


# --- scheduler units --------------------------------------------------------------------------


def scheduler_units(name: str, value: Fraction) -> int:
    """cpu in millicores, everything else in whole units; both round up."""
    return to_milli(value) if name == CPU else to_units(value)


def to_scheduler_units(amounts: Mapping[str, Fraction]) -> dict[str, int]:
    return {name: scheduler_units(name, value) for name, value in amounts.items()}


def sum_units(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        for name, value in part.items():
            out[name] = out.get(name, 0) + value
    return out
