"""Position size from balance, risk per trade, entry and stop, fees included."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.base import (
    Calculator,
    EventFields,
    FeeRate,
    Leverage,
    PositiveMoney,
    Price,
    Request,
    register,
)
from marginscope.risk.sizing import position_size


class PositionSizeRequest(Request):
    balance: PositiveMoney
    risk_fraction: float = Field(gt=0, le=1, allow_inf_nan=False,
                                 description="Share of the balance to risk (0.01 = 1 %)")
    entry_price: Price
    stop_price: Price
    side: Literal["long", "short"] | None = None
    fee_rate: FeeRate = Field(0.0005, description="Taker fee on entry and on the stop")
    leverage: Leverage | None = None
    product: Literal["linear", "inverse"] = "linear"
    contract_size: float = Field(1.0, ge=1e-12, le=1e9, allow_inf_nan=False)


def compute(r: PositionSizeRequest) -> dict[str, Any]:
    return position_size(r.balance, r.risk_fraction, r.entry_price, r.stop_price, side=r.side,
                         fee_rate=r.fee_rate, leverage=r.leverage, product=r.product,
                         contract_size=r.contract_size)


register(Calculator(
    name="position-size", tool="position_size", title="Position size",
    records=EventFields(side="side", leverage="leverage", notional="notional"),
    summary="Quantity, notional and margin for a risk budget and a stop, fees included.",
    model=PositionSizeRequest, compute=compute,
    example={"balance": 10000.0, "risk_fraction": 0.01, "entry_price": 90000.0,
             "stop_price": 87000.0, "side": "long", "leverage": 10}))
