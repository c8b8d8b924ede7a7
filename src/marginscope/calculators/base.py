"""One declaration per calculator: tool id, input model, compute function.

The CLI sub-command, the API endpoint, the web form and the telemetry tool id are all generated
from a :class:`Calculator`; adding one is one small module that calls :func:`register`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marginscope.errors import InputError
from marginscope.risk.venues import VENUES

# Reusable field types: finite numbers with their ranges stated once. Prices and sizes have a
# floor of 1e-12, not 0: subnormal inputs (5e-324, found by the API fuzz) overflow divisions.
Price = Annotated[float, Field(ge=1e-12, lt=1e12, allow_inf_nan=False)]
Quantity = Annotated[float, Field(ge=1e-12, lt=1e12, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]
Leverage = Annotated[float, Field(ge=0.01, le=1000, allow_inf_nan=False)]  # margin = N/L finite
Rate = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
FeeRate = Annotated[float, Field(ge=0, lt=0.1, allow_inf_nan=False)]
SignedRate = Annotated[float, Field(gt=-1, lt=1, allow_inf_nan=False)]


class Request(BaseModel):
    """Base of every calculator's input: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Calculator:
    """A calculator as every surface sees it."""

    name: str                                  # CLI sub-command and API path: "margin-call"
    tool: str                                  # telemetry tool id: "margin_call"
    title: str
    summary: str
    model: type[Request]
    compute: Callable[[Any], dict[str, Any]]
    example: dict[str, Any]
    asset_class: str = "crypto_futures"        # telemetry: crypto_futures | crypto_spot | forex | stocks | cfd

    def run(self, payload: dict[str, Any] | Request) -> dict[str, Any]:
        """Validate ``payload`` and compute; bad input raises :class:`InputError`."""
        request = payload if isinstance(payload, self.model) else parse(self.model, payload)
        return plain(self.compute(request))


REGISTRY: dict[str, Calculator] = {}


def register(calculator: Calculator) -> Calculator:
    REGISTRY[calculator.name] = calculator
    return calculator


def venue_names() -> tuple[str, ...]:
    return tuple(VENUES)


def parse(model: type[BaseModel], payload: Any) -> Any:
    """``model.model_validate`` with pydantic's first error turned into an :class:`InputError`."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise input_error(exc) from None


def input_error(exc: ValidationError) -> InputError:
    """The first validation error as an :class:`InputError` with a dotted field path (the one
    translation of pydantic's errors; the web's error bodies use the same pieces)."""
    error = exc.errors(include_url=False)[0]
    value = None if error.get("type") == "missing" else error.get("input")
    if isinstance(value, dict | list):
        value = type(value).__name__
    return InputError(field_path(error["loc"]) or "request", value, allowed_text(error))


def field_path(loc: Sequence[Any]) -> str:
    """``("positions", 0, "qty")`` → ``"positions[0].qty"`` (the library's notation)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_BOUNDS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))


def allowed_text(error: dict[str, Any], fallback: str | None = None) -> str:
    """What a pydantic error says is allowed: the choices, the bounds, the length, "a value
    (required)", "no such field"; else ``fallback`` or pydantic's message."""
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return f"one of {ctx['expected']}"
    bounds = [f"{symbol} {ctx[key]}" for key, symbol in _BOUNDS if key in ctx]
    if bounds:
        return " and ".join(bounds)
    if "max_length" in ctx or "min_length" in ctx:
        low, high = ctx.get("min_length"), ctx.get("max_length")
        return f"length {low if low is not None else 0} … {high if high is not None else '∞'}"
    if error.get("type") == "missing":
        return "a value (required)"
    if error.get("type") == "extra_forbidden":
        return "no such field"
    return fallback or str(error.get("msg", "valid input"))


def plain(value: Any) -> Any:
    """JSON-ready copy: NumPy scalars/arrays → floats/lists, NaN/inf → None."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist()) if value.ndim else plain(value.item())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
