"""Server-rendered pages: an index and one page per registered calculator.

``GET /{name}`` renders the form generated from the calculator's model (:mod:`.forms`),
filled with the calculator's example (its venue overrides left out; ``?example=full`` keeps
them, ``?example=none`` starts empty). The page's script posts the form to
``POST /{name}/result`` on every change and swaps in the returned HTML fragment: result,
explanation, chart, or the fields to fix. Without JavaScript the form posts to ``POST /{name}``
and the whole page comes back with the result. Either way the numbers are computed by the same
calculator as the API (:func:`~marginscope.web.api.run_calculation`).
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

import marginscope
from marginscope.calculators import REGISTRY, Calculator
from marginscope.calculators.base import ASSET_CLASSES
from marginscope.errors import InputError
from marginscope.market.exchanges import EXCHANGES
from marginscope.risk.contracts import position_value
from marginscope.risk.tiers import find_table
from marginscope.risk.venues import VENUES
from marginscope.web.api import run_calculation, venue_catalogue
from marginscope.web.assets import asset
from marginscope.web.errors import input_error_body, validation_details
from marginscope.web.forms import (
    EITHER,
    PERCENT_INPUTS,
    SYMBOLS_FOR,
    FormField,
    ReadAs,
    _unwrap,
    build_fields,
    input_name,
    label,
    map_symbols,
    parse_form,
    starter_values,
)
from marginscope.web.live import LivePriceError, MarkPrices, live_prices_on
from marginscope.web.numbers import fmt
from marginscope.web.present import ResultView, present
from marginscope.web.responses import json_response
from marginscope.web.wording import plain_error

__all__ = ["build_pages", "templates"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["fmt"] = fmt
templates.env.globals["label"] = label
templates.env.globals["version"] = marginscope.__version__
templates.env.globals["symbols_for"] = SYMBOLS_FOR
# Glyphs Debian's Chromium (and many phones) have no font for: "USDⓈ-M" is written "USDS-M".
NO_GLYPH = str.maketrans({"Ⓢ": "S"})
templates.env.finalize = lambda value: value.translate(NO_GLYPH) if isinstance(value, str) \
    else value


def path_for(request: Request, name: str, **params: Any) -> str:
    """Root-relative URL of a route (proxy-safe: no scheme or host; the mount prefix kept)."""
    return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **params))


templates.env.globals["path_for"] = path_for
templates.env.globals["asset"] = asset

_URL = re.compile(r"https?://[^\s;,)]+")
_GITHUB = re.compile(r"\b([\w.-]+/[\w.-]+):(\S+) @ ([0-9a-f]{40})")


def source_url(source: str) -> str:
    """A link for a tier table's source text: its URL, or the GitHub file it cites
    (``owner/repo:path @ commit``); '' if it names neither."""
    if match := _URL.search(source):
        return match.group(0)
    if match := _GITHUB.search(source):
        return f"https://github.com/{match[1]}/blob/{match[3]}/{match[2]}"
    return ""


templates.env.filters["source_url"] = source_url

MAX_FIELDS = 2000
FEATURED = ("liquidation", "account", "margin-call")  # the questions most people come with


def grouped() -> list[tuple[str, list[Calculator]]]:
    """Calculators by asset class (the registry's order within one, the featured first)."""
    def order(c: Calculator) -> int:
        return FEATURED.index(c.name) if c.name in FEATURED else len(FEATURED)

    groups: dict[str, list[Calculator]] = {}
    for calculator in sorted(REGISTRY.values(), key=order):
        groups.setdefault(calculator.asset_class, []).append(calculator)
    return [(title, groups[kind]) for kind, title in ASSET_CLASSES.items() if kind in groups]


templates.env.globals["grouped"] = grouped


def _describe(field: str) -> str:
    """``positions[1].qty`` → ``Quantity (position 2)``."""
    parts = field.replace("]", "").split(".")
    words = []
    group = ""
    for part in parts:
        name, _, index = part.partition("[")
        if index.isdigit():
            group = f"{label(name).rstrip('s').lower()} {int(index) + 1}"
        else:
            words.append(label(name))
    text = words[-1] if words else field
    return f"{text} ({group})" if group else text


def _model_range(model: type[BaseModel], field: str) -> str:
    """The whole range a model allows for ``field`` (``≥ 0.01 and ≤ 1000``), '' if none: a
    page states both ends, whichever one the value broke."""
    for part in re.sub(r"\[\d+\]", "", field).split("."):
        info = model.model_fields.get(part) if isinstance(model, type) else None
        if info is None:
            return ""
        kind = _unwrap(info.annotation)
        inner = typing.get_args(kind.base)
        model = inner[0] if typing.get_origin(kind.base) is list and inner else kind.base
        metadata = (*info.metadata, *kind.metadata)
    bounds = [f"{symbol} {getattr(m, key)}" for m in metadata
              for key, symbol in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))
              if getattr(m, key, None) is not None]
    return " and ".join(bounds)


def _tier_leverage(values: dict[str, Any]) -> str:
    """``1 … max`` from the venue's tier table for the position in ``values``, '' if the
    values do not name a shipped table and a size."""
    venue, symbol = values.get("venue"), values.get("symbol")
    qty, entry = values.get("qty"), values.get("entry_price")
    if not (isinstance(venue, str) and venue in VENUES and isinstance(symbol, str)
            and isinstance(qty, float) and isinstance(entry, float) and qty > 0 and entry > 0):
        return ""
    table = find_table(venue, symbol)
    if table is None:
        return ""
    size = qty if table.basis == "quantity" else float(
        position_value(table.product, qty, entry, table.contract_size))
    return f"1 … {float(table.max_leverage_for(size)):g}"


def _problems(details: list[dict[str, Any]], model: type[BaseModel] | None = None,
              values: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The API's error entries as the page shows them: the input to mark, its label, and one
    sentence in plain words (:func:`~marginscope.web.wording.plain_error`), stating the whole
    allowed range (the tier's for leverage when the position names one)."""
    problems = []
    for item in details:
        leaf = item["field"].rsplit(".", 1)[-1]
        allowed = str(item.get("allowed", ""))
        cross = leaf == "margin" and "cross" in allowed  # the field is the cross wallet
        missing = allowed == "a value (required)" or (
            leaf in EITHER and item.get("value") is None)
        if model is not None and re.fullmatch(r"\s*[<>≤≥]\s*\S+", allowed):
            allowed = ((item["field"] == "leverage" and _tier_leverage(values or {}))
                       or _model_range(model, item["field"]) or allowed)
        name = re.sub(r" \((?:[^()]*%[^()]*)\)", "", _describe(item["field"]))
        name = "Wallet balance (cross)" if cross else name
        either = label(EITHER[leaf]).lower() if leaf in EITHER and not cross else ""
        problems.append({
            "input": input_name(item["field"]),
            "label": _describe(item["field"]),
            "text": plain_error(name, allowed, missing=missing,
                                percent=leaf in PERCENT_INPUTS, either=either),
            "missing": "1" if missing else "",
        })
    return problems


def _mark_errors(fields: list[FormField], problems: list[dict[str, str]]) -> None:
    """Put each problem's sentence on its field, for the page rendered without script."""
    by_input = {p["input"]: p["text"] for p in problems}
    for spec in fields:
        spec.error = by_input.get(spec.path, "")
        for item in spec.items:
            _mark_errors(item, problems)


def _pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("body", "bytes", "UTF-8 form data") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise InputError("body", f"more than {MAX_FIELDS} fields",
                         f"at most {MAX_FIELDS} form fields") from None


def compute_form(request: Request, calculator: Calculator, body: bytes
                 ) -> tuple[dict[str, Any], ResultView | None, list[dict[str, str]]]:
    """Posted form (or a link's query string) → (values for re-rendering, result view or
    None, problems)."""
    values: dict[str, Any] = {}
    notes: list[ReadAs] = []
    mapped: list[str] = []
    try:
        pairs = _pairs(body)
        values = parse_form(calculator.model, pairs, notes)
        written_for = next((v for k, v in pairs if k == SYMBOLS_FOR), "")
        mapped = map_symbols(values, written_for)
        model = calculator.model.model_validate(values)
        result = run_calculation(request, calculator, model)
    except ValidationError as exc:
        details = validation_details(exc.errors(include_url=False))
        return values, None, _problems(details, calculator.model, values)
    except InputError as exc:
        return values, None, _problems(input_error_body(exc)["detail"], calculator.model,
                                       values)
    view = present(calculator, model, result)
    view.read_as += mapped + [note.text for note in notes]
    return values, view, []


def _context(request: Request, calculator: Calculator, values: dict[str, Any],
             mode: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    fields = build_fields(calculator.model, values, example=calculator.example)
    _mark_errors(fields, problems or [])
    names = calculator.model.model_fields
    live_field = next((n for n in ("mark_price", "entry_price") if n in names), "") \
        if {"venue", "symbol"} <= set(names) else ""
    return {"request": request, "calc": calculator, "fields": fields, "mode": mode,
            "live_field": live_field}


LIVE_OFF = "Live prices are off on this server (no network, or not started with " \
           "MARGINSCOPE_LIVE_PRICES=1): type the price."


# the page's (risk) venue → the market-data exchange that quotes it
LIVE_EXCHANGES = {e.venue: e.name for e in EXCHANGES.values() if e.venue is not None}


def mark_prices(request: Request, default: MarkPrices) -> MarkPrices:
    """The app's live prices (``app.state.mark_prices``, set by tests), else the default."""
    return getattr(request.app.state, "mark_prices", None) or default


def build_pages() -> APIRouter:
    """Routes of the index and of every calculator's page."""
    router = APIRouter(include_in_schema=False)
    venues_json = json.dumps({v["name"]: [s["symbol"] for s in v["symbols"]]
                              for v in venue_catalogue()}).replace("</", "<\\/")
    templates.env.globals["venues_json"] = venues_json

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {})

    default_prices = MarkPrices(enabled=live_prices_on())

    @router.get("/live/mark-price", name="live_mark_price")
    async def live_mark_price(request: Request, venue: str = "", symbol: str = "") -> Response:
        """The venue's current mark price for the pages' "use current price" button."""
        prices = mark_prices(request, default_prices)
        if not prices.enabled:
            return json_response({"detail": LIVE_OFF}, status_code=503)
        source = LIVE_EXCHANGES.get(venue)
        if source is None or not 1 <= len(symbol) <= 40:
            return json_response({"detail": f"venue: one of {', '.join(LIVE_EXCHANGES)}; "
                                            "symbol: 1 to 40 characters"}, status_code=422)
        try:
            answer = await run_in_threadpool(prices.get, source, symbol)
        except InputError as exc:
            return json_response({"detail": str(exc)}, status_code=422)
        except LivePriceError as exc:
            return json_response({"detail": str(exc)}, status_code=502)
        return json_response(answer, headers={"Cache-Control": "no-store"})

    templates.env.globals["live_prices"] = lambda request: mark_prices(
        request, default_prices).enabled

    for calculator in REGISTRY.values():
        _add_calculator(router, calculator)
    return router


def _add_calculator(router: APIRouter, calculator: Calculator) -> None:
    path = f"/{calculator.name}"

    async def page(request: Request, example: str = "starter") -> Response:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "example"]
        if query:  # a shared link: every input a query parameter, opened with its result
            body = urlencode(query).encode()
            values, view, problems = await run_in_threadpool(compute_form, request,
                                                             calculator, body)
            context = _context(request, calculator, values, "link", problems)
            context.update(view=view, problems=problems)
            return templates.TemplateResponse(request, "calculator.html", context)
        return await run_in_threadpool(_example_page, request, example)

    def _example_page(request: Request, example: str) -> Response:
        if example == "full":
            values = calculator.example
        elif example == "none":
            values = {}
        else:
            example, values = "starter", starter_values(calculator.example)
        context = _context(request, calculator, values, example)
        if values:
            try:
                model = calculator.model.model_validate(values)
                context["view"] = present(calculator, model, calculator.run(model))
            except (ValidationError, InputError):
                pass  # a starter the tables cannot price: show the form only
        return templates.TemplateResponse(request, "calculator.html", context)

    # Page posts compute in the thread pool: some calculators (path replay, Monte Carlo) take
    # long enough that they must not hold the event loop; a person's pace hides the hop.
    async def submit(request: Request) -> Response:
        values, view, problems = await run_in_threadpool(compute_form, request, calculator,
                                                         await request.body())
        context = _context(request, calculator, values, "posted", problems)
        context.update(view=view, problems=problems)
        return templates.TemplateResponse(request, "calculator.html", context,
                                          status_code=422 if problems else 200)

    async def fragment(request: Request) -> Response:
        _, view, problems = await run_in_threadpool(compute_form, request, calculator,
                                                    await request.body())
        return templates.TemplateResponse(request, "_result.html", {
            "calc": calculator, "view": view, "problems": problems},
            status_code=422 if problems else 200)

    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse,
                         name=f"page_{calculator.name}")
    router.add_api_route(path, submit, methods=["POST"], response_class=HTMLResponse)
    router.add_api_route(f"{path}/result", fragment, methods=["POST"],
                         response_class=HTMLResponse)
