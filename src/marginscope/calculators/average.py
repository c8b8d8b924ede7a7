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
from marginscope.risk.contracts import Product
from marginscope.risk.liquidation import liquidation_price
from marginscope.risk.terms import choose_product
from marginscope.risk.venues import DEFAULT_VENUE, get_venue


class Fill(Request):
    qty: Quantity
    price: Price


class AverageRequest(Request):
    fills: list[Fill] = Field(min_length=1, max_length=1000)
    product: Product | None = Field(
        None, description="linear | inverse; follows the symbol (default linear without one)")
    side: Literal["long", "short"] | None = Field(None, description="For the liquidation price")
    leverage: Leverage | None = None
    venue: VenueName = DEFAULT_VENUE
    symbol: str | None = Field(None, max_length=40)


def compute(r: AverageRequest) -> dict[str, Any]:
    qty = [f.qty for f in r.fills]
    price = [f.price for f in r.fills]
    # the symbol's kind when one is given (a contradicting product is an error naming it)
    product = (r.product or "linear") if r.symbol is None else \
        choose_product(get_venue(r.venue), [r.symbol], r.product)
    entry = average.average_entry(qty, price, product=product)
    out: dict[str, Any] = {"average_entry": entry, "total_qty": sum(qty), "product": product}
    if r.side and r.leverage and r.symbol:
        out["liquidation_price"] = liquidation_price(r.venue, r.side, sum(qty), entry,
                                                     leverage=r.leverage, symbol=r.symbol,
                                                     product=product)
    return out


register(Calculator(
    name="average", tool="average_price", stage="defend", title="Average entry",
    records=replace(FUTURES, margin_mode=None, size=None),
    summary="Average entry over several fills (inverse: harmonic) and its liquidation price.",
    model=AverageRequest, compute=compute,
    example={"fills": [{"qty": 1, "price": 10000}, {"qty": 2, "price": 13000}]}))
