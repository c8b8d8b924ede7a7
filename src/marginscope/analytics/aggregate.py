"""Engine-side aggregation: events → daily counts per tool × device × country, and reach.

Written once as Ibis expressions over an Ibis table, so the same code runs on DuckDB (the
default) and on Spark through Ibis's PySpark backend (``engine="spark"``, :mod:`.spark`;
``tests/analytics/test_spark_parity.py`` checks both give the same numbers). Portability
rules, from the Ibis 12 gaps in ``analytics_anchors.md`` §4.3:

* the UTC day is ``floor(epoch_micros(ts) / 86400e6)``, an integer that does not depend on
  the session time zone (a ``CAST(ts AS DATE)`` does on both engines); weekdays are computed
  in NumPy, never with the engines' differently numbered ``DAYOFWEEK``. Spark divides
  integers in double precision before the ``FLOOR``; that is exact for every day up to
  year 2255 (the microsecond count fits in 53 bits and the last microsecond of a day stays
  more than half a unit in the last place below the next integer);
* distinct visitors and sessions are counted *exactly* as the row count of a ``DISTINCT``
  projection grouped afterwards (two-stage), never with an approximate ``nunique``;
* no window functions, RANGE frames, UDFs or grouping sets; the calendar is zero-filled in
  NumPy on the small result (30–60 days × a few hundred cells).

Region is derived at query time: ``US`` when ``country == 'US'``, else ``rest`` (``ZZ``,
unknown, counts as rest).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from marginscope.errors import InputError
from marginscope.telemetry.schema import DEVICES, tool_ids

__all__ = [
    "ENGINES", "REACH_COLUMNS", "REGIONS", "SEGMENTS", "SYNTHETIC_ID_PREFIX", "DailyCube", "Reach",
    "aggregate", "daily", "daily_counts_expr", "month_bounds", "multi_day_reach_expr",
    "open_events", "reach_expr", "segment_of", "synthetic_expr", "weekday",
]

ENGINES: tuple[str, ...] = ("duckdb", "spark")
"""Engines :func:`open_events` can open: ``duckdb`` (embedded, default) and ``spark`` (Ibis's
PySpark backend over a Parquet dataset, :mod:`marginscope.analytics.spark`)."""

REGIONS: tuple[str, ...] = ("US", "rest")
REACH_COLUMNS: tuple[str, ...] = ("US", "rest", "all")
SEGMENTS: tuple[str, ...] = ("all", "device:mobile", "device:desktop", "region:US",
                             "region:rest")
"""The segments the findings speak about (the JSON contract's ``segment`` values)."""

SYNTHETIC_ID_PREFIX = "syn"
"""Event ids of synthetic events start with this: ``syn-…`` (``marginscope.sim.planted``) and
``synthetic-…`` (``bench/telemetry_ingest.py``). Real ids are hex digits, so no real event
matches; the report labels data holding such events synthetic."""

_DAY_SECONDS = 86_400
_EPOCH = np.datetime64("1970-01-01", "D")


# --- opening a source -------------------------------------------------------------------------

def open_events(source: Any, *, engine: str = "duckdb", table: str = "events") -> ir.Table:
    """The events as an Ibis table.

    Parameters
    ----------
    source
        An Ibis table (returned as is); an Ibis backend or a ``duckdb`` connection (its
        ``table``); an Arrow table of events; a path to a DuckDB file (its ``events`` table,
        opened read-only, waiting briefly for the live writer's lock); or a Hive-partitioned
        Parquet dataset directory (``date=YYYY-MM-DD/*.parquet``) or a ``*.parquet`` glob.
        With ``engine="spark"``: a Parquet dataset directory or URL (``s3a://…``), an Ibis
        PySpark backend or a SparkSession (:func:`marginscope.analytics.spark.open_dataset`).
    engine : str
        One of :data:`ENGINES`.

    DuckDB connections are set to ``TimeZone = 'UTC'`` (the telemetry store does the same);
    Ibis sets Spark's session time zone to UTC.
    """
    if engine not in ENGINES:
        raise InputError("engine", engine, " | ".join(ENGINES))
    if isinstance(source, ir.Table):
        return source
    if engine == "spark":
        from marginscope.analytics.spark import open_dataset

        return open_dataset(source, table=table)
    if isinstance(source, pa.Table):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.register(table, source)
        return ibis.duckdb.from_connection(con).table(table)
    if isinstance(source, duckdb.DuckDBPyConnection):
        source.execute("SET TimeZone = 'UTC'")
        return ibis.duckdb.from_connection(source).table(table)
    if hasattr(source, "table") and hasattr(source, "raw_sql"):  # an Ibis backend
        return source.table(table)
    if isinstance(source, str | os.PathLike):
        return _open_path(Path(source), table)
    raise InputError("source", type(source).__name__,
                     "an Ibis table or backend, a duckdb connection, an Arrow table, a DuckDB "
                     "file or a Parquet dataset directory")


def _open_path(path: Path, table: str) -> ir.Table:
    text = str(path)
    if path.is_dir() or text.endswith(".parquet") or "*" in text:
        pattern = str(path / "**" / "*.parquet") if path.is_dir() else text
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        backend = ibis.duckdb.from_connection(con)
        return backend.read_parquet(pattern, hive_partitioning=True)
    from marginscope.telemetry.store import connect

    if not path.is_file():
        raise InputError("--db", text, "an existing DuckDB file with an events table")
    con = connect(path, read_only=True)
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                       [table]).fetchone()[0]:
        con.close()
        raise InputError("--db", text, f"a DuckDB file with an {table!r} table "
                         "(run `marginscope ingest`)")
    return ibis.duckdb.from_connection(con).table(table)


# --- expressions (engine-agnostic) --------------------------------------------------------------

def _bounds(start: date, end: date) -> tuple[ir.Value, ir.Value]:
    if end <= start:
        raise InputError("end", end.isoformat(), f"after start {start.isoformat()}")

    def at(day: date) -> ir.Value:
        return ibis.literal(datetime(day.year, day.month, day.day, tzinfo=UTC),
                            type="timestamp('UTC')")
    return at(start), at(end)


def _in_range(events: ir.Table, start: date, end: date) -> ir.Table:
    """Events with ``start <= ts < end``; on a Hive Parquet dataset also ``start <= date <
    end``, the partition column (the UTC day of ``ts``, as the sink writes it), so that both
    engines skip the other days' files instead of reading their footers."""
    low, high = _bounds(start, end)
    keep = (events.ts >= low) & (events.ts < high)
    if "date" in events.columns and events["date"].type().is_date():
        keep &= ((events["date"] >= ibis.literal(start, type="date"))
                 & (events["date"] < ibis.literal(end, type="date")))
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


def _day(events: ir.Table) -> ir.IntegerValue:
    """UTC day number (days since 1970-01-01): time-zone independent on every engine."""
    try:
        engine = events._find_backend().name
    except Exception:  # an unbound table: use the portable form
        engine = ""
    micros = _EPOCH_MICROS.get(engine)
    if micros is None:
        return (events.ts.epoch_seconds() // _DAY_SECONDS).cast("int32")
    return (micros(events.ts) // (_DAY_SECONDS * 1_000_000)).cast("int32")


def _region(country: ir.StringValue) -> ir.StringValue:
    return ibis.cases((country == "US", "US"), else_="rest")


def daily_counts_expr(events: ir.Table, start: date, end: date,
                      by: Sequence[str] = ("tool", "device", "country")) -> ir.Table:
    """Checks per UTC day (``day``: days since 1970-01-01) and ``by`` columns, ``[start, end)``.

    ``by`` may name event columns and ``region``.
    """
    rows = _in_range(events, start, end)
    derived = {"day": _day(rows)}
    if "region" in by:
        derived["region"] = _region(rows.country)
    rows = rows.mutate(**derived)
    return rows.group_by(["day", *by]).aggregate(checks=rows.count())


def synthetic_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """One row: ``n``, the checks in ``[start, end)`` whose event id marks them synthetic.

    Written as a range on ``event_id`` (``'syn-' <= id < 'syn.'``) so that engines can answer
    from Parquet / DuckDB min-max statistics without reading the ids.
    """
    rows = _in_range(events, start, end)
    prefix = SYNTHETIC_ID_PREFIX
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = rows.filter((rows.event_id >= prefix) & (rows.event_id < after))
    return rows.aggregate(n=rows.count())


def reach_expr(events: ir.Table, start: date, end: date, column: str = "visitor") -> ir.Table:
    """Distinct ``column`` values (visitors or sessions) summarised by first/last day and region.

    One pass keyed by the id: for each id its first and last UTC day and whether it was seen
    in the U.S. (``us_min``/``us_max``: 0/1); then the ids are counted per
    ``(first, last, us_min, us_max)``: a small table. Ids are keyed daily hashes (the salt
    rotates every UTC day), so ``first == last`` for all of them and the per-day, per-region
    distinct counts follow exactly; ids spanning days are counted by
    :func:`multi_day_reach_expr`. Exact on every engine (no approximate ``nunique``).
    """
    rows = _in_range(events, start, end)
    rows = rows.filter(rows[column].notnull())
    rows = rows.select(key=rows[column], day=_day(rows),
                       us=(rows.country == "US").cast("int8"))
    per_id = rows.group_by("key").aggregate(first=rows.day.min(), last=rows.day.max(),
                                             us_min=rows.us.min(), us_max=rows.us.max())
    return per_id.group_by(["first", "last", "us_min", "us_max"]).aggregate(n=per_id.count())


def multi_day_reach_expr(events: ir.Table, start: date, end: date,
                         column: str = "visitor") -> dict[str, ir.Table]:
    """Exact per-day distinct counts of the ids seen on more than one day (normally none).

    Returns ``by_region`` (``day``, ``region``, ``n``) and ``by_day`` (``day``, ``n``).
    """
    rows = _in_range(events, start, end)
    rows = rows.filter(rows[column].notnull())
    rows = rows.select(key=rows[column], day=_day(rows), region=_region(rows.country))
    spans = rows.group_by("key").aggregate(first=rows.day.min(), last=rows.day.max())
    multi = spans.filter(spans["first"] != spans["last"]).select("key")
    inside = rows.semi_join(multi, "key")
    by_region = inside.select("day", "region", "key").distinct()
    by_day = inside.select("day", "key").distinct()
    return {"by_region": by_region.group_by(["day", "region"]).aggregate(n=by_region.count()),
            "by_day": by_day.group_by("day").aggregate(n=by_day.count())}


# --- results (NumPy) ------------------------------------------------------------------------------

def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 for ``datetime64[D]`` days (1970-01-01 was a Thursday)."""
    return ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def segment_of(segment: str) -> tuple[str | None, str | None]:
    """``(device, region)`` selected by a segment id (None: any)."""
    if segment == "all":
        return None, None
    kind, _, value = segment.partition(":")
    if kind == "device" and value:
        return value, None
    if kind == "region" and value in REGIONS:
        return None, value
    raise InputError("segment", segment, "all | device:<device> | region:US | region:rest")


@dataclass(frozen=True, eq=False)
class Reach:
    """Exact distinct visitors and sessions over days ``[start, end)`` of a cube.

    ``visitors``/``sessions`` have shape (day, 3) for :data:`REACH_COLUMNS` (``US``, ``rest``,
    ``all``); a visitor seen in both regions on a day counts in each region and once in
    ``all``. ``total_visitors``/``total_sessions`` are distinct over the whole period.
    ``multi_day`` counts ids seen on more than one UTC day (0 with daily-salted ids).
    """

    start: int
    end: int
    visitors: np.ndarray
    sessions: np.ndarray
    total_visitors: int
    total_sessions: int
    multi_day: int


@dataclass(frozen=True, eq=False)
class DailyCube:
    """Zero-filled daily counts on a consecutive UTC calendar.

    Attributes
    ----------
    days : numpy.ndarray of datetime64[D]
        Consecutive UTC days.
    counts : numpy.ndarray of int64, shape (day, tool, device, country)
        Checks (pre-trade setups) per cell; 0 where none were recorded.
    synthetic : int
        Checks whose event id marks them synthetic (``syn-``), over all the cube's days.
    reach : Reach or None
        Distinct visitors and sessions (None when not aggregated).
    """

    days: np.ndarray
    tools: tuple[str, ...]
    devices: tuple[str, ...]
    countries: tuple[str, ...]
    counts: np.ndarray
    synthetic: int = 0
    reach: Reach | None = None

    @property
    def weekdays(self) -> np.ndarray:
        """Monday = 0 … Sunday = 6 per day."""
        return weekday(self.days)

    def index(self, day: date | str) -> int:
        """Position of a day in :attr:`days`."""
        hits = np.flatnonzero(self.days == np.datetime64(str(day), "D"))
        if hits.size == 0:
            raise InputError("date", str(day), f"a day from {self.days[0]} to {self.days[-1]}")
        return int(hits[0])

    def _masks(self, segment: str) -> tuple[np.ndarray, np.ndarray]:
        device, region = segment_of(segment)
        devices = (np.ones(len(self.devices), dtype=bool) if device is None
                   else np.asarray([d == device for d in self.devices], dtype=bool))
        if region is None:
            countries = np.ones(len(self.countries), dtype=bool)
        else:
            is_us = np.asarray([c == "US" for c in self.countries], dtype=bool)
            countries = is_us if region == "US" else ~is_us
        return devices, countries

    def series(self, tool: str | None = None, segment: str = "all") -> np.ndarray:
        """Daily checks of ``tool`` (None: all tools) in ``segment``."""
        devices, countries = self._masks(segment)
        part = self.counts if tool is None else self.counts[:, [self.tools.index(tool)]]
        return part[:, :, devices][:, :, :, countries].sum(axis=(1, 2, 3))

    def tool_matrix(self, segment: str = "all") -> np.ndarray:
        """Daily checks per tool, shape (day, tool)."""
        devices, countries = self._masks(segment)
        return self.counts[:, :, devices][:, :, :, countries].sum(axis=(2, 3))

    def by_country(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per country over days ``[start, end)``, largest first."""
        totals = self.counts[start:end].sum(axis=(0, 1, 2))
        order = np.argsort(-totals, kind="stable")
        return {self.countries[i]: int(totals[i]) for i in order if totals[i] > 0}

    def by_device(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per device class over days ``[start, end)``."""
        totals = self.counts[start:end].sum(axis=(0, 1, 3))
        return {d: int(n) for d, n in zip(self.devices, totals, strict=True)}

    def by_tool(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Checks per tool over days ``[start, end)``."""
        totals = self.counts[start:end].sum(axis=(0, 2, 3))
        return {t: int(n) for t, n in zip(self.tools, totals, strict=True)}


def _day_numbers(start: date, end: date) -> np.ndarray:
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))


def _columns(expr: ir.Table) -> dict[str, np.ndarray]:
    table = expr.to_pyarrow()
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


def _reach(events: ir.Table, days: np.ndarray, start: int, end: int, column: str
           ) -> tuple[np.ndarray, int, int]:
    """(per-day distinct counts (day, 3), distinct over the period, ids spanning days)."""
    first_day, last_day = days[start].astype(object), (days[end - 1] + 1).astype(object)
    rows = _columns(reach_expr(events, first_day, last_day, column))
    out = np.zeros((len(days), len(REACH_COLUMNS)), dtype=np.int64)
    origin = int(days[0].astype(np.int64))
    single = rows["first"] == rows["last"]
    day = rows["first"].astype(np.int64) - origin
    n = rows["n"].astype(np.int64)
    us = single & (rows["us_max"] == 1)
    rest = single & (rows["us_min"] == 0)
    np.add.at(out, (day[us], 0), n[us])
    np.add.at(out, (day[rest], 1), n[rest])
    np.add.at(out, (day[single], 2), n[single])
    multi = int(n[~single].sum())
    if multi:
        exprs = multi_day_reach_expr(events, first_day, last_day, column)
        by_region = _columns(exprs["by_region"])
        by_day = _columns(exprs["by_day"])
        column_of = np.where(by_region["region"] == "US", 0, 1)
        np.add.at(out, (by_region["day"].astype(np.int64) - origin, column_of),
                  by_region["n"].astype(np.int64))
        np.add.at(out, (by_day["day"].astype(np.int64) - origin, 2),
                  by_day["n"].astype(np.int64))
    return out, int(n.sum()), multi


def aggregate(source: Any, start: date, end: date, *, engine: str = "duckdb",
              reach_from: date | None = None, reach: bool = True,
              tools: Iterable[str] | None = None) -> DailyCube:
    """Run the daily aggregation for ``[start, end)`` and zero-fill it into a :class:`DailyCube`.

    Parameters
    ----------
    source
        Anything :func:`open_events` accepts.
    start, end : date
        UTC days, end exclusive (the report passes the month plus its 28-day lead-in).
    reach_from : date, optional
        First day of the distinct visitor/session counts (default ``start``); the report
        counts reach over the month only.
    reach : bool
        Count distinct visitors and sessions (two passes keyed by id).
    tools : iterable of str, optional
        The tool axis (default: the registered tool ids, then any others seen).
    """
    events = open_events(source, engine=engine)
    try:
        return _aggregate(events, start, end, reach_from=reach_from, reach=reach, tools=tools)
    finally:
        _close(events, source)


def _owns(source: Any) -> bool:
    """Whether :func:`open_events` opened a connection of its own for ``source``."""
    return isinstance(source, str | os.PathLike | pa.Table)


def _close(events: ir.Table, source: Any) -> None:
    """Release what :func:`open_events` opened for ``source``: a DuckDB connection is closed
    (freeing the file for the live writer); on Spark only the dataset's temporary view is
    dropped, the shared session stays up."""
    if not _owns(source):
        return
    backend = events.get_backend()
    if backend.name == "pyspark":
        from marginscope.analytics.spark import release

        release(events)
    else:
        backend.disconnect()


def _aggregate(events: ir.Table, start: date, end: date, *, reach_from: date | None,
               reach: bool, tools: Iterable[str] | None) -> DailyCube:
    days = _day_numbers(start, end)
    rows = _columns(daily_counts_expr(events, start, end))
    seen_tools = sorted({str(t) for t in rows["tool"]})
    tool_axis = list(tools) if tools is not None else list(tool_ids())
    tool_axis += [t for t in seen_tools if t not in tool_axis]
    device_axis = list(DEVICES) + sorted({str(d) for d in rows["device"]} - set(DEVICES))
    country_axis = sorted({str(c) for c in rows["country"]})
    counts = np.zeros((len(days), len(tool_axis), len(device_axis), len(country_axis)),
                      dtype=np.int64)
    if rows["day"].size:
        lookup = {name: {v: i for i, v in enumerate(axis)} for name, axis in
                  (("tool", tool_axis), ("device", device_axis), ("country", country_axis))}
        index = tuple(np.fromiter((lookup[name][str(v)] for v in rows[name]), dtype=np.int64,
                                  count=rows[name].size) for name in ("tool", "device", "country"))
        day = rows["day"].astype(np.int64) - int(days[0].astype(np.int64))
        np.add.at(counts, (day, *index), rows["checks"].astype(np.int64))
    reach_result = None
    if reach and len(days):
        first = 0 if reach_from is None else int((np.datetime64(reach_from, "D") - days[0])
                                                 .astype(np.int64))
        if not 0 <= first < len(days):
            raise InputError("reach_from", str(reach_from), f"a day in [{start}, {end})")
        visitors, total_visitors, multi_v = _reach(events, days, first, len(days), "visitor")
        sessions, total_sessions, multi_s = _reach(events, days, first, len(days), "session")
        reach_result = Reach(start=first, end=len(days), visitors=visitors, sessions=sessions,
                             total_visitors=total_visitors, total_sessions=total_sessions,
                             multi_day=multi_v + multi_s)
    synthetic = int(synthetic_expr(events, start, end).to_pyarrow()["n"][0].as_py() or 0)
    return DailyCube(days=days, tools=tuple(tool_axis), devices=tuple(device_axis),
                     countries=tuple(country_axis), counts=counts, synthetic=synthetic,
                     reach=reach_result)


# --- the dashboard's query --------------------------------------------------------------------------

_DIMENSIONS = ("tool", "device", "region", "country")


def daily(source: Any, start: date | str, end: date | str,
          filters: Mapping[str, str | Sequence[str]] | None = None, *,
          by: Sequence[str] = ("tool",), k: int | None = None,
          engine: str = "duckdb") -> list[dict[str, Any]]:
    """Daily checks for a dashboard: one row per (day, ``by`` values), zero-filled, suppressed.

    Parameters
    ----------
    source
        Anything :func:`open_events` accepts (e.g. the web app's DuckDB connection).
    start, end : date or ISO str
        ``[start, end)`` in UTC days.
    filters : mapping, optional
        ``{"tool": "margin_call", "device": ["mobile", "tablet"], "region": "US",
        "country": [...]}``; each value one id or a list.
    by : sequence of str
        Break-down columns among ``tool``, ``device``, ``region``, ``country`` (may be empty).
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

    start_day, end_day = (d if isinstance(d, date) else _parse_day(d, name)
                          for d, name in ((start, "start"), (end, "end")))
    for name in [*by, *(filters or {})]:
        if name not in _DIMENSIONS:
            raise InputError("by" if name in by else "filters", name, " | ".join(_DIMENSIONS))
    k = min_cell() if k is None else int(k)
    events = open_events(source, engine=engine)
    try:
        rows = _in_range(events, start_day, end_day)
        rows = rows.mutate(day=_day(rows), region=_region(rows.country))
        for name, wanted in (filters or {}).items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            rows = rows.filter(rows[name].isin(values))
        table = rows.group_by(["day", *by]).aggregate(checks=rows.count()).to_pyarrow()
    finally:
        _close(events, source)
    table = table.to_pylist()
    days = _day_numbers(start_day, end_day)
    first = int(days[0].astype(np.int64))
    cells: dict[tuple[Any, ...], np.ndarray] = {}
    for row in table:
        key = tuple(row[name] for name in by)
        cells.setdefault(key, np.zeros(len(days), dtype=np.int64))[row["day"] - first] = row[
            "checks"]
    if not by:
        cells.setdefault((), np.zeros(len(days), dtype=np.int64))
    out = []
    for i, day in enumerate(days):
        for key in sorted(cells, key=lambda kk: tuple(map(str, kk))):
            value = int(cells[key][i])
            hidden = 0 < value < k
            out.append({"date": str(day), **dict(zip(by, key, strict=True)),
                        "checks": None if hidden else value, "suppressed": hidden})
    return out


def _parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InputError(name, text, "an ISO date, e.g. 2025-11-01") from None


def month_bounds(month: str) -> tuple[date, date]:
    """First day of ``YYYY-MM`` and the first day of the next month."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError("--month", month, "YYYY-MM, e.g. 2025-11") from None
    if len(month) != 7:
        raise InputError("--month", month, "YYYY-MM, e.g. 2025-11")
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following
