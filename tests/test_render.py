"""Terminal views: colour only on a TTY and never with NO_COLOR, lines at most 100 columns."""

from __future__ import annotations

import copy
import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import podfit
from podfit.render import WIDTH, explain_text, simulate_view, use_color

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def explain_dict() -> dict[str, Any]:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    return podfit.explain(cluster, podfit.load_pod(str(EXAMPLES / "pod.yaml"))).to_dict()


def simulation_dict() -> dict[str, Any]:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pods = podfit.load_pods(str(EXAMPLES / "pending.yaml"))
    return podfit.simulate(cluster, pods).to_dict()


def long_explanation() -> dict[str, Any]:
    d = copy.deepcopy(explain_dict())
    reasons = [
        f"node(s) had untolerated taint {{dedicated-{i}: some-long-value}}" for i in range(6)
    ]
    d["nodes"][1]["name"] = "node-with-a-rather-long-name-in-zone-europe-west4-a"
    d["nodes"][1]["status"]["reasons"] = reasons
    d["message"] = "0/5 nodes are available: " + ", ".join(reasons) + "."
    d["schedulable"] = False
    return d


def test_use_color_only_on_a_tty_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(FakeTTY()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(FakeTTY()) is False


@pytest.mark.parametrize("view", ["explain", "simulate"])
def test_colour_on_a_tty(monkeypatch: pytest.MonkeyPatch, view: str) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", FakeTTY())
    out = explain_text(explain_dict()) if view == "explain" else simulate_view(simulation_dict())
    assert ANSI.search(out), "a terminal should get colours"


@pytest.mark.parametrize("view", ["explain", "simulate"])
def test_no_color_is_honoured_on_a_tty(monkeypatch: pytest.MonkeyPatch, view: str) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "stdout", FakeTTY())
    out = explain_text(explain_dict()) if view == "explain" else simulate_view(simulation_dict())
    assert "\x1b" not in out
    assert "node-b1" in out


@pytest.mark.parametrize("view", ["explain", "simulate"])
def test_no_ansi_when_not_a_tty(monkeypatch: pytest.MonkeyPatch, view: str) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    out = explain_text(explain_dict()) if view == "explain" else simulate_view(simulation_dict())
    assert "\x1b" not in out


def widest(text: str) -> int:
    return max(len(ANSI.sub("", line)) for line in text.splitlines())


@pytest.mark.parametrize(
    "make",
    [
        lambda: explain_text(explain_dict()),
        lambda: simulate_view(simulation_dict()),
        lambda: explain_text(long_explanation()),
    ],
    ids=["explain-example", "simulate-example", "explain-long-reasons"],
)
@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "tty"])
def test_lines_fit_in_100_columns(monkeypatch: pytest.MonkeyPatch, make: Any, tty: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", FakeTTY() if tty else io.StringIO())
    assert widest(make()) <= WIDTH == 100


def test_long_reasons_wrap_instead_of_being_cut() -> None:
    d = long_explanation()
    out = explain_text(d)
    flat = " ".join(out.split())
    # every word of every reason and of the message is still there, on several lines
    for word in ("dedicated-0:", "dedicated-5:", "some-long-value}", "0/5", "available:"):
        assert word in flat
    assert len(out.splitlines()) > len(d["nodes"]) + 3
    # the reasons column keeps readable width: no word split letter by letter, no cut headers
    assert "NodeAffinity: node(s) had untolerated taint" in out
    assert "…" not in out
    for heading in ("Taint", "NodeAff", "Balance", "TOTAL"):
        assert heading in out


def test_explain_table_content() -> None:
    out = explain_text(explain_dict())
    selected = [line for line in out.splitlines() if line.startswith("▶")]
    assert len(selected) == 1 and "node-b1" in selected[0] and "843" in selected[0]
    assert "QoS Guaranteed" in out
    assert "selected: node-b1" in out
