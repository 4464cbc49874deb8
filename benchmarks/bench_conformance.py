"""Conformance speed for the README: generated clusters per second against the in-process
reference, how long the default run takes to catch each mutant, and whether its finding
names the rule the mutant breaks.

    python benchmarks/bench_conformance.py [--examples N] [--seeds S] [--mutant NAME ...]

The throughput run checks soundness on every rule area (each example is a generated cluster
with a pending pod, judged by the reference) and counts examples per second. For each
mutant, ``podfit conform``'s default run (200 examples per property and area, the stateful
run, shrinking) is timed until its first finding, over several seeds; the median is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

from podfit.adapters.mutants import BUG_RULES, MUTANTS, AdmissionMutant, MutantScheduler
from podfit.adapters.reference_adapter import ReferenceScheduler
from podfit.conformance.runner import run_conformance


def throughput(examples: int, seed: int) -> tuple[int, float]:
    """(examples run, seconds) for soundness and completeness over every area."""
    start = time.perf_counter()
    report = run_conformance(ReferenceScheduler(), max_examples=examples, seed=seed, stateful=False)
    seconds = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"the reference failed: {report.findings[0].message}")
    return report.totals().run, seconds


def time_to_catch(name: str, seed: int) -> tuple[float | None, int, tuple[str, ...]]:
    """Seconds until the default run's first finding (None if it was not caught), the
    examples it took, and the rules the finding names."""
    mutant = MUTANTS[name]()
    assert isinstance(mutant, MutantScheduler | AdmissionMutant)
    start = time.perf_counter()
    report = run_conformance(mutant, seed=seed, fail_fast=True, areas=[mutant.bug_area])
    seconds = time.perf_counter() - start
    rules = report.findings[0].rule_ids if report.findings else ()
    return (seconds if report.findings else None), report.totals().run, rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per unit")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per mutant")
    parser.add_argument("--mutant", action="append", default=[], help="only these mutants")
    args = parser.parse_args()

    run, seconds = throughput(args.examples, seed=1)
    print("| measure | figure |\n|---|---|")
    print(
        f"| reference adapter, soundness + completeness on 7 rule areas | {run} generated "
        f"clusters in {seconds:.1f} s: {run / seconds:.0f} clusters/s |"
    )
    print(
        "\n| mutant | area | caught | median time to catch | examples | names its rule "
        "| rules named (median) |\n|---|---|---|---|---|---|---|"
    )
    for name in args.mutant or sorted(MUTANTS):
        area = MUTANTS[name]().bug_area  # type: ignore[attr-defined]
        times, counts, named, caught, right = [], [], [], 0, 0
        for seed in range(1, args.seeds + 1):
            t, n, rules = time_to_catch(name, seed)
            counts.append(n)
            if t is not None:
                caught += 1
                times.append(t)
                named.append(len(rules))
                right += bool(set(BUG_RULES[name]) & set(rules))
        median = f"{statistics.median(times):.2f} s" if times else "-"
        print(
            f"| {name} | {area} | {caught}/{args.seeds} | {median} | "
            f"{int(statistics.median(counts))} | {right}/{caught} | "
            f"{statistics.median(named) if named else '-'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
