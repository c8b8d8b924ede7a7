"""The "normal" a day is compared with: a trailing, masked, day-of-week-adjusted baseline.

Method (``analytics_anchors.md`` §3.3; PostHog's ``training_offset``, Prophet's "remove
outliers from history", S-H-ESD's robust statistics):

1. **Window.** Days ``t−28 … t−1``: four whole weeks, so each weekday appears four times; the
   day itself is never in its own baseline.
2. **Mask.** Days already flagged for this series are left out, and flagged days are never
   put back: if fewer than 14 unflagged days remain in the window, the look-back extends to
   ``3 × window`` days to find up to ``window`` unflagged ones; with 7–13 found the result is
   marked ``low_confidence``, with fewer there is no baseline (the day is not tested). (An
   earlier version fell back to the unmasked window, so a surge lasting more than two weeks
   became its own normal.) With fewer than 14 days of history at all, there is no baseline.
   The monthly report does not use this trailing baseline but a fixed reference
   (:mod:`~marginscope.analytics.reference`); this one serves live alerts.
3. **Level and weekday factors.** ``L₀`` = median count; raw factor ``f_d`` = median of
   ``count / L₀`` over the window days falling on weekday ``d``. The factors are shrunk toward
   1 by positive-part James–Stein (Efron & Morris 1975): ``f = 1 + s (f_raw − 1)``,
   ``s = max(0, 1 − V / mean((f_raw − 1)²))`` where ``V`` is the sampling variance of a
   four-point median, ``(π/2) σ² / n_d`` with σ the robust (1.4826 · MAD) relative residual.
   Real weekly rhythms survive; noise does not. Level ``L`` = median of ``count / f_dow``.
4. **Expected.** ``E_t = L · f_{dow(t)}``.
5. **Dispersion.** Quasi-Poisson ``φ`` = mean squared Pearson residual over the window,
   winsorised at three robust SDs (see :func:`_dispersion`), floored at 1. Each day's
   residual is taken against a weekday factor computed *without* that day (leave-one-out;
   in-sample residuals of a four-point median understate the noise) and divided by its
   variance inflation ``1 + s² · Var(median of the other days)`` (Rider 1960).
6. **Uncertainty of E.** ``Var(log E) ≈ (π/2) φ / Σ y  +  s² (π/2) φ / Σ y_{dow(t)}``: level
   and weekday factor, each a median (asymptotic efficiency 2/π of the mean).
7. **Normal range.** 10th–90th percentile of the window days rescaled to day t's weekday
   (``y_i · f_{dow(t)} / f_{dow(i)}``): what "normal" looked like, day to day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

import numpy as np

__all__ = ["MIN_BASELINE_DAYS", "WINDOW_DAYS", "Baseline", "dow_baseline"]

WINDOW_DAYS = 28
MIN_BASELINE_DAYS = 14
MAD_SCALE = 1.4826
WINSOR_3 = 0.9707
"""E[min(Z², 9)] for standard normal Z: the bias of a squared residual winsorised at 3σ."""
MEDIAN_EFFICIENCY = math.pi / 2


@dataclass(frozen=True)
class Baseline:
    """The expected count of one series on one day, and how sure we are of it.

    Attributes
    ----------
    expected : float
        ``E_t`` (checks).
    level, factor : float
        ``L`` and the (shrunk) weekday factor of day t.
    dispersion : float
        Quasi-Poisson φ ≥ 1 of the window days around their fitted values.
    days : int
        Window days used; ``masked`` of them were left out as already flagged.
    window_sum : float
        Checks on the days used.
    log_variance : float
        Variance of ``log E_t`` (level + weekday factor).
    normal_low, normal_high : float
        10th and 90th percentile of the window days in day t's weekday terms.
    low_confidence : bool
        Masking left fewer than ``min_days`` unflagged days (at least 7 were used).
    degrees_of_freedom : int
        For the Student-t reference of the test: window days − 8 (level and weekday
        factors), at least 5; φ is estimated, not known.
    day_variance : float or None
        σ̂², the multiplicative (log-normal) day variance beyond Poisson, when the baseline
        comes from a fixed reference (:mod:`~marginscope.analytics.reference`); None for the
        quasi-Poisson trailing baseline.
    """

    expected: float
    level: float
    factor: float
    dispersion: float
    days: int
    masked: int
    window_sum: float
    log_variance: float
    normal_low: float
    normal_high: float
    low_confidence: bool
    degrees_of_freedom: int = 20
    day_variance: float | None = None


_MEDIAN_VARIANCE = {1: 1.0, 2: 0.5, 3: 0.449, 4: 0.343, 5: 0.287}
"""Variance of the median of n standard normals (n = 1 … 5; Rider 1960), used to undo the
extra spread of a leave-one-out residual."""


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (NumPy's default) of a short list, ``q`` in [0, 100]."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mad(values: list[float]) -> float:
    centre = median(values)
    return median([abs(v - centre) for v in values])


def _weekday_factors(y: list[float], weekdays: list[int], level: float
                     ) -> tuple[list[float], float, list[float], list[float], list[float]]:
    """Shrunk factors (7), the shrinkage s, checks per weekday (7), per window day the
    factor of its weekday computed without that day (leave-one-out, shrunk alike), and per
    window day the variance inflation of that leave-one-out residual.

    Plain Python on ≤ 28 numbers: NumPy's per-call overhead would dominate (1,650 baselines
    a month).
    """
    ratio = [v / level for v in y]
    groups: dict[int, list[int]] = {}
    for i, day in enumerate(weekdays):
        groups.setdefault(day, []).append(i)
    raw = [1.0] * 7
    per_day = [0.0] * 7
    loo_raw = [1.0] * len(y)
    loo_count = [0] * len(y)
    for day, members in groups.items():
        values = [ratio[i] for i in members]
        raw[day] = max(median(values), 1e-9)  # a weekday mostly at 0 (sparse series): no 0/0
        per_day[day] = sum(y[i] for i in members)
        for j, i in enumerate(members):
            others = values[:j] + values[j + 1:]
            loo_raw[i] = median(others) if others else 1.0
            loo_count[i] = len(others)
    # a weekday whose median is 0 (a sparse series) is measured against the level alone
    residual = [y[i] / (level * (raw[weekdays[i]] or 1.0)) - 1.0 for i in range(len(y))]
    sigma = MAD_SCALE * _mad(residual)
    present = list(groups)
    spread = sum((raw[d] - 1.0) ** 2 for d in present) / len(present)
    noise = sum(MEDIAN_EFFICIENCY * sigma**2 / len(groups[d]) for d in present) / len(present)
    shrink = max(0.0, 1.0 - noise / spread) if spread > 0 else 0.0
    inflation = [1.0 + shrink**2 * (_MEDIAN_VARIANCE.get(n, MEDIAN_EFFICIENCY / n) if n else 0.0)
                 for n in loo_count]
    return ([1.0 + shrink * (f - 1.0) for f in raw], shrink, per_day,
            [1.0 + shrink * (f - 1.0) for f in loo_raw], inflation)


def _dispersion(pearson: list[float]) -> float:
    """Quasi-Poisson φ ≥ 1: mean squared Pearson residual, winsorised at ±3 robust SDs.

    The plain mean (McCullagh & Nelder §4.5) is efficient but one unmasked outlier inflates
    it; the median of r² is robust but has a ~45 % relative error on 28 days, which made
    φ = 1 far too often in tests on synthetic months. Winsorising at 3 · (1.4826 · MAD)
    keeps most of the efficiency; ``WINSOR_3`` undoes the clipping's bias for normal data.
    """
    robust = max(MAD_SCALE * _mad(pearson), 1.0)
    bound = 3.0 * robust
    clipped = [min(max(r, -bound), bound) for r in pearson]
    return max(1.0, sum(r * r for r in clipped) / len(clipped) / WINSOR_3)


MIN_MASKED_DAYS = 7
"""Fewest unflagged days a masked trailing baseline is computed from (one per weekday)."""
LOOKBACK_WINDOWS = 3
"""How many windows back the trailing baseline looks for unflagged days."""


def unflagged_window(t: int, excluded: np.ndarray | None, *, window: int = WINDOW_DAYS,
                     usable: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Days the trailing baseline of day ``t`` uses, and how many flagged days it skipped.

    The latest ``window`` days before ``t`` that are not ``excluded`` (and are ``usable``),
    looking back at most ``LOOKBACK_WINDOWS × window`` days; flagged days are never used.
    """
    days = np.arange(max(0, t - LOOKBACK_WINDOWS * window), t)
    if usable is not None:
        days = days[np.asarray(usable, dtype=bool)[days]]
    if excluded is None:
        return days[-window:], 0
    flags = np.asarray(excluded, dtype=bool)
    recent = days[days >= t - window]
    clean = days[~flags[days]]
    return clean[-window:], int(flags[recent].sum())


def dow_baseline(counts: np.ndarray, weekdays: np.ndarray, t: int,
                 excluded: np.ndarray | None = None, *, window: int = WINDOW_DAYS,
                 min_days: int = MIN_BASELINE_DAYS) -> Baseline | None:
    """Baseline of ``counts[t]`` from the ``window`` days before it (see the module docstring).

    Parameters
    ----------
    counts : array of int
        The series on a zero-filled consecutive calendar.
    weekdays : array of int
        Monday = 0 … Sunday = 6, aligned with ``counts``.
    t : int
        The day to score.
    excluded : array of bool, optional
        Days already flagged for this series (left out of the window).

    Returns
    -------
    Baseline or None
        None when fewer than ``min_days`` days precede ``t``.
    """
    counts = np.asarray(counts, dtype=float)
    if t < min_days:
        return None
    keep, masked = unflagged_window(t, excluded, window=window)
    if keep.size < min(MIN_MASKED_DAYS, min_days):
        return None
    low_confidence = keep.size < min_days
    y = counts[keep].tolist()
    w = np.asarray(weekdays)[keep].tolist()
    total = float(sum(y))
    level0 = median(y)
    target = int(weekdays[t])
    if level0 <= 0 or total <= 0:
        mean = total / len(y)
        return Baseline(expected=mean, level=mean, factor=1.0, dispersion=1.0, days=len(y),
                        masked=masked, window_sum=total, log_variance=math.inf,
                        normal_low=_percentile(y, 10), normal_high=_percentile(y, 90),
                        low_confidence=low_confidence)
    factors, shrink, per_weekday, loo_factors, inflation = _weekday_factors(y, w, level0)
    level = median([v / factors[d] for v, d in zip(y, w, strict=True)])
    expected = level * factors[target]
    pearson = [(v - level * f) / math.sqrt(max(level * f, 1e-9) * g)
               for v, f, g in zip(y, loo_factors, inflation, strict=True)]
    dispersion = _dispersion(pearson)
    log_variance = MEDIAN_EFFICIENCY * dispersion / total
    if per_weekday[target] > 0:
        log_variance += shrink**2 * MEDIAN_EFFICIENCY * dispersion / per_weekday[target]
    rescaled = [v * factors[target] / factors[d] for v, d in zip(y, w, strict=True)]
    return Baseline(expected=expected, level=level, factor=factors[target],
                    dispersion=dispersion, days=len(y), masked=masked, window_sum=total,
                    log_variance=log_variance, normal_low=_percentile(rescaled, 10),
                    normal_high=_percentile(rescaled, 90), low_confidence=low_confidence,
                    degrees_of_freedom=max(5, len(y) - 8))
