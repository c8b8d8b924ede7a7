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
from marginscope.risk.instruments import across_venues, parse_ccxt
from marginscope.risk.tiers import load_venue_tables
from marginscope.risk.venues import DEFAULT_VENUE, VENUES
from marginscope.web.numbers import fmt, plain_number, read_number

__all__ = ["PERCENT_INPUTS", "SYMBOLS_FOR", "FormField", "ReadAs", "build_fields",
           "input_name", "library_path", "map_symbols", "parse_form", "starter_values"]

LABELS = {
    "qty": "Quantity", "mmr": "Maintenance margin rate (MMR, %)",
    "maintenance_amount": "Maintenance amount", "taker_fee": "Taker fee (%)",
    "max_leverage": "Max leverage of the tier", "contract_size": "Contract size",
    "wallet_balance": "Wallet balance", "margin_mode": "Margin mode",
    "position_mode": "Position mode", "risk_fraction": "Risk per trade (%)",
    "fee_rate": "Fee rate (%)", "open_fee_rate": "Opening fee (%)",
    "close_fee_rate": "Closing fee (%)", "target_roe": "Target ROE (fraction)",
    "funding_rate": "Funding rate per interval (%)", "funding_rates": "Funding rates (% each)",
    "interval_hours": "Hours per interval", "horizon_days": "Horizon (days)",
    "stop_distance": "Stop distance (fraction of entry)",
    "take_profit_distance": "Take-profit distance (fraction of entry)",
    "warning_ratio": "Warning at margin ratio (%)", "pnl": "P&L", "net_pnl": "Net P&L",
    "roe": "ROE", "net_roe": "Net ROE", "mmr_at_entry": "MMR at entry",
    "unrealized_pnl": "Unrealized P&L",
}
ADVANCED = {"mmr", "maintenance_amount", "contract_size", "max_leverage", "taker_fee", "margin",
            "paths", "steps", "seed", "position_mode", "drift"}
PRIMARY = {"venue", "symbol", "leverage", "margin_mode", "wallet_balance", "mark_price", "side",
           "notional", "days"}
SHOW_WHEN = {"wallet_balance": ("margin_mode", "cross")}
FIRST = ("venue", "margin_mode", "position_mode", "wallet_balance")
SEGMENTED_MAX = 3
CROSS_WALLET_HELP = ("Cross margin: the wallet balance backing this position, in the settle "
                     "currency (coin for inverse contracts). Required in cross mode.")
# Rates traders think of in percent: the page shows and reads them as percent (0.01 = 0.01 %);
# the model, the API and the CLI keep fractions. A % sign means percent in any number field.
PERCENT_INPUTS = {"funding_rate", "funding_rates", "mmr", "taker_fee", "fee_rate",
                  "open_fee_rate", "close_fee_rate", "risk_fraction", "warning_ratio"}
# Fields that are optional only if another is given (the label says "or …", not "optional").
EITHER = {"leverage": "margin", "margin": "leverage", "qty": "notional", "notional": "qty"}
OTHER = "__other__"
# Hidden input beside the venue picker: the venue the form's symbols are written for. A form
# posted without script after the venue changed still carries the old venue's symbols.
SYMBOLS_FOR = "symbols_for"


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
    percent: bool = False         # shown and read as percent (model holds a fraction)
    either: str = ""              # required unless this other field is given
    error: str = ""               # what is wrong with the posted value, in plain words
    alt: tuple[str, str, str, str] | None = None  # (control, value, label, help) when it is set
    alt_on: bool = False          # the alternative label applies to the current values
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


def _text(value: Any, percent: bool = False) -> str:
    if value is None:
        return ""
    if percent and isinstance(value, int | float) and not isinstance(value, bool):
        return plain_number(float(f"{value * 100:.12g}"))
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
    venue = str(values.get("venue", venue) or DEFAULT_VENUE)
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
            optional=not required and default is None and name not in SHOW_WHEN
            and name not in EITHER,
            percent=name in PERCENT_INPUTS,
        )
        if name in EITHER and EITHER[name] in model.model_fields:
            spec.either = label(EITHER[name]).lower()
        if name == "margin" and "margin_mode" in model.model_fields:
            # cross mode: the engine takes this field as the cross wallet balance
            spec.alt = ("margin_mode", "cross", "Wallet balance (cross)", CROSS_WALLET_HELP)
            spec.alt_on = values.get("margin_mode") == "cross"
            spec.advanced = False
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
            spec.value = _text(value, spec.percent)
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
            spec.value = (" ".join(_text(v, spec.percent) for v in value)
                          if isinstance(value, list) else "")
        elif base is str:
            spec.kind = "text"
            spec.value = _text(value)
        else:
            spec.kind = "json"
            spec.value = "" if value is None else json.dumps(value)
        spec.default = ("" if spec.kind in ("group", "json", "numbers")
                        else _text(default, spec.percent))
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


# Between numbers of a list: semicolons, blanks, or a comma that is not a thousands separator.
_NUMBER_SPLIT = re.compile(r";|\s+(?!%)|,(?!\d{3}(?:[^\d]|$))")


@dataclass(frozen=True)
class ReadAs:
    """A typed number the page had to interpret (``95k`` → 95,000; ``-0.01`` → −0.01 %)."""

    path: str
    typed: str
    value: float
    percent: bool

    @property
    def text(self) -> str:
        shown = fmt(self.value, "mmr") if self.percent else f"{self.value:,.12g}"
        name = re.sub(r" \(.*\)$", "", label(self.path.rsplit(".", 1)[-1]))
        return f"{name}: “{self.typed}” read as {shown}"


def parse_form(model: type[BaseModel], pairs: Iterable[tuple[str, str]],
               notes: list[ReadAs] | None = None) -> dict[str, Any]:
    """Posted ``(name, value)`` pairs → the nested request dict for ``model``.

    Numbers are read as traders type them (:func:`~marginscope.web.numbers.read_number`:
    ``95,000``, ``95k``, ``-0.01%``), and fields in :data:`PERCENT_INPUTS` as percent; every
    reading that changed the text is appended to ``notes``. Text that is not a number is passed
    on as typed, for the model to reject by name. Empty values are left out (the model's default
    applies). Names that are not fields are ignored; the model then reports what is missing or
    out of range.
    """
    flat: dict[str, str] = {}
    for name, value in pairs:
        flat[str(name)] = str(value)
    return _parse(model, flat, "", notes if notes is not None else [])


def _number(path: str, text: str, percent: bool, integer: bool, notes: list[ReadAs]) -> Any:
    reading = read_number(text, percent)
    if reading is None:
        return text
    if reading.interpreted or percent:
        notes.append(ReadAs(path, reading.text, reading.value, percent or "%" in text))
    if integer:
        return int(reading.value) if reading.value.is_integer() else reading.value
    return reading.value


def _parse(model: type[BaseModel], flat: dict[str, str], prefix: str,
           notes: list[ReadAs]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _unwrap(info.annotation)
        base = kind.base
        path = f"{prefix}{name}"
        if typing.get_origin(base) is list and _is_model(typing.get_args(base)[0]):
            indices = sorted({int(match.group(1)) for key in flat
                              if (match := re.match(re.escape(path) + r"\.(\d{1,6})\.", key))})
            rows = [_parse(typing.get_args(base)[0], flat, f"{path}.{i}.", notes)
                    for i in indices]
            rows = [row for row in rows if row]
            if rows or indices:
                out[name] = rows
            continue
        text = flat.get(path, "").strip()
        if not text:
            continue
        percent = name in PERCENT_INPUTS
        if typing.get_origin(base) is list:
            scratch: list[ReadAs] = []
            out[name] = [_number(path, item, percent, False, scratch)
                         for item in _NUMBER_SPLIT.split(text) if item]
            notes += scratch[:1]
        elif base in (float, int):
            out[name] = _number(path, text, percent, base is int, notes)
        elif base in (str, bool) or typing.get_origin(base) is typing.Literal:
            out[name] = text
        else:
            try:
                out[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(library_path(path), text[:80], f"JSON ({exc.msg})") from None
    return out


def _symbol_slots(values: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(library field path, the dict holding ``symbol``) of the request and of its rows."""
    yield "symbol", values
    for name, rows in values.items():
        if isinstance(rows, list):
            for index, row in enumerate(rows):
                if isinstance(row, dict):
                    yield f"{name}[{index}].symbol", row


def map_symbols(values: dict[str, Any], written_for: str) -> list[str]:
    """Symbols written in venue ``written_for``'s notation → the same instruments on the
    request's venue (:func:`~marginscope.risk.instruments.across_venues`), in place.

    A form posted without script after its venue picker changed still holds the old venue's
    symbols (BTCUSDT on OKX, where the contract is BTC-USDT-SWAP). A symbol the old venue does
    not read is left for the model to judge in the new venue's notation. Returns one sentence
    per symbol rewritten, for the answer to say how the input was read.

    Raises
    ------
    InputError
        Naming the symbol's field when the new venue lists no such instrument (same base and
        kind, linear or inverse); that symbol is removed from ``values`` so the re-rendered
        form never keeps a symbol the new venue would misread.
    """
    venue = values.get("venue")
    if not (isinstance(venue, str) and venue in VENUES and written_for in VENUES
            and written_for != venue):
        return []
    notes: list[str] = []
    missing: InputError | None = None
    old, new = VENUES[written_for].title, VENUES[venue].title
    for path, holder in list(_symbol_slots(values)):
        symbol = holder.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            continue
        try:
            answer = across_venues(written_for, symbol)
        except InputError:
            continue  # not the old venue's notation: read as the new venue's
        entry = answer["venues"].get(venue)
        if entry is None:
            del holder["symbol"]
            missing = missing or InputError(
                path, symbol, f"no {new} listing for {symbol} ({old}, {answer['product']} "
                f"{answer['instrument']}): pick a {new} symbol")
            continue
        holder["symbol"] = entry["symbol"]
        if entry["symbol"] != symbol:
            mapped = parse_ccxt(entry["instrument"])
            settle = "" if entry["same_quote"] or mapped is None else f", settled in {mapped.settle}"
            notes.append(f"Symbol: {symbol} ({old}) is {entry['symbol']} on {new}{settle}")
    if missing is not None:
        raise missing
    return notes
