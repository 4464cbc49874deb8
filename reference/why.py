"""Why each node was rejected, concretely: the details behind kube-scheduler's reasons.

After a cycle, every rejected node is handed to the plugin that rejected it
(``Plugin.detail``), which reads the cycle's state to name the taint, the label value,
the pods, the amounts. A PreFilter rejection (the same for every node) and a node left
out by a PreFilter result (required node affinity naming nodes) get their details here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from podfit.model import Pod

from .columns import Columns, Ints
from .detail import Detail
from .framework import (
    COLUMNS,
    SNAPSHOT,
    CycleState,
    Plugin,
    Profile,
    ScheduleResult,
    allowed_status,
    pre_filter,
)
from .nodeaffinity import node_names_from_fields, pod_required_affinity
from .nodeinfo import PodInfo, Snapshot
from .status import SUCCESS, Code, Status


def prefilter_details(result: ScheduleResult) -> tuple[Detail, ...]:
    """The cause of a PreFilter rejection that holds for every node."""
    status = result.prefilter
    if status is None:
        return ()
    if status.plugin == "NodeAffinity":
        return (
            Detail(
                "nodeAffinity",
                "the required node affinity terms select nodes by metadata.name, and the "
                "names within each term exclude each other: no node can match",
            ),
        )
    return ()


def _left_out(result: ScheduleResult) -> Detail:
    """A node a PreFilter result did not keep (required node affinity by node name)."""
    required = pod_required_affinity(result.pod)
    names = sorted(node_names_from_fields(required) or ()) if required is not None else []
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Detail(
        "nodeNames",
        f"the pod's required node affinity selects nodes by name ({shown}), not this one",
        {"nodeNames": names},
    )


def _details_by_rows(
    result: ScheduleResult,
    rejected_rows: dict[str, Ints],
    snapshot: Snapshot,
    info: PodInfo,
    plugins: dict[str, Plugin],
) -> dict[str, tuple[Detail, ...]]:
    """node_details from the rows each plugin rejected (all nodes filtered at once): the
    details of a group of nodes the plugin answers alike are found once, for its first
    node, and land on the group's rows together."""
    state = result.state
    assert state is not None
    columns: Columns = state.get(COLUMNS) or snapshot.columns()
    names, nodes = columns.names, columns.nodes
    out: dict[str, tuple[Detail, ...]] = {}
    for plugin_name, rows in rejected_rows.items():
        row_list = rows.tolist()
        plugin = plugins.get(plugin_name)
        if plugin_name == "":
            left_out = _left_out(result)
            values: list[tuple[Detail, ...]] = [(left_out,)] * len(row_list)
        elif plugin is None:
            continue
        else:
            groups = plugin.groups(state, info, columns)
            if groups is None:
                values = [plugin.detail(state, info, nodes[i]) for i in row_list]
            else:
                ids, first = groups
                table = np.empty(len(first), dtype=np.object_)
                present = np.flatnonzero(np.bincount(ids[rows], minlength=len(first))).tolist()
                found = plugin.group_details(state, info, columns, present)
                if found is None:
                    found = [plugin.detail(state, info, nodes[first[g]]) for g in present]
                for group, details in zip(present, found, strict=True):
                    table[group] = details
                values = table[ids[rows]].tolist()
        out.update(zip(map(names.__getitem__, row_list), values, strict=True))
    return out


# A plugin's grouping of the nodes for details: each node's group, each group's first node,
# and the details found so far per group.
_Groups = tuple[list[int], list[int], dict[int, tuple[Detail, ...]]]


def node_details(profile: Profile, result: ScheduleResult) -> dict[str, tuple[Detail, ...]]:
    """Node name -> the details of its rejection, for every rejected node."""
    state = result.state
    if state is None or result.prefilter is not None:
        return {}
    snapshot = state[SNAPSHOT]
    info = PodInfo.of(result.pod)
    plugins = {p.name: p for p in result.active}
    if result.rejected_rows is not None:
        return _details_by_rows(result, result.rejected_rows, snapshot, info, plugins)
    out: dict[str, tuple[Detail, ...]] = {}
    left_out: Detail | None = None
    # Nodes share a few status objects: what each asks for is decided once per object
    # (id -> the status, kept alive, and how its nodes' details are found: the plugin,
    # its grouping of the nodes with the details found per group, or None: node by node;
    # or no plugin, and whether it is the rejection of a node a PreFilter result left
    # out, which names no plugin).
    kinds: dict[int, tuple[Status, Plugin | None, _Groups | None, bool]] = {}
    columns = snapshot.columns()
    at = columns.positions()
    grouped: dict[str, _Groups | None] = {}
    for name, status in result.statuses.items():
        if status is SUCCESS:
            continue
        kind = kinds.get(id(status))
        if kind is None or kind[0] is not status:
            rejection = status.is_rejection
            plugin = plugins.get(status.plugin) if rejection else None
            if plugin is not None and plugin.name not in grouped:
                groups = plugin.groups(state, info, columns)
                grouped[plugin.name] = (
                    None if groups is None else (groups[0].tolist(), groups[1], {})
                )
            kind = kinds[id(status)] = (
                status,
                plugin,
                grouped.get(plugin.name) if plugin is not None else None,
                rejection and status.plugin == "",
            )
        _, plugin, by_group, left_out_here = kind
        if plugin is not None:
            row = at.get(name)
            if row is None:
                continue
            if by_group is None:
                out[name] = plugin.detail(state, info, columns.nodes[row])
                continue
            ids, first, found = by_group
            group = ids[row]
            details = found.get(group)
            if details is None:
                details = found[group] = plugin.detail(state, info, columns.nodes[first[group]])
            out[name] = details
        elif left_out_here:
            left_out = left_out or _left_out(result)
            out[name] = (left_out,)
    return out


@dataclass(frozen=True)
class Rejection:
    """One filter plugin's rejection of a node, with its details."""

    status: Status
    details: tuple[Detail, ...]

    @property
    def plugin(self) -> str:
        return self.status.plugin


def rejections(
    profile: Profile,
    snapshot: Snapshot,
    pod: Pod,
    node_names: Iterable[str],
    *,
    every_plugin: bool = False,
) -> tuple[Status | None, dict[str, list[Rejection]]]:
    """PreFilter once, then each node's rejections: the first rejecting plugin only (as
    kube-scheduler reports it), or with ``every_plugin`` every plugin that rejects it
    (what has to change for the pod to fit there). Returns the PreFilter rejection, if
    any (then no node is filtered), and node -> rejections (empty when the node fits)."""
    info = PodInfo.of(pod)
    state = CycleState()
    state[SNAPSHOT] = snapshot
    active, rejected_all = pre_filter(profile, state, info, snapshot)
    if rejected_all is not None:
        return rejected_all, {}
    allowed = state.get("__node_subset__")
    out: dict[str, list[Rejection]] = {}
    for name in node_names:
        node = snapshot.nodes.get(name)
        if node is None:
            continue
        found: list[Rejection] = []
        if allowed is not None and name not in allowed:
            found.append(Rejection(allowed_status(state), ()))
        else:
            for plugin in active:
                status = plugin.filter(state, info, node)
                if status is None or status.code is Code.SUCCESS:
                    continue
                status = status.with_plugin(plugin.name)
                details = plugin.detail(state, info, node) if status.is_rejection else ()
                found.append(Rejection(status, details))
                if not every_plugin:
                    break
        out[name] = found
    return None, out
