"""The pytest plugin: `pytest --podfit-adapter=A` inside a user's own test run, its fixtures,
and pytest-xdist."""

from __future__ import annotations

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


def test_nothing_happens_without_an_adapter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "podfit:" not in result.stdout.str()


def test_the_reference_passes_as_test_items(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--podfit-adapter=reference", "--podfit-rules=taints", "--podfit-max-examples=10",
        "--podfit-seed=5", "-v", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "podfit: adapter reference, using --podfit-seed=5",
            "*soundness*taints* PASSED*",
            "*completeness*taints* PASSED*",
            "*stateful*all* PASSED*",
        ]
    )


def test_a_mutant_fails_with_its_counterexample(pytester: pytest.Pytester) -> None:
    out = pytester.path / "cx"
    result = pytester.runpytest(
        "--podfit-adapter=mutant:cordon-ignored", "--podfit-rules=node-unschedulable",
        "--podfit-seed=3", f"--podfit-out={out}", "-p", "no:randomly",
    )  # fmt: skip
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*failed for mutant:cordon-ignored*", "*replay: podfit explain*"])
    written = sorted(p.name for p in out.iterdir())
    assert written and all((out / name / "pod.yaml").is_file() for name in written)


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
    result = pytester.runpytest_subprocess(
        "--podfit-adapter=reference", "--podfit-rules=taints,node-unschedulable",
        "--podfit-max-examples=5", "--podfit-seed=11", "-n", "2", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*podfit: adapter reference, using --podfit-seed=11*"])
