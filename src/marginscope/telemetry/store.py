"""The DuckDB event store: connection, tables, idempotent inserts, and the live sink.

Tables (docs/telemetry.md, "Storage"):

``events``
    One row per event in the canonical schema (:data:`~marginscope.telemetry.schema.COLUMNS`).
    ``event_id`` is the idempotency key: a row whose ``event_id`` is already present is skipped
    (ingest, retried batches), so loading the same file twice does not double-count.
``daily_aggregates``
    Counts per UTC day and coarse segment, written by retention before raw rows expire.
``retention_log``
    One row per retention run (cutoff, rows expired) so later imports can warn about dates
    that were already rolled up.
``telemetry_counts``
    ``(day, counter, n)``: per UTC day, calculations that were not recorded, by the pipeline's
    drop reason (``over_budget``, ``bot``, ``queue_full``…), and ``lost`` (acknowledged, then
    lost with a sink process that died). Upserted by the sink (:meth:`DuckDBSink.add_counts`);
    the report's methodology states them. Kept through retention (counts of nothing personal).

A file written before a column was added to the schema (``country_source``) gets the column
(NULL in old rows) the next time a writer opens it (:func:`ensure_schema`); read-only readers
treat it as absent.

Sinks: :class:`DuckDBSink` opens the file per batch (a process that shares it with the CLI);
:class:`HeldDuckDBSink` (the server's) keeps it open while batches follow each other and
releases it after :data:`IDLE_RELEASE_SECONDS` without one: opening and closing the file for
every batch costs ~80 ms of CPU per batch, which under load took most of the server's
throughput. While held, other processes (``marginscope report``, ``export``) wait for the
lock as they do for any batch.

Every connection runs with ``TimeZone = 'UTC'``: naive timestamps are read as UTC and
``TIMESTAMPTZ`` values print in UTC.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from marginscope import duckfile
from marginscope.errors import InputError
from marginscope.telemetry.schema import COLUMNS, DUCKDB_TYPES, EVENT_COLUMNS, create_table_sql

__all__ = [
    "AGGREGATE_DIMENSIONS", "IDLE_RELEASE_SECONDS", "DuckDBSink", "HeldDuckDBSink", "add_counts",
    "attach", "connect", "ensure_schema", "insert_new_events", "read_counts", "stored_columns",
]

IDLE_RELEASE_SECONDS = 1.0
"""A :class:`HeldDuckDBSink` closes the file after this long without a batch."""

AGGREGATE_DIMENSIONS: tuple[str, ...] = (
    "tool", "device", "country", "venue", "symbol", "side", "margin_mode", "leverage",
    "notional_bucket",
)

_EVENTS_DDL = create_table_sql("events")

_AGGREGATES_DDL = "CREATE TABLE IF NOT EXISTS daily_aggregates (date DATE NOT NULL, " + ", ".join(
    f"{name} {DUCKDB_TYPES[name]}" for name in AGGREGATE_DIMENSIONS
) + ", events BIGINT NOT NULL, visitors BIGINT NOT NULL, sessions BIGINT NOT NULL)"

_RETENTION_LOG_DDL = ("CREATE TABLE IF NOT EXISTS retention_log (run_at TIMESTAMPTZ NOT NULL, "
                      "cutoff TIMESTAMPTZ NOT NULL, expired BIGINT NOT NULL)")

_COUNTS_DDL = ("CREATE TABLE IF NOT EXISTS telemetry_counts (day DATE NOT NULL, "
               "counter VARCHAR NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (day, counter))")


def connect(db: str | os.PathLike[str], *, read_only: bool = False,
            wait_seconds: float = 10.0) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting up to ``wait_seconds`` while another process holds it.

    A DuckDB file has one writing process at a time; the live sink holds it only for the
    instant of each batch, so CLI commands wait briefly instead of failing.
    """
    path = Path(db)
    if read_only and not path.exists():
        raise InputError("--db", str(path), "an existing DuckDB file (run `marginscope ingest`)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        try:
            con = duckfile.connect(path, read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    con.execute("SET TimeZone = 'UTC'")
    return con


def attach(con: duckdb.DuckDBPyConnection, db: str | os.PathLike[str], alias: str = "store",
           *, wait_seconds: float = 10.0) -> None:
    """``ATTACH`` the DuckDB file as ``alias`` and make it the default catalog (``USE``).

    Staging runs in memory and only the final insert holds the file's lock; like
    :func:`connect`, waits up to ``wait_seconds`` while another process holds it.
    """
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = "'" + str(path).replace("'", "''") + "'"
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        try:
            con.execute(f"ATTACH {source} AS {alias}")
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    con.execute(f"USE {alias}")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``events``, ``daily_aggregates``, ``retention_log`` and ``telemetry_counts`` if
    missing, and add to an older ``events`` table the (nullable) columns it lacks."""
    con.execute(_EVENTS_DDL)
    stored = stored_columns(con)
    for declared in EVENT_COLUMNS:
        if stored[declared.name] != declared.name:
            if not declared.nullable:
                raise InputError("events", declared.name,
                                 "an events table with every non-nullable column")
            con.execute(f"ALTER TABLE events ADD COLUMN {declared.ddl()}")
    con.execute(_AGGREGATES_DDL)
    con.execute(_RETENTION_LOG_DDL)
    con.execute(_COUNTS_DDL)


def stored_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each canonical column → how to select it from ``events``: its name, or a typed NULL
    when the table predates it (an older store opened read-only)."""
    present = {row[0] for row in con.execute("SELECT * FROM events LIMIT 0").description}
    return {name: name if name in present else f"NULL::{DUCKDB_TYPES[name]} AS {name}"
            for name in COLUMNS}


def add_counts(con: duckdb.DuckDBPyConnection, counts: Mapping[tuple[date, str], int]) -> None:
    """Add ``{(day, counter): n}`` to ``telemetry_counts`` (upsert: counts add up)."""
    rows = [(day, counter, int(n)) for (day, counter), n in counts.items() if n]
    if rows:
        con.executemany("INSERT INTO telemetry_counts VALUES (?, ?, ?) ON CONFLICT (day, counter) "
                        "DO UPDATE SET n = n + excluded.n", rows)


def insert_new_events(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Insert rows of relation ``source`` whose ``event_id`` is not in ``events`` yet.

    ``source`` must have the canonical columns and unique ``event_id`` values. Returns the
    number of rows inserted (the others were already present).
    """
    columns = ", ".join(COLUMNS)
    result = con.execute(
        f"INSERT INTO events ({columns}) SELECT {', '.join('s.' + c for c in COLUMNS)} "
        f"FROM {source} s ANTI JOIN events e ON e.event_id = s.event_id").fetchone()
    return int(result[0]) if result else 0


def read_counts(source: object, first: date, following: date) -> dict[str, int] | None:
    """Events not recorded in ``[first, following)`` per counter, from ``telemetry_counts``
    of a DuckDB file or connection; None when ``source`` keeps no counts (another kind of
    source, or a file written before the table existed)."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        return _counts_between(source, first, following)
    if isinstance(source, str | os.PathLike) and Path(source).is_file():
        try:
            con = connect(source, read_only=True)
        except duckdb.Error:  # not a DuckDB file (a single Parquet file): no counts
            return None
        try:
            return _counts_between(con, first, following)
        finally:
            con.close()
    return None


def _counts_between(con: duckdb.DuckDBPyConnection, first: date,
                    following: date) -> dict[str, int] | None:
    if not con.execute("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_name = 'telemetry_counts'").fetchone()[0]:
        return None
    rows = con.execute("SELECT counter, sum(n) FROM telemetry_counts WHERE day >= ? AND day < ? "
                       "GROUP BY counter ORDER BY counter", [first, following]).fetchall()
    return {counter: int(n) for counter, n in rows}


class DuckDBSink:
    """Live-event sink into a DuckDB file: one transaction per batch, durable at commit.

    Parameters
    ----------
    db : path-like
        The DuckDB file (``--db`` / ``MARGINSCOPE_DB``).
    keep_open : bool
        Keep the connection (and the file's write lock) between batches. Default False:
        the file is opened per batch so ``marginscope report``/``export``/``ingest`` can use
        it between batches; set True for a single process that owns the file.
    """

    def __init__(self, db: str | os.PathLike[str], *, keep_open: bool = False) -> None:
        self.db = Path(db)
        self.keep_open = keep_open
        self._con: duckdb.DuckDBPyConnection | None = None
        self._failed_once = False
        con = self._connection()
        ensure_schema(con)
        self._release(con)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect(self.db)
        return self._con

    def _forget(self, con: duckdb.DuckDBPyConnection) -> None:
        """After a failed transaction: close the connection; the next write opens another."""
        try:
            con.close()
        finally:
            self._con = None

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        if not self.keep_open:
            con.close()
            self._con = None

    def write(self, table: pa.Table) -> None:
        """Insert the batch and commit; returns once the commit is durable (WAL fsync).

        The first attempt is a plain insert (live ids are fresh random ids). After a failure
        the retry inserts only ids not yet present, so a batch is never stored twice.
        """
        con = self._connection()
        try:
            con.register("_batch", table)
            con.execute("BEGIN TRANSACTION")
            if self._failed_once:
                insert_new_events(con, "_batch")
            else:
                con.execute(f"INSERT INTO events ({', '.join(COLUMNS)}) "
                            f"SELECT {', '.join(COLUMNS)} FROM _batch")
            con.execute("COMMIT")
            con.unregister("_batch")
            self._failed_once = False
        except Exception:
            self._failed_once = True
            self._forget(con)
            raise
        self._release(con)

    def add_counts(self, counts: Mapping[tuple[date, str], int]) -> None:
        """Add per-day counts of events not recorded (:func:`add_counts`) and commit."""
        con = self._connection()
        try:
            con.execute("BEGIN TRANSACTION")
            add_counts(con, counts)
            con.execute("COMMIT")
        except Exception:
            self._forget(con)
            raise
        self._release(con)

    def close(self) -> None:
        """Close the connection if one is held."""
        if self._con is not None:
            self._con.close()
            self._con = None


class HeldDuckDBSink(DuckDBSink):
    """A :class:`DuckDBSink` that keeps the file open between batches that follow each other
    and closes it after ``idle_seconds`` without one (so CLI commands get the file then)."""

    def __init__(self, db: str | os.PathLike[str],
                 idle_seconds: float = IDLE_RELEASE_SECONDS) -> None:
        super().__init__(db, keep_open=True)
        self.idle_seconds = idle_seconds
        self._guard = threading.Lock()
        self._last_write = 0.0
        self._timer: threading.Timer | None = None
        super().close()  # not held until the first batch

    def write(self, table: pa.Table) -> None:
        with self._guard:
            super().write(table)
            self._held()

    def add_counts(self, counts: Mapping[tuple[date, str], int]) -> None:
        with self._guard:
            super().add_counts(counts)
            self._held()

    def _held(self) -> None:
        """Just written (guard held): keep the file until ``idle_seconds`` without a write."""
        self._last_write = time.monotonic()
        if self._timer is None:
            self._timer = threading.Timer(self.idle_seconds, self._idle_check)
            self._timer.daemon = True
            self._timer.start()

    def _idle_check(self) -> None:
        with self._guard:
            self._timer = None
            idle = time.monotonic() - self._last_write
            if idle < self.idle_seconds:  # written since: look again later
                self._timer = threading.Timer(self.idle_seconds - idle, self._idle_check)
                self._timer.daemon = True
                self._timer.start()
                return
            super().close()

    def close(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().close()
