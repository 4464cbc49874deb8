"""The explain page in a real browser: headless Chromium renders it without console errors.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``); skipped without it.
The screenshot is kept in ``out/screenshots/explain.png`` as the run's artifact.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import podfit
from podfit.html import render_explain

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (Debian: apt-get install -y chromium)",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cluster = podfit.load(str(EXAMPLES / "cluster.yaml"))
    pod = podfit.load_pod(str(EXAMPLES / "pod.yaml"))
    path = tmp_path_factory.mktemp("html") / "explain.html"
    path.write_text(render_explain(podfit.explain(cluster, pod).to_dict()), encoding="utf-8")
    return path


def test_dom_has_the_table_the_selected_node_and_the_message(page: Path, tmp_path: Path) -> None:
    result = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert '<table id="nodes">' in dom
    assert 'id="selected-node"' in dom and 'data-node="node-b1"' in dom
    assert 'id="message"' in dom and "scheduled to node-b1" in dom
    assert dom.count("<tr") == 1 + 5  # header and one row per node
    assert console_errors(result.stderr) == []


def test_screenshot_is_a_png_without_console_errors(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "explain.png"
    result = chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_errors(result.stderr) == []
    assert shot.is_file() and shot.stat().st_size > 1000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = ROOT / "out" / "screenshots"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifacts / "explain.png")


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The check above would see a script error: a page that throws is reported."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>null.x()</script></body></html>")
    result = chromium(tmp_path / "profile", "--dump-dom", broken.as_uri())
    assert console_errors(result.stderr), result.stderr[-2000:]


# --- the solve and conformance pages ---------------------------------------------------------


def _solve_page(directory: Path) -> Path:
    from click.testing import CliRunner

    from podfit.cli import cli

    path = directory / "solve.html"
    result = CliRunner().invoke(
        cli,
        ["solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml"),
         "--html", str(path)],
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    return path


def _conform_page(directory: Path) -> Path:
    from click.testing import CliRunner

    from podfit.cli import cli

    path = directory / "conform.html"
    result = CliRunner().invoke(
        cli,
        ["conform", "--adapter", "mutant:cordon-ignored", "--rules", "node-unschedulable",
         "--seed", "3", "--max-examples", "30", "--no-stateful", "--out", str(directory / "cx"),
         "--html", str(path)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    return path


def _dump_page(directory: Path, name: str, args: list[str], exit_code: int) -> Path:
    from click.testing import CliRunner

    from podfit.cli import cli

    path = directory / f"{name}.html"
    result = CliRunner().invoke(
        cli, [*args[:1], "-f", str(EXAMPLES / "dump.yaml"), *args[1:], "--html", str(path)]
    )
    assert result.exit_code == exit_code, result.output
    return path


def _whatif_page(directory: Path) -> Path:
    drain = ["whatif", "--drain", "worker-a1", "--ignore-daemonsets", "--force"]
    return _dump_page(directory, "whatif", drain, 1)


def _admit_page(directory: Path) -> Path:
    pod = directory / "debug.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: shop}\n"
        "spec: {containers: [{name: c, image: busybox}]}\n"
    )
    return _dump_page(directory, "admit", ["admit", "--pod", str(pod)], 1)


@pytest.mark.parametrize(
    ("make", "must_have"),
    [
        (_solve_page, ['id="message"', '<table id="nodes">', 'data-node="node-b1"', "feasible"]),
        (
            _conform_page,
            ['<table id="areas">', 'id="finding-1"', '<table id="matrix-1">', "podfit explain -f"],
        ),
        (
            _whatif_page,
            [
                '<table id="timeline">',
                "2 blocked by a PodDisruptionBudget",
                "left without a node by the change: batch/log-shipper",
                "(PodDisruptionBudget batch/ingest)",
            ],
        ),
        (
            _admit_page,
            [
                '<table id="quotas">',
                "exceeded quota: shop-quota, requested: pods=1, used: pods=7, limited: pods=7",
                "status.used says pods=7, the pods given add up to pods=6",
                "tolerationSeconds: 300",
            ],
        ),
    ],
    ids=["solve", "conform", "whatif", "admit"],
)
def test_solve_and_conform_pages_render_without_console_errors(
    make: Any, must_have: list[str], tmp_path: Path
) -> None:
    page = make(tmp_path)
    result = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_errors(result.stderr) == []
    for text in must_have:
        assert text in result.stdout, text
    shot = tmp_path / f"{page.stem}.png"
    result = chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()
    )
    assert result.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = ROOT / "out" / "screenshots"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifacts / shot.name)


# --- why a pod of a realistic dump is pending ------------------------------------------------


@pytest.fixture(scope="module")
def dump_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from podfit.cli import cli

    path = tmp_path_factory.mktemp("dump") / "pending.html"
    result = CliRunner().invoke(
        cli,
        ["explain", "-f", str(EXAMPLES / "dump.yaml"), "--pod", "shop/web-5c7f8d9b4-n6v9r",
         "--html", str(path)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    return path


def test_pending_pod_page_shows_causes_preemption_and_fixes(
    dump_page: Path, tmp_path: Path
) -> None:
    result = chromium(tmp_path / "profile", "--dump-dom", dump_page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert console_errors(result.stderr) == []
    # kube-scheduler's reason, and the cause beside it
    assert "node(s) had untolerated taint(s)" in dom
    assert "untolerated taint nvidia.com/gpu=present:NoSchedule" in dom
    assert "memory: requests 1Gi, 628Mi free of 14.8Gi" in dom
    assert "shop/search-indexer-0 in kubernetes.io/hostname=worker-a4" in dom
    assert "zone=eu-west-1b has 2 of them, the minimum is 1" in dom
    # preemption and the budget it breaks
    assert 'id="preemption"' in dom and "violates PodDisruptionBudget batch/ingest" in dom
    # confirmed fixes, the cheapest first
    assert '<ol id="fixes">' in dom
    assert dom.index("drop nodeSelector disktype=ssd") < dom.index("add a node like worker-a1")
    assert dom.count('<ul class="why">') == 9
    shot = tmp_path / "pending.png"
    result = chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1400", dump_page.as_uri()
    )
    assert result.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    artifacts = ROOT / "out" / "screenshots"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifacts / "explain-pending.png")
