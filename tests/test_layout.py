"""The package layout: a plain install imports from anywhere, the repository root included.

The core lives under ``src/podfit`` so that no folder named ``podfit`` at the repository
root can shadow the installed package (which would hide ``podfit.reference`` and the other
parts that live in their own top-level folders).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed without editable hooks, into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install failed:\n{done.stderr[-2000:]}")
    return target


def _run_from_root(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_part_imports_from_the_repository_root(plain_install: Path) -> None:
    code = (
        "import podfit, podfit.reference, podfit.solver, podfit.conformance, podfit.adapters, "
        "podfit.spec, podfit.cli\n"
        "print(podfit.__file__); print(podfit.reference.__file__)\n"
        "print(len(podfit.spec.areas()))"
    )
    done = _run_from_root(plain_install, "-c", code)
    assert done.returncode == 0, done.stderr
    core, reference, areas = done.stdout.split()
    assert Path(core).is_relative_to(plain_install)
    assert Path(reference).is_relative_to(plain_install)
    assert int(areas) > 10


def test_python_dash_m_podfit_runs_from_the_repository_root(plain_install: Path) -> None:
    done = _run_from_root(
        plain_install,
        "-m",
        "podfit",
        "explain",
        "-f",
        "examples/cluster.yaml",
        "--pod",
        "examples/pod.yaml",
    )
    assert done.returncode == 0, done.stderr
    assert "selected: node-b1" in done.stdout


def test_no_core_folder_at_the_repository_root() -> None:
    assert not (ROOT / "podfit").exists()
    assert (ROOT / "src" / "podfit" / "__init__.py").is_file()
