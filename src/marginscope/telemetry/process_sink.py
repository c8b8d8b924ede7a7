"""A sink that writes in a child process, so that the web server's GIL never waits on it.

A DuckDB commit costs the writing process about 2–5 ms of CPU per batch, much of it holding
the GIL; inside the server that time was taken from the requests (telemetry on served a
third of the requests of telemetry off). :class:`ProcessSink` keeps the
:class:`~marginscope.telemetry.writer.Sink` contract — ``write`` returns once the batch is
durable — but the real sink lives in a child process (``python -m
marginscope.telemetry.process_sink``, so the parent's main module is never re-imported, as
multiprocessing's ``spawn`` would): the batch crosses a pipe as pickled plain rows (the
writer thread's only work: the Arrow conversion happens in the child), the child writes and
commits it and answers ``ok`` (or the error, which the
:class:`~marginscope.telemetry.writer.BatchingWriter` retries as it retries any sink error).

The child opens the sink before the constructor returns, so a bad path fails at start-up. It
exits when the parent closes the sink or dies (end of file on the pipe), closing its sink:
a batch the parent was never told is durable may be lost then, an acknowledged one never.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from marginscope.telemetry.schema import Event, wire_row, wire_rows_to_arrow
from marginscope.telemetry.writer import Counts, Sink, store_counts

__all__ = ["ProcessSink", "SinkProcessError", "start_child"]

START_SECONDS = 60.0  # the child imports pyarrow, duckdb and the sink's module first


class SinkProcessError(RuntimeError):
    """The child process could not open or write the sink (its message says why)."""


def start_child(module: str, setup: Any, pass_fds: tuple[int, ...] = ()
                ) -> tuple[subprocess.Popen, Connection, Connection]:
    """Start ``python -m module`` with a pipe each way, send it ``setup`` and wait for its
    ``("ok", "")`` (raise :class:`SinkProcessError` with its message otherwise). The file
    descriptors ``pass_fds`` are inherited too, their numbers given after the pipes'.

    Returns the process, the connection to it and the connection from it.
    """
    child_in, parent_out = os.pipe()
    parent_in, child_out = os.pipe()
    process = subprocess.Popen([sys.executable, "-m", module, str(child_in), str(child_out),
                                *map(str, pass_fds)], pass_fds=(child_in, child_out, *pass_fds))
    os.close(child_in)
    os.close(child_out)
    send = Connection(parent_out, readable=False)
    receive = Connection(parent_in, writable=False)
    send.send(setup)
    if not receive.poll(START_SECONDS):
        process.kill()
        raise SinkProcessError(f"the sink process did not start in {START_SECONDS:g} s")
    try:
        status, message = receive.recv()
    except EOFError:
        status, message = "error", f"the sink process exited ({process.wait()})"
    if status != "ok":
        raise SinkProcessError(message)
    return process, send, receive


class ProcessSink:
    """:class:`Sink` whose ``open_sink()`` runs in a child process.

    Parameters
    ----------
    open_sink : callable
        Picklable factory of the real sink (e.g. ``functools.partial(DuckDBSink, path)``),
        called in the child.
    """

    def __init__(self, open_sink: Callable[[], Sink]) -> None:
        self._process, self._send, self._receive = start_child(__name__, open_sink)
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _check(answer: tuple[str, str]) -> None:
        if answer[0] != "ok":
            raise SinkProcessError(answer[1])

    @staticmethod
    def encode(events: list[Event]) -> bytes:
        """The batch as the child reads it (see :class:`~marginscope.telemetry.writer.Sink`)."""
        return pickle.dumps([wire_row(event) for event in events],
                            protocol=pickle.HIGHEST_PROTOCOL)

    def write(self, batch: bytes) -> None:
        """Send an encoded batch; return once the child has made it durable."""
        self._ask(batch)

    def add_counts(self, counts: Counts) -> None:
        """Have the child's sink persist per-day counts of events not recorded."""
        self._ask(pickle.dumps(dict(counts), protocol=pickle.HIGHEST_PROTOCOL))

    def _ask(self, batch: bytes) -> None:
        with self._lock:
            if self._closed:
                raise SinkProcessError("the sink process is closed")
            try:
                self._send.send_bytes(batch)
                answer = self._receive.recv()
            except (EOFError, OSError) as exc:
                raise SinkProcessError(f"the sink process is gone (exit code "
                                       f"{self._process.poll()})") from exc
        self._check(answer)

    def close(self) -> None:
        """Ask the child to close its sink and exit; wait for it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._send.send_bytes(b"")
                self._check(self._receive.recv())
            except (EOFError, OSError):
                pass  # already gone: nothing of ours is unacknowledged
            finally:
                self._send.close()
                self._receive.close()
                self._process.wait(30)


def _serve(receive: Connection, send: Connection) -> None:
    """The child: open the sink, then write each batch received and answer for it."""
    try:
        sink = receive.recv()()
    except Exception as exc:  # reported to the parent, which raises it
        send.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    send.send(("ok", ""))
    try:
        while True:
            try:
                data = receive.recv_bytes()
            except EOFError:  # the parent died: nothing more will come
                return
            if not data:
                break
            try:
                batch = pickle.loads(data)
                if isinstance(batch, dict):  # add_counts
                    store_counts(sink, Counter(batch))
                else:
                    sink.write(wire_rows_to_arrow(batch))
            except Exception as exc:  # the parent's writer retries
                send.send(("error", f"{type(exc).__name__}: {exc}"))
            else:
                send.send(("ok", ""))
    finally:
        sink.close()
    send.send(("ok", ""))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent closes us (Ctrl-C hits both)
    _serve(Connection(int(sys.argv[1]), writable=False),
           Connection(int(sys.argv[2]), readable=False))
