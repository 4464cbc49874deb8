"""``podfit conform``: check a scheduler against the rules on generated clusters.

Exit codes: 0 every property held, 1 a property failed (each failure's counterexample
is written to disk with the command that replays it), 2 bad usage (unknown adapter,
unknown rule area), 130 interrupted before anything failed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from podfit.cli.common import InputError, kube_version_option, output_option
from podfit.errors import PodfitError, UsageError
from podfit.output import emit, write_atomic
from podfit.versions import KubeVersion

if TYPE_CHECKING:
    from podfit.conformance.decisions import Scheduler
    from podfit.conformance.runner import ProgressEvent, Report

INTERRUPTED_EXIT = 130


def resolve_adapter(spec: str) -> Scheduler:
    """The scheduler an adapter spec names (``reference``, ``mutant:NAME``, ``exec:...``)."""
    from podfit.adapters import resolve
    from podfit.conformance.decisions import AdapterError

    try:
        return resolve(spec)
    except AdapterError as exc:
        raise UsageError(str(exc)) from None


# --- progress ----------------------------------------------------------------------------------


class LineProgress:
    """One line per finished unit and per finding, on stderr (for logs and CI)."""

    def __call__(self, event: ProgressEvent) -> None:
        unit = event.unit
        where = f"[{event.index + 1}/{event.units}] {unit.name}"
        if event.kind == "finding" and event.finding is not None:
            click.echo(f"podfit: {where}: FAIL: {event.finding.message}", err=True)
        elif event.kind == "end" and event.result is not None:
            r = event.result
            click.echo(
                f"podfit: {where}: {r.status}, {r.counts.run} examples, {r.seconds:.1f}s",
                err=True,
            )

    def close(self) -> None:
        """Nothing to tear down."""


class RichProgress:
    """A live progress bar on the terminal (stderr)."""

    def __init__(self, units: int, max_examples: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.per_unit = max_examples
        self.task = self.progress.add_task("starting", total=units * max_examples)
        self.progress.start()

    def __call__(self, event: ProgressEvent) -> None:
        base = event.index * self.per_unit
        if event.kind == "start":
            self.progress.update(self.task, description=event.unit.name, completed=base)
        elif event.kind == "example":
            self.progress.update(self.task, completed=base + min(event.examples, self.per_unit))
        elif event.kind == "finding" and event.finding is not None:
            self.progress.console.print(
                f"[bold red]FAIL[/] {event.unit.name}: {event.finding.message}", markup=True
            )
        elif event.kind == "end":
            self.progress.update(self.task, completed=base + self.per_unit)

    def close(self) -> None:
        self.progress.stop()


# --- the report as a page --------------------------------------------------------------------


def html_report(report: Report) -> str:
    """The report as one HTML page, each finding's counterexample replayed through the
    reference as a node x plugin matrix."""
    from podfit.api import explain
    from podfit.html import render_conformance_report

    d = report.to_dict()
    for entry, finding in zip(d["findings"], report.findings, strict=True):
        entry["explain"] = explain(finding.cluster, finding.pod).to_dict()
    return render_conformance_report(d)


# --- the report as text ------------------------------------------------------------------------


def report_text(d: dict[str, Any]) -> str:
    """The human summary: counts per rule area and per property, then each failure."""
    lines = [
        f"podfit conform: {d['scheduler']} against Kubernetes {d['kubeVersion']} (seed "
        f"{d['seed']}, up to {d['maxExamples']} examples per property and area)",
        "",
        f"{'rule area':<24}{'examples':>10}{'passed':>10}{'failed':>10}",
    ]
    for area, c in d["areas"].items():
        label = "stateful (all areas)" if area == "all" else area
        lines.append(f"{label:<24}{c['run']:>10}{c['passed']:>10}{c['failed']:>10}")
    rules = d.get("rules") or {}
    if rules:
        failing = sorted(r for r, v in rules.items() if v["findings"])
        lines += ["", f"{len(rules)} spec rules checked, {len(failing)} named by a failure"]
        lines += [f"  ✗ {r}" for r in failing]
    lines += ["", f"{'property':<24}{'examples':>10}{'passed':>10}{'failed':>10}"]
    for prop, c in d["byProperty"].items():
        lines.append(f"{prop:<24}{c['run']:>10}{c['passed']:>10}{c['failed']:>10}")
    for f in d["findings"]:
        lines += ["", f"FAIL {f['property']} [{', '.join(f['areas'])}]: {f['message']}"]
        if f["rules"]:
            lines.append(f"  rules: {', '.join(f['rules'])}")
        if f.get("path"):
            lines.append(f"  counterexample: {f['path']}")
            lines.append(f"  replay: {f['replay']}")
    if d["notCovered"]:
        lines.append("")
        lines.append(
            "not covered: " + ", ".join(f"{a} ({why})" for a, why in d["notCovered"].items())
        )
    total = d["totals"]
    lines.append("")
    if d["interrupted"]:
        lines.append("interrupted: the counts above are what ran before Ctrl-C")
    if d["timedOut"]:
        lines.append("stopped at the deadline: the counts above are what ran in time")
    failed = len(d["findings"])
    summary = f"{total['run']} examples in {d['elapsedSeconds']:.1f}s"
    if d.get("outDir"):
        lines.append(f"counterexamples and report.json: {d['outDir']}/")
    if failed:
        lines.append(f"{failed} failure(s) ({summary}); replay each with the command shown")
    else:
        lines.append(f"every property held ({summary})")
    return "\n".join(lines)


# --- the command -------------------------------------------------------------------------------


@click.command("conform")
@click.option(
    "--adapter",
    "--scheduler",
    "adapter",
    required=True,
    metavar="SPEC",
    help=(
        "The scheduler to check: reference, mutant:NAME, python:MODULE:CALLABLE, "
        "exec:COMMAND, extender:URL or kube:[CONTEXT]."
    ),
)
@click.option(
    "--rules",
    "patterns",
    multiple=True,
    metavar="AREA_OR_ID",
    help="Only these rule areas (taints, resources, ...) or the areas of these rule ids. "
    "Repeatable. Default: every area the scheduler claims.",
)
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Examples per property and rule area (the stateful run gets a tenth).",
)
@click.option("--seed", type=int, default=None, help="Repeat a run exactly (it is reported).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where counterexamples go (default: ./.podfit/conform-SEED, only if something "
    "fails; .podfit ignores itself in git).",
)
@click.option(
    "--junit-xml",
    "junit_xml",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the results as JUnit XML (one test case per property and area).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also write a self-contained HTML report (each failure as a node x plugin matrix).",
)
@click.option(
    "--strict", is_flag=True, help="Also require the reference's best node and its reasons."
)
@click.option(
    "--stateful/--no-stateful",
    default=True,
    show_default=True,
    help="Also run sequences of changes (add, cordon, taint, schedule, delete).",
)
@click.option(
    "--deadline",
    "deadline_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop after this long and report what ran.",
)
@click.option(
    "--replay",
    "replay_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Instead of generating, ask the scheduler about saved counterexamples again: a "
    "counterexample directory, or a run's --out holding several (repeatable). Exit 1 while "
    "one still fails.",
)
@kube_version_option
@output_option
def conform(
    adapter: str,
    patterns: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    out_dir: str | None,
    junit_xml: str | None,
    html_path: str | None,
    strict: bool,
    stateful: bool,
    deadline_s: float | None,
    replay_dirs: tuple[str, ...],
    kube_version: KubeVersion,
    output: str,
) -> None:
    """Check a scheduler against podfit's reference on generated clusters.

    For each rule area the scheduler claims, Hypothesis generates clusters and pending pods
    and checks that every node the scheduler picks passes the filters (soundness) and that
    it never gives up while a node fits (completeness). A failure is shrunk to a small
    counterexample written as manifests, with the `podfit explain` command that replays it.
    Exit 1 when a property fails. With --replay, saved counterexamples are asked again
    (a bug once found stays a regression test).
    """
    if replay_dirs:
        try:
            _replay(adapter, replay_dirs, kube_version, output)
        except PodfitError as exc:
            raise InputError(str(exc)) from None
        return
    try:
        _conform(
            adapter,
            patterns,
            max_examples,
            seed,
            out_dir,
            junit_xml,
            html_path,
            strict,
            stateful,
            deadline_s,
            output,
            kube_version,
        )
    except PodfitError as exc:
        raise InputError(str(exc)) from None


def _replay(
    adapter: str, replay_dirs: tuple[str, ...], kube_version: KubeVersion, output: str
) -> None:
    from podfit.conformance.runner import counterexample_dirs, replay_counterexample

    found = []
    for given in replay_dirs:
        dirs = counterexample_dirs(given)
        if not dirs:
            raise UsageError(f"--replay {given}: no counterexample there (no pod.yaml)")
        found += dirs
    scheduler = resolve_adapter(adapter)
    results = []
    try:
        for d in found:
            findings = replay_counterexample(scheduler, d, version=kube_version)
            results.append(
                {
                    "counterexample": str(d),
                    "passes": not findings,
                    "findings": [
                        {"property": f.property, "message": f.message, "rules": list(f.rule_ids)}
                        for f in findings
                    ],
                }
            )
    finally:
        scheduler.close()
    data = {"scheduler": scheduler.name, "kubeVersion": str(kube_version), "replayed": results}

    def text(d: dict[str, Any]) -> str:
        lines = []
        for r in d["replayed"]:
            if r["passes"]:
                lines.append(f"pass  {r['counterexample']}")
            for f in r["findings"]:
                lines.append(f"FAIL  {r['counterexample']}: {f['property']}: {f['message']}")
                if f["rules"]:
                    lines.append(f"      rules: {', '.join(f['rules'])}")
        failing = sum(1 for r in d["replayed"] if not r["passes"])
        lines.append(
            f"{len(d['replayed'])} counterexample(s) replayed against {d['scheduler']}: "
            f"{failing} still fail"
        )
        return "\n".join(lines)

    emit(data, output, text)
    if any(not r["passes"] for r in results):
        click.get_current_context().exit(1)


def _conform(
    adapter: str,
    patterns: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    out_dir: str | None,
    junit_xml: str | None,
    html_path: str | None,
    strict: bool,
    stateful: bool,
    deadline_s: float | None,
    output: str,
    kube_version: KubeVersion,
) -> None:
    from podfit.conformance.decisions import ADMISSION_AREAS, ALL_AREAS, AdapterError
    from podfit.conformance.properties import areas_for_rules
    from podfit.conformance.runner import (
        check_reachable,
        hypothesis_files_in,
        plan_units,
        run_conformance,
        save_counterexamples,
        state_dir,
    )

    try:
        areas = areas_for_rules(patterns) if patterns else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    scheduler = resolve_adapter(adapter)
    try:
        claimed = frozenset(scheduler.areas)
        chosen = claimed if areas is None else areas & claimed
        if areas is not None and not chosen:
            raise UsageError(
                f"{scheduler.name} claims none of the selected areas "
                f"({', '.join(sorted(areas))}); it claims {', '.join(sorted(claimed)) or 'none'}"
            )
        if not chosen & (ALL_AREAS | ADMISSION_AREAS):
            raise UsageError(
                f"nothing to check: {scheduler.name} claims no rule area podfit checks "
                f"(it claims {', '.join(sorted(claimed)) or 'none'}; the areas are "
                f"{', '.join(sorted(ALL_AREAS | ADMISSION_AREAS))})"
            )
        try:
            check_reachable(scheduler)
        except AdapterError as exc:
            raise UsageError(str(exc)) from None
        units = len(plan_units(["soundness", "completeness"], chosen, 0, stateful=stateful))
        if strict:
            units += 2 * len(chosen)
        progress: LineProgress | RichProgress
        if sys.stderr.isatty() and output == "text":
            progress = RichProgress(units, max_examples)
        else:
            progress = LineProgress()
        try:
            # Nothing lands in the working directory but ./.podfit (or --out): Hypothesis's
            # files go there too instead of ./.hypothesis.
            with hypothesis_files_in(state_dir() / "hypothesis"):
                report = run_conformance(
                    scheduler,
                    areas=areas,
                    max_examples=max_examples,
                    seed=seed,
                    out_dir=out_dir,
                    on_progress=progress,
                    deadline_s=deadline_s,
                    strict=strict,
                    stateful=stateful,
                    kube_version=kube_version,
                )
        finally:
            progress.close()
    finally:
        scheduler.close()
    if out_dir is None and report.findings:
        save_counterexamples(report, state_dir() / f"conform-{report.seed}")
    if junit_xml:
        write_atomic(junit_xml, report.to_junit_xml())
    if html_path:
        write_atomic(html_path, html_report(report))
    emit(report.to_dict(), output, report_text)
    ctx = click.get_current_context()
    if report.findings:
        ctx.exit(1)
    if report.complete and report.totals().run == 0:
        raise UsageError("no example was checked: the run proves nothing")
    if report.interrupted:
        click.echo("podfit: interrupted", err=True)
        ctx.exit(INTERRUPTED_EXIT)
