"""Pending pods and nodes grouped into classes of interchangeable members.

The counting encoding (:mod:`podfit.solver.compressed`) places *how many* pods of a class
go on each node instead of *which* pod goes where, and treats the nodes of a class as
one unit. That is exact only when members of a class are interchangeable for every rule
that can reject a placement, so the grouping is by what the rules read:

* Pods: the same requests and host ports, spec.nodeName, tolerations, nodeSelector and
  required node affinity; when inter-pod affinity or topology spread is in play (a pending
  pod's, or a running pod's anti-affinity), also the same namespace, labels, required pod
  (anti-)affinity terms and DoNotSchedule constraints; for ``maximize_placed``, the same
  priority. Names, uids, annotations and everything else no filter reads may differ.
* Nodes: the same static verdict (rule and reason) for every pod class, the same usable
  amount of every resource a pending pod requests, the same number of usable pod slots,
  the presence of each topology key pods keep apart on or spread over, the value of each
  key several nodes share that a spread constraint, an anti-affinity among pending pods or
  a required pod affinity reads, and, for spread over a key each node has its own value of
  (hostname), the running pods each such constraint counts on the node. Labels no pod
  reads, names and images do not split classes, and neither does the hostname: a node class
  of hostname spread stands for its nodes as separate domains (:mod:`class_spread`).

*Usable* amounts make nodes with slightly different free resources one class without
changing any answer: a free amount is rounded down to a multiple of the gcd of the
pending pods' requests of that resource (no set of pods can use the rest), and capped at
what the pods could ever put on one node (each class's count, at most one per node for a
class that keeps apart from itself, at most maxSkew plus the largest possible minimum for
hostname spread). A capped (*saturated*) amount never binds, so the class gets no
capacity fact for it (its value would depend on those other rules).

Anti-affinity among pending pods on a key each node has its own value of is "at most one
per node" within a class and "not both on one node" between classes (:class:`Conflict`);
on a key several nodes share (a zone), the same per node plus "at most one per domain" and
"not both in one domain" (:mod:`class_interpod`), as is required pod affinity. Anti-affinity
against running pods, in either direction, on any key, is a fixed exclusion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from podfit.cluster import Cluster
from podfit.model import LabelSelector, Node, NodeSelector, Pod, Toleration

from .class_interpod import AffinityRule, DomainConflict, affinity_rule
from .class_spread import Cap, SpreadRule, eligible_classes, node_caps, spread_keys, spread_rule
from .filters import STATIC_CHECKS, hard_constraints, needed_node_features
from .rules import Rules
from .selectors import (
    LabelIndex,
    NamespaceLabels,
    PodTerm,
    namespace_labels_of,
    required_terms,
    selector_key,
    selects,
    with_label_keys,
)
from .state import (
    HostPort,
    NodeState,
    PendingPod,
    clash_rule,
    host_ports,
    node_states,
    pod_requests,
    ports_clash,
)

# (rule, reason) pairs that rule a pod class out of a node, in the order found.
Exclusions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PodClass:
    """Pending pods that every supported rule treats alike."""

    index: int
    members: tuple[Pod, ...]
    requests: Mapping[str, int]
    ports: tuple[HostPort, ...]
    anti: tuple[PodTerm, ...]
    affinity: tuple[PodTerm, ...] = ()
    priority: int = 0

    @property
    def pod(self) -> Pod:
        """The representative (the first member in batch order)."""
        return self.members[0]

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.members]


@dataclass(frozen=True)
class NodeClass:
    """Nodes that every supported rule treats alike, for every pod class of the batch."""

    index: int
    nodes: tuple[NodeState, ...]
    # The usable free amount of each resource on one node, and usable pod slots.
    free: Mapping[str, int]
    slots: int
    # The conflict keys (see :class:`Conflict`) the nodes carry.
    keys: frozenset[str]
    # Resources (and "pods") whose usable amount is capped: they never bind, no fact.
    saturated: frozenset[str] = frozenset()
    # resource (and "pods") -> the least and the most a node of the class has free
    shown: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # Some node runs a pod (minimize_nodes counts it as used); copies that may be added.
    busy: bool = False
    optional: bool = False

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


@dataclass(frozen=True)
class Conflict:
    """Pods of class ``a`` and of class ``b`` never share a node (``a == b``: at most one of
    the class per node). ``key`` is the topology key of an anti-affinity conflict (nodes
    without it are exempt); empty for host ports, which clash on every node. ``shared``: the
    key is one several nodes share, so the conflict holds per domain too
    (:class:`podfit.solver.class_interpod.DomainConflict`)."""

    a: int
    b: int
    rule: str
    key: str
    detail: str
    shared: bool = False

    def applies(self, node_class: NodeClass) -> bool:
        return not self.key or self.key in node_class.keys


@dataclass
class Grouping:
    pod_classes: list[PodClass]
    node_classes: list[NodeClass]
    # (pod class, node class) -> why the class may not run there (absent: it may).
    excluded: dict[tuple[int, int], Exclusions]
    conflicts: list[Conflict]
    # The resources some pending pod requests (> 0), sorted.
    resources: list[str]
    nodes: list[NodeState] = field(default_factory=list)
    spread: list[SpreadRule] = field(default_factory=list)
    # conflict index (in ``conflicts``) -> the conflict per domain of its shared key
    domain_conflicts: dict[int, DomainConflict] = field(default_factory=dict)
    affinity: list[AffinityRule] = field(default_factory=list)
    _caps: dict[int, list[Cap]] = field(default_factory=dict, repr=False)
    _caps_of: dict[int, dict[int, list[Cap]]] = field(default_factory=dict, repr=False)

    def domain_classes(self) -> set[int]:
        """Pod classes whose counts per node class a rule reads (topology spread over a key
        nodes share, anti-affinity per domain, pod affinity): a packing may not move them
        from one node class to another."""
        read = {p for r in self.spread if not r.per_node for p in r.reads}
        read |= {p for k in self.domain_conflicts.values() for p in (k.a, k.b)}
        return read | {p for r in self.affinity for p in r.reads}

    def reads(self, p: int) -> set[int]:
        """The pending classes pod class ``p``'s own rules read: what its spread constraints
        count, what its pod affinity needs."""
        read = {q for r in self.spread if r.pod_class == p for q in r.counted}
        return read | {q for r in self.affinity if r.pod_class == p for q in r.members}

    def competitors(self, p: int) -> frozenset[int] | None:
        """Pod class ``p`` and the classes that may only run where it may, with every class
        their rules read: placing those alone is a relaxation of the batch (the others are
        left out, and with them only rules that restrict). None when that is every class."""
        mine = {c.index for c in self.node_classes if self.allowed(p, c.index)}
        chosen = {
            q.index
            for q in self.pod_classes
            if all(c.index in mine for c in self.node_classes if self.allowed(q.index, c.index))
        }
        chosen.add(p)
        todo = list(chosen)
        while todo:
            for q in self.reads(todo.pop()) - chosen:
                chosen.add(q)
                todo.append(q)
        return frozenset(chosen) if len(chosen) < len(self.pod_classes) else None

    def caps(self, node_class: int, mins: Mapping[int, int] | None = None) -> list[Cap]:
        """The per-node spread rules on nodes of a class (see
        :func:`podfit.solver.class_spread.node_caps`)."""
        if mins:
            return node_caps(self.spread, node_class, mins)
        found = self._caps.get(node_class)
        if found is None:
            found = self._caps[node_class] = node_caps(self.spread, node_class)
        return found

    def caps_of(self, node_class: int, p: int) -> list[Cap]:
        """The fixed caps on nodes of a class that pods of class ``p`` are subject to (it
        owns them or they count it)."""
        by_class = self._caps_of.get(node_class)
        if by_class is None:
            by_class = self._caps_of[node_class] = {}
            for cap in self.caps(node_class):
                for q in {cap.owner, *cap.counted}:
                    by_class.setdefault(q, []).append(cap)
        return by_class.get(p, [])

    @cached_property
    def caps_fixed(self) -> bool:
        """Every per-node spread rule has a minimum of 0 whatever the placement, so each is a
        fixed cap per node."""
        return all(r.forced for r in self.spread if r.per_node)

    def allowed(self, p: int, c: int) -> bool:
        return (p, c) not in self.excluded

    def self_conflicts(self, p: int) -> list[Conflict]:
        return self._self_conflicts.get(p, [])

    @cached_property
    def _self_conflicts(self) -> dict[int, list[Conflict]]:
        found: dict[int, list[Conflict]] = {}
        for k in self.conflicts:
            if k.a == k.b:
                found.setdefault(k.a, []).append(k)
        return found

    def pair_conflicts(self) -> list[Conflict]:
        return [k for k in self.conflicts if k.a != k.b]


# --- pods -----------------------------------------------------------------------------------


def _node_affinity(pod: Pod) -> NodeSelector | None:
    affinity = pod.affinity
    if affinity is None or affinity.node_affinity is None:
        return None
    return affinity.node_affinity.required


def _pod_signature(
    p: PendingPod,
    terms: tuple[tuple[PodTerm, ...], tuple[PodTerm, ...]],
    pods_read: bool,
    priority: int | None,
) -> tuple[object, ...]:
    pod = p.pod
    tolerations: tuple[Toleration, ...] = pod.tolerations
    base: tuple[object, ...] = (
        tuple(sorted(p.requests.items())),
        tuple(sorted(p.ports)),
        pod.node_name,
        tolerations,
        tuple(sorted(pod.node_selector.items())),
        _node_affinity(pod),
        needed_node_features(pod),
        priority,
    )
    if not pods_read:
        return base
    affinity, anti = terms
    return (
        *base,
        pod.namespace,
        tuple(sorted(pod.labels.items())),
        tuple(t.signature for t in affinity),
        tuple(t.signature for t in anti),
        pod.is_terminating,
        repr(hard_constraints(pod)),
    )


# --- nodes ----------------------------------------------------------------------------------


def _per_node_keys(nodes: Sequence[NodeState]) -> set[str]:
    """Label keys whose every value is carried by one node at most (hostname-like keys)."""
    seen: dict[str, set[str]] = {}
    shared: set[str] = set()
    for n in nodes:
        for key, value in n.node.labels.items():
            values = seen.setdefault(key, set())
            if value in values:
                shared.add(key)
            values.add(value)
    return set(seen) - shared


def _read_label_keys(pods: Sequence[PodClass]) -> tuple[set[str], bool]:
    """The node label keys the pods' nodeSelector and required node affinity read, and
    whether the node's name matters (spec.nodeName or matchFields)."""
    keys: set[str] = set()
    by_name = False
    for c in pods:
        pod = c.pod
        keys.update(pod.node_selector)
        by_name = by_name or bool(pod.node_name)
        required = _node_affinity(pod)
        if required is not None:
            for term in required.terms:
                keys.update(r.key for r in term.match_expressions)
                by_name = by_name or bool(term.match_fields)
    return keys, by_name


def _node_signature(node: Node, keys: set[str], by_name: bool) -> tuple[object, ...]:
    labels = tuple(sorted((k, v) for k, v in node.labels.items() if k in keys))
    features = tuple(sorted(node.declared_features))
    return (labels, node.taints, node.unschedulable, node.name if by_name else "", features)


def _filter_signature(c: PodClass) -> tuple[object, ...]:
    """What the static filters read of a pod (classes differing elsewhere share verdicts)."""
    pod = c.pod
    return (
        pod.node_name,
        pod.tolerations,
        tuple(sorted(pod.node_selector.items())),
        _node_affinity(pod),
        tuple(sorted(c.ports)),
        needed_node_features(pod),
    )


def _static_verdicts(
    pods: Sequence[PodClass], nodes: Sequence[NodeState]
) -> list[list[Exclusions]]:
    """verdicts[p][i]: the static filters' exclusions of pod class p on node i, computed once
    per group of nodes that look alike to the pods' node filters, and once per group of pod
    classes that look alike to them (such classes share one row)."""
    keys, by_name = _read_label_keys(pods)
    with_ports = any(c.ports for c in pods)
    reps: dict[tuple[object, ...], int] = {}
    rep_of: list[int] = []
    for i, n in enumerate(nodes):
        sig = _node_signature(n.node, keys, by_name)
        if with_ports:
            sig = (*sig, tuple(sorted(n.used_ports.items())))
        rep_of.append(reps.setdefault(sig, i))
    rows: dict[tuple[object, ...], list[Exclusions]] = {}
    out: list[list[Exclusions]] = []
    for c in pods:
        sig = _filter_signature(c)
        row = rows.get(sig)
        if row is None:
            p = PendingPod(c.pod, c.requests, c.ports)
            cache: dict[int, Exclusions] = {}
            row = rows[sig] = []
            for r in rep_of:
                found = cache.get(r)
                if found is None:
                    found = cache[r] = tuple(
                        (rule, detail)
                        for check in STATIC_CHECKS
                        for rule, detail in check(p, nodes[r])
                    )
                row.append(found)
        out.append(row)
    return out


def _domains(nodes: Sequence[NodeState], key: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, n in enumerate(nodes):
        value = n.node.labels.get(key)
        if value is not None:
            found.setdefault(value, []).append(i)
    return found


def _running_exclusions(
    pods: Sequence[PodClass], nodes: Sequence[NodeState], ns: NamespaceLabels
) -> dict[tuple[int, int], tuple[str, str]]:
    """(pod class, node) -> the first anti-affinity exclusion between the class and a running
    pod: the running pod's term selecting the class (symmetry), or the class's term selecting
    the running pod, on any topology key. Fixed, like the per-pod encoding's."""
    found: dict[tuple[int, int], tuple[str, str]] = {}
    domains: dict[str, dict[str, list[int]]] = {}

    def domain(key: str, value: str) -> list[int]:
        if key not in domains:
            domains[key] = _domains(nodes, key)
        return domains[key][value]

    for m in nodes:
        for e in m.pods:
            if e.affinity is None:
                continue
            for t in required_terms(e)[1]:
                value = m.node.labels.get(t.topology_key)
                if value is None:
                    continue
                for c in pods:
                    if not t.selects(c.pod, ns):
                        continue
                    detail = (
                        f"{e.key}, running in {t.topology_key} {value}, has required "
                        f"anti-affinity against it ({t.text()})"
                    )
                    for j in domain(t.topology_key, value):
                        found.setdefault((c.index, j), (Rules.EXISTING_ANTI_AFFINITY, detail))
    busy = [m for m in nodes if m.pods]  # only nodes running pods can hold one a term selects
    for c in pods:
        for t in c.anti:
            for m in busy:
                value = m.node.labels.get(t.topology_key)
                if value is None:
                    continue
                for e in m.pods:
                    if not t.selects(e, ns):
                        continue
                    detail = (
                        f"its required anti-affinity ({t.text()}) selects {e.key}, running in "
                        f"{t.topology_key} {value}"
                    )
                    for j in domain(t.topology_key, value):
                        found.setdefault((c.index, j), (Rules.ANTI_AFFINITY, detail))
    return found


class _Running:
    """The running pods a selector counts, per node (non-terminating, one namespace)."""

    def __init__(self, nodes: Sequence[NodeState]) -> None:
        self.size = len(nodes)
        self.index: LabelIndex[int] = LabelIndex()
        for i, n in enumerate(nodes):
            for e in n.pods:
                if not e.is_terminating:
                    self.index.add(e.namespace, e.labels, i)
        self._cache: dict[tuple[str, object], dict[int, int]] = {}

    def per_node(self, namespace: str, selector: LabelSelector | None) -> dict[int, int]:
        """Node index -> counted running pods there (nodes with none left out)."""
        key = (namespace, selector_key(selector))
        found = self._cache.get(key)
        if found is None:
            found = {}
            for i in self.index.select(namespace, selector):
                found[i] = found.get(i, 0) + 1
            self._cache[key] = found
        return found


# --- conflicts among pending pods -------------------------------------------------------------


def _conflicts(pods: Sequence[PodClass], per_node: set[str], ns: NamespaceLabels) -> list[Conflict]:
    # Which classes a term selects, found through an index of the classes by namespace and
    # labels rather than by testing every pair (hundreds of workloads each keep apart from
    # their own replicas).
    index: LabelIndex[PodClass] = LabelIndex()
    for c in pods:
        index.add(c.pod.namespace, c.pod.labels, c)
    namespaces = sorted({c.pod.namespace for c in pods})
    texts: dict[tuple[int, int, str], list[str]] = {}
    for a in pods:
        for t in a.anti:
            selected = [
                b
                for name in namespaces
                if t.covers(name, ns)
                for b in index.select(name, t.selector)
            ]
            for b in selected:
                if a is b and a.count < 2:
                    continue
                lo, hi = sorted((a.index, b.index))
                texts.setdefault((lo, hi, t.topology_key), []).append(t.text())
    out = [
        Conflict(
            lo,
            hi,
            Rules.ANTI_AFFINITY,
            key,
            "; ".join(dict.fromkeys(words)),
            shared=key not in per_node,
        )
        for (lo, hi, key), words in sorted(texts.items())
    ]
    with_ports = [c for c in pods if c.ports]
    for i, a in enumerate(with_ports):
        for b in with_ports[i:]:
            if a is b and a.count < 2:
                continue
            clashes = [(x, y) for x in a.ports for y in b.ports if ports_clash(x, y)]
            if clashes:
                x, y = clashes[0]
                detail = f"{x}" if x == y else f"{x} and {y}"
                out.append(Conflict(a.index, b.index, clash_rule(x, y), "", detail))
    return out


# --- usable amounts -------------------------------------------------------------------------------


def _per_node_most(
    pods: Sequence[PodClass],
    conflicts: Sequence[Conflict],
    per_node: set[str],
    nodes: Sequence[NodeState],
    verdicts: Sequence[Sequence[Exclusions]],
    running: _Running,
    optional: frozenset[str],
) -> list[int]:
    """For each pod class, the most pods of it any one node can hold in a valid placement, as
    far as the rules other than resources and pod slots say (hostname spread: maxSkew plus
    the most its minimum can be, the counted pods over the nodes surely taking part)."""
    most = [c.count for c in pods]
    everywhere: dict[str, bool] = {}  # key -> every node carries it
    for k in conflicts:  # at most one per node, on nodes with the key (host ports: all)
        if k.a != k.b:
            continue
        if k.key and k.key not in everywhere:
            everywhere[k.key] = all(k.key in n.node.labels for n in nodes)
        if not k.key or everywhere[k.key]:
            most[k.a] = min(most[k.a], 1)
    pending: LabelIndex[int] = LabelIndex()
    for c in pods:
        if not c.pod.is_terminating:
            pending.add(c.pod.namespace, c.pod.labels, c.index)
    clean: dict[tuple[int, tuple[str, ...]], int] = {}
    for c in pods:
        hard = hard_constraints(c.pod)
        keys = tuple(sorted({h.topology_key for h in hard}))
        for h in hard:
            if h.topology_key not in per_node:
                continue
            selector = with_label_keys(h.label_selector, c.pod.labels, h.match_label_keys)
            if selector is None or selector.is_empty or not selects(selector, c.pod.labels):
                continue
            row = verdicts[c.index]
            found = clean.get((id(row), keys))
            if found is None:  # nodes with every key the class may use: all eligible
                found = clean[(id(row), keys)] = sum(
                    1
                    for i, n in enumerate(nodes)
                    if not row[i]
                    and n.name not in optional
                    and all(k in n.node.labels for k in keys)
                )
            if not found:
                continue
            ns = c.pod.namespace
            total = sum(running.per_node(ns, selector).values())
            total += sum(pods[q].count for q in pending.select(ns, selector))
            most[c.index] = min(most[c.index], h.max_skew + total // found)
    return most


class _Usable:
    """What of a node's free resources and pod slots the batch could ever use.

    A fitting set of pods uses, of each resource, a multiple of the gcd of the requests, at
    most what all pods could put on one node (``most`` of each class: the *ceiling*, which
    the anti-affinity and spread rules behind ``most`` imply), at most the usable pod slots
    times the largest request, and at most what another resource every pod requests allows
    (its usable amount times the largest ratio of the two requests among the pods); and a
    number of pods at most the usable amount of such a resource over the smallest request.
    The node classes are built on those usable amounts.

    An amount brought below the node's own (gcd-rounded) one is *derived*: it gets no fact,
    since it follows from the facts that remain (the amounts that are not derived, and the
    rules behind the ceilings). That is checked by deriving the amounts again from those
    alone; if they do not come out the same, only the ceilings are applied (always sound).
    """

    def __init__(
        self, pods: Sequence[PodClass], resources: Sequence[str], most: Sequence[int]
    ) -> None:
        self.resources = list(resources)
        self.step: dict[str, int] = {}
        self.ceiling: dict[str, int] = {}
        for r in resources:
            amounts = [c.requests[r] for c in pods if c.requests.get(r, 0) > 0]
            self.step[r] = math.gcd(*amounts)
            self.ceiling[r] = sum(c.requests.get(r, 0) * k for c, k in zip(pods, most, strict=True))
        self.most_pods = sum(most)
        every = [s for s in resources if all(c.requests.get(s, 0) > 0 for c in pods)]
        self.ratio = {
            (r, s): max(Fraction(c.requests.get(r, 0), c.requests[s]) for c in pods)
            for r in resources
            for s in every
            if r != s
        }
        self.least = {s: min(c.requests[s] for c in pods) for s in every}
        self.largest = {r: max(c.requests.get(r, 0) for c in pods) for r in resources}
        self._seen: dict[tuple[tuple[int, ...], int], tuple[dict[str, int], int, frozenset[str]]]
        self._seen = {}

    def _round(self, r: str, amount: int) -> int:
        return amount // self.step[r] * self.step[r]

    def _tighten(self, usable: dict[str, int], slots: int) -> tuple[dict[str, int], int]:
        """The bounds applied until nothing changes (a few rounds at most in practice)."""
        usable = dict(usable)
        for _ in range(8):
            before = (tuple(usable.values()), slots)
            for s, least in self.least.items():
                slots = min(slots, max(usable[s], 0) // least)
            for r in self.resources:  # no more pods than slots, each at most the largest
                usable[r] = min(usable[r], self._round(r, max(slots, 0) * self.largest[r]))
            for (r, s), ratio in self.ratio.items():
                usable[r] = min(usable[r], self._round(r, math.floor(max(usable[s], 0) * ratio)))
            if (tuple(usable.values()), slots) == before:
                break
        return usable, slots

    def of(self, n: NodeState) -> tuple[dict[str, int], int, frozenset[str]]:
        """The node's usable amounts, usable pod slots, and which of them are derived."""
        key = (tuple(n.free(r) for r in self.resources), n.allowed_pods - n.pod_count)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = self._of(*key)
        return dict(found[0]), found[1], found[2]

    def _of(self, free: tuple[int, ...], slots: int) -> tuple[dict[str, int], int, frozenset[str]]:
        base = {r: self._round(r, f) for r, f in zip(self.resources, free, strict=True)}
        ceiling = {r: min(base[r], self.ceiling[r]) for r in self.resources}
        usable, usable_slots = self._tighten(ceiling, min(slots, self.most_pods))
        # Below the node's own amount, or at the ceiling (then it never binds either).
        derived = {r for r in self.resources if usable[r] < base[r] or usable[r] >= self.ceiling[r]}
        if usable_slots < slots or usable_slots >= self.most_pods:
            derived.add("pods")
        # Again from the facts alone: derived amounts start at their ceilings.
        start = {r: self.ceiling[r] if r in derived else base[r] for r in self.resources}
        again = self._tighten(start, self.most_pods if "pods" in derived else slots)
        if again != (usable, usable_slots):
            derived = {r for r in self.resources if ceiling[r] >= self.ceiling[r]}
            usable, usable_slots = ceiling, min(slots, self.most_pods)
            if usable_slots >= self.most_pods:
                derived.add("pods")
        return usable, usable_slots, frozenset(derived)


# --- grouping ---------------------------------------------------------------------------------


def group(
    cluster: Cluster,
    pods: Sequence[Pod],
    *,
    priority: Callable[[Pod], int] | None = None,
    optional: frozenset[str] = frozenset(),
    busy_apart: bool = False,
) -> Grouping:
    """Group the batch and the cluster's nodes. ``priority``: keep pods of different
    priorities apart (its value per pod); ``optional``: nodes that exist only when added
    (their own classes); ``busy_apart``: keep nodes that run pods apart from idle ones."""
    keys = [p.key for p in pods]
    if len(set(keys)) != len(keys):
        raise ValueError("the pods to place must have distinct namespace/name keys")
    nodes = node_states(cluster, skip_pods=keys)
    ns = namespace_labels_of(cluster.namespace_labels)
    terms = {p.key: required_terms(p) for p in pods}
    running_anti = any(
        e.affinity is not None and required_terms(e)[1] for n in nodes for e in n.pods
    )
    split_keys = spread_keys(pods)
    pods_read = running_anti or bool(split_keys) or any(a or b for a, b in terms.values())
    per_node = _per_node_keys(nodes)
    members: dict[tuple[object, ...], list[Pod]] = {}
    firsts: dict[tuple[object, ...], PendingPod] = {}
    for pod in pods:
        pending = PendingPod(pod, pod_requests(pod), host_ports(pod))
        level = priority(pod) if priority is not None else None
        sig = _pod_signature(pending, terms[pod.key], pods_read, level)
        members.setdefault(sig, []).append(pod)
        firsts.setdefault(sig, pending)
    pod_classes = [
        PodClass(
            i,
            tuple(group_),
            firsts[sig].requests,
            firsts[sig].ports,
            terms[group_[0].key][1],
            terms[group_[0].key][0],
            priority(group_[0]) if priority is not None else 0,
        )
        for i, (sig, group_) in enumerate(members.items())
    ]
    conflicts = _conflicts(pod_classes, per_node, ns)
    conflict_keys = sorted({k.key for k in conflicts if k.key})
    affinity_keys = {t.topology_key for c in pod_classes for t in c.affinity}
    value_keys = sorted(
        {k for k in split_keys if k not in per_node}
        | {k.key for k in conflicts if k.shared}
        | affinity_keys
    )
    presence_keys = sorted(set(conflict_keys) | {k for k in split_keys if k in per_node})
    resources = sorted({r for c in pod_classes for r, amount in c.requests.items() if amount > 0})
    verdicts = _static_verdicts(pod_classes, nodes)
    excluded_running = (
        _running_exclusions(pod_classes, nodes, ns)
        if running_anti or any(c.anti for c in pod_classes)
        else {}
    )
    running = _Running(nodes)
    # Per-node spread: the running pods each such selector counts on a node split classes.
    node_selectors: dict[tuple[str, object], tuple[str, LabelSelector | None]] = {}
    for c in pod_classes:
        for h in hard_constraints(c.pod):
            if h.topology_key in per_node:
                selector = with_label_keys(h.label_selector, c.pod.labels, h.match_label_keys)
                node_selectors[(c.pod.namespace, selector_key(selector))] = (
                    c.pod.namespace,
                    selector,
                )
    counted_here: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for j, (namespace, selector) in enumerate(node_selectors.values()):
        for i, count in running.per_node(namespace, selector).items():
            counted_here[i].append((j, count))
    most = _per_node_most(pod_classes, conflicts, per_node, nodes, verdicts, running, optional)
    usable = _Usable(pod_classes, resources, most)
    by_sig: dict[tuple[object, ...], list[int]] = {}
    # Pod classes alike to the static filters share one row of verdicts: a node's verdicts
    # are its entry in each distinct row, plus its (few) exclusions by running pods.
    rows: list[list[Exclusions]] = []
    row_of: list[int] = []
    seen: dict[int, int] = {}
    for c in pod_classes:
        row = verdicts[c.index]
        if id(row) not in seen:
            seen[id(row)] = len(rows)
            rows.append(row)
        row_of.append(seen[id(row)])
    by_node: dict[int, list[tuple[int, tuple[str, str]]]] = {}
    for (p, i), extra in sorted(excluded_running.items()):
        by_node.setdefault(i, []).append((p, extra))
    for i, n in enumerate(nodes):
        labels = n.node.labels
        amounts, slots, derived = usable.of(n)
        sig = (
            tuple(row[i] for row in rows),
            tuple(by_node.get(i, ())),
            tuple(amounts[r] for r in resources),
            slots,
            derived,
            tuple(k in labels for k in presence_keys),
            tuple(labels.get(k) for k in value_keys),
            tuple(counted_here[i]),
            busy_apart and n.pod_count > 0,
            n.name in optional,
        )
        by_sig.setdefault(sig, []).append(i)
    node_classes: list[NodeClass] = []
    excluded: dict[tuple[int, int], Exclusions] = {}
    for index, indexes in enumerate(by_sig.values()):
        first = nodes[indexes[0]]
        members_ = [nodes[i] for i in indexes]
        free, slots, saturated = usable.of(first)
        shown = {
            r: (min(n.free(r) for n in members_), max(n.free(r) for n in members_))
            for r in resources
        }
        room = [n.allowed_pods - n.pod_count for n in members_]
        shown["pods"] = (min(room), max(room))
        node_classes.append(
            NodeClass(
                index,
                tuple(members_),
                free,
                slots,
                frozenset(k for k in conflict_keys if k in first.node.labels),
                saturated,
                shown,
                busy=any(n.pod_count for n in members_),
                optional=first.name in optional,
            )
        )
        i = indexes[0]
        extras = dict(by_node.get(i, ()))
        for p in range(len(pod_classes)):
            reasons = rows[row_of[p]][i]
            by_running = extras.get(p)
            if by_running is not None:
                reasons = (*reasons, by_running)
            if reasons:
                excluded[(p, index)] = reasons
    g = Grouping(pod_classes, node_classes, excluded, conflicts, resources, nodes)
    if split_keys:
        g.spread = _spread_rules(g, per_node, running)
    running_pods = [(e, n) for n in nodes for e in n.pods]
    for c in pod_classes:
        if c.affinity:
            rule, ruled_out = affinity_rule(
                c.index,
                c.affinity,
                [p.pod for p in pod_classes],
                [p.count for p in pod_classes],
                [n.nodes for n in node_classes],
                running_pods,
                ns,
            )
            for where, detail in ruled_out.items():
                reasons = excluded.get((c.index, where), ())
                excluded[(c.index, where)] = (*reasons, (Rules.AFFINITY, detail))
            if rule is not None:
                g.affinity.append(rule)
    for i, k in enumerate(conflicts):
        if k.shared:
            value_of = {
                n.index: n.nodes[0].node.labels[k.key]
                for n in node_classes
                if k.key in n.nodes[0].node.labels
            }
            g.domain_conflicts[i] = DomainConflict(k.a, k.b, k.key, value_of)
    return g


def _spread_rules(g: Grouping, per_node: set[str], running: _Running) -> list[SpreadRule]:
    """Each pod class's DoNotSchedule constraints as rules on counts; node classes without a
    constraint's key become exclusions (missing-topology-key), as in the per-pod encoding.
    Per-node keys: nodes of a class count alike (the split by counted running pods), so the
    class's first node stands for all."""
    out: list[SpreadRule] = []
    representatives = [c.pod for c in g.pod_classes]
    counts = [c.count for c in g.pod_classes]
    nodes = [c.nodes for c in g.node_classes]
    class_of = {n.name: c.index for c in g.node_classes for n in c.nodes}
    node_class = [class_of[n.name] for n in g.nodes]
    optional_classes = frozenset(c.index for c in g.node_classes if c.optional)
    pending: LabelIndex[int] = LabelIndex()
    for c in g.pod_classes:
        if not c.pod.is_terminating:
            pending.add(c.pod.namespace, c.pod.labels, c.index)
    chosen: dict[tuple[object, ...], frozenset[int]] = {}

    def on_pending(ns: str, selector: LabelSelector | None) -> list[int]:
        return pending.select(ns, selector)

    for c in g.pod_classes:
        pod = PendingPod(c.pod, c.requests, c.ports)
        for constraint in hard_constraints(c.pod):
            key = constraint.topology_key
            detail = f"no label {key}, which its topology spread constraint needs"
            for n in g.node_classes:
                if key not in n.nodes[0].node.labels:
                    reasons = g.excluded.get((c.index, n.index), ())
                    g.excluded[(c.index, n.index)] = (*reasons, (Rules.SPREAD_MISSING_KEY, detail))
            shared = key not in per_node

            def on_classes(
                ns: str, selector: LabelSelector | None, shared: bool = shared
            ) -> list[int]:
                out = [0] * len(nodes)
                for i, k in running.per_node(ns, selector).items():
                    if shared:
                        out[node_class[i]] += k
                    else:  # nodes of a class count alike: the class's first node's count
                        out[node_class[i]] = k
                return out

            # Eligibility reads what the static filters read, the keys and the policies.
            sig = (
                _filter_signature(c),
                tuple(h.topology_key for h in hard_constraints(c.pod)),
                constraint.node_affinity_policy,
                constraint.node_taints_policy,
            )
            if sig not in chosen:
                chosen[sig] = eligible_classes(pod, constraint, nodes)
            rule = spread_rule(
                c.index,
                pod,
                constraint,
                representatives,
                counts,
                nodes,
                not shared,
                on_classes,
                on_pending,
                chosen[sig],
                optional_classes,
            )
            if rule is not None:
                out.append(rule)
    return out


__all__ = [
    "Conflict",
    "Grouping",
    "NodeClass",
    "PodClass",
    "group",
]
