"""Taint/toleration matching (podfit.reference.taints) and the TaintToleration and
NodeUnschedulable plugins, transcribing upstream's toleration_test.go, helpers_test.go,
taint_toleration_test.go and node_unschedulable_test.go cases, plus properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.model import TAINT_EFFECTS, Container, Node, Pod, Taint, Toleration
from podfit.reference.framework import CycleState, ScheduleResult, run_cycle
from podfit.reference.nodeinfo import NodeInfo, PodInfo, Snapshot
from podfit.reference.nodeunschedulable import ERR_REASON_UNSCHEDULABLE, NodeUnschedulable
from podfit.reference.profile import PluginSet, build_profile, plugin_class
from podfit.reference.status import Code
from podfit.reference.taints import (
    ERR_REASON_UNTOLERATED,
    FILTER_EFFECTS,
    UNSCHEDULABLE_TAINT,
    find_untolerated_taint,
    format_taint_reason,
    tolerates,
    tolerates_taint,
)
from podfit.reference.tainttoleration import TaintToleration, scoring_tolerations

NS, PNS, NE = "NoSchedule", "PreferNoSchedule", "NoExecute"


def taint(key: str, value: str = "", effect: str = NS) -> Taint:
    return Taint(key=key, value=value, effect=effect)


def tol(key: str = "", op: str = "Equal", value: str = "", effect: str = "") -> Toleration:
    return Toleration(key=key, operator=op, value=value, effect=effect)


def pod(*tolerations: Toleration) -> Pod:
    return Pod(name="p", containers=(Container(name="c"),), tolerations=tuple(tolerations))


def node(name: str, *taints: Taint, unschedulable: bool = False) -> Node:
    return Node(name=name, taints=taints, unschedulable=unschedulable)


def cycle(the_pod: Pod, nodes: list[Node], *, filters: tuple[str, ...] = ()) -> ScheduleResult:
    profile = build_profile(plugins=PluginSet(filters=filters, scores=(("TaintToleration", 3),)))
    return run_cycle(profile, Snapshot.of(Cluster(nodes).finish()), the_pod)


def filtered(the_pod: Pod, the_node: Node, plugin: str) -> ScheduleResult:
    return cycle(the_pod, [the_node], filters=(plugin,))


# --- ToleratesTaint (toleration_test.go) ----------------------------------------------------

TOLERATES_ROWS: list[tuple[str, Toleration, Taint, bool]] = [
    ("Exists, taint with value", tol("foo", "Exists", effect=NS), taint("foo", "bar"), True),
    ("Exists, taint without value", tol("foo", "Exists", effect=NS), taint("foo"), True),
    ("empty key Exists matches any key", tol(op="Exists", effect=NS), taint("other", "x"), True),
    ("Equal same value", tol("foo", value="bar", effect=NS), taint("foo", "bar"), True),
    ("Equal other value", tol("foo", value="bar", effect=NS), taint("foo", "baz"), False),
    ("Equal with value vs empty value", tol("foo", value="bar"), taint("foo"), False),
    ("Equal without value vs value", tol("foo", effect=NS), taint("foo", "bar"), False),
    ("Equal empty vs empty", tol("foo", effect=NS), taint("foo"), True),
    ("values are case-sensitive", tol("foo", value="Bar"), taint("foo", "bar"), False),
    ("empty operator means Equal", tol("foo", "", "bar"), taint("foo", "bar"), True),
    ("empty operator, other value", tol("foo", "", "bar"), taint("foo", "baz"), False),
    ("effect mismatch", tol("foo", value="bar", effect=PNS), taint("foo", "bar", NS), False),
    ("empty effect matches NoExecute", tol("foo", value="bar"), taint("foo", "bar", NE), True),
    ("key mismatch", tol("foo", "Exists"), taint("bar", "x"), False),
    ("empty key with Equal still compares values", tol(value="x"), taint("any", "x"), True),
    ("Gt is off by default", tol("sla", "Gt", "750", NS), taint("sla", "950"), False),
    ("Lt is off by default", tol("sla", "Lt", "950", NS), taint("sla", "800"), False),
    ("unknown operator", tol("foo", "Matches", "bar"), taint("foo", "bar"), False),
]


@pytest.mark.parametrize(
    ("toleration", "the_taint", "expected"),
    [r[1:] for r in TOLERATES_ROWS],
    ids=[r[0] for r in TOLERATES_ROWS],
)
def test_tolerates(toleration: Toleration, the_taint: Taint, expected: bool) -> None:
    assert tolerates(toleration, the_taint) is expected
    assert tolerates_taint([toleration], the_taint) is expected


def test_tolerates_taint_needs_one_tolerating_toleration() -> None:
    the_taint = taint("foo", "bar")
    assert not tolerates_taint([], the_taint)
    assert not tolerates_taint([tol("foo", value="baz"), tol("bar", "Exists")], the_taint)
    assert tolerates_taint([tol("foo", value="baz"), tol("foo", "Exists")], the_taint)


# --- FindMatchingUntoleratedTaint (helpers_test.go) ------------------------------------------

FIND_ROWS: list[tuple[str, list[Taint], list[Toleration], tuple[str, ...] | None, Taint | None]] = [
    ("no taints, no tolerations", [], [], None, None),
    ("tolerations but no taints", [], [tol("foo", "Exists")], None, None),
    ("effects exclude every taint", [taint("foo", "bar", PNS)], [], FILTER_EFFECTS, None),
    (
        "every effect, untolerated",
        [taint("foo", "bar")],
        [tol("foo", value="x")],
        None,
        taint("foo", "bar"),
    ),
    ("tolerated", [taint("foo", "bar")], [tol("foo", value="bar")], FILTER_EFFECTS, None),
    (
        "first untolerated in node order",
        [taint("a", "1"), taint("b", "2", NE), taint("c", "3")],
        [tol("a", "Exists")],
        FILTER_EFFECTS,
        taint("b", "2", NE),
    ),
    (
        "a soft taint before a hard one is skipped",
        [taint("soft", "", PNS), taint("hard")],
        [],
        FILTER_EFFECTS,
        taint("hard"),
    ),
    ("only the given effects", [taint("a"), taint("b", "", NE)], [], (NE,), taint("b", "", NE)),
]


@pytest.mark.parametrize(
    ("taints", "tolerations", "effects", "expected"),
    [r[1:] for r in FIND_ROWS],
    ids=[r[0] for r in FIND_ROWS],
)
def test_find_untolerated_taint(
    taints: list[Taint],
    tolerations: list[Toleration],
    effects: tuple[str, ...] | None,
    expected: Taint | None,
) -> None:
    assert find_untolerated_taint(taints, tolerations, effects) == expected


def test_format_taint_reason_current_and_legacy() -> None:
    assert format_taint_reason(taint("dedicated", "gpu")) == "node(s) had untolerated taint(s)"
    assert format_taint_reason() == ERR_REASON_UNTOLERATED
    assert (
        format_taint_reason(taint("dedicated", "gpu"), legacy=True)
        == "node(s) had untolerated taint {dedicated: gpu}"
    )
    # Go's "{%s: %s}" with an empty value leaves a space before the brace.
    cp = taint("node-role.kubernetes.io/control-plane")
    assert (
        format_taint_reason(cp, legacy=True)
        == "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    )
    with pytest.raises(ValueError):
        format_taint_reason(legacy=True)


# --- TaintToleration Filter (TestTaintTolerationFilter) -------------------------------------

FILTER_ROWS: list[tuple[str, list[Toleration], list[Taint], bool]] = [
    ("no tolerations vs NoSchedule", [], [taint("dedicated", "user1")], False),
    (
        "same key/value/effect, no operator",
        [tol("dedicated", "", "user1", NS)],
        [taint("dedicated", "user1")],
        True,
    ),
    (
        "Equal other value",
        [tol("dedicated", "Equal", "user2", NS)],
        [taint("dedicated", "user1")],
        False,
    ),
    ("Exists ignores the value", [tol("foo", "Exists", effect=NS)], [taint("foo", "bar")], True),
    (
        "several taints all tolerated",
        [tol("dedicated", "Equal", "user2", NS), tol("foo", "Exists", effect=NS)],
        [taint("dedicated", "user2"), taint("foo", "bar")],
        True,
    ),
    (
        "effect mismatch",
        [tol("foo", "Equal", "bar", PNS)],
        [taint("foo", "bar", NS)],
        False,
    ),
    ("empty effect matches", [tol("foo", "Equal", "bar")], [taint("foo", "bar", NS)], True),
    (
        "PreferNoSchedule taint never filters",
        [tol("dedicated", "Equal", "user2", NS)],
        [taint("dedicated", "user1", PNS)],
        True,
    ),
    ("no tolerations vs PreferNoSchedule", [], [taint("dedicated", "user1", PNS)], True),
    ("NoExecute filters", [], [taint("maintenance", "true", NE)], False),
    (
        "tolerationSeconds does not matter",
        [Toleration(key="maintenance", operator="Exists", effect=NE, toleration_seconds=0)],
        [taint("maintenance", "true", NE)],
        True,
    ),
    ("no taints", [], [], True),
]


@pytest.mark.parametrize(
    ("tolerations", "taints", "fits"),
    [r[1:] for r in FILTER_ROWS],
    ids=[r[0] for r in FILTER_ROWS],
)
def test_taint_toleration_filter(
    tolerations: list[Toleration], taints: list[Taint], fits: bool
) -> None:
    result = filtered(pod(*tolerations), node("nodeA", *taints), "TaintToleration")
    status = result.statuses["nodeA"]
    if fits:
        assert status.is_success
        assert result.feasible == ["nodeA"]
    else:
        assert result.feasible == []
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) had untolerated taint(s)",)
        assert status.plugin == "TaintToleration"


# --- TaintToleration Score (TestTaintTolerationScore) ----------------------------------------

ARM = taint("cpu-type", "arm64", PNS)
SSD = taint("disk-type", "ssd", PNS)

SCORE_ROWS: list[tuple[str, list[Toleration], list[list[Taint]], list[int]]] = [
    (
        "tolerated soft taint beats untolerated",
        [tol("foo", "Equal", "bar", PNS)],
        [[taint("foo", "bar", PNS)], [taint("foo", "blah", PNS)]],
        [100, 0],
    ),
    (
        "number of tolerated taints does not matter",
        [tol("cpu-type", "Equal", "arm64", PNS), tol("disk-type", "Equal", "ssd", PNS)],
        [[], [ARM], [ARM, SSD]],
        [100, 100, 100],
    ),
    (
        "more intolerable taints, lower score",
        [tol("foo", "Equal", "bar", PNS)],
        [[], [ARM], [ARM, SSD]],
        [100, 50, 0],
    ),
    (
        "only PreferNoSchedule counts",
        [tol("cpu-type", "Equal", "arm64", NS), tol("disk-type", "Equal", "ssd", NS)],
        [[], [taint("cpu-type", "arm64", NS)], [ARM, SSD]],
        [100, 100, 0],
    ),
    ("no tolerations", [], [[], [ARM]], [100, 0]),
    (
        "integer division",
        [],
        [[], [ARM], [ARM, SSD, taint("x", "", PNS)]],
        [100, 67, 0],
    ),
    (
        "empty-effect toleration counts",
        [tol("foo", "Exists")],
        [[taint("foo", "x", PNS)], [ARM]],
        [100, 0],
    ),
]


@pytest.mark.parametrize(
    ("tolerations", "node_taints", "expected"),
    [r[1:] for r in SCORE_ROWS],
    ids=[r[0] for r in SCORE_ROWS],
)
def test_taint_toleration_score(
    tolerations: list[Toleration], node_taints: list[list[Taint]], expected: list[int]
) -> None:
    nodes = [node(f"node{i}", *taints) for i, taints in enumerate(node_taints)]
    result = cycle(pod(*tolerations), nodes)
    assert result.scores["TaintToleration"] == {
        n.name: s for n, s in zip(nodes, expected, strict=True)
    }
    assert result.totals == {n.name: 3 * s for n, s in zip(nodes, expected, strict=True)}


def test_score_reads_the_tolerations_prescore_kept() -> None:
    plugin = TaintToleration()
    state = CycleState()
    info = PodInfo.of(pod(tol("foo", "Exists", effect=NS), tol("bar", "Exists", effect=PNS)))
    the_node = NodeInfo.of(node("n", taint("foo", "", PNS), taint("bar", "", PNS)))
    plugin.pre_score(state, info, Snapshot.of(Cluster([the_node.node]).finish()), [the_node])
    assert state["TaintToleration"] == (tol("bar", "Exists", effect=PNS),)
    assert plugin.score(state, info, the_node) == 1
    # Without PreScore the plugin derives the same tolerations.
    assert plugin.score(CycleState(), info, the_node) == 1


def test_plugins_are_registered_as_upstream_names_them() -> None:
    assert plugin_class("TaintToleration") is TaintToleration
    assert plugin_class("NodeUnschedulable") is NodeUnschedulable
    assert (TaintToleration.filters, TaintToleration.scores) == (True, True)
    assert (NodeUnschedulable.filters, NodeUnschedulable.scores) == (True, False)


# --- NodeUnschedulable (TestNodeUnschedulable) -----------------------------------------------

CORDON = "node.kubernetes.io/unschedulable"
UNSCHEDULABLE_ROWS: list[tuple[str, bool, list[Toleration], bool]] = [
    ("schedulable node", False, [], True),
    ("cordoned, no tolerations", True, [], False),
    ("cordoned, Exists NoSchedule", True, [tol(CORDON, "Exists", effect=NS)], True),
    ("cordoned, Exists any effect", True, [tol(CORDON, "Exists")], True),
    ("cordoned, Equal empty value", True, [tol(CORDON, effect=NS)], True),
    ("cordoned, Equal value true", True, [tol(CORDON, "Equal", "true", NS)], False),
    ("cordoned, tolerate everything", True, [tol(op="Exists")], True),
    ("cordoned, NoExecute", True, [tol(CORDON, "Exists", effect=NE)], False),
    ("cordoned, PreferNoSchedule", True, [tol(CORDON, "Exists", effect=PNS)], False),
    ("cordoned, other key", True, [tol("node.kubernetes.io/not-ready", "Exists")], False),
]


@pytest.mark.parametrize(
    ("unschedulable", "tolerations", "fits"),
    [r[1:] for r in UNSCHEDULABLE_ROWS],
    ids=[r[0] for r in UNSCHEDULABLE_ROWS],
)
def test_node_unschedulable(unschedulable: bool, tolerations: list[Toleration], fits: bool) -> None:
    result = filtered(
        pod(*tolerations), node("n", unschedulable=unschedulable), "NodeUnschedulable"
    )
    status = result.statuses["n"]
    if fits:
        assert status.is_success
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == (ERR_REASON_UNSCHEDULABLE,) == ("node(s) were unschedulable",)
        assert status.plugin == "NodeUnschedulable"


def test_node_unschedulable_ignores_the_taint_and_runs_first() -> None:
    tainted = node("tainted", taint(CORDON))
    cordoned = node("cordoned", taint(CORDON), unschedulable=True)
    result = cycle(pod(), [tainted, cordoned], filters=("NodeUnschedulable", "TaintToleration"))
    assert result.statuses["tainted"].plugin == "TaintToleration"
    assert result.statuses["cordoned"].plugin == "NodeUnschedulable"
    assert result.message.startswith(
        "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable."
    )


# --- properties ------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", CORDON])
VALUES = st.sampled_from(["", "x", "y"])
EFFECTS = st.sampled_from(TAINT_EFFECTS)
taints_st = st.builds(Taint, key=KEYS, value=VALUES, effect=EFFECTS)
tolerations_st = st.builds(
    Toleration,
    key=st.sampled_from(["", "a", "b", CORDON]),
    operator=st.sampled_from(["Equal", "Exists"]),
    value=VALUES,
    effect=st.sampled_from(["", *TAINT_EFFECTS]),
)
taint_lists = st.lists(taints_st, max_size=5)
toleration_lists = st.lists(tolerations_st, max_size=4)


@settings(max_examples=200, deadline=None)
@given(taints_st, st.sampled_from(["", *TAINT_EFFECTS]))
def test_exists_without_key_tolerates_every_taint_of_its_effect(
    the_taint: Taint, effect: str
) -> None:
    toleration = tol(op="Exists", effect=effect)
    assert tolerates(toleration, the_taint) is (effect in ("", the_taint.effect))


@settings(max_examples=300, deadline=None)
@given(tolerations_st, taints_st)
def test_empty_effect_is_every_specific_effect(toleration: Toleration, the_taint: Taint) -> None:
    wildcard = replace(toleration, effect="")
    for effect in TAINT_EFFECTS:
        probe = replace(the_taint, effect=effect)
        assert tolerates(wildcard, probe) == tolerates(replace(wildcard, effect=effect), probe)
    # A specific effect only narrows what the toleration covers.
    if tolerates(toleration, the_taint):
        assert tolerates(wildcard, the_taint)


@settings(max_examples=200, deadline=None)
@given(taint_lists, toleration_lists, toleration_lists)
def test_more_tolerations_never_make_a_node_infeasible(
    taints: list[Taint], tolerations: list[Toleration], extra: list[Toleration]
) -> None:
    the_node = node("n", *taints)
    before = filtered(pod(*tolerations), the_node, "TaintToleration").feasible
    after = filtered(pod(*tolerations, *extra), the_node, "TaintToleration").feasible
    assert set(before) <= set(after)


@settings(max_examples=200, deadline=None)
@given(taint_lists, toleration_lists)
def test_filter_reports_exactly_the_untolerated_hard_taints(
    taints: list[Taint], tolerations: list[Toleration]
) -> None:
    found = find_untolerated_taint(taints, tolerations, FILTER_EFFECTS)
    hard = [t for t in taints if t.effect in FILTER_EFFECTS]
    if found is None:
        assert all(tolerates_taint(tolerations, t) for t in hard)
    else:
        assert found.effect in FILTER_EFFECTS and not tolerates_taint(tolerations, found)
        before = hard[: hard.index(found)]
        assert all(tolerates_taint(tolerations, t) for t in before)
    # Soft taints never decide feasibility.
    with_soft = filtered(pod(*tolerations), node("n", *taints), "TaintToleration").feasible
    without_soft = filtered(pod(*tolerations), node("n", *hard), "TaintToleration").feasible
    assert with_soft == without_soft == ([] if found else ["n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(taint_lists, min_size=2, max_size=5), toleration_lists)
def test_scores_are_bounded_and_monotone_in_intolerable_soft_taints(
    node_taints: list[list[Taint]], tolerations: list[Toleration]
) -> None:
    soft = [[t for t in taints if t.effect == PNS] for taints in node_taints]
    nodes = [node(f"n{i}", *taints) for i, taints in enumerate(soft)]
    result = cycle(pod(*tolerations), nodes)
    scores = result.scores["TaintToleration"]
    counts = {
        n.name: sum(1 for t in n.taints if not tolerates_taint(tolerations, t)) for n in nodes
    }
    assert all(0 <= s <= 100 for s in scores.values())
    for a in nodes:
        for b in nodes:
            if counts[a.name] <= counts[b.name]:
                assert scores[a.name] >= scores[b.name]
    top = max(counts.values())
    for n in nodes:
        if counts[n.name] == 0:
            assert scores[n.name] == 100
        elif counts[n.name] == top:
            assert scores[n.name] == 0


@settings(max_examples=200, deadline=None)
@given(toleration_lists, taint_lists)
def test_scoring_ignores_only_tolerations_that_cannot_matter(
    tolerations: list[Toleration], taints: list[Taint]
) -> None:
    kept = scoring_tolerations(tuple(tolerations))
    for t in taints:
        if t.effect == PNS:
            assert tolerates_taint(kept, t) == tolerates_taint(tolerations, t)


@settings(max_examples=200, deadline=None)
@given(toleration_lists, st.booleans())
def test_cordon_is_judged_like_the_cordon_taint(
    tolerations: list[Toleration], unschedulable: bool
) -> None:
    the_pod = pod(*tolerations)
    by_flag = filtered(the_pod, node("n", unschedulable=unschedulable), "NodeUnschedulable")
    by_taint = filtered(the_pod, node("n", UNSCHEDULABLE_TAINT), "TaintToleration")
    if unschedulable:
        assert by_flag.feasible == by_taint.feasible
    else:
        assert by_flag.feasible == ["n"]
