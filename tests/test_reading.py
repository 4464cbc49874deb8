"""Reading input as kubectl reads it, within bounds: bytes counted while reading (special
files and stdin say nothing of their size), UTF-16 with a byte-order mark, YAML merge keys
in go-yaml's order, aliases counted as go-yaml counts them (an alias bomb is refused before
anything walks it), typed lists whose items say no kind."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit import loading
from podfit.cli import cli
from podfit.errors import ManifestError
from podfit.loading import load_document

NODE = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"


# --- bytes counted while reading -----------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_special_file_is_cut_at_the_limit(monkeypatch: pytest.MonkeyPatch, device: str) -> None:
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 4096)
    with pytest.raises(ManifestError, match=f"{device}: larger than the 4096 byte limit"):
        podfit.load(device)


def test_a_fifo_is_read_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "in.yaml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(NODE * 1))
    writer.start()
    assert list(podfit.load(fifo).nodes) == ["n1"]
    writer.join()
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 100)
    endless = threading.Thread(target=lambda: fifo.write_text("# filler\n" * 1000))
    endless.start()
    with pytest.raises(ManifestError, match="larger than the 100 byte limit"):
        podfit.load(fifo)
    endless.join()


@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_a_stream_up_to_the_limit_is_read(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 100)
    text = "#" * max(0, size - 1) + ("\n" if size else "")
    assert len(podfit.load(io.BytesIO(text.encode())).nodes) == 0
    with pytest.raises(ManifestError, match="byte limit"):
        podfit.load(io.BytesIO(b"#" * 101))


def test_stdin_that_is_not_utf8_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["validate", "-f", "-"], input=b"kind: \xff\xfe\n")
    assert result.exit_code == 2
    assert result.stderr == "podfit: error: <stdin>: is not UTF-8 text (byte 6)\n"


@pytest.mark.parametrize(
    "path,message",
    [("/", "is a directory"), ("x" * 5000, "File name too long"), ("/nonexistent/x", "no such")],
    ids=["directory", "name too long", "missing"],
)
def test_paths_that_cannot_be_read_are_one_line(path: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["validate", "-f", path])
    assert result.exit_code == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 600


# --- encodings ---------------------------------------------------------------------------------

label_values = st.text(st.sampled_from("abcXYZ019-_."), min_size=1, max_size=20).filter(
    lambda v: v[0].isalnum() and v[-1].isalnum()
)


@settings(max_examples=40, deadline=None)
@given(value=label_values, codec=st.sampled_from(["utf-16-le", "utf-16-be", "utf-8"]))
def test_utf16_and_utf8_with_a_byte_order_mark_read_alike(value: str, codec: str) -> None:
    text = f"apiVersion: v1\nkind: Node\nmetadata: {{name: n1, labels: {{k: '{value}'}}}}\n"
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-8": b"\xef\xbb\xbf"}[codec]
    cluster = podfit.load(io.BytesIO(bom + text.encode(codec)))
    assert cluster.nodes["n1"].labels["k"] == value


def test_utf16_without_a_mark_is_not_text() -> None:
    with pytest.raises(ManifestError, match="binary"):
        podfit.load(io.BytesIO(NODE.encode("utf-16-le")))


# --- merge keys as go-yaml takes them ------------------------------------------------------------

keys = st.sampled_from(["a", "b", "c", "d"])
small_maps = st.dictionaries(keys, st.integers(0, 9), max_size=4)


def _go_yaml_merge(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """go-yaml v2 (kubectl's decoder): entries in order, a merged map's keys set where the
    merge key stands (later entries win); in a list of maps the earlier map wins."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key == "<<":
            maps = value if isinstance(value, list) else [value]
            for m in reversed(maps):
                out.update(m)
        else:
            out[key] = value
    return out


@settings(max_examples=80, deadline=None)
@given(
    before=small_maps,
    merged=st.lists(small_maps, min_size=1, max_size=3),
    after=small_maps,
    as_list=st.booleans(),
)
def test_merge_keys_follow_go_yaml(
    before: dict[str, int], merged: list[dict[str, int]], after: dict[str, int], as_list: bool
) -> None:
    before = {k: v for k, v in before.items() if k not in after}
    anchors = "\n".join(
        f"m{i}: &m{i} {yaml.safe_dump(m, default_flow_style=True).strip()}"
        for i, m in enumerate(merged)
    )
    refs = "[" + ", ".join(f"*m{i}" for i in range(len(merged))) + "]" if as_list else "*m0"
    body = ", ".join(
        [
            *(f"{k}: {v}" for k, v in before.items()),
            f"<<: {refs}",
            *(f"{k}: {v}" for k, v in after.items()),
        ]
    )
    _, doc = load_document(io.StringIO(f"{anchors}\nx: {{{body}}}\n"))
    value: Any = merged if as_list else merged[0]
    expected = _go_yaml_merge([*before.items(), ("<<", value), *after.items()])
    assert doc["x"] == expected


def test_a_merge_of_a_scalar_is_refused() -> None:
    with pytest.raises(ManifestError, match="map merge requires map or sequence of maps"):
        load_document(io.StringIO("a: &a 1\nb: {<<: *a}\n"))


def test_a_key_twice_is_still_refused_next_to_a_merge() -> None:
    with pytest.raises(ManifestError, match="duplicate key 'x'"):
        load_document(io.StringIO("a: &a {x: 1}\nb: {<<: *a, x: 2, x: 3}\n"))


# --- aliases ---------------------------------------------------------------------------------------


def bomb(levels: int, width: int = 10) -> str:
    lines = [f"  l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines)


FIELDS = [
    "metadata: {name: *top}",
    "metadata: {name: n1, labels: {a: *top}}",
    "metadata: {name: n1, annotations: *top}",
    "spec: {taints: *top}",
    "spec: {unschedulable: *top}",
    "status: {allocatable: {cpu: *top}}",
    "status: {images: *top}",
]


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(FIELDS), levels=st.integers(6, 12))
def test_an_alias_bomb_in_any_field_is_refused_before_it_expands(field: str, levels: int) -> None:
    text = (
        "apiVersion: v1\nkind: Node\nbombs:\n"
        + bomb(levels).replace(f"&l{levels - 1}", "&top")
        + f"\n{field}\n"
    )
    with pytest.raises(ManifestError, match="excessive aliasing") as info:
        podfit.load(io.StringIO(text))
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("width", [2, 5])
def test_a_few_aliases_are_fine(width: int) -> None:
    # A handful of anchors used again, as people write them (kubectl takes them).
    text = (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: &l {a: b}}\n"
        "spec: {taints: [&t {key: k, effect: NoSchedule}]}\n"
        f"extra: [{', '.join(['*l'] * width)}]\n"
    )
    assert podfit.load(io.StringIO(text)).nodes["n1"].labels == {"a": "b"}


def test_an_anchor_that_contains_itself_is_refused() -> None:
    with pytest.raises(ManifestError, match="anchor value contains itself"):
        load_document(io.StringIO("a: &a [1, *a]\n"))


def test_the_alias_budget_is_go_yamls() -> None:
    # Over 1000 values, over 100 of them from aliases and over 99 % of them: refused.
    # The same anchor used 20 times (94 % from aliases): kept.
    wide = "a: &a [" + ", ".join(["x"] * 200) + "]\nb: [" + ", ".join(["*a"] * 1000) + "]\n"
    with pytest.raises(ManifestError, match="excessive aliasing"):
        load_document(io.StringIO(wide))
    narrow = "a: &a [" + ", ".join(["x"] * 200) + "]\nb: [" + ", ".join(["*a"] * 20) + "]\n"
    _, doc = load_document(io.StringIO(narrow))
    assert len(doc["b"]) == 20


# --- lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,api_version,item_kind",
    [
        ("PodList", "v1", "Pod"),
        ("NodeList", "v1", "Node"),
        ("DaemonSetList", "apps/v1", "DaemonSet"),
    ],
)
def test_a_typed_lists_items_take_its_kind(kind: str, api_version: str, item_kind: str) -> None:
    item: dict[str, Any] = {"metadata": {"name": "x", "namespace": "default"}}
    if item_kind == "Pod":
        item["spec"] = {"containers": [{"name": "c"}]}
    if item_kind == "DaemonSet":
        item["spec"] = {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c"}]},
            },
        }
    doc = {"apiVersion": api_version, "kind": kind, "items": [item]}
    report = podfit.LoadReport()
    podfit.load(io.StringIO(yaml.safe_dump(doc)), report=report)
    assert report.loaded == {item_kind: 1}


def test_only_v1_list_and_known_lists_are_lists() -> None:
    # A kind merely ending in List is an object of that kind (skipped: not scheduling's).
    report = podfit.LoadReport()
    podfit.load(
        io.StringIO("apiVersion: example.com/v1\nkind: Checklist\nitems: [1, 2]\n"), report=report
    )
    assert report.skipped == {"Checklist": 1}
    with pytest.raises(ManifestError, match="unknown kind 'FooList' for apiVersion v1"):
        podfit.load(io.StringIO("apiVersion: v1\nkind: FooList\nitems: []\n"))
    with pytest.raises(ManifestError, match=r"kind: (Required value|is required)"):
        podfit.load(io.StringIO("apiVersion: v1\nkind: List\nitems: [{metadata: {name: a}}]\n"))


def test_an_unreadable_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(NODE)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loading, "open", refuse, raising=False)
    result = CliRunner().invoke(cli, ["validate", "-f", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"podfit: error: {path}: cannot read: Permission denied\n"
