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
    high_inclusive: bool = True,
    allow_nan: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """``value`` as a float64 array, checked against ``low`` (exclusive unless told) and
    ``high`` (inclusive unless told); finite unless ``allow_inf``, NaN only if ``allow_nan``."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, "a number or an array of numbers") from exc
    if not (allow_nan or allow_inf) and array.size and _within(
            array.min(), array.max(), low, high, low_inclusive, high_inclusive):
        return array  # the common case: two reductions, no temporaries (NaN fails the test)
    bad = np.zeros(array.shape, dtype=bool) if allow_nan else np.isnan(array)
    if not allow_inf:
        bad |= np.isinf(array)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= (array < low) if low_inclusive else (array <= low)
        if high is not None:
            bad |= (array > high) if high_inclusive else (array >= high)
    if bad.any():
        raise InputError(name, _first_bad(array, bad),
                         _describe(low, high, low_inclusive, high_inclusive, allow_nan, allow_inf))
    return array


def _within(smallest, largest, low: float | None, high: float | None, low_inclusive: bool,
            high_inclusive: bool = True):
    """``low < smallest`` (or ``≤``) and ``largest ≤ high`` (or ``<``), both finite; False for
    NaN."""
    above = smallest >= low if low is not None and low_inclusive else \
        smallest > (-np.inf if low is None else low)
    top = np.inf if high is None else high
    below = largest <= top if high_inclusive else largest < top
    return above & below & (largest < np.inf)


def _describe(low: float | None, high: float | None, low_inclusive: bool,
              high_inclusive: bool = True, allow_nan: bool = False,
              allow_inf: bool = False) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'≤' if high_inclusive else '<'} {high:g}")
    if not allow_inf:
        parts.append("finite")
    text = " and ".join(parts) if parts else "a number"
    if parts == ["finite"]:
        text = "a finite number"
    return text + (" (NaN means none)" if allow_nan else "")


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


def series(name: str, value: Any, *, min_length: int = 2, positive: bool = True) -> np.ndarray:
    """A 1-D finite float64 series of at least ``min_length`` values (positive if asked)."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, "a 1-D sequence of numbers") from exc
    if array.ndim != 1 or array.size < min_length:
        raise InputError(name, f"shape {array.shape}",
                         f"a 1-D sequence of at least {min_length} numbers")
    return number(name, array, low=0.0 if positive else None)


def positive(name: str, value: Any) -> np.ndarray:
    """A strictly positive, finite number (prices, quantities, leverage)."""
    return number(name, value, low=0.0)


def rate(name: str, value: Any, high: float = 1.0) -> np.ndarray:
    """A fraction in ``[0, high)``: maintenance-margin rates and fee rates."""
    array = number(name, value, low=0.0, high=high, low_inclusive=True)
    if (array >= high).any():
        raise InputError(name, _first_bad(array, array >= high), f"≥ 0 and < {high:g}")
    return array


SIDES = '"long", "short", +1 or -1'
_WORDS = {"long": 1.0, "buy": 1.0, "short": -1.0, "sell": -1.0}


def one_side(value: Any, name: str = "side") -> float:
    """One position side as ±1.0 from ``"long"/"short"`` (or buy/sell, any case, spaces
    ignored) or ``+1/−1``; bools and anything else are an :class:`InputError`."""
    if isinstance(value, str | np.str_):
        sign = _WORDS.get(value.strip().lower())
        if sign is not None:
            return sign
    elif (isinstance(value, int | float | np.integer | np.floating)
          and not isinstance(value, bool | np.bool_) and value in (1, -1)):
        return float(value)
    raise InputError(name, value, SIDES)


def side(value: Any, name: str = "side") -> np.ndarray:
    """Position sides as ±1.0, element by element as :func:`one_side` (scalars or arrays)."""
    array = np.asarray(value)
    if array.dtype.kind == "b":
        raise InputError(name, _first_bad(array, np.ones(array.shape, bool)), SIDES)
    if array.dtype.kind in "USO":
        return np.vectorize(lambda v: one_side(v, name), otypes=[float])(array) \
            if array.dtype.kind == "O" else _words(array, name)
    try:
        signs = np.asarray(array, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(name, value, SIDES) from exc
    bad = np.abs(signs) != 1.0
    if bad.any():
        raise InputError(name, _first_bad(array, bad), SIDES)
    return signs


def _words(array: np.ndarray, name: str) -> np.ndarray:
    words = np.char.lower(np.char.strip(array.astype(str)))
    signs = np.select([words == w for w in _WORDS], list(_WORDS.values()), default=np.nan)
    bad = np.isnan(signs)
    if bad.any():
        raise InputError(name, _first_bad(array, bad), SIDES)
    return signs


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of words."""
    if value not in allowed:
        raise InputError(name, value, " | ".join(allowed))
    return value
