"""Pending pods and nodes grouped into classes of interchangeable members.

The counting encoding (:mod:`podfit.solver.compressed`) places *how many* pods of a class
go on each node instead of *which* pod goes where, and treats the nodes of a class as
one unit. That is exact only when members of a class are interchangeable for every rule
that can reject a placement, so the grouping is by what the rules read:

* Pods: the same requests and host ports, spec.nodeName, tolerations, nodeSelector and
  required node affinity; when any required anti-affinity is in play (a pending pod's or a
  running pod's), also the same namespace, labels and required anti-affinity terms. Names,
  uids, annotations, priority and everything else no filter reads may differ.
* Nodes: the same static verdict (rule and reason) for every pod class, the same free amount
  of every resource a pending pod requests, the same number of free pod slots, and the
  same presence of each topology key on which pending pods keep apart. Labels no pod reads
  (``kubernetes.io/hostname`` among them, unless a selector or a term mentions it), names
  and images do not split classes.

Batches the counting encoding does not cover are reported as :class:`Unsupported` with the
reason, and the per-pod encoding (:mod:`podfit.solver.encode`) takes them: required pod
affinity, and anti-affinity among pending pods on a key whose values are shared by several
nodes (a zone, say). DoNotSchedule topology spread is covered
(:mod:`podfit.solver.class_spread`): with it in play pods are also grouped by namespace,
labels and constraints, and nodes split by their value of every spread key.
Anti-affinity among pending pods on a key each node has its own value of
(``kubernetes.io/hostname``) is "at most one per node" within a class and "not both on one
node" between classes; anti-affinity against running pods, in either direction, on any
key, is a fixed exclusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from podfit.cluster import Cluster
from podfit.model import Node, NodeSelector, Pod, Toleration

from .class_spread import SpreadRule, spread_keys, spread_rule
from .filters import STATIC_CHECKS, hard_constraints
from .rules import Rules
from .selectors import NamespaceLabels, PodTerm, namespace_labels_of, required_terms
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
    free: Mapping[str, int]
    slots: int
    # The conflict keys (see :class:`Conflict`) the nodes carry.
    keys: frozenset[str]

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
    without it are exempt); empty for host ports, which clash on every node."""

    a: int
    b: int
    rule: str
    key: str
    detail: str

    def applies(self, node_class: NodeClass) -> bool:
        return not self.key or self.key in node_class.keys


@dataclass(frozen=True)
class Unsupported:
    """Why the counting encoding does not cover a batch."""

    reason: str


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
    # A spread key every node has its own value of (hostname): each node is a domain.
    spread_per_node: bool = False

    def spread_classes(self) -> set[int]:
        """Pod classes whose counts per node class a spread rule reads."""
        return {p for r in self.spread for p in (r.pod_class, *r.counted)}

    def allowed(self, p: int, c: int) -> bool:
        return (p, c) not in self.excluded

    def self_conflicts(self, p: int) -> list[Conflict]:
        return [k for k in self.conflicts if k.a == p and k.b == p]

    def pair_conflicts(self) -> list[Conflict]:
        return [k for k in self.conflicts if k.a != k.b]


# --- pods -----------------------------------------------------------------------------------


def _node_affinity(pod: Pod) -> NodeSelector | None:
    affinity = pod.affinity
    if affinity is None or affinity.node_affinity is None:
        return None
    return affinity.node_affinity.required


def _pod_signature(
    p: PendingPod, terms: tuple[PodTerm, ...], anti_in_play: bool, spread_in_play: bool
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
    )
    if not (anti_in_play or spread_in_play):
        return base
    return (
        *base,
        pod.namespace,
        tuple(sorted(pod.labels.items())),
        tuple(t.signature for t in terms),
        pod.is_terminating,
        repr(hard_constraints(pod)),
    )


def _unsupported_pod(pod: Pod) -> str | None:
    affinity, _ = required_terms(pod)
    if affinity:
        return f"{pod.key} has required pod affinity"
    return None


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
    return (labels, node.taints, node.unschedulable, node.name if by_name else "")


def _filter_signature(c: PodClass) -> tuple[object, ...]:
    """What the static filters read of a pod (classes differing elsewhere share verdicts)."""
    pod = c.pod
    return (
        pod.node_name,
        pod.tolerations,
        tuple(sorted(pod.node_selector.items())),
        _node_affinity(pod),
        tuple(sorted(c.ports)),
    )


def _static_verdicts(
    pods: Sequence[PodClass], nodes: Sequence[NodeState]
) -> list[list[Exclusions]]:
    """verdicts[p][i]: the static filters' exclusions of pod class p on node i, computed once
    per group of nodes that look alike to the pods' node filters, and once per group of pod
    classes that look alike to them."""
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
    for c in pods:
        for t in c.anti:
            for m in nodes:
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


# --- conflicts among pending pods -------------------------------------------------------------


def _conflicts(
    pods: Sequence[PodClass], per_node: set[str], ns: NamespaceLabels
) -> list[Conflict] | Unsupported:
    texts: dict[tuple[int, int, str], list[str]] = {}
    for a in pods:
        for t in a.anti:
            for b in pods:
                if not t.selects(b.pod, ns):
                    continue
                if a is b and a.count < 2:
                    continue
                if t.topology_key not in per_node:
                    return Unsupported(
                        f"{a.pod.key}'s required anti-affinity on {t.topology_key} selects "
                        f"pending pods, and nodes share values of {t.topology_key}"
                    )
                lo, hi = sorted((a.index, b.index))
                texts.setdefault((lo, hi, t.topology_key), []).append(t.text())
    out = [
        Conflict(lo, hi, Rules.ANTI_AFFINITY, key, "; ".join(dict.fromkeys(words)))
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


# --- grouping ---------------------------------------------------------------------------------


def group(cluster: Cluster, pods: Sequence[Pod]) -> Grouping | Unsupported:
    """Group the batch and the cluster's nodes, or say why the counting encoding cannot
    take the batch."""
    keys = [p.key for p in pods]
    if len(set(keys)) != len(keys):
        raise ValueError("the pods to place must have distinct namespace/name keys")
    for pod in pods:
        reason = _unsupported_pod(pod)
        if reason is not None:
            return Unsupported(reason)
    nodes = node_states(cluster, skip_pods=keys)
    ns = namespace_labels_of(cluster.namespace_labels)
    terms = {p.key: required_terms(p)[1] for p in pods}
    anti_in_play = any(terms.values()) or any(
        e.affinity is not None and required_terms(e)[1] for n in nodes for e in n.pods
    )
    split_keys = spread_keys(pods)
    per_node = _per_node_keys(nodes)
    members: dict[tuple[object, ...], list[Pod]] = {}
    firsts: dict[tuple[object, ...], PendingPod] = {}
    for pod in pods:
        pending = PendingPod(pod, pod_requests(pod), host_ports(pod))
        sig = _pod_signature(pending, terms[pod.key], anti_in_play, bool(split_keys))
        members.setdefault(sig, []).append(pod)
        firsts.setdefault(sig, pending)
    pod_classes = [
        PodClass(i, tuple(group_), firsts[sig].requests, firsts[sig].ports, terms[group_[0].key])
        for i, (sig, group_) in enumerate(members.items())
    ]
    conflicts = _conflicts(pod_classes, per_node, ns)
    if isinstance(conflicts, Unsupported):
        return conflicts
    conflict_keys = sorted({k.key for k in conflicts if k.key})
    resources = sorted({r for c in pod_classes for r, amount in c.requests.items() if amount > 0})
    verdicts = _static_verdicts(pod_classes, nodes)
    running = _running_exclusions(pod_classes, nodes, ns) if anti_in_play else {}
    by_sig: dict[tuple[object, ...], list[int]] = {}
    columns: list[tuple[Exclusions, ...]] = []
    for i, n in enumerate(nodes):
        column: list[Exclusions] = []
        for c in pod_classes:
            found = verdicts[c.index][i]
            extra = running.get((c.index, i))
            column.append((*found, extra) if extra is not None else found)
        columns.append(tuple(column))
        sig = (
            columns[-1],
            tuple(n.free(r) for r in resources),
            n.allowed_pods - n.pod_count,
            tuple(k in n.node.labels for k in conflict_keys),
            tuple(n.node.labels.get(k) for k in split_keys),
        )
        by_sig.setdefault(sig, []).append(i)
    node_classes: list[NodeClass] = []
    excluded: dict[tuple[int, int], Exclusions] = {}
    for index, indexes in enumerate(by_sig.values()):
        first = nodes[indexes[0]]
        node_classes.append(
            NodeClass(
                index,
                tuple(nodes[i] for i in indexes),
                {r: first.free(r) for r in resources},
                first.allowed_pods - first.pod_count,
                frozenset(k for k in conflict_keys if k in first.node.labels),
            )
        )
        for p, reasons in enumerate(columns[indexes[0]]):
            if reasons:
                excluded[(p, index)] = reasons
    spread = _spread_rules(pod_classes, node_classes, excluded) if split_keys else []
    return Grouping(
        pod_classes,
        node_classes,
        excluded,
        conflicts,
        resources,
        nodes,
        spread,
        spread_per_node=any(k in per_node for k in split_keys),
    )


def _spread_rules(
    pods: Sequence[PodClass],
    node_classes: Sequence[NodeClass],
    excluded: dict[tuple[int, int], Exclusions],
) -> list[SpreadRule]:
    """Each pod class's DoNotSchedule constraints as rules on counts; node classes without a
    constraint's key become exclusions (missing-topology-key), as in the per-pod encoding."""
    out: list[SpreadRule] = []
    representatives = [c.pod for c in pods]
    nodes = [c.nodes for c in node_classes]
    for c in pods:
        pending = PendingPod(c.pod, c.requests, c.ports)
        for constraint in hard_constraints(c.pod):
            key = constraint.topology_key
            detail = f"no label {key}, which its topology spread constraint needs"
            for n in node_classes:
                if key not in n.nodes[0].node.labels:
                    reasons = excluded.get((c.index, n.index), ())
                    excluded[(c.index, n.index)] = (*reasons, (Rules.SPREAD_MISSING_KEY, detail))
            rule = spread_rule(c.index, pending, constraint, representatives, nodes)
            if rule is not None:
                out.append(rule)
    return out


__all__ = [
    "Conflict",
    "Grouping",
    "NodeClass",
    "PodClass",
    "Unsupported",
    "group",
]
