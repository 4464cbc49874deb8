"""Schedulers that defeat naive timeouts: an exec scheduler whose child leaves the process
group and keeps the pipes open, a gigantic stderr line, JSON nested past any limit; an
extender that drips its answer, sends 100 Continue forever or redirects; a Python scheduler
that exits, raises BaseException, closes stdout, never returns or changes its input. Each is
an error of that scheduler, bounded in time, and the adapter answers the next pod."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.adapters import AdapterSetupError, resolve
from podfit.adapters.extender_adapter import ExtenderScheduler
from podfit.adapters.python_adapter import PythonScheduler
from podfit.cluster import Cluster
from podfit.conformance.decisions import Decision
from podfit.conformance.runner import run_conformance
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod


def make_cluster() -> Cluster:
    return cluster_from_manifests(
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": f"n{i}"},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
            }
            for i in (1, 2)
        ]
    )


def make_pod(name: str) -> Pod:
    return pod_from_manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c"}]},
        }
    )


# --- exec ---------------------------------------------------------------------------------------

EXEC = r"""
import json, os, sys, time
pidfile = sys.argv[1]
print(json.dumps({"protocol": "podfit/1", "areas": ["taints"]}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    name = req["pod"]["metadata"]["name"]
    if name == "orphan":
        child = os.fork()
        if child == 0:
            os.setsid()          # out of the scheduler's process group
            time.sleep(30)       # holding stdin, stdout and stderr open
            os._exit(0)
        open(pidfile, "w").write(str(child))
        os._exit(3)
    if name == "orphan-hang":
        child = os.fork()
        if child == 0:
            os.setsid()
            time.sleep(30)
            os._exit(0)
        open(pidfile, "w").write(str(child))
        time.sleep(30)
    if name == "big-stderr":
        chunk = "E" * (1 << 20)
        for _ in range(int(sys.argv[2])):
            sys.stderr.write(chunk)
        sys.stderr.flush()
        os._exit(4)
    if name == "deep-json":
        print("[" * 100000 + "]" * 100000, flush=True)
        continue
    if name == "deep-error":
        print(json.dumps({"id": req["id"], "error": "x\n\x1b[2J" + "y" * 100000}), flush=True)
        continue
    print(json.dumps({"id": req["id"], "node": req["nodes"][0]["metadata"]["name"]}), flush=True)
"""


@pytest.fixture
def exec_spec(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    script = tmp_path / "sched.py"
    script.write_text(EXEC)
    pidfile = tmp_path / "orphan.pid"
    command = shlex.join([sys.executable, str(script), str(pidfile), "64"])
    yield f"exec:{command}?timeout=3&grace=0.2", pidfile
    if pidfile.exists():  # the orphan this test made, by its process id
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


@pytest.mark.parametrize(
    "fault,piece",
    [
        ("orphan", "a process it started still holds its stdout open"),
        ("orphan-hang", "no answer within the 3 s timeout"),
        ("big-stderr", "exited with code 4"),
        ("deep-json", "nested too deeply"),
        ("deep-error", "scheduler reported an error"),
    ],
)
def test_exec_faults_are_bounded_errors(
    exec_spec: tuple[str, Path], fault: str, piece: str
) -> None:
    spec, _ = exec_spec
    scheduler = resolve(spec)
    try:
        decision = scheduler.schedule(make_cluster(), make_pod(fault))
        assert decision.error and piece in decision.error, decision.error
        assert "\n" not in decision.error and len(decision.error) < 8000
        assert scheduler.schedule(make_cluster(), make_pod("ok")).node == "n1"
    finally:
        done = threading.Event()
        closer = threading.Thread(target=lambda: (scheduler.close(), done.set()), daemon=True)
        closer.start()
        assert done.wait(30), "closing the adapter hung on the pipes an orphan holds"


# --- extender -----------------------------------------------------------------------------------


class Misbehaving(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "ok"
    other_port = 0

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        nodes = (body.get("Nodes") or {}).get("items") or []
        answer = json.dumps(
            {"Nodes": {"items": nodes[:1]}, "FailedNodes": {}, "Error": ""}
            if "filter" in self.path
            else [{"Host": n["metadata"]["name"], "Score": 1} for n in nodes]
        ).encode()
        mode = type(self).mode
        with contextlib.suppress(OSError):
            if mode == "drip":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(100000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif mode == "continue":
                for _ in range(10000):
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif mode in ("redirect", "redirect-away", "see-other"):
                where = (
                    f"http://127.0.0.1:{type(self).other_port}{self.path}"
                    if mode == "redirect-away"
                    else self.path + "-moved"
                )
                if self.path.endswith("-moved"):
                    self._send(answer)
                    return
                self.send_response(307 if mode == "redirect" else 302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(answer)

    def _send(self, raw: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def extender() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    handler = type("Handler", (Misbehaving,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["drip", "continue"])
def test_the_extender_timeout_bounds_the_whole_request(
    extender: tuple[ThreadingHTTPServer, str], mode: str
) -> None:
    server, url = extender
    server.RequestHandlerClass.mode = mode  # type: ignore[attr-defined]
    decision = ExtenderScheduler(url, timeout=0.5).schedule(make_cluster(), make_pod("p"))
    assert decision.error and "timed out after 0.5 s" in decision.error


def test_redirects_are_refused_unless_allowed_to_the_same_host(
    extender: tuple[ThreadingHTTPServer, str],
) -> None:
    server, url = extender
    handler = server.RequestHandlerClass
    handler.mode = "redirect"  # type: ignore[attr-defined]
    refused = ExtenderScheduler(url, timeout=2).schedule(make_cluster(), make_pod("p"))
    assert (
        refused.error
        and "redirects (code 307)" in refused.error
        and "follows none" in refused.error
    )
    followed = ExtenderScheduler(url, timeout=2, redirects="same-host").schedule(
        make_cluster(), make_pod("p")
    )
    assert followed.error is None and followed.node == "n1"
    handler.mode = "see-other"  # type: ignore[attr-defined]
    again = ExtenderScheduler(url, timeout=2, redirects="same-host").schedule(
        make_cluster(), make_pod("p")
    )
    assert again.node == "n1"  # the POST is sent again, never turned into a GET
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        handler.other_port = other.getsockname()[1]  # type: ignore[attr-defined]
        handler.mode = "redirect-away"  # type: ignore[attr-defined]
        away = ExtenderScheduler(url, timeout=2, redirects="same-host").schedule(
            make_cluster(), make_pod("p")
        )
    assert away.error and "another host" in away.error


def test_an_unknown_redirect_policy_is_a_setup_error() -> None:
    with pytest.raises(AdapterSetupError, match="redirects='all'"):
        resolve("extender:http://127.0.0.1:1?redirects=all")


# --- python ---------------------------------------------------------------------------------------


def exits(cluster: Cluster, pod: Pod) -> str:
    sys.exit(7)


class Weird(BaseException):
    pass


def raises_base(cluster: Cluster, pod: Pod) -> str:
    raise Weird("not an Exception\nat all")


def interrupts(cluster: Cluster, pod: Pod) -> str:
    raise KeyboardInterrupt


def closes_stdout(cluster: Cluster, pod: Pod) -> str:
    sys.stdout.close()
    return "n1"


def closes_fd(cluster: Cluster, pod: Pod) -> str:
    os.close(1)
    return "n1"


def removes_node(cluster: Cluster, pod: Pod) -> None:
    cluster.nodes.pop("n2")


def binds(cluster: Cluster, pod: Pod) -> str:
    cluster.bind(pod, "n1")
    return "n1"


def sets_field(cluster: Cluster, pod: Pod) -> str:
    object.__setattr__(cluster.nodes["n1"], "unschedulable", True)
    return "n1"


def sets_pod_field(cluster: Cluster, pod: Pod) -> str:
    object.__setattr__(pod, "node_name", "n2")
    return "n1"


FAULTS = {
    "exit": (exits, "sys.exit(7)"),
    "base exception": (raises_base, "Weird: not an Exception\\nat all"),
    "keyboard interrupt": (interrupts, "KeyboardInterrupt"),
    "closes stdout": (closes_stdout, "closed sys.stdout"),
    "closes fd 1": (closes_fd, "closed file descriptor 1"),
    "removes a node": (removes_node, "changed the cluster's nodes"),
    "binds the pod": (binds, "changed the cluster"),
    "sets a node field": (sets_field, "changed the fields of node n1"),
    "sets a pod field": (sets_pod_field, "changed the fields of the pod"),
}


@pytest.mark.parametrize(("function", "piece"), list(FAULTS.values()), ids=list(FAULTS))
def test_python_faults_are_the_schedulers_errors(function: Any, piece: str) -> None:
    cluster, pod = make_cluster(), make_pod("p")
    before = {n: (node, node.unschedulable) for n, node in cluster.nodes.items()}
    decision = PythonScheduler(function).schedule(cluster, pod)
    assert decision.node is None and decision.error and piece in decision.error, decision
    # Nothing of podfit's own is changed or closed.
    assert {n: (node, node.unschedulable) for n, node in cluster.nodes.items()} == before
    assert pod.node_name == "" and not sys.stdout.closed
    os.fstat(1)
    assert PythonScheduler(lambda c, p: "n1").schedule(cluster, pod).node == "n1"


def test_a_python_scheduler_that_never_returns_meets_its_timeout() -> None:
    release = threading.Event()
    scheduler = PythonScheduler(lambda c, p: release.wait(60) and "n1", timeout=0.2)
    try:
        first = scheduler.schedule(make_cluster(), make_pod("p"))
        second = scheduler.schedule(make_cluster(), make_pod("q"))
    finally:
        release.set()
    assert first.error == "scheduler did not return within 0.2 s"
    assert second.error and second.error.startswith("not asked:")


def test_conform_deadline_holds_for_a_scheduler_that_never_returns() -> None:
    release = threading.Event()
    calls: list[int] = []

    def stuck(cluster: Cluster, pod: Pod) -> str | None:
        calls.append(1)
        release.wait(120)
        return None

    scheduler = PythonScheduler(stuck, areas=frozenset({"taints"}))
    started = time.monotonic()
    try:
        report = run_conformance(
            scheduler, max_examples=5, seed=1, deadline_s=1.0, shrink=False, stateful=False
        )
    finally:
        release.set()
    assert time.monotonic() - started < 60  # bounded, not a timing figure: 120 s is the hang
    assert report.timed_out
    assert len(calls) == 1  # a scheduler stuck in a call is not called again


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=6))
def test_any_run_of_python_faults_leaves_a_working_adapter(faults: list[str]) -> None:
    cluster = make_cluster()
    for fault in faults:
        function, _ = FAULTS[fault]
        assert PythonScheduler(function).schedule(cluster, make_pod("p")).error
    good = PythonScheduler(lambda c, p: min(c.nodes)).schedule(cluster, make_pod("p"))
    assert good == Decision(node="n1")
    assert set(cluster.nodes) == {"n1", "n2"} and not cluster.nodes["n1"].unschedulable


def test_a_call_that_outlives_its_caller_never_undoes_later_streams() -> None:
    import io

    from podfit.conformance.bounded import Bounded

    release, finished = threading.Event(), threading.Event()

    def stuck(cluster: Cluster, pod: Pod) -> None:
        release.wait(60)
        finished.set()

    scheduler = Bounded(PythonScheduler(stuck), time.monotonic() + 0.2)
    assert scheduler.schedule(make_cluster(), make_pod("p")).error
    saved, later = sys.stdout, io.StringIO()
    sys.stdout = later  # set after the caller gave up, while the call still runs
    try:
        release.set()
        assert finished.wait(30)
        time.sleep(0.2)  # the call's own clean-up runs after the callable returns
        assert sys.stdout is later
    finally:
        sys.stdout = saved
