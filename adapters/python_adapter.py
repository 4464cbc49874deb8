"""An in-process scheduler: a Python callable ``(cluster, pod) -> str | None | Decision``.

The callable returns the chosen node's name, ``None`` for "unschedulable", or a full
:class:`~podfit.conformance.decisions.Decision` (to add reasons or scores). An exception
it raises becomes ``Decision(error=...)``: a finding about the scheduler, not a crash of
podfit. The spec string ``python:MODULE:CALLABLE`` imports ``MODULE`` (a dotted module
name, or a path to a ``.py`` file) and looks up ``CALLABLE`` (dots allowed, e.g.
``Scheduler.pick``). If that object already is a Scheduler it is used as it is.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.conformance.bounded import call_bounded, changed_input, guarded_streams, input_state
from podfit.conformance.decisions import ALL_AREAS, Decision, Scheduler
from podfit.model import Pod
from podfit.printable import one_line, shown

if TYPE_CHECKING:
    from podfit.adapters import Options

SchedulerFunction = Callable[[Cluster, Pod], "str | Decision | None"]


def describe_failure(exc: BaseException) -> str:
    """What a scheduler's exception means, in a reported error's words."""
    if isinstance(exc, SystemExit):
        return f"scheduler called sys.exit({shown(exc.code)})"
    return f"scheduler raised {_describe_exception(exc)}"


def _describe_exception(exc: BaseException) -> str:
    """``ValueError: bad input (at my_sched.py:12 in pick)``: the innermost frame says where."""
    text = one_line("".join(traceback.format_exception_only(type(exc), exc)).strip(), 500)
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text


def interpret_answer(answer: object, cluster: Cluster) -> Decision:
    """A callable's return value as a Decision; anything unusable becomes an error."""
    from podfit.adapters import check_decision

    if answer is None:
        return Decision(node=None)
    if isinstance(answer, str):
        return check_decision(Decision(node=answer), cluster)
    if isinstance(answer, Decision):
        return check_decision(answer, cluster)
    return Decision(
        node=None,
        error=(
            f"returned {type(answer).__name__} {shown(answer)}; "
            "expected a node name, None or a Decision"
        ),
    )


class PythonScheduler:
    """Calls ``function(cluster, pod)`` for every pod.

    Whatever the callable does becomes a Decision, never podfit's own failure: an
    exception of any kind (``sys.exit`` and ``KeyboardInterrupt`` it raises included), a
    call that does not return within ``timeout``, closing stdout or stderr, or changing
    the cluster or the pod it was handed. The call runs in a worker thread so podfit can
    stop waiting; a callable that never returned is not called again (it may still be
    running), every later pod gets an error instead.
    """

    def __init__(
        self,
        function: SchedulerFunction,
        *,
        name: str | None = None,
        areas: frozenset[str] = ALL_AREAS,
        timeout: float | None = None,
    ) -> None:
        self.function = function
        qualname = getattr(function, "__qualname__", type(function).__name__)
        module = getattr(function, "__module__", None)
        default = f"python:{module}:{qualname}" if module else f"python:{qualname}"
        self.name = name or default
        self.areas = areas
        self.timeout = timeout
        self._stuck: str | None = None

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        if self._stuck is not None:
            return Decision(node=None, error=f"not asked: {self._stuck}")
        given = cluster.copy()  # its own tables: a change cannot reach the caller's cluster
        before = input_state(given, pod)
        with guarded_streams() as streams:
            outcome = call_bounded(lambda: self.function(given, pod), self.timeout)
        if outcome.running:
            self._stuck = f"an earlier call did not return within the {self.timeout:g} s timeout"
            return Decision(node=None, error=f"scheduler did not return within {self.timeout:g} s")
        problems = streams.problems() + changed_input(before, given, pod)
        if outcome.error is not None:
            problems.insert(0, describe_failure(outcome.error))
        if problems:
            return Decision(node=None, error="; ".join(problems))
        return interpret_answer(outcome.value, cluster)

    def close(self) -> None:
        """Nothing to release: the callable lives in this process."""


def _working_directory_on_path() -> None:
    """Put the working directory first on ``sys.path``, as ``python -m`` does, so that
    ``python:my_sched:pick`` finds ``./my_sched.py`` (a console script's path starts with
    its own bin directory instead)."""
    cwd = str(Path.cwd())
    if not any(entry in ("", ".", cwd) for entry in sys.path):
        sys.path.insert(0, cwd)


def _import_module(where: str) -> ModuleType:
    from podfit.adapters import AdapterSetupError

    if where.endswith(".py") or "/" in where:
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise AdapterSetupError(f"python: no such file {where!r}")
        # A stable, unique module name so two files called scheduler.py do not collide.
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        spec = importlib.util.spec_from_file_location(f"podfit_user_{digest}", path)
        if spec is None or spec.loader is None:
            raise AdapterSetupError(f"python: cannot load {where!r} as a module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise AdapterSetupError(
                f"python: importing {where!r} failed: {_describe_exception(exc)}"
            ) from exc
        return module
    _working_directory_on_path()
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise AdapterSetupError(
                f"python: no module named {where!r} in the working directory "
                f"({Path.cwd()}) or on sys.path; name a file instead "
                f"(python:path/to/{where.replace('.', '/')}.py:CALLABLE) or set PYTHONPATH"
            ) from None
        raise AdapterSetupError(
            f"python: importing {where!r} failed: {_describe_exception(exc)}"
        ) from exc
    except Exception as exc:
        raise AdapterSetupError(
            f"python: importing {where!r} failed: {_describe_exception(exc)}"
        ) from exc


def load_target(target: str) -> Any:
    """``"pkg.mod:attr.path"`` or ``"path/to/file.py:attr"`` -> the object it names."""
    from podfit.adapters import AdapterSetupError

    module_name, colon, attr_path = target.rpartition(":")
    if not colon or not module_name or not attr_path:
        raise AdapterSetupError(
            f"python: expected python:MODULE:CALLABLE (e.g. python:my_pkg.sched:pick), "
            f"got {'python:' + target!r}"
        )
    obj: Any = _import_module(module_name)
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AdapterSetupError(
                f"python: {module_name!r} has no attribute {attr_path!r}"
            ) from None
    return obj


def from_spec(rest: str, options: Options) -> Scheduler:
    from podfit.adapters import AdapterSetupError

    timeout = options.number("timeout", None)
    target = load_target(rest)
    if isinstance(target, Scheduler):
        return target
    if not callable(target):
        raise AdapterSetupError(
            f"python: {rest!r} is a {type(target).__name__}, not a callable "
            "(cluster, pod) -> node name | None | Decision"
        )
    return PythonScheduler(target, name=f"python:{rest}", timeout=timeout)
