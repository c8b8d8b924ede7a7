"""Share shifts: the U.S., mobile and desktop share of checks against their normal share.

For a segment S (``region:US``, ``device:mobile``, ``device:desktop``) and a tool (or all
tools), the day's share is ``s_t = S_t / total_t``. Method (``analytics_anchors.md`` §3.4):

* **Normal share** ``p₀``: the median daily share over the trailing 28 days (``t−28 … t−1``,
  days already flagged for this share left out, as for counts); **normal range**: their 10th
  and 90th percentiles.
* **Spread.** Binomial intervals are too narrow under overdispersion, so the baseline's own
  day-to-day spread is used: on the logit scale, the between-day variance
  ``σ_b² = max(0, (1.4826 · MAD)² − median binomial variance)``; the binomial variance of a
  share is ``1 / (n p (1 − p))``.
* **Test** (two-sided): ``z = (logit s_t − logit p₀) / √(max(σ², σ_b² + v_t) + v₀)``, with
  ``σ²`` the window's total logit variance (1.4826 · MAD)², ``v_t`` the day's binomial variance
  and ``v₀ = (π/2)(σ_b² + mean v)/n_days`` the median's; the day's variance is never taken
  below the window's typical day (a busy day is not a more precise one when the noise is
  multiplicative, and σ_b² is often estimated as 0 from 28 days); the p-value is Student-t
  with window days − 1 degrees of freedom (the spread is estimated). Benjamini–Hochberg
  across every share tested that day; a flag also needs a change of at least ``min_points``
  percentage points, a denominator of at least ``min_denominator`` and a numerator of at least
  ``min_count`` (never below the small-cell k: a published share shows its count).
* **Reported**: share and normal share (fractions), the change in percentage points, the ratio
  ``s_t / p₀`` with a 95 % interval ``expit(logit s_t ± 1.96 · the same scale) / p₀``.

**Fixed reference** (``reference=(first, end)``, what the monthly report uses;
``analytics_methods.md`` §1–§4): the normal share is the ratio of sums over the reference days
(days with robust |z| > 3.5 on the logit screened out, at most 4), never the month's own days;
``σ_b² = max(0, Var(logit s_d) − mean binomial variance)`` over the reference,
``v₀ = Var(logit s_d) / n`` the normal share's estimation error. Test (two-sided, Student t,
``n − 1`` df): ``z = (logit s_t − logit p₀) / √(σ_b² + v_t + v₀)``; Benjamini–Hochberg across
**all the month's share tests**; the interval of the ratio ``expit(logit s_t ± c √(v_t + v₀)) /
p₀`` and the normal band ``expit(logit p₀ ± c √(σ_b² + v̄ + v₀))`` use the family's one
critical value ``c_R`` (:func:`~marginscope.analytics.reference.family_critical`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, median

import numpy as np

from marginscope.analytics.baseline import (
    MAD_SCALE,
    MEDIAN_EFFICIENCY,
    MIN_BASELINE_DAYS,
    MIN_MASKED_DAYS,
    WINDOW_DAYS,
    _percentile,
    unflagged_window,
)
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.lift import normal_tail, t_tail, t_to_z
from marginscope.analytics.reference import MAX_SCREENED, SCREEN_Z, family_critical
from marginscope.analytics.spikes import bh_adjust

__all__ = ["SHARE_SEGMENTS", "ShareBaseline", "ShareFit", "ShareRules", "ShareTest",
           "fit_share_reference", "scan_shares", "share_baseline"]

SHARE_SEGMENTS: tuple[str, ...] = ("region:US", "device:mobile", "device:desktop")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class ShareRules:
    """Thresholds of a share-shift flag (see the module docstring)."""

    fdr: float = 0.05
    min_points: float = 3.0
    min_denominator: int = 50
    min_count: int = 10
    confidence: float = 0.95


@dataclass(frozen=True)
class ShareBaseline:
    """The normal share of a segment and its day-to-day spread (logit scale)."""

    share: float
    low: float
    high: float
    between_variance: float
    total_variance: float
    median_variance: float
    days: int
    low_confidence: bool


@dataclass(frozen=True)
class ShareTest:
    """One (tool, segment, day) share against its normal share."""

    day: int
    date: str
    tool: str | None
    segment: str
    numerator: int
    denominator: int
    share: float
    baseline: ShareBaseline
    ratio: float
    ratio_low: float
    ratio_high: float
    z: float
    p_value: float
    q_value: float
    flagged: bool
    reason: str

    @property
    def points(self) -> float:
        """Change in percentage points."""
        return 100.0 * (self.share - self.baseline.share)


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    return np.log(p) - np.log1p(-p)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _smoothed(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Share with a half-count continuity correction, so 0 and 1 stay finite on the logit."""
    return (numerator + 0.5) / (denominator + 1.0)


def share_baseline(numerator: np.ndarray, denominator: np.ndarray, t: int,
                   excluded: np.ndarray | None = None, *, window: int = WINDOW_DAYS,
                   min_days: int = MIN_BASELINE_DAYS) -> ShareBaseline | None:
    """Normal share of day ``t`` from the trailing window (None: too little history)."""
    recent = np.arange(max(0, t - window), t)
    if recent[denominator[recent] > 0].size < min_days:
        return None
    keep, _ = unflagged_window(t, excluded, window=window, usable=denominator > 0)
    if keep.size < min(MIN_MASKED_DAYS, min_days):
        return None
    low_confidence = keep.size < min_days
    nums, dens = numerator[keep].tolist(), denominator[keep].tolist()
    raw = [a / b for a, b in zip(nums, dens, strict=True)]
    smoothed = [(a + 0.5) / (b + 1.0) for a, b in zip(nums, dens, strict=True)]
    logits = [math.log(v / (1.0 - v)) for v in smoothed]
    binomial = [1.0 / (b * v * (1.0 - v)) for b, v in zip(dens, smoothed, strict=True)]
    centre = median(logits)
    mad = MAD_SCALE * median([abs(v - centre) for v in logits])
    between = max(0.0, mad**2 - median(binomial))
    return ShareBaseline(share=median(raw), low=_percentile(raw, 10), high=_percentile(raw, 90),
                         between_variance=between, total_variance=mad**2,
                         median_variance=MEDIAN_EFFICIENCY * (between + sum(binomial)
                                                              / len(binomial)) / len(keep),
                         days=len(keep), low_confidence=low_confidence)


def _reason(num: int, den: int, share: float, normal: float, q_value: float,
            rules: ShareRules) -> str:
    """Why a share test is not a flag ("" when it is one)."""
    if den < rules.min_denominator:
        return "denominator below minimum"
    if num < rules.min_count:
        return "numerator below minimum (small cell)"
    if abs(100.0 * (share - normal)) < rules.min_points:
        return "change below minimum"
    if q_value > rules.fdr:
        return "not significant after BH"
    return ""


def scan_shares(cube: DailyCube, start: int, end: int, rules: ShareRules | None = None,
                series: Sequence[tuple[str | None, str]] | None = None, *,
                reference: tuple[int, int] | None = None) -> list[ShareTest]:
    """Test the shares of days ``[start, end)``.

    With ``reference`` (day indices ``[first, end)``) against that fixed reference, BH across
    the month; otherwise against the trailing window, flagged shares leaving later baselines.
    """
    rules = rules or ShareRules()
    if series is None:
        tools = [t for t, n in cube.by_tool().items() if n > 0]
        series = [(tool, segment) for tool in (None, *tools) for segment in SHARE_SEGMENTS]
    data = {key: (cube.series(key[0], key[1]), cube.series(key[0], "all")) for key in series}
    if reference is not None:
        return _scan_reference(cube, start, end, rules, data, reference)
    flagged = {key: np.zeros(len(cube.days), dtype=bool) for key in series}
    z_crit = _NORMAL.inv_cdf(0.5 + rules.confidence / 2)
    tests: list[ShareTest] = []
    for t in range(start, end):
        scored = []
        for key in series:
            numerator, denominator = data[key]
            if denominator[t] <= 0:
                continue
            base = share_baseline(numerator, denominator, t, flagged[key])
            if base is None or not 0 < base.share < 1:
                continue
            smoothed = float(_smoothed(numerator[t], denominator[t]))
            v_t = 1.0 / (denominator[t] * smoothed * (1.0 - smoothed))
            p0 = min(max(base.share, 1e-6), 1 - 1e-6)
            spread = math.sqrt(max(base.total_variance, base.between_variance + v_t)
                               + base.median_variance)
            z = (float(_logit(smoothed)) - float(_logit(p0))) / spread
            low = _expit(float(_logit(smoothed)) - z_crit * spread) / p0
            high = _expit(float(_logit(smoothed)) + z_crit * spread) / p0
            share = float(numerator[t] / denominator[t])
            scored.append((key, int(numerator[t]), int(denominator[t]), share, base,
                           share / p0, low, high, z,
                           normal_tail(t_to_z(z, max(5, base.days - 1)), "both")))
        if not scored:
            continue
        q = bh_adjust([row[-1] for row in scored])
        for row, q_value in zip(scored, q, strict=True):
            key, num, den, share, base, ratio, low, high, z, p = row
            reason = _reason(num, den, share, base.share, float(q_value), rules)
            hit = reason == ""
            if hit:
                flagged[key][t] = True
            tests.append(ShareTest(day=t, date=str(cube.days[t]), tool=key[0], segment=key[1],
                                   numerator=num, denominator=den, share=share, baseline=base,
                                   ratio=ratio, ratio_low=low, ratio_high=high, z=z, p_value=p,
                                   q_value=float(q_value), flagged=hit, reason=reason))
    return tests


@dataclass(frozen=True)
class ShareFit:
    """A share fitted on the reference: the normal share and its logit-scale spread."""

    share: float
    between_variance: float
    total_variance: float
    estimate_variance: float
    typical_variance: float
    days: int

    @property
    def degrees_of_freedom(self) -> int:
        """Reference days − 1."""
        return max(1, self.days - 1)

    def baseline(self, critical: float) -> ShareBaseline:
        """The :class:`ShareBaseline` with the normal band at the critical value ``c``."""
        centre = float(_logit(self.share))
        half = critical * math.sqrt(self.between_variance + self.typical_variance
                                    + self.estimate_variance)
        return ShareBaseline(share=self.share, low=_expit(centre - half),
                             high=_expit(centre + half), between_variance=self.between_variance,
                             total_variance=self.total_variance,
                             median_variance=self.estimate_variance, days=self.days,
                             low_confidence=False)


def fit_share_reference(numerator: np.ndarray, denominator: np.ndarray) -> ShareFit | None:
    """Normal share of the reference days (arrays of those days only); None when fewer than
    14 days have checks or the share is 0 or 1."""
    use = np.asarray(denominator) > 0
    nums = np.asarray(numerator, dtype=float)[use]
    dens = np.asarray(denominator, dtype=float)[use]
    if nums.size < MIN_BASELINE_DAYS:
        return None
    smoothed = _smoothed(nums, dens)
    logits = np.asarray(_logit(smoothed))
    deviation = np.abs(logits - np.median(logits))
    mad = MAD_SCALE * float(np.median(deviation))
    keep = np.ones(nums.size, dtype=bool)
    if mad > 0:
        for i in np.argsort(-deviation, kind="stable")[:MAX_SCREENED]:
            if deviation[i] / mad > SCREEN_Z:
                keep[i] = False
    share = float(nums[keep].sum() / dens[keep].sum())
    if not 0 < share < 1:
        return None
    binomial = 1.0 / (dens[keep] * smoothed[keep] * (1.0 - smoothed[keep]))
    total = float(np.var(logits[keep], ddof=1))
    n = int(keep.sum())
    return ShareFit(share=share, between_variance=max(0.0, total - float(binomial.mean())),
                    total_variance=total, estimate_variance=total / n,
                    typical_variance=float(binomial.mean()), days=n)


def _scan_reference(cube: DailyCube, start: int, end: int, rules: ShareRules,
                    data: dict[tuple[str | None, str], tuple[np.ndarray, np.ndarray]],
                    reference: tuple[int, int]) -> list[ShareTest]:
    """Fixed-reference scan of shares: one fit per series, BH and ``c_R`` per month."""
    ref = slice(*reference)
    fits = {key: fit_share_reference(num[ref], den[ref]) for key, (num, den) in data.items()}
    scored = []
    for t in range(start, end):
        for key, (numerator, denominator) in data.items():
            fit = fits[key]
            if fit is None or denominator[t] <= 0:
                continue
            smoothed = float(_smoothed(numerator[t], denominator[t]))
            v_t = 1.0 / (denominator[t] * smoothed * (1.0 - smoothed))
            spread = math.sqrt(fit.between_variance + v_t + fit.estimate_variance)
            z = (float(_logit(smoothed)) - float(_logit(fit.share))) / spread
            scored.append((t, key, fit, smoothed, v_t, z,
                           t_tail(z, fit.degrees_of_freedom, "both")))
    q = bh_adjust([row[-1] for row in scored])
    selected = int((q <= rules.fdr).sum())
    tests: list[ShareTest] = []
    for (t, key, fit, smoothed, v_t, z, p), q_value in zip(scored, q, strict=True):
        numerator, denominator = data[key]
        critical = family_critical(rules.fdr, selected, len(scored), fit.degrees_of_freedom)
        half = critical * math.sqrt(v_t + fit.estimate_variance)
        centre = float(_logit(smoothed))
        share = float(numerator[t] / denominator[t])
        num, den = int(numerator[t]), int(denominator[t])
        reason = _reason(num, den, share, fit.share, float(q_value), rules)
        tests.append(ShareTest(day=t, date=str(cube.days[t]), tool=key[0], segment=key[1],
                               numerator=num, denominator=den, share=share,
                               baseline=fit.baseline(critical), ratio=share / fit.share,
                               ratio_low=_expit(centre - half) / fit.share,
                               ratio_high=_expit(centre + half) / fit.share, z=z, p_value=p,
                               q_value=float(q_value), flagged=reason == "", reason=reason))
    return tests
