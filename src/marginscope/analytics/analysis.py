"""One month analysed: spikes, share shifts, phases and market associations → findings.

"Normal" comes from a fixed reference span before the month (default the 28 days before it,
:mod:`~marginscope.analytics.reference`), so an episode inside the month never becomes its own
yardstick; Benjamini–Hochberg runs across each kind's tests of the whole month.

The statistics run in Python on the small daily series of a :class:`DailyCube` (the engine's
job ends with :func:`~marginscope.analytics.aggregate.aggregate`). Days of the month that are
not complete yet (today, UTC, and later) are not tested: a partial day is never compared with
full days.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from marginscope.analytics.association import (
    Correlation,
    MarketContext,
    coincident,
    coincident_span,
    lagged_correlations,
)
from marginscope.analytics.baseline import MIN_BASELINE_DAYS
from marginscope.analytics.contrasts import ContrastTest, contrast_findings, scan_contrasts
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.findings import (
    KINDS,
    DetailFinding,
    Finding,
    phase_finding,
    share_finding,
    spike_finding,
)
from marginscope.analytics.lift_ratio import lift_ratio_findings
from marginscope.analytics.periods import month_bounds
from marginscope.analytics.phases import Phase, PhaseRules, tool_mix_phases
from marginscope.analytics.reference import default_reference, reference_checks
from marginscope.analytics.shares import ShareRules, ShareTest, scan_shares
from marginscope.analytics.spikes import SeriesTest, SpikeRules, scan_spikes
from marginscope.errors import InputError

__all__ = ["Analysis", "analyze", "comparisons"]

EARLY_MONTH_DAYS = 7


@dataclass
class Analysis:
    """Everything the report needs about one month.

    ``start``/``end`` index the month's complete days in ``cube.days`` (end exclusive).
    """

    month: str
    cube: DailyCube
    start: int
    end: int
    spikes: list[SeriesTest]
    shares: list[ShareTest]
    phases: list[Phase]
    findings: list[Finding]
    market: MarketContext | None
    correlations: list[Correlation]
    k: int
    spike_rules: SpikeRules
    share_rules: ShareRules
    phase_rules: PhaseRules
    notes: list[str] = field(default_factory=list)
    reference: tuple[str, str] | None = None
    """The reference span, inclusive ISO days (``metadata.reference`` in the JSON)."""
    reference_notes: list[str] = field(default_factory=list)
    """Warnings about the reference itself (empty when it looked calm)."""
    contrasts: list[ContrastTest] = field(default_factory=list)
    details: list[DetailFinding] = field(default_factory=list)
    """Findings of the issue-21 kinds (contrast, transition, hour_profile, content)."""

    def spans(self) -> list[tuple[int, int, str]]:
        """The month and each phase with a changed mix, as cube day indices (end exclusive)
        and a scope (``month`` | ``phase``): the spans the detail analyses report on."""
        out = [(self.start, self.end, "month")] if self.end > self.start else []
        out += [(self.start + p.start, self.start + p.end, "phase") for p in self.phases
                if p.dominant]
        return out

    @property
    def days(self) -> np.ndarray:
        """The month's analysed days."""
        return self.cube.days[self.start:self.end]

    def tested_days(self) -> int:
        """Days of the month with a baseline (enough history before them)."""
        return len({t.day for t in self.spikes})

    def daily_lift(self, tool: str | None = None, segment: str = "all") -> np.ndarray:
        """Lift per analysed day of one series (NaN where untested or negligible)."""
        out = np.full(self.end - self.start, np.nan)
        for test in self.spikes:
            if test.tool == tool and test.segment == segment and test.result.lift is not None:
                out[test.day - self.start] = test.result.lift
        return out

    def expected(self, tool: str | None = None, segment: str = "all") -> np.ndarray:
        """Baseline expectation per analysed day (NaN where untested)."""
        out = np.full(self.end - self.start, np.nan)
        for test in self.spikes:
            if test.tool == tool and test.segment == segment:
                out[test.day - self.start] = test.result.expected
        return out


def comparisons(series: np.ndarray, t: int, month_start: int, *, k: int) -> dict[str, float | None]:
    """Day-over-day, week-over-week (same weekday) and vs-early-month (mean of the month's
    first seven days) changes of ``series[t]``, as fractions; None when the reference is
    below ``k`` checks or not available."""
    def change(reference: float) -> float | None:
        return None if reference < k else float(series[t] / reference - 1.0)

    early = series[month_start:month_start + EARLY_MONTH_DAYS]
    return {
        "day_over_day": change(float(series[t - 1])) if t >= 1 else None,
        "week_over_week": change(float(series[t - 7])) if t >= 7 else None,
        "vs_early_month": (change(float(early.mean())) if t >= month_start + EARLY_MONTH_DAYS
                           and early.size == EARLY_MONTH_DAYS else None),
    }


def _order(finding: Finding) -> tuple[Any, ...]:
    return (finding.date, KINDS.index(finding.kind) if finding.kind in KINDS else 9,
            finding.tool or "", finding.segment)


def analyze(cube: DailyCube, month: str, *, market: MarketContext | None = None,
            k: int | None = None, spike_rules: SpikeRules | None = None,
            share_rules: ShareRules | None = None, phase_rules: PhaseRules | None = None,
            today: date | None = None, reference: tuple[date, date] | None = None
            ) -> Analysis:
    """Analyse ``month`` (``YYYY-MM``) of ``cube``, which should start 28 days earlier (or at
    the start of ``reference``).

    Parameters
    ----------
    cube : DailyCube
        Daily counts covering the month and, for the baselines, the 28 days before it.
    market : MarketContext, optional
        Market events and prices to cite (:func:`~marginscope.analytics.association.market_context`).
    k : int, optional
        Small-cell threshold (default ``MARGINSCOPE_MIN_CELL``); flag minimums are raised to k.
    today : date, optional
        The first incomplete UTC day (default: today); it and later days are not tested.
    reference : (date, date), optional
        Inclusive first and last day of the reference ("normal"); default the 28 days before
        the month (:func:`~marginscope.analytics.reference.default_reference`).
    """
    from marginscope.config import min_cell

    k = min_cell() if k is None else int(k)
    first, following = month_bounds(month)
    days = cube.days
    if not len(days) or days[0] > np.datetime64(first, "D") or \
            days[-1] < np.datetime64(following, "D") - 1:
        raise InputError("cube", f"{days[0] if len(days) else '-'}..{days[-1] if len(days) else '-'}",
                         f"daily counts covering {first} to {following}")
    start = cube.index(first)
    end = cube.index(following) if days[-1] >= np.datetime64(following, "D") else len(days)
    today = today or datetime.now(UTC).date()
    notes: list[str] = []
    if np.datetime64(today, "D") < days[end - 1] + 1:
        cut = int(np.searchsorted(days, np.datetime64(today, "D")))
        notes.append(f"days from {today.isoformat()} on are incomplete and not analysed")
        end = max(start, min(end, cut))
    ref_first, ref_last = reference or default_reference(first)
    if ref_last >= first:
        raise InputError("reference", f"{ref_first}..{ref_last}", f"a span ending before {first}")
    ref_start = int(np.searchsorted(days, np.datetime64(ref_first, "D")))
    ref_end = int(np.searchsorted(days, np.datetime64(ref_last, "D"), side="right"))
    if reference is not None and (days[0] > np.datetime64(ref_first, "D")):
        raise InputError("reference", f"{ref_first}..{ref_last}",
                         f"days the data covers (from {days[0]})")
    if ref_end - ref_start < MIN_BASELINE_DAYS:
        notes.append(f"only {ref_end - ref_start} days of reference before the month: "
                     f"at least {MIN_BASELINE_DAYS} are needed, nothing is tested")
    ref_span = (ref_start, ref_end)
    reference_notes = (reference_checks(cube.series()[ref_start:ref_end],
                                        cube.weekdays[ref_start:ref_end], ref_first.isoformat(),
                                        ref_last.isoformat())
                       if ref_end - ref_start >= MIN_BASELINE_DAYS else [])
    notes.extend(reference_notes)
    spike_rules = spike_rules or SpikeRules()
    spike_rules = replace(spike_rules, min_count=max(spike_rules.min_count, k),
                          min_expected=max(spike_rules.min_expected, float(k)))
    share_rules = share_rules or ShareRules()
    share_rules = replace(share_rules, min_count=max(share_rules.min_count, k))
    phase_rules = phase_rules or PhaseRules()

    spikes = scan_spikes(cube, start, end, spike_rules, reference=ref_span)
    shares = scan_shares(cube, start, end, share_rules, reference=ref_span)
    matrix = cube.tool_matrix()
    lead = matrix[ref_start:ref_end]
    mix = lead.sum(axis=0) if (lead.sum(axis=1) > 0).sum() >= MIN_BASELINE_DAYS else None
    phases = tool_mix_phases(matrix[start:end], cube.tools, mix, phase_rules) \
        if end > start else []

    findings: list[Finding] = []
    series_cache: dict[tuple[str | None, str], np.ndarray] = {}
    for test in spikes:
        if not test.flagged:
            continue
        key = (test.tool, test.segment)
        if key not in series_cache:
            series_cache[key] = cube.series(*key)
        market_hits = coincident(market, test.date) if market else []
        findings.append(spike_finding(test, comparisons(series_cache[key], test.day, start,
                                                        k=k), market_hits))
    for share in shares:
        if share.flagged:
            findings.append(share_finding(share, coincident(market, share.date)
                                          if market else []))
    if len(phases) > 1 or (phases and phases[0].dominant):
        month_days = days[start:end]
        for phase in phases:
            span = (str(month_days[phase.start]), str(month_days[phase.end - 1]))
            hits = coincident_span(market, *span) if market and phase.dominant else []
            findings.append(phase_finding(phase, month_days, matrix[start:end],
                                          list(cube.tools), hits))
    findings.sort(key=_order)

    correlations: list[Correlation] = []
    analysis = Analysis(month=month, cube=cube, start=start, end=end, spikes=spikes,
                        shares=shares, phases=phases, findings=findings, market=market,
                        correlations=correlations, k=k, spike_rules=spike_rules,
                        share_rules=share_rules, phase_rules=phase_rules, notes=notes,
                        reference=(ref_first.isoformat(), ref_last.isoformat()),
                        reference_notes=reference_notes)
    if ref_end - ref_start >= MIN_BASELINE_DAYS:
        analysis.contrasts = scan_contrasts(cube, analysis.spans(), ref_span, k=k)
        analysis.details = (contrast_findings(analysis.contrasts)
                            + lift_ratio_findings(cube, spikes, ref_span))
    if market is not None and np.isfinite(market.close).sum() >= 10:
        moves = np.abs(market.daily_return())
        span = slice(start, end)
        index = np.searchsorted(market.days, days[span])
        index = np.clip(index, 0, len(market.days) - 1)
        aligned = np.where(market.days[index] == days[span], moves[index], np.nan)
        correlations += lagged_correlations(analysis.daily_lift(), aligned,
                                            usage_name="the daily lift of all checks",
                                            market_name="the absolute BTC daily move")
    return analysis
