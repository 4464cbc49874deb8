"""The cache of loaded clusters: found only for the same bytes and code, never stale,
never holding what the loader refused, bounded, private, and safe to delete."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

import podfit
from podfit import cache
from podfit.errors import ManifestError
from podfit.loading import LoadReport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODFIT_CACHE", "1")
    monkeypatch.setenv("PODFIT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "clusters"
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.cluster")) if folder.exists() else []


def copy_example(tmp_path: Path, name: str = "cluster.yaml") -> Path:
    path = tmp_path / name
    path.write_text((EXAMPLES / "cluster.yaml").read_text())
    return path


def test_second_load_comes_from_the_cache(tmp_path: Path, cache_dir: Path) -> None:
    path = copy_example(tmp_path)
    first_report, second_report = LoadReport(), LoadReport()
    first = podfit.load(path, report=first_report)
    (entry,) = entries(cache_dir)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    second = podfit.load(path, report=second_report)
    assert second is not first
    assert second.nodes == first.nodes and second.pods == first.pods
    assert second.priority_classes == first.priority_classes
    assert second.origins == first.origins
    assert vars(second_report) == vars(first_report)


def test_the_cached_cluster_names_the_file_as_given_now(tmp_path: Path, cache_dir: Path) -> None:
    path = copy_example(tmp_path)
    podfit.load(path)
    other = copy_example(tmp_path, "renamed.yaml")
    cluster = podfit.load(other)
    assert {o.source for o in cluster.origins.values()} == {str(other)}


def test_a_changed_file_is_read_again(tmp_path: Path, cache_dir: Path) -> None:
    path = copy_example(tmp_path)
    podfit.load(path)
    path.write_text(path.read_text().replace("node-a1", "node-z9"))
    cluster = podfit.load(path)
    assert "node-z9" in cluster.nodes and "node-a1" not in cluster.nodes
    assert len(entries(cache_dir)) == 2


def test_a_load_that_fails_is_never_stored(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {unschedulable: 'yes'}\n"
    )
    for _ in range(2):
        with pytest.raises(ManifestError, match="unschedulable"):
            podfit.load(path)
    assert entries(cache_dir) == []


@pytest.mark.parametrize("switch", [("PODFIT_CACHE", "0"), ("PODFIT_CACHE_DIR", "off")])
def test_off_switch(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, switch: tuple[str, str]
) -> None:
    monkeypatch.setenv(*switch)
    podfit.load(copy_example(tmp_path))
    assert entries(cache_dir) == []


def test_small_inputs_are_not_stored(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MIN_BYTES", 1 << 20)
    podfit.load(copy_example(tmp_path))
    assert entries(cache_dir) == []


def test_a_damaged_entry_is_dropped(tmp_path: Path, cache_dir: Path) -> None:
    path = copy_example(tmp_path)
    first = podfit.load(path)
    (entry,) = entries(cache_dir)
    entry.write_bytes(b"not a pickle")
    again = podfit.load(path)
    assert again.pods == first.pods
    assert len(entries(cache_dir)) == 1 and entry.read_bytes() != b"not a pickle"


def test_an_entry_naming_other_code_is_refused(tmp_path: Path, cache_dir: Path) -> None:
    path = copy_example(tmp_path)
    podfit.load(path)
    (entry,) = entries(cache_dir)
    entry.write_bytes(pickle.dumps(os.system))
    cluster = podfit.load(path)  # read again, not run
    assert "node-a1" in cluster.nodes


def test_a_directory_others_can_write_is_not_used(tmp_path: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o777, parents=True)
    cache_dir.chmod(0o777)
    path = copy_example(tmp_path)
    podfit.load(path)
    podfit.load(path)
    assert entries(cache_dir) == []


def test_least_recently_used_entries_go_first(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    paths = []
    for i in range(3):
        path = tmp_path / f"c{i}.yaml"
        path.write_text((EXAMPLES / "cluster.yaml").read_text() + f"# {i}\n")
        paths.append(path)
    podfit.load(paths[0])
    podfit.load(paths[1])
    first = entries(cache_dir)
    os.utime(first[0], (1, 1))
    os.utime(first[1], (2, 2))
    podfit.load(paths[1])  # used again: now the most recent
    podfit.load(paths[2])
    assert len(entries(cache_dir)) == 2
    before = set(entries(cache_dir))
    podfit.load(paths[1])
    assert set(entries(cache_dir)) == before  # still there: found, not stored again


def test_clear(tmp_path: Path, cache_dir: Path) -> None:
    podfit.load(copy_example(tmp_path))
    cache.clear()
    assert entries(cache_dir) == []


def test_several_files_are_one_entry_in_order(tmp_path: Path, cache_dir: Path) -> None:
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n")
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec: {nodeName: n1, containers: [{name: c}]}\n"
    )
    first = podfit.load(nodes, pod)
    second = podfit.load(nodes, pod)
    assert second.pods == first.pods
    assert second.origins["Pod:default/p"].source == str(pod)
    assert len(entries(cache_dir)) == 1
    with pytest.raises(ManifestError, match="not in the input"):
        podfit.load(pod)
