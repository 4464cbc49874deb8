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
from podfit.conformance.decisions import ALL_AREAS, Decision, Scheduler
from podfit.model import Pod

if TYPE_CHECKING:
    from podfit.adapters import Options

SchedulerFunction = Callable[[Cluster, Pod], "str | Decision | None"]


def _describe_exception(exc: BaseException) -> str:
    """``ValueError: bad input (at my_sched.py:12 in pick)``: the innermost frame says where."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
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
            f"returned {type(answer).__name__} {answer!r:.80}; "
            "expected a node name, None or a Decision"
        ),
    )


class PythonScheduler:
    """Calls ``function(cluster, pod)`` for every pod."""

    def __init__(
        self,
        function: SchedulerFunction,
        *,
        name: str | None = None,
        areas: frozenset[str] = ALL_AREAS,
    ) -> None:
        self.function = function
        qualname = getattr(function, "__qualname__", type(function).__name__)
        module = getattr(function, "__module__", None)
        default = f"python:{module}:{qualname}" if module else f"python:{qualname}"
        self.name = name or default
        self.areas = areas

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        try:
            answer = self.function(cluster, pod)
        except Exception as exc:
            return Decision(node=None, error=f"scheduler raised {_describe_exception(exc)}")
        return interpret_answer(answer, cluster)

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

    target = load_target(rest)
    if isinstance(target, Scheduler):
        return target
    if not callable(target):
        raise AdapterSetupError(
            f"python: {rest!r} is a {type(target).__name__}, not a callable "
            "(cluster, pod) -> node name | None | Decision"
        )
    return PythonScheduler(target, name=f"python:{rest}")
