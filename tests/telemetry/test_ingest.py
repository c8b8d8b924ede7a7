"""Ingest and export: canonical round trips, idempotence, all-or-nothing with line numbers."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from marginscope.errors import InputError
from marginscope.telemetry.export import export_events
from marginscope.telemetry.ingest import IngestRefused, ingest_files
from marginscope.telemetry.schema import COLUMNS, DUCKDB_TYPES


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_csv(path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows([{k: ("" if v is None else v) for k, v in row.items()}
                          for row in rows])
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (" + ", ".join(f"{c} {DUCKDB_TYPES[c]}" for c in COLUMNS) + ")")
    con.executemany("INSERT INTO t VALUES (" + ", ".join("?" * len(COLUMNS)) + ")",
                    [[row.get(c) for c in COLUMNS] for row in rows])
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()
    return path


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}


def stored(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute("SELECT * EXCLUDE (ts), strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') "
                       "FROM events ORDER BY event_id").fetchall()
    con.close()
    return rows


def read_back(path: Path, fmt: str) -> list[dict]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "csv":
        with path.open() as handle:
            return list(csv.DictReader(handle))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_round_trip_file_to_store_to_export_gives_the_same_rows(tmp_path, synthetic_rows,
                                                                fmt):
    source = WRITERS[fmt](tmp_path / f"synthetic-in.{fmt}", synthetic_rows)
    db = tmp_path / "events.duckdb"
    result = ingest_files([source], db)
    assert (result.rows, result.loaded, result.skipped, result.bad_count) == (4, 4, 0, 0)
    for out_fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{out_fmt}"
        assert export_events(db, out, out_fmt) == 4
        back = read_back(out, out_fmt)
        assert [list(row) for row in back] == [list(COLUMNS)] * 4
        assert [row["event_id"] for row in back] == [r["event_id"] for r in synthetic_rows]
        if out_fmt == "jsonl":
            assert back == synthetic_rows
        # and the export loads back into a fresh store unchanged
        again = tmp_path / f"again-{out_fmt}.duckdb"
        ingest_files([out], again)
        assert stored(again) == stored(db)


def test_timestamps_export_in_iso_utc(tmp_path, synthetic_rows):
    db = tmp_path / "events.duckdb"
    ingest_files([write_jsonl(tmp_path / "in.jsonl", synthetic_rows)], db)
    export_events(db, tmp_path / "out.csv", "csv")
    rows = read_back(tmp_path / "out.csv", "csv")
    assert [r["ts"] for r in rows] == ["2025-11-04T09:15:00Z", "2025-11-04T09:16:30.250000Z",
                                       "2025-11-05T23:59:59Z", "2025-11-06T00:00:00Z"]
    assert rows[2]["venue"] == ""  # NULL is an empty field


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_loading_the_same_file_twice_does_not_double_count(tmp_path, synthetic_rows, fmt):
    source = WRITERS[fmt](tmp_path / f"in.{fmt}", synthetic_rows)
    db = tmp_path / "events.duckdb"
    ingest_files([source], db)
    second = ingest_files([source], db)
    assert (second.loaded, second.skipped) == (0, 4)
    assert len(stored(db)) == 4


def test_rows_without_event_id_get_a_content_id_stable_across_formats(tmp_path,
                                                                      synthetic_rows):
    rows = [{k: v for k, v in row.items() if k != "event_id"} for row in synthetic_rows]
    rows.append(dict(rows[0]))  # a genuine second identical event in the same file
    db = tmp_path / "events.duckdb"
    first = ingest_files([write_jsonl(tmp_path / "in.jsonl", rows)], db)
    assert first.loaded == 5            # identical rows within a file both count
    again = ingest_files([write_csv(tmp_path / "in.csv", rows),
                          write_jsonl(tmp_path / "in.jsonl", rows)], db)
    assert (again.loaded, again.skipped) == (0, 10)
    ids = [row[0] for row in stored(db)]
    assert len(set(ids)) == 5 and all(len(i) == 32 for i in ids)


def test_a_bad_row_is_reported_with_its_line_number_and_nothing_is_loaded(tmp_path,
                                                                         synthetic_rows):
    good = write_jsonl(tmp_path / "good.jsonl", synthetic_rows)
    lines = [json.dumps(row) for row in synthetic_rows]
    lines[1] = lines[1].replace('"DE"', '"Germany"')
    lines.insert(3, "")                                       # blank line 4: allowed
    lines.append('{"ts": "2025-11-07T00:00:00Z", "tool": "stops", "leverage": 7}')
    lines.append("{not json")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    db = tmp_path / "events.duckdb"
    with pytest.raises(IngestRefused) as refused:
        ingest_files([good, bad], db)
    result = refused.value.result
    assert result.bad_count == 3
    assert [(Path(r.path).name, r.line, r.field, r.value) for r in result.bad_rows] == [
        ("bad.jsonl", 2, "country", "Germany"),
        ("bad.jsonl", 6, "leverage", "7"),
        ("bad.jsonl", 7, "row", "not valid JSON"),
    ]
    assert "ISO 3166-1" in result.bad_rows[0].allowed
    assert isinstance(refused.value, InputError)
    assert not db.exists()  # not even good.jsonl was loaded; the store was never touched


def test_a_refused_load_leaves_an_existing_store_as_it_was(tmp_path, synthetic_rows):
    db = tmp_path / "events.duckdb"
    ingest_files([write_jsonl(tmp_path / "first.jsonl", synthetic_rows[:2])], db)
    rest = [dict(row) for row in synthetic_rows[2:]]
    rest[1]["side"] = "flat"
    with pytest.raises(IngestRefused):
        ingest_files([write_jsonl(tmp_path / "rest.jsonl", rest)], db)
    assert [row[0] for row in stored(db)] == ["synthetic-1", "synthetic-2"]


def test_csv_bad_rows_count_lines_from_the_header(tmp_path, synthetic_rows):
    path = write_csv(tmp_path / "in.csv", synthetic_rows)
    text = path.read_text().splitlines()
    text[2] = text[2].replace("margin_call", "margin_calls")       # line 3
    text.insert(4, "")                                             # blank line 5
    text.append("synthetic-9,2025-11-07T00:00:00Z,stops")          # line 7: too few fields
    text.append('synthetic-10,"2025-11-07T00:00:00Z,stops')        # line 8: open quote
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(IngestRefused) as refused:
        ingest_files([path], tmp_path / "events.duckdb")
    found = [(r.line, r.field) for r in refused.value.result.bad_rows]
    assert found == [(3, "tool"), (7, "row"), (8, "row")]
    assert refused.value.result.bad_rows[1].value == f"expected {len(COLUMNS)} fields, got 3"


def test_csv_with_quotes_crlf_any_column_order_and_missing_optional_columns(tmp_path):
    path = tmp_path / "synthetic.csv"
    path.write_bytes(b'\xef\xbb\xbfsymbol,tool,"ts",country\r\n'
                     b'"BTC",liquidation_price,"2025-11-04T09:15:00Z",US\r\n'
                     b'OTHER,"stops",2025-11-04 10:00:00,\r\n')
    db = tmp_path / "events.duckdb"
    assert ingest_files([path], db).loaded == 2
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT tool, symbol, country, device FROM events ORDER BY tool").fetchall()
    con.close()
    assert got == [("liquidation_price", "BTC", "US", "unknown"),
                   ("stops", "OTHER", "ZZ", "unknown")]


def test_missing_required_column_refuses_the_file(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("event_id,tool\nsynthetic-1,stops\n")
    with pytest.raises(InputError) as raised:
        ingest_files([path], tmp_path / "events.duckdb")
    assert raised.value.value == "ts"


def test_columns_outside_the_schema_are_named_and_not_loaded(tmp_path, synthetic_rows):
    rows = [{**row, "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"} for row in synthetic_rows]
    db = tmp_path / "events.duckdb"
    result = ingest_files([write_jsonl(tmp_path / "in.jsonl", rows)], db)
    assert list(result.ignored_columns.values()) == [["ip", "user_agent"]]
    assert b"203.0.113.7" not in db.read_bytes()


def test_non_utf8_line_is_a_bad_row(tmp_path, synthetic_rows):
    path = write_jsonl(tmp_path / "in.jsonl", synthetic_rows)
    path.write_bytes(path.read_bytes() + b'{"ts": "2025-11-04", "tool": "st\xffops"}\n')
    with pytest.raises(IngestRefused) as refused:
        ingest_files([path], tmp_path / "events.duckdb")
    assert [(r.line, r.value) for r in refused.value.result.bad_rows] == [(5, "not UTF-8 text")]


def test_gzipped_jsonl_and_parquet_dataset_directory(tmp_path, synthetic_rows):
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress("".join(json.dumps(r) + "\n"
                                             for r in synthetic_rows).encode()))
    dataset = tmp_path / "dataset" / "date=2025-11-04"
    dataset.mkdir(parents=True)
    table = pq.read_table(write_parquet(tmp_path / "x.parquet", synthetic_rows))
    pq.write_table(table.slice(0, 2), dataset / "part-a-000001.parquet")
    pq.write_table(table.slice(2, 2), dataset / "part-b-000001.parquet")
    (dataset / ".part-c-000001.parquet.tmp").write_bytes(b"half written")
    db = tmp_path / "events.duckdb"
    assert ingest_files([packed], db).loaded == 4
    result = ingest_files([tmp_path / "dataset"], db)
    assert (result.rows, result.loaded, result.skipped) == (4, 0, 4)
    assert result.ignored_columns == {}


def test_parquet_rows_are_numbered_from_one(tmp_path, synthetic_rows):
    synthetic_rows[2]["device"] = "smartwatch"
    path = write_parquet(tmp_path / "in.parquet", synthetic_rows)
    with pytest.raises(IngestRefused) as refused:
        ingest_files([path], tmp_path / "events.duckdb")
    assert [(r.line, r.field) for r in refused.value.result.bad_rows] == [(3, "device")]


def test_unknown_file_type_and_missing_file_are_clear_errors(tmp_path):
    (tmp_path / "events.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError):
        ingest_files([tmp_path / "events.xlsx"], tmp_path / "db.duckdb")
    with pytest.raises(FileNotFoundError):
        ingest_files([tmp_path / "missing.csv"], tmp_path / "db.duckdb")


def test_empty_file_loads_nothing(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert ingest_files([path], tmp_path / "events.duckdb").rows == 0


def test_export_refuses_a_missing_store_and_bad_format(tmp_path):
    with pytest.raises(InputError):
        export_events(tmp_path / "none.duckdb", tmp_path / "o.csv", "csv")
    with pytest.raises(InputError):
        export_events(tmp_path / "none.duckdb", tmp_path / "o.xml", "xml")


def test_arrow_helper_matches_schema(event_factory):
    from marginscope.telemetry.schema import ARROW_SCHEMA, events_to_arrow

    table = events_to_arrow([event_factory(0)])
    assert table.schema.equals(ARROW_SCHEMA) and isinstance(table, pa.Table)


def test_a_quoted_comma_stays_inside_its_field(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('ts,tool,symbol\n2025-11-04T00:00:00Z,"stops,""x""",BTC\n')
    with pytest.raises(IngestRefused) as refused:
        ingest_files([path], tmp_path / "events.duckdb")
    (bad,) = refused.value.result.bad_rows
    assert (bad.line, bad.field, bad.value) == (2, "tool", 'stops,"x"')
