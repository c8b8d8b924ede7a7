"""One error body for every bad request: ``{"detail": [{"loc", "field", "msg", "allowed"}]}``.

* :class:`~marginscope.errors.InputError` from a calculator → 422.
* pydantic validation of the request body → 422, one entry per offending field.
* a body that is not JSON (or JSON too deeply nested to parse) → 400.
* a body over ``MARGINSCOPE_MAX_BODY`` bytes → 413 (:class:`~marginscope.web.limits.BodyLimit`).
* other HTTP errors (404, 405) keep their status with the same body shape.
* a client that hangs up before its body is in (``ClientDisconnect``) → one log line, no
  traceback (a traceback per dropped connection would let anyone flood the log).

Values echoed back are made JSON-safe (NaN and infinities become strings, containers their type
name), so an error body can always be serialized.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from marginscope.calculators.base import allowed_text
from marginscope.calculators.base import field_path as library_path
from marginscope.errors import InputError
from marginscope.web.responses import json_response

__all__ = ["field_path", "input_error_body", "install_error_handlers", "validation_details"]

log = logging.getLogger("marginscope.web")

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_JSON_OBJECT = "a JSON object (Content-Type: application/json)"


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "positions", 0, "qty")`` → ``"positions[0].qty"`` (the library's notation)."""
    return library_path(loc[1:] if loc and loc[0] == "body" else loc) or "body"


def _loc(field: str) -> list[Any]:
    """``"positions[0].qty"`` → ``["body", "positions", 0, "qty"]``."""
    loc: list[Any] = ["body"]
    for name, index in _PART.findall(field):
        loc.append(int(index) if index else name)
    return loc


def safe_value(value: Any) -> Any:
    """A JSON-safe echo of a received value."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    if isinstance(value, bool | int | float | type(None)):
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, dict | list | tuple):
        return type(value).__name__
    return repr(value)[:200]


def _allowed(error: dict[str, Any]) -> str:
    body = list(error.get("loc") or []) == ["body"]
    return allowed_text(error, fallback=_JSON_OBJECT if body else None)


def validation_details(errors: Sequence[dict[str, Any]], limit: int = 20) -> list[dict[str, Any]]:
    """pydantic's error list in the API's shape (at most ``limit`` entries)."""
    details = []
    for error in list(errors)[:limit]:
        loc = list(error.get("loc") or ["body"])
        details.append({
            "loc": loc,
            "field": field_path(loc),
            "msg": str(error.get("msg", "invalid")),
            "allowed": _allowed(error),
            "value": None if error.get("type") == "missing" else safe_value(error.get("input")),
        })
    return details


def input_error_body(exc: InputError) -> dict[str, Any]:
    """The body of a 422 for an :class:`InputError` raised by a calculation."""
    return {"detail": [{
        "loc": _loc(exc.field),
        "field": exc.field,
        "msg": str(exc),
        "allowed": exc.allowed,
        "value": safe_value(exc.value),
    }]}


def _is_json_error(errors: Sequence[dict[str, Any]]) -> bool:
    return bool(errors) and errors[0].get("type") == "json_invalid"


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if _is_json_error(errors):
        ctx = errors[0].get("ctx") or {}
        position = errors[0]["loc"][-1] if errors[0].get("loc") else None
        return json_response({"detail": [{
            "loc": ["body"], "field": "body",
            "msg": f"the body is not valid JSON: {ctx.get('error', 'decode error')}"
                   + (f" at character {position}" if isinstance(position, int) else ""),
            "allowed": _JSON_OBJECT,
        }]}, status_code=400)
    return json_response({"detail": validation_details(errors)}, status_code=422)


async def _input_error(request: Request, exc: InputError) -> Response:
    return json_response(input_error_body(exc), status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    allowed = {
        400: _JSON_OBJECT,
        404: "a path listed in /openapi.json",
        405: "a method listed in /openapi.json",
        413: f"a body of at most {getattr(request.app.state, 'max_body_bytes', '?')} bytes",
    }.get(exc.status_code, "")
    body = {"detail": [{"loc": ["body"] if exc.status_code in (400, 413) else ["path"],
                        "field": "body" if exc.status_code in (400, 413) else "path",
                        "msg": str(exc.detail), "allowed": allowed}]}
    return json_response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
    log.info("client disconnected before its body was in: %s %s", request.method,
             request.url.path)
    return Response(status_code=400)  # nobody is listening; the server discards it


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ClientDisconnect, _client_gone)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(InputError, _input_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
