"""DynamicResources: resource claims (DRA), as far as podfit models them.

Upstream: ``pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go``. The
plugin is in the default profile from v1.34 (the DynamicResourceAllocation gate is on by
default; it is a MultiPoint plugin with score weight 2). podfit does not model resource
claims, DeviceClasses or ResourceSlices, so it models the plugin only for pods without
claims, which is what it does for them upstream:

- PreFilter skips the pod (nothing to allocate), so Filter never rejects a node;
- PreScore lets Score run and Score gives every node 0, so the plugin appears among the
  scores without changing any total;
- PostFilter answers Unschedulable "no new claims to deallocate" before DefaultPreemption
  runs, which puts "no new claims to deallocate, " in front of the preemption part of the
  FitError message whenever preemption does not nominate a node.

A pod that has ``spec.resourceClaims`` is not scheduled by podfit: the result says the
pod uses something podfit does not model (:data:`UNMODELLED_CLAIMS`), never a node.
"""

from __future__ import annotations

import numpy as np

from .columns import Columns, Ints
from .framework import CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import SKIP, Status

NAME = "DynamicResources"
#: The PostFilter reason for a pod without resource claims (joined into the FitError).
NO_CLAIMS_TO_DEALLOCATE = "no new claims to deallocate"
UNMODELLED_CLAIMS = (
    "the pod has spec.resourceClaims (dynamic resource allocation), which podfit does not "
    "model: it cannot say where kube-scheduler would place it"
)


class DynamicResources(Plugin):
    name = NAME
    filters = True
    scores = True

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        # Pods with claims never get this far (schedule_one refuses them).
        return SKIP

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return 0

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        return np.zeros(len(rows), dtype=np.int64)
