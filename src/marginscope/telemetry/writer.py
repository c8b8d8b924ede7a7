"""Batching writer: events leave the request path through a bounded queue, a background
thread writes them in batches, and each event's acknowledgement completes only once its
batch is durable (DuckDB commit / Parquet file renamed into place).

Guarantees (docs/telemetry.md, "Durability"):

* :meth:`BatchingWriter.record` never blocks the request. It returns a
  :class:`concurrent.futures.Future` that resolves to ``None`` when the event is durable — the
  future of its batch, shared by every event of the batch (group commit: one acknowledgement
  per commit, not one per event) — or a fresh future that fails with :class:`QueueFull` at
  once when the bounded buffer is full (the overflow is
  counted, logged and reported by :meth:`BatchingWriter.stats`: never dropped silently).
* A sink error is retried with back-off; the batch stays unacknowledged meanwhile.
* :meth:`BatchingWriter.close` flushes everything queued, then closes the sink; events it
  cannot make durable within the timeout fail their futures and are counted as ``failed``.
* :meth:`BatchingWriter.count` takes the pipeline's per-day counts of events not recorded;
  they are handed to the sink's ``add_counts`` after each batch, on a flush and at close
  (:func:`store_counts`: the DuckDB sink keeps them in ``telemetry_counts``; a sink without
  ``add_counts``, the Parquet dataset, does not keep them, which is logged once).

Plausible's write buffer (``lib/plausible/ingestion/write_buffer.ex``) and GoatCounter's
memstore flush batches the same way; they acknowledge before the flush, we do not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pyarrow as pa

from marginscope.errors import InputError
from marginscope.telemetry.schema import Event, events_to_arrow

__all__ = ["BatchingWriter", "Counts", "QueueFull", "Sink", "Writer", "WriterClosed",
           "WriterStats", "refused", "store_counts"]

log = logging.getLogger("marginscope.telemetry")


class Sink(Protocol):
    """Where batches go. ``write`` returns only once the batch is durable.

    A sink may also define ``encode(events)``, what the writer thread turns a batch into
    before ``write`` (default :func:`~marginscope.telemetry.schema.events_to_arrow`), and
    ``add_counts(counts)``, which persists :data:`Counts` (see :func:`store_counts`).
    """

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class Writer(Protocol):
    """What the pipeline feeds: :class:`BatchingWriter`, or the web server's
    :class:`~marginscope.telemetry.handoff.HandoffWriter`."""

    def record(self, event: Event) -> Future[None]: ...

    def count(self, day: date, counter: str, n: int = 1) -> None: ...

    def stats(self) -> WriterStats: ...

    def flush(self, timeout: float | None = ...) -> bool: ...

    def close(self, timeout: float = ...) -> WriterStats: ...


Counts = Counter[tuple[date, str]]
"""``{(UTC day, counter): n}``: events not recorded per day, by drop reason or ``lost``."""

_unkept: set[str] = set()  # sink types already logged as keeping no counts


def store_counts(sink: Any, counts: Counts) -> None:
    """Hand ``counts`` to ``sink.add_counts`` (and clear them); a sink without it keeps no
    counts: logged once per sink type, then cleared. A failing ``add_counts`` raises, the
    counts kept for the next try."""
    if not counts:
        return
    add = getattr(sink, "add_counts", None)
    if add is None:
        name = type(sink).__name__
        if name not in _unkept:
            _unkept.add(name)
            log.info("telemetry: %s keeps no counts of events not recorded (only the DuckDB "
                     "sink does); they are in the server's stats only", name)
    else:
        add(dict(counts))
    counts.clear()


class QueueFull(RuntimeError):
    """The bounded queue was full: this event was not recorded (and was counted)."""


class WriterClosed(RuntimeError):
    """The writer was closed before this event could be recorded."""


@dataclass(frozen=True)
class WriterStats:
    """Counters since the writer started."""

    accepted: int      # taken into the queue
    durable: int       # written and acknowledged
    overflow: int      # refused because the queue was full
    failed: int        # accepted but never made durable (sink failing at close)
    rejected_closed: int
    batches: int
    sink_errors: int
    queued: int        # accepted, not yet durable
    lost: int = 0      # acknowledged, then lost with a sink process that died (counted)
    restarts: int = 0  # sink processes started again after dying
    rejected: int = 0  # handed to a sink process that refused it (counted per day, by reason)

    def as_dict(self) -> dict[str, int]:
        """Plain dict (for logs and the health endpoint)."""
        return dict(self.__dict__)


class BatchingWriter:
    """Bounded buffer + background batch writer with durable acknowledgements.

    The request path only appends to a list under a lock: the writer thread is woken once per
    batch (when the buffer turns non-empty), sleeps out the batch window, then takes the
    batch. Waking it for every event (a blocking queue) made each request hand the GIL to the
    writer thread and back — several times the cost of the event itself.

    Parameters
    ----------
    sink : Sink
        :class:`~marginscope.telemetry.store.DuckDBSink` or
        :class:`~marginscope.telemetry.parquet_sink.ParquetDatasetSink`.
    max_queue : int
        Events held in memory before overflow (``MARGINSCOPE_QUEUE_SIZE``).
    max_batch : int
        Largest batch written at once.
    flush_seconds : float
        Longest time an event waits for its batch (``MARGINSCOPE_FLUSH_SECONDS``).
    retry_seconds : float
        Longest back-off between retries of a failing sink.
    """

    def __init__(self, sink: Sink, *, max_queue: int = 100_000, max_batch: int = 10_000,
                 flush_seconds: float = 0.5, retry_seconds: float = 5.0,
                 name: str = "marginscope-telemetry-writer") -> None:
        if max_queue < 1:
            raise InputError("max_queue", max_queue, "an integer >= 1")
        if max_batch < 1:
            raise InputError("max_batch", max_batch, "an integer >= 1")
        if not flush_seconds > 0:
            raise InputError("flush_seconds", flush_seconds, "> 0")
        self.sink = sink
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self._buffer: list[Event] = []
        self._batch: Future[None] = Future()      # the buffered events' acknowledgement
        self._first_at = 0.0                      # when the oldest buffered event came
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)      # buffer turned non-empty, or close
        self._progress = threading.Condition(self._lock)  # a batch finished (for flush)
        self._hurry = threading.Event()           # flush()/close(): skip the batch window
        self._counts = dict.fromkeys(
            ("accepted", "durable", "overflow", "failed", "rejected_closed", "batches",
             "sink_errors"), 0)
        self._tally: Counts = Counter()          # events not recorded, per day and reason
        self._closing = False
        self._close_deadline = float("inf")
        self._closed = False
        self._last_overflow_log = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- request path ----------------------------------------------------------------------

    def record(self, event: Event) -> Future[None]:
        """Buffer ``event``; the future resolves once it is durable (see module docstring)."""
        with self._lock:
            if self._closing:
                self._counts["rejected_closed"] += 1
                return refused(WriterClosed("the telemetry writer is closed"))
            if len(self._buffer) >= self.max_queue:
                self._overflow()
                return refused(QueueFull("telemetry queue full; event counted as overflow"))
            self._buffer.append(event)
            self._counts["accepted"] += 1
            if len(self._buffer) == 1:
                self._first_at = time.monotonic()
                self._wake.notify()
            return self._batch

    def count(self, day: date, counter: str, n: int = 1) -> None:
        """Count ``n`` events of ``day`` not recorded, for the sink to persist."""
        with self._lock:
            self._tally[(day, counter)] += n

    def stats(self) -> WriterStats:
        """Counters so far (overflow included: the report the issue asks for)."""
        with self._lock:
            counts = dict(self._counts)
        queued = counts["accepted"] - counts["durable"] - counts["failed"]
        return WriterStats(queued=queued, **counts)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event buffered before this call is durable; False on timeout."""
        with self._lock:
            target = self._counts["accepted"]
            self._hurry.set()
            self._wake.notify()
            done = self._progress.wait_for(
                lambda: self._counts["durable"] + self._counts["failed"] >= target
                or self._closed, timeout)
        return bool(done)

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flush what is buffered (within ``timeout``), stop the thread, close the sink."""
        if not self._closed:
            with self._lock:
                self._close_deadline = time.monotonic() + timeout
                self._closing = True
                self._hurry.set()
                self._wake.notify()
            self._thread.join(timeout + 1.0)
            with self._lock:
                leftovers, self._buffer = self._buffer, []  # only if the thread gave up
            if leftovers:
                self._write(leftovers, self._batch)
            self._write_counts()
            with self._lock:
                self._closed = True
                self._progress.notify_all()
            try:
                self.sink.close()
            finally:
                stats = self.stats()
                if stats.overflow or stats.failed:
                    log.warning("telemetry writer closed: %s", stats.as_dict())
        return self.stats()

    def __enter__(self) -> BatchingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- background thread -----------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _overflow(self) -> None:
        """Count (and now and then log) one refused event; called with the lock held."""
        self._counts["overflow"] += 1
        now = time.monotonic()
        if now - self._last_overflow_log >= 10.0:
            self._last_overflow_log = now
            log.warning("telemetry queue full (%d events held): overflow so far %d",
                        self.max_queue, self._counts["overflow"])

    def _run(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: self._buffer or self._closing
                                    or self._hurry.is_set())
                if not self._buffer:
                    self._hurry.clear()
                    idle = True
                else:
                    idle = False
                    due = self._first_at + self.flush_seconds
            if idle:  # a flush (or close) with no events: the counts still go out
                self._write_counts()
                with self._lock:
                    self._progress.notify_all()  # a flush of nothing is done
                    if self._closing:
                        return
                continue
            self._hurry.wait(due - time.monotonic())  # the batch window, unless hurried
            with self._lock:
                events, future = self._buffer, self._batch
                self._buffer, self._batch = [], Future()
                if not self._closing:
                    self._hurry.clear()
            self._write(events, future)
            self._write_counts()

    def _write_counts(self) -> None:
        """Hand the counts so far to the sink; on failure keep them for the next time."""
        with self._lock:
            counts, self._tally = self._tally, Counter()
        try:
            store_counts(self.sink, counts)
        except Exception as exc:  # counts must never kill the writer thread
            log.warning("telemetry counts not stored yet (%s: %s)", type(exc).__name__, exc)
            with self._lock:
                self._tally.update(counts)

    def _write(self, events: list[Event], future: Future[None]) -> None:
        """Write ``events`` in chunks of ``max_batch``; then resolve their future."""
        for start in range(0, len(events), self.max_batch):
            chunk = events[start:start + self.max_batch]
            error = self._write_chunk(chunk)
            if error is not None:
                with self._lock:
                    self._counts["failed"] += len(events) - start
                    self._progress.notify_all()
                future.set_exception(WriterClosed(f"not made durable: {error}"))
                return
        future.set_result(None)

    def _write_chunk(self, chunk: list[Event]) -> Exception | None:
        """Write one chunk, retrying with back-off; the error if the sink never took it
        before the close deadline."""
        table = getattr(self.sink, "encode", events_to_arrow)(chunk)
        delay = 0.05
        while True:
            try:
                self.sink.write(table)
            except Exception as exc:  # a sink error must never kill the writer thread
                self._count("sink_errors")
                log.warning("telemetry sink write failed (%s: %s); retrying %d events",
                            type(exc).__name__, exc, len(chunk))
                if self._closing and time.monotonic() >= self._close_deadline:
                    return exc
                time.sleep(delay)
                delay = min(delay * 2, self.retry_seconds)
            else:
                with self._lock:
                    self._counts["durable"] += len(chunk)
                    self._counts["batches"] += 1
                    self._progress.notify_all()
                return None


def refused(error: Exception) -> Future[None]:
    """A future that already failed with ``error`` (an event not taken)."""
    future: Future[None] = Future()
    future.set_exception(error)
    return future
