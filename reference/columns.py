"""Every node at once: a snapshot's per-node facts as numpy arrays, in the node order.

A scheduling cycle asks each filter and score plugin about every node. One Python call per
node and plugin is most of a cycle's cost on a large cluster, while most answers depend on
a few numbers (requests, allocatable) or on facts many nodes share (taints, the labels a
pod's terms read). Plugins may answer for all nodes at once from these columns
(``Plugin.filter_all`` / ``Plugin.score_all``); they stay defined by their per-node
``filter`` / ``score``, which the framework still calls for every node a column answer
does not settle, and the tests hold the two equal.

Resource columns follow the nodes' pods: each row remembers its NodeInfo's version and is
read again when the node changes. Groupings (by taints, by label values) depend on the
nodes only, which a snapshot never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from podfit.model import Taint, Toleration

from .nodeinfo import NodeInfo, last_version
from .status import Code, Status
from .taints import tolerates_taint

T = TypeVar("T")

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]

# How many answers Columns.memo keeps.
_MEMO_SIZE = 256

# Amounts at or beyond this stay with the per-node path: the scores multiply by 100 in
# int64 and divide in float64, which must give what Python's integers and floats give.
SAFE_LIMIT = 2**53

#: Tables of NodeInfo a resource column can come from.
ALLOCATABLE = "allocatable"
REQUESTED = "requested"
NONZERO_REQUESTED = "nonzero_requested"


class Columns:
    """Per-node facts of ``nodes`` (a snapshot's NodeInfos, in its order) as arrays."""

    def __init__(self, nodes: list[NodeInfo]) -> None:
        self.nodes = nodes
        self.names = [n.node.name for n in nodes]
        self.seen = last_version()
        self.versions = _versions(nodes)
        self._resources: dict[tuple[str, str], Ints | None] = {}
        self._pod_count: Ints = np.array([len(n.pods) for n in nodes], dtype=np.int64)
        self._groups: dict[Hashable, tuple[Ints, list[int]]] = {}
        self._labels: dict[str, tuple[Ints, dict[str, int]]] = {}
        self._flags: dict[Hashable, Bools] = {}
        self._positions: dict[str, int] | None = None
        self._memo: dict[Hashable, Any] = {}
        self._tables: dict[Hashable, TaintTable] = {}

    def refresh(self, nodes: list[NodeInfo]) -> None:
        """Follow ``nodes`` (the snapshot's NodeInfos now, in the same order): read again
        the rows of nodes whose pods changed since the columns were made."""
        if last_version() == self.seen and nodes == self.nodes:  # the same objects: quick
            return  # no NodeInfo has changed since
        self.seen = last_version()
        versions = _versions(nodes)
        rows = np.flatnonzero(versions != self.versions).tolist()
        if not rows:
            self.nodes = nodes
            return
        if any(nodes[i].node is not self.nodes[i].node for i in rows):
            self.__init__(nodes)  # type: ignore[misc]  # another node: start again
            return
        self.nodes = nodes
        self.versions = versions
        for i in rows:
            self._pod_count[i] = len(nodes[i].pods)
        for key, column in self._resources.items():
            if column is None:
                continue
            table, name = key
            for i in rows:
                value = getattr(nodes[i], table).get(name, 0)
                if not -SAFE_LIMIT < value < SAFE_LIMIT:
                    self._resources[key] = None
                    break
                column[i] = value

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept under ``key`` while the columns hold the same nodes: for an
        answer that depends only on facts of the nodes and on what ``key`` holds (such as
        a pod's tolerations), so that pods alike share it across cycles."""
        if key in self._memo:
            hit: T = self._memo[key]
            return hit
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()  # many different pods: start again rather than grow
        value = self._memo[key] = compute()
        return value

    def forget(self) -> None:
        """Drop what :meth:`memo` keeps (a cycle then works everything out afresh)."""
        self._memo.clear()

    def positions(self) -> dict[str, int]:
        """Node name -> its row."""
        if self._positions is None:
            self._positions = {name: i for i, name in enumerate(self.names)}
        return self._positions

    @property
    def pod_count(self) -> Ints:
        return self._pod_count

    def resource(self, table: str, name: str) -> Ints | None:
        """Each node's amount of resource ``name`` in ``table`` (0 where absent), or None
        when some amount is too large for exact array arithmetic."""
        key = (table, name)
        if key not in self._resources:
            values = [getattr(n, table).get(name, 0) for n in self.nodes]
            safe = all(-SAFE_LIMIT < v < SAFE_LIMIT for v in values)
            self._resources[key] = np.array(values, dtype=np.int64) if safe else None
        return self._resources[key]

    def groups(self, fact: Hashable, of: Callable[[NodeInfo], Hashable]) -> tuple[Ints, list[int]]:
        """The nodes grouped by a fact of the node alone (``of(node)``, named ``fact``):
        each node's group number and each group's first node."""
        hit = self._groups.get(fact)
        if hit is None:
            numbers: dict[Hashable, int] = {}
            first: list[int] = []
            ids = []
            for i, node in enumerate(self.nodes):
                value = of(node)
                number = numbers.get(value)
                if number is None:
                    number = numbers[value] = len(first)
                    first.append(i)
                ids.append(number)
            hit = self._groups[fact] = (np.array(ids, dtype=np.int64), first)
        return hit

    def by_taints(self) -> tuple[Ints, list[int]]:
        """The nodes grouped by their taints (equal taints, in the same order)."""
        return self.groups("taints", _taints)

    def taint_table(self, effects: tuple[str, ...]) -> TaintTable:
        """The groups of :meth:`by_taints` as indexes into the distinct taints with one of
        ``effects`` (see :class:`TaintTable`)."""
        fact = ("taint-table", effects)
        hit = self._tables.get(fact)
        if hit is None:
            first = self.by_taints()[1]
            numbers: dict[tuple[str, str, str], int] = {}
            taints: list[Taint] = []
            rows: list[list[int]] = []
            for i in first:
                row = []
                for taint in self.nodes[i].node.taints:
                    if taint.effect in effects:
                        key = (taint.key, taint.value, taint.effect)
                        number = numbers.get(key)
                        if number is None:
                            number = numbers[key] = len(taints)
                            taints.append(taint)
                        row.append(number)
                rows.append(row)
            matrix = np.full((len(rows), max(map(len, rows), default=0)), len(taints), np.int64)
            for group, row in enumerate(rows):
                matrix[group, : len(row)] = row
            hit = self._tables[fact] = TaintTable(taints, matrix)
        return hit

    def flag(self, fact: Hashable, of: Callable[[NodeInfo], bool]) -> Bools:
        """Each node's yes/no fact of the node alone (``of(node)``, named ``fact``)."""
        column = self._flags.get(fact)
        if column is None:
            column = self._flags[fact] = np.array([of(n) for n in self.nodes], dtype=np.bool_)
        return column

    def label(self, key: str) -> Ints:
        """Each node's value of label ``key`` as a number: 0 without the label, equal
        numbers for equal values (:meth:`label_values` maps values to their numbers)."""
        hit = self._labels.get(key)
        if hit is None:
            numbers: dict[str, int] = {}
            column = np.array(
                [
                    0
                    if (v := n.node.labels.get(key)) is None
                    else numbers.setdefault(v, len(numbers) + 1)
                    for n in self.nodes
                ],
                dtype=np.int64,
            )
            hit = self._labels[key] = (column, numbers)
        return hit[0]

    def label_values(self, key: str) -> dict[str, int]:
        """Label ``key``'s values on the nodes -> their numbers in :meth:`label`."""
        self.label(key)
        return self._labels[key][1]

    def per_value(self, key: str, amounts: Mapping[str, int], rows: Ints) -> Ints:
        """For each node of ``rows``, ``amounts`` of its value of label ``key`` (0 without
        the label or when the value has no amount)."""
        numbers = self.label_values(key)
        table = np.zeros(len(numbers) + 1, dtype=np.int64)
        if amounts:
            # Values no node has land on number 0, which is then reset.
            at = np.fromiter(map(numbers.get, amounts, repeat(0)), np.int64, len(amounts))
            table[at] = np.fromiter(amounts.values(), np.int64, len(amounts))
            table[0] = 0
        looked_up: Ints = table[self.label(key)[rows]]
        return looked_up

    def by_labels(self, keys: Sequence[str]) -> tuple[Ints, list[int]]:
        """The nodes grouped by their values of the labels ``keys`` (a missing label is a
        value of its own): each node's group number and each group's first node."""
        fact = ("labels", tuple(keys))
        hit = self._groups.get(fact)
        if hit is None:
            if not keys:
                hit = (np.zeros(len(self.nodes), dtype=np.int64), [0] if self.nodes else [])
            else:
                stacked = np.stack([self.label(k) for k in keys], axis=1)
                _, first, inverse = np.unique(
                    stacked, axis=0, return_index=True, return_inverse=True
                )
                hit = (inverse.reshape(-1).astype(np.int64), [int(i) for i in first])
            self._groups[fact] = hit
        return hit


def _taints(node: NodeInfo) -> Hashable:
    return node.node.taints


@dataclass(frozen=True)
class TaintTable:
    """Each group of nodes with equal taints as indexes into ``taints``, the distinct
    taints (by key, value and effect: all a toleration reads) with some effects: a row per
    group, in the node's order, padded with ``len(taints)``."""

    taints: list[Taint]
    matrix: Ints

    def untolerated(self, tolerations: tuple[Toleration, ...]) -> Bools:
        """Per group and taint of its row, whether no toleration tolerates it (padding:
        False)."""
        tolerated = [tolerates_taint(tolerations, t) for t in self.taints]
        lookup = np.array([*tolerated, True], dtype=np.bool_)
        untolerated: Bools = ~lookup[self.matrix]
        return untolerated


def _versions(nodes: list[NodeInfo]) -> Ints:
    return np.fromiter(map(_VERSION, nodes), np.int64, len(nodes))


_VERSION = attrgetter("version")


def _present(ids: Ints, groups: int) -> list[int]:
    """The group numbers that occur in ``ids``, ascending."""
    return np.flatnonzero(np.bincount(ids, minlength=groups)).tolist()


def decide_groups(
    ids: Ints, first: list[int], rows: Ints, decide: Callable[[int], Any], dtype: Any
) -> npt.NDArray[Any]:
    """``decide(node)`` for each group present among ``rows``, asked of the group's first
    node (the answer depends only on what the group shares), spread back over ``rows``."""
    table = np.zeros(len(first), dtype=dtype)
    for group in _present(ids[rows], len(first)):
        table[group] = decide(first[group])
    looked_up: npt.NDArray[Any] = table[ids[rows]]
    return looked_up


@dataclass(frozen=True)
class Verdicts:
    """A filter's answer for many nodes at once: whether each row passes and, where it
    does not, its group (an index into ``group_statuses``) and each group's status, as
    the plugin's ``filter`` gives it; without groups, ``filter`` decides those rows."""

    passes: Bools
    groups: Ints | None = None
    group_statuses: list[Status | None] | None = None


def filter_groups(
    ids: Ints, first: list[int], rows: Ints, run_filter: Callable[[int], Status | None]
) -> Verdicts:
    """``run_filter(node)`` for each group present among ``rows``, asked of the group's
    first node (the answer depends only on what the group shares), spread over ``rows``."""
    passes = np.zeros(len(first), dtype=np.bool_)
    statuses: list[Status | None] = [None] * len(first)
    for group in _present(ids[rows], len(first)):
        status = run_filter(first[group])
        if status is None or status.code is Code.SUCCESS:
            passes[group] = True
        else:
            statuses[group] = status
    at = ids[rows]
    return Verdicts(passes[at], at, statuses)
