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
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

import marginscope
from marginscope.calculators import REGISTRY, Calculator
from marginscope.calculators.base import ASSET_CLASSES
from marginscope.errors import InputError
from marginscope.web.api import run_calculation, venue_catalogue
from marginscope.web.errors import input_error_body, validation_details
from marginscope.web.forms import build_fields, input_name, label, parse_form, starter_values
from marginscope.web.numbers import fmt
from marginscope.web.present import ResultView, present

__all__ = ["build_pages", "templates"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["fmt"] = fmt
templates.env.globals["label"] = label
templates.env.globals["version"] = marginscope.__version__


def path_for(request: Request, name: str, **params: Any) -> str:
    """Root-relative URL of a route (proxy-safe: no scheme or host; the mount prefix kept)."""
    return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **params))


templates.env.globals["path_for"] = path_for

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


def _problems(details: list[dict[str, Any]]) -> list[dict[str, str]]:
    problems = []
    for item in details:
        missing = item.get("allowed") == "a value (required)"
        problems.append({
            "input": input_name(item["field"]),
            "label": _describe(item["field"]),
            "text": "fill this in" if missing else (
                f"got {item['value']}; allowed: {item['allowed']}"
                if item.get("value") not in (None, "dict", "list") else item["allowed"]),
            "missing": "1" if missing else "",
        })
    return problems


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
    """Posted form → (values for re-rendering, result view or None, problems)."""
    values: dict[str, Any] = {}
    try:
        values = parse_form(calculator.model, _pairs(body))
        model = calculator.model.model_validate(values)
        result = run_calculation(request, calculator, model)
    except ValidationError as exc:
        return values, None, _problems(validation_details(exc.errors(include_url=False)))
    except InputError as exc:
        return values, None, _problems(input_error_body(exc)["detail"])
    return values, present(calculator, model, result), []


def _context(request: Request, calculator: Calculator, values: dict[str, Any],
             mode: str) -> dict[str, Any]:
    return {
        "request": request, "calc": calculator,
        "fields": build_fields(calculator.model, values, example=calculator.example),
        "mode": mode,
    }


def build_pages() -> APIRouter:
    """Routes of the index and of every calculator's page."""
    router = APIRouter(include_in_schema=False)
    venues_json = json.dumps({v["name"]: [s["symbol"] for s in v["symbols"]]
                              for v in venue_catalogue()}).replace("</", "<\\/")
    templates.env.globals["venues_json"] = venues_json

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {})

    for calculator in REGISTRY.values():
        _add_calculator(router, calculator)
    return router


def _add_calculator(router: APIRouter, calculator: Calculator) -> None:
    path = f"/{calculator.name}"

    def page(request: Request, example: str = "starter") -> Response:
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
        context = _context(request, calculator, values, "posted")
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
