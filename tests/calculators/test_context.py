"""What a calculation's telemetry event records: ``Calculator.context`` per declaration.

The expectation is recomputed here from the validated input (as a plain dict) and the result,
by the rule the web recorder applied before the declarations said it (``coarse_context``):
venue, symbol, side and margin mode from the input (an account's first position for symbol
and side), leverage from the input else the result, notional from the result's notional
(``notional``, ``notional_at_entry``, ``entry_notional``, ``entry_value``,
``max_open_notional``, ``short_value``, the first given) else |qty × entry price|.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from marginscope.calculators import REGISTRY
from marginscope.calculators.base import EventFields, register

_NOTIONAL_KEYS = (
    "notional",
    "notional_at_entry",
    "entry_notional",
    "entry_value",
    "max_open_notional",
    "short_value",
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def expected(fields: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The old recorder's rule over the input as a dict (see the module docstring)."""
    positions = fields.get("positions")
    first = positions[0] if isinstance(positions, list) and positions else {}

    def text(name: str) -> str | None:
        value = fields.get(name)
        if value is None:
            value = first.get(name)
        return value if isinstance(value, str) else None

    leverage = _number(fields.get("leverage"))
    if leverage is None:
        leverage = _number(result.get("leverage"))
    notional = next(
        (_number(result[k]) for k in _NOTIONAL_KEYS if _number(result.get(k)) is not None), None
    )
    if notional is None:
        qty, price = _number(fields.get("qty")), _number(fields.get("entry_price"))
        notional = qty * price if qty is not None and price is not None else None
    return {
        "venue": text("venue"),
        "symbol": text("symbol"),
        "side": text("side"),
        "margin_mode": text("margin_mode"),
        "leverage": leverage if leverage is not None and leverage > 0 else None,
        "notional": abs(notional) if notional is not None else None,
    }


# The declared examples, plus inputs that reach the other branches (a fallback from the input's
# qty × entry price, a leverage and side the example leaves out, an account's other positions).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    *((name, calculator.example) for name, calculator in REGISTRY.items()),
    (
        "average",
        {
            "fills": [{"qty": 1, "price": 100}],
            "side": "short",
            "leverage": 5,
            "symbol": "BTCUSDT",
            "venue": "bybit",
        },
    ),
    (
        "funding",
        {
            "side": "short",
            "qty": 2.0,
            "mark_price": 100.0,
            "entry_price": 90.0,
            "funding_rate": 0.0001,
        },
    ),
    (
        "position-size",
        {"balance": 1000.0, "risk_fraction": 0.01, "entry_price": 100.0, "stop_price": 95.0},
    ),
    ("cfd-margin", {"size": 2, "price": 100.0, "margin_rate": 0.05}),
    (
        "forex-position-size",
        {
            "pair": "EUR/USD",
            "price": 1.08,
            "balance": 10_000,
            "risk_fraction": 0.01,
            "stop_pips": 20,
        },
    ),
    (
        "account",
        {
            "venue": "bybit",
            "margin_mode": "isolated",
            "positions": [
                {
                    "symbol": "ETHUSDT",
                    "side": "short",
                    "qty": 1.0,
                    "entry_price": 3000.0,
                    "leverage": 10,
                },
                {
                    "symbol": "BTCUSDT",
                    "side": "long",
                    "qty": 0.1,
                    "entry_price": 90000.0,
                    "leverage": 10,
                },
            ],
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "payload"), VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)]
)
def test_context_is_the_recorders_coarse_context(name, payload):
    calculator = REGISTRY[name]
    request = calculator.model.model_validate(payload)
    result = calculator.run(request)
    assert calculator.context(request, result) == expected(request.model_dump(), result)


def test_declared_fields_are_the_ones_a_calculation_can_set():
    for calculator in REGISTRY.values():
        request = calculator.model.model_validate(calculator.example)
        context = calculator.context(request, calculator.run(request))
        set_fields = {field for field, value in context.items() if value is not None}
        assert set_fields <= calculator.records.fields(), calculator.name


def test_a_path_outside_the_input_model_is_refused_at_registration():
    base = REGISTRY["compounding"]
    with pytest.raises(ValueError, match="not in CompoundingRequest"):
        register(replace(base, name="bad-fields", records=EventFields(side="side")))
    with pytest.raises(ValueError, match="asset class"):
        register(replace(base, name="bad-class", asset_class="bonds"))
    assert "bad-fields" not in REGISTRY and "bad-class" not in REGISTRY


def test_the_report_names_of_tools_come_from_the_declarations():
    names = {c.tool: c.tool_name for c in REGISTRY.values()}
    assert names["futures"] == "futures P&L" and names["margin_call"] == "margin-call"
    assert REGISTRY["pnl"].tool == "futures" and REGISTRY["average"].tool == "average_price"
