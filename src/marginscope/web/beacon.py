"""``POST /api/v1/events``: the beacon for calculations that run in the browser.

A closed body (:class:`Beacon`, at most :data:`BEACON_MAX_BYTES` bytes; its ``tool``,
``venue``, ``side`` and ``margin_mode`` are the event columns' own fields, see
:data:`~marginscope.telemetry.schema.EVENT_COLUMNS`), a token bucket per keyed hash of the
client address (:class:`TokenBuckets`; the address itself is never kept), the same anonymizer
as the recorder — and so the same per-client recording budget (over it: 202 with
``{"recorded": false, "reason": "over_budget"}``, counted); 202 once durable.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field, create_model
from starlette.responses import Response

from marginscope.telemetry import Drop, Telemetry
from marginscope.telemetry.request import resolve_client_ip
from marginscope.telemetry.schema import ID_PATTERN, column
from marginscope.web.bodies import strict_json
from marginscope.web.limits import TokenBuckets
from marginscope.web.recording import ACK_TIMEOUT, request_meta, settle
from marginscope.web.responses import json_response

__all__ = [
    "BEACON_BURST", "BEACON_MAX_BYTES", "BEACON_RATE", "Beacon", "TokenBuckets",
    "build_beacon_router",
]

BEACON_MAX_BYTES = 2048
"""Largest beacon body; larger answers 413."""

BEACON_RATE = 1.0
BEACON_BURST = 30
"""Token bucket per client: ``BEACON_BURST`` beacons at once, refilled at ``BEACON_RATE``/s."""


Beacon = create_model(
    "Beacon", __module__=__name__,
    __config__=ConfigDict(extra="forbid", str_max_length=64),
    __doc__="A calculation run in the browser: closed vocabularies and bounded numbers only.",
    tool=column("tool").field(
        description="A registered telemetry tool id (GET /api/v1/calculators)."),
    venue=column("venue").field(description="A venue id of GET /api/v1/venues, or other."),
    symbol=(str | None, Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9/:_-]{0,31}$",
                              description="Instrument (BTCUSDT, BTC/USDT:USDT…); stored as "
                                          "its allow-listed base asset or OTHER.")),
    side=column("side").field(),
    margin_mode=column("margin_mode").field(),
    leverage=(float | None, Field(None, gt=0, le=1000, allow_inf_nan=False)),
    notional=(float | None, Field(None, ge=0, le=1e13, allow_inf_nan=False)),
    time_zone=(str | None, Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$",
                                 description="The browser's IANA time zone.")),
    session=(str | None, Field(None, pattern=ID_PATTERN, description="Per-tab token.")),
    max_touch_points=(int | None, Field(None, ge=0, le=64)),
    seq=column("seq").field(description="The page's per-tab calculation counter (0, 1, 2, …)."),
)
"""The beacon's body; ``tool``, ``venue``, ``side``, ``margin_mode`` checked as the event's."""


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
        beacon = strict_json(Beacon, body)
        if isinstance(beacon, Response):
            return beacon
        meta = request_meta(request, time_zone=beacon.time_zone, session=beacon.session,
                            max_touch_points=beacon.max_touch_points, seq=beacon.seq)
        outcome = telemetry.record(meta, beacon.tool, beacon.model_dump(
            include={"venue", "symbol", "side", "margin_mode", "leverage", "notional"}))
        if isinstance(outcome, Drop):
            if outcome.reason in ("queue_full", "writer_closed"):
                return _error(503, "body", "telemetry is not accepting events now",
                              "a retry later", headers={"Retry-After": "5"})
            return json_response({"recorded": False, "reason": outcome.reason.value},
                                 status_code=202)
        state = await settle([outcome], ACK_TIMEOUT)
        if state != "recorded":
            return _error(503, "body", f"the event was not made durable ({state})",
                          "a retry later", headers={"Retry-After": "5"})
        return json_response({"recorded": True}, status_code=202)

    return router
