"""The web server's writer: each event is handed to a sink process through a pipe.

With :class:`~marginscope.telemetry.writer.BatchingWriter` an answer waits for its batch's
commit, and the batching thread shares the server's interpreter lock: together they held
telemetry-on HTTP at about 45 % of telemetry-off (docs/telemetry.md, "Benchmark").
:class:`HandoffWriter` has no thread and no wait. ``record`` writes the event's row, a frame
of a few hundred bytes, into a pipe read by a child process (``python -m
marginscope.telemetry.handoff``) and acknowledges it at once: the event is then held by a
process the server's crash cannot take with it. The child batches what it reads (a batch
closes ``flush_seconds`` after its first event, or at ``max_batch`` events), writes and commits
each batch, and on end of file — the server closing it, or dying, ``kill -9`` included —
commits the rest and exits.

* Bounded: the queue is the pipe (64 KiB by default, a few hundred events) plus the child's
  open batch. When the pipe is full the write fails at once (frames are smaller than
  ``PIPE_BUF``, so a write is all or nothing): the event is a counted ``QueueFull`` overflow,
  never dropped silently.
* What it does not survive: the sink process itself dying, or the machine, loses the batch
  it holds (at most ``flush_seconds`` of events). Where that matters, set
  ``MARGINSCOPE_ACK=durable``: answers then wait for the commit (BatchingWriter + ProcessSink).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from marginscope.telemetry.process_sink import start_child
from marginscope.telemetry.schema import Event, wire_row, wire_rows_to_arrow
from marginscope.telemetry.writer import QueueFull, Sink, WriterClosed, WriterStats, refused

__all__ = ["HandoffWriter"]

log = logging.getLogger("marginscope.telemetry")

_HEADER = struct.Struct("!I")
PIPE_SIZE = 1 << 20  # the bound: about 5,000 events between two reads of the sink process
POLL_SECONDS = 0.05  # the sink process reads the pipe at least this often
_FLUSH = b"flush:"  # a control frame (+ a number): commit now and answer with that number
_CLOSED = b"closed"  # the child's last answer


_ACKNOWLEDGED: Future[None] = Future()  # done: shared by every handed-off event
_ACKNOWLEDGED.set_result(None)


class HandoffWriter:
    """Writer whose acknowledgement is the hand-off to a sink process (module docstring).

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
        self._process, self._control, self._reply = start_child(
            __name__, (open_sink, flush_seconds, max_batch))
        self._pipe = self._control.fileno()  # the event frames go here, after the setup …
        os.set_blocking(self._pipe, False)   # … and never block the request
        with contextlib.suppress(OSError):   # room for PIPE_SIZE bytes of frames (Linux)
            fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("accepted", "overflow", "rejected_closed"), 0)
        self._child: dict[str, int] = dict.fromkeys(("durable", "failed", "batches",
                                                     "sink_errors"), 0)
        self._closed = False
        self._asking = threading.Lock()  # one reader of the answers at a time
        self._questions = 0

    def record(self, event: Event) -> Future[None]:
        """Hand ``event`` to the sink process; acknowledged once it is in the pipe."""
        payload = pickle.dumps(wire_row(event), protocol=pickle.HIGHEST_PROTOCOL)
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
            except OSError as exc:  # the sink process is gone
                self._counts["rejected_closed"] += 1
                return refused(WriterClosed(f"the sink process is gone: {exc}"))
            self._counts["accepted"] += 1
        return _ACKNOWLEDGED

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Have the child commit what it holds; True once it said so (False on timeout).

        The request path keeps recording meanwhile: the lock is held only to write the
        question, never while waiting for the answer.
        """
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
                        os.write(self._pipe, frame)
                        break
                    except BlockingIOError:
                        pass
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
            return self._await_answer(question, deadline)

    def stats(self) -> WriterStats:
        """Counters: ``accepted``/``overflow`` here, ``durable``/``batches`` as the child last
        reported them (:meth:`flush` and :meth:`close` ask)."""
        with self._lock:
            counts = {**self._counts, **self._child}
        queued = counts["accepted"] - counts["durable"] - counts["failed"]
        return WriterStats(queued=max(queued, 0), **counts)

    def close(self, timeout: float = 30.0) -> WriterStats:
        """End of file for the child: it commits the rest, answers and exits."""
        with self._asking:
            with self._lock:
                closing, self._closed = not self._closed, True
            if closing:
                self._control.close()
                self._await_answer(_CLOSED, time.monotonic() + timeout)
                self._reply.close()
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:  # a stuck child must not hang shutdown
                    self._process.kill()
        return self.stats()

    def _await_answer(self, question: bytes, deadline: float) -> bool:
        """Read the child's answers until the one to ``question`` (earlier ones, left by a
        flush that timed out, only update the counters)."""
        while self._reply.poll(max(0.0, deadline - time.monotonic())):
            try:
                answer, counts = self._reply.recv()
            except EOFError:
                return False
            with self._lock:
                self._child.update(counts)
            if answer == question:
                return True
        return False


# --- the child ---------------------------------------------------------------------------------


def _serve(control: Connection, reply: Connection) -> None:
    """Read frames, batch, commit; answer flushes; on end of file commit the rest and exit."""
    open_sink, flush_seconds, max_batch = control.recv()
    try:
        sink = open_sink()
    except Exception as exc:  # reported to the parent, which raises it
        reply.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    reply.send(("ok", ""))
    counts = dict.fromkeys(("durable", "failed", "batches", "sink_errors"), 0)
    rows: list[tuple[Any, ...]] = []
    deadline = 0.0

    def commit() -> None:
        delay = 0.05
        while rows:
            try:
                sink.write(wire_rows_to_arrow(rows))
            except Exception as exc:  # retried: the rows stay held
                counts["sink_errors"] += 1
                log.warning("telemetry sink write failed (%s: %s); retrying %d events",
                            type(exc).__name__, exc, len(rows))
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                counts["durable"] += len(rows)
                counts["batches"] += 1
                rows.clear()

    fd = control.fileno()
    os.set_blocking(fd, False)
    buffer = bytearray()
    end = False
    try:
        while not end:
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
                    reply.send((payload, dict(counts)))
                    continue
                if not rows:
                    deadline = time.monotonic() + flush_seconds
                rows.append(pickle.loads(payload))
                if len(rows) >= max_batch:
                    commit()
            if rows and (end or time.monotonic() >= deadline):
                commit()
    finally:
        commit()
        sink.close()
        with contextlib.suppress(OSError):  # the parent may be gone: nobody to tell
            reply.send((_CLOSED, dict(counts)))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent closes us (Ctrl-C hits both)
    _serve(Connection(int(sys.argv[1]), writable=False),
           Connection(int(sys.argv[2]), readable=False))
