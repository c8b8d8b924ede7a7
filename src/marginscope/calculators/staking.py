"""Staking yield: APR ↔ APY for a compounding frequency, rewards over a period, price change."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from marginscope.calculators._common import Price, Quantity, one_of
from marginscope.calculators.base import Calculator, EventFields, Rate, Request, register
from marginscope.risk import spot


class StakingRequest(Request):
    tokens: Quantity = Field(description="Tokens staked")
    apr: float | None = Field(None, ge=0, le=10, allow_inf_nan=False,
                              description="Nominal annual rate (0.05 = 5 %); or give apy")
    apy: float | None = Field(None, ge=0, le=1000, allow_inf_nan=False,
                              description="Annual yield with compounding; or give apr")
    compounds_per_year: int = Field(365, ge=0, le=8760,
                                    description="Restakes per year (0: rewards not restaked)")
    days: float = Field(365, ge=1e-6, le=3650, allow_inf_nan=False)
    commission: Rate = Field(0.0, description="Share of rewards kept by the validator or venue")
    price_start: Price | None = Field(None, description="Token price today")
    price_end: Price | None = Field(None, description="Token price at the end of the period")


def compute(r: StakingRequest) -> dict[str, Any]:
    n = r.compounds_per_year
    apr = r.apr if one_of(r, "apr", "apy") == "apr" else spot.apr_from_apy(r.apy, n)
    net_apr = apr * (1.0 - r.commission)
    out = spot.staking_growth(r.tokens, net_apr, r.days, compounds_per_year=n,
                              price_start=r.price_start, price_end=r.price_end)
    return {"apr": apr, "apy": spot.apy_from_apr(apr, n), "net_apr": net_apr,
            "net_apy": out.pop("apy"), **out}


register(Calculator(
    name="staking", tool="staking_yield", title="Staking yield",
    records=EventFields(),
    summary="APR ↔ APY for a compounding frequency, rewards over a period and their value if "
            "the token's price changes.",
    model=StakingRequest, compute=compute, asset_class="crypto_spot",
    example={"tokens": 32.0, "apr": 0.035, "compounds_per_year": 365, "days": 365,
             "price_start": 3500.0, "price_end": 3000.0}))
