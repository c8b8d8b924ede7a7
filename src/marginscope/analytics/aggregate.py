"""Events → :class:`~.cube.DailyCube`: run the daily queries on a source and zero-fill them.

The queries (:mod:`.queries`) run in the engine (DuckDB, or Spark with ``engine="spark"``);
what comes back is small (days × cells) and is laid onto a consecutive UTC calendar here, in
NumPy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from marginscope.analytics.chunks import by_day
from marginscope.analytics.cube import REACH_COLUMNS, DailyCube, Reach
from marginscope.analytics.daily_ids import distinct_by_day
from marginscope.analytics.periods import day_numbers
from marginscope.analytics.queries import (
    daily_counts_expr,
    multi_day_reach_expr,
    reach_expr,
    synthetic_expr,
)
from marginscope.analytics.sources import opened_events
from marginscope.errors import InputError
from marginscope.telemetry.schema import DEVICES, tool_ids

__all__ = ["aggregate", "columns", "with_sessions"]


def columns(expr: ir.Table) -> dict[str, np.ndarray]:
    """Run ``expr`` and return its columns as NumPy arrays."""
    table = expr.to_pyarrow()
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


def aggregate(
    source: Any,
    start: date,
    end: date,
    *,
    engine: str = "duckdb",
    reach_from: date | None = None,
    reach: bool = True,
    tools: Iterable[str] | None = None,
    sessions: bool = True,
) -> DailyCube:
    """Run the daily aggregation for ``[start, end)`` and zero-fill it into a :class:`DailyCube`.

    Parameters
    ----------
    source
        Anything :func:`~.sources.open_events` accepts.
    start, end : date
        UTC days, end exclusive (the report passes the month plus its 28-day lead-in).
    reach_from : date, optional
        First day of the distinct visitor/session counts (default ``start``); the report
        counts reach over the month only.
    reach : bool
        Count distinct visitors and sessions (two passes keyed by id).
    tools : iterable of str, optional
        The tool axis (default: the registered tool ids, then any others seen).
    sessions : bool
        Count the distinct sessions too (one more pass). False: they stay None, for
        :func:`with_sessions` to add from the session order's pass, which counts them
        (:attr:`~.packed_sequences.Sequences.reach`; the report runs it alongside).
    """
    with opened_events(source, engine=engine) as events:
        return _aggregate(events, start, end, reach_from=reach_from, reach=reach, tools=tools,
                          sessions=sessions)


def with_sessions(cube: DailyCube, rows: pa.Table) -> DailyCube:
    """``cube`` with its reach's sessions from ``rows``: :func:`~.queries.reach_expr`'s rows
    of one day each over the reach's days or more (:attr:`~.packed_sequences.Sequences.reach`:
    a session is one id on one UTC day)."""
    if cube.reach is None:
        return cube
    given = {name: rows[name].to_numpy() for name in rows.column_names}
    spanning = np.flatnonzero(given["first"] != given["last"])
    if spanning.size:
        raise InputError(f"rows[{spanning[0]}]", (int(given["first"][spanning[0]]),
                         int(given["last"][spanning[0]])), "sessions of one day (first = last)")
    reach = cube.reach
    sessions, total = _laid(given, cube.days, reach.start, reach.end)
    return replace(cube, reach=replace(reach, sessions=sessions, total_sessions=total))


def _laid(rows: dict[str, np.ndarray], days: np.ndarray, start: int,
          end: int) -> tuple[np.ndarray, int]:
    """(per-day distinct counts (day, 3), distinct over days ``[start, end)``) of the
    :func:`~.queries.reach_expr` rows of one day each (``first`` = ``last``) among ``rows``."""
    origin = int(days[0].astype(np.int64))
    inside = (rows["first"] >= origin + start) & (rows["first"] < origin + end)
    inside &= rows["first"] == rows["last"]
    day = rows["first"][inside].astype(np.int64) - origin
    n = rows["n"][inside].astype(np.int64)
    us, rest = rows["us_max"][inside] == 1, rows["us_min"][inside] == 0
    out = np.zeros((len(days), len(REACH_COLUMNS)), dtype=np.int64)
    np.add.at(out, (day[us], 0), n[us])
    np.add.at(out, (day[rest], 1), n[rest])
    np.add.at(out, (day, 2), n)
    return out, int(n.sum())


def _reach(
    events: ir.Table, days: np.ndarray, start: int, end: int, column: str, *, checks: int
) -> tuple[np.ndarray, int, int]:
    """(per-day distinct counts (day, 3), distinct over the period, ids spanning days).

    Sessions never span days, so their pass runs day by day on a large span
    (:func:`~.chunks.by_day`; ``checks``: the span's events); visitors too where that is
    proved exact (:func:`~.daily_ids.distinct_by_day`)."""
    first_day, last_day = days[start].astype(object), (days[end - 1] + 1).astype(object)
    origin = int(days[0].astype(np.int64))
    if column == "session":
        table = by_day(events, first_day, last_day,
                       lambda day: reach_expr(day, first_day, last_day, column), rows=checks)
        rows = {name: table[name].to_numpy() for name in table.column_names}
    elif (daily := distinct_by_day(events, first_day, last_day, column, rows=checks)) is not None:
        rows = {name: daily[name].to_numpy() for name in daily.column_names}
        rows["first"] = rows["last"] = rows.pop("day")
    else:
        rows = columns(reach_expr(events, first_day, last_day, column))
    out, single = _laid(rows, days, start, end)
    multi = int(rows["n"][rows["first"] != rows["last"]].astype(np.int64).sum())
    if multi:
        exprs = multi_day_reach_expr(events, first_day, last_day, column)
        by_region = columns(exprs["by_region"])
        per_day = columns(exprs["by_day"])
        column_of = np.where(by_region["region"] == "US", 0, 1)
        np.add.at(
            out,
            (by_region["day"].astype(np.int64) - origin, column_of),
            by_region["n"].astype(np.int64),
        )
        np.add.at(out, (per_day["day"].astype(np.int64) - origin, 2), per_day["n"].astype(np.int64))
    return out, single + multi, multi


def _aggregate(
    events: ir.Table,
    start: date,
    end: date,
    *,
    reach_from: date | None,
    reach: bool,
    tools: Iterable[str] | None,
    sessions: bool = True,
) -> DailyCube:
    days = day_numbers(start, end)
    rows = columns(daily_counts_expr(events, start, end))
    seen_tools = sorted({str(t) for t in rows["tool"]})
    tool_axis = list(tools) if tools is not None else list(tool_ids())
    tool_axis += [t for t in seen_tools if t not in tool_axis]
    device_axis = list(DEVICES) + sorted({str(d) for d in rows["device"]} - set(DEVICES))
    country_axis = sorted({str(c) for c in rows["country"]})
    counts = np.zeros(
        (len(days), len(tool_axis), len(device_axis), len(country_axis)), dtype=np.int64
    )
    if rows["day"].size:
        lookup = {
            name: {v: i for i, v in enumerate(axis)}
            for name, axis in (
                ("tool", tool_axis),
                ("device", device_axis),
                ("country", country_axis),
            )
        }
        index = tuple(
            np.fromiter(
                (lookup[name][str(v)] for v in rows[name]), dtype=np.int64, count=rows[name].size
            )
            for name in ("tool", "device", "country")
        )
        day = rows["day"].astype(np.int64) - int(days[0].astype(np.int64))
        np.add.at(counts, (day, *index), rows["checks"].astype(np.int64))
    reach_result = None
    if reach and len(days):
        first = (
            0
            if reach_from is None
            else int((np.datetime64(reach_from, "D") - days[0]).astype(np.int64))
        )
        if not 0 <= first < len(days):
            raise InputError("reach_from", str(reach_from), f"a day in [{start}, {end})")
        checks = int(counts[first:].sum())
        visitors, total_visitors, multi_v = _reach(
            events, days, first, len(days), "visitor", checks=checks
        )
        counted, total_sessions, multi_s = (
            _reach(events, days, first, len(days), "session", checks=checks)
            if sessions else (None, None, 0)
        )
        reach_result = Reach(
            start=first,
            end=len(days),
            visitors=visitors,
            sessions=counted,
            total_visitors=total_visitors,
            total_sessions=total_sessions,
            multi_day=multi_v + multi_s,
        )
    synthetic = int(synthetic_expr(events, start, end).to_pyarrow()["n"][0].as_py() or 0)
    return DailyCube(
        days=days,
        tools=tuple(tool_axis),
        devices=tuple(device_axis),
        countries=tuple(country_axis),
        counts=counts,
        synthetic=synthetic,
        reach=reach_result,
    )
