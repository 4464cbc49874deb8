"""The ResourceQuota admission check for pods, with the pod evaluator's usage and scopes.

Upstream: ``pkg/quota/v1/evaluator/core/pods.go`` (what a pod uses, which quota names it
affects, scopes, the "must specify" constraint),
``staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go``
(CheckRequest and its messages) and ``staging/src/k8s.io/apiserver/pkg/quota/v1``
(resource list arithmetic, CalculateUsage).

What a pod uses: ``count/pods`` 1 always; unless it has finished (phase Succeeded or
Failed) also ``pods`` 1 and, from its effective requests and limits (app containers and
sidecars add up, init containers by maximum, pod-level values replace, overhead added),
``requests.cpu`` (also counted as ``cpu``), ``limits.cpu``, the same for ``memory`` and
``ephemeral-storage``, ``hugepages-<size>`` and ``requests.hugepages-<size>`` for
hugepage requests, and ``requests.<name>`` for extended resources (there is no
``limits.<extended>`` and a bare ``nvidia.com/gpu`` in a quota tracks nothing).

A quota applies to a pod when it names something the pod evaluator tracks and all its
scopes match. For each applying quota (in name order): if the quota names cpu or memory
(``cpu``, ``memory``, ``requests.*``, ``limits.*`` of them), every container and init
container must set that value itself (not for any other resource, and not when the pod
sets pod-level resources), else ``failed quota: <name>: must specify ...``. Then the pod's
non-zero usage is added to the quota's usage and every resource the quota names must stay
within ``hard``, else ``exceeded quota: <name>, requested: ..., used: ..., limited: ...``
(keys sorted, the usage before this pod).

Admission reads ``status.hard`` and ``status.used``, what the quota controller last wrote,
as upstream's admission plugin does; a quota whose status names a tracked resource without
its usage rejects the pod ("status unknown for quota"). The usage is also recounted from the
pods given (the namespace's pods that match the quota's scopes, as the controller counts),
and a difference is reported: a dump taken while pods came and went, or a partial one.
A quota without any status has not been synced by the controller (or was written by hand):
upstream's admission ignores it until then (it matches on ``status.hard``), so podfit judges
it as it will be once synced, on ``spec.hard`` and the recount. Finished pods only count
for ``count/pods``. podfit's model does not keep ``deletionGracePeriodSeconds``, so a
pod being deleted is always charged (upstream stops charging it once its grace period
has passed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from podfit.errors import PodfitError
from podfit.model import (
    Pod,
    PodAffinity,
    Requirement,
    ResourceQuota,
    ScopedResourceSelectorRequirement,
)
from podfit.quantity import Quantity, quantity_from_yaml
from podfit.reference.labels import (
    LABEL_SELECTOR_OPERATORS,
    requirement_matches,
    requirement_problems,
)
from podfit.reference.limitranger import Quantities, add_into, add_quantity, aggregate_containers
from podfit.reference.qos import BEST_EFFORT, qos_class, uses_pod_level_resources
from podfit.reference.resources import (
    is_extended_resource,
    is_native_resource,
    is_pod_level_resource,
)

POD_OBJECT_COUNT = "count/pods"
REQUESTS_PREFIX = "requests."
LIMITS_PREFIX = "limits."
HUGEPAGES_PREFIX = "hugepages-"
# DRA's implicit extended resources ("deviceclass.resource.kubernetes.io/<class>").
DEVICE_CLASS_PREFIX = "deviceclass.resource.kubernetes.io/"

# Quota names the pod evaluator tracks besides hugepages and extended resources.
POD_RESOURCES = (
    POD_OBJECT_COUNT,
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
)
# Tracking one of these forces every container to set it (a historical mistake upstream
# keeps for compatibility and does not extend to other resources).
MUST_SPECIFY = frozenset(
    {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
)
# Resources whose request and limit both count ("<name>", "requests.<name>", "limits.<name>").
COMPUTE_RESOURCES = ("cpu", "memory", "ephemeral-storage")

SCOPE_TERMINATING = "Terminating"
SCOPE_NOT_TERMINATING = "NotTerminating"
SCOPE_BEST_EFFORT = "BestEffort"
SCOPE_NOT_BEST_EFFORT = "NotBestEffort"
SCOPE_PRIORITY_CLASS = "PriorityClass"
SCOPE_CROSS_NAMESPACE_POD_AFFINITY = "CrossNamespacePodAffinity"

ONE = quantity_from_yaml("1")
ZERO = quantity_from_yaml("0")


class QuotaError(PodfitError):
    """A ResourceQuota the API server would not have stored (an invalid scope selector)."""


# --- which quota names a pod affects -----------------------------------------------------------


def is_extended_name_for_quota(name: str) -> bool:
    """``requests.<extended>``: the only way a quota tracks an extended resource."""
    if not name.startswith(REQUESTS_PREFIX):
        return False
    return not is_native_resource(name) or name.startswith(REQUESTS_PREFIX + DEVICE_CLASS_PREFIX)


def is_tracked(name: str) -> bool:
    return (
        name in POD_RESOURCES
        or name.startswith(HUGEPAGES_PREFIX)
        or name.startswith(REQUESTS_PREFIX + HUGEPAGES_PREFIX)
        or is_extended_name_for_quota(name)
    )


def matching_resources(names: Iterable[str]) -> list[str]:
    """The quota names (of ``names``) the pod evaluator tracks."""
    return [name for name in dict.fromkeys(names) if is_tracked(name)]


# --- what a pod uses ----------------------------------------------------------------------------


def is_quota_eligible(pod: Pod) -> bool:
    """Finished pods are not charged for compute resources (count/pods still counts them)."""
    return not pod.is_terminal


def usage_of(requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> Quantities:
    """podComputeUsageHelper: the quota names a set of requests and limits produces."""
    usage: Quantities = {"pods": ONE}
    for name in COMPUTE_RESOURCES:
        request = requests.get(name)
        if request is not None:
            usage[name] = request
            usage[REQUESTS_PREFIX + name] = request
        limit = limits.get(name)
        if limit is not None:
            usage[LIMITS_PREFIX + name] = limit
    for name, request in requests.items():
        if name.startswith(HUGEPAGES_PREFIX):
            usage[name] = request
            usage[REQUESTS_PREFIX + name] = request
        if is_extended_resource(name) or name.startswith(DEVICE_CLASS_PREFIX):
            usage[REQUESTS_PREFIX + name] = request
    return usage


def quota_pod_requests(pod: Pod) -> Quantities:
    """PodRequests: containers' aggregate, pod-level requests replace it, overhead added."""
    total = aggregate_containers(pod, lambda c: c.resources.requests)
    if pod.resources is not None:
        for name, quantity in pod.resources.requests.items():
            if is_pod_level_resource(name):
                total[name] = quantity
    add_into(total, pod.overhead)
    return total


def quota_pod_limits(pod: Pod) -> Quantities:
    """PodLimits: the overhead is added only to limits that are set and non-zero."""
    total = aggregate_containers(pod, lambda c: c.resources.limits)
    if pod.resources is not None:
        for name, quantity in pod.resources.limits.items():
            if is_pod_level_resource(name):
                total[name] = quantity
    for name, quantity in pod.overhead.items():
        current = total.get(name)
        if current is not None and current.value != 0:
            total[name] = add_quantity(current, quantity)
    return total


def pod_usage(pod: Pod) -> Quantities:
    """PodUsageFunc: every quota name the pod is charged for, zero values included."""
    usage: Quantities = {POD_OBJECT_COUNT: ONE}
    if not is_quota_eligible(pod):
        return usage
    usage.update(usage_of(quota_pod_requests(pod), quota_pod_limits(pod)))
    return usage


# --- scopes ------------------------------------------------------------------------------------


def quota_selectors(quota: ResourceQuota) -> list[ScopedResourceSelectorRequirement]:
    """``spec.scopes`` (each as operator Exists) followed by ``spec.scopeSelector``."""
    return [
        *(ScopedResourceSelectorRequirement(scope, "Exists") for scope in quota.scopes),
        *quota.scope_selector,
    ]


def is_terminating(pod: Pod) -> bool:
    return pod.active_deadline_seconds is not None and pod.active_deadline_seconds >= 0


def _cross_namespace(affinity: PodAffinity | None) -> bool:
    if affinity is None:
        return False
    terms = [*affinity.required, *(w.term for w in affinity.preferred)]
    return any(t.namespaces or t.namespace_selector is not None for t in terms)


def uses_cross_namespace_pod_affinity(pod: Pod) -> bool:
    if pod.affinity is None:
        return False
    return _cross_namespace(pod.affinity.pod_affinity) or _cross_namespace(
        pod.affinity.pod_anti_affinity
    )


def scope_matches(selector: ScopedResourceSelectorRequirement, pod: Pod) -> bool:
    """podMatchesScopeFunc. Only PriorityClass reads the operator and values."""
    scope = selector.scope_name
    if scope == SCOPE_TERMINATING:
        return is_terminating(pod)
    if scope == SCOPE_NOT_TERMINATING:
        return not is_terminating(pod)
    if scope == SCOPE_BEST_EFFORT:
        return qos_class(pod) == BEST_EFFORT
    if scope == SCOPE_NOT_BEST_EFFORT:
        return qos_class(pod) != BEST_EFFORT
    if scope == SCOPE_PRIORITY_CLASS:
        if selector.operator == "Exists":
            return bool(pod.priority_class_name)
        requirement = Requirement(SCOPE_PRIORITY_CLASS, selector.operator, selector.values)
        problems = requirement_problems(requirement, LABEL_SELECTOR_OPERATORS)
        if problems:
            raise QuotaError(f"invalid PriorityClass scope selector: {'; '.join(problems)}")
        labels = {SCOPE_PRIORITY_CLASS: pod.priority_class_name} if pod.priority_class_name else {}
        return requirement_matches(requirement, labels)
    if scope == SCOPE_CROSS_NAMESPACE_POD_AFFINITY:
        return uses_cross_namespace_pod_affinity(pod)
    return False


def scopes_match(quota: ResourceQuota, pod: Pod) -> bool:
    try:
        return all(scope_matches(s, pod) for s in quota_selectors(quota))
    except QuotaError as exc:
        raise QuotaError(f"ResourceQuota {quota.namespace}/{quota.name}: {exc}") from None


def quota_matches(quota: ResourceQuota, pod: Pod) -> bool:
    """The quota tracks something pods use and every one of its scopes matches the pod."""
    return bool(matching_resources(quota.hard)) and scopes_match(quota, pod)


# --- the "must specify" constraint --------------------------------------------------------------


def constraints_error(tracked: Iterable[str], pod: Pod) -> str | None:
    """Which containers fail to set a cpu/memory value the quota tracks, or None."""
    if uses_pod_level_resources(pod):
        return None
    required = MUST_SPECIFY.intersection(tracked)
    missing: dict[str, set[str]] = {}
    for container in (*pod.containers, *pod.init_containers):
        produced = usage_of(container.resources.requests, container.resources.limits)
        for name in required.difference(produced):
            missing.setdefault(name, set()).add(container.name)
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


# --- usage and the admission check --------------------------------------------------------------


def quota_used(quota: ResourceQuota, pods: Iterable[Pod]) -> Quantities:
    """The usage the quota controller computes: every tracked hard name, from 0, plus the
    usage of each pod in the namespace that the quota's scopes match."""
    tracked = matching_resources(quota.hard)
    used: Quantities = dict.fromkeys(tracked, ZERO)
    for pod in pods:
        if pod.namespace != quota.namespace or not scopes_match(quota, pod):
            continue
        usage = pod_usage(pod)
        for name in tracked:
            if name in usage:
                used[name] = add_quantity(used[name], usage[name])
    return used


def pretty(values: Mapping[str, Quantity], names: Iterable[str]) -> str:
    """``a=1,b=2Gi``: the named entries that ``values`` has, sorted by name."""
    return ",".join(f"{n}={values[n]}" for n in sorted(names) if n in values)


def namespace_quotas(quotas: Iterable[ResourceQuota], namespace: str) -> list[ResourceQuota]:
    """The namespace's quotas in name order (upstream's informer order is unspecified)."""
    return sorted((q for q in quotas if q.namespace == namespace), key=lambda q: q.name)


def usage_before(
    quotas: Iterable[ResourceQuota], existing: Iterable[Pod], pod: Pod
) -> dict[str, Quantities]:
    """Each quota's usage before ``pod`` is created, recounted from the pods (a pod already
    stored under the same namespace/name is not counted: creating the pod replaces it)."""
    others = [p for p in existing if p.key != pod.key]
    return {q.name: quota_used(q, others) for q in namespace_quotas(quotas, pod.namespace)}


@dataclass(frozen=True)
class QuotaView:
    """A quota as admission sees it: ``hard`` and ``used`` are what it compares with and
    adds to. With a status (a quota read from a cluster) they are ``status.hard`` and
    ``status.used``, as upstream's admission plugin reads them, and ``recount`` is the
    usage the pods given add up to; ``mismatch`` says where the two disagree. Without a
    status (the quota controller has not synced it, or the manifest was written by hand)
    they are ``spec.hard`` and the recount: what the controller will write."""

    quota: ResourceQuota
    hard: Quantities
    used: Quantities
    recount: Quantities
    from_status: bool
    mismatch: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.quota.name


def _mismatch(used: Mapping[str, Quantity], recount: Mapping[str, Quantity]) -> tuple[str, ...]:
    out = []
    for name in sorted(set(used) & set(recount)):
        if used[name].value != recount[name].value:
            out.append(
                f"status.used says {name}={used[name]}, the pods given add up to "
                f"{name}={recount[name]}"
            )
    return tuple(out)


def quota_view(quota: ResourceQuota, others: Iterable[Pod]) -> QuotaView:
    recount = quota_used(quota, others)
    if not quota.has_status:
        return QuotaView(quota, dict(quota.hard), dict(recount), recount, from_status=False)
    used = dict(quota.used)
    return QuotaView(
        quota,
        dict(quota.status_hard),
        used,
        recount,
        from_status=True,
        mismatch=_mismatch(used, recount),
    )


@dataclass(frozen=True)
class QuotaDecision:
    """The quota check's verdict; ``reason`` is upstream's message before wrapping.
    ``usage_after`` is the usage with the pod, also for a rejection (what it would have
    made)."""

    admitted: bool
    reason: str = ""
    usage_before: dict[str, Quantities] = field(default_factory=dict)
    usage_after: dict[str, Quantities] = field(default_factory=dict)
    views: tuple[QuotaView, ...] = ()


def _has_usage_stats(view: QuotaView, restricted: Iterable[str]) -> bool:
    """hasUsageStats: every tracked name of status.hard has a status.used value."""
    wanted = set(restricted)
    return all(name in view.used for name in view.hard if name in wanted)


def check_pod(quotas: Iterable[ResourceQuota], existing: Iterable[Pod], pod: Pod) -> QuotaDecision:
    """CheckRequest for creating ``pod`` in its namespace (``existing``: the namespace's
    pods; one with the same namespace/name is not counted twice). A quota with a status is
    judged on ``status.hard`` and ``status.used`` as upstream does (a quota whose status
    lacks a tracked name's usage rejects the pod: "status unknown for quota"); a quota
    without one on ``spec.hard`` and the usage recounted from the pods."""
    ordered = namespace_quotas(quotas, pod.namespace)
    others = [p for p in existing if p.key != pod.key]
    views = tuple(quota_view(q, others) for q in ordered)
    before = {v.name: v.used for v in views}

    def reject(reason: str, after: dict[str, Quantities] | None = None) -> QuotaDecision:
        return QuotaDecision(False, reason, before, after or dict(before), views)

    interesting: list[QuotaView] = []
    for view in views:
        restricted = matching_resources(view.hard)
        if not restricted or not scopes_match(view.quota, pod):
            continue
        error = constraints_error(restricted, pod)
        if error is not None:
            return reject(f"failed quota: {view.name}: {error}")
        if not _has_usage_stats(view, restricted):
            names = ",".join(sorted(restricted))
            return reject(f"status unknown for quota: {view.name}, resources: {names}")
        interesting.append(view)
    delta = {name: q for name, q in pod_usage(pod).items() if q.value != 0}
    after = dict(before)
    if not delta or not interesting:
        return QuotaDecision(True, "", before, after, views)
    failure = ""
    for view in interesting:
        used = view.used
        requested = {name: q for name, q in delta.items() if name in view.hard}
        new_used = dict(used)
        add_into(new_used, requested)
        after[view.name] = new_used
        exceeded = [n for n in requested if new_used[n].value > view.hard[n].value]
        if exceeded and not failure:
            failure = (
                f"exceeded quota: {view.name}, requested: {pretty(requested, exceeded)}, "
                f"used: {pretty(used, exceeded)}, limited: {pretty(view.hard, exceeded)}"
            )
    if failure:
        return reject(failure, after)
    return QuotaDecision(True, "", before, after, views)
