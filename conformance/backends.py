"""The backends that run spec examples: podfit's reference and the solver.

Each case kind (``quantity``, ``selector``, ``schedule``, ...) has one function per
backend that turns ``given`` into an outcome mapping with the keys INTERPRETING.md
defines. A backend supports the case kinds it has a function for.

The solver answers one question of a ``schedule`` case, the feasible node set (it has no
per-node statuses, scores or messages, and runs the default profile only), so it runs the
schedule examples whose ``expect`` names ``feasible`` and that give no scheduler
``config``, and is checked on that key alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podfit.quantity import Quantity, QuantityError, quantity_from_yaml
from podfit.spec import Example

from .spec_runner import Backend

CaseRunner = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def fraction_text(q: Quantity) -> str:
    v = q.value
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def run_quantity(given: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        q = quantity_from_yaml(given["quantity"])
    except QuantityError as exc:
        return {"error": True, "message": str(exc)}
    return {
        "exact": fraction_text(q),
        "value": q.value_rounded_up(),
        "milli_value": q.milli_value(),
        "canonical": q.canonical(),
    }


class CaseBackend:
    """A backend made of one runner per case kind."""

    def __init__(self, name: str, runners: Mapping[str, CaseRunner]) -> None:
        self.name = name
        self.runners = dict(runners)

    def supports(self, example: Example) -> bool:
        return example.case in self.runners

    def run(self, example: Example) -> Mapping[str, Any]:
        return self.runners[example.case](example.given)

    def checked(self, example: Example) -> Mapping[str, Any]:
        return example.expect


def reference_backend() -> Backend:
    from .reference_cases import RUNNERS

    return CaseBackend("reference", {"quantity": run_quantity, **RUNNERS})


def run_solver_schedule(given: Mapping[str, Any]) -> Mapping[str, Any]:
    from podfit.loading import cluster_from_manifests, pod_from_manifest
    from podfit.solver import feasible_nodes

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pod = pod_from_manifest(given["pod"], "given.pod")
    return {"feasible": sorted(feasible_nodes(cluster, pod))}


#: The ``expect`` keys the solver answers for schedule cases.
SOLVER_SCHEDULE_KEYS = frozenset({"feasible"})


class SolverBackend(CaseBackend):
    """The Z3 encoding: feasible node sets of schedule cases (default profile only)."""

    def __init__(self) -> None:
        super().__init__("solver", {"schedule": run_solver_schedule})

    def supports(self, example: Example) -> bool:
        if example.case != "schedule" or "config" in example.given:
            return False
        spec = example.given.get("pod", {}).get("spec", {})
        if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
            return False  # another scheduler's pod: the default profile never sees it
        return bool(set(example.expect) & SOLVER_SCHEDULE_KEYS)

    def checked(self, example: Example) -> Mapping[str, Any]:
        return {k: v for k, v in example.expect.items() if k in SOLVER_SCHEDULE_KEYS}


def solver_backend() -> Backend:
    return SolverBackend()


def backends() -> dict[str, Backend]:
    """Every backend podfit ships, by name."""
    return {"reference": reference_backend(), "solver": solver_backend()}
