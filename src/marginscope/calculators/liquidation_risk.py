"""Probability that a position is liquidated within a horizon (GBM first passage)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators.base import Calculator, Price, Request, register


class LiquidationRiskRequest(Request):
    side: Literal["long", "short"]
    price: Price = Field(description="Current price")
    liquidation_price: Price
    volatility: float = Field(gt=0, le=10, allow_inf_nan=False,
                              description="Annualized volatility (365-day year)")
    horizon_days: float = Field(gt=0, le=3650, allow_inf_nan=False)
    drift: float = Field(0.0, ge=-10, le=10, allow_inf_nan=False,
                         description="Annualized drift of dS/S")
    method: Literal["closed-form", "monte-carlo"] = "closed-form"
    paths: int = Field(100_000, ge=1000, le=2_000_000)
    steps: int | None = Field(None, ge=1, le=100_000)
    seed: int = Field(0, ge=0)


def compute(r: LiquidationRiskRequest) -> dict[str, Any]:
    from marginscope.scenarios import first_passage_probability, monte_carlo_probability

    args = (r.price, r.liquidation_price, r.volatility, r.horizon_days, r.drift, r.side)
    if r.method == "monte-carlo":
        estimate = monte_carlo_probability(*args, paths=r.paths, steps=r.steps, seed=r.seed)
        probability, error = estimate
        return {"probability": probability, "standard_error": error, "method": r.method,
                "paths": r.paths}
    return {"probability": first_passage_probability(*args), "method": r.method}


register(Calculator(
    name="liquidation-risk", tool="liquidation_risk", title="Liquidation risk",
    summary="Probability of touching the liquidation price within a horizon (GBM; closed "
            "form or Monte Carlo).",
    model=LiquidationRiskRequest, compute=compute,
    example={"side": "long", "price": 90000.0, "liquidation_price": 80000.0,
             "volatility": 0.6, "horizon_days": 7, "drift": 0.0}))
