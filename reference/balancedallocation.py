"""NodeResourcesBalancedAllocation: prefer nodes whose resource usage the pod makes more even.

Upstream: ``pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go`` and
``resource_allocation.go``; the change-of-balance score is kubernetes/kubernetes PR
#135573 (v1.36). Before it (v1.35 and earlier) the plugin returned the balance after
placement (:func:`balance_score` of the requests with the pod) on its own; the profile's
Kubernetes version picks which.

For each configured resource (default cpu and memory) the fraction requested / allocatable
is taken from the node's plain requests (not the 0.1 cpu / 200Mi defaults the Fit scorers
add) plus the pod's plain requests, capped at 1. Resources the node does not report, and
extended resources the pod does not request, are left out. The balance of a set of
fractions is ``int((1 - std) * 100)`` where std is their population standard deviation
(half the difference for two). The score compares the balance with and without the pod:
``50 + (50 + with - without) // 2``, so 75 means no change, 100 the best improvement, 50 the
worst. A pod that requests none of the resources (best effort) is not scored at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

from .columns import ALLOCATABLE, REQUESTED, SAFE_LIMIT, Columns, Floats, Ints
from .framework import MAX_NODE_SCORE, CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .noderesources import (
    PART_NONE,
    TYPE_META,
    ResourceSpec,
    parse_resource_specs,
    resource_plan,
    resource_vectors,
)
from .profile import ConfigError
from .resources import CPU, MEMORY
from .status import SKIP, Status

NAME = "NodeResourcesBalancedAllocation"
#: The spec's version change for the change-of-balance score (spec/versions.yaml).
CHANGE_OF_BALANCE = "balanced-allocation-change-of-balance"
DEFAULT_RESOURCES = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))


def parse_balanced_args(raw: Mapping[str, Any] | None) -> tuple[ResourceSpec, ...]:
    """NodeResourcesBalancedAllocationArgs: ``resources`` defaulted and validated."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{NAME} args: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in ("resources", *TYPE_META):
            raise ConfigError(f"{NAME} args: {key}: unknown field")
    resources = parse_resource_specs(NAME, raw.get("resources"), "resources")
    if not resources:
        return DEFAULT_RESOURCES
    seen: set[str] = set()
    for i, spec in enumerate(resources):
        if spec.name in seen:
            raise ConfigError(f"{NAME} args: resources[{i}].name: Duplicate value: {spec.name!r}")
        seen.add(spec.name)
        if spec.weight != 1:
            raise ConfigError(f"{NAME} args: resources[{i}].weight: {spec.weight}: must be 1")
    return resources


def balance_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    """``int((1 - std) * 100)`` over the resources the node has, in float64 as upstream."""
    fractions: list[float] = []
    for req, alloc in zip(requested, allocatable, strict=True):
        if alloc == 0:
            continue
        fractions.append(min(float(req) / float(alloc), 1.0))
    return _balance(fractions)


def balance_change_score(
    requested: Sequence[int], allocated: Sequence[int], allocatable: Sequence[int]
) -> int:
    """Score of the change in balance the pod brings: 50 (worse) .. 75 (same) .. 100 (better)."""
    with_pod = balance_score(requested, allocatable)
    without_pod = balance_score(allocated, allocatable)
    half = MAX_NODE_SCORE // 2
    # Never negative (each balance is 50..100), so Go's truncation is Python's floor.
    return half + (half + with_pod - without_pod) // 2


def pod_request_list(pod: PodInfo, resources: Sequence[str]) -> list[int]:
    """The pod's plain requests (no scoring defaults) per resource."""
    return [pod.requests.get(name, 0) for name in resources]


_KEY = NAME + "/requests"
_PLAN_KEY = NAME + "/plan"


class BalancedAllocation(Plugin):
    name = NAME
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        self.resources = parse_balanced_args(args)
        self.resource_names = [r.name for r in self.resources]
        # v1.36 scores the change of balance; earlier releases the balance with the pod.
        self.change_of_balance = change_holds(CHANGE_OF_BALANCE, version)

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        requests = pod_request_list(pod, self.resource_names)
        if not any(requests):
            # Best-effort pods would otherwise all pile onto the same nodes.
            return SKIP
        state[_KEY] = requests
        state[_PLAN_KEY] = tuple(
            (name, request)
            for name, request, kind in resource_plan(self.resource_names, requests)
            if kind != PART_NONE
        )
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        plan: _Plan | None = state.get(_PLAN_KEY)
        if plan is not None:
            return _planned_score(node, plan, self.change_of_balance)
        pod_requests: list[int] = state.get(_KEY) or pod_request_list(pod, self.resource_names)
        if not any(pod_requests):
            return 0
        requested, allocatable = resource_vectors(
            node, self.resource_names, pod_requests, use_requested=True
        )
        if not self.change_of_balance:
            return balance_score(requested, allocatable)
        allocated = [
            req - pod_requests[i] if allocatable[i] else 0 for i, req in enumerate(requested)
        ]
        return balance_change_score(requested, allocated, allocatable)

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        # _planned_score's common case (two resources every node has) on every node at
        # once: the same float64 operations in the same order, so the same results.
        plan: _Plan | None = state.get(_PLAN_KEY)
        if plan is None or len(plan) != 2:
            return None
        (first, first_request), (second, second_request) = plan
        tables = [
            columns.resource(table, name)
            for name in (first, second)
            for table in (ALLOCATABLE, REQUESTED)
        ]
        if any(t is None for t in tables) or not max(first_request, second_request) < SAFE_LIMIT:
            return None
        first_alloc, first_used, second_alloc, second_used = (t[rows] for t in tables)  # type: ignore[index]
        first_capacity = first_alloc.astype(np.float64)
        second_capacity = second_alloc.astype(np.float64)
        both = (first_alloc != 0) & (second_alloc != 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            with_score = _two_score(
                (first_used + first_request).astype(np.float64) / first_capacity,
                (second_used + second_request).astype(np.float64) / second_capacity,
            )
            if self.change_of_balance:
                half = MAX_NODE_SCORE // 2
                without_score = _two_score(
                    first_used.astype(np.float64) / first_capacity,
                    second_used.astype(np.float64) / second_capacity,
                )
                scores = half + (half + with_score - without_score) // 2
            else:
                scores = with_score
        if not both.all():
            # A node without one of the resources: node by node.
            nodes = columns.nodes
            for at in np.flatnonzero(~both).tolist():
                scores[at] = _planned_score(nodes[int(rows[at])], plan, self.change_of_balance)
        return scores


def _two_score(a: Floats, b: Floats) -> Ints:
    """int((1 - |min(a, 1) - min(b, 1)| / 2) * 100), elementwise: the balance of two
    resources' fractions (their standard deviation is half the difference)."""
    spread = np.abs((np.minimum(a, 1.0) - np.minimum(b, 1.0)) / 2)
    scores: Ints = np.trunc((1 - spread) * 100.0).astype(np.int64)
    return scores


# (resource, the pod's request) for the resources that take part, decided in PreScore.
_Plan = tuple[tuple[str, int], ...]


def _planned_score(node: NodeInfo, plan: _Plan, change: bool) -> int:
    """:func:`balance_change_score` (``change``) or :func:`balance_score` of the node's plain
    requests with and without the pod, the resources' part decided once per pod (the same
    float operations, in the same order)."""
    allocatable = node.allocatable
    used = node.requested
    half = MAX_NODE_SCORE // 2
    if len(plan) == 2:
        # The common case, two resources the node has: no lists (std is half the difference).
        (first, first_request), (second, second_request) = plan
        first_alloc = allocatable.get(first, 0)
        second_alloc = allocatable.get(second, 0)
        if first_alloc != 0 and second_alloc != 0:
            first_before = used.get(first, 0)
            second_before = used.get(second, 0)
            first_capacity = float(first_alloc)
            second_capacity = float(second_alloc)
            a = float(first_before + first_request) / first_capacity
            b = float(second_before + second_request) / second_capacity
            with_score = int(
                (1 - abs(((a if a < 1.0 else 1.0) - (b if b < 1.0 else 1.0)) / 2)) * 100.0
            )
            if not change:
                return with_score
            a = float(first_before) / first_capacity
            b = float(second_before) / second_capacity
            without_score = int(
                (1 - abs(((a if a < 1.0 else 1.0) - (b if b < 1.0 else 1.0)) / 2)) * 100.0
            )
            return half + (half + with_score - without_score) // 2
    with_pod: list[float] = []
    without_pod: list[float] = []
    for name, request in plan:
        alloc = allocatable.get(name, 0)
        if alloc == 0:
            continue
        before = used.get(name, 0)
        capacity = float(alloc)
        fraction = float(before + request) / capacity
        with_pod.append(fraction if fraction < 1.0 else 1.0)
        fraction = float(before) / capacity
        without_pod.append(fraction if fraction < 1.0 else 1.0)
    if len(with_pod) == 2:
        # The common two resources: std is half the difference (as _balance computes it).
        with_score = int((1 - abs((with_pod[0] - with_pod[1]) / 2)) * 100.0)
        without_score = int((1 - abs((without_pod[0] - without_pod[1]) / 2)) * 100.0)
    else:
        with_score, without_score = _balance(with_pod), _balance(without_pod)
    if not change:
        return with_score
    return half + (half + with_score - without_score) // 2


def _balance(fractions: list[float]) -> int:
    """``int((1 - std) * 100)`` of the fractions (population standard deviation)."""
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        total = 0.0
        for fraction in fractions:
            total += fraction
        mean = total / len(fractions)
        squares = 0.0
        for fraction in fractions:
            squares = squares + (fraction - mean) * (fraction - mean)
        std = math.sqrt(squares / len(fractions))
    return int((1 - std) * float(MAX_NODE_SCORE))
