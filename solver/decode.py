"""Reading a placement back out of a Z3 model."""

from __future__ import annotations

import z3

from .encoding import Encoding
from .session import Session


def decode(enc: Encoding, model: z3.ModelRef | None = None) -> dict[str, str]:
    """``{pod key: node name}`` for every pod the model places (unplaced pods are absent)."""
    chosen = model if model is not None else enc.session.model()
    placement: dict[str, str] = {}
    for p in enc.pods:
        for n in enc.nodes:
            if Session.is_true(chosen, enc.x(p.key, n.name)):
                placement[p.key] = n.name
                break
    return placement
