"""The conformance strategies: valid objects only, round trips through manifests, the knobs are
checked, the boundaries the rules care about do come up, and shrinking goes where it says."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from podfit.cluster import Cluster
from podfit.conformance import strategies as S
from podfit.defaults import default_pod
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.manifest import to_manifest
from podfit.model import Node, Pod, Taint
from podfit.reference.labels import parse_int64
from podfit.reference.resources import bound_pod_requests, pod_requests

FIND = settings(
    max_examples=2000,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    verbosity=Verbosity.quiet,
)


def roundtrip(cluster: Cluster) -> Cluster:
    return cluster_from_manifests([to_manifest(obj) for obj in cluster.objects()])


@settings(max_examples=150, deadline=None)
@given(S.scheduling_problems())
def test_problems_survive_manifests_unchanged(problem: tuple[Cluster, Pod]) -> None:
    cluster, pod = problem
    again = roundtrip(cluster)
    assert again.nodes == cluster.nodes
    assert again.pods == cluster.pods
    assert pod_from_manifest(to_manifest(pod)) == pod


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        S.nodes(),
        S.pods(),
        S.taints(),
        S.tolerations(),
        S.label_selectors(),
        S.node_selector_terms(),
        S.node_affinities(),
        S.pod_affinity_terms(),
        S.topology_spread_constraints(),
        S.containers(),
        S.resource_lists(extended=True),
    )
)
def test_every_public_strategy_draws(value: object) -> None:
    assert value is not None


def check_valid_pod(pod: Pod) -> None:
    assert default_pod(pod) == pod, "pods are stored defaulted"
    assert pod.priority == 0 and pod.preemption_policy == "PreemptLowerPriority"
    for t in pod.tolerations:
        assert t.operator in ("", "Equal", "Exists")  # "" is an omitted operator (Equal)
        if t.operator == "Exists":
            assert t.value == ""
        else:
            assert t.key, "an empty key needs operator Exists"
        if t.toleration_seconds is not None:
            assert t.effect == "NoExecute"
    seen: set[tuple[int, str]] = set()
    for c in pod.all_containers():
        for name, limit in c.resources.limits.items():
            request = c.resources.requests[name]
            if name in ("cpu", "memory"):
                assert limit.value >= request.value
            else:
                assert limit.value == request.value, "extended resources: request == limit"
        for p in c.ports:
            if p.host_port:
                assert (p.host_port, p.protocol) not in seen, "host ports unique per pod"
                seen.add((p.host_port, p.protocol))
            if pod.host_network:
                assert p.host_port == p.container_port
    affinity = pod.affinity.node_affinity if pod.affinity else None
    if affinity is not None:
        assert affinity.required is not None or affinity.preferred
        if affinity.required is not None:
            assert affinity.required.terms, "the API rejects an empty list of terms"
            for term in affinity.required.terms:
                for r in term.match_expressions:
                    if r.operator in ("Gt", "Lt"):
                        assert len(r.values) == 1 and parse_int64(r.values[0]) is not None
                    elif r.operator in ("In", "NotIn"):
                        assert r.values
                    else:
                        assert not r.values
    keys = [(c.topology_key, c.when_unsatisfiable) for c in pod.topology_spread_constraints]
    assert len(keys) == len(set(keys))
    for c in pod.topology_spread_constraints:
        assert c.min_domains is None or c.when_unsatisfiable == "DoNotSchedule"


def used(pods: list[Pod], resource: str) -> Fraction:
    """What the pods hold on their node (an in-place resize under way included)."""
    return sum((bound_pod_requests(p).get(resource, Fraction(0)) for p in pods), Fraction(0))


@settings(max_examples=150, deadline=None)
@given(S.scheduling_problems())
def test_objects_are_valid(problem: tuple[Cluster, Pod]) -> None:
    cluster, pod = problem
    check_valid_pod(pod)
    assert not pod.node_name and not pod.phase
    for node in cluster.nodes.values():
        pairs = [(t.key, t.effect) for t in node.taints]
        assert len(pairs) == len(set(pairs)), "taints are unique by key and effect"
        active = [p for p in cluster.pods_on(node.name) if not p.is_terminal]
        # Running pods were admitted by the kubelet: they fit the node.
        for resource in ("cpu", "memory"):
            assert used(active, resource) <= node.allocatable[resource].value
        assert len(active) <= node.allocatable["pods"].value
    for running in cluster.bound_pods():
        check_valid_pod(running)
        assert running.node_name in cluster.nodes


@pytest.mark.parametrize(
    "area, absent",
    [
        (
            "taints",
            lambda c, p: all(not n.unschedulable and not n.labels for n in c.nodes.values()),
        ),
        ("resources", lambda c, p: not p.tolerations and not p.node_selector and not p.affinity),
        ("node-affinity", lambda c, p: all(not n.taints for n in c.nodes.values())),
        ("node-ports", lambda c, p: not pod_requests(p)),
        ("node-unschedulable", lambda c, p: all(not n.taints for n in c.nodes.values())),
    ],
)
def test_only_the_features_of_the_areas_asked_for(
    area: str, absent: Callable[[Cluster, Pod], bool]
) -> None:
    @settings(max_examples=40, deadline=None)
    @given(S.scheduling_problems(areas=[area]))
    def check(problem: tuple[Cluster, Pod]) -> None:
        assert absent(*problem)

    check()


# --- the boundaries come up --------------------------------------------------------------


def free_cpu_milli(cluster: Cluster, node: Node) -> int:
    active = [p for p in cluster.pods_on(node.name) if not p.is_terminal]
    return int((node.allocatable["cpu"].value - used(active, "cpu")) * 1000)


def exact_cpu_fit(problem: tuple[Cluster, Pod]) -> bool:
    cluster, pod = problem
    want = int(pod_requests(pod).get("cpu", Fraction(0)) * 1000)
    return want > 0 and any(free_cpu_milli(cluster, n) == want for n in cluster.nodes.values())


def one_over_cpu(problem: tuple[Cluster, Pod]) -> bool:
    cluster, pod = problem
    want = int(pod_requests(pod).get("cpu", Fraction(0)) * 1000)
    return any(free_cpu_milli(cluster, n) == want - 1 > 0 for n in cluster.nodes.values())


def empty_taint_with_equal_toleration(problem: tuple[Cluster, Pod]) -> bool:
    cluster, pod = problem
    return any(
        t.value == "" and tol.operator == "Equal" and tol.key == t.key and tol.value != ""
        for n in cluster.nodes.values()
        for t in n.taints
        for tol in pod.tolerations
    )


def numeric_comparison_that_strings_get_wrong(problem: tuple[Cluster, Pod]) -> bool:
    cluster, pod = problem
    a = pod.affinity.node_affinity if pod.affinity else None
    reqs = [r for t in (a.required.terms if a and a.required else ()) for r in t.match_expressions]
    for r in reqs:
        if r.operator != "Gt":
            continue
        for n in cluster.nodes.values():
            have = n.labels.get(r.key)
            if have is not None and (int(have) > int(r.values[0])) != (have > r.values[0]):
                return True
    return False


def bind_all_next_to_specific_ip(problem: tuple[Cluster, Pod]) -> bool:
    cluster, pod = problem
    wanted = {(p.host_ip or "0.0.0.0", p.host_port) for c in pod.containers for p in c.ports}
    held = {
        (p.host_ip or "0.0.0.0", p.host_port)
        for r in cluster.bound_pods()
        for c in r.containers
        for p in c.ports
    }
    return any(
        w[1] == h[1] and {w[0], h[0]} & {"0.0.0.0"} and w[0] != h[0] for w in wanted for h in held
    )


BOUNDARIES: list[tuple[str, str, Callable[[tuple[Cluster, Pod]], bool]]] = [
    ("resources", "request exactly fills a node", exact_cpu_fit),
    ("resources", "request one millicore over", one_over_cpu),
    ("resources", "sidecar and init container", lambda p: len(p[1].init_containers) == 2),
    (
        "resources",
        "a terminal pod on a node",
        lambda p: any(r.is_terminal for r in p[0].bound_pods()),
    ),
    (
        "resources",
        "a node exactly full of pods",
        lambda p: any(
            len([r for r in p[0].pods_on(n.name) if not r.is_terminal])
            == n.allocatable["pods"].value
            > 0
            for n in p[0].nodes.values()
        ),
    ),
    ("taints", "empty-value taint, Equal toleration", empty_taint_with_equal_toleration),
    (
        "taints",
        "Exists toleration without a key",
        lambda p: any(t.operator == "Exists" and not t.key for t in p[1].tolerations),
    ),
    ("node-affinity", "Gt where strings disagree", numeric_comparison_that_strings_get_wrong),
    ("node-ports", "0.0.0.0 next to a specific address", bind_all_next_to_specific_ip),
]


@pytest.mark.parametrize("area, what, condition", BOUNDARIES, ids=[b[1] for b in BOUNDARIES])
def test_boundaries_are_generated(
    area: str, what: str, condition: Callable[[tuple[Cluster, Pod]], bool]
) -> None:
    found = find(S.scheduling_problems(areas=[area]), condition, settings=FIND)
    assert condition(found)


# --- shrinking ---------------------------------------------------------------------------


def test_shrinks_toward_one_node_one_taint_and_a_plain_pod() -> None:
    cluster, pod = find(
        S.scheduling_problems(areas=["taints", "resources"]),
        lambda p: any(n.taints for n in p[0].nodes.values()),
        settings=FIND,
    )
    assert list(cluster.nodes) == ["node-0"]
    assert cluster.nodes["node-0"].taints == (Taint(key="dedicated", effect="NoSchedule"),)
    assert not cluster.pods
    assert len(pod.containers) == 1 and not pod.init_containers and not pod.tolerations
    assert not pod_requests(pod)


def test_shrinks_toward_small_requests() -> None:
    _, pod = find(
        S.scheduling_problems(areas=["resources"]),
        lambda p: "cpu" in pod_requests(p[1]),
        settings=FIND,
    )
    assert pod_requests(pod)["cpu"] == Fraction(1, 10)  # the smallest request on the grid


# --- determinism and argument checks ------------------------------------------------------


def drawn_with(seed_value: int) -> list[Any]:
    out: list[Any] = []

    @seed(seed_value)
    @settings(max_examples=25, database=None, deadline=None, phases=[Phase.generate])
    @given(S.scheduling_problems())
    def collect(problem: tuple[Cluster, Pod]) -> None:
        cluster, pod = problem
        out.append(([to_manifest(o) for o in cluster.objects()], to_manifest(pod)))

    collect()
    return out


def test_same_seed_same_examples() -> None:
    assert drawn_with(7) == drawn_with(7)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: S.clusters(min_nodes=3, max_nodes=2), "min_nodes=3 must not be larger"),
        (lambda: S.clusters(max_nodes=0), "max_nodes=0 must be at least 1"),
        (lambda: S.clusters(max_nodes=1000), "too large"),
        (lambda: S.clusters(max_running_pods=-1), "max_running_pods=-1"),
        (lambda: S.clusters(min_nodes=1.5), "must be an integer"),  # type: ignore[arg-type]
        (lambda: S.scheduling_problems(areas="taints"), "not a string"),
        (lambda: S.scheduling_problems(areas=["taint"]), "unknown area(s) 'taint'"),
        (lambda: S.label_sets(keys=["bad key"]), "not a valid label key"),
        (lambda: S.label_sets(values=["-x"]), "not a valid label value"),
        (lambda: S.label_sets(keys=[]), "must not be empty"),
        (lambda: S.taints(effects=["Sometimes"]), "not a taint effect"),
        (lambda: S.containers(name=""), "non-empty string"),
        (lambda: S.node_affinities(max_terms=0), "max_terms=0"),
    ],
)
def test_knobs_are_checked_when_the_strategy_is_made(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
