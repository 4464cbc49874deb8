"""A first guess for the counting encoding, and the check every placement from counts passes.

Most batches fit with room to spare, and then the per-class query is the slow part of
deciding them: on a few hundred workloads and dozens of node classes (nodes made unalike by
what already runs on them) Z3's integer search takes seconds where a guess takes
milliseconds. :func:`guess` hands out each pod class's pods over the node classes the way
kube-scheduler's spreading would, one pod at a time: to the topology domain that holds the
fewest the constraint counts, then to the node class with the most room left, never past
what the class can take on one node times its nodes. The guess is then packed into nodes
(:mod:`podfit.solver.packing`), and :func:`check` decides whether the result obeys every
rule of the batch, stated once more on the per-node counts: static exclusions, resources,
pod slots, host ports and anti-affinity on one node, topology spread per domain (shared
keys and hostname alike, with the minimum taken from the counts), anti-affinity per domain
and pod affinity. Only a placement that passes is answered without Z3; a guess that fails is
just dropped (it never decides "infeasible").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .class_interpod import AffinityRule, DomainConflict
from .class_spread import SpreadRule
from .classes import Grouping
from .packing import NodeCounts


def _own_caps(g: Grouping) -> dict[tuple[int, int], int]:
    """(pod class, node class) -> the most of the class one node may hold under its own
    hostname spread (as loose as the rule's minimum may be: a guess, the check has the last
    word)."""
    own: dict[tuple[int, int], int] = {}
    for c in g.node_classes:
        for cap in g.caps(c.index):
            if cap.owner in cap.counted:
                most = max(cap.most + g.spread[cap.rule].highest, 0)
                key = (cap.owner, c.index)
                own[key] = min(own.get(key, most), most)
    return own


def _per_node_limit(g: Grouping, p: int, c: int, own: Mapping[tuple[int, int], int]) -> int:
    """The most pods of class ``p`` one node of class ``c`` takes on its own."""
    node = g.node_classes[c]
    pods = g.pod_classes[p]
    most = min(pods.count, max(node.slots, 0), own.get((p, c), pods.count))
    for r, amount in pods.requests.items():
        if amount > 0:
            most = min(most, max(node.free.get(r, 0), 0) // amount)
    if any(k.applies(node) for k in g.self_conflicts(p)):
        most = min(most, 1)
    return max(most, 0)


class _Stuck(Exception):
    def __init__(self, pod_class: int) -> None:
        self.pod_class = pod_class


@dataclass(frozen=True)
class Guess:
    """Counts per (pod class, node class), or the pod class the guess could not place."""

    totals: dict[tuple[int, int], int] | None
    stuck: int | None = None
    # per-node spread rule -> its minimum in the guess (rules whose minimum may pass 0)
    mins: dict[int, int] | None = None


def guess(g: Grouping, exist: Mapping[int, int] | None = None) -> Guess:
    """Counts per (pod class, node class) that kube-scheduler-like spreading would give, or
    the first pod class the guess could not place in full (none at all when the batch has
    pod affinity, which a one-pass guess cannot honour). ``exist``: node class -> how many
    of its nodes exist (copies of a shape: the first that many), all by default."""
    if g.affinity:
        return Guess(None)
    try:
        totals = _guess(g, exist or {})
    except _Stuck as stuck:
        return Guess(None, stuck.pod_class)
    return Guess(totals, mins=_minimums(g, totals, exist or {}))


def _minimums(
    g: Grouping, totals: Mapping[tuple[int, int], int], exist: Mapping[int, int]
) -> dict[int, int]:
    """Each per-node rule's minimum once the class counts are spread evenly over the nodes
    of each class that exist (what a packing one pod per node in turn gives)."""
    out = {}
    for i, r in enumerate(g.spread):
        if not r.per_node or r.forced:
            continue
        lows = []
        for c in r.eligible:
            size = exist.get(c, g.node_classes[c].size)
            if size:
                held = sum(totals.get((q, c), 0) for q in r.counted)
                lows.append(r.running(c) + held // size)
        out[i] = min(lows, default=0)
    return out


def _guess(g: Grouping, exist: Mapping[int, int]) -> dict[tuple[int, int], int]:
    sizes = {c.index: exist.get(c.index, c.size) for c in g.node_classes}
    room = {
        c.index: {r: max(c.free.get(r, 0), 0) * sizes[c.index] for r in g.resources}
        for c in g.node_classes
    }
    slots = {c.index: max(c.slots, 0) * sizes[c.index] for c in g.node_classes}
    totals: dict[tuple[int, int], int] = {}
    shared = [r for r in g.spread if not r.per_node]
    # per shared rule: domain -> pods it counts there so far (running ones included)
    counted = [dict(r.static) for r in shared]
    held: dict[tuple[int, str, str], int] = {}  # (pod class, key, domain) -> pods there

    own = _own_caps(g)

    def order(p: int) -> tuple[int, int]:
        allowed = sum(1 for c in g.node_classes if g.allowed(p, c.index))
        return (allowed, -sum(g.pod_classes[p].requests.values()))

    def add(p: int, c: int, k: int) -> None:
        pods = g.pod_classes[p]
        totals[(p, c)] = totals.get((p, c), 0) + k
        slots[c] -= k
        for r, amount in pods.requests.items():
            if amount > 0:
                room[c][r] -= k * amount
        for i, rule in enumerate(shared):
            if p in rule.counted and c in rule.eligible:
                domain = rule.domain_of[c]
                counted[i][domain] = counted[i].get(domain, 0) + k
        for conflict in g.domain_conflicts.values():
            value = conflict.value_of.get(c)
            if p in (conflict.a, conflict.b) and value is not None:
                key = (p, conflict.key, value)
                held[key] = held.get(key, 0) + k

    for p in sorted(range(len(g.pod_classes)), key=order):
        pods = g.pod_classes[p]
        limit = {
            c.index: _per_node_limit(g, p, c.index, own) * sizes[c.index]
            for c in g.node_classes
            if g.allowed(p, c.index) and sizes[c.index]
        }

        def room_for(c: int, p: int = p, limit: dict[int, int] = limit) -> int:
            k = min(limit[c] - totals.get((p, c), 0), slots[c])
            for r, amount in g.pod_classes[p].requests.items():
                if amount > 0:
                    k = min(k, room[c][r] // amount)
            return max(k, 0)

        mine = [i for i, r in enumerate(shared) if r.pod_class == p]
        apart = [k for k in g.domain_conflicts.values() if p in (k.a, k.b)]
        if apart:  # one pod at a time, each to a domain none it keeps apart from is in
            for _ in range(pods.count):
                options = [c for c in limit if room_for(c) and _apart_ok(p, c, apart, held)]
                if not options:
                    raise _Stuck(p)
                add(p, max(options, key=room_for), 1)
            continue
        # Water-filling over the domains of the class's first spread rule (one domain when
        # it has none): each pod to the domain that counts fewest, then the node classes of
        # each domain filled by room left.
        first = shared[mine[0]] if mine else None
        groups: dict[str, list[int]] = {}
        for c in limit:
            domain = first.domain_of.get(c, "") if first is not None else ""
            groups.setdefault(domain, []).append(c)
        capacity = {v: sum(room_for(c) for c in cs) for v, cs in groups.items()}
        assigned = dict.fromkeys(groups, 0)
        counts_itself = first is not None and p in first.counted
        for _ in range(pods.count):
            best: tuple[int, int] | None = None
            chosen = ""
            for v in groups:
                left = capacity[v] - assigned[v]
                if left <= 0:
                    continue
                held_there = counted[mine[0]].get(v, 0) if first is not None else 0
                key = (held_there + (assigned[v] if counts_itself else 0), -left)
                if best is None or key < best:
                    best, chosen = key, v
            if best is None:
                raise _Stuck(p)
            assigned[chosen] += 1
        even = any(r.per_node and not r.forced and r.pod_class == p for r in g.spread)
        for v, want in assigned.items():
            if even:  # hostname spread whose minimum counts: one pod per node in turn
                for _ in range(want):
                    options = [c for c in groups[v] if room_for(c)]
                    if not options:
                        raise _Stuck(p)
                    add(p, min(options, key=lambda c: totals.get((p, c), 0) / sizes[c]), 1)
                continue
            for c in sorted(groups[v], key=room_for, reverse=True):
                k = min(want, room_for(c))
                if k > 0:
                    add(p, c, k)
                    want -= k
            if want:
                raise _Stuck(p)
    return totals


def _apart_ok(
    p: int, c: int, apart: list[DomainConflict], held: dict[tuple[int, str, str], int]
) -> bool:
    """No pod of a class ``p`` keeps apart from (itself included) is in ``c``'s domain."""
    for k in apart:
        value = k.value_of.get(c)
        if value is None:
            continue
        others = {k.a, k.b} - {p} or {p}
        if any(held.get((q, k.key, value), 0) for q in others):
            return False
    return True


# --- the check -----------------------------------------------------------------------------------


def check(
    g: Grouping,
    counts: NodeCounts,
    placed: Mapping[int, int] | None = None,
    absent: frozenset[int] = frozenset(),
) -> bool:
    """Whether the per-node counts ((pod class, node index) -> pods) place every pod (or,
    given ``placed``, that many of each class) and obey every rule of the batch. ``absent``:
    nodes (indexes) that do not exist (copies of a shape not added)."""
    class_of = {n.name: c.index for c in g.node_classes for n in c.nodes}
    node_class = [class_of[n.name] for n in g.nodes]
    per_node: dict[int, dict[int, int]] = {}
    total = [0] * len(g.pod_classes)
    for (p, i), k in counts.items():
        if k <= 0:
            continue
        if not g.allowed(p, node_class[i]) or i in absent:
            return False
        per_node.setdefault(i, {})[p] = per_node.get(i, {}).get(p, 0) + k
        total[p] += k
    wanted = placed if placed is not None else {p: c.count for p, c in enumerate(g.pod_classes)}
    if any(total[p] != wanted.get(p, 0) for p in range(len(g.pod_classes))):
        return False
    for i, held in per_node.items():
        if not _node_ok(g, g.node_classes[node_class[i]].index, held):
            return False
    totals: dict[tuple[int, int], int] = {}
    for (p, i), k in counts.items():
        totals[(p, node_class[i])] = totals.get((p, node_class[i]), 0) + k
    holding: dict[int, list[int]] = {}  # pod class -> the nodes holding some of it
    for i, held in per_node.items():
        for p in held:
            holding.setdefault(p, []).append(i)
    present = {node_class[i] for i in range(len(g.nodes)) if i not in absent}
    for r in g.spread:
        if r.per_node:
            mine = holding.get(r.pod_class, [])
            if not _per_node_spread_ok(r, per_node, node_class, mine, absent):
                return False
        elif not _shared_spread_ok(r, totals, present):
            return False
    for apart in g.domain_conflicts.values():
        by_domain: dict[str, list[int]] = {}
        for c, value in apart.value_of.items():
            by_domain.setdefault(value, []).append(c)
        for classes in by_domain.values():
            a = sum(totals.get((apart.a, c), 0) for c in classes)
            b = sum(totals.get((apart.b, c), 0) for c in classes)
            if (apart.a == apart.b and a > 1) or (apart.a != apart.b and a and b):
                return False
    return all(_affinity_ok(r, totals) for r in g.affinity)


def _node_ok(g: Grouping, c: int, held: Mapping[int, int]) -> bool:
    node = g.node_classes[c]
    if sum(held.values()) > node.slots:
        return False
    for r in g.resources:
        asked = sum(g.pod_classes[p].requests.get(r, 0) * k for p, k in held.items())
        if asked > node.free.get(r, 0):
            return False
    for k in g.conflicts:
        if not k.applies(node):
            continue
        if k.a == k.b and held.get(k.a, 0) > 1:
            return False
        if k.a != k.b and held.get(k.a, 0) and held.get(k.b, 0):
            return False
    return True


def _shared_spread_ok(
    r: SpreadRule, totals: Mapping[tuple[int, int], int], present: set[int]
) -> bool:
    count = dict.fromkeys({r.domain_of[c] for c in r.eligible if c in present}, 0)
    for domain, running in r.static.items():
        if domain in count:
            count[domain] += running
    for c in r.eligible:
        if c in present:
            count[r.domain_of[c]] += sum(totals.get((q, c), 0) for q in r.counted)
    low = 0 if len(count) < r.min_domains else min(count.values(), default=0)
    for c, domain in r.domain_of.items():
        if totals.get((r.pod_class, c), 0) and count.get(domain, 0) + r.extra[c] > r.max_skew + low:
            return False
    return True


def _per_node_spread_ok(
    r: SpreadRule,
    per_node: Mapping[int, Mapping[int, int]],
    node_class: list[int],
    holding: list[int],
    absent: frozenset[int],
) -> bool:
    def count(i: int) -> int:
        c = node_class[i]
        if c not in r.eligible:
            return 0
        held = per_node.get(i, {})
        return r.running(c) + sum(held.get(q, 0) for q in r.counted)

    if r.forced:  # the minimum is 0 whatever the placement
        low = 0
    else:
        every = [i for i, c in enumerate(node_class) if c in r.eligible and i not in absent]
        low = 0 if len(every) < r.min_domains else min((count(i) for i in every), default=0)
    for i in holding:
        c = node_class[i]
        if c in r.domain_of and count(i) + r.extra[c] > r.max_skew + low:
            return False
    return True


def _affinity_ok(r: AffinityRule, totals: Mapping[tuple[int, int], int]) -> bool:
    on = {c: sum(totals.get((q, c), 0) for q in r.members) for c in r.value_of}
    keyed = sum(on[c] for c in r.keyed if c in on)
    for c, values in r.value_of.items():
        if not totals.get((r.pod_class, c), 0) or len(values) < len(r.keys):
            continue
        supported = True
        for key in dict.fromkeys(r.term_keys):
            value = values[key]
            if value in r.supported[key]:
                continue
            there = sum(n for d, n in on.items() if r.value_of[d].get(key) == value)
            if there < r.need:
                supported = False
        if not supported and not (r.first and keyed <= 1):
            return False
    return True


__all__ = ["check", "guess"]
