"""Progress on a terminal, silence elsewhere."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from podfit.progress import Working

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with Working("solving") as w:
        w.update(1, 2)
    assert capsys.readouterr() == ("", "")


def test_simulate_shows_progress_on_a_terminal_only() -> None:
    podfit = Path(sys.executable).with_name("podfit")
    if not podfit.exists():
        pytest.skip("the podfit command is not installed next to this Python")
    args = [str(podfit), "simulate", "-f", str(EXAMPLES / "cluster.yaml"),
            "--pods", str(EXAMPLES / "pending.yaml")]  # fmt: skip
    leader, follower = pty.openpty()
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    os.close(leader)
    assert b"simulating" in b"".join(chunks)
    piped = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert "simulating" not in piped.stderr
    assert piped.returncode in (0, 1)
