"""DoNotSchedule topology spread for the counting encoding (:mod:`podfit.solver.compressed`).

The same rule as :mod:`podfit.solver.spread` (the spec's ``topology-spread.filter.*``),
stated on counts per class instead of per pod. Node classes are split by their value of
every spread key, so a node class lies in one domain and the count of a domain is a sum of
class counts:

* ``count(v)``: the running pods the constraint's selector counts (pod class ``P``'s
  namespace, not being deleted) on ``P``'s eligible nodes of domain ``v``, plus the pending
  pods of the classes it counts placed on eligible node classes of ``v``;
* pods of ``P`` in domain ``v`` need ``count(v) + extra <= maxSkew + min``, the minimum over
  the eligible domains, taken as 0 while they are fewer than minDomains (``extra``: 1 where
  ``P`` matches its own selector but is not counted, as in the per-pod encoding);
* the minimum is an integer ``m`` with ``m <= count(u)`` for every domain: the condition holds
  for some such ``m`` exactly when it holds for the minimum itself.

Spread depends on the counts per node class only, so any packing of those counts into the
class's nodes keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from podfit.model import Pod, TopologySpreadConstraint

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
    # domain -> counted running pods on its eligible nodes
    static: Mapping[str, int]
    # node class -> the selfMatch offset for the class's pods there
    extra: Mapping[int, int]
    rule: str
    related: tuple[str, ...]
    detail: str

    @property
    def domains(self) -> list[str]:
        return sorted({self.domain_of[c] for c in self.eligible})


def spread_keys(pods: Sequence[Pod]) -> list[str]:
    """The topology keys of the pods' DoNotSchedule constraints (node classes split by them)."""
    return sorted({c.topology_key for p in pods for c in hard_constraints(p)})


def spread_rule(
    index: int,
    pod: PendingPod,
    c: TopologySpreadConstraint,
    pods: Sequence[Pod],
    node_classes: Sequence[Sequence[NodeState]],
) -> SpreadRule | None:
    """Class ``index``'s constraint ``c`` given the pending classes (their representatives
    ``pods``) and the node classes (their nodes); None when it counts nothing (an absent or
    empty selector: only the missing-key rule applies)."""
    selector = with_label_keys(c.label_selector, pod.pod.labels, c.match_label_keys)
    if selector is None or selector.is_empty:
        return None
    ns = pod.pod.namespace
    keys = [k.topology_key for k in hard_constraints(pod.pod)]

    def counted(other: Pod) -> bool:
        return (
            other.namespace == ns and not other.is_terminating and selects(selector, other.labels)
        )

    chosen = frozenset(
        i for i, nodes in enumerate(node_classes) if eligible(pod, c, keys, nodes[0])
    )
    domain_of = {
        i: nodes[0].node.labels[c.topology_key]
        for i, nodes in enumerate(node_classes)
        if c.topology_key in nodes[0].node.labels
    }
    static: dict[str, int] = {}
    for i in chosen:
        domain = domain_of[i]
        static[domain] = static.get(domain, 0) + sum(
            1 for n in node_classes[i] for e in n.pods if counted(e)
        )
    self_match = selects(selector, pod.pod.labels)
    counted_self = self_match and not pod.pod.is_terminating
    extra = {i: int(self_match) - int(counted_self and i in chosen) for i in domain_of}
    min_domains = c.min_domains if c.min_domains is not None else 1
    with_keys = {
        i for i, nodes in enumerate(node_classes) if all(k in nodes[0].node.labels for k in keys)
    }
    related: tuple[str, ...] = (Rules.SPREAD_POLICIES,) if with_keys != chosen else ()
    domains = {domain_of[i] for i in chosen}
    rule = Rules.SPREAD_SKEW
    if len(domains) < min_domains:
        rule, related = Rules.SPREAD_MIN_DOMAINS, (*related, Rules.SPREAD_SKEW)
    what = f"{selector_text(selector)}, maxSkew {c.max_skew}"
    if c.min_domains is not None:
        what += f", minDomains {c.min_domains}"
    running = ", ".join(f"{d} {k}" for d, k in sorted(static.items()))
    return SpreadRule(
        pod_class=index,
        key=c.topology_key,
        max_skew=c.max_skew,
        min_domains=min_domains,
        counted=tuple(q for q, other in enumerate(pods) if counted(other)),
        eligible=chosen,
        domain_of=domain_of,
        static=static,
        extra=extra,
        rule=rule,
        related=related,
        detail=f"{what}; matching pods running now: {running or 'none'}",
    )


ClassVars = Callable[[int, int], list[z3.ArithRef]]


def spread_constraint(t: Any, r: SpreadRule, class_vars: ClassVars, name: str) -> Any:
    """The rule as one Z3 constraint over the counts. ``t``: the model's term builder;
    ``class_vars(pod class, node class)``: the counts whose sum is the class's pods on the
    node class; ``name``: a unique name for the minimum's variable. Also asserts (unguarded)
    that the minimum is at most every domain's count, which any low enough value meets."""
    count: dict[str, list[z3.ArithRef]] = {d: [] for d in r.domains}
    for c in r.eligible:
        for q in r.counted:
            count[r.domain_of[c]].extend(class_vars(q, c))
    few = len(count) < r.min_domains
    low: z3.ArithRef | None = None
    if not few:
        low = t.var(name)
        for domain, terms in count.items():
            # m - Σ pending <= running
            bound = t.linear([(1, low), *[(-1, v) for v in terms]])
            t.session.assert_raw(t.le(bound, r.static.get(domain, 0)))
    parts: list[Any] = []
    by_place: dict[tuple[str, int], list[z3.ArithRef]] = {}
    for c, domain in r.domain_of.items():
        by_place.setdefault((domain, r.extra[c]), []).extend(class_vars(r.pod_class, c))
    for (domain, extra), here in sorted(by_place.items()):
        if not here:
            continue
        terms = [(1, v) for v in count.get(domain, [])]
        bound = r.max_skew - extra - r.static.get(domain, 0)
        if low is not None:
            terms.append((-1, low))
        skew_ok = t.le(t.linear(terms), bound)
        empty = t.le(t.linear([(1, v) for v in here]), 0)
        parts.append(t.any([empty, skew_ok]))
    return t.all(parts) if parts else t.true()


__all__ = ["ClassVars", "SpreadRule", "spread_constraint", "spread_keys", "spread_rule"]
