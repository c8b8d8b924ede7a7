"""The words of the report: key takeaways, the phase timeline and the methodology.

Sentences put absolute numbers before percentages, cite market events with "coincided with" /
"came a day after" only, and say "synthetic" whenever the events are.
"""

from __future__ import annotations

from typing import Any

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.formatting import count_text, span_text

__all__ = ["SYNTHETIC_NOTE", "methodology", "not_recorded_section", "summary_hidden",
           "timeline"]

SYNTHETIC_NOTE = ("All usage figures here come from SYNTHETIC events (seeded by marginscope.sim: "
                  "the trader simulator or planted test effects); the market data are real "
                  "and cited.")

def summary_hidden(summary: dict[str, Any]) -> str:
    """``3 cells of this month's summary are hidden`` (or that none needed hiding)."""
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


def _reference_days(reference: tuple[str, str]) -> int:
    from datetime import date

    return (date.fromisoformat(reference[1]) - date.fromisoformat(reference[0])).days + 1


def methodology(analysis: Analysis, summary: dict[str, Any], *, engine: str,
                synthetic: bool) -> list[dict[str, Any]]:
    """Sections (title, paragraphs) stating what was counted and how, with the parameters."""
    spike, share, phase = analysis.spike_rules, analysis.share_rules, analysis.phase_rules
    series = len({(t.tool, t.segment) for t in analysis.spikes})
    share_series = len({(t.tool, t.segment) for t in analysis.shares})
    k = analysis.k
    ref_text = (f"{span_text(*analysis.reference)} ({_reference_days(analysis.reference)} days)"
                if analysis.reference else "the days before the month")
    sections = [
        {"title": "What was counted", "paragraphs": [
            f"{summary['setups']:,} pre-trade setups (uses of a risk calculator) in "
            f"{analysis.month}, from {summary['countries']} countries and "
            f"{count_text(summary.get('visitors'))} distinct visitor ids "
            f"({count_text(summary.get('sessions'))} sessions). "
            "Events are anonymized at capture: no IP address, cookie or User-Agent is stored; "
            "only the tool, coarse inputs, the device class and the country. Visitor and "
            "session ids are keyed hashes whose salt changes every UTC day and is then "
            "destroyed, so a person who came on five days counts as five visitor-days (and a "
            "session is one id on one UTC day).",
            f"Aggregation ran in the engine ({engine}, through Ibis): daily counts per tool × "
            "device × country on a zero-filled UTC calendar and exact distinct visitors and "
            "sessions per day and region (U.S. vs the rest). The statistics ran in Python on "
            "those daily series."]},
        {"title": "Normal: the reference", "paragraphs": [
            f"Every day of the month is compared with one fixed reference, {ref_text}, fitted "
            "once per series, so an episode inside the month never becomes its own normal. "
            "Unusual reference days (robust |z| > 3.5 against the other days of their weekday) "
            "are left out; weekday factors are multiplicative and shrunk toward none by "
            "empirical Bayes; day-to-day noise is modelled as multiplicative (a log-normal day "
            "effect) as well as Poisson, estimated in the reference. "
            + (" ".join(analysis.reference_notes) if analysis.reference_notes
               else "The reference showed no level shift, drift or unusual noise.")]},
        {"title": "Lift and its interval", "paragraphs": [
            "Lift = observed ÷ expected − 1, always with the absolute numbers. The interval is "
            "computed on the log scale from the reference's day-to-day noise, the Poisson "
            "noise of the day and the uncertainty of the expected count, with Student's t on "
            "the reference's degrees of freedom and the family's critical value (below). "
            f"Below {spike.min_expected:g} expected checks no percentage is stated."]},
        {"title": "Spike flags and multiplicity", "paragraphs": [
            f"{series} series are tested on every day of the month (all tools and each tool, "
            "each × all / mobile / desktop / U.S. / rest). A day is flagged when the one-sided "
            f"test survives Benjamini–Hochberg at a {spike.fdr:.0%} false discovery rate "
            "across all the month's spike tests, the day has at least "
            f"{spike.min_count} checks, and the rise is at least {spike.min_change:g} checks "
            f"and {spike.min_impact:.1%} of the day's checks. Intervals and the normal band "
            "use the same critical value as the flag (false-coverage-rate intervals), so a "
            "flagged day lies outside the band and its interval excludes no change. On "
            "synthetic months with nothing planted the detector raises 0–2 false flags per "
            "month (docs/analytics.md)."]},
        {"title": "Share shifts", "paragraphs": [
            f"The U.S., mobile and desktop shares of each tool's checks ({share_series} "
            "series) are compared with their share over the reference (ratio of sums). "
            "Binomial intervals are too narrow under overdispersion, so the test adds the "
            "reference's day-to-day spread on the logit scale (two-sided, Student-t, "
            f"Benjamini–Hochberg at {share.fdr:.0%} across the month); a flag also needs "
            f"{share.min_points:g} percentage points of change and at least "
            f"{share.min_count} checks in the segment. Shares are reported in percentage "
            "points and as a ratio of the normal share."]},
        {"title": "Phases", "paragraphs": [
            "Phases are change points in the daily tool mix: the square-root tool shares, "
            "each scaled by its noise, smoothed with a 5-day running median (so a one- or "
            "two-day spike is not a phase), segmented by exact penalised least squares "
            f"(at most {phase.max_changes} changes, at least {phase.min_size} days per phase, "
            "a penalty per change calibrated on simulated noise so that a month whose mix "
            f"does not change is divided with probability {phase.false_rate:.0%}). Each "
            "phase is labelled by the tools "
            f"at least {phase.min_ratio:.2f}× their normal share (the reference); the "
            "theme names (defensive checks, margin defense, repositioning) are "
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


_NOT_RECORDED = {
    "over_budget": "over the per-client budget",
    "bot": "from crawlers and HTTP clients",
    "lost": "lost with a sink process that died",
    "queue_full": "refused with the event queue full",
    "writer_closed": "arriving while the server shut down",
    "unknown_tool": "naming an unknown tool",
    "invalid_context": "with unusable inputs",
}
"""How each counter of ``telemetry_counts`` reads in the methodology (others by their name)."""

_COUNTRY_SOURCES = {"header": "a trusted proxy header", "geoip": "a GeoIP database",
                    "time_zone": "the browser's time zone", "unknown": "no source (ZZ)"}


def not_recorded_section(month: str, provenance: dict[str, Any]) -> dict[str, Any]:
    """The methodology section on calculations not recorded (budget, crawlers, losses) and
    on where the countries came from, from :func:`marginscope.report.provenance.provenance`."""
    counts = provenance.get("not_recorded")
    if counts is None:
        first = ("This source keeps no counts of calculations that were not recorded (only "
                 "the live DuckDB store does, in its telemetry_counts table).")
    else:
        total = sum(counts.values())
        parts = [f"{n:,} {_NOT_RECORDED.get(name, name.replace('_', ' '))}"
                 for name, n in sorted(counts.items(), key=lambda item: -item[1]) if n]
        first = (f"{total:,} calculations were not recorded in {month}"
                 + (": " + ", ".join(parts) if parts else "") + ". ")
        first += ("Each client (a keyed daily hash of its address, never the address) may add "
                  "a limited number of calculations a minute to the numbers; beyond it the "
                  "answer is still given but not counted. Crawlers and HTTP libraries are "
                  "dropped by their User-Agent. Events lost with a crashed sink process are "
                  "counted, never silently missing.")
    sources = provenance.get("country_sources")
    if sources is None:
        second = "These events do not say where their country came from."
    else:
        total = sum(sources.values())
        if not total:
            second = "No event of the month says where its country came from."
        else:
            shares = ", ".join(f"{_COUNTRY_SOURCES.get(name, name)} {n / total:.1%}"
                               for name, n in sources.items() if n)
            second = (f"Country sources: {shares}. The time zone is the client's own word "
                      f"(any client can send any zone), a lower-trust source: "
                      f"{sources.get('time_zone', 0) / total:.1%} of the month's events "
                      "took their country from it.")
    return {"title": "What was not recorded, and where countries came from",
            "paragraphs": [first, second]}
