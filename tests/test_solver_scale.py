"""The counting encoding for large batches (podfit.solver.classes, .compressed, .packing):
grouping into classes, agreement with the per-pod encoding, placements the reference
accepts, explanations, and "unknown" for a timeout."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit.solver.compressed as compressed
import podfit.solver.patterns as patterns
from podfit.api import replay_placement
from podfit.cluster import Cluster
from podfit.conformance.decisions import NODE_AREAS
from podfit.conformance.strategies import clusters, draw_pending_pod
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod
from podfit.solver import Outcome, Session, solve
from podfit.solver.api import shape_copy
from podfit.solver.classes import Grouping, NodeClass, group
from podfit.solver.compressed import CountModel, deal, solve_by_classes, solve_grouped
from podfit.solver.counting import CountingSession, FactModel
from podfit.solver.cuts import pair_cuts
from podfit.solver.encode import encode
from podfit.solver.packing import pack
from podfit.solver.patterns import PatternModel, patterns_of
from podfit.solver.rules import Rules

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"

# --- builders --------------------------------------------------------------------------------


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    *,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    pods: str = "110",
    unschedulable: bool = False,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {HOSTNAME: name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(
    name: str,
    cpu: str = "500m",
    *,
    app: str = "web",
    namespace: str = "default",
    memory: str | None = None,
    selector: dict[str, str] | None = None,
    tolerations: list[dict[str, str]] | None = None,
    anti_key: str | None = None,
    affinity_key: str | None = None,
    host_port: int | None = None,
    node_name: str | None = None,
    spread_key: str | None = None,
) -> dict[str, Any]:
    requests = {"cpu": cpu, **({"memory": memory} if memory else {})}
    container: dict[str, Any] = {"name": "c", "resources": {"requests": requests}}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    spec: dict[str, Any] = {"containers": [container], "tolerations": tolerations or []}
    if selector:
        spec["nodeSelector"] = selector
    affinity: dict[str, Any] = {}
    term = {"labelSelector": {"matchLabels": {"app": app}}}
    if anti_key:
        affinity["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [{**term, "topologyKey": anti_key}]
        }
    if affinity_key:
        affinity["podAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {**term, "topologyKey": affinity_key}
            ]
        }
    if affinity:
        spec["affinity"] = affinity
    if spread_key:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": spread_key,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": app}},
            }
        ]
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": spec,
        **({"status": {"phase": "Running"}} if node_name else {}),
    }


def load(*manifests: dict[str, Any]) -> Cluster:
    return cluster_from_manifests(list(manifests))


def pods_of(*manifests: dict[str, Any]) -> list[Pod]:
    return [pod_from_manifest(m) for m in manifests]


def grouped(cluster: Cluster, pods: list[Pod]) -> Grouping:
    return group(cluster, pods)


def pod_classes(g: Grouping) -> list[list[str]]:
    return sorted(sorted(p.name for p in c.members) for c in g.pod_classes)


def node_classes(g: Grouping) -> list[list[str]]:
    return sorted(sorted(c.names) for c in g.node_classes)


def per_pod_outcome(cluster: Cluster, pods: list[Pod]) -> Outcome:
    session = Session(timeout_ms=60_000)
    enc = encode(cluster, pods, session)
    return session.check(enc.assumptions())


# --- grouping --------------------------------------------------------------------------------


def test_pods_differing_only_in_name_share_a_class() -> None:
    cluster = load(node("n1"))
    batch = pods_of(pod("a"), pod("b"), pod("c"))
    assert pod_classes(grouped(cluster, batch)) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "other",
    [
        pod("x", "600m"),
        pod("x", memory="1Gi"),
        pod("x", selector={"disk": "ssd"}),
        pod("x", tolerations=[{"key": "k", "operator": "Exists"}]),
        pod("x", host_port=8080),
        pod("x", anti_key=HOSTNAME),
    ],
    ids=["cpu", "memory", "selector", "toleration", "host-port", "anti-affinity"],
)
def test_pods_differing_in_a_rule_are_kept_apart(other: dict[str, Any]) -> None:
    cluster = load(node("n1"))
    g = grouped(cluster, pods_of(pod("a"), pod("b"), other))
    assert pod_classes(g) == [["a", "b"], ["x"]]


def test_labels_split_pod_classes_only_when_anti_affinity_is_in_play() -> None:
    cluster = load(node("n1"), node("n2"))
    plain = pods_of(pod("a", app="web"), pod("b", app="db"))
    assert pod_classes(grouped(cluster, plain)) == [["a", "b"]]
    # A running pod whose anti-affinity could select them makes labels matter.
    running = pod("guard", app="guard", anti_key=HOSTNAME, node_name="n1")
    g = grouped(load(node("n1"), node("n2"), running), plain)
    assert pod_classes(g) == [["a"], ["b"]]


def test_hostname_labels_do_not_split_node_classes_unless_a_pod_reads_them() -> None:
    cluster = load(node("n1"), node("n2"), node("n3"))
    assert node_classes(grouped(cluster, pods_of(pod("a")))) == [["n1", "n2", "n3"]]
    picky = pods_of(pod("a", selector={HOSTNAME: "n2"}))
    assert node_classes(grouped(cluster, picky)) == [["n1", "n3"], ["n2"]]


@pytest.mark.parametrize(
    "odd",
    [
        node("odd", cpu="8"),
        node("odd", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
        node("odd", unschedulable=True),
        node("odd", labels={"disk": "ssd"}),
        node("odd", pods="3"),
    ],
    ids=["allocatable", "taint", "cordoned", "selected-label", "pod-slots"],
)
def test_nodes_differing_in_a_rule_are_kept_apart(odd: dict[str, Any]) -> None:
    cluster = load(node("n1"), node("n2"), odd)
    # 5 cpu in all: more than a 4-cpu node has, so free cpu is not capped to one value.
    batch = pods_of(
        *(pod(f"p{i}", "1", selector={"disk": "ssd"} if i == 0 else None) for i in range(5))
    )
    assert node_classes(grouped(cluster, batch)) == [["n1", "n2"], ["odd"]]


def test_running_pods_split_node_classes_by_what_they_use() -> None:
    busy = pod("busy", "1", node_name="n2")
    batch = pods_of(pod("a", "3"), pod("b", "1", app="b"))
    g = grouped(load(node("n1"), node("n2"), node("n3"), busy), batch)
    assert node_classes(g) == [["n1", "n3"], ["n2"]]
    (c,) = [c for c in g.node_classes if c.names == ["n2"]]
    assert c.free["cpu"] == 3000


def test_free_amounts_that_never_bind_or_cannot_be_used_do_not_split_node_classes() -> None:
    # Running pods leave 4, 3.9, 3.5 and 1.5 cpu free. The batch (two 1-cpu pods that keep
    # apart per node) puts at most 1 cpu on a node: every node but the last has more than
    # it can use (saturated), and 1.5 cpu is 1 cpu to 1-cpu requests.
    running = [
        pod(f"r{i}", cpu, app="db", node_name=f"n{i}") for i, cpu in ((2, "100m"), (3, "500m"))
    ]
    running.append(pod("r4", "2500m", app="db", node_name="n4"))
    cluster = load(*(node(f"n{i}") for i in range(1, 5)), *running)
    batch = pods_of(*(pod(f"w{i}", "1", anti_key=HOSTNAME) for i in range(2)))
    g = grouped(cluster, batch)
    assert node_classes(g) == [["n1", "n2", "n3", "n4"]]
    (c,) = g.node_classes
    assert c.free["cpu"] == 1000 and c.saturated == {"cpu", "pods"}
    assert c.shown["cpu"] == (1500, 4000)
    # Five such pods on four nodes: the anti-affinity decides, and the explanation says so.
    big = pods_of(*(pod(f"w{i}", "1", anti_key=HOSTNAME) for i in range(5)))
    result = solve_by_classes(cluster, big, force=True)
    assert result is not None and result.status == "infeasible"
    assert result.core == [Rules.ANTI_AFFINITY]


def test_unlabelled_label_differences_do_not_split_node_classes() -> None:
    cluster = load(node("n1", labels={"team": "a"}), node("n2", labels={"team": "b"}))
    assert node_classes(grouped(cluster, pods_of(pod("a")))) == [["n1", "n2"]]


def test_zone_anti_affinity_among_pending_pods_is_at_most_one_per_zone() -> None:
    # Four zones of two nodes, one zone's nodes tainted: three replicas that keep apart per
    # zone fit (one per zone), a fourth does not, and the explanation says why by zone.
    tainted = [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
    cluster = load(
        *(
            node(f"{z}{i}", labels={ZONE: z}, taints=tainted if z == "d" else None)
            for z in "abcd"
            for i in range(2)
        )
    )
    three = pods_of(*(pod(f"w{i}", anti_key=ZONE) for i in range(3)))
    g = grouped(cluster, three)
    assert len(g.node_classes) == 4 and list(g.domain_conflicts)
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "feasible"
    assert sorted(node[0] for node in result.placement.values()) == ["a", "b", "c"]
    assert replay_placement(cluster, three, result.placement) == []
    four = pods_of(*(pod(f"w{i}", anti_key=ZONE) for i in range(4)))
    result = solve_grouped(grouped(cluster, four), timeout_ms=10_000)
    assert result.status == "infeasible"
    assert result.core == [Rules.TAINT_NO_SCHEDULE, Rules.ANTI_AFFINITY]
    text = " ".join(result.explanation)
    assert "so at most one of them runs in each topology.kubernetes.io/zone domain" in text
    assert "3 domain(s) are left to them (a, b and c)" in text
    assert per_pod_outcome(cluster, four) is Outcome.UNSAT


def test_pod_affinity_needs_a_matching_pod_in_the_domain() -> None:
    # web pods need a db pod in their zone. Zone a runs a db pod; zone b has none, and a
    # pending db pod can only go to zone c: web pods land in a (or c, beside the new db).
    nodes = [node(f"{z}{i}", labels={ZONE: z, "disk": z}) for z in "abc" for i in range(2)]
    running = pod("db-0", app="db", node_name="a0")
    cluster = load(*nodes, running)
    web = [pod(f"web-{i}", app="web") for i in range(4)]
    for m in web:
        m["spec"]["affinity"] = {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": ZONE}
                ]
            }
        }
    batch = pods_of(*web, pod("db-1", app="db", selector={"disk": "c"}))
    g = grouped(cluster, batch)
    assert g.affinity
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "feasible"
    assert all(result.placement[p.key][0] in "ac" for p in batch[:4])
    assert replay_placement(cluster, batch, result.placement) == []
    # Without any db pod, running or pending, no web pod fits anywhere.
    alone = load(*nodes)
    result = solve_grouped(grouped(alone, batch[:4]), timeout_ms=10_000)
    assert result.status == "infeasible" and result.core == [Rules.AFFINITY]
    assert "no pod matches its required pod affinity" in " ".join(result.explanation)
    assert per_pod_outcome(alone, batch[:4]) is Outcome.UNSAT


def test_zone_anti_affinity_against_running_pods_only_is_a_fixed_exclusion() -> None:
    running = pod("db", app="db", node_name="n1")
    cluster = load(
        node("n1", labels={ZONE: "a"}),
        node("n2", labels={ZONE: "a"}),
        node("n3", labels={ZONE: "b"}),
        running,
    )
    avoid_db = pod("x", app="web")
    avoid_db["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": ZONE}
            ]
        }
    }
    batch = pods_of(avoid_db)
    g = grouped(cluster, batch)
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.placement == {"default/x": "n3"}


# --- answers ---------------------------------------------------------------------------------


def test_hostname_anti_affinity_is_at_most_one_per_node() -> None:
    cluster = load(*(node(f"n{i}") for i in range(3)))
    three = pods_of(*(pod(f"w{i}", anti_key=HOSTNAME) for i in range(3)))
    result = solve_by_classes(cluster, three, force=True)
    assert result is not None and result.status == "feasible"
    assert sorted(result.placement.values()) == ["n0", "n1", "n2"]
    four = pods_of(*(pod(f"w{i}", anti_key=HOSTNAME) for i in range(4)))
    result = solve_by_classes(cluster, four, force=True)
    assert result is not None and result.status == "infeasible"
    assert result.core == [Rules.ANTI_AFFINITY]
    assert "at most one of them runs on a node" in " ".join(result.explanation)


def test_two_classes_that_repel_never_share_a_node() -> None:
    cluster = load(node("n1"), node("n2"))
    web = pod("web", app="web")
    web["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOSTNAME}
            ]
        }
    }
    batch = pods_of(web, pod("db", app="db"), pod("db2", app="db"))
    result = solve_by_classes(cluster, batch, force=True)
    assert result is not None and result.status == "feasible"
    assert result.placement["default/web"] not in {
        result.placement["default/db"],
        result.placement["default/db2"],
    }
    assert replay_placement(cluster, batch, result.placement) == []


def test_class_level_explanation_names_the_filters_and_the_capacity() -> None:
    tainted = [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
    cluster = load(node("a1"), node("a2"), node("g1", taints=tainted))
    batch = pods_of(*(pod(f"w{i}", "1500m") for i in range(5)))
    result = solve_by_classes(cluster, batch, force=True)
    assert result is not None and result.status == "infeasible"
    assert result.core == [Rules.TAINT_NO_SCHEDULE, Rules.INSUFFICIENT]
    text = " ".join(result.explanation)
    assert "cannot run on g1: untolerated taint gpu=yes:NoSchedule" in text
    # 1500m requests use 3 of each node's 4 cpu.
    assert "a1 and a2 have 4 cpu (3 cpu usable by these requests) free each" in text
    assert result.unplaced == [f"default/w{i}" for i in range(5)]


def packs_only_in_theory() -> tuple[Cluster, list[Pod]]:
    """3 nodes of 10 cpu and pods of 8, 7, 7 and 4 cpu: 26 of 30 cpu, each pod fits a node,
    every pair of classes fits the per-class bounds and cuts, but 8, 7 and 7 need a node
    each and the 4 then fits beside none of them."""
    cluster = load(*(node(f"n{i}", cpu="10") for i in range(3)))
    sizes = [("8", 1), ("7", 2), ("4", 1)]
    batch = pods_of(*(pod(f"c{c}-{i}", c, app=f"a{c}") for c, k in sizes for i in range(k)))
    return cluster, batch


def no_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every node class look too varied for patterns, so the per-node query decides."""
    monkeypatch.setattr(patterns, "MAX_PATTERNS", 0)


@pytest.mark.parametrize("exact", ["patterns", "per-node"])
def test_relaxation_passes_but_packing_fails_so_an_exact_query_decides(
    monkeypatch: pytest.MonkeyPatch, exact: str
) -> None:
    cluster, batch = packs_only_in_theory()
    g = grouped(cluster, batch)
    coarse = CountModel(g, CountingSession(timeout_ms=10_000), per_node=False)
    assert coarse.check(10_000) is Outcome.SAT and not coarse.exact
    if exact == "per-node":
        no_patterns(monkeypatch)
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "infeasible"
    assert result.core == [Rules.INSUFFICIENT]
    text = " ".join(result.explanation)
    if exact == "patterns":
        assert "n0, n1 and n2, with 10 cpu free each, cannot take" in text
        assert "one node holds at most 1 like default/c8-0; or 1 like default/c7-0" in text
    else:
        assert "n0, n1 and n2 have 10 cpu free each" in text
    assert per_pod_outcome(cluster, batch) is Outcome.UNSAT


def test_pair_cuts_settle_two_sizes_that_do_not_share_a_node() -> None:
    # 3-cpu pods fill 4-cpu nodes: 3 + 3 + 2 cpu fit in 2 x 4 cpu only on paper. The cut
    # (3-cpu pods) + (2-cpu pods) <= 1 per node says so at the class level.
    cluster = load(node("n1"), node("n2"))
    batch = pods_of(pod("big-0", "3"), pod("big-1", "3"), pod("small", "2", app="small"))
    g = grouped(cluster, batch)
    (c,) = g.node_classes
    assert [p.keys for p in g.pod_classes] == [
        ["default/big-0", "default/big-1"],
        ["default/small"],
    ]
    (cut,) = pair_cuts(g, c)
    assert (cut.p, cut.q, cut.alpha, cut.beta, cut.gamma) == (0, 1, 1, 1, 1)
    assert cut.uses == frozenset({"cpu"})
    coarse = CountModel(g, CountingSession(timeout_ms=10_000), per_node=False)
    assert coarse.check(10_000) is Outcome.UNSAT
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "infeasible" and result.core == [Rules.INSUFFICIENT]


@settings(max_examples=40)
@given(
    cpu=st.integers(1, 12),
    slots=st.integers(0, 6),
    sizes=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    counts=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    anti=st.tuples(st.booleans(), st.booleans()),
    apart=st.booleans(),
)
def test_pair_cuts_hold_on_every_node_filling(
    cpu: int,
    slots: int,
    sizes: tuple[int, int],
    counts: tuple[int, int],
    anti: tuple[bool, bool],
    apart: bool,
) -> None:
    cluster = load(
        node("n1", cpu=str(cpu), pods=str(slots)), node("n2", cpu=str(cpu), pods=str(slots))
    )
    manifests = []
    for k, (size, count, own) in enumerate(zip(sizes, counts, anti, strict=True)):
        for i in range(count):
            m = pod(f"k{k}-{i}", str(size), app=f"a{k}", anti_key=HOSTNAME if own else None)
            if apart and k == 0:
                m["spec"].setdefault("affinity", {})["podAntiAffinity"] = {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "a1"}}, "topologyKey": HOSTNAME},
                        *(
                            [
                                {
                                    "labelSelector": {"matchLabels": {"app": "a0"}},
                                    "topologyKey": HOSTNAME,
                                }
                            ]
                            if own
                            else []
                        ),
                    ]
                }
            manifests.append(m)
    g = grouped(cluster, pods_of(*manifests))
    for c in g.node_classes:
        for cut in pair_cuts(g, c):
            p, q = g.pod_classes[cut.p], g.pod_classes[cut.q]
            for a in range(p.count + 1):
                for b in range(q.count + 1):
                    if fits_one_node(g, c, {cut.p: a, cut.q: b}):
                        assert cut.alpha * a + cut.beta * b <= cut.gamma


def fits_one_node(g: Grouping, c: NodeClass, counts: dict[int, int]) -> bool:
    """Brute force: do these counts fit one node of class ``c``?"""
    if sum(counts.values()) > max(c.slots, 0):
        return False
    for r in g.resources:
        asked = sum(g.pod_classes[p].requests.get(r, 0) * k for p, k in counts.items())
        if asked > max(c.free.get(r, 0), 0):
            return False
    for k in g.conflicts:
        if not k.applies(c):
            continue
        if k.a == k.b and counts.get(k.a, 0) > 1:
            return False
        if k.a != k.b and counts.get(k.a, 0) and counts.get(k.b, 0):
            return False
    return True


@pytest.mark.parametrize("exact", ["patterns", "per-node"])
def test_failed_packing_falls_back_to_an_exact_query(
    monkeypatch: pytest.MonkeyPatch, exact: str
) -> None:
    cluster = load(*(node(f"n{i}", cpu="10") for i in range(5)))
    sizes = [("8", 1), ("7", 2), ("4", 1), ("3", 4), ("2", 3)]  # 45 of 50 cpu
    batch = pods_of(*(pod(f"c{c}-{i}", c, app=f"a{c}") for c, k in sizes for i in range(k)))
    monkeypatch.setattr(compressed, "pack", lambda g, totals, *rest: ({}, 1))
    if exact == "per-node":
        no_patterns(monkeypatch)
    result = solve_grouped(grouped(cluster, batch), timeout_ms=10_000)
    assert result.status == "feasible" and len(result.placement) == len(batch)
    assert replay_placement(cluster, batch, result.placement) == []


@pytest.mark.parametrize("stage", ["per-class", "patterns", "per-node"])
def test_a_timeout_is_unknown_never_infeasible(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    cluster, batch = packs_only_in_theory()  # infeasible
    if stage == "per-node":
        no_patterns(monkeypatch)
    target = PatternModel if stage == "patterns" else CountModel

    def timing_out(self: FactModel, timeout_ms: int) -> Outcome:
        if isinstance(self, CountModel) and self.per_node != (stage == "per-node"):
            return FactModel.check(self, timeout_ms)
        self.session.reason_unknown = "timeout"
        return Outcome.UNKNOWN

    monkeypatch.setattr(target, "check", timing_out)
    result = solve_grouped(grouped(cluster, batch), timeout_ms=10_000)
    assert result.status == "unknown"
    assert "timeout" in result.explanation[0]


def test_a_real_time_limit_gives_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    # 120 identical nodes and 600 pods of three sizes that fill them exactly; without the
    # greedy packing and the patterns, the per-node query takes Z3 far longer than the
    # millisecond it gets.
    cluster = load(*(node(f"n{i}", cpu="10", memory="64Gi") for i in range(120)))
    sizes = [("3", 200), ("2", 200), ("1", 200)]
    batch = pods_of(
        *(pod(f"s{cpu}-{i}", cpu, app=f"a{cpu}") for cpu, count in sizes for i in range(count))
    )
    monkeypatch.setattr(compressed, "pack", lambda g, totals, *rest: ({}, 1))
    no_patterns(monkeypatch)
    result = solve_grouped(grouped(cluster, batch), timeout_ms=1)
    assert result.status == "unknown"
    assert "within 1 ms" in result.explanation[0]


def test_large_batches_go_through_the_counting_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = compressed.solve_grouped

    def spy(g: Grouping, *, timeout_ms: int) -> Any:
        calls.append(len(g.pod_classes))
        return real(g, timeout_ms=timeout_ms)

    monkeypatch.setattr(compressed, "solve_grouped", spy)
    shapes = [node(f"n{i}", cpu=["4", "8"][i % 2]) for i in range(60)]
    cluster = load(*shapes)
    batch = pods_of(
        *(
            pod(f"w{i}", ["500m", "1"][i % 2], app=f"a{i % 2}", anti_key=HOSTNAME)
            for i in range(100)
        )
    )
    assert len(batch) * len(shapes) >= compressed.MIN_PAIRS
    result = solve(cluster, batch, timeout_ms=20_000)
    assert calls == [2]
    assert result.status == "feasible" and len(result.placement) == 100
    assert replay_placement(cluster, batch, result.placement) == []
    small = solve(load(*shapes[:4]), batch[:4], timeout_ms=20_000)
    assert calls == [2] and small.status == "feasible"


# --- agreement with the per-pod encoding -------------------------------------------------------

AREAS = NODE_AREAS | {"inter-pod-affinity", "topology-spread"}


@st.composite
def batches(draw: st.DrawFn) -> tuple[Cluster, list[Pod]]:
    """A small cluster whose nodes come in copies, and replicas of a few pending pods."""
    # A few areas at a time: with every area each pod meets so many rules that most
    # batches would be infeasible.
    areas = draw(st.sets(st.sampled_from(sorted(AREAS)), min_size=1, max_size=3))
    base = draw(clusters(max_nodes=3, max_running_pods=4, areas=areas))
    cluster = base.copy()
    copies = draw(st.integers(0, 3))
    for n in list(base.nodes.values()):
        for k in range(copies):
            cluster.replace_node(shape_copy(n, f"{n.name}-copy-{k}"))
    pods: list[Pod] = []
    for s in range(draw(st.integers(1, 3))):
        drawn = draw_pending_pod(draw, cluster, f"p{s}", frozenset(areas))
        for r in range(draw(st.integers(1, 3))):
            pods.append(dataclasses.replace(drawn, name=f"p{s}-{r}"))
    return cluster, pods


def _status(outcome: Outcome) -> str:
    return {Outcome.SAT: "feasible", Outcome.UNSAT: "infeasible"}[outcome]


@settings(max_examples=60)
@given(batches())
def test_counting_and_per_pod_encodings_agree(problem: tuple[Cluster, list[Pod]]) -> None:
    cluster, pods = problem
    g = group(cluster, pods)
    expected = _status(per_pod_outcome(cluster, pods))
    result = solve_grouped(g, timeout_ms=60_000)
    assert result.status == expected, result.explanation
    if expected == "feasible":
        assert len(result.placement) == len(pods)
        assert replay_placement(cluster, pods, result.placement) == []
    else:
        assert result.explanation and result.unplaced
    # The two exact queries the greedy packing usually spares, on their own:
    exact: list[CountModel | PatternModel] = [
        CountModel(g, CountingSession(timeout_ms=60_000), per_node=True)
    ]
    shapes = patterns_of(g)
    if shapes is not None:
        exact.append(PatternModel(g, CountingSession(timeout_ms=60_000), shapes))
    for model in exact:
        assert _status(model.check(60_000)) == expected
        if expected == "feasible":
            placement = deal(g, model.node_counts(model.session.model()))
            assert len(placement) == len(pods)
            assert replay_placement(cluster, pods, placement) == []


# --- packing and explanations at scale ---------------------------------------------------------


def test_pods_a_node_class_cannot_pack_spill_onto_room_elsewhere() -> None:
    # The totals send three 3-cpu pods to the two 4-cpu nodes: only two fit there, and the
    # third goes to the 8-cpu node, which has room beside what it was given.
    cluster = load(node("s1"), node("s2"), node("big", cpu="8", labels={"size": "big"}))
    batch = pods_of(*(pod(f"w{i}", "3") for i in range(4)))
    g = grouped(cluster, batch)
    small = next(c.index for c in g.node_classes if len(c.nodes) == 2)
    big = next(c.index for c in g.node_classes if len(c.nodes) == 1)
    counts, left = pack(g, {(0, small): 3, (0, big): 1})
    assert left == 0
    placement = deal(g, counts)
    assert sorted(placement.values()) == ["big", "big", "s1", "s2"]
    assert replay_placement(cluster, batch, placement) == []


def test_an_explanation_names_only_the_pods_that_cannot_all_fit() -> None:
    # 30 workloads fit with room to spare; one (needing ssd nodes) does not. The core keeps
    # that workload's pods, the rule that keeps them off the other nodes and the capacity.
    plain = [node(f"n{i}", cpu="16") for i in range(40)]
    ssd = [node(f"ssd{i}", cpu="4", labels={"disk": "ssd"}) for i in range(3)]
    cluster = load(*plain, *ssd)
    manifests = [
        pod(f"w{w}-{r}", "500m", app=f"w{w}", anti_key=HOSTNAME)
        for w in range(30)
        for r in range(4)
    ]
    manifests += [pod(f"db-{r}", "3", app="db", selector={"disk": "ssd"}) for r in range(4)]
    batch = pods_of(*manifests)
    result = solve_by_classes(cluster, batch, timeout_ms=20_000, force=True)
    assert result is not None and result.status == "infeasible"
    assert result.core == [Rules.NODE_SELECTOR, Rules.INSUFFICIENT]
    text = " ".join(result.explanation)
    assert "default/db-0, default/db-1, default/db-2 and default/db-3" in text
    assert "default/w0-0" not in text
    assert "ran out of time" not in text
    assert "40 nodes (n0, n1" in text and "nodeSelector disk=ssd does not match" in text
    assert "ssd0, ssd1 and ssd2 have 4 cpu free each" in text


# --- topology spread in the counting encoding ---------------------------------------------------


@st.composite
def spread_batches(draw: st.DrawFn) -> tuple[Cluster, list[Pod]]:
    """Nodes in up to three zones (some without one, some tainted or ssd), running pods of
    the workloads, and replicas of one or two workloads with a DoNotSchedule constraint."""
    key = draw(st.sampled_from([ZONE, HOSTNAME]))
    manifests: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 7))):
        labels = {}
        zone = draw(st.sampled_from(["a", "b", "c", None]))
        if zone:
            labels[ZONE] = zone
        if draw(st.booleans()):
            labels["disk"] = "ssd"
        taints = (
            [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}] if draw(st.booleans()) else []
        )
        manifests.append(
            node(f"n{i}", cpu=draw(st.sampled_from(["1", "2", "4"])), labels=labels, taints=taints)
        )
    names = [m["metadata"]["name"] for m in manifests]
    apps = draw(st.sampled_from([["web"], ["web", "web"], ["web", "api"]]))
    for j in range(draw(st.integers(0, 4))):
        manifests.append(
            pod(
                f"run-{j}",
                "100m",
                app=draw(st.sampled_from(apps)),
                node_name=draw(st.sampled_from(names)),
            )
        )
    pending = []
    for w, app in enumerate(apps):
        m = pod(f"w{w}", draw(st.sampled_from(["250m", "500m", "1"])), app=app, spread_key=key)
        constraint = m["spec"]["topologySpreadConstraints"][0]
        constraint["maxSkew"] = draw(st.integers(1, 2))
        if draw(st.booleans()):
            constraint["minDomains"] = draw(st.integers(1, 4))
        constraint["nodeAffinityPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
        constraint["nodeTaintsPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
        if draw(st.booleans()):
            m["spec"]["nodeSelector"] = {"disk": "ssd"}
        if draw(st.booleans()):
            m["spec"]["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
        for r in range(draw(st.integers(1, 5))):
            pending.append({**m, "metadata": {**m["metadata"], "name": f"w{w}-{r}"}})
    return load(*manifests), pods_of(*pending)


@settings(max_examples=150)
@given(spread_batches())
def test_counting_spread_agrees_with_the_per_pod_encoding(
    problem: tuple[Cluster, list[Pod]],
) -> None:
    cluster, pods = problem
    g = grouped(cluster, pods)
    assert g.spread or all(not p.topology_spread_constraints for p in pods)
    expected = _status(per_pod_outcome(cluster, pods))
    result = solve_grouped(g, timeout_ms=60_000)
    assert result.status == expected, result.explanation
    if expected == "feasible":
        assert replay_placement(cluster, pods, result.placement) == []
    else:
        assert result.explanation and result.core
    for model in (
        CountModel(g, CountingSession(timeout_ms=60_000), per_node=True),
        PatternModel(
            g, CountingSession(timeout_ms=60_000), patterns_of(g) or patterns.Shapes({}, {}, {})
        ),
    ):
        if isinstance(model, PatternModel) and not model.shapes.patterns and g.node_classes:
            continue
        assert _status(model.check(60_000)) == expected


def test_zone_spread_replicas_are_counted_per_zone() -> None:
    # 3 zones of 2 nodes; 2 web pods already run in zone a. Six more replicas with maxSkew 1
    # end up 3/3/2 or so across the zones, running pods counted.
    nodes = [node(f"{z}{i}", cpu="8", labels={ZONE: z}) for z in "abc" for i in range(2)]
    running = [pod(f"r{i}", "100m", node_name="a0") for i in range(2)]
    cluster = load(*nodes, *running)
    six = pods_of(*(pod(f"w{i}", "100m", spread_key=ZONE) for i in range(6)))
    result = solve_by_classes(cluster, six, force=True)
    assert result is not None and result.status == "feasible"
    zones = [result.placement[p.key][0] for p in six]
    counts = {z: zones.count(z) + (2 if z == "a" else 0) for z in "abc"}
    assert max(counts.values()) - min(counts.values()) <= 1
    assert replay_placement(cluster, six, result.placement) == []
    # Pods only zone b may take: with nodeAffinityPolicy Honor, b is their only domain and
    # anything goes; with Ignore, zones a and c count too and b may get one more than c.
    for policy, status in [("Honor", "feasible"), ("Ignore", "infeasible")]:
        manifests = []
        for i in range(3):
            m = pod(f"p{i}", "100m", spread_key=ZONE, selector={ZONE: "b"})
            m["spec"]["topologySpreadConstraints"][0]["nodeAffinityPolicy"] = policy
            manifests.append(m)
        picky = pods_of(*manifests)
        result = solve_by_classes(cluster, picky, force=True)
        assert result is not None and result.status == status
        assert per_pod_outcome(cluster, picky) is {"feasible": Outcome.SAT}.get(
            status, Outcome.UNSAT
        )
    assert Rules.SPREAD_SKEW in result.core
    assert "must keep their topology spread over topology.kubernetes.io/zone" in " ".join(
        result.explanation
    )


def test_hostname_spread_counts_per_node_class() -> None:
    # Each node is its own domain, yet nodes are not split by hostname: 60 alike nodes are
    # one class, and 100 replicas with maxSkew 1 go at most 2 to a node (the minimum is 1
    # once every node holds one, so 2 per node on 40 of them, 1 on 20).
    cluster = load(*(node(f"n{i}", cpu="8") for i in range(60)))
    batch = pods_of(*(pod(f"w{i}", "100m", spread_key=HOSTNAME) for i in range(100)))
    g = grouped(cluster, batch)
    assert len(g.node_classes) == 1 and g.spread[0].per_node and not g.spread[0].forced
    assert compressed.worth_counting(g, len(batch), len(g.nodes))
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "feasible"
    per_node = [list(result.placement.values()).count(f"n{i}") for i in range(60)]
    assert sorted(set(per_node)) == [1, 2]
    assert replay_placement(cluster, batch, result.placement) == []
    # Fewer replicas than nodes: the minimum is 0 whatever the placement, so the rule is a
    # fixed cap of one per node; a running replica on n0 splits n0 off.
    running = pod("w-old", "100m", spread_key=HOSTNAME, node_name="n0")
    busy = load(*(node(f"n{i}", cpu="8") for i in range(60)), running)
    few = pods_of(*(pod(f"w{i}", "100m", spread_key=HOSTNAME) for i in range(30)))
    g = grouped(busy, few)
    assert node_classes(g) == [["n0"], sorted(f"n{i}" for i in range(1, 60))]
    assert g.spread[0].forced
    result = solve_grouped(g, timeout_ms=10_000)
    assert result.status == "feasible" and "n0" not in result.placement.values()
    assert replay_placement(busy, few, result.placement) == []
