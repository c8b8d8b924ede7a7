"""Forex position size in lots from balance, risk % and a stop in pips."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import FxQuote, Leverage, PositiveMoney
from marginscope.calculators.base import Calculator, EventFields, register
from marginscope.risk import forex


class ForexPositionSizeRequest(FxQuote):
    balance: PositiveMoney = Field(description="Account balance, account currency")
    risk_fraction: float = Field(ge=1e-9, le=1, allow_inf_nan=False,
                                 description="Share of the balance to risk (0.01 = 1 %)")
    stop_pips: float = Field(ge=1e-6, le=1e6, allow_inf_nan=False, description="Stop distance")
    leverage: Leverage | None = Field(None, description="For the margin the size needs")


def compute(r: ForexPositionSizeRequest) -> dict[str, Any]:
    rate = r.to_account()
    pip = r.pip()
    out = forex.position_size(r.balance, r.risk_fraction, r.stop_pips, pip, rate)
    out["lots"] = out["units"] / r.lot_size
    out["pip_value_per_lot"] = forex.pip_value(r.lot_size, pip, rate)
    out = {**r.currencies(), "pip_size": pip, **out}
    if r.leverage is not None:
        out["margin"] = forex.margin_required(out["units"], r.price, r.leverage, rate)["margin"]
    return out


register(Calculator(
    name="forex-position-size", tool="forex_position_size", title="Forex position size",
    records=EventFields(leverage="leverage"),
    summary="Lots to trade so a stop in pips loses the chosen share of the balance.",
    model=ForexPositionSizeRequest, compute=compute, asset_class="forex",
    example={"pair": "EUR/USD", "price": 1.0850, "account_currency": "USD", "balance": 10000,
             "risk_fraction": 0.01, "stop_pips": 25, "leverage": 30}))
