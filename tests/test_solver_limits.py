"""Solver limits: past the memory cap the answer is unknown, never infeasible, and the
command says which limit was hit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import podfit
from podfit.cli import cli
from podfit.solver.session import set_memory_limit

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def no_cap_afterwards() -> Iterator[None]:
    yield
    set_memory_limit(None)


def test_a_memory_cap_too_small_gives_unknown() -> None:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pods = podfit.load_pods(str(EXAMPLES / "pending.yaml"))
    set_memory_limit(1)
    capped = podfit.solve(cluster, pods)
    assert capped.status == "unknown"
    assert any("out of memory" in line for line in capped.explanation)
    set_memory_limit(None)
    assert podfit.solve(cluster, pods).status == "feasible"


def test_solve_memory_option_reports_unknown_with_exit_2() -> None:
    args = ["solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml")]
    result = CliRunner().invoke(cli, [*args, "--memory", "1"])
    assert result.exit_code == 2
    assert "solver: unknown" in result.stdout and "infeasible" not in result.stdout
    assert "ran out of memory (1 MB; raise --memory)" in result.stderr
    result = CliRunner().invoke(cli, [*args, "--memory", "2000"])
    assert result.exit_code == 0 and "solver: feasible" in result.stdout
    result = CliRunner().invoke(cli, [*args, "--memory", "0"])
    assert result.exit_code == 2 and "--memory" in result.stderr


def test_a_negative_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        set_memory_limit(-5)


def test_prove_memory_option_reports_unknown_never_refuted() -> None:
    claim = str(EXAMPLES / "claims" / "db-in-zones.yaml")
    args = ["prove", "-f", str(EXAMPLES / "cluster.yaml"), "--claim", claim]
    result = CliRunner().invoke(cli, [*args, "--memory", "1"])
    assert result.exit_code == 2
    assert "unknown" in result.stdout and "refuted" not in result.stdout
    assert "1 MB per query" in result.stderr and "not refuted" in result.stderr
