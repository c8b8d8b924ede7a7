"""The few elementwise operations of ``risk`` that differ between Python floats and NumPy
arrays, for both: the formulas are written once over them.

A position of a web request is a handful of Python floats; NumPy costs about a microsecond a
call on those (0-d arrays), pure float arithmetic a few dozen nanoseconds. The formulas
(:mod:`~marginscope.risk.solver`, :mod:`~marginscope.risk.contracts`,
:class:`~marginscope.risk.terms.Terms`) use ``+ − × /`` and comparisons, which mean the same
on both, and these helpers for the rest, so one position in floats (the account calculator's
path) and millions in arrays (the engine) run the same code. A value is *scalar* when its type
is exactly ``float``; NumPy scalars and 0-d arrays take the array branch, as before.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["divide", "values", "where"]


def values(x: Any) -> Any:
    """``x`` itself if a Python float, else ``np.asarray(x)`` (lists become arrays)."""
    return x if type(x) is float else np.asarray(x)


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` holds, else ``b``: ``np.where``, or a plain choice when the
    condition is one Python bool (a comparison of floats)."""
    if type(condition) is bool:
        return a if condition else b
    return np.where(condition, a, b)


def divide(a: Any, b: Any) -> Any:
    """``a / b`` with IEEE-754 results where ``b`` is zero (±inf, or NaN for 0/0 and NaN),
    silently, on floats (where Python would raise) and arrays alike."""
    if type(a) is float and type(b) is float:
        try:
            return a / b
        except ZeroDivisionError:
            if a == 0.0 or a != a:
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.divide(a, b)
