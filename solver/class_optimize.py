"""The optimisation questions on the counting encoding: fewest nodes, most pods placed by
priority, fewest copies of a node shape to add.

Each has the same three steps as the decision (:func:`podfit.solver.compressed.solve_grouped`):

1. the per-class model with a count of the nodes each class uses (or, for copies of a
   shape, of the copies that exist), optimised by bisection on its objective with Z3's SMT
   core. It is a relaxation, so its optimum bounds the real one (from below for a minimum,
   lexicographically from above for the most pods placed);
2. its counts packed greedily into that many nodes per class (:mod:`podfit.solver.packing`)
   and checked rule by rule (:func:`podfit.solver.class_greedy.check`): when the packing
   reaches the bound, it is the optimum;
3. otherwise the exact per-class model over the ways to fill one node
   (:mod:`podfit.solver.patterns`), or failing that one count per node, bisected between
   the bound and the best packing found.

Topology spread over hostname takes part as a cap per node when its minimum is 0 whatever
the placement (fewer pods counted than nodes); when it may be more, a node holds up to
maxSkew + m of it and every node that exists at least m, where the nodes in use (or the
copies that exist) times m is stated through a ladder of literals for m
(:mod:`podfit.solver.class_spread`). Batches too small or too varied to group go to the
per-pod encoding (None). A time limit that runs out answers "unknown" with the best
placement found, never a wrong optimum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

import z3

from podfit.cluster import Cluster
from podfit.model import Node, Pod

from .class_greedy import check, guess
from .classes import Grouping, group
from .compressed import CountModel, deal, infeasible, place_grouped, worth_counting
from .copies import added_nodes
from .counting import CountingSession, FactModel
from .packing import NodeCounts, pack
from .patterns import PatternModel, patterns_of
from .result import SolveResult, join, most_placed
from .session import Outcome, Session

Terms = list[tuple[int, z3.ArithRef]]


@dataclass
class _Clock:
    timeout_ms: int

    def __post_init__(self) -> None:
        self.deadline = monotonic() + self.timeout_ms / 1000

    def left(self) -> int:
        return max(1, int((self.deadline - monotonic()) * 1000))

    def out(self) -> bool:
        return monotonic() >= self.deadline


@dataclass
class _Search:
    """Bisection on a linear objective of one model, under assumption literals (the bounds
    kept so far stay assumed in later checks)."""

    model: FactModel
    clock: _Clock
    kept: list[z3.BoolRef]
    bounds: int = 0

    def _bound(self, terms: Terms, value: int, at_most: bool) -> z3.BoolRef:
        t = self.model.t
        lit = self.model.session.var(f"objective[{self.bounds}]")
        self.bounds += 1
        linear = t.linear(terms)
        body = t.le(linear, value) if at_most else t.ge(linear, value)
        self.model.session.assert_raw(t.implies(lit, body))
        return lit

    def ask(self, terms: Terms, value: int, at_most: bool) -> tuple[Outcome, z3.BoolRef]:
        lit = self._bound(terms, value, at_most)
        assumptions = [*self.model.assumptions(), *self.kept, lit]
        return self.model.session.check(assumptions, timeout_ms=self.clock.left()), lit

    def least(
        self, terms: Terms, low: int, high: int
    ) -> tuple[int, z3.ModelRef | None, bool, z3.BoolRef | None]:
        """The least value in [low, high] the objective takes (``high`` taken as reachable),
        a model reaching it (None if no check found one better than ``high``), whether it
        is proven, and the literal that keeps it."""
        best: z3.ModelRef | None = None
        kept: z3.BoolRef | None = None
        while low < high:
            middle = (low + high) // 2
            outcome, lit = self.ask(terms, middle, at_most=True)
            if outcome is Outcome.SAT:
                best, kept = self.model.session.model(), lit
                high = min(middle, _value(best, terms))
            elif outcome is Outcome.UNSAT:
                low = middle + 1
            else:
                return high, best, False, kept
        return high, best, True, kept

    def most(
        self, terms: Terms, low: int, high: int
    ) -> tuple[int, z3.ModelRef | None, bool, z3.BoolRef | None]:
        """As :meth:`least`, for the greatest value in [low, high] (``low`` reachable)."""
        best: z3.ModelRef | None = None
        kept: z3.BoolRef | None = None
        while low < high:
            middle = (low + high + 1) // 2
            outcome, lit = self.ask(terms, middle, at_most=False)
            if outcome is Outcome.SAT:
                best, kept = self.model.session.model(), lit
                low = max(middle, _value(best, terms))
            elif outcome is Outcome.UNSAT:
                high = middle - 1
            else:
                return low, best, False, kept
        return low, best, True, kept


def _value(model: z3.ModelRef, terms: Terms) -> int:
    return sum(c * Session.int_value(model, v) for c, v in terms)


def _exact_model(g: Grouping, clock: _Clock, **options: Any) -> CountModel | PatternModel:
    """The exact per-class model over patterns when they are few, else one count per node."""
    shapes = patterns_of(g)
    if shapes is not None:
        return PatternModel(g, CountingSession(timeout_ms=clock.left()), shapes, **options)
    return CountModel(g, CountingSession(timeout_ms=clock.left()), per_node=True, **options)


def _used_nodes(g: Grouping, counts: NodeCounts) -> set[int]:
    """Node indexes in use: running a pod already, or given one."""
    busy = {i for i, n in enumerate(g.nodes) if n.pod_count}
    return busy | {i for (_, i), k in counts.items() if k > 0}


def _placement(g: Grouping, counts: NodeCounts) -> dict[str, str]:
    return deal(g, counts)


def _used(model: z3.ModelRef, used: Mapping[int, z3.ArithRef]) -> dict[int, int]:
    return {c: Session.int_value(model, v) for c, v in used.items()}


def _class_used(m: CountModel | PatternModel, model: z3.ModelRef) -> dict[int, int]:
    """Node class -> nodes of it in use (or existing) in ``model``."""
    out: dict[int, int] = {}
    if isinstance(m, CountModel):
        for u, v in m.used.items():
            c = m.units[u].node_class.index
            out[c] = out.get(c, 0) + Session.int_value(model, v)
        return out
    return _used(model, m.used)


def _unknown(what: str, timeout_ms: int, placement: dict[str, str]) -> SolveResult:
    return SolveResult(
        "unknown",
        placement=placement,
        explanation=[f"Z3 could not {what} within {timeout_ms} ms (timeout)."],
    )


# --- fewest nodes ---------------------------------------------------------------------------------


def minimize_nodes(
    cluster: Cluster, pods: Sequence[Pod], *, timeout_ms: int, force: bool = False
) -> SolveResult | None:
    """:func:`podfit.solver.minimize_nodes` on the counting encoding, or None when it does
    not take the batch (see the module text; ``force``: however small or varied)."""
    g = group(cluster, pods, busy_apart=True)
    if not force and not worth_counting(g, len(pods), len(g.nodes)):
        return None
    clock = _Clock(timeout_ms)
    first = place_grouped(g, timeout_ms=timeout_ms)
    if isinstance(first, SolveResult):
        return first  # infeasible (explained) or unknown
    best = first
    best_used = len(_used_nodes(g, best))
    busy = sum(1 for n in g.nodes if n.pod_count)
    coarse = CountModel(
        g, CountingSession(timeout_ms=clock.left()), per_node=False, usage="minimize"
    )
    objective: Terms = [(1, v) for v in coarse.used.values()]
    search = _Search(coarse, clock, [])
    low, model, proven, _ = search.least(objective, busy, best_used)
    if model is not None:
        counts, left = pack(
            g, coarse.totals(model), coarse.minimums(model), _class_used(coarse, model)
        )
        if not left and check(g, counts) and len(_used_nodes(g, counts)) < best_used:
            best, best_used = counts, len(_used_nodes(g, counts))
    # Optimal once a placement reaches the proven bound; else the exact model decides.
    optimal = proven and best_used <= low
    if not optimal and proven and not clock.out():
        exact = _exact_model(g, clock, usage="minimize")
        terms: Terms = [(1, v) for v in exact.used.values()]
        value, model, optimal, _ = _Search(exact, clock, []).least(terms, low, best_used)
        if model is not None:
            counts = exact.node_counts(model)
            if check(g, counts) and len(_used_nodes(g, counts)) <= value:
                best, best_used = counts, len(_used_nodes(g, counts))
            else:  # the exact model's own placement: a bug if it does not check out
                raise RuntimeError("the exact model's placement breaks a rule: encoding bug")
    placement = _placement(g, best)
    if not optimal:
        return _unknown("prove the fewest nodes", timeout_ms, placement)
    names = sorted({g.nodes[i].name for i in _used_nodes(g, best)})
    shown = join(names) if len(names) <= 8 else f"{len(names):,} nodes ({join(names)})"
    return SolveResult(
        "feasible",
        placement,
        explanation=[f"{best_used} of {len(g.nodes)} nodes are enough: {shown}."],
        objective=best_used,
    )


# --- most pods placed -----------------------------------------------------------------------------


def maximize_placed(
    cluster: Cluster,
    pods: Sequence[Pod],
    priority: Callable[[Pod], int],
    *,
    timeout_ms: int,
    force: bool = False,
) -> SolveResult | None:
    """:func:`podfit.solver.maximize_placed` on the counting encoding (lexicographic by
    priority level), or None when it does not take the batch."""
    g = group(cluster, pods, priority=priority)
    if not force and not worth_counting(g, len(pods), len(g.nodes)):
        return None
    clock = _Clock(timeout_ms)
    first = guess(g)
    if first.totals is not None:  # every pod placed: nothing can do better at any level
        counts, left = pack(g, first.totals, first.mins)
        if not left and check(g, counts):
            placement = _placement(g, counts)
            text = [f"{len(placement)} of {len(pods)} pods can be placed together."]
            return SolveResult("feasible", placement, explanation=text, objective=len(placement))
    levels = sorted({c.priority for c in g.pod_classes}, reverse=True)
    coarse = CountModel(
        g, CountingSession(timeout_ms=clock.left()), per_node=False, require_all=False
    )
    bounds, model, proven = _lexicographic(coarse, g, levels, clock, None)
    best: NodeCounts = {}
    optimal = False
    if model is not None:
        totals = coarse.totals(model)
        counts, left = pack(g, totals, coarse.minimums(model))
        if not left and check(g, counts, _per_class(totals)):
            # The relaxation's optimum placed in full: nothing can do better.
            best, optimal = counts, proven
        elif proven and not clock.out():
            exact = _exact_model(g, clock, require_all=False)
            _, model, optimal = _lexicographic(exact, g, levels, clock, bounds)
            if model is not None:
                best = exact.node_counts(model)
                if not check(g, best, _per_class(best)):
                    raise RuntimeError("the exact model's placement breaks a rule: encoding bug")
    placement = _placement(g, best)
    if not optimal:
        return _unknown("prove the largest placement", timeout_ms, placement)
    unplaced = [p.key for c in g.pod_classes for p in c.members if p.key not in placement]
    return most_placed(placement, len(pods), unplaced)


def _per_class(totals: Mapping[tuple[int, int], int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for (p, _), k in totals.items():
        out[p] = out.get(p, 0) + k
    return out


def _lexicographic(
    m: CountModel | PatternModel,
    g: Grouping,
    levels: Sequence[int],
    clock: _Clock,
    ceilings: Sequence[int] | None,
) -> tuple[list[int], z3.ModelRef | None, bool]:
    """The most pods of each priority level in turn, keeping the levels before; ``ceilings``:
    upper bounds per level already known. Returns the values, the last model, whether all
    are proven."""
    search = _Search(m, clock, [])
    values: list[int] = []
    model: z3.ModelRef | None = None
    if m.session.check(m.assumptions(), timeout_ms=clock.left()) is not Outcome.SAT:
        return values, None, False  # placing nothing always fits: only a timeout
    model = m.session.model()
    matched = ceilings is not None  # the levels so far reach the known ceilings
    for i, level in enumerate(levels):
        terms: Terms = [(1, v) for (p, _), v in m.n.items() if g.pod_classes[p].priority == level]
        high = sum(c.count for c in g.pod_classes if c.priority == level)
        if matched and ceilings is not None and i < len(ceilings):
            # Lexicographic: a level's ceiling holds only while every level before met its.
            high = min(high, ceilings[i])
        value, found, proven, lit = search.most(terms, _value(model, terms), high)
        if found is not None:
            model = found
        if lit is None:  # the level's best is the model's own value: keep it
            _, lit = search.ask(terms, value, at_most=False)
        search.kept.append(lit)
        values.append(value)
        matched = matched and ceilings is not None and i < len(ceilings) and value == ceilings[i]
        if not proven:
            return values, model, False
    return values, model, True


# --- fewest copies of a shape ---------------------------------------------------------------------


def nodes_to_add(
    cluster: Cluster,
    pods: Sequence[Pod],
    shape: Node,
    max_new: int,
    *,
    timeout_ms: int,
    force: bool = False,
) -> SolveResult | None:
    """:func:`podfit.solver.nodes_to_add` on the counting encoding, or None when it does not
    take the batch."""
    copies = added_nodes(cluster, shape, max_new)
    names = [n.name for n in copies]
    grown = cluster.copy()
    for copy in copies:
        grown.replace_node(copy)
    g = group(grown, pods, optional=frozenset(names))
    if not force and not worth_counting(g, len(pods), len(g.nodes)):
        return None
    clock = _Clock(timeout_ms)
    index = {n.name: i for i, n in enumerate(g.nodes)}
    optional = [c for c in g.node_classes if c.optional]

    def absent(k: int) -> frozenset[int]:
        return frozenset(index[name] for name in names[k:])

    def attempt(k: int) -> tuple[NodeCounts | None, int | None]:
        """The guess with the first ``k`` copies: a checked placement, or the pod class it
        could not place."""
        first = set(names[:k])
        exist = {c.index: sum(1 for n in c.nodes if n.name in first) for c in optional}
        tried = guess(g, exist)
        if tried.totals is None:
            return None, tried.stuck
        counts, left = pack(g, tried.totals, tried.mins, exist)
        return (counts if not left and check(g, counts, absent=absent(k)) else None), None

    # The fewest copies the guess places every pod with, a bound the counts then only have
    # to prove: with all of them first, then bisecting (a guess, so not taken as monotone:
    # the proof below does not rely on it).
    best, stuck = attempt(max_new)
    best_k = max_new if best is not None else max_new + 1
    low_k = 0
    while best is not None and low_k < best_k:
        middle = (low_k + best_k) // 2
        found, _ = attempt(middle)
        if found is not None:
            best, best_k = found, middle
        else:
            low_k = middle + 1
    focus = g.competitors(stuck) if best is None and stuck is not None else None
    if focus is not None:
        # The class the guess cannot place even with every copy, with those that may only
        # run where it may: a relaxation (see Grouping.competitors).
        alone = CountModel(
            g, CountingSession(timeout_ms=clock.left()), per_node=False, usage="add", focus=focus
        )
        if alone.check(clock.left()) is Outcome.UNSAT:
            return _even_with(shape, max_new, infeasible(g, alone, timeout_ms))
    if best_k == 0:
        return SolveResult(
            "feasible",
            _placement(g, best or {}),
            explanation=["Every pod fits without adding nodes."],
            objective=0,
        )
    coarse = CountModel(g, CountingSession(timeout_ms=clock.left()), per_node=False, usage="add")
    terms: Terms = [(1, v) for v in coarse.used.values()]
    outcome = coarse.check(clock.left())
    if outcome is Outcome.UNKNOWN:
        return _unknown("decide whether the pods fit", timeout_ms, {})
    if outcome is Outcome.UNSAT:
        return _even_with(shape, max_new, infeasible(g, coarse, timeout_ms))
    search = _Search(coarse, clock, [])
    first_model = coarse.session.model()
    start = min(_value(first_model, terms), best_k)
    low, model, proven, _ = search.least(terms, 0, start)
    if model is None and start == _value(first_model, terms):
        model = first_model  # the first model reaches ``start`` itself
    if model is not None:
        used = _class_used(coarse, model)
        counts, left = pack(g, coarse.totals(model), coarse.minimums(model), used)
        k = sum(used.get(c.index, 0) for c in optional)
        if k < best_k and not left and check(g, counts, absent=absent(k)):
            best, best_k = counts, k
    optimal = proven and best_k <= low
    if not optimal and proven and not clock.out():
        exact = _exact_model(g, clock, usage="add")
        exact_terms: Terms = [(1, v) for v in exact.used.values()]
        outcome = exact.check(clock.left())
        if outcome is Outcome.UNSAT:
            return _even_with(shape, max_new, infeasible(g, exact, timeout_ms))
        if outcome is Outcome.SAT:
            first_model = exact.session.model()
            high = min(best_k, _value(first_model, exact_terms))
            _, found, optimal, _ = _Search(exact, clock, []).least(exact_terms, low, high)
            found = found or first_model
            counts = exact.node_counts(found)
            k = sum(_class_used(exact, found).get(c.index, 0) for c in optional)
            if not check(g, counts, absent=absent(k)):
                raise RuntimeError("the exact model's placement breaks a rule: encoding bug")
            if k < best_k:
                best, best_k = counts, k
        else:
            optimal = False
    if best is None:
        return _unknown("decide whether the pods fit", timeout_ms, {})
    placement = _placement(g, best)
    if not optimal:
        return _unknown("prove the fewest added nodes", timeout_ms, placement)
    label = shape.name or "the shape"
    text = (
        f"Adding {best_k} node(s) shaped like {label} ({', '.join(names[:best_k])}) lets every "
        "pod fit."
        if best_k
        else "Every pod fits without adding nodes."
    )
    return SolveResult("feasible", placement, explanation=[text], objective=best_k)


def _even_with(shape: Node, max_new: int, result: SolveResult) -> SolveResult:
    lead = f"Even with {max_new} more node(s) shaped like {shape.name or 'the shape'}:"
    return SolveResult(
        result.status,
        result.placement,
        [lead, *result.explanation],
        result.core,
        result.unplaced,
        result.objective,
    )


__all__ = ["maximize_placed", "minimize_nodes", "nodes_to_add"]
