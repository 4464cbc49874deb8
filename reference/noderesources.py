"""NodeResourcesFit: does the node have room for the pod's requests, and how full is it?

Upstream: ``pkg/scheduler/framework/plugins/noderesources/fit.go`` (PreFilter, Filter,
Score), ``resource_allocation.go`` (what the scorers compare), ``least_allocated.go``,
``most_allocated.go``, ``requested_to_capacity_ratio.go``, ``plugins/helper/shape_score.go``,
and the args' defaults and validation in ``pkg/scheduler/apis/config/v1/defaults.go`` and
``pkg/scheduler/apis/config/validation/validation_pluginargs.go``.

Filter compares requests, never usage or limits: a node fits when, for every resource
the pod requests (> 0), the pod's request is at most the node's allocatable minus what
the pods already on it request. The number of pods is checked for every pod, even one
that requests nothing. Every shortfall is reported; when one request exceeds the node's
whole allocatable the node is UnschedulableAndUnresolvable (preemption cannot help).

Scoring uses the incoming pod's requests with defaults (0.1 cpu, 200Mi) for containers
that do not mention cpu or memory, and the node's NonZeroRequested for cpu and memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from podfit.spec.versions import change_holds
from podfit.validation import qualified_name_problems
from podfit.versions import LATEST, KubeVersion

from .columns import (
    ALLOCATABLE,
    NONZERO_REQUESTED,
    REQUESTED,
    SAFE_LIMIT,
    Bools,
    Columns,
    Ints,
    Verdicts,
)
from .detail import Detail, resource_shortfall
from .framework import MAX_NODE_SCORE, CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .profile import ConfigError
from .resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    is_extended_resource,
    is_scalar_resource,
    pod_scoring_requests,
    to_scheduler_units,
)
from .status import Code, Status

NAME = "NodeResourcesFit"

ERR_REASON_TOO_MANY_PODS = "Too many pods"
ERR_REASON_INSUFFICIENT_CPU = "Insufficient cpu"
ERR_REASON_INSUFFICIENT_MEMORY = "Insufficient memory"
ERR_REASON_INSUFFICIENT_EPHEMERAL_STORAGE = "Insufficient ephemeral-storage"


def insufficient_reason(resource: str) -> str:
    """The reason for any resource: ``Insufficient nvidia.com/gpu``."""
    return f"Insufficient {resource}"


LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
REQUESTED_TO_CAPACITY_RATIO = "RequestedToCapacityRatio"
SCORING_STRATEGIES = (LEAST_ALLOCATED, MOST_ALLOCATED, REQUESTED_TO_CAPACITY_RATIO)

# Shape scores are 0..10 in the config and scaled to the node score range.
MAX_CUSTOM_PRIORITY_SCORE = 10
MAX_UTILIZATION = 100
MAX_RESOURCE_WEIGHT = 100
# Plugin args may carry their own apiVersion and kind (NodeResourcesFitArgs).
TYPE_META = ("apiVersion", "kind")


# --- args -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    name: str
    weight: int


@dataclass(frozen=True, slots=True)
class ShapePoint:
    utilization: int
    score: int


@dataclass(frozen=True, slots=True)
class ScoringStrategy:
    type: str
    resources: tuple[ResourceSpec, ...]
    shape: tuple[ShapePoint, ...] = ()


DEFAULT_RESOURCES = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))
DEFAULT_STRATEGY = ScoringStrategy(LEAST_ALLOCATED, DEFAULT_RESOURCES)


@dataclass(frozen=True, slots=True)
class FitArgs:
    ignored_resources: frozenset[str] = frozenset()
    ignored_resource_groups: frozenset[str] = frozenset()
    strategy: ScoringStrategy = DEFAULT_STRATEGY


def _fail(plugin: str, path: str, message: str) -> ConfigError:
    return ConfigError(f"{plugin} args: {path}: {message}")


def _mapping(plugin: str, value: Any, path: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(plugin, path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            # kube-scheduler decodes its configuration strictly.
            raise _fail(plugin, f"{path}.{key}" if path else str(key), "unknown field")
    return value


def _list(plugin: str, value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(plugin, path, f"expected a list, got {type(value).__name__}")
    return value


def _int(plugin: str, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(plugin, path, f"expected an integer, got {value!r}")
    return value


def _str(plugin: str, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(plugin, path, f"expected a string, got {value!r}")
    return value


def parse_resource_specs(plugin: str, raw: Any, path: str) -> tuple[ResourceSpec, ...]:
    """``[{name, weight}]``; a missing or 0 weight is 1 (API defaulting)."""
    specs = []
    for i, item in enumerate(_list(plugin, raw, path)):
        here = f"{path}[{i}]"
        entry = _mapping(plugin, item, here, ("name", "weight"))
        name = _str(plugin, entry.get("name"), f"{here}.name")
        weight = _int(plugin, entry.get("weight", 0), f"{here}.weight") or 1
        specs.append(ResourceSpec(name, weight))
    return tuple(specs)


def parse_shape(raw: Any, path: str) -> tuple[ShapePoint, ...]:
    points = []
    for i, item in enumerate(_list(NAME, raw, path)):
        here = f"{path}[{i}]"
        entry = _mapping(NAME, item, here, ("utilization", "score"))
        utilization = _int(NAME, entry.get("utilization", 0), f"{here}.utilization")
        score = _int(NAME, entry.get("score", 0), f"{here}.score")
        points.append(ShapePoint(utilization, score))
    return tuple(points)


def validate_shape(shape: Sequence[ShapePoint], path: str) -> None:
    if not shape:
        raise _fail(NAME, path, "at least one point must be specified")
    for i in range(1, len(shape)):
        if shape[i - 1].utilization >= shape[i].utilization:
            raise _fail(
                NAME,
                f"{path}[{i}].utilization",
                f"{shape[i].utilization}: values must be sorted in increasing order",
            )
    for i, point in enumerate(shape):
        if not 0 <= point.utilization <= MAX_UTILIZATION:
            raise _fail(
                NAME,
                f"{path}[{i}].utilization",
                f"{point.utilization}: not in valid range [0, {MAX_UTILIZATION}]",
            )
        if not 0 <= point.score <= MAX_CUSTOM_PRIORITY_SCORE:
            raise _fail(
                NAME,
                f"{path}[{i}].score",
                f"{point.score}: not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]",
            )


#: The spec's version change: requestedToCapacityRatio is validated against the type.
STRICT_RATIO_VALIDATION = "fit-args-ratio-validated-against-type"


def parse_fit_args(raw: Mapping[str, Any] | None, version: KubeVersion = LATEST) -> FitArgs:
    """NodeResourcesFitArgs after API defaulting, validated as kube-scheduler of
    ``version`` does."""
    known = ("ignoredResources", "ignoredResourceGroups", "scoringStrategy", *TYPE_META)
    args = _mapping(NAME, raw, "", known)
    ignored = []
    for i, item in enumerate(_list(NAME, args.get("ignoredResources"), "ignoredResources")):
        here = f"ignoredResources[{i}]"
        name = _str(NAME, item, here)
        problems = qualified_name_problems(name)
        if problems:
            raise _fail(NAME, here, f"{name!r}: {'; '.join(problems)}")
        ignored.append(name)
    groups = []
    raw_groups = args.get("ignoredResourceGroups")
    for i, item in enumerate(_list(NAME, raw_groups, "ignoredResourceGroups")):
        here = f"ignoredResourceGroups[{i}]"
        group = _str(NAME, item, here)
        if "/" in group:
            raise _fail(NAME, here, f"{group!r}: resource group name can't contain '/'")
        problems = qualified_name_problems(group)
        if problems:
            raise _fail(NAME, here, f"{group!r}: {'; '.join(problems)}")
        groups.append(group)
    strict = change_holds(STRICT_RATIO_VALIDATION, version)
    return FitArgs(frozenset(ignored), frozenset(groups), _parse_strategy(args, strict))


def _parse_strategy(args: Mapping[str, Any], strict: bool) -> ScoringStrategy:
    if args.get("scoringStrategy") is None:
        return DEFAULT_STRATEGY
    path = "scoringStrategy"
    raw = _mapping(
        NAME, args["scoringStrategy"], path, ("type", "resources", "requestedToCapacityRatio")
    )
    # Defaulting fills resources but never the type: a strategy without one is invalid.
    kind = raw.get("type", "")
    if kind not in SCORING_STRATEGIES:
        raise _fail(
            NAME,
            f"{path}.type",
            # Go's %q: a double-quoted string.
            f"Unsupported value: {json.dumps(kind)}: supported values: "
            + ", ".join(f'"{s}"' for s in sorted(SCORING_STRATEGIES)),
        )
    resources = parse_resource_specs(NAME, raw.get("resources"), f"{path}.resources")
    resources = resources or DEFAULT_RESOURCES
    for i, spec in enumerate(resources):
        if not 0 < spec.weight <= MAX_RESOURCE_WEIGHT:
            raise _fail(
                NAME,
                f"{path}.resources[{i}].weight",
                f"resource weight of {spec.name} not in valid range (0, {MAX_RESOURCE_WEIGHT}]",
            )
    shape: tuple[ShapePoint, ...] = ()
    ratio_path = f"{path}.requestedToCapacityRatio"
    ratio_raw = raw.get("requestedToCapacityRatio")
    if strict and ratio_raw is not None and kind != REQUESTED_TO_CAPACITY_RATIO:
        raise _fail(
            NAME, ratio_path, "Forbidden: must be nil when type is not RequestedToCapacityRatio"
        )
    if ratio_raw is not None:
        ratio = _mapping(NAME, ratio_raw, ratio_path, ("shape",))
        # v1.36 names the shape under requestedToCapacityRatio, as it is written.
        shape_path = f"{ratio_path}.shape" if strict else f"{path}.shape"
        shape = parse_shape(ratio.get("shape"), shape_path)
        validate_shape(shape, shape_path)
    if kind == REQUESTED_TO_CAPACITY_RATIO and ratio_raw is None:
        if strict:
            message = "Required value: must be specified when type is RequestedToCapacityRatio"
        else:
            # Validation lets it through, and kube-scheduler then crashes on the nil shape.
            message = (
                "required for type RequestedToCapacityRatio (kube-scheduler cannot start "
                "without it)"
            )
        raise _fail(NAME, ratio_path, message)
    return ScoringStrategy(kind, resources, shape)


# --- filter -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InsufficientResource:
    """One resource the node is short of (upstream's InsufficientResource)."""

    resource: str
    reason: str
    requested: int
    used: int
    capacity: int
    # Even an empty node could not hold the request: preemption cannot help.
    unresolvable: bool


def _is_ignored(name: str, ignored: frozenset[str], groups: frozenset[str]) -> bool:
    if not is_extended_resource(name):
        return False
    return name in ignored or name.split("/", 1)[0] in groups


def fits_request(
    request: Mapping[str, int],
    node: NodeInfo,
    ignored: frozenset[str] = frozenset(),
    ignored_groups: frozenset[str] = frozenset(),
) -> list[InsufficientResource]:
    """Every resource ``node`` is short of for ``request`` (scheduler units), in upstream's
    order: pods, cpu, memory, ephemeral-storage, then the other resources (by name here;
    upstream walks a Go map, so their relative order varies from run to run)."""
    out: list[InsufficientResource] = []
    allowed = node.allowed_pods()
    if len(node.pods) + 1 > allowed:
        out.append(
            InsufficientResource(PODS, ERR_REASON_TOO_MANY_PODS, 1, len(node.pods), allowed, False)
        )
    for name, reason in (
        (CPU, ERR_REASON_INSUFFICIENT_CPU),
        (MEMORY, ERR_REASON_INSUFFICIENT_MEMORY),
        (EPHEMERAL_STORAGE, ERR_REASON_INSUFFICIENT_EPHEMERAL_STORAGE),
    ):
        _check(out, name, reason, request.get(name, 0), node)
    for name in sorted(request):
        if not is_scalar_resource(name) or _is_ignored(name, ignored, ignored_groups):
            continue
        _check(out, name, insufficient_reason(name), request[name], node)
    return out


def _check(
    out: list[InsufficientResource], name: str, reason: str, wanted: int, node: NodeInfo
) -> None:
    # A resource the pod does not request (or requests 0 of) is never checked, so a node
    # that lacks it entirely still fits.
    if wanted <= 0:
        return
    allocatable = node.allocatable.get(name, 0)
    used = node.requested.get(name, 0)
    if wanted > allocatable - used:
        out.append(
            InsufficientResource(name, reason, wanted, used, allocatable, wanted > allocatable)
        )


def shortfall_detail(shortfall: InsufficientResource) -> Detail:
    """``cpu: requests 500m, 200m free of 2``, in human units."""
    s = shortfall
    text, data = resource_shortfall(s.resource, s.requested, s.used, s.capacity)
    kind = "tooManyPods" if s.resource == PODS else "insufficientResource"
    return Detail(kind, text, {**data, "reason": s.reason})


#: The spec's version change: a request beyond the node's whole allocatable is unresolvable.
UNRESOLVABLE_BEYOND_ALLOCATABLE = "fit-unresolvable-beyond-allocatable"


def fit_status(
    shortfalls: Sequence[InsufficientResource], *, unresolvable_code: bool = True
) -> Status | None:
    """The Filter's status for the shortfalls. From v1.34 a shortfall no amount of
    eviction could cure (the request exceeds the node's whole allocatable) makes it
    UnschedulableAndUnresolvable (``unresolvable_code``); before, it was Unschedulable."""
    if not shortfalls:
        return None
    unresolvable = unresolvable_code and any(s.unresolvable for s in shortfalls)
    code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE if unresolvable else Code.UNSCHEDULABLE
    return Status(code, tuple(s.reason for s in shortfalls))


# --- scoring (resource_allocation.go) ---------------------------------------------------------


def allocatable_and_requested(
    node: NodeInfo, resource: str, pod_request: int, *, use_requested: bool
) -> tuple[int, int]:
    """(node allocatable, node requested + pod request) for one resource, or (0, 0) when
    the resource takes no part: a scalar resource the pod does not request, or one the
    node does not report. cpu and memory come from NonZeroRequested unless
    ``use_requested``; every other resource always from Requested."""
    if pod_request == 0 and is_scalar_resource(resource):
        return 0, 0
    if resource in (CPU, MEMORY):
        base = node.requested if use_requested else node.nonzero_requested
        return node.allocatable.get(resource, 0), base.get(resource, 0) + pod_request
    if resource == EPHEMERAL_STORAGE:
        return node.allocatable.get(resource, 0), node.requested.get(resource, 0) + pod_request
    if is_scalar_resource(resource) and resource in node.allocatable:
        return node.allocatable[resource], node.requested.get(resource, 0) + pod_request
    return 0, 0


def resource_vectors(
    node: NodeInfo, resources: Sequence[str], pod_requests: Sequence[int], *, use_requested: bool
) -> tuple[list[int], list[int]]:
    """(requested, allocatable) per resource; both 0 where the node has none of it."""
    requested = [0] * len(resources)
    allocatable = [0] * len(resources)
    for i, name in enumerate(resources):
        alloc, req = allocatable_and_requested(
            node, name, pod_requests[i], use_requested=use_requested
        )
        if alloc == 0:
            continue
        allocatable[i] = alloc
        requested[i] = req
    return requested, allocatable


# How a resource takes part in the vectors, decided once per pod (see allocatable_and_requested).
PART_NONE = 0  # a scalar resource the pod does not request, or a resource scoring never reads
PART_BASE = 1  # cpu or memory: NonZeroRequested (or Requested)
PART_REQUESTED = 2  # ephemeral-storage and requested scalar resources: Requested

ResourcePlan = tuple[tuple[str, int, int], ...]


def resource_plan(resources: Sequence[str], pod_requests: Sequence[int]) -> ResourcePlan:
    """(name, pod request, how it takes part) per resource, for :func:`planned_vectors`."""
    plan = []
    for name, request in zip(resources, pod_requests, strict=True):
        if request == 0 and is_scalar_resource(name):
            kind = PART_NONE
        elif name in (CPU, MEMORY):
            kind = PART_BASE
        elif name == EPHEMERAL_STORAGE or is_scalar_resource(name):
            kind = PART_REQUESTED
        else:
            kind = PART_NONE
        plan.append((name, request, kind))
    return tuple(plan)


def planned_vectors(
    node: NodeInfo, plan: ResourcePlan, *, use_requested: bool
) -> tuple[list[int], list[int]]:
    """:func:`resource_vectors` with the per-resource decisions taken once per pod."""
    n = len(plan)
    requested = [0] * n
    allocatable = [0] * n
    node_allocatable = node.allocatable
    base = node.requested if use_requested else node.nonzero_requested
    for i, (name, request, kind) in enumerate(plan):
        if kind == PART_NONE:
            continue
        alloc = node_allocatable.get(name, 0)
        if alloc == 0:
            continue
        allocatable[i] = alloc
        used = base if kind == PART_BASE else node.requested
        requested[i] = used.get(name, 0) + request
    return requested, allocatable


def least_requested_score(requested: int, capacity: int) -> int:
    """Free share of the resource on 0..100 (0 once the requests exceed it)."""
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    """Used share of the resource on 0..100 (capped: default requests can overshoot)."""
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def _weighted_mean(
    per_resource: Callable[[int, int], int], weights: Sequence[int]
) -> Callable[[Sequence[int], Sequence[int]], int]:
    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        total = weight_sum = 0
        for i, capacity in enumerate(allocatable):
            if capacity == 0:
                continue
            total += per_resource(requested[i], capacity) * weights[i]
            weight_sum += weights[i]
        return total // weight_sum if weight_sum else 0

    return scorer


def _go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's ``/`` on int64."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def broken_linear(shape: Sequence[ShapePoint]) -> Callable[[int], int]:
    """Piecewise linear function through the shape points (helper.BuildBrokenLinearFunction):
    flat before the first and after the last point, integer interpolation between."""

    def f(p: int) -> int:
        for i, point in enumerate(shape):
            if p <= point.utilization:
                if i == 0:
                    return point.score
                prev = shape[i - 1]
                rise = (point.score - prev.score) * (p - prev.utilization)
                return prev.score + _go_div(rise, point.utilization - prev.utilization)
        return shape[-1].score

    return f


def requested_to_capacity_ratio_scorer(
    shape: Sequence[ShapePoint], weights: Sequence[int]
) -> Callable[[Sequence[int], Sequence[int]], int]:
    scale = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
    curve = broken_linear([ShapePoint(p.utilization, p.score * scale) for p in shape])

    def per_resource(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return curve(MAX_UTILIZATION)
        return curve(requested * MAX_UTILIZATION // capacity)

    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        total = weight_sum = 0
        for i, capacity in enumerate(allocatable):
            if capacity == 0:
                continue
            score = per_resource(requested[i], capacity)
            # Resources scoring 0 do not count in the average at all.
            if score > 0:
                total += score * weights[i]
                weight_sum += weights[i]
        if weight_sum == 0:
            return 0
        # math.Round: halves away from zero (the values are never negative).
        return (2 * total + weight_sum) // (2 * weight_sum)

    return scorer


def strategy_scorer(strategy: ScoringStrategy) -> Callable[[Sequence[int], Sequence[int]], int]:
    weights = [r.weight for r in strategy.resources]
    if strategy.type == LEAST_ALLOCATED:
        return _weighted_mean(least_requested_score, weights)
    if strategy.type == MOST_ALLOCATED:
        return _weighted_mean(most_requested_score, weights)
    return requested_to_capacity_ratio_scorer(strategy.shape, weights)


def scoring_requests(pod: PodInfo, resources: Sequence[str]) -> list[int]:
    """The incoming pod's request per resource, defaults for missing cpu/memory included."""
    units = to_scheduler_units(pod_scoring_requests(pod.pod))
    return [units.get(name, 0) for name in resources]


# --- plugin -----------------------------------------------------------------------------------

_FILTER_KEY = NAME + "/request"
_CHECKS_KEY = NAME + "/checks"
_SCORE_KEY = NAME + "/score-requests"
_PLAN_KEY = NAME + "/score-plan"
_WEIGHTED_KEY = NAME + "/score-weighted"


def request_checks(
    request: Mapping[str, int], ignored: frozenset[str], ignored_groups: frozenset[str]
) -> tuple[tuple[str, int], ...]:
    """The (resource, amount) pairs :func:`fits_request` compares with a node's free
    room, decided once per pod: whatever the pod requests (> 0) and does not ignore."""
    names = [CPU, MEMORY, EPHEMERAL_STORAGE]
    names += [
        name
        for name in sorted(request)
        if is_scalar_resource(name) and not _is_ignored(name, ignored, ignored_groups)
    ]
    return tuple((name, request[name]) for name in names if request.get(name, 0) > 0)


class NodeResourcesFit(Plugin):
    name = NAME
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        self.unresolvable_code = change_holds(UNRESOLVABLE_BEYOND_ALLOCATABLE, version)
        self.fit_args = parse_fit_args(args, version)
        self.resource_names = [r.name for r in self.fit_args.strategy.resources]
        self.scorer = strategy_scorer(self.fit_args.strategy)
        # The weighted-mean strategies, scored without building vectors (see score).
        strategy = self.fit_args.strategy
        self.per_resource: Callable[[int, int], int] | None = {
            LEAST_ALLOCATED: least_requested_score,
            MOST_ALLOCATED: most_requested_score,
        }.get(strategy.type)
        self.weights = [r.weight for r in strategy.resources]

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        state[_FILTER_KEY] = pod.requests
        state[_CHECKS_KEY] = request_checks(
            pod.requests, self.fit_args.ignored_resources, self.fit_args.ignored_resource_groups
        )
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        checks: tuple[tuple[str, int], ...] | None = state.get(_CHECKS_KEY)
        allocatable = node.allocatable
        if checks is not None and len(node.pods) < allocatable.get(PODS, 0):
            # Most nodes fit: compare the precomputed amounts, and only list the
            # shortfalls (below) when one does not fit.
            used = node.requested
            for name, wanted in checks:
                if wanted > allocatable.get(name, 0) - used.get(name, 0):
                    break
            else:
                return None
        request: Mapping[str, int] = state.get(_FILTER_KEY, pod.requests)
        shortfalls = fits_request(
            request, node, self.fit_args.ignored_resources, self.fit_args.ignored_resource_groups
        )
        return fit_status(shortfalls, unresolvable_code=self.unresolvable_code)

    def filter_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Verdicts | None:
        # The comparisons of filter's first step, on every node at once; filter itself
        # decides the nodes they do not pass (and names the shortfalls).
        checks: tuple[tuple[str, int], ...] | None = state.get(_CHECKS_KEY)
        allowed = columns.resource(ALLOCATABLE, PODS)
        if checks is None or allowed is None:
            return None
        sure: Bools = columns.pod_count[rows] < allowed[rows]
        for name, wanted in checks:
            allocatable = columns.resource(ALLOCATABLE, name)
            used = columns.resource(REQUESTED, name)
            if allocatable is None or used is None or not wanted < SAFE_LIMIT:
                return None
            sure &= wanted <= allocatable[rows] - used[rows]
        return Verdicts(sure)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        request: Mapping[str, int] = state.get(_FILTER_KEY, pod.requests)
        shortfalls = fits_request(
            request, node, self.fit_args.ignored_resources, self.fit_args.ignored_resource_groups
        )
        return tuple(shortfall_detail(s) for s in shortfalls)

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        requests = scoring_requests(pod, self.resource_names)
        state[_SCORE_KEY] = requests
        plan = resource_plan(self.resource_names, requests)
        state[_PLAN_KEY] = plan
        if self.per_resource is not None:
            state[_WEIGHTED_KEY] = tuple(
                (name, request, kind, weight)
                for (name, request, kind), weight in zip(plan, self.weights, strict=True)
                if kind != PART_NONE
            )
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        weighted: tuple[tuple[str, int, int, int], ...] | None = state.get(_WEIGHTED_KEY)
        per_resource = self.per_resource
        if weighted is not None and per_resource is not None:
            # The weighted mean of per-resource scores over the resources the node has,
            # as strategy_scorer computes it from resource_vectors.
            node_allocatable = node.allocatable
            total = weight_sum = 0
            for name, request, kind, weight in weighted:
                capacity = node_allocatable.get(name, 0)
                if capacity == 0:
                    continue
                used = node.nonzero_requested if kind == PART_BASE else node.requested
                total += per_resource(used.get(name, 0) + request, capacity) * weight
                weight_sum += weight
            return total // weight_sum if weight_sum else 0
        plan: ResourcePlan | None = state.get(_PLAN_KEY)
        if plan is not None:
            requested, allocatable = planned_vectors(node, plan, use_requested=False)
            return self.scorer(requested, allocatable)
        pod_requests = state.get(_SCORE_KEY) or scoring_requests(pod, self.resource_names)
        requested, allocatable = resource_vectors(
            node, self.resource_names, pod_requests, use_requested=False
        )
        return self.scorer(requested, allocatable)

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        # score's weighted mean of per-resource scores, on every node at once.
        weighted: tuple[tuple[str, int, int, int], ...] | None = state.get(_WEIGHTED_KEY)
        strategy = self.fit_args.strategy.type
        if weighted is None or strategy not in (LEAST_ALLOCATED, MOST_ALLOCATED):
            return None
        total = np.zeros(len(rows), dtype=np.int64)
        weight_sum = np.zeros(len(rows), dtype=np.int64)
        for name, request, kind, weight in weighted:
            allocatable = columns.resource(ALLOCATABLE, name)
            used = columns.resource(NONZERO_REQUESTED if kind == PART_BASE else REQUESTED, name)
            if allocatable is None or used is None or not (request < SAFE_LIMIT and weight < 2**20):
                return None
            capacity = allocatable[rows]
            wanted = used[rows] + request
            has = capacity != 0
            divisor = np.where(has, capacity, 1)
            if strategy == LEAST_ALLOCATED:
                free = has & (wanted <= capacity)
                part = np.where(free, (capacity - wanted) * MAX_NODE_SCORE // divisor, 0)
            else:
                part = np.where(has, np.minimum(wanted, capacity) * MAX_NODE_SCORE // divisor, 0)
            total += part * weight
            weight_sum += np.where(has, weight, 0)
        some = weight_sum != 0
        return np.where(some, total // np.where(some, weight_sum, 1), 0)
