"""podfit.solver.explain.shrink: deletion in chunks down to a minimal unsatisfiable subset,
checked against a fake oracle whose unsatisfiable sets are known exactly."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given
from hypothesis import strategies as st

from podfit.solver import Outcome
from podfit.solver.explain import shrink


class Oracle:
    """A set of facts is unsatisfiable when it holds one of ``conflicts``; the core given
    back is the first such conflict, padded with ``extra`` facts of the trial (as Z3's
    cores are: unsatisfiable, not necessarily minimal)."""

    def __init__(self, conflicts: list[frozenset[str]], extra: int = 0) -> None:
        self.conflicts = conflicts
        self.extra = extra
        self.asked = 0

    def unsat(self, facts: Iterable[str]) -> bool:
        have = set(facts)
        return any(c <= have for c in self.conflicts)

    def __call__(self, trial: list[str], timeout_ms: int) -> tuple[Outcome, set[str]]:
        self.asked += 1
        for c in self.conflicts:
            if c <= set(trial):
                padding = [f for f in trial if f not in c][: self.extra]
                return Outcome.UNSAT, set(c) | set(padding)
        return Outcome.SAT, set()


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[str], list[frozenset[str]], int]:
    facts = [f"f{i}" for i in range(draw(st.integers(1, 40)))]
    conflicts = draw(
        st.lists(
            st.frozensets(st.sampled_from(facts), min_size=1, max_size=8), min_size=1, max_size=4
        )
    )
    return facts, conflicts, draw(st.integers(0, 5))


@given(problems())
def test_the_result_is_unsatisfiable_and_every_fact_in_it_is_needed(
    problem: tuple[list[str], list[frozenset[str]], int],
) -> None:
    facts, conflicts, extra = problem
    oracle = Oracle(conflicts, extra)
    kept, minimal = shrink(facts, oracle, budget_ms=10_000)
    assert minimal
    assert oracle.unsat(kept)
    for f in kept:
        assert not oracle.unsat([g for g in kept if g != f]), f


def test_a_small_core_among_many_facts_takes_few_checks() -> None:
    facts = [f"f{i}" for i in range(1000)]
    oracle = Oracle([frozenset({"f500", "f501"})])
    kept, minimal = shrink(facts, oracle, budget_ms=10_000)
    assert sorted(kept) == ["f500", "f501"] and minimal
    assert oracle.asked < 60  # one fact at a time would take a thousand


def test_facts_known_to_be_needed_are_never_asked_about() -> None:
    facts = [f"f{i}" for i in range(10)]
    oracle = Oracle([frozenset(facts)])
    kept, minimal = shrink(facts, oracle, budget_ms=10_000, kept=facts[:9])
    assert sorted(kept) == sorted(facts) and minimal
    assert oracle.asked == 1


def test_an_unknown_answer_or_no_time_means_not_proven_minimal() -> None:
    def unknown(trial: list[str], timeout_ms: int) -> tuple[Outcome, set[str]]:
        return Outcome.UNKNOWN, set()

    kept, minimal = shrink(["a", "b"], unknown, budget_ms=10_000)
    assert sorted(kept) == ["a", "b"] and not minimal
    oracle = Oracle([frozenset({"a"})])
    kept, minimal = shrink(["a", "b", "c"], oracle, budget_ms=0)
    assert sorted(kept) == ["a", "b", "c"] and not minimal and oracle.asked == 0
