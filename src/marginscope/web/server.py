"""uvicorn, hardened against slow and abusive clients.

uvicorn bounds idle keep-alive connections (``timeout_keep_alive``) and, with
``limit_concurrency``, the number of connections, but not how long a client may take to send
its headers or its body, nor how large its headers may grow: a client that sends half a
request and waits holds a connection for ever (slowloris). :class:`GuardedHttpTools` adds both
bounds to uvicorn's httptools protocol:

* the request head (request line and headers) must arrive within ``header_timeout`` seconds of
  the connection opening, or of the first byte of the next request on a kept-alive connection,
  and within ``max_header_bytes`` (counted over the reads, checked after each);
* the body must arrive within ``body_timeout`` seconds of the end of the head.

A client over a bound gets ``408 Request Timeout`` (or ``431``) when nothing has been answered
yet, and the connection is closed. The limits are those given to :func:`uvicorn_options`, or
(in a worker process started by ``--workers``) :class:`~marginscope.web.settings.WebSettings`
from the environment.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from marginscope.web.settings import WebSettings

__all__ = ["GuardedHttpTools", "uvicorn_options"]


def _reply(transport: asyncio.Transport, status: bytes) -> None:
    transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for the request head and body and a cap on
    the head's size (see the module docstring)."""

    limits: ClassVar[WebSettings | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if GuardedHttpTools.limits is None:
            GuardedHttpTools.limits = WebSettings.from_env()
        settings = GuardedHttpTools.limits
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.max_header_bytes = settings.max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = 0  # bytes of the head so far; None once it is complete

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        self._refuse(b"408 Request Timeout")

    def _refuse(self, status: bytes) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
            _reply(self.transport, status)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > self.max_header_bytes:
            self._refuse(b"431 Request Header Fields Too Large")  # still no end of the head

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._head_bytes = 0  # the next request's head is counted afresh
        super().on_message_complete()


def uvicorn_options(settings: WebSettings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that apply the limits."""
    GuardedHttpTools.limits = settings
    return {
        "http": GuardedHttpTools,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections,
        "proxy_headers": False,  # the app reads forwarded headers itself, from trusted peers
        "server_header": False,
        "date_header": True,
    }
