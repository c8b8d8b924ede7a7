"""Input checks for the scenario functions: arrays in, :class:`InputError` out.

Kept local (and tiny) so that ``scenarios`` does not depend on helpers still being written in
``risk``; the messages follow the same form: field, first offending value, what is allowed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marginscope.errors import InputError


def _first(values: np.ndarray, bad: np.ndarray) -> Any:
    return values[bad].flat[0].item() if values.ndim else values.item()


def number(name: str, value: Any, *, low: float | None = None, low_inclusive: bool = False,
           high: float | None = None, high_inclusive: bool = True,
           allow_nan: bool = False, allow_inf: bool = False) -> np.ndarray:
    """``value`` as a float64 array checked against ``low``/``high``; NaN/inf only if allowed."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, "a number or an array of numbers") from exc
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'≤' if high_inclusive else '<'} {high:g}")
    allowed = " and ".join(parts) if parts else "a number"
    if not allow_inf:
        allowed += ", finite"
    if allow_nan:
        allowed += " (NaN means none)"
    bad = np.isnan(array) if not allow_nan else np.zeros(array.shape, dtype=bool)
    if not allow_inf:
        bad |= np.isinf(array)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= (array < low) if low_inclusive else (array <= low)
        if high is not None:
            bad |= (array > high) if high_inclusive else (array >= high)
    if bad.any():
        raise InputError(name, _first(array, bad), allowed)
    return array


def scalar(name: str, value: Any, **limits: Any) -> float:
    """One number (not an array), checked like :func:`number`."""
    array = number(name, value, **limits)
    if array.ndim:
        raise InputError(name, value, "a single number")
    return float(array)


def integer(name: str, value: Any, *, low: int = 1) -> int:
    """A Python integer ≥ ``low`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InputError(name, value, f"an integer ≥ {low}")
    return int(value)


def side(value: Any, name: str = "side") -> float:
    """One position side as ±1.0 from ``"long"/"short"`` (or buy/sell) or ``+1/−1``."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("long", "buy"):
            return 1.0
        if word in ("short", "sell"):
            return -1.0
    elif (isinstance(value, int | float | np.integer | np.floating)
          and not isinstance(value, bool) and value in (1, -1)):
        return float(value)
    raise InputError(name, value, '"long", "short", +1 or -1')


def series(name: str, value: Any, *, min_length: int = 2, positive: bool = True) -> np.ndarray:
    """A 1-D finite float64 series of at least ``min_length`` values (positive if asked)."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, "a 1-D sequence of numbers") from exc
    if array.ndim != 1 or array.size < min_length:
        raise InputError(name, f"shape {array.shape}",
                         f"a 1-D sequence of at least {min_length} numbers")
    bad = ~np.isfinite(array)
    if positive:
        bad |= array <= 0
    if bad.any():
        raise InputError(name, _first(array, bad), "> 0 and finite" if positive else "finite")
    return array
