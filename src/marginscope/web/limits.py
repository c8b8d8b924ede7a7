"""Limits on what one client may send: the request-body size and per-client rates.

:class:`BodyLimit` is a pure ASGI middleware: over the limit → 413 with the API's error body. A
declared ``Content-Length`` over the limit is refused before the body is read; a chunked body
is counted as it arrives. (Starlette's own limiter answers in plain text.)

:class:`TokenBuckets` rate-limits by client (the beacon, the dashboard login) without keeping
who the client is; it lives in :mod:`marginscope.telemetry.budget` (the budget of recorded
calculations is a step of the telemetry pipeline) and is re-exported here.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marginscope.telemetry.budget import TokenBuckets
from marginscope.web.responses import json_response

__all__ = ["BodyLimit", "TokenBuckets"]


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so the framework passes it through to the
    413 handler (or back here when nothing has been sent yet)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="the body is too large")


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with HTTP 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _reply(self, status: int = 413) -> Response:
        message = "the body is too large" if status == 413 else "bad Content-Length header"
        return json_response({"detail": [{
            "loc": ["body"], "field": "body", "msg": message,
            "allowed": f"a body of at most {self.max_bytes} bytes"}]}, status_code=status,
            headers={"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if not declared.isdigit():
                await self._reply(400)(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._reply()(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server enforces the declared length
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._reply()(scope, receive, send)
