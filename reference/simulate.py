"""kube-scheduler over a batch of pending pods: one at a time, in queue order, each
binding visible to the next.

Each pod goes through the profile its schedulerName picks; a pod that fits is bound to
the first of the best-scoring nodes (kube-scheduler picks one of them at random; podfit
picks deterministically and reports the ties). A pod that fits nowhere stays pending
with kube-scheduler's message; once the queue is empty, such pods are tried again (in
queue order, behind each other by when they failed) if anything was bound or evicted
after their attempt, as kube-scheduler requeues them on cluster events, until nothing
changes. ``order`` lists every attempt, so a retried pod appears more than once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from podfit.apiserver import cluster_as_stored, pod_as_stored
from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import Pod, frozen_map
from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

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
    # The pod is out of this scheduler's queue: spec.nodeName already set or another
    # schedulerName (it is not in ``order``), or deleted as a preemption victim. Such a pod
    # is never retried.
    bypassed: bool = False

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
        return node_summaries(self.cluster)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "placements": self.placements,
            "pending": [d.to_dict() for d in self.pending],
            "decisions": [d.to_dict() for d in self.decisions],
            "evicted": self.evicted,
            "nodes": self.node_summary(),
        }


def node_summaries(cluster: Cluster) -> list[dict[str, Any]]:
    """Per node, what the pods bound to it request against what it has allocatable."""
    from .framework import snapshot_of

    return [_summary(info) for info in snapshot_of(cluster).nodes.values()]


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
    on_attempt: Callable[[int, int], None] | None = None,
    *,
    version: KubeVersion = LATEST,
) -> SimulationResult:
    """Schedule ``pods`` onto a copy of ``cluster``; the input cluster is not changed.

    Without ``profiles`` the default profile of ``version`` runs; pods are taken as that
    release's API server stores them. ``on_attempt(done, total)`` is called after each
    scheduling attempt (for a progress display): ``done`` pods decided of ``total``;
    requeued pods make both grow."""
    work = cluster_as_stored(cluster, version)
    work = work.copy() if work is cluster else work
    chosen = profiles_or_default(profiles, version)
    # DaemonSet controllers create one pod per eligible node; the scheduler places them too.
    admitted = [
        resolve_priority(pod_as_stored(p, version), work.priority_classes)
        for p in [*pods, *daemon_pods(work)]
    ]
    # Pending pods already in the cluster are the ones being scheduled: take them out first.
    for p in admitted:
        if p.key in work.pods and not work.pods[p.key].node_name:
            work.remove_pod(p.key)
    queue, gated = order(admitted)
    result = SimulationResult(cluster=work)
    changes = 0  # bindings and evictions so far
    # pending pod -> (changes when it last failed, attempt number of that failure)
    failed: dict[str, tuple[int, int]] = {}
    slot: dict[str, int] = {}  # pod -> index of its decision
    attempts = 0
    while queue:
        for position, pod in enumerate(queue, start=1):
            attempts += 1
            evicted_before = len(result.evicted)
            decision, changed = _attempt(work, pod, chosen, result, version)
            if on_attempt is not None:
                on_attempt(attempts, attempts + len(queue) - position)
            for key in result.evicted[evicted_before:]:
                # A victim bound earlier in this run is deleted: it does not come back.
                if key in slot:
                    victim = result.decisions[slot[key]].pod
                    note = f"preempted by {pod.key}"
                    result.decisions[slot[key]] = Decision(victim, None, note, bypassed=True)
                    failed.pop(key, None)
            if not decision.bypassed:
                result.order.append(pod.key)
            if pod.key in slot:
                result.decisions[slot[pod.key]] = decision
            else:
                slot[pod.key] = len(result.decisions)
                result.decisions.append(decision)
            changes += changed
            if decision.node is None and not decision.bypassed:
                failed[pod.key] = (changes, attempts)
            else:
                failed.pop(pod.key, None)
        # An unschedulable pod goes back to the queue when the cluster changes after its
        # attempt (kube-scheduler's requeueing on pod events, and its periodic flush); it
        # re-enters with a new enqueue time, so it sorts after pods that failed before it.
        retry = [key for key, (seen, _) in failed.items() if seen < changes]
        queue = sorted(
            (result.decisions[slot[key]].pod for key in retry),
            key=lambda p: (-p.effective_priority, failed[p.key][1]),
        )
    for g in gated:
        result.decisions.append(Decision(g.pod, None, g.message))
    return result


#: The spec's version change: binding copies the node's zone and region labels to the pod.
TOPOLOGY_LABELS = "pod-topology-labels-on-binding"
TOPOLOGY_LABEL_KEYS = ("topology.kubernetes.io/zone", "topology.kubernetes.io/region")


def _bind(work: Cluster, pod: Pod, node: str, version: KubeVersion) -> None:
    """Bind as the API server does: from v1.35 the PodTopologyLabels admission plugin
    copies the node's zone and region labels onto the pod (overwriting its own)."""
    if change_holds(TOPOLOGY_LABELS, version):
        labels = work.nodes[node].labels
        copied = {k: labels[k] for k in TOPOLOGY_LABEL_KEYS if k in labels}
        if copied and any(pod.labels.get(k) != v for k, v in copied.items()):
            pod = replace(pod, labels=frozen_map({**pod.labels, **copied}))
    bind(work, pod, node)


def _attempt(
    work: Cluster,
    pod: Pod,
    profiles: Mapping[str, Profile],
    result: SimulationResult,
    version: KubeVersion = LATEST,
) -> tuple[Decision, int]:
    """One scheduling attempt; binds or evicts in ``work``. Returns the decision and how
    many bindings and evictions it made."""
    if pod.node_name:
        # Never goes through the scheduler: the kubelet of that node runs it.
        _bind(work, pod, pod.node_name, version)
        return Decision(pod, pod.node_name, "bound by spec.nodeName", bypassed=True), 1
    outcome: ScheduleResult = schedule_one(work, pod, profiles, sample=True)
    if outcome.bypass is not None:
        return Decision(pod, None, outcome.bypass, bypassed=True), 0
    if outcome.selected is not None:
        _bind(work, pod, outcome.selected, version)
        ties = [n for n in outcome.top if n != outcome.selected]
        return Decision(pod, outcome.selected, outcome.message, ties), 1
    if outcome.nominated is None:
        return Decision(pod, None, outcome.message), 0
    # Preemption: evict the victims, then the pod goes to the nominated node in a later
    # cycle (here at once, as nothing else runs in between).
    for key in outcome.victims:
        evict(work, work.pods[key])
        result.evicted.append(key)
    retry = schedule_one(work, pod, profiles, preemption=False, sample=True)
    if retry.selected is None:
        return Decision(pod, None, retry.message), len(outcome.victims)
    _bind(work, pod, retry.selected, version)
    note = f"preempted {', '.join(outcome.victims)} on {outcome.nominated}"
    return Decision(pod, retry.selected, note), len(outcome.victims) + 1
