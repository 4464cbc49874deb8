"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that tolerate the
cordon taint.

Upstream: ``pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go``.
Filter only. A node with ``spec.unschedulable: true`` fails unless one of the pod's
tolerations tolerates the taint ``node.kubernetes.io/unschedulable`` with effect NoSchedule
and an empty value — so ``operator: Exists`` on that key (or on every key), or ``Equal``
with no value; a NoExecute or PreferNoSchedule toleration does not do. The status is
UnschedulableAndUnresolvable (preemption cannot uncordon a node).

The plugin reads the flag, not the taint: the node lifecycle controller also puts that
taint on cordoned nodes, and TaintToleration judges the taint on its own. Because
NodeUnschedulable runs first, a cordoned node reports this plugin's reason.
"""

from __future__ import annotations

from .columns import Columns, Ints
from .detail import Detail
from .framework import CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo
from .status import Status, unresolvable
from .taints import UNSCHEDULABLE_TAINT, tolerates_taint

NAME = "NodeUnschedulable"

ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
# Legacy: upstream returned it only for a missing node object, which cannot happen here.
ERR_REASON_UNKNOWN_CONDITION = "node(s) had unknown conditions"


def _cordoned(node: NodeInfo) -> bool:
    return node.node.unschedulable


class NodeUnschedulable(Plugin):
    name = NAME
    filters = True
    scores = False

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.node.unschedulable:
            return None
        if tolerates_taint(pod.pod.tolerations, UNSCHEDULABLE_TAINT):
            return None
        return unresolvable(ERR_REASON_UNSCHEDULABLE)

    def groups(
        self, state: CycleState, pod: PodInfo, columns: Columns
    ) -> tuple[Ints, list[int]] | None:
        # The answers depend on the cordon alone: cordoned nodes share them, as do the others.
        return columns.groups(NAME, _cordoned)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        return (
            Detail(
                "cordoned",
                "the node is cordoned (spec.unschedulable: true) and the pod does not "
                f"tolerate {UNSCHEDULABLE_TAINT}",
                {"taint": {"key": UNSCHEDULABLE_TAINT.key, "effect": UNSCHEDULABLE_TAINT.effect}},
            ),
        )
