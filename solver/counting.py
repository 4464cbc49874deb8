"""What the counting encodings share (:mod:`podfit.solver.compressed`,
:mod:`podfit.solver.patterns`): tracked facts about classes of pods and nodes, a session on
Z3's SMT core, linear terms built through Z3's C API, and the model base class that checks
and shrinks cores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import z3
from z3 import z3core

from .class_interpod import affinity_constraint, domain_conflict_constraint
from .class_spread import Place, spread_constraint
from .classes import Grouping
from .explain import asking, shrink
from .packing import NodeCounts
from .rules import Rules, filter_rank
from .session import Outcome, Session

FactKind = Literal[
    "placement", "exclusion", "capacity", "pod-count", "conflict", "packing", "spread", "affinity"
]


@dataclass(frozen=True, slots=True)
class CountFact:
    """One tracked constraint of the counting encoding.

    ``classes`` are pod class indexes; ``node_class`` the node class it is about (capacity,
    pod-count and packing facts); ``node`` the one node of a per-node unit; ``amount`` the
    free quantity of one node; ``detail`` the reason of a conflict (for a packing fact, what
    one node holds at most); ``key`` the topology key of an anti-affinity conflict;
    ``related`` further rules a packing fact stands for; ``where`` the (pod class, node
    class, reason) triples an exclusion fact stands for: one fact per rule, so that a core
    names a rule once rather than once per pair it rules out (which pods the explanation
    is about is settled by the placement facts)."""

    kind: FactKind
    rule: str
    classes: tuple[int, ...] = ()
    node_class: int = -1
    node: str = ""
    resource: str = ""
    amount: int = 0
    detail: str = ""
    key: str = ""
    related: tuple[str, ...] = ()
    where: tuple[tuple[int, int, str], ...] = ()

    @property
    def label(self) -> str:
        if self.kind == "packing":  # one per node class, whichever rules it stands for
            return f"packing nodeclass={self.node_class}"
        parts = [self.kind, self.rule]
        if self.classes:
            parts.append("classes=" + ",".join(str(c) for c in self.classes))
        if self.node_class >= 0:
            parts.append(f"nodeclass={self.node_class}")
        if self.node:
            parts.append(f"node={self.node}")
        if self.resource:
            parts.append(f"resource={self.resource}")
        if self.key:
            parts.append(f"key={self.key}")
        if self.kind in ("spread", "affinity"):  # two constraints of a class on one key
            parts.append(f"what={self.detail}")
        return " ".join(parts)


class CountingSession(Session):
    """A :class:`Session` on Z3's SMT core (``SimpleSolver``).

    On integer counts the default solver front end is far slower (it tried tactics that
    stalled for a minute on loads the SMT core decides in seconds), and only the SMT core
    takes initial values, which is how a greedy packing seeds the per-node query."""

    def __init__(self, *, timeout_ms: int) -> None:
        super().__init__(timeout_ms=timeout_ms)
        self._engine = z3.SimpleSolver(ctx=self.ctx)

    def hint(self, var: z3.ArithRef, value: int) -> None:
        self._engine.set_initial_value(var, z3.IntVal(value, self.ctx))

    def assert_raw(self, ast: Any) -> None:
        z3core.Z3_solver_assert(self.ctx.ref(), self._engine.solver, ast)


class Terms:
    """Linear terms over the count variables, built with Z3's C API.

    The Python wrappers coerce and reference-count every argument, which costs more than
    Z3 itself on tens of thousands of counts (as :class:`Session`'s n-ary constructors note).
    Z3 keeps an unreferenced result only until the next API call, so every term made here
    is referenced at once and kept until the session's context goes (numerals are kept
    wrapped, once per value).
    """

    def __init__(self, session: CountingSession) -> None:
        self.session = session
        self.ref = session.ctx.ref()
        self.sort = z3core.Z3_mk_int_sort(self.ref)
        self._numerals: dict[int, z3.ArithRef] = {}
        self._true = z3.BoolVal(True, session.ctx)

    def num(self, value: int) -> Any:
        found = self._numerals.get(value)
        if found is None:
            found = self._numerals[value] = z3.IntVal(value, self.session.ctx)
        return found.as_ast()

    def var(self, name: str) -> z3.ArithRef:
        return z3.Int(name, self.session.ctx)

    def true(self) -> Any:
        return self._true.as_ast()

    def _keep(self, ast: Any) -> Any:
        z3core.Z3_inc_ref(self.ref, ast)
        return ast

    @staticmethod
    def _array(asts: Sequence[Any]) -> Any:
        array = (z3.Ast * len(asts))()
        for i, a in enumerate(asts):
            array[i] = a
        return array

    def linear(self, terms: Sequence[tuple[int, Any]]) -> Any:
        """Σ coefficient · term (a variable, or an integer term of this builder)."""
        if not terms:
            return self.num(0)
        asts = [(c, v.as_ast() if isinstance(v, z3.ExprRef) else v) for c, v in terms]
        parts = [
            v
            if c == 1
            else self._keep(z3core.Z3_mk_mul(self.ref, 2, self._array([self.num(c), v])))
            for c, v in asts
        ]
        if len(parts) == 1:
            return parts[0]
        return self._keep(z3core.Z3_mk_add(self.ref, len(parts), self._array(parts)))

    def at_most(self, terms: Sequence[tuple[int, Any]], bound: int) -> Any:
        """``Σ terms <= bound`` divided through by the coefficients' gcd (the bound rounded
        down): the same integer points, and a relaxation closer to them, so Z3 branches
        far less (cpu requests in millicores share factors like 100)."""
        divisor = math.gcd(*(c for c, _ in terms)) if terms else 1
        if divisor > 1:
            terms = [(c // divisor, v) for c, v in terms]
            bound = bound // divisor
        return self.le(self.linear(terms), bound)

    def le(self, a: Any, bound: int) -> Any:
        return self._keep(z3core.Z3_mk_le(self.ref, a, self.num(bound)))

    def ge(self, a: Any, bound: int) -> Any:
        return self._keep(z3core.Z3_mk_ge(self.ref, a, self.num(bound)))

    def eq(self, a: Any, value: int) -> Any:
        return self._keep(z3core.Z3_mk_eq(self.ref, a, self.num(value)))

    def all(self, parts: Sequence[Any]) -> Any:
        if len(parts) == 1:
            return parts[0]
        return self._keep(z3core.Z3_mk_and(self.ref, len(parts), self._array(parts)))

    def any(self, parts: Sequence[Any]) -> Any:
        return self._keep(z3core.Z3_mk_or(self.ref, len(parts), self._array(parts)))

    def implies_all(self, guards: Sequence[z3.BoolRef], b: Any) -> Any:
        """And(guards) → b."""
        condition = self.all([x.as_ast() for x in guards])
        return self._keep(z3core.Z3_mk_implies(self.ref, condition, b))

    def implies(self, a: z3.BoolRef, b: Any) -> Any:
        return self._keep(z3core.Z3_mk_implies(self.ref, a.as_ast(), b))

    def implies_raw(self, a: Any, b: Any) -> Any:
        return self._keep(z3core.Z3_mk_implies(self.ref, a, b))

    def neg(self, a: Any) -> Any:
        return self._keep(z3core.Z3_mk_not(self.ref, a))

    def ite(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b``."""
        return self._keep(z3core.Z3_mk_ite(self.ref, condition, a, b))

    def indicator(self, a: Any) -> Any:
        """1 where ``a`` holds, else 0."""
        return self._keep(z3core.Z3_mk_ite(self.ref, a, self.num(1), self.num(0)))


@dataclass
class FactModel:
    """Constraints guarded by named facts in one session: what the counting encodings share
    (assumptions, checks, shrinking a core).

    ``explain``: give the pairs a static filter rules out variables too, forced to 0 under
    their exclusion facts, so that a core can name those filters. Without it such pairs
    have no variable at all (smaller and quicker, for the decision itself). ``focus``: the
    pod classes the model places (None: all); the others get no variable and no placement
    fact, as if they were left pending, which is how an explanation stays small."""

    g: Grouping
    session: CountingSession
    explain: bool = field(default=False, kw_only=True)
    focus: frozenset[int] | None = field(default=None, kw_only=True)
    facts: dict[str, CountFact] = field(default_factory=dict, kw_only=True)
    indicators: dict[str, z3.BoolRef] = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        self.t = Terms(self.session)

    def explaining(self, timeout_ms: int, focus: frozenset[int]) -> FactModel:
        """The same question about the pod classes ``focus`` in a new session, with
        ``explain``."""
        raise NotImplementedError

    def node_counts(self, model: z3.ModelRef) -> NodeCounts:
        """(pod class, node) -> pods there, from a model of an exact query."""
        raise NotImplementedError

    def placed(self, p: int) -> bool:
        """Whether the model places pod class ``p`` (see ``focus``)."""
        return self.focus is None or p in self.focus

    def guard(self, fact: CountFact, constraint: Any) -> None:
        label = fact.label
        indicator = self.indicators.get(label)
        if indicator is None:
            indicator = self.session.var(label)
            self.indicators[label] = indicator
            self.facts[label] = fact
        self.session.assert_raw(self.t.implies(indicator, constraint))

    def copies_in_order(self, units: Sequence[tuple[Sequence[Any], z3.ArithRef]]) -> None:
        """Copies of a shape are added in order, as their names say: where each copy is a unit
        of its own (a rule reads the hostname), one exists only if the one before does.
        ``units``: (the unit's nodes, its count of copies that exist)."""
        position = {n.name: i for i, n in enumerate(self.g.nodes)}
        single = sorted((position[nodes[0].name], used) for nodes, used in units if len(nodes) == 1)
        for (_, before), (_, used) in pairwise(single):
            self.session.assert_raw(self.t.le(self.t.linear([(1, used), (-1, before)]), 0))

    def guard_exclusions(self, none_there: Callable[[int, int], Any]) -> None:
        """The pairs a static filter rules out, as facts (``explain`` only): per rule,
        ``none_there(pod class, node class)`` for every pair it rules out."""
        merged: dict[str, list[tuple[int, int, str]]] = {}
        for (q, c), reasons in self.g.excluded.items():
            if not self.placed(q):
                continue
            for rule, detail in reasons:
                merged.setdefault(rule, []).append((q, c, detail))
        for rule, where in merged.items():
            fact = CountFact("exclusion", rule, where=tuple(where))
            self.guard(fact, self.t.all([none_there(q, c) for q, c, _ in where]))

    def guard_spread(self, places: Sequence[Place]) -> dict[int, z3.BoolRef]:
        """Each DoNotSchedule spread rule of a placed pod class, as one fact
        (:mod:`podfit.solver.class_spread`). Returns rule -> the fact's indicator."""
        out = {}
        for i, r in enumerate(self.g.spread):
            if not self.placed(r.pod_class):
                continue
            fact = CountFact(
                "spread",
                r.rule,
                (r.pod_class,),
                key=r.key,
                detail=r.detail,
                related=r.related,
            )
            self.guard(fact, spread_constraint(self.t, r, places, self.min_name(i)))
            out[i] = self.indicators[fact.label]
        return out

    @staticmethod
    def min_name(rule: int) -> str:
        """The name of spread rule ``rule``'s minimum (a variable when not fixed)."""
        return f"min[{rule}]"

    def minimums(self, model: z3.ModelRef) -> dict[int, int]:
        """Spread rule -> its minimum in ``model`` (rules whose minimum is a variable)."""
        out = {}
        for i, r in enumerate(self.g.spread):
            if r.per_node and not r.forced and self.placed(r.pod_class):
                out[i] = Session.int_value(model, self.t.var(self.min_name(i)))
        return out

    def guard_affinity(self, places: Sequence[Place]) -> None:
        """Each required pod affinity of a placed pod class, as one fact
        (:mod:`podfit.solver.class_interpod`)."""
        for r in self.g.affinity:
            if not self.placed(r.pod_class):
                continue
            fact = CountFact(
                "affinity",
                Rules.AFFINITY,
                (r.pod_class,),
                key=",".join(r.keys),
                detail=r.detail,
                related=r.related,
            )
            self.guard(fact, affinity_constraint(self.t, r, places))

    def conflict_fact(self, k: int, per_node: Sequence[Any], places: Sequence[Place]) -> Any:
        """Conflict ``k`` of the grouping as one fact: ``per_node`` (its constraints on single
        nodes) and, on a shared key, its constraints per domain. Returns the indicator."""
        c = self.g.conflicts[k]
        parts = list(per_node)
        domain = self.g.domain_conflicts.get(k)
        if domain is not None:
            parts += domain_conflict_constraint(self.t, domain, places)
        classes = (c.a,) if c.a == c.b else (c.a, c.b)
        fact = CountFact("conflict", c.rule, classes, key=c.key, detail=c.detail)
        self.guard(fact, self.t.all(parts) if parts else self.t.true())
        return self.indicators[fact.label]

    def assumptions(self, labels: Iterable[str] | None = None) -> list[z3.BoolRef]:
        chosen = self.indicators.keys() if labels is None else labels
        return [self.indicators[label] for label in chosen]

    def check(self, timeout_ms: int) -> Outcome:
        return self.session.check(self.assumptions(), timeout_ms=timeout_ms)

    def minimal_core(
        self, seed: Sequence[str], *, budget_ms: int, kept: Iterable[str] = ()
    ) -> tuple[list[CountFact], bool]:
        """Shrink an unsatisfiable set of facts (see :func:`podfit.solver.explain.shrink`):
        pods to place first, then rules late in the filter order; ``kept``: facts known to
        be needed. Returns the facts and whether the result is proven minimal."""

        def order(label: str) -> tuple[int, int]:
            fact = self.facts[label]
            return (0, 0) if fact.kind == "placement" else (1, -filter_rank(fact.rule))

        ask = asking(self.session, self.assumptions)
        labels, minimal = shrink(sorted(seed, key=order), ask, budget_ms=budget_ms, kept=kept)
        return [self.facts[label] for label in labels], minimal
