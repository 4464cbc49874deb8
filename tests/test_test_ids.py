"""Every test id of the project can be copied from a report and run again: no ``::`` and
no brackets inside the parameter part, and a real ``pytest 'node id'`` runs the item."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_every_parametrized_id_is_re_runnable() -> None:
    done = _pytest("--collect-only", "-q", "tests")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(ids) > 1000
    bad = []
    for node_id in ids:
        _, bracket, param = node_id.partition("[")
        if bracket and ("::" in param[:-1] or "[" in param[:-1] or "]" in param[:-1]):
            bad.append(node_id)
    assert bad == []


def test_a_spec_example_id_with_spaces_and_colons_runs_again() -> None:
    done = _pytest("--collect-only", "-q", "tests/test_spec.py", "tests/test_nodeports.py")
    wanted = [
        line
        for line in done.stdout.splitlines()
        if ("test_example[" in line and '":"' in line and ": " in line)
        or "test_filter[':' is a specific address]" in line
    ]
    assert len(wanted) >= 2, done.stdout[-1000:]
    again = _pytest("-q", wanted[0], wanted[-1])
    assert again.returncode == 0, again.stdout[-2000:]
    assert "2 passed" in again.stdout
