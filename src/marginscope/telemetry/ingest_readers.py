"""Ingest's file readers: each JSON Lines, CSV or Parquet file becomes a DuckDB relation.

The relation has ``line`` (the physical line of JSON Lines and CSV from 1, the CSV header being
line 1; the row's position in a Parquet file from 1), ``malformed`` (why the row could not be
read, else NULL) and the raw text of every schema column; blank lines are skipped. Policy:
:mod:`.ingest` and docs/telemetry.md, "Ingest".
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from marginscope.errors import InputError
from marginscope.telemetry.schema import COLUMNS, REQUIRED

__all__ = ["ALLOWED_ROW", "FORMATS", "READERS", "detect_format", "expand_paths"]

FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_NOT_BLANK = "CASE WHEN length(text) > 8 THEN true ELSE trim(text, ' \t\r\n') <> '' END"
_DUCKDB_VERSION = tuple(int(part) for part in duckdb.__version__.split(".")[:2])
_KEY_SAMPLE = 100_000  # JSON Lines: keys outside the schema are looked for in this many lines
_NOT_UTF8 = "\ufffdmarginscope-not-utf8\ufffd"  # stands in for a line that is not UTF-8


def detect_format(path: str | os.PathLike[str]) -> str:
    """``jsonl`` | ``csv`` | ``parquet`` from the file name (``.gz`` allowed for text)."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = _SUFFIXES.get(Path(name).suffix)
    if fmt is None or (fmt == "parquet" and str(path).lower().endswith(".gz")):
        raise InputError(
            "FILE",
            str(path),
            ".jsonl/.ndjson/.json, .csv (optionally .gz), "
            ".parquet, or a directory of .parquet files",
        )
    return fmt


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files of ``paths``: each file as given (its format known), each directory's
    ``.parquet`` files (hidden and ``_`` parts left out), in order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*.parquet")
                if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
            )
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


def _read_bytes(path: Path) -> pa.Buffer:
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                return pa.py_buffer(handle.read())
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # truncated or corrupt
            raise InputError(
                "FILE", str(path), f"a complete gzip file (this one: {exc}); nothing was loaded"
            ) from None
    if path.stat().st_size == 0:
        return pa.py_buffer(b"")
    return pa.memory_map(str(path)).read_buffer()


def _lines(path: Path) -> pa.Table:
    """Every physical line as (line number from 1, text incl. its newline), zero-copy."""
    data = _read_bytes(path)
    raw = np.frombuffer(data, dtype=np.uint8)
    start = 3 if raw[:3].tobytes() == b"\xef\xbb\xbf" else 0
    step = 1 << 24  # scan in 16 MiB pieces: no file-sized temporary
    newlines = np.concatenate(
        [
            np.flatnonzero(raw[begin : begin + step] == 10) + begin
            for begin in range(0, len(raw), step)
        ]
        or [np.zeros(0, np.int64)]
    )
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
    extract = (
        f"try({extract})"
        if _DUCKDB_VERSION >= (1, 3)
        else f"CASE WHEN json_valid(text) THEN {extract} END"
    )
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
        raise InputError(
            f"{path}:{header_line}",
            ",".join(missing),
            "a header naming the required columns " + ", ".join(REQUIRED),
        )
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
        return (
            f"  CASE WHEN quoted AND starts_with({value}, '\"') "
            f"THEN replace(substr({value}, 2, length({value}) - 2), '\"\"', '\"') "
            f"ELSE {value} END AS {column}"
        )

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
    fields = ", ".join(
        column if column in present else f"NULL::VARCHAR AS {column}" for column in COLUMNS
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT file_row_number + 1 AS line, NULL::VARCHAR AS malformed, {fields}
        FROM {reader}""")
    missing = [column for column in REQUIRED if column not in present]
    if missing:
        raise InputError(
            f"{path}",
            ",".join(missing),
            "a file with columns " + ", ".join(REQUIRED) + " (required)",
        )
    return sorted(present - set(COLUMNS))


READERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path, str], list[str]]] = {
    "jsonl": _jsonl_relation,
    "csv": _csv_relation,
    "parquet": _parquet_relation,
}

ALLOWED_ROW = {
    "jsonl": "one JSON object per line, UTF-8",
    "csv": "one record per line with the header's number of fields, UTF-8",
    "parquet": "a readable row",
}
