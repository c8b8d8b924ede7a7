"""Margin plan: the smallest top-up (or position cut) that keeps the liquidation probability
under a target over a horizon.

The probability is :func:`~marginscope.scenarios.probability.liquidation_probability` (closed
form, or Monte Carlo with a fixed seed: common random numbers make it monotone in the margin too).
Both actions move the liquidation price away from the price monotonically, so the probability
falls monotonically and bisection finds the smallest amount.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from marginscope.errors import InputError
from marginscope.risk import validate as v
from marginscope.scenarios.position import EnginePosition, MarginModel
from marginscope.scenarios.probability import liquidation_probability

__all__ = ["MarginPlan", "margin_plan"]


@dataclass(frozen=True)
class MarginPlan:
    """The answer: how much to add (quote) or cut (base units and fraction), and its effect."""

    action: str
    amount: float
    fraction: float
    target: float
    probability_before: float
    probability_after: float
    liquidation_price_before: float | None
    liquidation_price_after: float | None
    price: float
    volatility: float
    horizon_days: float
    drift: float
    method: str
    position_after: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def margin_plan(
    position: MarginModel,
    price: float,
    volatility: float,
    horizon_days: float,
    target: float,
    *,
    drift: float = 0.0,
    action: Literal["top_up", "cut"] = "top_up",
    method: Literal["closed_form", "monte_carlo"] = "closed_form",
    tolerance: float = 0.01,
    **monte_carlo: Any,
) -> MarginPlan:
    """Smallest top-up (or cut) with liquidation probability ≤ ``target`` over the horizon.

    Parameters
    ----------
    position : MarginModel
        The position now, usually an :class:`EnginePosition` (``top_up`` needs only
        ``add_margin``; ``cut`` needs an :class:`EnginePosition`).
    price : float
        Current mark price.
    volatility, horizon_days, drift :
        GBM parameters as in :func:`first_passage_probability` (σ and μ annualized, 365 days).
    target : float
        Largest acceptable probability, in (0, 1).
    action : {"top_up", "cut"}
        ``top_up``: margin to add, settle currency (bisection on the amount; bracketed by
        doubling). ``cut``: fraction of the size to close at ``price``, keeping the margin and
        booking the realized P&L in it (:meth:`EnginePosition.reduce`): equity is unchanged and
        the exposure falls; the tier follows the smaller value.
    method : {"closed_form", "monte_carlo"}
        How the probability is computed; extra keyword arguments go to the Monte Carlo.
    tolerance : float
        Bisection stops when the bracket is narrower than this (settle currency for a top-up;
        ``tolerance / value(price)`` as a fraction for a cut). The upper end is returned, so the
        target holds.

    Notes
    -----
    Funding is not accrued (the barrier is fixed over the horizon); add expected funding to the
    top-up, or use the bootstrap, when it matters.
    """
    p = v.scalar("price", price, low=0.0)
    tgt = v.scalar("target", target, low=0.0, high=1.0, high_inclusive=False)
    tol = v.scalar("tolerance", tolerance, low=0.0)
    if action not in ("top_up", "cut"):
        raise InputError("action", action, '"top_up" or "cut"')

    def probability(pos: MarginModel) -> float:
        return liquidation_probability(pos, p, volatility, horizon_days, drift, method=method,
                                       **monte_carlo).probability

    if action == "top_up":
        def candidate(x: float) -> MarginModel:
            return position.add_margin(x)
        hi = max(float(position.margin), tol)
        for _ in range(80):
            if probability(candidate(hi)) <= tgt:
                break
            hi *= 2.0
        else:  # pragma: no cover - needs an absurd target
            raise InputError("target", target, "a probability reachable by adding margin")
        step = tol
    else:
        if not isinstance(position, EnginePosition):
            raise InputError("position", type(position).__name__, "an EnginePosition for a cut")
        def candidate(x: float) -> MarginModel:
            return position.reduce(x, p)
        hi = 1.0 - 1e-12
        value = float(position.value(p))
        step = tol / value if 0.0 < value < math.inf else 1e-12

    before = probability(position)
    lo = 0.0
    if before <= tgt:
        hi = 0.0
    else:
        while hi - lo > step:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):  # the tolerance is below the float spacing here: done
                break
            if probability(candidate(mid)) <= tgt:
                hi = mid
            else:
                lo = mid
    after_position = candidate(hi) if hi > 0 else position
    amount = hi if action == "top_up" else hi * position.qty
    return MarginPlan(
        action=action,
        amount=amount,
        fraction=hi if action == "cut" else 0.0,
        target=tgt,
        probability_before=before,
        probability_after=probability(after_position),
        liquidation_price_before=_none_if_nan(float(position.liquidation_price())),
        liquidation_price_after=_none_if_nan(float(after_position.liquidation_price())),
        price=p,
        volatility=float(volatility),
        horizon_days=float(horizon_days),
        drift=float(drift),
        method=method,
        position_after=after_position.to_dict() if hasattr(after_position, "to_dict") else {},
    )
