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
from podfit.versions import VERSIONS, KubeVersion

SET_KEYS = frozenset({"feasible", "top", "evicted", "kept", "lost"})


class Backend(Protocol):
    """Something that can run spec examples: the reference, the solver, an adapter.

    ``versions`` are the Kubernetes releases it can behave as: an example runs once for
    each of them that it holds for."""

    name: str
    versions: tuple[KubeVersion, ...]

    def supports(self, example: Example) -> bool: ...

    def run(self, example: Example, version: KubeVersion) -> Mapping[str, Any]: ...

    def checked(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        """The part of what the example expects in ``version`` that this backend answers
        (all of it, unless it says less)."""
        ...


@dataclass
class ExampleResult:
    example: Example
    backend: str
    status: str  # "pass" | "fail" | "skip" | "error"
    differences: list[str] = field(default_factory=list)
    actual: Mapping[str, Any] | None = None
    version: KubeVersion | None = None
    #: Why it was skipped (when status is "skip").
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.example.rule_id,
            "example": self.example.description,
            "kubeVersion": str(self.version) if self.version is not None else None,
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
            if key == "nodeIn" and isinstance(value, list):
                # The node picked must be one of these; none only when the list is empty.
                got = actual[key]
                if (got is None and value) or (got is not None and got not in value):
                    want = f"one of {sorted(value)}" if value else "no node"
                    diffs.append(f"node: expected {want}, got {got!r}")
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


def example_versions(backend: Backend, example: Example) -> tuple[KubeVersion, ...]:
    """The releases ``backend`` runs ``example`` under: those both cover."""
    return tuple(v for v in example.versions if v in backend.versions)


def run_example(
    backend: Backend, example: Example, version: KubeVersion | None = None
) -> ExampleResult:
    """Run ``example`` through ``backend`` as ``version`` (default: the newest release both
    cover) and compare the outcome with what the example expects there."""
    if example.backends is not None and backend.name not in example.backends:
        return ExampleResult(example, backend.name, "skip", reason="not for this backend")
    if not backend.supports(example):
        return ExampleResult(example, backend.name, "skip", reason="case not supported")
    if version is None:
        shared = example_versions(backend, example)
        if not shared:
            return ExampleResult(example, backend.name, "skip", reason="no release in common")
        version = shared[-1]
    expect = example.expect_for(version)
    try:
        actual = backend.run(example, version)
    except PodfitError as exc:
        if "error" in expect and len(expect) == 1:
            want = expect["error"]
            if want is True or (isinstance(want, str) and want in str(exc)):
                return ExampleResult(
                    example, backend.name, "pass", actual={"error": str(exc)}, version=version
                )
        return ExampleResult(example, backend.name, "error", [f"raised: {exc}"], version=version)
    diffs = compare(backend.checked(example, version), actual)
    status = "fail" if diffs else "pass"
    return ExampleResult(example, backend.name, status, diffs, actual, version=version)


def run_rules(
    backend: Backend,
    rules: Iterable[Rule],
    on_result: Callable[[ExampleResult], None] | None = None,
    *,
    versions: Iterable[KubeVersion] = VERSIONS,
) -> list[ExampleResult]:
    """Every example of ``rules`` under every release (of ``versions``) it holds for and
    the backend covers; an example it runs under none is reported once, as skipped."""
    wanted = tuple(versions)
    results = []
    for r in rules:
        for example in r.examples:
            runs = [v for v in example_versions(backend, example) if v in wanted]
            if runs:
                outcomes = [run_example(backend, example, v) for v in runs]
            else:
                why = "holds for none of the releases run"
                outcomes = [ExampleResult(example, backend.name, "skip", reason=why)]
            for result in outcomes:
                results.append(result)
                if on_result is not None:
                    on_result(result)
    return results
