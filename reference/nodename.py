"""NodeName: a pod that names a node in spec.nodeName fits only that node.

Upstream: ``pkg/scheduler/framework/plugins/nodename/node_name.go``. Filter only: there is
no PreFilter narrowing, so every other node is evaluated and rejected with the reason below
(UnschedulableAndUnresolvable: preemption cannot change a node's name). The comparison is
exact and case-sensitive. In a real cluster a pod created with spec.nodeName is bound
already and never reaches the scheduler; the plugin matters for pods whose nodeName is set
while they wait, and for simulations.
"""

from __future__ import annotations

from .detail import Detail
from .framework import CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import SKIP, Status, unresolvable

NAME = "NodeName"

ERR_REASON = "node(s) didn't match the requested node name"


def fits(pod_node_name: str, node_name: str) -> bool:
    return not pod_node_name or pod_node_name == node_name


class NodeName(Plugin):
    name = NAME
    filters = True
    scores = False

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        # Not in upstream (which filters every node): without spec.nodeName every node
        # passes, so there is nothing to check.
        return None if pod.pod.node_name else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if fits(pod.pod.node_name, node.name):
            return None
        return unresolvable(ERR_REASON)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        wanted = pod.pod.node_name
        return (Detail("nodeName", f"the pod's spec.nodeName is {wanted}", {"nodeName": wanted}),)
