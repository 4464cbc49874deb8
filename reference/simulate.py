"""kube-scheduler over a batch of pending pods: one at a time, in queue order, each
binding visible to the next.

Each pod goes through the profile its schedulerName picks; a pod that fits is bound to
the first of the best-scoring nodes (kube-scheduler picks one of them at random; podfit
picks deterministically and reports the ties). A pod that fits nowhere stays pending
with kube-scheduler's message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import Pod

from .daemonset import daemon_pods
from .framework import Profile, ScheduleResult, bind, evict
from .nodeinfo import NodeInfo
from .queue import order
from .scheduler import profiles_or_default, schedule_one


@dataclass
class Decision:
    pod: Pod
    node: str | None
    message: str
    ties: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"pod": self.pod.key, "node": self.node, "message": self.message, "ties": self.ties}


@dataclass
class SimulationResult:
    cluster: Cluster  # the cluster after the simulation (bound pods included)
    order: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)

    @property
    def placements(self) -> dict[str, str | None]:
        return {d.pod.key: d.node for d in self.decisions}

    @property
    def pending(self) -> list[Decision]:
        return [d for d in self.decisions if d.node is None]

    def node_summary(self) -> list[dict[str, Any]]:
        from .framework import snapshot_of

        rows = []
        for info in snapshot_of(self.cluster).nodes.values():
            rows.append(_summary(info))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "placements": self.placements,
            "pending": [d.to_dict() for d in self.pending],
            "decisions": [d.to_dict() for d in self.decisions],
            "evicted": self.evicted,
            "nodes": self.node_summary(),
        }


def _summary(info: NodeInfo) -> dict[str, Any]:
    resources = {}
    for name in ("cpu", "memory", "pods"):
        used = len(info.pods) if name == "pods" else info.requested.get(name, 0)
        resources[name] = {"requested": used, "allocatable": info.allocatable.get(name, 0)}
    for name in sorted(set(info.requested) - {"cpu", "memory"}):
        resources[name] = {
            "requested": info.requested[name],
            "allocatable": info.allocatable.get(name, 0),
        }
    return {"node": info.name, "pods": len(info.pods), "resources": resources}


def simulate(
    cluster: Cluster,
    pods: Iterable[Pod],
    profiles: Mapping[str, Profile] | None = None,
) -> SimulationResult:
    """Schedule ``pods`` onto a copy of ``cluster``; the input cluster is not changed."""
    work = cluster.copy()
    chosen = profiles_or_default(profiles)
    # DaemonSet controllers create one pod per eligible node; the scheduler places them too.
    admitted = [resolve_priority(p, work.priority_classes) for p in [*pods, *daemon_pods(work)]]
    # Pending pods already in the cluster are the ones being scheduled: take them out first.
    for p in admitted:
        if p.key in work.pods and not work.pods[p.key].node_name:
            work.remove_pod(p.key)
    queue, gated = order(admitted)
    result = SimulationResult(cluster=work)
    for pod in queue:
        result.order.append(pod.key)
        if pod.node_name:
            # Never goes through the scheduler: the kubelet of that node runs it.
            bind(work, pod, pod.node_name)
            result.decisions.append(Decision(pod, pod.node_name, "bound by spec.nodeName"))
            continue
        outcome: ScheduleResult = schedule_one(work, pod, chosen)
        if outcome.bypass is not None:
            result.decisions.append(Decision(pod, None, outcome.bypass))
        elif outcome.selected is not None:
            bind(work, pod, outcome.selected)
            ties = [n for n in outcome.top if n != outcome.selected]
            result.decisions.append(Decision(pod, outcome.selected, outcome.message, ties))
        elif outcome.nominated is not None:
            # Preemption: evict the victims, then the pod goes to the nominated node in a
            # later cycle (here at once, as nothing else runs in between).
            for key in outcome.victims:
                victim = work.pods[key]
                evict(work, victim)
                result.evicted.append(key)
            retry = schedule_one(work, pod, chosen, preemption=False)
            if retry.selected is not None:
                bind(work, pod, retry.selected)
                note = f"preempted {', '.join(outcome.victims)} on {outcome.nominated}"
                result.decisions.append(Decision(pod, retry.selected, note))
            else:
                result.decisions.append(Decision(pod, None, retry.message))
        else:
            result.decisions.append(Decision(pod, None, outcome.message))
    for g in gated:
        result.decisions.append(Decision(g.pod, None, g.message))
    return result
