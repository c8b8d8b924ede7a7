"""Short selling: P&L with borrow fee and dividends owed; Reg T / FINRA margin and call price."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import (
    AnnualRate,
    Commission,
    DayCount,
    Days,
    PerShare,
    Price,
    Quantity,
)
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.risk import stocks


class ShortSaleRequest(Request):
    shares: Quantity
    short_price: Price
    cover_price: Price
    days: Days = Field(30, description="Days the short is held")
    borrow_rate: AnnualRate = Field(0.0, description="Annual stock-borrow rate (0.03 = 3 %)")
    dividends_per_share: PerShare = Field(0.0, description="Dividends paid while short (owed)")
    commission: Commission = Field(0.0, description="Per trade (charged on sale and cover)")
    day_count: DayCount = Field(360, description="U.S. convention: 360")
    collateral_factor: float = Field(1.02, ge=1, le=2, allow_inf_nan=False,
                                     description="Borrow collateral per share / price")
    collateral_rounding: Literal["up-to-dollar", "none"] = "up-to-dollar"
    deposit: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False,
                                  description="Cash deposited; default the initial requirement")


def compute(r: ShortSaleRequest) -> dict[str, Any]:
    out = stocks.short_sale(r.shares, r.short_price, r.cover_price, days=r.days,
                            borrow_rate=r.borrow_rate,
                            dividends_per_share=r.dividends_per_share,
                            commission=r.commission, collateral_factor=r.collateral_factor,
                            round_up=r.collateral_rounding == "up-to-dollar",
                            day_count=r.day_count)
    initial = stocks.short_initial_requirement(r.shares, r.short_price)
    deposit = initial if r.deposit is None else r.deposit
    credit = out["short_value"] + deposit
    return {**out, "initial_requirement": initial, "deposit": deposit,
            "maintenance_at_cover": stocks.short_maintenance(r.shares, r.cover_price),
            "equity_at_cover": credit - r.shares * r.cover_price,
            "margin_call_price": stocks.short_margin_call_price(r.shares, credit)}


register(Calculator(
    name="short-sale", tool="short_sale", title="Short sale",
    records=EventFields(notional="short_value"),
    summary="P&L of a short with borrow fee and dividends owed, Reg T/FINRA margin and the "
            "price of a maintenance call.",
    model=ShortSaleRequest, compute=compute, asset_class="stocks",
    example={"shares": 200, "short_price": 48.50, "cover_price": 41.00, "days": 45,
             "borrow_rate": 0.04, "dividends_per_share": 0.25, "commission": 1.0}))
