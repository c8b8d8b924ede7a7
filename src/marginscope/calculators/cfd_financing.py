"""CFD and spread-bet overnight financing: IG's admin fee ± benchmark over 365 or 360 days."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import DayCount, Price
from marginscope.calculators.base import Calculator, EventFields, register
from marginscope.calculators.cfd_margin import CfdSize
from marginscope.risk import cfd


class CfdFinancingRequest(CfdSize):
    side: Literal["long", "short"]
    price: Price = Field(description="Price at the daily cut-off")
    admin_fee: float = Field(ge=0, le=0.2, allow_inf_nan=False,
                             description="Broker's annual admin fee (your broker's: e.g. 0.03)")
    benchmark_rate: float = Field(ge=-0.2, le=0.5, allow_inf_nan=False,
                                  description="Overnight benchmark (SONIA, SOFR, €STR …)")
    day_count: DayCount = Field(365, description="365: GBP, SGD, ZAR markets; "
                                                          "360: others (IG)")
    nights: int = Field(1, ge=1, le=3650, description="Nights held (Friday counts 3)")


def compute(r: CfdFinancingRequest) -> dict[str, Any]:
    return cfd.overnight_financing(r.side, r.size, r.price, admin_fee=r.admin_fee,
                                   benchmark_rate=r.benchmark_rate, day_count=r.day_count,
                                   nights=r.nights, contract_value=r.contract_value,
                                   point_size=r.point_size)


register(Calculator(
    name="cfd-financing", tool="cfd_financing", title="Overnight financing",
    records=EventFields(side="side", notional="notional"),
    summary="Overnight funding of a CFD or spread bet (positive: a charge, negative: a credit).",
    model=CfdFinancingRequest, compute=compute, asset_class="cfd",
    example={"side": "long", "size": 5, "price": 8250.0, "admin_fee": 0.03,
             "benchmark_rate": 0.047, "day_count": 365, "nights": 7}))
