"""The scheduling framework: runs the profile's plugins in kube-scheduler's order.

One scheduling cycle for one pod: PreFilter (each plugin computes once what its
Filter reads, or says Skip), Filter per node (a node stops at the first plugin that
rejects it, as upstream's RunFilterPlugins does), PreScore, Score per feasible node,
NormalizeScore, then the weighted total and the best nodes. The outcome keeps every
node's status and every plugin's score so a person can see why.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt

from podfit.cluster import Cluster
from podfit.model import Pod
from podfit.versions import LATEST, KubeVersion

from .columns import Bools, Columns, Ints, Verdicts, filter_groups
from .detail import Detail
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import SUCCESS, Code, Status

MAX_NODE_SCORE = 100


class CycleState(dict[str, Any]):
    """Per-cycle data a plugin's PreFilter/PreScore leave for its Filter/Score."""


#: The cycle state's key for the snapshot the cycle ran on (details look pods up in it).
SNAPSHOT = "__snapshot__"
#: The cycle state's key for the columns every node was filtered through at once, if so.
COLUMNS = "__columns__"


class Plugin:
    """Base class: override the extension points the plugin implements.

    ``pre_filter``/``pre_score`` return ``None`` for success, SKIP to skip the plugin's
    Filter/Score for this pod, or a rejection that fails the pod on every node.
    ``filter`` returns ``None`` when the node passes. ``score`` returns the raw score;
    ``normalize`` rewrites the raw scores in place.
    """

    name: ClassVar[str] = ""
    filters: ClassVar[bool] = False
    scores: ClassVar[bool] = False

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        self.args: Mapping[str, Any] = args or {}
        # The Kubernetes release whose behaviour the plugin follows.
        self.version = version

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return 0

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        return None

    def groups(
        self, state: CycleState, pod: PodInfo, columns: Columns
    ) -> tuple[Ints, list[int]] | None:
        """Nodes this plugin's ``filter`` and ``detail`` answer alike for ``pod`` (they
        depend only on what the nodes of a group share): each node's group number and each
        group's first node, or None: no such grouping."""
        return None

    def filter_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Verdicts | None:
        """``filter`` of every node of ``rows`` (positions in the snapshot's node order) at
        once, or None: no such shortcut for this pod. Rows the verdicts pass must be
        exactly those ``filter`` passes, unless they leave those rows' statuses to
        ``filter`` (which then has the last word). By default, ``filter`` of one node per
        group of ``groups``."""
        groups = self.groups(state, pod, columns)
        if groups is None:
            return None
        ids, first = groups
        nodes = columns.nodes
        return filter_groups(ids, first, rows, lambda i: self.filter(state, pod, nodes[i]))

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        """``score`` of every node of ``rows`` at once, exactly, or None: no shortcut."""
        return None

    def normalize_all(self, state: CycleState, pod: PodInfo, scores: Ints) -> Ints | None:
        """``normalize`` of scores held as an array (in the feasible nodes' order): the
        normalized array, or None: ``normalize`` does it. A plugin that does not normalize
        its scores has them as they are."""
        return scores if type(self).normalize is Plugin.normalize else None

    def group_details(
        self, state: CycleState, pod: PodInfo, columns: Columns, groups: list[int]
    ) -> list[tuple[Detail, ...]] | None:
        """``detail`` of the first node of each of ``groups`` (numbers of ``groups()``'s
        grouping) at once, or None: ``detail`` does it node by node."""
        return None

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        """The concrete cause behind this plugin's rejection of ``node`` (which taint, which
        pod, how much is free), read from the cycle's state after filtering (``state[SNAPSHOT]``
        is the snapshot). Called only for nodes this plugin rejected, never on the
        filtering path."""
        return ()


@dataclass(frozen=True)
class Profile:
    """A scheduler profile: filter plugins in order, score plugins with weights."""

    scheduler_name: str
    filter_plugins: tuple[Plugin, ...]
    score_plugins: tuple[tuple[Plugin, int], ...]
    # Extra plugins that only take part in PreFilter (none in the default profile).
    extra: tuple[Plugin, ...] = ()
    # The Kubernetes release the profile is that of (defaults, plugins' behaviour).
    version: KubeVersion = LATEST
    # PostFilter plugins in order (their messages join the FitError's).
    post_filters: tuple[str, ...] = ("DefaultPreemption",)


@dataclass
class ScheduleResult:
    """Everything one scheduling cycle decided, node by node."""

    pod: Pod
    nodes: list[str]
    statuses: dict[str, Status] = field(default_factory=dict)
    scores: dict[str, dict[str, int]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    feasible: list[str] = field(default_factory=list)
    top: list[str] = field(default_factory=list)
    prefilter: Status | None = None
    bypass: str | None = None
    # An Error status (e.g. a PreScore plugin failing) aborts the scheduling attempt.
    error: Status | None = None
    # Upstream plugins the profile would run that podfit does not model.
    not_modelled: tuple[str, ...] = ()
    # Set when the pod uses something podfit does not model: no decision is made.
    unmodelled: str | None = None
    # The Kubernetes release whose scheduler this is.
    kube_version: KubeVersion = LATEST
    qos: str | None = None
    # PostFilter (preemption): its message part, and the node and victims it would pick.
    postfilter_message: str = ""
    nominated: str | None = None
    victims: list[str] = field(default_factory=list)
    # (victim, PodDisruptionBudget) pairs the nominated preemption would violate.
    violated: list[tuple[str, str]] = field(default_factory=list)
    # Per rejected node, the concrete cause behind its reason (explanations only), and the
    # cause of a PreFilter rejection.
    details: dict[str, tuple[Detail, ...]] = field(default_factory=dict)
    prefilter_details: tuple[Detail, ...] = ()
    # What the pod uses that podfit does not model (volumes, resource claims): the answer
    # may miss what those plugins would reject.
    warnings: list[str] = field(default_factory=list)
    # Changes that would make the pod fit, each confirmed by the reference (explanations).
    fixes: list[Any] = field(default_factory=list)
    # A DaemonSet explained node by node (namespace/name): each node has its own pod.
    daemon_set: str | None = None
    # The cycle's state and the plugins whose Filter ran: what details are computed from.
    state: CycleState | None = field(default=None, repr=False, compare=False)
    active: tuple[Plugin, ...] = field(default=(), repr=False, compare=False)
    # When every node was filtered at once: the rows (positions in the snapshot's node
    # order, ascending) each filter plugin rejected, by plugin name ("": left out by a
    # PreFilter result); what details are found from a group at a time.
    rejected_rows: dict[str, Ints] | None = field(default=None, repr=False, compare=False)

    @property
    def selected(self) -> str | None:
        """The first of the best nodes (kube-scheduler picks one of ``top`` at random)."""
        return self.top[0] if self.top else None

    @property
    def schedulable(self) -> bool:
        return bool(self.feasible) and self.bypass is None and self.unmodelled is None

    @property
    def feasible_nodes(self) -> list[str]:
        return self.feasible

    @property
    def message(self) -> str:
        if self.daemon_set is not None:
            return (
                f"DaemonSet {self.daemon_set}: its pod runs or fits on {len(self.feasible)} of "
                f"{len(self.nodes)} node(s)"
            )
        if self.bypass:
            return self.bypass
        if self.unmodelled:
            return self.unmodelled
        if self.error is not None:
            return f"running {self.error.plugin}: {'; '.join(self.error.reasons)}"
        if self.feasible:
            return f"scheduled to {self.selected}" if self.selected else ""
        if not self.nodes:
            return NO_NODES_AVAILABLE
        message = fit_error_message(len(self.nodes), self.statuses, self.prefilter)
        return f"{message} {self.postfilter_message}" if self.postfilter_message else message

    def failed_statuses(self) -> dict[str, Status]:
        return {n: s for n, s in self.statuses.items() if not s.is_success}

    def to_dict(self) -> dict[str, Any]:
        """The documented, stable JSON shape of an explanation (docs/explain.md)."""
        nodes = []
        # Details are shared between nodes with the same cause: one dict each.
        as_dicts: dict[int, dict[str, Any]] = {}
        why_lists: dict[int, list[dict[str, Any]]] = {}
        status_dicts: dict[int, dict[str, object]] = {}  # statuses are shared too
        for name in self.nodes:
            status = self.statuses.get(name)
            entry: dict[str, Any] = {"name": name}
            if status is None:
                entry["status"] = "NotChecked"
            elif status.is_success:
                entry["status"] = "Success"
            else:
                entry["status"] = status_dicts.get(id(status)) or status_dicts.setdefault(
                    id(status), status.to_dict()
                )
            why = self.details.get(name)
            if why:
                listed = why_lists.get(id(why))
                if listed is None:
                    listed = why_lists[id(why)] = [
                        as_dicts.get(id(d)) or as_dicts.setdefault(id(d), d.to_dict()) for d in why
                    ]
                entry["why"] = listed
            if name in self.totals:
                entry["scores"] = {p: s[name] for p, s in self.scores.items()}
                entry["total"] = self.totals[name]
            nodes.append(entry)
        pod = self.pod
        return {
            "kubeVersion": str(self.kube_version),
            "pod": pod.key,
            "daemonSet": self.daemon_set,
            "schedulerName": pod.scheduler_name,
            "priority": pod.priority,
            "qos": self.qos,
            "bypass": self.bypass,
            "unmodelled": self.unmodelled,
            "schedulable": self.schedulable,
            "feasible": self.feasible,
            "selected": self.selected,
            "top": self.top,
            "message": self.message,
            "preemption": {
                "nominatedNode": self.nominated,
                "victims": self.victims,
                "violates": [{"pod": p, "podDisruptionBudget": b} for p, b in self.violated],
            }
            if self.nominated
            else None,
            "prefilterWhy": [d.to_dict() for d in self.prefilter_details],
            "weights": self.weights,
            "nodes": nodes,
            "warnings": self.warnings,
            "fixes": [f.to_dict() for f in self.fixes],
            "notModelled": list(self.not_modelled),
        }


#: schedulePod's error when the snapshot has no node at all (ErrNoNodesAvailable).
NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def fit_error_message(
    num_nodes: int, statuses: Mapping[str, Status], prefilter: Status | None = None
) -> str:
    """kube-scheduler's FitError text: ``0/N nodes are available: <counts>.``

    Each node contributes its status's reasons; the ``"<count> <reason>"`` strings are
    sorted as strings (so "10 ..." sorts before "2 ..."), as upstream does.
    """
    head = f"0/{num_nodes} nodes are available:"
    if prefilter is not None and prefilter.reasons:
        # A PreFilter rejection is reported once, not counted per node (PreFilterMsg).
        return f"{head} {', '.join(prefilter.reasons)}."
    counts: Counter[str] = Counter()
    for status in statuses.values():
        if status.is_success:
            continue
        for reason in status.reasons:
            counts[reason] += 1
    parts = sorted(f"{n} {reason}" for reason, n in counts.items())
    return f"{head} {', '.join(parts)}." if parts else f"{head}."


_SNAPSHOTS: WeakKeyDictionary[Cluster, tuple[int, Snapshot]] = WeakKeyDictionary()


def snapshot_of(cluster: Cluster) -> Snapshot:
    """The cluster's scheduler snapshot, rebuilt only when the cluster has changed."""
    cached = _SNAPSHOTS.get(cluster)
    if cached is not None and cached[0] == cluster.version:
        return cached[1]
    was_enabled = gc.isenabled()
    gc.disable()  # many long-lived objects: avoid repeated full GC scans while building
    try:
        snap = Snapshot.of(cluster)
    finally:
        gc.freeze()  # long-lived: keep it out of the cyclic GC's scans
        if was_enabled:
            gc.enable()
    _SNAPSHOTS[cluster] = (cluster.version, snap)
    return snap


def bind(cluster: Cluster, pod: Pod, node_name: str) -> Pod:
    """Bind a pod and keep the cluster's snapshot in step without rebuilding it."""
    snap = snapshot_of(cluster)
    bound = cluster.bind(pod, node_name)
    snap.add_pod(bound)
    _SNAPSHOTS[cluster] = (cluster.version, snap)
    return bound


def evict(cluster: Cluster, pod: Pod) -> None:
    """Remove a pod (preemption victim, eviction) and keep the snapshot in step."""
    snap = snapshot_of(cluster)
    removed = cluster.remove_pod(pod.key)
    if removed is not None and removed.node_name and not removed.is_terminal:
        snap.remove_pod(removed)
    _SNAPSHOTS[cluster] = (cluster.version, snap)


MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5


def num_feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes kube-scheduler looks for before it stops filtering
    (percentageOfNodesToScore; 0 means adaptive: 50% minus 1% per 125 nodes, at least 5%,
    and never fewer than 100 nodes). Below 100 nodes every node is filtered."""
    if num_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_nodes
    if percentage == 0:
        percentage = max(50 - num_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    found = num_nodes * percentage // 100
    return max(found, MIN_FEASIBLE_NODES_TO_FIND)


def pre_filter(
    profile: Profile, state: CycleState, info: PodInfo, snapshot: Snapshot
) -> tuple[list[Plugin], Status | None]:
    """Every filter plugin's PreFilter: the plugins whose Filter then runs (those that did
    not skip), or the first rejection (tagged with its plugin), which holds for every node."""
    active: list[Plugin] = []
    for plugin in profile.filter_plugins:
        status = plugin.pre_filter(state, info, snapshot)
        if status is None or status.is_success:
            active.append(plugin)
        elif status.code is not Code.SKIP:
            return active, status.with_plugin(plugin.name)
    return active, None


def run_cycle(
    profile: Profile, snapshot: Snapshot, pod: Pod, *, sample: bool = False
) -> ScheduleResult:
    """One scheduling cycle for ``pod`` against ``snapshot`` (nothing is bound).

    By default every node is filtered and scored, so an explanation covers them all. With
    ``sample`` the cycle behaves as kube-scheduler's: it starts where the previous sampled
    cycle stopped and stops filtering once it has found ``num_feasible_nodes_to_find``
    feasible nodes (only clusters of 100 nodes or more are affected).
    """
    columns = snapshot.columns()
    nodes, names = columns.nodes, list(columns.names)
    start = 0
    limit = len(nodes)
    if sample and nodes:
        start = snapshot.next_start_node % len(nodes)
        names = names[start:] + names[:start]
        limit = num_feasible_nodes_to_find(len(nodes))
    result = ScheduleResult(pod=pod, nodes=names)
    info = PodInfo.of(pod)
    state = CycleState()
    state[SNAPSHOT] = snapshot
    state[COLUMNS] = columns
    active, rejected_all = pre_filter(profile, state, info, snapshot)
    result.state = state
    result.active = tuple(active)
    if rejected_all is not None:
        # A PreFilter rejection fails the pod on every node with the same status.
        result.prefilter = rejected_all
        result.statuses = dict.fromkeys(names, rejected_all)
        return result

    allowed = state.get("__node_subset__")
    filters: _Filters = [(plugin.filter, plugin.name, {}) for plugin in active]
    filtering = _Filtering(state, info, columns, active, filters, allowed)
    if sample:
        rows, processed = _filter_columns_until(filtering, start, limit, result)
        if nodes:
            snapshot.next_start_node = (start + processed) % len(nodes)
    else:
        rows = _filter_columns(filtering, result)
    row_list = rows.tolist()
    feasible = list(map(nodes.__getitem__, row_list))
    result.feasible = list(map(columns.names.__getitem__, row_list))
    if not feasible:
        return result
    if len(feasible) == 1:
        # kube-scheduler does not score when only one node is feasible.
        result.top = result.feasible[:]
        return result

    # Weighted totals in the feasible nodes' order, summed as an array (int64 while the
    # scores are small, as every in-tree plugin's are; Python integers otherwise).
    names = result.feasible
    totals: npt.NDArray[Any] = np.zeros(len(names), dtype=np.int64)
    for plugin, weight in profile.score_plugins:
        status = plugin.pre_score(state, info, snapshot, feasible)
        if status is not None and status.code is Code.SKIP:
            continue
        if status is not None and status.code is Code.ERROR:
            # An error aborts the attempt: the pod is not scheduled in this cycle.
            result.error = status.with_plugin(plugin.name)
            result.feasible = []
            result.top = []
            return result
        every = plugin.score_all(state, info, columns, rows)
        normalized = None if every is None else plugin.normalize_all(state, info, every)
        if normalized is not None:
            raw = dict(zip(names, normalized.tolist(), strict=True))
        else:
            if every is not None:
                raw = dict(zip(names, every.tolist(), strict=True))
            else:
                score = plugin.score
                raw = dict(zip(names, [score(state, info, n) for n in feasible], strict=True))
            plugin.normalize(state, info, raw)
            normalized = None
        result.scores[plugin.name] = raw
        result.weights[plugin.name] = weight
        totals = _add_weighted(totals, raw, normalized, weight)
    result.totals = dict(zip(names, totals.tolist(), strict=True))
    best = totals.max()
    result.top = [names[i] for i in np.flatnonzero(totals == best).tolist()]
    return result


# Scores this small keep int64 totals exact (weights are small too).
_SMALL_SCORE = 2**40


def _add_weighted(
    totals: npt.NDArray[Any],
    raw: dict[str, int],
    normalized: Ints | None,
    weight: int,
) -> npt.NDArray[Any]:
    """``totals`` plus ``weight`` times the plugin's scores (``normalized`` when held as
    an array, else ``raw``'s values, in the same order): in int64 while every score and
    the weight are small integers, in Python's integers (or whatever a plugin returned)
    otherwise."""
    values: npt.NDArray[Any] | None = normalized
    if values is None and set(map(type, raw.values())) <= {int}:
        try:
            values = np.fromiter(raw.values(), dtype=np.int64, count=len(raw))
        except OverflowError:
            values = None
    small = (
        values is not None
        and totals.dtype != object
        and -_SMALL_SCORE < weight < _SMALL_SCORE
        and (not len(values) or (values.min() > -_SMALL_SCORE and values.max() < _SMALL_SCORE))
    )
    if small:
        assert values is not None
        summed: npt.NDArray[Any] = totals + values * weight
        return summed
    scores = np.array(list(raw.values()), dtype=object)
    exact: npt.NDArray[Any] = totals.astype(object) + scores * weight
    return exact


# Each active filter, its plugin's name, and that plugin's rejections tagged so far.
# Plugins return shared Status objects for common rejections: each is tagged with the
# plugin once per cycle rather than once per node (id -> the status, kept alive, tagged).
_Filters = list[tuple[Callable[..., "Status | None"], str, dict[int, tuple[Status, Status]]]]


@dataclass(frozen=True)
class _Filtering:
    """What filtering nodes for one pod reads: the cycle's state, the pod, the nodes as
    columns, the filters that run (with their plugins) and the nodes a PreFilter result
    allows (None: all)."""

    state: CycleState
    info: PodInfo
    columns: Columns
    active: list[Plugin]
    filters: _Filters
    allowed: set[str] | None


def _filter_columns(f: _Filtering, result: ScheduleResult) -> Ints:
    """Every node through the filters (:func:`_pass_filters`). Statuses keep the nodes'
    order; returns the positions of the feasible nodes, in order."""
    count = len(f.columns.nodes)
    statuses = np.full(count, SUCCESS, dtype=np.object_)
    rejected: dict[str, Ints] = {}
    rows = _pass_filters(f, np.arange(count, dtype=np.int64), statuses, rejected)
    result.statuses = dict(zip(f.columns.names, statuses.tolist(), strict=True))
    result.rejected_rows = rejected
    return rows


# The fewest nodes a sampling cycle takes at a time.
SAMPLING_STRETCH = 128


def _filter_columns_until(
    f: _Filtering, start: int, limit: int, result: ScheduleResult
) -> tuple[Ints, int]:
    """kube-scheduler's sampling: the nodes in order from ``start`` round, until ``limit``
    feasible nodes are found, taken a stretch of nodes at a time; statuses only for the
    nodes up to the last feasible one needed, in that order. The feasible positions, and
    how many nodes were processed."""
    columns = f.columns
    count = len(columns.nodes)
    order = np.roll(np.arange(count, dtype=np.int64), -start)
    statuses = np.full(count, SUCCESS, dtype=np.object_)
    found: list[Ints] = []
    have = done = 0
    processed = count
    while done < count and have < limit:
        # Filters have no side effects: judging a few nodes past the last one needed
        # changes nothing but the time.
        stretch = order[done : done + max(2 * (limit - have), SAMPLING_STRETCH)]
        passing = _pass_filters(f, stretch, statuses, None)
        if have + len(passing) >= limit:
            needed = passing[: limit - have]
            last = int(np.flatnonzero(stretch == needed[-1])[0])
            found.append(needed)
            have = limit
            processed = done + last + 1
            break
        found.append(passing)
        have += len(passing)
        done += len(stretch)
    seen = order[:processed]
    names = columns.names
    result.statuses = dict(
        zip(map(names.__getitem__, seen.tolist()), statuses[seen].tolist(), strict=True)
    )
    rows = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    return rows, processed


def _pass_filters(
    f: _Filtering,
    rows: Ints,
    statuses: npt.NDArray[np.object_],
    rejected: dict[str, Ints] | None,
) -> Ints:
    """The nodes at ``rows`` through the filters, one plugin at a time over the nodes still
    passing: each node meets the plugins in order and stops at its first rejection, as when
    the nodes go one at a time. Each plugin answers for all those nodes at once where it
    can (``filter_all``), else node by node. Rejections land in ``statuses`` (by row) and,
    when given, ``rejected`` (the rows each plugin rejected); returns the rows passing, in
    the order given."""
    state, info, columns, allowed = f.state, f.info, f.columns, f.allowed
    names = columns.names
    nodes = columns.nodes
    if allowed is not None:
        inside = np.array([names[i] in allowed for i in rows.tolist()], dtype=np.bool_)
        statuses[rows[~inside]] = allowed_status(state)
        if rejected is not None:
            rejected[""] = rows[~inside]
        rows = rows[inside]
    success = Code.SUCCESS

    def tag(rejected: Status, plugin_name: str, tagged: dict[int, tuple[Status, Status]]) -> Status:
        hit = tagged.get(id(rejected))
        if hit is None or hit[0] is not rejected:
            hit = tagged[id(rejected)] = (rejected, rejected.with_plugin(plugin_name))
        return hit[1]

    for plugin, (run_filter, plugin_name, tagged) in zip(f.active, f.filters, strict=True):
        if not len(rows):
            break
        verdicts = plugin.filter_all(state, info, columns, rows)
        if verdicts is not None and verdicts.groups is not None:
            assert verdicts.group_statuses is not None
            failing = ~verdicts.passes
            if failing.any():
                by_group = np.empty(len(verdicts.group_statuses), dtype=np.object_)
                rejecting = np.zeros(len(verdicts.group_statuses), dtype=np.bool_)
                for group, status in enumerate(verdicts.group_statuses):
                    if status is not None:
                        by_group[group] = tag(status, plugin_name, tagged)
                        rejecting[group] = status.is_rejection
                statuses[rows[failing]] = by_group[verdicts.groups[failing]]
                if rejected is not None:
                    rejected[plugin_name] = rows[failing & rejecting[verdicts.groups]]
                rows = rows[verdicts.passes]
            continue
        if verdicts is None:
            keep: Bools = np.ones(len(rows), dtype=np.bool_)
            asked: Iterable[int] = range(len(rows))
        else:
            keep = verdicts.passes.copy()
            asked = np.flatnonzero(~keep).tolist()
        row_list = rows.tolist()
        found = []
        for at in asked:
            i = row_list[at]
            status = run_filter(state, info, nodes[i])
            if status is None or status.code is success:
                keep[at] = True
                continue
            keep[at] = False
            statuses[i] = tag(status, plugin_name, tagged)
            if status.is_rejection:
                found.append(i)
        if found and rejected is not None:
            rejected[plugin_name] = np.array(found, dtype=np.int64)
        rows = rows[keep]
    return rows


def filter_one(profile: Profile, snapshot: Snapshot, pod: Pod, node_name: str) -> Status:
    """The filters' verdict for ``pod`` on one node: PreFilter, then each Filter on that node
    only (what a full cycle records for it, without filtering the others or scoring)."""
    info = PodInfo.of(pod)
    state = CycleState()
    active, rejected_all = pre_filter(profile, state, info, snapshot)
    if rejected_all is not None:
        return rejected_all
    allowed = state.get("__node_subset__")
    if allowed is not None and node_name not in allowed:
        return allowed_status(state)
    node = snapshot.nodes.get(node_name)
    if node is None:
        return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (f"node {node_name!r} not found",))
    for plugin in active:
        rejected = plugin.filter(state, info, node)
        if rejected is not None and rejected.code is not Code.SUCCESS:
            return rejected.with_plugin(plugin.name)
    return SUCCESS


def allowed_status(state: CycleState) -> Status:
    """Status of a node that a PreFilter result (a node-name subset) left out.

    Upstream sets it on every absent node without naming a plugin (the status's plugin is
    empty); the reason lists the plugins sorted, as Go prints a string slice: ``[A B]``.
    """
    plugins = sorted(set(state.get("__node_subset_plugins__", [])))
    return Status(
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
        (f"node(s) didn't satisfy plugin(s) [{' '.join(plugins)}]",),
    )


def restrict_nodes(state: CycleState, plugin: str, names: set[str]) -> None:
    """A PreFilter narrowing the nodes to ``names`` (intersected with earlier narrowing)."""
    current = state.get("__node_subset__")
    state["__node_subset__"] = names if current is None else current & names
    state.setdefault("__node_subset_plugins__", []).append(plugin)


def default_normalize_all(scores: Ints, *, reverse: bool = False) -> Ints:
    """:func:`default_normalize` of scores held as an array."""
    top = int(scores.max()) if len(scores) else 0
    if top == 0:
        return np.full_like(scores, MAX_NODE_SCORE) if reverse else scores
    scaled = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - scaled if reverse else scaled


def default_normalize(scores: dict[str, int], *, reverse: bool = False) -> None:
    """Scale scores to 0..100 by the maximum (helper.DefaultNormalizeScore).

    With ``reverse`` a higher raw score is worse. When every score is 0, forward
    normalisation leaves zeros and reverse normalisation gives every node 100.
    """
    top = max(scores.values(), default=0)
    if top == 0:
        if reverse:
            for name in scores:
                scores[name] = MAX_NODE_SCORE
        return
    for name, value in scores.items():
        scaled = MAX_NODE_SCORE * value // top
        scores[name] = MAX_NODE_SCORE - scaled if reverse else scaled
