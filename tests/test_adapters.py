"""Adapters: spec strings, in-process, exec (JSON lines), HTTP extender, live cluster (faked)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import podfit.adapters as adapters
from podfit.adapters import (
    AdapterSetupError,
    Options,
    WithAreas,
    resolve,
    split_options,
)
from podfit.adapters.exec_adapter import (
    PROTOCOL,
    ExecScheduler,
    build_request,
    protocol_schema,
)
from podfit.adapters.extender_adapter import ExtenderScheduler, go_field
from podfit.adapters.python_adapter import PythonScheduler
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, AdapterError, Decision, Scheduler
from podfit.conformance.runner import run_conformance
from podfit.errors import UsageError
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod

ROOT = Path(__file__).resolve().parent.parent
SCHEDULER_JS = ROOT / "examples" / "schedulers" / "scheduler.js"

# --- manifests ---------------------------------------------------------------------------


def node(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    unschedulable: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(
    name: str,
    *,
    cpu: str | None = None,
    node_name: str | None = None,
    namespace: str = "default",
    phase: str | None = None,
    spec: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    body: dict[str, Any] = {"containers": [container], **(spec or {})}
    if node_name:
        body["nodeName"] = node_name
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": annotations or {},
            "labels": labels or {},
        },
        "spec": body,
    }
    if phase:
        manifest["status"] = {"phase": phase}
    return manifest


def cluster_of(*objects: dict[str, Any]) -> Cluster:
    return cluster_from_manifests(objects)


def pending(manifest: dict[str, Any]) -> Pod:
    return pod_from_manifest(manifest)


THREE_NODES = cluster_of(node("n1"), node("n2"), node("n3"))


# --- spec strings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("./sched --fast", ("./sched --fast", {})),
        ("./sched?timeout=5", ("./sched", {"timeout": "5"})),
        (
            "./sched?timeout=5&areas=taints,resources",
            ("./sched", {"timeout": "5", "areas": "taints,resources"}),
        ),
        ("./sched?areas=taints%2Cresources", ("./sched", {"areas": "taints,resources"})),
        # A '?' not followed by key=value pairs belongs to the command.
        ("echo 'why?'", ("echo 'why?'", {})),
        # A trailing '?' protects a '?' that would otherwise look like options.
        ("grep a?b=c?", ("grep a?b=c", {})),
        (
            "http://127.0.0.1:8888/sched?nodeCacheCapable=true",
            ("http://127.0.0.1:8888/sched", {"nodeCacheCapable": "true"}),
        ),
    ],
    ids=["none", "one", "two", "percent", "question-in-command", "trailing-guard", "url"],
)
def test_split_options(text: str, expected: tuple[str, dict[str, str]]) -> None:
    assert split_options(text) == expected


def test_split_options_rejects_a_repeated_key() -> None:
    with pytest.raises(AdapterSetupError, match="given twice"):
        split_options("x?timeout=1&timeout=2")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "expected one of: python:MODULE:CALLABLE, exec:COMMAND, extender:URL, kube:"),
        ("bogus:thing", "unknown scheduler scheme 'bogus'.*exec:COMMAND"),
        ("Exec:x", "cannot read scheduler spec"),
        ("exec", "cannot read scheduler spec"),
        ("exec:", "the command is empty"),
        ("exec:'unclosed", "cannot split"),
        ("exec:true?timeout=soon", "timeout='soon': expected a positive number"),
        ("exec:true?timeout=-1", "expected a positive number"),
        (
            "exec:true?speed=fast",
            r"unknown option\(s\) speed; accepted: areas, config, deadline, grace, timeout",
        ),
        ("exec:true?areas=taints,gpu", r"unknown rule area\(s\) gpu"),
        ("python:os", "expected python:MODULE:CALLABLE"),
        ("python:no_such_module_podfit:f", "no module named 'no_such_module_podfit'"),
        ("python:os:no_such_attribute", "has no attribute 'no_such_attribute'"),
        ("python:os:sep", "not a callable"),
        ("python:/no/such/file.py:f", "no such file"),
        ("extender:ftp://example.com/x", "expected an http:// or https:// URL"),
        ("extender:http://127.0.0.1:1?weight=0", "must be at least 1"),
        ("extender:http://127.0.0.1:1?nodeCacheCapable=maybe", "expected true or false"),
        ("reference:extra", "takes no argument"),
        ("kube:prod-eu-1", "refusing context 'prod-eu-1'"),
        ("kube:kind-kind?nodes=cloud", "nodes='cloud'"),
    ],
    ids=lambda v: v if len(v) < 40 else v[:40],
)
def test_resolve_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(spec)


def test_spec_errors_are_usage_errors_and_adapter_errors() -> None:
    from podfit.conformance.decisions import AdapterError

    with pytest.raises(AdapterError):
        resolve("nonsense")


def test_options_report_unused_keys_with_the_accepted_ones() -> None:
    options = Options("demo", {"timeout": "2", "colour": "red"})
    assert options.number("timeout", 5.0) == 2.0
    with pytest.raises(AdapterSetupError, match=r"colour; accepted: areas, timeout"):
        options.finish()
    assert Options("demo", {"timeout": "none"}).number("timeout", 5.0) is None


def test_reference_and_mutants_resolve_when_available() -> None:
    try:
        from podfit.adapters.reference_adapter import ReferenceScheduler  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="the reference adapter cannot be loaded"):
            resolve("reference")
    else:
        scheduler = resolve("reference?areas=taints")
        assert isinstance(scheduler, Scheduler)
        assert scheduler.areas == frozenset({"taints"})
        scheduler.close()
    try:
        from podfit.adapters.mutants import MUTANTS
    except ImportError:
        with pytest.raises(UsageError, match="mutants cannot be loaded"):
            resolve("mutant:anything")
    else:
        with pytest.raises(UsageError, match="unknown mutant 'no-such-mutant'; known mutants"):
            resolve("mutant:no-such-mutant")
        for name in list(MUTANTS)[:1]:
            assert isinstance(resolve(f"mutant:{name}"), Scheduler)


def test_reference_and_mutant_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """resolve() finds ReferenceScheduler and MUTANTS by name, whoever provides them."""
    import types

    made: list[str] = []

    def factory(name: str) -> Callable[[], Scheduler]:
        def make() -> Scheduler:
            made.append(name)
            return PythonScheduler(lambda c, p: None, name=name, areas=frozenset({"taints"}))

        return make

    reference = types.ModuleType("podfit.adapters.reference_adapter")
    reference.ReferenceScheduler = factory("reference")  # type: ignore[attr-defined]
    mutants = types.ModuleType("podfit.adapters.mutants")
    mutants.MUTANTS = {"ignore-taints": factory("ignore-taints")}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "podfit.adapters.reference_adapter", reference)
    monkeypatch.setitem(sys.modules, "podfit.adapters.mutants", mutants)
    assert resolve("reference").name == "reference"
    narrowed = resolve("reference?areas=resources")
    assert narrowed.areas == frozenset({"resources"})
    assert resolve("mutant:ignore-taints").name == "ignore-taints"
    assert made == ["reference", "reference", "ignore-taints"]
    with pytest.raises(UsageError, match="unknown mutant 'nope'; known mutants: ignore-taints"):
        resolve("mutant:nope")


# --- third-party adapters ----------------------------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name = name
        self.value = f"thirdparty:{name}"
        self._target = target

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def _install_entry_points(monkeypatch: pytest.MonkeyPatch, **targets: Any) -> None:
    eps = [_EntryPoint(name, target) for name, target in targets.items()]
    monkeypatch.setattr(
        adapters, "entry_points", lambda group: eps if group == "podfit.adapters" else []
    )


def test_third_party_scheme_gets_the_rest_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def factory(rest: str) -> Scheduler:
        seen.append(rest)
        return PythonScheduler(lambda c, p: None, name=f"sim:{rest}", areas=frozenset({"taints"}))

    _install_entry_points(monkeypatch, sim=factory)
    scheduler = resolve("sim:cluster-a:8080?mode=fast&areas=x")
    assert seen == ["cluster-a:8080?mode=fast&areas=x"]
    assert scheduler.name == "sim:cluster-a:8080?mode=fast&areas=x"


def test_third_party_schemes_are_listed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    _install_entry_points(
        monkeypatch,
        notsched=lambda rest: object(),
        broken=ImportError("no module named simkit"),
        badareas=lambda rest: PythonScheduler(lambda c, p: None, areas=frozenset({"gpus"})),
        exec=lambda rest: pytest.fail("built-in schemes win over entry points"),
    )
    with pytest.raises(
        UsageError, match=r"unknown scheduler scheme 'zzz'.*badareas:\.\.\..*notsched:\.\.\."
    ):
        resolve("zzz:1")
    with pytest.raises(UsageError, match="returned object, which is not a Scheduler"):
        resolve("notsched:x")
    with pytest.raises(UsageError, match=r"cannot load the adapter for 'broken'.*simkit"):
        resolve("broken:x")
    with pytest.raises(UsageError, match=r"unknown rule area\(s\) gpus"):
        resolve("badareas:x")
    with pytest.raises(UsageError, match="command is empty"):
        resolve("exec:")


# --- python adapter ------------------------------------------------------------------------


def test_python_adapter_answers() -> None:
    cluster = THREE_NODES
    p = pending(pod("p"))
    answers: list[object] = [
        "n2",
        None,
        Decision(node="n3", reasons={"n1": ("full",)}),
        "n9",
        42,
        Decision(node="ghost"),
    ]
    results = [PythonScheduler(lambda c, q, a=a: a).schedule(cluster, p) for a in answers]
    assert results[0] == Decision(node="n2")
    assert results[1].unschedulable
    assert results[2] == Decision(node="n3", reasons={"n1": ("full",)})
    assert (
        results[3].error is not None
        and "answered node 'n9', which is not in the cluster" in results[3].error
    )
    assert results[3].error.endswith("(nodes: n1, n2, n3)")
    assert results[4].error == "returned int 42; expected a node name, None or a Decision"
    assert results[5].error is not None and "'ghost'" in results[5].error


def test_python_adapter_turns_exceptions_into_errors() -> None:
    def explode(cluster: Cluster, p: Pod) -> str:
        return str(1 // len(p.tolerations))

    decision = PythonScheduler(explode).schedule(THREE_NODES, pending(pod("p")))
    assert decision.node is None and not decision.unschedulable
    assert decision.error is not None
    assert decision.error.startswith(
        "scheduler raised ZeroDivisionError: integer division or modulo by zero"
    )
    assert "test_adapters.py" in decision.error and "in explode" in decision.error


def test_python_adapter_gets_the_cluster_and_pod() -> None:
    seen: list[tuple[Cluster, Pod]] = []

    def spy(cluster: Cluster, p: Pod) -> str:
        seen.append((cluster, p))
        return min(cluster.nodes)

    p = pending(pod("web"))
    assert PythonScheduler(spy).schedule(THREE_NODES, p).node == "n1"
    assert seen == [(THREE_NODES, p)]


def test_python_spec_finds_a_module_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_sched_cwd.py").write_text("def pick(cluster, pod):\n    return None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    scheduler = adapters.resolve("python:my_sched_cwd:pick")
    assert scheduler.name == "python:my_sched_cwd:pick"
    with pytest.raises(
        AdapterError, match=r"no module named 'absent_mod' in the working directory"
    ):
        adapters.resolve("python:absent_mod:pick")


def test_python_spec_loads_a_file_and_applies_options(tmp_path: Path) -> None:
    module = tmp_path / "my_sched.py"
    module.write_text(
        "def last(cluster, pod):\n    return list(cluster.nodes)[-1]\n"
        "class Holder:\n    @staticmethod\n    def first(cluster, pod):\n        return next(iter(cluster.nodes))\n"
    )
    scheduler = resolve(f"python:{module}:last?areas=taints,resources")
    assert isinstance(scheduler, WithAreas)
    assert scheduler.areas == frozenset({"taints", "resources"})
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))).node == "n3"
    nested = resolve(f"python:{module}:Holder.first")
    assert nested.areas == ALL_AREAS
    assert nested.schedule(THREE_NODES, pending(pod("p"))).node == "n1"


def test_python_spec_accepts_a_scheduler_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ready_made.py").write_text(
        "from podfit.adapters.python_adapter import PythonScheduler\n"
        "SCHED = PythonScheduler(lambda c, p: None, name='ready', areas=frozenset({'taints'}))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    scheduler = resolve("python:ready_made:SCHED")
    assert scheduler.name == "ready" and scheduler.areas == frozenset({"taints"})


# --- exec adapter --------------------------------------------------------------------------

PRELUDE = """\
import json, os, sys, time

def hello(areas=("taints", "resources"), protocol="podfit/1"):
    print(json.dumps({"protocol": protocol, "areas": list(areas), "name": "test"}), flush=True)

def requests():
    for line in sys.stdin:
        yield json.loads(line)

def answer(request, node, **extra):
    print(json.dumps({"id": request["id"], "node": node, **extra}), flush=True)
"""

GOOD = """
log = open(sys.argv[1], "a")
hello()
for req in requests():
    log.write(json.dumps({
        "protocol": req["protocol"], "id": req["id"], "env": os.environ.get("PODFIT_PROTOCOL"),
        "nodes": [n["metadata"]["name"] for n in req["nodes"]],
        "pods": [p["metadata"]["name"] for p in req["pods"]],
        "namespaces": [n["metadata"]["name"] for n in req["namespaces"]],
        "pod": req["pod"]["metadata"]["name"],
    }) + "\\n")
    log.flush()
    want = req["pod"]["metadata"].get("annotations", {}).get("want")
    if want == "none":
        answer(req, None, reasons={n["metadata"]["name"]: ["Insufficient cpu"] for n in req["nodes"]})
    else:
        answer(req, want or req["nodes"][0]["metadata"]["name"], scores={"n1": 7})
"""

CRASH_ONCE = """
hello()
marker = sys.argv[1]
for req in requests():
    if not os.path.exists(marker):
        open(marker, "w").close()
        print("Traceback: something broke in the scheduler", file=sys.stderr, flush=True)
        sys.exit(3)
    answer(req, "n2")
"""

HANG = """
hello()
for req in requests():
    time.sleep(60)
"""

SLOW = """
hello()
for req in requests():
    time.sleep(float(sys.argv[1]))
    answer(req, "n1")
"""

GARBAGE = """
hello()
for req in requests():
    print("DEBUG: looking at", req["pod"]["metadata"]["name"], flush=True)
"""

UNKNOWN_NODE = """
hello()
for n, req in enumerate(requests()):
    answer(req, "n9" if n == 0 else "n1")
"""

CLOSE_STDOUT = """
hello()
for req in requests():
    print("closing stdout", file=sys.stderr, flush=True)
    sys.stdout.close()
    os.close(1)
    time.sleep(60)
"""

WRONG_ID = """
hello()
for req in requests():
    print(json.dumps({"id": req["id"] + 100, "node": "n1"}), flush=True)
"""

REPORTS_ERROR = """
hello()
for req in requests():
    print(json.dumps({"id": req["id"], "error": "topologySpreadConstraints are not supported"}), flush=True)
"""

BAD_SHAPES = """
hello()
for n, req in enumerate(requests()):
    if n == 0:
        answer(req, 7)
    elif n == 1:
        answer(req, "n1", reasons={"n2": "not a list"})
    else:
        print(json.dumps({"id": req["id"]}), flush=True)
"""

NOT_READING = """
hello()
time.sleep(60)
"""

STUBBORN = """
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
hello()
sys.stdin.read()
time.sleep(60)
"""


@pytest.fixture
def script(tmp_path: Path) -> Callable[..., str]:
    """Write a Python scheduler script; return the command line that runs it."""

    def make(body: str, *args: str) -> str:
        path = tmp_path / f"sched_{abs(hash(body))}.py"
        path.write_text(PRELUDE + body)
        return shlex.join([sys.executable, str(path), *args])

    return make


@pytest.fixture
def opened() -> Iterator[list[ExecScheduler]]:
    """Schedulers to close after the test, even when it fails."""
    started: list[ExecScheduler] = []
    yield started
    for scheduler in started:
        scheduler.close()


def _exec(opened: list[ExecScheduler], command: str, **kwargs: Any) -> ExecScheduler:
    kwargs.setdefault("grace", 0.5)
    scheduler = ExecScheduler(command, **kwargs)
    opened.append(scheduler)
    return scheduler


def test_exec_good_scheduler(
    script: Callable[..., str], tmp_path: Path, opened: list[ExecScheduler]
) -> None:
    log = tmp_path / "requests.jsonl"
    scheduler = _exec(opened, script(GOOD, str(log)))
    assert scheduler.areas == frozenset({"taints", "resources"})
    assert scheduler.scheduler_name == "test"
    assert scheduler.name.startswith("exec:") and "sched_" in scheduler.name
    cluster = cluster_of(
        node("n1"),
        node("n2"),
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team", "labels": {"a": "b"}},
        },
        pod("running", node_name="n1", cpu="1"),
        pod("done", node_name="n2", phase="Succeeded"),
        pod("queued"),
    )
    first = scheduler.schedule(cluster, pending(pod("web", annotations={"want": "n2"})))
    second = scheduler.schedule(cluster, pending(pod("big", annotations={"want": "none"})))
    third = scheduler.schedule(cluster, pending(pod("any")))
    assert first == Decision(node="n2", scores={"n1": 7})
    assert second == Decision(
        node=None, reasons={"n1": ("Insufficient cpu",), "n2": ("Insufficient cpu",)}
    )
    assert third.node == "n1"
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert [s["id"] for s in seen] == [1, 2, 3]
    assert seen[0] == {
        "protocol": PROTOCOL,
        "id": 1,
        "env": PROTOCOL,
        "nodes": ["n1", "n2"],
        "pods": ["running", "done"],  # bound pods only, in any phase
        "namespaces": ["team"],
        "pod": "web",
    }
    assert scheduler.restarts == 0


def test_exec_requests_match_the_schema() -> None:
    schema = protocol_schema()
    validator = jsonschema.Draft202012Validator(schema)
    cluster = cluster_of(node("n1"), pod("r", node_name="n1", cpu="1"))
    request = build_request(5, cluster, pending(pod("p", cpu="500m")))
    validator.validate(request)
    request_schema = {"$defs": schema["$defs"], "$ref": "#/$defs/request"}
    jsonschema.validate(request, request_schema)
    bad = {**request, "protocol": "podfit/2"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, request_schema)
    response_schema = {"$defs": schema["$defs"], "$ref": "#/$defs/response"}
    jsonschema.validate(
        {"id": 5, "node": None, "reasons": {"n1": ["Too many pods"]}}, response_schema
    )
    jsonschema.validate({"id": 5, "error": "unsupported"}, response_schema)
    for wrong in (
        {"node": "n1"},
        {"id": 5},
        {"id": 5, "node": 3},
        {"id": 5, "node": "n", "reasons": {"n": "x"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, response_schema)
    assert set(schema["$defs"]["area"]["enum"]) == ALL_AREAS


def test_exec_crash_is_an_error_and_the_next_call_restarts(
    script: Callable[..., str], tmp_path: Path, opened: list[ExecScheduler]
) -> None:
    scheduler = _exec(opened, script(CRASH_ONCE, str(tmp_path / "crashed")))
    crashed = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert crashed.node is None and crashed.error is not None
    assert "closed its stdout (the process exited with code 3)" in crashed.error
    assert "something broke in the scheduler" in crashed.error  # stderr tail
    recovered = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert recovered == Decision(node="n2")
    assert scheduler.restarts == 1


def test_exec_hang_times_out_quickly(
    script: Callable[..., str], opened: list[ExecScheduler]
) -> None:
    scheduler = _exec(opened, script(HANG), timeout=0.5)
    started = time.monotonic()
    decision = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert time.monotonic() - started < 3
    assert decision.error is not None
    assert decision.error.startswith("no answer within the 0.5 s timeout; the scheduler was killed")


def test_exec_slow_but_within_timeout(
    script: Callable[..., str], opened: list[ExecScheduler]
) -> None:
    scheduler = _exec(opened, script(SLOW, "0.3"), timeout=5)
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))) == Decision(node="n1")


def test_exec_slow_beyond_timeout_then_restarted(
    script: Callable[..., str], opened: list[ExecScheduler]
) -> None:
    scheduler = _exec(opened, script(SLOW, "0.8"), timeout=0.4)
    late = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert late.error is not None and "0.4 s timeout" in late.error
    # The late answer of the killed process must not be read as the next answer.
    again = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert again.error is not None and "timeout" in again.error
    assert scheduler.restarts == 1


def test_exec_garbage_output(script: Callable[..., str], opened: list[ExecScheduler]) -> None:
    scheduler = _exec(opened, script(GARBAGE))
    decision = scheduler.schedule(THREE_NODES, pending(pod("web")))
    assert decision.error is not None
    assert decision.error.startswith(
        "wrote a line that is not JSON where the response was expected: 'DEBUG: looking at web'"
    )
    assert "log to stderr" in decision.error


def test_exec_unknown_node_keeps_the_process(
    script: Callable[..., str], opened: list[ExecScheduler]
) -> None:
    scheduler = _exec(opened, script(UNKNOWN_NODE))
    bad = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert bad.error is not None and "answered node 'n9', which is not in the cluster" in bad.error
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))) == Decision(node="n1")
    assert scheduler.restarts == 0


def test_exec_closed_stdout(script: Callable[..., str], opened: list[ExecScheduler]) -> None:
    scheduler = _exec(opened, script(CLOSE_STDOUT), timeout=5)
    decision = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert decision.error is not None
    assert decision.error.startswith("closed its stdout")
    assert "closing stdout" in decision.error


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (WRONG_ID, "answered id 101 to request id 1"),
        (REPORTS_ERROR, "scheduler reported an error: topologySpreadConstraints are not supported"),
    ],
    ids=["wrong-id", "reported-error"],
)
def test_exec_protocol_mistakes(
    script: Callable[..., str], opened: list[ExecScheduler], body: str, message: str
) -> None:
    scheduler = _exec(opened, script(body))
    decision = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert decision.node is None and decision.error is not None
    assert decision.error.startswith(message)


def test_exec_malformed_fields(script: Callable[..., str], opened: list[ExecScheduler]) -> None:
    scheduler = _exec(opened, script(BAD_SHAPES))
    errors = [scheduler.schedule(THREE_NODES, pending(pod("p"))).error for _ in range(3)]
    assert errors == [
        'response "node" must be a string or null, got 7',
        "response \"reasons\" for 'n2' must be a list of strings",
        'response has no "node" (a node name or null)',
    ]
    assert scheduler.restarts == 0


def test_exec_scheduler_not_reading_stdin(
    script: Callable[..., str], opened: list[ExecScheduler]
) -> None:
    # A request larger than a pipe buffer: writing it blocks until the timeout.
    big = cluster_of(*(node(f"n{i}", labels={"pad": "x" * 60}) for i in range(600)))
    scheduler = _exec(opened, script(NOT_READING), timeout=0.5)
    started = time.monotonic()
    decision = scheduler.schedule(big, pending(pod("p")))
    assert time.monotonic() - started < 3
    assert decision.error is not None and "0.5 s timeout" in decision.error


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("hello(protocol='podfit/9')\n", "speaks protocol 'podfit/9'; podfit supports podfit/1"),
        ("hello(areas=['taints', 'gpus'])\n", r"unknown area\(s\) gpus"),
        ("print('starting up...', flush=True)\n", "not JSON where the hello line was expected"),
        ("print(json.dumps({'protocol': 'podfit/1'}), flush=True)\n", 'needs "areas"'),
        (
            "print('bad config', file=sys.stderr, flush=True); sys.exit(2)\n",
            r"closed its stdout \(the process exited with code 2\)[\s\S]*bad config",
        ),
        ("time.sleep(60)\n", "no hello line within the 0.5 s timeout"),
    ],
    ids=["version", "area", "not-json", "no-areas", "exits", "silent"],
)
def test_exec_bad_hello_fails_at_start(script: Callable[..., str], body: str, message: str) -> None:
    with pytest.raises(AdapterSetupError, match=message):
        ExecScheduler(script(body), timeout=0.5, grace=0.2)


def test_exec_missing_program() -> None:
    with pytest.raises(AdapterSetupError, match="cannot run 'no-such-program-podfit'"):
        ExecScheduler("no-such-program-podfit --flag")


def test_exec_runs_without_a_shell(
    script: Callable[..., str], tmp_path: Path, opened: list[ExecScheduler]
) -> None:
    log = tmp_path / "log.jsonl"
    # With a shell, '>' would redirect and '$HOME' expand; here both are plain arguments.
    body = GOOD.replace(
        'open(sys.argv[1], "a")',
        'open(sys.argv[1], "a"); open(sys.argv[1] + ".args", "w").write(json.dumps(sys.argv[2:]))',
    )
    scheduler = _exec(opened, script(body, str(log)) + " '>' out.txt '$HOME'")
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))).node == "n1"
    assert json.loads(Path(str(log) + ".args").read_text()) == [">", "out.txt", "$HOME"]


def test_exec_overall_deadline(script: Callable[..., str], opened: list[ExecScheduler]) -> None:
    scheduler = _exec(opened, script(SLOW, "0.2"), timeout=5, deadline=1.0)
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))).node == "n1"
    time.sleep(1.0)
    late = scheduler.schedule(THREE_NODES, pending(pod("p")))
    assert late.error == "the overall deadline of 1 s has passed; not asked"


def test_exec_close_kills_a_stubborn_process(script: Callable[..., str]) -> None:
    scheduler = ExecScheduler(script(STUBBORN), grace=0.3)
    process = scheduler._process
    assert process is not None
    started = time.monotonic()
    scheduler.close()
    assert time.monotonic() - started < 3
    assert process.popen.poll() is not None  # gone: EOF and SIGTERM ignored, SIGKILL not
    scheduler.close()  # idempotent


def test_exec_spec_options(script: Callable[..., str]) -> None:
    scheduler = resolve(f"exec:{script(SLOW, '0')}?timeout=3&grace=0.2&areas=taints")
    try:
        assert scheduler.areas == frozenset({"taints"})
        assert isinstance(scheduler, WithAreas) and isinstance(scheduler.inner, ExecScheduler)
        assert scheduler.inner.timeout == 3.0 and scheduler.inner.grace == 0.2
        assert scheduler.schedule(THREE_NODES, pending(pod("p"))).node == "n1"
    finally:
        scheduler.close()


# --- the Node.js example scheduler ---------------------------------------------------------

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")

JS_CLUSTER = (
    node("cordoned", unschedulable=True),
    node("tainted", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
    node("ssd", labels={"disk": "ssd", "zone": "a"}, cpu="2"),
    node("hdd", labels={"disk": "hdd", "zone": "b"}, cpu="8"),
    node("tiny", labels={"disk": "ssd"}, cpu="1", pods="1"),
    pod("busy", node_name="ssd", cpu="1500m"),
    pod("finished", node_name="tiny", cpu="1", phase="Succeeded"),
)

TOLERATE_GPU = {
    "tolerations": [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
}
TOLERATE_ALL = {"tolerations": [{"operator": "Exists"}]}


@pytest.fixture(scope="module")
def first_fit_js() -> Iterator[ExecScheduler]:
    """One process for all cases: requests must not depend on each other."""
    scheduler = ExecScheduler(shlex.join(["node", str(SCHEDULER_JS)]), grace=0.5)
    yield scheduler
    scheduler.close()


@needs_node
@pytest.mark.parametrize(
    ("spec", "cpu", "expected"),
    [
        ({}, None, "ssd"),
        (TOLERATE_GPU, None, "tainted"),
        (TOLERATE_ALL, None, "cordoned"),
        (
            {"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}]},
            None,
            "ssd",
        ),
        ({"nodeSelector": {"disk": "hdd"}}, None, "hdd"),
        ({}, "1", "hdd"),  # ssd has only 500m left after the running pod
        ({}, "500m", "ssd"),  # exactly what is left fits
        ({"nodeSelector": {"disk": "ssd"}}, "600m", "tiny"),  # the Succeeded pod uses nothing
        ({"nodeSelector": {"disk": "ssd"}}, "2", None),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "zone", "operator": "NotIn", "values": ["a"]}
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            None,
            "hdd",
        ),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchFields": [
                                        {
                                            "key": "metadata.name",
                                            "operator": "In",
                                            "values": ["tiny"],
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            None,
            "tiny",
        ),
        (
            {
                "initContainers": [
                    {"name": "init", "image": "x", "resources": {"requests": {"cpu": "3"}}}
                ]
            },
            "100m",
            "hdd",
        ),
        ({"overhead": {"cpu": "450m"}}, "100m", "hdd"),
    ],
    ids=[
        "first-fit",
        "tolerated-taint",
        "exists-tolerates-all",
        "wrong-effect",
        "node-selector",
        "running-pod-uses-cpu",
        "exact-fit",
        "terminal-pods-ignored",
        "nothing-fits",
        "notin",
        "match-fields",
        "init-container-max",
        "overhead",
    ],
)
def test_node_js_scheduler(
    first_fit_js: ExecScheduler, spec: dict[str, Any], cpu: str | None, expected: str | None
) -> None:
    scheduler = first_fit_js
    assert scheduler.areas == frozenset(
        {"node-unschedulable", "taints", "node-affinity", "resources"}
    )
    cluster = cluster_of(*JS_CLUSTER)
    p = pending(pod("web", cpu=cpu, spec=spec))
    decision = scheduler.schedule(cluster, p)
    assert decision.error is None
    assert decision.node == expected
    # The reference scheduler agrees that the node is feasible (or that none is).
    from podfit.reference.scheduler import schedule_one

    feasible = set(schedule_one(cluster, p).feasible)
    if expected is None:
        assert not feasible
    else:
        assert expected in feasible


@needs_node
def test_node_js_scheduler_reasons(first_fit_js: ExecScheduler) -> None:
    scheduler = first_fit_js
    decision = scheduler.schedule(cluster_of(*JS_CLUSTER), pending(pod("web", cpu="16")))
    assert decision == Decision(
        node=None,
        reasons={
            "cordoned": ("node(s) were unschedulable",),
            "tainted": ("node(s) had untolerated taint(s)",),
            "ssd": ("Insufficient cpu",),
            "hdd": ("Insufficient cpu",),
            "tiny": ("Insufficient cpu",),
        },
    )
    full = scheduler.schedule(
        cluster_of(node("one", pods="1"), pod("there", node_name="one")), pending(pod("web"))
    )
    assert full == Decision(node=None, reasons={"one": ("Too many pods",)})


# --- extender adapter ----------------------------------------------------------------------


class Extender:
    """A scripted extender on 127.0.0.1: records requests, answers per ``mode``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], str]] = []
        self.mode = "normal"
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body, self.headers["Content-Type"]))
                status, payload = outer.answer(self.path, body)
                if outer.delay:
                    time.sleep(outer.delay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/scheduler"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @staticmethod
    def names(body: dict[str, Any]) -> list[str]:
        if body["NodeNames"] is not None:
            return list(body["NodeNames"])
        return [n["metadata"]["name"] for n in body["Nodes"]["items"]]

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        mode = self.mode
        if mode == "500":
            return 500, {"oops": True}
        if mode == "malformed":
            return 200, b"{not json"
        names = self.names(body)
        labels = {}
        for n in (body["Nodes"] or {}).get("items", []):
            labels[n["metadata"]["name"]] = n["metadata"].get("labels", {})
        if path.endswith("/filter"):
            if mode == "error-field":
                return 200, {"Error": "cache not synced"}
            keep = [n for n in names if not n.startswith("bad")]
            if mode == "invent":
                keep.append("n99")
            result: dict[str, Any] = {
                "FailedNodes": {n: f"{n} is bad" for n in names if n.startswith("bad")},
                "FailedAndUnresolvableNodes": {
                    n: f"{n} is hopeless" for n in names if n == "bad-2"
                },
            }
            if mode == "names-only":
                result = {"NodeNames": keep, "FailedNodes": result["FailedNodes"]}
            elif mode == "lowercase":
                # Go's decoder matches keys case-insensitively.
                result = {"nodenames": keep, "failednodes": result["FailedNodes"]}
            elif body["NodeNames"] is not None:
                result["NodeNames"] = keep
            else:
                items = [n for n in body["Nodes"]["items"] if n["metadata"]["name"] in keep]
                if mode == "invent":
                    items.append({"metadata": {"name": "n99"}})
                result["Nodes"] = {"items": items}
            return 200, result
        if mode == "prioritize-unknown":
            return 200, [{"Host": "nowhere", "Score": 5}]
        if mode == "prioritize-float":
            return 200, [{"Host": names[0], "Score": 2.5}]
        scores = {"n1": 3, "n2": 7, "n3": 7, "good": 1}
        return 200, [{"Host": n, "Score": scores.get(n, 0)} for n in names]


@pytest.fixture
def extender() -> Iterator[Extender]:
    server = Extender()
    yield server
    server.close()


EXTENDER_CLUSTER = cluster_of(node("bad-1"), node("n1"), node("bad-2"), node("n2"), node("n3"))


@pytest.mark.parametrize("cache", [False, True], ids=["node-list", "node-cache-capable"])
def test_extender_filter_then_prioritize(extender: Extender, cache: bool) -> None:
    scheduler = ExtenderScheduler(extender.url, node_cache_capable=cache)
    p = pending(pod("web"))
    decision = scheduler.schedule(EXTENDER_CLUSTER, p)
    # n2 and n3 tie at 7 * 10 = 70: the first in cluster order wins.
    assert decision == Decision(
        node="n2",
        reasons={"bad-1": ("bad-1 is bad",), "bad-2": ("bad-2 is hopeless",)},
        scores={"n1": 30, "n2": 70, "n3": 70},
    )
    (filter_path, filter_body, ctype), (prio_path, prio_body, _) = extender.requests
    assert (filter_path, prio_path, ctype) == (
        "/scheduler/filter",
        "/scheduler/prioritize",
        "application/json",
    )
    assert set(filter_body) == {"Pod", "Nodes", "NodeNames"}
    assert filter_body["Pod"]["metadata"]["name"] == "web"
    if cache:
        assert filter_body["Nodes"] is None
        assert filter_body["NodeNames"] == ["bad-1", "n1", "bad-2", "n2", "n3"]
        assert prio_body["NodeNames"] == ["n1", "n2", "n3"]
    else:
        assert filter_body["NodeNames"] is None
        assert [n["metadata"]["name"] for n in filter_body["Nodes"]["items"]] == [
            "bad-1",
            "n1",
            "bad-2",
            "n2",
            "n3",
        ]
        assert filter_body["Nodes"]["items"][0]["status"]["allocatable"]["cpu"] == "4"
        assert [n["metadata"]["name"] for n in prio_body["Nodes"]["items"]] == ["n1", "n2", "n3"]


def test_extender_weight_scales_scores(extender: Extender) -> None:
    decision = ExtenderScheduler(extender.url, weight=3).schedule(THREE_NODES, pending(pod("p")))
    assert decision.scores == {"n1": 90, "n2": 210, "n3": 210}


def test_extender_single_survivor_is_not_prioritized(extender: Extender) -> None:
    cluster = cluster_of(node("bad-1"), node("good"))
    decision = ExtenderScheduler(extender.url).schedule(cluster, pending(pod("p")))
    assert decision == Decision(node="good", reasons={"bad-1": ("bad-1 is bad",)})
    assert [path for path, _, _ in extender.requests] == ["/scheduler/filter"]


def test_extender_no_survivor_is_unschedulable(extender: Extender) -> None:
    cluster = cluster_of(node("bad-1"), node("bad-2"))
    decision = ExtenderScheduler(extender.url).schedule(cluster, pending(pod("p")))
    assert decision.unschedulable
    assert decision.reasons == {"bad-1": ("bad-1 is bad",), "bad-2": ("bad-2 is hopeless",)}


def test_extender_keys_are_case_insensitive(extender: Extender) -> None:
    extender.mode = "lowercase"
    decision = ExtenderScheduler(extender.url, node_cache_capable=True).schedule(
        EXTENDER_CLUSTER, pending(pod("p"))
    )
    assert decision.node == "n2"
    assert decision.reasons == {"bad-1": ("bad-1 is bad",), "bad-2": ("bad-2 is bad",)}
    assert go_field({"nodenames": 1, "NodeNames": 2}, "NodeNames") == 2
    assert go_field({"NodeNames": 2, "nodenames": 1}, "NodeNames") == 1


def test_extender_answering_names_to_a_node_list_gets_the_option_named(
    extender: Extender,
) -> None:
    extender.mode = "names-only"
    decision = ExtenderScheduler(extender.url).schedule(EXTENDER_CLUSTER, pending(pod("p")))
    assert decision.error is not None
    assert "add ?nodeCacheCapable=true" in decision.error
    cached = ExtenderScheduler(extender.url, node_cache_capable=True)
    assert cached.schedule(EXTENDER_CLUSTER, pending(pod("p"))).node == "n2"


def test_extender_error_under_node_cache_capable_names_the_option(extender: Extender) -> None:
    extender.mode = "error-field"
    decision = ExtenderScheduler(extender.url, node_cache_capable=True).schedule(
        EXTENDER_CLUSTER, pending(pod("p"))
    )
    assert decision.error is not None
    assert "cache not synced" in decision.error
    assert "without ?nodeCacheCapable=true" in decision.error


def test_an_unreachable_extender_is_one_error_not_a_finding_per_area() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    scheduler = ExtenderScheduler(f"http://127.0.0.1:{port}/scheduler")
    with pytest.raises(AdapterError, match="cannot reach the extender"):
        run_conformance(scheduler, max_examples=5, seed=1)
    done = CliRunner().invoke(
        cli, ["conform", "--adapter", f"extender:http://127.0.0.1:{port}/scheduler"]
    )
    assert done.exit_code == 2
    assert done.output.count("cannot reach the extender") == 1
    assert "FAIL" not in done.output


def test_extender_without_prioritize_takes_the_first_survivor(extender: Extender) -> None:
    decision = ExtenderScheduler(extender.url, prioritize_verb="").schedule(
        EXTENDER_CLUSTER, pending(pod("p"))
    )
    assert decision.node == "n1"
    assert decision.scores == {"n1": 0, "n2": 0, "n3": 0}


@pytest.mark.parametrize(
    ("mode", "cache", "message"),
    [
        (
            "500",
            False,
            r"failed filter with extender at URL http://127\.0\.0\.1:\d+/scheduler/filter, code 500",
        ),
        ("malformed", False, "malformed JSON in the filter response"),
        ("error-field", False, "extender filter returned an error: cache not synced"),
        ("invent", True, "claims filtered node\\(s\\) 'n99' which are not in the input node list"),
        ("invent", False, "claims filtered node\\(s\\) 'n99'"),
        (
            "prioritize-unknown",
            False,
            "prioritize response scores node 'nowhere', which was not offered",
        ),
        ("prioritize-float", False, r"Score must be an integer, got 2\.5"),
    ],
    ids=[
        "http-500",
        "malformed-json",
        "error-field",
        "unknown-name",
        "unknown-node-object",
        "unknown-host",
        "float-score",
    ],
)
def test_extender_failures_are_errors(
    extender: Extender, mode: str, cache: bool, message: str
) -> None:
    extender.mode = mode
    decision = ExtenderScheduler(extender.url, node_cache_capable=cache).schedule(
        EXTENDER_CLUSTER, pending(pod("p"))
    )
    assert decision.node is None and decision.error is not None
    assert re.search(message, decision.error), decision.error


def test_extender_timeout(extender: Extender) -> None:
    extender.delay = 1.0
    started = time.monotonic()
    decision = ExtenderScheduler(extender.url, timeout=0.2).schedule(THREE_NODES, pending(pod("p")))
    assert time.monotonic() - started < 0.9
    assert decision.error is not None
    assert decision.error.endswith("/scheduler/filter timed out after 0.2 s")


def test_extender_unreachable() -> None:
    server = Extender()
    url = server.url
    server.close()
    decision = ExtenderScheduler(url, timeout=1).schedule(THREE_NODES, pending(pod("p")))
    assert decision.error is not None and "cannot reach the extender" in decision.error


def test_extender_spec_options(extender: Extender) -> None:
    scheduler = resolve(f"extender:{extender.url}?nodeCacheCapable=true&weight=2&timeout=2")
    assert isinstance(scheduler, ExtenderScheduler)
    assert (scheduler.node_cache_capable, scheduler.weight, scheduler.timeout) == (True, 2, 2.0)
    assert scheduler.areas == frozenset({"node-affinity", "node-unschedulable", "taints"})
    assert scheduler.schedule(THREE_NODES, pending(pod("p"))).scores == {
        "n1": 60,
        "n2": 140,
        "n3": 140,
    }
    assert extender.requests[0][1]["NodeNames"] == ["n1", "n2", "n3"]
