"""The Z3 encoding of the rules in ``podfit.spec``: the second, independent oracle."""

from __future__ import annotations

from .api import (
    feasible_nodes,
    maximize_placed,
    minimize_nodes,
    nodes_to_add,
    solve,
)
from .result import SolveResult
from .session import Outcome, Session, Undecided

__all__ = [
    "Outcome",
    "Session",
    "SolveResult",
    "Undecided",
    "feasible_nodes",
    "maximize_placed",
    "minimize_nodes",
    "nodes_to_add",
    "solve",
]
