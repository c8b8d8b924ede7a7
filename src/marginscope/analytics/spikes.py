"""Spike flags: which (tool, segment, day) series rose above normal, with few false alarms.

A day of a series is flagged when **all** of these hold (``analytics_anchors.md`` §3.3):

* the one-sided test of :func:`~marginscope.analytics.lift.lift` survives the
  **Benjamini–Hochberg** false-discovery-rate procedure at ``fdr`` (0.05) across every series
  tested that day (Benjamini & Hochberg 1995; valid for the positively dependent, overlapping
  segments used here, Benjamini & Yekutieli 2001);
* the observed count is at least ``min_count`` (20) and the expected at least
  ``min_expected`` (10): no percentages on a handful of checks;
* the absolute change is at least ``min_change`` (20 checks) **and** at least ``min_impact``
  (0.5 %) of the day's checks across all tools: Matomo's "movers and shakers" dual threshold.

Two baselines:

* **A fixed reference** (``reference=(first, end)``, what the monthly report uses;
  :mod:`~marginscope.analytics.reference`): each series is fitted once on the reference days and
  every day of the month is judged against that fit. Benjamini–Hochberg then runs across **all
  the month's tests** (every series × day), not per day, and the family's one critical value
  ``c_R`` (:func:`~marginscope.analytics.reference.family_critical`) sets the flag, the normal
  band (``normal_low``/``normal_high``) and every interval: flagged ⇔ above the band ⇔ the
  interval's lower end above 0.
* **A trailing window** (no ``reference``; live alerts): days are scanned in order; a flagged
  day is left out of the later baselines of its series (step 2 of
  :mod:`~marginscope.analytics.baseline`), so a multi-day surge is measured against the normal
  before it, not against itself; BH runs across the series tested that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import false_discovery_control

from marginscope.analytics.baseline import Baseline, dow_baseline
from marginscope.analytics.cube import SEGMENTS, DailyCube
from marginscope.analytics.lift import Lift, lift
from marginscope.analytics.reference import family_critical, fit_reference

__all__ = ["SeriesTest", "SpikeRules", "bh_adjust", "scan_spikes", "spike_series"]


@dataclass(frozen=True)
class SpikeRules:
    """Thresholds of a spike flag (see the module docstring)."""

    fdr: float = 0.05
    min_count: int = 20
    min_expected: float = 10.0
    min_change: float = 20.0
    min_impact: float = 0.005
    direction: str = "up"


@dataclass(frozen=True)
class SeriesTest:
    """One (tool, segment, day) scored against its baseline."""

    day: int
    date: str
    tool: str | None
    segment: str
    baseline: Baseline
    result: Lift
    q_value: float
    flagged: bool
    reason: str

    @property
    def observed(self) -> int:
        """Checks on the day."""
        return self.result.observed

    @property
    def expected(self) -> float:
        """Baseline expectation."""
        return self.result.expected


def bh_adjust(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as the input (Benjamini &
    Hochberg 1995, step-up procedure; ``scipy.stats.false_discovery_control``); flag where
    ``q ≤ fdr``.

    A NaN p-value is a comparison that could not be made (e.g. a conversion with fewer than
    two days of sessions): it is not a test, so it is left out of the family (the others'
    q-values are those of the tests made) and its q-value is 1 (never flagged).
    """
    p = np.asarray(p_values, dtype=float)
    tested = ~np.isnan(p)
    q = np.ones(p.size)
    if tested.any():
        q[tested] = false_discovery_control(p[tested], method="bh")
    return q


def spike_series(cube: DailyCube) -> list[tuple[str | None, str]]:
    """The (tool, segment) pairs scored: all tools and each tool with checks, × :data:`SEGMENTS`."""
    tools = [t for t, n in cube.by_tool().items() if n > 0]
    return [(tool, segment) for tool in (None, *tools) for segment in SEGMENTS]


def _reason(result: Lift, q_value: float, rules: SpikeRules, day_total: float) -> str:
    """Why a test is not a flag ("" when it is one)."""
    if result.lift is None:
        return "expected below minimum"
    if result.observed < rules.min_count:
        return "observed below minimum"
    if abs(result.observed - result.expected) < max(rules.min_change,
                                                    rules.min_impact * day_total):
        return "change below minimum"
    if q_value > rules.fdr:
        return "not significant after BH"
    return ""


def scan_spikes(cube: DailyCube, start: int, end: int, rules: SpikeRules | None = None,
                series: Sequence[tuple[str | None, str]] | None = None, *,
                reference: tuple[int, int] | None = None) -> list[SeriesTest]:
    """Score days ``[start, end)`` of every series, flag spikes, return every test made.

    With ``reference`` (day indices ``[first, end)`` of the cube, before ``start``) every day
    is judged against that fixed reference and BH runs across the month; otherwise against
    the trailing window, and days without 14 days of history before them are not tested
    (no entry). A series without a usable reference fit is not tested.
    """
    rules = rules or SpikeRules()
    series = list(series) if series is not None else spike_series(cube)
    if reference is not None:
        return _scan_reference(cube, start, end, rules, series, reference)
    values = {key: cube.series(*key) for key in series}
    flagged = {key: np.zeros(len(cube.days), dtype=bool) for key in series}
    weekdays = cube.weekdays
    day_total = cube.series(None, "all")
    tests: list[SeriesTest] = []
    for t in range(start, end):
        scored: list[tuple[tuple[str | None, str], Baseline, Lift]] = []
        for key in series:
            baseline = dow_baseline(values[key], weekdays, t, flagged[key])
            if baseline is None:
                continue
            scored.append((key, baseline, lift(int(values[key][t]), baseline,
                                               direction=rules.direction,
                                               min_expected=rules.min_expected)))
        if not scored:
            continue
        q = bh_adjust([s[2].p_value for s in scored])
        for (key, baseline, result), q_value in zip(scored, q, strict=True):
            reason = _reason(result, float(q_value), rules, day_total[t])
            hit = reason == ""
            if hit:
                flagged[key][t] = True
            tests.append(SeriesTest(day=t, date=str(cube.days[t]), tool=key[0], segment=key[1],
                                    baseline=baseline, result=result, q_value=float(q_value),
                                    flagged=hit, reason=reason))
    return tests


def _scan_reference(cube: DailyCube, start: int, end: int, rules: SpikeRules,
                    series: list[tuple[str | None, str]], reference: tuple[int, int]
                    ) -> list[SeriesTest]:
    """Fixed-reference scan: one fit per series, BH and one critical value per month."""
    weekdays = cube.weekdays
    ref = slice(*reference)
    day_total = cube.series(None, "all")
    sides = 2 if rules.direction == "both" else 1
    values = {key: cube.series(*key) for key in series}
    fits = {key: fit for key in series
            if (fit := fit_reference(values[key][ref], weekdays[ref])) is not None}
    bands: dict[tuple[tuple[str | None, str], int, float], Baseline] = {}

    def band(key: tuple[str | None, str], weekday: int, critical: float) -> Baseline:
        """A fit's baseline is the same on every day of a weekday: made once."""
        if (key, weekday, critical) not in bands:
            bands[key, weekday, critical] = fits[key].baseline(weekday, critical=critical)
        return bands[key, weekday, critical]

    scored = []
    for t in range(start, end):
        for key in fits:
            scored.append((t, key, lift(int(values[key][t]), band(key, int(weekdays[t]), 2.0),
                                        direction=rules.direction,
                                        min_expected=rules.min_expected)))
    q = bh_adjust([row[2].p_value for row in scored])
    selected = int((q <= rules.fdr).sum())
    criticals = {df: family_critical(rules.fdr, selected, len(scored), df, sides=sides)
                 for df in {fit.degrees_of_freedom for fit in fits.values()}}
    dates = {t: str(day) for t, day in enumerate(cube.days[start:end], start)}
    tests: list[SeriesTest] = []
    for (t, key, first), q_value in zip(scored, q, strict=True):
        critical = criticals[fits[key].degrees_of_freedom]
        baseline = band(key, int(weekdays[t]), critical)
        result = lift(first.observed, baseline, direction=rules.direction,
                      min_expected=rules.min_expected, critical=critical)
        reason = _reason(result, float(q_value), rules, day_total[t])
        tests.append(SeriesTest(day=t, date=dates[t], tool=key[0], segment=key[1],
                                baseline=baseline, result=result, q_value=float(q_value),
                                flagged=reason == "", reason=reason))
    return tests
