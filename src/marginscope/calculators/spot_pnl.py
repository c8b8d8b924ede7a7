"""Crypto spot P&L: buy, sell, fees in the asset received (Binance) or in quote; break-even."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import PositiveMoney, Price, Quantity, one_of
from marginscope.calculators.base import Calculator, EventFields, FeeRate, Request, register
from marginscope.risk import spot


class SpotPnlRequest(Request):
    qty: Quantity | None = Field(None, description="Coins bought (or give investment)")
    investment: PositiveMoney | None = Field(None, description="Quote spent (or give qty)")
    entry_price: Price
    exit_price: Price
    buy_fee_rate: FeeRate = Field(0.001, description="0.001 = 0.1 % (Binance regular spot)")
    sell_fee_rate: FeeRate = 0.001
    fee_asset: Literal["received", "quote"] = Field(
        "received", description="received: fee taken from the asset received (Binance); "
                                "quote: paid in quote on the trade value")


def compute(r: SpotPnlRequest) -> dict[str, Any]:
    qty = r.qty if one_of(r, "qty", "investment") == "qty" else spot.qty_for_amount(
        r.investment, r.entry_price)
    return {"qty": qty, **spot.spot_pnl(qty, r.entry_price, r.exit_price,
                                        buy_fee_rate=r.buy_fee_rate,
                                        sell_fee_rate=r.sell_fee_rate, fee_asset=r.fee_asset)}


register(Calculator(
    name="spot-pnl", tool="spot_pnl", title="Spot P&L",
    records=EventFields(size=("qty", "entry_price")),
    summary="Profit or loss of a spot buy and sell with fees, ROI and break-even price.",
    model=SpotPnlRequest, compute=compute, asset_class="crypto_spot",
    example={"qty": 0.25, "entry_price": 60000.0, "exit_price": 66000.0,
             "buy_fee_rate": 0.001, "sell_fee_rate": 0.001}))
