"""NodeDeclaredFeatures: a pod that needs a node feature goes only where a node declares it.

Upstream: ``pkg/scheduler/framework/plugins/nodedeclaredfeatures/nodedeclaredfeatures.go``
and ``staging/src/k8s.io/component-helpers/nodedeclaredfeatures``. In the default profile
from v1.36 (the NodeDeclaredFeatures gate is on by default there; alpha and off in v1.35).

PreFilter infers what the pod needs from its spec; a pod that needs nothing skips the
plugin. Of the features v1.36 registers, two are inferred for scheduling:

- ``RestartAllContainersOnContainerExits``: a container or init container has a
  ``restartPolicyRules`` entry with action ``RestartAllContainers``;
- ``UserNamespacesHostNetworkSupport``: ``hostNetwork: true`` with ``hostUsers: false``.

Filter: a node must list every needed feature in ``status.declaredFeatures``; otherwise it
is UnschedulableAndUnresolvable with the reason below (no eviction declares a feature).
"""

from __future__ import annotations

from podfit.model import Pod

from .detail import Detail
from .framework import CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import SKIP, Status, unresolvable

NAME = "NodeDeclaredFeatures"
ERR_REASON = "node(s) didn't match Pod's required features"
RESTART_ALL_CONTAINERS = "RestartAllContainersOnContainerExits"
USER_NAMESPACES_HOST_NETWORK = "UserNamespacesHostNetworkSupport"
_KEY = NAME + "/needed"


def needed_features(pod: Pod) -> frozenset[str]:
    """The node features ``pod`` needs (InferForPodScheduling)."""
    out = set()
    for c in pod.all_containers():
        if any(r.get("action") == "RestartAllContainers" for r in c.restart_policy_rules):
            out.add(RESTART_ALL_CONTAINERS)
    if pod.host_network and pod.host_users is False:
        out.add(USER_NAMESPACES_HOST_NETWORK)
    return frozenset(out)


class NodeDeclaredFeatures(Plugin):
    name = NAME
    filters = True
    scores = False

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        needed = needed_features(pod.pod)
        if not needed:
            return SKIP
        state[_KEY] = needed
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        needed: frozenset[str] = state.get(_KEY) or needed_features(pod.pod)
        if needed <= set(node.node.declared_features):
            return None
        return unresolvable(ERR_REASON)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        needed: frozenset[str] = state.get(_KEY) or needed_features(pod.pod)
        missing = sorted(needed - set(node.node.declared_features))
        return (
            Detail(
                "undeclaredFeature",
                f"the node does not declare {', '.join(missing)} (status.declaredFeatures)",
                {"features": missing},
            ),
        )
