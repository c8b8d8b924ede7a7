"""Stop-loss, take-profit and the reward-to-risk multiple."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.base import Calculator, EventFields, Price, Quantity, Request, register
from marginscope.risk import stops


class StopsRequest(Request):
    side: Literal["long", "short"]
    entry_price: Price
    stop_loss: Price | None = None
    take_profit: Price | None = None
    stop_distance: float | None = Field(None, gt=0, lt=1, description="Fraction of entry")
    take_profit_distance: float | None = Field(None, gt=0, le=100)
    qty: Quantity | None = Field(None, description="To state risk and reward in money")


def compute(r: StopsRequest) -> dict[str, Any]:
    stop = r.stop_loss or (stops.stop_price(r.side, r.entry_price, r.stop_distance)
                           if r.stop_distance else None)
    target = r.take_profit or (stops.take_profit_price(r.side, r.entry_price,
                                                       r.take_profit_distance)
                               if r.take_profit_distance else None)
    out: dict[str, Any] = {"stop_loss": stop, "take_profit": target}
    if stop is not None and target is not None:
        out["risk_reward"] = stops.risk_reward(r.side, r.entry_price, stop, target)
        if r.qty:
            out["risk_amount"] = abs(r.entry_price - stop) * r.qty
            out["reward_amount"] = abs(target - r.entry_price) * r.qty
    return out


register(Calculator(
    name="stops", tool="stops", title="Stops and risk-reward",
    records=EventFields(side="side", size=("qty", "entry_price")),
    label="stop-loss/take-profit",
    summary="Stop-loss and take-profit levels and the R multiple of the plan.",
    model=StopsRequest, compute=compute,
    example={"side": "long", "entry_price": 90000.0, "stop_loss": 87000.0,
             "take_profit": 99000.0, "qty": 0.5}))
