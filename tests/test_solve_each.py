"""`podfit solve --each` and podfit.solve_each: can each pod, on its own, run anywhere?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.decisions import CLUSTER_AREAS, NODE_AREAS
from podfit.conformance.strategies import clusters, draw_pending_pod
from podfit.reference.framework import run_cycle, snapshot_of
from podfit.reference.profile import default_profile
from podfit.solver import SolveResult

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AREAS = NODE_AREAS | CLUSTER_AREAS

HUGE = """\
apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: shop}
spec:
  containers:
  - name: c
    resources: {requests: {cpu: "500"}}
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pending(tmp_path: Path) -> str:
    path = tmp_path / "pending.yaml"
    path.write_text((EXAMPLES / "pending.yaml").read_text() + "\n---\n" + HUGE)
    return str(path)


@settings(max_examples=60)
@given(clusters(max_nodes=4, max_running_pods=6, areas=AREAS), st.data())
def test_the_answer_is_whether_the_reference_finds_a_node(
    cluster: Cluster, data: st.DataObject
) -> None:
    pod = draw_pending_pod(data.draw, cluster, "pending", AREAS)
    answer = podfit.solve_each(cluster, [pod], timeout_ms=30_000)[pod.key]
    fits = run_cycle(default_profile(), snapshot_of(cluster), pod).feasible
    assert answer.status == ("feasible" if fits else "infeasible")
    if fits:
        assert set(answer.placement.values()) <= set(fits)
    else:
        assert answer.core and answer.explanation


def test_each_pod_is_asked_about_alone(pending: str) -> None:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pods = podfit.load_pods(pending)
    answers = podfit.solve_each(cluster, pods)
    assert {key: r.status for key, r in answers.items()} == {
        "shop/web-3": "feasible",
        "shop/web-4": "feasible",
        "shop/trainer": "feasible",
        "shop/batch-1": "feasible",
        "shop/huge": "infeasible",
    }
    assert "resources.filter.insufficient" in answers["shop/huge"].core


def test_cli_text_and_exit_code(pending: str) -> None:
    code, out, _ = invoke(
        "solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", pending, "--each"
    )
    assert code == 1
    assert "shop/web-3: can run (on " in out
    assert "shop/huge: can run nowhere" in out
    assert "So shop/huge fits on no node." in out
    code, out, _ = invoke(
        "solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml"),
        "--each", "-o", "json",
    )  # fmt: skip
    assert code == 0
    d = json.loads(out)
    assert d["status"] == "feasible" and len(d["pods"]) == 4
    assert all(p["node"] for p in d["pods"])


@pytest.mark.parametrize("other", [["--bindings"], ["--maximize-placed"], ["--minimize", "nodes"]])
def test_each_goes_with_no_batch_question(other: list[str]) -> None:
    code, _, err = invoke(
        "solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml"),
        "--each", *other,
    )  # fmt: skip
    assert code == 2 and "--each" in err and other[0] in err and "Traceback" not in err


def test_an_undecided_pod_is_unknown_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def undecided(
        cluster: Cluster, pods: list[object], *, timeout_ms: int, kube_version: object = None
    ) -> dict[str, object]:
        why = ["Z3 could not decide whether the pods fit within 1 ms (timeout)."]
        return {"shop/web-3": SolveResult("unknown", explanation=why)}

    monkeypatch.setattr(podfit, "solve_each", undecided)
    code, out, err = invoke(
        "solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml"),
        "--each", "--timeout", "0.001",
    )  # fmt: skip
    assert code == 2
    assert "shop/web-3: unknown" in out and "unknown" in err
