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
ingest within a small factor of a bare ``COPY`` (bench/telemetry_ingest.py).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from marginscope.errors import InputError
from marginscope.telemetry.schema import (
    COLUMNS,
    DUCKDB_TYPES,
    EVENT_COLUMNS,
    REQUIRED,
    Column,
    SqlSet,
    sql_list,
    sql_literal,
)
from marginscope.telemetry.store import attach, ensure_schema, insert_new_events

__all__ = [
    "FORMATS", "BadRow", "IngestRefused", "IngestResult", "detect_format", "ingest_files",
    "row_checks",
]

FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
             ".parquet": "parquet", ".pq": "parquet"}
_KEY = "event_id"  # the idempotency key: supplied ids are kept, absent ones derived (_CONTENT)
_NOT_BLANK = "CASE WHEN length(text) > 8 THEN true ELSE trim(text, ' \t\r\n') <> '' END"
_DUCKDB_VERSION = tuple(int(part) for part in duckdb.__version__.split(".")[:2])
_KEY_SAMPLE = 100_000  # JSON Lines: keys outside the schema are looked for in this many lines
_NOT_UTF8 = "\ufffdmarginscope-not-utf8\ufffd"  # stands in for a line that is not UTF-8


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
    rows: int = 0                  # rows read (blank lines not counted)
    loaded: int = 0                # rows inserted
    skipped: int = 0               # rows whose event_id was already stored or repeated
    bad_count: int = 0             # refused rows (nothing loaded when > 0)
    bad_rows: list[BadRow] = field(default_factory=list)   # the first ``max_reported``
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    before_retention_cutoff: int = 0   # loaded rows older than the last retention cutoff


class IngestRefused(InputError):
    """Bad rows were found; nothing was loaded. ``result.bad_rows`` lists them."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result
        first = result.bad_rows[0] if result.bad_rows else None
        super().__init__(
            "FILE", first.path if first else None, "rows in the canonical event schema",
            f"{result.bad_count} bad row(s)"
            + (f", first at line {first.line} ({first.field})" if first else "")
            + "; nothing was loaded")


def detect_format(path: str | os.PathLike[str]) -> str:
    """``jsonl`` | ``csv`` | ``parquet`` from the file name (``.gz`` allowed for text)."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _SUFFIXES.get(Path(name).suffix)
    if fmt is None or (fmt == "parquet" and str(path).lower().endswith(".gz")):
        raise InputError("FILE", str(path), ".jsonl/.ndjson/.json, .csv (optionally .gz), "
                         ".parquet, or a directory of .parquet files")
    return fmt


def _expand(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.parquet")
                           if not any(part.startswith((".", "_")) for part in
                                      p.relative_to(path).parts))
            if not found:
                raise InputError("FILE", str(path), "a directory holding .parquet files")
            files.extend(found)
        elif not path.exists():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        else:
            detect_format(path)
            files.append(path)
    if not files:
        raise InputError("FILE", None, "at least one file")
    return files


# --- reading: each file becomes a relation (line, malformed, <raw columns>) -------------------


def _read_bytes(path: Path) -> pa.Buffer:
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return pa.py_buffer(handle.read())
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # truncated or corrupt
            raise InputError("FILE", str(path), f"a complete gzip file (this one: {exc}); "
                             "nothing was loaded") from None
    if path.stat().st_size == 0:
        return pa.py_buffer(b"")
    return pa.memory_map(str(path)).read_buffer()


def _lines(path: Path) -> pa.Table:
    """Every physical line as (line number from 1, text incl. its newline), zero-copy."""
    data = _read_bytes(path)
    raw = np.frombuffer(data, dtype=np.uint8)
    start = 3 if raw[:3].tobytes() == b"\xef\xbb\xbf" else 0
    step = 1 << 24  # scan in 16 MiB pieces: no file-sized temporary
    newlines = np.concatenate([np.flatnonzero(raw[begin:begin + step] == 10) + begin
                               for begin in range(0, len(raw), step)] or [np.zeros(0, np.int64)])
    ends = newlines + 1
    if len(raw) and (not len(newlines) or newlines[-1] != len(raw) - 1):
        ends = np.append(ends, len(raw))
    offsets = np.concatenate(([start], ends)).astype(np.int64)
    if len(offsets) > 1 and offsets[1] < start:  # a BOM-only file
        offsets[1] = start
    count = len(offsets) - 1
    text = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), data)
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text = _replace_invalid_utf8(data, offsets)
    numbers = pa.array(np.arange(1, count + 1, dtype=np.int64))
    return pa.table({"line": numbers, "text": text})


def _replace_invalid_utf8(data: pa.Buffer, offsets: np.ndarray) -> pa.LargeStringArray:
    """Slow path: lines that are not UTF-8 become a marker the validator reports."""
    blob = memoryview(data)
    values = []
    for begin, end in itertools.pairwise(offsets.tolist()):
        try:
            values.append(bytes(blob[begin:end]).decode("utf-8"))
        except UnicodeDecodeError:
            values.append(_NOT_UTF8)
    return pa.array(values, type=pa.large_string())


_FIRST_REQUIRED = COLUMNS.index(REQUIRED[0]) + 1  # its position in the extracted list


def _jsonl_relation(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    con.register(f"{name}_lines", _lines(path))
    paths = ", ".join(f"'$.\"{column}\"'" for column in COLUMNS)
    fields = ",\n".join(f"  v[{i}] AS {column}" for i, column in enumerate(COLUMNS, start=1))
    extract = f"json_extract_string(text, [{paths}])"
    # try() (DuckDB >= 1.3) parses once; older versions check json_valid first.
    extract = f"try({extract})" if _DUCKDB_VERSION >= (1, 3) else \
        f"CASE WHEN json_valid(text) THEN {extract} END"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT line,
          CASE WHEN v IS NULL THEN
                 CASE WHEN t = '{_NOT_UTF8}' THEN 'not UTF-8 text' ELSE 'not valid JSON' END
               WHEN v[{_FIRST_REQUIRED}] IS NULL THEN
                 CASE WHEN json_type(t) <> 'OBJECT' THEN 'not a JSON object' END
          END AS malformed,
        {fields}
        FROM (SELECT line, text AS t, {extract} AS v
              FROM {name}_lines WHERE {_NOT_BLANK})""")
    keys = con.execute(f"""
        SELECT DISTINCT unnest(json_keys(text)) FROM (
          SELECT text FROM {name}_lines WHERE {_NOT_BLANK} LIMIT {_KEY_SAMPLE})
        WHERE json_valid(text) AND json_type(text) = 'OBJECT'""").fetchall()
    return sorted(k for (k,) in keys if k not in COLUMNS)


def _csv_relation(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    lines = _lines(path)
    header_line, header = 0, None
    texts = lines.column("text")
    for index in range(len(lines)):
        text = texts[index].as_py().strip("\r\n")
        if text.strip():
            header_line, header = index + 1, next(csv.reader([text]))
            break
    header = [column.strip() for column in header or []]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise InputError(f"{path}:{header_line}", ",".join(duplicated), "unique column names")
    missing = [column for column in REQUIRED if column not in header]
    if header_line and missing:
        raise InputError(f"{path}:{header_line}", ",".join(missing),
                         "a header naming the required columns " + ", ".join(REQUIRED))
    con.register(f"{name}_lines", lines)
    count = len(header)

    def field_of(column: str) -> str:
        if column not in header:
            return f"  NULL::VARCHAR AS {column}"
        index = header.index(column) + 1
        value = f"f[{index}]"
        if index == count:  # the last field still carries the line's CR/LF
            value = f"rtrim({value}, chr(13) || chr(10))"
        # a quoted field loses its quotes and its doubled inner quotes
        return (f"  CASE WHEN quoted AND starts_with({value}, '\"') "
                f"THEN replace(substr({value}, 2, length({value}) - 2), '\"\"', '\"') "
                f"ELSE {value} END AS {column}")

    fields = ",\n".join(field_of(column) for column in COLUMNS)
    quoted_field = '"(?:[^"]|"")*"|[^,"]*'
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT line,
          CASE WHEN t = '{_NOT_UTF8}' THEN 'not UTF-8 text'
               WHEN bad_quotes THEN 'unbalanced quotes'
               WHEN len(f) <> {count} THEN 'expected {count} fields, got ' || len(f)
          END AS malformed,
        {fields}
        FROM (
          SELECT line, t,
            strpos(t, '"') > 0 AND NOT regexp_full_match(
              t, '({quoted_field})(,({quoted_field}))*\\r?\\n?') AS bad_quotes,
            strpos(t, '"') > 0 AS quoted,
            CASE WHEN strpos(t, '"') = 0 THEN string_split(t, ',')
                 ELSE regexp_extract_all(',' || t, ',({quoted_field})', 1) END AS f
          FROM (SELECT line, text AS t FROM {name}_lines
                WHERE line > {header_line} AND {_NOT_BLANK}))""")
    return [column for column in header if column not in COLUMNS]


def _parquet_relation(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    source = "'" + str(path).replace("'", "''") + "'"
    reader = f"read_parquet({source}, file_row_number = true, hive_partitioning = false)"
    described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    present = {row[0] for row in described if row[0] != "file_row_number"}
    fields = ", ".join(column if column in present else f"NULL::VARCHAR AS {column}"
                       for column in COLUMNS)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT file_row_number + 1 AS line, NULL::VARCHAR AS malformed, {fields}
        FROM {reader}""")
    missing = [column for column in REQUIRED if column not in present]
    if missing:
        raise InputError(f"{path}", ",".join(missing), "a file with columns "
                         + ", ".join(REQUIRED) + " (required)")
    return sorted(present - set(COLUMNS))


_READERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path, str], list[str]]] = {
    "jsonl": _jsonl_relation, "csv": _csv_relation, "parquet": _parquet_relation,
}


# --- validation: one vectorized pass per file ------------------------------------------------


_INLINE_MAX = 32
"""Allow-lists up to this long are inline SQL lists; longer ones (the ~250 country codes) a
temporary table, which DuckDB checks about 7× faster."""


def row_checks(columns: tuple[Column, ...] = EVENT_COLUMNS,
               in_set: SqlSet = sql_list) -> list[tuple[str, str, str]]:
    """(field, SQL condition that makes a row bad, what is allowed), in column order.

    Generated from the columns' rules (:data:`~marginscope.telemetry.schema.EVENT_COLUMNS`).
    The condition reads the column's text (``NULL`` when absent or empty) and, for a rule
    that parses (timestamps, bucket edges), the parsed value ``<name>_v`` (``NULL`` when it
    does not parse). A required column is bad when absent; any other when present and not
    allowed. ``in_set`` writes a set of allowed values as SQL.
    """
    checks = []
    for declared in columns:
        rule = declared.rule
        value = f"{declared.name}_v" if rule.parse else declared.name
        broken = rule.sql(value, in_set)
        if declared.required:
            condition = " OR ".join(filter(None, (f"{value} IS NULL", broken)))
            suffix = "; required"
        else:
            bad = " OR ".join(filter(None, (f"{value} IS NULL" if rule.parse else None, broken)))
            condition = f"{declared.name} IS NOT NULL AND " + (f"({bad})" if rule.parse else bad)
            suffix = ", or empty"
        checks.append((declared.name, condition, rule.allowed() + suffix))
    return checks


def _set_tables(con: duckdb.DuckDBPyConnection) -> SqlSet:
    """:data:`SqlSet` for this connection: short sets inline, long ones a temporary table."""
    tables: dict[tuple[object, ...], str] = {}

    def in_set(values: tuple[object, ...]) -> str:
        if len(values) <= _INLINE_MAX:
            return sql_list(values)
        if values not in tables:
            tables[values] = f"_ms_set_{len(tables)}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {tables[values]} AS "
                        "SELECT unnest(?) AS member", [list(values)])
        return f"(SELECT member FROM {tables[values]})"

    return in_set


def _validate_into(con: duckdb.DuckDBPyConnection, relation: str, file_index: int,
                   checks: list[tuple[str, str, str]]) -> None:
    """Append the file's rows, typed, with the first bad field of each row, to ``_ms_checked``.

    Text columns are read as text (empty is NULL); columns whose rule parses keep their type
    (Parquet) and are parsed into ``<name>_v`` for :func:`row_checks`, then cast to the
    stored type. A column with a default takes it when NULL.
    """
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})"
                             ).fetchall())

    def raw(declared: Column) -> str:
        if types.get(declared.name) == "VARCHAR":
            return f"NULLIF({declared.name}, '')"
        return declared.name if declared.rule.parse else f"CAST({declared.name} AS VARCHAR)"

    def stored(declared: Column) -> str:
        value = f"TRY_CAST({declared.name}_v AS {declared.type})" if declared.rule.parse \
            else declared.name
        if declared.default is not None:
            value = f"coalesce({value}, {sql_literal(declared.default)})"
        return f"{value} AS {declared.name}"

    read = [f"{raw(c)} AS {c.name}" for c in EVENT_COLUMNS] + [
        f"TRY_CAST({raw(c)} AS {c.rule.parse}) AS {c.name}_v" for c in EVENT_COLUMNS
        if c.rule.parse]
    which = " ".join(f"WHEN {condition} THEN '{name}'" for name, condition, _ in checks)
    value = " ".join(f"WHEN '{name}' THEN CAST({name} AS VARCHAR)" for name, _, _ in checks)
    con.execute(f"""
        INSERT INTO _ms_checked
        SELECT file, line, err_field, err_value,
               coalesce(supplied_id, md5(concat_ws(chr(31), {_CONTENT}, '1'))) AS {_KEY},
               {', '.join(c for c in COLUMNS if c != _KEY)}, supplied_id IS NULL AS derived
        FROM (
          SELECT {file_index} AS file, line, err_field,
            left(CASE WHEN err_field = 'row' THEN malformed
                      ELSE CASE err_field {value} END END, 120) AS err_value,
            {_KEY} AS supplied_id,
            {', '.join(stored(c) for c in EVENT_COLUMNS if c.name != _KEY)}
          FROM (
            SELECT *, CASE WHEN malformed IS NOT NULL THEN 'row' {which} END AS err_field
            FROM (SELECT line, malformed, {', '.join(read)} FROM {relation})))""")


_CONTENT = "epoch_us(ts), " + ", ".join(
    f"coalesce(CAST({c} AS VARCHAR), '')" for c in COLUMNS[2:])
"""The canonical content of a row, joined by U+001F with ``k``: the input of a derived id."""

_ALLOWED_ROW = {
    "jsonl": "one JSON object per line, UTF-8",
    "csv": "one record per line with the header's number of fields, UTF-8",
    "parquet": "a readable row",
}


# --- the command -----------------------------------------------------------------------------


def ingest_files(paths: Sequence[str | os.PathLike[str]], db: str | os.PathLike[str], *,
                 max_reported: int = 100,
                 progress: Callable[[str, str], None] | None = None) -> IngestResult:
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
    files = _expand(paths)
    notify = progress or (lambda stage, name: None)
    result = IngestResult(files=[str(p) for p in files])
    con = duckdb.connect()  # staging and validation in memory: the store is not locked
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")  # row order is carried in `line`
        checks = row_checks(EVENT_COLUMNS, _set_tables(con))
        con.execute("CREATE OR REPLACE TEMP TABLE _ms_checked (file INTEGER, line BIGINT, "
                    "err_field VARCHAR, err_value VARCHAR, "
                    + ", ".join(f"{c} {'VARCHAR' if c == 'event_id' else t}"
                                for c, t in _typed_columns()) + ", derived BOOLEAN)")
        for index, path in enumerate(files):
            fmt = detect_format(path)
            notify("read", str(path))
            relation = f"_ms_raw_{index}"
            try:
                ignored = _READERS[fmt](con, path, relation)
                if ignored:
                    result.ignored_columns[str(path)] = ignored
                notify("validate", str(path))
                _validate_into(con, relation, index, checks)
            except duckdb.Error as exc:
                raise InputError(str(path), fmt, f"a readable {fmt} file",
                                 str(exc).splitlines()[0]) from None
        result.rows = con.execute("SELECT count(*) FROM _ms_checked").fetchone()[0]
        result.bad_count = con.execute(
            "SELECT count(*) FROM _ms_checked WHERE err_field IS NOT NULL").fetchone()[0]
        if result.bad_count:
            allowed = {name: text for name, _, text in checks}
            for file_index, line, name, value in con.execute(
                    "SELECT file, line, err_field, err_value FROM _ms_checked "
                    "WHERE err_field IS NOT NULL ORDER BY file, line LIMIT ?",
                    [max_reported]).fetchall():
                path = files[file_index]
                text = _ALLOWED_ROW[detect_format(path)] if name == "row" else allowed[name]
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
    if not con.execute(
            f"SELECT count(*) = count(DISTINCT event_id) FROM {source}").fetchone()[0]:
        con.execute(f"""
            UPDATE _ms_checked SET event_id = md5(concat_ws(chr(31), {_CONTENT}, d.k))
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
                f"SELECT count(*) FROM {source} WHERE ts < ?", [cutoff]).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.skipped = result.rows - result.loaded
