"""PodTopologySpread: DoNotSchedule constraints filter, ScheduleAnyway constraints score.

Upstream: ``pkg/scheduler/framework/plugins/podtopologyspread/filtering.go``,
``scoring.go`` and ``common.go``.

A constraint counts, per topology domain (a value of ``topologyKey``), the pods in the
incoming pod's namespace that its selector matches, on the *eligible* nodes: nodes that
carry every constraint's topology key, that the pod's nodeSelector/required affinity
accept (``nodeAffinityPolicy: Honor``, the default) and, with ``nodeTaintsPolicy:
Honor``, whose NoSchedule/NoExecute taints the pod tolerates. Pods being deleted are not
counted. Placing the pod on a node must keep ``count(node's domain) + (1 if the pod
matches itself) - min(count over domains)`` at or below ``maxSkew``; with ``minDomains``
and fewer eligible domains than that, the minimum is taken as 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from podfit.model import LabelSelector, Node, Pod, Requirement, TopologySpreadConstraint

from .framework import MAX_NODE_SCORE, CycleState, Plugin
from .labels import required_node_affinity_matches, selector_matches
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .profile import ConfigError
from .status import SKIP, Code, Status
from .taints import find_untolerated_taint

ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
FILTERED_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector | None
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def merged_selector(c: TopologySpreadConstraint, pod: Pod) -> LabelSelector | None:
    """The selector with matchLabelKeys added as `key In [pod's value]` (keys the pod has)."""
    selector = c.label_selector
    if selector is None or not c.match_label_keys:
        return selector
    extra = tuple(
        Requirement(key, "In", (pod.labels[key],))
        for key in c.match_label_keys
        if key in pod.labels
    )
    return LabelSelector(
        match_labels=selector.match_labels,
        match_expressions=(*selector.match_expressions, *extra),
    )


def constraints_of(pod: Pod, when: str) -> list[Constraint]:
    return [
        Constraint(
            max_skew=c.max_skew,
            topology_key=c.topology_key,
            selector=merged_selector(c, pod),
            min_domains=c.min_domains or 1,
            honor_affinity=c.node_affinity_policy == "Honor",
            honor_taints=c.node_taints_policy == "Honor",
        )
        for c in pod.topology_spread_constraints
        if c.when_unsatisfiable == when
    ]


def _counts_for(c: Constraint, pod: Pod, info: NodeInfo) -> int:
    """Pods on the node in the incoming pod's namespace that the constraint selects."""
    if c.selector is None or c.selector.is_empty:
        # A nil selector matches nothing; upstream also counts no pods for `{}` (Everything).
        return 0
    n = 0
    for p in info.pods:
        other = p.pod
        if other.is_terminating or other.namespace != pod.namespace:
            continue
        if selector_matches(c.selector, other.labels):
            n += 1
    return n


def _policy_ok(c: Constraint, pod: Pod, node: Node) -> bool:
    if c.honor_affinity and not required_node_affinity_matches(pod, node):
        return False
    return not (
        c.honor_taints
        and find_untolerated_taint(node.taints, pod.tolerations, FILTERED_EFFECTS) is not None
    )


@dataclass
class _FilterState:
    constraints: list[Constraint]
    # per constraint: domain value -> matching pods
    counts: list[dict[str, int]] = field(default_factory=list)
    self_match: list[int] = field(default_factory=list)


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"
    filters = True
    scores = True

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        super().__init__(args)
        defaulting = self.args.get("defaultingType", "System")
        if defaulting not in ("System", "List"):
            raise ConfigError(
                f"PodTopologySpread args: defaultingType must be System or List, got {defaulting!r}"
            )
        if self.args.get("defaultConstraints") and defaulting != "List":
            raise ConfigError(
                "PodTopologySpread args: defaultConstraints need defaultingType: List"
            )

    # --- filter -----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        incoming = pod.pod
        constraints = constraints_of(incoming, "DoNotSchedule")
        if not constraints:
            return SKIP
        st = _FilterState(constraints=constraints)
        st.counts = [{} for _ in constraints]
        for info in snapshot.nodes.values():
            node = info.node
            if not all(c.topology_key in node.labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                if not _policy_ok(c, incoming, node):
                    continue
                value = node.labels[c.topology_key]
                st.counts[i][value] = st.counts[i].get(value, 0) + _counts_for(c, incoming, info)
        st.self_match = [
            1 if c.selector is not None and selector_matches(c.selector, incoming.labels) else 0
            for c in constraints
        ]
        state[self.name] = st
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        st: _FilterState = state[self.name]
        labels = node.node.labels
        for c in st.constraints:
            if c.topology_key not in labels:
                return Status(
                    Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON_NODE_LABEL_NOT_MATCH,)
                )
        for i, c in enumerate(st.constraints):
            counts = st.counts[i]
            minimum = min(counts.values()) if counts else 0
            if len(counts) < c.min_domains:
                minimum = 0
            skew = counts.get(labels[c.topology_key], 0) + st.self_match[i] - minimum
            if skew > c.max_skew:
                return Status(Code.UNSCHEDULABLE, (ERR_REASON_CONSTRAINTS_NOT_MATCH,))
        return None

    # --- score ------------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        incoming = pod.pod
        constraints = constraints_of(incoming, "ScheduleAnyway")
        if not constraints:
            return SKIP
        ignored = {
            n.name for n in nodes if not all(c.topology_key in n.node.labels for c in constraints)
        }
        # Domains come from the feasible nodes; counts from every node that takes part.
        domains: list[set[str]] = [
            {n.node.labels[c.topology_key] for n in nodes if n.name not in ignored}
            for c in constraints
        ]
        counts: list[dict[str, int]] = [dict.fromkeys(d, 0) for d in domains]
        for info in snapshot.nodes.values():
            if not all(c.topology_key in info.node.labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                value = info.node.labels[c.topology_key]
                if value not in counts[i] or not _policy_ok(c, incoming, info.node):
                    continue
                counts[i][value] += _counts_for(c, incoming, info)
        # log(size + 2) per constraint; for hostname the size is the number of scored nodes.
        sizes = [
            len(nodes) - len(ignored) if c.topology_key == HOSTNAME else len(d)
            for c, d in zip(constraints, domains, strict=True)
        ]
        weights = [math.log(size + 2) for size in sizes]
        state[self.name + "/score"] = (constraints, counts, weights, ignored)
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        constraints, counts, weights, ignored = state[self.name + "/score"]
        if node.name in ignored:
            return 0
        total = 0.0
        for i, c in enumerate(constraints):
            value = node.node.labels[c.topology_key]
            total += counts[i].get(value, 0) * weights[i] + (c.max_skew - 1)
        return math.floor(total + 0.5)  # Go's math.Round: halves away from zero

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        _, _, _, ignored = state[self.name + "/score"]
        considered = [v for n, v in scores.items() if n not in ignored]
        if not considered:
            for name in scores:
                scores[name] = 0
            return
        low, high = min(considered), max(considered)
        for name, value in scores.items():
            if name in ignored:
                scores[name] = 0
            elif high == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (high + low - value) // high
