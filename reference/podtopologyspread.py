"""PodTopologySpread: DoNotSchedule constraints filter, ScheduleAnyway constraints score.

Upstream: ``pkg/scheduler/framework/plugins/podtopologyspread/filtering.go``,
``scoring.go``, ``common.go``, ``plugin.go`` and ``plugins/helper/spread.go``.

A constraint counts, per topology domain (a value of ``topologyKey``), the pods in the
incoming pod's namespace that its selector matches, on the *eligible* nodes: nodes that
carry every constraint's topology key, that the pod's nodeSelector/required affinity
accept (``nodeAffinityPolicy: Honor``, the default) and, with ``nodeTaintsPolicy:
Honor``, whose NoSchedule/NoExecute taints the pod tolerates. Pods being deleted are not
counted. Placing the pod on a node must keep ``count(node's domain) + (1 if the pod
matches itself) - min(count over domains)`` at or below ``maxSkew``; with ``minDomains``
and fewer eligible domains than that, the minimum is taken as 0.

A pod without constraints of its own gets the plugin's default constraints (args
``defaultingType: System``, the default: hostname maxSkew 3 and zone maxSkew 5, both
ScheduleAnyway; ``List``: ``defaultConstraints``), with one selector derived from the
Services that select the pod and the ReplicationController/ReplicaSet/StatefulSet that
owns it; a pod that none of those select gets no default constraints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podfit.cluster import Cluster
from podfit.errors import PodfitError
from podfit.fields import Field
from podfit.model import (
    WORKLOAD_KINDS,
    LabelSelector,
    Node,
    Pod,
    Requirement,
    TopologySpreadConstraint,
    frozen_map,
)
from podfit.versions import LATEST, KubeVersion

from .columns import Columns, Ints
from .detail import Detail, selector_text
from .framework import COLUMNS, MAX_NODE_SCORE, CycleState, Plugin
from .labels import (
    RequiredAffinity,
    label_selector_problems,
    required_affinity_matches,
    required_affinity_of,
    selector_matches,
    single_label,
)
from .nodeaffinity import required_keys_read
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .profile import ConfigError, check_args
from .status import SKIP, Status, unresolvable, unschedulable
from .taints import find_untolerated_taint

ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
FILTERED_EFFECTS = ("NoSchedule", "NoExecute")
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"

# defaultingType: System (plugin.go's systemDefaultConstraints): soft only.
SYSTEM_DEFAULT_CONSTRAINTS: tuple[TopologySpreadConstraint, ...] = (
    TopologySpreadConstraint(max_skew=3, topology_key=HOSTNAME, when_unsatisfiable=SCHEDULE_ANYWAY),
    TopologySpreadConstraint(max_skew=5, topology_key=ZONE, when_unsatisfiable=SCHEDULE_ANYWAY),
)


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: LabelSelector | None
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def merged_selector(c: TopologySpreadConstraint, pod: Pod) -> LabelSelector | None:
    """The selector with matchLabelKeys added as `key In [pod's value]` (keys the pod has).
    An absent selector stays absent (it matches nothing, keys or not)."""
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


def _internal(c: TopologySpreadConstraint, selector: LabelSelector | None) -> Constraint:
    return Constraint(
        max_skew=c.max_skew,
        topology_key=c.topology_key,
        selector=selector,
        min_domains=c.min_domains or 1,
        honor_affinity=c.honors_node_affinity,
        honor_taints=c.honors_taints,
    )


def constraints_of(pod: Pod, when: str) -> list[Constraint]:
    """The pod's own constraints with ``whenUnsatisfiable == when``, in order."""
    return [
        _internal(c, merged_selector(c, pod))
        for c in pod.topology_spread_constraints
        if c.when_unsatisfiable == when
    ]


def default_selector(pod: Pod, cluster: Cluster) -> LabelSelector:
    """helper.DefaultSelector: the selectors of the Services in the pod's namespace that
    select it (merged as one label set), then its controller's selector: a
    ReplicationController's map is merged into the set, a ReplicaSet's or StatefulSet's
    requirements are ANDed. Empty when nothing selects the pod."""
    merged: dict[str, str] = {}
    for service in cluster.services.values():
        if service.namespace != pod.namespace or service.selector is None:
            continue  # a Service without a selector selects nothing
        if all(pod.labels.get(k) == v for k, v in service.selector.items()):
            merged.update(service.selector)
    expressions: tuple[Requirement, ...] = ()
    owner = pod.controller
    # Only an owner reference naming exactly v1 ReplicationController or apps/v1
    # ReplicaSet/StatefulSet counts (a Deployment's pods are owned by its ReplicaSet).
    if owner is not None and WORKLOAD_KINDS.get(owner.kind) == owner.api_version:
        workload = cluster.workload(owner.kind, pod.namespace, owner.name)
        selector = workload.selector if workload is not None else None
        if selector is not None and owner.kind == "ReplicationController":
            merged.update(selector.match_labels)
        elif selector is not None and not label_selector_problems(selector):
            expressions = (
                *(Requirement(k, "In", (v,)) for k, v in sorted(selector.match_labels.items())),
                *selector.match_expressions,
            )
    return LabelSelector(match_labels=frozen_map(merged), match_expressions=expressions)


# What counting a constraint's pods on a node takes, decided once per constraint: nothing
# (None: a nil or empty selector counts no pod), an index lookup (key, value), or a scan.
_SCAN = "scan"
CountPlan = tuple[str, str] | str | None


def _count_plan(c: Constraint) -> CountPlan:
    if c.selector is None or c.selector.is_empty:
        # A nil selector matches nothing; upstream also counts no pods for `{}` (Everything).
        return None
    pair = single_label(c.selector)
    return _SCAN if pair is None else pair


def _count(plan: CountPlan, c: Constraint, pod: Pod, info: NodeInfo) -> int:
    """Pods on the node in the incoming pod's namespace that the constraint selects."""
    if plan is None:
        return 0
    if isinstance(plan, tuple):  # the common `app: x` selector: an index lookup
        return info.count_label(pod.namespace, plan[0], plan[1], terminating=False)
    n = 0
    for p in info.pods:
        other = p.pod
        if other.is_terminating or other.namespace != pod.namespace:
            continue
        if selector_matches(c.selector, other.labels):
            n += 1
    return n


def _has_all_keys(node: Node, constraints: Sequence[Constraint]) -> bool:
    return all(c.topology_key in node.labels for c in constraints)


_DOMAINS_KEY = "PodTopologySpread/domains"


@dataclass(frozen=True, slots=True)
class _Domains:
    """The topology domains of the nodes that have every one of some keys (node data only,
    so kept for the snapshot's life)."""

    names: list[str]  # the nodes having every key, in node order
    of_node: dict[str, tuple[str, ...]]  # node name -> its value of each key
    # per key: value -> the positions in ``names`` of its nodes (values in order of appearance)
    members: list[dict[str, list[int]]]


def _domains(snapshot: Snapshot, keys: tuple[str, ...]) -> _Domains:
    cache: dict[tuple[str, ...], _Domains] = snapshot.node_cache.setdefault(_DOMAINS_KEY, {})
    hit = cache.get(keys)
    if hit is not None:
        return hit
    names: list[str] = []
    of_node: dict[str, tuple[str, ...]] = {}
    members: list[dict[str, list[int]]] = [{} for _ in keys]
    for name, info in snapshot.nodes.items():
        labels = info.node.labels
        if all(key in labels for key in keys):
            values = of_node[name] = tuple(labels[key] for key in keys)
            for i, value in enumerate(values):
                members[i].setdefault(value, []).append(len(names))
            names.append(name)
    hit = cache[keys] = _Domains(names, of_node, members)
    return hit


def _count_by_domain(
    st: _FilterState,
    constraints: Sequence[Constraint],
    plans: Sequence[CountPlan],
    pod: Pod,
    snapshot: Snapshot,
    required: RequiredAffinity | None,
    columns: Columns,
) -> None:
    """PreFilter's counts, domain by domain rather than node by node.

    Upstream visits every node having all the keys and, for each constraint whose node
    inclusion policies let the node count, adds its matching pods to its domain (creating
    the domain at 0). So a domain is there when one of its nodes is eligible, listed where
    the first of those comes in node order; and only eligible nodes that run matching pods
    (the label index names them, for one-label selectors) change a count.
    """
    domains = _domains(snapshot, tuple(c.topology_key for c in constraints))
    nodes = snapshot.nodes
    policies = any(
        c.honor_taints or (c.honor_affinity and required is not None) for c in constraints
    )
    eligible = _eligibility(constraints, pod, snapshot, required, columns) if policies else None

    for i, c in enumerate(constraints):
        if policies:
            first: dict[str, int] = {}  # domain -> where its first eligible node comes
            for value, positions in domains.members[i].items():
                for position in positions:
                    if eligible is None or eligible(domains.names[position])[i]:
                        first[value] = position
                        break
            counts = st.counts[i] = dict.fromkeys(sorted(first, key=first.__getitem__), 0)
        else:
            counts = st.counts[i] = dict.fromkeys(domains.members[i], 0)
        plan = plans[i]
        if isinstance(plan, tuple):
            entry = (pod.namespace, plan[0], plan[1])
            for name, pods in snapshot.pods_by_label().nodes(entry, terminating=False).items():
                values = domains.of_node.get(name)
                if values is not None and (eligible is None or eligible(name)[i]):
                    counts[values[i]] += len(pods)
        elif plan is not None:
            for name in domains.names:
                if eligible is None or eligible(name)[i]:
                    counts[domains.of_node[name][i]] += _count(plan, c, pod, nodes[name])


def _eligibility(
    constraints: Sequence[Constraint],
    pod: Pod,
    snapshot: Snapshot,
    required: RequiredAffinity | None,
    columns: Columns,
) -> Callable[[str], list[bool]]:
    """Node name -> :func:`_eligible` for it, judged once per group of nodes that agree on
    what the policies read: the labels the pod's node selection reads (when a constraint
    honors node affinity) and the taints (when one honors taints); node by node when a
    term reads the node's name."""
    nodes = snapshot.nodes
    at = columns.positions()
    affinity = required is not None and any(c.honor_affinity for c in constraints)
    keys, by_name = required_keys_read(pod) if affinity else ((), False)
    if by_name:
        judged: dict[str, list[bool]] = {}

        def by_node(name: str) -> list[bool]:
            hit = judged.get(name)
            if hit is None:
                hit = judged[name] = _eligible(constraints, pod, nodes[name].node, required)
            return hit

        return by_node
    by_labels = columns.by_labels(keys)[0].tolist()
    honor_taints = any(c.honor_taints for c in constraints)
    by_taints = columns.by_taints()[0].tolist() if honor_taints else [0] * len(by_labels)
    groups: dict[tuple[int, int], list[bool]] = {}

    def by_group(name: str) -> list[bool]:
        row = at[name]
        group = (by_labels[row], by_taints[row])
        hit = groups.get(group)
        if hit is None:
            hit = groups[group] = _eligible(constraints, pod, nodes[name].node, required)
        return hit

    return by_group


def _required_affinity(pod: Pod) -> RequiredAffinity | None:
    """The pod's nodeSelector and required node affinity, decided once per cycle; None when
    it has neither, so every node matches."""
    required = required_affinity_of(pod)
    selector, terms = required
    return None if not selector and terms is None else required


def _eligible(
    constraints: Sequence[Constraint], pod: Pod, node: Node, required: RequiredAffinity | None
) -> list[bool]:
    """Per constraint, whether its node inclusion policies let the node count: with
    nodeAffinityPolicy Honor the pod's nodeSelector and required node affinity
    (``required``, from :func:`_required_affinity`) must match the node, with
    nodeTaintsPolicy Honor the pod must tolerate the node's NoSchedule and NoExecute taints.
    Each is judged once per node."""
    out = []
    affinity_ok: bool | None = True if required is None else None
    taints_ok: bool | None = None
    for c in constraints:
        if c.honor_affinity:
            if affinity_ok is None:
                assert required is not None
                affinity_ok = required_affinity_matches(required, node.labels, node.name)
            if not affinity_ok:
                out.append(False)
                continue
        if c.honor_taints:
            if taints_ok is None:
                taints_ok = (
                    find_untolerated_taint(node.taints, pod.tolerations, FILTERED_EFFECTS) is None
                )
            if not taints_ok:
                out.append(False)
                continue
        out.append(True)
    return out


def go_round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    whole = math.floor(abs(x))
    rounded = whole + 1 if abs(x) - whole >= 0.5 else whole
    return int(rounded if x >= 0 else -rounded)


_CONSTRAINT_FIELDS = (
    "maxSkew",
    "topologyKey",
    "whenUnsatisfiable",
    "labelSelector",
    "minDomains",
    "nodeAffinityPolicy",
    "nodeTaintsPolicy",
    "matchLabelKeys",
)


def _parse_default_constraints(raw: Any) -> tuple[TopologySpreadConstraint, ...]:
    """PodTopologySpreadArgs.defaultConstraints, checked as ValidatePodTopologySpreadArgs."""
    from podfit.manifest import parse_topology_spread

    items = Field(raw, "defaultConstraints")
    out: list[TopologySpreadConstraint] = []
    seen: set[tuple[str, str]] = set()
    try:
        for item in items.items():
            for key, _ in item.entries():
                if key not in _CONSTRAINT_FIELDS:
                    raise item.at(key).error("strict decoding error: unknown field")
            if item.at("labelSelector").value is not None:
                raise item.at("labelSelector").error(
                    "constraint must not define a selector, as they deduced for each pod"
                )
            c = parse_topology_spread(item)
            pair = (c.topology_key, c.when_unsatisfiable)
            if pair in seen:
                raise item.error(
                    f"duplicate constraint for topologyKey {c.topology_key!r} and "
                    f"whenUnsatisfiable {c.when_unsatisfiable!r}"
                )
            seen.add(pair)
            out.append(c)
    except PodfitError as exc:
        raise ConfigError(f"PodTopologySpread args: {exc}") from None
    return tuple(out)


@dataclass
class _FilterState:
    constraints: list[Constraint]
    keys: tuple[str, ...] = ()  # the constraints' topology keys
    # per constraint: domain value -> matching pods
    counts: list[dict[str, int]] = field(default_factory=list)
    self_match: list[int] = field(default_factory=list)
    # per constraint: the global minimum Filter compares with (0 below minDomains domains)
    minimums: list[int] = field(default_factory=list)


# Domain counts are listed in the data up to this many domains (hostname spread has one
# domain per node).
_MAX_LISTED_DOMAINS = 20


def spread_detail(st: _FilterState, i: int, node: Node, count: int) -> Detail | None:
    """Why constraint ``i`` rejects the node (missing key, or the skew it would make), or
    None when it does not."""
    c = st.constraints[i]
    name = "topology spread constraint" + (f" {i + 1} of {count}" if count > 1 else "")
    key = c.topology_key
    base: dict[str, Any] = {
        "constraint": i,
        "topologyKey": key,
        "maxSkew": c.max_skew,
        "selector": selector_text(c.selector),
    }
    value = node.labels.get(key)
    if value is None:
        return Detail(
            "missingTopologyKey",
            f"{name}: the node has no label {key} (its topologyKey)",
            base,
        )
    counts = st.counts[i]
    here = counts.get(value, 0)
    skew = here + st.self_match[i] - st.minimums[i]
    if skew <= c.max_skew:
        return None
    minimum = st.minimums[i]
    if len(counts) < c.min_domains:
        low = f"the minimum counts as 0 (only {len(counts)} domains, minDomains {c.min_domains})"
    else:
        at_min = [d for d, n in counts.items() if n == minimum]
        shown = ", ".join(at_min[:3]) + (f" and {len(at_min) - 3} more" if len(at_min) > 3 else "")
        low = f"the minimum is {minimum} ({shown})"
    text = (
        f"{name} ({key}, maxSkew {c.max_skew}, pods matching {selector_text(c.selector)}): "
        f"{key}={value} has {here} of them, {low}, so the pod would make the skew {skew}"
    )
    data = {
        **base,
        "domain": value,
        "count": here,
        "minimum": minimum,
        "skew": skew,
        "minDomains": c.min_domains,
        "domains": len(counts),
    }
    if len(counts) <= _MAX_LISTED_DOMAINS:
        data["counts"] = dict(counts)
    return Detail("topologySpread", text, data)


@dataclass
class _ScoreState:
    constraints: list[Constraint]
    # per non-hostname constraint: domain value (of a feasible node) -> matching pods
    counts: list[dict[str, int]]
    weights: list[float]
    ignored: set[str]
    plans: list[CountPlan] = field(default_factory=list)


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        check_args("PodTopologySpread", self.args, ("defaultConstraints", "defaultingType"))
        defaulting = self.args.get("defaultingType", "System")
        if defaulting not in ("System", "List"):
            raise ConfigError(
                f"PodTopologySpread args: defaultingType must be System or List, got {defaulting!r}"
            )
        raw = self.args.get("defaultConstraints") or []
        if raw and defaulting != "List":
            raise ConfigError(
                "PodTopologySpread args: defaultingType: System is invalid when "
                ".defaultConstraints are not empty (use defaultingType: List)"
            )
        self.system_defaulted = defaulting == "System"
        self.default_constraints = (
            SYSTEM_DEFAULT_CONSTRAINTS if self.system_defaulted else _parse_default_constraints(raw)
        )

    def constraints(self, pod: Pod, cluster: Cluster, when: str) -> list[Constraint]:
        """The constraints that apply to ``pod``: its own when it has any (defaults are then
        ignored entirely), else the defaults with the selector derived for it."""
        if pod.topology_spread_constraints:
            return constraints_of(pod, when)
        kept = [c for c in self.default_constraints if c.when_unsatisfiable == when]
        if not kept:
            return []
        selector = default_selector(pod, cluster)
        if selector.is_empty:
            return []
        return [_internal(c, selector) for c in kept]

    # --- filter -----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        incoming = pod.pod
        constraints = self.constraints(incoming, snapshot.cluster, DO_NOT_SCHEDULE)
        if not constraints:
            return SKIP
        st = _FilterState(constraints, tuple(c.topology_key for c in constraints))
        st.counts = [{} for _ in constraints]
        plans = [_count_plan(c) for c in constraints]
        required = _required_affinity(incoming)
        # The cycle's columns when a cycle made them (current with the snapshot).
        columns: Columns = state.get(COLUMNS) or snapshot.columns()
        _count_by_domain(st, constraints, plans, incoming, snapshot, required, columns)
        st.self_match = [
            1 if c.selector is not None and selector_matches(c.selector, incoming.labels) else 0
            for c in constraints
        ]
        for i, c in enumerate(constraints):
            counts = st.counts[i]
            minimum = min(counts.values()) if counts else 0
            st.minimums.append(0 if len(counts) < c.min_domains else minimum)
        state[self.name] = st
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        st: _FilterState = state[self.name]
        labels = node.node.labels
        # Constraint by constraint: a missing key only matters once the earlier ones passed.
        for i, c in enumerate(st.constraints):
            value = labels.get(c.topology_key)
            if value is None:
                return unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH)
            skew = st.counts[i].get(value, 0) + st.self_match[i] - st.minimums[i]
            if skew > c.max_skew:
                return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH)
        return None

    def groups(
        self, state: CycleState, pod: PodInfo, columns: Columns
    ) -> tuple[Ints, list[int]] | None:
        # Filter and details read the node's values of the constraints' topology keys.
        st: _FilterState | None = state.get(self.name)
        return None if st is None else columns.by_labels(st.keys)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        st: _FilterState = state[self.name]
        # Nodes in the same domains share the details.
        labels = node.node.labels
        key = tuple([labels.get(k) for k in st.keys])
        cache: dict[Any, tuple[Detail, ...]] = state.setdefault(self.name + "/why", {})
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = tuple(
                d
                for i in range(len(st.constraints))
                if (d := spread_detail(st, i, node.node, len(st.constraints))) is not None
            )
        return hit

    # --- score ------------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        incoming = pod.pod
        if not snapshot.nodes:
            return SKIP
        constraints = self.constraints(incoming, snapshot.cluster, SCHEDULE_ANYWAY)
        if not constraints:
            return SKIP
        # System defaults tolerate nodes without a zone label (their zone is ""); any other
        # constraint set ignores feasible nodes lacking one of its keys.
        require_all = bool(incoming.topology_spread_constraints) or not self.system_defaulted
        ignored: set[str] = set()
        # Domains come from the feasible nodes (hostname constraints count per node in Score).
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for info in nodes:
            if require_all and not _has_all_keys(info.node, constraints):
                ignored.add(info.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != HOSTNAME:
                    counts[i].setdefault(info.node.labels.get(c.topology_key, ""), 0)
        sizes = [
            len(nodes) - len(ignored) if c.topology_key == HOSTNAME else len(counts[i])
            for i, c in enumerate(constraints)
        ]
        weights = [math.log(size + 2) for size in sizes]
        plans = [_count_plan(c) for c in constraints]
        required = _required_affinity(incoming)
        # Counts come from every node of the cluster whose domain is one of those; only
        # nodes running matching pods add to them, and for a one-label selector the label
        # index names those nodes.
        every_node = snapshot.nodes
        judged: dict[str, list[bool]] = {}
        for i, c in enumerate(constraints):
            plan, domain_counts = plans[i], counts[i]
            if plan is None or not domain_counts:  # no pod counts, or hostname (in Score)
                continue
            candidates: Iterable[str] = every_node
            if isinstance(plan, tuple):
                entry = (incoming.namespace, plan[0], plan[1])
                candidates = snapshot.pods_by_label().nodes(entry, terminating=False)
            for name in candidates:
                info = every_node[name]
                if require_all and not _has_all_keys(info.node, constraints):
                    continue
                value = info.node.labels.get(c.topology_key, "")
                if value not in domain_counts:
                    continue
                eligible = judged.get(name)
                if eligible is None:
                    eligible = judged[name] = _eligible(constraints, incoming, info.node, required)
                if eligible[i]:
                    domain_counts[value] += _count(plan, c, incoming, info)
        state[self.name + "/score"] = _ScoreState(constraints, counts, weights, ignored, plans)
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        st: _ScoreState = state[self.name + "/score"]
        if node.name in st.ignored:
            return 0
        total = 0.0
        for i, c in enumerate(st.constraints):
            value = node.node.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == HOSTNAME:
                plan = st.plans[i] if st.plans else _count_plan(c)
                count = _count(plan, c, pod.pod, node)
            else:
                count = st.counts[i].get(value, 0)
            total += count * st.weights[i] + (c.max_skew - 1)
        return go_round(total)

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        ignored = state[self.name + "/score"].ignored
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
