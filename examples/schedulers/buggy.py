"""good.py with one plausible bug: a toleration without a key is ignored.

``{operator: Exists}`` with no key tolerates every taint (it is how DaemonSets run
everywhere); this scheduler compares keys first and so never matches such a toleration.
It fails completeness::

    podfit conform --adapter python:examples/schedulers/buggy.py:scheduler --rules taints
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from podfit.model import Taint, Toleration

_spec = importlib.util.spec_from_file_location(
    "podfit_example_good", Path(__file__).with_name("good.py")
)
assert _spec is not None and _spec.loader is not None
good = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(good)


def tolerates(t: Toleration, taint: Taint) -> bool:
    if t.key != taint.key:  # the bug: an empty key should match every key
        return False
    if t.effect and t.effect != taint.effect:
        return False
    return t.operator == "Exists" or t.value == taint.value


good.tolerates = tolerates  # FirstFit looks the function up at call time


class KeyedFirstFit(good.FirstFit):  # type: ignore[name-defined,misc]
    name = "examples/schedulers/buggy.py"


scheduler = KeyedFirstFit()
