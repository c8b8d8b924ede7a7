"""Margin call: ratio now, the price of the warning level, and how to defend the position."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators.base import Calculator, Price, register
from marginscope.calculators.liquidation import LiquidationRequest
from marginscope.risk.margin import margin_call
from marginscope.risk.venues import DEFAULT_VENUE


class MarginCallRequest(LiquidationRequest):
    warning_ratio: float = Field(0.8, ge=0.01, le=1, allow_inf_nan=False,
                                 description="Margin ratio (MM / margin balance) that warns")
    target_price: Price | None = Field(
        None, description="Price to survive: margin to add / qty to cut to liquidate there")


def compute(r: MarginCallRequest) -> dict[str, Any]:
    return margin_call(r.venue, r.side, r.qty, r.entry_price, r.mark_price, margin=r.margin,
                       leverage=r.leverage, symbol=r.symbol, mmr=r.mmr,
                       maintenance_amount=r.maintenance_amount, max_leverage=r.max_leverage,
                       contract_size=r.contract_size, taker_fee=r.taker_fee,
                       warning_ratio=r.warning_ratio, target_price=r.target_price,
                       margin_mode=r.margin_mode, product=r.product, as_of=r.as_of)


register(Calculator(
    name="margin-call", tool="margin_call", stage="defend", title="Margin call",
    summary="Margin ratio, warning price, and the margin to add or quantity to cut.",
    model=MarginCallRequest, compute=compute,
    example={"venue": DEFAULT_VENUE, "symbol": "BTCUSDT", "side": "long", "qty": 1.0,
             "entry_price": 90000.0, "mark_price": 85000.0, "leverage": 10,
             "target_price": 78000.0}))
