"""DoNotSchedule topology spread for the counting encoding (:mod:`podfit.solver.compressed`).

The same rule as :mod:`podfit.solver.spread` (the spec's ``topology-spread.filter.*``),
stated on counts per class instead of per pod. For pod class ``P`` and one of its
constraints, ``count(v)`` is the running pods the selector counts (``P``'s namespace, not
being deleted) on ``P``'s eligible nodes of domain ``v`` plus the pending pods of the
classes it counts placed there; pods of ``P`` in ``v`` need ``count(v) + extra <= maxSkew +
min``, the minimum over the eligible domains, taken as 0 while they are fewer than
minDomains (``extra``: 1 where ``P`` matches its own selector but is not counted, as in the
per-pod encoding). The minimum is an integer ``m`` with ``m <= count(u)`` for every domain:
the condition holds for some such ``m`` exactly when it holds for the minimum itself.

Two kinds of key:

* a key several nodes share (a zone): node classes are split by its value, so a node class
  lies in one domain and ``count(v)`` is a sum of class counts. Exact on class counts, and
  any packing of those counts into the class's nodes keeps it;
* a key every node has its own value of (``kubernetes.io/hostname``): each node is a domain,
  and node classes are *not* split by it (that would leave nothing to compress) but by the
  running pods the selector counts on each node, so all nodes of a class start equal. On one
  node ``a`` counted pods must stay within ``[m - running, maxSkew + m - running - extra]``
  (the upper end where ``P`` runs). Per node class that is ``A >= size·(m - running)`` and,
  when ``P`` counts itself, ``N_P <= size·(maxSkew + m - running - extra)``: exact per node
  (units of one node), a relaxation per class, and exact for any packing that keeps every
  node within the bounds (:func:`node_caps`). When the pods the rule counts are fewer than
  its eligible nodes, ``m`` is 0 whatever the placement (``forced``), and the rule is a cap
  per node: a node holding ``P`` holds at most ``maxSkew - running - extra`` counted pods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from podfit.model import LabelSelector, Pod, TopologySpreadConstraint

from .filters import eligible, hard_constraints
from .rules import Rules
from .selectors import selector_text, selects, with_label_keys
from .state import NodeState, PendingPod


@dataclass(frozen=True)
class SpreadRule:
    """One DoNotSchedule constraint of a pod class, in class terms."""

    pod_class: int
    key: str
    max_skew: int
    min_domains: int
    # pending pod classes the selector counts
    counted: tuple[int, ...]
    # node classes that take part (their nodes' counts and domains)
    eligible: frozenset[int]
    # node class -> its value of ``key`` (classes that carry it)
    domain_of: Mapping[int, str]
    # shared key: domain -> counted running pods on its eligible nodes
    static: Mapping[str, int]
    # node class -> the selfMatch offset for the class's pods there
    extra: Mapping[int, int]
    rule: str
    related: tuple[str, ...]
    detail: str
    # Every node its own domain (hostname): the per-node form in the module text.
    per_node: bool = False
    # per node: eligible node class -> counted running pods on each of its nodes
    static_node: Mapping[int, int] | None = None
    # per node: the minimum is 0 whatever the placement (too few counted pods, or fewer
    # domains than minDomains), so the rule is a fixed cap per node.
    forced: bool = False
    # the pending pods the selector counts, all of them
    pending: int = 0
    # per node: the most the minimum can be (counted pods over the nodes surely taking part;
    # 0 when forced)
    highest: int = 0

    @property
    def domains(self) -> list[str]:
        return sorted({self.domain_of[c] for c in self.eligible})

    @property
    def reads(self) -> set[int]:
        """The pod classes whose counts the rule reads."""
        return {self.pod_class, *self.counted}

    def running(self, c: int) -> int:
        """Per node: counted running pods on each node of class ``c`` (0 if not eligible)."""
        return (self.static_node or {}).get(c, 0) if c in self.eligible else 0


def eligible_classes(
    pod: PendingPod, c: TopologySpreadConstraint, node_classes: Sequence[Sequence[NodeState]]
) -> frozenset[int]:
    """The node classes that take part in the pod's constraint ``c``."""
    keys = [k.topology_key for k in hard_constraints(pod.pod)]
    return frozenset(i for i, nodes in enumerate(node_classes) if eligible(pod, c, keys, nodes[0]))


def spread_keys(pods: Sequence[Pod]) -> list[str]:
    """The topology keys of the pods' DoNotSchedule constraints (node classes split by them)."""
    return sorted({c.topology_key for p in pods for c in hard_constraints(p)})


def spread_rule(
    index: int,
    pod: PendingPod,
    c: TopologySpreadConstraint,
    pods: Sequence[Pod],
    counts: Sequence[int],
    node_classes: Sequence[Sequence[NodeState]],
    per_node: bool,
    running: Callable[[str, LabelSelector | None], Sequence[int]],
    pending: Callable[[str, LabelSelector | None], Sequence[int]],
    chosen: frozenset[int],
    optional: frozenset[int] = frozenset(),
) -> SpreadRule | None:
    """Class ``index``'s constraint ``c`` given the pending classes (their representatives
    ``pods`` and sizes ``counts``) and the node classes (their nodes); None when it counts
    nothing (an absent or empty selector: only the missing-key rule applies).
    ``running(namespace, selector)``: the running pods it counts per node class, on each
    node (per-node keys) or on all the class's nodes (shared keys); ``pending(namespace,
    selector)``: the pending classes it counts; ``chosen``: the eligible node classes
    (:func:`eligible_classes`); ``optional``: node classes whose nodes exist only when
    added."""
    selector = with_label_keys(c.label_selector, pod.pod.labels, c.match_label_keys)
    if selector is None or selector.is_empty:
        return None
    ns = pod.pod.namespace
    keys = [k.topology_key for k in hard_constraints(pod.pod)]
    domain_of = {
        i: nodes[0].node.labels[c.topology_key]
        for i, nodes in enumerate(node_classes)
        if c.topology_key in nodes[0].node.labels
    }
    on_class = running(ns, selector)
    static: dict[str, int] = {}
    static_node: dict[int, int] = {}
    for i in chosen:
        if per_node:
            static_node[i] = on_class[i]
        else:
            domain = domain_of[i]
            static[domain] = static.get(domain, 0) + on_class[i]
    self_match = selects(selector, pod.pod.labels)
    counted_self = self_match and not pod.pod.is_terminating
    extra = {i: int(self_match) - int(counted_self and i in chosen) for i in domain_of}
    min_domains = c.min_domains if c.min_domains is not None else 1
    with_keys = {
        i for i, nodes in enumerate(node_classes) if all(k in nodes[0].node.labels for k in keys)
    }
    related: tuple[str, ...] = (Rules.SPREAD_POLICIES,) if with_keys != chosen else ()
    counted_classes = tuple(sorted(pending(ns, selector)))
    forced = False
    highest = 0
    if per_node:
        sure = sum(len(node_classes[i]) for i in chosen if i not in optional)
        every = sum(len(node_classes[i]) for i in chosen)
        domains_count, few = sure, every < min_domains
        total = sum(static_node[i] * len(node_classes[i]) for i in chosen)
        total += sum(counts[q] for q in counted_classes)
        # The minimum is at most the average over the nodes that surely exist (with none
        # sure, copies that may be added could all hold some: no bound).
        forced = few or (sure > 0 and total // sure == 0)
        highest = 0 if forced else total // sure if sure else total
        running_text = f"{total - sum(counts[q] for q in counted_classes)} on the nodes"
    else:
        domains = {domain_of[i] for i in chosen}
        domains_count, few = len(domains), len(domains) < min_domains
        running_text = ", ".join(f"{d} {k}" for d, k in sorted(static.items()))
    rule = Rules.SPREAD_SKEW
    if few and domains_count < min_domains:
        rule, related = Rules.SPREAD_MIN_DOMAINS, (*related, Rules.SPREAD_SKEW)
    what = f"{selector_text(selector)}, maxSkew {c.max_skew}"
    if c.min_domains is not None:
        what += f", minDomains {c.min_domains}"
    return SpreadRule(
        pod_class=index,
        key=c.topology_key,
        max_skew=c.max_skew,
        min_domains=min_domains,
        counted=counted_classes,
        eligible=chosen,
        domain_of=domain_of,
        static=static,
        extra=extra,
        rule=rule,
        related=related,
        detail=f"{what}; matching pods running now: {running_text or 'none'}",
        per_node=per_node,
        static_node=static_node if per_node else None,
        forced=forced,
        pending=sum(counts[q] for q in counted_classes),
        highest=highest,
    )


# --- the rule on counts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """What a model's counts place pods on: ``size`` nodes of one node class (the whole
    class, or one node of it), with a count variable per pod class that may go there.
    ``used`` (optimisation): the number of those nodes in use, or for copies of a node
    shape that may be added (``optional``) the number that exist; None: all of them."""

    node_class: int
    size: int
    counts: Mapping[int, z3.ArithRef]
    used: z3.ArithRef | None = None
    optional: bool = False


def class_counts(places: Sequence[Place], q: int, c: int) -> list[z3.ArithRef]:
    return [v for p in places if p.node_class == c and (v := p.counts.get(q)) is not None]


def spread_constraint(t: Any, r: SpreadRule, places: Sequence[Place], name: str) -> Any:
    """The rule as one Z3 constraint over the counts. ``t``: the model's term builder
    (:class:`podfit.solver.counting.Terms`); ``places``: the model's units; ``name``: a
    unique name for the minimum's variable. Also asserts (unguarded) what defines the
    minimum (at most every domain's count), which a low enough value always meets."""
    if r.per_node:
        return _per_node(t, r, places, name)
    return _shared(t, r, places, name)


def _present(t: Any, places: Sequence[Place], classes: set[int]) -> Any | None:
    """None when a node of ``classes`` surely exists; else "one of them was added"."""
    optional = [p for p in places if p.node_class in classes and p.optional]
    if any(p.node_class in classes and not p.optional for p in places) or not optional:
        return None
    return t.ge(t.linear([(1, p.used) for p in optional if p.used is not None]), 1)


def _shared(t: Any, r: SpreadRule, places: Sequence[Place], name: str) -> Any:
    count: dict[str, list[z3.ArithRef]] = {d: [] for d in r.domains}
    members: dict[str, set[int]] = {d: set() for d in r.domains}
    for c in r.eligible:
        members[r.domain_of[c]].add(c)
        for q in r.counted:
            count[r.domain_of[c]].extend(class_counts(places, q, c))
    present = {d: _present(t, places, members[d]) for d in count}
    maybe = [lit for lit in present.values() if lit is not None]
    sure = len(count) - len(maybe)
    # few: fewer domains exist than minDomains (the minimum then counts as 0)
    few: Any = sure < r.min_domains
    if maybe and sure < r.min_domains:
        few = t.le(t.linear([(1, t.indicator(lit)) for lit in maybe]), r.min_domains - 1 - sure)
    low: z3.ArithRef | None = None
    parts: list[Any] = []
    if few is not True:
        low = t.var(name)
        t.session.assert_raw(t.ge(low.as_ast(), 0))
        if not maybe and count:
            # m <= the least count <= the average (a cut that spares Z3 branching on m)
            total = sum(r.static.values()) + r.pending
            t.session.assert_raw(t.le(low.as_ast(), total // len(count)))
            if r.counted == (r.pod_class,) and few is False:
                # With all N pods placed, some domain holds N / D of them, at most
                # maxSkew + m + its running pods: m >= ceil(N / D) - maxSkew (stated under
                # the rule's fact, as it follows from the skew).
                mine = [v for c in r.eligible for v in class_counts(places, r.pod_class, c)]
                least = -(-r.pending // len(count)) - r.max_skew
                if mine and least > 0:
                    placed = t.ge(t.linear([(1, v) for v in mine]), r.pending)
                    parts.append(t.implies_raw(placed, t.ge(low.as_ast(), least)))
        for domain, terms in count.items():
            # m - Σ pending <= running, for every domain that exists
            bound = t.le(t.linear([(1, low), *[(-1, v) for v in terms]]), r.static.get(domain, 0))
            lit = present[domain]
            t.session.assert_raw(bound if lit is None else t.implies_raw(lit, bound))
    by_place: dict[tuple[str, int], list[z3.ArithRef]] = {}
    for c, domain in r.domain_of.items():
        by_place.setdefault((domain, r.extra[c]), []).extend(class_counts(places, r.pod_class, c))
    for (domain, extra), here in sorted(by_place.items()):
        if not here:
            continue
        terms = [(1, v) for v in count.get(domain, [])]
        bound = r.max_skew - extra - r.static.get(domain, 0)
        skew_ok = t.le(t.linear([*terms, (-1, low)]), bound) if low is not None else None
        few_ok = t.le(t.linear(terms), bound)
        if few is True:
            ok = few_ok
        elif few is False:
            ok = skew_ok
        else:
            ok = t.all([t.implies_raw(few, few_ok), t.implies_raw(t.neg(few), skew_ok)])
        if set(r.counted) <= {r.pod_class} and bound >= 0:
            # Only the class's own pods count: with none of them here the bound holds
            # anyway (m >= 0), so no "or none here" (a case split fewer for Z3).
            parts.append(ok)
            continue
        empty = t.le(t.linear([(1, v) for v in here]), 0)
        parts.append(t.any([empty, ok]))
    return t.all(parts) if parts else t.true()


def _per_node(t: Any, r: SpreadRule, places: Sequence[Place], name: str) -> Any:
    low: z3.ArithRef | None = None
    steps: list[z3.BoolRef] = []
    if not r.forced:
        low = t.var(name)
        t.session.assert_raw(t.ge(low.as_ast(), 0))
        t.session.assert_raw(t.le(low.as_ast(), r.highest))  # m <= the least <= this
        if any(p.used is not None for p in places):
            # Nodes in use (or copies that exist) times m is no linear term: m as a ladder
            # of literals, m = Σ step[j] (step[j]: m >= j), and used·m = Σ If(step[j], used, 0).
            # (the literals themselves, not their bare ASTs: the wrappers keep them alive)
            steps = [t.session.var(f"{name}>={j}") for j in range(1, r.highest + 1)]
            for j in range(1, len(steps)):
                t.session.assert_raw(t.implies_raw(steps[j].as_ast(), steps[j - 1].as_ast()))
            ladder = t.linear([(1, t.indicator(s.as_ast())) for s in steps])
            t.session.assert_raw(t.eq(t.linear([(1, low), (-1, ladder)]), 0))

    if low is not None:
        # Copies that may be added are domains only once they exist: while fewer domains
        # exist than minDomains, the minimum counts as 0.
        sure = sum(p.size for p in places if p.node_class in r.eligible and not p.optional)
        maybe = [
            p.used
            for p in places
            if p.node_class in r.eligible and p.optional and p.used is not None
        ]
        if maybe and sure < r.min_domains:
            few = t.le(t.linear([(1, u) for u in maybe]), r.min_domains - 1 - sure)
            t.session.assert_raw(t.implies_raw(few, t.le(low.as_ast(), 0)))

    def times_min(used: z3.ArithRef) -> list[tuple[int, Any]]:
        """used · m, as terms."""
        return [(1, t.ite(s.as_ast(), used.as_ast(), t.num(0))) for s in steps]

    if low is not None:
        for p in places:
            if p.node_class not in r.eligible:
                continue
            # Every node (that exists) holds at least m - running counted pods.
            held = [(1, v) for q in r.counted if (v := p.counts.get(q)) is not None]
            running = r.running(p.node_class)
            if p.optional and p.used is not None:
                bound = t.linear(
                    [*held, *[(-c, x) for c, x in times_min(p.used)], (running, p.used)]
                )
                t.session.assert_raw(t.ge(bound, 0))
            else:
                bound = t.linear([*held, (-p.size, low)])
                t.session.assert_raw(t.ge(bound, -p.size * running))
    counts_itself = r.pod_class in r.counted
    parts: list[Any] = []
    for p in places:
        mine = p.counts.get(r.pod_class)
        if mine is None or p.node_class not in r.domain_of:
            continue
        c = p.node_class
        most = r.max_skew - r.running(c) - r.extra[c]  # plus m, on a node holding P
        empty = t.le(mine.as_ast(), 0)
        if low is None and most < 0:
            parts.append(empty)  # the cap is below 0: P may not run there at all
        elif c in r.eligible and p.size == 1:
            # One node (used or not: an unused one holds nothing): exact.
            held = [(1, v) for q in r.counted if (v := p.counts.get(q)) is not None]
            ok = t.le(t.linear([*held, *([(-1, low)] if low is not None else [])]), most)
            parts.append(t.any([empty, ok]))
        elif c in r.eligible and counts_itself:
            # N_P <= nodes · (most + m): holds at N_P = 0 as most >= 0 (or m makes it so),
            # so no "or empty" is needed, and none at all when the class cannot exceed it.
            if p.used is not None:
                scaled = [(-most, p.used), *[(-k, x) for k, x in times_min(p.used)]]
                parts.append(t.le(t.linear([(1, mine), *scaled]), 0))
            elif low is not None:
                parts.append(
                    t.any([empty, t.le(t.linear([(1, mine), (-p.size, low)]), p.size * most)])
                )
            else:
                parts.append(t.le(mine.as_ast(), p.size * most))
        elif low is not None:
            parts.append(t.any([empty, t.ge(t.linear([(1, low)]), -most)]))
    return t.all(parts) if parts else t.true()


# --- per node, for packing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cap:
    """A per-node spread rule on the nodes of one class, given its minimum: a node holding
    ``owner`` holds at most ``most`` of the ``counted`` pod classes, and every node holds at
    least ``least`` of them."""

    rule: int
    owner: int
    counted: frozenset[int]
    most: int
    least: int

    def room(self, p: int, held: Mapping[int, int]) -> int | None:
        """How many more pods of class ``p`` a node holding ``held`` takes under this cap
        (None: no limit from it)."""
        have = sum(held.get(q, 0) for q in self.counted)
        if p == self.owner:
            if p in self.counted:
                return max(self.most - have, 0)
            return None if have <= self.most else 0
        if p in self.counted and held.get(self.owner, 0):
            return max(self.most - have, 0)
        return None

    def holds(self, held: Mapping[int, int]) -> bool:
        have = sum(held.get(q, 0) for q in self.counted)
        return have >= self.least and (not held.get(self.owner, 0) or have <= self.most)


def node_caps(
    rules: Sequence[SpreadRule], node_class: int, mins: Mapping[int, int] | None = None
) -> list[Cap]:
    """The per-node rules on nodes of class ``node_class`` (which carry their key), with the
    minimum of rule ``i`` taken as ``mins[i]`` (0 when forced or not given)."""
    out = []
    for i, r in enumerate(rules):
        if not r.per_node or node_class not in r.domain_of:
            continue
        m = 0 if r.forced or mins is None else mins.get(i, 0)
        is_eligible = node_class in r.eligible
        st = r.running(node_class)
        out.append(
            Cap(
                rule=i,
                owner=r.pod_class,
                counted=frozenset(r.counted) if is_eligible else frozenset(),
                most=r.max_skew + m - st - r.extra[node_class],
                least=max(m - st, 0) if is_eligible else 0,
            )
        )
    return out


__all__ = [
    "Cap",
    "Place",
    "SpreadRule",
    "class_counts",
    "node_caps",
    "spread_constraint",
    "spread_keys",
    "spread_rule",
]
