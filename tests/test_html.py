"""HTML pages: escaping, the selected node, bars, pending pods, conformance findings, CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import podfit
from podfit.cli import cli
from podfit.html import render_conformance_report, render_explain, render_simulation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EVIL = '<script>alert("x")</script>'


def explain_dict() -> dict[str, Any]:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pod = podfit.load_pod(str(EXAMPLES / "pod.yaml"))
    return podfit.explain(cluster, pod).to_dict()


def simulation_dict() -> dict[str, Any]:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pods = podfit.load_pods(str(EXAMPLES / "pending.yaml"))
    return podfit.simulate(cluster, pods).to_dict()


def selected_row(page: str) -> str:
    match = re.search(r'<tr class="selected" id="selected-node"[^>]*>.*?</tr>', page)
    assert match, "no selected row"
    return match.group(0)


def test_explain_marks_the_selected_node_and_rejections() -> None:
    d = explain_dict()
    page = render_explain(d)
    assert d["selected"] == "node-b1"
    assert 'data-node="node-b1"' in selected_row(page)
    assert page.count('class="selected"') == 1
    # every node appears, rejected ones with plugin and reason
    for node in d["nodes"]:
        assert f'data-node="{node["name"]}"' in page
    assert "NodeAffinity" in page and "didn&#x27;t match Pod&#x27;s node affinity" in page
    assert "node(s) were unschedulable" in page
    assert "Guaranteed" in page and d["message"] in page
    # one score bar per score of each feasible node, width = the score
    assert 'style="width:70%"' in selected_row(page)
    assert selected_row(page).count('class="barbox"') == len(d["weights"])
    assert ">843<" in selected_row(page)


def test_explain_page_is_self_contained() -> None:
    page = render_explain(explain_dict())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page


def test_every_user_string_is_escaped() -> None:
    d = explain_dict()
    d["pod"] = f"ns/{EVIL}"
    d["message"] = EVIL
    d["qos"] = EVIL
    d["nodes"][1]["name"] = EVIL
    d["nodes"][1]["status"]["reasons"] = [EVIL]
    d["weights"] = {EVIL: 1}
    d["nodes"][0]["scores"] = {EVIL: EVIL}
    page = render_explain(d)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    sim = simulation_dict()
    sim["decisions"][0]["pod"] = EVIL
    sim["nodes"][0]["node"] = EVIL
    sim["pending"] = [{"pod": EVIL, "node": None, "message": EVIL, "ties": []}]
    assert "<script>" not in render_simulation(sim)


def test_unschedulable_explanation_shows_the_message_as_a_failure() -> None:
    d = explain_dict()
    d.update(schedulable=False, selected=None, top=[], message="0/5 nodes are available: x.")
    page = render_explain(d)
    assert 'class="message bad"' in page and "0/5 nodes are available: x." in page
    assert 'id="selected-node"' not in page


def test_simulation_places_pods_per_node_with_usage_bars() -> None:
    d = simulation_dict()
    page = render_simulation(d)
    assert "4 placed, 0 pending" in page
    row = re.search(r'<tr data-node="node-b1">.*?</tr>', page)
    assert row
    assert "shop/web-3" in row.group(0) and "shop/web-4" in row.group(0)
    # node-a1 has 3000m of 3800m requested: 79 %
    a1 = re.search(r'<tr data-node="node-a1">.*?</tr>', page)
    assert a1 and 'style="width:79%"' in a1.group(0) and "3 / 3.8" in a1.group(0)


def test_simulation_lists_pending_pods_with_their_message() -> None:
    d = simulation_dict()
    msg = "0/5 nodes are available: 5 Insufficient cpu."
    d["decisions"][-1] = {"pod": "shop/batch-1", "node": None, "message": msg, "ties": []}
    d["pending"] = [d["decisions"][-1]]
    page = render_simulation(d)
    assert "3 placed, 1 pending" in page and 'class="message bad"' in page
    pending = re.search(r'<ul id="pending">.*?</ul>', page, re.S)
    assert pending and "shop/batch-1" in pending.group(0) and msg in pending.group(0)


@pytest.mark.parametrize(
    ("requested", "allocatable", "width", "over"),
    [(0, 100, 0, False), (50, 100, 50, False), (150, 100, 100, True), (1, 0, 100, True)],
    ids=["empty", "half", "overcommitted", "no-allocatable"],
)
def test_usage_bar_is_clamped(requested: int, allocatable: int, width: int, over: bool) -> None:
    from podfit.html import _usage_bar

    bar = _usage_bar(requested, allocatable)
    assert f"width:{width}%" in bar
    assert ("bar over" in bar) is over


def conformance_report(tmp_path: Path) -> dict[str, Any]:
    finding_dir = tmp_path / "soundness-1"
    finding_dir.mkdir()
    (finding_dir / "cluster.yaml").write_text("kind: Node\nmetadata: {name: n1}\n")
    (finding_dir / "pod.yaml").write_text("kind: Pod\nmetadata: {name: p}\n")
    return {
        "scheduler": "exec:./my <sched>",
        "seed": 7,
        "maxExamples": 50,
        "started": "2026-11-23T09:00:00Z",
        "elapsedSeconds": 1.5,
        "ok": False,
        "complete": True,
        "notCovered": {"preemption": "the adapter does not preempt"},
        "totals": {"run": 60, "passed": 59, "failed": 1},
        "areas": {
            "taints": {"run": 30, "passed": 29, "failed": 1},
            "node-affinity": {"run": 30, "passed": 30, "failed": 0},
        },
        "findings": [
            {
                "property": "soundness",
                "areas": ["taints"],
                "rules": ["taints.filter.untolerated-noschedule"],
                "message": "bound p to n1, which has an untolerated taint",
                "pod": "default/p",
                "decision": {"node": "n1"},
                "reference": {"message": "0/1 nodes are available: 1 node(s) had ..."},
                "path": str(finding_dir),
                "replay": f"podfit explain -f {finding_dir}/cluster.yaml --pod ...",
            }
        ],
    }


def test_conformance_report_lists_areas_and_findings(tmp_path: Path) -> None:
    page = render_conformance_report(conformance_report(tmp_path))
    assert "exec:./my &lt;sched&gt;" in page and "<sched>" not in page
    taints = re.search(r'<tr data-area="taints">.*?</tr>', page)
    affinity = re.search(r'<tr data-area="node-affinity">.*?</tr>', page)
    assert taints and "fails" in taints.group(0)
    assert affinity and "✓" in affinity.group(0)
    finding = re.search(r'<section class="finding" id="finding-1">.*?</section>', page, re.S)
    assert finding
    text = finding.group(0)
    assert "taints.filter.untolerated-noschedule" in text
    assert "podfit explain -f" in text
    # the written manifests are shown
    assert "cluster.yaml" in text and "metadata: {name: n1}" in text and "pod.yaml" in text
    assert "the adapter does not preempt" in page


def test_conformance_report_that_conforms(tmp_path: Path) -> None:
    report = conformance_report(tmp_path)
    report.update(ok=True, findings=[], totals={"run": 60, "passed": 60, "failed": 0})
    report["areas"]["taints"] = {"run": 30, "passed": 30, "failed": 0}
    page = render_conformance_report(report)
    assert 'class="message ok"' in page and "conforms" in page
    assert 'id="findings"' not in page and "fails" not in page


def test_cli_writes_html_for_explain_and_simulate(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "explain.html"
    result = CliRunner().invoke(
        cli,
        [
            "explain",
            "-f",
            str(EXAMPLES / "cluster.yaml"),
            "--pod",
            str(EXAMPLES / "pod.yaml"),
            "--html",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "selected: node-b1" in result.output  # the terminal view is still printed
    assert 'id="selected-node"' in out.read_text(encoding="utf-8")
    sim = tmp_path / "simulate.html"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            "-f",
            str(EXAMPLES / "cluster.yaml"),
            "--pods",
            str(EXAMPLES / "pending.yaml"),
            "--html",
            str(sim),
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 placed, 0 pending" in sim.read_text(encoding="utf-8")


def test_solve_page_shows_the_explanation_when_infeasible_and_says_unknown() -> None:
    from podfit.html import render_solve

    page = render_solve(
        {
            "status": "infeasible",
            "placement": {},
            "explanation": ["web-3 and web-4 both need a node with disktype=ssd <none>"],
            "core": ["node-affinity.filter.node-selector", "resources.fit.cpu"],
            "unplaced": ["shop/web-3"],
            "objective": None,
        }
    )
    assert "infeasible" in page and 'id="explanation"' in page
    assert "disktype=ssd &lt;none&gt;" in page  # escaped
    assert "<code>resources.fit.cpu</code>" in page and "shop/web-3" in page
    unknown = render_solve({"status": "unknown", "placement": {}, "explanation": ["Z3 ..."]})
    assert "unknown: the solver could not decide in time" in unknown
    assert "infeasible" not in unknown
