"""Forex margin required at a leverage, with ESMA's retail limit for the pair."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import FxQuote, Leverage, Lots
from marginscope.calculators.base import Calculator, EventFields, register
from marginscope.risk import forex


class ForexMarginRequest(FxQuote):
    lots: Lots = 1.0
    leverage: Leverage | None = Field(None, description="Default: ESMA's retail limit "
                                                        "(30 majors, 20 other pairs)")


def compute(r: ForexMarginRequest) -> dict[str, Any]:
    limit = forex.esma_max_leverage(r.pair)
    leverage = r.leverage if r.leverage is not None else limit
    units = r.lots * r.lot_size
    out = forex.margin_required(units, r.price, leverage, r.to_account())
    return {**r.currencies(), "units": units, **out, "leverage": leverage,
            "major_pair": forex.is_major(r.pair), "esma_max_leverage": limit,
            "within_esma_limit": leverage <= limit}


register(Calculator(
    name="forex-margin", tool="forex_margin", title="Forex margin",
    records=EventFields(leverage="leverage", result_leverage="leverage", notional="notional"),
    summary="Margin a forex position needs at a leverage, in the account currency.",
    model=ForexMarginRequest, compute=compute, asset_class="forex",
    example={"pair": "GBP/USD", "price": 1.2700, "account_currency": "EUR",
             "conversion_pair": "EUR/USD", "conversion_rate": 1.0850, "lots": 0.5,
             "leverage": 30}))
