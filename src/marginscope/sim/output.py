"""Writing simulated events: into the DuckDB event store or a Parquet file, labelled synthetic.

Both paths go through the telemetry layer (never HTTP):

* :func:`write_duckdb` inserts the Arrow table with the store's idempotent insert
  (:func:`marginscope.telemetry.store.insert_new_events`, through :func:`insert_events`, the
  one event write path of the simulators) in one transaction, and sets the
  ``events`` table's comment to the simulation's source label (``synthetic: marginscope.sim
  …``), so the file says what it holds;
* :func:`write_parquet` writes a file that ``marginscope ingest`` loads with full validation
  (the Arrow metadata, ``synthetic = true`` and the source label, is kept in the file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from marginscope.errors import InputError
from marginscope.telemetry.schema import (
    ARROW_SCHEMA,
    SEQ_MAX,
    SYNTHETIC_ID_PREFIX,
    is_synthetic_id,
)

__all__ = ["insert_events", "is_synthetic", "session_seq", "write_duckdb", "write_parquet"]


def session_seq(session: np.ndarray) -> pa.Array:
    """The ``seq`` column: each event's rank within its session (0, 1, 2, …), in row order,
    as the page's per-tab counter numbers a session's calculations; rows must be in each
    session's order (time order). One stable sort by session; ranks past ``SEQ_MAX`` are NULL
    (as the page sends none)."""
    session = np.asarray(session)
    n = session.size
    order = np.argsort(session, kind="stable")
    grouped = session[order]
    starts = np.r_[0, np.flatnonzero(grouped[1:] != grouped[:-1]) + 1] if n else np.zeros(0, int)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = rank
    return pa.array(seq.astype(np.int16), mask=seq > SEQ_MAX)


def is_synthetic(table: pa.Table) -> bool:
    """True when the table's schema metadata marks it synthetic."""
    return (table.schema.metadata or {}).get(b"synthetic") == b"true"


def _check(table: pa.Table) -> None:
    if not is_synthetic(table):
        raise InputError("table", "metadata", "a table from marginscope.sim (synthetic = true)")
    if not table.schema.remove_metadata().equals(ARROW_SCHEMA):
        raise InputError("table", table.schema.names, "the canonical event schema")


def _check_ids(table: pa.Table) -> None:
    """Refuse a table with an event id that is not synthetic: the smallest and the largest id
    both carrying the prefix means every id between them does."""
    if not table.num_rows:
        return
    bounds = pc.min_max(table["event_id"])
    for end in ("min", "max"):
        event_id = bounds[end].as_py()
        if event_id is None or not is_synthetic_id(event_id):
            raise InputError("event_id", event_id,
                             f"simulated events only (ids starting with {SYNTHETIC_ID_PREFIX})")


def write_duckdb(table: pa.Table, db: str | os.PathLike[str]) -> int:
    """Insert the simulated events into the store's ``events`` table; returns rows inserted.

    Rows whose ``event_id`` is already stored are skipped (the same simulation twice adds
    nothing).
    """
    _check(table)
    return insert_events(db, [table], label=table.schema.metadata[b"source"].decode())


def insert_events(db: str | os.PathLike[str], tables: Iterable[pa.Table], *,
                  label: str | None = None) -> int:
    """Insert canonical event tables into the store's ``events`` table in one transaction,
    through the store's idempotent insert (:func:`~marginscope.telemetry.store.
    insert_new_events`: ids already stored are skipped); returns the rows inserted.

    ``label`` (the simulation's source label) becomes the ``events`` table's comment.
    """
    from marginscope.telemetry.store import connect, ensure_schema, insert_new_events

    con = connect(db)
    try:
        ensure_schema(con)
        con.execute("BEGIN TRANSACTION")
        try:
            inserted = 0
            for table in tables:
                _check_ids(table)
                con.register("_ms_sim", table)
                inserted += insert_new_events(con, "_ms_sim")
                con.unregister("_ms_sim")
            if label is not None:
                quoted = label.replace("'", "''")
                con.execute(f"COMMENT ON TABLE events IS '{quoted}'")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return inserted


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write the events to one Parquet file (zstd) that ``marginscope ingest`` accepts."""
    _check(table)
    path = Path(path)
    pq.write_table(table, path, compression="zstd")
    return path
