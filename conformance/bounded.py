"""Calling a scheduler under test without trusting it: bounded in time, its exceptions of
every kind caught, its damage to podfit's streams and to its own input noticed.

A scheduler in podfit's own process (``python:``, a third-party adapter) can do anything:
never return, call ``sys.exit``, close stdout, change the cluster it was handed. Each of
those must become a reported error of that scheduler, never podfit's exit code or a silent
pass. :func:`call_bounded` runs the call in a worker thread (podfit can stop waiting; it
cannot stop the thread, so a scheduler that did not return is not called again);
:func:`guarded_streams` keeps stdout and stderr open; :func:`input_state` and
:func:`changed_input` notice a changed cluster or pod; :class:`Bounded` holds a whole
conformance run to its deadline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from podfit.cluster import OBJECT_TABLES, Cluster
from podfit.model import Pod
from podfit.printable import one_line

from .decisions import Decision, Scheduler


@dataclasses.dataclass
class Outcome:
    """What a bounded call did: returned ``value``, raised ``error``, or is still
    ``running`` when podfit stopped waiting."""

    value: Any = None
    error: BaseException | None = None
    running: bool = False


def call_bounded(work: Callable[[], Any], seconds: float | None) -> Outcome:
    """Run ``work`` in a daemon thread and wait at most ``seconds`` (None: as long as it
    takes). Every exception it raises, ``SystemExit`` and ``KeyboardInterrupt`` included,
    is caught and handed back; a Ctrl-C while waiting interrupts podfit as usual."""
    outcome = Outcome(running=True)

    def target() -> None:
        try:
            outcome.value = work()
        except BaseException as exc:  # the scheduler's, whatever it is: reported
            outcome.error = exc
        finally:
            outcome.running = False

    worker = threading.Thread(target=target, name="podfit-scheduler-call", daemon=True)
    worker.start()
    worker.join(None if seconds is None else max(0.0, seconds))
    if worker.is_alive():
        return Outcome(running=True)
    return outcome


class _KeptOpen:
    """A text stream that passes everything through but ``close``, which it only notes."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name
        self.closed_by_scheduler = False

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        self.closed_by_scheduler = True

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)


class StreamGuard:
    """What :func:`guarded_streams` saw the scheduler do to podfit's output."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def problems(self) -> list[str]:
        return list(self.found)


@contextlib.contextmanager
def guarded_streams() -> Iterator[StreamGuard]:
    """While the block runs, ``sys.stdout`` and ``sys.stderr`` cannot be closed (closing
    is noted), and file descriptors 1 and 2 closed behind Python's back are put back; after
    it, both streams are what they were before."""
    guard = StreamGuard()
    saved_streams = (sys.stdout, sys.stderr)
    kept = (_KeptOpen(sys.stdout, "stdout"), _KeptOpen(sys.stderr, "stderr"))
    saved_fds: dict[int, int] = {}
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            saved_fds[fd] = os.dup(fd)
    sys.stdout, sys.stderr = kept
    try:
        yield guard
    finally:
        # Put each stream back only if it is still the guard: a call that outlived its
        # caller must not undo what has been set since (a test runner's capture, say).
        if sys.stdout is kept[0]:
            sys.stdout = saved_streams[0]
        if sys.stderr is kept[1]:
            sys.stderr = saved_streams[1]
        for stream in kept:
            if stream.closed_by_scheduler:
                guard.found.append(f"scheduler closed sys.{stream._name}")
        for fd, copy in saved_fds.items():
            try:
                os.fstat(fd)
            except OSError:
                guard.found.append(f"scheduler closed file descriptor {fd}")
                with contextlib.suppress(OSError):
                    os.dup2(copy, fd)
            os.close(copy)


# --- the input must come back as it went ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InputState:
    """The cluster's tables and each object's fields, by identity, as handed over."""

    version: int
    tables: tuple[tuple[str, tuple[tuple[str, Any, tuple[Any, ...]], ...]], ...]
    pod: tuple[Any, ...]


def _fields(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))


def input_state(cluster: Cluster, pod: Pod) -> InputState:
    """What :func:`changed_input` compares against (linear in the cluster's objects)."""
    tables = tuple(
        (
            name,
            tuple((key, obj, _fields(obj)) for key, obj in getattr(cluster, name).items()),
        )
        for name in OBJECT_TABLES
    )
    return InputState(cluster.version, tables, _fields(pod))


def _restored(obj: Any, fields: tuple[Any, ...]) -> bool:
    """Put back the fields of a frozen object set behind its back; whether any was."""
    changed = False
    for spec, now, then in zip(dataclasses.fields(obj), _fields(obj), fields, strict=True):
        if now is not then:
            object.__setattr__(obj, spec.name, then)
            changed = True
    return changed


def changed_input(before: InputState, cluster: Cluster, pod: Pod) -> list[str]:
    """How the scheduler changed what it was handed: objects added, removed or replaced
    (in its own copy of the tables), or fields of the frozen objects (shared with the
    caller) set behind their back, which are put back. Schedulers must only read."""
    found: list[str] = []
    if cluster.version != before.version:
        found.append("scheduler changed the cluster it was handed (its version moved)")
    for name, entries in before.tables:
        table = getattr(cluster, name)
        if len(table) != len(entries) or any(table.get(key) is not obj for key, obj, _ in entries):
            found.append(
                f"scheduler changed the cluster's {name} (objects added, removed or replaced)"
            )
            continue
        for key, obj, fields in entries:
            if _restored(obj, fields):
                found.append(f"scheduler changed the fields of {name[:-1]} {one_line(key, 80)}")
    if _restored(pod, before.pod):
        found.append("scheduler changed the fields of the pod it was asked about")
    return [f"{problem}; schedulers must not change their input" for problem in found[:3]]


# --- a conformance run's deadline -------------------------------------------------------


class Bounded:
    """A scheduler whose every call ends by ``deadline`` (time.monotonic()): one that has
    not answered by then is answered for with an error, and not asked again."""

    def __init__(self, inner: Scheduler, deadline: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.areas = frozenset(inner.areas)
        self.deadline = deadline
        self._stuck = False

    def __getattr__(self, attribute: str) -> Any:
        # admit, qos_class, scheduler_name, ...: whatever else the scheduler offers.
        return getattr(self.inner, attribute)

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        if self._stuck:
            return Decision(node=None, error="not asked: an earlier call ran past the deadline")
        outcome = call_bounded(
            lambda: self.inner.schedule(cluster, pod), self.deadline - time.monotonic()
        )
        if outcome.running:
            self._stuck = True
            return Decision(node=None, error="the scheduler did not answer before the deadline")
        if outcome.error is not None:
            return Decision(node=None, error=f"the scheduler raised {_said(outcome.error)}")
        value: Decision = outcome.value
        return value

    def close(self) -> None:
        # A scheduler stuck in a call may hold its own lock: closing it gets a bound too.
        call_bounded(self.inner.close, 10.0 if self._stuck else None)


def _said(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ is the scheduler's too
        text = ""
    return f"{type(exc).__name__}: {one_line(text, 500)}" if text else type(exc).__name__
