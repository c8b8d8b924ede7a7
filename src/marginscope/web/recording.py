"""Telemetry in the request path: the recorder and the durable acknowledgement.

* :func:`make_recorder`: the ``app.state.recorder`` that maps ``(calculator, validated input,
  result)`` to the coarse context (venue, symbol, side, margin mode, leverage, notional) and
  records it under ``calculator.tool``. The schema has no ``asset_class`` column and is not
  widened here: the tool id implies the asset class (``Calculator.asset_class``), so an
  analysis joins it back from the registry.
* :class:`AwaitDurable`: an ASGI middleware that holds a response's first byte until the
  events its request recorded are durable (DuckDB commit / Parquet rename), so an answered
  calculation is an acknowledged event. The header ``X-Marginscope-Event`` says what happened:
  ``recorded``, ``dropped`` (a counted Drop: crawler or HTTP library, over the client's
  recording budget, queue full…) or ``pending`` (not durable
  within :data:`ACK_TIMEOUT` seconds; the user still gets the answer).
* :func:`install_telemetry` (called by ``create_app`` when ``MARGINSCOPE_TELEMETRY=1``) wires
  them, the beacon (:mod:`marginscope.web.beacon`) and the server's telemetry
  (:func:`~marginscope.telemetry.server.server_telemetry`: sinks and writers are the
  telemetry package's business) into the app; shutdown (the app's lifespan)
  closes the telemetry, which flushes the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marginscope.calculators import Calculator
from marginscope.telemetry import Drop, RequestMeta, Telemetry
from marginscope.telemetry.handoff import ACKNOWLEDGED
from marginscope.telemetry.request import CLIENT_HINTS, LowerCaseHeaders
from marginscope.telemetry.server import server_telemetry

__all__ = [
    "ACK_TIMEOUT", "AwaitDurable", "install_telemetry", "make_recorder",
    "read_headers", "request_meta", "settle",
]

ACK_TIMEOUT = 10.0
"""Longest a response waits for its events to become durable before it is sent anyway."""

PENDING = "marginscope.telemetry.pending"
"""Scope key of the list of futures a request's recorder produced."""

_HINT_TZ = "x-marginscope-time-zone"
_HINT_SESSION = "x-marginscope-session"
_HINT_TOUCH = "x-marginscope-touch-points"
_HINT_SEQ = "x-marginscope-seq"
_HINTS = (_HINT_TZ, _HINT_SESSION, _HINT_TOUCH, _HINT_SEQ)
"""The page's hints, sent as headers with each calculation (read by :func:`request_meta`)."""


# --- the recorder ------------------------------------------------------------------------------


def request_meta(request: Request, *, time_zone: str | None = None, session: str | None = None,
                 max_touch_points: int | None = None, seq: int | None = None,
                 names: frozenset[bytes] | None = None) -> RequestMeta:
    """What the anonymizer reads: headers, socket peer, the page's hints (headers or beacon).

    The headers are read from the ASGI scope's raw pairs (names in lower case, latin-1, the
    last of repeated names kept, as ``dict(request.headers.items())`` would): Starlette's
    ``Headers`` view decodes through a generator, a third of this function's time. With
    ``names`` (:func:`read_headers`), only those and the Client Hints are decoded."""
    raw = request.scope["headers"]
    headers = LowerCaseHeaders(
        {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        if names is None else
        {name.decode("latin-1"): value.decode("latin-1") for name, value in raw
         if name in names or name.startswith(CLIENT_HINTS)})
    touch = headers.get(_HINT_TOUCH) if max_touch_points is None else None
    if touch is not None:  # most requests have none: no exception raised for them
        try:
            max_touch_points = int(touch)
        except ValueError:
            max_touch_points = None
    client = request.scope.get("client")  # not request.client: a namedtuple built per read
    return RequestMeta(headers=headers,
                       client_ip=client[0] if client else None,
                       time_zone=time_zone or headers.get(_HINT_TZ),
                       session=session or headers.get(_HINT_SESSION),
                       max_touch_points=max_touch_points,
                       seq=headers.get(_HINT_SEQ) if seq is None else seq)


def read_headers(telemetry: Telemetry) -> frozenset[bytes]:
    """The request headers the recorder hands over: those ``telemetry``'s pipeline reads
    (:meth:`~marginscope.telemetry.pipeline.Pipeline.header_names`, the Client Hints apart)
    and the page's hints."""
    return frozenset(name.encode("latin-1") for name in
                     (*telemetry.pipeline.header_names(), *_HINTS))


def make_recorder(telemetry: Telemetry) -> Any:
    """``recorder(request, calculator, body, result)`` for ``app.state.recorder``."""

    names = read_headers(telemetry)

    record = telemetry.record

    def recorder(request: Request, calculator: Calculator, body: BaseModel,
                 result: dict[str, Any]) -> None:
        outcome = record(request_meta(request, names=names), calculator.tool,
                         calculator.context(body, result))
        pending = request.scope.get(PENDING)
        if pending is not None:
            pending.append(outcome)

    return recorder


# --- durable acknowledgement -------------------------------------------------------------------


def _state(outcome: Future[None] | Drop) -> str:
    if isinstance(outcome, Drop):
        return "dropped"
    return "recorded" if outcome.exception() is None else "dropped"


class _Acks:
    """Durability futures → the event loop. The writer acknowledges a whole batch with one
    future; every request of the batch awaits one asyncio future for it (shielded, so that a
    cancelled request cannot cancel it for the others), woken once per batch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._waiters: dict[Future[None], asyncio.Future[None]] = {}  # loop thread only

    def waiter(self, future: Future[None], timeout: float) -> asyncio.Future[None]:
        """The asyncio future set when ``future`` is done, or after ``timeout`` seconds."""
        waiter = self._waiters.get(future)
        if waiter is None:
            waiter = self._waiters[future] = self.loop.create_future()
            timer = self.loop.call_later(timeout, self._release, future)
            future.add_done_callback(
                lambda done: self.loop.call_soon_threadsafe(self._release, done, timer))
        return waiter

    def _release(self, future: Future[None], timer: asyncio.TimerHandle | None = None) -> None:
        if timer is not None:
            timer.cancel()
        waiter = self._waiters.pop(future, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


_ACKS: dict[asyncio.AbstractEventLoop, _Acks] = {}


async def settle(outcomes: list[Future[None] | Drop], timeout: float) -> str:
    """``recorded`` once every future is durable; ``dropped`` (a Drop or a failed future) or
    ``pending`` (not durable within ``timeout`` seconds) otherwise."""
    for outcome in outcomes:
        if isinstance(outcome, Future) and not outcome.done():
            loop = asyncio.get_running_loop()
            acks = _ACKS.get(loop)
            if acks is None:
                acks = _ACKS[loop] = _Acks(loop)
            await asyncio.shield(acks.waiter(outcome, timeout))
            if not outcome.done():
                return "pending"
    return _state_of(outcomes)


def _state_of(outcomes: list[Future[None] | Drop]) -> str:
    """``dropped`` if any outcome is a Drop or failed, else ``recorded`` (all are done)."""
    return "dropped" if any(_state(outcome) == "dropped" for outcome in outcomes) else \
        "recorded"


_RECORDED = (b"x-marginscope-event", b"recorded")


class AwaitDurable:
    """Hold each response's start until the events its request recorded are durable."""

    def __init__(self, app: ASGIApp, timeout: float = ACK_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending: list[Future[None] | Drop] = []
        scope[PENDING] = pending

        async def send_when_durable(message: Message) -> None:
            if pending and message["type"] == "http.response.start":
                if pending.count(ACKNOWLEDGED) == len(pending):  # handed off: nothing to ask
                    header = _RECORDED
                else:
                    if all(isinstance(o, Drop) or o.done() for o in pending):
                        state = _state_of(pending)
                    else:
                        state = await settle(pending, self.timeout)
                    header = (b"x-marginscope-event", state.encode())
                headers = list(message.get("headers", ()))
                headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_when_durable)


# --- wiring ------------------------------------------------------------------------------------


def install_telemetry(app: FastAPI, telemetry: Telemetry | None = None) -> Telemetry:
    """Install the recorder, the acknowledgement middleware and the beacon, and close (flush)
    the telemetry at shutdown; ``telemetry`` defaults to :func:`server_telemetry`."""
    from marginscope import config
    from marginscope.web.beacon import BEACON_BURST, BEACON_RATE, build_beacon_router
    from marginscope.web.limits import TokenBuckets

    if telemetry is None:
        telemetry = server_telemetry()
    buckets = TokenBuckets(BEACON_RATE, BEACON_BURST)
    app.state.telemetry = telemetry
    app.state.beacon_buckets = buckets
    app.state.recorder = make_recorder(telemetry)
    app.include_router(build_beacon_router(telemetry, buckets, config.client_ip_header()))
    app.add_middleware(AwaitDurable)

    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with previous(application) as state:
            try:
                yield state
            finally:
                await asyncio.to_thread(telemetry.close)

    app.router.lifespan_context = lifespan
    return telemetry
