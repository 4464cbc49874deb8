"""How podfit reaches a scheduler under test: in-process, subprocess, HTTP extender, live cluster.

:func:`resolve` turns a spec string into a :class:`~podfit.conformance.decisions.Scheduler`::

    spec     := "reference" ["?" options]
              | "mutant:" NAME ["?" options]
              | "python:" MODULE ":" CALLABLE ["?" options]   MODULE may be a path to a .py file
              | "exec:" COMMAND ["?" options]                 split with shlex, run without a shell
              | "extender:" URL ["?" options]                 http:// or https://
              | "kube:" [CONTEXT] ["?" options]               empty CONTEXT = current context
              | SCHEME ":" REST                               entry point in group podfit.adapters
    options  := key "=" value *("&" key "=" value)            percent-encoding allowed

Options come after the *last* ``?`` when what follows it looks like ``key=value`` pairs
(or is empty: a trailing ``?`` protects a ``?`` inside a command). Every scheme takes
``areas=a,b,...`` (the rule areas to check, overriding what the scheduler declares);
the others are listed in :data:`SCHEMES` and docs/adapters.md. Unknown options are
errors, so a typo never passes silently.

Third-party adapters register a factory under the entry-point group ``podfit.adapters``;
the entry-point name is the scheme and the factory receives everything after
``SCHEME:`` verbatim (options included) and returns a Scheduler. Built-in schemes win
over entry points of the same name.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl

from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, AdapterError, Decision, Scheduler
from podfit.errors import UsageError
from podfit.model import Pod
from podfit.printable import shown

ENTRY_POINT_GROUP = "podfit.adapters"

# scheme -> (usage, the options it accepts besides `areas`)
SCHEMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "python": ("python:MODULE:CALLABLE", ("timeout",)),
    "exec": ("exec:COMMAND", ("timeout", "deadline", "grace", "config")),
    "extender": (
        "extender:URL",
        ("timeout", "nodeCacheCapable", "weight", "filter", "prioritize", "redirects"),
    ),
    "kube": (
        "kube:[CONTEXT]",
        ("timeout", "nodes", "scheduler", "kubeconfig", "allow-production"),
    ),
    "reference": ("reference", ()),
    "mutant": ("mutant:NAME", ()),
}

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_OPTIONS = re.compile(r"[A-Za-z][\w.-]*=[^&]*(&[A-Za-z][\w.-]*=[^&]*)*")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class AdapterSetupError(UsageError, AdapterError):
    """A spec string podfit cannot use, or a scheduler that cannot be started.

    Both a :class:`~podfit.errors.UsageError` (the CLI prints it as a one-line message)
    and an :class:`~podfit.conformance.decisions.AdapterError`.
    """


# --- spec strings ------------------------------------------------------------------------


def split_options(text: str) -> tuple[str, dict[str, str]]:
    """``"cmd --x?timeout=5&areas=taints"`` -> ``("cmd --x", {"timeout": "5", ...})``."""
    head, sep, tail = text.rpartition("?")
    if not sep:
        return text, {}
    if tail == "":
        return head, {}
    if not _OPTIONS.fullmatch(tail):
        return text, {}  # the '?' belongs to the command or URL
    options: dict[str, str] = {}
    for key, value in parse_qsl(tail, keep_blank_values=True, strict_parsing=True):
        if key in options:
            raise AdapterSetupError(f"option {key!r} is given twice in {text!r}")
        options[key] = value
    return head, options


def parse_areas(text: str, *, where: str = "areas") -> frozenset[str]:
    """``"taints,resources"`` -> a frozenset of known area names."""
    names = [a.strip() for a in text.split(",") if a.strip()]
    unknown = sorted(set(names) - ALL_AREAS)
    if unknown:
        raise AdapterSetupError(
            f"{where}: unknown rule area(s) {', '.join(unknown)}; "
            f"known areas: {', '.join(sorted(ALL_AREAS))}"
        )
    return frozenset(names)


class Options:
    """Typed access to a spec string's options; :meth:`finish` rejects the unused ones."""

    def __init__(self, scheme: str, values: Mapping[str, str]) -> None:
        self.scheme = scheme
        self.values = dict(values)
        self._known: set[str] = {"areas"}

    def _take(self, key: str) -> str | None:
        self._known.add(key)
        return self.values.get(key)

    def text(self, key: str, default: str) -> str:
        value = self._take(key)
        return default if value is None else value

    def number(self, key: str, default: float | None) -> float | None:
        """A positive number of seconds; ``0`` or ``none`` means "no limit" (None)."""
        value = self._take(key)
        if value is None:
            return default
        if value.lower() in ("0", "none"):
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            raise AdapterSetupError(
                f"{self.scheme}: option {key}={value!r}: expected a positive number of seconds"
            )
        return number

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._take(key)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise AdapterSetupError(
                f"{self.scheme}: option {key}={value!r}: expected an integer"
            ) from None
        if number < minimum:
            raise AdapterSetupError(
                f"{self.scheme}: option {key}={value!r}: must be at least {minimum}"
            )
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self._take(key)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise AdapterSetupError(f"{self.scheme}: option {key}={value!r}: expected true or false")

    def areas(self) -> frozenset[str] | None:
        value = self.values.get("areas")
        return None if value is None else parse_areas(value, where=f"{self.scheme}: areas")

    def finish(self) -> None:
        unknown = sorted(set(self.values) - self._known)
        if unknown:
            raise AdapterSetupError(
                f"{self.scheme}: unknown option(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(self._known))}"
            )


# --- answers -----------------------------------------------------------------------------


def describe_nodes(cluster: Cluster, limit: int = 8) -> str:
    names = list(cluster.nodes)
    shown = ", ".join(names[:limit])
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return f"nodes: {shown}{more}" if names else "the cluster has no nodes"


def check_decision(decision: Decision, cluster: Cluster) -> Decision:
    """The decision, or an error decision when it names a node that is not in the cluster."""
    if decision.error is not None or decision.node is None:
        return decision
    if decision.node not in cluster.nodes:
        return Decision(
            node=None,
            reasons=decision.reasons,
            error=(
                f"answered node {shown(decision.node)}, which is not in the cluster "
                f"({describe_nodes(cluster)})"
            ),
        )
    return decision


class WithAreas:
    """A scheduler seen through a different set of rule areas (the ``areas=`` option)."""

    def __init__(self, inner: Scheduler, areas: frozenset[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.areas = areas

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        return self.inner.schedule(cluster, pod)

    def close(self) -> None:
        self.inner.close()


def with_areas(scheduler: Scheduler, areas: frozenset[str] | None) -> Scheduler:
    return scheduler if areas is None else WithAreas(scheduler, areas)


# --- resolving ---------------------------------------------------------------------------


def _third_party() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def _usage(third_party: Iterable[str] = ()) -> str:
    forms = [usage for usage, _ in SCHEMES.values()]
    forms += [f"{name}:..." for name in sorted(third_party) if name not in SCHEMES]
    return "expected one of: " + ", ".join(forms)


def _sibling(module: str, attribute: str, what: str) -> Any:
    """An attribute of another adapter module, imported only when its scheme is used."""
    try:
        return getattr(importlib.import_module(f"podfit.adapters.{module}"), attribute)
    except (ImportError, AttributeError) as exc:
        raise AdapterSetupError(f"{what} cannot be loaded: {exc}") from None


def _reference(rest: str, options: Options) -> Scheduler:
    if rest:
        raise AdapterSetupError(f"'reference' takes no argument, got 'reference:{rest}'")
    factory = _sibling("reference_adapter", "ReferenceScheduler", "the reference adapter")
    scheduler: Scheduler = factory()
    return scheduler


def _mutant(rest: str, options: Options) -> Scheduler:
    mutants: Mapping[str, Callable[[], Scheduler]] = _sibling("mutants", "MUTANTS", "mutants")
    if rest not in mutants:
        known = ", ".join(sorted(mutants)) or "none"
        raise AdapterSetupError(f"unknown mutant {rest!r}; known mutants: {known}")
    return mutants[rest]()


def _python(rest: str, options: Options) -> Scheduler:
    from podfit.adapters.python_adapter import from_spec

    return from_spec(rest, options)


def _exec(rest: str, options: Options) -> Scheduler:
    from podfit.adapters.exec_adapter import from_spec

    return from_spec(rest, options)


def _extender(rest: str, options: Options) -> Scheduler:
    from podfit.adapters.extender_adapter import from_spec

    return from_spec(rest, options)


def _kube(rest: str, options: Options) -> Scheduler:
    from podfit.adapters.kube_adapter import from_spec

    return from_spec(rest, options)


_BUILTIN: dict[str, Callable[[str, Options], Scheduler]] = {
    "python": _python,
    "exec": _exec,
    "extender": _extender,
    "kube": _kube,
    "reference": _reference,
    "mutant": _mutant,
}


def resolve(spec: str) -> Scheduler:
    """The scheduler a spec string names (see the module docstring for the grammar).

    Raises :class:`AdapterSetupError` (a :class:`~podfit.errors.UsageError`) for a
    spec string podfit cannot use or a scheduler that does not start.
    """
    spec = spec.strip()
    scheme, colon, rest = spec.partition(":")
    if not colon and "?" in scheme:  # "reference?areas=..."
        scheme, _, query = scheme.partition("?")
        rest = "?" + query
    if not _SCHEME.fullmatch(scheme) or (not colon and scheme != "reference"):
        raise AdapterSetupError(f"cannot read scheduler spec {spec!r}: {_usage(_third_party())}")
    builtin = _BUILTIN.get(scheme)
    if builtin is None:
        plugins = _third_party()
        ep = plugins.get(scheme)
        if ep is None:
            raise AdapterSetupError(f"unknown scheduler scheme {scheme!r}: {_usage(plugins)}")
        return _from_entry_point(scheme, ep, rest)
    body, values = split_options(rest)
    options = Options(scheme, values)
    areas = options.areas()
    scheduler = builtin(body, options)
    try:
        options.finish()
    except AdapterSetupError:
        scheduler.close()
        raise
    return with_areas(scheduler, areas)


def _from_entry_point(scheme: str, ep: Any, rest: str) -> Scheduler:
    try:
        factory = ep.load()
    except Exception as exc:
        raise AdapterSetupError(
            f"cannot load the adapter for {scheme!r} ({ep.value}): {type(exc).__name__}: {exc}"
        ) from exc
    try:
        scheduler = factory(rest)
    except UsageError:
        raise
    except Exception as exc:
        raise AdapterSetupError(
            f"the {scheme!r} adapter failed to start: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(scheduler, Scheduler):
        raise AdapterSetupError(
            f"the {scheme!r} adapter ({ep.value}) returned {type(scheduler).__name__}, "
            "which is not a Scheduler (needs name, areas, schedule(), close())"
        )
    unknown = sorted(set(scheduler.areas) - ALL_AREAS)
    if unknown:
        scheduler.close()
        raise AdapterSetupError(
            f"the {scheme!r} adapter claims unknown rule area(s) {', '.join(unknown)}"
        )
    return scheduler


__all__ = [
    "ENTRY_POINT_GROUP",
    "SCHEMES",
    "AdapterSetupError",
    "Options",
    "WithAreas",
    "check_decision",
    "parse_areas",
    "resolve",
    "split_options",
]
