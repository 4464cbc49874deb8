"""The spec keeps itself honest: valid rule files, unique ids, every example passes on every
backend that supports its case kind."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from podfit import spec
from podfit.conformance.backends import backends
from podfit.conformance.spec_runner import compare, example_versions, run_example
from podfit.versions import VERSIONS

RULES = spec.rules()
EXAMPLES = [e for r in RULES for e in r.examples]
BACKENDS = backends()


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(spec.schema())


def test_every_rule_file_validates_and_names_its_area() -> None:
    for name in spec.rule_files():
        area = spec.parse_area(
            yaml.safe_load(spec.resources.files("podfit.spec").joinpath(name).read_text()), name
        )
        assert name == f"{area.name}.yaml"
        for r in area.rules:
            assert r.id.startswith(area.name + "."), r.id


def test_schema_is_closed() -> None:
    with pytest.raises(spec.SpecError, match="Additional properties"):
        spec.parse_area(
            {"area": "x", "title": "t", "description": "d", "rules": [], "surprise": 1}, "x.yaml"
        )


def test_rule_ids_are_unique() -> None:
    counts = Counter(r.id for r in RULES)
    assert [i for i, n in counts.items() if n > 1] == []


def test_example_descriptions_are_unique_within_a_rule() -> None:
    for r in RULES:
        counts = Counter(e.description for e in r.examples)
        assert [d for d, n in counts.items() if n > 1] == [], r.id


def test_upstream_sources_are_repository_paths() -> None:
    for r in RULES:
        for path in r.upstream:
            assert re.match(r"^(pkg|staging|plugin|cmd)/[\w./-]+\.go$", path), (r.id, path)


# Only the (backend, example, release) triples the backend runs: each example under every
# Kubernetes release it holds for; a triple the backend cannot run is not a test.
RUNS = [
    (name, e, v)
    for name in sorted(BACKENDS)
    for e in EXAMPLES
    if BACKENDS[name].supports(e) and (e.backends is None or name in e.backends)
    for v in example_versions(BACKENDS[name], e)
]


@pytest.mark.parametrize(
    ("backend", "example", "version"), RUNS, ids=[f"{e.test_id}-{name}-{v}" for name, e, v in RUNS]
)
def test_example(backend: str, example: spec.Example, version: object) -> None:
    result = run_example(BACKENDS[backend], example, version)  # type: ignore[arg-type]
    assert result.status == "pass", "\n".join(result.differences)


def test_every_example_runs_somewhere() -> None:
    ran = {id(e) for _, e, _ in RUNS}
    assert [e.id for e in EXAMPLES if id(e) not in ran] == []


def test_every_release_runs_examples() -> None:
    per_version = Counter(v for _, _, v in RUNS)
    assert set(per_version) == set(VERSIONS)


def test_compare_is_a_subset_check_with_sets() -> None:
    assert compare({"feasible": ["a", "b"]}, {"feasible": ["b", "a"], "top": ["a"]}) == []
    assert (
        compare(
            {"statuses": {"n": {"plugin": "X"}}},
            {"statuses": {"n": {"plugin": "X", "reasons": []}}},
        )
        == []
    )
    assert compare({"statuses": {"n": {"plugin": "X"}}}, {"statuses": {}}) != []
    assert compare({"feasible": ["a"]}, {"feasible": ["a", "b"]}) != []
    assert compare({"value": 3}, {"value": 4}) == ["value: expected 3, got 4"]


def test_the_parsed_spec_is_cached_and_a_bad_cache_is_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(spec.CACHE_ENV, str(tmp_path))
    spec.areas.cache_clear()
    try:
        parsed = spec.areas()
        (cached,) = tmp_path.glob("spec-*.pickle")
        # A later process reads the cache: no YAML, no schema validation.
        spec.areas.cache_clear()
        monkeypatch.setattr(spec, "parse_area", _must_not_parse)
        assert spec.areas() == parsed
        # A damaged cache is parsed again (and rewritten), never an error.
        cached.write_bytes(b"not a pickle")
        spec.areas.cache_clear()
        monkeypatch.undo()
        monkeypatch.setenv(spec.CACHE_ENV, str(tmp_path))
        assert spec.areas() == parsed
        assert cached.read_bytes() != b"not a pickle"
        # PODFIT_CACHE_DIR=off: nothing written.
        monkeypatch.setenv(spec.CACHE_ENV, "off")
        assert spec.cache_path({}) is None
    finally:
        spec.areas.cache_clear()


def _must_not_parse(data: object, source: str) -> spec.Area:
    raise AssertionError(f"{source} was parsed although the cache holds it")
