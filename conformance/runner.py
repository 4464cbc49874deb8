"""Run the conformance properties against a scheduler with Hypothesis, programmatically.

:func:`run_conformance` checks each property on each rule area the scheduler claims (a
*unit*: generation focused on that area's features, judged on every area the scheduler
claims), plus a stateful run where the cluster changes between pods. Each unit is its own
Hypothesis test, seeded from the run's seed, so the same seed gives the same run. When a
unit fails, Hypothesis shrinks the example; the shrunk one becomes a
:class:`~.properties.Finding` and, with ``out_dir``, a directory a person can replay::

    out_dir/soundness-1/cluster.yaml   the cluster, as manifests kubectl apply takes
    out_dir/soundness-1/pod.yaml       the pending pod
    out_dir/soundness-1/replay.sh      podfit explain -f cluster.yaml --pod pod.yaml
    out_dir/soundness-1/finding.json   both answers, the message and the rules involved
    out_dir/report.json                the whole report

Ctrl-C stops the run and returns (and writes) what was found so far.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import random
import re
import shlex
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import hypothesis

from podfit.manifest import to_manifest
from podfit.output import to_yaml, write_atomic
from podfit.printable import one_line
from podfit.versions import LATEST, KubeVersion

from .admission import (
    ADMISSION_PROPERTIES,
    admission_problems,
    check_admission,
    check_qos,
    claimed_admission_areas,
    refine_admission_finding,
)
from .bounded import Bounded
from .decisions import ADMISSION_AREAS, ALL_AREAS, Scheduler
from .properties import (
    DEFAULT_PROPERTIES,
    PROPERTIES,
    STRICT_PROPERTIES,
    Finding,
    PropertyFailed,
    SchedulerStateMachine,
    check_example,
    judged_areas,
    refine_finding,
)

__all__ = [
    "STATEFUL",
    "Counts",
    "ProgressEvent",
    "Report",
    "Unit",
    "UnitResult",
    "check_reachable",
    "counterexample_dirs",
    "counterexample_text",
    "hypothesis_files_in",
    "plan_units",
    "replay_command",
    "replay_counterexample",
    "run_conformance",
    "run_unit",
    "save_counterexamples",
    "state_dir",
    "write_counterexample",
]

#: The name of the stateful property (a sequence of changes and decisions).
STATEFUL = "stateful"
#: The area name of units that cover every area at once.
ALL = "all"
# A stateful run is a sequence of up to this many steps; it runs max_examples // 10 of them.
STATEFUL_STEPS = 12


@dataclass
class Counts:
    """Examples run, passed and failed."""

    run: int = 0
    passed: int = 0
    failed: int = 0

    def add(self, other: Counts) -> None:
        self.run += other.run
        self.passed += other.passed
        self.failed += other.failed

    def to_dict(self) -> dict[str, int]:
        return {"run": self.run, "passed": self.passed, "failed": self.failed}


@dataclass(frozen=True)
class Unit:
    """One Hypothesis test: a property, the area whose features are generated, a seed."""

    property: str
    area: str
    seed: int

    @builtins.property  # the field "property" shadows the builtin in this class
    def name(self) -> str:
        return f"{self.property}[{self.area}]"


@dataclass
class UnitResult:
    unit: Unit
    counts: Counts = field(default_factory=Counts)
    finding: Finding | None = None
    #: passed, failed, interrupted (Ctrl-C), timed-out (deadline_s), not-run
    status: str = "not-run"
    seconds: float = 0.0
    flaky: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "property": self.unit.property,
            "area": self.unit.area,
            "seed": self.unit.seed,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            **self.counts.to_dict(),
        }
        if self.flaky:
            out["flaky"] = True
        return out


@dataclass(frozen=True)
class ProgressEvent:
    """What :func:`run_conformance` reports to ``on_progress`` as it goes.

    ``kind`` is ``start`` (a unit begins), ``example`` (one example checked), ``finding``
    (a unit failed; ``finding`` is the shrunk example) or ``end`` (a unit is over).
    """

    kind: str
    unit: Unit
    index: int
    units: int
    examples: int
    max_examples: int
    finding: Finding | None = None
    result: UnitResult | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class Report:
    """The outcome of a conformance run."""

    scheduler: str
    seed: int
    max_examples: int
    properties: tuple[str, ...]
    claimed: tuple[str, ...]
    covered: tuple[str, ...]
    not_covered: dict[str, str]
    units: list[UnitResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    interrupted: bool = False
    timed_out: bool = False
    elapsed: float = 0.0
    out_dir: str | None = None
    started: str = ""
    #: The Kubernetes release whose reference judged the run.
    kube_version: str = str(LATEST)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def complete(self) -> bool:
        return not self.interrupted and not self.timed_out

    def by_area(self) -> dict[str, Counts]:
        """Counts per rule area (the stateful run counts under ``all``)."""
        out: dict[str, Counts] = {}
        for result in self.units:
            out.setdefault(result.unit.area, Counts()).add(result.counts)
        return out

    def by_property(self) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        for result in self.units:
            out.setdefault(result.unit.property, Counts()).add(result.counts)
        return out

    def by_rule(self) -> dict[str, dict[str, Any]]:
        """Per spec rule the run checked: its area and the findings that name it."""
        from .admission import ADMISSION_SPEC_AREAS
        from .properties import FILTER_POINTS, rule_ids

        out: dict[str, dict[str, Any]] = {}
        for area in self.covered:
            spec_areas, points = ADMISSION_SPEC_AREAS.get(area, ((area,), FILTER_POINTS))
            for rule in rule_ids(spec_areas, points):
                out.setdefault(rule, {"area": area, "findings": 0})
        for finding in self.findings:
            for rule in finding.rule_ids:
                if rule in out:
                    out[rule]["findings"] += 1
        return out

    def totals(self) -> Counts:
        total = Counts()
        for result in self.units:
            total.add(result.counts)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "kubeVersion": self.kube_version,
            "scheduler": self.scheduler,
            "seed": self.seed,
            "maxExamples": self.max_examples,
            "started": self.started,
            "elapsedSeconds": round(self.elapsed, 3),
            "ok": self.ok,
            "complete": self.complete,
            "interrupted": self.interrupted,
            "timedOut": self.timed_out,
            "properties": list(self.properties),
            "claimedAreas": list(self.claimed),
            "coveredAreas": list(self.covered),
            "notCovered": dict(self.not_covered),
            "totals": self.totals().to_dict(),
            "areas": {a: c.to_dict() for a, c in self.by_area().items()},
            "byProperty": {p: c.to_dict() for p, c in self.by_property().items()},
            "rules": self.by_rule(),
            "units": [r.to_dict() for r in self.units],
            "findings": [
                {**f.to_dict(), **({"replay": replay_command(f.path, f.replay)} if f.path else {})}
                for f in self.findings
            ],
            "outDir": self.out_dir,
        }

    def to_junit_xml(self) -> str:
        """The run as JUnit XML: one test case per unit, a failure per finding."""
        total = self.totals()
        failures = sum(1 for r in self.units if r.finding is not None)
        skipped = sum(1 for r in self.units if r.status in ("not-run", "interrupted", "timed-out"))
        root = ElementTree.Element(
            "testsuites",
            name="podfit conform",
            tests=str(len(self.units)),
            failures=str(failures),
            errors="0",
            time=f"{self.elapsed:.3f}",
        )
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=f"podfit.conform.{_xml_text(self.scheduler)}",
            tests=str(len(self.units)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time=f"{self.elapsed:.3f}",
            timestamp=self.started,
        )
        props = ElementTree.SubElement(suite, "properties")
        for name, value in (
            ("scheduler", self.scheduler),
            ("seed", str(self.seed)),
            ("max_examples", str(self.max_examples)),
            ("examples_run", str(total.run)),
            ("covered_areas", ",".join(self.covered)),
        ):
            ElementTree.SubElement(props, "property", name=name, value=_xml_text(value))
        for result in self.units:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"podfit.conform.{result.unit.property}",
                name=result.unit.area,
                time=f"{result.seconds:.3f}",
            )
            finding = result.finding
            if finding is not None:
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    type=finding.property,
                    message=_xml_text(finding.message),
                )
                failure.text = _xml_text(_failure_details(finding))
            elif result.status in ("not-run", "interrupted", "timed-out"):
                ElementTree.SubElement(case, "skipped", message=result.status)
            ElementTree.SubElement(
                case, "system-out"
            ).text = f"{result.counts.run} examples, seed {result.unit.seed}"
        ElementTree.indent(root)
        body = ElementTree.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML can carry (control characters a scheduler might print are replaced)."""
    return _XML_INVALID.sub("\ufffd", text)


def counterexample_text(finding: Finding) -> str:
    """The shrunk example inline, as the two files it is written to (short: a shrunk
    example is a node or two and a pod)."""
    return (
        "cluster.yaml:\n"
        + _indent(to_yaml(finding.manifests(), many=True))
        + "pod.yaml:\n"
        + _indent(to_yaml(to_manifest(finding.pod)))
    )


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.rstrip("\n").splitlines())


def _failure_details(finding: Finding) -> str:
    lines = [finding.message]
    if finding.rule_ids:
        lines.append("rules: " + ", ".join(finding.rule_ids))
    if finding.decision is not None:
        lines.append(f"scheduler answered: {finding.decision.node or 'unschedulable'}")
    lines.append("reference feasible: " + (", ".join(finding.reference.feasible) or "none"))
    if finding.path:
        lines.append(f"counterexample: {finding.path}")
        lines.append(f"replay: {replay_command(finding.path, finding.replay)}")
    return "\n".join(lines) + "\n\n" + counterexample_text(finding)


# --- counterexamples ---------------------------------------------------------------------------


def replay_command(
    directory: str | os.PathLike[str] | None = None, command: str = "explain"
) -> str:
    """The command that replays a counterexample through podfit's reference (``explain``
    for scheduling findings, ``admit`` for admission and QoS ones)."""
    if directory is None:
        return f"podfit {command} -f cluster.yaml --pod pod.yaml"
    d = Path(directory)
    return (
        f"podfit {command} -f {shlex.quote(str(d / 'cluster.yaml'))} "
        f"--pod {shlex.quote(str(d / 'pod.yaml'))}"
    )


def _one_line(text: str) -> str:
    return one_line(" ".join(text.split()), 1000)


def write_counterexample(finding: Finding, directory: str | os.PathLike[str]) -> Path:
    """Write ``cluster.yaml``, ``pod.yaml``, ``replay.sh`` and ``finding.json`` atomically."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    header = (
        f"# podfit conform counterexample: {finding.property} failed for {finding.scheduler}\n"
        f"# {_one_line(finding.message)}\n"
    )
    if finding.rule_ids:
        header += f"# rules: {', '.join(finding.rule_ids)}\n"
    write_atomic(d / "cluster.yaml", header + to_yaml(finding.manifests(), many=True))
    write_atomic(d / "pod.yaml", header + to_yaml(to_manifest(finding.pod)))
    answered = (
        "error"
        if finding.decision is None or finding.decision.error
        else (finding.decision.node or "unschedulable")
    )
    script = (
        "#!/bin/sh\n"
        f"# {finding.property} failed for {finding.scheduler}: {_one_line(finding.message)}\n"
        f"# The scheduler answered {answered}; the reference's feasible nodes: "
        f"{', '.join(finding.reference.feasible) or 'none'}.\n"
        "# Replay the pod through podfit's reference:\n"
        'cd "$(dirname "$0")" || exit 2\n'
        f'exec {replay_command(command=finding.replay)} "$@"\n'
    )
    write_atomic(d / "replay.sh", script)
    os.chmod(d / "replay.sh", 0o755)
    for name in ("cluster.yaml", "pod.yaml"):
        os.chmod(d / name, 0o644)
    write_atomic(d / "finding.json", json.dumps(finding.to_dict(), indent=2) + "\n")
    return d


#: Where podfit keeps what a run leaves behind when not told where: counterexamples,
#: Hypothesis's own files. It ignores itself in git (a ``.gitignore`` of ``*``).
STATE_DIR = ".podfit"


def state_dir(base: str | os.PathLike[str] = STATE_DIR) -> Path:
    """``base`` (default ``./.podfit``), made if needed, with a ``.gitignore`` that keeps
    it out of version control (as pytest's cache directory does)."""
    d = Path(base)
    d.mkdir(parents=True, exist_ok=True)
    ignore = d / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# Written by podfit: counterexamples and Hypothesis's files.\n*\n")
    return d


@contextlib.contextmanager
def hypothesis_files_in(directory: str | os.PathLike[str]) -> Iterator[None]:
    """Point Hypothesis's storage (its cache of constants, its example database) at
    ``directory`` instead of ``./.hypothesis`` while the block runs."""
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    previous = storage_directory(intent_to_write=False).home_directory
    set_hypothesis_home_dir(Path(directory))
    try:
        yield
    finally:
        set_hypothesis_home_dir(previous)


def counterexample_dirs(directory: str | os.PathLike[str]) -> list[Path]:
    """The counterexamples under ``directory``: itself when it is one (it holds
    ``pod.yaml``), else each sub-directory that is (a run's ``--out``), sorted."""
    d = Path(directory)
    if (d / "pod.yaml").is_file():
        return [d]
    return sorted(p for p in d.iterdir() if (p / "pod.yaml").is_file()) if d.is_dir() else []


def replay_counterexample(
    scheduler: Scheduler,
    directory: str | os.PathLike[str],
    *,
    version: KubeVersion = LATEST,
) -> list[Finding]:
    """Ask ``scheduler`` about a saved counterexample again and judge it as the run did:
    the findings (empty when it now passes). Raises PodfitError for a directory that is
    not a counterexample."""
    from podfit.errors import PodfitError
    from podfit.loading import load, load_pod

    d = Path(directory)
    try:
        saved = json.loads((d / "finding.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PodfitError(f"{d}: not a podfit counterexample (finding.json: {exc})") from None
    prop = str(saved.get("checked") or saved.get("property", ""))
    if prop == STATEFUL:  # written without "checked": the message starts with the property
        prop = str(saved.get("message", "")).split(" ", 1)[0]
    cluster, pod = load(str(d / "cluster.yaml")), load_pod(str(d / "pod.yaml"))
    if prop in ADMISSION_PROPERTIES:
        check = check_admission if prop == "admission" else check_qos
        found = check(scheduler, cluster, pod)
        return [refine_admission_finding(scheduler, found)] if found is not None else []
    if prop not in PROPERTIES:
        raise PodfitError(f"{d}/finding.json: unknown property {prop!r}")
    findings = check_example(
        scheduler, cluster, pod, prop, areas=judged_areas(scheduler), version=version
    )
    return [refine_finding(scheduler, f, version=version) for f in findings]


def save_counterexamples(report: Report, out_dir: str | os.PathLike[str]) -> None:
    """Write every finding of ``report`` (and the report) under ``out_dir``, recording
    where each went (for a run made without ``out_dir``)."""
    counters: dict[str, int] = {}
    saved: dict[int, Finding] = {}
    for finding in report.findings:
        n = counters[finding.property] = counters.get(finding.property, 0) + 1
        where = write_counterexample(finding, Path(out_dir) / f"{finding.property}-{n}")
        saved[id(finding)] = replace(finding, path=str(where))
    report.findings = [saved.get(id(f), f) for f in report.findings]
    for result in report.units:
        if result.finding is not None:
            result.finding = saved.get(id(result.finding), result.finding)
    report.out_dir = str(out_dir)
    write_atomic(Path(out_dir) / "report.json", json.dumps(report.to_dict(), indent=2) + "\n")


# --- running -----------------------------------------------------------------------------------


class _CtrlC:
    """Ctrl-C, remembered. Python drops a KeyboardInterrupt raised while a garbage-collector
    callback runs (Hypothesis installs one to time collections: the run then went on as if
    nothing had happened), so the handler also latches it, and every example checks."""

    def __init__(self) -> None:
        self.seen = False

    def _handler(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        self.seen = False
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield  # someone else owns Ctrl-C here (a test runner, an embedding program)
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt


_CTRL_C = _CtrlC()


class _Stop(BaseException):
    """Raised inside a Hypothesis test when the run's time is up (not a test failure, so
    Hypothesis lets it through at once instead of shrinking it)."""


def unit_seed(seed: int, prop: str, area: str) -> int:
    """Each unit's own seed, derived from the run's so that units do not share examples."""
    return zlib.crc32(f"{seed}/{prop}/{area}".encode())


def plan_units(
    properties: Iterable[str], areas: Iterable[str], seed: int, *, stateful: bool = True
) -> list[Unit]:
    """The units of a run, in order: each property on each scheduling area, the admission
    and QoS agreement properties of the admission areas among ``areas``, then the
    stateful run."""
    chosen = sorted(set(areas) & ALL_AREAS)
    units = [Unit(p, a, unit_seed(seed, p, a)) for p in properties for a in chosen]
    units += [
        Unit(p, a, unit_seed(seed, p, a))
        for p, a in ADMISSION_PROPERTIES.items()
        if a in set(areas)
    ]
    if stateful and chosen:
        units.append(Unit(STATEFUL, ALL, unit_seed(seed, STATEFUL, ALL)))
    return units


def _settings(
    max_examples: int, *, steps: int = STATEFUL_STEPS, shrink: bool = True
) -> hypothesis.settings:
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if shrink else ()))
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
        phases=phases,
        stateful_step_count=steps,
    )


@dataclass
class _UnitState:
    result: UnitResult
    deadline: float | None
    report: Callable[[str, Finding | None], None]
    failing: bool = False
    last_finding: Finding | None = None

    def tick(self) -> None:
        _CTRL_C.check()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Stop()

    def checked(self, findings: list[Finding]) -> None:
        if not self.failing:
            self.result.counts.run += 1
            if not findings:
                self.result.counts.passed += 1
        if findings:
            self.failing = True
            self.last_finding = findings[0]
        elif not self.failing:
            self.report("example", None)


def run_unit(
    scheduler: Scheduler,
    unit: Unit,
    *,
    max_examples: int = 200,
    judged: frozenset[str] | None = None,
    generated: frozenset[str] | None = None,
    deadline: float | None = None,
    report: Callable[[str, Finding | None], None] | None = None,
    max_nodes: int = 4,
    max_running_pods: int = 6,
    shrink: bool = True,
    version: KubeVersion = LATEST,
) -> UnitResult:
    """Run one unit against the reference of ``version``; KeyboardInterrupt propagates (the
    caller keeps the partial result)."""
    from hypothesis import given, seed

    from .strategies import scheduling_problems

    judged = judged if judged is not None else judged_areas(scheduler)
    result = UnitResult(unit)
    state = _UnitState(result, deadline, report or (lambda kind, finding: None))
    started = time.monotonic()
    try:
        if unit.property in ADMISSION_PROPERTIES:
            _run_admission(scheduler, unit, state, max_examples, shrink=shrink)
        elif unit.property == STATEFUL:
            focus = (generated if generated is not None else judged) & ALL_AREAS
            _run_stateful(
                scheduler,
                unit,
                state,
                max_examples,
                judged,
                focus,
                max_nodes,
                shrink=shrink,
                version=version,
            )
        else:
            focus = frozenset({unit.area}) if unit.area != ALL else (generated or judged)
            problems = scheduling_problems(
                max_nodes=max_nodes, max_running_pods=max_running_pods, areas=focus
            )

            @seed(unit.seed)
            @_settings(max_examples, shrink=shrink)
            @given(problems)
            def test(problem: Any) -> None:
                state.tick()
                cluster, pod = problem
                findings = check_example(
                    scheduler, cluster, pod, unit.property, areas=judged, version=version
                )
                state.checked(findings)
                if findings:
                    raise PropertyFailed(findings[0])

            test()
        result.status = "passed"
    except PropertyFailed as exc:
        result.finding = exc.finding
    except _Stop:
        result.status = "timed-out"
    except Exception as exc:
        from hypothesis.errors import Flaky

        if not isinstance(exc, Flaky) or state.last_finding is None:
            raise
        # The scheduler failed once but not when the example was replayed.
        result.finding, result.flaky = state.last_finding, True
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.seconds = time.monotonic() - started
        raise
    finally:
        result.seconds = time.monotonic() - started
    if result.finding is not None:
        result.status = "failed"
        result.counts.failed = 1
        # Name only the rules the shrunk example needs (asks the scheduler a few times).
        if result.finding.property in ADMISSION_PROPERTIES:
            result.finding = refine_admission_finding(scheduler, result.finding)
        else:
            result.finding = refine_finding(scheduler, result.finding, version=version)
        if unit.property == STATEFUL:
            # Say which property the step broke, and that the cluster is where the steps led.
            result.finding = replace(
                result.finding,
                property=STATEFUL,
                checked=result.finding.property,
                message=f"{result.finding.property} (after a sequence of changes): "
                f"{result.finding.message}",
            )
        if result.flaky:
            result.finding = replace(
                result.finding,
                message=result.finding.message + " (flaky: it did not fail again on replay)",
            )
    return result


def _run_admission(
    scheduler: Scheduler, unit: Unit, state: _UnitState, max_examples: int, *, shrink: bool
) -> None:
    from hypothesis import given, seed

    check = check_admission if unit.property == "admission" else check_qos

    @seed(unit.seed)
    @_settings(max_examples, shrink=shrink)
    @given(admission_problems())
    def test(problem: Any) -> None:
        state.tick()
        cluster, pod = problem
        finding = check(scheduler, cluster, pod)
        findings = [finding] if finding is not None else []
        state.checked(findings)
        if finding is not None:
            raise PropertyFailed(finding)

    test()


def _run_stateful(
    scheduler: Scheduler,
    unit: Unit,
    state: _UnitState,
    max_examples: int,
    judged: frozenset[str],
    focus: frozenset[str],
    max_nodes: int,
    *,
    shrink: bool = True,
    version: KubeVersion = LATEST,
) -> None:
    from hypothesis import seed
    from hypothesis.stateful import run_state_machine_as_test

    def on_decision(findings: list[Finding]) -> None:
        state.tick()
        state.checked(findings)

    machine = SchedulerStateMachine.for_scheduler(
        scheduler,
        areas=focus,
        properties=DEFAULT_PROPERTIES,
        max_nodes=max_nodes,
        on_decision=on_decision,
        version=version,
    )
    run_state_machine_as_test(
        seed(unit.seed)(machine), settings=_settings(max(1, max_examples // 10), shrink=shrink)
    )


def check_reachable(scheduler: Scheduler) -> None:
    """Raise :class:`~.decisions.AdapterError` when the scheduler cannot be reached at all
    (an adapter that can tell says so with ``check_reachable()``): one error, instead of a
    "did not answer" finding per property and area."""
    probe = getattr(scheduler, "check_reachable", None)
    if callable(probe):
        probe()


def _new_seed() -> int:
    return random.SystemRandom().getrandbits(32)


def run_conformance(
    scheduler: Scheduler,
    *,
    areas: Iterable[str] | None = None,
    max_examples: int = 200,
    seed: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    on_progress: ProgressCallback | None = None,
    deadline_s: float | None = None,
    properties: Iterable[str] | None = None,
    strict: bool = False,
    stateful: bool = True,
    max_nodes: int = 4,
    max_running_pods: int = 6,
    shrink: bool = True,
    fail_fast: bool = False,
    kube_version: KubeVersion = LATEST,
) -> Report:
    """Check ``scheduler`` against the reference and return a :class:`Report`.

    ``areas`` limits the run to some of the rule areas the scheduler claims (default: all
    of them). ``max_examples`` is Hypothesis's budget per unit (a property on an area); the
    stateful run gets a tenth of it, each a sequence of up to a dozen steps. ``seed`` makes
    the run repeatable (one is drawn, and reported, when it is not given). ``deadline_s``
    bounds the whole run's wall-clock time. ``properties`` defaults to soundness and
    completeness, plus optimality and reasons with ``strict``. With ``out_dir``, each
    finding's counterexample and the report are written there. ``shrink=False`` reports
    failing examples as found (faster, bigger); ``fail_fast`` stops at the first finding.
    ``kube_version`` is the release whose reference judges (and whose API server stores the
    objects the scheduler is handed).
    """
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    if deadline_s is not None and deadline_s <= 0:
        raise ValueError(f"deadline_s must be positive, got {deadline_s!r}")
    chosen_properties = tuple(properties or DEFAULT_PROPERTIES)
    if strict and properties is None:
        chosen_properties += STRICT_PROPERTIES
    unknown = [p for p in chosen_properties if p not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown} (known: {', '.join(PROPERTIES)})")
    known = ALL_AREAS | ADMISSION_AREAS
    claimed = judged_areas(scheduler) | claimed_admission_areas(scheduler)
    wanted = known if areas is None else frozenset(areas)
    bad = sorted(wanted - known)
    if bad:
        raise ValueError(f"unknown areas {bad} (known: {', '.join(sorted(known))})")
    covered = wanted & claimed
    if not covered:
        raise ValueError(
            f"nothing to check: {scheduler.name} claims "
            f"{', '.join(sorted(claimed)) or 'no rule area podfit checks'}"
            + (f" and the run selects {', '.join(sorted(wanted))}" if areas is not None else "")
        )
    check_reachable(scheduler)
    not_covered = {
        a: "not claimed by the scheduler" if a not in claimed else "not selected"
        for a in sorted(known - covered)
    }
    run_seed = seed if seed is not None else _new_seed()
    report = Report(
        kube_version=str(kube_version),
        scheduler=scheduler.name,
        seed=run_seed,
        max_examples=max_examples,
        properties=(
            *chosen_properties,
            *(p for p, a in ADMISSION_PROPERTIES.items() if a in covered),
            *((STATEFUL,) if stateful and covered & ALL_AREAS else ()),
        ),
        claimed=tuple(sorted(claimed)),
        covered=tuple(sorted(covered)),
        not_covered=not_covered,
        out_dir=str(out_dir) if out_dir is not None else None,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    units = plan_units(chosen_properties, covered, run_seed, stateful=stateful)
    report.units = [UnitResult(u) for u in units]
    began = time.monotonic()
    deadline = began + deadline_s if deadline_s is not None else None
    if deadline is not None:
        # A scheduler that never answers must not hold the run past its deadline.
        scheduler = Bounded(scheduler, deadline)
    counters: dict[str, int] = {}
    watch = _CTRL_C.watching()
    watch.__enter__()
    try:
        for index, unit in enumerate(units):
            _CTRL_C.check()
            if deadline is not None and time.monotonic() > deadline:
                report.timed_out = True
                break
            _emit(on_progress, "start", unit, index, len(units), 0, max_examples)

            def progress(
                kind: str, finding: Finding | None, unit: Unit = unit, i: int = index
            ) -> None:
                done = report.units[i].counts.run
                _emit(on_progress, kind, unit, i, len(units), done, max_examples, finding)

            result = report.units[index]
            try:
                result = run_unit(
                    scheduler,
                    unit,
                    max_examples=max_examples,
                    judged=claimed & ALL_AREAS,
                    generated=covered & ALL_AREAS,
                    deadline=deadline,
                    report=_Forward(report, index, progress),
                    max_nodes=max_nodes,
                    max_running_pods=max_running_pods,
                    shrink=shrink,
                    version=kube_version,
                )
            finally:
                report.elapsed = time.monotonic() - began
            report.units[index] = result
            if result.finding is not None:
                finding = result.finding
                if out_dir is not None:
                    n = counters[unit.property] = counters.get(unit.property, 0) + 1
                    where = write_counterexample(finding, Path(out_dir) / f"{unit.property}-{n}")
                    finding = replace(finding, path=str(where))
                    result.finding = finding
                report.findings.append(finding)
                _emit(
                    on_progress,
                    "finding",
                    unit,
                    index,
                    len(units),
                    result.counts.run,
                    max_examples,
                    finding,
                    result,
                )
            if result.status == "timed-out":
                report.timed_out = True
            _emit(
                on_progress,
                "end",
                unit,
                index,
                len(units),
                result.counts.run,
                max_examples,
                result.finding,
                result,
            )
            if report.timed_out or (fail_fast and report.findings):
                break
    except KeyboardInterrupt:
        report.interrupted = True
        for result in report.units:
            if result.status == "not-run" and result.counts.run:
                result.status = "interrupted"
    finally:
        watch.__exit__(None, None, None)
    report.elapsed = time.monotonic() - began
    if out_dir is not None:
        write_atomic(Path(out_dir) / "report.json", json.dumps(report.to_dict(), indent=2) + "\n")
    return report


class _Forward:
    """Keeps the live counts of the unit being run in the report (so an interrupted run
    still reports how far it got) and forwards progress."""

    def __init__(
        self, report: Report, index: int, progress: Callable[[str, Finding | None], None]
    ) -> None:
        self.report = report
        self.index = index
        self.progress = progress

    def __call__(self, kind: str, finding: Finding | None) -> None:
        self.report.units[self.index].counts.run += 1
        self.report.units[self.index].counts.passed += 1
        self.progress(kind, finding)


def _emit(
    callback: ProgressCallback | None,
    kind: str,
    unit: Unit,
    index: int,
    units: int,
    examples: int,
    max_examples: int,
    finding: Finding | None = None,
    result: UnitResult | None = None,
) -> None:
    if callback is not None:
        callback(ProgressEvent(kind, unit, index, units, examples, max_examples, finding, result))
