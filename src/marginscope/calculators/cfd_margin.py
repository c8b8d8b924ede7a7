"""CFD and spread-bet margin from a margin rate, a leverage or ESMA's category limit."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import (
    ContractValue,
    Leverage,
    MarginRate,
    PointSize,
    Price,
    Quantity,
    one_of,
)
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.risk import cfd

Category = Literal["major_fx", "minor_fx_gold_major_index", "commodity_minor_index",
                   "equity_other", "crypto"]


class CfdSize(Request):
    """Size and contract terms shared by the CFD calculators."""

    size: Quantity = Field(description="CFDs (shares, contracts) or stake per point")
    contract_value: ContractValue = Field(
        1.0, description="Money per unit of price per CFD (IG: value per contract)")
    point_size: PointSize = Field(1.0, description="Price move of one point (0.0001: a pip)")


class CfdMarginRequest(CfdSize):
    price: Price
    margin_rate: MarginRate | None = None
    leverage: Leverage | None = None
    category: Category | None = Field(None, description="ESMA retail class of the underlying: "
                                                        "its limit is the default and is checked")
    conversion_rate: Price = Field(1.0, description="Account currency per instrument currency")


def compute(r: CfdMarginRequest) -> dict[str, Any]:
    given = one_of(r, "margin_rate", "leverage", required=r.category is None)
    if given == "margin_rate":
        rate = r.margin_rate
    elif given == "leverage":
        rate = 1.0 / r.leverage
    else:
        rate = 1.0 / cfd.esma_leverage(r.category)
    out = cfd.cfd_margin(r.size, r.price, rate, contract_value=r.contract_value,
                         point_size=r.point_size)
    out["notional"] = out["notional"] * r.conversion_rate
    out["margin"] = out["margin"] * r.conversion_rate
    if r.category is not None:
        limit = cfd.esma_leverage(r.category)
        out |= {"category": r.category, "esma_max_leverage": limit,
                "within_esma_limit": bool(out["leverage"] <= limit * (1 + 1e-12))}
    return out


register(Calculator(
    name="cfd-margin", tool="cfd_margin", title="CFD margin",
    records=EventFields(leverage="leverage", result_leverage="leverage", notional="notional"),
    summary="Margin of a CFD or spread bet from its margin rate, a leverage or ESMA's retail "
            "limit for the underlying.",
    model=CfdMarginRequest, compute=compute, asset_class="cfd",
    example={"size": 2, "contract_value": 1, "price": 7450.0, "category":
             "minor_fx_gold_major_index"}))
