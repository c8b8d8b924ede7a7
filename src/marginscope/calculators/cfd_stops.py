"""CFD and spread-bet stop-loss and take-profit levels, money at risk and the R multiple."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import (
    ContractValue,
    PointSize,
    PositiveMoney,
    Price,
    Quantity,
    one_of,
)
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.errors import InputError
from marginscope.risk import cfd, stops


class CfdStopsRequest(Request):
    side: Literal["long", "short"]
    entry_price: Price
    size: Quantity | None = Field(None, description="CFDs or stake per point; or risk_amount")
    risk_amount: PositiveMoney | None = Field(None, description="Money to lose at the stop; "
                                                                "sizes the position")
    contract_value: ContractValue = 1.0
    point_size: PointSize = 1.0
    stop_loss: Price | None = Field(None, description="Stop level; or stop_points / max_loss")
    stop_points: float | None = Field(None, ge=1e-9, le=1e9, allow_inf_nan=False)
    max_loss: PositiveMoney | None = Field(None, description="Stop where this much is lost")
    take_profit: Price | None = Field(None, description="Target level; or points or R")
    take_profit_points: float | None = Field(None, ge=1e-9, le=1e9, allow_inf_nan=False)
    risk_reward: float | None = Field(None, ge=0.001, le=1000, allow_inf_nan=False,
                                      description="Target at this multiple of the risk")
    account_balance: PositiveMoney | None = Field(None, description="To state the risk in %")


def compute(r: CfdStopsRequest) -> dict[str, Any]:
    terms = {"contract_value": r.contract_value, "point_size": r.point_size}
    how = one_of(r, "stop_loss", "stop_points", "max_loss")
    sizing = one_of(r, "size", "risk_amount")
    if how == "stop_loss":
        stop = r.stop_loss
    elif how == "stop_points":
        stop = cfd.level_from_points(r.side, r.entry_price, r.stop_points,
                                     point_size=r.point_size, kind="stop")
    elif sizing == "risk_amount":
        raise InputError("max_loss", r.max_loss, "stop_loss or stop_points when sizing from "
                                                 "risk_amount")
    else:
        stop = cfd.stop_for_loss(r.side, r.size, r.entry_price, r.max_loss, **terms)
    s = 1.0 if r.side == "long" else -1.0
    if s * (r.entry_price - stop) <= 0:
        raise InputError("stop_loss", float(stop), "below entry for a long, above for a short")
    size = r.size if sizing == "size" else cfd.size_for_risk(r.risk_amount, r.entry_price, stop,
                                                             **terms)
    per_price = size * r.contract_value / r.point_size
    risk = abs(r.entry_price - stop) * per_price
    out: dict[str, Any] = {"size": size, "stop_loss": stop,
                           "stop_points": abs(r.entry_price - stop) / r.point_size,
                           "risk_amount": risk}
    target_how = one_of(r, "take_profit", "take_profit_points", "risk_reward", required=False)
    if target_how is not None:
        target = {"take_profit": lambda: r.take_profit,
                  "take_profit_points": lambda: cfd.level_from_points(
                      r.side, r.entry_price, r.take_profit_points, point_size=r.point_size,
                      kind="target"),
                  "risk_reward": lambda: r.entry_price + s * r.risk_reward * abs(
                      r.entry_price - stop)}[target_how]()
        if target <= 0:
            raise InputError("risk_reward", r.risk_reward, "a target above 0")
        out |= {"take_profit": target,
                "take_profit_points": abs(target - r.entry_price) / r.point_size,
                "reward_amount": abs(target - r.entry_price) * per_price,
                "risk_reward": stops.risk_reward(r.side, r.entry_price, stop, target)}
    if r.account_balance is not None:
        out["risk_fraction"] = risk / r.account_balance
    return out


register(Calculator(
    name="cfd-stops", tool="cfd_stops", title="CFD stops and risk-reward",
    records=EventFields(side="side"),
    summary="Stop-loss and take-profit levels from prices, points or money, the money at risk "
            "and the R multiple; sizes the position from a risk amount.",
    model=CfdStopsRequest, compute=compute, asset_class="cfd",
    example={"side": "long", "entry_price": 8250.0, "size": 5, "stop_points": 40,
             "risk_reward": 2.0, "account_balance": 10000}))
