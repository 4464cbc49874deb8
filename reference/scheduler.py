"""One pod through the scheduler: the profile its schedulerName picks, then one cycle."""

from __future__ import annotations

from collections.abc import Mapping

from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import Pod

from .framework import Profile, ScheduleResult, run_cycle, snapshot_of
from .preemption import preempt
from .profile import NOT_MODELLED, default_profile
from .qos import qos_class


def profiles_or_default(profiles: Mapping[str, Profile] | None) -> Mapping[str, Profile]:
    if profiles:
        return profiles
    profile = default_profile()
    return {profile.scheduler_name: profile}


def schedule_one(
    cluster: Cluster,
    pod: Pod,
    profiles: Mapping[str, Profile] | None = None,
    *,
    preemption: bool = True,
    sample: bool = False,
) -> ScheduleResult:
    """Filter and score every node for ``pod``; when none fits, run preemption as a dry
    run (what it would evict, where). Nothing is bound or evicted. ``sample`` makes the
    cycle stop filtering once it has found as many feasible nodes as kube-scheduler would
    (percentageOfNodesToScore); explanations leave it off to cover every node."""
    pod = resolve_priority(pod, cluster.priority_classes)
    chosen = profiles_or_default(profiles)
    profile = chosen.get(pod.scheduler_name)
    if profile is None:
        result = ScheduleResult(pod=pod, nodes=list(cluster.nodes))
        result.bypass = (
            f"pod's schedulerName {pod.scheduler_name!r} matches no profile "
            f"({', '.join(chosen)}): it is left for another scheduler"
        )
        return result
    # The pod being scheduled is never counted as one of the pods already placed.
    if pod.key in cluster.pods:
        cluster = cluster.copy()
        cluster.remove_pod(pod.key)
    result = run_cycle(profile, snapshot_of(cluster), pod, sample=sample)
    result.not_modelled = NOT_MODELLED
    result.qos = qos_class(pod)
    if preemption and not result.feasible and result.error is None:
        outcome = preempt(cluster, profile, pod, result)
        result.postfilter_message = outcome.message
        result.nominated = outcome.nominated
        result.victims = [v.key for v in outcome.victims]
    if pod.node_name:
        result.bypass = (
            f"pod has spec.nodeName={pod.node_name}: it is bound to that node directly and "
            "never goes through the scheduler (the kubelet admits it)"
        )
    return result
