"""Average entry after several fills, and the resulting liquidation price."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.account import VenueName
from marginscope.calculators.base import (
    FUTURES,
    Calculator,
    Leverage,
    Price,
    Quantity,
    Request,
    register,
)
from marginscope.risk import average
from marginscope.risk.liquidation import liquidation_price


class Fill(Request):
    qty: Quantity
    price: Price


class AverageRequest(Request):
    fills: list[Fill] = Field(min_length=1, max_length=1000)
    product: Literal["linear", "inverse"] = "linear"
    side: Literal["long", "short"] | None = Field(None, description="For the liquidation price")
    leverage: Leverage | None = None
    venue: VenueName = "binance-usdm"
    symbol: str | None = Field(None, max_length=40)


def compute(r: AverageRequest) -> dict[str, Any]:
    qty = [f.qty for f in r.fills]
    price = [f.price for f in r.fills]
    entry = average.average_entry(qty, price, product=r.product)
    out: dict[str, Any] = {"average_entry": entry, "total_qty": sum(qty)}
    if r.side and r.leverage and r.symbol:
        out["liquidation_price"] = liquidation_price(r.venue, r.side, sum(qty), entry,
                                                     leverage=r.leverage, symbol=r.symbol,
                                                     product=r.product)
    return out


register(Calculator(
    name="average", tool="average_price", stage="defend", title="Average entry",
    records=replace(FUTURES, margin_mode=None, size=None),
    summary="Average entry over several fills (inverse: harmonic) and its liquidation price.",
    model=AverageRequest, compute=compute,
    example={"fills": [{"qty": 1, "price": 10000}, {"qty": 2, "price": 13000}]}))
