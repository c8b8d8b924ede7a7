"""HTML forms generated from a calculator's pydantic model, and form data parsed back.

Each model field becomes a :class:`FormField` by its type: numbers, choices (``Literal``; two
or three options as a segmented radio group), ``venue`` and ``symbol`` pickers fed by the
shipped tier tables, a repeatable group for a list of sub-models (the account's positions, the
average calculator's fills), a comma-separated list for a list of numbers, JSON for anything
else. Input names are dotted paths (``positions.0.qty``); :func:`parse_form` turns the posted
pairs back into the nested request the model validates, so the page and the API share one
schema and every formula stays in Python.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import annotated_types
from pydantic import BaseModel

from marginscope.errors import InputError
from marginscope.risk.tiers import load_venue_tables
from marginscope.risk.venues import VENUES

__all__ = ["FormField", "build_fields", "input_name", "library_path", "parse_form",
           "starter_values"]

LABELS = {
    "qty": "Quantity", "mmr": "Maintenance margin rate (MMR)",
    "maintenance_amount": "Maintenance amount", "taker_fee": "Taker fee rate",
    "max_leverage": "Max leverage of the tier", "contract_size": "Contract size",
    "wallet_balance": "Wallet balance", "margin_mode": "Margin mode",
    "position_mode": "Position mode", "risk_fraction": "Risk per trade (fraction)",
    "fee_rate": "Fee rate", "open_fee_rate": "Opening fee rate",
    "close_fee_rate": "Closing fee rate", "target_roe": "Target ROE (fraction)",
    "funding_rate": "Funding rate per interval", "funding_rates": "Funding rates",
    "interval_hours": "Hours per interval", "horizon_days": "Horizon (days)",
    "stop_distance": "Stop distance (fraction of entry)",
    "take_profit_distance": "Take-profit distance (fraction of entry)",
    "warning_ratio": "Warning margin ratio", "pnl": "P&L", "net_pnl": "Net P&L",
    "roe": "ROE", "net_roe": "Net ROE", "mmr_at_entry": "MMR at entry",
    "unrealized_pnl": "Unrealized P&L",
}
ADVANCED = {"mmr", "maintenance_amount", "contract_size", "max_leverage", "taker_fee", "margin",
            "paths", "steps", "seed", "position_mode", "drift"}
PRIMARY = {"venue", "symbol", "leverage", "margin_mode", "wallet_balance", "mark_price", "side"}
SHOW_WHEN = {"wallet_balance": ("margin_mode", "cross")}
FIRST = ("venue", "margin_mode", "position_mode", "wallet_balance")
SEGMENTED_MAX = 3
OTHER = "__other__"


def label(name: str) -> str:
    """Human label of a field or result key."""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


@dataclass
class FormField:
    """One control of a generated form (``kind`` picks the template macro)."""

    name: str
    path: str
    label: str
    kind: str                     # number | integer | text | choice | venue | symbol | group | numbers | json
    required: bool
    value: str = ""
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    segmented: bool = False
    advanced: bool = False
    show_when: tuple[str, str] | None = None
    hidden: bool = False          # show_when is not met by the current values
    default: str = ""             # the model's default, as text
    optional: bool = False        # may be left empty (shown as "optional")
    signed: bool = False          # may be negative (no decimal keypad)
    items: list[list[FormField]] = field(default_factory=list)
    template: list[FormField] = field(default_factory=list)
    max_items: int = 100
    min_items: int = 1


@dataclass(frozen=True)
class _Type:
    base: Any
    optional: bool
    metadata: tuple[Any, ...]


def _unwrap(annotation: Any) -> _Type:
    optional = False
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return _Type(annotation, optional, tuple(metadata))
            annotation = args[0]
        elif origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            for item in extra:
                metadata.extend(getattr(item, "metadata", [item]))
            annotation = base
        else:
            return _Type(annotation, optional, tuple(metadata))


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _signed(metadata: Iterable[Any]) -> bool:
    for item in metadata:
        if isinstance(item, annotated_types.Gt | annotated_types.Ge):
            bound = getattr(item, "gt", getattr(item, "ge", None))
            if bound is not None and bound >= 0:
                return False
    return True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def symbol_options(venue: str) -> list[tuple[str, str]]:
    """(value, text) of the venue's shipped symbols (none for a name that is not a venue: a
    posted value never reaches the table loader)."""
    if venue not in VENUES:
        return []
    return [(symbol, symbol) for symbol in load_venue_tables(venue)]


def build_fields(model: type[BaseModel], values: dict[str, Any], prefix: str = "",
                 venue: str | None = None, example: dict[str, Any] | None = None
                 ) -> list[FormField]:
    """The controls of ``model``, filled with ``values`` (a request dict, possibly partial).

    Optional fields go under "More options" unless the calculator's ``example`` uses them or
    they are common (:data:`PRIMARY`); overrides (:data:`ADVANCED`) always do.
    """
    example = example or {}
    venue = str(values.get("venue", venue) or "binance-usdm")
    fields = []
    names = sorted(model.model_fields, key=lambda n: FIRST.index(n) if n in FIRST else len(FIRST))
    for name in names:
        info = model.model_fields[name]
        kind = _unwrap(info.annotation)
        metadata = (*info.metadata, *kind.metadata)
        default = None if info.is_required() else info.default
        value = values.get(name, default)
        required = info.is_required()
        spec = FormField(
            name=name, path=f"{prefix}{name}", label=label(name), kind="text",
            required=required, help=info.description or "",
            advanced=not required and (name in ADVANCED or (
                name not in PRIMARY and name not in example)),
            show_when=SHOW_WHEN.get(name),
            optional=not required and default is None and name not in SHOW_WHEN,
        )
        base = kind.base
        if name == "venue":
            spec.kind = "venue"
            spec.options = [(key, v.title) for key, v in VENUES.items()]
            spec.value = _text(value)
        elif name == "symbol" and base is str:
            spec.kind = "symbol"
            spec.options = symbol_options(venue)
            spec.value = _text(value)
        elif typing.get_origin(base) is typing.Literal:
            spec.kind = "choice"
            spec.options = [(str(o), str(o).capitalize()) for o in typing.get_args(base)]
            spec.segmented = len(spec.options) <= SEGMENTED_MAX and not kind.optional
            if kind.optional:
                spec.options.insert(0, ("", "—"))
            spec.value = _text(value)
        elif base is bool:
            spec.kind = "choice"
            spec.options = [("true", "yes"), ("false", "no")]
            spec.segmented = True
            spec.value = "" if value is None else ("true" if value else "false")
        elif base in (float, int):
            spec.kind = "number" if base is float else "integer"
            spec.signed = _signed(metadata)
            spec.value = _text(value)
        elif typing.get_origin(base) is list and _is_model(typing.get_args(base)[0]):
            sub = typing.get_args(base)[0]
            spec.kind = "group"
            spec.max_items = next((m.max_length for m in metadata
                                   if isinstance(m, annotated_types.MaxLen)), 100)
            spec.min_items = next((m.min_length for m in metadata
                                   if isinstance(m, annotated_types.MinLen)), 0)
            rows = value if isinstance(value, list) and value else [{}]
            shape = example.get(name) or [{}]
            shape = shape[0] if isinstance(shape, list) and isinstance(shape[0], dict) else {}
            spec.items = [build_fields(sub, row if isinstance(row, dict) else {},
                                       f"{prefix}{name}.{i}.", venue, shape)
                          for i, row in enumerate(rows)]
            spec.template = build_fields(sub, {}, f"{prefix}{name}.__i__.", venue, shape)
        elif typing.get_origin(base) is list and _unwrap(typing.get_args(base)[0]).base in (
                float, int):
            spec.kind = "numbers"
            spec.value = ", ".join(_text(v) for v in value) if isinstance(value, list) else ""
        elif base is str:
            spec.kind = "text"
            spec.value = _text(value)
        else:
            spec.kind = "json"
            spec.value = "" if value is None else json.dumps(value)
        spec.default = "" if spec.kind in ("group", "json", "numbers") else _text(default)
        fields.append(spec)
    current = {f.name: f.value for f in fields}
    for spec in fields:
        if spec.show_when:
            spec.hidden = current.get(spec.show_when[0]) != spec.show_when[1]
    return fields


def starter_values(example: dict[str, Any]) -> dict[str, Any]:
    """The example without the advanced overrides (MMR, maintenance amount, …): a starting
    point whose numbers come from the venue's own tier tables."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ADVANCED}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(example)


def library_path(dotted: str) -> str:
    """Input name → the library's field notation: ``positions.0.qty`` → ``positions[0].qty``."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", dotted)


def input_name(field_path: str) -> str:
    """The library's field notation → input name: ``positions[0].qty`` → ``positions.0.qty``."""
    return re.sub(r"\[(\d+)\]", r".\1", field_path)


_NUMBER_SPLIT = re.compile(r"[\s,;]+")


def parse_form(model: type[BaseModel], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Posted ``(name, value)`` pairs → the nested request dict for ``model``.

    Empty values are left out (the model's default applies). Names that are not fields are
    ignored; the model then reports what is missing or out of range.
    """
    flat: dict[str, str] = {}
    for name, value in pairs:
        flat[str(name)] = str(value)
    return _parse(model, flat, "")


def _parse(model: type[BaseModel], flat: dict[str, str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _unwrap(info.annotation)
        base = kind.base
        path = f"{prefix}{name}"
        if typing.get_origin(base) is list and _is_model(typing.get_args(base)[0]):
            indices = sorted({int(match.group(1)) for key in flat
                              if (match := re.match(re.escape(path) + r"\.(\d{1,6})\.", key))})
            rows = [_parse(typing.get_args(base)[0], flat, f"{path}.{i}.") for i in indices]
            rows = [row for row in rows if row]
            if rows or indices:
                out[name] = rows
            continue
        text = flat.get(path, "").strip()
        if not text:
            continue
        if typing.get_origin(base) is list:
            out[name] = [item for item in _NUMBER_SPLIT.split(text) if item]
        elif base in (float, int, str, bool) or typing.get_origin(base) is typing.Literal:
            out[name] = text
        else:
            try:
                out[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(library_path(path), text[:80], f"JSON ({exc.msg})") from None
    return out
