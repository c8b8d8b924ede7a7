"""One declaration per calculator: tool id, input model, compute function, event fields.

The CLI sub-command, the API endpoint, the web form, the telemetry tool id and allow-list, the
report's tool names and the coarse fields a calculation's event records are all derived from
a :class:`Calculator`; adding one is one small module that calls :func:`register`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, get_args

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


ASSET_CLASSES: dict[str, str] = {
    "crypto_futures": "Crypto futures", "crypto_spot": "Crypto spot", "forex": "Forex",
    "stocks": "Stocks", "cfd": "CFDs and spread bets",
}
"""Asset class id → title (the web index's groups, in this order). The event has no asset
class column: the tool id implies it."""


@dataclass(frozen=True)
class EventFields:
    """Where a calculation's coarse telemetry fields come from (what its event records).

    Each attribute names the source of one field; None: the event leaves the field NULL.
    Input paths are dotted attribute paths of the validated request (``positions.0.side``:
    the first position's side); result keys are top-level keys of the computed result.

    Attributes
    ----------
    venue, symbol, side, margin_mode : str or None
        Input paths of the text fields.
    leverage : str or None
        Input path of the leverage.
    result_leverage : str or None
        Result key read when the input's leverage is unset.
    notional : str or None
        Result key of the position notional (quote currency).
    size : tuple of two str, or None
        Input paths ``(quantity, price)``: notional = |quantity × price| when the result gives
        none.
    """

    venue: str | None = None
    symbol: str | None = None
    side: str | None = None
    margin_mode: str | None = None
    leverage: str | None = None
    result_leverage: str | None = None
    notional: str | None = None
    size: tuple[str, str] | None = None

    def input_paths(self) -> tuple[str, ...]:
        """Every input path declared (checked against the model by :func:`register`)."""
        paths = (self.venue, self.symbol, self.side, self.margin_mode, self.leverage,
                 *(self.size or ()))
        return tuple(path for path in paths if path is not None)

    def fields(self) -> frozenset[str]:
        """The coarse fields a calculation may set (the others are always NULL)."""
        given = {"venue": self.venue, "symbol": self.symbol, "side": self.side,
                 "margin_mode": self.margin_mode,
                 "leverage": self.leverage or self.result_leverage,
                 "notional": self.notional or self.size}
        return frozenset(name for name, source in given.items() if source)

    def read(self, request: BaseModel, result: Mapping[str, Any]) -> dict[str, Any]:
        """The coarse fields of one calculation: venue, symbol, side, margin_mode, leverage,
        notional (None where not declared or not given). Prices, balances and quantities are
        never returned."""
        leverage = _number(_path(request, self.leverage))
        if leverage is None and self.result_leverage is not None:
            leverage = _number(result.get(self.result_leverage))
        notional = _number(result.get(self.notional)) if self.notional is not None else None
        if notional is None and self.size is not None:
            qty, price = (_number(_path(request, path)) for path in self.size)
            if qty is not None and price is not None:
                notional = qty * price
        return {
            "venue": _text(_path(request, self.venue)),
            "symbol": _text(_path(request, self.symbol)),
            "side": _text(_path(request, self.side)),
            "margin_mode": _text(_path(request, self.margin_mode)),
            "leverage": leverage if leverage is not None and leverage > 0 else None,
            "notional": abs(notional) if notional is not None else None,
        }


FUTURES = EventFields(venue="venue", symbol="symbol", side="side", margin_mode="margin_mode",
                      leverage="leverage", size=("qty", "entry_price"))
"""The common crypto-futures request shape (venue, symbol, side, margin mode, leverage, qty ×
entry price): the default of :attr:`Calculator.records`; others declare theirs, e.g.
``replace(FUTURES, margin_mode=None)`` or ``EventFields(side="side")``."""


def _path(request: BaseModel, path: str | None) -> Any:
    """The value at a dotted input path (None if the path or a step on it is unset)."""
    if path is None:
        return None
    value: Any = request
    for part in _steps(path):
        if type(part) is int:
            value = value[part] if value is not None and len(value) > part else None
        else:
            value = getattr(value, part) if value is not None else None
    return value


@lru_cache(maxsize=256)
def _steps(path: str) -> tuple[str | int, ...]:
    """``"positions.0.side"`` → ``("positions", 0, "side")`` (read on every recorded call)."""
    return tuple(int(part) if part.isdigit() else part for part in path.split("."))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


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
    asset_class: str = "crypto_futures"        # a key of ASSET_CLASSES
    records: EventFields = FUTURES             # the coarse fields its telemetry event records
    label: str | None = None                   # name in reports; default: tool with "-"
    stage: str | None = None                   # a key of STAGES: what a trader uses it for

    @property
    def tool_name(self) -> str:
        """The tool as a report writes it: :attr:`label`, else the tool id with hyphens."""
        return self.label or self.tool.replace("_", "-")

    def context(self, request: Request, result: Mapping[str, Any]) -> dict[str, Any]:
        """The coarse context of one calculation (see :class:`EventFields`); the telemetry
        pipeline buckets and allow-lists it."""
        return self.records.read(request, result)

    def run(self, payload: dict[str, Any] | Request) -> dict[str, Any]:
        """Validate ``payload`` and compute; bad input raises :class:`InputError`."""
        request = payload if isinstance(payload, self.model) else parse(self.model, payload)
        return plain(self.compute(request))


STAGES: dict[str, str] = {
    "check": "checking how close a position is to liquidation",
    "defend": "defending a position: margin, averaging down, carrying its funding",
    "rebuild": "building a new position: sizing, leverage, modelling its P&L",
}
"""The stages of a leveraged trader's cycle a calculator serves (``Calculator.stage``); the
analytics name behavioural phases after them."""

REGISTRY: dict[str, Calculator] = {}
"""Calculator name (CLI sub-command, API path) → declaration, in registration order."""

TOOLS: dict[str, Calculator] = {}
"""Telemetry tool id → its first declaring calculator, in registration order (two calculators
may share a tool id: ``account`` and ``liquidation`` are both ``liquidation_price``). The
telemetry allow-list, the report's tool names and the simulator's tool mix read this."""


_TOOL_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
"""Telemetry tool ids: lower-case, digits and underscores (a column value, never free text)."""


def register(calculator: Calculator) -> Calculator:
    """Add ``calculator`` to :data:`REGISTRY`; its event-field paths must name model fields."""
    for path in calculator.records.input_paths():
        model: Any = calculator.model
        for part in path.split("."):
            if part.isdigit():
                continue
            if model is None or part not in model.model_fields:
                raise ValueError(f"{calculator.name}: event field path {path!r} is not in "
                                 f"{calculator.model.__name__}")
            model = _item_model(model.model_fields[part].annotation)
    if calculator.asset_class not in ASSET_CLASSES:
        raise ValueError(f"{calculator.name}: asset class {calculator.asset_class!r} is not "
                         f"one of {' | '.join(ASSET_CLASSES)}")
    if not _TOOL_RE.match(calculator.tool):
        raise ValueError(f"{calculator.name}: tool id {calculator.tool!r} does not match "
                         f"{_TOOL_RE.pattern}")
    if calculator.stage is not None and calculator.stage not in STAGES:
        raise ValueError(f"{calculator.name}: stage {calculator.stage!r} is not one of "
                         f"{' | '.join(STAGES)}")
    first = TOOLS.get(calculator.tool)
    if first is not None and (first.asset_class, first.tool_name, first.stage) != (
            calculator.asset_class, calculator.tool_name, calculator.stage):
        raise ValueError(f"{calculator.name}: tool {calculator.tool!r} is declared by "
                         f"{first.name} with another asset class, label or stage")
    REGISTRY[calculator.name] = calculator
    TOOLS.setdefault(calculator.tool, calculator)
    return calculator


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``list[Position]`` → ``Position``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _item_model(arg)
        if found is not None:
            return found
    return None


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


_LEAVES = frozenset((str, int, bool, type(None)))
"""Types :func:`plain` returns as they are (by exact type: one set lookup)."""


def plain(value: Any) -> Any:
    """JSON-ready copy: NumPy scalars/arrays → floats/lists, NaN/inf → None."""
    kind = type(value)  # the common types first, by identity: results have hundreds of values
    if kind is float:
        return value if value - value == 0.0 else None  # inf − inf and NaN − NaN are NaN
    if kind in _LEAVES:
        return value
    if kind is dict:
        return _plain_dict(value)
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


def _plain_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    """:func:`plain` of a dict, its float and leaf values done in the loop (a result's values
    are mostly those: no call per value)."""
    out = {}
    for key, item in value.items():
        kind = type(item)
        if kind is float:
            out[key] = item if item - item == 0.0 else None
        elif kind in _LEAVES:
            out[key] = item
        else:
            out[key] = plain(item)
    return out
