"""The web server's hand-off writer: an acknowledged event is held by the sink process, which
commits it even when the server dies; a full pipe is a counted overflow."""

from __future__ import annotations

import os
import signal
import time
from functools import partial

import duckdb
import pytest

from marginscope.telemetry.handoff import HandoffWriter
from marginscope.telemetry.process_sink import SinkProcessError
from marginscope.telemetry.schema import COLUMNS, wire_row
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import QueueFull


def _count(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()


def _events(event_factory, n: int):
    return [event_factory(i % 4, event_id=f"synthetic-{i}") for i in range(n)]


def test_acknowledged_at_once_and_committed_by_the_child(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=0.01)
    acks = [writer.record(event) for event in _events(event_factory, 50)]
    assert all(ack.done() and ack.exception() is None for ack in acks)
    assert writer.flush(timeout=30)
    assert _count(db) == 50  # durable once flush returns
    stats = writer.close()
    assert (stats.accepted, stats.durable, stats.queued, stats.overflow) == (50, 50, 0, 0)


def test_what_a_dead_server_handed_off_is_still_committed(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=5.0)  # no timed commit
    for event in _events(event_factory, 200):
        assert writer.record(event).exception() is None
    os.close(writer._pipe)  # the server's end of the pipe vanishes, as with kill -9
    assert writer._process.wait(timeout=30) == 0
    assert _count(db) == 200


def test_a_full_pipe_is_a_counted_overflow_never_a_silent_loss(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=0.01)
    os.kill(writer._process.pid, signal.SIGSTOP)  # the sink process stops reading
    try:
        outcomes = [writer.record(event) for event in _events(event_factory, 20_000)]
    finally:
        os.kill(writer._process.pid, signal.SIGCONT)
    refused = [o for o in outcomes if o.exception() is not None]
    assert refused and all(isinstance(o.exception(), QueueFull) for o in refused)
    stats = writer.close()
    assert stats.overflow == len(refused)
    assert stats.accepted == len(outcomes) - len(refused) == stats.durable
    assert _count(db) == stats.accepted


def test_a_sink_that_cannot_open_fails_at_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SinkProcessError, match="FileExistsError"):
        HandoffWriter(partial(DuckDBSink, blocker / "events.duckdb"))


def test_a_flush_that_timed_out_does_not_answer_the_next_one(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=5.0)  # no timed commit
    os.kill(writer._process.pid, signal.SIGSTOP)
    try:
        assert writer.record(event_factory(0)).exception() is None
        assert not writer.flush(timeout=0.2)  # the child cannot answer …
        assert writer.record(event_factory(1, event_id="synthetic-9")).exception() is None
    finally:
        os.kill(writer._process.pid, signal.SIGCONT)
    assert writer.flush(timeout=30)  # … and its late answer to the first is not taken for this
    assert _count(db) == 2
    writer.close()


def _signal_the_sink_mid_batch(db, event_factory, sig: int, after: int) -> tuple:
    """300 events read (and held, uncommitted) by the sink process, ``sig`` sent to it,
    ``after`` more recorded while a successor starts, then flushed and closed: (stats,
    events stored, the first process's exit code)."""
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=5.0)  # it holds its batch
    events = _events(event_factory, 300 + after)
    for event in events[:300]:
        assert writer.record(event).exception() is None
    first = writer._process
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _pipe_empty(writer):
        time.sleep(0.01)  # until the child has read (and holds, uncommitted) the 300
    os.kill(first.pid, sig)
    code = first.wait(timeout=10)
    for event in events[300:]:  # recorded while the new child starts: held by the pipe
        assert writer.record(event).exception() is None
    assert writer.flush(timeout=60)
    assert writer._process is not first
    return writer.close(), _count(db), code


def test_a_killed_sink_process_is_replaced_and_what_it_held_is_counted(tmp_path, event_factory):
    """kill -9 of the sink process: a new one takes over the pipe, recording goes on, and
    every acknowledged event is stored or counted as lost (none silently)."""
    db = tmp_path / "events.duckdb"
    stats, stored, _ = _signal_the_sink_mid_batch(db, event_factory, signal.SIGKILL, 600)
    assert stats.restarts == 1 and stats.accepted == 900
    assert stored == 600 and stats.lost == 300  # the dead child's open batch, counted
    assert stored + stats.lost == stats.accepted
    # the loss is persisted next to the events, under the day it was found
    con = duckdb.connect(str(db), read_only=True)
    persisted = con.execute("SELECT counter, sum(n) FROM telemetry_counts GROUP BY 1").fetchall()
    con.close()
    assert persisted == [("lost", 300)]


def test_a_sink_process_stopped_by_sigterm_commits_what_it_holds(tmp_path, event_factory):
    """SIGTERM (a service manager stopping the process group): the sink process commits the
    batch it holds and exits; a successor reads on from the pipe; nothing is lost."""
    stats, stored, code = _signal_the_sink_mid_batch(tmp_path / "events.duckdb", event_factory,
                                                     signal.SIGTERM, 300)
    assert code == 0
    assert stats.restarts == 1 and stats.accepted == 600
    assert stored == 600 and stats.lost == 0


def _pipe_empty(writer) -> bool:
    import fcntl
    import struct
    import termios

    waiting = fcntl.ioctl(writer._read_end, termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", waiting)[0] == 0


def test_the_child_stores_each_event_as_it_was_handed_off(tmp_path, event_factory):
    """The frames are JSON arrays (orjson), not pickles: every column of every event comes
    back from the store as the event had it (None, text, numbers, the second of ``ts``)."""
    db = tmp_path / "events.duckdb"
    events = [event_factory(i % 4, event_id=f"synthetic-{i}") for i in range(12)]
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=0.01)
    for event in events:
        writer.record(event)
    assert writer.flush(timeout=30)
    writer.close()
    columns = ", ".join("epoch(ts)" if c == "ts" else c for c in COLUMNS)
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute(f"SELECT {columns} FROM events ORDER BY event_id").fetchall()
    finally:
        con.close()
    expected = sorted((wire_row(event) for event in events), key=lambda row: row[0])
    assert [tuple(row) for row in stored] == expected
