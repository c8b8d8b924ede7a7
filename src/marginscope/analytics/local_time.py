"""Local clocks: the daylight-saving changes between two days and the local day and hour of
each UTC hour in a country with one local time (the hour profiles' clock, :mod:`.hours`).

Python's :mod:`zoneinfo` over the tz database, per date, in Python rather than the engines'
time-zone functions (which differ between DuckDB and Spark); the zones of a country are its
``zone.tab`` entries (:func:`marginscope.telemetry.country.country_zones`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

from marginscope.telemetry.country import country_zones

__all__ = ["dst_changes", "local_hours"]


def _sunday(year: int, month: int, which: int) -> date:
    """The ``which``-th Sunday of a month (``-1``: the last)."""
    if which > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (which - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def dst_changes(first: str, last: str) -> list[str]:
    """EU (last Sundays of March and October) and U.S. (second Sunday of March, first of
    November) clock changes from ``first`` to ``last`` (inclusive ISO days)."""
    out = []
    for year in range(int(first[:4]), int(last[:4]) + 1):
        for day in (
            _sunday(year, 3, -1),
            _sunday(year, 10, -1),
            _sunday(year, 3, 2),
            _sunday(year, 11, 1),
        ):
            if first <= day.isoformat() <= last:
                out.append(day.isoformat())
    return sorted(out)


_HOURS = tuple(timedelta(hours=hour) for hour in range(24))


@cache
def _zones(country: str) -> tuple[str, ...]:
    """The country's ``zone.tab`` zones (the tz database does not change while we run)."""
    return country_zones().get(country, ())


@cache
def _offsets(zone: str, day: int) -> tuple[int, ...]:
    """UTC offset of ``zone`` in whole hours (floored) at the start of each UTC hour of ``day``.
    The local day and hour of that start depend on nothing else: counted in hours since
    1970-01-01, local time is UTC plus this."""
    tz = ZoneInfo(zone)
    midnight = datetime(1970, 1, 1, tzinfo=tz) + timedelta(days=day)  # UTC, as fromutc takes
    out = []
    for hour in _HOURS:
        offset = tz.fromutc(midnight + hour).utcoffset()
        out.append((offset.days * 86_400 + offset.seconds) // 3600)
    return tuple(out)


def local_hours(country: str, days: np.ndarray) -> np.ndarray | None:
    """(len(days) × 24 × 2): local day number and hour of each UTC hour of ``days`` in the
    country's local time, or None when its ``zone.tab`` zones disagree on any of them (or it
    has none)."""
    zones = _zones(country)
    if not zones:
        return None
    days = np.asarray(days, dtype=np.int64)
    for day in days.tolist() if len(zones) > 1 else ():  # day by day: disagreeing stop early
        first = _offsets(zones[0], day)
        for zone in zones[1:]:
            if _offsets(zone, day) != first:
                return None
    offsets = np.array([_offsets(zones[0], day) for day in days.tolist()], dtype=np.int64)
    local = days[:, None] * 24 + np.arange(24) + offsets.reshape(len(days), 24)
    return np.stack([local // 24, local % 24], axis=-1)
