"""``marginscope ingest``: load canonical events from JSON Lines, CSV or Parquet files.

Policy (docs/telemetry.md, "Ingest"):

* **All or nothing.** Every file of one command is read and validated first. If any row of
  any file is bad, nothing is loaded: every bad row is reported with its file, line number,
  field, value and what is allowed (the first ``max_reported``, plus the total), and the
  command exits 2. Fix the rows and run again. Never a silent half-load.
* **Line numbers** are physical lines of the file, counting from 1, for JSON Lines and CSV
  (the CSV header is line 1); blank lines are allowed and skipped. For Parquet the number is
  the row's position in the file, from 1.
* **Idempotent.** ``event_id`` is the key. A row that carries one keeps it (exports always
  do). A row without one gets ``md5(canonical content ‖ k)``, ``k`` counting identical rows
  within the file, so the same file loaded twice (in any of the three formats) adds nothing,
  while identical rows inside one file stay distinct. Rows whose id is already stored, or
  repeated within the load, are skipped and counted as such.
* **Strict canonical values.** Required: ``ts`` (ISO 8601; no offset means UTC) and ``tool``
  (a registered tool). Optional, absent or empty meaning NULL: ``device`` (NULL → ``unknown``),
  ``country`` (NULL → ``ZZ``), ``visitor``, ``session``, ``event_id``, ``venue``, ``symbol``,
  ``side``, ``margin_mode``, ``leverage``, ``notional_bucket``; each, when present, must be a
  canonical value (allow-listed code or bucket edge). Columns outside the schema are not
  loaded and are named in the result (``ignored_columns``).

Validation runs as vectorized DuckDB SQL over the whole file (no per-row Python), which keeps
ingest within a small factor of a bare ``COPY`` (bench/telemetry_ingest.py). The files are read
by :mod:`.ingest_readers` and checked by :mod:`.ingest_checks`; this module runs the command and
its one load transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from marginscope.errors import InputError
from marginscope.telemetry.ingest_checks import (
    ROW_CONTENT,
    row_checks,
    set_tables,
    validate_into,
)
from marginscope.telemetry.ingest_readers import (
    ALLOWED_ROW,
    FORMATS,
    READERS,
    detect_format,
    expand_paths,
)
from marginscope.telemetry.schema import COLUMNS, DUCKDB_TYPES, EVENT_COLUMNS
from marginscope.telemetry.store import attach, ensure_schema, insert_new_events

__all__ = [  # the command and its result; FORMATS, detect_format, row_checks re-exported
    "FORMATS",
    "BadRow",
    "IngestRefused",
    "IngestResult",
    "detect_format",
    "ingest_files",
    "row_checks",
]


@dataclass(frozen=True)
class BadRow:
    """One refused row: where it is, which field, what it held, what is allowed."""

    path: str
    line: int
    field: str
    value: str | None
    allowed: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: got {self.value!r}; allowed: {self.allowed}"


@dataclass
class IngestResult:
    """What one ingest did (or would have done, when refused)."""

    files: list[str]
    rows: int = 0  # rows read (blank lines not counted)
    loaded: int = 0  # rows inserted
    skipped: int = 0  # rows whose event_id was already stored or repeated
    bad_count: int = 0  # refused rows (nothing loaded when > 0)
    bad_rows: list[BadRow] = field(default_factory=list)  # the first ``max_reported``
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    before_retention_cutoff: int = 0  # loaded rows older than the last retention cutoff


class IngestRefused(InputError):
    """Bad rows were found; nothing was loaded. ``result.bad_rows`` lists them."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result
        first = result.bad_rows[0] if result.bad_rows else None
        super().__init__(
            "FILE",
            first.path if first else None,
            "rows in the canonical event schema",
            f"{result.bad_count} bad row(s)"
            + (f", first at line {first.line} ({first.field})" if first else "")
            + "; nothing was loaded",
        )


def ingest_files(
    paths: Sequence[str | os.PathLike[str]],
    db: str | os.PathLike[str],
    *,
    max_reported: int = 100,
    progress: Callable[[str, str], None] | None = None,
) -> IngestResult:
    """Validate every file, then load all rows in one transaction, or refuse them all.

    Parameters
    ----------
    paths : sequence of path-like
        JSON Lines / CSV (optionally gzipped) / Parquet files, or directories of Parquet
        files (a Hive-partitioned dataset written by the Parquet sink).
    db : path-like
        The DuckDB file (created if missing).
    max_reported : int
        How many bad rows to list in the result (all are counted).
    progress : callable, optional
        Called as ``progress(stage, file)``: stages ``read``, ``validate``, ``load``.

    Returns
    -------
    IngestResult
        Rows read, loaded, skipped as already present; ignored columns per file.

    Raises
    ------
    IngestRefused
        When any row is bad; its ``result`` lists the bad rows. Nothing was loaded.
    InputError
        When a file cannot be read as its format (unknown suffix, missing required column).
    """
    files = expand_paths(paths)
    notify = progress or (lambda stage, name: None)
    result = IngestResult(files=[str(p) for p in files])
    con = duckdb.connect()  # staging and validation in memory: the store is not locked
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")  # row order is carried in `line`
        checks = row_checks(EVENT_COLUMNS, set_tables(con))
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ms_checked (file INTEGER, line BIGINT, "
            "err_field VARCHAR, err_value VARCHAR, "
            + ", ".join(f"{c} {'VARCHAR' if c == 'event_id' else t}" for c, t in _typed_columns())
            + ", derived BOOLEAN)"
        )
        for index, path in enumerate(files):
            fmt = detect_format(path)
            notify("read", str(path))
            relation = f"_ms_raw_{index}"
            try:
                ignored = READERS[fmt](con, path, relation)
                if ignored:
                    result.ignored_columns[str(path)] = ignored
                notify("validate", str(path))
                validate_into(con, relation, index, checks)
            except duckdb.Error as exc:
                raise InputError(
                    str(path), fmt, f"a readable {fmt} file", str(exc).splitlines()[0]
                ) from None
        result.rows = con.execute("SELECT count(*) FROM _ms_checked").fetchone()[0]
        result.bad_count = con.execute(
            "SELECT count(*) FROM _ms_checked WHERE err_field IS NOT NULL"
        ).fetchone()[0]
        if result.bad_count:
            allowed = {name: text for name, _, text in checks}
            for file_index, line, name, value in con.execute(
                "SELECT file, line, err_field, err_value FROM _ms_checked "
                "WHERE err_field IS NOT NULL ORDER BY file, line LIMIT ?",
                [max_reported],
            ).fetchall():
                path = files[file_index]
                text = ALLOWED_ROW[detect_format(path)] if name == "row" else allowed[name]
                result.bad_rows.append(BadRow(str(path), line, name, value, text))
            raise IngestRefused(result)
        notify("load", "")
        attach(con, db)
        ensure_schema(con)
        _load(con, result)
        con.execute("USE memory")
        con.execute("DETACH store")
    finally:
        con.close()
    return result


def _typed_columns() -> list[tuple[str, str]]:
    return [(column, DUCKDB_TYPES[column]) for column in COLUMNS]


def _load(con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    """Give id-less rows their content id, then insert the new ones in one transaction."""
    columns = ", ".join(COLUMNS)
    source = "_ms_checked"
    if not con.execute(f"SELECT count(*) = count(DISTINCT event_id) FROM {source}").fetchone()[0]:
        con.execute(f"""
            UPDATE _ms_checked SET event_id = md5(concat_ws(chr(31), {ROW_CONTENT}, d.k))
            FROM (SELECT c.file, c.line,
                         row_number() OVER (PARTITION BY c.file, c.event_id ORDER BY c.line) AS k
                  FROM _ms_checked c SEMI JOIN (
                    SELECT file, event_id FROM _ms_checked WHERE derived
                    GROUP BY file, event_id HAVING count(*) > 1) g
                  ON c.file = g.file AND c.event_id = g.event_id
                  WHERE c.derived) d
            WHERE _ms_checked.file = d.file AND _ms_checked.line = d.line AND d.k > 1""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _ms_unique AS
            SELECT {columns} FROM {source}
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file, line) = 1""")
        source = "_ms_unique"
    con.execute("BEGIN TRANSACTION")
    try:
        result.loaded = insert_new_events(con, source)
        cutoff = con.execute("SELECT max(cutoff) FROM retention_log").fetchone()[0]
        if cutoff is not None:
            result.before_retention_cutoff = con.execute(
                f"SELECT count(*) FROM {source} WHERE ts < ?", [cutoff]
            ).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.skipped = result.rows - result.loaded
