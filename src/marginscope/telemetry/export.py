"""``marginscope export``: the stored events back out in the canonical schema.

The raw-event export is for the operator (the owner of the data) and is not small-cell
suppressed; published aggregates are (:func:`marginscope.telemetry.retention.suppress_small_cells`).

Formats, all in canonical column order (:data:`~marginscope.telemetry.schema.COLUMNS`),
sorted by ``ts`` then ``event_id``:

* ``csv``: header line, empty field for NULL, ``ts`` as ``2025-11-04T12:00:00Z`` (fraction
  of a second only when there is one);
* ``jsonl``: one object per line, ``null`` for NULL, ``ts`` as in CSV;
* ``parquet``: ``ts`` as a UTC-adjusted microsecond timestamp, ``leverage`` INT16,
  ``notional_bucket`` INT64, zstd.

Each is written by DuckDB's ``COPY`` to a temporary file beside ``out`` and renamed into
place, so a reader never sees half an export. Files written by ``export`` load back with
``ingest`` unchanged (their ``event_id`` makes the round trip idempotent).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from marginscope.errors import InputError
from marginscope.telemetry.schema import COLUMNS
from marginscope.telemetry.store import connect, stored_columns

__all__ = ["EXPORT_FORMATS", "export_events"]

EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet", "jsonl")

_ISO_TS = ("CASE WHEN microsecond(ts) % 1000000 = 0 "
           "THEN strftime(ts, '%Y-%m-%dT%H:%M:%SZ') "
           "ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') END AS ts")


def export_events(db: str | os.PathLike[str], out: str | os.PathLike[str], fmt: str) -> int:
    """Write every stored event to ``out`` as ``fmt``; returns the number of rows written.

    Parameters
    ----------
    db : path-like
        An existing DuckDB file (``--db`` / ``MARGINSCOPE_DB``).
    out : path-like
        The file to write (replaced atomically).
    fmt : {"csv", "parquet", "jsonl"}
        Output format (see module docstring).
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError("--format", fmt, " | ".join(EXPORT_FORMATS))
    out = Path(out)
    if out.is_dir():
        raise InputError("--out", str(out), "a file path, not a directory")
    if not out.parent.exists():
        raise InputError("--out", str(out), "a path in an existing directory")
    con = connect(db, read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'events'").fetchone()[0]:
            raise InputError("--db", str(db), "a marginscope event store (no events table)")
        stored = stored_columns(con)  # an older store: a column it lacks is exported NULL
        columns = ", ".join(_ISO_TS if c == "ts" and fmt != "parquet" else stored[c]
                            for c in COLUMNS)
        option = {"csv": "FORMAT csv, HEADER", "jsonl": "FORMAT json",
                  "parquet": "FORMAT parquet, COMPRESSION zstd"}[fmt]
        temporary = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
        target = "'" + str(temporary).replace("'", "''") + "'"
        try:
            con.execute(f"COPY (SELECT {columns} FROM events ORDER BY events.ts, event_id) "
                        f"TO {target} ({option})")
            os.replace(temporary, out)
        finally:
            temporary.unlink(missing_ok=True)
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        con.close()
