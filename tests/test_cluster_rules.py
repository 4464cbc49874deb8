"""Cluster-level rules: InterPodAffinity, PodTopologySpread (with default constraints), the
queue, DefaultPreemption, DaemonSet placement and simulate. Table tests for the Python API,
and Hypothesis properties that re-check simulate's placements with a small independent
oracle (tests/test_spec.py runs the spec examples)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cluster import Cluster
from podfit.errors import ManifestError
from podfit.loading import cluster_from_manifests
from podfit.manifest import to_manifest
from podfit.model import (
    Affinity,
    Container,
    DaemonSet,
    LabelSelector,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    OwnerReference,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodDisruptionBudget,
    PriorityClass,
    Requirement,
    ResourceList,
    ResourceRequirements,
    Service,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    WorkloadSelector,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import quantity_from_yaml
from podfit.reference.daemonset import (
    NETWORK_UNAVAILABLE,
    daemon_pod,
    daemon_pods,
    daemon_tolerations,
    should_run,
)
from podfit.reference.framework import run_cycle, snapshot_of
from podfit.reference.labels import selector_matches
from podfit.reference.podtopologyspread import (
    HOSTNAME,
    ZONE,
    PodTopologySpread,
    default_selector,
    go_round,
)
from podfit.reference.preemption import _Budgets
from podfit.reference.profile import ConfigError, PluginSet, build_profile
from podfit.reference.queue import order
from podfit.reference.scheduler import schedule_one
from podfit.reference.simulate import SimulationResult, simulate
from podfit.reference.status import Code

T0 = datetime(2026, 1, 1, tzinfo=UTC)
APPS = ("x", "y", "z")


def alloc(cpu: str = "8", pods: str = "110") -> ResourceList:
    return frozen_resources(
        {
            "cpu": quantity_from_yaml(cpu),
            "memory": quantity_from_yaml("16Gi"),
            "pods": quantity_from_yaml(pods),
        }
    )


def node(
    name: str, labels: dict[str, str] | None = None, cpu: str = "8", pods: str = "110"
) -> Node:
    return Node(name=name, labels=frozen_map(labels or {}), allocatable=alloc(cpu, pods))


def cpu(milli: int) -> tuple[Container, ...]:
    req = frozen_resources({"cpu": quantity_from_yaml(f"{milli}m")})
    return (Container(name="c", resources=ResourceRequirements(requests=req)),)


def pod(name: str, **kw: object) -> Pod:
    kw.setdefault("containers", (Container(name="c"),))
    labels = kw.pop("labels", {})
    return Pod(name=name, labels=frozen_map(labels), **kw)  # type: ignore[arg-type]


def term(app: str, key: str) -> PodAffinityTerm:
    return PodAffinityTerm(topology_key=key, label_selector=LabelSelector(frozen_map({"app": app})))


def names(keys: Sequence[str]) -> list[str]:
    return [k.split("/", 1)[1] for k in keys]


# --- default topology spread selector (helper.DefaultSelector) -----------------------------

RS_OWNER = OwnerReference(kind="ReplicaSet", name="rs", api_version="apps/v1", controller=True)
SELECTOR_CASES = {
    "service selecting the pod": (
        [Service("svc", selector=frozen_map({"app": "web"}))],
        pod("p", labels={"app": "web", "v": "1"}),
        {"app": "web"},
        (),
    ),
    "service in another namespace": (
        [Service("svc", namespace="other", selector=frozen_map({"app": "web"}))],
        pod("p", labels={"app": "web"}),
        {},
        (),
    ),
    "service without selector": ([Service("svc")], pod("p", labels={"app": "web"}), {}, ()),
    "service not selecting the pod": (
        [Service("svc", selector=frozen_map({"app": "db"}))],
        pod("p", labels={"app": "web"}),
        {},
        (),
    ),
    "two services merge": (
        [
            Service("a", selector=frozen_map({"app": "web"})),
            Service("b", selector=frozen_map({"tier": "front"})),
        ],
        pod("p", labels={"app": "web", "tier": "front"}),
        {"app": "web", "tier": "front"},
        (),
    ),
    "replicaset owner adds requirements": (
        [WorkloadSelector("ReplicaSet", "rs", selector=LabelSelector(frozen_map({"app": "web"})))],
        pod("p", labels={"app": "web"}, owner_references=(RS_OWNER,)),
        {},
        (Requirement("app", "In", ("web",)),),
    ),
    "replicaset that does not exist": (
        [],
        pod("p", labels={"app": "web"}, owner_references=(RS_OWNER,)),
        {},
        (),
    ),
    "replicaset owner with an old apiVersion": (
        [WorkloadSelector("ReplicaSet", "rs", selector=LabelSelector(frozen_map({"app": "web"})))],
        pod(
            "p",
            labels={"app": "web"},
            owner_references=(replace(RS_OWNER, api_version="extensions/v1beta1"),),
        ),
        {},
        (),
    ),
    "owner that is not the controller": (
        [WorkloadSelector("ReplicaSet", "rs", selector=LabelSelector(frozen_map({"app": "web"})))],
        pod("p", labels={"app": "web"}, owner_references=(replace(RS_OWNER, controller=False),)),
        {},
        (),
    ),
    "replication controller map merges": (
        [
            WorkloadSelector(
                "ReplicationController", "rc", selector=LabelSelector(frozen_map({"app": "web"}))
            )
        ],
        pod(
            "p",
            labels={"app": "web"},
            owner_references=(OwnerReference("ReplicationController", "rc", "v1", True),),
        ),
        {"app": "web"},
        (),
    ),
    "deployment owner is ignored": (
        [],
        pod(
            "p",
            labels={"app": "web"},
            owner_references=(OwnerReference("Deployment", "d", "apps/v1", True),),
        ),
        {},
        (),
    ),
}


@pytest.mark.parametrize("case", SELECTOR_CASES.values(), ids=SELECTOR_CASES.keys())
def test_default_selector(
    case: tuple[list[object], Pod, dict[str, str], tuple[Requirement, ...]],
) -> None:
    objects, the_pod, labels, expressions = case
    cluster = Cluster(objects).finish()  # type: ignore[arg-type]
    selector = default_selector(the_pod, cluster)
    assert dict(selector.match_labels) == labels
    assert selector.match_expressions == expressions
    # A non-empty derived selector always selects the pod it was derived for (services and
    # owners select their pods), so the pod counts itself when it is spread.
    if not selector.is_empty:
        assert selector_matches(selector, the_pod.labels)


@pytest.mark.parametrize(
    ("x", "rounded"),
    [
        (0.5, 1),
        (1.5, 2),
        (2.5, 3),
        (2.4999999, 2),
        (0.49999999999999994, 0),
        (-0.5, -1),
        (12.4378, 12),
    ],
)
def test_go_round_is_half_away_from_zero(x: float, rounded: int) -> None:
    assert go_round(x) == rounded


ARGS_CASES = {
    "system default": ({}, None),
    "list without constraints": ({"defaultingType": "List"}, None),
    "list with constraints": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ],
        },
        None,
    ),
    "unknown defaulting type": ({"defaultingType": "Auto"}, "must be System or List"),
    "system with constraints": (
        {
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        },
        "defaultConstraints are not empty",
    ),
    "selector in a default": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {},
                }
            ],
        },
        "must not define a selector",
    ),
    "duplicate key and action": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            ],
        },
        "duplicate constraint",
    ),
    "zero maxSkew": (
        {
            "defaultingType": "List",
            "defaultConstraints": [
                {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ],
        },
        "maxSkew",
    ),
}


@pytest.mark.parametrize("case", ARGS_CASES.values(), ids=ARGS_CASES.keys())
def test_topology_spread_args(case: tuple[dict[str, object], str | None]) -> None:
    args, error = case
    if error is None:
        plugin = PodTopologySpread(args)
        assert plugin.system_defaulted == ("defaultingType" not in args)
    else:
        with pytest.raises(ConfigError, match=error):
            PodTopologySpread(args)


def test_system_defaults_are_soft_and_dropped_for_pods_with_constraints() -> None:
    plugin = PodTopologySpread()
    cluster = Cluster([Service("svc", selector=frozen_map({"app": "web"}))]).finish()
    web = pod("p", labels={"app": "web"})
    assert plugin.constraints(web, cluster, "DoNotSchedule") == []
    soft = plugin.constraints(web, cluster, "ScheduleAnyway")
    assert [(c.topology_key, c.max_skew) for c in soft] == [(HOSTNAME, 3), (ZONE, 5)]
    own = replace(
        web,
        topology_spread_constraints=(
            TopologySpreadConstraint(1, "rack", "DoNotSchedule", LabelSelector()),
        ),
    )
    assert plugin.constraints(own, cluster, "ScheduleAnyway") == []
    assert plugin.constraints(pod("q", labels={"app": "db"}), cluster, "ScheduleAnyway") == []


# --- loading the selector objects ---------------------------------------------------------

WORKLOADS_YAML = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: shop}
spec: {selector: {matchExpressions: [{key: app, operator: In, values: [web]}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec: {template: {metadata: {labels: {app: legacy}}}}
"""


def test_selector_objects_load_and_round_trip() -> None:
    cluster = podfit.load(io.StringIO(WORKLOADS_YAML))
    assert cluster.services["shop/web"].selector == {"app": "web"}
    rs = cluster.workload("ReplicaSet", "shop", "web")
    ss = cluster.workload("StatefulSet", "shop", "web")
    assert rs is not None and ss is not None and rs != ss  # same name, two kinds
    assert rs.selector == LabelSelector(match_expressions=(Requirement("app", "In", ("web",)),))
    # An RC without spec.selector selects its template's labels (API defaulting).
    rc = cluster.workload("ReplicationController", "default", "legacy")
    assert rc is not None and rc.selector == LabelSelector(frozen_map({"app": "legacy"}))
    again = cluster_from_manifests([to_manifest(o) for o in cluster.objects()])
    assert again.services == cluster.services
    assert again.workloads == cluster.workloads
    assert cluster.copy().workloads == cluster.workloads


def test_duplicate_service_is_an_error() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {}}
    with pytest.raises(ManifestError, match="duplicate Service default/a"):
        cluster_from_manifests([svc, svc])


# --- queue ----------------------------------------------------------------------------------


def test_queue_order_and_gates() -> None:
    pods = [
        pod("low", priority=1, creation_timestamp=T0),
        pod("gated", priority=100, scheduling_gates=("a.io/x", "b.io/y")),
        pod("late", priority=5, creation_timestamp=T0 + timedelta(minutes=2)),
        pod("early", priority=5, creation_timestamp=T0 + timedelta(minutes=1)),
    ]
    ready, gated = order(pods)
    assert [p.name for p in ready] == ["early", "late", "low"]
    assert [g.pod.name for g in gated] == ["gated"]
    assert gated[0].message == "waiting for scheduling gates: [a.io/x b.io/y]"


# --- DaemonSet ------------------------------------------------------------------------------

DS = DaemonSet(
    name="agent",
    selector=LabelSelector(frozen_map({"app": "agent"})),
    template=pod("", labels={"app": "agent"}),
)


@pytest.mark.parametrize(
    ("taint", "run", "keep"),
    [
        (Taint("k", "NoSchedule"), False, True),
        (Taint("k", "NoExecute"), False, False),
        (Taint("k", "PreferNoSchedule"), True, True),
        (Taint("node.kubernetes.io/not-ready", "NoExecute"), True, True),
        (Taint("node.kubernetes.io/memory-pressure", "NoSchedule"), True, True),
        (Taint(NETWORK_UNAVAILABLE, "NoSchedule"), False, True),
    ],
    ids=str,
)
def test_should_run_by_taint(taint: Taint, run: bool, keep: bool) -> None:
    placement = should_run(DS, replace(node("n1"), taints=(taint,)))
    assert (placement.should_run, placement.should_continue_running) == (run, keep)


def test_daemon_pod_tolerations_and_pinning() -> None:
    template = pod(
        "",
        labels={"app": "agent"},
        host_network=True,
        tolerations=(
            Toleration(
                "node.kubernetes.io/unreachable",
                "Exists",
                effect="NoExecute",
                toleration_seconds=60,
            ),
        ),
        affinity=Affinity(
            node_affinity=NodeAffinity(
                required=NodeSelector(
                    (
                        NodeSelectorTerm(match_expressions=(Requirement("disk", "In", ("ssd",)),)),
                        NodeSelectorTerm(match_expressions=(Requirement("gpu", "Exists"),)),
                    )
                )
            ),
            pod_anti_affinity=PodAffinity(required=(term("agent", HOSTNAME),)),
        ),
    )
    created = daemon_pod(replace(DS, template=template), node("n1", {"disk": "ssd"}))
    assert created.name == "agent-n1"
    assert created.tolerations[0] == Toleration(
        "node.kubernetes.io/unreachable", "Exists", effect="NoExecute"
    )
    assert set(created.tolerations[1:]) == set(daemon_tolerations(True)) - {created.tolerations[0]}
    assert len(created.tolerations) == len(daemon_tolerations(True))
    affinity = created.affinity
    assert affinity is not None and affinity.node_affinity is not None
    assert affinity.node_affinity.required == NodeSelector(
        (NodeSelectorTerm(match_fields=(Requirement("metadata.name", "In", ("n1",)),)),)
    )
    assert affinity.pod_anti_affinity == template.affinity.pod_anti_affinity  # type: ignore[union-attr]


def test_daemon_set_selecting_everything_creates_nothing() -> None:
    cluster = Cluster([node("n1"), replace(DS, selector=LabelSelector())]).finish()
    assert daemon_pods(cluster) == []
    assert [p.name for p in daemon_pods(Cluster([node("n1"), DS]).finish())] == ["agent-n1"]


# --- preemption budgets -----------------------------------------------------------------------


def test_budget_charging_stops_at_the_first_violated_budget() -> None:
    pdbs = [
        PodDisruptionBudget(
            "a", selector=LabelSelector(frozen_map({"a": "1"})), disruptions_allowed=0
        ),
        PodDisruptionBudget(
            "b", selector=LabelSelector(frozen_map({"b": "1"})), disruptions_allowed=1
        ),
        PodDisruptionBudget(
            "none",
            selector=LabelSelector(match_expressions=(Requirement("b", "DoesNotExist"),)),
            disruptions_allowed=0,
        ),
    ]
    budgets = _Budgets(Cluster(pdbs).finish())
    both = pod("both", labels={"a": "1", "b": "1"})
    only_b = pod("only-b", labels={"b": "1"})
    unlabelled = pod("unlabelled")
    bad, good = budgets.violating([both, only_b, unlabelled])
    # `both` violates "a" and is not charged to "b", so "b" still allows `only-b`; a pod
    # without labels matches no budget, not even a DoesNotExist selector.
    assert [p.name for p in bad] == ["both"]
    assert [p.name for p in good] == ["only-b", "unlabelled"]


# --- simulate: podfit's requeue model -------------------------------------------------------


def test_retried_pod_preempts_a_pod_bound_earlier_in_the_run() -> None:
    cluster = Cluster(
        [node("n1", {HOSTNAME: "n1"}, pods="2"), PriorityClass("hi", 100), PriorityClass("lo", 0)]
    ).finish()
    frontend = pod(
        "frontend",
        priority_class_name="hi",
        affinity=Affinity(pod_affinity=PodAffinity(required=(term("cache", HOSTNAME),))),
    )
    cache = pod("cache", priority_class_name="hi", labels={"app": "cache"})
    filler = pod("filler", priority_class_name="lo")
    result = simulate(cluster, [frontend, cache, filler])
    assert names(result.order) == ["frontend", "cache", "filler", "frontend"]
    assert {d.pod.name: d.node for d in result.decisions} == {
        "frontend": "n1",
        "cache": "n1",
        "filler": None,
    }
    assert names(result.evicted) == ["filler"]
    assert (
        "preempted by default/frontend"
        in {d.pod.name: d.message for d in result.decisions}["filler"]
    )


def test_no_retry_without_a_change() -> None:
    cluster = Cluster([node("n1", cpu="1")]).finish()
    result = simulate(cluster, [pod("a", containers=cpu(2000)), pod("b", containers=cpu(2000))])
    assert names(result.order) == ["a", "b"]
    assert all(d.node is None for d in result.decisions)


# --- Hypothesis: simulate's placements re-checked by an independent oracle ------------------

KEYS = (HOSTNAME, ZONE)


@st.composite
def spread_clusters(draw: st.DrawFn) -> tuple[Cluster, list[Pod]]:
    n_nodes = draw(st.integers(2, 4))
    nodes = []
    for i in range(n_nodes):
        labels = {HOSTNAME: f"n{i}"}
        zone = draw(st.sampled_from(["a", "b", None]))
        if zone is not None:
            labels[ZONE] = zone
        nodes.append(node(f"n{i}", labels))
    existing = [
        pod(
            f"e{i}",
            node_name=f"n{draw(st.integers(0, n_nodes - 1))}",
            labels={"app": draw(st.sampled_from(APPS))},
            affinity=draw(
                st.sampled_from(
                    [
                        None,
                        Affinity(
                            pod_anti_affinity=PodAffinity(
                                required=(
                                    term(draw(st.sampled_from(APPS)), draw(st.sampled_from(KEYS))),
                                )
                            )
                        ),
                    ]
                )
            ),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    pending = []
    for i in range(draw(st.integers(1, 5))):
        app = draw(st.sampled_from(APPS))
        affinity = None
        kind = draw(st.sampled_from(["none", "affinity", "anti", "both"]))
        if kind != "none":
            # One or two affinity terms: with two, one pod must match both.
            affinity_terms = tuple(
                term(draw(st.sampled_from(APPS)), draw(st.sampled_from(KEYS)))
                for _ in range(draw(st.integers(1, 2)))
            )
            anti_term = term(draw(st.sampled_from(APPS)), draw(st.sampled_from(KEYS)))
            affinity = Affinity(
                pod_affinity=PodAffinity(required=affinity_terms)
                if kind in ("affinity", "both")
                else None,
                pod_anti_affinity=PodAffinity(required=(anti_term,))
                if kind in ("anti", "both")
                else None,
            )
        spread: tuple[TopologySpreadConstraint, ...] = ()
        if draw(st.booleans()):
            spread = (
                TopologySpreadConstraint(
                    max_skew=draw(st.integers(1, 2)),
                    topology_key=draw(st.sampled_from(KEYS)),
                    when_unsatisfiable="DoNotSchedule",
                    label_selector=LabelSelector(
                        frozen_map({"app": draw(st.sampled_from([app, *APPS]))})
                    ),
                ),
            )
        pending.append(
            pod(f"p{i}", labels={"app": app}, affinity=affinity, topology_spread_constraints=spread)
        )
    return Cluster([*nodes, *existing]).finish(), pending


def _selects(t: PodAffinityTerm, other: Pod) -> bool:
    # Generated terms: matchLabels app=<v>, everything in the default namespace.
    assert t.label_selector is not None
    return all(other.labels.get(k) == v for k, v in t.label_selector.match_labels.items())


def _violations(p: Pod, at: Node, placed: list[tuple[Pod, Node]], nodes: list[Node]) -> list[str]:
    """What the hard rules say about binding ``p`` to ``at`` after ``placed``."""
    out = []
    aff = p.affinity.pod_affinity.required if p.affinity and p.affinity.pod_affinity else ()
    anti = (
        p.affinity.pod_anti_affinity.required if p.affinity and p.affinity.pod_anti_affinity else ()
    )
    if aff:
        pairs = {
            (t.topology_key, n.labels[t.topology_key])
            for q, n in placed
            if all(_selects(t2, q) for t2 in aff)
            for t in aff
            if t.topology_key in n.labels
        }
        if any(t.topology_key not in at.labels for t in aff):
            out.append("affinity key missing")
        elif not all((t.topology_key, at.labels[t.topology_key]) in pairs for t in aff) and (
            pairs or not all(_selects(t, p) for t in aff)
        ):
            out.append("affinity")
    for t in anti:
        value = at.labels.get(t.topology_key)
        if value is not None and any(
            _selects(t, q) and n.labels.get(t.topology_key) == value for q, n in placed
        ):
            out.append("anti-affinity")
    for q, n in placed:
        q_anti = (
            q.affinity.pod_anti_affinity.required
            if q.affinity and q.affinity.pod_anti_affinity
            else ()
        )
        for t in q_anti:
            value = n.labels.get(t.topology_key)
            if value is not None and _selects(t, p) and at.labels.get(t.topology_key) == value:
                out.append("existing anti-affinity")
    for c in p.topology_spread_constraints:
        skew = _skew_if_placed(p, c, at, placed, nodes)
        if skew is None or skew > c.max_skew:
            out.append(f"spread {c.topology_key}")
    return out


def _domain_counts(
    p: Pod, c: TopologySpreadConstraint, placed: list[tuple[Pod, Node]], nodes: list[Node]
) -> dict[str, int]:
    keys = [k.topology_key for k in p.topology_spread_constraints]
    counts = {n.labels[c.topology_key]: 0 for n in nodes if all(k in n.labels for k in keys)}
    for q, n in placed:
        value = n.labels.get(c.topology_key)
        if (
            value in counts
            and all(k in n.labels for k in keys)
            and selector_matches(c.label_selector, q.labels)
        ):
            counts[value] += 1
    return counts


def _skew_if_placed(
    p: Pod, c: TopologySpreadConstraint, at: Node, placed: list[tuple[Pod, Node]], nodes: list[Node]
) -> int | None:
    if c.topology_key not in at.labels:
        return None
    counts = _domain_counts(p, c, placed, nodes)
    self_match = 1 if selector_matches(c.label_selector, p.labels) else 0
    return counts.get(at.labels[c.topology_key], 0) + self_match - min(counts.values(), default=0)


def _binding_sequence(result: SimulationResult) -> list[tuple[Pod, str]]:
    """Placed pods in the order they were bound (a pod is bound at its last attempt)."""
    last = {key: i for i, key in enumerate(result.order)}
    placed = [d for d in result.decisions if d.node is not None and d.pod.key in last]
    placed.sort(key=lambda d: last[d.pod.key])
    return [(d.pod, d.node) for d in placed if d.node is not None]


@settings(max_examples=150, deadline=None)
@given(spread_clusters())
def test_simulate_placements_satisfy_the_hard_rules(case: tuple[Cluster, list[Pod]]) -> None:
    cluster, pending = case
    result = simulate(cluster, pending)
    nodes = list(cluster.nodes.values())
    placed = [(q, cluster.nodes[q.node_name]) for q in cluster.bound_pods()]
    for p, node_name in _binding_sequence(result):
        at = cluster.nodes[node_name]
        assert _violations(p, at, placed, nodes) == [], (p.name, node_name)
        for c in p.topology_spread_constraints:
            # A DoNotSchedule placement never pushes a domain's skew past maxSkew.
            before = _domain_counts(p, c, placed, nodes)
            after = _domain_counts(p, c, [*placed, (p, at)], nodes)
            if before and max(before.values()) - min(before.values()) <= c.max_skew:
                assert max(after.values()) - min(after.values()) <= c.max_skew
        placed.append((p, at))
    # A pod left pending has no node where the oracle allows it (the rules are all there is
    # here: resources are plentiful).
    for d in result.pending:
        for at in nodes:
            assert _violations(d.pod, at, placed, nodes) != [], (d.pod.name, at.name)


IPA_ONLY = build_profile(plugins=PluginSet(filters=("InterPodAffinity",), scores=()))


@settings(max_examples=150, deadline=None)
@given(spread_clusters(), st.data())
def test_removing_a_pod_never_blocks_more_nodes_for_anti_affinity(
    case: tuple[Cluster, list[Pod]], data: st.DataObject
) -> None:
    cluster, pending = case
    incoming = pending[0]
    # Anti-affinity only: with required affinity a removal may take away the pod it needs.
    if incoming.affinity is not None:
        incoming = replace(incoming, affinity=replace(incoming.affinity, pod_affinity=None))
    bound = list(cluster.bound_pods())
    if not bound:
        return
    before = run_cycle(IPA_ONLY, snapshot_of(cluster), incoming)
    smaller = cluster.copy()
    smaller.remove_pod(data.draw(st.sampled_from(bound)).key)
    after = run_cycle(IPA_ONLY, snapshot_of(smaller), incoming)
    assert set(after.feasible) >= set(before.feasible)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["p0", "p1", "p2"]), st.integers(0, 5), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_queue_is_priority_then_creation_time_and_gated_pods_never_bind(
    specs: list[tuple[str, int, bool]],
) -> None:
    classes = [PriorityClass("p0", 0), PriorityClass("p1", 10), PriorityClass("p2", 100)]
    pods = [
        pod(
            f"q{i}",
            priority_class_name=cls,
            creation_timestamp=T0 + timedelta(minutes=minute),
            scheduling_gates=("example.com/wait",) if gated else (),
            preemption_policy="",
        )
        for i, (cls, minute, gated) in enumerate(specs)
    ]
    cluster = Cluster([node("n1"), *classes]).finish()
    result = simulate(cluster, pods)
    value = {c.name: c.value for c in classes}
    by_name = {p.name: p for p in pods}
    tried = names(result.order)
    keys = [(-value[by_name[n].priority_class_name], by_name[n].creation_timestamp) for n in tried]
    assert keys == sorted(keys)
    placements = {d.pod.name: d.node for d in result.decisions}
    for p in pods:
        if p.scheduling_gates:
            assert placements[p.name] is None and p.name not in tried
        else:
            assert placements[p.name] == "n1"


@st.composite
def preemption_clusters(draw: st.DrawFn) -> tuple[Cluster, Pod]:
    n_nodes = draw(st.integers(1, 3))
    objects: list[object] = [
        PriorityClass("never", 50, preemption_policy="Never"),
        *(PriorityClass(f"prio-{v}", v) for v in (0, 10, 50, 100)),
    ]
    for i in range(n_nodes):
        objects.append(
            node(f"n{i}", {HOSTNAME: f"n{i}"}, cpu="1", pods=str(draw(st.integers(1, 3))))
        )
        for j in range(draw(st.integers(0, 3))):
            objects.append(
                pod(
                    f"e{i}-{j}",
                    node_name=f"n{i}",
                    priority=draw(st.sampled_from([0, 10, 50, 100])),
                    containers=cpu(draw(st.sampled_from([100, 300, 500]))),
                    labels={"app": draw(st.sampled_from(APPS))},
                )
            )
    cls = draw(st.sampled_from(["never", "prio-0", "prio-10", "prio-50", "prio-100"]))
    incoming = pod(
        "incoming",
        priority_class_name=cls,
        preemption_policy="",
        containers=cpu(draw(st.sampled_from([200, 600, 1000]))),
        labels={"app": draw(st.sampled_from(APPS))},
        affinity=draw(
            st.sampled_from(
                [
                    None,
                    Affinity(
                        pod_anti_affinity=PodAffinity(
                            required=(term(draw(st.sampled_from(APPS)), HOSTNAME),)
                        )
                    ),
                ]
            )
        ),
    )
    return Cluster(objects).finish(), incoming  # type: ignore[arg-type]


@settings(max_examples=120, deadline=None)
@given(preemption_clusters())
def test_preemption_evicts_only_lower_priority_and_makes_room(case: tuple[Cluster, Pod]) -> None:
    cluster, incoming = case
    result = schedule_one(cluster, incoming)
    priority = result.pod.effective_priority
    if result.pod.preemption_policy == "Never":
        assert result.victims == [] and result.nominated is None
        return
    victims = [cluster.pods[k] for k in result.victims]
    assert all(v.effective_priority < priority for v in victims)
    if result.nominated is None:
        assert not victims
        return
    assert victims and all(v.node_name == result.nominated for v in victims)
    # With the victims gone the pod passes every filter on the nominated node.
    freed = cluster.copy()
    for v in victims:
        freed.remove_pod(v.key)
    again = schedule_one(freed, incoming, preemption=False)
    assert result.nominated in again.feasible
    assert again.statuses[result.nominated].code is Code.SUCCESS
    # No victim is evicted needlessly: giving any one of them back leaves the pod unfit (the
    # filters here only get stricter as pods are added).
    for kept in victims:
        partial = cluster.copy()
        for v in victims:
            if v is not kept:
                partial.remove_pod(v.key)
        assert result.nominated not in schedule_one(partial, incoming, preemption=False).feasible


@settings(max_examples=40, deadline=None)
@given(preemption_clusters(), st.integers(1, 3))
def test_never_preempting_pods_evict_nothing_in_simulate(
    case: tuple[Cluster, Pod], copies: int
) -> None:
    cluster, incoming = case
    pending = [
        replace(incoming, name=f"never-{i}", priority_class_name="never") for i in range(copies)
    ]
    result = simulate(cluster, pending)
    assert result.evicted == []
    assert set(cluster.pods) <= set(result.cluster.pods)


# --- percentageOfNodesToScore --------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodes", "want"),
    [
        (0, 0),
        (50, 50),
        (99, 99),
        (100, 100),
        (200, 100),
        (500, 230),
        (1000, 420),
        (5000, 500),
        (20000, 1000),
    ],
)
def test_feasible_nodes_to_find_is_upstreams_adaptive_share(nodes: int, want: int) -> None:
    from podfit.reference.framework import num_feasible_nodes_to_find

    assert num_feasible_nodes_to_find(nodes) == want


def test_sampled_cycles_stop_early_and_rotate_the_start_node() -> None:
    from podfit.loading import cluster_from_manifests, pod_from_manifest
    from podfit.reference.framework import run_cycle, snapshot_of
    from podfit.reference.profile import default_profile

    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"n{i:03}"},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "10"}},
        }
        for i in range(300)
    ]
    cluster = cluster_from_manifests(nodes)
    pod = pod_from_manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]},
        }
    )
    snap = snapshot_of(cluster)
    full = run_cycle(default_profile(), snap, pod)
    assert len(full.feasible) == 300
    # 300 nodes: 50% - 300 // 125 = 48% of them, 144 feasible nodes are enough.
    first = run_cycle(default_profile(), snap, pod, sample=True)
    assert len(first.feasible) == 144 and first.feasible[0] == "n000"
    second = run_cycle(default_profile(), snap, pod, sample=True)
    assert len(second.feasible) == 144 and second.feasible[0] == "n144"
    third = run_cycle(default_profile(), snap, pod, sample=True)
    assert third.feasible[0] == "n288" and "n000" in third.feasible
