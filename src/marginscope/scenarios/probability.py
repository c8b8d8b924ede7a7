"""Liquidation probability over a horizon: closed form, Monte Carlo, historical bootstrap.

The methods, each with its sources: :mod:`.first_passage` (the GBM model and its closed form:
Karatzas & Shreve §3.5.C; Shreve II §7.2.3), :mod:`.monte_carlo` (the same model simulated,
with the Broadie–Glasserman–Kou 1997 continuity correction) and :mod:`.bootstrap` (circular
block bootstrap of real bars: Politis & Romano 1992; Künsch 1989). Each answer is a
:class:`~.estimate.ProbabilityEstimate`; :func:`liquidation_probability` picks the closed form or
Monte Carlo for a position.
"""

from __future__ import annotations

from typing import Any, Literal

from marginscope.errors import InputError
from marginscope.scenarios.bootstrap import bootstrap_probability, estimate_volatility
from marginscope.scenarios.estimate import ProbabilityEstimate
from marginscope.scenarios.first_passage import DAYS_PER_YEAR, first_passage_probability
from marginscope.scenarios.monte_carlo import BGK_BETA, monte_carlo_probability
from marginscope.scenarios.position import MarginModel

__all__ = [  # liquidation_probability, and the names this module held before the split
    "BGK_BETA",
    "DAYS_PER_YEAR",
    "ProbabilityEstimate",
    "bootstrap_probability",
    "estimate_volatility",
    "first_passage_probability",
    "liquidation_probability",
    "monte_carlo_probability",
]


def liquidation_probability(
    position: MarginModel,
    price: float,
    volatility: float,
    horizon_days: float,
    drift: float = 0.0,
    *,
    method: Literal["closed_form", "monte_carlo"] = "closed_form",
    **monte_carlo: Any,
) -> ProbabilityEstimate:
    """Liquidation probability of ``position`` from mark ``price`` over the horizon.

    The barrier is ``position.liquidation_price()`` (fixed: funding is not accrued here; use
    :func:`bootstrap_probability` for a path-dependent margin). ``method`` picks
    :func:`first_passage_probability` or :func:`monte_carlo_probability` (extra keyword
    arguments go to the latter).
    """
    barrier = float(position.liquidation_price())
    if method == "closed_form":
        p = float(
            first_passage_probability(
                price, barrier, volatility, horizon_days, drift, position.side
            )
        )
        return ProbabilityEstimate(p, 0.0, "closed_form", barrier=barrier)
    if method == "monte_carlo":
        return monte_carlo_probability(
            price, barrier, volatility, horizon_days, drift, position.side, **monte_carlo
        )
    raise InputError("method", method, '"closed_form" or "monte_carlo"')
