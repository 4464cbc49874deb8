"""The committed rule reference (docs/rules/) is exactly what ``podfit spec docs`` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from podfit.cli import cli
from podfit.spec import areas
from podfit.specdocs import compact_yaml, render_rule_docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def test_committed_rule_docs_match_the_spec(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["spec", "docs", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    generated = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    hint = "regenerate with: podfit spec docs --out docs/rules"
    assert sorted(committed) == sorted(generated), hint
    for name, text in generated.items():
        assert committed[name] == text, f"docs/rules/{name} is stale; {hint}"


def test_every_rule_and_example_is_documented() -> None:
    pages = render_rule_docs(areas())
    for area in areas():
        page = pages[f"{area.name}.md"]
        assert f"({area.name}.md)" in pages["index.md"]
        for rule in area.rules:
            assert f"## `{rule.id}`" in page
            assert " ".join(rule.statement.split())[:60] in " ".join(page.split())
            for example in rule.examples:
                assert f"- {example.description}" in page


@pytest.mark.parametrize(
    "value",
    [
        {"case": "schedule", "given": {"objects": [{"kind": "Node", "x": {"y": "a: b"}}]}},
        {"expect": {"feasible": [], "matches": False, "message": "0/3 nodes: '1' #x"}},
        {"given": {"labelSelector": None, "labels": {"a": "", "b": "yes"}}},
        {"expect": {"scores": {"Fit": {"n1": 50}, "total": {"n1": 50}}, "top": ["n1", "n2"]}},
    ],
    ids=["manifest-list", "quoted-strings", "null-and-empty", "nested-maps"],
)
def test_compact_yaml_round_trips(value: dict[str, Any]) -> None:
    text = compact_yaml(value)
    assert yaml.safe_load(text) == value
    assert all(len(line) - len(line.lstrip()) <= 4 for line in text.splitlines())


def test_each_manifest_is_on_one_line() -> None:
    text = compact_yaml({"given": {"objects": [{"kind": "Node"}, {"kind": "Pod"}]}})
    assert text == "given:\n  objects:\n    - {kind: Node}\n    - {kind: Pod}\n"
