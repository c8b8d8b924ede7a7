"""Strict JSON request bodies, the same on every endpoint.

* Not JSON, or an object with the same key twice (``{"qty": -1, …, "qty": 0.5}``, which a lax
  parser answers with the last value) → **400**, naming the problem and, for a duplicate,
  the key.
* JSON of the wrong types → **422**, one entry per field: numbers must be JSON numbers
  (``true`` is not 1, ``"0.5"`` is not 0.5), pydantic's strict mode.

The duplicate check is exact and cheap on the common body: orjson parses it (a dict keeps one
value per key), and the keys it kept are compared with the colons of the text. In valid JSON a
colon outside a string follows each key, once, and nothing else, so the text has at least as
many colons as keys and at least as many keys as were kept: equal counts prove every object
had each key once. Otherwise (a duplicate, a colon inside a string such as a ccxt symbol, or a
text orjson refuses) the standard library's parser with a per-object hook decides, and names
the duplicate or the error.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from marginscope.web.errors import validation_details
from marginscope.web.responses import json_response

__all__ = ["ALLOWED_BODY", "body_error", "strict_json"]

Model = TypeVar("Model", bound=BaseModel)
ALLOWED_BODY = "a JSON object (Content-Type: application/json)"


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _kept_keys(value: Any) -> int:
    """Keys of every object in a parsed JSON value (one per distinct key)."""
    count = 0
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            count += len(item)
            pending += item.values()
        elif kind is list:
            pending += item
    return count


def _no_duplicates(body: bytes) -> bool:
    """True when ``body`` is JSON whose objects have each key once, proved by counting (see
    the module docstring); False means "look closer", not "duplicate"."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return body.count(b":") == _kept_keys(parsed)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def body_error(status: int, message: str, allowed: str = ALLOWED_BODY,
               headers: dict[str, str] | None = None) -> Response:
    """An error about the body as a whole, in the API's error shape."""
    return json_response({"detail": [{"loc": ["body"], "field": "body", "msg": message,
                                      "allowed": allowed}]}, status_code=status, headers=headers)


def strict_json(model: type[Model], body: bytes) -> Model | Response:
    """``body`` validated as ``model`` (strict types), or the 400/422 answer to send."""
    if not _no_duplicates(body):
        try:
            json.loads(body, object_pairs_hook=_unique)
        except _DuplicateKey as exc:
            return body_error(400, f"the body has the key {exc.key!r} more than once",
                              "a JSON object with each key once")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
            return body_error(400, f"the body is not valid JSON: {exc}")
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = ("body", *error.get("loc", ()))
        return json_response({"detail": validation_details(errors)}, status_code=422)
