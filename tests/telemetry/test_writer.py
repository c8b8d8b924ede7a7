"""Batching writer: acknowledgement only once durable, bounded queue with counted overflow,
retries, flush on close."""

from __future__ import annotations

import threading
import time

import pytest

from marginscope.telemetry.pipeline import DropReason, Pipeline
from marginscope.telemetry.salt import SaltStore
from marginscope.telemetry.writer import BatchingWriter, QueueFull, WriterClosed


class GateSink:
    """A sink whose writes wait for ``release`` and can be told to fail (test double)."""

    def __init__(self, fail_times: int = 0) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.rows: list[str] = []
        self.fail_times = fail_times
        self.errors = 0
        self.closed = False

    def write(self, table) -> None:
        self.started.set()
        assert self.release.wait(10), "test never released the sink"
        if self.fail_times:
            self.fail_times -= 1
            self.errors += 1
            raise OSError("synthetic: disk full")
        self.rows.extend(table.column("event_id").to_pylist())

    def close(self) -> None:
        self.closed = True


def test_event_is_acknowledged_only_after_the_sink_made_it_durable(event_factory):
    sink = GateSink()
    writer = BatchingWriter(sink, flush_seconds=0.01)
    ack = writer.record(event_factory(0))
    assert sink.started.wait(5)                  # the batch is being written …
    assert not ack.done()                        # … but not durable: no acknowledgement yet
    sink.release.set()
    assert ack.result(timeout=5) is None
    assert sink.rows == ["synthetic-1"]
    writer.close()


def test_full_queue_overflow_is_counted_and_reported_never_silent(event_factory, caplog):
    sink = GateSink()
    writer = BatchingWriter(sink, max_queue=2, max_batch=1, flush_seconds=0.01)
    first = writer.record(event_factory(0))
    assert sink.started.wait(5)                  # the first event is held by the sink
    queued = [writer.record(event_factory(i)) for i in (1, 2)]
    overflow = [writer.record(event_factory(3)) for _ in range(3)]
    for ack in overflow:
        assert isinstance(ack.exception(timeout=1), QueueFull)
    stats = writer.stats()
    assert (stats.accepted, stats.overflow, stats.durable) == (3, 3, 0)
    assert "queue full" in caplog.text
    sink.release.set()
    for ack in [first, *queued]:
        ack.result(timeout=5)
    final = writer.close()
    assert (final.durable, final.overflow, final.queued) == (3, 3, 0)


def test_close_flushes_everything_queued(event_factory):
    sink = GateSink()
    sink.release.set()
    writer = BatchingWriter(sink, flush_seconds=3600)  # no timed flush would ever come
    acks = [writer.record(event_factory(i % 4, event_id=f"synthetic-{i}")) for i in range(25)]
    stats = writer.close()
    assert all(ack.done() and ack.exception() is None for ack in acks)
    assert len(sink.rows) == 25 and stats.durable == 25 and sink.closed


def test_flush_waits_for_durability(event_factory):
    sink = GateSink()
    sink.release.set()
    writer = BatchingWriter(sink, flush_seconds=3600)
    ack = writer.record(event_factory(0))
    assert writer.flush(timeout=5)
    assert ack.done() and sink.rows == ["synthetic-1"]
    writer.close()


def test_failing_sink_is_retried_and_the_batch_stays_unacknowledged(event_factory, caplog):
    sink = GateSink(fail_times=2)
    sink.release.set()
    writer = BatchingWriter(sink, flush_seconds=0.01, retry_seconds=0.01)
    ack = writer.record(event_factory(0))
    ack.result(timeout=10)
    assert sink.errors == 2 and writer.stats().sink_errors == 2
    assert sink.rows == ["synthetic-1"]
    writer.close()


def test_events_a_dead_sink_never_took_fail_loudly_at_close(event_factory):
    sink = GateSink(fail_times=10**6)
    sink.release.set()
    writer = BatchingWriter(sink, flush_seconds=0.01, retry_seconds=0.01)
    acks = [writer.record(event_factory(0)) for _ in range(3)]
    stats = writer.close(timeout=0.3)
    assert all(isinstance(ack.exception(timeout=5), WriterClosed) for ack in acks)
    assert stats.failed == 3 and stats.durable == 0


def test_recording_after_close_is_refused_and_counted(event_factory):
    sink = GateSink()
    sink.release.set()
    writer = BatchingWriter(sink)
    writer.close()
    assert isinstance(writer.record(event_factory(0)).exception(), WriterClosed)
    assert writer.stats().rejected_closed == 1


def test_pipeline_reports_overflow_as_a_typed_drop(tmp_path, clock, event_factory):
    sink = GateSink()
    writer = BatchingWriter(sink, max_queue=1, max_batch=1, flush_seconds=0.01)
    pipeline = Pipeline(SaltStore(tmp_path, clock=clock), writer=writer, clock=clock)
    pipeline.record({}, "stops")
    assert sink.started.wait(5)
    deadline = time.monotonic() + 5
    outcomes = []
    while time.monotonic() < deadline and not any(
            getattr(o, "reason", None) is DropReason.QUEUE_FULL for o in outcomes):
        outcomes.append(pipeline.record({}, "stops"))
    assert pipeline.drop_counts()["queue_full"] >= 1
    sink.release.set()
    writer.close()


@pytest.mark.parametrize("bad_size", [0, -1])
def test_queue_bound_must_be_positive(bad_size):
    with pytest.raises(ValueError):
        BatchingWriter(GateSink(), max_queue=bad_size).close()


def test_the_events_of_one_batch_share_one_acknowledgement(event_factory):
    sink = GateSink()
    sink.release.set()
    writer = BatchingWriter(sink, flush_seconds=0.5)
    acks = [writer.record(event_factory(i)) for i in range(3)]  # inside one batch window
    assert acks[0] is acks[1] is acks[2]
    assert acks[0].result(timeout=5) is None
    later = writer.record(event_factory(3))
    assert later is not acks[0]
    stats = writer.close()
    assert (stats.batches, stats.durable) == (2, 4) and sink.rows[:3] == [
        "synthetic-1", "synthetic-2", "synthetic-3"]
