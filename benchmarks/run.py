"""The benchmarks behind the README's performance table.

    python benchmarks/run.py [--quick] [--only NAME]

Each scenario prints its figures; the end prints a markdown table to paste into the
README. Figures are medians of repeated runs (wall clock, CPython, one process).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

from podfit.loading import cluster_from_manifests, pod_from_manifest

Row = tuple[str, str]
SCENARIOS: dict[str, Callable[[bool], list[Row]]] = {}


def scenario(func: Callable[[bool], list[Row]]) -> Callable[[bool], list[Row]]:
    SCENARIOS[func.__name__] = func
    return func


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median seconds, max seconds)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


@scenario
def explain_scaling(quick: bool) -> list[Row]:
    """explain of one pod on clusters of 500 / 5,000 / 20,000 nodes, 10 running pods per node."""
    from podfit.api import explain
    from podfit.reference.framework import snapshot_of

    rows: list[Row] = []
    sizes = [500, 5000] if quick else [500, 5000, 20000]
    pod = pod_from_manifest(synthetic.pending_pod())
    for n in sizes:
        manifests = synthetic.cluster_manifests(n, pods_per_node=10)
        tracemalloc.start()
        start = time.perf_counter()
        cluster = cluster_from_manifests(manifests)
        snapshot_of(cluster)
        load = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        median, worst = timed(lambda c=cluster: explain(c, pod), repeat=5 if n <= 5000 else 3)
        print(
            f"explain {n} nodes / {n * 10} pods: load+snapshot {ms(load)} "
            f"(peak {peak / 2**20:.0f} MiB), explain median {ms(median)}, max {ms(worst)}"
        )
        rows.append((f"explain, {n:,} nodes / {n * 10:,} running pods", f"median {ms(median)}"))
        rows.append(
            (
                f"load + snapshot, {n:,} nodes / {n * 10:,} pods",
                f"{ms(load)}, peak {peak / 2**20:.0f} MiB",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", action="append", help="run only these scenarios")
    args = parser.parse_args()
    rows: list[Row] = []
    for name, fn in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}: {fn.__doc__}")
        rows.extend(fn(args.quick))
    print("\n| scenario | figure |\n|---|---|")
    for label, figure in rows:
        print(f"| {label} | {figure} |")


if __name__ == "__main__":
    main()
