"""The hand-off writer's sink process: the child side of :mod:`marginscope.telemetry.handoff`.

Started as ``python -m marginscope.telemetry.handoff`` by
:class:`~marginscope.telemetry.handoff.HandoffWriter`, it reads the frames the server writes
into the pipe (event rows, compact frames built into events with
:func:`~marginscope.telemetry.frames.event_of_frame`, counts, flush questions), batches and
commits them to its sink, keeps its counts in memory shared with the server
(:class:`_SharedCounts`) and on end of file or SIGTERM commits the rest and exits. The frame
protocol both sides speak is defined here.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import pickle
import signal
import struct
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import orjson

from marginscope.telemetry.schema import wire_row, wire_rows_to_arrow
from marginscope.telemetry.writer import Counts, store_counts

log = logging.getLogger("marginscope.telemetry")

_HEADER = struct.Struct("!I")
POLL_SECONDS = 0.05  # the sink process reads the pipe at least this often
_FLUSH = b"flush:"  # a control frame (+ a number): commit now and answer with that number
_CLOSED = b"closed"  # the child's last answer
_COUNTS = b"counts:"  # a control frame (+ a pickled Counts): events not recorded, per day
_FRAME = b"c:"  # an event's compact frame (+ JSON): built into the event by the child


class _SharedCounts:
    """A child's counts in memory shared with the server (one file descriptor, passed to the
    child like the pipe): written by the child after each commit, read by the server when it
    reports, answers a flush or finds the child dead. Each count is an aligned 8-byte word."""

    KEYS = ("durable", "failed", "batches", "sink_errors", "rejected")
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
                log.warning(
                    "telemetry sink write failed (%s: %s); retrying %d events",
                    type(exc).__name__,
                    exc,
                    len(rows),
                )
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
                payload = bytes(buffer[_HEADER.size : _HEADER.size + size])
                del buffer[: _HEADER.size + size]
                if payload.startswith(_FLUSH):
                    commit()
                    tell(payload)
                    continue
                if payload.startswith(_COUNTS):
                    tally.update(pickle.loads(payload[len(_COUNTS) :]))
                    if not rows:  # no batch open to carry them: now
                        commit()
                    continue
                if payload.startswith(_FRAME):
                    row = _row_of_frame(payload, tally)
                    if row is None:
                        counts["rejected"] += 1
                        report.write(counts)
                        if not rows:  # no batch open to carry the count: now
                            commit()
                        continue
                else:
                    row = orjson.loads(payload)
                if not rows:
                    deadline = time.monotonic() + flush_seconds
                rows.append(row)
                if len(rows) >= max_batch:
                    commit()
            if rows and (end or time.monotonic() >= deadline):
                commit()
    finally:
        commit()
        sink.close()
        if not _stopping:  # stopped by a signal: the server (if alive) starts a successor,
            tell(_CLOSED)  # which reads on from the pipe


def _row_of_frame(payload: bytes, tally: Counts) -> tuple[Any, ...] | None:
    """The wire row of a compact frame's event, or None: the frame refused and counted in
    ``tally`` under its day (``invalid_context``: a coarse field the allow-lists or buckets
    refuse; ``malformed_frame``: not a frame, or an event the schema refuses). The warning
    names the reason and field, never a value."""
    from marginscope.errors import InputError
    from marginscope.telemetry.frames import event_of_frame
    from marginscope.telemetry.pipeline import DropReason

    frame: Any = None
    try:
        frame = orjson.loads(payload[len(_FRAME) :])
        return wire_row(event_of_frame(frame))
    except InputError as exc:
        reason, detail = DropReason.INVALID_CONTEXT.value, exc.field
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        reason, detail = _MALFORMED, type(exc).__name__
    second = frame.get("ts") if isinstance(frame, dict) else None
    day = (
        datetime.fromtimestamp(second, UTC).date()
        if type(second) is int and 0 <= second < 253402300800
        else datetime.now(UTC).date()
    )
    tally[(day, reason)] += 1
    log.warning("telemetry sink refused an event frame: %s (%s)", reason, detail)
    return None


_MALFORMED = "malformed_frame"
"""The per-day counter of frames the sink process could not read or the schema refused."""

_stopping = False


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM (a service manager stopping the whole process group): finish the frames read,
    commit them and exit; what is still in the pipe stays there for a successor."""
    global _stopping
    _stopping = True


def main() -> None:
    """The sink process's entry point (``python -m marginscope.telemetry.handoff``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent closes us (Ctrl-C hits both)
    signal.signal(signal.SIGTERM, _stop)
    _serve(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
