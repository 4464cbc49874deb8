"""The upstream differential: the reference against kube-scheduler's own code, per release.

Runs only where ``PODFIT_UPSTREAM_ORACLES`` names a directory of oracle binaries
(``podfit-oracle-MAJOR.MINOR``: kube-scheduler of that release behind the exec protocol);
otherwise every test here skips, saying why. For each release found:

(a) ``podfit conform --strict`` against the oracle finds nothing;
(b) every spec ``schedule`` example that holds for the release passes through it;
(c) random clusters agree field by field (feasible set, per node the rejecting plugin,
    code and reasons, every plugin's weighted score, the best nodes, the FitError message);
(d) the oracle's self-test bug makes (c) fail: the differential can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podfit import spec
from podfit.adapters import resolve
from podfit.adapters.exec_adapter import ExecScheduler
from podfit.conformance.backends import AdapterBackend
from podfit.conformance.runner import run_conformance
from podfit.conformance.spec_runner import run_rules
from podfit.conformance.upstream import ENV, campaign, find_oracles, oracle_spec
from podfit.versions import KubeVersion

ORACLES = find_oracles()
VERSIONS = sorted(ORACLES)
SEED = 20261206

pytestmark = [
    pytest.mark.skipif(
        not ORACLES,
        reason=f"no upstream oracles: set {ENV} to a directory of podfit-oracle-MAJOR.MINOR "
        "binaries (README: 'Checking against the real kube-scheduler')",
    ),
    pytest.mark.xdist_group("upstream"),
]


@pytest.fixture(scope="module", params=VERSIONS, ids=[str(v) for v in VERSIONS])
def oracle(request: pytest.FixtureRequest) -> Iterator[tuple[KubeVersion, ExecScheduler]]:
    version: KubeVersion = request.param
    scheduler = resolve(oracle_spec(ORACLES[version]))
    assert isinstance(scheduler, ExecScheduler)
    try:
        yield version, scheduler
    finally:
        scheduler.close()


def test_conform_strict_finds_nothing(oracle: tuple[KubeVersion, ExecScheduler]) -> None:
    version, scheduler = oracle
    report = run_conformance(
        scheduler, max_examples=40, seed=SEED, strict=True, kube_version=version
    )
    assert report.findings == [], [f.message for f in report.findings]
    assert sum(u.counts.run for u in report.units) > 1000


def test_every_spec_schedule_example_passes(oracle: tuple[KubeVersion, ExecScheduler]) -> None:
    version, scheduler = oracle
    results = run_rules(AdapterBackend(scheduler, version), spec.rules(), versions=(version,))
    failed = [
        f"{r.example.id}: {'; '.join(r.differences)}"
        for r in results
        if r.status in ("fail", "error")
    ]
    assert failed == []
    ran = [r for r in results if r.status == "pass"]
    # Every schedule example that holds for the release and gives no other scheduler's pod.
    assert len(ran) > 300


def test_random_clusters_agree_field_by_field(oracle: tuple[KubeVersion, ExecScheduler]) -> None:
    version, scheduler = oracle
    result = campaign(version, scheduler.schedule, examples=300, seed=SEED)
    shown = [[str(d) for d in found[:5]] for _, _, found in result.first]
    assert result.differing == 0, shown
    assert result.examples == 300


@pytest.mark.parametrize("version", VERSIONS, ids=[str(v) for v in VERSIONS])
def test_the_differential_fails_on_a_planted_upstream_bug(version: KubeVersion) -> None:
    # The oracle's self-test mode keeps Succeeded/Failed pods in the scheduler's cache.
    broken = ExecScheduler(
        [str(ORACLES[version]), "-details"],
        env={"PODFIT_ORACLE_SELFTEST_BREAK": "count-terminal-pods"},
    )
    try:
        result = campaign(version, broken.schedule, examples=300, seed=SEED)
    finally:
        broken.close()
    assert result.differing > 0
    assert set(result.by_field) & {"feasible", "reasons", "pluginScores", "message", "top"}


def test_find_oracles_reads_the_directory(tmp_path: Path) -> None:
    for name in ("podfit-oracle-1.35", "podfit-oracle-1.30", "podfit-oracle-x", "other"):
        binary = tmp_path / name
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    found = find_oracles(tmp_path)
    assert [str(v) for v in found] == ["1.35"]  # 1.30 is not a release podfit models
