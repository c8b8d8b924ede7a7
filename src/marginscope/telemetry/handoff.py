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
* Quiet: the child (:mod:`marginscope.telemetry.handoff_sink`) keeps its counts (committed, failed, batches, sink errors) in a few bytes
  of memory it shares with the server (:class:`_SharedCounts`), rewritten after each
  commit, and speaks on its answer pipe only to answer a flush and when it closes. A message
  per commit would wake the server's watch thread 50 times a second, and each wake-up takes
  the interpreter lock from the requests: measured on a busy 2-core machine, p99 of a
  sub-microsecond call on the request path went from 3 µs to 50 µs–1.7 ms.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from typing import Any, ClassVar

import orjson

from marginscope.telemetry.handoff_sink import (
    _CLOSED,
    _COUNTS,
    _FLUSH,
    _FRAME,
    _HEADER,
    _SharedCounts,
    main,
)
from marginscope.telemetry.process_sink import SinkProcessError, start_child
from marginscope.telemetry.schema import Event, wire_row
from marginscope.telemetry.writer import (
    Counts,
    QueueFull,
    Sink,
    WriterClosed,
    WriterStats,
    refused,
)

__all__ = ["ACKNOWLEDGED", "HandoffWriter"]

log = logging.getLogger("marginscope.telemetry")

PIPE_SIZE = 1 << 20  # the bound: about 5,000 events between two reads of the sink process
RESTART_PAUSE = (0.1, 30.0)  # first and longest pause before starting a sink process again
COUNTS_SECONDS = 1.0  # counts are sent at most this often while traffic goes on


ACKNOWLEDGED: Future[None] = Future()
"""The done future every handed-off event is answered with (one object: a caller may test
``outcome is ACKNOWLEDGED`` instead of asking a future, which takes its lock)."""
ACKNOWLEDGED.set_result(None)


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

    acknowledged: ClassVar[Future[None]] = ACKNOWLEDGED
    """What :meth:`record_frame` and :meth:`record_row` answer a hand-off with: a caller
    compares by identity (``Pipeline.record`` does) instead of asking the future."""

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
        return self._hand(orjson.dumps(row))

    def record_frame(self, frame: dict[str, Any]) -> Future[None]:
        """Hand an event's compact frame (``Pipeline._compact``: keyed hashes, derived fields,
        POSIX second, raw coarse context; never the IP, User-Agent or headers) to the sink
        process, which builds, checks and stores the event
        (:func:`~marginscope.telemetry.frames.event_of_frame`); a frame it refuses is
        counted there (``rejected``; per day ``invalid_context`` / ``malformed_frame``)."""
        return self._hand(_FRAME + orjson.dumps(frame))

    def _hand(self, payload: bytes) -> Future[None]:
        """Write one event's payload into the pipe: acknowledged, or a counted refusal."""
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
        return ACKNOWLEDGED

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
                    committed = sum(self._earlier[k] + child[k]
                                    for k in ("durable", "failed", "rejected"))
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
        queued = counts["accepted"] - counts["durable"] - counts["failed"] - counts["lost"] \
            - counts["rejected"]
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


if __name__ == "__main__":  # the sink process (handoff_sink)
    main()
