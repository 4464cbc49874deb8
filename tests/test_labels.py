"""Label selectors and node selector terms (podfit.reference.labels) against upstream's
apimachinery labels and component-helpers nodeaffinity behaviour."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.model import (
    Affinity,
    Container,
    LabelSelector,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PreferredSchedulingTerm,
    Requirement,
    frozen_map,
)
from podfit.reference.labels import (
    INT64_MAX,
    INT64_MIN,
    label_selector_problems,
    node_selector_matches,
    node_selector_term_matches,
    node_selector_term_problems,
    parse_int64,
    preferred_score,
    preferred_terms_problems,
    required_node_affinity_matches,
    requirement_matches,
    requirement_problems,
    selector_matches,
)

NODE_OPS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def req(key: str, op: str, *values: str) -> Requirement:
    return Requirement(key=key, operator=op, values=tuple(values))


def name_is(name: str, op: str = "In") -> Requirement:
    return req("metadata.name", op, name)


# --- Go integer parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10),
        ("010", 10),
        ("0204", 204),
        ("+5", 5),
        ("-5", -5),
        ("0", 0),
        ("-0", 0),
        (str(INT64_MAX), INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
        (str(INT64_MAX + 1), None),
        (str(INT64_MIN - 1), None),
        ("", None),
        (" 5", None),
        ("5 ", None),
        ("1_000", None),
        ("1.5", None),
        ("1e3", None),
        ("0x10", None),
        ("abc", None),
        ("+", None),
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE: Python's int() accepts it, Go does not
    ],
    ids=repr,
)
def test_parse_int64_is_go_parseint(text: str, value: int | None) -> None:
    assert parse_int64(text) == value


# --- requirement matching -----------------------------------------------------------------------

REQUIREMENT_ROWS = [
    ("In value listed", req("env", "In", "prod", "dev"), {"env": "dev"}, True),
    ("In value not listed", req("env", "In", "prod"), {"env": "dev"}, False),
    ("In label missing", req("env", "In", "prod"), {}, False),
    ("In empty value listed", req("env", "In", ""), {"env": ""}, True),
    ("In empty value vs missing", req("env", "In", ""), {}, False),
    ("NotIn label missing", req("env", "NotIn", "prod"), {}, True),
    ("NotIn value listed", req("env", "NotIn", "prod", "dev"), {"env": "prod"}, False),
    ("NotIn value not listed", req("env", "NotIn", "prod"), {"env": "dev"}, True),
    ("Exists empty value", req("gpu", "Exists"), {"gpu": ""}, True),
    ("Exists missing", req("gpu", "Exists"), {"cpu": "x"}, False),
    ("DoesNotExist missing", req("gpu", "DoesNotExist"), {}, True),
    ("DoesNotExist empty value", req("gpu", "DoesNotExist"), {"gpu": ""}, False),
    ("Gt greater", req("gen", "Gt", "5"), {"gen": "6"}, True),
    ("Gt equal", req("gen", "Gt", "5"), {"gen": "5"}, False),
    ("Gt smaller", req("gen", "Gt", "5"), {"gen": "4"}, False),
    ("Gt leading zeros label", req("gen", "Gt", "9"), {"gen": "010"}, True),
    ("Gt leading zeros bound", req("gen", "Gt", "0204"), {"gen": "0206"}, True),
    ("Gt numbers not strings", req("gen", "Gt", "9"), {"gen": "10"}, True),
    ("Lt numbers not strings", req("gen", "Lt", "10"), {"gen": "9"}, True),
    ("Lt equal", req("gen", "Lt", "010"), {"gen": "10"}, False),
    ("Gt label missing", req("gen", "Gt", "0"), {}, False),
    ("Lt label missing", req("gen", "Lt", "100"), {}, False),
    ("Gt label not integer", req("gen", "Gt", "1"), {"gen": "abc"}, False),
    ("Lt label not integer", req("gen", "Lt", "100"), {"gen": "abc"}, False),
    ("Gt label decimal", req("gen", "Gt", "1"), {"gen": "2.5"}, False),
    ("Gt label empty", req("gen", "Gt", "-1"), {"gen": ""}, False),
    ("Gt label beyond int64", req("gen", "Gt", "1"), {"gen": "99999999999999999999"}, False),
    ("Gt bound not integer", req("gen", "Gt", "x"), {"gen": "5"}, False),
    ("Gt two bounds", req("gen", "Gt", "1", "2"), {"gen": "5"}, False),
    ("Gt no bound", req("gen", "Gt"), {"gen": "5"}, False),
    ("Lt negative numbers compare", req("gen", "Lt", "-1"), {"gen": "-5"}, True),
    ("unknown operator", req("env", "Equals", "prod"), {"env": "prod"}, False),
]


@pytest.mark.parametrize(
    ("requirement", "labels", "expected"),
    [row[1:] for row in REQUIREMENT_ROWS],
    ids=[row[0] for row in REQUIREMENT_ROWS],
)
def test_requirement_matches(
    requirement: Requirement, labels: dict[str, str], expected: bool
) -> None:
    assert requirement_matches(requirement, labels) is expected


PROBLEM_ROWS = [
    ("valid In", req("env", "In", "a", "b"), []),
    ("valid Gt", req("gen", "Gt", "010"), []),
    ("valid Exists", req("example.com/gpu", "Exists"), []),
    ("invalid key", req("invalid key", "Exists"), ["key"]),
    ("key with empty prefix", req("/gpu", "Exists"), ["key"]),
    ("In without values", req("env", "In"), ["values set can't be empty"]),
    ("NotIn without values", req("env", "NotIn"), ["values set can't be empty"]),
    ("Exists with values", req("env", "Exists", "x"), ["values set must be empty"]),
    ("Gt two values", req("gen", "Gt", "1", "2"), ["exactly one value"]),
    ("Gt not integer", req("gen", "Gt", "abc"), ["must be an integer"]),
    ("Gt negative is not a label value", req("gen", "Gt", "-1"), ["values[0]"]),
    ("Lt plus sign is not a label value", req("gen", "Lt", "+5"), ["values[0]"]),
    ("Gt with space is not an integer", req("gen", "Gt", " 5"), ["must be an integer"]),
    ("invalid label value", req("foo", "NotIn", "invalid value: ___@#$%^"), ["values[0]"]),
    ("unknown operator", req("env", "Equals", "x"), ["operator"]),
]


@pytest.mark.parametrize(
    ("requirement", "fragments"),
    [row[1:] for row in PROBLEM_ROWS],
    ids=[row[0] for row in PROBLEM_ROWS],
)
def test_requirement_problems(requirement: Requirement, fragments: list[str]) -> None:
    problems = requirement_problems(requirement, NODE_OPS)
    if not fragments:
        assert problems == []
    for fragment in fragments:
        assert any(fragment in p for p in problems), problems


def test_label_selectors_do_not_know_gt() -> None:
    selector = LabelSelector(match_expressions=(req("gen", "Gt", "1"),))
    assert label_selector_problems(selector) == ["'Gt' is not a valid label selector operator"]
    assert selector_matches(selector, {"gen": "5"}) is False


# --- metav1.LabelSelector -----------------------------------------------------------------------

SELECTOR_ROWS: list[tuple[str, LabelSelector | None, dict[str, str], bool]] = [
    ("nil matches nothing", None, {"a": "b"}, False),
    ("nil matches no empty set", None, {}, False),
    ("empty matches anything", LabelSelector(), {"a": "b"}, True),
    ("empty matches empty set", LabelSelector(), {}, True),
    (
        "matchLabels subset",
        LabelSelector(match_labels=frozen_map({"a": "b"})),
        {"a": "b", "c": "d"},
        True,
    ),
    (
        "matchLabels other value",
        LabelSelector(match_labels=frozen_map({"a": "b"})),
        {"a": "c"},
        False,
    ),
    ("matchLabels missing", LabelSelector(match_labels=frozen_map({"a": "b"})), {"c": "b"}, False),
    ("matchLabels empty value", LabelSelector(match_labels=frozen_map({"a": ""})), {}, False),
    (
        "labels AND expressions",
        LabelSelector(match_labels=frozen_map({"a": "b"}), match_expressions=(req("c", "Exists"),)),
        {"a": "b"},
        False,
    ),
    (
        "expressions ANDed",
        LabelSelector(match_expressions=(req("c", "Exists"), req("c", "NotIn", "x"))),
        {"c": "y"},
        True,
    ),
    (
        "invalid value matches nothing",
        LabelSelector(match_expressions=(req("c", "NotIn", "not valid!"),)),
        {"c": "y"},
        False,
    ),
]


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [row[1:] for row in SELECTOR_ROWS],
    ids=[row[0] for row in SELECTOR_ROWS],
)
def test_selector_matches(
    selector: LabelSelector | None, labels: dict[str, str], expected: bool
) -> None:
    assert selector_matches(selector, labels) is expected


# --- node selector terms ------------------------------------------------------------------------

TERM_ROWS = [
    ("empty term", NodeSelectorTerm(), {"foo": "bar"}, "n1", False),
    (
        "label In",
        NodeSelectorTerm((req("label_1", "In", "label_1_val"),)),
        {"label_1": "label_1_val"},
        "",
        True,
    ),
    ("name In", NodeSelectorTerm(match_fields=(name_is("host_1"),)), {}, "host_1", True),
    (
        "name In other node",
        NodeSelectorTerm(match_fields=(name_is("host_1"),)),
        {},
        "host_2",
        False,
    ),
    (
        "name NotIn",
        NodeSelectorTerm(match_fields=(name_is("host_1", "NotIn"),)),
        {},
        "host_2",
        True,
    ),
    (
        "name NotIn named node",
        NodeSelectorTerm(match_fields=(name_is("host_1", "NotIn"),)),
        {},
        "host_1",
        False,
    ),
    (
        "field In two values is invalid",
        NodeSelectorTerm(match_fields=(req("metadata.name", "In", "host_1", "host_2"),)),
        {},
        "host_1",
        False,
    ),
    (
        "field Exists is invalid",
        NodeSelectorTerm(match_fields=(req("metadata.name", "Exists"),)),
        {},
        "host_1",
        False,
    ),
    (
        "label named metadata.name is not the name",
        NodeSelectorTerm(match_fields=(name_is("host_1"),)),
        {"metadata.name": "host_1"},
        "not_host_1",
        False,
    ),
    (
        "expression on metadata.name reads labels",
        NodeSelectorTerm((req("metadata.name", "In", "host_1"),)),
        {},
        "host_1",
        False,
    ),
    (
        "fields and expressions: only the name matches",
        NodeSelectorTerm((req("label_1", "In", "label_1_val"),), (name_is("host_1"),)),
        {},
        "host_1",
        False,
    ),
    (
        "fields and expressions: both match",
        NodeSelectorTerm((req("label_1", "In", "label_1_val"),), (name_is("host_1"),)),
        {"label_1": "label_1_val"},
        "host_1",
        True,
    ),
    (
        "unknown field reads empty",
        NodeSelectorTerm(match_fields=(req("spec.unschedulable", "NotIn", "true"),)),
        {},
        "host_1",
        True,
    ),
    (
        "a node without a name skips matchFields",
        NodeSelectorTerm(match_fields=(name_is("host_1"),)),
        {},
        "",
        True,
    ),
    (
        "invalid value never matches",
        NodeSelectorTerm((req("foo", "NotIn", "invalid value: ___@#$%^"),)),
        {"foo": "bar"},
        "n1",
        False,
    ),
    (
        "negative bound never matches",
        NodeSelectorTerm((req("gen", "Gt", "-1"),)),
        {"gen": "5"},
        "n1",
        False,
    ),
]


@pytest.mark.parametrize(
    ("term", "labels", "name", "expected"),
    [row[1:] for row in TERM_ROWS],
    ids=[row[0] for row in TERM_ROWS],
)
def test_node_selector_term_matches(
    term: NodeSelectorTerm, labels: dict[str, str], name: str, expected: bool
) -> None:
    assert node_selector_term_matches(term, labels, name) is expected


def test_term_problems_name_the_field() -> None:
    term = NodeSelectorTerm(
        (req("ok", "Exists"), req("invalid key", "In", "x")),
        (req("metadata.name", "In", "a", "b"),),
    )
    problems = node_selector_term_problems(term)
    assert any(p.startswith("matchExpressions[1].key") for p in problems), problems
    assert "matchFields[0].values: must have one element" in problems


def test_node_selector_terms_are_ored_and_empty_list_matches_nothing() -> None:
    foo = NodeSelectorTerm((req("foo", "In", "bar"),))
    other = NodeSelectorTerm((req("diffkey", "In", "wrong"),))
    assert node_selector_matches(NodeSelector((other, foo)), {"foo": "bar"}, "n1")
    assert not node_selector_matches(NodeSelector((other,)), {"foo": "bar"}, "n1")
    assert not node_selector_matches(NodeSelector(()), {"foo": "bar"}, "n1")
    assert not node_selector_matches(NodeSelector((NodeSelectorTerm(),)), {"foo": "bar"}, "n1")


def test_an_invalid_term_does_not_block_a_valid_one() -> None:
    bad = NodeSelectorTerm(match_fields=(req("metadata.name", "In", "host_1", "host_2"),))
    good = NodeSelectorTerm((req("label_1", "Exists"),))
    assert node_selector_matches(NodeSelector((bad, good)), {"label_1": "x"}, "host_1")


# --- preferred terms ----------------------------------------------------------------------------


def test_preferred_score_sums_matching_weights() -> None:
    # component-helpers: weights 5 (name host_1), 7 (unknown label), 11 (label_1) -> 16
    terms = (
        PreferredSchedulingTerm(5, NodeSelectorTerm(match_fields=(name_is("host_1"),))),
        PreferredSchedulingTerm(7, NodeSelectorTerm((req("unknown", "In", "x"),))),
        PreferredSchedulingTerm(11, NodeSelectorTerm((req("label_1", "In", "label_1_val"),))),
    )
    assert preferred_score(terms, {"label_1": "label_1_val"}, "host_1") == 16
    assert preferred_score(terms, {"label_1": "label_1_val"}, "host_2") == 11
    assert preferred_score((), {"label_1": "label_1_val"}, "host_1") == 0


def test_preferred_problems_skip_weight_zero_and_empty_terms() -> None:
    invalid = NodeSelectorTerm((req("invalid key", "In", "bar"),))
    assert preferred_terms_problems((PreferredSchedulingTerm(0, invalid),)) == []
    assert preferred_terms_problems((PreferredSchedulingTerm(3, NodeSelectorTerm()),)) == []
    problems = preferred_terms_problems((PreferredSchedulingTerm(2, invalid),))
    assert len(problems) == 1 and problems[0].startswith("[0].matchExpressions[0].key")
    # A weight-0 term never scores, even when it would match.
    always = NodeSelectorTerm((req("a", "Exists"),))
    assert preferred_score((PreferredSchedulingTerm(0, always),), {"a": ""}, "n") == 0


# --- a pod's required node affinity --------------------------------------------------------------


def make_pod(
    node_selector: dict[str, str] | None = None, required: NodeSelector | None = None
) -> Pod:
    affinity = Affinity(node_affinity=NodeAffinity(required=required)) if required else None
    return Pod(
        name="p",
        containers=(Container(name="c"),),
        node_selector=frozen_map(node_selector or {}),
        affinity=affinity,
    )


def make_node(name: str, labels: dict[str, str]) -> Node:
    return Node(name=name, labels=frozen_map(labels))


def test_required_node_affinity_needs_node_selector_and_affinity() -> None:
    exists = NodeSelector((NodeSelectorTerm((req("foo", "Exists"),)),))
    pod = make_pod({"foo": "bar"}, exists)
    assert required_node_affinity_matches(pod, make_node("n", {"foo": "bar"}))
    assert not required_node_affinity_matches(pod, make_node("n", {"foo": "barrrrrr"}))
    only_selector = make_pod({"foo": "bar", "baz": "blah"})
    assert not required_node_affinity_matches(only_selector, make_node("n", {"foo": "bar"}))
    assert required_node_affinity_matches(make_pod(), make_node("n", {}))
    assert not required_node_affinity_matches(
        make_pod(required=NodeSelector(())), make_node("n", {})
    )


def test_required_node_affinity_with_empty_nodeselector_value() -> None:
    pod = make_pod({"gpu": ""})
    assert required_node_affinity_matches(pod, make_node("n", {"gpu": ""}))
    assert not required_node_affinity_matches(pod, make_node("n", {}))


# --- properties ---------------------------------------------------------------------------------

KEYS = ("a", "b", "env", "example.com/zone")
VALUES = ("", "x", "y", "0", "5", "010", "-3", "abc", "99999999999999999999")
label_maps = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4)
requirements = st.builds(
    Requirement,
    key=st.sampled_from(KEYS),
    operator=st.sampled_from(NODE_OPS),
    values=st.lists(st.sampled_from(VALUES), max_size=3).map(tuple),
)
label_selector_requirements = requirements.filter(lambda r: r.operator not in ("Gt", "Lt"))
label_selectors = st.builds(
    LabelSelector,
    match_labels=st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2).map(
        frozen_map
    ),
    match_expressions=st.lists(label_selector_requirements, max_size=3).map(tuple),
)
NAMES = ("n1", "n2", "n3")
terms = st.builds(
    NodeSelectorTerm,
    match_expressions=st.lists(requirements, max_size=3).map(tuple),
    match_fields=st.lists(
        st.builds(
            Requirement,
            key=st.just("metadata.name"),
            operator=st.sampled_from(("In", "NotIn")),
            values=st.sampled_from(NAMES).map(lambda n: (n,)),
        ),
        max_size=2,
    ).map(tuple),
)
# A key no generated selector mentions, with any value.
extra_labels = st.tuples(st.sampled_from(("unrelated", "other.io/key")), st.sampled_from(VALUES))


@settings(max_examples=300)
@given(label_selectors, label_maps, extra_labels)
def test_unmentioned_label_never_changes_a_selector(
    selector: LabelSelector, labels: dict[str, str], extra: tuple[str, str]
) -> None:
    key, value = extra
    assert selector_matches(selector, labels) == selector_matches(selector, {**labels, key: value})


@settings(max_examples=300)
@given(terms, label_maps, st.sampled_from(NAMES), extra_labels)
def test_unmentioned_label_never_changes_a_term(
    term: NodeSelectorTerm, labels: dict[str, str], name: str, extra: tuple[str, str]
) -> None:
    key, value = extra
    before = node_selector_term_matches(term, labels, name)
    assert before == node_selector_term_matches(term, {**labels, key: value}, name)


@settings(max_examples=300)
@given(st.sampled_from(KEYS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3), label_maps)
def test_notin_negates_in_when_the_key_exists(
    key: str, values: list[str], labels: dict[str, str]
) -> None:
    in_ = requirement_matches(req(key, "In", *values), labels)
    not_in = requirement_matches(req(key, "NotIn", *values), labels)
    if key in labels:
        assert not_in is not in_
    else:
        assert (in_, not_in) == (False, True)
    assert requirement_matches(req(key, "DoesNotExist"), labels) is not requirement_matches(
        req(key, "Exists"), labels
    )


@settings(max_examples=300)
@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=3),
)
def test_gt_lt_compare_integers(label: int, bound: int, zeros: int) -> None:
    labels = {"gen": "0" * zeros + str(label)}
    gt = requirement_matches(req("gen", "Gt", str(bound)), labels)
    lt = requirement_matches(req("gen", "Lt", "0" * zeros + str(bound)), labels)
    assert gt is (label > bound)
    assert lt is (label < bound)
    assert not (gt and lt)


@settings(max_examples=200)
@given(st.lists(terms, max_size=3), label_maps, st.sampled_from(NAMES))
def test_terms_are_ored(
    term_list: list[NodeSelectorTerm], labels: dict[str, str], name: str
) -> None:
    selector = NodeSelector(tuple(term_list))
    expected = any(node_selector_term_matches(t, labels, name) for t in term_list)
    assert node_selector_matches(selector, labels, name) is expected


@settings(max_examples=200)
@given(terms, label_maps, st.sampled_from(NAMES))
def test_term_is_the_and_of_its_parts(
    term: NodeSelectorTerm, labels: dict[str, str], name: str
) -> None:
    matched = node_selector_term_matches(term, labels, name)
    if is_valid := not node_selector_term_problems(term):
        parts = [NodeSelectorTerm((r,)) for r in term.match_expressions] + [
            NodeSelectorTerm(match_fields=(f,)) for f in term.match_fields
        ]
        expected = bool(parts) and all(node_selector_term_matches(p, labels, name) for p in parts)
        assert matched is expected
    assert is_valid or not matched
