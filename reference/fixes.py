"""What would make a pod fit: a short ranked list of minimal changes, each confirmed.

For every rejected node, every filter plugin that rejects it is asked why (not only the
first, as kube-scheduler reports): the node needs one change per rejecting plugin. The
change follows from the details: tolerate the taint, drop or widen the selector term that
fails, uncordon the node, evict the pods that hold the resources, the port or the
anti-affinity slot, raise the spread constraint's maxSkew, make a required (anti-)affinity
term preferred. Nodes needing the same changes are grouped; adding a node like an
existing one is tried where only what the node holds (resources, ports, pods) is in the
way. Candidates are ranked (fewer changes, then the cheaper kind) and each is applied to
the pod and to the scheduler's snapshot and run through the reference's filters again: a
change is suggested only when the pod then fits on the node it names. The snapshot is
restored after each trial.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from podfit.model import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    Requirement,
    Taint,
    Toleration,
    WeightedPodAffinityTerm,
    frozen_map,
)

from .detail import Detail, human_amounts, pods_text, requirement_text, selector_text
from .eviction import disruption_budget_refusals
from .framework import Profile
from .labels import is_empty_term, node_selector_term_problems, requirement_matches
from .nodeaffinity import pod_required_affinity
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .podtopologyspread import DO_NOT_SCHEDULE, SCHEDULE_ANYWAY
from .resources import PODS
from .status import Code
from .taints import UNSCHEDULABLE_TAINT
from .why import Rejection, rejections

# How many fixes to report, and how many candidates to try at most.
MAX_FIXES = 5
MAX_TRIALS = 40
# How far an explanation goes looking for rejected nodes to draw candidates from.
MAX_NODES_EXAMINED = 300
# Plugins whose change does not depend on which node it is for (given the same details).
_POD_SIDE = frozenset({"TaintToleration", "NodeAffinity", "PodTopologySpread"})

Undo = Callable[[], None]


@dataclass(frozen=True)
class Change:
    """One change to the pod or to the cluster. ``cost`` ranks kinds: changes to the
    pod's placement rules before evictions, evictions before new nodes."""

    kind: str
    text: str
    data: Mapping[str, Any]
    cost: int
    pod_change: Callable[[Pod], Pod] | None = field(default=None, compare=False, repr=False)
    node_change: Callable[[Snapshot], Undo] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, **self.data}


@dataclass(frozen=True)
class Fix:
    """Changes that together make the pod fit on ``node`` (confirmed by the reference);
    ``same_cause`` more nodes are rejected for exactly the reasons these changes remove."""

    changes: tuple[Change, ...]
    node: str
    same_cause: int = 0

    @property
    def text(self) -> str:
        return "; ".join(c.text for c in self.changes) + f": then it fits on {self.node}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "node": self.node,
            "changes": [c.to_dict() for c in self.changes],
            "sameCauseNodes": self.same_cause,
        }


# --- changes to the pod ----------------------------------------------------------------------


def _toleration_for(taint: Taint) -> Toleration:
    if taint.value:
        return Toleration(key=taint.key, operator="Equal", value=taint.value, effect=taint.effect)
    return Toleration(key=taint.key, operator="Exists", effect=taint.effect)


def tolerate(taints: Sequence[Taint]) -> Change:
    added = tuple(_toleration_for(t) for t in taints)

    def apply(pod: Pod) -> Pod:
        return replace(pod, tolerations=(*pod.tolerations, *added))

    return Change(
        "addToleration",
        "tolerate " + ", ".join(str(t) for t in taints),
        {
            "tolerations": [
                {
                    k: v
                    for k, v in (
                        ("key", t.key),
                        ("operator", t.operator),
                        ("value", t.value),
                        ("effect", t.effect),
                    )
                    if v
                }
                for t in added
            ]
        },
        2,
        pod_change=apply,
    )


def _relaxed(req: Requirement, labels: Mapping[str, str]) -> Requirement | None:
    """The expression changed so the node's labels satisfy it (None: drop it)."""
    value = labels.get(req.key)
    if req.operator == "In" and value is not None:
        return replace(req, values=(*req.values, value))
    if req.operator == "NotIn" and value is not None:
        kept = tuple(v for v in req.values if v != value)
        return replace(req, values=kept) if kept else None
    return None


def relax_node_affinity(pod: Pod, labels: Mapping[str, str]) -> Change | None:
    """Drop the nodeSelector entries and change the required node affinity expressions the
    node fails (in the term needing the fewest changes)."""
    texts: list[str] = []
    drop_keys = [k for k, v in sorted(pod.node_selector.items()) if labels.get(k) != v]
    texts += [f"drop nodeSelector {k}={pod.node_selector[k]}" for k in drop_keys]
    required = pod_required_affinity(pod)
    new_required: NodeSelector | str | None = "keep"
    if required is not None:
        terms = list(required.terms)
        scored = []
        for i, term in enumerate(terms):
            if is_empty_term(term) or node_selector_term_problems(term) or term.match_fields:
                continue
            failing = [r for r in term.match_expressions if not requirement_matches(r, labels)]
            scored.append((len(failing), i, failing))
        if not any(n == 0 for n, _, _ in scored):
            if not scored:
                new_required = None
                texts.append("drop the required node affinity (no term can select the node)")
            else:
                _, index, failing = min(scored)
                term = terms[index]
                changed: list[Requirement] = []
                for r in term.match_expressions:
                    if r not in failing:
                        changed.append(r)
                        continue
                    relaxed = _relaxed(r, labels)
                    if relaxed is None:
                        texts.append(f"drop {requirement_text(r)} from the required node affinity")
                    else:
                        changed.append(relaxed)
                        texts.append(
                            f"change {requirement_text(r)} to {requirement_text(relaxed)} in "
                            "the required node affinity"
                        )
                if changed:
                    terms[index] = NodeSelectorTerm(match_expressions=tuple(changed))
                    new_required = NodeSelector(terms=tuple(terms))
                else:
                    new_required = None
    if not texts:
        return None

    def apply(p: Pod) -> Pod:
        out = replace(
            p,
            node_selector=frozen_map(
                {k: v for k, v in p.node_selector.items() if k not in drop_keys}
            ),
        )
        if new_required != "keep" and out.affinity is not None:
            na = out.affinity.node_affinity or NodeAffinity()
            required_value = new_required if isinstance(new_required, NodeSelector) else None
            out = replace(
                out,
                affinity=replace(out.affinity, node_affinity=replace(na, required=required_value)),
            )
        return out

    return Change("relaxNodeAffinity", "; ".join(texts), {"steps": texts}, 2, pod_change=apply)


def _do_not_schedule_indexes(pod: Pod) -> list[int]:
    return [
        i
        for i, c in enumerate(pod.topology_spread_constraints)
        if c.when_unsatisfiable == DO_NOT_SCHEDULE
    ]


def relax_spread(pod: Pod, details: Sequence[Detail]) -> Change | None:
    """Raise each failing constraint's maxSkew to the skew the pod would make, or make a
    constraint whose key the node lacks ScheduleAnyway."""
    indexes = _do_not_schedule_indexes(pod)
    new = list(pod.topology_spread_constraints)
    texts = []
    for d in details:
        i = d.data.get("constraint")
        if not isinstance(i, int) or i >= len(indexes):
            return None  # a default constraint: nothing in the pod to change
        c = new[indexes[i]]
        if d.kind == "missingTopologyKey":
            new[indexes[i]] = replace(c, when_unsatisfiable=SCHEDULE_ANYWAY)
            texts.append(
                f"make the topology spread constraint on {c.topology_key} whenUnsatisfiable: "
                "ScheduleAnyway"
            )
        else:
            skew = int(d.data["skew"])
            new[indexes[i]] = replace(c, max_skew=skew)
            texts.append(
                f"raise maxSkew of the topology spread constraint on {c.topology_key} from "
                f"{c.max_skew} to {skew}"
            )
    if not texts:
        return None
    constraints = tuple(new)

    def apply(p: Pod) -> Pod:
        return replace(p, topology_spread_constraints=constraints)

    return Change("relaxTopologySpread", "; ".join(texts), {"steps": texts}, 2, pod_change=apply)


def _preferred(pod: Pod, which: str, index: int) -> Pod:
    """Move required (anti-)affinity term ``index`` to the preferred terms, weight 100."""
    affinity = pod.affinity or Affinity()
    current: PodAffinity = getattr(affinity, which) or PodAffinity()
    term = current.required[index]
    moved = replace(
        current,
        required=current.required[:index] + current.required[index + 1 :],
        preferred=(*current.preferred, WeightedPodAffinityTerm(weight=100, term=term)),
    )
    if which == "pod_affinity":
        return replace(pod, affinity=replace(affinity, pod_affinity=moved))
    return replace(pod, affinity=replace(affinity, pod_anti_affinity=moved))


def make_preferred(pod: Pod, which: str, index: int, label: str) -> Change:
    term = getattr(pod.affinity, which).required[index]
    text = (
        f"make the required {label} term (pods matching {selector_text(term.label_selector)}, "
        f"topologyKey {term.topology_key}) preferred"
    )

    def apply(p: Pod) -> Pod:
        return _preferred(p, which, index)

    return Change(
        "preferredPodAffinity" if which == "pod_affinity" else "preferredPodAntiAffinity",
        text,
        {"term": index},
        2,
        pod_change=apply,
    )


# --- changes to the cluster ------------------------------------------------------------------


def uncordon(node: str) -> Change:
    def apply(snapshot: Snapshot) -> Undo:
        info = snapshot.nodes[node]
        before = info.node
        info.node = replace(
            before,
            unschedulable=False,
            taints=tuple(
                t
                for t in before.taints
                if (t.key, t.effect) != (UNSCHEDULABLE_TAINT.key, UNSCHEDULABLE_TAINT.effect)
            ),
        )

        def undo() -> None:
            info.node = before

        return undo

    return Change(
        "uncordon",
        f"uncordon {node} (kubectl uncordon {node})",
        {"node": node},
        1,
        node_change=apply,
    )


def evict(node: str, pods: Sequence[PodInfo], why: str, refused: Mapping[str, str]) -> Change:
    pods = list({p.pod.key: p for p in pods}.values())
    keys = [p.pod.key for p in pods]
    blocked = {k: refused[k] for k in keys if k in refused}
    text = f"evict {pods_text(keys)} from {node}{why}"
    orphans = [p.pod.key for p in pods if p.pod.controller is None]
    if orphans:
        text += f" (nothing recreates {pods_text(orphans)}: no controller)"
    if blocked:
        text += " (a PodDisruptionBudget refuses: " + "; ".join(sorted(set(blocked.values()))) + ")"

    def apply(snapshot: Snapshot) -> Undo:
        info = snapshot.nodes[node]
        order = {p.pod.key: i for i, p in enumerate(info.pods)}
        ports = list(info.used_ports)
        removed = [p.pod for p in pods if p.pod.key in order]
        for p in removed:
            snapshot.remove_pod(p)

        def undo() -> None:
            for p in removed:
                snapshot.add_pod(p)
            # The node's pods and ports back in their order (nothing else may tell).
            info.pods.sort(key=lambda q: order.get(q.pod.key, len(order)))
            info.used_ports[:] = ports

        return undo

    return Change(
        "evictPods",
        text,
        {"node": node, "pods": keys, "refusedBy": blocked, "noController": orphans},
        # A budget that refuses, or a pod nothing recreates, makes an eviction dearer.
        3 + (1 if blocked else 0) + (1 if orphans else 0),
        node_change=apply,
    )


def add_node_like(info: NodeInfo, taken: Iterable[str]) -> Change:
    names = set(taken)
    name = f"{info.name}-copy"
    n = 2
    while name in names:
        name = f"{info.name}-copy{n}"
        n += 1
    labels = dict(info.node.labels)
    if "kubernetes.io/hostname" in labels:
        labels["kubernetes.io/hostname"] = name
    new = replace(info.node, name=name, labels=frozen_map(labels), unschedulable=False)

    def apply(snapshot: Snapshot) -> Undo:
        saved_cache = snapshot.node_cache
        snapshot.node_cache = {}  # node data such as topology domains: include the new node
        snapshot.nodes[name] = NodeInfo.of(new)
        snapshot.cache.clear()

        def undo() -> None:
            del snapshot.nodes[name]
            snapshot.node_cache = saved_cache
            snapshot.cache.clear()

        return undo

    return Change(
        "addNode",
        f"add a node like {info.name} (its labels, taints and allocatable, no pods)",
        {"like": info.name, "name": name},
        4,
        node_change=apply,
    )


def _free_resources(
    node: NodeInfo, details: Sequence[Detail], pod: Pod, refused: Mapping[str, str]
) -> Change | None:
    """Evict the fewest pods, least important first (and those a PodDisruptionBudget lets
    go before the others), that free what the pod lacks on the node."""
    needed: dict[str, int] = {}
    info = PodInfo.of(pod)
    for d in details:
        resource = d.data.get("resource")
        if not isinstance(resource, str):
            continue
        if resource == PODS:
            needed[PODS] = 1
            continue
        free = node.allocatable.get(resource, 0) - node.requested.get(resource, 0)
        needed[resource] = info.requests.get(resource, 0) - free
    if not needed:
        return None

    def short(chosen: Sequence[PodInfo]) -> bool:
        for resource, amount in needed.items():
            got = (
                len(chosen)
                if resource == PODS
                else sum(p.requests.get(resource, 0) for p in chosen)
            )
            if got < amount:
                return True
        return False

    candidates = sorted(
        (p for p in node.pods if not p.pod.is_terminal),
        key=lambda p: (
            p.pod.key in refused,
            p.pod.effective_priority,
            -sum(p.requests.get(r, 0) for r in needed if r != PODS),
        ),
    )
    chosen: list[PodInfo] = []
    for p in candidates:
        if not short(chosen):
            break
        if any(p.requests.get(r, 0) > 0 for r in needed) or PODS in needed:
            chosen.append(p)
    if short(chosen):
        return None
    for p in list(reversed(chosen)):
        rest = [q for q in chosen if q is not p]
        if not short(rest):
            chosen = rest
    freed = [f"{human_amounts(r, a)[0]} {r}" for r, a in needed.items() if r != PODS and a > 0]
    why = f", where the pod lacks {' and '.join(freed)}" if freed else ", where no pod slot is free"
    return evict(node.name, chosen, why, refused)


# --- per node: the changes that make it fit ---------------------------------------------------


def _node_changes(
    rejected: Sequence[Rejection], node: NodeInfo, pod: Pod, refused: Mapping[str, str]
) -> tuple[Change, ...] | None:
    """One change per rejecting plugin, or None when one of them has no fix podfit
    suggests (spec.nodeName, the profile's addedAffinity, a request beyond the node)."""
    changes: list[Change] = []
    for r in rejected:
        plugin = r.plugin
        change: Change | None = None
        if plugin == "NodeUnschedulable":
            change = uncordon(node.name)
        elif plugin == "TaintToleration":
            taints = [
                Taint(
                    key=d.data["taint"]["key"],
                    value=d.data["taint"]["value"],
                    effect=d.data["taint"]["effect"],
                )
                for d in r.details
                if d.kind == "untoleratedTaint"
            ]
            change = tolerate(taints) if taints else None
        elif plugin == "NodeAffinity":
            if any(d.kind == "addedAffinity" for d in r.details):
                return None
            change = relax_node_affinity(pod, node.node.labels)
        elif plugin == "NodePorts":
            holders = {k for d in r.details for k in d.data.get("pods", [])}
            pods = [p for p in node.pods if p.pod.key in holders]
            change = (
                evict(node.name, pods, ", where they hold the host port", refused) if pods else None
            )
        elif plugin == "NodeResourcesFit":
            if r.status.code is not Code.UNSCHEDULABLE:
                return None  # more than the node's whole allocatable
            change = _free_resources(node, r.details, pod, refused)
        elif plugin == "PodTopologySpread":
            change = relax_spread(pod, r.details)
        elif plugin == "InterPodAffinity":
            more = _interpod_changes(r.details, node, pod, refused)
            if more is None:
                return None
            changes += more
            continue
        if change is None:
            return None
        changes.append(change)
    return _merged_evictions(changes, node, refused)


def _merged_evictions(
    changes: list[Change], node: NodeInfo, refused: Mapping[str, str]
) -> tuple[Change, ...]:
    """One eviction per node: the pods several plugins want gone, evicted once."""
    evictions = [c for c in changes if c.kind == "evictPods"]
    if len(evictions) < 2:
        return tuple(changes)
    keys = {k for c in evictions for k in c.data["pods"]}
    pods = [p for p in node.pods if p.pod.key in keys]
    merged = evict(node.name, pods, ", where they are in the pod's way", refused)
    return (*(c for c in changes if c.kind != "evictPods"), merged)


def _interpod_changes(
    details: Sequence[Detail], node: NodeInfo, pod: Pod, refused: Mapping[str, str]
) -> list[Change] | None:
    out: list[Change] = []
    seen: set[tuple[str, int]] = set()
    for d in details:
        if d.kind in ("podAffinity", "podAntiAffinity"):
            which = "pod_affinity" if d.kind == "podAffinity" else "pod_anti_affinity"
            index = int(d.data["term"])
            if (which, index) not in seen:
                seen.add((which, index))
                label = "pod affinity" if which == "pod_affinity" else "anti-affinity"
                out.append(make_preferred(pod, which, index, label))
        elif d.kind == "existingPodAntiAffinity":
            owners = set(d.data.get("pods", []))
            here = [p for p in node.pods if p.pod.key in owners]
            if len(here) != len(owners):
                return None  # pods on other nodes of the domain: not one node's change
            whose = "its" if len(here) == 1 else "their"
            out.append(
                evict(node.name, here, f", where {whose} anti-affinity keeps the pod away", refused)
            )
    return out


# --- trying them -------------------------------------------------------------------------------


def confirmed(
    profile: Profile, snapshot: Snapshot, pod: Pod, changes: Sequence[Change], node: str
) -> bool:
    """Apply the changes, run the filters for the changed pod on ``node``, restore."""
    changed = pod
    for c in changes:
        if c.pod_change is not None:
            changed = c.pod_change(changed)
    undos: list[Undo] = []
    try:
        for c in changes:
            if c.node_change is not None:
                undos.append(c.node_change(snapshot))
        rejected_all, verdicts = rejections(profile, snapshot, changed, [node])
        return rejected_all is None and verdicts.get(node) == []
    finally:
        for undo in reversed(undos):
            undo()


_CAPACITY_PLUGINS = frozenset({"NodeResourcesFit", "NodePorts", "InterPodAffinity"})


# Nodes examined per cause (first rejecting plugin and its details): more would only repeat.
PER_CAUSE = 3


def _examined(rejected: Iterable[tuple[str, Any]], snapshot: Snapshot) -> list[str]:
    """The rejected nodes to draw candidates from: a few per cause, in node order."""
    seen: dict[Any, int] = {}
    out: list[str] = []
    for name, cause in rejected:
        if name not in snapshot.nodes:
            continue
        n = seen.get(cause, 0)
        if n < PER_CAUSE:
            seen[cause] = n + 1
            out.append(name)
            if len(out) >= MAX_NODES_EXAMINED:
                break
    return out


def find_fixes(
    profile: Profile, snapshot: Snapshot, pod: Pod, rejected: Iterable[tuple[str, Any]]
) -> list[Fix]:
    """Up to :data:`MAX_FIXES` fixes for a pod that fits nowhere, ranked, each confirmed.
    ``rejected``: (node, cause) for the rejected nodes, where nodes rejected for the same
    cause (the first plugin and the same details) compare equal; a few of each are looked
    at."""
    names = _examined(rejected, snapshot)
    prefiltered, verdicts = rejections(profile, snapshot, pod, names, every_plugin=True)
    if prefiltered is not None:
        return []
    on_nodes = [p.pod for n in names for p in snapshot.nodes[n].pods]
    refused = (
        disruption_budget_refusals(snapshot.cluster, on_nodes) if snapshot.cluster.pdbs else {}
    )
    groups: dict[tuple[str, ...], tuple[tuple[Change, ...], list[str]]] = {}
    like: list[NodeInfo] = []
    shapes: set[tuple[Any, ...]] = set()
    same: dict[Any, tuple[Change, ...] | None] = {}
    for name in names:
        found = verdicts.get(name) or []
        if not found:
            continue
        info = snapshot.nodes[name]
        if all(r.plugin in _POD_SIDE for r in found):
            # Changes to the pod alone: nodes with the same details need the same ones.
            cause = tuple((r.plugin, tuple(d.text for d in r.details)) for r in found)
            if cause not in same:
                same[cause] = _node_changes(found, info, pod, refused)
            changes = same[cause]
        else:
            changes = _node_changes(found, info, pod, refused)
        if changes is not None:
            key = tuple(sorted(c.text for c in changes))
            groups.setdefault(key, (changes, []))[1].append(name)
        capacity_only = all(
            r.plugin in _CAPACITY_PLUGINS and not any(d.kind == "podAffinity" for d in r.details)
            for r in found
        )
        shape = (
            tuple(
                sorted((k, v) for k, v in info.node.labels.items() if k != "kubernetes.io/hostname")
            ),
            info.node.taints,
            tuple(sorted(info.allocatable.items())),
        )
        if capacity_only and not info.node.unschedulable and shape not in shapes and len(like) < 3:
            shapes.add(shape)
            like.append(info)
    ranked = sorted(
        groups.values(),
        key=lambda g: (len(g[0]), sum(c.cost for c in g[0]), -len(g[1]), names.index(g[1][0])),
    )
    fixes: list[Fix] = []
    trials = 0
    for changes, nodes in ranked:
        if len(fixes) >= MAX_FIXES or trials >= MAX_TRIALS:
            break
        for node in nodes[:2]:
            trials += 1
            if confirmed(profile, snapshot, pod, changes, node):
                fixes.append(Fix(changes, node, len(nodes) - 1))
                break
    for info in like:
        change = add_node_like(info, snapshot.nodes)
        if confirmed(profile, snapshot, pod, (change,), str(change.data["name"])):
            fixes.append(Fix((change,), str(change.data["name"])))
            break
    fixes.sort(key=lambda f: (len(f.changes), sum(c.cost for c in f.changes)))
    return fixes[:MAX_FIXES]
