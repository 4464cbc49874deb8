"""reference.framework.filter_one: one node's verdict, as a full cycle records it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.conformance.decisions import CLUSTER_AREAS, NODE_AREAS
from podfit.conformance.strategies import clusters, draw_pending_pod
from podfit.reference.framework import filter_one, run_cycle, snapshot_of
from podfit.reference.profile import default_profile

AREAS = NODE_AREAS | CLUSTER_AREAS


@settings(max_examples=80)
@given(clusters(max_nodes=4, max_running_pods=6, areas=AREAS), st.data())
def test_one_node_verdict_matches_the_full_cycle(cluster: Cluster, data: st.DataObject) -> None:
    pod = draw_pending_pod(data.draw, cluster, "pending", AREAS)
    profile = default_profile()
    snapshot = snapshot_of(cluster)
    cycle = run_cycle(profile, snapshot, pod)
    # Every node is recorded, in the cluster's order, whichever way the cycle loops.
    assert list(cycle.statuses) == list(cluster.nodes)
    for name in cluster.nodes:
        one = filter_one(profile, snapshot, pod, name)
        full = cycle.statuses[name]
        assert (one.code, one.reasons, one.plugin) == (full.code, full.reasons, full.plugin)
    # Under 100 nodes a sampling cycle (nodes one at a time) filters every node too.
    sampled = run_cycle(profile, snapshot_of(cluster), pod, sample=True)
    assert sampled.statuses == cycle.statuses
    assert sampled.feasible == cycle.feasible


def test_an_unknown_node_is_a_rejection_that_says_so() -> None:
    from podfit.loading import cluster_from_manifests, pod_from_manifest

    cluster = cluster_from_manifests(
        [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "status": {}}]
    )
    container = {"name": "c", "image": "app:1"}
    pod = pod_from_manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [container]},
        }
    )
    status = filter_one(default_profile(), snapshot_of(cluster), pod, "b")
    assert not status.is_success and "'b' not found" in status.reasons[0]


def test_replay_names_each_pod_a_placement_puts_where_the_filters_reject_it() -> None:
    from podfit.api import replay_placement
    from podfit.loading import cluster_from_manifests, pod_from_manifest

    def node(name: str, taints: list[dict[str, str]] | None = None) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": taints or []},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}},
        }

    def pod(name: str, cpu: str, anti: bool = False) -> dict[str, object]:
        spec: dict[str, object] = {
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]
        }
        if anti:
            term = {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": {"app": "web"}},
            }
            spec["affinity"] = {
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
            }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": spec,
        }

    cluster = cluster_from_manifests(
        [node("a"), node("t", [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}])]
    )
    pods = [pod_from_manifest(m) for m in (pod("w1", "1", True), pod("w2", "1", True))]
    assert replay_placement(cluster, pods, {"default/w1": "a", "default/w2": "a"}) != []
    problems = replay_placement(cluster, pods, {"default/w1": "a", "default/w2": "t"})
    assert len(problems) == 1 and problems[0].startswith("default/w2 on t:")
    assert "untolerated taint" in problems[0]
    big = [pod_from_manifest(m) for m in (pod("b1", "1500m"), pod("b2", "1500m"))]
    problems = replay_placement(cluster, big, {"default/b1": "a", "default/b2": "a"})
    assert [p.split(":")[0] for p in problems] == ["default/b1 on a", "default/b2 on a"]
    assert "Insufficient cpu" in problems[0]
    problems = replay_placement(cluster, big[:1], {"default/b1": "nowhere"})
    assert problems and "not found" in problems[0]
