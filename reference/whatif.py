"""What happens to the pods already running when one node changes.

A change is one of: a taint added or removed, a cordon or uncordon, a label set or
removed, a node condition, or ``kubectl drain``. :func:`whatif` answers, from upstream's
controllers:

- the timeline of evictions: which pod goes, how many seconds after the change, why and
  who removes it (the taint eviction controller, the DaemonSet controller, kubectl drain);
- the pods that stay, and why (a toleration without seconds, NoSchedule taints and node
  labels only matter when scheduling — requiredDuringScheduling*IgnoredDuringExecution —,
  drain leaving DaemonSet and mirror pods);
- where each evicted pod's replacement lands, by running the scheduler (``simulate``) on
  the changed cluster: DaemonSet pods and static pods are not recreated elsewhere, and a
  pod without a controller is gone for good;
- which pending pods become schedulable or stop being schedulable.

Pods are judged with the tolerations the system gives them before they run (the
DaemonSet controller's, the kubelet's for static pods, DefaultTolerationSeconds'), so a
manifest written by hand behaves like the object in a real cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from podfit.cluster import Cluster
from podfit.errors import PodfitError
from podfit.model import (
    SCHEDULED_VOLUME_SOURCES,
    TAINT_EFFECTS,
    Node,
    NodeCondition,
    Pod,
    Taint,
    frozen_map,
)
from podfit.versions import LATEST, KubeVersion

from .daemonset import daemon_tolerations, should_run
from .eviction import (
    PRESSURE_CONDITIONS,
    DrainOptions,
    DrainPlan,
    NoExecuteVerdict,
    drain_plan,
    is_daemon_pod,
    is_mirror_pod,
    is_static_pod,
    kubelet_admits,
    noexecute_tainting_mode,
    noexecute_taints,
    noexecute_verdict,
    reconcile_condition_taints,
    static_pod_source,
    with_system_tolerations,
)
from .framework import Profile, evict
from .labels import required_node_affinity_matches
from .simulate import SimulationResult, simulate
from .taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    PREFER_NO_SCHEDULE,
    UNSCHEDULABLE_TAINT,
    find_untolerated_taint,
)

CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
CONDITION_STATUSES = ("True", "False", "Unknown")

TAINT_CONTROLLER = "taint-eviction-controller"
DAEMONSET_CONTROLLER = "daemonset-controller"
KUBECTL_DRAIN = "kubectl drain"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class WhatIfError(PodfitError):
    """A change that cannot be applied (unknown node, bad taint, ...)."""


# --- changes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaintChange:
    node: str
    key: str
    effect: str
    value: str = ""
    remove: bool = False

    kind: ClassVar[str] = "taint"

    def describe(self) -> str:
        taint = (
            f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"
        )
        if self.remove:
            shown = f"{self.key}:{self.effect}" if self.effect else self.key
            return f"remove taint {shown} from {self.node}"
        return f"taint {self.node} with {taint}"


@dataclass(frozen=True)
class CordonChange:
    node: str
    kind: ClassVar[str] = "cordon"

    def describe(self) -> str:
        return f"cordon {self.node}"


@dataclass(frozen=True)
class UncordonChange:
    node: str
    kind: ClassVar[str] = "uncordon"

    def describe(self) -> str:
        return f"uncordon {self.node}"


@dataclass(frozen=True)
class LabelChange:
    node: str
    key: str
    value: str | None  # None removes the label
    kind: ClassVar[str] = "label"

    def describe(self) -> str:
        if self.value is None:
            return f"remove label {self.key} from {self.node}"
        return f"label {self.node} {self.key}={self.value}"


@dataclass(frozen=True)
class ConditionChange:
    node: str
    type: str
    status: str = "True"
    kind: ClassVar[str] = "condition"

    def describe(self) -> str:
        return f"set condition {self.type}={self.status} on {self.node}"


@dataclass(frozen=True)
class DrainChange:
    node: str
    options: DrainOptions = field(default_factory=DrainOptions)
    kind: ClassVar[str] = "drain"

    def describe(self) -> str:
        return self.options.command(self.node)


Change = TaintChange | CordonChange | UncordonChange | LabelChange | ConditionChange | DrainChange


def change_to_dict(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": change.kind, "node": change.node}
    if isinstance(change, TaintChange):
        out.update(key=change.key, value=change.value, effect=change.effect)
        if change.remove:
            out["remove"] = True
    elif isinstance(change, LabelChange):
        out.update(key=change.key, value=change.value)
    elif isinstance(change, ConditionChange):
        out.update(type=change.type, status=change.status)
    elif isinstance(change, DrainChange):
        out.update(ignoreDaemonSets=change.options.ignore_daemonsets, force=change.options.force)
    return out


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """A change from its mapping form (``kind`` plus the fields of :func:`change_to_dict`)."""
    kind = data.get("kind")
    node = data.get("node")
    if not isinstance(node, str) or not node:
        raise WhatIfError("a change needs the name of a node ('node')")

    def text(name: str, default: str | None = None) -> str:
        value = data.get(name, default)
        if not isinstance(value, str):
            raise WhatIfError(f"a {kind} change needs a string '{name}'")
        return value

    if kind == "taint":
        return TaintChange(
            node,
            key=text("key"),
            effect=text("effect", ""),
            value=text("value", ""),
            remove=bool(data.get("remove", False)),
        )
    if kind == "cordon":
        return CordonChange(node)
    if kind == "uncordon":
        return UncordonChange(node)
    if kind == "label":
        value = data.get("value")
        if value is not None and not isinstance(value, str):
            raise WhatIfError("a label change's 'value' is a string, or null to remove the label")
        return LabelChange(node, key=text("key"), value=value)
    if kind == "condition":
        return ConditionChange(node, type=text("type"), status=text("status", "True"))
    if kind == "drain":
        options = DrainOptions(
            ignore_daemonsets=bool(data.get("ignoreDaemonSets", False)),
            force=bool(data.get("force", False)),
        )
        return DrainChange(node, options)
    raise WhatIfError(
        f"unknown change kind {kind!r} (taint, cordon, uncordon, label, condition, drain)"
    )


# --- applying a change to the node -----------------------------------------------------------


def _check_change(cluster: Cluster, change: Change) -> Node:
    node = cluster.nodes.get(change.node)
    if node is None:
        known = ", ".join(sorted(cluster.nodes)) or "none"
        raise WhatIfError(f"no node {change.node!r} in the input (nodes: {known})")
    if isinstance(change, TaintChange):
        if not change.key:
            raise WhatIfError("a taint needs a key")
        if change.effect and change.effect not in TAINT_EFFECTS:
            raise WhatIfError(
                f"unknown taint effect {change.effect!r} ({', '.join(TAINT_EFFECTS)})"
            )
        if not change.remove and not change.effect:
            raise WhatIfError("a taint needs an effect (NoSchedule, PreferNoSchedule, NoExecute)")
    if isinstance(change, ConditionChange):
        if change.type not in CONDITION_TYPES:
            raise WhatIfError(
                f"unknown node condition {change.type!r} ({', '.join(CONDITION_TYPES)})"
            )
        if change.status not in CONDITION_STATUSES:
            raise WhatIfError(
                f"a condition status is True, False or Unknown, not {change.status!r}"
            )
    if isinstance(change, LabelChange) and not change.key:
        raise WhatIfError("a label needs a key")
    return node


def _with_condition(node: Node, type_: str, status: str) -> Node:
    conditions = [c for c in node.conditions if c.type != type_]
    position = next((i for i, c in enumerate(node.conditions) if c.type == type_), None)
    new = NodeCondition(type=type_, status=status)
    if position is None:
        conditions.append(new)
    else:
        conditions.insert(position, new)
    return replace(node, conditions=tuple(conditions))


def _set_unschedulable(node: Node, unschedulable: bool) -> Node:
    """spec.unschedulable, and the node.kubernetes.io/unschedulable:NoSchedule taint the
    node lifecycle controller keeps in step with it."""
    taints = tuple(
        t
        for t in node.taints
        if (t.key, t.effect) != (UNSCHEDULABLE_TAINT.key, UNSCHEDULABLE_TAINT.effect)
    )
    if unschedulable:
        taints = (*taints, UNSCHEDULABLE_TAINT)
    return replace(node, unschedulable=unschedulable, taints=taints)


def apply_change(cluster: Cluster, change: Change) -> tuple[Node, list[str]]:
    """The node after the change (with the taints the node lifecycle controller then
    reconciles), and notes on how it was applied."""
    node = _check_change(cluster, change)
    notes: list[str] = []
    if isinstance(change, TaintChange):
        if change.remove:
            kept = tuple(
                t
                for t in node.taints
                if not (t.key == change.key and change.effect in ("", t.effect))
            )
            if len(kept) == len(node.taints):
                raise WhatIfError(f"node {node.name} has no taint {change.key} to remove")
            return replace(node, taints=kept), notes
        new = Taint(key=change.key, effect=change.effect, value=change.value)
        same = [t for t in node.taints if (t.key, t.effect) == (new.key, new.effect)]
        if same and same[0].value != new.value:
            notes.append(f"replaces the taint {same[0]} (kubectl taint --overwrite)")
        kept = tuple(t for t in node.taints if (t.key, t.effect) != (new.key, new.effect))
        return replace(node, taints=(*kept, new)), notes
    if isinstance(change, CordonChange | DrainChange):
        if node.unschedulable and isinstance(change, CordonChange):
            notes.append(f"{node.name} is already cordoned")
        return _set_unschedulable(node, True), notes
    if isinstance(change, UncordonChange):
        if not node.unschedulable:
            notes.append(f"{node.name} is not cordoned")
        return _set_unschedulable(node, False), notes
    if isinstance(change, LabelChange):
        labels = dict(node.labels)
        if change.value is None:
            if change.key not in labels:
                raise WhatIfError(f"node {node.name} has no label {change.key} to remove")
            del labels[change.key]
        else:
            labels[change.key] = change.value
        return replace(node, labels=frozen_map(labels)), notes
    assert isinstance(change, ConditionChange)
    changed = _with_condition(node, change.type, change.status)
    others = [n for n in cluster.nodes.values() if n.name != node.name]
    mode, why = noexecute_tainting_mode([*others, changed], changed)
    if why:
        notes.append(why)
    return reconcile_condition_taints(changed, mode), notes


# --- the result ---------------------------------------------------------------------------------


@dataclass
class Eviction:
    """One pod leaving the node: when (seconds after the change; None while a
    PodDisruptionBudget holds it), who removes it, why, and what becomes of it."""

    pod: Pod
    at: int | None
    by: str
    why: str
    outcome: str = ""
    node: str | None = None  # where its replacement runs

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod.key,
            "at": self.at,
            "by": self.by,
            "why": self.why,
            "then": self.outcome,
            "node": self.node,
        }


@dataclass
class Kept:
    pod: Pod
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"pod": self.pod.key, "why": self.why}


@dataclass
class PendingChange:
    pod: str
    before: str | None
    after: str | None
    before_message: str
    after_message: str

    @property
    def verdict(self) -> str:
        if self.before is None and self.after is not None:
            return "becomes schedulable"
        if self.before is not None and self.after is None:
            return "stops being schedulable"
        if self.before is None:
            return "still pending"
        if self.before != self.after:
            return "moves"
        return "unchanged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "verdict": self.verdict,
            "before": self.before,
            "after": self.after,
            "beforeMessage": self.before_message,
            "afterMessage": self.after_message,
        }


@dataclass
class WhatIfResult:
    change: Change
    node_before: Node
    node_after: Node
    evictions: list[Eviction] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    pending: list[PendingChange] = field(default_factory=list)
    daemon_pods: dict[str, list[str]] = field(default_factory=dict)
    drain: DrainPlan | None = None
    notes: list[str] = field(default_factory=list)
    before: SimulationResult | None = None
    after: SimulationResult | None = None

    @property
    def timeline(self) -> list[Eviction]:
        return sorted(self.evictions, key=lambda e: (e.at is None, e.at or 0, e.pod.key))

    @property
    def rescheduled(self) -> dict[str, str | None]:
        """Evicted pod -> the node its replacement runs on (None: nowhere)."""
        return {e.pod.key: e.node for e in self.timeline if e.at is not None}

    @property
    def lost(self) -> list[str]:
        return [e.pod.key for e in self.timeline if e.outcome.startswith("lost")]

    @property
    def left_without_node(self) -> list[str]:
        """Pods that have no node once everything on the timeline happened: evicted pods
        nothing replaces or whose replacement fits nowhere, and pending pods that stay
        pending."""
        out = [
            e.pod.key
            for e in self.timeline
            if e.at is not None and e.node is None and not is_daemon_pod(e.pod)
        ]
        out += [p.pod for p in self.pending if p.after is None]
        return out

    @property
    def harmed(self) -> list[str]:
        """The pods the change itself leaves without a node (the cluster before the change
        is the baseline): evicted pods that nothing replaces or whose replacement fits
        nowhere, and pending pods that had a node before the change and have none after.
        Pods already pending before the change are not counted."""
        out = [
            e.pod.key
            for e in self.timeline
            if e.at is not None and e.node is None and not is_daemon_pod(e.pod)
        ]
        out += [p.pod for p in self.pending if p.before is not None and p.after is None]
        return out

    @property
    def already_pending(self) -> list[str]:
        """Pending pods that had no node before the change and still have none."""
        return [p.pod for p in self.pending if p.before is None and p.after is None]

    @property
    def blocked(self) -> list[str]:
        """Evictions a PodDisruptionBudget holds back (kubectl drain keeps retrying)."""
        return [e.pod.key for e in self.timeline if e.at is None]

    @property
    def refused(self) -> bool:
        return self.drain is not None and self.drain.refused

    def to_dict(self) -> dict[str, Any]:
        before, after = self.node_before, self.node_after
        data: dict[str, Any] = {
            "change": change_to_dict(self.change),
            "description": self.change.describe(),
            "node": {
                "name": after.name,
                "taints": {
                    "before": [str(t) for t in before.taints],
                    "after": [str(t) for t in after.taints],
                },
                "unschedulable": {"before": before.unschedulable, "after": after.unschedulable},
                "labels": {"before": dict(before.labels), "after": dict(after.labels)},
                "conditions": {
                    "before": {c.type: c.status for c in before.conditions},
                    "after": {c.type: c.status for c in after.conditions},
                },
            },
            "timeline": [e.to_dict() for e in self.timeline],
            "kept": [k.to_dict() for k in self.kept],
            "rescheduled": self.rescheduled,
            "lost": self.lost,
            "pending": [p.to_dict() for p in self.pending],
            "daemonPods": self.daemon_pods,
            "leftWithoutNode": self.left_without_node,
            "harmed": self.harmed,
            "alreadyPending": self.already_pending,
            "blockedByDisruptionBudget": self.blocked,
            "notes": self.notes,
        }
        if self.drain is not None:
            data["drain"] = {
                "command": self.drain.options.command(self.drain.node),
                "refused": self.drain.refused,
                "errors": self.drain.errors,
                "warnings": self.drain.warnings,
                "blocked": self.drain.blocked,
            }
        return data


# --- why a pod stays --------------------------------------------------------------------------


def _stays_reason(
    change: Change,
    pod: Pod,
    verdict: NoExecuteVerdict,
    before_verdict: NoExecuteVerdict,
    node_before: Node,
    node_after: Node,
) -> str:
    if is_mirror_pod(pod) or is_static_pod(pod):
        if static_pod_source(pod) == "file":
            return (
                "static pod: the kubelet gives static pods from files the toleration "
                "{operator: Exists, effect: NoExecute}, and runs it from its manifest"
            )
        return "static pod: the kubelet runs it from its manifest, not through the API server"
    if before_verdict.evicted and not verdict.evicted:
        return f"its eviction is cancelled: {verdict.reason}"
    if verdict.pairs:
        return verdict.reason
    if isinstance(change, TaintChange):
        if change.remove:
            return "removing a taint never evicts"
        if change.effect in (NO_SCHEDULE, PREFER_NO_SCHEDULE):
            return f"{change.effect} taints only keep new pods away; running pods stay"
    if isinstance(change, CordonChange | DrainChange):
        return "cordoning only stops new pods; running pods stay"
    if isinstance(change, UncordonChange):
        return "uncordoning changes nothing for running pods"
    if isinstance(change, LabelChange):
        matched = required_node_affinity_matches(pod, node_before)
        matches = required_node_affinity_matches(pod, node_after)
        if matched and not matches:
            return (
                "its nodeSelector/required node affinity no longer matches, but it keeps "
                "running: node affinity is requiredDuringScheduling, IgnoredDuringExecution"
            )
        return "labels only matter when a pod is scheduled (IgnoredDuringExecution)"
    if isinstance(change, ConditionChange):
        added = [t for t in node_after.taints if t not in node_before.taints]
        if added and not noexecute_taints(added):
            shown = ", ".join(str(t) for t in added)
            return f"the condition only adds {shown}; NoSchedule taints never evict"
        return "no NoExecute taint on the node"
    return "nothing evicts it"


def _daemon_stops(cluster: Cluster, pod: Pod, node_after: Node) -> str | None:
    """Why the DaemonSet controller deletes its pod from the changed node (its
    shouldContinueRunning is false), or None."""
    if not is_daemon_pod(pod):
        return None
    ref = pod.controller
    assert ref is not None
    ds = cluster.daemon_sets.get(f"{pod.namespace}/{ref.name}")
    if ds is not None:
        placement = should_run(ds, node_after)
        if placement.should_continue_running:
            return None
        return (
            f"{placement.reason}: the DaemonSet controller deletes its pod there (for "
            "DaemonSet pods node affinity is not IgnoredDuringExecution)"
        )
    # Without the DaemonSet object, the pod's own affinity and tolerations stand for the
    # template's (NodeShouldRunDaemonPod's shouldContinueRunning).
    if not required_node_affinity_matches(pod, node_after):
        return (
            "its nodeSelector/node affinity no longer matches the node: the DaemonSet "
            "controller deletes its pod there (for DaemonSet pods node affinity is not "
            "IgnoredDuringExecution)"
        )
    tolerations = (*pod.tolerations, *daemon_tolerations(pod.host_network))
    untolerated = find_untolerated_taint(node_after.taints, tolerations, (NO_EXECUTE,))
    if untolerated is not None:
        return (
            f"its DaemonSet does not tolerate {untolerated}: the DaemonSet controller deletes "
            "its pod there"
        )
    return None


# --- the what-if ----------------------------------------------------------------------------------


def _seconds(at: int) -> str:
    return "at once" if at == 0 else f"after {at} s"


def _replacement(pod: Pod, at: int, base: datetime) -> Pod:
    """The pod its controller creates in its place, pending, created at the eviction."""
    return replace(
        pod,
        node_name="",
        nominated_node_name="",
        phase="Pending",
        start_time=None,
        deletion_timestamp=None,
        creation_timestamp=base + timedelta(seconds=at + 1),
    )


def _latest_creation(pods: Iterable[Pod]) -> datetime:
    stamps = [p.creation_timestamp for p in pods if p.creation_timestamp is not None]
    return max(stamps, default=_EPOCH)


def whatif(
    cluster: Cluster,
    change: Change,
    *,
    pending: Sequence[Pod] = (),
    profiles: Mapping[str, Profile] | None = None,
    system_tolerations: bool = True,
    version: KubeVersion = LATEST,
) -> WhatIfResult:
    """What the change does to the pods running on its node and to the pending pods.

    ``pending`` adds pods to the cluster's own pending pods (a pod with the same key
    replaces the cluster's). ``system_tolerations`` applies the tolerations the DaemonSet
    controller, the kubelet and DefaultTolerationSeconds add (idempotent for pods dumped
    from a cluster). The input cluster is not changed.
    """
    node_after, notes = apply_change(cluster, change)
    node_before = cluster.nodes[change.node]
    changed = cluster.copy()
    changed.replace_node(node_after)
    result = WhatIfResult(change, node_before, node_after, notes=notes)

    running = [p for p in cluster.pods_on(change.node) if not p.is_terminal]
    effective = {p.key: with_system_tolerations(p) if system_tolerations else p for p in running}

    if isinstance(change, DrainChange):
        _drain(result, changed, change, running)
    else:
        for pod in running:
            _judge(result, cluster, change, effective[pod.key])
    if (
        isinstance(change, ConditionChange)
        and change.status == "True"
        and change.type in PRESSURE_CONDITIONS
    ):
        result.notes.append(
            f"under {change.type} the kubelet also evicts pods itself, one per eviction cycle, "
            "in its ranking order (memory: usage above requests first, then lower priority, "
            "then larger usage above requests; critical pods never); podfit needs usage figures "
            "to rank them (reference.eviction.kubelet_memory_ranking)"
        )

    # The final state: every eviction on the timeline has happened.
    base = _latest_creation([*cluster.pods.values(), *pending])
    replacements: dict[str, Pod] = {}
    for eviction in result.evictions:
        if eviction.at is None:
            eviction.outcome = "stays until the budget allows"
            eviction.node = change.node
            continue
        evict(changed, eviction.pod)
        pod = eviction.pod
        if is_daemon_pod(pod):
            eviction.outcome = (
                "not recreated elsewhere: a DaemonSet runs one pod per node it selects"
            )
        elif pod.controller is None:
            eviction.outcome = "lost: it has no controller, so nothing recreates it"
        else:
            replacements[pod.key] = _replacement(effective.get(pod.key, pod), eviction.at, base)

    claimed = [
        key
        for key, pod in replacements.items()
        if any(v.kind in SCHEDULED_VOLUME_SOURCES for v in pod.volumes)
    ]
    if claimed:
        result.notes.append(
            f"{', '.join(claimed)} use volumes the scheduler's volume plugins check "
            "(PersistentVolumeClaims, ...): podfit does not model them, and a bound volume may "
            "keep a replacement to its zone or node"
        )
    pending_pods = _pending(cluster, pending)
    result.before = simulate(cluster, pending_pods, profiles, version=version)
    result.after = simulate(
        changed, [*pending_pods, *replacements.values()], profiles, version=version
    )
    after_placements = result.after.placements
    after_messages = {d.pod.key: d.message for d in result.after.decisions}
    for eviction in result.evictions:
        replacement = replacements.get(eviction.pod.key)
        if replacement is None:
            continue
        target = after_placements.get(replacement.key)
        eviction.node = target
        if target is None:
            message = after_messages.get(replacement.key, "")
            eviction.outcome = f"its replacement stays pending: {message}"
            continue
        eviction.outcome = f"its replacement is scheduled to {target}"
        _flag_landing(eviction, replacement, changed.nodes[target], change.node)

    before_placements = result.before.placements
    before_messages = {d.pod.key: d.message for d in result.before.decisions}
    for pod in pending_pods:
        result.pending.append(
            PendingChange(
                pod.key,
                before_placements.get(pod.key),
                after_placements.get(pod.key),
                before_messages.get(pod.key, ""),
                after_messages.get(pod.key, ""),
            )
        )
    _daemon_pod_changes(result, result.before, result.after)
    return result


def _pending(cluster: Cluster, extra: Sequence[Pod]) -> list[Pod]:
    pods = {p.key: p for p in cluster.pending_pods()}
    for pod in extra:
        pods[pod.key] = pod
    return list(pods.values())


def _judge(result: WhatIfResult, cluster: Cluster, change: Change, pod: Pod) -> None:
    """Taint eviction controller and DaemonSet controller verdicts for one running pod."""
    verdict = noexecute_verdict(pod, result.node_after.taints)
    before = noexecute_verdict(pod, result.node_before.taints)
    static = is_mirror_pod(pod) or is_static_pod(pod)
    if verdict.evicted and not static:
        why = verdict.reason
        at = verdict.seconds
        if before.seconds == verdict.seconds and before.untolerated == verdict.untolerated:
            why += " (already due before this change)"
        elif before.seconds and verdict.seconds:
            # processPodOnNode keeps a deletion it already scheduled while the pod stays
            # tolerated with seconds: the clock does not restart, so the old deadline holds.
            at = before.seconds
            why += (
                "; its deletion was already scheduled before this change, and the controller "
                f"keeps that deadline: at most {before.seconds} s from now"
            )
        result.evictions.append(Eviction(pod, at, TAINT_CONTROLLER, why))
        return
    stops = _daemon_stops(cluster, pod, result.node_after)
    if stops is not None:
        if _daemon_stops(cluster, pod, result.node_before) is not None:
            stops += " (already due before this change)"
        result.evictions.append(Eviction(pod, 0, DAEMONSET_CONTROLLER, stops))
        return
    why = _stays_reason(change, pod, verdict, before, result.node_before, result.node_after)
    if static and verdict.evicted:
        why = (
            f"static pod: the taint eviction controller deletes its mirror pod ({verdict.reason})"
            ", but the kubelet keeps running it and recreates the mirror pod"
        )
    result.kept.append(Kept(pod, why))


def _drain(result: WhatIfResult, changed: Cluster, change: DrainChange, running: list[Pod]) -> None:
    plan = drain_plan(changed, change.node, change.options)
    result.drain = plan
    if plan.refused:
        for pod in running:
            result.kept.append(Kept(pod, "kubectl drain evicts nothing: " + "; ".join(plan.errors)))
        result.notes.append(
            "kubectl drain cordons the node, lists its pods, and stops with an error before "
            "evicting any: " + "; ".join(plan.errors)
        )
        return
    for pod, why in plan.skipped:
        result.kept.append(Kept(pod, why))
    for pod in plan.evict:
        blocked = plan.blocked.get(pod.key)
        if blocked is not None:
            result.evictions.append(
                Eviction(
                    pod,
                    None,
                    KUBECTL_DRAIN,
                    f"the Eviction API refuses: {blocked} kubectl retries every 5 s until the "
                    "budget allows it (or --timeout)",
                )
            )
            continue
        why = "evicted through the Eviction API"
        if pod.controller is None:
            why = "no controller: deleted because of --force"
        result.evictions.append(Eviction(pod, 0, KUBECTL_DRAIN, why))
    result.notes.append(
        "podfit does not read volumes: kubectl drain also refuses pods with emptyDir volumes "
        "unless --delete-emptydir-data is given"
    )


def _flag_landing(eviction: Eviction, replacement: Pod, target: Node, changed_node: str) -> None:
    """Say when the replacement lands back on the changed node or on a node whose
    kubelet refuses it."""
    if target.name == changed_node:
        again = noexecute_verdict(replacement, target.taints)
        if again.evicted and again.seconds is not None:
            eviction.outcome += (
                f" — back on the tainted node: the scheduler ignores tolerationSeconds, so it "
                f"is evicted again {_seconds(again.seconds)}"
            )
    admitted, message = kubelet_admits(target, replacement)
    if not admitted:
        eviction.outcome += f" — but the kubelet there rejects it: {message.strip()}"


def _daemon_pod_changes(
    result: WhatIfResult, before: SimulationResult, after: SimulationResult
) -> None:
    def daemon_keys(sim: SimulationResult) -> dict[str, str | None]:
        return {
            d.pod.key: d.node
            for d in sim.decisions
            if is_daemon_pod(d.pod) and d.pod.node_name == ""
        }

    was, now = daemon_keys(before), daemon_keys(after)
    created = sorted(k for k in now if k not in was)
    dropped = sorted(k for k in was if k not in now)
    if created or dropped:
        result.daemon_pods = {"created": created, "noLongerCreated": dropped}


def describe_seconds(at: int | None) -> str:
    """A timeline entry's time as a person reads it."""
    if at is None:
        return "blocked"
    if at == 0:
        return "0s"
    minutes, seconds = divmod(at, 60)
    if minutes and not seconds:
        return f"{at}s ({minutes}m)"
    return f"{at}s"


__all__ = [
    "Change",
    "ConditionChange",
    "CordonChange",
    "DrainChange",
    "Eviction",
    "Kept",
    "LabelChange",
    "PendingChange",
    "TaintChange",
    "UncordonChange",
    "WhatIfError",
    "WhatIfResult",
    "apply_change",
    "change_from_dict",
    "change_to_dict",
    "describe_seconds",
    "whatif",
]
