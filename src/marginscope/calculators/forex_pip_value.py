"""Forex pip value in the account currency for majors, crosses and JPY pairs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import FxQuote, Lots
from marginscope.calculators.base import Calculator, EventFields, register
from marginscope.risk import forex


class PipValueRequest(FxQuote):
    lots: Lots = 1.0
    pips: float | None = Field(None, ge=-1e6, le=1e6, allow_inf_nan=False,
                               description="A move in pips, to value it")


def compute(r: PipValueRequest) -> dict[str, Any]:
    units = r.lots * r.lot_size
    pip = r.pip()
    value = forex.pip_value(units, pip, r.to_account())
    out = {**r.currencies(), "pip_size": pip, "units": units,
           "pip_value_quote": units * pip, "pip_value": value,
           "pip_value_per_lot": value / r.lots}
    if r.pips is not None:
        out["value_of_move"] = value * r.pips
    return out


register(Calculator(
    name="forex-pip-value", tool="forex_pip_value", title="Pip value",
    records=EventFields(),
    summary="Value of one pip (and of a move) in the account currency; JPY pairs pip 0.01.",
    model=PipValueRequest, compute=compute, asset_class="forex",
    example={"pair": "USD/JPY", "price": 151.20, "account_currency": "USD", "lots": 1.0,
             "pips": 25}))
