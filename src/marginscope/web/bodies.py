"""Strict JSON request bodies, the same on every endpoint.

* Not JSON, or an object with the same key twice (``{"qty": -1, …, "qty": 0.5}``, which a lax
  parser answers with the last value) → **400**, naming the problem and, for a duplicate,
  the key.
* JSON of the wrong types → **422**, one entry per field: numbers must be JSON numbers
  (``true`` is not 1, ``"0.5"`` is not 0.5), pydantic's strict mode.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

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
