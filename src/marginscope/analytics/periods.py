"""UTC months and day ranges: parsing and checking what the analytics are asked about.

Every range is ``[start, end)`` in UTC days (end exclusive). Errors name the analytics'
own parameters (``month``, ``start``, ``end``); a command line maps them to its flags.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from marginscope.errors import InputError

__all__ = ["EARLIEST", "LATEST", "day_numbers", "day_range", "month_bounds", "parse_day"]

EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
"""The days the analytics can be asked about (events carry Unix timestamps; the far end
keeps every range's arithmetic inside Python's dates)."""
_MONTH_ALLOWED = "YYYY-MM from 1970-01 to 2999-12, e.g. 2025-11"
_DAY_ALLOWED = "an ISO date from 1970-01-01 to 2999-12-31, e.g. 2025-11-01"


def month_bounds(month: str) -> tuple[date, date]:
    """First day of ``YYYY-MM`` and the first day of the next month.

    Raises
    ------
    InputError
        ``month`` is not ``YYYY-MM``.
    """
    if len(month) != 7:
        raise InputError("month", month, _MONTH_ALLOWED)
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError("month", month, _MONTH_ALLOWED) from None
    if not EARLIEST <= first <= LATEST:
        raise InputError("month", month, _MONTH_ALLOWED)
    return first, (first + timedelta(days=32)).replace(day=1)


def parse_day(value: date | str, name: str) -> date:
    """A UTC day from a date or an ISO string (``2025-11-04``; a timestamp's date part counts).

    ``name`` is the parameter the value was given as, for the error.
    """
    if isinstance(value, date):
        day = value
    else:
        text = str(value)
        try:
            if len(text) > 10 and text[10] not in "T ":
                raise ValueError(text)
            day = date.fromisoformat(text[:10])
        except ValueError:
            raise InputError(name, value, _DAY_ALLOWED) from None
    if not EARLIEST <= day <= LATEST:
        raise InputError(name, value, _DAY_ALLOWED)
    return day


def day_range(
    month: str,
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    max_days: int | None = None,
) -> tuple[date, date]:
    """``[first, stop)`` from the inclusive days ``start`` and ``end``, each defaulting to the
    edge of ``month``.

    Raises
    ------
    InputError
        A malformed ``month``, ``start`` or ``end``; ``end`` before ``start``; or more than
        ``max_days`` days.
    """
    first, following = month_bounds(month)
    low = parse_day(start, "start") if start else first
    high = parse_day(end, "end") + timedelta(days=1) if end else following
    if high <= low:
        raise InputError("end", end, f"a day on or after {low.isoformat()}")
    if max_days is not None and (high - low).days > max_days:
        raise InputError("end", end, f"at most {max_days} days after the start")
    return low, high


def day_numbers(start: date, end: date) -> np.ndarray:
    """The UTC days ``[start, end)`` as ``datetime64[D]``."""
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
