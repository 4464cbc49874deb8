"""Running the spec's examples through a backend and comparing outcomes.

A backend turns an example's ``given`` into an outcome mapping; the outcome is
compared with ``expect`` as INTERPRETING.md says: only the keys ``expect`` names
are compared, mappings are compared key by key (a subset check), ``feasible`` and
``top`` as sets, everything else by equality.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from podfit.errors import PodfitError
from podfit.spec import Example, Rule

SET_KEYS = frozenset({"feasible", "top", "evicted", "kept", "lost"})


class Backend(Protocol):
    """Something that can run spec examples: the reference, the solver, an adapter."""

    name: str

    def supports(self, example: Example) -> bool: ...

    def run(self, example: Example) -> Mapping[str, Any]: ...

    def checked(self, example: Example) -> Mapping[str, Any]:
        """The part of ``expect`` this backend answers (all of it, unless it says less)."""
        ...


@dataclass
class ExampleResult:
    example: Example
    backend: str
    status: str  # "pass" | "fail" | "skip" | "error"
    differences: list[str] = field(default_factory=list)
    actual: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.example.rule_id,
            "example": self.example.description,
            "backend": self.backend,
            "status": self.status,
            "differences": self.differences,
        }


def compare(expect: Any, actual: Any, path: str = "") -> list[str]:
    """The differences between an expectation and an outcome (empty when they agree)."""
    here = path or "outcome"
    if isinstance(expect, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{here}: expected a mapping, got {actual!r}"]
        diffs: list[str] = []
        for key, value in expect.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                diffs.append(f"{sub}: expected {value!r}, but the backend gave nothing")
                continue
            if key in SET_KEYS and isinstance(value, list):
                got = actual[key]
                is_collection = isinstance(got, list | tuple | set | frozenset)
                if not is_collection or sorted(got) != sorted(value):
                    shown = sorted(got) if is_collection else got
                    diffs.append(f"{sub}: expected {sorted(value)}, got {shown!r}")
                continue
            if key == "reasonContains":
                reason = actual.get("reason") or ""
                if value not in reason:
                    diffs.append(f"reason: expected to contain {value!r}, got {reason!r}")
                continue
            diffs.extend(compare(value, actual[key], sub))
        return diffs
    if expect != actual:
        return [f"{here}: expected {expect!r}, got {actual!r}"]
    return []


def run_example(backend: Backend, example: Example) -> ExampleResult:
    if example.backends is not None and backend.name not in example.backends:
        return ExampleResult(example, backend.name, "skip")
    if not backend.supports(example):
        return ExampleResult(example, backend.name, "skip")
    try:
        actual = backend.run(example)
    except PodfitError as exc:
        if "error" in example.expect and len(example.expect) == 1:
            want = example.expect["error"]
            if want is True or (isinstance(want, str) and want in str(exc)):
                return ExampleResult(example, backend.name, "pass", actual={"error": str(exc)})
        return ExampleResult(example, backend.name, "error", [f"raised: {exc}"])
    diffs = compare(backend.checked(example), actual)
    return ExampleResult(example, backend.name, "fail" if diffs else "pass", diffs, actual)


def run_rules(
    backend: Backend,
    rules: Iterable[Rule],
    on_result: Callable[[ExampleResult], None] | None = None,
) -> list[ExampleResult]:
    results = []
    for r in rules:
        for example in r.examples:
            result = run_example(backend, example)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
