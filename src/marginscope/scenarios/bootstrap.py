"""Liquidation probability from real bars: volatility estimate and circular block bootstrap.

Sources: Politis & Romano, "A circular block-resampling procedure for stationary data" (1992);
Künsch, *Annals of Statistics* 17 (1989).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from marginscope.errors import InputError
from marginscope.risk import validate as v
from marginscope.scenarios.estimate import ProbabilityEstimate
from marginscope.scenarios.first_passage import DAYS_PER_YEAR
from marginscope.scenarios.position import MarginModel

__all__ = ["bootstrap_probability", "estimate_volatility"]


def estimate_volatility(prices: ArrayLike, periods_per_year: float = DAYS_PER_YEAR) -> float:
    """Annualized volatility from a price series: ``std(ln(Pᵢ/Pᵢ₋₁), ddof=1)·√periods_per_year``.

    ``periods_per_year`` counts bars in a 365-day year: 365 for daily bars, 2,190 (6·365) for
    4-hour bars, 525,600 for 1-minute bars.
    """
    series = v.series("prices", prices, min_length=3)
    per_year = v.scalar("periods_per_year", periods_per_year, low=0.0)
    returns = np.diff(np.log(series))
    return float(np.std(returns, ddof=1) * math.sqrt(per_year))


def bootstrap_probability(
    closes: ArrayLike,
    horizon_bars: int,
    *,
    position: MarginModel | None = None,
    barrier: float | None = None,
    price: float | None = None,
    lows: ArrayLike | None = None,
    highs: ArrayLike | None = None,
    funding: float | ArrayLike | None = None,
    funding_every: int = 1,
    block: int | None = None,
    demean: bool = False,
    paths: int = 10_000,
    seed: int = 0,
) -> ProbabilityEstimate:
    """Liquidation probability by a circular block bootstrap of a real bar series.

    Each simulated path strings together ``block``-bar runs of the historical bars, starting at
    uniformly drawn bars (wrapping round the end), until it covers ``horizon_bars`` bars.

    Parameters
    ----------
    closes : array_like
        Historical closes ``C₀..Cₙ`` (e.g. the shipped Binance BTCUSDT 4h closes of Nov 2025).
    horizon_bars : int
        Length of each path in bars (30 days of 4h bars: 180).
    position : MarginModel, optional
        The position; its liquidation price is recomputed from its margin after each funding
        payment (``position.liquidation_price(margin=…)``, vectorized over paths).
    barrier : float, optional
        A fixed liquidation price instead of ``position`` (then no funding).
    price : float, optional
        Start price ``P₀``; default the last close.
    lows, highs : array_like, optional
        Historical bar lows and highs. With them each bar keeps its intrabar range relative to
        the previous close (``Lᵢ/Cᵢ₋₁``, ``Hᵢ/Cᵢ₋₁``) and the barrier is checked on it;
        without them only at the closes (discrete monitoring, biased low).
    funding : float or array_like, optional
        Funding rate per print: a constant, paid every ``funding_every`` bars; or an array of
        length ``len(closes)`` aligned with the bars (rate settled at the start of bar i, 0 where
        there is no print), resampled *together* with the returns so that the observed link
        between price moves and funding is kept. Payment ``position.funding_payment(P, F)``
        (linear: ``s·Q·P·F``, positive F ⇒ longs pay) at the bar's open ``P``; it comes off the
        margin, moving the barrier.
    block : int, optional
        Block length in bars; default ``round(n^{1/3})`` for ``n`` returns (≈6 for 179 returns).
    demean : bool
        Subtract the sample's mean log return from every bar (closes, lows and highs alike), so
        the paths keep the history's volatility, clustering and wicks but not its trend. A
        history taken from a sell-off (November 2025: −17.5%) otherwise replays that trend.
    paths, seed : int
        Number of paths and the seed of ``numpy.random.default_rng``.

    Returns
    -------
    ProbabilityEstimate
        Fraction of paths liquidated, with the binomial standard error ``√(p(1 − p)/paths)``
        (the sampling error of the bootstrap, not the model error of a short history).
    """
    c = v.series("closes", closes, min_length=3)
    n_bars = v.integer("horizon_bars", horizon_bars)
    n_paths = v.integer("paths", paths)
    every = v.integer("funding_every", funding_every)
    n_ret = c.size - 1
    blk = v.integer("block", block) if block is not None else max(1, round(n_ret ** (1 / 3)))
    if (position is None) == (barrier is None):
        raise InputError("position", position, "exactly one of position or barrier")
    if position is None and funding is not None:
        raise InputError("funding", funding, "None when a fixed barrier is given")
    if position is not None and not isinstance(position, MarginModel):
        raise InputError("position", position, "an object with the MarginModel members")
    p0 = float(c[-1]) if price is None else v.scalar("price", price, low=0.0)

    log_c = np.log(c)
    ret = np.diff(log_c)
    shift = float(ret.mean()) if demean else 0.0
    ret = ret - shift
    low_rel = (
        np.log(v.series("lows", lows, min_length=c.size))[1:] - log_c[:-1] - shift
        if lows is not None
        else None
    )
    high_rel = (
        np.log(v.series("highs", highs, min_length=c.size))[1:] - log_c[:-1] - shift
        if highs is not None
        else None
    )
    for name, arr in (("lows", low_rel), ("highs", high_rel)):
        if arr is not None and arr.size != n_ret:
            raise InputError(name, f"length {arr.size + 1}", f"length {c.size} (as closes)")
    aligned = None
    constant_rate = 0.0
    if funding is not None:
        f = np.asarray(funding, dtype=float)
        if f.ndim == 0:
            constant_rate = v.scalar("funding", f)
        else:
            aligned = np.nan_to_num(v.series("funding", f, min_length=c.size, positive=False))
            if aligned.size != c.size:
                raise InputError("funding", f"length {aligned.size}", f"length {c.size}")
            aligned = aligned[1:]

    sgn = position.side if position is not None else (1.0 if barrier < p0 else -1.0)
    rng = np.random.default_rng(seed)
    n_blocks = -(-n_bars // blk)
    starts = rng.integers(0, n_ret, size=(n_paths, n_blocks))
    idx = ((starts[:, :, None] + np.arange(blk)) % n_ret).reshape(n_paths, -1)[:, :n_bars]

    margin = np.full(n_paths, position.margin if position is not None else 0.0)
    level = (
        np.full(n_paths, float(barrier))
        if position is None
        else np.asarray(position.liquidation_price(margin), dtype=float)
    )
    log_p = np.full(n_paths, math.log(p0))
    alive = np.ones(n_paths, dtype=bool)
    for k in range(n_bars):
        j = idx[:, k]
        if position is not None and (
            aligned is not None or (constant_rate and k % every == 0 and k > 0)
        ):
            rate = aligned[j] if aligned is not None else constant_rate
            margin = margin - np.asarray(position.funding_payment(np.exp(log_p), rate))
            margin = np.maximum(margin, 0.0)
            level = np.asarray(position.liquidation_price(margin), dtype=float)
        if sgn > 0:
            extreme = log_p + (low_rel[j] if low_rel is not None else np.minimum(ret[j], 0.0))
            with np.errstate(invalid="ignore"):
                hit = np.exp(extreme) <= level
        else:
            extreme = log_p + (high_rel[j] if high_rel is not None else np.maximum(ret[j], 0.0))
            with np.errstate(invalid="ignore"):
                hit = np.exp(extreme) >= level
        alive &= ~hit
        log_p = log_p + ret[j]
    p = float(np.count_nonzero(~alive) / n_paths)
    return ProbabilityEstimate(
        p,
        math.sqrt(p * (1.0 - p) / n_paths),
        "bootstrap",
        paths=n_paths,
        steps=n_bars,
        barrier=float(barrier) if barrier is not None else float(position.liquidation_price()),
    )
