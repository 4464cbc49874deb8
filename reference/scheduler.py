"""One pod through the scheduler: the profile its schedulerName picks, then one cycle."""

from __future__ import annotations

from collections.abc import Mapping

from podfit.apiserver import cluster_as_stored, pod_as_stored
from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import SCHEDULED_VOLUME_SOURCES, Pod
from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

from .dynamicresources import NO_CLAIMS_TO_DEALLOCATE, UNMODELLED_CLAIMS
from .fixes import find_fixes
from .framework import SNAPSHOT, Profile, ScheduleResult, run_cycle, snapshot_of
from .preemption import PreemptionResult, preempt
from .profile import default_profile, not_modelled
from .qos import qos_class
from .status import Code
from .why import node_details, prefilter_details


def profiles_or_default(
    profiles: Mapping[str, Profile] | None, version: KubeVersion = LATEST
) -> Mapping[str, Profile]:
    """The profiles given, else the default profile of ``version``."""
    if profiles:
        return profiles
    profile = default_profile(version)
    return {profile.scheduler_name: profile}


#: The spec's version change: an unresolvable PreFilter rejection skips preemption.
PREFILTER_UNRESOLVABLE_SKIPS_PREEMPTION = "prefilter-unresolvable-skips-preemption"
#: DynamicResources' PostFilter error when its PreFilter never ran (its state is missing).
DRA_STATE_NOT_FOUND = "not found"


def _prefilter_stopped_before_dra(profile: Profile, result: ScheduleResult) -> bool:
    """Whether an UnschedulableAndUnresolvable PreFilter rejection stopped the PreFilter
    loop before DynamicResources' PreFilter wrote its state (so its PostFilter errors and
    preemption never runs)."""
    rejected = result.prefilter
    if rejected is None or rejected.code is not Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
        return False
    if "DynamicResources" not in profile.post_filters:
        return False
    if not change_holds(PREFILTER_UNRESOLVABLE_SKIPS_PREEMPTION, profile.version):
        return False
    order = [p.name for p in profile.filter_plugins]
    return order.index(rejected.plugin) < order.index("DynamicResources")


def post_filter_message(profile: Profile, outcome: PreemptionResult) -> str:
    """The PostFilter part of the FitError message: the PostFilter plugins' reasons joined
    with ", " (RunPostFilterPlugins), or nothing when preemption nominated a node."""
    if outcome.nominated is not None:
        return ""
    reasons = [NO_CLAIMS_TO_DEALLOCATE] if "DynamicResources" in profile.post_filters else []
    if outcome.message:
        reasons.append(outcome.message)
    return ", ".join(reasons)


def unmodelled_warnings(pod: Pod) -> list[str]:
    """What the pod uses that podfit's scheduler does not model, said so people see it."""
    used = [v for v in pod.volumes if v.kind in SCHEDULED_VOLUME_SOURCES]
    if not used:
        return []
    shown = ", ".join(
        f"{v.name} ({v.kind}{' ' + v.claim_name if v.claim_name else ''})" for v in used[:4]
    ) + (f" and {len(used) - 4} more" if len(used) > 4 else "")
    return [
        f"the pod has volumes the scheduler's volume plugins check: {shown}. podfit does not "
        "model VolumeBinding, VolumeZone, NodeVolumeLimits or VolumeRestrictions (they need "
        "the PersistentVolumes, claims, StorageClasses and CSI drivers), so a node it finds "
        "may still be rejected by them"
    ]


def schedule_one(
    cluster: Cluster,
    pod: Pod,
    profiles: Mapping[str, Profile] | None = None,
    *,
    preemption: bool = True,
    sample: bool = False,
    details: bool = False,
    version: KubeVersion = LATEST,
) -> ScheduleResult:
    """Filter and score every node for ``pod``; when none fits, run preemption as a dry
    run (what it would evict, where). Nothing is bound or evicted. ``sample`` makes the
    cycle stop filtering once it has found as many feasible nodes as kube-scheduler would
    (percentageOfNodesToScore); explanations leave it off to cover every node. Without
    ``profiles``, the default profile of ``version`` runs. ``details`` adds the concrete
    cause behind each rejected node's reason (an explanation's extra work)."""
    pod = resolve_priority(pod, cluster.priority_classes)
    chosen = profiles_or_default(profiles, version)
    profile = chosen.get(pod.scheduler_name)
    if profile is not None:
        # What the profile's release keeps of the pods (fields whose gate is off dropped).
        pod = pod_as_stored(pod, profile.version)
        cluster = cluster_as_stored(cluster, profile.version)
    if profile is None:
        result = ScheduleResult(pod=pod, nodes=list(cluster.nodes))
        result.bypass = (
            f"pod's schedulerName {pod.scheduler_name!r} matches no profile "
            f"({', '.join(chosen)}): it is left for another scheduler"
        )
        return result
    if pod.resource_claims and any(p.name == "DynamicResources" for p in profile.filter_plugins):
        result = ScheduleResult(pod=pod, nodes=list(cluster.nodes))
        result.unmodelled = UNMODELLED_CLAIMS
        return result
    # The pod being scheduled is never counted as one of the pods already placed.
    if pod.key in cluster.pods:
        cluster = cluster.copy()
        cluster.remove_pod(pod.key)
    result = run_cycle(profile, snapshot_of(cluster), pod, sample=sample)
    result.not_modelled = not_modelled(profile.version)
    result.kube_version = profile.version
    result.qos = qos_class(pod)
    result.warnings = unmodelled_warnings(pod)
    if details:
        result.details = node_details(profile, result)
        result.prefilter_details = prefilter_details(result)
    if not result.nodes:
        # No node at all: kube-scheduler stops before filtering (ErrNoNodesAvailable), and
        # there is no FitError for PostFilter to work on.
        return _bypassed(result, pod)
    if preemption and not result.feasible and result.error is None:
        if _prefilter_stopped_before_dra(profile, result):
            result.postfilter_message = DRA_STATE_NOT_FOUND
            return _bypassed(result, pod)
        outcome = preempt(cluster, profile, pod, result)
        result.postfilter_message = post_filter_message(profile, outcome)
        result.nominated = outcome.nominated
        result.victims = [v.key for v in outcome.victims]
        result.violated = list(outcome.violated)
    if details and not result.feasible and result.error is None and result.state is not None:
        # Nodes rejected for the same cause share their details object (see why.py).
        rejected = [
            (n, (s.plugin, s.reasons, id(result.details.get(n))))
            for n, s in result.statuses.items()
            if s.is_rejection
        ]
        result.fixes = list(find_fixes(profile, result.state[SNAPSHOT], pod, rejected))
    return _bypassed(result, pod)


def _bypassed(result: ScheduleResult, pod: Pod) -> ScheduleResult:
    """Notes on the result that a pod with spec.nodeName never meets the scheduler."""
    if pod.node_name:
        result.bypass = (
            f"pod has spec.nodeName={pod.node_name}: it is bound to that node directly and "
            "never goes through the scheduler (the kubelet admits it)"
        )
    return result
