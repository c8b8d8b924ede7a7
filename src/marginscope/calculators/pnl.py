"""Futures P&L and ROE, the exit price for a target ROE, and contracts for a notional."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

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


class PnlRequest(Request):
    side: Literal["long", "short"]
    qty: Quantity = Field(description="Base units (linear) or contracts (inverse)")
    entry_price: Price
    exit_price: Price
    leverage: Leverage = 10
    product: Literal["linear", "inverse"] = "linear"
    contract_size: float = Field(1.0, ge=1e-12, le=1e9, allow_inf_nan=False)
    open_fee_rate: FeeRate = 0.0
    close_fee_rate: FeeRate = 0.0
    target_roe: float | None = Field(None, ge=-1, le=100, allow_inf_nan=False,
                                     description="ROE to reach (0.5 = +50 %)")


def compute(r: PnlRequest) -> dict[str, Any]:
    out = pnl.futures_pnl(r.side, r.qty, r.entry_price, r.exit_price, leverage=r.leverage,
                          product=r.product, contract_size=r.contract_size,
                          open_fee_rate=r.open_fee_rate, close_fee_rate=r.close_fee_rate)
    if r.target_roe is not None:
        out["exit_price_for_target_roe"] = pnl.exit_price_for_roe(
            r.side, r.entry_price, r.leverage, r.target_roe, product=r.product)
    return out


register(Calculator(
    name="pnl", tool="futures", stage="rebuild", title="Futures P&L and ROE",
    records=EventFields(side="side", leverage="leverage", notional="entry_value",
                        size=("qty", "entry_price")), label="futures P&L",
    summary="P&L, fees and ROE of a trade; exit price for a target ROE; linear or inverse.",
    model=PnlRequest, compute=compute,
    example={"side": "long", "qty": 0.5, "entry_price": 90000.0, "exit_price": 95000.0,
             "leverage": 10, "open_fee_rate": 0.0005, "close_fee_rate": 0.0005}))
