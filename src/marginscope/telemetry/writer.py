"""Batching writer: events leave the request path through a bounded queue, a background
thread writes them in batches, and each event's acknowledgement completes only once its
batch is durable (DuckDB commit / Parquet file renamed into place).

Guarantees (docs/telemetry.md, "Durability"):

* :meth:`BatchingWriter.record` never blocks the request. It returns a
  :class:`concurrent.futures.Future` that resolves to ``None`` when the event is durable, or
  fails with :class:`QueueFull` at once when the bounded queue is full (the overflow is
  counted, logged and reported by :meth:`BatchingWriter.stats`: never dropped silently).
* A sink error is retried with back-off; the batch stays unacknowledged meanwhile.
* :meth:`BatchingWriter.close` flushes everything queued, then closes the sink; events it
  cannot make durable within the timeout fail their futures and are counted as ``failed``.

Plausible's write buffer (``lib/plausible/ingestion/write_buffer.ex``) and GoatCounter's
memstore flush batches the same way; they acknowledge before the flush, we do not.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from marginscope.errors import InputError
from marginscope.telemetry.schema import Event, events_to_arrow

__all__ = ["BatchingWriter", "QueueFull", "Sink", "WriterClosed", "WriterStats"]

log = logging.getLogger("marginscope.telemetry")


class Sink(Protocol):
    """Where batches go. ``write`` returns only once the batch is durable."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


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

    def as_dict(self) -> dict[str, int]:
        """Plain dict (for logs and the health endpoint)."""
        return dict(self.__dict__)


_FLUSH = object()


class BatchingWriter:
    """Bounded queue + background batch writer with durable acknowledgements.

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
        if max_queue < 1:  # queue.Queue(0) would be unbounded
            raise InputError("max_queue", max_queue, "an integer >= 1")
        if max_batch < 1:
            raise InputError("max_batch", max_batch, "an integer >= 1")
        if not flush_seconds > 0:
            raise InputError("flush_seconds", flush_seconds, "> 0")
        self.sink = sink
        self.max_batch = max_batch
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(
            ("accepted", "durable", "overflow", "failed", "rejected_closed", "batches",
             "sink_errors"), 0)
        self._closing = threading.Event()
        self._close_deadline = float("inf")
        self._closed = False
        self._last_overflow_log = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- request path ----------------------------------------------------------------------

    def record(self, event: Event) -> Future[None]:
        """Queue ``event``; the future resolves once it is durable (see module docstring)."""
        future: Future[None] = Future()
        if self._closed or self._closing.is_set():
            self._count("rejected_closed")
            future.set_exception(WriterClosed("the telemetry writer is closed"))
            return future
        try:
            self._queue.put_nowait((event, future))
        except queue.Full:
            self._overflow()
            future.set_exception(QueueFull("telemetry queue full; event counted as overflow"))
            return future
        self._count("accepted")
        return future

    def stats(self) -> WriterStats:
        """Counters so far (overflow included: the report the issue asks for)."""
        with self._lock:
            counts = dict(self._counts)
        queued = counts["accepted"] - counts["durable"] - counts["failed"]
        return WriterStats(queued=queued, **counts)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued before this call is durable; False on timeout."""
        if self._closed:
            return True
        marker: Future[None] = Future()
        try:
            self._queue.put((_FLUSH, marker), timeout=timeout)
        except queue.Full:
            return False
        try:
            marker.result(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flush what is queued (within ``timeout``), stop the thread, close the sink."""
        if not self._closed:
            self._close_deadline = time.monotonic() + timeout
            self._closing.set()
            self._thread.join(timeout + 1.0)
            self._closed = True
            # A record() racing with close() may have queued after the thread's last look.
            leftovers, markers = [], []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item[0] is _FLUSH:
                    markers.append(item[1])
                else:
                    leftovers.append(item)
            if leftovers:
                self._write(leftovers)
            for marker in markers:
                marker.set_result(None)
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
        self._count("overflow")
        now = time.monotonic()
        if now - self._last_overflow_log >= 10.0:
            self._last_overflow_log = now
            log.warning("telemetry queue full (%d events held): overflow so far %d",
                        self._queue.maxsize, self._counts["overflow"])

    def _run(self) -> None:
        while True:
            batch, markers = self._collect()
            if batch:
                self._write(batch)
            for marker in markers:
                marker.set_result(None)
            if self._closing.is_set() and self._queue.empty():
                return

    def _collect(self) -> tuple[list[tuple[Event, Future[None]]], list[Future[None]]]:
        """Up to ``max_batch`` events: wait for the first, then at most ``flush_seconds``."""
        batch: list[tuple[Event, Future[None]]] = []
        markers: list[Future[None]] = []
        deadline = None
        while len(batch) < self.max_batch:
            if self._closing.is_set():
                timeout = 0.0
            elif deadline is None:
                timeout = 0.1
            else:
                timeout = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else \
                    self._queue.get_nowait()
            except queue.Empty:
                if batch or self._closing.is_set():
                    break
                continue
            if item[0] is _FLUSH:
                markers.append(item[1])
                break
            batch.append(item)
            if deadline is None:
                deadline = time.monotonic() + self.flush_seconds
        return batch, markers

    def _write(self, batch: list[tuple[Event, Future[None]]]) -> None:
        table = events_to_arrow([event for event, _ in batch])
        delay = 0.05
        while True:
            try:
                self.sink.write(table)
                break
            except Exception as exc:  # a sink error must never kill the writer thread
                self._count("sink_errors")
                log.warning("telemetry sink write failed (%s: %s); retrying %d events",
                            type(exc).__name__, exc, len(batch))
                if self._closing.is_set() and time.monotonic() >= self._close_deadline:
                    self._count("failed", len(batch))
                    for _, future in batch:
                        future.set_exception(WriterClosed(f"not made durable: {exc}"))
                    return
                time.sleep(delay)
                delay = min(delay * 2, self.retry_seconds)
        self._count("durable", len(batch))
        self._count("batches")
        for _, future in batch:
            future.set_result(None)
