"""An answer of the solver: feasible with a placement, infeasible with a minimal
explanation, or unknown (never "infeasible" for a timeout)."""

from __future__ import annotations

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


__all__ = ["SolveResult", "Status"]
