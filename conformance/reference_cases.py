"""Spec case kinds as the reference implementation answers them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podfit.fields import Field
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.manifest import parse_label_selector, parse_node_selector_term
from podfit.reference.labels import node_selector_term_matches, selector_matches
from podfit.reference.profile import profiles_from_config
from podfit.reference.scheduler import schedule_one

CaseRunner = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def run_schedule(given: Mapping[str, Any]) -> Mapping[str, Any]:
    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pod = pod_from_manifest(given["pod"], "given.pod")
    profiles = profiles_from_config(given["config"]) if "config" in given else None
    result = schedule_one(cluster, pod, profiles)
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


def run_simulate(given: Mapping[str, Any]) -> Mapping[str, Any]:
    from podfit.reference.simulate import simulate

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pods = [pod_from_manifest(p, f"given.pods[{i}]") for i, p in enumerate(given["pods"])]
    profiles = profiles_from_config(given["config"]) if "config" in given else None
    result = simulate(cluster, pods, profiles)
    return {
        "placements": {d.pod.name: d.node for d in result.decisions},
        "order": [key.split("/", 1)[1] for key in result.order],
        "evicted": [key.split("/", 1)[1] for key in result.evicted],
        "messages": {d.pod.name: d.message for d in result.pending},
    }


def run_selector(given: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = Field(given["labels"], "given.labels").labels()
    if "labelSelector" in given:
        selector = parse_label_selector(Field(given["labelSelector"], "given.labelSelector"))
        return {"matches": selector_matches(selector, labels)}
    term = parse_node_selector_term(Field(given["nodeSelectorTerm"], "given.nodeSelectorTerm"))
    return {"matches": node_selector_term_matches(term, labels, given.get("name", ""))}


RUNNERS: dict[str, CaseRunner] = {
    "schedule": run_schedule,
    "selector": run_selector,
    "simulate": run_simulate,
}
