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
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    PlainValidator,
    ValidationError,
    WrapValidator,
)
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


def _body_answer(body: bytes) -> Response | None:
    """The 400 for a body that is not JSON or repeats a key in an object, else None (the
    count of :func:`_no_duplicates`, then the hooked standard-library parser)."""
    if _no_duplicates(body):
        return None
    try:
        json.loads(body, object_pairs_hook=_unique)
    except _DuplicateKey as exc:
        return body_error(400, f"the body has the key {exc.key!r} more than once",
                          "a JSON object with each key once")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
        return body_error(400, f"the body is not valid JSON: {exc}")
    return None


Plan = dict[str, tuple[bool, type[BaseModel]]]
"""Per model: its fields that hold a model (False) or a list of models (True)."""


@cache
def _plan(model: type[BaseModel]) -> Plan | None:
    """Where ``model``'s objects can hold objects, when every JSON object of a body it accepts
    is one of its (nested) models and every key of it one of that model's set fields: unknown
    fields forbidden, no model validator or ``model_post_init``, a nested model only as a
    field's model or a list's items, without validators of its own. None (the count by
    parsing decides) otherwise."""
    if model.model_config.get("extra") != "forbid" or \
            model.__pydantic_decorators__.model_validators or \
            getattr(model, "__pydantic_post_init__", None) is not None:  # may set fields
        return None
    validated = {name for decorator in model.__pydantic_decorators__.field_validators.values()
                 for name in decorator.info.fields}
    plan: Plan = {}
    for name, field in model.model_fields.items():
        nested = _nested(field.annotation)
        if nested is None:
            return None
        if nested is _SCALAR:
            continue
        many, inner = nested
        if name in validated or any(isinstance(meta, _VALIDATORS) for meta in field.metadata) \
                or _plan(inner) is None:
            return None
        plan[name] = (many, inner)
    return plan


_SCALAR = (False, BaseModel)
_VALIDATORS = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)


def _nested(annotation: Any) -> tuple[bool, type[BaseModel]] | None:
    """``annotation``'s model: ``(False, Model)``, ``(True, Model)`` for ``list[Model]``,
    :data:`_SCALAR` when it holds none, None when it holds one another way."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False, annotation
    if origin is Annotated:
        inner = _nested(args[0])
        return None if inner is not _SCALAR and any(
            isinstance(meta, _VALIDATORS) for meta in args[1:]) else inner
    if origin is list and args:
        inner = _nested(args[0])
        return _SCALAR if inner is _SCALAR else \
            (True, inner[1]) if inner is not None and not inner[0] else None
    if origin in (Union, UnionType):
        found = [nested for nested in map(_nested, args) if nested is not _SCALAR]
        return _SCALAR if not found else found[0] if len(found) == 1 else None
    if origin is not None and origin is not Literal and args:
        return None if any(_nested(arg) is not _SCALAR for arg in args) else _SCALAR
    return _SCALAR


def _set_keys(value: BaseModel, plan: Plan) -> int:
    """Keys of the objects ``value`` was validated from: its set fields, its nested models'."""
    given = value.model_fields_set
    count = len(given)
    for name, (many, inner) in plan.items():
        child = getattr(value, name) if name in given else None  # not a default's models
        if child is None:
            continue
        inner_plan = _plan(inner)
        if many:
            for item in child:
                count += _set_keys(item, inner_plan)  # type: ignore[arg-type]
        else:
            count += _set_keys(child, inner_plan)  # type: ignore[arg-type]
    return count


def strict_json(model: type[Model], body: bytes) -> Model | Response:
    """``body`` validated as ``model`` (strict types), or the 400/422 answer to send.

    A body with a repeated key or not JSON gets the 400 before any 422. A body the model
    accepts is checked for repeated keys by counting its set fields (:func:`_set_keys`: in
    the JSON the model accepts, every object is one of its models and each of its keys a set
    field), so the common body is parsed once; when the model is not of that shape, or the
    count differs from the colons, the count by parsing decides (:func:`_body_answer`)."""
    try:
        parsed = model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        answer = _body_answer(body)
        if answer is not None:
            return answer
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = ("body", *error.get("loc", ()))
        return json_response({"detail": validation_details(errors)}, status_code=422)
    plan = _plan(model)
    if plan is None or body.count(b":") != _set_keys(parsed, plan):
        answer = _body_answer(body)
        if answer is not None:
            return answer
    return parsed
