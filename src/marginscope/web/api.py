"""The JSON API, generated from the calculator registry.

Every registered calculator becomes ``POST /api/v1/{name}`` with its input model as the body
(so ``/openapi.json`` documents each one); the helpers are ``GET /api/v1/health``,
``GET /api/v1/calculators``, ``GET /api/v1/venues``, ``GET /api/v1/instruments`` and
``POST /api/v1/liquidation/curve``.

Every calculation, API or page, goes through :func:`run_calculation`, the one place where the
telemetry recorder (``app.state.recorder``) is called.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the generated endpoints'
# annotations at runtime, and the body type of each is a local variable.

import logging
from collections.abc import Callable, Coroutine
from time import perf_counter, thread_time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

import marginscope
from marginscope.calculators import REGISTRY, Calculator
from marginscope.calculators.liquidation import terms_of
from marginscope.risk.instruments import QUOTES, across_venues
from marginscope.risk.tiers import find_table, load_venue_history
from marginscope.risk.venues import VENUES, get_venue
from marginscope.web.bodies import body_error, strict_json
from marginscope.web.charts import liquidation_curve
from marginscope.web.responses import JSONBody, json_response

__all__ = ["ErrorBody", "Recorder", "build_router", "instrument_catalogue", "run_calculation",
           "venue_catalogue"]

log = logging.getLogger("marginscope.web")

Recorder = Callable[[Request, Calculator, BaseModel, dict[str, Any]], None]
"""``recorder(request, calculator, validated_input, result)``, called after each success."""


class ErrorItem(BaseModel):
    loc: list[str | int]
    field: str
    msg: str
    allowed: str
    value: Any = None


class ErrorBody(BaseModel):
    """Body of every 4xx answer: one item per offending field."""

    detail: list[ErrorItem]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON"},
    413: {"model": ErrorBody, "description": "The body is larger than MARGINSCOPE_MAX_BODY"},
    422: {"model": ErrorBody, "description": "A field is missing or out of its allowed range"},
}


def run_calculation(request: Request, calculator: Calculator, body: BaseModel) -> dict[str, Any]:
    """Compute, then hand the success to the telemetry recorder if one is installed.

    Bad input raises :class:`~marginscope.errors.InputError` (rendered as a 422). A failing
    recorder is logged and never costs the user the answer.
    """
    result = calculator.run(body)
    recorder: Recorder | None = request.app.state.recorder
    if recorder is not None:
        try:
            recorder(request, calculator, body, result)
        except Exception:
            log.exception("telemetry recorder failed for %s", calculator.name)
    return result


SLOW_SECONDS = 0.005
SLOW_STRIKES = 3
"""A calculator seen ``SLOW_STRIKES`` times in a row taking longer than ``SLOW_SECONDS``
(Monte Carlo, path replay, root finding) runs in the thread pool from then on, so it cannot
stall the event loop; the others (well under a millisecond) run inline, which saves the thread
hop on every request. Measured in CPU time, and in a row, so that neither a busy machine, a
garbage collection nor the first requests' one-off work (tier tables, regex compilation) moves
a fast calculator off the event loop. The CPU clock is a system call (the wall clock is not):
it is read only after a call slower than ``SLOW_SECONDS`` of wall time, and while the strikes
last (CPU time is never more than wall time, so a call fast by the wall clock is fast)."""


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _calculation_app(handler: Callable[[Request], Coroutine[Any, Any, Response]]) -> ASGIApp:
    """FastAPI's ``request_response(handler)`` for a route without dependencies: the request,
    the handler's response sent, exceptions to the app's handlers (Starlette's
    ``wrap_app_handling_exceptions``, as there)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            response = await handler(request)
            await response(scope, receive, send)

        await wrap_app_handling_exceptions(respond, request)(scope, receive, send)

    return app


def _content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first ``Content-Type`` of the ASGI scope's raw headers (as Starlette's
    ``request.headers.get`` gives it, without building its ``Headers`` view)."""
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1")
    return None


async def _body(receive: Receive) -> bytes:
    """The request body, read from ``receive`` as ``Request.body()`` reads it (the chunks up to
    the last; a disconnect raises :class:`~starlette.requests.ClientDisconnect`) without its
    async generator: one message and no copy for the usual body."""
    message = await receive()
    chunks = []
    while True:
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                return b"".join((*chunks, chunk)) if chunks else chunk
            chunks.append(chunk)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect
        message = await receive()


class CalculatorRoute(APIRoute):
    """A calculator's route: FastAPI documents it from the endpoint's signature (the body is
    the calculator's model), while the request is served by a lean handler — the raw body
    validated strictly by pydantic's JSON parser (:func:`~marginscope.web.bodies.strict_json`), the result
    written as JSON once — instead of FastAPI's generic parse → validate → encode path.

    Its ASGI app (:func:`_calculation_app`) calls the handler inside the app's exception
    handlers (an :class:`~marginscope.errors.InputError` raised by a calculation is the same
    422) without the two exit stacks FastAPI opens per request for dependencies with
    ``yield``, which a calculator's route has none of."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, "max_body_size", None) is None:  # else FastAPI's app enforces it
            self.app = _calculation_app(self.get_route_handler())

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle: Callable[[Request, BaseModel], Any] = self.endpoint.handle  # type: ignore[attr-defined]
        model: type[BaseModel] = self.endpoint.model  # type: ignore[attr-defined]
        strikes = 0
        suspect = False  # the last call took longer than SLOW_SECONDS of wall time

        async def handler(request: Request) -> Response:
            body = await _body(request.receive)
            if not _is_json(_content_type(request.scope["headers"])):
                return body_error(422, "the body must be a JSON object sent with "
                                  "Content-Type: application/json")
            parsed = strict_json(model, body)
            if isinstance(parsed, Response):
                return parsed
            nonlocal strikes, suspect
            if strikes >= SLOW_STRIKES:
                return await run_in_threadpool(handle, request, parsed)
            if not suspect:  # the wall clock (no system call): CPU time ≤ wall time
                start = perf_counter()
                try:
                    return handle(request, parsed)
                finally:
                    suspect = perf_counter() - start > SLOW_SECONDS
            start = thread_time()  # CPU time: a busy machine's pauses do not count
            try:
                return handle(request, parsed)
            finally:
                strikes = strikes + 1 if thread_time() - start > SLOW_SECONDS else 0
                suspect = strikes > 0

        return handler


def venue_catalogue() -> list[dict[str, Any]]:
    """Venues with their products and quotes, and the instruments of their shipped tier tables
    (product, settle currency, contract size, the latest table's date and every vintage's)."""
    venues = []
    for name, venue in VENUES.items():
        history = load_venue_history(name)
        venues.append({
            "name": name,
            "title": venue.title,
            "products": list(venue.products),
            "quotes": {product: list(quotes) for product, quotes in QUOTES[name].items()},
            "taker_fee": venue.taker_fee,
            "symbols": [{
                "symbol": symbol, "ccxt_symbol": table.ccxt_symbol, "product": table.product,
                "settle": table.settle, "contract_size": table.contract_size,
                "max_leverage": float(table.max_leverage.max()), "as_of": table.as_of,
                "vintages": [t.as_of for t in vintages], "source": table.source,
            } for symbol, vintages in history.items() for table in vintages[-1:]],
        })
    return venues


def instrument_catalogue(venue: str, symbol: str) -> dict[str, Any]:
    """One instrument on every venue: its symbol there and the date of the table shipped for
    it (None: no table; calculations there need overrides). Bad venue or symbol: InputError."""
    get_venue(venue)
    answer = across_venues(venue, symbol)
    for name, entry in answer["venues"].items():
        if entry is not None:
            table = find_table(name, entry["symbol"])
            entry["table_as_of"] = table.as_of if table else None
    return answer


def _endpoint(calculator: Calculator, handle: Callable[[Request, BaseModel], Response],
              name: str, doc: str) -> Callable[..., Any]:
    """The documented signature (body: the calculator's model) of a :class:`CalculatorRoute`."""
    model = calculator.model
    body_type = Annotated[model, Body(examples=[calculator.example])]

    def endpoint(request: Request, body: body_type) -> Response:  # type: ignore[valid-type]
        return handle(request, body)

    endpoint.__name__ = name
    endpoint.__doc__ = doc
    endpoint.handle = handle  # type: ignore[attr-defined]
    endpoint.model = model  # type: ignore[attr-defined]
    return endpoint


def _answer(calculator: Calculator) -> Callable[[Request, BaseModel], Response]:
    def handle(request: Request, body: BaseModel) -> Response:
        return json_response(run_calculation(request, calculator, body))
    return handle


def _curve(calculator: Calculator) -> Callable[[Request, BaseModel], Response]:
    def handle(request: Request, body: BaseModel) -> Response:
        result = run_calculation(request, calculator, body)
        return json_response(liquidation_curve(body, result, terms_of(body)))  # type: ignore[arg-type]
    return handle


def build_router() -> APIRouter:
    """The ``/api/v1`` router, one route per registered calculator plus the helpers."""
    router = APIRouter(prefix="/api/v1", default_response_class=JSONBody)
    catalogue = venue_catalogue()
    calculators = [{"name": c.name, "tool": c.tool, "title": c.title, "summary": c.summary,
                    "path": f"/api/v1/{c.name}", "example": c.example}
                   for c in REGISTRY.values()]

    @router.get("/health", tags=["meta"], summary="Liveness and version")
    async def health() -> Response:
        return json_response({"status": "ok", "version": marginscope.__version__})

    @router.get("/calculators", tags=["meta"], summary="Every calculator and its example")
    async def list_calculators() -> Response:
        return json_response(calculators)

    @router.get("/venues", tags=["meta"], summary="Venues and the symbols of their tier tables")
    async def venues() -> Response:
        return json_response(catalogue)

    @router.get("/instruments", tags=["meta"], responses=ERRORS,
                summary="One instrument's symbol on every venue (switch venue, keep the contract)")
    async def instruments(venue: str, symbol: str) -> Response:
        return json_response(instrument_catalogue(venue, symbol))

    for calculator in REGISTRY.values():
        name = calculator.name.replace("-", "_")
        router.add_api_route(
            f"/{calculator.name}", _endpoint(calculator, _answer(calculator), name,
                                             calculator.summary),
            methods=["POST"], summary=calculator.title, description=calculator.summary,
            tags=["calculators"], operation_id=name, responses=ERRORS,
            route_class_override=CalculatorRoute)
    if "liquidation" in REGISTRY:
        router.add_api_route(
            "/liquidation/curve", _endpoint(
                REGISTRY["liquidation"], _curve(REGISTRY["liquidation"]), "liquidation_curve",
                "P&L against exit price (81 points) with the entry, liquidation and bankruptcy "
                "prices: the data of the liquidation page's chart."),
            methods=["POST"], summary="Liquidation P&L curve", tags=["charts"],
            operation_id="liquidation_curve", responses=ERRORS,
            route_class_override=CalculatorRoute)
    return router
