"""Plugins answering for every node at once (groups / filter_all / score_all over
reference.columns) give exactly what their per-node filter, score and detail give:
statuses, feasible nodes, every plugin's scores, totals, best nodes and explain's details,
on generated clusters, per release, and after pods come and go on the snapshot the
columns follow."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.conformance.strategies import scheduling_problems
from podfit.model import Container, Node, Pod, ResourceRequirements, Taint, Toleration
from podfit.quantity import Quantity
from podfit.reference import framework
from podfit.reference.framework import CycleState, Plugin, Profile, ScheduleResult, run_cycle
from podfit.reference.interpodaffinity import InterPodAffinity
from podfit.reference.nodeaffinity import NodeAffinity
from podfit.reference.nodeinfo import PodInfo, Snapshot
from podfit.reference.profile import default_profile
from podfit.reference.tainttoleration import TaintToleration
from podfit.reference.why import node_details
from podfit.versions import VERSIONS


def _plugin_classes() -> list[type[Plugin]]:
    found: list[type[Plugin]] = []
    todo = [Plugin]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@contextmanager
def node_by_node() -> Iterator[None]:
    """Every plugin without its all-nodes shortcuts (the plain per-node path)."""
    saved: list[tuple[type[Plugin], str, Any]] = []
    for cls in _plugin_classes():
        for name in ("groups", "filter_all", "score_all"):
            if cls is not Plugin and name in vars(cls):
                saved.append((cls, name, vars(cls)[name]))
                setattr(cls, name, getattr(Plugin, name))
    try:
        yield
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)


def outcome(result: ScheduleResult, profile: Profile) -> dict[str, Any]:
    details = node_details(profile, result)
    # The same details found status by status, without the rows the filters recorded.
    rows, result.rejected_rows = result.rejected_rows, None
    assert node_details(profile, result) == details
    result.rejected_rows = rows
    return {
        "details": details,
        "statuses": {name: (s.code, s.reasons, s.plugin) for name, s in result.statuses.items()},
        "order": list(result.statuses),
        "feasible": result.feasible,
        "scores": result.scores,
        "totals": result.totals,
        "top": result.top,
        "error": result.error,
    }


def both_ways(snapshot: Snapshot, pod: Pod, version: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    profile = default_profile(version)
    at_once = outcome(run_cycle(profile, snapshot, pod), profile)
    with node_by_node():
        one_by_one = outcome(run_cycle(profile, snapshot, pod), profile)
    return at_once, one_by_one


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheduling_problems(max_nodes=8, max_running_pods=10), st.sampled_from(VERSIONS))
def test_all_nodes_at_once_equals_node_by_node(problem: tuple[Cluster, Pod], version: Any) -> None:
    cluster, pod = problem
    at_once, one_by_one = both_ways(Snapshot.of(cluster), pod, version)
    assert at_once == one_by_one


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheduling_problems(max_nodes=6, max_running_pods=8), st.sampled_from(VERSIONS))
def test_columns_follow_pods_bound_and_removed(problem: tuple[Cluster, Pod], version: Any) -> None:
    cluster, pod = problem
    snapshot = Snapshot.of(cluster)
    profile = default_profile(version)
    result = run_cycle(profile, snapshot, pod)  # builds the columns
    if result.top:
        bound = dataclasses.replace(pod, node_name=result.top[0])
        snapshot.add_pod(bound)
        at_once, one_by_one = both_ways(snapshot, dataclasses.replace(pod, name="next"), version)
        assert at_once == one_by_one
    for info in snapshot.node_list():
        if info.pods:
            snapshot.remove_pod(info.pods[0].pod)
            break
    at_once, one_by_one = both_ways(snapshot, pod, version)
    assert at_once == one_by_one


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(scheduling_problems(max_nodes=8, max_running_pods=10), min_size=2, max_size=4),
    st.sampled_from(VERSIONS),
)
def test_answers_kept_for_pods_alike_fit_each_pod(
    problems: list[tuple[Cluster, Pod]], version: Any
) -> None:
    """What the columns keep across cycles (Columns.memo, keyed by what the answers read
    of the pod) gives each of several pods, one after another on one snapshot, what the
    node-by-node path gives it."""
    snapshot = Snapshot.of(problems[0][0])
    for _, pod in problems:
        at_once, one_by_one = both_ways(snapshot, pod, version)
        assert at_once == one_by_one


def test_taint_answers_kept_follow_each_pods_tolerations() -> None:
    """A pod that tolerates the taints and one that does not, in turn on one snapshot:
    each gets its own filter verdicts and PreferNoSchedule scores."""
    taints = {
        "a": (Taint("gpu", "NoSchedule"),),
        "b": (Taint("spot", "PreferNoSchedule"),),
        "c": (Taint("spot", "PreferNoSchedule"), Taint("old", "PreferNoSchedule")),
        "d": (),
    }
    cluster = Cluster(
        [
            Node(name=n, allocatable=_resources("4", "4Gi", "10"), taints=t)
            for n, t in taints.items()
        ]
    ).finish()
    snapshot = Snapshot.of(cluster)
    tolerant = dataclasses.replace(_pod("p", "1"), tolerations=(Toleration(operator="Exists"),))
    plain = _pod("q", "1")
    seen = []
    for pod in (tolerant, plain, tolerant, plain):
        at_once, one_by_one = both_ways(snapshot, pod, VERSIONS[-1])
        assert at_once == one_by_one
        seen.append((at_once["feasible"], at_once["scores"]["TaintToleration"]))
    assert seen[0] == (["a", "b", "c", "d"], {"a": 100, "b": 100, "c": 100, "d": 100})
    assert seen[1] == (["b", "c", "d"], {"b": 50, "c": 0, "d": 100})
    assert seen[2:] == seen[:2]


def test_columns_notice_a_node_changed_behind_the_snapshot() -> None:
    """A NodeInfo changed directly (not through the snapshot) is read again."""
    cluster = Cluster([Node(name="a", allocatable=_resources("4", "4Gi", "10"))]).finish()
    snapshot = Snapshot.of(cluster)
    pod = _pod("p", "3")
    assert run_cycle(default_profile(), snapshot, pod).feasible == ["a"]
    snapshot.nodes["a"].add(PodInfo.of(_pod("q", "2", node="a"), bound=True))
    at_once, one_by_one = both_ways(snapshot, pod, VERSIONS[-1])
    assert at_once == one_by_one
    assert at_once["feasible"] == []


def test_amounts_too_large_for_arrays_go_node_by_node() -> None:
    """Quantities at or beyond 2**53 leave the arithmetic to Python's integers."""
    huge = str(2**62)
    cluster = Cluster(
        [
            Node(name="a", allocatable=_resources("4", huge, "10")),
            Node(name="b", allocatable=_resources("4", "4Gi", "10")),
        ]
    ).finish()
    snapshot = Snapshot.of(cluster)
    for pod in (_pod("p", "1", memory=str(2**61)), _pod("p", "1", memory="1Gi")):
        at_once, one_by_one = both_ways(snapshot, pod, VERSIONS[-1])
        assert at_once == one_by_one
    assert snapshot.columns().resource("allocatable", "memory") is None


# Scores as score_all gives them: small counts and weights mostly, and for
# InterPodAffinity sums of weights that may come near float64's integers.
_SCORES = st.lists(st.integers(-300, 300) | st.integers(-(2**53), 2**53), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_SCORES)
def test_normalizing_an_array_equals_normalizing_the_scores(values: list[int]) -> None:
    """Each plugin's normalize_all gives what its normalize gives (or leaves it to it)."""
    pod = PodInfo.of(_pod("p", "1"))
    plugins: list[Plugin] = [InterPodAffinity(), TaintToleration(), NodeAffinity()]
    small = all(abs(v) <= 300 for v in values)
    for plugin in plugins:
        if not small and not isinstance(plugin, InterPodAffinity):
            continue  # their scores are counts and weights: score_all gives small ones
        state = CycleState()
        array = plugin.normalize_all(state, pod, np.array(values, dtype=np.int64))
        if array is None:
            assert not small
            continue
        scores = {f"n{i}": v for i, v in enumerate(values)}
        plugin.normalize(state, pod, scores)
        assert array.tolist() == list(scores.values())


def _resources(cpu: str, memory: str, pods: str) -> dict[str, Quantity]:
    return {
        "cpu": Quantity.parse(cpu),
        "memory": Quantity.parse(memory),
        "pods": Quantity.parse(pods),
    }


def _pod(name: str, cpu: str, *, memory: str = "0", node: str = "") -> Pod:
    requests = {"cpu": Quantity.parse(cpu), "memory": Quantity.parse(memory)}
    container = Container(name="c", resources=ResourceRequirements(requests=requests))
    return Pod(name=name, containers=(container,), node_name=node)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scheduling_problems(max_nodes=8, max_running_pods=10),
    st.sampled_from(VERSIONS),
    st.integers(0, 20),
    st.integers(1, 8),
    st.sampled_from([1, 2, framework.SAMPLING_STRETCH]),
)
def test_sampling_takes_nodes_in_turn_until_enough_fit(
    problem: tuple[Cluster, Pod], version: Any, start: int, limit: int, stretch: int
) -> None:
    """A sampling cycle (a stretch of nodes at a time) decides what going node by node
    from ``start`` round decides: the nodes up to the ``limit``-th feasible one, with the
    statuses an unsampled cycle gives them, in that order; the next cycle starts after."""
    cluster, pod = problem
    snapshot = Snapshot.of(cluster)
    profile = default_profile(version)
    full = run_cycle(profile, snapshot, pod)
    count = len(full.nodes)
    assume(count > 0)
    start %= count
    order = full.nodes[start:] + full.nodes[:start]
    feasible = set(full.feasible)
    processed, found = count, []
    for i, name in enumerate(order):
        if name in feasible:
            found.append(name)
            if len(found) == limit:
                processed = i + 1
                break
    if full.prefilter is not None:
        processed, found = count, []
    snapshot.next_start_node = start
    saved = framework.num_feasible_nodes_to_find, framework.SAMPLING_STRETCH
    framework.num_feasible_nodes_to_find = lambda num_nodes, percentage=0: limit
    framework.SAMPLING_STRETCH = stretch  # 1 and 2: several stretches even on small clusters
    try:
        sampled = run_cycle(profile, snapshot, pod, sample=True)
    finally:
        framework.num_feasible_nodes_to_find, framework.SAMPLING_STRETCH = saved
    assert sampled.nodes == order
    assert list(sampled.statuses) == order[:processed]
    assert {n: s for n, s in sampled.statuses.items()} == {
        n: full.statuses[n] for n in order[:processed]
    }
    assert sampled.feasible == found
    if full.prefilter is None:
        assert snapshot.next_start_node == (start + processed) % count
