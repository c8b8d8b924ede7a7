"""Lift against lift: did tool A rise more than tool B (on a day or over a span)?

Estimand (``analytics_methods.md`` §9): the ratio of lifts ``RL = (Y_A/Ê_A) / (Y_B/Ê_B)``,
``log RL = r_A − r_B``; "+28 % more than" means ``RL − 1``. Both lifts share the day's shock,
so the variance comes from the **paired** reference residuals ``d_t = e_A,t − e_B,t`` (each
``e`` the series' log residual from its own reference fit, :mod:`.reference`):
``s_d² = Σ d_t² / (n − p)`` and

* one day: ``V = s_d² (1 + w̄²/n_d + (1 − w̄²)/n)`` (the day's paired noise plus the error of
  both weekday-adjusted expectations; ``w̄`` the mean weekday weight of the two fits);
* a span of k days: ``V = s_d² ((1 + ρ)/(1 − ρ) / k + 1/n)`` (ρ the lag-1 autocorrelation of
  ``d``, 0 if negative; weekday errors cancel over whole weeks).

Test ``t = log RL / √V`` (Student t, ``n − p`` df, two-sided), interval ``RL · exp(± c √V)``
with ``c`` the lift family's critical value when given. Adding the two lifts' variances as if
independent would hide real differences; ignoring the expectations' error would overstate them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.cube import DailyCube
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.lift import t_tail
from marginscope.analytics.names import tool_name
from marginscope.analytics.reference import fit_reference
from marginscope.analytics.spikes import SeriesTest, bh_adjust

__all__ = ["LiftRatio", "lift_ratio", "lift_ratio_findings", "ratio_of_lifts"]


@dataclass(frozen=True)
class LiftRatio:
    """``RL`` of tool A over tool B with its interval and test."""

    tool_a: str
    tool_b: str
    start: str
    end: str
    lift_a: float
    lift_b: float
    ratio: float
    low: float
    high: float
    variance: float
    t: float
    p_value: float
    degrees_of_freedom: int

    @property
    def points(self) -> float:
        """Difference of the two lifts in percentage points."""
        return 100.0 * (self.lift_a - self.lift_b)


def ratio_of_lifts(
    lift_a: float,
    lift_b: float,
    variance: float,
    degrees_of_freedom: int,
    *,
    critical: float | None = None,
) -> tuple[float, float, float, float, float]:
    """``(RL, low, high, t, p)`` from two lifts (fractions) and ``V`` (see the docstring)."""
    log_rl = math.log1p(lift_a) - math.log1p(lift_b)
    se = math.sqrt(variance)
    c = student_t.ppf(0.975, degrees_of_freedom) if critical is None else critical
    t = log_rl / se if se > 0 else math.inf
    return (
        math.exp(log_rl),
        math.exp(log_rl - c * se),
        math.exp(log_rl + c * se),
        t,
        t_tail(t, degrees_of_freedom, "both"),
    )


def lift_ratio(
    cube: DailyCube,
    tool_a: str,
    tool_b: str,
    span: tuple[int, int],
    reference: tuple[int, int],
    *,
    segment: str = "all",
    critical: float | None = None,
) -> LiftRatio | None:
    """Ratio of the lifts of ``tool_a`` and ``tool_b`` over days ``span`` (end exclusive)
    against the ``reference`` days; None when either series has no reference fit."""
    ref = slice(*reference)
    weekdays = cube.weekdays
    fits, residuals, lifts = [], [], []
    for tool in (tool_a, tool_b):
        y = cube.series(tool, segment).astype(float)
        fit = fit_reference(y[ref], weekdays[ref])
        if fit is None:
            return None
        expected = np.exp([fit.log_expected(int(d)) for d in weekdays])
        fits.append(fit)
        residuals.append(np.log(np.maximum(y[ref], 0.5)) - np.log(expected[ref]))
        lifts.append(float(y[span[0] : span[1]].sum() / expected[span[0] : span[1]].sum() - 1.0))
    d = residuals[0] - residuals[1]
    n = d.size
    fitted = max(int((fits[0].per_weekday > 0).sum()) if max(f.weight for f in fits) > 0 else 1, 1)
    df = max(1, n - fitted)
    s2 = float((d - d.mean()) @ (d - d.mean())) / df
    k = span[1] - span[0]
    if k == 1:
        w2 = float(np.mean([f.weight for f in fits])) ** 2
        n_d = float(np.mean([f.per_weekday[int(weekdays[span[0]])] for f in fits]))
        variance = s2 * (1.0 + w2 / max(n_d, 1.0) + (1.0 - w2) / n)
    else:
        centred = d - d.mean()
        rho = (
            max(0.0, float(centred[1:] @ centred[:-1]) / float(centred @ centred))
            if float(centred @ centred) > 0
            else 0.0
        )
        variance = s2 * ((1.0 + rho) / (1.0 - rho) / k + 1.0 / n)
    ratio, low, high, t, p = ratio_of_lifts(lifts[0], lifts[1], variance, df, critical=critical)
    days = cube.days
    return LiftRatio(
        tool_a=tool_a,
        tool_b=tool_b,
        start=str(days[span[0]]),
        end=str(days[span[1] - 1]),
        lift_a=lifts[0],
        lift_b=lifts[1],
        ratio=ratio,
        low=low,
        high=high,
        variance=variance,
        t=t,
        p_value=p,
        degrees_of_freedom=df,
    )


def lift_ratio_findings(
    cube: DailyCube, spikes: Sequence[SeriesTest], reference: tuple[int, int], *, fdr: float = 0.05
) -> list[DetailFinding]:
    """On each day with at least two tools flagged (all segments), the largest lift against
    the second: ``lift_ratio`` findings when q ≤ ``fdr`` (BH across the month's pairs)."""
    by_day: dict[int, list[SeriesTest]] = {}
    for test in spikes:
        if test.flagged and test.tool is not None and test.segment == "all":
            by_day.setdefault(test.day, []).append(test)
    results = []
    for day, tests in sorted(by_day.items()):
        if len(tests) < 2:
            continue
        first, second = sorted(tests, key=lambda s: -(s.result.lift or 0.0))[:2]
        result = lift_ratio(cube, first.tool, second.tool, (day, day + 1), reference)
        if result is not None:
            results.append(result)
    q = bh_adjust([r.p_value for r in results])
    out = []
    for r, q_value in zip(results, q, strict=True):
        if q_value > fdr:
            continue
        text = (
            f"{span_text(r.start, r.end)}: {tool_name(r.tool_a)} checks rose "
            f"{r.ratio - 1:+.0%} more than {tool_name(r.tool_b)} checks (lifts "
            f"{r.lift_a:+.0%} vs {r.lift_b:+.0%}; ratio of lifts {r.ratio:.2f}, 95% CI "
            f"{r.low:.2f}–{r.high:.2f}, paired against the reference)."
        )
        out.append(
            DetailFinding(
                kind="lift_ratio",
                start=r.start,
                end=r.end,
                text=text,
                p_value=r.p_value,
                q_value=float(q_value),
                fields={
                    "tool": r.tool_a,
                    "tool_a": r.tool_a,
                    "tool_b": r.tool_b,
                    "lift_a": r.lift_a,
                    "lift_b": r.lift_b,
                    "ratio": r.ratio,
                    "ratio_ci": [r.low, r.high],
                    "difference_points": r.points,
                },
            )
        )
    return out
