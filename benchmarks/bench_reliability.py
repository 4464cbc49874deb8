"""Reliability figures for the README: hostile inputs, faulty schedulers, a flaky conformance run.

    /work/venv/bin/python benchmarks/bench_reliability.py [--examples N] [--seed S]

Runs the hostile-input tables of ``tests/test_bad_input.py`` through the CLI, the fault
tables of ``tests/test_faulty_schedulers.py`` through the exec and extender adapters, and a
conformance run against an exec scheduler that fails on 10% of its calls; prints a markdown
table. Every count is measured here, none is typed in.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from click.testing import CliRunner

from podfit.adapters import resolve
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.decisions import Decision, Scheduler
from podfit.model import Pod

TESTS = Path(__file__).resolve().parent.parent / "tests"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _handled(result: Any) -> bool:
    """Exit 2, one ``podfit: error:`` line, no traceback."""
    err: str = result.stderr
    return (
        result.exit_code == 2
        and err.startswith("podfit: error: ")
        and err.count("\n") == 1
        and "Traceback" not in result.stdout + err
        and (result.exception is None or isinstance(result.exception, SystemExit))
    )


def bad_inputs(directory: Path) -> tuple[int, int]:
    """(tried, handled) over the manifest and config tables, through every command."""
    bad = _module("test_bad_input")
    runner = CliRunner()
    ok, pod = directory / "ok.yaml", directory / "pod.yaml"
    ok.write_text(bad.NODE)
    pod.write_text(bad.POD)
    tried = handled = 0
    for index, (content, _) in enumerate(bad.MANIFESTS.values()):
        path = directory / f"bad{index}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for command in bad.COMMANDS:
            args = bad.command_args(command, [ok, path], pod)
            tried += 1
            handled += _handled(runner.invoke(cli, args))
    for index, (content, _) in enumerate(bad.BAD_CONFIGS.values()):
        path = directory / f"config{index}.yaml"
        if content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for command in ("explain", "simulate"):
            args = [*bad.command_args(command, [ok], pod), "--config", str(path)]
            tried += 1
            handled += _handled(runner.invoke(cli, args))
    return tried, handled


def faults(module: ModuleType, scheduler: Scheduler, table: dict[str, str]) -> tuple[int, int]:
    """(injected, handled): handled = an error Decision, then a sound answer to the next pod."""
    cluster = module.make_cluster()
    handled = 0
    for fault in table:
        try:
            decision = scheduler.schedule(cluster, module.make_pod(fault))
            after = scheduler.schedule(cluster, module.make_pod("ok"))
        except Exception as exc:  # counted as not handled: the point of the figure
            print(f"  {fault}: raised {exc!r}", file=sys.stderr)
            continue
        if decision.error and decision.node is None and after.error is None and after.node:
            handled += 1
        else:
            print(f"  {fault}: {decision} then {after}", file=sys.stderr)
    return len(table), handled


class Counting:
    """Counts the calls and the error decisions of the scheduler it wraps."""

    def __init__(self, inner: Scheduler) -> None:
        self.inner = inner
        self.name = inner.name
        self.areas = inner.areas
        self.calls = 0
        self.errors = 0

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        self.calls += 1
        decision = self.inner.schedule(cluster, pod)
        self.errors += decision.error is not None
        return decision

    def close(self) -> None:
        self.inner.close()


def flaky_conformance(
    module: ModuleType, directory: Path, examples: int, seed: int
) -> dict[str, Any]:
    from podfit.conformance.runner import run_conformance

    scheduler = Counting(resolve(module.exec_spec(directory, "0.1", str(seed), timeout=0.5)))
    start = time.monotonic()
    try:
        report = run_conformance(
            scheduler,
            max_examples=examples,
            seed=seed,
            deadline_s=240,
            shrink=False,
            out_dir=directory / "report",
        )
    finally:
        scheduler.close()
    # "Intact": the report serialises, and every finding it holds can be read back.
    as_json = json.loads(json.dumps(report.to_dict()))
    return {
        "calls": scheduler.calls,
        "errors": scheduler.errors,
        "complete": report.complete,
        "findings": len(report.findings),
        "examples": report.totals().run,
        "units": len(report.units),
        "report_keys": len(as_json),
        "seconds": time.monotonic() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10, help="Hypothesis examples per unit")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    faulty = _module("test_faulty_schedulers")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        tried, handled = bad_inputs(directory)
        exec_scheduler = resolve(faulty.exec_spec(directory))
        try:
            exec_figures = faults(faulty, exec_scheduler, faulty.EXEC_FAULTS)
        finally:
            exec_scheduler.close()
        server, spec = faulty.start_extender()
        try:
            extender_figures = faults(faulty, resolve(spec), faulty.EXTENDER_FAULTS)
        finally:
            server.shutdown()
            server.server_close()
        flaky = flaky_conformance(faulty, directory, args.examples, args.seed)
    rows = [
        ("Hostile inputs through the CLI (exit 2, one-line error)", f"{handled}/{tried}"),
        (
            "Faults injected into `exec:` schedulers (error, then recovers)",
            "{1}/{0}".format(*exec_figures),
        ),
        (
            "Faults injected into `extender:` schedulers (error, then recovers)",
            "{1}/{0}".format(*extender_figures),
        ),
        (
            "Conformance run, scheduler failing on 10% of calls",
            f"{'complete' if flaky['complete'] else 'INCOMPLETE'}: {flaky['calls']} calls, "
            f"{flaky['errors']} failed, {flaky['examples']} examples in {flaky['units']} units, "
            f"{flaky['findings']} findings reported, {flaky['seconds']:.0f} s",
        ),
    ]
    print("| Check | Result |")
    print("|---|---|")
    for check, result in rows:
        print(f"| {check} | {result} |")


if __name__ == "__main__":
    main()
