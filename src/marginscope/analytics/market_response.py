"""Market response: lagged association, an event study, and funding runs (never causes).

``analytics_methods.md`` §8. Three descriptions, each worded "coincided with" / "followed",
never "caused", "drove" or "triggered":

* **Lagged association** (:func:`lagged_association`): Spearman ρ between each tool's daily
  lift (against the fixed reference, so the weekday pattern is out; ranks, so the log would
  change nothing) and a market series
  (signed BTC return, |return|, the day's funding sum, the day's funding sign changes) at lags
  0–3 (activity k days after the market value). The test takes the **maximum |ρ| over the lags**
  (which handles the multiplicity over lags) against a **circular-shift null**: the market
  series is rotated by every shift ``s ∈ {b, …, n − b}`` (b = 3 days, so autocorrelated
  blocks stay together); ``p = (1 + #{max|ρ*| ≥ max|ρ|}) / (1 + shifts)``: with 30 days the
  smallest attainable p is about 1/26, so one month is descriptive; pool ≥ 3 months to test.
  Benjamini–Hochberg across the tools × market series.
* **Event study** (:func:`event_study`): around day 0 (the month's largest absolute BTC daily
  move), abnormal log-lifts ``AR_τ = log(Y_τ / Ê_τ)`` for τ = −3 … +5 against the fixed
  reference; ``CAR(0, +5)`` and the placebo ``CAR(−3, −1)`` with
  ``Var(CAR) = k (σ̂² + mean 1/Ê) + k² s²/n`` (all window days share the reference's error).
* **Funding runs** (:func:`funding_runs`): "funding turned negative" only for a run of at least
  3 consecutive negative prints, reported with its length, mean and lowest rate; a run is
  *sustained* when its mean is below 0 and it lasts at least 9 prints (72 h on 8-hour funding);
  single negative prints are flickers and are not reported as turns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.association import spearman_rows
from marginscope.analytics.reference import fit_reference
from marginscope.analytics.spikes import bh_adjust
from marginscope.market.series import FundingSeries

__all__ = [
    "FundingRun",
    "event_study",
    "funding_daily",
    "funding_runs",
    "lagged_association",
    "market_response",
]

LAGS = (0, 1, 2, 3)
BLOCK = 3
EVENT_WINDOW = (-3, 5)
MIN_RUN = 3
SUSTAINED_PRINTS = 9


def lagged_association(
    activity: np.ndarray, market: np.ndarray, *, lags: Sequence[int] = LAGS, block: int = BLOCK
) -> dict[str, Any]:
    """ρ per lag (activity ``k`` days after the market value), the lag of the largest |ρ|, and
    its circular-shift p-value (see the module docstring)."""
    x, y = np.asarray(activity, dtype=float), np.asarray(market, dtype=float)
    n = x.size
    shifts = list(range(block, n - block + 1))
    # row 0: the market series; row 1 + i: rotated by shifts[i]. Each (row, lag) pairs
    # x[k:] with the row's first n − k values, NaN-padded to n (pairs with a NaN are dropped).
    rotated = np.stack([y] + [np.roll(y, s) for s in shifts])
    a = np.full((len(lags), n), np.nan)
    b = np.full((len(rotated), len(lags), n), np.nan)
    for i, k in enumerate(lags):
        a[i, : max(n - k, 0)] = x[k:]
        b[:, i, : max(n - k, 0)] = rotated[:, : max(n - k, 0)]
    enough = (np.isfinite(a) & np.isfinite(b)).sum(axis=-1) >= 8
    rho = np.where(enough, spearman_rows(a, b), np.nan)
    observed = [float(r) for r in rho[0]]
    finite = [abs(r) for r in observed if math.isfinite(r)]
    if not finite:
        return {"rho": observed, "lag": None, "p_value": math.nan, "shifts": 0}
    best = max(finite)
    null = np.where(np.isfinite(rho[1:]), np.abs(rho[1:]), -np.inf).max(axis=1)
    hits = int((null >= best - 1e-12).sum())
    lag = lags[int(np.nanargmax(np.abs(observed)))]
    return {
        "rho": observed,
        "lag": lag,
        "p_value": (1 + hits) / (1 + len(shifts)),
        "shifts": len(shifts),
    }


def event_study(
    counts: np.ndarray,
    weekdays: np.ndarray,
    reference: tuple[int, int],
    day0: int,
    *,
    window: tuple[int, int] = EVENT_WINDOW,
) -> dict[str, Any] | None:
    """Abnormal log-lifts around ``day0`` (cube index) and the CARs with their tests."""
    y = np.asarray(counts, dtype=float)
    fit = fit_reference(y[slice(*reference)], weekdays[slice(*reference)])
    if fit is None or day0 + window[0] < reference[1] or day0 + window[1] >= y.size:
        return None
    taus = list(range(window[0], window[1] + 1))
    expected = np.exp([fit.log_expected(int(weekdays[day0 + t])) for t in taus])
    ar = np.log(np.maximum(y[[day0 + t for t in taus]], 0.5) / expected)

    def car(first: int, last: int) -> dict[str, float]:
        chosen = [i for i, t in enumerate(taus) if first <= t <= last]
        k = len(chosen)
        value = float(ar[chosen].sum())
        variance = k * (fit.day_variance + float(np.mean(1.0 / expected[chosen]))) + (
            k * k * fit.residual_variance / fit.days
        )
        t = value / math.sqrt(variance)
        df = fit.degrees_of_freedom
        return {
            "car": value,
            "mean_lift": math.expm1(value / k),
            "t": t,
            "p_value": min(1.0, 2 * student_t.sf(abs(t), df)),
        }

    return {
        "tau": taus,
        "abnormal": ar.tolist(),
        "after": car(0, window[1]),
        "before": car(window[0], -1),
    }


@dataclass(frozen=True)
class FundingRun:
    """Consecutive negative funding prints."""

    start: str
    end: str
    prints: int
    mean_rate: float
    lowest_rate: float
    sustained: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with a sentence that never says "turned negative" for a flicker."""
        word = "stayed negative" if self.sustained else "dipped below zero"
        return {
            "start": self.start,
            "end": self.end,
            "prints": self.prints,
            "mean_rate": self.mean_rate,
            "lowest_rate": self.lowest_rate,
            "sustained": self.sustained,
            "text": f"BTCUSDT funding {word} for {self.prints} consecutive prints "
            f"({self.start[:16]}–{self.end[:16]} UTC; mean {self.mean_rate * 1e4:+.2f} bp, lowest "
            f"{self.lowest_rate * 1e4:+.2f} bp per interval).",
        }


def funding_runs(series: FundingSeries, *, min_prints: int = MIN_RUN) -> list[FundingRun]:
    """Runs of at least ``min_prints`` consecutive negative prints (see the module docstring)."""
    rate = np.asarray(series.funding_rate, dtype=float)
    times = np.asarray(series.time).astype("datetime64[ms]")
    order = np.argsort(times)
    rate, times = rate[order], times[order]
    out, i = [], 0
    while i < rate.size:
        if rate[i] >= 0:
            i += 1
            continue
        j = i
        while j + 1 < rate.size and rate[j + 1] < 0:
            j += 1
        run = rate[i : j + 1]
        if run.size >= min_prints:
            out.append(
                FundingRun(
                    start=str(times[i]) + "Z",
                    end=str(times[j]) + "Z",
                    prints=int(run.size),
                    mean_rate=float(run.mean()),
                    lowest_rate=float(run.min()),
                    sustained=bool(run.size >= SUSTAINED_PRINTS and run.mean() < 0),
                )
            )
        i = j + 1
    return out


def funding_daily(series: FundingSeries, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per UTC day: the sum of the funding prints and the number of sign changes (NaN where
    the day has no print)."""
    times = np.asarray(series.time).astype("datetime64[D]")
    rate = np.asarray(series.funding_rate, dtype=float)
    order = np.argsort(np.asarray(series.time))
    times, rate = times[order], rate[order]
    sign = np.sign(rate)
    flips = np.concatenate([[0], (sign[1:] != sign[:-1]).astype(float)])
    total = np.full(len(days), np.nan)
    changes = np.full(len(days), np.nan)
    for i, day in enumerate(days):
        hit = times == day
        if hit.any():
            total[i] = rate[hit].sum()
            changes[i] = flips[hit].sum()
    return total, changes


def market_response(
    analysis: Any, context: Any, funding: FundingSeries | None, *, fdr: float = 0.05
) -> dict[str, Any]:
    """The report's ``market.response``: lagged associations per tool, an event study around
    the month's largest BTC move, and funding runs (see the module docstring)."""
    cube, start, end = analysis.cube, analysis.start, analysis.end
    days = cube.days[start:end]
    index = np.clip(np.searchsorted(context.days, days), 0, max(len(context.days) - 1, 0))
    present = len(context.days) > 0 and context.days[index] == days
    returns = np.where(present, context.daily_return()[index], np.nan)
    markets = {"BTC daily return": returns, "absolute BTC daily return": np.abs(returns)}
    if funding is not None and len(funding):
        total, changes = funding_daily(funding, days)
        markets["daily funding sum"] = total
        markets["funding sign changes per day"] = changes
    tools = [None, *[t for t, n in cube.by_tool(start, end).items() if n > 0]]
    rows = []
    for tool in tools:
        # Spearman's ρ ranks: the lift itself (a day with no checks, lift −1, ranks lowest and
        # stays in; its log would be −inf and drop out)
        activity = analysis.daily_lift(tool)
        for name, series in markets.items():
            if np.isfinite(series).sum() < 10:
                continue
            result = lagged_association(activity, series)
            if result["lag"] is not None:
                rows.append({"tool": tool, "market": name, **result})
    q = bh_adjust([r["p_value"] for r in rows])
    for row, q_value in zip(rows, q, strict=True):
        row["q_value"] = float(q_value)
        rho = row["rho"][LAGS.index(row["lag"])]
        when = "on the same day as" if row["lag"] == 0 else f"{row['lag']} day(s) after"
        row["text"] = (
            f"{'all checks' if row['tool'] is None else row['tool']}: daily lift {when} the "
            f"{row['market']}, Spearman ρ {rho:+.2f} (circular-shift p = {row['p_value']:.2g} "
            f"over {row['shifts']} shifts; one month is descriptive, not a test of a link)."
        )
    study = None
    finite = np.isfinite(returns)
    if finite.any() and analysis.reference is not None:
        day0 = start + int(np.nanargmax(np.where(finite, np.abs(returns), -1)))
        reference = (cube.index(analysis.reference[0]), cube.index(analysis.reference[1]) + 1)
        study = {
            "day0": str(cube.days[day0]),
            "event": "the month's largest BTC daily move",
            "tools": {},
        }
        for tool in tools:
            result = event_study(cube.series(tool), cube.weekdays, reference, day0)
            if result is not None:
                study["tools"][tool or "all"] = result
    runs = [r.to_dict() for r in funding_runs(funding)] if funding is not None else []
    return {"lagged": rows, "event_study": study, "funding_runs": runs}
