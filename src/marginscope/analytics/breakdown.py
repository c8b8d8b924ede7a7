"""Daily checks broken down, filtered and small-cell suppressed: the rows a dashboard reads.

:func:`daily` answers "checks per day by tool (or device, region, country) for these
filters" with one grouped query (:func:`~.queries.daily_counts_expr`), zero-filled on the
calendar and with cells under ``k`` hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from marginscope.analytics.periods import day_numbers, parse_day
from marginscope.analytics.queries import daily_counts_expr
from marginscope.analytics.sources import opened_events
from marginscope.errors import InputError

__all__ = ["DIMENSIONS", "daily"]

DIMENSIONS: tuple[str, ...] = ("tool", "device", "region", "country")
"""What :func:`daily` can break down and filter by."""


def daily(
    source: Any,
    start: date | str,
    end: date | str,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    *,
    by: Sequence[str] = ("tool",),
    k: int | None = None,
    engine: str = "duckdb",
) -> list[dict[str, Any]]:
    """Daily checks for a dashboard: one row per (day, ``by`` values), zero-filled, suppressed.

    Parameters
    ----------
    source
        Anything :func:`~.sources.open_events` accepts (e.g. the web app's DuckDB connection).
    start, end : date or ISO str
        ``[start, end)`` in UTC days.
    filters : mapping, optional
        ``{"tool": "margin_call", "device": ["mobile", "tablet"], "region": "US",
        "country": [...]}``; each value one id or a list.
    by : sequence of str
        Break-down columns among :data:`DIMENSIONS` (may be empty).
    k : int, optional
        Small-cell threshold; default ``MARGINSCOPE_MIN_CELL`` (10). Cells with 0 < checks < k
        come back as ``checks: None, suppressed: True``.

    Returns
    -------
    list of dict
        ``{"date": "2025-11-04", <by>: …, "checks": int | None, "suppressed": bool}``, sorted
        by date then the ``by`` values; every combination seen in the range appears on every
        day (0 on days without checks).
    """
    from marginscope.config import min_cell

    start_day, end_day = parse_day(start, "start"), parse_day(end, "end")
    for name in [*by, *(filters or {})]:
        if name not in DIMENSIONS:
            raise InputError("by" if name in by else "filters", name, " | ".join(DIMENSIONS))
    k = min_cell() if k is None else int(k)
    wanted = {
        name: [value] if isinstance(value, str) else list(value)
        for name, value in (filters or {}).items()
    }
    with opened_events(source, engine=engine) as events:
        table = daily_counts_expr(events, start_day, end_day, by, wanted).to_pyarrow()
    days = day_numbers(start_day, end_day)
    first = int(days[0].astype(np.int64))
    cells: dict[tuple[Any, ...], np.ndarray] = {}
    for row in table.to_pylist():
        key = tuple(row[name] for name in by)
        cells.setdefault(key, np.zeros(len(days), dtype=np.int64))[row["day"] - first] = row[
            "checks"
        ]
    if not by:
        cells.setdefault((), np.zeros(len(days), dtype=np.int64))
    out = []
    for i, day in enumerate(days):
        for key in sorted(cells, key=lambda kk: tuple(map(str, kk))):
            value = int(cells[key][i])
            hidden = 0 < value < k
            out.append(
                {
                    "date": str(day),
                    **dict(zip(by, key, strict=True)),
                    "checks": None if hidden else value,
                    "suppressed": hidden,
                }
            )
    return out
