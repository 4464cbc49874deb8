"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule taints score.

Upstream: ``pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go``.

Filter: a node fails when one of its NoSchedule or NoExecute taints is tolerated by none of
the pod's tolerations (matching as in :mod:`.taints`). The status is
UnschedulableAndUnresolvable (evicting pods cannot remove a taint) with the generic reason
``node(s) had untolerated taint(s)``. PreferNoSchedule taints never filter, and
``tolerationSeconds`` plays no part in scheduling (it only delays NoExecute eviction).

Score: the number of the node's PreferNoSchedule taints that the pod's tolerations with an
empty or PreferNoSchedule effect do not tolerate, normalised in reverse (the node with the
most such taints gets 0, a node with none gets 100; all 100 when no node has any).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from podfit.model import Taint, Toleration
from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

from .columns import Bools, Columns, Ints, Verdicts, decide_groups
from .detail import Detail
from .framework import CycleState, Plugin, default_normalize, default_normalize_all
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import Status, unresolvable
from .taints import (
    ERR_REASON_UNTOLERATED,
    FILTER_EFFECTS,
    PREFER_NO_SCHEDULE,
    count_untolerated,
    find_untolerated_taint,
    format_taint_reason,
    tolerates_every_taint,
    tolerates_taint,
)

NAME = "TaintToleration"

# Kept for reference: upstream still defines it, but no extension point returns it.
ERR_REASON_NOT_MATCH = "node(s) had taints that the pod didn't tolerate"
ERR_REASON = ERR_REASON_UNTOLERATED
#: The spec's version change after which the reason no longer names the taint.
REASON_HIDES_TAINT = "taint-reason-hides-taint"


def scoring_tolerations(tolerations: tuple[Toleration, ...]) -> tuple[Toleration, ...]:
    """The tolerations PreScore keeps: empty effect (every effect) or PreferNoSchedule.

    Dropping the others changes nothing (a NoSchedule or NoExecute toleration cannot
    tolerate a PreferNoSchedule taint); upstream does it to scan fewer tolerations.
    """
    return tuple(t for t in tolerations if t.effect in ("", PREFER_NO_SCHEDULE))


def intolerable_prefer_no_schedule(node: NodeInfo, tolerations: tuple[Toleration, ...]) -> int:
    """The raw score: PreferNoSchedule taints of the node the tolerations don't tolerate."""
    return count_untolerated(node.node.taints, tolerations, PREFER_NO_SCHEDULE)


_ANY_TAINT_KEY = NAME + "/tolerates-any"
_ANY_SCORE_KEY = _ANY_TAINT_KEY + "/score"
_WHY_KEY = NAME + "/why"
_FILTER_CACHE_KEY = NAME + "/filter-by-taints"
_WHY_TAINT_KEY = NAME + "/why-by-taint"  # (key, value, effect) -> detail; None: tolerated
_TOLERATED_KEY = NAME + "/tolerated"  # (key, value, effect) -> whether it is tolerated
_SCORE_CACHE_KEY = NAME + "/score-by-taints"
_UNTOLERATED_KEY = NAME + "/untolerated"
# id(taints) -> (the taints, the answer for them), for one cycle's pod.
_TaintCache = dict[int, tuple[tuple[Taint, ...], Any]]


def taint_detail(taint: Taint) -> Detail:
    """``untolerated taint dedicated=gpu:NoSchedule``."""
    data = {"taint": {"key": taint.key, "value": taint.value, "effect": taint.effect}}
    return Detail("untoleratedTaint", f"untolerated taint {taint}", data)


def _untolerated(
    columns: Columns, effects: tuple[str, ...], tolerations: tuple[Toleration, ...]
) -> Bools:
    """``taint_table(effects).untolerated(tolerations)``, kept for pods alike."""
    key = (_UNTOLERATED_KEY, effects, tolerations)
    return columns.memo(key, lambda: columns.taint_table(effects).untolerated(tolerations))


class TaintToleration(Plugin):
    name = NAME
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        # Releases before the change name the first untolerated taint in the reason.
        self.legacy_reason = not change_holds(REASON_HIDES_TAINT, version)

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        # Not a Skip (upstream has no PreFilter here): Filter still runs, and answers at once
        # for a pod that tolerates every taint.
        state[_ANY_TAINT_KEY] = any(tolerates_every_taint(t) for t in pod.pod.tolerations)
        state[_FILTER_CACHE_KEY] = {}
        state[_TOLERATED_KEY] = {}
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        taints = node.node.taints
        if not taints or state.get(_ANY_TAINT_KEY):
            return None
        # Nodes of the same shape share one taints tuple: one answer per tuple and cycle,
        # keyed by identity (cheap) with the tuple kept so a reused id cannot match.
        cache: _TaintCache | None = state.get(_FILTER_CACHE_KEY)
        if cache is not None:
            hit = cache.get(id(taints))
            if hit is not None and hit[0] is taints:
                cached: Status | None = hit[1]
                return cached
        status = self._filter_taints(taints, pod.pod.tolerations, state.get(_TOLERATED_KEY))
        if cache is not None:
            cache[id(taints)] = (taints, status)
        return status

    def _filter_taints(
        self,
        taints: tuple[Taint, ...],
        tolerations: tuple[Toleration, ...],
        tolerated: dict[tuple[str, str, str], bool] | None = None,
    ) -> Status | None:
        if tolerated is None:
            taint = find_untolerated_taint(taints, tolerations, FILTER_EFFECTS)
        else:
            # find_untolerated_taint, each distinct taint judged once per cycle: nodes'
            # taints tuples differ far more often than their taints.
            taint = None
            for candidate in taints:
                if candidate.effect not in FILTER_EFFECTS:
                    continue
                # Keyed by the taint's fields: a tuple of strings hashes fast.
                key = (candidate.key, candidate.value, candidate.effect)
                ok = tolerated.get(key)
                if ok is None:
                    ok = tolerated[key] = tolerates_taint(tolerations, candidate)
                if not ok:
                    taint = candidate
                    break
        if taint is None:
            return None
        if self.legacy_reason:
            return unresolvable(format_taint_reason(taint, legacy=True))
        return unresolvable(ERR_REASON)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        # Every taint that keeps the pod off (upstream names none, or only the first); nodes
        # with the same taints share the answer.
        cache: _TaintCache | None = state.get(_WHY_KEY)
        if cache is None:
            cache = state[_WHY_KEY] = {}
        taints = node.node.taints
        hit = cache.get(id(taints))
        if hit is not None and hit[0] is taints:
            details: tuple[Detail, ...] = hit[1]
            return details
        # untolerated_taints' details, each distinct taint judged once per cycle.
        judged: dict[tuple[str, str, str], Detail | None] | None = state.get(_WHY_TAINT_KEY)
        if judged is None:
            judged = state[_WHY_TAINT_KEY] = {}
        found = []
        for taint in taints:
            if taint.effect not in FILTER_EFFECTS:
                continue
            key = (taint.key, taint.value, taint.effect)
            if key not in judged:
                tolerated = tolerates_taint(pod.pod.tolerations, taint)
                judged[key] = None if tolerated else taint_detail(taint)
            detail = judged[key]
            if detail is not None:
                found.append(detail)
        details = tuple(found)
        cache[id(taints)] = (taints, details)
        return details

    def group_details(
        self, state: CycleState, pod: PodInfo, columns: Columns, groups: list[int]
    ) -> list[tuple[Detail, ...]] | None:
        # detail for those groups of equal taints at once, from the table of distinct
        # taints (each taint's detail made once).
        if type(self).detail is not TaintToleration.detail:
            return None  # a subclass's own detail
        table = columns.taint_table(FILTER_EFFECTS)
        untolerated = _untolerated(columns, FILTER_EFFECTS, pod.pod.tolerations)[groups].tolist()
        made: dict[int, Detail] = {}
        out = []
        for numbers, flags in zip(table.matrix[groups].tolist(), untolerated, strict=True):
            found = []
            for number, flag in zip(numbers, flags, strict=True):
                if flag:
                    detail = made.get(number)
                    if detail is None:
                        detail = made[number] = taint_detail(table.taints[number])
                    found.append(detail)
            out.append(tuple(found))
        return out

    def groups(
        self, state: CycleState, pod: PodInfo, columns: Columns
    ) -> tuple[Ints, list[int]] | None:
        # The answers depend on the node's taints alone: nodes with equal taints share them.
        return columns.by_taints()

    def filter_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Verdicts | None:
        # filter for every group of equal taints at once: each distinct NoSchedule or
        # NoExecute taint judged once; a group fails on its first untolerated one. The
        # answers depend on the tolerations alone: pods alike share them across cycles.
        if type(self).filter is not TaintToleration.filter:
            return super().filter_all(state, pod, columns, rows)  # a subclass's own filter
        ids = columns.by_taints()[0]
        key = (_FILTER_CACHE_KEY, self.legacy_reason, pod.pod.tolerations)
        passes, statuses = columns.memo(key, lambda: self._group_verdicts(columns, pod))
        at = ids[rows]
        return Verdicts(passes[at], at, statuses)

    def _group_verdicts(self, columns: Columns, pod: PodInfo) -> tuple[Bools, list[Status | None]]:
        table = columns.taint_table(FILTER_EFFECTS)
        untolerated = _untolerated(columns, FILTER_EFFECTS, pod.pod.tolerations)
        failing: Bools = np.asarray(untolerated.any(axis=1), dtype=np.bool_)
        statuses: list[Status | None] = [None] * len(failing)
        groups = np.flatnonzero(failing).tolist()
        if self.legacy_reason and groups:  # the reason names the first untolerated taint
            by_taint: dict[int, Status] = {}
            firsts = table.matrix[failing, untolerated[failing].argmax(axis=1)].tolist()
            for group, number in zip(groups, firsts, strict=True):
                status = by_taint.get(number)
                if status is None:
                    reason = format_taint_reason(table.taints[number], legacy=True)
                    status = by_taint[number] = unresolvable(reason)
                statuses[group] = status
        elif groups:
            status = unresolvable(ERR_REASON)
            for group in groups:
                statuses[group] = status
        return ~failing, statuses

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        tolerations = scoring_tolerations(pod.pod.tolerations)
        state[NAME] = tolerations
        state[_ANY_SCORE_KEY] = any(tolerates_every_taint(t) for t in tolerations)
        state[_SCORE_CACHE_KEY] = {}
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        taints = node.node.taints
        if not taints or state.get(_ANY_SCORE_KEY):
            return 0
        # As in filter: one count per shared taints tuple and cycle.
        cache: _TaintCache | None = state.get(_SCORE_CACHE_KEY)
        if cache is not None:
            hit = cache.get(id(taints))
            if hit is not None and hit[0] is taints:
                count: int = hit[1]
                return count
        tolerations = state.get(NAME)
        if tolerations is None:
            tolerations = scoring_tolerations(pod.pod.tolerations)
        count = intolerable_prefer_no_schedule(node, tolerations)
        if cache is not None:
            cache[id(taints)] = (taints, count)
        return count

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        # score for every group of equal taints at once: its PreferNoSchedule taints the
        # scoring tolerations leave untolerated (each distinct taint judged once; kept
        # across cycles for pods alike).
        ids, first = columns.by_taints()
        if type(self).score is not TaintToleration.score:  # a subclass's own score
            nodes = columns.nodes
            return decide_groups(
                ids, first, rows, lambda i: self.score(state, pod, nodes[i]), np.int64
            )
        untolerated = _untolerated(
            columns, (PREFER_NO_SCHEDULE,), scoring_tolerations(pod.pod.tolerations)
        )
        counts: Ints = untolerated.sum(axis=1, dtype=np.int64)[ids[rows]]
        return counts

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize(scores, reverse=True)

    def normalize_all(self, state: CycleState, pod: PodInfo, scores: Ints) -> Ints | None:
        return default_normalize_all(scores, reverse=True)
