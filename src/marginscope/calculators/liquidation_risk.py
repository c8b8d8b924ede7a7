"""Probability that a position is liquidated within a horizon (GBM first passage)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from marginscope.calculators.base import Calculator, EventFields, Price, Request, register

MAX_PATH_STEPS = 100_000_000
"""Monte Carlo work bound, paths × steps (about 1–2 s on two cores): one request cannot
occupy a server for minutes."""


class LiquidationRiskRequest(Request):
    side: Literal["long", "short"]
    price: Price = Field(description="Current price")
    liquidation_price: Price
    # Floors keep σ·√Δt from underflowing to 0 (a subnormal volatility or horizon did, found
    # by the API fuzz: division by zero in the Monte Carlo set-up).
    volatility: float = Field(ge=1e-4, le=10, allow_inf_nan=False,
                              description="Annualized volatility (365-day year)")
    horizon_days: float = Field(ge=1e-4, le=3650, allow_inf_nan=False)
    drift: float = Field(0.0, ge=-10, le=10, allow_inf_nan=False,
                         description="Annualized drift of dS/S")
    method: Literal["closed-form", "monte-carlo"] = "closed-form"
    paths: int = Field(100_000, ge=1000, le=2_000_000)
    steps: int | None = Field(None, ge=1, le=100_000, validate_default=True)
    seed: int = Field(0, ge=0)

    @field_validator("steps")
    @classmethod
    def _bounded_work(cls, steps: int | None, info: ValidationInfo) -> int | None:
        data = info.data
        if data.get("method") == "monte-carlo" and "paths" in data and "horizon_days" in data:
            n = steps or max(24, math.ceil(data["horizon_days"] * 24.0))  # hourly by default
            if data["paths"] * n > MAX_PATH_STEPS:
                raise ValueError(f"paths × steps must be ≤ {MAX_PATH_STEPS:.0e} (here "
                                 f"{data['paths']} × {n}; steps default to one per hour of "
                                 "the horizon): lower paths or steps")
        return steps


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
    records=EventFields(side="side"),
    summary="Probability of touching the liquidation price within a horizon (GBM; closed "
            "form or Monte Carlo).",
    model=LiquidationRiskRequest, compute=compute,
    example={"side": "long", "price": 90000.0, "liquidation_price": 80000.0,
             "volatility": 0.6, "horizon_days": 7, "drift": 0.0}))
