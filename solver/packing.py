"""Packing counts of pods into the nodes of a node class, greedily.

The counting encoding's first query (:mod:`podfit.solver.compressed`) treats the nodes of
a class as one unit: it says how many pods of each class go to each node class, with the
class's capacity summed over its nodes. Those counts still have to be packed into the
actual nodes, which is bin packing; this module tries two quick greedy orders (fill one
node before the next, biggest pods first; and one pod per node in turn), then offers the
pods left over to the room left on every node class they may use. A packing it
finds obeys every per-node constraint of the encoding (resources, pod slots, host ports,
anti-affinity conflicts and the caps of topology spread over hostname, given the minimum
the counts chose), so it is a placement once every node also holds the least such spread
asks (:func:`pack` checks); when both orders fail, the caller asks Z3 with one count per
node, using the best partial packing as a hint.
"""

from __future__ import annotations

from collections.abc import Mapping

from .class_spread import Cap
from .classes import Grouping, NodeClass

# (pod class, node index in the grouping's node list) -> pods of the class on that node
NodeCounts = dict[tuple[int, int], int]


class _Bins:
    """The nodes of one class, with what the packing has put on each so far."""

    def __init__(
        self,
        g: Grouping,
        c: NodeClass,
        node_index: Mapping[str, int],
        mins: Mapping[int, int] | None = None,
        limit: int | None = None,
    ) -> None:
        self.g = g
        self.c = c
        nodes = c.nodes if limit is None else c.nodes[:limit]
        self.ids = [node_index[n.name] for n in nodes]
        self.free = [dict(c.free) for _ in nodes]
        self.slots = [max(c.slots, 0) for _ in nodes]
        self.present: list[set[int]] = [set() for _ in nodes]
        self.held: list[dict[int, int]] = [{} for _ in nodes]
        self.counts: NodeCounts = {}
        self.mins = mins
        self.caps: list[Cap] = g.caps(c.index, mins)
        # pod class -> the classes it may not share a node with here (itself included)
        self.apart: dict[int, set[int]] = {}
        for k in g.conflicts:
            if k.applies(c):
                self.apart.setdefault(k.a, set()).add(k.b)
                self.apart.setdefault(k.b, set()).add(k.a)

    def room(self, p: int, i: int) -> int:
        """How many more pods of class ``p`` node ``i`` takes."""
        apart = self.apart.get(p, set())
        if apart & (self.present[i] - {p}):
            return 0
        most = self.slots[i]
        if p in apart:
            most = min(most, 0 if p in self.present[i] else 1)
        for r, amount in self.g.pod_classes[p].requests.items():
            if amount > 0 and most > 0:
                most = min(most, max(self.free[i].get(r, 0), 0) // amount)
        for cap in self.caps_of(p):
            if most > 0:
                room = cap.room(p, self.held[i])
                if room is not None:
                    most = min(most, room)
        return most

    def caps_of(self, p: int) -> list[Cap]:
        if self.mins:
            return [cap for cap in self.caps if p == cap.owner or p in cap.counted]
        return self.g.caps_of(self.c.index, p)

    def valid(self) -> bool:
        """Every node holds the least its spread caps ask (the most is kept by ``room``)."""
        asking = [cap for cap in self.caps if cap.least]
        return all(cap.holds(held) for cap in asking for held in self.held)

    def fill(self, p: int, want: int) -> int:
        """Put up to ``want`` pods of class ``p`` on the nodes in order, each node taking
        all it has room for; returns how many are left."""
        for i in range(len(self.ids)):
            if not want:
                break
            k = min(want, self.room(p, i))
            if k > 0:
                self.put(p, i, k)
                want -= k
        return want

    def put(self, p: int, i: int, k: int) -> None:
        for r, amount in self.g.pod_classes[p].requests.items():
            if amount > 0:
                self.free[i][r] = self.free[i].get(r, 0) - k * amount
        self.slots[i] -= k
        self.present[i].add(p)
        self.held[i][p] = self.held[i].get(p, 0) + k
        key = (p, self.ids[i])
        self.counts[key] = self.counts.get(key, 0) + k


def node_share(g: Grouping, c: NodeClass, p: int) -> float:
    """The pod's largest share of one node's free resources (its pod slot included)."""
    shares = [1 / c.slots if c.slots > 0 else 1.0]
    for r, amount in g.pod_classes[p].requests.items():
        free = c.free.get(r, 0)
        if amount > 0:
            shares.append(amount / free if free > 0 else float("inf"))
    return max(shares)


def _first_fit(bins: _Bins, demand: Mapping[int, int], order: list[int]) -> dict[int, int]:
    """Biggest classes first, each node filled before the next; returns the pods left."""
    left: dict[int, int] = {}
    for p in order:
        want = bins.fill(p, demand[p])
        if want:
            left[p] = want
    return left


def _round_robin(bins: _Bins, demand: Mapping[int, int], order: list[int]) -> dict[int, int]:
    """Biggest classes first, one pod per node in turn; returns the pods left."""
    left: dict[int, int] = {}
    start = 0
    size = len(bins.ids)
    for p in order:
        want = demand[p]
        while want:
            placed = False
            base = start  # one pass over the nodes from where the last pod went
            for step in range(size):
                if not want:
                    break
                i = (base + step) % size
                if bins.room(p, i) > 0:
                    bins.put(p, i, 1)
                    want -= 1
                    placed = True
                    start = (i + 1) % size
            if not placed:
                break
        if want:
            left[p] = want
    return left


def _spill(g: Grouping, bins: Mapping[int, _Bins], left: Mapping[int, int]) -> int:
    """Put pods the first packing left over wherever a node of a class they may use still
    has room; returns the pods still left."""
    still = 0
    fixed = g.domain_classes()  # rules read their counts per node class: not moved
    for p, want in left.items():
        if p in fixed:
            still += want
            continue
        for c, b in bins.items():
            if want and g.allowed(p, c):
                want = b.fill(p, want)
        still += want
    return still


def pack(
    g: Grouping,
    totals: Mapping[tuple[int, int], int],
    mins: Mapping[int, int] | None = None,
    used: Mapping[int, int] | None = None,
) -> tuple[NodeCounts, int]:
    """Pack ``totals`` ((pod class, node class) -> pods) into single nodes.

    Returns the per-node counts and the number of pods that did not fit (0: a complete
    packing; a packing that leaves a node below what a spread rule asks of it counts as
    one pod short). For each node class the better of the two greedy orders is kept; pods
    that still do not fit are then tried on the room left in every node class they may
    use. ``mins``: the minimum of each per-node spread rule whose minimum is a variable;
    ``used``: node class -> how many of its nodes (the first ones) may take pods.
    """
    node_index = {n.name: i for i, n in enumerate(g.nodes)}
    kept: dict[int, _Bins] = {}
    left: dict[int, int] = {}
    for c in g.node_classes:
        demand = {p.index: totals.get((p.index, c.index), 0) for p in g.pod_classes}
        demand = {p: k for p, k in demand.items() if k > 0}
        order = sorted(demand, key=lambda p: -node_share(g, c, p))
        limit = None if used is None else used.get(c.index, c.size)
        best: tuple[_Bins, dict[int, int]] | None = None
        # Spread that asks every node for some pods packs best one pod per node in turn.
        lower = any(cap.least for cap in g.caps(c.index, mins))
        for strategy in (_round_robin, _first_fit) if lower else (_first_fit, _round_robin):
            bins = _Bins(g, c, node_index, mins, limit)
            missing = strategy(bins, demand, order)
            if best is None or sum(missing.values()) < sum(best[1].values()):
                best = (bins, missing)
            if not missing:
                break
        assert best is not None
        kept[c.index] = best[0]
        for p, k in best[1].items():
            left[p] = left.get(p, 0) + k
    remaining = _spill(g, kept, left) if left else 0
    if not remaining and not all(b.valid() for b in kept.values()):
        remaining = 1
    counts: NodeCounts = {}
    for b in kept.values():
        counts.update(b.counts)
    return counts, remaining


__all__ = ["NodeCounts", "node_share", "pack"]
