"""The solver's topology spread and inter-pod (anti-)affinity: the spec's examples, agreement
with the reference on single pods, batch placements that replay through the reference, and
explanations that name the rules."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit import spec
from podfit.api import replay_placement
from podfit.api import solve as api_solve
from podfit.cluster import Cluster
from podfit.conformance.strategies import clusters, draw_pending_pod, scheduling_problems
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod
from podfit.reference.scheduler import schedule_one
from podfit.reference.simulate import simulate
from podfit.solver import (
    Outcome,
    Session,
    feasible_nodes,
    maximize_placed,
    minimize_nodes,
    nodes_to_add,
    solve,
)
from podfit.solver.encode import Rules, encode
from podfit.solver.explain import minimal_core, sentences
from podfit.versions import LATEST

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
RACK = "rack"

# --- manifest builders ----------------------------------------------------------------------


def node(
    name: str,
    zone: str | None = None,
    *,
    cpu: str = "4",
    hostname: bool = True,
    taint: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    all_labels = dict(labels or {})
    if hostname:
        all_labels[HOST] = name
    if zone is not None:
        all_labels[ZONE] = zone
    spec: dict[str, Any] = {}
    if taint:
        spec["taints"] = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}},
    }


def pod(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    namespace: str = "default",
    cpu: str = "100m",
    node_name: str | None = None,
    affinity: dict[str, Any] | None = None,
    spread: list[dict[str, Any]] | None = None,
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    phase: str | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}]
    }
    for key, value in (
        ("nodeName", node_name),
        ("affinity", affinity),
        ("topologySpreadConstraints", spread),
        ("nodeSelector", node_selector),
        ("tolerations", tolerations),
    ):
        if value:
            spec[key] = value
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if deleting:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    manifest: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata}
    manifest["spec"] = spec
    if phase is not None:
        manifest["status"] = {"phase": phase}
    return manifest


def term(
    app: str | None, key: str = ZONE, **extra: Any
) -> dict[str, Any]:  # a pod affinity term selecting app=<app>
    out: dict[str, Any] = {"topologyKey": key, **extra}
    if app is not None:
        out["labelSelector"] = {"matchLabels": {"app": app}}
    return out


def anti(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def spread(app: str, key: str = ZONE, skew: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": app}},
        **extra,
    }


def cluster(*objects: dict[str, Any]) -> Cluster:
    return cluster_from_manifests(list(objects))


def pending(*manifests: dict[str, Any]) -> list[Pod]:
    return [pod_from_manifest(m) for m in manifests]


def replicas(count: int, app: str = "web", **kwargs: Any) -> list[Pod]:
    return pending(*(pod(f"{app}-{i}", {"app": app}, **kwargs) for i in range(1, count + 1)))


def placed_ok(c: Cluster, pods: list[Pod], placement: dict[str, str]) -> None:
    assert replay_placement(c, pods, placement) == []


# --- the spec's examples ----------------------------------------------------------------------


def _solver_examples() -> list[spec.Example]:
    chosen = []
    for rule in spec.rules():
        for example in rule.examples:
            if example.case != "schedule" or "feasible" not in example.expect:
                continue
            if LATEST not in example.versions:
                continue  # tests/test_spec.py runs every release; this the newest
            if "config" in example.given:
                continue  # the solver runs the default profile only
            pod_spec = example.given["pod"].get("spec", {})
            if pod_spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                continue
            chosen.append(example)
    return chosen


SOLVER_EXAMPLES = _solver_examples()


def test_the_examples_cover_the_cluster_rules() -> None:
    areas = {e.rule_id.split(".")[0] for e in SOLVER_EXAMPLES}
    assert {"inter-pod-affinity", "topology-spread"} <= areas
    cluster_rules = [e for e in SOLVER_EXAMPLES if e.rule_id.split(".")[1] == "filter"]
    assert len(cluster_rules) > 150


@pytest.mark.parametrize("example", SOLVER_EXAMPLES, ids=[e.test_id for e in SOLVER_EXAMPLES])
def test_spec_example_feasible_set(example: spec.Example) -> None:
    c = cluster_from_manifests(example.given["objects"])
    p = pod_from_manifest(example.given["pod"])
    assert sorted(feasible_nodes(c, p)) == sorted(example.expect_for(LATEST)["feasible"])


# --- batch semantics by hand ---------------------------------------------------------------------


def test_anti_affinity_replicas_and_the_explanation() -> None:
    c = cluster(node("a1", "a"), node("a2", "a"), node("b1", "b", taint=True))
    pods = replicas(2, affinity=anti(term("web")))
    result = solve(c, pods)
    assert result.status == "infeasible"
    assert result.core == [Rules.TAINT_NO_SCHEDULE, Rules.ANTI_AFFINITY]
    assert (
        "default/web-1 and default/web-2 both require anti-affinity on topology.kubernetes.io/zone "
        "against each other (app=web), and the nodes left to them are all in "
        "topology.kubernetes.io/zone a (inter-pod-affinity.filter.required-anti-affinity)."
    ) in result.explanation
    three = cluster(node("a1", "a"), node("b1", "b"), node("c1", "c"))
    result = solve(three, replicas(3, affinity=anti(term("web"))))
    assert result.status == "feasible"
    assert sorted(result.placement.values()) == ["a1", "b1", "c1"]
    placed_ok(three, replicas(3, affinity=anti(term("web"))), result.placement)


def test_anti_affinity_between_two_workloads_is_symmetric() -> None:
    c = cluster(node("a1", "a"), node("b1", "b", taint=True))
    pods = [*replicas(1, "db", affinity=anti(term("web"))), *replicas(1, "web")]
    result = solve(c, pods)
    assert result.status == "infeasible"
    assert (
        "The required anti-affinity of default/db-1 on topology.kubernetes.io/zone (app=web) "
        "selects default/web-1, so they cannot share a topology.kubernetes.io/zone domain, and "
        "the nodes left to them are all in topology.kubernetes.io/zone a "
        "(inter-pod-affinity.filter.required-anti-affinity)."
    ) in result.explanation


def test_running_pods_anti_affinity_excludes_their_domain() -> None:
    c = cluster(
        node("a1", "a"),
        node("a2", "a"),
        node("b1", "b"),
        pod("guard", {"app": "guard"}, node_name="a1", affinity=anti(term("web"))),
    )
    result = solve(c, replicas(1))
    assert result.status == "feasible" and result.placement == {"default/web-1": "b1"}
    assert feasible_nodes(c, replicas(1)[0]) == {"b1"}
    crowded = cluster(
        node("a1", "a"),
        node("b1", "b", taint=True),
        pod("guard", {"app": "guard"}, node_name="a1", affinity=anti(term("web"))),
    )
    result = solve(crowded, replicas(1))
    assert result.core == [Rules.TAINT_NO_SCHEDULE, Rules.EXISTING_ANTI_AFFINITY]
    assert any(
        "default/guard, running in topology.kubernetes.io/zone a" in s for s in result.explanation
    )


def test_pods_placed_together_satisfy_each_others_affinity() -> None:
    # web needs a db in its zone and db needs a web in its zone: neither could go first one
    # at a time, but placed together each has the other.
    c = cluster(node("a1", "a"), node("b1", "b"))
    pods = [
        *replicas(1, "web", affinity=affinity(term("db"))),
        *replicas(1, "db", affinity=affinity(term("web"))),
    ]
    result = solve(c, pods)
    assert result.status == "feasible"
    assert len(set(result.placement.values())) == 1
    placed_ok(c, pods, result.placement)
    assert all(d.node is None for d in simulate(c, pods).decisions)


def test_self_affine_replicas_share_a_zone_and_the_first_pod_rule() -> None:
    c = cluster(node("a1", "a", cpu="1"), node("b1", "b", cpu="1"), node("x1", hostname=True))
    pods = replicas(3, "db", cpu="400m", affinity=affinity(term("db")))
    # Three of 400m cannot share one 1-cpu zone; apart, each would miss the others.
    result = solve(c, pods)
    assert result.status == "infeasible"
    assert Rules.AFFINITY in result.core and Rules.AFFINITY_FIRST_POD in result.core
    assert (
        "default/db-1, default/db-2 and default/db-3 may each run only where a pod matching "
        "their required pod affinity (app=db in its topology.kubernetes.io/zone) runs or is "
        "placed in the same topology.kubernetes.io/zone domain; each matches them itself, but "
        "the first-pod exception holds only while no other matching pod runs anywhere "
        "(inter-pod-affinity.filter.required-affinity, "
        "inter-pod-affinity.filter.self-affinity-first-pod)."
    ) in result.explanation
    two = pods[:2]
    result = solve(c, two)
    assert result.status == "feasible"
    assert len(set(result.placement.values())) == 1 and "x1" not in result.placement.values()
    # One alone: the first-pod exception admits every node with the zone label.
    assert feasible_nodes(c, pods[0]) == {"a1", "b1"}


def test_affinity_to_a_running_pod_turns_the_first_pod_rule_off() -> None:
    c = cluster(node("a1", "a"), node("b1", "b"), pod("db-0", {"app": "db"}, node_name="b1"))
    pods = replicas(2, "db", affinity=affinity(term("db")))
    result = solve(c, pods)
    assert result.status == "feasible"
    assert set(result.placement.values()) == {"b1"}


def test_spread_batch_is_checked_in_the_final_state() -> None:
    c = cluster(node("a1", "a"), node("b1", "b"), node("c1", "c"))
    pods = replicas(4, spread=[spread("web")])
    result = solve(c, pods)
    assert result.status == "feasible"
    zones = sorted(result.placement.values())
    assert len(set(zones)) == 3  # 2/1/1
    placed_ok(c, pods, result.placement)
    # A running pod in zone a: five pods of maxSkew 1 over a 1-cpu zone c cannot fit.
    small = cluster(
        node("a1", "a"),
        node("b1", "b"),
        node("c1", "c", cpu="100m"),
        pod("old", {"app": "web"}, node_name="a1"),
    )
    result = solve(small, replicas(5, spread=[spread("web")]))
    assert result.status == "infeasible"
    assert result.core == [Rules.INSUFFICIENT, Rules.SPREAD_SKEW]
    assert any(
        "must each keep their topology.kubernetes.io/zone spread (app=web, maxSkew 1; "
        "matching pods running now: a 1, b 0, c 0)" in s
        for s in result.explanation
    )


def test_spread_missing_key_and_min_domains() -> None:
    c = cluster(node("a1", "a"), node("n1"), node("b1", "b", taint=True))
    result = solve(c, replicas(1, spread=[spread("web", minDomains=3)]))
    assert result.placement == {"default/web-1": "a1"}
    # Two pods, only two eligible zones against minDomains 3: the minimum counts as 0, so
    # with maxSkew 1 no zone may hold two.
    two = replicas(2, spread=[spread("web", minDomains=3)])
    result = solve(c, two)
    assert result.status == "infeasible"
    assert Rules.SPREAD_MISSING_KEY in result.core
    assert Rules.SPREAD_MIN_DOMAINS in result.core
    honour = [spread("web", minDomains=2, nodeTaintsPolicy="Honor")]
    assert solve(c, replicas(1, spread=honour)).status == "feasible"


def test_spread_counts_only_its_namespace_and_skips_deleting_pods() -> None:
    c = cluster(
        node("a1", "a"),
        node("b1", "b"),
        pod("other", {"app": "web"}, namespace="elsewhere", node_name="a1"),
        pod("leaving", {"app": "web"}, node_name="a1", deleting=True),
        pod("done", {"app": "web"}, node_name="a1", phase="Succeeded"),
    )
    pods = replicas(2, spread=[spread("web")])
    result = solve(c, pods)
    assert sorted(result.placement.values()) == ["a1", "b1"]


def test_solve_api_replays_cluster_rules_and_no_longer_refuses() -> None:
    c = cluster(node("a1", "a"), node("a2", "a"), node("b1", "b"), node("b2", "b"))
    pods = [
        *replicas(2, "db", affinity=anti(term("db", HOST))),
        *replicas(2, "web", affinity=affinity(term("db")), spread=[spread("web")]),
    ]
    result = api_solve(c, pods)
    assert result.status == "feasible"
    assert api_solve(c, pods, minimize="nodes").status == "feasible"
    partial = api_solve(c, [*pods, *replicas(3, "x", affinity=anti(term("x")))], require_all=False)
    assert partial.status == "infeasible" and len(partial.placement) == 6


def test_optimisation_questions_with_cluster_rules() -> None:
    c = cluster(node("n1", "a"), node("n2", "b"))
    pods = replicas(3, affinity=anti(term("web", HOST)))
    best = maximize_placed(c, pods)
    assert best.objective == 2
    placed_ok(c, pods, best.placement)
    packed = minimize_nodes(c, replicas(3, affinity=affinity(term("web", HOST))))
    assert packed.objective == 1
    shape = pod_from_manifest(pod("unused"))  # any object; replaced below by a node
    del shape
    shape_node = cluster(node("shape", "c")).nodes["shape"]
    grown = nodes_to_add(c, pods, shape_node, 3)
    # Copies get their own hostname, so one is enough for the third replica.
    assert grown.status == "feasible" and grown.objective == 1
    assert api_solve(c, pods, add_node_shape=shape_node, max_new_nodes=3).objective == 1


def test_nodes_to_add_may_add_a_domain_for_min_domains() -> None:
    c = cluster(node("a1", "a"), node("b1", "b"))
    pods = replicas(3, spread=[spread("web", minDomains=3)])
    shape_node = cluster(node("shape", "c", cpu="100m")).nodes["shape"]
    result = api_solve(c, pods, add_node_shape=shape_node, max_new_nodes=2)
    assert result.status == "feasible" and result.objective == 1


# --- agreement with the reference ------------------------------------------------------------


def examples(count: int) -> int:
    """Hypothesis examples per test: the default run stays quick, PODFIT_LONG=1 digs deep."""
    return count * 25 if os.environ.get("PODFIT_LONG") else count


APPS = ["web", "db"]
NAMESPACES = ["default", "team-a", "team-b"]
KEYS = [ZONE, HOST, RACK]


@st.composite
def selector_st(draw: st.DrawFn) -> dict[str, Any] | None:
    kind = draw(st.sampled_from(["app", "app", "none", "empty", "in", "notin"]))
    if kind == "none":
        return None
    if kind == "empty":
        return {}
    if kind == "app":
        return {"matchLabels": {"app": draw(st.sampled_from(APPS))}}
    values = draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=2, unique=True))
    op = "In" if kind == "in" else "NotIn"
    return {"matchExpressions": [{"key": "app", "operator": op, "values": values}]}


@st.composite
def pod_term_st(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"topologyKey": draw(st.sampled_from(KEYS))}
    selector = draw(selector_st())
    if selector is not None:
        out["labelSelector"] = selector
        keys = draw(st.sampled_from(["", "match", "mismatch"]))
        if keys == "match":
            out["matchLabelKeys"] = ["version"]
        elif keys == "mismatch":
            out["mismatchLabelKeys"] = ["version"]
    scope = draw(st.sampled_from(["own", "own", "listed", "all", "team"]))
    if scope == "listed":
        out["namespaces"] = [draw(st.sampled_from(NAMESPACES))]
    elif scope == "all":
        out["namespaceSelector"] = {}
    elif scope == "team":
        out["namespaceSelector"] = {"matchLabels": {"team": "a"}}
    return out


@st.composite
def spread_st(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["DoNotSchedule", "DoNotSchedule", "ScheduleAnyway"]))
        c: dict[str, Any] = {
            "maxSkew": draw(st.integers(1, 2)),
            "topologyKey": draw(st.sampled_from(KEYS)),
            "whenUnsatisfiable": action,
        }
        selector = draw(selector_st())
        if selector is not None:
            c["labelSelector"] = selector
        if draw(st.booleans()):
            c["matchLabelKeys"] = ["version"]
        if action == "DoNotSchedule" and draw(st.booleans()):
            c["minDomains"] = draw(st.integers(2, 4))
        for policy, values in (
            ("nodeAffinityPolicy", ["Honor", "Ignore"]),
            ("nodeTaintsPolicy", ["Ignore", "Honor"]),
        ):
            if draw(st.booleans()):
                c[policy] = draw(st.sampled_from(values))
        out.setdefault((c["topologyKey"], action), c)
    return list(out.values())


@st.composite
def labels_st(draw: st.DrawFn) -> dict[str, str]:
    labels = {}
    app = draw(st.sampled_from([*APPS, ""]))
    if app:
        labels["app"] = app
    version = draw(st.sampled_from(["v1", "v2", ""]))
    if version:
        labels["version"] = version
    return labels


@st.composite
def incoming_st(draw: st.DrawFn, name: str) -> dict[str, Any]:
    aff: dict[str, Any] = {}
    # Mostly zero or one term of each kind: every required term narrows the nodes.
    pa = [draw(pod_term_st()) for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2])))]
    if pa:
        aff.update(affinity(*pa))
    pa_anti = [draw(pod_term_st()) for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2])))]
    if pa_anti:
        aff.update(anti(*pa_anti))
    return pod(
        name,
        draw(labels_st()),
        namespace=draw(st.sampled_from(NAMESPACES)),
        affinity=aff or None,
        spread=draw(spread_st()),
        node_selector=draw(st.sampled_from([None, None, {ZONE: "a"}])),
        tolerations=draw(
            st.sampled_from([None, None, [{"key": "dedicated", "operator": "Exists"}]])
        ),
    )


@st.composite
def cluster_st(draw: st.DrawFn) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"team": "a"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team-b", "labels": {"team": "b"}},
        },
    ]
    names = [f"n{i}" for i in range(draw(st.integers(1, 5)))]
    for name in names:
        labels = {}
        if draw(st.integers(0, 3)):
            labels[RACK] = draw(st.sampled_from(["r1", "r2"]))
        objects.append(
            node(
                name,
                draw(st.sampled_from(["a", "b", "c", None])),
                hostname=draw(st.integers(0, 5)) > 0,
                taint=draw(st.integers(0, 4)) == 0,
                labels=labels,
            )
        )
    for i in range(draw(st.integers(0, 6))):
        running_aff = None
        if draw(st.integers(0, 3)) == 0:
            running_aff = anti(draw(pod_term_st()))
        objects.append(
            pod(
                f"run{i}",
                draw(labels_st()),
                namespace=draw(st.sampled_from(NAMESPACES)),
                node_name=draw(st.sampled_from(names)),
                affinity=running_aff,
                phase=draw(st.sampled_from([None, None, None, "Succeeded"])),
                deleting=draw(st.integers(0, 5)) == 0,
            )
        )
    return objects


@settings(max_examples=examples(120), deadline=None)
@given(cluster_st(), incoming_st("incoming"))
def test_single_pod_feasible_nodes_agree_with_reference(
    objects: list[dict[str, Any]], incoming: dict[str, Any]
) -> None:
    c = cluster_from_manifests(objects)
    p = pod_from_manifest(incoming)
    expected = set(schedule_one(c, p, preemption=False).feasible)
    assert feasible_nodes(c, p, timeout_ms=20000) == expected


CLUSTER_AREAS = frozenset(
    {"inter-pod-affinity", "topology-spread", "node-affinity", "taints", "node-unschedulable"}
)


@settings(max_examples=examples(60), deadline=None)
@given(scheduling_problems(areas=CLUSTER_AREAS, max_nodes=5, max_running_pods=6))
def test_single_pod_agrees_on_generated_problems(case: tuple[Cluster, Pod]) -> None:
    c, p = case
    expected = set(schedule_one(c, p, preemption=False).feasible)
    assert feasible_nodes(c, p, timeout_ms=20000) == expected


@settings(max_examples=examples(60), deadline=None)
@given(cluster_st(), st.lists(incoming_st("p"), min_size=2, max_size=4))
def test_batch_placements_replay_through_the_reference(
    objects: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> None:
    c = cluster_from_manifests(objects)
    pods = [
        pod_from_manifest({**m, "metadata": {**m["metadata"], "name": f"p{i}"}})
        for i, m in enumerate(manifests)
    ]
    result = solve(c, pods, timeout_ms=20000)
    assert result.status != "unknown"
    if result.status == "feasible":
        placed_ok(c, pods, result.placement)
    best = maximize_placed(c, pods, timeout_ms=20000)
    assert best.status != "unknown"
    placed_ok(c, pods, best.placement)
    assert (best.status == "feasible") == (result.status == "feasible")


@st.composite
def replica_batch(draw: st.DrawFn) -> tuple[Cluster, list[Pod]]:
    """Copies of one pod: for such a batch, kube-scheduler's one-at-a-time placements end in
    a state that the batch rules accept (spread: the last pod into a domain kept it within
    maxSkew of a minimum that only grew; affinity: the first replica's domain holds the
    rest; anti-affinity is symmetric), so a batch the solver refutes cannot be placed by
    simulate either."""
    if draw(st.booleans()):
        c = cluster_from_manifests(draw(cluster_st()))
        template = pod_from_manifest(draw(incoming_st("replica")))
    else:
        areas = frozenset({"inter-pod-affinity", "topology-spread"})
        c = draw(clusters(areas=areas, max_nodes=5, max_running_pods=6))
        template = draw_pending_pod(draw, c, "replica", areas)
    count = draw(st.integers(2, 4))
    return c, [dataclasses.replace(template, name=f"replica-{i}") for i in range(count)]


@settings(max_examples=examples(60), deadline=None)
@given(replica_batch())
def test_a_refuted_replica_batch_leaves_simulate_a_pod_pending(
    case: tuple[Cluster, list[Pod]],
) -> None:
    c, pods = case
    result = solve(c, pods, timeout_ms=20000)
    assert result.status != "unknown"
    if result.status == "feasible":
        placed_ok(c, pods, result.placement)
        return
    outcome = simulate(c, pods)
    assert [d.pod.key for d in outcome.pending], result.explanation


SPEC_IDS = {r.id for r in spec.rules()}


@settings(max_examples=examples(30), deadline=None)
@given(replica_batch())
def test_cores_with_cluster_rules_are_minimal_and_name_spec_rules(
    case: tuple[Cluster, list[Pod]],
) -> None:
    """Checked from outside: the core is unsatisfiable and each of its facts is needed."""
    c, pods = case
    session = Session(timeout_ms=20000)
    enc = encode(c, pods, session)
    if session.check(enc.assumptions()) is not Outcome.UNSAT:
        return
    core = minimal_core(enc, budget_ms=20000)
    assert core.minimal
    labels = [f.label for f in core.facts]
    assert session.check(enc.assumptions(labels)) is Outcome.UNSAT
    for label in labels:
        rest = [other for other in labels if other != label]
        assert session.check(enc.assumptions(rest)) is Outcome.SAT, label
    assert set(core.rules()) <= SPEC_IDS
    words = sentences(enc, core)
    assert words[-1].startswith("So ")
    for rule in core.rules():
        assert any(rule in line for line in words), (rule, words)


@settings(max_examples=examples(25), deadline=None)
@given(
    cluster_st(),
    st.lists(incoming_st("p"), min_size=1, max_size=3),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["r1", "r2"]),
)
def test_optimisation_answers_replay_through_the_reference(
    objects: list[dict[str, Any]], manifests: list[dict[str, Any]], zone: str, rack: str
) -> None:
    """podfit.solve replays every placement (fewest nodes, nodes added) and raises if the
    reference disagrees; the answers agree with plain feasibility."""
    c = cluster_from_manifests(objects)
    pods = [
        pod_from_manifest({**m, "metadata": {**m["metadata"], "name": f"p{i}"}})
        for i, m in enumerate(manifests)
    ]
    plain = api_solve(c, pods, timeout_ms=20000)
    packed = api_solve(c, pods, minimize="nodes", timeout_ms=20000)
    assert packed.status == plain.status
    shape = cluster(node("shape", zone, labels={RACK: rack})).nodes["shape"]
    grown = api_solve(c, pods, add_node_shape=shape, max_new_nodes=2, timeout_ms=20000)
    assert grown.status != "unknown"
    if plain.status == "feasible":
        assert grown.status == "feasible" and grown.objective == 0
    if grown.status == "feasible" and grown.objective:
        assert plain.status == "infeasible"
