"""CFD and spread-bet P&L: points, P&L per point, commission, financing, return on margin."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import Commission, MarginRate, Price
from marginscope.calculators.base import Calculator, EventFields, FeeRate, Money, register
from marginscope.calculators.cfd_margin import CfdSize
from marginscope.risk import cfd


class CfdPnlRequest(CfdSize):
    side: Literal["long", "short"]
    entry_price: Price
    exit_price: Price
    commission_rate: FeeRate = Field(0.0, description="Per side, share of the value")
    min_commission: Commission = Field(0.0, description="Per side minimum")
    financing: Money = Field(0.0, description="Overnight financing paid (negative: received)")
    margin_rate: MarginRate | None = Field(None, description="For the margin and the return "
                                                             "on it")


def compute(r: CfdPnlRequest) -> dict[str, Any]:
    out = cfd.cfd_pnl(r.side, r.size, r.entry_price, r.exit_price,
                      contract_value=r.contract_value, point_size=r.point_size,
                      commission_rate=r.commission_rate, min_commission=r.min_commission,
                      financing=r.financing)
    if r.margin_rate is not None:
        margin = out["entry_notional"] * r.margin_rate
        out |= {"margin": margin, "return_on_margin": out["net_pnl"] / margin}
    return out


register(Calculator(
    name="cfd-pnl", tool="cfd_pnl", title="CFD / spread-bet P&L",
    records=EventFields(side="side", notional="entry_notional"),
    summary="Points won or lost, P&L per point, commission and financing, return on margin.",
    model=CfdPnlRequest, compute=compute, asset_class="cfd",
    example={"side": "long", "size": 10, "entry_price": 8250.0, "exit_price": 8312.5,
             "margin_rate": 0.05}))
