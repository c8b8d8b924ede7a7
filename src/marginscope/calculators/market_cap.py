"""Market cap ↔ price from the circulating supply; fully diluted valuation; a target's multiple."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import Price, Quantity, Supply, one_of
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.risk import spot


class MarketCapRequest(Request):
    circulating_supply: Supply
    price: Price | None = Field(None, description="Give price or market_cap")
    market_cap: Supply | None = Field(None, description="Give price or market_cap")
    max_supply: Supply | None = Field(None, description="For the fully diluted valuation")
    target_market_cap: Supply | None = Field(None, description="Implied price at this cap")
    target_price: Price | None = Field(None, description="Implied market cap at this price")
    holding: Quantity | None = Field(None, description="Coins held, valued now and at target")


def compute(r: MarketCapRequest) -> dict[str, Any]:
    if one_of(r, "price", "market_cap") == "price":
        price, cap = r.price, spot.market_cap(r.price, r.circulating_supply)
    else:
        cap, price = r.market_cap, spot.price_for_market_cap(r.market_cap, r.circulating_supply)
    out: dict[str, Any] = {"price": price, "market_cap": cap}
    if r.max_supply is not None:
        out["fully_diluted_valuation"] = spot.fully_diluted_valuation(price, r.max_supply)
        out["circulating_share"] = r.circulating_supply / r.max_supply
    target = one_of(r, "target_market_cap", "target_price", required=False)
    if target == "target_market_cap":
        target_price = spot.price_for_market_cap(r.target_market_cap, r.circulating_supply)
        out |= {"target_price": target_price, "target_market_cap": r.target_market_cap}
    elif target == "target_price":
        target_price = r.target_price
        out |= {"target_price": target_price,
                "target_market_cap": spot.market_cap(target_price, r.circulating_supply)}
    if target:
        out["multiple"] = out["target_price"] / price
    if r.holding is not None:
        out["holding_value"] = r.holding * price
        if target:
            out["holding_value_at_target"] = r.holding * out["target_price"]
    return out


register(Calculator(
    name="market-cap", tool="market_cap", title="Market cap and price",
    records=EventFields(),
    summary="Market cap from price and circulating supply (or the price a cap implies), fully "
            "diluted valuation, and what a target cap means for the price.",
    model=MarketCapRequest, compute=compute, asset_class="crypto_spot",
    example={"circulating_supply": 120_000_000, "price": 3500.0,
             "target_market_cap": 1_000_000_000_000, "holding": 2.0}))
