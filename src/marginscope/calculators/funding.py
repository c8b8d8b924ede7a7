"""Funding cost: per interval, over a holding period, annualized, and its break-even move."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from marginscope.calculators.base import (
    Calculator,
    EventFields,
    Price,
    Quantity,
    Request,
    SignedRate,
    register,
)
from marginscope.risk import funding


class FundingRequest(Request):
    side: Literal["long", "short"]
    qty: Quantity
    mark_price: Price
    entry_price: Price | None = Field(None, description="For the break-even move; default mark")
    funding_rate: SignedRate | None = Field(None, description="Rate per interval (constant)")
    funding_rates: list[SignedRate] | None = Field(
        None, max_length=10000, description="A series of rates, one per interval")
    intervals: int = Field(3, ge=1, le=100000, description="Intervals held (constant rate)")
    interval_hours: float = Field(8.0, ge=0.01, le=24, allow_inf_nan=False)
    product: Literal["linear", "inverse"] = "linear"
    contract_size: float = Field(1.0, ge=1e-12, le=1e9, allow_inf_nan=False)


def compute(r: FundingRequest) -> dict[str, Any]:
    if r.funding_rates:
        rates = np.asarray(r.funding_rates)
    else:
        rates = np.full(r.intervals, 0.0001 if r.funding_rate is None else r.funding_rate)
    paid = funding.cumulative_funding(r.side, r.qty, np.full(rates.size, r.mark_price), rates,
                                      product=r.product, contract_size=r.contract_size)
    total = paid[-1]
    mean_rate = float(rates.mean())
    return {
        "payment_per_interval": funding.funding_payment(
            r.side, r.qty, r.mark_price, rates[0], product=r.product,
            contract_size=r.contract_size),
        "total_paid": total, "intervals": rates.size,
        "hours": rates.size * r.interval_hours,
        "annualized_rate": funding.annualized_rate(mean_rate, r.interval_hours),
        "breakeven_move": funding.breakeven_move(
            r.side, r.qty, r.entry_price or r.mark_price, total, product=r.product,
            contract_size=r.contract_size),
        "cumulative": paid,
    }


register(Calculator(
    name="funding", tool="funding_rate", title="Funding cost",
    records=EventFields(side="side", size=("qty", "entry_price")),
    summary="Funding paid or received (positive rate: longs pay), annualized, and break-even.",
    model=FundingRequest, compute=compute,
    example={"side": "long", "qty": 1.0, "mark_price": 90000.0, "funding_rate": 0.0001,
             "intervals": 21}))
