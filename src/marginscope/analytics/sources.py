"""Opening the events: the five kinds of source the analytics read, as one Ibis table.

An Ibis table (as is); an Ibis backend or a ``duckdb`` connection (its ``events`` table); an
Arrow table; a DuckDB file (read-only, waiting briefly for the live writer's lock); a
Hive-partitioned Parquet dataset directory or ``*.parquet`` glob — and, with
``engine="spark"``, a Parquet dataset on Spark (:mod:`marginscope.analytics.spark`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from marginscope.analytics.memory import keep_memory
from marginscope.analytics.queries import time_span_expr
from marginscope.errors import InputError

__all__ = ["ENGINES", "close_events", "event_days", "open_events", "opened_events", "owns"]

ENGINES: tuple[str, ...] = ("duckdb", "spark")
"""Engines :func:`open_events` can open: ``duckdb`` (embedded, default) and ``spark`` (Ibis's
PySpark backend over a Parquet dataset, :mod:`marginscope.analytics.spark`)."""


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
    Ibis sets Spark's session time zone to UTC. What this opens for a path or an Arrow table
    is released by :func:`close_events` (or use :func:`opened_events`).
    """
    if engine not in ENGINES:
        raise InputError("engine", engine, " | ".join(ENGINES))
    if isinstance(source, ir.Table):
        return source
    if engine == "spark":
        from marginscope.analytics.spark import open_dataset

        return open_dataset(source, table=table)
    if isinstance(source, pa.Table):
        con = _own(duckdb.connect())
        con.register(table, source)
        return ibis.duckdb.from_connection(con).table(table)
    if isinstance(source, duckdb.DuckDBPyConnection):
        source.execute("SET TimeZone = 'UTC'")
        return ibis.duckdb.from_connection(source).table(table)
    if hasattr(source, "table") and hasattr(source, "raw_sql"):  # an Ibis backend
        return source.table(table)
    if isinstance(source, str | os.PathLike):
        return _open_path(Path(source), table)
    raise InputError(
        "source",
        type(source).__name__,
        "an Ibis table or backend, a duckdb connection, an Arrow table, a DuckDB "
        "file or a Parquet dataset directory",
    )


def _own(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection :func:`open_events` opened itself: UTC, no DuckDB progress bar (it would
    write over the CLI's own, from the report's threads), freed memory kept for reuse
    (:func:`~.memory.keep_memory`)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    keep_memory(con)
    return con


def _open_path(path: Path, table: str) -> ir.Table:
    text = str(path)
    if path.is_dir() or text.endswith(".parquet") or "*" in text:
        pattern = str(path / "**" / "*.parquet") if path.is_dir() else text
        backend = ibis.duckdb.from_connection(_own(duckdb.connect()))
        # by name: files written before a column was declared (seq, country_source) read NULL
        return backend.read_parquet(pattern, hive_partitioning=True, union_by_name=True)
    from marginscope.telemetry.store import connect

    if not path.is_file():
        raise InputError("source", text, "an existing DuckDB file with an events table")
    con = _own(connect(path, read_only=True))
    if not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()[0]:
        con.close()
        raise InputError(
            "source", text, f"a DuckDB file with an {table!r} table (run `marginscope ingest`)"
        )
    return ibis.duckdb.from_connection(con).table(table)


def owns(source: Any) -> bool:
    """Whether :func:`open_events` opens a connection of its own for ``source`` (so two
    threads may each open it and query at once)."""
    return isinstance(source, str | os.PathLike | pa.Table)


def close_events(events: ir.Table, source: Any) -> None:
    """Release what :func:`open_events` opened for ``source``: a DuckDB connection is closed
    (freeing the file for the live writer); on Spark only the dataset's temporary view is
    dropped, the shared session stays up. A caller's own connection or table is left open."""
    if not owns(source):
        return
    backend = events.get_backend()
    if backend.name == "pyspark":
        from marginscope.analytics.spark import release

        release(events)
    else:
        backend.disconnect()


@contextmanager
def opened_events(source: Any, *, engine: str = "duckdb") -> Iterator[ir.Table]:
    """:func:`open_events` for a ``with`` block, closed by :func:`close_events` at its end."""
    events = open_events(source, engine=engine)
    try:
        yield events
    finally:
        close_events(events, source)


def event_days(source: Any, *, engine: str = "duckdb") -> tuple[date, date] | None:
    """First and last UTC day with events, or None when the source holds none."""
    with opened_events(source, engine=engine) as events:
        row = time_span_expr(events).to_pyarrow().to_pylist()[0]
    if row["first"] is None:
        return None
    epoch = date(1970, 1, 1)
    return epoch + timedelta(days=int(row["first"])), epoch + timedelta(days=int(row["last"]))
