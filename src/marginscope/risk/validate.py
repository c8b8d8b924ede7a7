"""Input checks shared by every calculation: arrays in, clear :class:`InputError` out.

Every public ``risk`` function accepts Python scalars or NumPy arrays. These helpers turn an
argument into a float64 array and reject what no venue would accept (NaN, ±inf, a negative
price, a zero quantity), naming the field, the first offending value and the allowed range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marginscope.errors import InputError


def _first_bad(values: np.ndarray, bad: np.ndarray) -> Any:
    return values[bad].flat[0].item() if values.ndim else values.item()


def number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
) -> np.ndarray:
    """``value`` as a finite float64 array, checked against ``low`` (exclusive unless told) and
    ``high`` (inclusive)."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, "a number or an array of numbers") from exc
    if array.size and _within(array.min(), array.max(), low, high, low_inclusive):
        return array  # the common case: two reductions, no temporaries (NaN fails the test)
    ok = _within(array, array, low, high, low_inclusive)
    if not ok.all():
        raise InputError(name, _first_bad(array, ~ok), _describe(low, high, low_inclusive))
    return array


def _within(smallest, largest, low: float | None, high: float | None, low_inclusive: bool):
    """``low < smallest`` (or ``≤``) and ``largest ≤ high``, both finite; False for NaN."""
    above = smallest >= low if low is not None and low_inclusive else \
        smallest > (-np.inf if low is None else low)
    return above & (largest <= (np.inf if high is None else high)) & (largest < np.inf)


def _describe(low: float | None, high: float | None, low_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"≤ {high:g}")
    return " and ".join([*parts, "finite"]) if parts else "a finite number"


def positive(name: str, value: Any) -> np.ndarray:
    """A strictly positive, finite number (prices, quantities, leverage)."""
    return number(name, value, low=0.0)


def rate(name: str, value: Any, high: float = 1.0) -> np.ndarray:
    """A fraction in ``[0, high)``: maintenance-margin rates and fee rates."""
    array = number(name, value, low=0.0, high=high, low_inclusive=True)
    if (array >= high).any():
        raise InputError(name, _first_bad(array, array >= high), f"≥ 0 and < {high:g}")
    return array


def side(value: Any, name: str = "side") -> np.ndarray:
    """Position side as ±1.0: accepts ``"long"/"short"`` (or buy/sell), ``+1/−1``, or arrays."""
    array = np.asarray(value)
    if array.dtype.kind in "USO":
        words = np.char.lower(array.astype(str))
        signs = np.select([words == "long", words == "buy", words == "short", words == "sell"],
                          [1.0, 1.0, -1.0, -1.0], default=np.nan)
    else:
        try:
            signs = np.asarray(array, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(name, value, '"long", "short", +1 or -1') from exc
        bad = np.abs(signs) != 1.0
        if bad.any():
            raise InputError(name, _first_bad(array, bad), '"long", "short", +1 or -1')
        return signs
    bad = np.isnan(signs)
    if bad.any():
        raise InputError(name, _first_bad(array, bad), '"long", "short", +1 or -1')
    return signs


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of words."""
    if value not in allowed:
        raise InputError(name, value, " | ".join(allowed))
    return value
