"""The counting encoding: how many pods of each class go where, for large batches.

The per-pod encoding (:mod:`podfit.solver.encode`) has one Bool per (pod, node); its size
and Z3's search grow with pods × nodes. Replicas of a workload on nodes of a few shapes
do not need that: :mod:`podfit.solver.classes` groups interchangeable pods and nodes, and
this module gives Z3 one integer per (pod class, node unit), the number of the class's
pods placed there. Two granularities share one builder:

* *per node class* (the first query): a unit is a whole node class, its capacity the free
  amount of one node times the number of nodes, plus "a node holds at most ⌊free/request⌋
  pods of this class" (also times the number of nodes). This is a relaxation of the real
  problem; when it is unsatisfiable, so is the batch, and when every class has one node it
  is exact;
* *per node* (only when needed): a unit is one node; exact.

Constraints (each guarded by a named fact carrying a spec rule id, as in the per-pod
encoding): every pod of a class placed (``require_all``); a class kept off a node class by
a static filter (taints, cordon, nodeSelector, node affinity, spec.nodeName, held host
ports, declared node features, anti-affinity with running pods); per unit and resource, the
requests fit what is free (no fact for an amount only other rules bound: see
:mod:`podfit.solver.classes`); per unit, the pods fit the free pod slots; anti-affinity
among pending pods and host ports: at most one of a class per node, two classes never on one
node, and on a key nodes share the same per domain, and required pod affinity
(:mod:`podfit.solver.class_interpod`); DoNotSchedule topology spread over shared keys and
hostname (:mod:`podfit.solver.class_spread`). With ``usage``, a count of the nodes a unit
uses (or of the copies of a shape that exist) that the per-node rules scale with
(:mod:`podfit.solver.class_optimize`).

:func:`place_grouped` tries a guess first (:mod:`podfit.solver.class_greedy`: checked rule
by rule, never taken as a refutation), then the per-class query; a satisfiable answer is
packed into nodes greedily (:mod:`podfit.solver.packing`) and checked; if that fails, an
exact query decides: per node class over the ways to fill one node
(:mod:`podfit.solver.patterns`) when they are few, else per node, with the greedy packing as
Z3's starting point. An unsatisfiable answer is explained in two steps (see
:func:`infeasible`). Answers are the solver's usual ones: "feasible" with a placement (pods
of a class dealt to nodes by the counts), "infeasible" with a minimal core of facts in
sentences, or "unknown" when the time limit runs out — never "infeasible" for a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, Literal

import z3

from podfit.cluster import Cluster
from podfit.model import Pod

from .class_explain import core_rules, sentences
from .class_greedy import check, guess
from .class_spread import Place
from .classes import Conflict, Grouping, NodeClass, group
from .counting import CountFact, CountingSession, FactModel
from .cuts import pair_cuts
from .encoding import label_of
from .packing import NodeCounts, pack
from .patterns import PatternModel, patterns_of
from .result import SolveResult
from .rules import Rules
from .session import Outcome, Session
from .state import NodeState, resource_rule


@dataclass(frozen=True)
class Unit:
    """What one count variable places pods on: a node class, or one node of it."""

    index: int
    node_class: NodeClass
    nodes: tuple[NodeState, ...]

    @property
    def size(self) -> int:
        return len(self.nodes)


Usage = Literal["minimize", "add"]


@dataclass
class CountModel(FactModel):
    """The counting encoding of one grouped batch in one session: a count per (pod class,
    unit), a unit being a node class (``per_node`` False) or one node.

    ``usage`` (the optimisation questions): "minimize" gives each unit a count of the nodes in use
    (all of them for nodes that run pods already), "add" gives the units of optional node
    classes (copies of a shape) a count of the nodes that exist; the per-node rules then
    scale with those counts instead of the class's size, and an unused node takes no pod."""

    per_node: bool
    require_all: bool = True
    usage: Usage | None = None
    units: list[Unit] = field(default_factory=list)
    n: dict[tuple[int, int], z3.ArithRef] = field(default_factory=dict)
    used: dict[int, z3.ArithRef] = field(default_factory=dict)
    _node_index: dict[str, int] = field(default_factory=dict)
    # unit -> resource name or "pods" -> the indicator of its capacity or pod-count fact
    _unit_guards: dict[int, dict[str, z3.BoolRef]] = field(default_factory=dict)
    _conflict_guards: dict[Conflict, z3.BoolRef] = field(default_factory=dict)
    _spread_guards: dict[int, z3.BoolRef] = field(default_factory=dict)
    cuts: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._node_index = {n.name: i for i, n in enumerate(self.g.nodes)}
        for c in self.g.node_classes:
            groups = [(n,) for n in c.nodes] if self.per_node else [c.nodes]
            for nodes in groups:
                self.units.append(Unit(len(self.units), c, nodes))
        self._encode()

    def explaining(self, timeout_ms: int, focus: frozenset[int]) -> CountModel:
        session = CountingSession(timeout_ms=timeout_ms)
        return CountModel(
            self.g,
            session,
            per_node=self.per_node,
            require_all=self.require_all,
            usage=self.usage,
            explain=True,
            focus=focus,
        )

    @property
    def exact(self) -> bool:
        """Whether a model of this encoding is a placement (every unit is one node)."""
        return all(u.size == 1 for u in self.units) and not self.used

    # --- building ------------------------------------------------------------------------

    def _node(self, u: Unit) -> str:
        return u.nodes[0].name if self.per_node else ""

    def places(self) -> list[Place]:
        return [
            Place(
                u.node_class.index,
                u.size,
                {p: v for (p, i), v in self._by_unit.get(u.index, {}).items()},
                self.used.get(u.index),
                u.node_class.optional,
            )
            for u in self.units
        ]

    def _usage(self) -> None:
        """The nodes of each unit in use (minimize) or in existence (add): an unused node
        takes no pod."""
        t = self.t
        for u in self.units:
            c = u.node_class
            if self.usage == "add" and not c.optional:
                continue
            used = t.var(f"used[{u.index}]")
            self.used[u.index] = used
            low = u.size if self.usage == "minimize" and c.busy else 0
            self.session.assert_raw(t.ge(used.as_ast(), low))
            self.session.assert_raw(t.le(used.as_ast(), u.size))
            here = [(1, v) for p in self.g.pod_classes if (v := self.var(p.index, u)) is not None]
            most = sum(p.count for p in self.g.pod_classes)
            if here:  # the definition of the count, not a rule: no fact
                self.session.assert_raw(t.le(t.linear([*here, (-most, used)]), 0))
        if self.usage == "add":
            self.copies_in_order(
                [(u.nodes, self.used[u.index]) for u in self.units if u.index in self.used]
            )

    def within(self, u: Unit, terms: list[tuple[int, Any]], per_node: int) -> Any:
        """``Σ terms <= per_node`` on every node of the unit (in use)."""
        used = self.used.get(u.index)
        if used is None:
            return self.t.at_most(terms, per_node * u.size)
        return self.t.at_most([*terms, (-per_node, used)], 0)

    def _encode(self) -> None:
        g, t = self.g, self.t
        by_class: dict[int, list[Unit]] = {}
        self._by_unit: dict[int, dict[tuple[int, int], z3.ArithRef]] = {}
        for u in self.units:
            by_class.setdefault(u.node_class.index, []).append(u)
            for p in g.pod_classes:
                if not self.placed(p.index):
                    continue
                if not self.explain and not g.allowed(p.index, u.node_class.index):
                    continue
                var = t.var(f"n[{p.index}@{u.index}]")
                self.n[(p.index, u.index)] = var
                self._by_unit.setdefault(u.index, {})[(p.index, u.index)] = var
                self.session.assert_raw(t.ge(var.as_ast(), 0))
                self.session.assert_raw(t.le(var.as_ast(), p.count))
        if self.usage is not None:
            self._usage()
        if self.explain:
            self.guard_exclusions(
                lambda q, c: t.all([t.eq(self.n[(q, u.index)].as_ast(), 0) for u in by_class[c]])
            )
        for p in g.pod_classes:
            if not self.placed(p.index):
                continue
            counts = [v for u in self.units if (v := self.var(p.index, u)) is not None]
            total = t.linear([(1, v) for v in counts])
            self.session.assert_raw(t.le(total, p.count))
            if self.require_all:
                fact = CountFact("placement", Rules.PLACEMENT, (p.index,))
                self.guard(fact, t.eq(total, p.count))
        places = self.places()
        self._spread_guards = self.guard_spread(places)
        self.guard_affinity(places)
        for u in self.units:
            self._capacity(u)
            self._slots(u)
        for i, k in enumerate(g.conflicts):
            parts: list[Any] = []
            for u in self.units:
                a, b = self.var(k.a, u), self.var(k.b, u)
                if a is None or b is None or not k.applies(u.node_class):
                    continue
                if k.a == k.b:
                    if g.pod_classes[k.a].count > u.size or u.index in self.used:
                        parts.append(self.within(u, [(1, a)], 1))
                elif u.size == 1:
                    parts.append(t.any([t.eq(a.as_ast(), 0), t.eq(b.as_ast(), 0)]))
            # kept even without parts: the pair cuts may lean on it
            if (
                parts
                or i in g.domain_conflicts
                or any(
                    k.applies(u.node_class) and None not in (self.var(k.a, u), self.var(k.b, u))
                    for u in self.units
                )
            ):
                self._conflict_guards[k] = self.conflict_fact(i, parts, places)
        self._pair_cuts()

    def var(self, p: int, u: Unit) -> z3.ArithRef | None:
        """The count of pod class ``p`` on unit ``u`` (None: ruled out, no variable)."""
        return self.n.get((p, u.index))

    def _capacity(self, u: Unit) -> None:
        """Per resource: what the unit's pods request fits what is free. A single node's
        constraint is left out when every pod of the batch would fit; a node class's fact is
        kept even then (its nodes are still separate bins, and the pair cuts lean on it). A
        saturated resource never binds (see :mod:`podfit.solver.classes`): no fact."""
        c, t = u.node_class, self.t
        for r in self.g.resources:
            if r in c.saturated:
                continue
            free = max(c.free.get(r, 0), 0)
            askers = [
                (p.requests[r], p.count, v)
                for p in self.g.pod_classes
                if p.requests.get(r, 0) > 0 and (v := self.var(p.index, u)) is not None
            ]
            total = sum(amount * count for amount, count, _ in askers)
            if not askers or (u.size == 1 and total <= free and u.index not in self.used):
                continue
            parts = []
            if total > free * u.size or u.index in self.used:
                parts.append(self.within(u, [(amount, v) for amount, _, v in askers], free))
            for amount, count, v in askers:  # one node holds at most free // amount of a class
                if free // amount < count:
                    parts.append(self.within(u, [(1, v)], free // amount))
            fact = CountFact(
                "capacity",
                resource_rule(r),
                node_class=c.index,
                node=self._node(u),
                resource=r,
                amount=c.free.get(r, 0),
            )
            self.guard(fact, t.all(parts) if parts else t.true())
            self._unit_guards.setdefault(u.index, {})[r] = self.indicators[fact.label]

    def _slots(self, u: Unit) -> None:
        c = u.node_class
        if "pods" in c.saturated:
            return
        free = max(c.slots, 0)
        counts, most = [], 0
        for p in self.g.pod_classes:
            v = self.var(p.index, u)
            if v is not None:
                counts.append(v)
                most += p.count
        if not counts or (u.size == 1 and most <= free and u.index not in self.used):
            return
        fact = CountFact(
            "pod-count", Rules.TOO_MANY_PODS, node_class=c.index, node=self._node(u), amount=c.slots
        )
        self.guard(fact, self.within(u, [(1, v) for v in counts], free))
        self._unit_guards.setdefault(u.index, {})["pods"] = self.indicators[fact.label]

    def _pair_cuts(self) -> None:
        """The hull edges of :mod:`podfit.solver.cuts`, per unit, asserted under the facts
        they follow from (the unit's capacity and pod-count facts, the conflicts and spread
        caps involved)."""
        cuts = {c.index: pair_cuts(self.g, c) for c in self.g.node_classes}
        conflicts = list(self._conflict_guards.items())
        for u in self.units:
            own = self._unit_guards.get(u.index, {})
            for cut in cuts[u.node_class.index]:
                a, b = self.var(cut.p, u), self.var(cut.q, u)
                if a is None or b is None:
                    continue
                guards = [own[name] for name in cut.uses if name in own]
                for k, indicator in conflicts:
                    if not k.applies(u.node_class):
                        continue
                    own_cap = k.a == k.b and f"self:{k.a}" in cut.uses
                    apart = k.a != k.b and {k.a, k.b} == {cut.p, cut.q} and "apart" in cut.uses
                    if own_cap or apart:
                        guards.append(indicator)
                for name in cut.uses:
                    if name.startswith("cap:"):
                        guards.append(self._spread_guards[int(name[4:])])
                bound = self.within(u, [(cut.alpha, a), (cut.beta, b)], cut.gamma)
                self.session.assert_raw(self.t.implies_all(guards, bound) if guards else bound)
                self.cuts += 1

    # --- asking --------------------------------------------------------------------------

    def hint(self, counts: NodeCounts) -> None:
        """Start Z3's search from a (partial) packing; per-node models only."""
        for (p, u), var in self.n.items():
            node = self.units[u].nodes[0]
            self.session.hint(var, counts.get((p, self._node_index[node.name]), 0))

    def totals(self, model: z3.ModelRef) -> dict[tuple[int, int], int]:
        """(pod class, node class) -> pods placed there."""
        out: dict[tuple[int, int], int] = {}
        for (p, u), var in self.n.items():
            value = Session.int_value(model, var)
            if value:
                key = (p, self.units[u].node_class.index)
                out[key] = out.get(key, 0) + value
        return out

    def node_counts(self, model: z3.ModelRef) -> NodeCounts:
        """(pod class, node) -> pods placed there; only for exact models."""
        index = self._node_index
        out: NodeCounts = {}
        for (p, u), var in self.n.items():
            value = Session.int_value(model, var)
            if value:
                out[(p, index[self.units[u].nodes[0].name])] = value
        return out


# --- placements -------------------------------------------------------------------------------


def deal(g: Grouping, counts: Mapping[tuple[int, int], int]) -> dict[str, str]:
    """Concrete pods for the counts: each class's members, in batch order, go to its nodes
    in node order, as many to a node as the counts say."""
    per_class: dict[int, list[tuple[int, int]]] = {}
    for (p, i), k in sorted(counts.items()):
        per_class.setdefault(p, []).append((i, k))
    placement: dict[str, str] = {}
    for p, spots in per_class.items():
        pods = iter(g.pod_classes[p].members)
        for i, k in spots:
            for _ in range(k):
                placement[next(pods).key] = g.nodes[i].name
    return placement


# --- when to use it ---------------------------------------------------------------------------

# Below this many (pod, node) pairs the per-pod encoding is quick and its explanations name
# single pods and nodes; the counting encoding is for batches past it.
MIN_PAIRS = 5000


def worth_counting(g: Grouping, pods: int, nodes: int) -> bool:
    """Whether the counting encoding should take a batch the per-pod one could take: a
    large batch whose classes are fewer than its pods or nodes."""
    if pods * nodes < MIN_PAIRS:
        return False
    return len(g.pod_classes) < pods or len(g.node_classes) < nodes


# --- the question -------------------------------------------------------------------------


def _unknown(session: Session, timeout_ms: int) -> SolveResult:
    reason = session.reason_unknown or "unknown"
    return SolveResult(
        "unknown",
        explanation=[
            f"Z3 could not decide whether the pods fit within {timeout_ms} ms ({reason})."
        ],
    )


def infeasible(g: Grouping, decided: FactModel, budget_ms: int) -> SolveResult:
    """Explain an unsatisfiable model in two steps within ``budget_ms``. First the decision's
    own core (quick: ruled-out pairs have no variable there) is shrunk to a minimal one, C.
    Then the pod classes C places are asked about again with the ruled-out pairs as facts
    of their filter rules, under C's facts: every fact of C is still needed (without it the
    first model, where those pairs are ruled out for good, was satisfiable), so only the
    filter rules are shrunk. If that query runs out of time, C stands (filters unnamed)."""
    deadline = monotonic() + budget_ms / 1000

    def left() -> int:
        return max(1, int((deadline - monotonic()) * 1000))

    seed = [label_of(i) for i in decided.session.unsat_core()]
    facts, minimal = decided.minimal_core(seed, budget_ms=left())
    explained = False
    if minimal:
        focus = frozenset(c for f in facts if f.kind == "placement" for c in f.classes)
        model = decided.explaining(left(), focus)
        first = [f.label for f in facts]
        rules = [label for label, f in model.facts.items() if f.kind == "exclusion"]
        if (
            model.explain
            and all(label in model.indicators for label in first)
            and model.session.check(model.assumptions(first + rules), timeout_ms=left())
            is Outcome.UNSAT
        ):
            seed = [label_of(i) for i in model.session.unsat_core()]
            facts, minimal = model.minimal_core(seed, budget_ms=left(), kept=first)
            explained = True
    unplaced = [p.key for c in g.pod_classes for p in c.members]
    return SolveResult(
        "infeasible",
        explanation=sentences(g, facts, minimal=minimal and explained),
        core=core_rules(facts),
        unplaced=unplaced,
    )


def _feasible(g: Grouping, counts: Mapping[tuple[int, int], int]) -> SolveResult:
    placement = deal(g, counts)
    unplaced = [p.key for c in g.pod_classes for p in c.members if p.key not in placement]
    return SolveResult("feasible", placement, unplaced=unplaced)


def place_grouped(g: Grouping, *, timeout_ms: int) -> NodeCounts | SolveResult:
    """Place every pod of a grouped batch: the counts per node when they fit, else the
    answer (infeasible, explained, or unknown). A guess checked rule by rule first; then the
    per-class query, greedy packing, and an exact query: per node class over the ways to
    fill one node when they are few, else per node."""
    deadline = monotonic() + timeout_ms / 1000

    def remaining() -> int:
        return max(1, int((deadline - monotonic()) * 1000))

    first = guess(g)
    if first.totals is not None:
        packed, left = pack(g, first.totals, first.mins)
        if not left and check(g, packed):
            return packed
    focus = g.competitors(first.stuck) if first.stuck is not None else None
    if focus is not None:
        # The class the guess could not place, with those that may only run where it may: a
        # relaxation, so "they cannot be placed even alone" settles it in a small query.
        alone = CountModel(g, CountingSession(timeout_ms=timeout_ms), per_node=False, focus=focus)
        if alone.check(remaining()) is Outcome.UNSAT:
            return infeasible(g, alone, timeout_ms)
    coarse = CountModel(g, CountingSession(timeout_ms=timeout_ms), per_node=False)
    outcome = coarse.check(remaining())
    if outcome is Outcome.UNKNOWN:
        return _unknown(coarse.session, timeout_ms)
    if outcome is Outcome.UNSAT:
        return infeasible(g, coarse, timeout_ms)
    model = coarse.session.model()
    if coarse.exact:
        return coarse.node_counts(model)
    packed, left = pack(g, coarse.totals(model), coarse.minimums(model))
    if not left and check(g, packed):
        return packed
    shapes = patterns_of(g)
    exact: FactModel
    if shapes is not None:  # few ways to fill a node: exact per node class
        exact = PatternModel(g, CountingSession(timeout_ms=timeout_ms), shapes)
    else:
        exact = fine = CountModel(g, CountingSession(timeout_ms=timeout_ms), per_node=True)
        fine.hint(packed)
    outcome = exact.check(remaining())
    if outcome is Outcome.UNKNOWN:
        return _unknown(exact.session, timeout_ms)
    if outcome is Outcome.UNSAT:
        return infeasible(g, exact, timeout_ms)
    return exact.node_counts(exact.session.model())


def solve_grouped(g: Grouping, *, timeout_ms: int) -> SolveResult:
    """:func:`place_grouped` as an answer: feasible with a placement (pods of a class dealt
    to nodes by the counts), infeasible with an explanation, or unknown."""
    found = place_grouped(g, timeout_ms=timeout_ms)
    return found if isinstance(found, SolveResult) else _feasible(g, found)


def solve_by_classes(
    cluster: Cluster, pods: Sequence[Pod], *, timeout_ms: int = 10000, force: bool = False
) -> SolveResult | None:
    """:func:`podfit.solver.solve` (``require_all``) through the counting encoding, or None
    when (unless ``force``) the batch is small enough, or too varied, for the per-pod
    encoding to do better."""
    g = group(cluster, pods)
    if not force and not worth_counting(g, len(pods), len(g.nodes)):
        return None
    return solve_grouped(g, timeout_ms=timeout_ms)


__all__ = [
    "MIN_PAIRS",
    "CountModel",
    "deal",
    "infeasible",
    "place_grouped",
    "solve_by_classes",
    "solve_grouped",
    "worth_counting",
]
