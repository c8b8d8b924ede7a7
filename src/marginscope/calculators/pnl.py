"""Futures P&L and ROE, the exit price for a target ROE, and contracts for a notional."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.account import VenueName
from marginscope.calculators.base import (
    Calculator,
    EventFields,
    FeeRate,
    Leverage,
    Price,
    Quantity,
    Request,
    register,
)
from marginscope.risk import pnl
from marginscope.risk.contracts import Product
from marginscope.risk.terms import resolve
from marginscope.risk.venues import GENERIC_VENUE


class PnlRequest(Request):
    side: Literal["long", "short"]
    qty: Quantity = Field(description="Base units (linear) or contracts (inverse)")
    entry_price: Price
    exit_price: Price
    leverage: Leverage = 10
    venue: VenueName = GENERIC_VENUE
    symbol: str | None = Field(None, min_length=1, max_length=40,
                               description="Venue or ccxt notation; sets the product")
    product: Product | None = Field(None, description="linear | inverse; follows the symbol "
                                                      "(default linear without one)")
    contract_size: float | None = Field(None, ge=1e-12, le=1e9, allow_inf_nan=False,
                                        description="Default: the symbol's (1 without one)")
    open_fee_rate: FeeRate = 0.0
    close_fee_rate: FeeRate = 0.0
    target_roe: float | None = Field(None, ge=-1, le=100, allow_inf_nan=False,
                                     description="ROE to reach (0.5 = +50 %)")


def compute(r: PnlRequest) -> dict[str, Any]:
    # product and contract size from the symbol (no tier table needed: mmr plays no part)
    t = resolve(r.venue, symbol=r.symbol, product=r.product, contract_size=r.contract_size,
                mmr=0.0)
    out = pnl.futures_pnl(r.side, r.qty, r.entry_price, r.exit_price, leverage=r.leverage,
                          product=t.product, contract_size=t.contract_size,
                          open_fee_rate=r.open_fee_rate, close_fee_rate=r.close_fee_rate)
    if r.target_roe is not None:
        out["exit_price_for_target_roe"] = pnl.exit_price_for_roe(
            r.side, r.entry_price, r.leverage, r.target_roe, product=t.product)
    return {**out, "product": t.product, "contract_size": t.contract_size}


register(Calculator(
    name="pnl", tool="futures", stage="rebuild", title="Futures P&L and ROE",
    records=EventFields(venue="venue", symbol="symbol", side="side", leverage="leverage",
                        notional="entry_value",
                        size=("qty", "entry_price")), label="futures P&L",
    summary="P&L, fees and ROE of a trade; exit price for a target ROE; linear or inverse.",
    model=PnlRequest, compute=compute,
    example={"side": "long", "qty": 0.5, "entry_price": 90000.0, "exit_price": 95000.0,
             "leverage": 10, "open_fee_rate": 0.0005, "close_fee_rate": 0.0005}))
