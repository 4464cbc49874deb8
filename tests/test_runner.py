"""The conformance runner and `podfit conform`: counterexamples a person can replay, the same
seed giving the same run, JUnit XML, HTML, interruption and faulty schedulers keeping the
report, and the CLI's exit codes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from podfit.adapters.mutants import MUTANTS
from podfit.adapters.reference_adapter import ReferenceScheduler
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.decisions import NODE_AREAS, Decision
from podfit.conformance.runner import Report, run_conformance
from podfit.loading import load, load_pod
from podfit.model import Pod

ROOT = Path(__file__).resolve().parent.parent


class Flaky:
    """The reference, except that a share of calls raise (or hang up) at random."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        self.inner = ReferenceScheduler()
        self.name = f"flaky-{rate}"
        self.areas = NODE_AREAS
        self.rate = rate
        self.random = random.Random(seed)
        self.calls = 0

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        self.calls += 1
        if self.random.random() < self.rate:
            raise ConnectionError("the scheduler hung up")
        return self.inner.schedule(cluster, pod)

    def close(self) -> None:
        pass


class InterruptAfter:
    """The reference until call ``n``, where the user presses Ctrl-C."""

    def __init__(self, n: int) -> None:
        self.inner = MUTANTS["cordon-ignored"]()
        self.name = "interrupted"
        self.areas = NODE_AREAS
        self.n = n
        self.calls = 0

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.inner.schedule(cluster, pod)

    def close(self) -> None:
        pass


def summary(report: Report) -> list[tuple[str, str, int, int, str | None]]:
    return [
        (
            u.unit.name,
            u.status,
            u.counts.run,
            u.counts.failed,
            u.finding.message if u.finding else None,
        )
        for u in report.units
    ]


# --- counterexamples ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def caught(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    out = tmp_path_factory.mktemp("conform") / "out"
    report = run_conformance(
        MUTANTS["cordon-ignored"](), areas=["node-unschedulable"], seed=7, out_dir=out,
        max_examples=100, stateful=False,
    )  # fmt: skip
    return report, out


def test_a_finding_is_written_as_manifests_and_a_replay_script(
    caught: tuple[Report, Path],
) -> None:
    report, out = caught
    assert report.findings and not report.ok
    finding = report.findings[0]
    where = Path(finding.path or "")
    assert where.parent == out
    assert {p.name for p in where.iterdir()} == {
        "cluster.yaml",
        "pod.yaml",
        "replay.sh",
        "finding.json",
    }
    # The manifests load back into the very example that failed.
    cluster = load(str(where / "cluster.yaml"))
    pod = load_pod(str(where / "pod.yaml"))
    assert set(cluster.nodes) == set(finding.cluster.nodes)
    assert pod.name == finding.pod.name
    assert any(n.unschedulable for n in cluster.nodes.values())
    docs = list(yaml.safe_load_all((where / "cluster.yaml").read_text()))
    assert all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
    recorded = json.loads((where / "finding.json").read_text())
    assert recorded["property"] == finding.property
    assert recorded["decision"]["node"] == finding.decision.node if finding.decision else True
    assert json.loads((out / "report.json").read_text())["findings"][0]["path"] == str(where)


def test_the_shrunk_counterexample_is_small(caught: tuple[Report, Path]) -> None:
    finding = caught[0].findings[0]
    assert len(finding.cluster.nodes) == 1
    assert not finding.pod.tolerations


def test_the_replay_script_runs_podfit_explain(caught: tuple[Report, Path]) -> None:
    where = Path(caught[0].findings[0].path or "")
    script = (where / "replay.sh").read_text()
    assert "podfit explain -f cluster.yaml --pod pod.yaml" in script
    podfit = Path(sys.executable).with_name("podfit")
    if not podfit.exists():
        pytest.skip("the podfit command is not installed next to this Python")
    result = subprocess.run(
        ["sh", str(where / "replay.sh"), "--output", "json"],
        capture_output=True,
        text=True,
        env={"PATH": f"{podfit.parent}:/usr/bin:/bin"},
        check=False,
        timeout=120,
    )
    # The cordoned node the mutant picked is rejected by the reference.
    assert result.returncode == 1, result.stderr
    explained = json.loads(result.stdout)
    assert not explained["schedulable"]
    assert "unschedulable" in explained["message"]


def test_the_same_seed_gives_the_same_run() -> None:
    def run() -> Report:
        return run_conformance(
            MUTANTS["cordon-ignored"](), areas=["node-unschedulable"], seed=99, max_examples=60
        )

    first, second = run(), run()
    assert summary(first) == summary(second)
    assert first.findings and first.findings[0].pod == second.findings[0].pod


def test_junit_xml_has_one_case_per_unit_and_the_failure() -> None:
    report = run_conformance(
        MUTANTS["cordon-ignored"](), areas=["node-unschedulable", "taints"], seed=5,
        max_examples=60, shrink=False,
    )  # fmt: skip
    root = ElementTree.fromstring(report.to_junit_xml())
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {(f"podfit.conform.{u.unit.property}", u.unit.area) for u in report.units}
    failed = {key for key, c in cases.items() if c.find("failure") is not None}
    assert failed and {area for _, area in failed} <= {"node-unschedulable", "all"}
    assert root.get("failures") == str(len(failed))


# --- faults and interruption -----------------------------------------------------------------


def test_a_scheduler_failing_on_ten_percent_of_calls_gets_an_intact_report(
    tmp_path: Path,
) -> None:
    scheduler = Flaky(0.10, seed=3)
    report = run_conformance(
        scheduler, areas=["taints", "resources"], seed=1, max_examples=40, out_dir=tmp_path
    )
    assert report.complete and not report.interrupted
    assert all(u.status in ("passed", "failed") for u in report.units)
    assert report.findings, "a scheduler that fails to answer must be reported"
    assert all("raised ConnectionError" in f.message for f in report.findings)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["totals"] == report.totals().to_dict()
    assert len(on_disk["findings"]) == len(report.findings)
    assert all(Path(f["path"]).is_dir() for f in on_disk["findings"])


def test_ctrl_c_keeps_what_was_found_and_writes_the_partial_report(tmp_path: Path) -> None:
    report = run_conformance(
        InterruptAfter(400), areas=["node-unschedulable", "taints"], seed=2,
        max_examples=100, out_dir=tmp_path, stateful=False,
    )  # fmt: skip
    assert report.interrupted and not report.complete
    assert report.findings, "the finding before the interruption is kept"
    statuses = [u.status for u in report.units]
    assert "failed" in statuses and ("interrupted" in statuses or "not-run" in statuses)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["interrupted"] is True
    assert on_disk["findings"][0]["path"] == report.findings[0].path


class SwallowedCtrlC(ReferenceScheduler):
    """Ctrl-C arrives while a garbage-collector callback runs, where Python prints the
    KeyboardInterrupt and drops it (as happens under Hypothesis, which times collections)."""

    name = "swallowed-ctrl-c"

    def __init__(self, at: int) -> None:
        super().__init__()
        self.calls, self.at = 0, at

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        import gc
        import os
        import signal

        self.calls += 1
        if self.calls == self.at:

            def callback(phase: str, info: dict[str, int]) -> None:
                if phase == "start":
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(10_000):  # the handler runs here, inside the callback
                        pass

            gc.callbacks.append(callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(callback)
        return super().schedule(cluster, pod)


def test_ctrl_c_that_python_drops_in_a_gc_callback_still_stops_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import signal

    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.default_int_handler)
    # Python's own behaviour for an exception in a gc callback: reported, then dropped
    # (pytest's hook would raise it again at the end of the test).
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: None)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    scheduler = SwallowedCtrlC(at=30)
    try:
        report = run_conformance(
            scheduler, areas=["taints"], seed=3, max_examples=200, stateful=False
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert report.interrupted and not report.complete
    assert scheduler.calls < 200, "the run went on after Ctrl-C"


def test_the_deadline_stops_the_run_and_says_so() -> None:
    report = run_conformance(ReferenceScheduler(), seed=1, max_examples=10_000, deadline_s=1.0)
    assert report.timed_out and not report.complete
    assert report.totals().run > 0
    assert not report.findings


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_examples"):
        run_conformance(ReferenceScheduler(), max_examples=0)
    with pytest.raises(ValueError, match="unknown areas"):
        run_conformance(ReferenceScheduler(), areas=["nope"])
    with pytest.raises(ValueError, match="unknown properties"):
        run_conformance(ReferenceScheduler(), properties=["beauty"])


# --- the command -------------------------------------------------------------------------------


def conform(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["conform", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_reference_passes_and_reports_what_it_covered(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, out, err = conform(
        "--adapter", "reference", "--rules", "taints", "--max-examples", "20", "--seed", "4",
        "--junit-xml", str(junit), "--output", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["coveredAreas"] == ["taints"]
    assert report["notCovered"]["resources"] == "not selected"
    assert "taints.filter.exists" in report["rules"]
    assert {v["area"] for v in report["rules"].values()} == {"taints"}
    assert all(v["findings"] == 0 for v in report["rules"].values())
    assert report["seed"] == 4
    assert ElementTree.parse(junit).getroot().get("failures") == "0"
    assert "[1/3] soundness[taints]: passed, 20 examples" in err


def test_cli_mutant_fails_with_counterexample_html_and_replay(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    code, out, err = conform(
        "--adapter", "mutant:prefer-no-schedule-filters", "--rules", "taints",
        "--seed", "8", "--out", str(tmp_path / "cx"), "--html", str(html), "--no-stateful",
    )  # fmt: skip
    assert code == 1, err
    assert "FAIL completeness [taints]" in out
    assert f"replay: podfit explain -f {tmp_path}/cx/completeness-1/cluster.yaml" in out
    page = html.read_text()
    # The reference's node x plugin matrix for the counterexample: its node passes.
    assert '<table id="matrix-1">' in page and "passes every filter" in page
    assert "✗ taints.filter.prefer-no-schedule" in page
    assert "podfit explain -f" in page and "kind: Node" in page


def test_cli_without_out_keeps_counterexamples_in_a_seed_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = conform(
        "--adapter", "mutant:cordon-ignored", "--rules", "node-unschedulable", "--seed", "3",
        "--max-examples", "60", "--no-stateful",
    )  # fmt: skip
    assert code == 1
    assert (tmp_path / ".podfit" / "conform-3" / "report.json").is_file()
    assert "counterexample: .podfit/conform-3/" in out
    assert "counterexamples and report.json: .podfit/conform-3/" in out
    # Nothing else lands in the working directory: Hypothesis's files are under .podfit
    # too, and .podfit keeps itself out of git.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".podfit"]
    assert (tmp_path / ".podfit" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_cli_refuses_a_scheduler_that_claims_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "claims_nothing.py").write_text(
        "class S:\n"
        "    name = 'nothing'\n"
        "    areas = frozenset()\n"
        "    def schedule(self, cluster, pod):\n"
        "        return None\n"
        "    def close(self):\n"
        "        pass\n"
        "sched = S()\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["conform", "--adapter", "python:claims_nothing:sched"])
    assert result.exit_code == 2, result.output
    assert "nothing to check: nothing claims no rule area podfit checks" in result.stderr
    assert "every property held" not in result.output
    with pytest.raises(ValueError, match="nothing to check"):
        run_conformance(load_target_scheduler(tmp_path / "claims_nothing.py"))


def load_target_scheduler(path: Path) -> object:
    from podfit.adapters import resolve

    return resolve(f"python:{path}:sched")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adapter", "nope:x"], "nope"),
        (["--adapter", "mutant:no-such-bug"], "unknown mutant 'no-such-bug'"),
        (["--adapter", "reference", "--rules", "nonsense"], "no rule area or rule id"),
        (["--adapter", "reference", "--rules", "image-locality"], "not checked by conformance"),
        (["--adapter", "reference", "--max-examples", "0"], "--max-examples"),
        (["--adapter", "python:no_such_module_here:fn"], "no_such_module_here"),
    ],
)
def test_cli_bad_usage_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["conform", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_cli_runs_the_example_schedulers(tmp_path: Path) -> None:
    good = str(ROOT / "examples" / "schedulers" / "good.py")
    buggy = str(ROOT / "examples" / "schedulers" / "buggy.py")
    code, _, err = conform(
        "--adapter", f"python:{good}:scheduler", "--max-examples", "15", "--seed", "1",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = conform(
        "--adapter", f"python:{buggy}:scheduler", "--rules", "taints", "--seed", "1",
        "--out", str(tmp_path / "cx"), "--no-stateful",
    )  # fmt: skip
    assert code == 1
    assert "FAIL completeness [taints]" in out


SLOW_SCHEDULER = """
import time
from podfit.adapters.reference_adapter import ReferenceScheduler


class Slow(ReferenceScheduler):
    name = "slow"

    def schedule(self, cluster, pod):
        time.sleep(0.02)
        return super().schedule(cluster, pod)


scheduler = Slow()
"""


def test_ctrl_c_on_the_command_writes_the_partial_report(
    tmp_path: Path, interruptible: Callable[[], None]
) -> None:
    import signal
    import time

    podfit = Path(sys.executable).with_name("podfit")
    if not podfit.exists():
        pytest.skip("the podfit command is not installed next to this Python")
    module = tmp_path / "slow.py"
    module.write_text(SLOW_SCHEDULER)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(podfit), "conform", "--adapter", f"python:{module}:scheduler", "--seed", "1",
         "--out", str(out), "--junit-xml", str(tmp_path / "junit.xml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible,
    )  # fmt: skip
    time.sleep(5)  # long enough for the first examples, far from the end of the run
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and "podfit: interrupted" in stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and report["complete"] is False
    assert report["totals"]["run"] > 0
    assert ElementTree.parse(tmp_path / "junit.xml").getroot().get("tests")
    assert not list(out.glob("*.tmp*")), "no half-written files"


def test_cli_replays_saved_counterexamples_against_a_scheduler(tmp_path: Path) -> None:
    out = tmp_path / "cx"
    code, _, _ = conform(
        "--adapter", "mutant:cordon-ignored", "--rules", "node-unschedulable", "--seed", "3",
        "--max-examples", "60", "--no-stateful", "--out", str(out), "--junit-xml",
        str(tmp_path / "junit.xml"),
    )  # fmt: skip
    assert code == 1
    # JUnit XML carries the shrunk example inline, not only its path.
    failure = next(ElementTree.parse(tmp_path / "junit.xml").iter("failure"))
    assert "cluster.yaml:" in (failure.text or "") and "unschedulable: true" in (failure.text or "")
    # The mutant still fails every saved counterexample; the reference passes them.
    result = CliRunner().invoke(
        cli, ["conform", "--adapter", "mutant:cordon-ignored", "--replay", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "node-unschedulable.filter.cordoned" in result.output
    result = CliRunner().invoke(
        cli, ["conform", "--adapter", "reference", "--replay", str(out), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    replayed = json.loads(result.output)["replayed"]
    assert replayed and all(r["passes"] for r in replayed)
    # A directory that holds no counterexample is a usage error.
    result = CliRunner().invoke(
        cli, ["conform", "--adapter", "reference", "--replay", str(tmp_path / "nothing")]
    )
    assert result.exit_code == 2
    assert "no counterexample there" in result.stderr


def test_spec_verify_runs_a_python_scheduler_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first_node_sched.py").write_text(
        "def pick(cluster, pod):\n    return min(cluster.nodes, default=None)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    result = CliRunner().invoke(
        cli, ["spec", "verify", "--backend", "python:first_node_sched:pick", "--rules", "taints"]
    )
    # It ignores taints: some examples fail, each named with the scheduler's spec string.
    assert result.exit_code == 1, result.output
    assert "FAIL [python:first_node_sched:pick, Kubernetes" in result.output
    assert "python:first_node_sched:pick:" in result.output and "passed" in result.output
