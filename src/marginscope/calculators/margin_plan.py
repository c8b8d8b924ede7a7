"""Margin plan: the smallest top-up (or position cut) that keeps the probability of liquidation
within a horizon under a target (issue 3, part 3; :func:`marginscope.scenarios.plan.margin_plan`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.account import PositionFields, VenueName
from marginscope.calculators.base import FUTURES, Calculator, register
from marginscope.risk.venues import DEFAULT_VENUE


class MarginPlanRequest(PositionFields):
    venue: VenueName = DEFAULT_VENUE
    volatility: float = Field(gt=0, le=10, allow_inf_nan=False,
                              description="Annualized volatility (365-day year)")
    horizon_days: float = Field(gt=0, le=3650, allow_inf_nan=False)
    target: float = Field(ge=1e-6, lt=1, allow_inf_nan=False,
                          description="Largest acceptable liquidation probability")
    drift: float = Field(0.0, ge=-10, le=10, allow_inf_nan=False,
                         description="Annualized drift of dS/S")
    action: Literal["top-up", "cut"] = Field(
        "top-up", description="Add margin, or close part of the size at mark (margin kept)")
    method: Literal["closed-form", "monte-carlo"] = "closed-form"
    # a plan evaluates the probability ~20–60 times: the Monte Carlo is kept small
    paths: int = Field(10_000, ge=1_000, le=20_000, description="Monte Carlo paths")
    steps: int = Field(50, ge=10, le=200, description="Monte Carlo monitoring steps")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    tolerance: float | None = Field(
        None, gt=0, le=1e6, allow_inf_nan=False,
        description="Precision of the answer, settle currency (default 0.01 linear, 1e-8 "
                    "inverse)")


def compute(r: MarginPlanRequest) -> dict[str, Any]:
    from marginscope.scenarios import EnginePosition, margin_plan

    position = EnginePosition.open(
        venue=r.venue, symbol=r.symbol, side=r.side, qty=r.qty, entry=r.entry_price,
        leverage=r.leverage, margin=r.margin, mmr=r.mmr,
        maintenance_amount=r.maintenance_amount, max_leverage=r.max_leverage,
        contract_size=r.contract_size, taker_fee=r.taker_fee, product=r.product,
        as_of=r.as_of)
    tolerance = r.tolerance or (1e-8 if position.product == "inverse" else 0.01)
    monte_carlo = ({"paths": r.paths, "steps": r.steps, "seed": r.seed}
                   if r.method == "monte-carlo" else {})
    plan = margin_plan(position, r.mark_price or r.entry_price, r.volatility, r.horizon_days,
                       r.target, drift=r.drift, action=r.action.replace("-", "_"),
                       method=r.method.replace("-", "_"), tolerance=tolerance, **monte_carlo)
    out = plan.to_dict()
    out["position_before"] = position.to_dict()
    return out


register(Calculator(
    name="margin-plan", tool="margin_plan", title="Margin plan",
    records=replace(FUTURES, margin_mode=None),
    summary="Smallest top-up (or cut) that keeps the liquidation probability within a horizon "
            "under a target (GBM; closed form or Monte Carlo).",
    model=MarginPlanRequest, compute=compute,
    example={"venue": DEFAULT_VENUE, "symbol": "BTCUSDT", "side": "long", "qty": 0.1,
             "entry_price": 109557.2, "leverage": 10, "volatility": 0.4855,
             "horizon_days": 30, "target": 0.05}))
