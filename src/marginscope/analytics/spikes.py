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

Days are scanned in order; a flagged day is left out of the later baselines of its series
(step 2 of :mod:`~marginscope.analytics.baseline`), so a multi-day surge is measured against
the normal before it, not against itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from marginscope.analytics.baseline import Baseline, dow_baseline
from marginscope.analytics.cube import SEGMENTS, DailyCube
from marginscope.analytics.lift import Lift, lift

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
    """Benjamini–Hochberg adjusted p-values (q-values), same order as the input.

    ``q_(i) = min_{j ≥ i} p_(j) · m / j`` over the ascending p-values (Benjamini & Hochberg
    1995, step-up procedure); flag where ``q ≤ fdr``.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def spike_series(cube: DailyCube) -> list[tuple[str | None, str]]:
    """The (tool, segment) pairs scored: all tools and each tool with checks, × :data:`SEGMENTS`."""
    tools = [t for t, n in cube.by_tool().items() if n > 0]
    return [(tool, segment) for tool in (None, *tools) for segment in SEGMENTS]


def scan_spikes(cube: DailyCube, start: int, end: int, rules: SpikeRules | None = None,
                series: Sequence[tuple[str | None, str]] | None = None) -> list[SeriesTest]:
    """Score days ``[start, end)`` of every series, flag spikes, return every test made.

    Days without 14 days of history before them are not tested (no entry).
    """
    rules = rules or SpikeRules()
    series = list(series) if series is not None else spike_series(cube)
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
            change = abs(result.observed - result.expected)
            if result.lift is None:
                reason = "expected below minimum"
            elif result.observed < rules.min_count:
                reason = "observed below minimum"
            elif change < max(rules.min_change, rules.min_impact * day_total[t]):
                reason = "change below minimum"
            elif q_value > rules.fdr:
                reason = "not significant after BH"
            else:
                reason = ""
            hit = reason == ""
            if hit:
                flagged[key][t] = True
            tests.append(SeriesTest(day=t, date=str(cube.days[t]), tool=key[0], segment=key[1],
                                    baseline=baseline, result=result, q_value=float(q_value),
                                    flagged=hit, reason=reason))
    return tests
