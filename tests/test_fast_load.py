"""The fast readers give what the strict loader gives: the same objects, counts and
origins, or the same located error, on generated, mutated and hostile inputs."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podfit import loading
from podfit.conformance import strategies as cs
from podfit.defaults import default_object
from podfit.errors import ManifestError
from podfit.fastbuild import build
from podfit.fastload import Doubt, PlainScalars, YamlEvents, json_document
from podfit.loading import LoadReport, iter_objects
from podfit.manifest import parse_object, to_manifest

Outcome = tuple[str, Any]


def read(text: str, *, fast: bool) -> Outcome:
    """What loading ``text`` gives: ("ok", objects with origins and the report's counts)
    or ("error", the message)."""
    was = loading._FAST
    loading._FAST = fast
    report = LoadReport()
    try:
        objects = list(iter_objects(io.StringIO(text), report))
    except ManifestError as exc:
        return "error", str(exc)
    finally:
        loading._FAST = was
    return "ok", (objects, dict(report.loaded), dict(report.skipped))


def assert_same(text: str) -> Outcome:
    strict = read(text, fast=False)
    fast = read(text, fast=True)
    assert fast == strict
    return strict


def strict_object(manifest: Any) -> Any:
    obj = parse_object(manifest)
    return default_object(obj) if obj is not None else None


def assert_vouched_alike(manifests: list[Any]) -> None:
    """What the fast path vouches for, the strict parser accepts and builds the same."""
    for manifest in manifests:
        try:
            fast = build(manifest)
        except Doubt:
            continue
        assert fast == strict_object(manifest)


def kubectl_list(manifests: list[Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": manifests, "metadata": {}}


def dumps(manifests: list[Any], style: str) -> str:
    """The manifests as users have them: a List in YAML or JSON, or YAML documents."""
    if style == "json":
        return json.dumps(kubectl_list(manifests), indent=4)
    if style == "yaml-list":
        return yaml.safe_dump(kubectl_list(manifests), sort_keys=False)
    if style == "yaml-flow":
        return yaml.safe_dump(kubectl_list(manifests), default_flow_style=True)
    return yaml.safe_dump_all(manifests, sort_keys=False)


STYLES = st.sampled_from(["json", "yaml-list", "yaml-flow", "yaml-docs"])


@st.composite
def cluster_manifests(draw: st.DrawFn) -> list[Any]:
    cluster = draw(cs.clusters(min_nodes=1, max_nodes=3, max_running_pods=4))
    pod = draw(cs.pending_pods_for(cluster))
    return [to_manifest(obj) for obj in (*cluster.objects(), pod)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests=cluster_manifests(), style=STYLES)
def test_generated_clusters_read_alike(manifests: list[Any], style: str) -> None:
    kind, _ = assert_same(dumps(manifests, style))
    assert kind == "ok"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_manifests())
def test_fast_build_equals_strict_parse(manifests: list[Any]) -> None:
    assert_vouched_alike(manifests)


# --- hostile manifests ----------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(
        [
            "",
            "yes",
            "0777",
            "1e3",
            "1:20",
            "2024-01-01",
            "Always",
            "Exists",
            "Equal",
            "NoExecute",
            "TCP",
            "Running",
            "100m",
            "-1",
            "web",
            "Bad Name",
            "a/b/c",
            "x" * 70,
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, (*prefix, index))


FIELDS = [
    "name",
    "namespace",
    "labels",
    "annotations",
    "priority",
    "tolerations",
    "nodeName",
    "hostNetwork",
    "restartPolicy",
    "phase",
    "containers",
    "initContainers",
    "ports",
    "hostPort",
    "resources",
    "requests",
    "limits",
    "taints",
    "effect",
    "operator",
    "unschedulable",
    "allocatable",
    "images",
    "sizeBytes",
    "conditions",
    "status",
    "creationTimestamp",
    "schedulingGates",
    "resourceClaims",
    "topologySpreadConstraints",
    "affinity",
    "unknownField",
]


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    manifests = copy.deepcopy(draw(cluster_manifests()))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(manifests) - 1))
        where = draw(st.sampled_from(list(paths(manifests[i]))))
        value = draw(values)
        if where and draw(st.booleans()):
            # Add a field next to an existing one instead of replacing it.
            parent = manifests[i]
            for key in where[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                parent[draw(st.sampled_from(FIELDS))] = value
                continue
        if not where:
            continue
        parent = manifests[i]
        for key in where[:-1]:
            parent = parent[key]
        parent[where[-1]] = value
    return manifests


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_manifests_build_alike(manifests: list[Any]) -> None:
    assert_vouched_alike(manifests)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests=mutated(), style=STYLES)
def test_mutated_files_read_alike(manifests: list[Any], style: str) -> None:
    assert_same(dumps(manifests, style))


# --- hostile text ---------------------------------------------------------------------------

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: %s}}\nspec: {containers: [{name: c}]}\n"
HOSTILE_YAML = [
    POD % "web",
    POD % "yes",  # a boolean to YAML 1.1: an error
    POD % "'yes'",
    POD % "0777",
    POD % "1e3",
    POD % "1:20",
    POD % "2024-01-01",
    POD % "!!str 12",
    POD % "&a x",
    "a: &x {b: 1}\nc: *x\n",
    "base: &b {apiVersion: v1, kind: Namespace}\nother:\n  <<: *b\n",
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, name: b}\n",
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n",
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
    "%YAML 1.1\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    "apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n",
    "? [a, b]\n: c\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- {kind: Namespace, apiVersion: v1, metadata: {name: a}}\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- [broken\n",
    "apiVersion: v1\nkind: Thing\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n",
    "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\nkind: List\n",
    "apiVersion: v1\nkind: List\nitems: {a: 1}\n",
    "items:\n- kind: Pod\n",
    "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - x\n",
    "1: a\n1.0: b\n",
    "",
    "---\n...\n",
    "~\n",
    "a: =\n",
]
HOSTILE_JSON = [
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "name": "b"}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a\\u003a", "name": "b"}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": 1e3}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}, "x": 1.5e+3}',
    '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "status": {"capacity": {"cpu": 1e3}}}',
    '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "status": {"capacity": {"cpu": 2.5}}}',
    '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], "priority": 123456789012345678901234}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"x": "\\ud83d\\ude00"}}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"x": "\u2028"}}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"x": "\x85"}}}',
    '{"apiVersion": "v1",\t"kind": "Namespace", "metadata": {"name": "a"}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"x": "\x07"}}}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}\n{"b": 1}',
    '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}} # comment',
    '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x:y"}}]}',
    '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "name": "b"}}]}',
    '{"apiVersion": "v1", "kind": "List", "items": [], "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]}',
    '{"apiVersion": "v1", "kind": "List", "items": {"a": 1}}',
    '{"apiVersion": "v1", "kind": "List", "items": [ ], "metadata": {"x": "a:b"}}',
    '{"apiVersion": "v1", "kind": "Thing", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]}',
    '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}, 1, null]}',
    '[1, 2, {"a": null}]',
    "{}",
    '{"a": ' * 200 + "1" + "}" * 200,
]


@pytest.mark.parametrize(
    "text",
    HOSTILE_YAML + HOSTILE_JSON,
    ids=[f"yaml-{i}" for i in range(len(HOSTILE_YAML))]
    + [f"json-{i}" for i in range(len(HOSTILE_JSON))],
)
def test_hostile_text_reads_alike(text: str) -> None:
    assert_same(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- {}[],'\"\n\t#&*!|>?%~01e.yYn")), max_size=60))
def test_random_text_reads_alike(text: str) -> None:
    assert_same(text)


# --- the readers on their own ---------------------------------------------------------------


def test_json_duplicate_key_is_a_doubt() -> None:
    plain = PlainScalars(loading._StrictLoader(""))
    assert json_document('{"a": 1, "b": "x:y"}', plain) == {"a": 1, "b": "x:y"}
    with pytest.raises(Doubt):
        json_document('{"a": 1, "a": 2}', plain)


def test_json_numbers_read_as_yaml_reads_them() -> None:
    plain = PlainScalars(loading._StrictLoader(""))
    # YAML 1.1 takes 1.5 and 1.5e+3 for floats, but 1.5e3 (no sign in the exponent) and
    # 1e3 (no point) for strings; integers of any length stay exact.
    text = "[1.5, -0.0, 12, 1.5e3, 1.5e+3, 1e3, 123456789012345678901234567890]"
    assert json_document(text, plain) == yaml.safe_load(text)
    assert json_document(text, plain)[3:6] == ["1.5e3", 1500.0, "1e3"]


def test_events_hand_over_list_items_as_read() -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- {a: 1}\n- {b: 2}\nother: [x]\n"
    seen: list[tuple[int, Any]] = []

    def on_item(index: int, item: Any) -> Any:
        seen.append((index, item))
        return f"item {index}"

    events = YamlEvents(loading._StrictLoader, text, on_item)
    (document,) = events.documents()
    assert seen == [(0, {"a": 1}), (1, {"b": 2})]
    assert document["items"] == ["item 0", "item 1"]
    assert document["other"] == ["x"]


DOUBTED = {
    "alias": "a: &x 1\nb: *x\n",
    "tag": "a: !!str 1\n",
    "duplicate": "a: 1\na: 2\n",
    "merge": "<<: {a: 1}\n",
    "complex-key": "? [a]\n: b\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
}


@pytest.mark.parametrize("text", list(DOUBTED.values()), ids=list(DOUBTED))
def test_events_doubt_what_they_do_not_vouch_for(text: str) -> None:
    with pytest.raises(Doubt):
        list(YamlEvents(loading._StrictLoader, text).documents())


# --- what the API server refuses, both ways -------------------------------------------------

BASE_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "containers": [
            {"name": "c", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}
        ]
    },
}
BASE_NODE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "n1", "labels": {"zone": "a"}},
    "status": {"allocatable": {"cpu": "2", "pods": "110"}},
}
SPREAD = {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
PORT = {"containerPort": 80, "hostPort": 8080}
# (what is set, path, value): each refused by the API server, so by the strict parser.
REFUSED: list[tuple[str, dict[str, Any], tuple[Any, ...], Any]] = [
    ("long namespace", BASE_POD, ("metadata", "namespace"), "n" * 64),
    ("annotation key", BASE_POD, ("metadata", "annotations"), {"bad key": "x"}),
    ("annotations size", BASE_POD, ("metadata", "annotations"), {"a": "x" * 262_144}),
    ("node selector value", BASE_POD, ("spec", "nodeSelector"), {"zone": "-a"}),
    ("node name", BASE_POD, ("spec", "nodeName"), "Node_1"),
    ("priority class name", BASE_POD, ("spec", "priorityClassName"), "High"),
    ("deadline", BASE_POD, ("spec", "activeDeadlineSeconds"), 2**31),
    ("overhead name", BASE_POD, ("spec", "overhead"), {"bad name": "1"}),
    ("resource name", BASE_POD, ("spec", "containers", 0, "resources"), {"requests": {"a b": "1"}}),
    (
        "request over limit",
        BASE_POD,
        ("spec", "containers", 0, "resources"),
        {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
    ),
    (
        "extended request unlike limit",
        BASE_POD,
        ("spec", "containers", 0, "resources"),
        {"requests": {"example.com/gpu": "1"}},
    ),
    (
        "port name",
        BASE_POD,
        ("spec", "containers", 0, "ports"),
        [{"containerPort": 80, "name": "HTTP"}],
    ),
    ("container name", BASE_POD, ("spec", "containers", 0, "name"), "c" * 64),
    (
        "host port twice",
        BASE_POD,
        ("spec", "containers"),
        [{"name": "a", "ports": [PORT]}, {"name": "b", "ports": [PORT]}],
    ),
    ("host network port", BASE_POD, ("spec", "hostNetwork"), True),
    ("toleration key", BASE_POD, ("spec", "tolerations"), [{"key": "a b", "operator": "Exists"}]),
    ("toleration value", BASE_POD, ("spec", "tolerations"), [{"key": "a", "value": "-x"}]),
    ("spread twice", BASE_POD, ("spec", "topologySpreadConstraints"), [SPREAD, SPREAD]),
    (
        "spread key in selector",
        BASE_POD,
        ("spec", "topologySpreadConstraints"),
        [{**SPREAD, "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["app"]}],
    ),
    (
        "taint value",
        BASE_NODE,
        ("spec",),
        {"taints": [{"key": "a", "value": "-x", "effect": "NoSchedule"}]},
    ),
    (
        "taints twice",
        BASE_NODE,
        ("spec",),
        {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}]},
    ),
    ("fractional pods", BASE_NODE, ("status", "allocatable"), {"pods": "1500m"}),
    ("node annotation key", BASE_NODE, ("metadata", "annotations"), {"/x": "1"}),
]


def _set(manifest: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    parent: Any = out
    for key in path[:-1]:
        parent = parent.setdefault(key, {}) if isinstance(parent, dict) else parent[key]
    parent[path[-1]] = value
    return out


@pytest.mark.parametrize(
    ("base", "path", "value"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_what_the_api_server_refuses_is_refused_both_ways(
    base: dict[str, Any], path: tuple[Any, ...], value: Any
) -> None:
    manifest = _set(base, path, value)
    if path == ("spec", "hostNetwork"):
        manifest["spec"]["containers"][0]["ports"] = [PORT]
    with pytest.raises(ManifestError):
        strict_object(manifest)
    with pytest.raises(Doubt):
        build(manifest)
    for style in ("json", "yaml-docs"):
        kind, _ = assert_same(dumps([manifest], style))
        assert kind == "error"


def test_valid_bases_build_fast() -> None:
    for manifest in (BASE_POD, BASE_NODE):
        assert build(manifest) == strict_object(manifest)
