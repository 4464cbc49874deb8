"""The counting encoding on the rules real workloads use: topology spread over hostname and
zones, anti-affinity among pending pods per node and per zone, required pod affinity, and the
optimisation questions. Two oracles held to each other: Hypothesis agreement between the
counting and the per-pod encodings (feasibility and optimum), every placement replayed
through the reference, the counting encoding's own rule check against the reference on
arbitrary placements, and mutants (deliberately broken encodings) that the agreement
catches."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

import podfit.solver.class_greedy as class_greedy
import podfit.solver.class_interpod as class_interpod
import podfit.solver.class_spread as class_spread
from podfit.api import replay_placement
from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod
from podfit.solver import Outcome, Session, class_optimize
from podfit.solver import maximize_placed as per_pod_maximize
from podfit.solver import minimize_nodes as per_pod_minimize
from podfit.solver import nodes_to_add as per_pod_add
from podfit.solver.classes import group
from podfit.solver.compressed import CountModel, deal, place_grouped
from podfit.solver.counting import CountingSession
from podfit.solver.encode import encode
from podfit.solver.patterns import PatternModel, patterns_of
from podfit.solver.result import SolveResult

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
LONG = bool(os.environ.get("PODFIT_LONG"))
TIMEOUT_MS = 30_000

# --- batches -----------------------------------------------------------------------------------


def _term(app: str, key: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}


@st.composite
def batches(draw: st.DrawFn, running: int = 0) -> tuple[Cluster, list[Pod]]:
    """Nodes of a few shapes in copies (zones a to c or none, ssd or not, tainted or not),
    a few running pods of the workloads or not, and replicas of one to three workloads, each
    with a draw of the rules: spread over zone and/or hostname, anti-affinity on hostname or
    zone against itself or another workload, pod affinity to itself or another workload.
    ``running``: at least that many running pods."""
    manifests: list[dict[str, Any]] = []
    shapes = draw(st.integers(1, 3))
    for s in range(shapes):
        cpu = draw(st.sampled_from(["1", "2", "4"]))
        labels: dict[str, str] = {}
        # The first shape has a zone, ssd and no taint: most batches have somewhere to go.
        zone = draw(st.sampled_from(["a", "b", "c", "a", "b", None] if s else ["a", "b", "c"]))
        if zone:
            labels[ZONE] = zone
        if s == 0 or draw(st.booleans()):
            labels["disk"] = "ssd"
        tainted = s > 0 and draw(st.integers(0, 3)) == 0
        for k in range(draw(st.integers(1, 3))):
            name = f"n{s}-{k}"
            manifests.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": name, "labels": {HOST: name, **labels}},
                    "spec": {
                        "taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
                        if tainted
                        else []
                    },
                    "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "8"}},
                }
            )
    nodes = [m["metadata"]["name"] for m in manifests]
    count = draw(st.integers(1, 3))
    apps = [f"w{w}" for w in range(count)]
    for j in range(draw(st.integers(running, max(running, 3)))):
        running = _pod(f"run-{j}", draw(st.sampled_from([*apps, "other"])), "100m")
        running["spec"]["nodeName"] = draw(st.sampled_from(nodes))
        running["status"] = {"phase": "Running"}
        if draw(st.integers(0, 3)) == 0:  # its anti-affinity keeps a workload off its domain
            key = draw(st.sampled_from([HOST, ZONE]))
            running["spec"]["affinity"] = {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        _term(draw(st.sampled_from(apps)), key)
                    ]
                }
            }
        manifests.append(running)
    pending: list[dict[str, Any]] = []
    for app in apps:
        m = _pod(app, app, draw(st.sampled_from(["250m", "500m", "1"])))
        spec = m["spec"]
        constraints = []
        for key in draw(st.sampled_from([[], [], [ZONE], [HOST], [HOST, ZONE]])):
            constraint: dict[str, Any] = {
                "maxSkew": draw(st.integers(1, 2)),
                "topologyKey": key,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": draw(st.sampled_from([app, *apps]))}},
            }
            if draw(st.integers(0, 3)) == 0:
                constraint["minDomains"] = draw(st.integers(1, 4))
            if draw(st.booleans()):
                constraint["nodeAffinityPolicy"] = "Ignore"
            if draw(st.booleans()):
                constraint["nodeTaintsPolicy"] = "Honor"
            constraints.append(constraint)
        if constraints:
            spec["topologySpreadConstraints"] = constraints
        affinity: dict[str, Any] = {}
        anti = draw(st.sampled_from([None, None, HOST, ZONE]))
        if anti:
            target = draw(st.sampled_from(apps))
            affinity["podAntiAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": [_term(target, anti)]
            }
        near = draw(st.sampled_from([None, None, None, ZONE, HOST]))
        if near:  # mostly to itself: the first-pod exception then has a say
            target = draw(st.sampled_from([app, app, *apps]))
            affinity["podAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": [_term(target, near)]
            }
        if affinity:
            spec["affinity"] = affinity
        if draw(st.integers(0, 5)) == 0:
            spec["nodeSelector"] = {"disk": "ssd"}
        if draw(st.booleans()):
            spec["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
        for r in range(draw(st.integers(1, 4))):
            pending.append({**m, "metadata": {**m["metadata"], "name": f"{app}-{r}"}})
    return cluster_from_manifests(manifests), [pod_from_manifest(m) for m in pending]


def _pod(name: str, app: str, cpu: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
        "spec": {
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}],
            "tolerations": [],
        },
    }


# --- the properties, as functions that describe a disagreement ------------------------------------


def _per_pod(cluster: Cluster, pods: list[Pod]) -> Outcome:
    session = Session(timeout_ms=TIMEOUT_MS)
    enc = encode(cluster, pods, session)
    return session.check(enc.assumptions())


def decision_disagreement(problem: tuple[Cluster, list[Pod]]) -> str | None:
    """None when the counting encoding (every query it may ask) agrees with the per-pod one
    on whether the batch fits, and every placement it gives replays through the reference."""
    cluster, pods = problem
    g = group(cluster, pods)
    expected = _per_pod(cluster, pods)
    if expected is Outcome.UNKNOWN:
        return None
    found = place_grouped(g, timeout_ms=TIMEOUT_MS)
    if isinstance(found, SolveResult):
        if found.status == "unknown":
            return None
        if expected is Outcome.SAT:
            return f"counting: infeasible ({found.explanation}); per pod: feasible"
        if not found.explanation or not found.core:
            return "infeasible without a reason"
    else:
        if expected is Outcome.UNSAT:
            return "counting: feasible; per pod: infeasible"
        problems = replay_placement(cluster, pods, deal(g, found))
        if problems:
            return f"placement does not replay: {problems}"
    models: list[CountModel | PatternModel] = [
        CountModel(g, CountingSession(timeout_ms=TIMEOUT_MS), per_node=True)
    ]
    shapes = patterns_of(g)
    if shapes is not None:
        models.append(PatternModel(g, CountingSession(timeout_ms=TIMEOUT_MS), shapes))
    for model in models:
        outcome = model.check(TIMEOUT_MS)
        if outcome is Outcome.UNKNOWN:
            continue
        if outcome is not expected:
            return f"{type(model).__name__}: {outcome.value}; per pod: {expected.value}"
        if outcome is Outcome.SAT:
            placement = deal(g, model.node_counts(model.session.model()))
            problems = replay_placement(cluster, pods, placement)
            if len(placement) != len(pods) or problems:
                return f"{type(model).__name__}'s placement does not replay: {problems}"
    coarse = CountModel(g, CountingSession(timeout_ms=TIMEOUT_MS), per_node=False)
    if expected is Outcome.SAT and coarse.check(TIMEOUT_MS) is Outcome.UNSAT:
        return "the per-class relaxation refutes a batch that fits"
    return None


def check_disagreement(problem: tuple[Cluster, list[Pod]], nodes: list[int]) -> str | None:
    """None when the counting encoding's rule check and the reference agree on a placement
    (pod i on node nodes[i] of the grouping)."""
    cluster, pods = problem
    g = group(cluster, pods)
    by_key = {p.key: c.index for c in g.pod_classes for p in c.members}
    counts: dict[tuple[int, int], int] = {}
    placement = {}
    for pod, i in zip(pods, nodes, strict=True):
        i %= len(g.nodes)
        counts[(by_key[pod.key], i)] = counts.get((by_key[pod.key], i), 0) + 1
        placement[pod.key] = g.nodes[i].name
    ours = class_greedy.check(g, counts)
    theirs = replay_placement(cluster, pods, placement) == []
    return None if ours == theirs else f"check says {ours}, the reference {theirs}"


def _objective(result: SolveResult | None) -> tuple[str, int | None] | None:
    if result is None or result.status == "unknown":
        return None
    return result.status, result.objective


def optimum_disagreement(problem: tuple[Cluster, list[Pod]]) -> str | None:
    """None when the counting encoding's optimum agrees with the per-pod encoding's for the
    fewest nodes, the most pods placed and the fewest copies of a node to add, and its
    placements replay through the reference."""
    cluster, pods = problem
    shape = next(iter(cluster.nodes.values()))
    questions: list[tuple[str, Callable[[], SolveResult | None], Callable[[], SolveResult]]] = [
        (
            "minimize_nodes",
            lambda: class_optimize.minimize_nodes(cluster, pods, timeout_ms=TIMEOUT_MS, force=True),
            lambda: per_pod_minimize(cluster, pods, timeout_ms=TIMEOUT_MS),
        ),
        (
            "maximize_placed",
            lambda: class_optimize.maximize_placed(
                cluster, pods, lambda p: 0, timeout_ms=TIMEOUT_MS, force=True
            ),
            lambda: per_pod_maximize(cluster, pods, timeout_ms=TIMEOUT_MS),
        ),
        (
            "nodes_to_add",
            lambda: class_optimize.nodes_to_add(
                cluster, pods, shape, 2, timeout_ms=TIMEOUT_MS, force=True
            ),
            lambda: per_pod_add(cluster, pods, shape, 2, timeout_ms=TIMEOUT_MS),
        ),
    ]
    for name, counted, per_pod in questions:
        ours = counted()
        if _objective(ours) is None:
            continue  # not taken by the counting encoding, or undecided
        assert ours is not None
        theirs = per_pod()
        if _objective(theirs) is None:
            continue
        if _objective(ours) != _objective(theirs):
            return f"{name}: counting {_objective(ours)}, per pod {_objective(theirs)}"
        if ours.placement:
            work = cluster
            if name == "nodes_to_add" and ours.objective:
                from podfit.solver.copies import added_nodes

                work = cluster.copy()
                for n in added_nodes(cluster, shape, ours.objective):
                    work.replace_node(n)
            problems = replay_placement(work, pods, ours.placement)
            if problems:
                return f"{name}: placement does not replay: {problems}"
    return None


# --- the properties ---------------------------------------------------------------------------------

EXAMPLES = 400 if LONG else 40
QUICK = settings(max_examples=EXAMPLES, deadline=None)


@QUICK
@given(batches())
def test_counting_and_per_pod_encodings_agree_on_every_shared_rule(
    problem: tuple[Cluster, list[Pod]],
) -> None:
    assert decision_disagreement(problem) is None


@QUICK
@given(batches(), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 100)), max_size=2))
def test_the_counting_rule_check_agrees_with_the_reference(
    problem: tuple[Cluster, list[Pod]], moves: list[tuple[int, int]]
) -> None:
    # A placement the solver found (or pods dealt to nodes in turn), with a pod or two moved:
    # near the edge between valid and not, where a check that is off shows.
    cluster, pods = problem
    g = group(cluster, pods)
    index = {n.name: i for i, n in enumerate(g.nodes)}
    found = place_grouped(g, timeout_ms=TIMEOUT_MS)
    if isinstance(found, SolveResult):
        nodes = [i % len(g.nodes) for i in range(len(pods))]
    else:
        placement = deal(g, found)
        nodes = [index[placement[p.key]] for p in pods]
    for pod, node in moves:
        nodes[pod % len(nodes)] = node
    assert check_disagreement(problem, nodes) is None


@settings(max_examples=200 if LONG else 20, deadline=None)
@given(batches())
def test_counting_and_per_pod_optima_agree(problem: tuple[Cluster, list[Pod]]) -> None:
    assert optimum_disagreement(problem) is None


# --- mutants: the agreement has teeth -----------------------------------------------------------------


@contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _cap_one_more(t: Any, r: class_spread.SpreadRule, places: Any, name: str) -> Any:
    """Hostname spread lets a node hold one pod more than maxSkew allows."""
    loose = class_spread.SpreadRule(**{**r.__dict__, "max_skew": r.max_skew + 1})
    return original_per_node(t, loose, places, name)


original_per_node = class_spread._per_node
original_shared = class_spread._shared


def _zone_skew_ignores_running(t: Any, r: class_spread.SpreadRule, places: Any, name: str) -> Any:
    """Zone spread forgets the running pods it counts."""
    blind = class_spread.SpreadRule(**{**r.__dict__, "static": dict.fromkeys(r.static, 0)})
    return original_shared(t, blind, places, name)


def _no_domain_conflicts(t: Any, k: Any, places: Any) -> list[Any]:
    """Anti-affinity on a zone kept per node only."""
    return []


original_affinity = class_interpod.affinity_constraint


def _affinity_anywhere(t: Any, r: class_interpod.AffinityRule, places: Any) -> Any:
    """Pod affinity met wherever a matching pod runs in any domain."""
    return t.true()


# mutant -> (module, name, broken function, running pods the batches have at least)
MUTANTS: dict[str, tuple[Any, str, Any, int]] = {
    "hostname-spread-cap-one-more": (class_spread, "_per_node", _cap_one_more, 0),
    "zone-spread-ignores-running-pods": (class_spread, "_shared", _zone_skew_ignores_running, 3),
    "zone-anti-affinity-per-node-only": (
        class_interpod,
        "domain_conflict_constraint",
        _no_domain_conflicts,
        0,
    ),
    "pod-affinity-anywhere": (class_interpod, "affinity_constraint", _affinity_anywhere, 0),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_agreement_catches_a_broken_counting_encoding(mutant: str) -> None:
    import podfit.solver.counting as counting

    module, name, broken, running = MUTANTS[mutant]
    # counting.py imported the constraint builders by name: patch them where they are used.
    targets = [(module, name)]
    if hasattr(counting, name):
        targets.append((counting, name))
    budget = settings(
        max_examples=300,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    with patched_all(targets, broken):
        try:
            find(
                batches(running),
                lambda p: decision_disagreement(p) is not None,
                settings=budget,
            )
        except NoSuchExample:
            pytest.fail(f"the mutant {mutant} was not caught")


@contextmanager
def patched_all(targets: list[tuple[Any, str]], value: Any) -> Iterator[None]:
    if not targets:
        yield
        return
    (module, name), *rest = targets
    with patched(module, name, value), patched_all(rest, value):
        yield


def test_the_check_has_teeth() -> None:
    # A check that forgets hostname spread accepts placements the reference rejects. A
    # random search meets one within about 450 examples at worst; the budget stops at the
    # first, so it is generous.
    budget = settings(
        max_examples=2000,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    with patched(class_greedy, "_per_node_spread_ok", lambda *a: True):
        try:
            find(
                st.tuples(batches(), st.lists(st.integers(0, 100), min_size=12, max_size=12)),
                lambda pn: check_disagreement(pn[0], pn[1][: len(pn[0][1])]) is not None,
                settings=budget,
            )
        except NoSuchExample:
            pytest.fail("a check without hostname spread was not caught")


# --- the optimisation questions on counts, by example -------------------------------------------


def _nodes(count: int, cpu: str = "4", zones: str = "abc", **labels: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"n{i}",
                "labels": {HOST: f"n{i}", ZONE: zones[i % len(zones)], **labels},
            },
            "status": {"allocatable": {"cpu": cpu, "memory": "16Gi", "pods": "110"}},
        }
        for i in range(count)
    ]


def _replicas(app: str, count: int, cpu: str, *keys: str, **extra: Any) -> list[dict[str, Any]]:
    m = _pod(app, app, cpu)
    if keys:
        m["spec"]["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": app}},
            }
            for key in keys
        ]
    m["spec"].update(extra)
    return [{**m, "metadata": {**m["metadata"], "name": f"{app}-{r}"}} for r in range(count)]


def test_fewest_nodes_with_hostname_spread_on_counts() -> None:
    # 6 workloads of 10 replicas, at most one per node each (hostname spread over 40 nodes,
    # minimum 0): 10 nodes at least; 1-cpu pods fill a 4-cpu node with 4, and n39, which runs
    # a 500m pod (so counts as used), with 3: n39 and 14 nodes take 59, one more the last.
    running = _pod("db", "db", "500m")
    running["spec"]["nodeName"] = "n39"
    running["status"] = {"phase": "Running"}
    cluster = cluster_from_manifests([*_nodes(40), running])
    manifests = [m for w in range(6) for m in _replicas(f"w{w}", 10, "1", HOST)]
    pods = [pod_from_manifest(m) for m in manifests]
    result = class_optimize.minimize_nodes(cluster, pods, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.status == "feasible"
    assert result.objective == 16
    assert "16 of 40 nodes are enough" in result.explanation[0]
    assert replay_placement(cluster, pods, result.placement) == []
    assert len(set(result.placement.values()) | {"n39"}) == 16


def test_most_pods_placed_by_priority_on_counts() -> None:
    # Two workloads of 30 pods of 1 cpu, zone spread, on 10 nodes of 4 cpu in zones a, b, c
    # (4, 3 and 3 nodes): the high priority workload is placed in full, 10 per zone; the low
    # one keeps its own spread in the room left (6, 2 and 2 cpu): 3, 2 and 2 pods.
    classes = [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": n},
            "value": v,
        }
        for n, v in (("high", 1000), ("low", 10))
    ]
    cluster = cluster_from_manifests([*_nodes(10), *classes])
    low = _replicas("low", 30, "1", ZONE, priorityClassName="low")
    high = _replicas("high", 30, "1", ZONE, priorityClassName="high")
    from podfit.defaults import resolve_priority

    pods = [resolve_priority(pod_from_manifest(m), cluster.priority_classes) for m in low + high]
    counted = class_optimize.maximize_placed(
        cluster,
        pods,
        lambda p: resolve_priority(p, cluster.priority_classes, strict=False).effective_priority,
        timeout_ms=TIMEOUT_MS,
        force=True,
    )
    assert counted is not None and counted.status == "infeasible"
    assert counted.objective == 37
    assert all(f"default/high-{r}" in counted.placement for r in range(30))
    assert replay_placement(cluster, pods, counted.placement) == []


def test_nodes_to_add_on_counts_and_when_even_that_is_not_enough() -> None:
    cluster = cluster_from_manifests(_nodes(6, zones="ab"))
    shape = next(iter(cluster.nodes.values()))
    # 8 pods of 500m per 4-cpu node: 60 pods need 8 nodes, 2 more.
    pods = [pod_from_manifest(m) for m in _replicas("web", 60, "500m")]
    result = class_optimize.nodes_to_add(cluster, pods, shape, 5, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.status == "feasible" and result.objective == 2
    assert "Adding 2 node(s) shaped like n0 (n0-new-1, n0-new-2)" in result.explanation[0]
    from podfit.solver.copies import added_nodes

    grown = cluster.copy()
    for n in added_nodes(cluster, shape, 2):
        grown.replace_node(n)
    assert replay_placement(grown, pods, result.placement) == []
    # With zone spread, zone b (3 nodes, 12 pods of 1 cpu) must keep up with a, where the
    # copies land: 25 pods at most, however many are added.
    many = [pod_from_manifest(m) for m in _replicas("web", 60, "1", ZONE)]
    result = class_optimize.nodes_to_add(
        cluster, many, shape, 20, timeout_ms=TIMEOUT_MS, force=True
    )
    assert result is not None and result.status == "infeasible"
    assert result.explanation[0].startswith("Even with 20 more node(s) shaped like n0:")


def test_optimisation_on_counts_with_hostname_spread_over_more_replicas_than_nodes() -> None:
    # 30 replicas spread over hostname on 20 nodes: on fewer nodes the unused ones hold none
    # (minimum 0) and the used ones one each, too few: every node is used (minimum 1).
    cluster = cluster_from_manifests(_nodes(20))
    pods = [pod_from_manifest(m) for m in _replicas("web", 30, "100m", HOST)]
    result = class_optimize.minimize_nodes(cluster, pods, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.objective == 20  # (the per-pod encoding: unknown)
    assert replay_placement(cluster, pods, result.placement) == []
    # 50 replicas of 1 cpu on 10 nodes of 4 cpu: 12 nodes hold 48 at most; 13 hold them with
    # 4 on eleven and 3 on two (the copies count for the minimum too): 3 copies.
    small = cluster_from_manifests(_nodes(10))
    shape = next(iter(small.nodes.values()))
    fifty = [pod_from_manifest(m) for m in _replicas("web", 50, "1", HOST)]
    result = class_optimize.nodes_to_add(small, fifty, shape, 6, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.status == "feasible" and result.objective == 3
    from podfit.solver.copies import added_nodes

    grown = small.copy()
    for n in added_nodes(small, shape, 3):
        grown.replace_node(n)
    assert replay_placement(grown, fifty, result.placement) == []


def test_an_optimisation_that_runs_out_of_time_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = cluster_from_manifests(_nodes(40))
    pods = [pod_from_manifest(m) for w in range(6) for m in _replicas(f"w{w}", 10, "1", HOST)]
    real = Session.check

    def slow(self: Session, assumptions: Any = (), *, timeout_ms: int | None = None) -> Outcome:
        if any("objective[" in str(a) for a in assumptions):
            self.reason_unknown = "timeout"
            return Outcome.UNKNOWN
        return real(self, assumptions, timeout_ms=timeout_ms)

    monkeypatch.setattr(Session, "check", slow)
    result = class_optimize.minimize_nodes(cluster, pods, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.status == "unknown"
    assert "could not prove the fewest nodes" in result.explanation[0]
    assert len(result.placement) == len(pods)  # the best placement found


def test_pods_that_keep_apart_per_zone_share_a_node_without_one() -> None:
    # What one node can hold is capped by the rules, but anti-affinity on a zone does not
    # apply on a node without a zone: two replicas fit together there, on one node.
    nodes = _nodes(1, zones="a")
    nodes.append({**_nodes(2)[1], "metadata": {"name": "bare", "labels": {HOST: "bare"}}})
    cluster = cluster_from_manifests(nodes)
    m = _pod("w", "w", "250m")
    m["spec"]["affinity"] = {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [_term("w", ZONE)]}
    }
    pods = [
        pod_from_manifest({**m, "metadata": {**m["metadata"], "name": f"w-{r}"}}) for r in range(3)
    ]
    result = class_optimize.minimize_nodes(cluster, pods, timeout_ms=TIMEOUT_MS, force=True)
    assert result is not None and result.objective == 1
    assert set(result.placement.values()) == {"bare"}
    assert replay_placement(cluster, pods, result.placement) == []


def test_declared_node_features_split_classes_like_any_filter() -> None:
    # Pods that restart all containers on exit need nodes declaring the feature: the nodes
    # that do not are a class of their own, ruled out, as the per-pod encoding says.
    nodes = _nodes(6)
    for m in nodes[:2]:
        m["status"]["declaredFeatures"] = ["RestartAllContainersOnContainerExits"]
    cluster = cluster_from_manifests(nodes)
    manifests = _replicas("w", 3, "1")
    for m in manifests:
        m["spec"]["containers"][0]["restartPolicy"] = "Never"
        m["spec"]["containers"][0]["restartPolicyRules"] = [
            {"action": "RestartAllContainers", "exitCodes": {"operator": "In", "values": [42]}}
        ]
    pods = [pod_from_manifest(m) for m in manifests]
    g = group(cluster, pods)
    assert sorted(len(c.nodes) for c in g.node_classes) == [2, 4]
    found = place_grouped(g, timeout_ms=TIMEOUT_MS)
    assert not isinstance(found, SolveResult)
    placement = deal(g, found)
    assert set(placement.values()) <= {"n0", "n1"}
    assert replay_placement(cluster, pods, placement) == []
    # Nine such pods of 1 cpu need more than the two nodes' 8 cpu: both encodings refute.
    nine = [
        pod_from_manifest(
            {**manifests[0], "metadata": {**manifests[0]["metadata"], "name": f"w-{r}"}}
        )
        for r in range(9)
    ]
    assert _per_pod(cluster, nine) is Outcome.UNSAT
    refuted = place_grouped(group(cluster, nine), timeout_ms=TIMEOUT_MS)
    assert isinstance(refuted, SolveResult) and refuted.status == "infeasible"
    assert "node-declared-features.filter.required-features" in refuted.core
