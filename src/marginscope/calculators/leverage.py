"""Leverage: effective leverage now, the most the tiers allow, and the largest open."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators.account import AsOf, VenueName
from marginscope.calculators.base import (
    Calculator,
    EventFields,
    Leverage,
    PositiveMoney,
    Price,
    Request,
    register,
)
from marginscope.risk import leverage as lev
from marginscope.risk.contracts import Product
from marginscope.risk.venues import DEFAULT_VENUE


class LeverageRequest(Request):
    venue: VenueName = DEFAULT_VENUE
    symbol: str | None = Field(None, max_length=40)
    balance: PositiveMoney = Field(description="Available balance (settle currency)")
    price: Price
    leverage: Leverage
    notional: PositiveMoney | None = Field(None, description="Position notional to check")
    max_leverage: Leverage | None = None
    product: Product | None = Field(None, description="linear | inverse; follows the symbol")
    as_of: AsOf | None = Field(None, description="Tier table in force on this date")


def compute(r: LeverageRequest) -> dict[str, Any]:
    out = lev.max_open(r.venue, r.balance, r.leverage, r.price, symbol=r.symbol,
                       product=r.product, as_of=r.as_of)
    notional = r.notional or out["notional"]
    result = {"max_open_qty": out["qty"], "max_open_notional": out["notional"],
              "initial_margin": out["initial_margin"],
              "effective_leverage": lev.effective_leverage(notional, r.balance)}
    if r.symbol is not None or r.max_leverage is not None:
        result["max_leverage_for_notional"] = lev.max_leverage(
            r.venue, notional, symbol=r.symbol, max_leverage=r.max_leverage,
            product=r.product, as_of=r.as_of)
    return result


register(Calculator(
    name="leverage", tool="leverage", stage="rebuild", title="Leverage and max open",
    records=EventFields(venue="venue", symbol="symbol", leverage="leverage",
                        notional="max_open_notional"),
    summary="Effective leverage, the venue's max leverage for a notional, and max open size.",
    model=LeverageRequest, compute=compute,
    example={"venue": DEFAULT_VENUE, "symbol": "BTCUSDT", "balance": 1000.0,
             "price": 90000.0, "leverage": 20}))
