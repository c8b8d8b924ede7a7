"""Liquidation price of one position, and how far it is from the textbook formula."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from marginscope.calculators.account import PositionFields, VenueName
from marginscope.calculators.base import FUTURES, Calculator, register
from marginscope.risk.liquidation import bankruptcy_at, position_margin
from marginscope.risk.terms import resolve, table_fields
from marginscope.risk.venues import DEFAULT_VENUE


class LiquidationRequest(PositionFields):
    venue: VenueName = DEFAULT_VENUE
    margin_mode: Literal["isolated", "cross"] = "isolated"


def terms_of(request: PositionFields) -> Any:
    """The engine's terms for a position-level request (overrides or the tier table)."""
    return resolve(request.venue, symbol=request.symbol, contract_size=request.contract_size,
                   mmr=request.mmr, maintenance_amount=request.maintenance_amount,
                   max_leverage=request.max_leverage, taker_fee=request.taker_fee,
                   product=request.product, as_of=request.as_of)


def compute(r: LiquidationRequest) -> dict[str, Any]:
    t = terms_of(r)
    side = 1.0 if r.side == "long" else -1.0
    margin = position_margin(t, r.qty, r.entry_price, r.margin, r.leverage, r.margin_mode)
    price = t.liquidation_price(side, r.qty, r.entry_price, margin)
    mmr, cum = t.tier_at_size(r.qty, r.entry_price)
    leverage = r.leverage or float(t.value(r.qty, r.entry_price) / margin)
    # the textbook formula most calculators use: entry × (1 − s/L + s·mmr), tier at entry
    naive = r.entry_price * (1.0 - side / leverage + side * float(mmr))
    return {
        "liquidation_price": price,
        "bankruptcy_price": bankruptcy_at(t, side, r.qty, r.entry_price, margin),
        "margin": margin,
        "notional_at_entry": t.value(r.qty, r.entry_price),
        "mmr_at_entry": mmr, "maintenance_amount_at_entry": cum,
        "effective_leverage": leverage,
        "distance_to_liquidation": (price - r.entry_price) / r.entry_price,
        "naive_liquidation_price": naive if naive > 0 else None,
        "difference_from_naive": price - naive,
        **table_fields(t),
    }


register(Calculator(
    name="liquidation", tool="liquidation_price", stage="check", title="Liquidation price",
    records=replace(FUTURES, notional="notional_at_entry"),
    summary="Liquidation and bankruptcy price of a position, venue rules and tiers included.",
    model=LiquidationRequest, compute=compute,
    example={"venue": DEFAULT_VENUE, "symbol": "BTCUSDT", "side": "long", "qty": 1.0,
             "entry_price": 90000.0, "leverage": 10}))
