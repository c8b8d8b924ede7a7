"""A calm, fixed reference: "normal" that an episode in the analysed month cannot leak into.

Method (``analytics_methods.md`` §1–§3, recommended default R1; the event-study "estimation
window" of MacKinlay 1997 and CausalImpact's ``pre.period``):

1. **Span.** By default the 28 days (four whole weeks) before the month; ``--reference
   START..END`` chooses another span that ends before the month. It is fitted once and every
   day of the month is judged against that one fit, so a crisis that lasts the whole month is
   still measured against calm days on its last day.
2. **Screening.** Robust z (1.4826 · MAD) of ``log Y_t −`` the median log of the *other* kept
   days of its weekday (scaled by the leave-one-out variance inflation, Rider 1960, so a calm
   month screens out about 0.1 days); days with ``|z| > 3.5`` are dropped one at a time, the
   most unusual first and the rest judged again without it (the step of Rosner 1983's
   generalized ESD), at most 4, keeping at least 2 days per weekday.
3. **Weekday factors, multiplicative and shrunk.** ``a_d = log mean`` of the kept counts on
   weekday d, ``ā`` their mean, ``f_d = a_d − ā``; empirical-Bayes weight
   ``w = τ² / (τ² + s² · mean(1/n_d))`` with ``τ² = max(0, Σ f_d²/6 − s² · mean(1/n_d))``;
   ``w = 0`` below 50 checks a day or with fewer than 2 days on some weekday.
   ``log Ê_t = ā + w · f_dow(t)``.
4. **Noise, multiplicative as well as Poisson** (Poisson–log-normal day effect, ≈ NB2 with
   α = σ²): residual variance ``s² = Σ e_t² / (n − 7)``, extra-Poisson day variance
   ``σ̂² = max(0, s² − mean(1/Y_t))``; ``Var(log Ê_t) ≈ s² [(1 − w²)/n + w²/n_d]``.
5. **Test and interval** (:func:`marginscope.analytics.lift.lift`): "is it unusual?" uses
   ``V = σ̂² + 1/Ê + Var(log Ê)``; the interval of the lift uses ``σ̂² + 1/Y + Var(log Ê)``:
   it is the interval of the day's *underlying* lift (the shift in behaviour, which is what a
   planted effect is), so the day's own multiplicative noise is in it; both with Student's t
   on ``n − 7`` degrees of freedom and the family's one critical value (:func:`family_critical`).
   (``analytics_methods.md`` §2 drops σ̂² for the "how big was this day" interval of the
   realised count; that interval is too narrow for the underlying lift of a large spike.)
6. **Is the reference itself unusual?** :func:`reference_checks` looks, on the all-checks
   series, for screened-out days, a level shift (first vs second half beyond 2 SE), a drift
   (slope beyond 1 %/week with |t| > 2) and a large day-to-day CV; each becomes a warning the
   report prints.

Assumptions: no structural change between the reference and the month; a multiplicative weekly
pattern; roughly normal, independent log residuals (lag-1 autocorrelation is reported).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.baseline import (
    _MEDIAN_VARIANCE,
    MAD_SCALE,
    MEDIAN_EFFICIENCY,
    Baseline,
)
from marginscope.errors import InputError

__all__ = [
    "MIN_REFERENCE_DAYS",
    "REFERENCE_DAYS",
    "ReferenceFit",
    "default_reference",
    "family_critical",
    "fit_reference",
    "parse_reference",
    "reference_checks",
]

REFERENCE_DAYS = 28
MIN_REFERENCE_DAYS = 14
SCREEN_Z = 3.5
MAX_SCREENED = 4
MIN_PER_WEEKDAY = 2
MIN_WEEKLY_LEVEL = 50.0
"""Below this many checks a day the weekday factors are not used (w = 0)."""


def default_reference(first: date) -> tuple[date, date]:
    """The 28 days before ``first`` (inclusive ISO bounds)."""
    return first - timedelta(days=REFERENCE_DAYS), first - timedelta(days=1)


def parse_reference(text: str, first: date) -> tuple[date, date]:
    """``START..END`` (inclusive ISO days, ending before ``first``, at least 14 days)."""
    allowed = (
        f"START..END, ISO days ending before {first.isoformat()}, at least "
        f"{MIN_REFERENCE_DAYS} days (e.g. 2025-10-01..2025-10-31)"
    )
    head, sep, tail = str(text).partition("..")
    try:
        start, end = date.fromisoformat(head.strip()), date.fromisoformat(tail.strip())
    except ValueError:
        raise InputError("--reference", text, allowed) from None
    if not sep or end < start or end >= first or (end - start).days + 1 < MIN_REFERENCE_DAYS:
        raise InputError("--reference", text, allowed)
    return start, end


@dataclass(frozen=True)
class ReferenceFit:
    """One series fitted on the reference (see the module docstring for the symbols).

    Attributes
    ----------
    level : float
        ``ā`` (log scale).
    factors : numpy.ndarray
        Unshrunk log weekday factors ``f_d`` (7; 0 where a weekday has no kept day).
    weight : float
        Empirical-Bayes weight ``w`` of the weekday factors.
    residual_variance, day_variance : float
        ``s²`` and ``σ̂²``.
    days, dropped : int
        Reference days kept and screened out.
    per_weekday : numpy.ndarray
        ``n_d`` (7).
    mean_count : float
        Mean kept count per day.
    rho : float
        Lag-1 autocorrelation of the log residuals (kept days, in order).
    """

    level: float
    factors: np.ndarray
    weight: float
    residual_variance: float
    day_variance: float
    days: int
    dropped: int
    per_weekday: np.ndarray
    mean_count: float
    rho: float

    @property
    def degrees_of_freedom(self) -> int:
        """``n − p``: kept days minus the fitted level and weekday factors (at least 1)."""
        fitted = int((self.per_weekday > 0).sum()) if self.weight > 0 else 1
        return max(1, self.days - fitted)

    def log_expected(self, weekday: int) -> float:
        """``log Ê`` on a weekday."""
        return self.level + self.weight * float(self.factors[weekday])

    def log_variance(self, weekday: int) -> float:
        """``Var(log Ê)``: level error plus the (shrunk) weekday factor's error."""
        n_d = max(float(self.per_weekday[weekday]), 1.0)
        w2 = self.weight**2
        return self.residual_variance * ((1.0 - w2) / self.days + w2 / n_d)

    def baseline(self, weekday: int, critical: float) -> Baseline:
        """The :class:`~marginscope.analytics.baseline.Baseline` of a day on ``weekday``;
        its normal range is ``Ê · exp(± c √V)`` with the family's critical value ``c``."""
        expected = math.exp(self.log_expected(weekday))
        log_variance = self.log_variance(weekday)
        spread = math.sqrt(self.day_variance + 1.0 / max(expected, 0.5) + log_variance)
        return Baseline(
            expected=expected,
            level=math.exp(self.level),
            factor=math.exp(self.weight * float(self.factors[weekday])),
            dispersion=1.0 + self.day_variance * expected,
            days=self.days,
            masked=self.dropped,
            window_sum=self.mean_count * self.days,
            log_variance=log_variance,
            normal_low=expected * math.exp(-critical * spread),
            normal_high=expected * math.exp(critical * spread),
            low_confidence=False,
            degrees_of_freedom=self.degrees_of_freedom,
            day_variance=self.day_variance,
        )


def _weekday_logs(y: np.ndarray, weekdays: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``a_d`` = log of the mean kept count on weekday d (NaN where none is kept)."""
    out = np.full(7, np.nan)
    for d in range(7):
        chosen = keep & (weekdays == d)
        if chosen.any():
            out[d] = math.log(max(float(y[chosen].mean()), 0.5))
    return out


def _screen_z(logs: np.ndarray, weekdays: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Robust |z| of each kept day against the other kept days of its weekday (NaN for days
    already dropped or without another kept day of their weekday)."""
    index = np.arange(logs.size)
    residual = np.full(logs.size, np.nan)
    for i in np.flatnonzero(keep):  # leave-one-out: judged by the other days of its weekday
        others = logs[keep & (weekdays == weekdays[i]) & (index != i)]
        if others.size:
            inflation = 1.0 + _MEDIAN_VARIANCE.get(others.size, MEDIAN_EFFICIENCY / others.size)
            residual[i] = (logs[i] - np.median(others)) / math.sqrt(inflation)
    judged = residual[np.isfinite(residual)]
    if not judged.size:
        return residual
    centre = float(np.median(judged))
    mad = MAD_SCALE * float(np.median(np.abs(judged - centre)))
    return np.abs(residual - centre) / mad if mad > 0 else np.zeros(logs.size)


def _screen(y: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Kept days after dropping up to 4 with robust |z| > 3.5 (≥ 2 left per weekday).

    One day at a time, the most unusual first, and the others judged again without it (as
    Rosner's generalized ESD does): with four weeks a weekday has three other days, so two
    unusual days on one weekday (e.g. two Friday crashes) would otherwise mask each other
    and make an ordinary day of that weekday look unusual against them.
    """
    keep = np.ones(y.size, dtype=bool)
    logs = np.log(np.maximum(y, 0.5))
    for _ in range(MAX_SCREENED):
        z = _screen_z(logs, weekdays, keep)
        full = np.asarray([(keep & (weekdays == d)).sum() <= MIN_PER_WEEKDAY for d in range(7)])
        z[~np.isfinite(z) | full[weekdays]] = -np.inf
        worst = int(np.argmax(z))
        if z[worst] <= SCREEN_Z:
            break
        keep[worst] = False
    return keep


def fit_reference(counts: np.ndarray, weekdays: np.ndarray) -> ReferenceFit | None:
    """Fit one series' reference days (``counts`` and ``weekdays`` of those days only).

    Returns None when fewer than :data:`MIN_REFERENCE_DAYS` days or no checks at all.
    """
    y = np.asarray(counts, dtype=float)
    weekdays = np.asarray(weekdays, dtype=np.int64)
    if y.size < MIN_REFERENCE_DAYS or y.sum() <= 0:
        return None
    keep = _screen(y, weekdays)
    a = _weekday_logs(y, weekdays, keep)
    present = np.isfinite(a)
    per_weekday = np.asarray([(keep & (weekdays == d)).sum() for d in range(7)], dtype=float)
    level = float(a[present].mean())
    factors = np.where(present, a - level, 0.0)
    logs = np.log(np.maximum(y[keep], 0.5))
    residual = logs - a[weekdays[keep]]
    n = int(keep.sum())
    p = int(present.sum())
    s2 = float((residual**2).sum() / max(n - p, 1))
    day_variance = max(0.0, s2 - float(np.mean(1.0 / np.maximum(y[keep], 0.5))))
    inverse_nd = float(np.mean(1.0 / per_weekday[present]))
    tau2 = max(0.0, float((factors[present] ** 2).sum()) / max(p - 1, 1) - s2 * inverse_nd)
    mean_count = float(y[keep].mean())
    weight = tau2 / (tau2 + s2 * inverse_nd) if tau2 + s2 * inverse_nd > 0 else 0.0
    if mean_count < MIN_WEEKLY_LEVEL or p < 7 or per_weekday.min() < MIN_PER_WEEKDAY:
        weight = 0.0
    if weight == 0.0:  # level only: the log of the mean day
        level = math.log(max(mean_count, 0.5))
        residual = logs - level
        s2 = float((residual**2).sum() / max(n - 1, 1))
        day_variance = max(0.0, s2 - float(np.mean(1.0 / np.maximum(y[keep], 0.5))))
    centred = residual - residual.mean()
    denominator = float((centred**2).sum())
    rho = float((centred[1:] * centred[:-1]).sum() / denominator) if denominator > 0 else 0.0
    return ReferenceFit(
        level=level,
        factors=factors,
        weight=weight,
        residual_variance=s2,
        day_variance=day_variance,
        days=n,
        dropped=int(y.size - n),
        per_weekday=per_weekday,
        mean_count=mean_count,
        rho=rho,
    )


@cache  # a pure function of a few numbers, asked once per test of a family
def family_critical(
    q: float, selected: int, tests: int, degrees_of_freedom: int, *, sides: int = 2
) -> float:
    """The one critical value of a family after BH (Benjamini–Yekutieli FCR intervals).

    ``c_R = t_ν⁻¹(1 − q R / (sides · m))`` when BH at level ``q`` selects ``R`` of ``m``
    tests; with ``R = 0`` the band is drawn at ``R = 1``. Used for the flag, the normal band
    and every interval of the family, so "outside the band" ⇔ "flagged" ⇔ "interval
    excludes no change" (``analytics_methods.md`` §2).
    """
    if tests <= 0:
        return student_t.ppf(1.0 - q / sides, degrees_of_freedom)
    level = q * max(selected, 1) / (sides * tests)
    return student_t.ppf(1.0 - min(level, 0.5), degrees_of_freedom)


def reference_checks(counts: np.ndarray, weekdays: np.ndarray, first: str, last: str) -> list[str]:
    """Warnings about the reference span of the all-checks series (empty when it looks calm).

    Checks, in order: days screened out as unusual; a level shift (log ratio of the second
    half to the first beyond 2 SE); a drift (OLS slope of the log residuals beyond 1 %/week
    with |t| > 2); a day-to-day CV above 25 %.
    """
    y = np.asarray(counts, dtype=float)
    fit = fit_reference(y, weekdays)
    where = f"the reference {first}..{last}"
    if fit is None:
        return [
            f"{where} has fewer than {MIN_REFERENCE_DAYS} days with checks: "
            "no normal to compare with"
        ]
    notes = []
    if fit.dropped:
        notes.append(
            f"{where} had {fit.dropped} unusual day(s) (robust |z| > {SCREEN_Z}); "
            "they were left out of normal"
        )
    a = np.asarray([fit.log_expected(d) for d in range(7)])
    residual = np.log(np.maximum(y, 0.5)) - a[np.asarray(weekdays, dtype=np.int64)]
    half = y.size // 2
    first_half, second_half = residual[:half], residual[half:]
    shift = float(second_half.mean() - first_half.mean())
    se = math.sqrt(fit.residual_variance * (1.0 / first_half.size + 1.0 / second_half.size))
    if se > 0 and abs(shift) > 2.0 * se:
        notes.append(
            f"{where} was not level: its second half ran {math.expm1(shift):+.0%} "
            "against its first; lifts late in the month may be off by that much"
        )
    index = np.arange(y.size, dtype=float)
    centred = index - index.mean()
    slope = float((centred * residual).sum() / (centred**2).sum())
    fitted = residual.mean() + slope * centred
    resid_var = float(((residual - fitted) ** 2).sum() / max(y.size - 2, 1))
    slope_se = math.sqrt(resid_var / float((centred**2).sum()))
    if abs(slope * 7) > 0.01 and slope_se > 0 and abs(slope / slope_se) > 2:
        notes.append(
            f"{where} drifted {math.expm1(slope * 7):+.1%} a week; lifts more than "
            "two weeks into the month carry that drift"
        )
    cv = math.sqrt(fit.day_variance)
    if cv > 0.25:
        notes.append(
            f"{where} was noisy (day-to-day CV {cv:.0%} beyond Poisson): only large "
            "changes can be told from noise"
        )
    return notes
