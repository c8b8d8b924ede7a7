"""The web server's writer: each event is handed to a sink process through a pipe.

With :class:`~marginscope.telemetry.writer.BatchingWriter` an answer waits for its batch's
commit, and the batching thread shares the server's interpreter lock: together they held
telemetry-on HTTP at about 45 % of telemetry-off (docs/telemetry.md, "Benchmark").
:class:`HandoffWriter` has no wait. ``record`` writes the event's row, a frame of a few hundred
bytes, into a pipe read by a child process (``python -m marginscope.telemetry.handoff``) and
acknowledges it at once: the event is then held by the kernel's pipe or by a process the
server's crash cannot take with it. The child batches what it reads (a batch closes
``flush_seconds`` after its first event, or at ``max_batch`` events), writes and commits each
batch, reports its counts, and on end of file — the server closing it, or dying, ``kill -9``
included — commits the rest and exits.

* Bounded: the queue is the pipe (1 MiB, about 5,000 events) plus the child's open batch.
  When the pipe is full the write fails at once (frames are smaller than ``PIPE_BUF``, so a
  write is all or nothing): the event is a counted ``QueueFull`` overflow, never dropped
  silently.
* Supervised: the server keeps the pipe's read end too, and a thread watches the child. When
  the child dies (``kill -9``, out of memory), the death is logged once and a new child takes
  over the same pipe: the events still in the pipe are written by it, and the beacon and the
  calculators' recording go on. What the dead child had read but not committed (at most one
  batch, ``flush_seconds`` of events) is lost and **counted**: at the next flush, ``lost`` =
  events acknowledged before it − events every child committed, and a warning gives the
  number. A child that cannot start is retried with a growing pause (events meanwhile fill
  the pipe, then overflow, counted). The machine dying loses the pipe and the open batch.
  Where no acknowledged event may be lost, set ``MARGINSCOPE_ACK=durable``: answers then wait
  for the commit (BatchingWriter + ProcessSink).
* Counted where the events are: the pipeline's per-day counts of events not recorded
  (:meth:`HandoffWriter.count`) and the ``lost`` number above cross the same pipe as small
  control frames (at most one a second while traffic goes on, and at every flush and at
  close); the child hands them to its sink's ``add_counts`` (the DuckDB sink's
  ``telemetry_counts`` table) when it commits. Counts the child held when it died are not
  counted again (they are counts, not events; the events it held are the ``lost`` above).
* Quiet: the child keeps its counts (committed, failed, batches, sink errors) in a few bytes
  of memory it shares with the server (:class:`_SharedCounts`), rewritten after each
  commit, and speaks on its answer pipe only to answer a flush and when it closes. A message
  per commit would wake the server's watch thread 50 times a second, and each wake-up takes
  the interpreter lock from the requests: measured on a busy 2-core machine, p99 of a
  sub-microsecond call on the request path went from 3 µs to 50 µs–1.7 ms.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from typing import Any

import orjson

from marginscope.telemetry.process_sink import SinkProcessError, start_child
from marginscope.telemetry.schema import Event, wire_row, wire_rows_to_arrow
from marginscope.telemetry.writer import (
    Counts,
    QueueFull,
    Sink,
    WriterClosed,
    WriterStats,
    refused,
    store_counts,
)

__all__ = ["HandoffWriter"]

log = logging.getLogger("marginscope.telemetry")

_HEADER = struct.Struct("!I")
PIPE_SIZE = 1 << 20  # the bound: about 5,000 events between two reads of the sink process
POLL_SECONDS = 0.05  # the sink process reads the pipe at least this often
RESTART_PAUSE = (0.1, 30.0)  # first and longest pause before starting a sink process again
_FLUSH = b"flush:"  # a control frame (+ a number): commit now and answer with that number
_CLOSED = b"closed"  # the child's last answer
_COUNTS = b"counts:"  # a control frame (+ a pickled Counts): events not recorded, per day
COUNTS_SECONDS = 1.0  # counts are sent at most this often while traffic goes on

class _SharedCounts:
    """A child's counts in memory shared with the server (one file descriptor, passed to the
    child like the pipe): written by the child after each commit, read by the server when it
    reports, answers a flush or finds the child dead. Each count is an aligned 8-byte word."""

    KEYS = ("durable", "failed", "batches", "sink_errors")
    _LAYOUT = struct.Struct(f"={len(KEYS)}q")

    def __init__(self, fd: int | None = None) -> None:
        if fd is None:  # the server's side: a new, zeroed region
            fd = os.memfd_create("marginscope-telemetry-counts")
            os.ftruncate(fd, self._LAYOUT.size)
        self.fd = fd  # for the child to inherit; the mapping holds its own reference
        self._memory = mmap.mmap(fd, self._LAYOUT.size)

    def passed(self) -> None:
        """The descriptor was inherited (or is not needed): close this process's copy."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def write(self, counts: dict[str, int]) -> None:
        self._LAYOUT.pack_into(self._memory, 0, *(counts[key] for key in self.KEYS))

    def read(self) -> dict[str, int]:
        return dict(zip(self.KEYS, self._LAYOUT.unpack_from(self._memory), strict=True))

    def close(self) -> None:
        self.passed()
        self._memory.close()


_ACKNOWLEDGED: Future[None] = Future()  # done: shared by every handed-off event
_ACKNOWLEDGED.set_result(None)


class HandoffWriter:
    """Writer whose acknowledgement is the hand-off to a supervised sink process (module
    docstring).

    Parameters
    ----------
    open_sink : callable
        Picklable factory of the real sink, called in the child.
    flush_seconds : float
        A batch closes this long after its first event.
    max_batch : int
        Largest batch written at once.
    """

    def __init__(self, open_sink: Callable[[], Sink], *, flush_seconds: float = 0.02,
                 max_batch: int = 10_000) -> None:
        self._setup = (open_sink, flush_seconds, max_batch)
        self._read_end, self._pipe = os.pipe()  # the server keeps both ends: a new child
        os.set_blocking(self._pipe, False)      # reads on where a dead one stopped; writes
        try:                                    # never block the request
            fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            log.info("telemetry pipe keeps the system's default size")
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._counts = dict.fromkeys(("accepted", "overflow", "rejected_closed", "lost",
                                      "restarts"), 0)
        self._earlier = dict.fromkeys(_SharedCounts.KEYS, 0)  # dead children, summed
        self._answers: dict[bytes, int] = {}  # flush question → events accepted before it
        self._tally: Counts = Counter()  # events not recorded, per day: not yet sent
        self._tally_sent = time.monotonic()
        self._closed = False
        self._asking = threading.Lock()  # one flush or close at a time
        self._questions = 0
        self._process, self._reply, self._child = self._start()
        self._watch = threading.Thread(target=self._supervise, name="telemetry-sink-watch",
                                       daemon=True)
        self._watch.start()

    def _start(self) -> tuple[subprocess.Popen, Connection, _SharedCounts]:
        counts = _SharedCounts()
        try:
            process, control, reply = start_child(__name__, self._setup,
                                                  (self._read_end, counts.fd))
        except BaseException:
            counts.close()
            raise
        counts.passed()
        control.close()  # the setup was all it carried; events go through the pipe
        return process, reply, counts

    def record(self, event: Event) -> Future[None]:
        """Hand ``event`` to the sink process; acknowledged once it is in the pipe."""
        return self.record_row(wire_row(event))

    def record_row(self, row: tuple[Any, ...]) -> Future[None]:
        """Hand an event's :func:`~marginscope.telemetry.schema.wire_row` to the sink process
        (what the pipeline hands over, without building the event); acknowledged once it is
        in the pipe. The frame is the row as a JSON array (orjson: 0.1 µs to write and 0.9 µs
        to read back, against pickle's 0.8 and 1.8 µs; every value is a string, a number or
        null)."""
        payload = orjson.dumps(row)
        frame = _HEADER.pack(len(payload)) + payload
        with self._lock:
            if self._closed:
                self._counts["rejected_closed"] += 1
                return refused(WriterClosed("the telemetry writer is closed"))
            try:
                os.write(self._pipe, frame)
            except BlockingIOError:
                self._counts["overflow"] += 1
                if self._counts["overflow"] % 1000 == 1:
                    log.warning("telemetry pipe full: overflow so far %d",
                                self._counts["overflow"])
                return refused(QueueFull("telemetry queue full; event counted as overflow"))
            self._counts["accepted"] += 1
            if self._tally and time.monotonic() - self._tally_sent >= COUNTS_SECONDS:
                self._send_counts()
        return _ACKNOWLEDGED

    def count(self, day: date, counter: str, n: int = 1) -> None:
        """Count ``n`` events of ``day`` not recorded; sent to the child for its sink."""
        with self._lock:
            self._tally[(day, counter)] += n
            if not self._closed and time.monotonic() - self._tally_sent >= COUNTS_SECONDS:
                self._send_counts()

    def _send_counts(self) -> bool:
        """Write the counts not yet sent into the pipe (lock held); False if it was full."""
        items = list(self._tally.items())
        for start in range(0, len(items), 32):  # frames well under PIPE_BUF: all or nothing
            payload = _COUNTS + pickle.dumps(dict(items[start:start + 32]),
                                             protocol=pickle.HIGHEST_PROTOCOL)
            try:
                os.write(self._pipe, _HEADER.pack(len(payload)) + payload)
            except BlockingIOError:
                return False
            for key, n in items[start:start + 32]:
                self._tally[key] -= n
        self._tally = +self._tally  # drop the zeros
        self._tally_sent = time.monotonic()
        return True

    # --- the watch: answers, deaths, restarts ---------------------------------------------

    def _supervise(self) -> None:
        """Read the child's answers; when it dies, count what it took and start another."""
        pause = RESTART_PAUSE[0]
        while True:
            closed = self._read_answers(self._reply)
            self._reply.close()
            code = self._process.wait()
            with self._lock:
                if closed or self._closed:
                    self._answered.notify_all()
                    return
                for key, count in self._child.read().items():  # all it committed
                    self._earlier[key] += count
                self._child.close()
                self._child = _SharedCounts()  # zeros until the next child writes
            log.error("telemetry sink process died (exit code %s); starting another — events "
                      "it held but had not committed are counted as lost", code)
            while True:
                try:
                    process, reply, counts = self._start()
                    break
                except (SinkProcessError, OSError) as exc:
                    log.error("telemetry sink process did not start (%s); retrying in %.1f s",
                              exc, pause)
                    time.sleep(pause)
                    pause = min(pause * 2, RESTART_PAUSE[1])
                    if self._closed:
                        return
            with self._lock:
                self._child.close()
                self._process, self._reply, self._child = process, reply, counts
                self._counts["restarts"] += 1
            pause = RESTART_PAUSE[0]

    def _read_answers(self, reply: Connection) -> bool:
        """Take answers until end of file; True if the child said it closed normally."""
        while True:
            try:
                answer = reply.recv()
            except (EOFError, OSError):
                return False
            with self._lock:
                if answer in self._answers:
                    accepted = self._answers[answer]
                    child = self._child.read()  # written before the answer was sent
                    committed = sum(self._earlier[k] + child[k] for k in ("durable", "failed"))
                    lost = max(0, accepted - committed)
                    if lost > self._counts["lost"]:
                        log.warning("telemetry: %d acknowledged event(s) lost with a sink "
                                    "process that died", lost - self._counts["lost"])
                        self._tally[(datetime.now(UTC).date(), "lost")] += \
                            lost - self._counts["lost"]
                        self._counts["lost"] = lost
                    self._answers[answer] = -1  # answered
                self._answered.notify_all()
            if answer == _CLOSED:
                return True

    # --- flush, stats, close ---------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Have the child commit everything acknowledged so far; True once it said so (False
        on timeout). The request path keeps recording meanwhile."""
        deadline = time.monotonic() + (1e9 if timeout is None else timeout)
        with self._asking:
            self._questions += 1
            question = _FLUSH + str(self._questions).encode()
            frame = _HEADER.pack(len(question)) + question
            while True:
                with self._lock:
                    if self._closed:
                        return True
                    try:
                        if self._tally and not self._send_counts():
                            raise BlockingIOError
                        os.write(self._pipe, frame)
                        self._answers[question] = self._counts["accepted"]
                        break
                    except BlockingIOError:
                        pass
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
            with self._lock:
                answered = self._answered.wait_for(
                    lambda: self._answers[question] < 0 or self._closed,
                    max(0.0, deadline - time.monotonic()))
                self._answers.pop(question, None)
                return answered

    def stats(self) -> WriterStats:
        """Counters: ``accepted``/``overflow``/``lost``/``restarts`` here, ``durable`` and
        ``batches`` as the children last reported them (after each commit)."""
        with self._lock:
            child = self._child.read()
            children = {key: self._earlier[key] + child[key] for key in child}
            counts = {**self._counts, **children}
        queued = counts["accepted"] - counts["durable"] - counts["failed"] - counts["lost"]
        return WriterStats(queued=max(queued, 0), **counts)

    def close(self, timeout: float = 30.0) -> WriterStats:
        """End of file for the child: it commits the rest (the counts not yet sent too),
        answers and exits."""
        deadline = time.monotonic() + timeout
        with self._asking:
            with self._lock:
                while self._tally and not self._closed and not self._send_counts() and \
                        time.monotonic() < deadline:
                    self._lock.release()  # the pipe is full: let the child read on
                    time.sleep(0.005)
                    self._lock.acquire()
                closing, self._closed = not self._closed, True
            if closing:
                os.close(self._pipe)
                self._watch.join(timeout)
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:  # a stuck child must not hang shutdown
                    self._process.kill()
                os.close(self._read_end)
        return self.stats()


# --- the child ---------------------------------------------------------------------------------


def _serve(control: Connection, reply: Connection, events: int, shared: int) -> None:
    """Read frames from the ``events`` pipe, batch, commit (the counts written to the
    ``shared`` memory after each commit); answer flushes; on end of file commit the rest and
    exit."""
    open_sink, flush_seconds, max_batch = control.recv()
    control.close()
    try:
        sink = open_sink()
    except Exception as exc:  # reported to the parent, which raises it
        reply.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    reply.send(("ok", ""))
    counts = dict.fromkeys(_SharedCounts.KEYS, 0)
    report = _SharedCounts(shared)
    report.passed()
    rows: list[tuple[Any, ...]] = []
    tally: Counts = Counter()  # events the server did not record, per day: for the sink
    deadline = 0.0

    def commit() -> None:
        delay = 0.05
        try:
            store_counts(sink, tally)
        except Exception as exc:  # kept for the next commit
            log.warning("telemetry counts not stored yet (%s: %s)", type(exc).__name__, exc)
        while rows:
            try:
                sink.write(wire_rows_to_arrow(rows))
            except Exception as exc:  # retried: the rows stay held
                counts["sink_errors"] += 1
                report.write(counts)
                log.warning("telemetry sink write failed (%s: %s); retrying %d events",
                            type(exc).__name__, exc, len(rows))
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                counts["durable"] += len(rows)
                counts["batches"] += 1
                rows.clear()
                report.write(counts)

    def tell(answer: bytes) -> None:
        with contextlib.suppress(OSError):  # the server may be gone: commit on regardless
            reply.send(answer)

    fd = events
    os.set_blocking(fd, False)
    buffer = bytearray()
    end = False
    try:
        while not end and not _stopping:
            # Polled, never woken: a write into an empty pipe with a sleeping reader costs
            # the writer a cross-core wake-up, which on a small virtual machine is most of
            # an event's cost.
            time.sleep(min(flush_seconds / 2, POLL_SECONDS))
            while not end:
                try:
                    chunk = os.read(fd, 1 << 20)
                except BlockingIOError:
                    break
                end = not chunk
                buffer += chunk
            while len(buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buffer)
                if len(buffer) < _HEADER.size + size:
                    break
                payload = bytes(buffer[_HEADER.size:_HEADER.size + size])
                del buffer[:_HEADER.size + size]
                if payload.startswith(_FLUSH):
                    commit()
                    tell(payload)
                    continue
                if payload.startswith(_COUNTS):
                    tally.update(pickle.loads(payload[len(_COUNTS):]))
                    if not rows:  # no batch open to carry them: now
                        commit()
                    continue
                if not rows:
                    deadline = time.monotonic() + flush_seconds
                rows.append(orjson.loads(payload))
                if len(rows) >= max_batch:
                    commit()
            if rows and (end or time.monotonic() >= deadline):
                commit()
    finally:
        commit()
        sink.close()
        if not _stopping:  # stopped by a signal: the server (if alive) starts a successor,
            tell(_CLOSED)  # which reads on from the pipe


_stopping = False


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM (a service manager stopping the whole process group): finish the frames read,
    commit them and exit; what is still in the pipe stays there for a successor."""
    global _stopping
    _stopping = True


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent closes us (Ctrl-C hits both)
    signal.signal(signal.SIGTERM, _stop)
    _serve(Connection(int(sys.argv[1]), writable=False),
           Connection(int(sys.argv[2]), readable=False), int(sys.argv[3]), int(sys.argv[4]))
