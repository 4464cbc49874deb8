"""Inter-pod (anti-)affinity among pending pods for the counting encoding.

The same rules as :mod:`podfit.solver.interpod` (the spec's
``inter-pod-affinity.filter.*``), stated on counts per class. Node classes are split by the
value of every topology key these rules read on shared keys, so a node class lies in one
domain of each, and "how many pods of a class are in domain v" is a sum of class counts:

* anti-affinity among pending pods on a key several nodes share (a zone): a class whose
  term selects itself gets "at most one per domain" (``Σ N[a, c] <= 1`` over the classes of
  the domain), two classes "not both in one domain" (one of the two sums is 0). On a key
  each node has its own value of (hostname) these are the per-node conflicts of
  :mod:`podfit.solver.classes` (at most one per node, never on one node);
* required affinity of class ``P`` (terms ``T``, keys ``K``): a node of class ``c`` passes
  when, for each term, its domain holds ``need`` pods of the classes matching *all* terms
  (``need`` 2 when ``P`` matches them itself: another one besides the pod), or a running
  matching pod; otherwise only the first-pod exception admits it: ``P`` matches its own
  terms, no matching pod runs on a node carrying a key of ``K``, and at most one pending
  matching pod is placed on such nodes. ``N[P, c] = 0`` or one of the two.

Both read class counts per node class only, so any packing within the classes keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from podfit.model import Pod

from .class_spread import Place, class_counts
from .rules import Rules
from .selectors import NamespaceLabels, PodTerm
from .state import NodeState


@dataclass(frozen=True)
class AffinityRule:
    """The required pod affinity of one pod class, in class terms."""

    pod_class: int
    keys: tuple[str, ...]
    # term topology keys, in term order (a key may repeat)
    term_keys: tuple[str, ...]
    # pending classes matching every term (the class itself when it matches)
    members: tuple[int, ...]
    need: int
    # term key -> domain values where a running pod matching every term runs
    supported: Mapping[str, frozenset[str]]
    # The first-pod exception may apply (the class matches its terms and no matching pod
    # runs on a node carrying a key): it then needs "at most one member on keyed nodes".
    first: bool
    # node class -> its values of the keys it carries (classes carrying at least one)
    value_of: Mapping[int, Mapping[str, str]]
    # node classes carrying at least one key
    keyed: frozenset[int]
    detail: str
    related: tuple[str, ...]

    @property
    def reads(self) -> set[int]:
        return {self.pod_class, *self.members}


def affinity_rule(
    index: int,
    terms: tuple[PodTerm, ...],
    pods: Sequence[Pod],
    counts: Sequence[int],
    node_classes: Sequence[Sequence[NodeState]],
    running: Sequence[tuple[Pod, NodeState]],
    ns: NamespaceLabels,
) -> tuple[AffinityRule | None, dict[int, str]]:
    """Class ``index``'s required affinity ``terms``, and the node classes it rules out for
    good with the reason (no key; or a domain no matching pod can ever be in and no
    first-pod exception). None when nothing is left to decide on counts."""
    pod = pods[index]
    keys = tuple(sorted({t.topology_key for t in terms}))
    describe = "; ".join(f"{t.text()} in its {t.topology_key}" for t in terms)

    def matches_all(other: Pod) -> bool:
        return all(t.selects(other, ns) for t in terms)

    matched_running = [(e, m) for e, m in running if matches_all(e)]
    self_match = matches_all(pod)
    members = tuple(q for q, other in enumerate(pods) if matches_all(other))
    others = sum(counts[q] for q in members) - (1 if self_match else 0)
    counted_running = [(e, m) for e, m in matched_running if any(k in m.node.labels for k in keys)]
    first_always = self_match and not counted_running and others == 0
    first = self_match and not counted_running and others > 0
    related = (Rules.AFFINITY_FIRST_POD,) if self_match else ()
    supported = {
        t.topology_key: frozenset(
            m.node.labels[t.topology_key]
            for _, m in matched_running
            if t.topology_key in m.node.labels
        )
        for t in terms
    }
    value_of: dict[int, dict[str, str]] = {}
    keyed: set[int] = set()
    ruled_out: dict[int, str] = {}
    for i, nodes in enumerate(node_classes):
        labels = nodes[0].node.labels
        if any(k in labels for k in keys):
            keyed.add(i)
            value_of[i] = {k: labels[k] for k in keys if k in labels}
        missing = [k for k in keys if k not in labels]
        if missing:
            ruled_out[i] = f"no label {missing[0]}, which its required pod affinity needs"
            continue
        if first_always:
            continue
        for t in terms:
            value = labels[t.topology_key]
            if value not in supported[t.topology_key] and others == 0 and not first:
                ruled_out[i] = _why_not(
                    describe, f"{t.topology_key} {value}", matched_running, self_match
                )
                break
    if first_always:
        return None, ruled_out
    rule = AffinityRule(
        pod_class=index,
        keys=keys,
        term_keys=tuple(t.topology_key for t in terms),
        members=members,
        need=2 if self_match else 1,
        supported=supported,
        first=first,
        value_of=value_of,
        keyed=frozenset(keyed),
        detail=describe,
        related=related,
    )
    return rule, ruled_out


def _why_not(
    describe: str, where: str, matched: list[tuple[Pod, NodeState]], self_match: bool
) -> str:
    if not matched:
        itself = "" if self_match else ", and it does not match its own terms"
        return f"no pod matches its required pod affinity ({describe}){itself}"
    text = f"no pod matching its required pod affinity ({describe}) runs in {where}"
    if self_match:
        text += f"; the first-pod exception is off since {matched[0][0].key} matches"
    return text


def affinity_constraint(t: Any, r: AffinityRule, places: Sequence[Place]) -> Any:
    """The rule as one constraint over the counts (``t``: the model's term builder)."""
    members_on: dict[int, list[Any]] = {}

    def on(c: int) -> list[Any]:
        found = members_on.get(c)
        if found is None:
            found = members_on[c] = [v for q in r.members for v in class_counts(places, q, c)]
        return found

    alone = None
    if r.first:
        on_keyed = [v for c in sorted(r.keyed) for v in on(c)]
        alone = t.le(t.linear([(1, v) for v in on_keyed]), 1)
    parts = []
    sums: dict[tuple[str, str], Any] = {}
    for c, values in sorted(r.value_of.items()):
        here = class_counts(places, r.pod_class, c)
        if not here or len(values) < len(r.keys):
            continue
        support = []
        for key in dict.fromkeys(r.term_keys):
            value = values[key]
            if value in r.supported[key]:
                continue
            total = sums.get((key, value))
            if total is None:
                domain = [v for d, vs in r.value_of.items() if vs.get(key) == value for v in on(d)]
                total = sums[(key, value)] = t.ge(t.linear([(1, v) for v in domain]), r.need)
            support.append(total)
        if not support:
            continue
        empty = t.le(t.linear([(1, v) for v in here]), 0)
        options = [empty, t.all(support)]
        if alone is not None:
            options.append(alone)
        parts.append(t.any(options))
    return t.all(parts) if parts else t.true()


@dataclass(frozen=True)
class DomainConflict:
    """Anti-affinity among pending pods on a key several nodes share: pods of class ``a`` and
    of class ``b`` are never in one domain (``a == b``: at most one of the class per
    domain). ``value_of``: node class -> its value of ``key`` (classes carrying it)."""

    a: int
    b: int
    key: str
    value_of: Mapping[int, str]


def domain_conflict_constraint(t: Any, k: DomainConflict, places: Sequence[Place]) -> list[Any]:
    """One constraint per domain of the key."""
    by_domain: dict[str, list[int]] = {}
    for c, value in k.value_of.items():
        by_domain.setdefault(value, []).append(c)
    parts = []
    for _, classes in sorted(by_domain.items()):
        a = [v for c in classes for v in class_counts(places, k.a, c)]
        if k.a == k.b:
            if a:
                parts.append(t.le(t.linear([(1, v) for v in a]), 1))
            continue
        b = [v for c in classes for v in class_counts(places, k.b, c)]
        if a and b:
            none_a = t.le(t.linear([(1, v) for v in a]), 0)
            none_b = t.le(t.linear([(1, v) for v in b]), 0)
            parts.append(t.any([none_a, none_b]))
    return parts


__all__ = [
    "AffinityRule",
    "DomainConflict",
    "affinity_constraint",
    "affinity_rule",
    "domain_conflict_constraint",
]
