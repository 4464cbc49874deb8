"""The LimitRanger admission plugin for pods: container defaults, then min, max and ratio.

Upstream: ``plugin/pkg/admission/limitranger/admission.go`` (PodMutateLimitFunc,
PodValidateLimitFunc, the constraint functions and their messages) and
``pkg/apis/core/v1/defaults.go`` (SetDefaults_LimitRangeItem, applied when a LimitRange
is stored).

Stored LimitRanges are defaulted: in an item of type ``Container``, ``max`` fills missing
``default`` entries, ``default`` fills missing ``defaultRequest`` entries, then ``min``
fills the ones still missing. So ``max: {cpu: 2}`` alone makes every container that names
no cpu request and limit 2 cpu.

Mutation (per LimitRange, in order): every container and init container gets each
``default`` as its limit and each ``defaultRequest`` as its request for the resources it
does not name (an explicit ``0`` counts as named). Requests were already defaulted from
limits by the API before admission, so a container with only a limit keeps request =
limit and the LimitRange's ``defaultRequest`` is not used for that resource. The pod is
annotated ``kubernetes.io/limit-ranger`` with what was set.

Validation (per LimitRange, in order; the first LimitRange with errors rejects the pod
with all of its errors): ``Container`` items apply to each container and init container
on its own; ``Pod`` items apply to the pod's aggregate: app containers and sidecars add
up, and each init container counts together with the sidecars started before it, by
maximum (pod-level cpu and memory replace the aggregate; overhead is never included).
A ``max`` needs a limit and a ``min`` needs a request: a pod without one is rejected.

Comparisons are exact. Go walks the LimitRange's resource maps in random order; podfit
reports a container's errors by resource name, min before max before ratio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from fractions import Fraction

from podfit.model import (
    Container,
    LimitRange,
    LimitRangeItem,
    Pod,
    ResourceList,
    ResourceRequirements,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import Quantity

LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"
LIMIT_TYPE_CONTAINER = "Container"
LIMIT_TYPE_POD = "Pod"
LIMIT_TYPE_PVC = "PersistentVolumeClaim"
# Pod-level resources LimitRanger looks at (it keeps its own list: no hugepages).
LIMIT_RANGER_POD_LEVEL = ("cpu", "memory")

Quantities = dict[str, Quantity]


# --- resource lists with Go's Quantity arithmetic ------------------------------------------


def add_quantity(total: Quantity, more: Quantity) -> Quantity:
    """``total + more``; like Quantity.Add the format is the first operand's unless it is 0."""
    fmt = more.format if total.value == 0 else total.format
    return Quantity(total.value + more.value, fmt)


def add_into(target: Quantities, values: Mapping[str, Quantity]) -> None:
    for name, quantity in values.items():
        current = target.get(name)
        target[name] = quantity if current is None else add_quantity(current, quantity)


def max_into(target: Quantities, values: Mapping[str, Quantity]) -> None:
    """Keep the larger quantity per name (a name new to ``target`` is always taken)."""
    for name, quantity in values.items():
        current = target.get(name)
        if current is None or quantity.value > current.value:
            target[name] = quantity


def aggregate_containers(
    pod: Pod, per_container: Callable[[Container], ResourceList]
) -> Quantities:
    """App containers and sidecars add up; each init container runs next to the sidecars
    started before it; the pod needs the larger of the two phases, per resource."""
    total: Quantities = {}
    for container in pod.containers:
        add_into(total, per_container(container))
    sidecars: Quantities = {}
    init_peak: Quantities = {}
    for container in pod.init_containers:
        values = per_container(container)
        if container.is_sidecar:
            add_into(total, values)
            add_into(sidecars, values)
            max_into(init_peak, sidecars)
        else:
            running = dict(values)
            add_into(running, sidecars)
            max_into(init_peak, running)
    max_into(total, init_peak)
    return total


def _requests(c: Container) -> ResourceList:
    return c.resources.requests


def _limits(c: Container) -> ResourceList:
    return c.resources.limits


def pod_requests(pod: Pod) -> Quantities:
    """The pod's requests as LimitRanger's Pod items see them (spec only, no overhead)."""
    total = aggregate_containers(pod, _requests)
    if pod.resources is not None:
        for name, quantity in pod.resources.requests.items():
            if name in LIMIT_RANGER_POD_LEVEL:
                total[name] = quantity
    return total


def pod_limits(pod: Pod) -> Quantities:
    total = aggregate_containers(pod, _limits)
    if pod.resources is not None:
        for name, quantity in pod.resources.limits.items():
            if name in LIMIT_RANGER_POD_LEVEL:
                total[name] = quantity
    return total


# --- LimitRange defaulting (when the object is stored) -------------------------------------


def default_limit_range_item(item: LimitRangeItem) -> LimitRangeItem:
    """SetDefaults_LimitRangeItem: only items of type Container get defaults."""
    if item.type != LIMIT_TYPE_CONTAINER:
        return item
    default = dict(item.default)
    for name, quantity in item.max.items():
        default.setdefault(name, quantity)
    default_request = dict(item.default_request)
    for name, quantity in default.items():
        default_request.setdefault(name, quantity)
    for name, quantity in item.min.items():
        default_request.setdefault(name, quantity)
    return replace(
        item, default=frozen_resources(default), default_request=frozen_resources(default_request)
    )


def default_limit_range(limit_range: LimitRange) -> LimitRange:
    return replace(
        limit_range, limits=tuple(default_limit_range_item(i) for i in limit_range.limits)
    )


# --- mutation --------------------------------------------------------------------------------


def default_requirements(limit_range: LimitRange) -> tuple[Quantities, Quantities]:
    """(requests, limits) a container gets for what it does not name; a later Container
    item overrides an earlier one for the same resource."""
    requests: Quantities = {}
    limits: Quantities = {}
    for item in limit_range.limits:
        if item.type == LIMIT_TYPE_CONTAINER:
            requests.update(item.default_request)
            limits.update(item.default)
    return requests, limits


def _merge_container(
    container: Container,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
    kind: str,
    notes: list[str],
) -> Container:
    new_limits = dict(container.resources.limits)
    set_limits = sorted(name for name in limits if name not in new_limits)
    for name in set_limits:
        new_limits[name] = limits[name]
    new_requests = dict(container.resources.requests)
    set_requests = sorted(name for name in requests if name not in new_requests)
    for name in set_requests:
        new_requests[name] = requests[name]
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for {kind} {container.name}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for {kind} {container.name}")
    if not set_requests and not set_limits:
        return container
    return replace(
        container,
        resources=ResourceRequirements(
            requests=frozen_resources(new_requests), limits=frozen_resources(new_limits)
        ),
    )


def mutate_pod(limit_range: LimitRange, pod: Pod) -> Pod:
    """PodMutateLimitFunc for one (defaulted) LimitRange."""
    requests, limits = default_requirements(limit_range)
    if not requests and not limits:
        return pod
    notes: list[str] = []
    containers = tuple(
        _merge_container(c, requests, limits, "container", notes) for c in pod.containers
    )
    init_containers = tuple(
        _merge_container(c, requests, limits, "init container", notes) for c in pod.init_containers
    )
    if not notes:
        return pod
    annotations = {
        **pod.annotations,
        LIMIT_RANGER_ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes),
    }
    return replace(
        pod,
        containers=containers,
        init_containers=init_containers,
        annotations=frozen_map(annotations),
    )


def apply_defaults(limit_ranges: Iterable[LimitRange], pod: Pod) -> Pod:
    for limit_range in limit_ranges:
        pod = mutate_pod(limit_range, pod)
    return pod


# --- validation ------------------------------------------------------------------------------


def min_error(
    limit_type: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    request = requests.get(name)
    limit = limits.get(name)
    if request is None:
        return f"minimum {name} usage per {limit_type} is {enforced}.  No request is specified"
    if enforced.value > request.value:
        return f"minimum {name} usage per {limit_type} is {enforced}, but request is {request}"
    if limit is not None and enforced.value > limit.value:
        return f"minimum {name} usage per {limit_type} is {enforced}, but limit is {limit}"
    return None


def max_error(
    limit_type: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    request = requests.get(name)
    limit = limits.get(name)
    if limit is None:
        return f"maximum {name} usage per {limit_type} is {enforced}.  No limit is specified"
    if limit.value > enforced.value:
        return f"maximum {name} usage per {limit_type} is {enforced}, but limit is {limit}"
    if request is not None and request.value > enforced.value:
        return f"maximum {name} usage per {limit_type} is {enforced}, but request is {request}"
    return None


def ratio_text(limit: Fraction, request: Fraction) -> str:
    """limit / request with six decimals, rounded half to even (inf.Dec QuoRound)."""
    millionths = round(abs(limit) / abs(request) * 1_000_000)
    return f"{millionths // 1_000_000}.{millionths % 1_000_000:06d}"


def ratio_error(
    limit_type: str,
    name: str,
    enforced: Quantity,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> str | None:
    request = requests.get(name)
    limit = limits.get(name)
    head = f"{name} max limit to request ratio per {limit_type} is {enforced}"
    if request is None or request.value == 0:
        return f"{head}, but no request is specified or request is 0"
    if limit is None or limit.value == 0:
        return f"{head}, but no limit is specified or limit is 0"
    if abs(limit.value) > abs(request.value) * enforced.value:
        return f"{head}, but provided ratio is {ratio_text(limit.value, request.value)}"
    return None


def _check(
    item: LimitRangeItem,
    limit_type: str,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> list[str]:
    errors: list[str] = []
    checks = (
        (item.min, min_error),
        (item.max, max_error),
        (item.max_limit_request_ratio, ratio_error),
    )
    for enforced_values, check in checks:
        for name in sorted(enforced_values):
            error = check(limit_type, name, enforced_values[name], requests, limits)
            if error is not None:
                errors.append(error)
    return errors


def validate_pod(limit_range: LimitRange, pod: Pod) -> list[str]:
    """PodValidateLimitFunc for one LimitRange: every error, in upstream's walk order."""
    errors: list[str] = []
    for item in limit_range.limits:
        if item.type == LIMIT_TYPE_CONTAINER:
            for container in (*pod.containers, *pod.init_containers):
                errors += _check(
                    item,
                    LIMIT_TYPE_CONTAINER,
                    container.resources.requests,
                    container.resources.limits,
                )
        elif item.type == LIMIT_TYPE_POD:
            errors += _check(item, LIMIT_TYPE_POD, pod_requests(pod), pod_limits(pod))
    return errors


def aggregate_message(errors: Iterable[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): duplicates dropped, brackets only for several."""
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def validate(limit_ranges: Iterable[LimitRange], pod: Pod) -> str | None:
    """The error of the first LimitRange the pod violates (its errors aggregated), or None."""
    for limit_range in limit_ranges:
        errors = validate_pod(limit_range, pod)
        if errors:
            return aggregate_message(errors)
    return None


def namespace_limit_ranges(limit_ranges: Iterable[LimitRange], namespace: str) -> list[LimitRange]:
    """The namespace's LimitRanges as stored (defaulted), in name order.

    Upstream walks its informer cache, whose order is unspecified; name order is the
    order a LIST returns.
    """
    chosen = [lr for lr in limit_ranges if lr.namespace == namespace]
    return [default_limit_range(lr) for lr in sorted(chosen, key=lambda lr: lr.name)]
