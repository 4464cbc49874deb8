"""The command line's limits: time limits and counts that are no numbers or absurd are
refused in one line, solve's --timeout bounds the whole answer, whatif's arithmetic on
far-future times saturates, a terminal that cannot show UTF-8 gets escapes, and text from a
scheduler is never read as markup by the progress display."""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLUSTER, POD, PENDING = (str(EXAMPLES / n) for n in ("cluster.yaml", "pod.yaml", "pending.yaml"))


def run(*args: str, **kw: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), **kw)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, err: str, *pieces: str) -> None:
    assert code == 2, err
    assert err.startswith("podfit: error: ") and err.count("\n") == 1, err
    for piece in pieces:
        assert piece in err, err


NOT_SECONDS = ["nan", "inf", "-inf", "1e308", "-1", "0", "ten", "", "1e-400", "0x10"]


@pytest.mark.parametrize("value", NOT_SECONDS)
@pytest.mark.parametrize(
    "command",
    [
        ["solve", "-f", CLUSTER, "--pods", PENDING, "--timeout"],
        [
            "prove",
            "-f",
            CLUSTER,
            "--claim",
            str(EXAMPLES / "claims" / "web-on-ssd.yaml"),
            "--timeout",
        ],
        ["conform", "--adapter", "reference", "--deadline"],
    ],
    ids=["solve", "prove", "conform"],
)
def test_time_limits_that_are_no_seconds_are_refused(command: list[str], value: str) -> None:
    code, _, err = run(*command, value)
    assert_one_line_error(code, err, command[-1])


@pytest.mark.parametrize(
    "args,option",
    [
        (["solve", "-f", CLUSTER, "--pods", PENDING, "--add-node-shape", CLUSTER, "--max-new-nodes", "-1"], "--max-new-nodes"),
        (["solve", "-f", CLUSTER, "--pods", PENDING, "--add-node-shape", CLUSTER, "--max-new-nodes", "100000000"], "--max-new-nodes"),
        (["solve", "-f", CLUSTER, "--pods", PENDING, "--memory", "0"], "--memory"),
        (["solve", "-f", CLUSTER, "--pods", PENDING, "--memory", str(2**40)], "--memory"),
        (["conform", "--adapter", "reference", "--max-examples", "-5"], "--max-examples"),
        (["conform", "--adapter", "reference", "--seed", str(10**30)], "--seed"),
    ],
    ids=["negative new nodes", "absurd new nodes", "zero memory", "absurd memory", "negative examples", "absurd seed"],
)  # fmt: skip
def test_counts_out_of_range_are_refused(args: list[str], option: str) -> None:
    code, _, err = run(*args)
    assert_one_line_error(code, err, option)


@settings(max_examples=25, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
def test_any_timeout_is_a_number_or_a_one_line_error(value: float | str) -> None:
    code, _, err = run("solve", "-f", CLUSTER, "--pods", PENDING, "--timeout", str(value))
    assert code in (0, 1, 2)
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err


# --- solve --timeout bounds the whole answer ---------------------------------------------------


def test_a_solver_that_keeps_encoding_stops_at_the_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Encoding that looks at the clock (as the session does while building terms).
    from podfit.solver import session

    def encoding_forever(*args: Any, **kwargs: Any) -> Any:
        while True:
            session.check_deadline()

    monkeypatch.setattr("podfit.solver.solve", encoding_forever)
    code, out, err = run(
        "solve", "-f", CLUSTER, "--pods", PENDING, "--timeout", "0.3", "-o", "json"
    )
    assert code == 2 and '"status": "unknown"' in out
    assert "could not decide within 0.3 s" in err


def test_a_solver_that_never_looks_at_the_clock_is_left_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stop = threading.Event()

    def deaf(*args: Any, **kwargs: Any) -> Any:
        stop.wait(60)  # never looks at the clock; released at the end of the test
        raise RuntimeError("released")

    monkeypatch.setattr("podfit.solver.solve", deaf)
    monkeypatch.setattr(importlib.import_module("podfit.cli.solve"), "GRACE_S", 0.1)
    try:
        code, out, _err = run(
            "solve", "-f", CLUSTER, "--pods", PENDING, "--timeout", "0.2", "-o", "json"
        )
    finally:
        stop.set()
    assert code == 2 and '"status": "unknown"' in out
    assert "ran out before the solver answered" in out


def test_each_pod_not_reached_in_time_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from podfit.solver import session

    real = podfit.solver.solve

    pods = podfit.load_pods(PENDING)
    slow = pods[len(pods) // 2].key

    def slow_in_the_middle(cluster: Any, asked: Any, **kwargs: Any) -> Any:
        if asked[0].key == slow:
            while True:
                session.check_deadline()
        return real(cluster, asked, **kwargs)

    monkeypatch.setattr("podfit.solver.solve", slow_in_the_middle)
    answers = podfit.solve_each(podfit.load(CLUSTER), pods, timeout_ms=3000)
    statuses = [answers[p.key].status for p in pods]
    middle = len(pods) // 2
    assert "unknown" not in statuses[:middle]
    assert set(statuses[middle:]) == {"unknown"}
    assert "before this pod was asked about" in answers[pods[-1].key].explanation[0]


def test_the_api_refuses_absurd_limits() -> None:
    cluster, pods = podfit.load(CLUSTER), podfit.load_pods(PENDING)
    for bad in (0, -5, 10**12):
        with pytest.raises(podfit.errors.UsageError, match="--timeout"):
            podfit.solve(cluster, pods, timeout_ms=bad)
    node = next(iter(cluster.nodes.values()))
    with pytest.raises(podfit.errors.UsageError, match="--max-new-nodes"):
        podfit.solve(cluster, pods, add_node_shape=node, max_new_nodes=10**6)


# --- whatif on far-future times ----------------------------------------------------------------

OWNED = (
    "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
    "status: {allocatable: {cpu: '4', memory: 8Gi, pods: '110'}}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: '%s', "
    "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: u, controller: true}]}\n"
    "spec: {nodeName: n1, containers: [{name: c}], tolerations: [{key: k, operator: Exists, "
    "effect: NoExecute, tolerationSeconds: %d}]}\nstatus: {phase: Running}\n"
)


@pytest.mark.parametrize("seconds", [2**63 - 1, -(2**63), 0, 1])
@pytest.mark.parametrize("created", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
@pytest.mark.parametrize(
    "change",
    [
        ["--taint", "n1=k=v:NoExecute"],
        ["--taint", "n1=x:NoExecute"],
        ["--drain", "n1"],
        ["--condition", "n1=NotReady"],
    ],
)
def test_whatif_extreme_times_answer(
    tmp_path: Path, seconds: int, created: str, change: list[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(OWNED % (created, seconds))
    code, out, err = run("whatif", "-f", str(path), *change)
    assert code in (0, 1), err
    assert "Traceback" not in out + err  # fmt: skip


# --- the terminal and the progress display ---------------------------------------------------------


def test_a_terminal_that_cannot_show_utf8_gets_escapes() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "podfit", "explain", "-f", CLUSTER, "--pod", POD],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    # Every character the terminal cannot show comes out as an escape (· as \xb7, ...).
    assert b"Traceback" not in done.stderr and done.stdout.isascii()
    assert b"\\x" in done.stdout or b"\\u" in done.stdout


def test_scheduler_text_is_never_read_as_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.console

    from podfit.cli.conform import RichProgress

    buffer = io.StringIO()
    real = rich.console.Console
    monkeypatch.setattr(
        rich.console,
        "Console",
        lambda **kw: real(file=buffer, force_terminal=False, width=400),
    )
    progress = RichProgress(units=1, max_examples=1)

    class Event:
        kind = "finding"
        index = 0
        examples = 1

        class unit:
            name = "soundness/taints"

        class finding:
            message = "scheduler said [bold red]boom[/] \x1b[2J\nand more"

    progress(Event)  # type: ignore[arg-type]
    progress.close()
    shown = buffer.getvalue()
    assert "[bold red]boom[/]" in shown and "\x1b[2J" not in shown and "\\nand more" in shown


@pytest.mark.parametrize(
    "change,words",
    [
        (["--taint", "node-a1=-k=v:NoSchedule"], 'key: Invalid value: "-k"'),
        (["--taint", "node-a1=k=a/b:NoSchedule"], 'value: Invalid value: "a/b"'),
        (["--taint", "node-a1=k=v:NoAdmit"], 'Unsupported value: "NoAdmit"'),
        (["--label", "node-a1", "zone=eu west"], 'value: Invalid value: "eu west"'),
        (["--label", "node-a1", "a/b/c=x"], 'key: Invalid value: "a/b/c"'),
        (["--condition", "node-a1=Ready=Maybe"], 'Unsupported value: "Maybe"'),
    ],
)
def test_whatif_changes_are_checked_as_the_api_server_checks_them(
    change: list[str], words: str
) -> None:
    code, _, err = run("whatif", "-f", CLUSTER, *change)
    assert_one_line_error(code, err, words)
