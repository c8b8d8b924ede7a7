"""Liquidation probability over a horizon: closed form, Monte Carlo, historical bootstrap.

Model (closed form and Monte Carlo): the mark price follows geometric Brownian motion,

    dS/S = μ dt + σ dW,     ln(S_t/S_0) = ν t + σ W_t,     ν = μ − σ²/2,

with ``μ`` (``drift``) the annualized drift of the *arithmetic* return dS/S and ``σ``
(``volatility``) the annualized volatility; time is in years of **365 days** (crypto trades every
day). A long is liquidated when the price first falls to the barrier ``B < S_0`` (its liquidation
price), a short when it first rises to ``B > S_0``.

Sources: first passage of Brownian motion with drift through a level — the reflection principle
plus Girsanov (Karatzas & Shreve, *Brownian Motion and Stochastic Calculus*, §3.5.C; Shreve,
*Stochastic Calculus for Finance II*, §7.2.3; the same expression prices a down-and-in digital,
Reiner & Rubinstein 1991). Discrete-monitoring correction: Broadie, Glasserman & Kou, "A
continuity correction for discrete barrier options", *Mathematical Finance* 7 (1997) 325–349.
Block bootstrap: Politis & Romano, "A circular block-resampling procedure for stationary data"
(1992); Künsch, *Annals of Statistics* 17 (1989).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from marginscope.errors import InputError
from marginscope.risk import validate as v
from marginscope.scenarios.position import MarginModel

__all__ = [
    "BGK_BETA",
    "DAYS_PER_YEAR",
    "ProbabilityEstimate",
    "bootstrap_probability",
    "estimate_volatility",
    "first_passage_probability",
    "liquidation_probability",
    "monte_carlo_probability",
]

DAYS_PER_YEAR = 365.0
#: β = −ζ(1/2)/√(2π) ≈ 0.5826 (Broadie, Glasserman & Kou 1997, Theorem 1).
BGK_BETA = 0.5825971579390106

SideArg = str | float | int | None


@dataclass(frozen=True)
class ProbabilityEstimate:
    """A liquidation probability with its Monte Carlo standard error (0 for the closed form).

    Unpacks as ``probability, standard_error = estimate``.
    """

    probability: float
    standard_error: float
    method: str
    paths: int = 0
    steps: int = 0
    corrected: bool = False
    barrier: float = float("nan")
    simulated_barrier: float = float("nan")

    def __iter__(self) -> Iterator[float]:
        return iter((self.probability, self.standard_error))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("barrier", "simulated_barrier"):
            if isinstance(out[key], float) and math.isnan(out[key]):
                out[key] = None
        return out


# ----------------------------------------------------------------------------------------------
# Normal CDF without SciPy
# ----------------------------------------------------------------------------------------------
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    """Φ(z) = erfc(−z/√2)/2, exact to double precision (``math.erfc``, element-wise)."""
    z = np.asarray(z, dtype=float)
    return 0.5 * _ERFC(-z / _SQRT2).astype(float)


def _log_norm_cdf(z: np.ndarray) -> np.ndarray:
    """ln Φ(z); the Mills-ratio series below z = −30 where ``erfc`` would underflow.

    ln Φ(z) ≈ −z²/2 − ln(−z) − ln√(2π) + ln(1 − z⁻² + 3z⁻⁴ − 15z⁻⁶ + 105z⁻⁸)
    (Abramowitz & Stegun 26.2.12; truncation error < 1e-11 relative at z = −30).
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    tail = z < -30.0
    with np.errstate(divide="ignore"):
        out[~tail] = np.log(_norm_cdf(z[~tail]))
    zt = z[tail]
    w = 1.0 / (zt * zt)
    with np.errstate(over="ignore", invalid="ignore"):
        out[tail] = (-0.5 * zt * zt - np.log(-zt) - _LOG_SQRT_2PI
                     + np.log1p(w * (-1.0 + w * (3.0 + w * (-15.0 + 105.0 * w)))))
    return out


# ----------------------------------------------------------------------------------------------
# Closed form
# ----------------------------------------------------------------------------------------------
def _sides(side: Any, price: np.ndarray, barrier: np.ndarray) -> np.ndarray:
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
    sgn = np.broadcast_to(_sides(side, s0, b), s0.shape)

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
            first = _norm_cdf((as_ * ts - xs) / root)
            second = np.exp(2.0 * as_ * xs / (ss * ss) + _log_norm_cdf(-(xs + as_ * ts) / root))
        p = first + second
        # σ√T so small relative to x that both terms are 0·∞: fall back to the σ→0 limit.
        bad = ~np.isfinite(p)
        p[bad] = (as_[bad] * ts[bad] >= xs[bad]).astype(float)
        out[diffusive] = np.clip(p, 0.0, 1.0)
    out[crossed] = 1.0
    return out[()] if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------------
# Monte Carlo
# ----------------------------------------------------------------------------------------------
def _default_steps(horizon_days: float) -> int:
    """One step per hour, at least 24."""
    return max(24, math.ceil(horizon_days * 24.0))


def _count_hits(seed: np.random.SeedSequence, n: int, steps: int, increment_drift: float,
                level: float, dtype: type, block_steps: int) -> int:
    """Paths (of ``n``) whose running max of Σ(Z + c) reaches ``level`` within ``steps``.

    Units of σ√Δt: the adverse log move per step is ``c + Z``, ``Z ~ N(0, 1)``.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=dtype)
    peak = np.zeros(n, dtype=dtype)
    done = 0
    while done < steps:
        k = min(block_steps, steps - done)
        block = rng.standard_normal((k, n), dtype=dtype)
        if increment_drift:
            block += dtype(increment_drift)
        for row in block:
            np.add(y, row, out=y)
            np.maximum(peak, y, out=peak)
        done += k
    return int(np.count_nonzero(peak >= dtype(level)))


def monte_carlo_probability(
    price: float,
    barrier: float,
    volatility: float,
    horizon_days: float,
    drift: float = 0.0,
    side: SideArg = None,
    *,
    paths: int = 100_000,
    steps: int | None = None,
    seed: int = 0,
    correction: bool = True,
    dtype: Literal["float64", "float32"] = "float64",
    chunk_paths: int = 16_384,
    workers: int | None = None,
) -> ProbabilityEstimate:
    """Monte Carlo estimate of the GBM first-passage probability, with its standard error.

    Same model and arguments as :func:`first_passage_probability` (scalars here). The log-price
    is simulated exactly at ``steps`` equal steps ``Δt = T/steps`` and the barrier is checked at
    each step ("discrete monitoring").

    Parameters
    ----------
    paths : int
        Number of simulated paths (default 100,000).
    steps : int, optional
        Monitoring steps over the horizon; default one per hour, at least 24.
    seed : int
        Seed of a :class:`numpy.random.SeedSequence`; each chunk of ``chunk_paths`` paths draws
        from its own spawned child, so the result depends on (seed, chunk_paths) but not on
        ``workers``.
    correction : bool
        Apply the Broadie–Glasserman–Kou continuity correction so that the estimate targets the
        *continuously* monitored probability (the closed form). ``False`` estimates the
        probability of a breach seen only at the ``steps`` check times.
    dtype : {"float64", "float32"}
        Precision of the normals and the running sums. float32 roughly halves the time; its
        rounding (≈6e-8 relative per addition, the sums stay within a few hundred σ√Δt) moves
        the barrier by well under 1e-4 σ√Δt — negligible against the sampling error.
    chunk_paths, workers : int
        Paths per chunk (bounds memory to ~256 × chunk_paths numbers per worker) and worker
        threads (default: CPU count; NumPy's generator releases the GIL while filling).

    Returns
    -------
    ProbabilityEstimate
        ``probability = hits/paths``, ``standard_error = √(p(1 − p)/paths)``.

    Notes
    -----
    BGK (1997): a barrier ``B`` monitored every ``Δt`` behaves like a continuously monitored
    barrier moved *away* from the price by the factor ``exp(β·σ·√Δt)``, ``β = −ζ(1/2)/√(2π) ≈
    0.5826``, with an error ``o(1/√steps)``. To estimate the continuous probability we therefore
    simulate with the barrier moved *towards* the price by that factor: a long's barrier is
    multiplied by ``exp(+β·σ·√Δt)``, a short's by ``exp(−β·σ·√Δt)``. Without it the discrete
    estimate is biased low by roughly ``∂P/∂x · β·σ·√Δt``. The correction is accurate when the
    barrier is more than a few ``σ√Δt`` from the price; closer than ``β·σ·√Δt`` it is clamped at
    the price (probability 1).
    """
    s0 = v.scalar("price", price, low=0.0)
    b = v.scalar("barrier", barrier, allow_nan=True, allow_inf=True)
    sigma = v.scalar("volatility", volatility, low=0.0, low_inclusive=True)
    days = v.scalar("horizon_days", horizon_days, low=0.0, low_inclusive=True)
    mu = v.scalar("drift", drift)
    n_paths = v.integer("paths", paths)
    n_steps = _default_steps(days) if steps is None else v.integer("steps", steps)
    n_chunk = v.integer("chunk_paths", chunk_paths)
    if dtype not in ("float64", "float32"):
        raise InputError("dtype", dtype, '"float64" or "float32"')
    np_dtype = np.float64 if dtype == "float64" else np.float32
    sgn = float(_sides(side, np.asarray(s0), np.asarray(b)))

    base = dict(method="monte_carlo", paths=n_paths, steps=n_steps, corrected=correction,
                barrier=b)
    closed = float(first_passage_probability(s0, b, sigma, days, mu, sgn))
    x = sgn * math.log(s0 / b) if (math.isfinite(b) and b > 0) else math.nan
    if not (x > 0) or days == 0 or sigma == 0:
        # Never liquidated, already crossed, no time, or a deterministic path: nothing to sample.
        return ProbabilityEstimate(closed, 0.0, simulated_barrier=b, **base)

    dt = days / DAYS_PER_YEAR / n_steps
    unit = sigma * math.sqrt(dt)
    level = x - BGK_BETA * unit if correction else x
    simulated_barrier = s0 * math.exp(-sgn * max(level, 0.0))
    if level <= 0:
        return ProbabilityEstimate(1.0, 0.0, simulated_barrier=simulated_barrier, **base)

    nu = mu - 0.5 * sigma * sigma
    increment_drift = -sgn * nu * dt / unit
    sizes = [n_chunk] * (n_paths // n_chunk) + ([n_paths % n_chunk] if n_paths % n_chunk else [])
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    n_workers = min(len(sizes), workers or os.cpu_count() or 1)

    def run(job: tuple[np.random.SeedSequence, int]) -> int:
        return _count_hits(job[0], job[1], n_steps, increment_drift, level / unit, np_dtype,
                           block_steps=256)

    if n_workers > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            hits = sum(pool.map(run, zip(seeds, sizes, strict=True)))
    else:
        hits = sum(map(run, zip(seeds, sizes, strict=True)))
    p = hits / n_paths
    return ProbabilityEstimate(p, math.sqrt(p * (1.0 - p) / n_paths),
                               simulated_barrier=simulated_barrier, **base)


# ----------------------------------------------------------------------------------------------
# Position-level wrapper
# ----------------------------------------------------------------------------------------------
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
        p = float(first_passage_probability(price, barrier, volatility, horizon_days, drift,
                                            position.side))
        return ProbabilityEstimate(p, 0.0, "closed_form", barrier=barrier)
    if method == "monte_carlo":
        return monte_carlo_probability(price, barrier, volatility, horizon_days, drift,
                                       position.side, **monte_carlo)
    raise InputError("method", method, '"closed_form" or "monte_carlo"')


# ----------------------------------------------------------------------------------------------
# Historical bootstrap
# ----------------------------------------------------------------------------------------------
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
    low_rel = (np.log(v.series("lows", lows, min_length=c.size))[1:] - log_c[:-1] - shift
               if lows is not None else None)
    high_rel = (np.log(v.series("highs", highs, min_length=c.size))[1:] - log_c[:-1] - shift
                if highs is not None else None)
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
    level = (np.full(n_paths, float(barrier)) if position is None
             else np.asarray(position.liquidation_price(margin), dtype=float))
    log_p = np.full(n_paths, math.log(p0))
    alive = np.ones(n_paths, dtype=bool)
    for k in range(n_bars):
        j = idx[:, k]
        if position is not None and (aligned is not None or (constant_rate and k % every == 0
                                                             and k > 0)):
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
        p, math.sqrt(p * (1.0 - p) / n_paths), "bootstrap", paths=n_paths, steps=n_bars,
        barrier=float(barrier) if barrier is not None else float(position.liquidation_price()))
