from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# pytester runs pytest inside the tests (for the pytest plugin's own tests).
pytest_plugins = ["pytester"]

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "long", deadline=None, max_examples=2000, suppress_health_check=list(HealthCheck)
)
settings.load_profile("long" if os.environ.get("PODFIT_LONG") else "default")

# Tests never write to the user's cache of loaded clusters (tests/test_cache.py turns it on
# in a directory of its own). Set here so the CLI's subprocesses inherit it too.
os.environ["PODFIT_CACHE"] = "0"

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a text file into tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def _default_ctrl_c() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.fixture
def interruptible():  # type: ignore[no-untyped-def]
    """A ``preexec_fn`` giving a child Ctrl-C as a terminal delivers it: a test run started
    in the background (where the shell ignores SIGINT for its children) would otherwise
    hand that on, and a test sending SIGINT would wait for nothing."""
    return _default_ctrl_c
