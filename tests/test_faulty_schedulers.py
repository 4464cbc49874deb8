"""Schedulers that misbehave on purpose, driven through ``resolve("exec:...")`` and
``resolve("extender:...")``: every fault becomes ``Decision(error=...)``, never an
exception, and the same adapter answers the next pod correctly.

The faulty scheduler picks its fault from the pod's name, so one adapter instance meets
a fault and then a healthy request. ``benchmarks/bench_reliability.py`` reuses the tables.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podfit.adapters import resolve
from podfit.cluster import Cluster
from podfit.conformance.decisions import Decision, Scheduler
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod

# A scheduler speaking the exec protocol. Pod "ok" (or any unknown name) goes to the first
# node; other names select a fault. With a second argument P, every request fails with
# probability P (crash, garbage or a hang, in turn) and otherwise the reference answers.
EXEC_SCRIPT = r"""
import json, os, random, sys, time
rate = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
print(json.dumps({"protocol": "podfit/1", "areas": ["resources", "taints", "node-affinity"]}),
      flush=True)

def reference(req):
    from podfit.loading import cluster_from_manifests, pod_from_manifest
    from podfit.reference.scheduler import schedule_one
    cluster = cluster_from_manifests(req["nodes"] + req["pods"] + req["namespaces"])
    result = schedule_one(cluster, pod_from_manifest(req["pod"]))
    return result.top[0] if result.top else None

for line in sys.stdin:
    req = json.loads(line)
    rid, name = req["id"], req["pod"]["metadata"]["name"]
    first = req["nodes"][0]["metadata"]["name"] if req["nodes"] else None
    if rate:
        roll = rng.random()
        if roll < rate / 3:
            name = "crash"
        elif roll < 2 * rate / 3:
            name = "garbage"
        elif roll < rate:
            name = "hang"
        else:
            print(json.dumps({"id": rid, "node": reference(req)}), flush=True)
            continue
    if name == "crash":
        print("panic: runtime error: index out of range", file=sys.stderr, flush=True)
        os._exit(2)
    elif name == "hang":
        time.sleep(120)
    elif name == "slow":
        time.sleep(3)
        print(json.dumps({"id": rid, "node": first}), flush=True)
    elif name == "garbage":
        print("I0101 12:00:00 scheduling pod " + name, flush=True)
    elif name == "unknown-node":
        print(json.dumps({"id": rid, "node": "ghost"}), flush=True)
    elif name == "wrong-id":
        print(json.dumps({"id": rid + 7, "node": first}), flush=True)
    elif name == "closed-stdout":
        sys.stdout.close()
        os.close(1)
        time.sleep(120)
    elif name == "non-object":
        print(json.dumps([rid, first]), flush=True)
    elif name == "reported-error":
        print(json.dumps({"id": rid, "error": "out of memory"}), flush=True)
    elif name == "huge-line":
        sys.stdout.write("x" * (9 * 1024 * 1024) + "\n")
        sys.stdout.flush()
    elif name == "binary":
        sys.stdout.buffer.write(b"\xff\xfe\x00\x01\n")
        sys.stdout.flush()
    else:
        print(json.dumps({"id": rid, "node": first}), flush=True)
"""

# fault (the pod's name) -> a piece of the error message.
EXEC_FAULTS: dict[str, str] = {
    "crash": "exited with code 2",
    "hang": "no answer within",
    "slow": "no answer within",
    "garbage": "not JSON",
    "unknown-node": "ghost",
    "wrong-id": "answered id",
    "closed-stdout": "closed its stdout",
    "non-object": "list",
    "reported-error": "out of memory",
    "huge-line": "longer than",
    "binary": "not JSON",
}

# fault -> a piece of the error message, for an HTTP extender that picks its fault the same way.
EXTENDER_FAULTS: dict[str, str] = {
    "http-500": "code 500",
    "http-404": "code 404",
    "malformed-json": "malformed JSON",
    "hang": "timed out",
    "closed-connection": "closed connection",
    "unknown-node": "ghost",
    "filter-error": "disk on fire",
    "non-object": "ExtenderFilterResult",
    "bad-score": "Score must be an integer",
    "prioritize-500": "code 500",
    "empty-body": "malformed JSON",
}

TIMEOUT = 1.0


class FaultyExtender(BaseHTTPRequestHandler):
    """An extender whose behaviour depends on the pod's name; pod "ok" gets a sound answer."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the decisions, not the access log."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = body["Pod"]["metadata"]["name"]
        nodes = body["Nodes"]["items"]
        verb = self.path.rsplit("/", 1)[-1]
        if name == "hang":
            threading.Event().wait(TIMEOUT * 3)
        if name == "closed-connection":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if name in ("http-500", "http-404") or (name == "prioritize-500" and verb == "prioritize"):
            self.send_error(int(name[-3:]), "scheduler exploded")
            return
        if verb == "filter":
            result: Any = {"Nodes": {"items": nodes}, "FailedNodes": {}, "Error": ""}
            if name == "unknown-node":
                result["Nodes"]["items"] = [{"metadata": {"name": "ghost"}}]
            elif name == "filter-error":
                result["Error"] = "disk on fire"
            elif name == "non-object":
                result = ["n1"]
        else:
            result = [{"Host": n["metadata"]["name"], "Score": 5} for n in nodes]
            if name == "bad-score":
                result[0]["Score"] = "high"
        raw = json.dumps(result).encode()
        if name == "malformed-json":
            raw = raw[: len(raw) // 2]
        elif name == "empty-body":
            raw = b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        # After a "hang" the client has given up and closed the socket: nothing to tell it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(raw)


def make_cluster(nodes: int = 2) -> Cluster:
    return cluster_from_manifests(
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": f"n{i}"},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
            }
            for i in range(1, nodes + 1)
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


def exec_spec(directory: Path, *args: str, timeout: float = TIMEOUT) -> str:
    script = directory / "faulty_scheduler.py"
    script.write_text(EXEC_SCRIPT)
    command = shlex.join([sys.executable, str(script), *args])
    return f"exec:{command}?timeout={timeout:g}&grace=0.3"


def start_extender() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyExtender)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"extender:http://127.0.0.1:{server.server_address[1]}?timeout={TIMEOUT:g}"


def check_fault(scheduler: Scheduler, cluster: Cluster, fault: str, piece: str) -> Decision:
    """The fault is an error Decision, and a healthy request right after is answered."""
    decision = scheduler.schedule(cluster, make_pod(fault))
    assert isinstance(decision, Decision)
    assert decision.error, f"{fault}: no error in {decision}"
    assert decision.node is None
    assert piece in decision.error, decision.error
    after = scheduler.schedule(cluster, make_pod("ok"))
    assert after.error is None and after.node in cluster.nodes, (fault, after)
    return decision


@pytest.fixture(scope="module")
def exec_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduler]:
    scheduler = resolve(exec_spec(tmp_path_factory.mktemp("faulty")))
    yield scheduler
    scheduler.close()


@pytest.fixture(scope="module")
def extender_scheduler() -> Iterator[Scheduler]:
    server, spec = start_extender()
    scheduler = resolve(spec)
    yield scheduler
    scheduler.close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fault,piece", list(EXEC_FAULTS.items()), ids=list(EXEC_FAULTS))
def test_exec_fault_is_an_error_and_the_adapter_recovers(
    exec_scheduler: Scheduler, fault: str, piece: str
) -> None:
    check_fault(exec_scheduler, make_cluster(), fault, piece)


def test_exec_crash_error_carries_stderr(exec_scheduler: Scheduler) -> None:
    decision = check_fault(exec_scheduler, make_cluster(), "crash", "exited")
    assert "index out of range" in (decision.error or "")


def test_exec_every_fault_in_a_row(exec_scheduler: Scheduler) -> None:
    # Faults back to back (no healthy call between) still leave a working adapter.
    cluster = make_cluster()
    for fault in ("crash", "garbage", "crash", "wrong-id", "closed-stdout"):
        assert exec_scheduler.schedule(cluster, make_pod(fault)).error
    assert exec_scheduler.schedule(cluster, make_pod("ok")).node == "n1"


@pytest.mark.parametrize("fault,piece", list(EXTENDER_FAULTS.items()), ids=list(EXTENDER_FAULTS))
def test_extender_fault_is_an_error_and_the_adapter_recovers(
    extender_scheduler: Scheduler, fault: str, piece: str
) -> None:
    check_fault(extender_scheduler, make_cluster(), fault, piece)


def test_extender_unreachable_is_an_error() -> None:
    server, spec = start_extender()
    server.shutdown()
    server.server_close()  # nothing listens on that port now
    scheduler = resolve(spec)
    decision = scheduler.schedule(make_cluster(), make_pod("ok"))
    assert decision.error and "cannot reach" in decision.error


def test_extender_single_node_skips_prioritize(extender_scheduler: Scheduler) -> None:
    # With one feasible node kube-scheduler does not call prioritize: its fault is never seen.
    decision = extender_scheduler.schedule(make_cluster(1), make_pod("prioritize-500"))
    assert decision.error is None and decision.node == "n1"


def test_exec_random_failures_keep_answering(tmp_path: Path) -> None:
    # 30% of calls fail at random; every call still returns a Decision, and the others are
    # the reference's answers.
    scheduler = resolve(exec_spec(tmp_path, "0.3", "7", timeout=3.0))
    try:
        cluster = make_cluster(3)
        decisions = [scheduler.schedule(cluster, make_pod(f"p{i}")) for i in range(12)]
    finally:
        scheduler.close()
    errors = [d for d in decisions if d.error]
    answers = [d for d in decisions if not d.error]
    assert errors and answers
    assert all(d.node in cluster.nodes for d in answers)
