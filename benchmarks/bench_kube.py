"""The kube: adapter's pace against a real control plane, for the README.

    PODFIT_CONTROL_PLANE=/path/to/bin python benchmarks/bench_kube.py [--examples N] [--strict]
    python benchmarks/bench_kube.py --kubeconfig FILE --context CTX     # a cluster you have

Starts a control plane from the binaries in ``$PODFIT_CONTROL_PLANE`` (or uses the given
kubeconfig context), then runs conformance of its kube-scheduler through the kube adapter
on every rule area (soundness and completeness, ``--strict`` adds optimality and reasons;
the stateful run too) and reports examples per second (an example is one generated cluster
and pending pod, judged; it may ask the scheduler more than once), scheduling decisions per
second, and how often a fake node was reused rather than created. ``--settle`` and
``--pool`` show what the waits and the node pool are worth.
"""

from __future__ import annotations

import argparse
import os
import time

from podfit.adapters.kube_adapter import DEFAULT_POOL, DEFAULT_SETTLE, KubeScheduler
from podfit.conformance.controlplane import ControlPlane
from podfit.conformance.runner import run_conformance


def measure(
    context: str, kubeconfig: str, examples: int, strict: bool, settle: float, pool: int, seed: int
) -> dict[str, float]:
    scheduler = KubeScheduler(context, kubeconfig=kubeconfig, settle=settle, pool_size=pool)
    start = time.perf_counter()
    try:
        report = run_conformance(scheduler, max_examples=examples, seed=seed, strict=strict)
    finally:
        seconds = time.perf_counter() - start
        scheduler.close()
    if report.findings:
        print(f"finding: {report.findings[0].message}")
    stats = scheduler.stats
    created, reused = stats["nodes_created"], stats["nodes_reused"]
    return {
        "examples": report.totals().run,
        "decisions": stats["calls"],
        "seconds": seconds,
        "nodes_created": created,
        "node_reuse": reused / max(1, created + reused),
        "retries": stats["retries"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20, help="examples per unit")
    parser.add_argument("--strict", action="store_true", help="also optimality and reasons")
    parser.add_argument("--settle", type=float, default=DEFAULT_SETTLE)
    parser.add_argument("--pool", type=int, default=DEFAULT_POOL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--context", default="")
    args = parser.parse_args()

    plane = None
    if args.kubeconfig is None:
        directory = os.environ.get("PODFIT_CONTROL_PLANE")
        if not directory:
            raise SystemExit("set PODFIT_CONTROL_PLANE to a directory of binaries, or --kubeconfig")
        plane = ControlPlane(directory).start()
        kubeconfig, context = str(plane.kubeconfig), plane.context
    else:
        kubeconfig, context = args.kubeconfig, args.context
    try:
        r = measure(
            context, kubeconfig, args.examples, args.strict, args.settle, args.pool, args.seed
        )
    finally:
        if plane is not None:
            plane.stop()
    print("| measure | figure |\n|---|---|")
    what = "soundness, completeness" + (", optimality, reasons" if args.strict else "")
    print(
        f"| kube-scheduler through kube:, {what} on 7 rule areas + stateful, "
        f"{args.examples} examples per unit | {r['examples']:.0f} examples in "
        f"{r['seconds']:.1f} s: {r['examples'] / r['seconds']:.1f} examples/s, "
        f"{r['decisions'] / r['seconds']:.1f} decisions/s |"
    )
    print(
        f"| fake nodes | {r['nodes_created']:.0f} created, {r['node_reuse']:.0%} of the "
        f"examples' nodes reused from the pool; {r['retries']:.0f} answers asked again |"
    )


if __name__ == "__main__":
    main()
