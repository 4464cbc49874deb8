"""What removes pods that are already running: NoExecute taints, node conditions, the
kubelet under memory pressure, and ``kubectl drain``.

Upstream:

- ``pkg/controller/tainteviction/taint_eviction.go`` (the taint eviction controller,
  once the NoExecute taint manager of ``pkg/controller/nodelifecycle/scheduler``): when a
  node's NoExecute taints change it looks at every pod on the node. A pod that leaves one
  NoExecute taint untolerated is deleted at once. Otherwise each taint is paired with the
  *first* of the pod's tolerations that tolerates it (GetMatchingTolerations); the pod is
  deleted after the smallest ``tolerationSeconds`` among those paired tolerations, at once
  if one of them is zero or negative, and never when none of them sets seconds.
  NoSchedule and PreferNoSchedule taints are never looked at.
- ``pkg/controller/nodelifecycle/node_lifecycle_controller.go``: node conditions become
  taints. Every condition in the table gets a NoSchedule taint (Ready=False not-ready,
  Ready=Unknown unreachable, MemoryPressure/DiskPressure/PIDPressure/NetworkUnavailable=True
  their own key), a cordoned node gets the unschedulable taint, and Ready=False/Unknown also
  gets the not-ready/unreachable NoExecute taint through a rate-limited queue per zone. That
  queue stops when a zone is partially disrupted in a small cluster, and every NoExecute
  taint is lifted when all zones are fully disrupted ("master disruption mode").
- ``plugin/pkg/admission/defaulttolerationseconds/admission.go``: pods that do not tolerate
  not-ready or unreachable NoExecute taints get a 300 s toleration for each.
- ``pkg/kubelet/eviction/helpers.go`` (rankMemoryPressure) and ``eviction_manager.go``:
  under memory pressure the kubelet evicts one pod at a time, in the ranking order,
  skipping critical pods.
- ``pkg/kubelet/types/pod_update.go``, ``pkg/kubelet/config/common.go``,
  ``pkg/kubelet/pod/mirror_client.go``: static pods and their mirror pods.
- ``staging/src/k8s.io/kubectl/pkg/drain/filters.go``: which pods ``kubectl drain`` evicts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

from podfit.cluster import Cluster
from podfit.model import Node, Pod, PodDisruptionBudget, Taint, Toleration

from .daemonset import (
    DISK_PRESSURE,
    MEMORY_PRESSURE,
    NETWORK_UNAVAILABLE,
    NOT_READY,
    PID_PRESSURE,
    UNREACHABLE,
    UNSCHEDULABLE,
    daemon_tolerations,
)
from .labels import selector_matches
from .oom import (
    API_SERVER_SOURCE,
    CONFIG_MIRROR_ANNOTATION,
    CONFIG_SOURCE_ANNOTATION,
    is_critical_pod,
    is_mirror_pod,
    is_static_pod,
)
from .qos import uses_pod_level_resources
from .resources import MEMORY, aggregate_containers, container_requests
from .taints import NO_EXECUTE, NO_SCHEDULE, tolerates

__all__ = [
    "API_SERVER_SOURCE",
    "CONFIG_MIRROR_ANNOTATION",
    "CONFIG_SOURCE_ANNOTATION",
    "is_critical_pod",
    "is_mirror_pod",
    "is_static_pod",
]

# --- the taint eviction controller ---------------------------------------------------------


def matching_tolerations(
    taints: Sequence[Taint], tolerations: Sequence[Toleration]
) -> list[Toleration] | None:
    """For each taint, the first toleration (in the pod's order) that tolerates it; None
    when some taint is tolerated by none (GetMatchingTolerations)."""
    used: list[Toleration] = []
    for taint in taints:
        first = next((t for t in tolerations if tolerates(t, taint)), None)
        if first is None:
            return None
        used.append(first)
    return used


def min_toleration_seconds(used: Sequence[Toleration]) -> int | None:
    """How long the pod may stay (getMinTolerationTime): 0 at once, None for ever.

    Tolerations without seconds do not count; a zero or negative value means at once
    whatever the others say. No tolerations at all also means at once (the controller
    only gets here with at least one taint, so that is a pod tolerating nothing).
    """
    if not used:
        return 0
    shortest: int | None = None
    for toleration in used:
        seconds = toleration.toleration_seconds
        if seconds is None:
            continue
        if seconds <= 0:
            return 0
        shortest = seconds if shortest is None else min(shortest, seconds)
    return shortest


def noexecute_taints(taints: Iterable[Taint]) -> list[Taint]:
    return [t for t in taints if t.effect == NO_EXECUTE]


@dataclass(frozen=True)
class NoExecuteVerdict:
    """What the taint eviction controller does with one pod on a node."""

    pod: Pod
    # Seconds until deletion: 0 at once, None never.
    seconds: int | None
    untolerated: tuple[Taint, ...] = ()
    # Each NoExecute taint with the toleration that tolerates it (the first one).
    pairs: tuple[tuple[Taint, Toleration], ...] = ()

    @property
    def evicted(self) -> bool:
        return self.seconds is not None

    @property
    def reason(self) -> str:
        if self.untolerated:
            names = ", ".join(str(t) for t in self.untolerated)
            return f"does not tolerate {names}: deleted at once"
        if not self.pairs:
            return "no NoExecute taint on the node"
        if self.seconds is None:
            names = ", ".join(str(t) for t, _ in self.pairs)
            return f"tolerates {names} without tolerationSeconds"
        timed = [(t, tol) for t, tol in self.pairs if tol.toleration_seconds is not None]
        shortest = min(timed, key=lambda pair: pair[1].toleration_seconds or 0)
        taint, toleration = shortest
        return f"tolerates {taint} for tolerationSeconds {toleration.toleration_seconds}" + (
            " (zero or less: at once)" if self.seconds == 0 else ""
        )


def noexecute_verdict(pod: Pod, taints: Iterable[Taint]) -> NoExecuteVerdict:
    """The controller's decision for one pod against a node's taints (all effects given;
    only NoExecute ones count)."""
    relevant = noexecute_taints(taints)
    if not relevant:
        return NoExecuteVerdict(pod, None)
    used = matching_tolerations(relevant, pod.tolerations)
    if used is None:
        missing = tuple(
            t for t in relevant if not any(tolerates(tol, t) for tol in pod.tolerations)
        )
        return NoExecuteVerdict(pod, 0, untolerated=missing)
    return NoExecuteVerdict(
        pod, min_toleration_seconds(used), pairs=tuple(zip(relevant, used, strict=True))
    )


def noexecute_evictions(
    node: Node, pods: Iterable[Pod], new_taints: Iterable[Taint]
) -> list[tuple[Pod, int | None]]:
    """Every pod bound to ``node`` with the seconds after which the taint eviction
    controller deletes it once the node carries ``new_taints`` (all of its taints after
    the change): 0 at once, None never. Pods bound to other nodes are left out."""
    taints = list(new_taints)
    return [
        (pod, noexecute_verdict(pod, taints).seconds) for pod in pods if pod.node_name == node.name
    ]


# --- node conditions and the node lifecycle controller ---------------------------------------

READY = "Ready"
# Which condition status gets which taint key (nodeConditionToTaintKeyStatusMap).
CONDITION_TAINT_KEYS: Mapping[str, Mapping[str, str]] = {
    READY: {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": MEMORY_PRESSURE},
    "DiskPressure": {"True": DISK_PRESSURE},
    "NetworkUnavailable": {"True": NETWORK_UNAVAILABLE},
    "PIDPressure": {"True": PID_PRESSURE},
}
# The NoSchedule taint keys the controller owns (taintKeyToNodeConditionMap + unschedulable).
CONDITION_TAINT_KEY_SET = frozenset(k for m in CONDITION_TAINT_KEYS.values() for k in m.values())
NOT_READY_NO_EXECUTE = Taint(key=NOT_READY, effect=NO_EXECUTE)
UNREACHABLE_NO_EXECUTE = Taint(key=UNREACHABLE, effect=NO_EXECUTE)

# Defaults of kube-controller-manager's node lifecycle flags.
LARGE_CLUSTER_SIZE_THRESHOLD = 50
UNHEALTHY_ZONE_THRESHOLD = 0.55
# Nodes with this label do not count when the controller judges a zone's health.
EXCLUDE_DISRUPTION_LABEL = "node.kubernetes.io/exclude-disruption"


def noschedule_condition_taints(node: Node, *, include_unschedulable: bool = True) -> list[Taint]:
    """The NoSchedule taints of doNoScheduleTaintingPass, in the order of the node's
    conditions, then the unschedulable taint of a cordoned node."""
    out: list[Taint] = []
    for condition in node.conditions:
        key = CONDITION_TAINT_KEYS.get(condition.type, {}).get(condition.status)
        if key is not None and all(t.key != key for t in out):
            out.append(Taint(key=key, effect=NO_SCHEDULE))
    if include_unschedulable and node.unschedulable:
        out.append(Taint(key=UNSCHEDULABLE, effect=NO_SCHEDULE))
    return out


def noexecute_condition_taint(node: Node) -> Taint | None:
    """not-ready:NoExecute for Ready=False, unreachable:NoExecute for Ready=Unknown (they
    are exclusive); None when Ready is True or missing."""
    ready = node.condition(READY)
    if ready == "False":
        return NOT_READY_NO_EXECUTE
    if ready == "Unknown":
        return UNREACHABLE_NO_EXECUTE
    return None


def condition_taints(node: Node, *, include_unschedulable: bool = True) -> list[Taint]:
    """Every taint the node lifecycle controller puts on the node for its conditions (and,
    in the same pass, for ``spec.unschedulable``): NoSchedule ones first, then the Ready
    condition's NoExecute taint.

    A node without a Ready condition gets no taint here (the controller would mark it
    Unknown only after the node-startup grace period).
    """
    out = noschedule_condition_taints(node, include_unschedulable=include_unschedulable)
    noexecute = noexecute_condition_taint(node)
    if noexecute is not None:
        out.append(noexecute)
    return out


NoExecuteMode = Literal["normal", "halted", "master-disruption"]


def is_controller_taint(taint: Taint) -> bool:
    """Whether the node lifecycle controller owns this taint (adds and removes it)."""
    if taint.effect == NO_SCHEDULE:
        return taint.key in CONDITION_TAINT_KEY_SET or taint.key == UNSCHEDULABLE
    if taint.effect == NO_EXECUTE:
        return taint.key in (NOT_READY, UNREACHABLE)
    return False


def reconcile_condition_taints(node: Node, mode: NoExecuteMode = "normal") -> Node:
    """The node once the controller has brought its taints in line with its conditions.

    ``mode`` says what the NoExecute queue does (see :func:`noexecute_tainting_mode`):
    ``normal`` adds the Ready condition's NoExecute taint, ``halted`` leaves NoExecute
    taints as they are, ``master-disruption`` removes them. A Ready node always loses them.
    """
    wanted_noschedule = noschedule_condition_taints(node)
    kept = [t for t in node.taints if not (t.effect == NO_SCHEDULE and is_controller_taint(t))]
    existing = {(t.key, t.effect) for t in kept}
    kept += [t for t in wanted_noschedule if (t.key, t.effect) not in existing]
    wanted = noexecute_condition_taint(node)
    ready = node.condition(READY)
    if ready in (None, "True") or mode == "master-disruption":
        kept = [t for t in kept if not (t.effect == NO_EXECUTE and is_controller_taint(t))]
    elif mode == "normal" and wanted is not None:
        kept = [t for t in kept if not (t.effect == NO_EXECUTE and is_controller_taint(t))]
        kept.append(wanted)
    return replace(node, taints=tuple(kept))


def zone_key(node: Node) -> str:
    """GetZoneKey: region and zone labels (the beta failure-domain labels win)."""
    labels = node.labels
    zone = labels.get(
        "failure-domain.beta.kubernetes.io/zone", labels.get("topology.kubernetes.io/zone", "")
    )
    region = labels.get(
        "failure-domain.beta.kubernetes.io/region",
        labels.get("topology.kubernetes.io/region", ""),
    )
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


def zone_label(key: str) -> str:
    """A zone key as people read it."""
    return key.replace(":\x00:", "/").strip("/") or "(no zone)"


def node_is_ready(node: Node) -> bool:
    """Ready=True; a node without a Ready condition counts as ready (podfit inputs often
    leave status out; a real node always reports the condition)."""
    return node.condition(READY) in (None, "True")


def zone_states(
    nodes: Iterable[Node], unhealthy_threshold: float = UNHEALTHY_ZONE_THRESHOLD
) -> dict[str, tuple[str, int]]:
    """Per zone: (state, zone size), with ComputeZoneState's states.

    FullDisruption: no node is ready. PartialDisruption: more than two nodes are not ready
    and they are at least ``unhealthy_threshold`` of the zone. Normal otherwise. Nodes
    labelled node.kubernetes.io/exclude-disruption are not counted.
    """
    counts: dict[str, list[int]] = {}
    for node in nodes:
        if EXCLUDE_DISRUPTION_LABEL in node.labels:
            continue
        ready_bad = counts.setdefault(zone_key(node), [0, 0])
        ready_bad[0 if node_is_ready(node) else 1] += 1
    out: dict[str, tuple[str, int]] = {}
    for zone, (ready, bad) in counts.items():
        if ready == 0 and bad > 0:
            state = "FullDisruption"
        elif bad > 2 and bad / (ready + bad) >= unhealthy_threshold:
            state = "PartialDisruption"
        else:
            state = "Normal"
        out[zone] = (state, ready + bad)
    return out


def noexecute_tainting_mode(
    nodes: Iterable[Node],
    node: Node,
    *,
    large_cluster_threshold: int = LARGE_CLUSTER_SIZE_THRESHOLD,
    unhealthy_threshold: float = UNHEALTHY_ZONE_THRESHOLD,
) -> tuple[NoExecuteMode, str]:
    """Whether the controller's NoExecute queue taints ``node`` (handleDisruption).

    When every zone is fully disrupted the controller assumes the problem is its own
    connectivity: it stops tainting and removes not-ready/unreachable NoExecute taints
    everywhere. A partially disrupted zone of at most ``large_cluster_threshold`` nodes
    stops tainting (rate 0); a larger one slows down. A fully disrupted zone next to a
    healthy one is tainted at the normal rate.
    """
    states = zone_states(nodes, unhealthy_threshold)
    if states and all(state == "FullDisruption" for state, _ in states.values()):
        return (
            "master-disruption",
            "every zone is fully disrupted (no Ready node anywhere): the node lifecycle "
            "controller assumes it lost the nodes, not the nodes their workloads, and adds no "
            "NoExecute taint (it removes existing ones)",
        )
    state, size = states.get(zone_key(node), ("Normal", 0))
    if state == "PartialDisruption" and size <= large_cluster_threshold:
        return (
            "halted",
            f"zone {zone_label(zone_key(node))} is partially disrupted and has {size} nodes "
            f"(not more than --large-cluster-size-threshold={large_cluster_threshold}): the "
            "controller stops adding NoExecute taints there",
        )
    if state == "PartialDisruption":
        return (
            "normal",
            f"zone {zone_label(zone_key(node))} is partially disrupted: NoExecute taints are "
            "added at --secondary-node-eviction-rate (0.01 nodes/s)",
        )
    return ("normal", "")


# --- DefaultTolerationSeconds -------------------------------------------------------------

DEFAULT_TOLERATION_SECONDS = 300


def _considers_tolerated(toleration: Toleration, key: str) -> bool:
    # The plugin looks at key and effect only: operator and value are not checked.
    return toleration.key in ("", key) and toleration.effect in ("", NO_EXECUTE)


def default_toleration_seconds(
    pod: Pod, seconds: int = DEFAULT_TOLERATION_SECONDS, unreachable_seconds: int | None = None
) -> Pod:
    """The DefaultTolerationSeconds admission plugin (on create and update).

    A pod gets ``{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute,
    tolerationSeconds: 300}`` unless one of its tolerations has that key or an empty key
    and effect NoExecute or empty — whatever its operator and value — and likewise for
    node.kubernetes.io/unreachable. Not-ready is added first.
    """
    added: list[Toleration] = []
    for key, value in (
        (NOT_READY, seconds),
        (UNREACHABLE, seconds if unreachable_seconds is None else unreachable_seconds),
    ):
        if not any(_considers_tolerated(t, key) for t in pod.tolerations):
            added.append(
                Toleration(key=key, operator="Exists", effect=NO_EXECUTE, toleration_seconds=value)
            )
    if not added:
        return pod
    return replace(pod, tolerations=(*pod.tolerations, *added))


# --- static pods and mirror pods ------------------------------------------------------------

FILE_SOURCE = "file"
HTTP_SOURCE = "http"
# What the kubelet adds to static pods read from files: every NoExecute taint, for ever.
STATIC_POD_TOLERATION = Toleration(operator="Exists", effect=NO_EXECUTE)


def static_pod_name(manifest_name: str, node_name: str) -> str:
    """The name the kubelet gives a static pod (and its mirror pod): ``<name>-<node>``
    with the node name lower-cased (generatePodName)."""
    return f"{manifest_name}-{node_name.lower()}"


def static_pod_source(pod: Pod) -> str | None:
    """``file`` or ``http`` for a static pod (or its mirror), None for an API pod."""
    return pod.annotations.get(CONFIG_SOURCE_ANNOTATION) if is_static_pod(pod) else None


def _add_or_update(pod: Pod, toleration: Toleration) -> Pod:
    """AddOrUpdateTolerationInPod: an equal toleration (seconds aside) is replaced."""
    same = (toleration.key, toleration.operator, toleration.value, toleration.effect)
    for i, existing in enumerate(pod.tolerations):
        if (existing.key, existing.operator, existing.value, existing.effect) == same:
            if existing == toleration:
                return pod
            updated = (*pod.tolerations[:i], toleration, *pod.tolerations[i + 1 :])
            return replace(pod, tolerations=updated)
    return replace(pod, tolerations=(*pod.tolerations, toleration))


def is_daemon_pod(pod: Pod) -> bool:
    ref = pod.controller
    return ref is not None and ref.kind == "DaemonSet"


def with_system_tolerations(pod: Pod, *, admission: bool = True) -> Pod:
    """The pod with the tolerations the system adds before it runs, in upstream's order:
    the DaemonSet controller's (daemon pods), the kubelet's for static pods from files,
    then DefaultTolerationSeconds (every pod created through the API server, mirror pods
    too). Idempotent: a pod dumped from a cluster already has them."""
    out = pod
    if is_daemon_pod(out):
        for toleration in daemon_tolerations(out.host_network):
            out = _add_or_update(out, toleration)
    if static_pod_source(out) == FILE_SOURCE:
        out = _add_or_update(out, STATIC_POD_TOLERATION)
    if admission:
        out = default_toleration_seconds(out)
    return out


# --- the kubelet under memory pressure ------------------------------------------------------


def pod_memory_request(pod: Pod) -> Fraction:
    """The memory request the kubelet ranks by (GetResourceRequestQuantity): the
    containers' aggregate, or only the pod-level request when pod-level resources are set,
    plus the overhead only when that is not zero."""
    if uses_pod_level_resources(pod) and pod.resources is not None:
        request = pod.resources.requests.get(MEMORY)
        total = request.value if request is not None else Fraction(0)
    else:
        total = aggregate_containers(pod, container_requests).get(MEMORY, Fraction(0))
    overhead = pod.overhead.get(MEMORY)
    if overhead is not None and total != 0:
        total += overhead.value
    return total


def _cmp_bool_true_first(a: bool, b: bool) -> int:
    if a == b:
        return 0
    return -1 if a else 1


def kubelet_memory_ranking(pods: Iterable[Pod], usage: Mapping[str, int]) -> list[Pod]:
    """The order in which the kubelet evicts pods under memory pressure (rankMemoryPressure).

    ``usage`` maps a pod key (``namespace/name``) to its memory working set in bytes.
    1. pods without usage figures first (the kubelet has no stats for them);
    2. pods whose usage exceeds their memory request (strictly) before the others;
    3. lower priority first;
    4. larger usage above the request first.
    There is no QoS step. A BestEffort pod requests nothing, so any usage exceeds it and
    it is in the first group; a Guaranteed pod cannot use more than its limit, which
    equals its request, so it is always in the second group; a Burstable pod lands in
    either. Within a group priority wins over QoS. Ties keep the input order (upstream's
    sort is not stable, so it may order them either way).
    """

    def compare(p1: Pod, p2: Pod) -> int:
        u1, u2 = usage.get(p1.key), usage.get(p2.key)
        if u1 is None or u2 is None:
            return _cmp_bool_true_first(u1 is None, u2 is None)
        r1, r2 = pod_memory_request(p1), pod_memory_request(p2)
        by_exceeding = _cmp_bool_true_first(u1 > r1, u2 > r2)
        if by_exceeding:
            return by_exceeding
        if p1.effective_priority != p2.effective_priority:
            return -1 if p1.effective_priority < p2.effective_priority else 1
        above1, above2 = u1 - r1, u2 - r2
        if above1 == above2:
            return 0
        return -1 if above1 > above2 else 1

    return sorted(pods, key=functools.cmp_to_key(compare))


def kubelet_memory_victim(pods: Iterable[Pod], usage: Mapping[str, int]) -> Pod | None:
    """The pod the kubelet evicts in one eviction cycle: the first in the ranking that is
    not critical (static, mirror, or priority of at least 2000000000)."""
    return next((p for p in kubelet_memory_ranking(pods, usage) if not is_critical_pod(p)), None)


# --- kubectl drain ---------------------------------------------------------------------------

DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
PDB_VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
PDB_MULTIPLE = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
    "support."
)


@dataclass(frozen=True)
class DrainOptions:
    """The kubectl drain flags that decide which pods go (all off by default, as kubectl)."""

    ignore_daemonsets: bool = False
    force: bool = False

    def command(self, node: str) -> str:
        flags = [
            f
            for f, on in (("--ignore-daemonsets", self.ignore_daemonsets), ("--force", self.force))
            if on
        ]
        return " ".join(["kubectl drain", node, *flags])


@dataclass
class DrainPlan:
    """What ``kubectl drain`` does with the pods of one node."""

    node: str
    options: DrainOptions
    evict: list[Pod] = field(default_factory=list)
    skipped: list[tuple[Pod, str]] = field(default_factory=list)
    # kubectl's errors: when there is any, it evicts nothing (the node stays cordoned).
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Evictions the API refuses for a PodDisruptionBudget: kubectl retries every 5 s.
    blocked: dict[str, str] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return bool(self.errors)


def _group(messages: list[tuple[str, Pod]]) -> list[str]:
    grouped: dict[str, list[str]] = {}
    for message, pod in messages:
        grouped.setdefault(message, []).append(pod.key)
    return [f"{message}: {', '.join(keys)}" for message, keys in grouped.items()]


def drain_plan(cluster: Cluster, node_name: str, options: DrainOptions | None = None) -> DrainPlan:
    """kubectl drain's pod filters (GetPodsForDeletion) and the Eviction API's budgets.

    In order, per pod: a DaemonSet pod is an error without --ignore-daemonsets and
    skipped with it (finished ones are deleted); a mirror pod is skipped; a pod with no
    controller is an error without --force and deleted with a warning with it. Any error
    makes kubectl evict nothing. podfit assumes the owning DaemonSet exists and does not
    read volumes, so it cannot apply the emptyDir filter (--delete-emptydir-data).
    """
    opts = options or DrainOptions()
    plan = DrainPlan(node_name, opts)
    errors: list[tuple[str, Pod]] = []
    warnings: list[tuple[str, Pod]] = []
    for pod in cluster.pods_on(node_name):
        if pod.is_terminal:
            continue  # deleted by every filter, and it holds nothing
        if is_daemon_pod(pod):
            if not opts.ignore_daemonsets:
                errors.append((f"cannot delete {DAEMONSET_FATAL}", pod))
            else:
                warnings.append((DAEMONSET_WARNING, pod))
                plan.skipped.append(
                    (
                        pod,
                        "DaemonSet pod: kubectl drain leaves it (the DaemonSet "
                        "controller tolerates the cordon)",
                    )
                )
            continue
        if is_mirror_pod(pod):
            plan.skipped.append(
                (
                    pod,
                    "mirror pod of a static pod: kubectl drain skips it, the "
                    "kubelet runs it from its manifest",
                )
            )
            continue
        if pod.controller is None:
            if not opts.force:
                errors.append((UNMANAGED_FATAL, pod))
                continue
            warnings.append((UNMANAGED_WARNING, pod))
        plan.evict.append(pod)
    plan.errors = _group(errors)
    plan.warnings = _group(warnings)
    if plan.errors:
        plan.evict = []
        return plan
    plan.blocked = disruption_budget_refusals(cluster, plan.evict)
    return plan


def _pdb_selects(pdb: PodDisruptionBudget, pod: Pod) -> bool:
    # policy/v1: an empty selector selects every pod of the namespace, an absent one none.
    if pdb.namespace != pod.namespace or pdb.selector is None:
        return False
    return pdb.selector.is_empty or selector_matches(pdb.selector, pod.labels)


def disruption_budget_refusals(cluster: Cluster, pods: Sequence[Pod]) -> dict[str, str]:
    """The pods (by key) whose eviction the API refuses right now, evicting in order:
    each eviction uses one of its budget's allowed disruptions."""
    from .preemption import _disruptions_allowed

    allowed = {key: _disruptions_allowed(pdb, cluster) for key, pdb in cluster.pdbs.items()}
    refused: dict[str, str] = {}
    for pod in pods:
        budgets = [key for key, pdb in cluster.pdbs.items() if _pdb_selects(pdb, pod)]
        if len(budgets) > 1:
            refused[pod.key] = PDB_MULTIPLE
            continue
        if not budgets:
            continue
        key = budgets[0]
        if allowed[key] <= 0:
            refused[pod.key] = f"{PDB_VIOLATION} (PodDisruptionBudget {key})"
        else:
            allowed[key] -= 1
    return refused


# --- the kubelet's admission under node pressure --------------------------------------------

PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure")
NODE_CONDITION_MESSAGE = "The node had condition: {conditions}. "


def kubelet_admits(node: Node, pod: Pod) -> tuple[bool, str]:
    """The eviction manager's Admit: whether the kubelet starts a pod the scheduler sent.

    Critical pods always start. With only MemoryPressure, a pod starts unless it is
    BestEffort, and a BestEffort one still starts if it tolerates the memory-pressure
    NoSchedule taint. Any other pressure condition (DiskPressure, PIDPressure) rejects
    every other pod.
    """
    from .qos import BEST_EFFORT, qos_class

    conditions = [c for c in PRESSURE_CONDITIONS if node.condition(c) == "True"]
    if not conditions or is_critical_pod(pod):
        return True, ""
    if conditions == ["MemoryPressure"]:
        if qos_class(pod) != BEST_EFFORT:
            return True, ""
        taint = Taint(key=MEMORY_PRESSURE, effect=NO_SCHEDULE)
        if any(tolerates(t, taint) for t in pod.tolerations):
            return True, ""
    # Go's %v of a slice: [A B].
    return False, NODE_CONDITION_MESSAGE.format(conditions=f"[{' '.join(conditions)}]")
