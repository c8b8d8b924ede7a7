"""Funding cost: per interval, over a holding period, annualized, and its break-even move.

The position is given by quantity or by notional (its value at mark in the quote currency, USD
for inverse contracts), the holding period by intervals or by days.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from marginscope.calculators.base import (
    Calculator,
    EventFields,
    PositiveMoney,
    Price,
    Quantity,
    Request,
    SignedRate,
    register,
)
from marginscope.errors import InputError
from marginscope.risk import funding
from marginscope.risk.contracts import position_value


class FundingRequest(Request):
    side: Literal["long", "short"]
    qty: Quantity | None = Field(None, description="Base units (linear) or contracts (inverse); "
                                                    "or give notional")
    notional: PositiveMoney | None = Field(
        None, description="Instead of qty: position value at mark in the quote currency (USD "
                          "for inverse contracts)")
    mark_price: Price
    entry_price: Price | None = Field(None, description="For the break-even move; default mark")
    funding_rate: SignedRate | None = Field(None, description="Rate per interval (constant)")
    funding_rates: list[SignedRate] | None = Field(
        None, max_length=10000, description="A series of rates, one per interval")
    intervals: int = Field(3, ge=1, le=100000, description="Intervals held (constant rate)")
    days: float | None = Field(None, gt=0, le=36500, allow_inf_nan=False,
                               description="Instead of intervals: days held (constant rate)")
    interval_hours: float = Field(8.0, ge=0.01, le=24, allow_inf_nan=False)
    product: Literal["linear", "inverse"] = "linear"
    contract_size: float = Field(1.0, ge=1e-12, le=1e9, allow_inf_nan=False)


def _qty(r: FundingRequest) -> float:
    """The quantity given, or the one whose value at mark is the notional given."""
    if (r.qty is None) == (r.notional is None):
        raise InputError("qty", r.qty, "a quantity or a notional (one of the two)")
    if r.qty is not None:
        return r.qty
    per_unit = float(position_value(r.product, 1.0, r.mark_price, r.contract_size))
    # inverse: the notional is in USD, value(1 contract) is in coin = CS / mark
    per_unit = r.contract_size if r.product == "inverse" else per_unit
    return r.notional / per_unit


def _intervals(r: FundingRequest) -> int:
    if r.days is None:
        return r.intervals
    count = round(r.days * 24 / r.interval_hours)
    if not 1 <= count <= 100000:
        raise InputError("days", r.days, f"at least one interval ({r.interval_hours:g} h) and "
                                         "at most 100000")
    return count


def compute(r: FundingRequest) -> dict[str, Any]:
    qty = _qty(r)
    if r.funding_rates:
        rates = np.asarray(r.funding_rates)
    else:
        rates = np.full(_intervals(r),
                        0.0001 if r.funding_rate is None else r.funding_rate)
    paid = funding.cumulative_funding(r.side, qty, np.full(rates.size, r.mark_price), rates,
                                      product=r.product, contract_size=r.contract_size)
    total = paid[-1]
    mean_rate = float(rates.mean())
    return {
        "qty": qty,
        "notional": (qty * r.contract_size if r.product == "inverse"  # USD, as given
                     else position_value(r.product, qty, r.mark_price, r.contract_size)),
        "payment_per_interval": funding.funding_payment(
            r.side, qty, r.mark_price, rates[0], product=r.product,
            contract_size=r.contract_size),
        "total_paid": total, "intervals": rates.size,
        "hours": rates.size * r.interval_hours,
        "mean_rate": mean_rate,
        "annualized_rate": funding.annualized_rate(mean_rate, r.interval_hours),
        "breakeven_move": funding.breakeven_move(
            r.side, qty, r.entry_price or r.mark_price, total, product=r.product,
            contract_size=r.contract_size),
        "cumulative": paid,
    }


register(Calculator(
    name="funding", tool="funding_rate", stage="defend", title="Funding cost",
    records=EventFields(side="side", notional="notional", size=("qty", "entry_price")),
    summary="Funding paid or received (positive rate: longs pay), annualized, and break-even.",
    model=FundingRequest, compute=compute,
    example={"side": "long", "qty": 1.0, "mark_price": 90000.0, "funding_rate": 0.0001,
             "intervals": 21}))
