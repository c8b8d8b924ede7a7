"""Sinks: DuckDB (a transaction per batch) and the Hive-partitioned Parquet dataset (a file per
writer, batch and day, renamed into place)."""

from __future__ import annotations

import duckdb

from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.schema import events_to_arrow
from marginscope.telemetry.store import DuckDBSink, connect
from marginscope.telemetry.writer import BatchingWriter


def test_duckdb_sink_commits_each_batch_and_releases_the_file(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    sink = DuckDBSink(db)
    sink.write(events_to_arrow([event_factory(0), event_factory(1)]))
    # Another connection can open the file between batches (the lock is not held).
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    con.close()
    sink.write(events_to_arrow([event_factory(2)]))
    sink.close()
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall()) == [
        "synthetic-1", "synthetic-2", "synthetic-3"]
    con.close()


def test_duckdb_sink_retry_after_a_failure_does_not_store_a_batch_twice(tmp_path,
                                                                       event_factory):
    db = tmp_path / "events.duckdb"
    sink = DuckDBSink(db, keep_open=True)
    table = events_to_arrow([event_factory(0)])
    sink.write(table)
    sink._failed_once = True   # as after an ambiguous failure: the retry must be idempotent
    sink.write(table)
    sink.close()
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    con.close()


def test_parquet_dataset_is_hive_partitioned_by_utc_day(tmp_path, event_factory):
    root = tmp_path / "dataset"
    sink = ParquetDatasetSink(root, "app-1")
    written = sink.write(events_to_arrow([event_factory(i) for i in range(4)]))
    days = sorted(p.parent.name for p in written)
    assert days == ["date=2025-11-04", "date=2025-11-05", "date=2025-11-06"]
    assert all(p.name.startswith("part-app-1-") and p.suffix == ".parquet" for p in written)
    assert not list(root.rglob("*.tmp"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        f"SELECT CAST(date AS VARCHAR), count(*) FROM read_parquet('{root}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("2025-11-04", 2), ("2025-11-05", 1), ("2025-11-06", 1)]


def test_several_writers_share_a_dataset_without_clashing(tmp_path, event_factory):
    root = tmp_path / "dataset"
    first, second = ParquetDatasetSink(root, "host-a/1"), ParquetDatasetSink(root, "host-b")
    names = set()
    for sink in (first, second, first):
        names |= {p.name for p in sink.write(events_to_arrow([event_factory(0)]))}
    assert len(names) == 3 and all("/" not in n for n in names)


def test_parquet_acknowledgement_comes_after_the_rename(tmp_path, event_factory):
    root = tmp_path / "dataset"
    writer = BatchingWriter(ParquetDatasetSink(root, "w"), flush_seconds=0.01)
    writer.record(event_factory(0)).result(timeout=10)
    (part,) = root.rglob("*.parquet")
    assert part.parent.name == "date=2025-11-04"
    writer.close()
