"""Writing simulated events: into the DuckDB event store or a Parquet file, labelled synthetic.

Both paths go through the telemetry layer (never HTTP):

* :func:`write_duckdb` inserts the Arrow table with the store's idempotent insert
  (:func:`marginscope.telemetry.store.insert_new_events`) in one transaction, and sets the
  ``events`` table's comment to the simulation's source label (``synthetic: marginscope.sim
  …``), so the file says what it holds;
* :func:`write_parquet` writes a file that ``marginscope ingest`` loads with full validation
  (the Arrow metadata, ``synthetic = true`` and the source label, is kept in the file).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from marginscope.errors import InputError
from marginscope.telemetry.schema import ARROW_SCHEMA, COLUMNS

__all__ = ["is_synthetic", "write_duckdb", "write_parquet"]


def is_synthetic(table: pa.Table) -> bool:
    """True when the table's schema metadata marks it synthetic."""
    return (table.schema.metadata or {}).get(b"synthetic") == b"true"


def _check(table: pa.Table) -> None:
    if not is_synthetic(table):
        raise InputError("table", "metadata", "a table from marginscope.sim (synthetic = true)")
    if not table.schema.remove_metadata().equals(ARROW_SCHEMA):
        raise InputError("table", table.schema.names, "the canonical event schema")


def write_duckdb(table: pa.Table, db: str | os.PathLike[str]) -> int:
    """Insert the simulated events into the store's ``events`` table; returns rows inserted.

    Rows whose ``event_id`` is already stored are skipped (the same simulation twice adds
    nothing).
    """
    from marginscope.telemetry.store import connect, ensure_schema, insert_new_events

    _check(table)
    label = table.schema.metadata[b"source"].decode().replace("'", "''")
    con = connect(db)
    try:
        ensure_schema(con)
        con.register("_ms_sim", table)
        con.execute("BEGIN TRANSACTION")
        try:
            if con.execute("SELECT count(*) FROM events").fetchone()[0]:
                inserted = insert_new_events(con, "_ms_sim")  # skips ids already stored
            else:  # a fresh store: the ids are unique by construction, nothing to skip
                con.execute(f"INSERT INTO events ({', '.join(COLUMNS)}) "
                            f"SELECT {', '.join(COLUMNS)} FROM _ms_sim")
                inserted = table.num_rows
            con.execute(f"COMMENT ON TABLE events IS '{label}'")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.unregister("_ms_sim")
    finally:
        con.close()
    return inserted


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write the events to one Parquet file (zstd) that ``marginscope ingest`` accepts."""
    _check(table)
    path = Path(path)
    pq.write_table(table, path, compression="zstd")
    return path
