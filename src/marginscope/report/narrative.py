"""The words of the report: key takeaways, the phase timeline and the methodology.

Sentences put absolute numbers before percentages, cite market events with "coincided with" /
"came a day after" only, and say "synthetic" whenever the events are.
"""

from __future__ import annotations

from typing import Any

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.baseline import MIN_BASELINE_DAYS, WINDOW_DAYS
from marginscope.analytics.formatting import day_text

__all__ = ["SYNTHETIC_NOTE", "methodology", "span_text", "timeline"]

SYNTHETIC_NOTE = ("All usage figures here come from SYNTHETIC events (seeded by marginscope.sim: "
                  "the trader simulator or planted test effects); the market data are real "
                  "and cited.")

def span_text(start: str, end: str) -> str:
    """``Nov 20–22`` / ``Nov 30–Dec 2`` / ``Nov 21``."""
    if start == end:
        return day_text(start)
    if start[:7] == end[:7]:
        return f"{day_text(start)}–{int(end[8:10])}"
    return f"{day_text(start)}–{day_text(end)}"


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def summary_hidden(summary: dict[str, Any]) -> str:
    """``3 breakdown cells of the month's summary are hidden`` (or that none is)."""
    groups = [summary.get(name) or {} for name in ("regions", "tools", "devices",
                                                   "visitor_days")]
    hidden = sum(1 for group in groups for value in group.values() if value is None)
    if not hidden:
        return "no cell of this month's summary needed hiding"
    return f"{hidden} cell{'s' if hidden != 1 else ''} of this month's summary are hidden"


def timeline(analysis: Analysis) -> list[dict[str, Any]]:
    """The dated phases: start, end, label, theme, dominant tools, market events."""
    out = []
    for finding in analysis.findings:
        if finding.kind != "phase":
            continue
        out.append({"start": finding.start, "end": finding.end, "label": finding.label,
                    "theme": finding.theme, "dominant_tools": finding.dominant_tools,
                    "span": span_text(finding.start or "", finding.end or ""),
                    "market": [a.to_dict() for a in finding.market]})
    return out


def methodology(analysis: Analysis, summary: dict[str, Any], *, engine: str,
                synthetic: bool) -> list[dict[str, Any]]:
    """Sections (title, paragraphs) stating what was counted and how, with the parameters."""
    spike, share, phase = analysis.spike_rules, analysis.share_rules, analysis.phase_rules
    series = len({(t.tool, t.segment) for t in analysis.spikes})
    share_series = len({(t.tool, t.segment) for t in analysis.shares})
    k = analysis.k
    sections = [
        {"title": "What was counted", "paragraphs": [
            f"{summary['setups']:,} pre-trade setups (uses of a risk calculator) in "
            f"{analysis.month}, from {summary['countries']} countries and "
            f"{_count(summary.get('visitors'))} distinct visitor ids "
            f"({_count(summary.get('sessions'))} sessions). "
            "Events are anonymized at capture: no IP address, cookie or User-Agent is stored; "
            "only the tool, coarse inputs, the device class and the country. Visitor and "
            "session ids are keyed hashes whose salt changes every UTC day and is then "
            "destroyed, so a person who came on five days counts as five visitor-days.",
            f"Aggregation ran in the engine ({engine}, through Ibis): daily counts per tool × "
            "device × country on a zero-filled UTC calendar and exact distinct visitors and "
            "sessions per day and region (U.S. vs the rest). The statistics ran in Python on "
            "those daily series."]},
        {"title": "Normal: the baseline", "paragraphs": [
            f"Each day is compared with the {WINDOW_DAYS} days before it (four whole weeks, the "
            "day itself left out), after removing days already flagged for that series. The "
            "level is a median; weekday factors are medians per weekday, shrunk toward 1 by "
            "positive-part James–Stein so that only a weekly rhythm the data support is kept. "
            f"Days with fewer than {MIN_BASELINE_DAYS} days of history are not tested; if "
            "masking leaves fewer, the unmasked window is used and the finding is marked low "
            "confidence. The normal range shown is the 10th–90th percentile of the window "
            "days, rescaled to the day's weekday."]},
        {"title": "Lift and its interval", "paragraphs": [
            "Lift = observed ÷ expected − 1, always with the absolute numbers. The 95% "
            "interval is computed on the log scale with quasi-Poisson overdispersion φ "
            "estimated from the baseline window (winsorised mean squared Pearson residual, "
            "leave-one-out weekday factors), plus the uncertainty of the baseline itself: "
            "exp(±1.96·√(φ/observed + Var log E)). Below "
            f"{spike.min_expected:g} expected checks no percentage is stated."]},
        {"title": "Spike flags and multiplicity", "paragraphs": [
            f"{series} series are tested every day (all tools and each tool, each × all / "
            "mobile / desktop / U.S. / rest). A day is flagged when the one-sided test "
            f"(Student-t reference) survives Benjamini–Hochberg at a {spike.fdr:.0%} false "
            f"discovery rate across that day's series, the day has at least "
            f"{spike.min_count} checks, and the rise is at least {spike.min_change:g} checks "
            f"and {spike.min_impact:.1%} of the day's checks. Flagged days leave later "
            "baselines. On synthetic months with no planted effect the detector raises "
            "about 0–4 false flags per month (docs/analytics.md)."]},
        {"title": "Share shifts", "paragraphs": [
            f"The U.S., mobile and desktop shares of each tool's checks ({share_series} "
            "series) are compared with their median share over the same trailing window. "
            "Binomial intervals are too narrow under overdispersion, so the test uses the "
            "window's own day-to-day spread on the logit scale (two-sided, Student-t, "
            f"Benjamini–Hochberg at {share.fdr:.0%} per day); a flag also needs "
            f"{share.min_points:g} percentage points of change and at least "
            f"{share.min_count} checks in the segment. Shares are reported in percentage "
            "points and as a ratio of the normal share."]},
        {"title": "Phases", "paragraphs": [
            "Phases are change points in the daily tool mix: the square-root tool shares, "
            "each scaled by its noise, smoothed with a 5-day running median (so a one- or "
            "two-day spike is not a phase), segmented by exact penalised least squares "
            f"(at most {phase.max_changes} changes, at least {phase.min_size} days per phase, "
            f"penalty {phase.penalty_scale:g}·p·log n). Each phase is labelled by the tools "
            f"at least {phase.min_ratio:.2f}× their normal share (the 28 days before the "
            "month); the theme names (defensive checks, margin defense, repositioning) are "
            "a reading aid for groups of tools, not a finding."]},
        {"title": "Market context", "paragraphs": [
            "Market events are detected from the market data ("
            + (analysis.market.origin if analysis.market else "none available")
            + ") by marginscope.market, each with its source; funding sign flips are listed "
            "but not cited next to findings. A finding 'coincided with' an event on the same "
            "UTC day and 'came a day after' one on the day before. The daily lift of all "
            "checks is compared with the absolute BTC daily move by Spearman correlation at "
            "lag 0 and 1 with a permutation p-value. These are statements about timing "
            "only: an association, never a cause."]},
        {"title": "Small cells", "paragraphs": [
            f"Cells with fewer than k = {k} checks are suppressed in every published cut "
            "(summary breakdowns, daily series, countries, charts, the CSV files and the "
            "dashboard): shown as blank or folded into 'other'. No finding is reported on "
            "fewer than k checks.",
            "Because totals are published, a hidden cell could otherwise be recovered as the "
            "total minus the published cells. Complementary (secondary) suppression, as "
            "statistical offices apply it, prevents that: in every published line — a day's "
            "tools, devices or regions against the day's total, a series' days against its "
            "month total, a month's tools, devices, regions or visitor-days against the "
            "month's total — a hidden cell is never alone; the smallest other cell of the "
            "line is hidden with it. Countries under k are merged into 'other', and the "
            "smallest published countries join it while it is still under k. Totals are "
            "published exactly; what a reader can still compute is the sum of two or more "
            f"hidden cells, never one of them ({summary_hidden(summary)}). A finding on a "
            "segment is withheld when the day's total minus the segment is under k (for the "
            "two regions, that difference is the other region)."]},
        {"title": "What the data cannot say", "paragraphs": [
            "A check is a calculation, not a trade: the data say nothing about positions "
            "opened, their size or their outcome. Countries come from a proxy header, a "
            "GeoIP file or the browser's time zone and are wrong for VPN users; the device "
            "class comes from the User-Agent. Visitors are counted per day (daily salts), "
            "so 'visitors' over a month are visitor-days, and people are never followed "
            "across days. Coincidence with a market event is not evidence of a cause; with "
            "about 30 days and many series, some flags are expected to be false (that is what "
            "the 5% false discovery rate means)."]},
    ]
    if synthetic:
        sections.insert(0, {"title": "Synthetic data", "paragraphs": [
            "The events behind this report are SYNTHETIC: generated by marginscope.sim, "
            "either the seeded trader-behaviour simulator driven by the real market path "
            "(the demo) or marginscope.sim.planted with planted spikes, share shifts and "
            "phases (tests of the method). They describe no real person. The market data "
            "are real and cited."]})
    if analysis.notes:
        sections.append({"title": "Notes", "paragraphs": list(analysis.notes)})
    return sections
