"""Average down (or up): new average cost after a buy, or the shares a target average needs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import Commission, Price, Quantity, one_of
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.risk import stocks


class AverageDownRequest(Request):
    shares: Quantity = Field(description="Shares held")
    average_cost: Price = Field(description="Average cost per share held")
    buy_price: Price = Field(description="Price of the new buy")
    buy_shares: Quantity | None = Field(None, description="Shares to buy (or target_average)")
    target_average: Price | None = Field(None, description="Average to reach (or buy_shares)")
    commission: Commission = 0.0


def compute(r: AverageDownRequest) -> dict[str, Any]:
    if one_of(r, "buy_shares", "target_average") == "buy_shares":
        buy = r.buy_shares
    else:
        buy = stocks.shares_for_target_average(r.shares, r.average_cost, r.buy_price,
                                               r.target_average, commission=r.commission)
    out = stocks.average_down(r.shares, r.average_cost, buy, r.buy_price,
                              commission=r.commission)
    return {"buy_shares": buy, **out,
            "average_change": out["average_cost"] / r.average_cost - 1.0,
            "rise_to_breakeven": out["average_cost"] / r.buy_price - 1.0}


register(Calculator(
    name="stock-average-down", tool="stock_average_down", title="Average down",
    records=EventFields(),
    summary="New average cost after buying more, or the shares to buy for a target average.",
    model=AverageDownRequest, compute=compute, asset_class="stocks",
    example={"shares": 100, "average_cost": 50.0, "buy_price": 40.0, "target_average": 45.0,
             "commission": 1.0}))
