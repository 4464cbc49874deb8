"""Sentences for a minimal core of the counting encoding (:mod:`podfit.solver.compressed`).

The facts are about classes of pods and of nodes, so the sentences are too: "web-1, web-2
and 48 more request 500m cpu each ...". They follow the per-pod explanations
(:mod:`podfit.solver.explain`) in form and name the same spec rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from .classes import Grouping
from .counting import CountFact
from .explain import quantity_text
from .result import join
from .rules import Rules, filter_rank


def core_rules(facts: Sequence[CountFact]) -> list[str]:
    """The scheduling rules of a core, in filter order (the placement request aside)."""
    found = {r for f in facts if f.kind != "placement" for r in (f.rule, *f.related)}
    return sorted(found, key=lambda r: (filter_rank(r), r))


class _Words:
    def __init__(self, g: Grouping, facts: Sequence[CountFact]) -> None:
        self.g = g
        self.facts = facts
        self.placed = [c for f in facts if f.kind == "placement" for c in f.classes]
        self.order = {n.name: i for i, n in enumerate(g.nodes)}  # nodes listed in cluster order

    def pods(self, classes: Sequence[int]) -> str:
        keys = [key for c in classes for key in self.g.pod_classes[c].keys]
        return join(keys) if len(keys) <= 8 else f"{len(keys):,} pods ({join(keys)})"

    def nodes(self, node_classes: Sequence[int]) -> str:
        names = [name for c in set(node_classes) for name in self.g.node_classes[c].names]
        return _node_list(sorted(names, key=self.order.__getitem__))

    def excluded(self, pod_class: int) -> set[int]:
        return {
            c for f in self.facts if f.kind == "exclusion" for q, c, _ in f.where if q == pod_class
        }

    def count(self, classes: Sequence[int]) -> int:
        return sum(self.g.pod_classes[c].count for c in classes)


def _exclusions(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    groups: dict[tuple[str, str], dict[int, list[int]]] = {}
    for f in facts:
        for q, c, detail in f.where:
            if q in w.placed:
                groups.setdefault((f.rule, detail), {}).setdefault(q, []).append(c)
    out = []
    for (rule, detail), per_class in sorted(groups.items(), key=lambda g: filter_rank(g[0][0])):
        by_nodes: dict[tuple[int, ...], list[int]] = {}
        for p, excluded in per_class.items():
            by_nodes.setdefault(tuple(sorted(set(excluded))), []).append(p)
        for where, classes in by_nodes.items():
            out.append(f"{w.pods(classes)} cannot run on {w.nodes(where)}: {detail} ({rule}).")
    return out


def _need(w: _Words, resource: str) -> tuple[str, int]:
    askers = [c for c in w.placed if w.g.pod_classes[c].requests.get(resource, 0) > 0]
    if not askers:
        return "", 0
    amounts = {w.g.pod_classes[c].requests[resource] for c in askers}
    total = sum(w.g.pod_classes[c].requests[resource] * w.g.pod_classes[c].count for c in askers)
    several = w.count(askers) > 1
    if not several:
        return f"{w.pods(askers)} requests {quantity_text(resource, total)}", total
    if len(amounts) == 1:
        each = quantity_text(resource, next(iter(amounts)))
        return (
            f"{w.pods(askers)} request {each} each, {quantity_text(resource, total)} together",
            total,
        )
    return f"{w.pods(askers)} request {quantity_text(resource, total)} together", total


def _node_list(names: Sequence[str]) -> str:
    """``a, b and c``; past 8 names, with their number first."""
    return join(names) if len(names) <= 8 else f"{len(names):,} nodes ({join(names)})"


def _free(w: _Words, f: CountFact, key: str) -> tuple[int, int, int]:
    """What one node of the fact's class has free (least, most) and what the usable amount
    is (rounded down to what the requests can use)."""
    if f.node:
        node = w.g.nodes[w.order[f.node]]
        have = node.free(key) if key != "pods" else node.allowed_pods - node.pod_count
        return have, have, f.amount
    low, high = w.g.node_classes[f.node_class].shown.get(key, (f.amount, f.amount))
    return low, high, f.amount


def _capacity(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    groups: dict[tuple[str, str], list[CountFact]] = {}
    for f in facts:
        groups.setdefault((f.rule, f.resource), []).append(f)
    out = []
    for (rule, resource), group in groups.items():
        names: list[str] = []
        frees: list[int] = []  # usable per node, node by node
        amounts: set[tuple[int, int, int]] = set()
        for f in group:
            members = [f.node] if f.node else w.g.node_classes[f.node_class].names
            names.extend(members)
            low, high, usable = (max(x, 0) for x in _free(w, f, resource))
            frees.extend([usable] * len(members))
            amounts.add((low, high, usable))
        total_free = sum(frees)
        exact = all(low == high == usable for low, high, usable in amounts)
        together = "together" if exact else "usable together"
        if len(amounts) == 1:
            low, high, usable = next(iter(amounts))
            each = quantity_text(resource, low)
            if high != low:
                each += f" to {quantity_text(resource, high)}"
            if not exact:
                each += f" ({quantity_text(resource, usable)} usable by these requests)"
            if len(names) == 1:
                where = f"{names[0]} has {each} free"
            else:
                where = (
                    f"{_node_list(names)} have {each} free each, "
                    f"{quantity_text(resource, total_free)} {together}"
                )
        else:
            where = (
                f"{_node_list(names)} have {quantity_text(resource, total_free)} free between "
                f"them{'' if exact else ' (usable by these requests)'}"
            )
        need, asked = _need(w, resource)
        if not need:
            out.append(f"{where} ({rule}).")
            continue
        tail = ""
        if asked <= total_free:
            tail = "; the requests do not pack into single nodes"
        out.append(f"{where}, and {need}{tail} ({rule}).")
    return out


def _slots(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    if not facts:
        return []
    rule = facts[0].rule
    names, free = [], 0
    for f in facts:
        if f.node:
            names.append(f.node)
            free += max(f.amount, 0)
        else:
            c = w.g.node_classes[f.node_class]
            names.extend(c.names)
            free += c.size * max(f.amount, 0)
    room = f"room for {free} more pod{'s' if free != 1 else ''}"
    verb = "has" if len(names) == 1 else "have"
    between = "" if len(names) == 1 else " between them"
    pods = w.count(w.placed)
    if not pods:
        return [f"{_node_list(names)} {verb} {room}{between} ({rule})."]
    need = "1 pod needs one" if pods == 1 else f"{pods} pods need one each"
    return [f"{_node_list(names)} {verb} {room}{between}, and {need} ({rule})."]


def _shared(w: _Words, key: str) -> bool:
    return any(k.key == key and k.shared for k in w.g.conflicts)


def _conflicts(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    out = []
    for f in facts:
        anti = f.rule == Rules.ANTI_AFFINITY
        if len(f.classes) == 1 and anti and _shared(w, f.key):
            (p,) = f.classes
            domains = sorted(
                {
                    c.nodes[0].node.labels[f.key]
                    for c in w.g.node_classes
                    if c.index not in w.excluded(p) and f.key in c.keys
                }
            )
            out.append(
                f"{w.pods([p])} all require anti-affinity on {f.key} against each other "
                f"({f.detail}), so at most one of them runs in each {f.key} domain, and "
                f"{len(domains)} domain(s) are left to them"
                f"{' (' + join(domains) + ')' if domains else ''} ({f.rule})."
            )
            continue
        if len(f.classes) == 1:
            (p,) = f.classes
            if anti:
                left = [
                    c.size
                    for c in w.g.node_classes
                    if c.index not in w.excluded(p) and f.key in c.keys
                ]
                out.append(
                    f"{w.pods([p])} all require anti-affinity on {f.key} against each other "
                    f"({f.detail}), so at most one of them runs on a node, and {sum(left)} "
                    f"node(s) with {f.key} are left to them ({f.rule})."
                )
            else:
                out.append(
                    f"{w.pods([p])} all want host port {f.detail}, so no two of them share a "
                    f"node ({f.rule})."
                )
        else:
            a, b = f.classes
            why = (
                f"required anti-affinity on {f.key} ({f.detail})"
                if anti
                else f"host port {f.detail}"
            )
            share = f"a {f.key} domain" if anti and _shared(w, f.key) else "a node"
            out.append(f"{w.pods([a])} and {w.pods([b])} cannot share {share}: {why} ({f.rule}).")
    return out


def _packing(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    out = []
    for f in facts:
        c = w.g.node_classes[f.node_class]
        frees = ", ".join(
            quantity_text(r, max(c.free.get(r, 0), 0))
            for r in w.g.resources
            if any(w.g.pod_classes[p].requests.get(r, 0) for p in w.placed)
        )
        have = f", with {frees} free each," if frees else ""
        rules = ", ".join((f.rule, *f.related))
        out.append(
            f"{w.nodes([c.index])}{have} cannot take {w.pods(w.placed)} in any mix: one node "
            f"holds at most {f.detail} ({rules})."
        )
    return out


def _spread(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    groups: dict[tuple[str, str, tuple[str, ...]], list[CountFact]] = {}
    for f in facts:
        groups.setdefault((f.key, f.rule, f.related), []).append(f)
    out = []
    for (key, rule, related), group in groups.items():
        if len(group) <= 3:
            out += _spread_each(w, group)
            continue
        # Many workloads' constraints alike (each its own selector): one sentence for all.
        classes = [c for f in group for c in f.classes]
        out.append(
            f"{w.pods(classes)}, of {len(group)} workloads, must each keep their workload's "
            f"topology spread over {key} (the first: {group[0].detail}; {len(group) - 1} more "
            f"alike) ({', '.join((rule, *related))})."
        )
    return out


def _spread_each(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    out = []
    for f in facts:
        rules = ", ".join((f.rule, *f.related))
        rule = next(
            (r for r in w.g.spread if r.detail == f.detail and (r.pod_class,) == f.classes),
            None,
        )
        tail = ""
        if rule is not None and rule.per_node and rule.forced:
            tail = (
                f": every node is its own {f.key} domain and some keep none, so a node "
                f"holds at most {rule.max_skew} of them"
            )
        out.append(
            f"{w.pods(list(f.classes))} must keep their topology spread over {f.key} "
            f"({f.detail}){tail} ({rules})."
        )
    return out


def _affinity(w: _Words, facts: Sequence[CountFact]) -> list[str]:
    out = []
    for f in facts:
        pods = w.pods(list(f.classes))
        keys = f.key.replace(",", " and ")
        several = w.count(list(f.classes)) > 1
        each, its = ("may each", "their") if several else ("may", "its")
        text = (
            f"{pods} {each} run only where a pod matching {its} required pod affinity "
            f"({f.detail}) runs or is placed in the same {keys} domain"
        )
        if Rules.AFFINITY_FIRST_POD in f.related:
            itself = "each matches them itself" if several else "it matches its own terms"
            text += (
                f"; {itself}, but the first-pod exception holds only while no other matching "
                "pod runs anywhere"
            )
        out.append(f"{text} ({', '.join((f.rule, *f.related))}).")
    return out


def sentences(g: Grouping, facts: Sequence[CountFact], *, minimal: bool) -> list[str]:
    """The core in words: one sentence per reason, then the conclusion."""
    w = _Words(g, facts)
    by_kind: dict[str, list[CountFact]] = {}
    for f in facts:
        by_kind.setdefault(f.kind, []).append(f)
    out: list[str] = []
    if not g.nodes:
        out.append("The cluster has no nodes.")
    out += _exclusions(w, by_kind.get("exclusion", []))
    out += _conflicts(w, by_kind.get("conflict", []))
    out += _slots(w, by_kind.get("pod-count", []))
    out += _capacity(w, by_kind.get("capacity", []))
    out += _packing(w, by_kind.get("packing", []))
    out += _spread(w, by_kind.get("spread", []))
    out += _affinity(w, by_kind.get("affinity", []))
    pods = w.count(w.placed)
    names = w.pods(w.placed)
    if pods == 1:
        out.append(f"So {names} fits on no node.")
    elif pods == 2:
        out.append(f"So {names} cannot both be placed.")
    elif pods:
        out.append(f"So {names} cannot all be placed together.")
    if not minimal:
        out.append("(The solver ran out of time while shrinking; some reasons may be redundant.)")
    return out


__all__ = ["core_rules", "sentences"]
