"""Telemetry in the request path: the recorder, the durable acknowledgement, the beacon.

:func:`install_telemetry` (called by ``create_app`` when ``MARGINSCOPE_TELEMETRY=1``) wires
:class:`~marginscope.telemetry.Telemetry` into the app:

* ``app.state.recorder``: maps ``(calculator, validated input, result)`` to the coarse context
  (venue, symbol, side, margin mode, leverage, notional) and records it under
  ``calculator.tool``. The schema has no ``asset_class`` column and is not widened here: the
  tool id implies the asset class (``Calculator.asset_class``), so an analysis joins it back
  from the registry.
* :class:`AwaitDurable`: an ASGI middleware that holds a response's first byte until the
  events its request recorded are durable (DuckDB commit / Parquet rename), so an answered
  calculation is an acknowledged event. The header ``X-Marginscope-Event`` says what happened:
  ``recorded``, ``dropped`` (a counted Drop: crawler, queue full…) or ``pending`` (not durable
  within :data:`ACK_TIMEOUT` seconds; the user still gets the answer).
* ``POST /api/v1/events``: the beacon for calculations that run in the browser. A closed body
  (:class:`Beacon`, at most :data:`BEACON_MAX_BYTES` bytes), a token bucket per keyed hash of
  the client address (the address itself is never kept), the same anonymizer; 202 once durable.
* Shutdown (the app's lifespan) closes the telemetry, which flushes the queue.

Because answers wait for durability, the server's DuckDB sink is a :class:`HeldDuckDBSink`:
it keeps the file open while batches keep coming and releases it after
:data:`IDLE_RELEASE_SECONDS` without one (opening and closing the file for every batch costs
~80 ms of CPU per batch, which under load took most of the server's throughput). While held,
other processes (``marginscope report``, ``export``) wait for the lock as they do for any
batch; the web app's writer batches for :data:`WEB_FLUSH_SECONDS` unless
``MARGINSCOPE_FLUSH_SECONDS`` is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marginscope.calculators import Calculator
from marginscope.telemetry import Drop, Pipeline, RequestMeta, Telemetry
from marginscope.telemetry.handoff import HandoffWriter
from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.process_sink import ProcessSink
from marginscope.telemetry.request import resolve_client_ip
from marginscope.telemetry.schema import ID_PATTERN, tool_ids, venues
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import BatchingWriter
from marginscope.web.errors import validation_details
from marginscope.web.responses import json_response

__all__ = [
    "ACK_TIMEOUT", "BEACON_MAX_BYTES", "IDLE_RELEASE_SECONDS", "WEB_FLUSH_SECONDS",
    "AwaitDurable", "Beacon", "HeldDuckDBSink", "TokenBuckets", "build_beacon_router",
    "coarse_context", "install_telemetry", "make_recorder", "web_telemetry",
]

WEB_FLUSH_SECONDS = 0.02
"""Batch window of the web app's writer unless ``MARGINSCOPE_FLUSH_SECONDS`` is set: answers
wait for durability, so the 0.5 s default of batch use would be added to every answer."""

ACK_TIMEOUT = 10.0
"""Longest a response waits for its events to become durable before it is sent anyway."""

BEACON_MAX_BYTES = 2048
"""Largest beacon body; larger answers 413."""

BEACON_RATE = 1.0
BEACON_BURST = 30
"""Token bucket per client: ``BEACON_BURST`` beacons at once, refilled at ``BEACON_RATE``/s."""

IDLE_RELEASE_SECONDS = 1.0
"""The server's DuckDB sink closes the file after this long without a batch."""

PENDING = "marginscope.telemetry.pending"
"""Scope key of the list of futures a request's recorder produced."""

_NOTIONAL_KEYS = ("notional", "notional_at_entry", "entry_notional", "entry_value",
                  "max_open_notional", "short_value")
_HINT_TZ = "x-marginscope-time-zone"
_HINT_SESSION = "x-marginscope-session"
_HINT_TOUCH = "x-marginscope-touch-points"


# --- the recorder ------------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def coarse_context(body: BaseModel, result: Mapping[str, Any]) -> dict[str, Any]:
    """The coarse context of one calculation (the pipeline buckets and allow-lists it).

    Venue, symbol, side and margin mode come from the input (an account's first position for
    symbol and side); leverage from the input, else the result; notional (quote currency) from
    the result's notional, else ``qty × entry_price``. Prices, balances and quantities are
    never passed on.
    """
    first = None
    positions = getattr(body, "positions", None)
    if isinstance(positions, list) and positions:
        first = positions[0]

    def field(name: str) -> Any:
        value = getattr(body, name, None)
        if value is None and first is not None:
            value = getattr(first, name, None)
        return value if isinstance(value, str) else None

    leverage = _finite(getattr(body, "leverage", None))
    if leverage is None:
        leverage = _finite(result.get("leverage"))
    notional = None
    for key in _NOTIONAL_KEYS:
        notional = _finite(result.get(key))
        if notional is not None:
            break
    if notional is None:
        qty, price = _finite(getattr(body, "qty", None)), _finite(getattr(body, "entry_price",
                                                                          None))
        if qty is not None and price is not None:
            notional = qty * price
    return {
        "venue": field("venue"), "symbol": field("symbol"), "side": field("side"),
        "margin_mode": field("margin_mode"),
        "leverage": leverage if leverage is not None and leverage > 0 else None,
        "notional": abs(notional) if notional is not None else None,
    }


def request_meta(request: Request, *, time_zone: str | None = None, session: str | None = None,
                 max_touch_points: int | None = None) -> RequestMeta:
    """What the anonymizer reads: headers, socket peer, the page's hints (headers or beacon)."""
    headers = dict(request.headers.items())  # lower-case names: one pass, then dict lookups
    if max_touch_points is None:
        try:
            max_touch_points = int(headers.get(_HINT_TOUCH, ""))
        except ValueError:
            max_touch_points = None
    return RequestMeta(headers=headers,
                       client_ip=request.client.host if request.client else None,
                       time_zone=time_zone or headers.get(_HINT_TZ),
                       session=session or headers.get(_HINT_SESSION),
                       max_touch_points=max_touch_points)


def _pending(scope: Scope, outcome: Future[None] | Drop) -> None:
    pending = scope.get(PENDING)
    if pending is not None:
        pending.append(outcome)


def make_recorder(telemetry: Telemetry) -> Any:
    """``recorder(request, calculator, body, result)`` for ``app.state.recorder``."""

    def recorder(request: Request, calculator: Calculator, body: BaseModel,
                 result: dict[str, Any]) -> None:
        outcome = telemetry.record(request_meta(request), calculator.tool,
                                   coarse_context(body, result))
        _pending(request.scope, outcome)

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


async def _settle(outcomes: list[Future[None] | Drop], timeout: float) -> str:
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
            if message["type"] == "http.response.start" and pending:
                settled = all(isinstance(o, Drop) or o.done() for o in pending)
                state = _state_of(pending) if settled else await _settle(pending, self.timeout)
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-marginscope-event", state.encode())]}
            await send(message)

        await self.app(scope, receive, send_when_durable)


# --- the beacon --------------------------------------------------------------------------------


class Beacon(BaseModel):
    """A calculation run in the browser: closed vocabularies and bounded numbers only."""

    model_config = ConfigDict(extra="forbid", str_max_length=64)

    tool: str = Field(description="A registered telemetry tool id (GET /api/v1/calculators).")
    venue: str | None = Field(None, description="A venue id of GET /api/v1/venues, or other.")
    symbol: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9/:_-]{0,31}$",
                               description="Instrument (BTCUSDT, BTC/USDT:USDT…); stored as "
                                           "its allow-listed base asset or OTHER.")
    side: Literal["long", "short"] | None = None
    margin_mode: Literal["isolated", "cross"] | None = None
    leverage: float | None = Field(None, gt=0, le=1000, allow_inf_nan=False)
    notional: float | None = Field(None, ge=0, le=1e13, allow_inf_nan=False)
    time_zone: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$",
                                  description="The browser's IANA time zone.")
    session: str | None = Field(None, pattern=ID_PATTERN, description="Per-tab token.")
    max_touch_points: int | None = Field(None, ge=0, le=64)

    @field_validator("tool")
    @classmethod
    def _tool(cls, value: str) -> str:
        if value not in tool_ids():
            raise ValueError("a registered tool id (the tool of GET /api/v1/calculators)")
        return value

    @field_validator("venue")
    @classmethod
    def _venue(cls, value: str | None) -> str | None:
        if value is not None and value not in venues():
            raise ValueError(f"one of {' | '.join(venues())}")
        return value


class TokenBuckets:
    """Token buckets keyed by a keyed hash of the client address, held in memory only.

    The key (random per process) makes the bucket ids useless to anyone who reads memory
    later; at most ``max_keys`` buckets are kept (least recently used evicted).
    """

    def __init__(self, rate: float = BEACON_RATE, burst: int = BEACON_BURST,
                 max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.limited = 0
        self._key = secrets.token_bytes(32)
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, address: str | None) -> bool:
        """Take one token for ``address``; False (counted) when its bucket is empty."""
        ident = hmac.new(self._key, (address or "").encode(), hashlib.sha256).digest()[:16]
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(ident, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[ident] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if not allowed:
                self.limited += 1
        return allowed


def _error(status: int, field: str, message: str, allowed: str,
           headers: dict[str, str] | None = None) -> Response:
    return json_response({"detail": [{"loc": ["body"] if field == "body" else ["body", field],
                                      "field": field, "msg": message, "allowed": allowed}]},
                         status_code=status, headers=headers)


def build_beacon_router(telemetry: Telemetry, buckets: TokenBuckets,
                        client_ip_header: str | None = None) -> APIRouter:
    """``POST /api/v1/events``: record a browser-side calculation (202 once durable)."""
    router = APIRouter(prefix="/api/v1")

    @router.post("/events", tags=["telemetry"], status_code=202,
                 summary="Record a calculation that ran in the browser",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": Beacon.model_json_schema()}}}},
                 responses={413: {"description": f"Body over {BEACON_MAX_BYTES} bytes"},
                            422: {"description": "A field outside its vocabulary or range"},
                            429: {"description": "Too many beacons from this client"},
                            503: {"description": "Telemetry queue full or shutting down"}})
    async def events(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > BEACON_MAX_BYTES:
            return _error(413, "body", "the beacon is too large",
                          f"a JSON body of at most {BEACON_MAX_BYTES} bytes")
        body = await request.body()
        if len(body) > BEACON_MAX_BYTES:
            return _error(413, "body", "the beacon is too large",
                          f"a JSON body of at most {BEACON_MAX_BYTES} bytes")
        address = resolve_client_ip(request.headers,
                                    request.client.host if request.client else None,
                                    client_ip_header)
        if not buckets.allow(address):
            return _error(429, "body", "too many beacons from this client",
                          f"at most {buckets.burst} at once, then {buckets.rate:g} per second",
                          headers={"Retry-After": str(max(1, math.ceil(1 / buckets.rate)))})
        try:
            beacon = Beacon.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in errors:
                error["loc"] = ("body", *error.get("loc", ()))
            return json_response({"detail": validation_details(errors)}, status_code=422)
        meta = request_meta(request, time_zone=beacon.time_zone, session=beacon.session,
                            max_touch_points=beacon.max_touch_points)
        outcome = telemetry.record(meta, beacon.tool, beacon.model_dump(
            include={"venue", "symbol", "side", "margin_mode", "leverage", "notional"}))
        if isinstance(outcome, Drop):
            if outcome.reason in ("queue_full", "writer_closed"):
                return _error(503, "body", "telemetry is not accepting events now",
                              "a retry later", headers={"Retry-After": "5"})
            return json_response({"recorded": False, "reason": outcome.reason.value},
                                 status_code=202)
        state = await _settle([outcome], ACK_TIMEOUT)
        if state != "recorded":
            return _error(503, "body", f"the event was not made durable ({state})",
                          "a retry later", headers={"Retry-After": "5"})
        return json_response({"recorded": True}, status_code=202)

    return router


# --- the server's telemetry -------------------------------------------------------------------


class HeldDuckDBSink(DuckDBSink):
    """A :class:`DuckDBSink` that keeps the file open between batches that follow each other
    and closes it after ``idle_seconds`` without one (so CLI commands get the file then)."""

    def __init__(self, db: str | os.PathLike[str],
                 idle_seconds: float = IDLE_RELEASE_SECONDS) -> None:
        super().__init__(db, keep_open=True)
        self.idle_seconds = idle_seconds
        self._guard = threading.Lock()
        self._last_write = 0.0
        self._timer: threading.Timer | None = None
        self._idle_close()  # not held until the first batch

    def write(self, table: Any) -> None:
        with self._guard:
            super().write(table)
            self._last_write = time.monotonic()
            if self._timer is None:
                self._timer = threading.Timer(self.idle_seconds, self._idle_check)
                self._timer.daemon = True
                self._timer.start()

    def _idle_check(self) -> None:
        with self._guard:
            self._timer = None
            idle = time.monotonic() - self._last_write
            if idle < self.idle_seconds:  # written since: look again later
                self._timer = threading.Timer(self.idle_seconds - idle, self._idle_check)
                self._timer.daemon = True
                self._timer.start()
                return
            self._idle_close()

    def _idle_close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def close(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().close()


def web_telemetry() -> Telemetry:
    """:meth:`Telemetry.from_settings` for the server: the sink (a :class:`HeldDuckDBSink`, or
    the Parquet dataset) runs in a child process — fed event by event and acknowledging at the
    hand-off (:class:`HandoffWriter`, ``MARGINSCOPE_ACK=handoff``, the default), or fed in
    batches that answers wait for (:class:`BatchingWriter` + :class:`ProcessSink`,
    ``durable``); batches close after :data:`WEB_FLUSH_SECONDS` unless
    ``MARGINSCOPE_FLUSH_SECONDS`` is set."""
    from marginscope import config

    flush = config.flush_seconds() if os.environ.get("MARGINSCOPE_FLUSH_SECONDS", "").strip() \
        else WEB_FLUSH_SECONDS
    database = config.db_path()
    dataset = config.parquet_dir() if config.sink_kind() == "parquet" else None
    open_sink = partial(ParquetDatasetSink, dataset, config.writer_id()) if dataset else \
        partial(HeldDuckDBSink, database)
    writer = HandoffWriter(open_sink, flush_seconds=flush) if config.ack_mode() == "handoff" \
        else BatchingWriter(ProcessSink(open_sink), max_queue=config.queue_size(),
                            flush_seconds=flush)
    retention = config.retention_days() if config.retention_auto() else None
    return Telemetry(Pipeline.from_settings(writer=writer), retention_days=retention,
                     db=database, dataset=dataset)


# --- wiring ------------------------------------------------------------------------------------


def install_telemetry(app: FastAPI, telemetry: Telemetry | None = None) -> Telemetry:
    """Install the recorder, the acknowledgement
    middleware and the beacon, and close (flush) the telemetry at shutdown."""
    from marginscope import config

    if telemetry is None:
        telemetry = web_telemetry()
    buckets = TokenBuckets()
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
