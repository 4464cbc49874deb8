"""Reliability figures for the README: hostile inputs by class, faulty schedulers, a flaky
conformance run, and peak memory per input size.

    python benchmarks/bench_reliability.py [--examples N] [--seed S] [--sizes 1000,5000,10000]

Every count is measured here, none is typed in. The cases come from the tests
(``tests/test_bad_input.py``, ``test_output_paths.py``, ``test_reading.py``,
``test_cli_limits.py``, ``test_adapter_limits.py``, ``test_printable.py``,
``test_validation.py``, ``test_faulty_schedulers.py``) and the spec's ``validate`` examples,
run through the command line (or the adapters) once more; a case counts as handled when it
ends the way the class demands: exit 2 with one ``podfit: error:`` line and no traceback
(or a reported scheduler error), nothing destroyed, everything bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import select
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from click.testing import CliRunner

from podfit.adapters import resolve
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.decisions import Decision, Scheduler
from podfit.model import Pod

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
EXAMPLES = ROOT / "examples"


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


def _answered(result: Any) -> bool:
    """Exit 0 or 1 (an answer), no traceback."""
    return (
        result.exit_code in (0, 1)
        and "Traceback" not in result.stdout + result.stderr
        and (result.exception is None or isinstance(result.exception, SystemExit))
    )


class Tally:
    """Cases tried and handled for one class, with the names of the ones that were not."""

    def __init__(self) -> None:
        self.tried = 0
        self.handled = 0
        self.failed: list[str] = []

    def count(self, name: str, ok: bool) -> None:
        self.tried += 1
        self.handled += ok
        if not ok:
            self.failed.append(name)
            print(f"  not handled: {name}", file=sys.stderr)

    def __str__(self) -> str:
        return f"{self.handled}/{self.tried}"


def invoke(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(cli, list(args), **kw)


# --- the original tables --------------------------------------------------------------------------


def bad_inputs(directory: Path) -> Tally:
    """The manifest and configuration tables, through every command that reads them."""
    bad = _module("test_bad_input")
    tally = Tally()
    ok, pod = directory / "ok.yaml", directory / "pod.yaml"
    ok.write_text(bad.NODE)
    pod.write_text(bad.POD)
    for index, (name, (content, _)) in enumerate(bad.MANIFESTS.items()):
        path = directory / f"bad{index}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for command in bad.COMMANDS:
            args = bad.command_args(command, [ok, path], pod)
            tally.count(f"{name} ({command})", _handled(invoke(*args)))
    for index, (name, (content, _)) in enumerate(bad.BAD_CONFIGS.items()):
        path = directory / f"config{index}.yaml"
        if content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        for command in ("explain", "simulate"):
            args = [*bad.command_args(command, [ok], pod), "--config", str(path)]
            tally.count(f"config {name} ({command})", _handled(invoke(*args)))
    return tally


# --- 1. output paths ---------------------------------------------------------------------------------


def output_paths(directory: Path) -> Tally:
    """--html, --out and --junit-xml at links, FIFOs, devices and directories: nothing but a
    regular file is ever replaced, a directory is a one-line error."""
    tally = Tally()
    cluster, pod = str(EXAMPLES / "cluster.yaml"), str(EXAMPLES / "pod.yaml")
    commands = {
        "explain --html": ["explain", "-f", cluster, "--pod", pod, "--html"],
        "simulate --html": ["simulate", "-f", cluster, "--html"],
        "solve --html": ["solve", "-f", cluster, "--pods", str(EXAMPLES / "pending.yaml"), "--html"],
        "prove --out": ["prove", "-f", cluster, "--claim", str(EXAMPLES / "claims" / "web-on-ssd.yaml"), "--out"],
        "conform --junit-xml": ["conform", "--adapter", "reference", "--rules", "taints", "--max-examples", "2", "--no-stateful", "--junit-xml"],
    }  # fmt: skip
    for label, args in commands.items():
        root = Path(tempfile.mkdtemp(dir=directory))
        # a link to a device: written through, the device stays a device
        link = root / "to-null"
        link.symlink_to("/dev/null")
        before = os.stat("/dev/null")
        result = invoke(*args, str(link))
        after = os.stat("/dev/null")
        tally.count(
            f"{label} -> link to /dev/null",
            _answered(result)
            and link.is_symlink()
            and stat.S_ISCHR(after.st_mode)
            and before.st_rdev == after.st_rdev,
        )
        # a link to a regular file: the target gets the content, the link stays
        target = root / "real.out"
        target.write_text("old")
        ln = root / "link.out"
        ln.symlink_to(target)
        result = invoke(*args, str(ln))
        tally.count(
            f"{label} -> link to a file",
            _answered(result) and ln.is_symlink() and target.read_text() != "old",
        )
        # a FIFO with a reader: streamed into, still a FIFO
        fifo = root / "fifo"
        os.mkfifo(fifo)
        reading = os.open(fifo, os.O_RDWR)  # a reader from the start, never at end of file
        try:
            result = invoke(*args, str(fifo))
            got = b""
            while select.select([reading], [], [], 1.0)[0]:
                got += os.read(reading, 1 << 20)
        finally:
            os.close(reading)
        tally.count(
            f"{label} -> FIFO",
            _answered(result) and stat.S_ISFIFO(fifo.stat().st_mode) and bool(got),
        )
        # a directory, and a link to one: refused in one line, left as it was
        for name, path in (("directory", root / "dir"), ("link to a directory", root / "dirlink")):
            if name == "directory":
                path.mkdir()
            else:
                (root / "d2").mkdir()
                path.symlink_to(root / "d2")
            result = invoke(*args, str(path))
            tally.count(f"{label} -> {name}", _handled(result) and path.is_dir())
    return tally


# --- 2. unbounded time and memory ------------------------------------------------------------------


def unbounded(directory: Path) -> tuple[Tally, dict[str, float]]:
    """Alias bombs in every field, special files, stdin, the per-pod container check and
    solve's --timeout as a bound on the whole answer."""
    reading = _module("test_reading")
    from podfit import loading

    tally = Tally()
    figures: dict[str, float] = {}
    for field in reading.FIELDS:
        for levels in (7, 9, 12):
            text = (
                "apiVersion: v1\nkind: Node\nbombs:\n"
                + reading.bomb(levels).replace(f"&l{levels - 1}", "&top")
                + f"\n{field}\n"
            )
            path = directory / "bomb.yaml"
            path.write_text(text)
            result = invoke("validate", "-f", str(path))
            tally.count(
                f"alias bomb {levels} levels in {field}",
                _handled(result) and "excessive aliasing" in result.stderr,
            )
    saved = loading.MAX_FILE_BYTES
    loading.MAX_FILE_BYTES = 1 << 20  # the same code path, a megabyte instead of 256
    try:
        for device in ("/dev/zero", "/dev/urandom"):
            result = invoke("validate", "-f", device)
            tally.count(
                f"special file {device}", _handled(result) and "byte limit" in result.stderr
            )
        result = invoke("validate", "-f", "-", input=b"# " + b"x" * (2 << 20))
        tally.count("stdin over the limit", _handled(result) and "byte limit" in result.stderr)
    finally:
        loading.MAX_FILE_BYTES = saved
    # 60,000 containers in one pod: a check per pod that was quadratic
    containers = ",".join(f"{{name: c{i}}}" for i in range(60_000))
    path = directory / "wide.yaml"
    path.write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{containers}]}}\n"
    )
    start = time.monotonic()
    result = invoke("validate", "-f", str(path))
    figures["60,000 containers, seconds"] = time.monotonic() - start
    tally.count("pod of 60,000 containers", _answered(result))
    # solve --timeout on a batch the per-pod encoding needs minutes for
    pods = _spread_batch(directory)
    import podfit

    start = time.monotonic()
    podfit.load(pods[0])
    podfit.load_pods(pods[1])
    reading = time.monotonic() - start
    start = time.monotonic()
    result = invoke(
        "solve",
        "-f",
        str(pods[0]),
        "--pods",
        str(pods[1]),
        "--timeout",
        "3",
        "--maximize-placed",
        "-o",
        "json",
    )
    figures["solve --timeout 3 on a minutes-long batch: seconds after the input is read"] = (
        time.monotonic() - start - reading
    )
    tally.count(
        "solve --timeout bounds the whole answer",
        result.exit_code in (0, 1, 2)
        and "Traceback" not in result.stderr
        and figures["solve --timeout 3 on a minutes-long batch: seconds after the input is read"]
        < 3 + 2 + 5,
    )
    for value in ("-1", "100000000"):
        result = invoke(
            "solve",
            "-f",
            str(EXAMPLES / "cluster.yaml"),
            "--pods",
            str(EXAMPLES / "pending.yaml"),
            "--add-node-shape",
            str(EXAMPLES / "cluster.yaml"),
            "--max-new-nodes",
            value,
        )
        tally.count(f"--max-new-nodes {value}", _handled(result))
    return tally, figures


def _spread_batch(directory: Path) -> tuple[Path, Path]:
    """1,000 replicas spread over hostname on 500 nodes: the per-pod encoding alone takes
    about 30 s to build (README's solver table)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import yaml
    from synthetic import cluster_manifests, spread_pods

    nodes = [m for m in cluster_manifests(500, pods_per_node=0)]
    pods = spread_pods(1000, apps=10)
    for p in pods:
        spec: Any = p["spec"]
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": p["metadata"]["labels"]},
            }  # type: ignore[index]
        ]
        spec.pop("affinity", None)
    cluster, pending = directory / "spread-cluster.yaml", directory / "spread-pods.yaml"
    cluster.write_text(yaml.safe_dump_all(nodes))
    pending.write_text(yaml.safe_dump_all(pods))
    return cluster, pending


# --- 3. schedulers that defeat timeouts ------------------------------------------------------------


def adapters(directory: Path) -> Tally:
    limits = _module("test_adapter_limits")
    tally = Tally()
    script = directory / "sched.py"
    script.write_text(limits.EXEC)
    pidfile = directory / "orphan.pid"
    import shlex
    import signal

    spec = f"exec:{shlex.join([sys.executable, str(script), str(pidfile), '1024'])}?timeout=3&grace=0.2"
    for fault in ("orphan", "orphan-hang", "big-stderr", "deep-json", "deep-error"):
        scheduler = resolve(spec)
        decision = scheduler.schedule(limits.make_cluster(), limits.make_pod(fault))
        after = scheduler.schedule(limits.make_cluster(), limits.make_pod("ok"))
        closed = threading.Event()
        threading.Thread(
            target=lambda s=scheduler, c=closed: (s.close(), c.set()), daemon=True
        ).start()
        ok = (
            bool(decision.error)
            and "\n" not in (decision.error or "")
            and after.node == "n1"
            and closed.wait(30)
        )
        tally.count(f"exec: {fault}", ok)
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            pidfile.unlink()
    from http.server import ThreadingHTTPServer

    handler = type("Handler", (limits.Misbehaving,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    from podfit.adapters.extender_adapter import ExtenderScheduler

    try:
        for mode, piece in (
            ("drip", "timed out"),
            ("continue", "timed out"),
            ("redirect", "redirects"),
            ("see-other", "redirects"),
        ):
            handler.mode = mode
            start = time.monotonic()
            decision = ExtenderScheduler(url, timeout=0.5).schedule(
                limits.make_cluster(), limits.make_pod("p")
            )
            tally.count(
                f"extender: {mode}",
                bool(decision.error)
                and piece in (decision.error or "")
                and time.monotonic() - start < 5,
            )
    finally:
        server.shutdown()
        server.server_close()
    from podfit.adapters.python_adapter import PythonScheduler

    for name, (function, piece) in limits.FAULTS.items():
        cluster = limits.make_cluster()
        decision = PythonScheduler(function).schedule(cluster, limits.make_pod("p"))
        intact = set(cluster.nodes) == {"n1", "n2"} and not cluster.nodes["n1"].unschedulable
        tally.count(
            f"python: {name}",
            bool(decision.error)
            and piece in (decision.error or "")
            and intact
            and not sys.stdout.closed,
        )
    release = threading.Event()
    stuck = PythonScheduler(lambda c, p: release.wait(120) and "n1", timeout=0.3)
    decision = stuck.schedule(limits.make_cluster(), limits.make_pod("p"))
    tally.count(
        "python: never returns (timeout)", decision.error == "scheduler did not return within 0.3 s"
    )
    from podfit.conformance.runner import run_conformance

    start = time.monotonic()
    report = run_conformance(
        PythonScheduler(lambda c, p: release.wait(120) and None, areas=frozenset({"taints"})),
        max_examples=5,
        seed=1,
        deadline_s=1.0,
        shrink=False,
        stateful=False,
    )
    tally.count(
        "python: never returns (conform --deadline)",
        report.timed_out and time.monotonic() - start < 30,
    )
    release.set()
    return tally


# --- 4. tracebacks for user mistakes ---------------------------------------------------------------


def user_mistakes(directory: Path) -> Tally:
    limits = _module("test_cli_limits")
    tally = Tally()
    for value in limits.NOT_SECONDS:
        for command in (
            ["solve", "-f", limits.CLUSTER, "--pods", limits.PENDING, "--timeout"],
            [
                "prove",
                "-f",
                limits.CLUSTER,
                "--claim",
                str(EXAMPLES / "claims" / "web-on-ssd.yaml"),
                "--timeout",
            ],
            ["conform", "--adapter", "reference", "--deadline"],
        ):
            tally.count(f"{command[0]} {command[-1]} {value!r}", _handled(invoke(*command, value)))
    for args in (
        ["solve", "-f", limits.CLUSTER, "--pods", limits.PENDING, "--memory", "0"],
        ["solve", "-f", limits.CLUSTER, "--pods", limits.PENDING, "--memory", str(2**40)],
        ["conform", "--adapter", "reference", "--max-examples", "-5"],
        ["conform", "--adapter", "reference", "--seed", str(10**30)],
    ):
        tally.count(" ".join(args[-2:]), _handled(invoke(*args)))
    for seconds in (2**63 - 1, -(2**63)):
        for created in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
            path = directory / "whatif.yaml"
            path.write_text(limits.OWNED % (created, seconds))
            for change in (
                ["--taint", "n1=k=v:NoExecute"],
                ["--taint", "n1=x:NoExecute"],
                ["--drain", "n1"],
            ):
                tally.count(
                    f"whatif {seconds} {created} {change}",
                    _answered(invoke("whatif", "-f", str(path), *change)),
                )
    tally.count("non-UTF-8 stdin", _handled(invoke("validate", "-f", "-", input=b"kind: \xff\n")))
    for path in ("/", "x" * 5000, "/nonexistent/x"):
        tally.count(f"path {path[:20]}", _handled(invoke("validate", "-f", path)))
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"}
    done = subprocess.run(
        [sys.executable, "-m", "podfit", "explain", "-f", limits.CLUSTER, "--pod", limits.POD],
        capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    tally.count("ASCII terminal", done.returncode in (0, 1) and b"Traceback" not in done.stderr)
    return tally


# --- 5. messages ------------------------------------------------------------------------------------


def messages() -> Tally:
    tally = Tally()
    hostile = [
        "a\nb",
        "\x1b[2J\x1b[H",
        "\u202enoitcelfer",
        "a" * 1_000_000,
        "tab\there",
        "nul\x00x",
        "\\x1b",
    ]
    for name in hostile:
        doc = json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {name[:40]: "x"}},
            }
        )
        result = invoke("validate", "-f", "-", input=doc)
        line = result.stderr.removesuffix("\n")
        tally.count(
            f"object name {name[:12]!r}",
            _handled(result) and line.isprintable() and len(line) < 2200,
        )
    from podfit.adapters.python_adapter import PythonScheduler

    decision = PythonScheduler(lambda c, p: "ghost\n\x1b[2J" + "x" * 100_000).schedule(
        _cluster(), _pod()
    )
    tally.count(
        "scheduler answer in an error",
        bool(decision.error)
        and "\n" not in (decision.error or "")
        and len(decision.error or "") < 1000,
    )
    return tally


def _cluster() -> Cluster:
    return _module("test_adapter_limits").make_cluster()  # type: ignore[no-any-return]


def _pod() -> Pod:
    return _module("test_adapter_limits").make_pod("p")  # type: ignore[no-any-return]


# --- 6. validation ------------------------------------------------------------------------------------


def validation(directory: Path) -> Tally:
    tests = _module("test_validation")
    tally = Tally()
    for name, (obj, words) in tests.REFUSED.items():
        path = directory / "v.json"
        path.write_text(json.dumps(obj))
        result = invoke("validate", "-f", str(path))
        tally.count(f"refused: {name}", _handled(result) and words in result.stderr)
    for name, obj in tests.ACCEPTED.items():
        path = directory / "v.json"
        path.write_text(json.dumps(obj))
        tally.count(f"stored: {name}", _answered(invoke("validate", "-f", str(path))))
    from podfit import spec
    from podfit.conformance.backends import reference_backend
    from podfit.conformance.spec_runner import run_rules

    results = run_rules(
        reference_backend(), [r for r in spec.rules() if r.id.startswith("validation.")]
    )
    for r in results:
        tally.count(f"spec {r.example.description}", r.status == "pass")
    for name, (config, _) in tests.BAD_CONFIGS.items():
        path = directory / "config.json"
        path.write_text(json.dumps(config))
        result = invoke(
            "explain",
            "-f",
            str(EXAMPLES / "cluster.yaml"),
            "--pod",
            str(EXAMPLES / "pod.yaml"),
            "--config",
            str(path),
        )
        tally.count(f"config: {name}", _handled(result))
    return tally


# --- faulty schedulers and a flaky run (as before) -------------------------------------------------


def faults(module: ModuleType, scheduler: Scheduler, table: dict[str, str]) -> Tally:
    """handled = an error Decision, then a sound answer to the next pod."""
    cluster = module.make_cluster()
    tally = Tally()
    for fault in table:
        try:
            decision = scheduler.schedule(cluster, module.make_pod(fault))
            after = scheduler.schedule(cluster, module.make_pod("ok"))
        except Exception as exc:  # counted as not handled: the point of the figure
            tally.count(f"{fault}: raised {exc!r}", False)
            continue
        tally.count(
            fault,
            bool(decision.error and decision.node is None and after.error is None and after.node),
        )
    return tally


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
    as_json = json.loads(json.dumps(report.to_dict()))
    return {
        "calls": scheduler.calls,
        "errors": scheduler.errors,
        "complete": report.complete and bool(as_json),
        "findings": len(report.findings),
        "seconds": time.monotonic() - start,
    }


# --- peak memory per input size --------------------------------------------------------------------

MEASURE = """
import resource, sys, time

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

start = time.monotonic()
import podfit
# A forked child starts with its parent's peak: clear it (Linux), then measure from here.
try:
    open("/proc/self/clear_refs", "w").write("5")
except OSError:
    pass
base = status("VmRSS:")
cluster = podfit.load(sys.argv[1])
print(len(cluster.nodes), len(cluster.pods), time.monotonic() - start, base, status("VmHWM:"))
"""


def dump(path: Path, pods: int, nodes: int) -> None:
    """A kubectl get -o yaml dump of realistic size: about 3.4 KB a pod (metadata,
    containers with env and probes, status), as real clusters print them."""
    import yaml

    items: list[dict[str, Any]] = []
    for i in range(nodes):
        items.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "uid": f"uid-node-{i}", "resourceVersion": str(1000 + i),
                         "labels": {"kubernetes.io/hostname": f"node-{i}", "topology.kubernetes.io/zone": f"zone-{i % 3}", "node.kubernetes.io/instance-type": "m5.2xlarge"},
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {"podCIDR": f"10.{i // 256 % 256}.{i % 256}.0/24", "providerID": f"aws:///zone/i-{i:017x}"},
            "status": {"allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                       "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                       "conditions": [{"type": t, "status": "False" if t != "Ready" else "True", "reason": f"Kubelet{t}", "message": f"kubelet {t}", "lastHeartbeatTime": "2026-10-01T10:02:11Z", "lastTransitionTime": "2026-10-01T09:12:41Z"} for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")],
                       "images": [{"names": [f"registry.example.com/app-{j}@sha256:{j:064x}", f"registry.example.com/app-{j}:1.{j}"], "sizeBytes": 100_000_000 + j} for j in range(8)]},
        })  # fmt: skip
    for i in range(pods):
        app = f"app-{i % 40}"
        items.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{app}-{i:08x}", "namespace": f"team-{i % 20}", "uid": f"uid-pod-{i}", "resourceVersion": str(10_000 + i),
                         "generateName": f"{app}-", "creationTimestamp": "2026-10-01T09:20:00Z",
                         "labels": {"app": app, "pod-template-hash": f"{i % 97:010x}", "team": f"team-{i % 20}"},
                         "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-10-01T09:19:00Z", "prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-rs", "uid": f"uid-rs-{i % 40}", "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"nodeName": f"node-{i % nodes}", "schedulerName": "default-scheduler", "priority": 0, "serviceAccountName": "default",
                     "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                     "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                                     {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                     "containers": [{"name": "main", "image": f"registry.example.com/{app}:1.0", "imagePullPolicy": "IfNotPresent",
                                     "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}, {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
                                     "env": [{"name": f"ENV_{k}", "value": f"value-{k}"} for k in range(6)],
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                                     "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1},
                                     "livenessProbe": {"httpGet": {"path": "/live", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1},
                                     "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}]}],
                     "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]},
            "status": {"phase": "Running", "qosClass": "Burstable", "hostIP": f"10.0.{i % 256}.{i % 200}", "podIP": f"10.244.{i % 256}.{i % 250}",
                       "startTime": "2026-10-01T09:20:02Z",
                       "conditions": [{"type": t, "status": "True", "lastTransitionTime": "2026-10-01T09:20:05Z"} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                       "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0, "started": True, "image": f"registry.example.com/{app}:1.0",
                                              "imageID": f"registry.example.com/{app}@sha256:{i % 40:064x}", "containerID": f"containerd://{i:064x}",
                                              "state": {"running": {"startedAt": "2026-10-01T09:20:04Z"}}}]},
        })  # fmt: skip
    with path.open("w") as fh:
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}, fh, sort_keys=False)


def memory_per_size(
    directory: Path, sizes: Iterable[int]
) -> list[tuple[int, int, float, float, float]]:
    """(pods, bytes, seconds, peak RSS MiB, RSS above the interpreter per input byte)."""
    rows = []
    for pods in sizes:
        path = directory / f"dump-{pods}.yaml"
        dump(path, pods, max(1, pods // 30))
        size = path.stat().st_size
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=7200
        )
        if done.returncode != 0:
            print(f"  {pods} pods: {done.stderr[-300:]}", file=sys.stderr)
            continue
        _, _, seconds, base, peak = done.stdout.split()
        rows.append(
            (pods, size, float(seconds), int(peak) / 1024, (int(peak) - int(base)) * 1024 / size)
        )
        path.unlink()
    return rows


# --- the table -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10, help="Hypothesis examples per unit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sizes", default="1000,5000,10000", help="pods per dump for the memory rows"
    )
    args = parser.parse_args()
    faulty = _module("test_faulty_schedulers")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        hostile = bad_inputs(directory)
        paths = output_paths(directory)
        bounded, figures = unbounded(directory)
        adapter_classes = adapters(directory)
        mistakes = user_mistakes(directory)
        lines = messages()
        validated = validation(directory)
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
        memory = memory_per_size(directory, [int(s) for s in args.sizes.split(",") if s])
    rows: list[tuple[str, str]] = [
        (
            "Hostile manifests and configurations through the CLI (exit 2, one located line)",
            str(hostile),
        ),
        (
            "Output paths: links, FIFOs, devices, directories (nothing but a regular file replaced)",
            str(paths),
        ),
        (
            "Unbounded inputs: alias bombs in every field, special files, stdin, absurd limits",
            str(bounded),
        ),
        (
            "Schedulers defeating timeouts: orphaned children, huge stderr, deep JSON, dripping or redirecting extenders, Python exits/never returns/changes its input",
            str(adapter_classes),
        ),
        (
            "User mistakes that were tracebacks: time limits, counts, far-future times, stdin, paths, ASCII terminals",
            str(mistakes),
        ),
        ("Messages one line and bounded (hostile names, scheduler text)", str(lines)),
        (
            "Validation as the API server's (refused in its words, stored when valid, configs)",
            str(validated),
        ),
        ("Faults injected into `exec:` schedulers (error, then recovers)", str(exec_figures)),
        (
            "Faults injected into `extender:` schedulers (error, then recovers)",
            str(extender_figures),
        ),
        (
            "Conformance run, scheduler failing on 10% of calls",
            f"{'complete' if flaky['complete'] else 'INCOMPLETE'}: {flaky['calls']} calls, "
            f"{flaky['errors']} failed, {flaky['findings']} findings reported, {flaky['seconds']:.0f} s",
        ),
    ]
    rows += [(name, f"{value:.1f}") for name, value in figures.items()]
    print("| Check | Result |")
    print("|---|---|")
    for check, result in rows:
        print(f"| {check} | {result} |")
    print()
    print("| dump (pods) | size | load | peak RSS | RSS above the interpreter per input byte |")
    print("|---|---|---|---|---|")
    for pods, size, seconds, peak, ratio in memory:
        print(
            f"| {pods:,} | {size / 2**20:.0f} MiB | {seconds:.1f} s | {peak:,.0f} MiB | {ratio:.1f} |"
        )


if __name__ == "__main__":
    main()
