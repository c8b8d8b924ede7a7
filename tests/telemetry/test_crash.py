"""kill -9 while recording loses no acknowledged event (DuckDB WAL / renamed Parquet files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pytest

RECORDER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from marginscope.telemetry.parquet_sink import ParquetDatasetSink
    from marginscope.telemetry.schema import Event
    from marginscope.telemetry.store import DuckDBSink
    from marginscope.telemetry.writer import BatchingWriter

    kind, target = sys.argv[1], sys.argv[2]
    sink = DuckDBSink(target) if kind == "duckdb" else ParquetDatasetSink(target, "crash")
    writer = BatchingWriter(sink, flush_seconds=0.005, max_batch=50)

    def acknowledged(event_id):
        def done(future):
            if future.exception() is None:
                sys.stdout.write(event_id + "\\n")
                sys.stdout.flush()
        return done

    n = 0
    while True:  # SYNTHETIC events until killed
        n += 1
        event_id = f"synthetic-{n}"
        event = Event(event_id=event_id, ts=datetime(2025, 11, 4, tzinfo=UTC), tool="stops")
        writer.record(event).add_done_callback(acknowledged(event_id))
        if n % 200 == 0:
            writer.flush()
""")


@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_kill_9_loses_no_acknowledged_event(tmp_path, kind):
    target = tmp_path / ("events.duckdb" if kind == "duckdb" else "dataset")
    process = subprocess.Popen([sys.executable, "-c", RECORDER, kind, str(target)],
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    acknowledged = []
    try:
        for line in process.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= 1500:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert len(acknowledged) >= 1500
    con = duckdb.connect(str(target) if kind == "duckdb" else ":memory:")
    source = "events" if kind == "duckdb" else f"read_parquet('{target}/**/*.parquet')"
    stored = {row[0] for row in con.execute(f"SELECT event_id FROM {source}").fetchall()}
    con.close()
    assert set(acknowledged) <= stored
    assert not list(tmp_path.rglob("*.parquet.tmp")) or kind == "parquet"
