"""The benchmarks behind the README's performance table.

    python benchmarks/run.py [--quick] [--only NAME] [--simulate-running N[,N...]]

Each scenario prints its figures; the end prints a markdown table to paste into the
README. Figures are medians of repeated runs (wall clock, CPython, one process).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
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
    """explain's scheduling cycle (filter and score every node, preemption when nothing fits)
    for one pod on clusters of 500 / 5,000 / 20,000 nodes, 10 running pods per node; the
    details, fixes and text explain adds are explain_text's."""
    from podfit.reference.framework import snapshot_of
    from podfit.reference.scheduler import schedule_one

    rows: list[Row] = []
    sizes = [500, 5000] if quick else [500, 5000, 20000]
    pod = pod_from_manifest(synthetic.pending_pod())
    for n in sizes:
        manifests = synthetic.cluster_manifests(n, pods_per_node=10)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        cluster = cluster_from_manifests(manifests)
        snapshot_of(cluster)
        load = time.perf_counter() - start
        # Growth of the process's peak RSS (KiB on Linux) while loading: an upper bound on
        # what the cluster and its snapshot take.
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
        median, worst = timed(lambda c=cluster: schedule_one(c, pod), repeat=5 if n <= 5000 else 3)
        print(
            f"explain {n} nodes / {n * 10} pods: load+snapshot {ms(load)} "
            f"(RSS +{peak / 2**20:.0f} MiB), explain median {ms(median)}, max {ms(worst)}"
        )
        rows.append(
            (
                f"`explain`'s scheduling cycle, {n:,} nodes / {n * 10:,} running pods",
                f"median {ms(median)}",
            )
        )
        rows.append(
            (
                f"load + snapshot, {n:,} nodes / {n * 10:,} pods",
                f"{ms(load)}, RSS +{peak / 2**20:.0f} MiB",
            )
        )
    return rows


@scenario
def explain_text(quick: bool) -> list[Row]:
    """podfit explain's whole answer as text (reference, details of every rejected node,
    preemption, confirmed fixes, grouped rendering) for a pod that fits nowhere and for one
    that fits, on 500 / 5,000 / 20,000 nodes; and, for scale, a rich Table of every node
    (the previous renderer's layout)."""
    import io

    from rich.console import Console
    from rich.table import Table

    from podfit.api import explain
    from podfit.reference.framework import snapshot_of
    from podfit.reference.scheduler import schedule_one
    from podfit.render import explain_view

    rows: list[Row] = []
    sizes = [500, 5000] if quick else [500, 5000, 20000]
    fits = pod_from_manifest(synthetic.pending_pod())
    nowhere_manifest = synthetic.pending_pod()
    # An SSD node with a 2 TiB local disk: no node has the label, so every node is rejected.
    nowhere_manifest["spec"]["nodeSelector"] = {"disktype": "ssd", "example.com/disk": "2Ti"}
    nowhere = pod_from_manifest(nowhere_manifest)
    for n in sizes:
        cluster = cluster_from_manifests(synthetic.cluster_manifests(n, pods_per_node=10))
        snapshot_of(cluster)
        for label, pod in (("fits nowhere", nowhere), ("fits", fits)):
            answer: dict[str, str] = {}

            def whole(p=pod, c=cluster, out=answer) -> None:  # type: ignore[no-untyped-def]
                out["text"] = explain_view(explain(c, p).to_dict())

            median, worst = timed(whole, repeat=3)
            # The scheduling cycle alone, beside it: what the explanation adds to it.
            cycle, _ = timed(lambda p=pod, c=cluster: schedule_one(c, p), repeat=3)
            lines = answer["text"].count("\n")
            print(
                f"explain text, {n} nodes, pod {label}: median {ms(median)}, max {ms(worst)}, "
                f"{lines} lines; the cycle alone {ms(cycle)}"
            )
            rows.append(
                (
                    f"`explain` as text, {n:,} nodes, a pod that {label}",
                    f"median {ms(median)} ({lines} lines; the cycle alone {ms(cycle)})",
                )
            )
        if n == 5000:
            d = explain(cluster, nowhere).to_dict()

            def rich_table(data=d) -> None:  # type: ignore[no-untyped-def]
                table = Table(box=None)
                table.add_column("NODE")
                table.add_column("FILTER", overflow="fold")
                for node in data["nodes"]:
                    table.add_row(node["name"], "; ".join(node["status"]["reasons"]))
                Console(file=io.StringIO(), width=100).print(table)

            median, _ = timed(rich_table, repeat=1)
            print(f"rich Table of {n} rejected nodes: {ms(median)}")
            rows.append((f"a rich Table of {n:,} rejected nodes (for comparison)", ms(median)))
    return rows


# Running pods for simulate_spread (--simulate-running); spread over the 500 nodes.
SIMULATE_RUNNING = [5000]
SIMULATE_NODES = 500


@scenario
def simulate_spread(quick: bool) -> list[Row]:
    """simulate pods with hostname anti-affinity and zone spread, 500 nodes / 5,000 running pods."""
    from podfit.api import simulate
    from podfit.reference.nodeinfo import Snapshot

    pending = 200 if quick else 1000
    repeat = 1 if quick else 3
    rows: list[Row] = []
    for running in SIMULATE_RUNNING:
        per_node = running // SIMULATE_NODES
        cluster = cluster_from_manifests(
            synthetic.cluster_manifests(SIMULATE_NODES, pods_per_node=per_node)
        )
        pods = [pod_from_manifest(m) for m in synthetic.spread_pods(pending)]
        # simulate works on a copy of the cluster and builds its snapshot first: time that
        # on its own to tell the per-pod cost from the per-cluster one.
        gc.collect()
        start = time.perf_counter()
        Snapshot.of(cluster.copy())
        snapshot = time.perf_counter() - start
        walls: list[float] = []
        cpus: list[float] = []
        placed = 0
        for _ in range(repeat):
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            result = simulate(cluster, pods)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
            placed = sum(1 for d in result.decisions if d.node)
        wall, cpu_time = statistics.median(walls), statistics.median(cpus)
        count = SIMULATE_NODES * per_node
        per_pod = (wall - snapshot) / pending * 1000
        runs = f"{repeat} run{'s' if repeat > 1 else ''}"
        print(
            f"simulate {pending} pods onto {SIMULATE_NODES} nodes / {count} running pods: "
            f"median {wall:.2f} s wall, {cpu_time:.2f} s CPU of {runs} "
            f"(wall {min(walls):.2f}-{max(walls):.2f} s); snapshot {snapshot:.2f} s, "
            f"then {per_pod:.1f} ms a pod; {placed} placed"
        )
        rows.append(
            (
                f"`simulate` {pending:,} pods (hostname anti-affinity + zone spread), "
                f"{SIMULATE_NODES} nodes / {count:,} pods",
                f"median {wall:.1f} s of {runs}: snapshot {snapshot:.2f} s, {per_pod:.1f} ms "
                f"a pod ({'all' if placed == pending else f'{placed:,}'} placed)",
            )
        )
    return rows


@scenario
def solver_scale(quick: bool) -> list[Row]:
    """Z3 `solve`: pending pods x nodes (benchmarks/bench_solver_scale.py, its default rows)."""
    import bench_solver_scale

    return bench_solver_scale.table(quick=quick)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected counts like 2500,5000, got {text!r}") from None
    if any(n < 0 for n in counts):
        raise argparse.ArgumentTypeError("counts must not be negative")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", action="append", help="run only these scenarios")
    parser.add_argument(
        "--simulate-running",
        type=_counts,
        default=[5000],
        metavar="N[,N...]",
        help="running pods in simulate_spread's cluster, one run per count (default 5000), "
        "e.g. 2500,5000,10000 to see how the per-pod cost grows with them",
    )
    args = parser.parse_args()
    SIMULATE_RUNNING[:] = args.simulate_running
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
