"""podfit: the executable rulebook of Kubernetes scheduling.

>>> import podfit
>>> podfit.parse_quantity("1.5Gi")
Fraction(1610612736, 1)
"""

from __future__ import annotations

from podfit.api import *  # noqa: F403
from podfit.api import __all__ as _api_all

__version__ = "0.1.0"
__all__ = [*_api_all, "__version__"]
