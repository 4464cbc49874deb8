"""Exact per node class: the ways to fill one node, and how many nodes take each way.

The per-class relaxation of :mod:`podfit.solver.compressed` can pass while the pods do
not pack into single nodes (three 10-cpu nodes, pods of 8, 7, 7 and 4 cpu); the per-node
query then decides, and Z3's search over thousands of identical nodes is slow. When the
nodes of a class can be filled in only a few ways, there is an exact model per class
instead: a *pattern* is a maximal way to fill one node (how many pods of each class; no
pod of any class could be added), ``y[class, pattern]`` the number of nodes filled that
way, and the class's pods must be covered: ``N[p] <= Σ pattern[p]·y`` with ``Σ y <= nodes``.
Every node's content extends to a maximal pattern (the rules only get easier with fewer
pods on a node), and a cover gives a placement by leaving pods out, so the model is exact.

Patterns are enumerated depth first over the pod classes a node class may take, largest
first; past :data:`MAX_PATTERNS` for one node class (or :data:`MAX_STEPS` in all) there are
too many and :func:`patterns_of` says so (None). Topology spread over hostname is a cap on
what one node holds when its minimum is 0 whatever the placement, and then part of the
patterns; when the minimum may be more, what a node may hold depends on it, and there are
no patterns either. Rules on counts per domain (zone spread, anti-affinity and pod
affinity) read the counts per node class, which the model keeps as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import z3

from .class_spread import Cap, Place
from .classes import Grouping, NodeClass
from .counting import CountFact, CountingSession, FactModel
from .packing import NodeCounts, node_share
from .rules import Rules, filter_rank
from .state import resource_rule

MAX_PATTERNS = 2000
MAX_STEPS = 200_000


class _TooMany(Exception):
    pass


@dataclass(frozen=True)
class Shapes:
    """Per node class: the pod classes enumerated, the maximal patterns (counts in that
    order), and the rules that keep a pattern from growing (filter order)."""

    classes: dict[int, list[int]]
    patterns: dict[int, list[tuple[int, ...]]]
    rules: dict[int, list[str]]


class _Filler:
    """Depth-first enumeration of the maximal patterns of one node class."""

    def __init__(self, g: Grouping, c: NodeClass, classes: list[int], steps: list[int]) -> None:
        self.g = g
        self.classes = classes
        self.steps = steps
        self.requests = [g.pod_classes[p].requests for p in classes]
        self.limits = [g.pod_classes[p].count for p in classes]
        self.free = {r: max(c.free.get(r, 0), 0) for r in g.resources}
        self.slots = max(c.slots, 0)
        position = {p: i for i, p in enumerate(classes)}
        self.alone: dict[int, str] = {}  # class position -> rule (at most one per node)
        self.apart: dict[int, dict[int, str]] = {i: {} for i in range(len(classes))}
        for k in g.conflicts:
            if not k.applies(c) or k.a not in position or k.b not in position:
                continue
            a, b = position[k.a], position[k.b]
            if a == b:
                self.alone[a] = k.rule
            else:
                self.apart[a][b] = k.rule
                self.apart[b][a] = k.rule
        self.caps: list[tuple[Cap, str]] = []
        for cap in g.caps(c.index):
            rule = g.spread[cap.rule].rule
            owner = position.get(cap.owner)
            if owner is None:
                continue  # its owner never runs here: the cap never applies
            counted = frozenset(position[q] for q in cap.counted if q in position)
            self.caps.append((Cap(cap.rule, owner, counted, cap.most, 0), rule))
        self.current = [0] * len(classes)
        self.found: list[tuple[int, ...]] = []
        self.rules: set[str] = set()

    def room(self, j: int) -> int:
        """How many more pods of class position ``j`` fit beside the current ones."""
        most = min(self.limits[j] - self.current[j], self.slots)
        if j in self.alone:
            most = min(most, 1 - self.current[j])
        if any(self.current[i] for i in self.apart[j]):
            return 0
        for r, amount in self.requests[j].items():
            if amount > 0:
                most = min(most, self.free.get(r, 0) // amount)
        held = dict(enumerate(self.current))
        for cap, _ in self.caps:
            room = cap.room(j, held)
            if room is not None:
                most = min(most, room)
        return max(most, 0)

    def blockers(self, j: int) -> list[str]:
        """The rules that keep one more pod of class position ``j`` off the node."""
        found = []
        if self.slots <= 0:
            found.append(Rules.TOO_MANY_PODS)
        for r, amount in self.requests[j].items():
            if amount > 0 and self.free.get(r, 0) < amount:
                found.append(resource_rule(r))
        if j in self.alone and self.current[j]:
            found.append(self.alone[j])
        found += [rule for i, rule in self.apart[j].items() if self.current[i]]
        held = dict(enumerate(self.current))
        found += [rule for cap, rule in self.caps if cap.room(j, held) == 0]
        return found

    def put(self, j: int, k: int) -> None:
        self.current[j] += k
        self.slots -= k
        for r, amount in self.requests[j].items():
            if amount > 0:
                self.free[r] -= k * amount

    def fill(self, i: int = 0) -> None:
        self.steps[0] += 1
        if self.steps[0] > MAX_STEPS:
            raise _TooMany
        if i == len(self.classes):
            if any(self.room(j) for j in range(len(self.classes))):
                return  # not maximal
            self.found.append(tuple(self.current))
            if len(self.found) > MAX_PATTERNS:
                raise _TooMany
            for j in range(len(self.classes)):
                if self.current[j] < self.limits[j]:
                    self.rules.update(self.blockers(j))
            return
        most = self.room(i)
        # The last class takes all the room left: anything less is not maximal.
        for k in [most] if i == len(self.classes) - 1 else range(most, -1, -1):
            self.put(i, k)
            self.fill(i + 1)
            self.put(i, -k)


def _largest_first(g: Grouping, c: NodeClass, classes: list[int]) -> list[int]:
    return sorted(classes, key=lambda p: (-node_share(g, c, p), p))


def patterns_of(
    g: Grouping, *, every_class: bool = False, focus: frozenset[int] | None = None
) -> Shapes | None:
    """The maximal patterns of every node class over the pod classes it may take (with
    ``every_class``, over every pod class, as explanations need), of ``focus`` only when
    given; None when too many, or when what a node may hold depends on a spread minimum."""
    if not g.caps_fixed:
        return None
    steps = [0]
    shapes = Shapes({}, {}, {})
    try:
        for c in g.node_classes:
            classes = [
                p.index
                for p in g.pod_classes
                if (focus is None or p.index in focus)
                and (every_class or g.allowed(p.index, c.index))
            ]
            if not classes:
                continue
            filler = _Filler(g, c, _largest_first(g, c, classes), steps)
            filler.fill()
            shapes.classes[c.index] = filler.classes
            shapes.patterns[c.index] = filler.found
            shapes.rules[c.index] = sorted(filler.rules, key=lambda r: (filter_rank(r), r))
    except _TooMany:
        return None
    return shapes


def pattern_text(g: Grouping, classes: Sequence[int], patterns: Sequence[tuple[int, ...]]) -> str:
    """``1 like default/a-0 and 2 like default/b-0; or 3 like default/b-0``, four at most."""

    def one(pattern: tuple[int, ...]) -> str:
        pairs = zip(classes, pattern, strict=True)
        parts = [f"{k} like {g.pod_classes[p].pod.key}" for p, k in pairs if k]
        return " and ".join(parts) if parts else "none of them"

    shown = [one(p) for p in patterns[:4]]
    more = len(patterns) - len(shown)
    tail = f"; or one of {more} other mixes" if more > 0 else ""
    return "; or ".join(shown) + tail


@dataclass
class PatternModel(FactModel):
    """Counts per (pod class, node class) covered by patterns, exact per node class.

    ``usage`` as in :class:`podfit.solver.compressed.CountModel`: a count per node class of
    the nodes in use ("minimize": at least the nodes filled by a pattern, all of them for
    nodes that run pods) or that exist ("add": optional classes only)."""

    shapes: Shapes
    require_all: bool = True
    usage: Literal["minimize", "add"] | None = None
    n: dict[tuple[int, int], z3.ArithRef] = field(default_factory=dict)
    y: dict[tuple[int, int], z3.ArithRef] = field(default_factory=dict)
    used: dict[int, z3.ArithRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._encode()

    def explaining(self, timeout_ms: int, focus: frozenset[int]) -> FactModel:
        shapes = patterns_of(self.g, every_class=True, focus=focus)
        if shapes is None:
            return self  # too many mixes with every class: explain without the filters
        session = CountingSession(timeout_ms=timeout_ms)
        return PatternModel(
            self.g,
            session,
            shapes=shapes,
            require_all=self.require_all,
            usage=self.usage,
            explain=True,
            focus=focus,
        )

    def places(self) -> list[Place]:
        return [
            Place(
                c.index,
                c.size,
                {
                    p.index: v
                    for p in self.g.pod_classes
                    if (v := self.n.get((p.index, c.index))) is not None
                },
                self.used.get(c.index),
                c.optional,
            )
            for c in self.g.node_classes
        ]

    def _encode(self) -> None:
        g, t = self.g, self.t
        for c in g.node_classes:
            for p in g.pod_classes:
                if self.placed(p.index) and (self.explain or g.allowed(p.index, c.index)):
                    var = t.var(f"n[{p.index}@{c.index}]")
                    self.n[(p.index, c.index)] = var
                    self.session.assert_raw(t.ge(var.as_ast(), 0))
                    self.session.assert_raw(t.le(var.as_ast(), p.count))
        if self.explain:
            self.guard_exclusions(lambda q, c: t.eq(self.n[(q, c)].as_ast(), 0))
        for p in g.pod_classes:
            if not self.placed(p.index):
                continue
            counts = [
                v for c in g.node_classes if (v := self.n.get((p.index, c.index))) is not None
            ]
            total = t.linear([(1, v) for v in counts])
            self.session.assert_raw(t.le(total, p.count))
            if self.require_all:
                fact = CountFact("placement", Rules.PLACEMENT, (p.index,))
                self.guard(fact, t.eq(total, p.count))
        for c in g.node_classes:
            if self.usage == "minimize" or (self.usage == "add" and c.optional):
                used = self.used[c.index] = t.var(f"used[{c.index}]")
                low = c.size if self.usage == "minimize" and c.busy else 0
                self.session.assert_raw(t.ge(used.as_ast(), low))
                self.session.assert_raw(t.le(used.as_ast(), c.size))
        if self.usage == "add":
            self.copies_in_order(
                [(c.nodes, self.used[c.index]) for c in g.node_classes if c.index in self.used]
            )
        places = self.places()
        self.guard_spread(places)
        self.guard_affinity(places)
        for i in g.domain_conflicts:
            self.conflict_fact(i, [], places)
        for c in g.node_classes:
            if c.index in self.shapes.patterns:
                self._cover(c)
            elif c.index in self.used:  # nothing may run there: no pod on it
                here = [(1, v) for (p, d), v in self.n.items() if d == c.index]
                if here:
                    most = sum(p.count for p in g.pod_classes)
                    bound = t.linear([*here, (-most, self.used[c.index])])
                    self.session.assert_raw(t.le(bound, 0))

    def _cover(self, c: NodeClass) -> None:
        t = self.t
        classes = self.shapes.classes[c.index]
        patterns = self.shapes.patterns[c.index]
        ys = []
        for i in range(len(patterns)):
            var = t.var(f"y[{c.index}#{i}]")
            self.y[(c.index, i)] = var
            self.session.assert_raw(t.ge(var.as_ast(), 0))
            ys.append(var)
        used = self.used.get(c.index)
        nodes = t.le(t.linear([(1, v) for v in ys]), c.size)
        if used is not None:  # the nodes filled are in use (exist): a definition, no fact
            self.session.assert_raw(t.le(t.linear([*[(1, v) for v in ys], (-1, used)]), 0))
        parts: list[Any] = [nodes]
        for j, p in enumerate(classes):
            count = self.n.get((p, c.index))
            if count is None:
                continue
            cover = [(pattern[j], ys[i]) for i, pattern in enumerate(patterns) if pattern[j]]
            parts.append(
                t.le(t.linear([(1, count), *[(-k, v) for k, v in cover]]), 0)
                if cover
                else t.le(count.as_ast(), 0)
            )
        rules = self.shapes.rules[c.index] or [Rules.INSUFFICIENT]
        fact = CountFact(
            "packing",
            rules[0],
            node_class=c.index,
            detail=pattern_text(self.g, classes, patterns),
            related=tuple(rules[1:]),
        )
        self.guard(fact, t.all(parts))

    def node_counts(self, model: z3.ModelRef) -> NodeCounts:
        """(pod class, node) -> pods there: each node class's nodes take the patterns the
        model counts, then each pod class's pods are dealt to them up to its count there."""
        index = {n.name: i for i, n in enumerate(self.g.nodes)}
        out: NodeCounts = {}
        for c in self.g.node_classes:
            if c.index not in self.shapes.patterns:
                continue
            classes = self.shapes.classes[c.index]
            filled: list[tuple[int, tuple[int, ...]]] = []
            nodes = iter(c.nodes)
            for i, pattern in enumerate(self.shapes.patterns[c.index]):
                for _ in range(self.session.int_value(model, self.y[(c.index, i)])):
                    filled.append((index[next(nodes).name], pattern))
            for j, p in enumerate(classes):
                var = self.n.get((p, c.index))
                want = self.session.int_value(model, var) if var is not None else 0
                for node, pattern in filled:
                    k = min(pattern[j], want)
                    if k:
                        out[(p, node)] = k
                        want -= k
        return out


__all__ = ["MAX_PATTERNS", "MAX_STEPS", "PatternModel", "Shapes", "pattern_text", "patterns_of"]
