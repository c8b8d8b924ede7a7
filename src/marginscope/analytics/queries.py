"""The analytics' queries: Ibis expressions over the events table, engine-agnostic.

Written once, so the same code runs on DuckDB (the default) and on Spark through Ibis's
PySpark backend (:mod:`.spark`; ``tests/analytics/test_spark_parity.py`` checks both give the
same numbers). Portability rules, from the Ibis 12 gaps in ``analytics_anchors.md`` §4.3:

* the UTC day is ``floor(epoch_micros(ts) / 86400e6)``, an integer that does not depend on
  the session time zone (a ``CAST(ts AS DATE)`` does on both engines); weekdays are computed
  in NumPy, never with the engines' differently numbered ``DAYOFWEEK``. Spark divides
  integers in double precision before the ``FLOOR``; that is exact for every day up to
  year 2255 (the microsecond count fits in 53 bits and the last microsecond of a day stays
  more than half a unit in the last place below the next integer);
* distinct visitors and sessions are counted *exactly* as the row count of a ``DISTINCT``
  projection grouped afterwards (two-stage), never with an approximate ``nunique``;
* no window functions, RANGE frames, UDFs or grouping sets (``bit_or`` is both engines'
  built-in aggregate); the calendar is zero-filled in NumPy on the small result (30–60
  days × a few hundred cells).

Region is derived at query time: ``US`` when ``country == 'US'``, else ``rest`` (``ZZ``,
unknown, counts as rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from marginscope.errors import InputError
from marginscope.telemetry.schema import SYNTHETIC_ID_PREFIX

__all__ = [
    "bit_or",
    "daily_counts_expr",
    "day_number",
    "in_range",
    "multi_day_reach_expr",
    "reach_expr",
    "region_bit",
    "region_of",
    "synthetic_expr",
    "time_span_expr",
    "us_flags",
    "utc_hour",
]


_DAY_SECONDS = 86_400


def _bounds(start: date, end: date) -> tuple[ir.Value, ir.Value]:
    if end <= start:
        raise InputError("end", end.isoformat(), f"after start {start.isoformat()}")

    def at(day: date) -> ir.Value:
        return ibis.literal(
            datetime(day.year, day.month, day.day, tzinfo=UTC), type="timestamp('UTC')"
        )

    return at(start), at(end)


def in_range(events: ir.Table, start: date, end: date) -> ir.Table:
    """Events with ``start <= ts < end``; on a Hive Parquet dataset also ``start <= date <
    end``, the partition column (the UTC day of ``ts``, as the sink writes it), so that both
    engines skip the other days' files instead of reading their footers."""
    low, high = _bounds(start, end)
    keep = (events.ts >= low) & (events.ts < high)
    if "date" in events.columns and events["date"].type().is_date():
        keep &= (events["date"] >= ibis.literal(start, type="date")) & (
            events["date"] < ibis.literal(end, type="date")
        )
    return events.filter(keep)


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body]
    """DuckDB's ``epoch_us``: microseconds since 1970 of a TIMESTAMPTZ, no time-zone step."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body]
    """Spark's ``unix_micros`` (3.1+): microseconds since 1970."""


_EPOCH_MICROS = {"duckdb": _duckdb_epoch_us, "pyspark": _spark_unix_micros}
"""Engine built-ins for epoch microseconds. Ibis's portable ``epoch_seconds()`` compiles to
``EPOCH(CAST(ts AS TIMESTAMP))`` on DuckDB, whose time-zone conversion costs about 3 s per
10 million rows on the bench machine; the built-in reads the instant directly. Other engines
fall back to ``epoch_seconds()``."""


def _seconds_since_epoch(events: ir.Table, unit: int) -> ir.IntegerValue:
    """Whole ``unit``-second periods since 1970-01-01 UTC (integer arithmetic on the engine's
    epoch microseconds: no time-zone conversion)."""
    try:
        engine = events._find_backend().name
    except Exception:  # an unbound table: use the portable form
        engine = ""
    micros = _EPOCH_MICROS.get(engine)
    if micros is None:
        return events.ts.epoch_seconds() // unit
    return micros(events.ts) // (unit * 1_000_000)


def day_number(events: ir.Table) -> ir.IntegerValue:
    """UTC day number (days since 1970-01-01): time-zone independent on every engine."""
    return _seconds_since_epoch(events, _DAY_SECONDS).cast("int32")


def utc_hour(events: ir.Table) -> ir.IntegerValue:
    """The UTC hour of ``ts`` (0–23) by integer arithmetic: on DuckDB ``hour()`` of a
    ``TIMESTAMPTZ`` converts through the session time zone, twice the CPU of the hour
    queries on the bench month."""
    return (_seconds_since_epoch(events, 3600) % 24).cast("int8")


def region_of(country: ir.StringValue) -> ir.StringValue:
    """``US`` for the United States, else ``rest``."""
    return ibis.cases((country == "US", "US"), else_="rest")


def region_bit(country: ir.StringValue) -> ir.IntegerValue:
    """1 for a check from the U.S., 2 for any other: OR-ed over an id's checks
    (:func:`bit_or`) they give 1 (all from the U.S.), 2 (none) or 3 (both) — one aggregate
    where a minimum and a maximum took two (:func:`us_flags` reads them)."""
    return ibis.cases((country == "US", 1), else_=2).cast("int8")


def us_flags(bits: ir.IntegerValue) -> dict[str, ir.IntegerValue]:
    """``us_min`` (1: all of an id's checks from the U.S.) and ``us_max`` (1: some) of its
    OR-ed :func:`region_bit`."""
    return {"us_min": (bits == 1).cast("int8"), "us_max": (bits != 2).cast("int8")}


@ibis.udf.agg.builtin(name="bit_or")
def bit_or(value: int) -> int:  # type: ignore[empty-body]
    """The bitwise OR of a group's values (``bit_or`` on DuckDB and Spark SQL; Ibis's own
    ``BitOr`` is not compiled for Spark). Unlike a sum it cannot overflow."""


def daily_counts_expr(
    events: ir.Table,
    start: date,
    end: date,
    by: Sequence[str] = ("tool", "device", "country"),
    filters: Mapping[str, Sequence[str]] | None = None,
) -> ir.Table:
    """Checks per UTC day (``day``: days since 1970-01-01) and ``by`` columns, ``[start, end)``.

    ``by`` may name event columns and ``region``; ``filters`` keeps the rows whose column
    (or ``region``) is one of the given values.
    """
    rows = in_range(events, start, end)
    derived = {"day": day_number(rows)}
    if "region" in by or "region" in (filters or {}):
        derived["region"] = region_of(rows.country)
    rows = rows.mutate(**derived)
    for name, values in (filters or {}).items():
        rows = rows.filter(rows[name].isin(list(values)))
    return rows.group_by(["day", *by]).aggregate(checks=rows.count())


def synthetic_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """One row: ``n``, the checks in ``[start, end)`` whose event id marks them synthetic.

    Written as a range on ``event_id`` (``'syn-' <= id < 'syn.'``) so that engines can answer
    from Parquet / DuckDB min-max statistics without reading the ids.
    """
    rows = in_range(events, start, end)
    prefix = SYNTHETIC_ID_PREFIX
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = rows.filter((rows.event_id >= prefix) & (rows.event_id < after))
    return rows.aggregate(n=rows.count())


def reach_expr(events: ir.Table, start: date, end: date, column: str = "visitor") -> ir.Table:
    """Distinct ``column`` values (visitors or sessions) summarised by first/last day and region.

    One pass keyed by the id: for each id its first and last UTC day and whether it was seen
    in the U.S. (``us_min``/``us_max``: 0/1, from one OR of :func:`region_bit`); then the ids are counted per
    ``(first, last, us_min, us_max)``: a small table. Ids are keyed daily hashes (the salt
    rotates every UTC day), so ``first == last`` for all of them and the per-day, per-region
    distinct counts follow exactly; ids spanning days are counted by
    :func:`multi_day_reach_expr`. A session is one id on one UTC day (see
    :mod:`.sequences`), so sessions are keyed by id and day and never span days. Exact on
    every engine (no approximate ``nunique``).
    """
    rows = in_range(events, start, end)
    rows = rows.filter(rows[column].notnull())
    rows = rows.select(key=rows[column], day=day_number(rows), region=region_bit(rows.country))
    per_id = rows.group_by(["key", "day"] if column == "session" else "key").aggregate(
        first=rows.day.min(), last=rows.day.max(), region=bit_or(rows.region)
    )
    counted = per_id.group_by(["first", "last", "region"]).aggregate(n=per_id.count())
    return counted.select("first", "last", **us_flags(counted.region), n=counted.n)


def multi_day_reach_expr(
    events: ir.Table, start: date, end: date, column: str = "visitor"
) -> dict[str, ir.Table]:
    """Exact per-day distinct counts of the ids seen on more than one day (normally none).

    Returns ``by_region`` (``day``, ``region``, ``n``) and ``by_day`` (``day``, ``n``).
    """
    rows = in_range(events, start, end)
    rows = rows.filter(rows[column].notnull())
    rows = rows.select(key=rows[column], day=day_number(rows), region=region_of(rows.country))
    spans = rows.group_by("key").aggregate(first=rows.day.min(), last=rows.day.max())
    multi = spans.filter(spans["first"] != spans["last"]).select("key")
    inside = rows.semi_join(multi, "key")
    by_region = inside.select("day", "region", "key").distinct()
    by_day = inside.select("day", "key").distinct()
    return {
        "by_region": by_region.group_by(["day", "region"]).aggregate(n=by_region.count()),
        "by_day": by_day.group_by("day").aggregate(n=by_day.count()),
    }


def time_span_expr(events: ir.Table) -> ir.Table:
    """One row: ``first`` and ``last`` UTC day numbers with events (null when there are none)."""
    day = day_number(events)
    return events.aggregate(first=day.min(), last=day.max())
