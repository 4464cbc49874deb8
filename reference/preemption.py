"""DefaultPreemption: when a pod fits nowhere, which lower-priority pods to evict, where.

Upstream: ``pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go`` and
``pkg/scheduler/framework/preemption/preemption.go``.

1. A pod with ``preemptionPolicy: Never`` does not preempt.
2. Only nodes that failed with ``Unschedulable`` are candidates; ``UnschedulableAndUnresolvable``
   means evicting pods cannot help there.
3. On a candidate node every pod of lower priority is removed; if the pod still does not
   fit, the node is no candidate. Otherwise pods are given back one by one, most important
   first (higher priority, then earlier start), those whose eviction would break a
   PodDisruptionBudget before the others; a pod stays evicted only if giving it back makes
   the incoming pod not fit.
4. Among candidates the node is chosen by, in order: fewest PDB violations, lowest
   highest-victim priority, lowest sum of victim priorities, fewest victims, latest start
   of the highest-priority victims, then node order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from podfit.cluster import Cluster
from podfit.model import Pod, PodDisruptionBudget

from .framework import Profile, ScheduleResult, bind, evict, run_cycle, snapshot_of
from .labels import selector_matches
from .status import Code, Status

MSG_NEVER = "not eligible due to preemptionPolicy=Never."
MSG_NOT_HELPFUL = "Preemption is not helpful for scheduling"
MSG_NO_VICTIMS = "No preemption victims found for incoming pod"
# A pod that has not started counts as starting in the far future (least important).
_NOT_STARTED = datetime(9999, 12, 31, tzinfo=UTC)
_INT32_OFFSET = 2**31  # upstream adds MaxInt32+1 to each priority before summing


@dataclass
class Candidate:
    node: str
    victims: list[Pod]
    pdb_violations: int
    # (victim, the PodDisruptionBudget its eviction breaks), for the victims that break one
    violated: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PreemptionResult:
    nominated: str | None = None
    victims: list[Pod] = field(default_factory=list)
    message: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    # (victim, PodDisruptionBudget) pairs the chosen candidate violates
    violated: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nominatedNode": self.nominated,
            "victims": [p.key for p in self.victims],
            "message": self.message,
            "violates": [{"pod": p, "podDisruptionBudget": b} for p, b in self.violated],
        }


def _importance(pod: Pod) -> tuple[int, datetime]:
    """Sort key: more important first (higher priority, then earlier start)."""
    return (-pod.effective_priority, pod.start_time or _NOT_STARTED)


def _status_on(cluster: Cluster, profile: Profile, pod: Pod, node: str) -> Status | None:
    """The pod's filter status on one node (None: it fits)."""
    result = run_cycle(profile, snapshot_of(cluster), pod)
    status = result.statuses.get(node)
    return None if status is not None and status.is_success else status


def _fits_on(cluster: Cluster, profile: Profile, pod: Pod, node: str) -> bool:
    return _status_on(cluster, profile, pod, node) is None


class _Budgets:
    """How many more disruptions each PodDisruptionBudget allows."""

    def __init__(self, cluster: Cluster) -> None:
        self.allowed: dict[str, int] = {}
        self.pdbs: list[PodDisruptionBudget] = list(cluster.pdbs.values())
        for pdb in self.pdbs:
            self.allowed[f"{pdb.namespace}/{pdb.name}"] = _disruptions_allowed(pdb, cluster)

    def violating(self, victims: Sequence[Pod]) -> tuple[list[Pod], list[Pod]]:
        """Split victims (in order) into those whose eviction breaks a budget and the rest."""
        bad, good, _ = self.split(victims)
        return bad, good

    def split(self, victims: Sequence[Pod]) -> tuple[list[Pod], list[Pod], dict[str, str]]:
        """:meth:`violating`, and for each violating pod the budget it breaks."""
        left = dict(self.allowed)
        bad: list[Pod] = []
        good: list[Pod] = []
        broken: dict[str, str] = {}
        for pod in victims:
            budget = self._breaks(pod, left)
            if budget is None:
                good.append(pod)
            else:
                bad.append(pod)
                broken[pod.key] = budget
        return bad, good, broken

    def _breaks(self, pod: Pod, left: dict[str, int]) -> str | None:
        """Charge the pod to its budgets in order; it violates at the first one exhausted
        (later budgets are then not charged), whose key is returned. A pod without labels
        matches no budget."""
        if not pod.labels:
            return None
        for pdb in self.pdbs:
            if pdb.namespace != pod.namespace or pdb.selector is None:
                continue
            if pdb.selector.is_empty or not selector_matches(pdb.selector, pod.labels):
                continue  # an empty PDB selector matches nothing for preemption
            key = f"{pdb.namespace}/{pdb.name}"
            left[key] -= 1
            if left[key] < 0:
                return key
        return None


def _disruptions_allowed(pdb: PodDisruptionBudget, cluster: Cluster) -> int:
    if pdb.disruptions_allowed is not None:
        return pdb.disruptions_allowed
    selector = pdb.selector
    healthy = [
        p
        for p in cluster.pods_in(pdb.namespace)
        if p.node_name
        and not p.is_terminal
        and selector is not None
        and selector_matches(selector, p.labels)
    ]
    expected = len(healthy)
    if pdb.min_available is not None:
        need = _scaled(pdb.min_available, expected, round_up=True)
        return max(0, len(healthy) - need)
    if pdb.max_unavailable is not None:
        return max(0, _scaled(pdb.max_unavailable, expected, round_up=True))
    return 0


def _scaled(value: int | str, total: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    share = int(value.rstrip("%")) * total / 100
    return math.ceil(share) if round_up else math.floor(share)


def select_victims(
    cluster: Cluster, profile: Profile, pod: Pod, node: str, budgets: _Budgets
) -> Candidate | tuple[str, ...]:
    """The node's victims, or the reasons the pod cannot fit there even by preempting."""
    lower = [
        p
        for p in cluster.pods_on(node)
        if not p.is_terminal and p.effective_priority < pod.effective_priority
    ]
    if not lower:
        return (MSG_NO_VICTIMS,)
    work = cluster.copy()
    for p in lower:
        evict(work, p)
    failure = _status_on(work, profile, pod, node)
    if failure is not None:
        return failure.reasons
    lower.sort(key=_importance)
    violating, non_violating, broken = budgets.split(lower)
    victims: list[Pod] = []
    violated: list[tuple[str, str]] = []
    for group, counts in ((violating, True), (non_violating, False)):
        for p in group:
            bind(work, p, node)
            if _fits_on(work, profile, pod, node):
                continue  # reprieved
            evict(work, p)
            victims.append(p)
            if counts:
                violated.append((p.key, broken[p.key]))
    return Candidate(node, victims, len(violated), violated)


def _pick(candidates: list[Candidate]) -> Candidate:
    def key(c: Candidate) -> tuple[int, int, int, int, float]:
        priorities = [v.effective_priority for v in c.victims]
        top = max(priorities) if priorities else -(2**31)
        total = sum(p + _INT32_OFFSET for p in priorities)
        earliest_top = min(
            (
                (v.start_time or _NOT_STARTED).timestamp()
                for v in c.victims
                if v.effective_priority == top
            ),
            default=0.0,
        )
        return (c.pdb_violations, top, total, len(c.victims), -earliest_top)

    return min(candidates, key=key)


def preempt(
    cluster: Cluster, profile: Profile, pod: Pod, failed: ScheduleResult
) -> PreemptionResult:
    """Run DefaultPreemption for a pod whose scheduling cycle found no node."""
    if pod.preemption_policy == "Never":
        return PreemptionResult(message=f"preemption: {MSG_NEVER}")
    budgets = _Budgets(cluster)
    reasons: Counter[str] = Counter()
    candidates: list[Candidate] = []
    for name in failed.nodes:
        status = failed.statuses.get(name)
        if status is None or status.code is not Code.UNSCHEDULABLE:
            reasons[MSG_NOT_HELPFUL] += 1
            continue
        cand = select_victims(cluster, profile, pod, name, budgets)
        if isinstance(cand, Candidate):
            candidates.append(cand)
        else:
            for reason in cand:
                reasons[reason] += 1
    if not candidates:
        counts = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
        detail = f"0/{len(failed.nodes)} nodes are available: {counts}."
        # The inner FitError text carries its own final period (no second one since v1.28).
        return PreemptionResult(message=f"preemption: {detail}")
    chosen = _pick(candidates)
    return PreemptionResult(
        nominated=chosen.node,
        victims=chosen.victims,
        candidates=candidates,
        message="",
        violated=chosen.violated,
    )
