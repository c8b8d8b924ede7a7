"""The sink in a child process: durable when ``write`` returns, errors surface in the parent,
the child never outlives its parent's pipe."""

from __future__ import annotations

import pickle
from functools import partial

import duckdb
import pytest

from marginscope.telemetry.process_sink import ProcessSink, SinkProcessError
from marginscope.telemetry.schema import events_to_arrow, wire_row, wire_rows_to_arrow
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import BatchingWriter


def _stored(db) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(row[0] for row in con.execute("SELECT event_id FROM events").fetchall())
    finally:
        con.close()


def test_a_batch_is_in_the_database_when_write_returns(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    sink = ProcessSink(partial(DuckDBSink, db))
    try:
        sink.write(sink.encode([event_factory(0), event_factory(1)]))
        assert _stored(db) == ["synthetic-1", "synthetic-2"]  # the child released the file
        sink.write(sink.encode([event_factory(2)]))
        assert _stored(db) == ["synthetic-1", "synthetic-2", "synthetic-3"]
    finally:
        sink.close()
    assert sink._process.poll() == 0


def test_the_writer_acknowledges_through_the_child(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    writer = BatchingWriter(ProcessSink(partial(DuckDBSink, db)), flush_seconds=0.01)
    acks = [writer.record(event_factory(i % 4, event_id=f"synthetic-{i}")) for i in range(6)]
    for ack in acks:
        assert ack.result(timeout=30) is None
    stats = writer.close()
    assert (stats.durable, stats.queued) == (6, 0)
    assert len(_stored(db)) == 6


def test_a_sink_that_cannot_open_fails_at_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SinkProcessError, match="FileExistsError"):
        ProcessSink(partial(DuckDBSink, blocker / "events.duckdb"))


def test_a_failed_write_raises_in_the_parent_and_the_child_carries_on(tmp_path,
                                                                      event_factory):
    db = tmp_path / "events.duckdb"
    sink = ProcessSink(partial(DuckDBSink, db))
    try:
        with pytest.raises(SinkProcessError, match="UnpicklingError"):
            sink.write(b"not a batch")
        sink.write(sink.encode([event_factory(0)]))  # the same child, still serving
        assert _stored(db) == ["synthetic-1"]
    finally:
        sink.close()


def test_the_child_exits_when_the_parent_goes_away(tmp_path):
    sink = ProcessSink(partial(DuckDBSink, tmp_path / "events.duckdb"))
    sink._send.close()  # what the parent's death does to the pipe
    assert sink._process.wait(timeout=30) == 0
    sink._receive.close()


def test_rows_cross_the_pipe_unchanged(event_factory):
    events = [event_factory(i) for i in range(4)]
    wire = pickle.loads(pickle.dumps([wire_row(event) for event in events]))
    assert wire_rows_to_arrow(wire).equals(events_to_arrow(events))
