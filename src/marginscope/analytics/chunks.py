"""Running one Ibis expression a few UTC days at a time on DuckDB (:data:`DAYS`), for
aggregates whose groups never span days (a session is one id on one day: :mod:`.sequences`).

A hash aggregate over millions of groups (twelve million sessions in two months of a
10-million-event month) spends most of its time on cache misses; a few days' groups fit in
cache. On the bench month (``bench/report_month.py``) the session pass took about half the
CPU one day at a time. The expression is compiled once, over a temporary view that each chunk
of days redefines with its bounds (literal bounds: DuckDB still skips the other days' row
groups by their zone maps), so each chunk costs one bind, not one Ibis compilation (≈ 50 ms).
Other engines, and spans with few events, run the expression once over the whole span.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from itertools import count

import ibis.expr.types as ir
import pyarrow as pa

from marginscope.analytics.queries import in_range

__all__ = ["DAYS", "MIN_ROWS", "by_day", "splits"]

MIN_ROWS = 2_000_000
"""Below this many events in the span one pass is as fast (a day's bind and run cost a few
milliseconds, and small hash tables fit in cache anyway)."""

DAYS = 2
"""UTC days per query: one day's query is small (a few row groups) and DuckDB runs little of
it in parallel; two days' groups still fit in cache."""

_views = count()


def splits(events: ir.Table, start: date, end: date, *, rows: int) -> bool:
    """Whether :func:`by_day` runs ``[start, end)`` a few days at a time: on DuckDB, over two
    days or more holding at least :data:`MIN_ROWS` of ``rows`` events."""
    return events.get_backend().name == "duckdb" and rows >= MIN_ROWS and (end - start).days >= 2


def by_day(
    events: ir.Table,
    start: date,
    end: date,
    build: Callable[[ir.Table], ir.Table],
    *,
    rows: int,
) -> pa.Table:
    """``build(events in [start, end))`` as Arrow, :data:`DAYS` UTC days at a time on DuckDB
    when the span holds at least :data:`MIN_ROWS` of ``rows`` events; the results
    concatenated.

    ``build`` must not group across days (each result row belongs to one day), so that the
    days' rows are the whole span's rows. It receives a table already restricted to the days
    (or to the span), with the events' columns.
    """
    if not splits(events, start, end, rows=rows):
        return build(in_range(events, start, end)).to_pyarrow()
    backend = events.get_backend()
    view = f"marginscope_day_{next(_views)}"
    con = backend.con

    def define(day: date) -> None:
        following = min(day + timedelta(days=DAYS), end)
        sql = backend.compile(in_range(events, day, following))
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {sql}')

    define(start)
    try:
        query = backend.compile(build(backend.table(view)))
        parts = []
        for offset in range(0, (end - start).days, DAYS):
            if offset:
                define(start + timedelta(days=offset))
            parts.append(con.sql(query).to_arrow_table())
    finally:
        con.execute(f'DROP VIEW IF EXISTS "{view}"')
    return pa.concat_tables(parts)
