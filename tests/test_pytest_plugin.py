"""The pytest plugin: `pytest --podfit-adapter=A` inside a user's own test run, its fixtures,
and pytest-xdist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytest_plugins = ["pytester"]

USER_TEST = """
from hypothesis import given, settings, strategies as st

from podfit.conformance.properties import check_example


@settings(max_examples=10, database=None, deadline=None)
@given(data=st.data())
def test_my_own_property(data, podfit_problem_strategy, podfit_scheduler):
    cluster, pod = data.draw(podfit_problem_strategy)
    assert check_example(podfit_scheduler, cluster, pod, "soundness") == []


def test_the_seed_is_an_int(podfit_seed):
    assert isinstance(podfit_seed, int)
"""

CONFORMANCE_TEST = """
def test_conformance(podfit_unit):
    podfit_unit.check()
"""


def test_nothing_happens_without_an_adapter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "podfit:" not in result.stdout.str()


def test_the_reference_passes_as_test_items(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sched=CONFORMANCE_TEST)
    result = pytester.runpytest(
        "--podfit-adapter=reference", "--podfit-rules=taints", "--podfit-max-examples=10",
        "--podfit-seed=5", "--podfit-kube-version=1.35", "-v", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "podfit: adapter reference, using --podfit-seed=5",
            "test_sched.py::test_conformance?soundness-taints? PASSED*",
            "test_sched.py::test_conformance?completeness-taints? PASSED*",
            "test_sched.py::test_conformance?stateful-all? PASSED*",
        ]
    )
    assert "collected 3 items" in result.stdout.str()


def test_an_adapter_without_a_test_that_runs_the_properties_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("--podfit-adapter=reference", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no collected test takes the podfit_unit fixture*"])


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_mutant_fails_with_the_example_inline_and_its_node_id_reruns(tmp_path: Path) -> None:
    (tmp_path / "test_sched.py").write_text(CONFORMANCE_TEST)
    args = [
        "--podfit-adapter=mutant:cordon-ignored", "--podfit-rules=node-unschedulable",
        "--podfit-seed=3", "--podfit-max-examples=50",
    ]  # fmt: skip
    done = _pytest(tmp_path, *args, "--junitxml=report.xml", "-rf")
    assert done.returncode == 1, done.stdout[-2000:]
    out = done.stdout
    assert "collected 3 items" in out
    assert "failed for mutant:cordon-ignored" in out and "replay: podfit explain" in out
    assert "rules: node-unschedulable.filter.cordoned" in out
    # The shrunk example inline: the cordoned node and the pod.
    assert "cluster.yaml:" in out and "unschedulable: true" in out and "pod.yaml:" in out
    failed = re.findall(r"^FAILED (\S+\[[^\]]+\])", out, re.M)
    assert failed, out[-2000:]
    # JUnit XML carries the same text, the manifests included.
    xml = ElementTree.parse(tmp_path / "report.xml")
    failures = [f.text or "" for f in xml.iter("failure")]
    assert failures and all("kind: Node" in f and "rules:" in f for f in failures)
    # The counterexample landed under .podfit, which ignores itself in git.
    assert (tmp_path / ".podfit" / ".gitignore").is_file()
    assert any((tmp_path / ".podfit" / "counterexamples").glob("*/pod.yaml"))
    # A node id copied from the FAILED line runs that one item again.
    again = _pytest(tmp_path, failed[0], *args)
    assert again.returncode == 1, again.stdout[-2000:]
    assert "collected 1 item" in again.stdout and "1 failed" in again.stdout


def test_user_tests_use_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=USER_TEST)
    result = pytester.runpytest(
        "--podfit-adapter=reference", "--podfit-rules=resources", "--podfit-max-examples=3",
        "-k", "my_own or seed", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=2)


def test_fixtures_skip_without_an_adapter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=USER_TEST)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, skipped=1)


def test_a_bad_adapter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--podfit-adapter=mutant:nope", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--podfit-adapter: unknown mutant 'nope'*"])


def test_xdist_shares_the_items_and_the_seed(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_sched=CONFORMANCE_TEST)
    result = pytester.runpytest_subprocess(
        "--podfit-adapter=reference", "--podfit-rules=taints,node-unschedulable",
        "--podfit-max-examples=5", "--podfit-seed=11", "-n", "2", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*podfit: adapter reference, using --podfit-seed=11*"])
