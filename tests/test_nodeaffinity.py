"""NodeAffinity and NodeName plugins (podfit.reference.nodeaffinity, .nodename), transcribing
upstream's node_affinity_test.go and node_name_test.go cases, plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.model import (
    Affinity,
    Container,
    Node,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PreferredSchedulingTerm,
    Requirement,
    frozen_map,
)
from podfit.model import NodeAffinity as NodeAffinitySpec
from podfit.reference.framework import CycleState, Profile, ScheduleResult, run_cycle
from podfit.reference.labels import required_node_affinity_matches
from podfit.reference.nodeaffinity import (
    ERR_REASON_CONFLICT,
    ERR_REASON_ENFORCED,
    ERR_REASON_POD,
    NodeAffinity,
    node_names_from_fields,
    parse_added_affinity,
)
from podfit.reference.nodeinfo import NodeInfo, PodInfo, Snapshot
from podfit.reference.nodename import ERR_REASON, NodeName
from podfit.reference.profile import ConfigError
from podfit.reference.status import Code

ABSENT = "node(s) didn't satisfy plugin(s) [NodeAffinity]"


def req(key: str, op: str, *values: str) -> Requirement:
    return Requirement(key=key, operator=op, values=tuple(values))


def name_in(*names: str) -> Requirement:
    return req("metadata.name", "In", *names)


def term(*exprs: Requirement, fields: tuple[Requirement, ...] = ()) -> NodeSelectorTerm:
    return NodeSelectorTerm(match_expressions=exprs, match_fields=fields)


def pod(
    *,
    node_selector: dict[str, str] | None = None,
    required: tuple[NodeSelectorTerm, ...] | None = None,
    preferred: tuple[tuple[int, NodeSelectorTerm], ...] = (),
    node_name: str = "",
) -> Pod:
    affinity = None
    if required is not None or preferred:
        affinity = Affinity(
            node_affinity=NodeAffinitySpec(
                required=NodeSelector(required) if required is not None else None,
                preferred=tuple(PreferredSchedulingTerm(w, t) for w, t in preferred),
            )
        )
    return Pod(
        name="p",
        containers=(Container(name="c"),),
        node_selector=frozen_map(node_selector or {}),
        affinity=affinity,
        node_name=node_name,
    )


def node(name: str, **labels: str) -> Node:
    return Node(name=name, labels=frozen_map(labels))


def schedule(the_pod: Pod, nodes: list[Node], args: dict[str, Any] | None = None) -> ScheduleResult:
    plugin = NodeAffinity(args)
    profile = Profile(
        scheduler_name="default-scheduler",
        filter_plugins=(NodeName(), plugin),
        score_plugins=((plugin, 2),),
    )
    return run_cycle(profile, Snapshot.of(Cluster(nodes).finish()), the_pod)


def filter_status(the_pod: Pod, the_node: Node, args: dict[str, Any] | None = None) -> Any:
    """Filter alone, without PreFilter (upstream's runPreFilter=false rows)."""
    return NodeAffinity(args).filter(CycleState(), PodInfo.of(the_pod), NodeInfo.of(the_node))


# --- Filter (TestNodeAffinity) ------------------------------------------------------------------

FOO_IN = term(req("foo", "In", "bar", "value2"))
GPU_EXISTS_NOT_AMD = term(req("GPU", "Exists"), req("GPU", "NotIn", "AMD", "INTER"))
GPU_EXISTS_IN_AMD = term(req("GPU", "Exists"), req("GPU", "In", "AMD", "INTER"))

FILTER_ROWS: list[tuple[str, Pod, Node, bool]] = [
    ("missing labels", pod(node_selector={"foo": "bar"}), node("n"), False),
    ("same labels", pod(node_selector={"foo": "bar"}), node("n", foo="bar"), True),
    ("superset", pod(node_selector={"foo": "bar"}), node("n", foo="bar", baz="blah"), True),
    ("subset", pod(node_selector={"foo": "bar", "baz": "blah"}), node("n", foo="bar"), False),
    ("In", pod(required=(FOO_IN,)), node("n", foo="bar"), True),
    (
        "Gt 0204 vs 0206",
        pod(required=(term(req("kernel-version", "Gt", "0204")),)),
        node("n", **{"kernel-version": "0206"}),
        True,
    ),
    (
        "NotIn",
        pod(required=(term(req("mem-type", "NotIn", "DDR", "DDR2")),)),
        node("n", **{"mem-type": "DDR3"}),
        True,
    ),
    ("Exists", pod(required=(term(req("GPU", "Exists")),)), node("n", GPU="NVIDIA-GRID-K1"), True),
    (
        "In without match",
        pod(required=(term(req("foo", "In", "value1", "value2")),)),
        node("n", foo="bar"),
        False,
    ),
    ("empty matchExpressions", pod(required=(term(),)), node("n", foo="bar"), False),
    ("no terms", pod(required=()), node("n", foo="bar"), False),
    ("ANDed match", pod(required=(GPU_EXISTS_NOT_AMD,)), node("n", GPU="NVIDIA-GRID-K1"), True),
    ("ANDed mismatch", pod(required=(GPU_EXISTS_IN_AMD,)), node("n", GPU="NVIDIA-GRID-K1"), False),
    (
        "terms ORed",
        pod(required=(FOO_IN, term(req("diffkey", "In", "wrong", "value2")))),
        node("n", foo="bar"),
        True,
    ),
    (
        "nodeSelector and affinity",
        pod(node_selector={"foo": "bar"}, required=(term(req("foo", "Exists")),)),
        node("n", foo="bar"),
        True,
    ),
    (
        "affinity but not nodeSelector",
        pod(node_selector={"foo": "bar"}, required=(term(req("foo", "Exists")),)),
        node("n", foo="barrrrrr"),
        False,
    ),
    (
        "invalid value",
        pod(required=(term(req("foo", "NotIn", "invalid value: ___@#$%^")),)),
        node("n", foo="bar"),
        False,
    ),
    ("matchFields match", pod(required=(term(fields=(name_in("node1"),)),)), node("node1"), True),
    (
        "matchFields mismatch",
        pod(required=(term(fields=(name_in("node1"),)),)),
        node("node2"),
        False,
    ),
    (
        "fields do not match, second term does",
        pod(
            required=(
                term(fields=(name_in("node1"), name_in("node2"))),
                term(req("foo", "In", "bar")),
            )
        ),
        node("node2", foo="bar"),
        True,
    ),
    (
        "one term: fields no, expressions yes",
        pod(required=(term(req("foo", "In", "bar"), fields=(name_in("node1"),)),)),
        node("node2", foo="bar"),
        False,
    ),
    (
        "one term: both match",
        pod(required=(term(req("foo", "In", "bar"), fields=(name_in("node1"),)),)),
        node("node1", foo="bar"),
        True,
    ),
]


@pytest.mark.parametrize(
    ("the_pod", "the_node", "fits"),
    [row[1:] for row in FILTER_ROWS],
    ids=[row[0] for row in FILTER_ROWS],
)
def test_filter(the_pod: Pod, the_node: Node, fits: bool) -> None:
    status = filter_status(the_pod, the_node)
    if fits:
        assert status is None
    else:
        assert status is not None
        assert (status.code, status.reasons) == (
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
            (ERR_REASON_POD,),
        )
    # The plugin agrees with the helper other modules call.
    assert required_node_affinity_matches(the_pod, the_node) is fits


# --- PreFilter ----------------------------------------------------------------------------------


def pre_filter(the_pod: Pod, args: dict[str, Any] | None = None) -> tuple[Any, CycleState]:
    state = CycleState()
    snapshot = Snapshot.of(Cluster([node("node1"), node("node2")]).finish())
    return NodeAffinity(args).pre_filter(state, PodInfo.of(the_pod), snapshot), state


ADDED_REQUIRED = {
    "addedAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["bar"]}]}
            ]
        }
    }
}
ADDED_PREFERRED = {
    "addedAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 3,
                "preference": {
                    "matchExpressions": [{"key": "key", "operator": "In", "values": ["value"]}]
                },
            }
        ]
    }
}


@pytest.mark.parametrize(
    ("the_pod", "args", "skipped"),
    [
        (pod(), None, True),
        (pod(preferred=((1, FOO_IN),)), None, True),
        (pod(), ADDED_PREFERRED, True),
        (pod(node_selector={"foo": "bar"}), None, False),
        (pod(required=(FOO_IN,)), None, False),
        (pod(required=()), None, False),
        (pod(), ADDED_REQUIRED, False),
    ],
    ids=[
        "nothing",
        "preferred only",
        "added preferred only",
        "nodeSelector",
        "required",
        "required without terms",
        "added required",
    ],
)
def test_pre_filter_skip(the_pod: Pod, args: dict[str, Any] | None, skipped: bool) -> None:
    status, _ = pre_filter(the_pod, args)
    assert (status is not None and status.code is Code.SKIP) is skipped


@pytest.mark.parametrize(
    ("terms", "names"),
    [
        ((term(fields=(name_in("node1"),)),), {"node1"}),
        ((term(fields=(name_in("node1"),)), term(fields=(name_in("node2"),))), {"node1", "node2"}),
        ((term(fields=(name_in("node1"), name_in("node1", "node2"))),), {"node1"}),
        ((term(fields=(name_in("node1"), name_in("node2"))),), set()),
        ((term(fields=(name_in("node1"), name_in("node2"))), term(req("foo", "In", "bar"))), None),
        ((term(req("foo", "In", "bar"), fields=(name_in("node1"),)),), {"node1"}),
        ((term(fields=(req("metadata.name", "NotIn", "node1"),)),), None),
        ((term(), term(fields=(name_in("node1"),))), None),
    ],
    ids=[
        "one name",
        "union across terms",
        "intersection within a term",
        "empty intersection",
        "a term without names",
        "names with expressions",
        "NotIn does not narrow",
        "an empty term does not narrow",
    ],
)
def test_node_names_from_fields(
    terms: tuple[NodeSelectorTerm, ...], names: set[str] | None
) -> None:
    assert node_names_from_fields(NodeSelector(terms)) == names


def test_conflicting_names_fail_pre_filter() -> None:
    the_pod = pod(required=(term(fields=(name_in("node1"), name_in("node2"))),))
    status, _ = pre_filter(the_pod)
    assert (status.code, status.reasons) == (
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
        (ERR_REASON_CONFLICT,),
    )
    result = schedule(the_pod, [node("node1"), node("node2", foo="bar")])
    assert result.feasible == []
    assert {s.reasons for s in result.statuses.values()} == {(ERR_REASON_CONFLICT,)}


def test_narrowed_nodes_are_not_filtered() -> None:
    the_pod = pod(required=(term(req("foo", "In", "bar"), fields=(name_in("node1"),)),))
    result = schedule(the_pod, [node("node1"), node("node2", foo="bar"), node("node3")])
    assert result.feasible == []
    assert result.statuses["node1"].reasons == (ERR_REASON_POD,)
    assert result.statuses["node2"].reasons == (ABSENT,)
    assert result.statuses["node2"].code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    # run_cycle has no PostFilter, so this is the FitError part alone (no preemption suffix).
    assert result.message == (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    )


# --- addedAffinity ------------------------------------------------------------------------------


def added_required_name(name: str) -> dict[str, Any]:
    terms = [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}]
    return {
        "addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }


@pytest.mark.parametrize(
    ("the_pod", "args", "reason"),
    [
        (pod(required=(term(req("zone", "In", "foo")),)), added_required_name("node2"), None),
        (
            pod(required=(term(req("zone", "In", "bar")),)),
            added_required_name("node2"),
            ERR_REASON_POD,
        ),
        (pod(), ADDED_REQUIRED, ERR_REASON_ENFORCED),
        (pod(required=(term(req("zone", "In", "bar")),)), ADDED_REQUIRED, ERR_REASON_ENFORCED),
    ],
    ids=[
        "both match",
        "added matches, pod does not",
        "added does not match",
        "added is checked first",
    ],
)
def test_added_affinity_filter(the_pod: Pod, args: dict[str, Any], reason: str | None) -> None:
    status = filter_status(the_pod, node("node2", zone="foo"), args)
    if reason is None:
        assert status is None
    else:
        assert (status.code, status.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (reason,))


def test_added_required_affinity_does_not_narrow() -> None:
    result = schedule(pod(), [node("node1"), node("node2")], added_required_name("node2"))
    assert result.feasible == ["node2"]
    assert result.statuses["node1"].reasons == (ERR_REASON_ENFORCED,)


def test_parse_added_affinity() -> None:
    assert parse_added_affinity(None).required is None
    assert parse_added_affinity({"apiVersion": "x", "kind": "NodeAffinityArgs"}).preferred == ()
    added = parse_added_affinity(
        {
            **added_required_name("node2"),
            "addedAffinity": {
                **added_required_name("node2")["addedAffinity"],
                **ADDED_PREFERRED["addedAffinity"],
            },
        }
    )
    assert added.required == NodeSelector((term(fields=(name_in("node2"),)),))
    assert added.preferred == (PreferredSchedulingTerm(3, term(req("key", "In", "value"))),)


def bad_term(expression: dict[str, Any]) -> dict[str, Any]:
    return {
        "addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [expression]}]
            }
        }
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"addedAffinity": [], "x": 1}, "x: unknown field"),
        ({"addedAffinity": "yes"}, "expected a mapping"),
        ({"addedAffinity": {"requiredDuringExecution": {}}}, "unknown field"),
        (
            bad_term({"key": "invalid key", "operator": "Exists"}),
            "nodeSelectorTerms[0].matchExpressions[0].key",
        ),
        (bad_term({"key": "foo", "operator": "In", "values": []}), "values"),
        (bad_term({"key": "foo", "operator": "NotIn", "values": ["not valid!"]}), "values[0]"),
        (bad_term({"key": "foo", "operator": "Gt", "values": ["-1"]}), "values[0]"),
        (bad_term({"key": "foo", "operator": "Near", "values": ["x"]}), "operator"),
        (
            {
                "addedAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 1,
                            "preference": {
                                "matchExpressions": [{"key": "a b", "operator": "Exists"}]
                            },
                        }
                    ]
                }
            },
            "preferredDuringSchedulingIgnoredDuringExecution[0].matchExpressions[0].key",
        ),
        (
            {
                "addedAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": -1}]
                }
            },
            "must not be negative",
        ),
        (
            {
                "addedAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": "1"}]
                }
            },
            "expected an integer",
        ),
    ],
    ids=[
        "unknown top-level field",
        "not a mapping",
        "unknown affinity field",
        "invalid key",
        "In without values",
        "invalid label value",
        "negative Gt bound",
        "unknown operator",
        "invalid preferred term",
        "negative weight",
        "weight not an integer",
    ],
)
def test_parse_added_affinity_rejects(args: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match="NodeAffinity args") as info:
        parse_added_affinity(args)
    assert fragment in str(info.value)


def test_weight_zero_added_terms_are_not_parsed_strictly() -> None:
    invalid = {"matchExpressions": [{"key": "a b", "operator": "Exists"}]}
    args = {
        "addedAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 0, "preference": invalid}
            ]
        }
    }
    added = parse_added_affinity(args)
    assert added.preferred[0].weight == 0


# --- Score (TestNodeAffinityPriority) -----------------------------------------------------------

AFFINITY1 = ((2, term(req("foo", "In", "bar"))),)
AFFINITY2 = (
    (2, term(req("foo", "In", "bar"))),
    (4, term(req("key", "In", "value"))),
    (5, term(req("foo", "In", "bar"), req("key", "In", "value"), req("az", "In", "az1"))),
)
LABEL1 = {"foo": "bar"}
LABEL2 = {"key": "value"}
LABEL3 = {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}
ADDED_AFFINITY1 = {
    "addedAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 2,
                "preference": {
                    "matchExpressions": [{"key": "foo", "operator": "In", "values": ["bar"]}]
                },
            }
        ]
    }
}


@pytest.mark.parametrize(
    ("the_pod", "labels", "args", "expected"),
    [
        (pod(preferred=AFFINITY1), [LABEL4, LABEL2, LABEL3], None, [0, 0, 0]),
        (pod(preferred=AFFINITY1), [LABEL1, LABEL2, LABEL3], None, [100, 0, 0]),
        (pod(preferred=AFFINITY2), [LABEL1, LABEL5, LABEL2], None, [18, 100, 36]),
        (pod(), [LABEL1, LABEL2], ADDED_AFFINITY1, [100, 0]),
        (pod(preferred=AFFINITY1), [LABEL1, LABEL2, LABEL5], ADDED_PREFERRED, [40, 60, 100]),
    ],
    ids=["no node matches", "one node matches", "different priorities", "added", "added and pod"],
)
def test_score(
    the_pod: Pod, labels: list[dict[str, str]], args: dict[str, Any] | None, expected: list[int]
) -> None:
    nodes = [node(f"node{i}", **lab) for i, lab in enumerate(labels, 1)]
    result = schedule(the_pod, nodes, args)
    assert [result.scores["NodeAffinity"][n.name] for n in nodes] == expected
    assert result.totals == {n.name: 2 * s for n, s in zip(nodes, expected, strict=True)}


def test_pre_score_skips_without_preferred_terms() -> None:
    the_pod = pod(node_selector={"foo": "bar"})
    status = NodeAffinity().pre_score(CycleState(), PodInfo.of(the_pod), Snapshot.of(Cluster()), [])
    assert status is not None and status.code is Code.SKIP
    result = schedule(the_pod, [node("n1", foo="bar"), node("n2", foo="bar")])
    assert "NodeAffinity" not in result.scores


def test_pre_score_errors_on_a_broken_preferred_term() -> None:
    the_pod = pod(preferred=((2, term(req("invalid key", "In", "bar"))),))
    status = NodeAffinity().pre_score(CycleState(), PodInfo.of(the_pod), Snapshot.of(Cluster()), [])
    assert status is not None and status.code is Code.ERROR
    assert status.reasons[0].startswith("[0].matchExpressions[0].key")


# --- NodeName -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod_node_name", "node_name", "fits"),
    [("", "foo", True), ("foo", "foo", True), ("bar", "foo", False), ("Foo", "foo", False)],
    ids=["no nodeName", "same name", "other name", "case-sensitive"],
)
def test_node_name_filter(pod_node_name: str, node_name: str, fits: bool) -> None:
    status = NodeName().filter(
        CycleState(), PodInfo.of(pod(node_name=pod_node_name)), NodeInfo.of(node(node_name))
    )
    if fits:
        assert status is None
    else:
        assert status is not None
        assert (status.code, status.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (ERR_REASON,))


def test_node_name_runs_before_node_affinity() -> None:
    the_pod = pod(node_name="n2", node_selector={"disktype": "ssd"})
    result = schedule(the_pod, [node("n1", disktype="ssd"), node("n2")])
    assert result.statuses["n1"].plugin == "NodeName"
    assert result.statuses["n2"].plugin == "NodeAffinity"


# --- properties ---------------------------------------------------------------------------------

NAMES = ("node1", "node2", "node3")
KEYS = ("foo", "key", "az")
VALUES = ("bar", "value", "az1", "1", "010")
requirements = st.builds(
    Requirement,
    key=st.sampled_from(KEYS),
    operator=st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")),
    values=st.lists(st.sampled_from(VALUES), max_size=2).map(tuple),
)
field_requirements = st.builds(
    Requirement,
    key=st.just("metadata.name"),
    operator=st.sampled_from(("In", "NotIn")),
    values=st.sampled_from(NAMES).map(lambda n: (n,)),
)
terms = st.builds(
    NodeSelectorTerm,
    match_expressions=st.lists(requirements, max_size=2).map(tuple),
    match_fields=st.lists(field_requirements, max_size=2).map(tuple),
)
label_maps = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
node_lists = st.lists(label_maps, min_size=1, max_size=3).map(
    lambda labels: [node(n, **lab) for n, lab in zip(NAMES, labels, strict=False)]
)


@settings(max_examples=150)
@given(st.lists(terms, max_size=3), node_lists)
def test_narrowing_never_drops_a_node_that_fits(
    required: list[NodeSelectorTerm], nodes: list[Node]
) -> None:
    the_pod = pod(required=tuple(required))
    result = schedule(the_pod, nodes)
    for n in nodes:
        fits = required_node_affinity_matches(the_pod, n)
        assert (n.name in result.feasible) is fits
        if not fits:
            status = result.statuses[n.name]
            assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
            assert status.reasons[0] in (ERR_REASON_POD, ABSENT, ERR_REASON_CONFLICT)


@settings(max_examples=150)
@given(st.lists(st.tuples(st.integers(1, 100), terms), min_size=1, max_size=4), node_lists)
def test_scores_stay_within_0_and_100_and_keep_the_order(
    preferred: list[tuple[int, NodeSelectorTerm]], nodes: list[Node]
) -> None:
    the_pod = pod(preferred=tuple(preferred))
    result = schedule(the_pod, nodes)
    if len(result.feasible) < 2:
        # kube-scheduler does not score a single feasible node.
        assert "NodeAffinity" not in result.scores
        return
    scores = result.scores["NodeAffinity"]
    raw = {
        n.name: NodeAffinity().score(CycleState(), PodInfo.of(the_pod), NodeInfo.of(n))
        for n in nodes
    }
    assert all(0 <= s <= 100 for s in scores.values())
    if max(raw.values()) > 0:
        assert max(scores.values()) == 100
    else:
        assert set(scores.values()) == {0}
    for a in nodes:
        for b in nodes:
            if raw[a.name] > raw[b.name]:
                assert scores[a.name] >= scores[b.name]
            if raw[a.name] == raw[b.name]:
                assert scores[a.name] == scores[b.name]
