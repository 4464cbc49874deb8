"""A scheduler in another process, speaking JSON lines on stdin/stdout (protocol podfit/1).

See ``protocol.md`` next to this file for the protocol and ``exec-protocol.schema.json``
for its JSON Schema. In short: the process writes a hello line declaring the protocol
version and its rule areas; podfit then writes one request line per pod and reads one
response line back. The command is split with :func:`shlex.split` and started without a
shell, in its own process group.

Whatever goes wrong on the scheduler's side (it crashes, hangs, is too slow, writes
something that is not a response, names a node that does not exist, closes stdout)
becomes ``Decision(error=...)`` with the last lines of its stderr; a process that broke
the protocol is killed and started again for the next pod.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import IO, TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, Decision, Details
from podfit.manifest import to_manifest
from podfit.model import Pod, Service, WorkloadSelector

if TYPE_CHECKING:
    from podfit.adapters import Options

PROTOCOL = "podfit/1"
SUPPORTED_PROTOCOLS: tuple[str, ...] = (PROTOCOL,)
SCHEMA_FILE = "exec-protocol.schema.json"

DEFAULT_TIMEOUT = 10.0
DEFAULT_GRACE = 2.0
MAX_LINE_BYTES = 8 * 1024 * 1024
STDERR_TAIL_LINES = 15
STDERR_LINE_CHARS = 300
#: Optional response fields that say more than the decision (protocol.md, "Details").
DETAIL_FIELDS = ("feasible", "plugin", "code", "pluginScores", "weights", "top", "message")


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema of the protocol's messages (shipped as package data)."""
    text = resources.files("podfit.adapters").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def build_request(
    request_id: int, cluster: Cluster, pod: Pod, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One request: every node, every pod bound to a node, the namespaces, the pod (and,
    for a scheduler that takes one, the KubeSchedulerConfiguration to run with)."""
    request = {
        "protocol": PROTOCOL,
        "id": request_id,
        "nodes": [to_manifest(node) for node in cluster.nodes.values()],
        "pods": [to_manifest(p) for p in cluster.pods.values() if p.node_name],
        "namespaces": [to_manifest(ns) for ns in cluster.namespaces.values()],
        "pod": to_manifest(pod),
    }
    # Services and controllers: what default topology spreading reads (optional field).
    objects: list[Service | WorkloadSelector] = [
        *cluster.services.values(),
        *cluster.workloads.values(),
    ]
    if objects:
        request["objects"] = [to_manifest(o) for o in objects]
    if config is not None:
        request["config"] = dict(config)
    return request


class ProtocolError(Exception):
    """The scheduler broke the protocol; the process cannot be trusted any more."""


@dataclass(frozen=True)
class Hello:
    protocol: str
    areas: frozenset[str]
    name: str | None = None


def _preview(line: bytes | str, limit: int = 120) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            f"wrote a line that is not JSON where the {what} was expected: {_preview(line)} "
            "(log to stderr, never to stdout)"
        ) from None
    if not isinstance(value, dict):
        raise ProtocolError(
            f"wrote JSON {type(value).__name__} where the {what} object was expected: "
            f"{_preview(line)}"
        )
    return value


def parse_hello(line: bytes) -> Hello:
    message = _json_object(line, "hello line")
    if "id" in message and "protocol" not in message:
        raise ProtocolError("answered before sending its hello line (hello must come first)")
    protocol = message.get("protocol")
    if not isinstance(protocol, str):
        raise ProtocolError(f'hello line has no "protocol" string: {_preview(line)}')
    if protocol not in SUPPORTED_PROTOCOLS:
        raise ProtocolError(
            f"speaks protocol {protocol!r}; podfit supports {', '.join(SUPPORTED_PROTOCOLS)}"
        )
    areas = message.get("areas")
    if not isinstance(areas, list) or not all(isinstance(a, str) for a in areas):
        raise ProtocolError(f'hello line needs "areas": a list of strings, got {areas!r:.80}')
    unknown = sorted(set(areas) - ALL_AREAS)
    if unknown:
        raise ProtocolError(
            f"hello line declares unknown area(s) {', '.join(unknown)}; "
            f"known areas: {', '.join(sorted(ALL_AREAS))}"
        )
    name = message.get("name")
    return Hello(protocol, frozenset(areas), name if isinstance(name, str) else None)


def parse_response(line: bytes, expected_id: int, cluster: Cluster) -> Decision:
    """A response line as a Decision.

    Raises :class:`ProtocolError` when the line is unusable as a response to this
    request (the process is then out of step); a well-formed answer that is wrong
    (unknown node, malformed reasons, the scheduler's own error) is an error Decision.
    """
    from podfit.adapters import check_decision

    message = _json_object(line, "response")
    got_id = message.get("id")
    if got_id != expected_id or isinstance(got_id, bool):
        raise ProtocolError(f"answered id {got_id!r} to request id {expected_id}")
    error = message.get("error")
    if error is not None:
        return Decision(node=None, error=f"scheduler reported an error: {error!s:.500}")
    if "node" not in message:
        return Decision(node=None, error='response has no "node" (a node name or null)')
    node = message["node"]
    if node is not None and not isinstance(node, str):
        return Decision(
            node=None, error=f'response "node" must be a string or null, got {node!r:.80}'
        )
    reasons_raw = message.get("reasons") or {}
    reasons: dict[str, tuple[str, ...]] = {}
    if not isinstance(reasons_raw, dict):
        return Decision(node=None, error='response "reasons" must map node names to lists')
    for key, value in reasons_raw.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return Decision(
                node=None,
                error=f'response "reasons" for {key!r} must be a list of strings',
            )
        reasons[key] = tuple(value)
    scores_raw = message.get("scores")
    scores: dict[str, int] | None = None
    if scores_raw is not None:
        if not isinstance(scores_raw, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in scores_raw.values()
        ):
            return Decision(node=None, error='response "scores" must map node names to integers')
        scores = dict(scores_raw)
    try:
        details = parse_details(message)
    except ValueError as exc:
        return Decision(node=None, error=f"response {exc}")
    return check_decision(
        Decision(node=node, reasons=reasons, scores=scores, details=details), cluster
    )


def _names(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'"{key}" must be a list of node names')
    return tuple(value)


def _text_map(value: object, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f'"{key}" must map node names to strings')
    return dict(value)


def _int_map(value: object, key: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    ):
        raise ValueError(f'"{key}" must map names to integers')
    return dict(value)


def parse_details(message: Mapping[str, Any]) -> Details | None:
    """The optional detail fields of a response (protocol.md, "Details"), or None when the
    scheduler gives none. Raises ValueError naming a malformed field."""
    if not any(key in message for key in DETAIL_FIELDS):
        return None
    scores_raw = message.get("pluginScores")
    plugin_scores = None
    if scores_raw is not None:
        if not isinstance(scores_raw, dict):
            raise ValueError('"pluginScores" must map node names to {plugin: score}')
        plugin_scores = {n: _int_map(v, "pluginScores") for n, v in scores_raw.items()}
    text = message.get("message")
    if text is not None and not isinstance(text, str):
        raise ValueError('"message" must be a string')
    feasible, top, weights = message.get("feasible"), message.get("top"), message.get("weights")
    return Details(
        # A scheduler that gives details omits an empty list (Go's omitempty): none fit.
        feasible=_names(feasible, "feasible") if feasible is not None else (),
        plugins=_text_map(message.get("plugin") or {}, "plugin"),
        codes=_text_map(message.get("code") or {}, "code"),
        plugin_scores=plugin_scores,
        weights=_int_map(weights, "weights") if weights is not None else None,
        top=_names(top, "top") if top is not None else None,
        message=text,
    )


# --- one process -------------------------------------------------------------------------

_EOF = object()
_TOO_LONG = object()


def _pump_stdout(stream: IO[bytes], lines: queue.Queue[object]) -> None:
    try:
        while True:
            line = stream.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_LINE_BYTES:
                lines.put(_TOO_LONG)
                while line and not line.endswith(b"\n"):
                    line = stream.readline(MAX_LINE_BYTES)
                continue
            lines.put(line)
    except (OSError, ValueError):
        pass
    finally:
        lines.put(_EOF)


def _pump_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip()
            if len(text) > STDERR_LINE_CHARS:
                text = text[:STDERR_LINE_CHARS] + "..."
            tail.append(text)


class _Process:
    """One started scheduler process with threads draining its stdout and stderr."""

    def __init__(self, argv: Sequence[str], cwd: str | None, env: Mapping[str, str]) -> None:
        self.popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its own process group: kill reaches its children too
        )
        assert self.popen.stdin and self.popen.stdout and self.popen.stderr
        self.stdin = self.popen.stdin
        self.lines: queue.Queue[object] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.threads = [
            threading.Thread(
                target=_pump_stdout, args=(self.popen.stdout, self.lines), daemon=True
            ),
            threading.Thread(
                target=_pump_stderr, args=(self.popen.stderr, self.stderr_tail), daemon=True
            ),
        ]
        for thread in self.threads:
            thread.start()

    def write(self, data: bytes, timeout: float) -> None:
        """Write one line; a scheduler that does not read its stdin cannot block podfit."""
        failure: list[BaseException] = []

        def target() -> None:
            try:
                self.stdin.write(data)
                self.stdin.flush()
            except (OSError, ValueError) as exc:
                failure.append(exc)

        writer = threading.Thread(target=target, daemon=True)
        writer.start()
        writer.join(max(timeout, 0.0))
        if writer.is_alive():
            raise TimeoutError
        if failure:
            raise ProtocolError(
                f"stopped reading its stdin ({type(failure[0]).__name__}){self.exit_note()}"
            )

    def read_line(self, timeout: float) -> bytes:
        try:
            item = self.lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            raise TimeoutError from None
        if item is _EOF:
            self.lines.put(_EOF)  # stays closed for any later read
            raise ProtocolError(f"closed its stdout{self.exit_note(wait=1.0)}")
        if item is _TOO_LONG:
            raise ProtocolError(f"wrote a line longer than {MAX_LINE_BYTES} bytes")
        assert isinstance(item, bytes)
        return item

    def exit_note(self, wait: float = 0.0) -> str:
        try:
            code = self.popen.wait(wait) if wait else self.popen.poll()
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return " (the process is still running)"
        if code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            return f" (the process was killed by {signame})"
        return f" (the process exited with code {code})"

    def stderr_text(self) -> str:
        lines = list(self.stderr_tail)
        if not lines:
            return ""
        return "\n  stderr (last lines):\n" + "\n".join(f"    {line}" for line in lines)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.killpg(self.popen.pid, sig)

    def stop(self, grace: float) -> None:
        """End the process and release its pipes.

        With a grace period: close stdin (the polite way to say "done"), wait, SIGTERM,
        wait. Then, or at once without grace, SIGKILL. Killing comes before closing stdin
        there, because a writer blocked on a full pipe holds the stream until it fails.
        """
        if grace > 0:
            self._close_stdin()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
            if self.popen.poll() is None:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(grace)
        if self.popen.poll() is None:
            self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5.0)
        self._close_stdin()
        # Children that left the group could still hold the pipes; do not wait for them.
        for thread in self.threads:
            thread.join(1.0)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def _close_stdin(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stdin.close()


# --- the adapter -------------------------------------------------------------------------

_LIVE: weakref.WeakSet[ExecScheduler] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scheduler in list(_LIVE):
        scheduler.close()


class ExecScheduler:
    """A scheduler process speaking protocol podfit/1.

    ``timeout`` bounds each pod (and the hello line); ``deadline`` bounds the whole
    session: once it has passed, every call answers an error without asking. ``areas``
    overrides what the hello line declares. ``send_config`` sends a spec example's
    KubeSchedulerConfiguration along with the pod (the request's optional ``config``).
    """

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        grace: float = DEFAULT_GRACE,
        areas: frozenset[str] | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        send_config: bool = False,
    ) -> None:
        from podfit.adapters import AdapterSetupError

        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise AdapterSetupError(f"exec: cannot split {command!r}: {exc}") from None
            shown = command
        else:
            argv = list(command)
            shown = shlex.join(argv)
        if not argv:
            raise AdapterSetupError("exec: the command is empty (expected exec:COMMAND)")
        self.argv = argv
        self.send_config = send_config
        self.name = f"exec:{shown}"
        self.timeout = timeout
        self.grace = grace
        self.cwd = cwd
        self.env = {**os.environ, **(env or {}), "PODFIT_PROTOCOL": PROTOCOL}
        self._deadline_at = time.monotonic() + deadline if deadline else None
        self.deadline = deadline
        self._process: _Process | None = None
        self._last_stderr = ""
        self._next_id = 1
        self._lock = threading.Lock()
        self.restarts = 0
        try:
            hello = self._start()
        except (ProtocolError, TimeoutError, OSError) as exc:
            raise AdapterSetupError(f"{self.name}: cannot start: {self._explain(exc)}") from None
        self.hello = hello
        self.scheduler_name = hello.name
        self.areas = hello.areas if areas is None else areas
        _LIVE.add(self)

    # -- process lifecycle --

    def _budget(self) -> float:
        """Seconds this call may take: the per-call timeout, capped by the deadline."""
        budget = self.timeout if self.timeout is not None else 24 * 3600.0
        if self._deadline_at is not None:
            budget = min(budget, self._deadline_at - time.monotonic())
        return budget

    def _start(self) -> Hello:
        """Start the process and read its hello line."""
        self._last_stderr = ""
        try:
            process = _Process(self.argv, self.cwd, self.env)
        except OSError as exc:
            raise OSError(f"cannot run {self.argv[0]!r}: {exc.strerror or exc}") from None
        self._process = process
        try:
            return parse_hello(process.read_line(self._budget()))
        except (ProtocolError, TimeoutError):
            self._discard()
            raise

    def _discard(self) -> None:
        """Kill the current process (broken or hung); keep its stderr tail for the message."""
        process, self._process = self._process, None
        if process is not None:
            process.stop(0.0)
            self._last_stderr = process.stderr_text()

    def _explain(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            text = f"no hello line within {self._budget():g} s"
            if self.timeout is not None:
                text = f"no hello line within the {self.timeout:g} s timeout"
        else:
            text = str(exc)
        return text + self._last_stderr

    # -- the Scheduler protocol --

    def schedule(
        self, cluster: Cluster, pod: Pod, *, config: Mapping[str, Any] | None = None
    ) -> Decision:
        """One pod; ``config`` (a KubeSchedulerConfiguration) is sent only to a scheduler
        started with the option ``config=send``."""
        with self._lock:
            return self._schedule(cluster, pod, config if self.send_config else None)

    def _schedule(
        self, cluster: Cluster, pod: Pod, config: Mapping[str, Any] | None = None
    ) -> Decision:
        if self._deadline_at is not None and time.monotonic() >= self._deadline_at:
            return Decision(
                node=None,
                error=f"the overall deadline of {self.deadline:g} s has passed; not asked",
            )
        if self._process is None:
            self.restarts += 1
            try:
                self._start()
            except (ProtocolError, TimeoutError, OSError) as exc:
                return Decision(
                    node=None, error=f"restarting the scheduler failed: {self._explain(exc)}"
                )
        process = self._process
        assert process is not None
        request_id = self._next_id
        self._next_id += 1
        line = (
            json.dumps(
                build_request(request_id, cluster, pod, config),
                separators=(",", ":"),
                ensure_ascii=False,
            )
            + "\n"
        ).encode("utf-8")
        started = time.monotonic()
        limit = self._budget()
        try:
            process.write(line, limit)
            answer = process.read_line(limit - (time.monotonic() - started))
            decision = parse_response(answer, request_id, cluster)
        except TimeoutError:
            self._discard()
            why = f"no answer within {limit:g} s"
            if self.timeout is not None and limit >= self.timeout:
                why = f"no answer within the {self.timeout:g} s timeout"
            elif self.deadline is not None:
                why += f" (the overall deadline of {self.deadline:g} s was reached)"
            return Decision(node=None, error=f"{why}; the scheduler was killed{self._last_stderr}")
        except ProtocolError as exc:
            self._discard()
            return Decision(node=None, error=f"{exc}{self._last_stderr}")
        if decision.error is not None:
            tail = process.stderr_text()
            if tail:
                decision = Decision(
                    node=None, reasons=decision.reasons, error=decision.error + tail
                )
        return decision

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.stop(self.grace)
        _LIVE.discard(self)

    def __enter__(self) -> ExecScheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def from_spec(rest: str, options: Options) -> ExecScheduler:
    timeout = options.number("timeout", DEFAULT_TIMEOUT)
    deadline = options.number("deadline", None)
    grace = options.number("grace", DEFAULT_GRACE)
    config = options.text("config", "")
    if config not in ("", "send"):
        from podfit.adapters import AdapterSetupError

        raise AdapterSetupError(f"exec: option config={config!r}: the only value is 'send'")
    options.finish()
    return ExecScheduler(
        rest,
        timeout=timeout,
        deadline=deadline,
        grace=grace if grace is not None else 0.0,
        send_config=config == "send",
    )
