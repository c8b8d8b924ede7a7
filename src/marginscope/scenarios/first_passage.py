"""Closed-form probability that GBM reaches the liquidation price within a horizon.

Model (closed form and Monte Carlo): the mark price follows geometric Brownian motion,

    dS/S = μ dt + σ dW,     ln(S_t/S_0) = ν t + σ W_t,     ν = μ − σ²/2,

with ``μ`` (``drift``) the annualized drift of the *arithmetic* return dS/S and ``σ``
(``volatility``) the annualized volatility; time is in years of **365 days** (crypto trades every
day). A long is liquidated when the price first falls to the barrier ``B < S_0`` (its liquidation
price), a short when it first rises to ``B > S_0``.

Sources: first passage of Brownian motion with drift through a level — the reflection principle
plus Girsanov (Karatzas & Shreve, *Brownian Motion and Stochastic Calculus*, §3.5.C; Shreve,
*Stochastic Calculus for Finance II*, §7.2.3; the same expression prices a down-and-in digital,
Reiner & Rubinstein 1991).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from marginscope.risk import validate as v
from marginscope.scenarios.normal import log_norm_cdf, norm_cdf

__all__ = ["DAYS_PER_YEAR", "SideArg", "first_passage_probability", "sides"]

DAYS_PER_YEAR = 365.0

SideArg = str | float | int | None


def sides(side: Any, price: np.ndarray, barrier: np.ndarray) -> np.ndarray:
    """±1 per element: explicit ``side`` or inferred (barrier below price ⇒ long)."""
    if side is None:
        with np.errstate(invalid="ignore"):
            return np.where(barrier > price, -1.0, 1.0)
    if isinstance(side, str | int | float | np.integer | np.floating):
        return np.full(np.broadcast(price, barrier).shape, v.one_side(side))
    return v.side(np.asarray(side, dtype=object))


def first_passage_probability(
    price: ArrayLike,
    barrier: ArrayLike,
    volatility: ArrayLike,
    horizon_days: ArrayLike,
    drift: ArrayLike = 0.0,
    side: SideArg | ArrayLike = None,
) -> np.ndarray | float:
    """Probability that GBM reaches the liquidation barrier within the horizon (closed form).

    Parameters
    ----------
    price : array_like
        Current mark price ``S₀``, > 0.
    barrier : array_like
        Liquidation price ``B``. NaN (no liquidation price), ``B ≤ 0`` for a long or ``+inf``
        for a short mean "never liquidated": probability 0.
    volatility : array_like
        Annualized volatility ``σ`` of log returns (365-day year), ≥ 0.
    horizon_days : array_like
        Horizon ``T`` in days, ≥ 0 (``T/365`` years).
    drift : array_like
        Annualized drift ``μ`` of dS/S (not of ln S); the log-price drifts at ``ν = μ − σ²/2``.
    side : {None, "long", "short", +1, -1} or array
        ``None`` infers it: barrier below the price ⇒ long (lower barrier), above ⇒ short.
        With an explicit side a barrier already crossed (long ``B ≥ S₀``) gives 1.

    Returns
    -------
    numpy.ndarray or float
        Probabilities in [0, 1], broadcast shape of the inputs (a NumPy float for scalars).

    Notes
    -----
    Let ``x = s·ln(S₀/B) > 0`` be the log distance to the barrier and ``a = −s·ν`` the drift of
    the log-price *towards* it (s = +1 long, −1 short). The running maximum of ``a·t + σW_t``
    (reflection principle with drift) gives

        P = Φ((a·T − x)/(σ√T)) + exp(2·a·x/σ²) · Φ(−(x + a·T)/(σ√T)).

    The second term is evaluated as ``exp(2ax/σ² + ln Φ(·))`` so that it neither overflows nor
    underflows for strong drift or tiny σ. Limits: ``x ≤ 0`` ⇒ 1; ``T = 0`` ⇒ 0 (unless
    crossed); ``σ = 0`` ⇒ 1 if ``a·T ≥ x`` else 0 (deterministic path ``S₀·e^{μT}``);
    ``T → ∞`` ⇒ 1 if ``a ≥ 0`` else ``exp(2ax/σ²)``.
    """
    s0 = v.number("price", price, low=0.0)
    b = v.number("barrier", barrier, allow_nan=True, allow_inf=True)
    sigma = v.number("volatility", volatility, low=0.0, low_inclusive=True)
    days = v.number("horizon_days", horizon_days, low=0.0, low_inclusive=True)
    mu = v.number("drift", drift)
    s0, b, sigma, days, mu = np.broadcast_arrays(s0, b, sigma, days, mu)
    sgn = np.broadcast_to(sides(side, s0, b), s0.shape)

    t = days / DAYS_PER_YEAR
    nu = mu - 0.5 * sigma * sigma
    never = np.isnan(b) | ((sgn > 0) & (b <= 0)) | ((sgn < 0) & np.isposinf(b))
    safe_b = np.where(never | ~np.isfinite(b) | (b <= 0), s0, b)
    x = sgn * np.log(s0 / safe_b)
    a = -sgn * nu
    crossed = ~never & ((x <= 0) | ((sgn > 0) & np.isposinf(b)) | ((sgn < 0) & (b <= 0)))

    out = np.zeros(s0.shape)
    live = ~never & ~crossed & (t > 0)
    deterministic = live & (sigma == 0)
    out[deterministic] = (a[deterministic] * t[deterministic] >= x[deterministic]).astype(float)
    diffusive = live & (sigma > 0)
    if diffusive.any():
        xs, as_, ss, ts = x[diffusive], a[diffusive], sigma[diffusive], t[diffusive]
        root = ss * np.sqrt(ts)
        # a σ so small that σ√T or σ² underflows to 0 divides by zero: handled just below
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            first = norm_cdf((as_ * ts - xs) / root)
            second = np.exp(2.0 * as_ * xs / (ss * ss) + log_norm_cdf(-(xs + as_ * ts) / root))
        p = first + second
        # σ√T so small relative to x that both terms are 0·∞: fall back to the σ→0 limit.
        bad = ~np.isfinite(p)
        p[bad] = (as_[bad] * ts[bad] >= xs[bad]).astype(float)
        out[diffusive] = np.clip(p, 0.0, 1.0)
    out[crossed] = 1.0
    return out[()] if out.ndim == 0 else out
