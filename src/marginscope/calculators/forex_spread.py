"""Forex spread cost per trade and over many trades, commission included."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import Commission, FxQuote, Lots, Price
from marginscope.calculators.base import Calculator, EventFields, register
from marginscope.errors import InputError
from marginscope.risk import forex


class ForexSpreadRequest(FxQuote):
    price: Price | None = Field(None, description="Pair price; default the bid/ask mid")
    spread_pips: float | None = Field(None, ge=0, le=1e5, allow_inf_nan=False,
                                      description="Quoted spread; or give bid and ask")
    bid: Price | None = None
    ask: Price | None = None
    lots: Lots = 1.0
    trades: int = Field(1, ge=1, le=1_000_000, description="Round trips")
    commission_per_lot: Commission = Field(0.0, description="Round-turn, account currency")


def compute(r: ForexSpreadRequest) -> dict[str, Any]:
    pip = r.pip()
    if r.spread_pips is not None:
        if r.bid is not None or r.ask is not None:
            raise InputError("bid", r.bid if r.bid is not None else r.ask,
                             "only one of spread_pips, bid/ask")
        spread = r.spread_pips
    elif r.bid is not None and r.ask is not None:
        spread = forex.spread_pips(r.bid, r.ask, pip)
    else:
        raise InputError("spread_pips", None, "spread_pips, or both bid and ask")
    price = r.price if r.price is not None else (
        (r.bid + r.ask) / 2 if r.bid is not None and r.ask is not None else None)
    if price is None:
        raise InputError("price", None, "the pair price (or bid and ask)")
    quote = r.model_copy(update={"price": price})
    units = r.lots * r.lot_size
    out = forex.spread_cost(spread, units, pip, quote.to_account(), r.trades)
    commission = r.commission_per_lot * r.lots * r.trades
    return {**r.currencies(), "spread_pips": spread, "units": units, **out,
            "commission": commission, "total_with_commission": out["total_cost"] + commission}


register(Calculator(
    name="forex-spread", tool="forex_spread", title="Spread cost",
    records=EventFields(),
    summary="What the spread (and commission) costs per round trip and over many trades.",
    model=ForexSpreadRequest, compute=compute, asset_class="forex",
    example={"pair": "EUR/USD", "bid": 1.08500, "ask": 1.08512, "account_currency": "USD",
             "lots": 1.0, "trades": 20}))
