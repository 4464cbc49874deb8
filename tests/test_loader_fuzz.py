"""Fuzzing the loader: random and mutated manifests give a result or a ManifestError, nothing else."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.errors import ManifestError
from podfit.loading import cluster_from_manifests, load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED_MANIFESTS = [
    d
    for name in ("cluster.yaml", "pending.yaml")
    for d in yaml.safe_load_all((EXAMPLES / name).read_text())
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1K", "1.5Gi", "-1", "1e999", "Exists", "In", "NoSchedule", "", "v1", "Pod"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


def set_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    docs = copy.deepcopy(SEED_MANIFESTS)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(docs) - 1))
        where = draw(st.sampled_from(paths(docs[i])))
        docs[i] = set_at(docs[i], where, draw(values))
    return docs


@settings(max_examples=150)
@given(mutated())
def test_mutated_manifests_never_crash(docs: list[Any]) -> None:
    try:
        cluster_from_manifests(docs)
    except ManifestError as exc:
        assert str(exc)


@settings(max_examples=100)
@given(st.text(max_size=200))
def test_random_text_never_crashes(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ManifestError as exc:
        assert str(exc).startswith(str(path))


# Crash class the mutations above missed: YAML scalars that PyYAML cannot turn into Python
# values (integers beyond Python's digit limit raised ValueError) and messages spanning lines.
awkward_scalars = st.one_of(
    st.integers(4290, 6000).map(lambda n: "9" * n),
    st.integers(4290, 6000).map(lambda n: "0x" + "f" * n),
    st.integers(4290, 6000).map(lambda n: "1" + "_0" * n),
    st.sampled_from(["\x07", "\x1b[31m", "1e99999999", "-.inf", ".nan", "0o777777", "'9" * 3]),
)
TEMPLATES = [
    "apiVersion: v1\nkind: Node\nmetadata: {{name: {}}}\n",
    "apiVersion: v1\nkind: Node\nmetadata: {{name: n}}\nstatus: {{capacity: {{cpu: {}}}}}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c}}], "
    "priority: {}}}\n",
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(TEMPLATES), awkward_scalars)
def test_awkward_scalars_give_one_line_errors(
    tmp_path_factory: Any, template: str, scalar: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input.yaml"
    path.write_text(template.format(scalar), encoding="utf-8")
    try:
        load(path)
    except ManifestError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000, str(exc)[:2000]


# Workloads where a pod is expected: mutated Deployments, StatefulSets, Jobs, CronJobs and
# DaemonSets of the dump example give pods or a located ManifestError, nothing else.
WORKLOAD_SEEDS = [
    d
    for d in yaml.safe_load((EXAMPLES / "dump.yaml").read_text())["items"]
    if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
] + [
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
     "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"completionMode": "Indexed",
              "completions": 3, "parallelism": 2, "template": {"spec": {
                  "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}},
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_workloads_never_crash(tmp_path_factory: Any, data: st.DataObject) -> None:
    from podfit.workloads import read_pods

    doc = copy.deepcopy(data.draw(st.sampled_from(WORKLOAD_SEEDS)))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = set_at(doc, data.draw(st.sampled_from(paths(doc))), data.draw(values))
    path = tmp_path_factory.mktemp("fuzz") / "workload.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        read_pods(str(path))
    except ManifestError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
