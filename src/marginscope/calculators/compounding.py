"""Account compounding: periodic return, deposits or withdrawals, and drawdown recovery."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators.base import Calculator, EventFields, Money, Rate, Request, register
from marginscope.risk import forex


class CompoundingRequest(Request):
    balance: float = Field(ge=0, le=1e15, allow_inf_nan=False, description="Starting balance")
    rate_per_period: float = Field(gt=-1, le=1, allow_inf_nan=False,
                                   description="Return per period (0.02 = 2 % a month)")
    periods: int = Field(ge=1, le=600)
    contribution: Money = Field(0.0, description="Added each period end (negative: withdrawn)")
    drawdown: Rate | None = Field(None, description="A drawdown to recover (0.2 = −20 %)")


def compute(r: CompoundingRequest) -> dict[str, Any]:
    out = forex.compound(r.balance, r.rate_per_period, r.periods, r.contribution)
    if r.drawdown is not None:
        out |= {"drawdown": r.drawdown, "recovery_gain": forex.recovery_gain(r.drawdown),
                "periods_to_recover": forex.periods_to_recover(r.drawdown, r.rate_per_period)}
    return out


register(Calculator(
    name="compounding", tool="compounding", title="Compounding",
    records=EventFields(),
    summary="Balance after compounding a periodic return with deposits or withdrawals, and the "
            "gain (and time) a drawdown takes to recover.",
    model=CompoundingRequest, compute=compute, asset_class="forex",
    example={"balance": 5000, "rate_per_period": 0.02, "periods": 24, "contribution": 200,
             "drawdown": 0.2}))
