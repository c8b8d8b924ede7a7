"""Month over month: the month against the previous calendar month.

Months differ in length and weekday mix, and the unit of evidence is the day, not the check
(``analytics_methods.md`` §10). So besides the plain totals (setups, distinct visitors,
countries and ``change = setups / previous − 1``), the comparison of activity is a
**weekday-standardised daily rate**: ``rate_M = (1/D_M) Σ_t Y_t / f̂_dow(t)`` with weekday factors
``f̂`` from both months together, and the ratio of rates with
``Var(log ratio) ≈ CV²/D_M + CV²/D_{M−1}``, inflated by ``(1 + ρ)/(1 − ρ)`` for the lag-1
autocorrelation ρ of the daily log residuals; 95 % interval with Student t (``D_M + D_{M−1} − 8``
df). The same for each tool, device class and region. A "+5 %" whose interval spans 0 is within
day-to-day noise even on hundreds of thousands of checks.

Visitors are daily-salted ids, so a month's "visitors" are visitor-days (as in the summary).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import ibis.expr.types as ir
import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.cube import DailyCube
from marginscope.analytics.queries import in_range

__all__ = ["month_over_month", "previous_month", "rate_ratio", "visitors_expr"]


def previous_month(first: date) -> tuple[date, date]:
    """First day of the month before ``first``'s month, and ``first``."""
    return (first - timedelta(days=1)).replace(day=1), first


def visitors_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """One row: exact distinct visitors (``visitors``) in ``[start, end)``."""
    rows = in_range(events, start, end)
    ids = rows.filter(rows.visitor.notnull()).select("visitor").distinct()
    return ids.aggregate(visitors=ids.count())


def rate_ratio(
    current: np.ndarray,
    previous: np.ndarray,
    weekdays_current: np.ndarray,
    weekdays_previous: np.ndarray,
) -> tuple[float, float, float]:
    """``(ratio − 1, low − 1, high − 1)`` of the weekday-standardised daily rates (see the
    module docstring); NaNs when either month has no checks."""
    y = np.concatenate([previous, current]).astype(float)
    w = np.concatenate([weekdays_previous, weekdays_current])
    if previous.sum() <= 0 or current.sum() <= 0:
        return math.nan, math.nan, math.nan
    mean = y.mean()
    factors = np.asarray(
        [y[w == d].mean() / mean if (w == d).any() and mean > 0 else 1.0 for d in range(7)]
    )
    factors = np.where(factors > 0, factors, 1.0)
    adjusted = y / factors[w]
    split = previous.size
    rate_prev, rate_cur = adjusted[:split].mean(), adjusted[split:].mean()
    logs = np.log(np.maximum(adjusted, 0.5))
    residual = np.concatenate(
        [logs[:split] - logs[:split].mean(), logs[split:] - logs[split:].mean()]
    )
    df = max(1, y.size - 8)
    cv2 = float(residual @ residual) / df
    rho = (
        float(residual[1:] @ residual[:-1]) / float(residual @ residual)
        if float(residual @ residual) > 0
        else 0.0
    )
    inflation = (1 + max(rho, 0.0)) / (1 - max(rho, 0.0)) if rho < 1 else 1.0
    se = math.sqrt(cv2 * (1 / split + 1 / (y.size - split)) * inflation)
    log_ratio = math.log(rate_cur / rate_prev)
    c = student_t.ppf(0.975, df)
    return (math.expm1(log_ratio), math.expm1(log_ratio - c * se), math.expm1(log_ratio + c * se))


def month_over_month(
    cube: DailyCube,
    first: date,
    following: date,
    visitors: int | None,
    previous_visitors: int | None,
    *,
    k: int,
) -> dict[str, Any] | None:
    """``summary.previous_month``: totals, changes and standardised rate changes per tool,
    device and region; None when the cube does not cover the previous month."""
    start_prev, _ = previous_month(first)
    if cube.days[0] > np.datetime64(start_prev, "D"):
        return None
    a, b = cube.index(start_prev), cube.index(first)
    end = min(len(cube.days), b + (following - first).days)
    weekdays = cube.weekdays
    daily = cube.series()
    empty = int(np.argmax(daily[a:b] > 0)) if daily[a:b].any() else b - a
    if empty > 0:  # leading days without any check: data start inside the previous month
        return {
            "month": start_prev.isoformat()[:7],
            "setups": int(daily[a:b].sum()),
            "visitors": previous_visitors,
            "countries": None,
            "change": None,
            "complete": False,
            "days": b - a,
            "days_with_data": b - a - empty,
            "note": f"the data start on {cube.days[a + empty]}: no comparison with an "
            "incomplete month",
        }
    setups = int(cube.counts[a:b].sum())
    current = int(cube.counts[b:end].sum())

    def change(now: float | None, before: float | None) -> float | None:
        return None if not before or now is None or before < k else round(now / before - 1, 6)

    def block(series: np.ndarray) -> dict[str, Any]:
        before, now = int(series[a:b].sum()), int(series[b:end].sum())
        rate, low, high = rate_ratio(series[b:end], series[a:b], weekdays[b:end], weekdays[a:b])
        hidden = min(before, now) < k
        return {
            "previous": before,  # raw: the report protects them (report.protect._protect_previous)
            "current": now,
            "change": None if hidden else change(now, before),
            "rate_change": None if hidden or not math.isfinite(rate) else round(rate, 6),
            "rate_ci": None
            if hidden or not math.isfinite(rate)
            else [round(low, 6), round(high, 6)],
        }

    tools = {t: block(cube.series(t)) for t, n in cube.by_tool(a, end).items() if n > 0}
    devices = {
        d: block(cube.series(None, f"device:{d}"))
        for d, n in cube.by_device(a, end).items()
        if n > 0
    }
    regions = {r: block(cube.series(None, f"region:{r}")) for r in ("US", "rest")}
    everything = block(cube.series())
    return {
        "month": start_prev.isoformat()[:7],
        "setups": setups,
        "visitors": previous_visitors,
        "countries": int((cube.counts[a:b].sum(axis=(0, 1, 2)) > 0).sum()),
        "change": change(current, setups),
        "visitors_change": change(visitors, previous_visitors),
        "rate_change": everything["rate_change"],
        "rate_ci": everything["rate_ci"],
        "complete": True,
        "days": b - a,
        "tools": tools,
        "devices": devices,
        "regions": regions,
    }
