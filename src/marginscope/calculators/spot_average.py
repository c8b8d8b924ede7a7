"""Spot average cost over several buys (DCA), fees included, and the position's P&L now."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import PositiveMoney, Price, Quantity, one_of
from marginscope.calculators.base import Calculator, EventFields, FeeRate, Request, register
from marginscope.errors import InputError
from marginscope.risk import spot


class SpotBuy(Request):
    price: Price
    qty: Quantity | None = Field(None, description="Coins bought (or give amount)")
    amount: PositiveMoney | None = Field(None, description="Quote spent (or give qty)")


class SpotAverageRequest(Request):
    buys: list[SpotBuy] = Field(min_length=1, max_length=1000)
    fee_rate: FeeRate = Field(0.001, description="Fee on every buy (and on the sale)")
    fee_asset: Literal["received", "quote"] = "received"
    current_price: Price | None = Field(None, description="For the position's value and P&L")


def compute(r: SpotAverageRequest) -> dict[str, Any]:
    qty, price = [], []
    for i, buy in enumerate(r.buys):
        try:
            kind = one_of(buy, "qty", "amount")
        except InputError as exc:
            raise InputError(f"buys[{i}].{exc.field}", exc.value, exc.allowed) from None
        qty.append(buy.qty if kind == "qty" else float(spot.qty_for_amount(buy.amount, buy.price)))
        price.append(buy.price)
    out = spot.average_cost(qty, price, fee_rate=r.fee_rate, fee_asset=r.fee_asset)
    out["breakeven_price"] = out["average_cost"] / (1.0 - r.fee_rate)
    if r.current_price is not None:
        value = out["total_qty"] * r.current_price * (1.0 - r.fee_rate)
        out |= {"value_after_sell_fee": value, "unrealized_pnl": value - out["total_cost"],
                "unrealized_return": value / out["total_cost"] - 1.0}
    return out


register(Calculator(
    name="spot-average", tool="spot_average", title="Spot average cost (DCA)",
    records=EventFields(),
    summary="Average price and average cost of several spot buys, fees included, and the P&L "
            "at the current price.",
    model=SpotAverageRequest, compute=compute, asset_class="crypto_spot",
    example={"buys": [{"amount": 500, "price": 64000}, {"amount": 500, "price": 58000},
                      {"amount": 500, "price": 61000}],
             "fee_rate": 0.001, "current_price": 63000}))
