"""Spec case kinds as the reference implementation answers them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podfit.errors import ManifestError
from podfit.fields import Field
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.manifest import parse_label_selector, parse_node_selector_term
from podfit.reference.labels import node_selector_term_matches, selector_matches
from podfit.reference.profile import profiles_from_config
from podfit.reference.scheduler import schedule_one
from podfit.versions import KubeVersion

CaseRunner = Callable[[Mapping[str, Any], KubeVersion], Mapping[str, Any]]


def run_schedule(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pod = pod_from_manifest(given["pod"], "given.pod")
    profiles = profiles_from_config(given["config"], version) if "config" in given else None
    result = schedule_one(cluster, pod, profiles, version=version)
    scores: dict[str, dict[str, int]] = {p: dict(s) for p, s in result.scores.items()}
    if result.totals:
        scores["total"] = dict(result.totals)
    outcome: dict[str, Any] = {
        "feasible": result.feasible,
        "statuses": {
            name: {"plugin": s.plugin, "code": s.code.value, "reasons": list(s.reasons)}
            for name, s in result.failed_statuses().items()
        },
        "scores": scores,
        "top": result.top,
        "message": result.message,
    }
    if result.bypass:
        outcome["bypass"] = result.bypass
    return outcome


def run_simulate(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    from podfit.reference.simulate import simulate

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pods = [pod_from_manifest(p, f"given.pods[{i}]") for i, p in enumerate(given["pods"])]
    profiles = profiles_from_config(given["config"], version) if "config" in given else None
    result = simulate(cluster, pods, profiles, version=version)
    return {
        "placements": {d.pod.name: d.node for d in result.decisions},
        "order": [key.split("/", 1)[1] for key in result.order],
        "evicted": [key.split("/", 1)[1] for key in result.evicted],
        "messages": {d.pod.name: d.message for d in result.pending},
    }


def run_selector(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    labels = Field(given["labels"], "given.labels").labels()
    if "labelSelector" in given:
        selector = parse_label_selector(Field(given["labelSelector"], "given.labelSelector"))
        return {"matches": selector_matches(selector, labels)}
    # The scheduler's reading of a term: values are not the API server's to check here.
    term = parse_node_selector_term(
        Field(given["nodeSelectorTerm"], "given.nodeSelectorTerm"), syntax=False
    )
    return {"matches": node_selector_term_matches(term, labels, given.get("name", ""))}


def run_qos(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    from podfit.apiserver import pod_as_stored
    from podfit.reference.qos import qos_class

    return {"qos": qos_class(pod_as_stored(pod_from_manifest(given["pod"], "given.pod"), version))}


def run_oom(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    # The kubelet sees the pod after admission: its priority comes from its class.
    from podfit.apiserver import pod_as_stored
    from podfit.defaults import resolve_priority
    from podfit.reference.oom import pod_oom_scores

    pod = pod_as_stored(pod_from_manifest(given["pod"], "given.pod"), version)
    pod = resolve_priority(pod, {}, strict=False)
    capacity = Field(given["memoryCapacity"], "given.memoryCapacity").quantity()
    return {"oomScoreAdj": pod_oom_scores(pod, capacity.value_rounded_up())}


def run_admit(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    from podfit.reference.admission import admit

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    return admit(cluster, pod_from_manifest(given["pod"], "given.pod"), version=version).to_dict()


def run_daemonset(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    from podfit.loading import objects_from_manifests
    from podfit.manifest import to_manifest
    from podfit.model import DaemonSet
    from podfit.reference.daemonset import daemon_pod, should_run

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    parsed = [obj for obj, _ in objects_from_manifests([given["daemonSet"]], "given.daemonSet")]
    if len(parsed) != 1 or not isinstance(parsed[0], DaemonSet):
        raise ManifestError("expected a DaemonSet", source="given.daemonSet")
    ds = parsed[0]
    nodes: dict[str, Any] = {}
    pods: dict[str, Any] = {}
    for node in cluster.nodes.values():
        placement = should_run(ds, node)
        nodes[node.name] = {
            "shouldRun": placement.should_run,
            "shouldContinueRunning": placement.should_continue_running,
        }
        if placement.should_run:
            pods[node.name] = to_manifest(daemon_pod(ds, node))
    return {"nodes": nodes, "pods": pods}


def run_evict(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    """A node change through reference.whatif, the kubelet's memory ranking, or
    DefaultTolerationSeconds on one pod. Pods are named without their namespace."""
    from podfit.reference import eviction
    from podfit.reference.whatif import change_from_dict, whatif

    def name(key: str) -> str:
        return key.split("/", 1)[1]

    if "objects" not in given:
        pod = eviction.default_toleration_seconds(pod_from_manifest(given["pod"], "given.pod"))
        return {"tolerations": [_toleration_manifest(t) for t in pod.tolerations]}
    cluster = cluster_from_manifests(given["objects"], "given.objects")
    if "usage" in given:
        usage_field = Field(given["usage"], "given.usage")
        pods = [p for p in cluster.bound_pods() if not p.is_terminal]
        by_name = {p.name: p.key for p in pods}
        usage = {
            by_name.get(pod_name, pod_name): usage_field.at(pod_name).quantity().value_rounded_up()
            for pod_name in given["usage"]
        }
        victim = eviction.kubelet_memory_victim(pods, usage)
        return {
            "ranking": [p.name for p in eviction.kubelet_memory_ranking(pods, usage)],
            "victim": victim.name if victim is not None else None,
        }
    pending = [
        pod_from_manifest(p, f"given.pending[{i}]") for i, p in enumerate(given.get("pending", []))
    ]
    profiles = profiles_from_config(given["config"], version) if "config" in given else None
    result = whatif(
        cluster,
        change_from_dict(given["change"]),
        pending=pending,
        profiles=profiles,
        version=version,
    )
    return {
        "evicted": {name(e.pod.key): e.at for e in result.timeline},
        "kept": sorted(name(k.pod.key) for k in result.kept),
        "rescheduled": {name(k): node for k, node in result.rescheduled.items()},
        "lost": sorted(name(k) for k in result.lost),
        "pending": {name(p.pod): p.after for p in result.pending},
        "taints": [str(t) for t in result.node_after.taints],
        "drainErrors": result.drain.errors if result.drain is not None else [],
    }


def _toleration_manifest(t: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"operator": t.operator}
    if t.key:
        out["key"] = t.key
    if t.value:
        out["value"] = t.value
    if t.effect:
        out["effect"] = t.effect
    if t.toleration_seconds is not None:
        out["tolerationSeconds"] = t.toleration_seconds
    return out


def run_validate(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    """Store the objects as the API server of ``version`` would; an object it refuses
    raises the located error the example's ``error`` is compared with."""
    cluster_from_manifests(given["objects"], "given.objects")
    return {"valid": True}


RUNNERS: dict[str, CaseRunner] = {
    "validate": run_validate,
    "schedule": run_schedule,
    "selector": run_selector,
    "simulate": run_simulate,
    "qos": run_qos,
    "oom": run_oom,
    "admit": run_admit,
    "daemonset": run_daemonset,
    "evict": run_evict,
}
