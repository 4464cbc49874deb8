"""An answer of the solver: feasible with a placement, infeasible with a minimal
explanation, or unknown (never "infeasible" for a timeout)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class SolveResult:
    """An answer. ``placement`` maps pod keys (namespace/name) to node names; ``core`` is
    the spec rule ids of a minimal reason when infeasible; ``unplaced`` the pods left
    without a node; ``objective`` the optimised quantity (pods placed, nodes used, nodes
    added) for the optimisation questions."""

    status: Status
    placement: dict[str, str] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)
    core: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    objective: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "placement": dict(self.placement),
            "explanation": list(self.explanation),
            "core": list(self.core),
            "unplaced": list(self.unplaced),
            "objective": self.objective,
        }


def join(names: Iterable[str], limit: int = 8) -> str:
    """``a, b and c``; long lists end in ``and N more``."""
    items = list(names)
    if len(items) > limit:
        items = [*items[: limit - 1], f"{len(items) - limit + 1} more"]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def most_placed(placement: dict[str, str], total: int, unplaced: Sequence[str]) -> SolveResult:
    """The answer to "how many pods can be placed at most", once proven."""
    text = [f"{len(placement)} of {total} pods can be placed together."]
    if unplaced:
        text.append(f"Left pending: {join(unplaced, limit=20)}.")
    return SolveResult(
        "infeasible" if unplaced else "feasible",
        placement,
        explanation=text,
        unplaced=list(unplaced),
        objective=len(placement),
    )


__all__ = ["SolveResult", "Status", "join", "most_placed"]
