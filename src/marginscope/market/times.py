"""UTC time helpers shared by the market modules: parse, floor, format.

Every market timestamp is held as integer milliseconds since the Unix epoch (UTC) or as
``numpy.datetime64[ms]``; naive inputs are read as UTC. Output is ISO 8601 with a ``Z`` suffix.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "format_timeframe",
    "iso_utc",
    "parse_timeframe_ms",
    "parse_utc_ms",
    "to_datetime64",
]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

_TIMEFRAME = re.compile(r"^(\d+)([smhdwM])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": HOUR_MS, "d": DAY_MS, "w": 7 * DAY_MS,
            "M": 30 * DAY_MS}


def parse_timeframe_ms(timeframe: str) -> int:
    """Length of a bar such as ``"4h"`` or ``"1d"`` in milliseconds (ccxt timeframe notation).

    Raises
    ------
    ValueError
        If the text is not ``<count><s|m|h|d|w|M>``.
    """
    match = _TIMEFRAME.match(str(timeframe).strip())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a timeframe: {timeframe!r} (expected e.g. 1m, 4h, 1d)")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def format_timeframe(milliseconds: int) -> str:
    """Inverse of :func:`parse_timeframe_ms` for the usual bar lengths (``14_400_000 -> "4h"``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_MS[unit]
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def parse_utc_ms(value: object) -> int:
    """Milliseconds since the epoch (UTC) from an ISO 8601 text, a date, a datetime or an int.

    Dates (``2025-11-04``) mean 00:00 UTC; texts without an offset are read as UTC; integers
    are epoch milliseconds (the convention of the venue APIs).

    Raises
    ------
    ValueError
        If the value cannot be read as a time.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ms]").astype(np.int64))
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    if isinstance(value, date):
        return parse_utc_ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
    text = str(value).strip()
    if not text:
        raise ValueError("empty time")
    if re.fullmatch(r"-?\d{11,}", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
    return parse_utc_ms(moment)


def iso_utc(value: int | np.integer | np.datetime64 | datetime) -> str:
    """ISO 8601 UTC text with ``Z``; milliseconds shown only when non-zero."""
    milliseconds = parse_utc_ms(value)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)
    if milliseconds % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_datetime64(milliseconds: object) -> np.ndarray:
    """Epoch milliseconds (array-like) as ``datetime64[ms]``."""
    return np.asarray(milliseconds, dtype=np.int64).astype("datetime64[ms]")
