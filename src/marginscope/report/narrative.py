"""The words of the report: key takeaways, the phase timeline and the methodology.

Sentences put absolute numbers before percentages, cite market events with "coincided with" /
"came a day after" only, and say "synthetic" whenever the events are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.association import Association, short_description
from marginscope.analytics.baseline import MIN_BASELINE_DAYS, WINDOW_DAYS
from marginscope.analytics.findings import Finding
from marginscope.analytics.formatting import day_text, signed_percent
from marginscope.analytics.names import SHARE_NAMES, tool_label, tool_name

__all__ = ["Episode", "episode_text", "episodes", "headline_episodes", "methodology",
           "takeaways", "timeline"]

def span_text(start: str, end: str) -> str:
    """``Nov 20–22`` / ``Nov 30–Dec 2`` / ``Nov 21``."""
    if start == end:
        return day_text(start)
    if start[:7] == end[:7]:
        return f"{day_text(start)}–{int(end[8:10])}"
    return f"{day_text(start)}–{day_text(end)}"


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


@dataclass(frozen=True)
class Episode:
    """Consecutive flagged days of one (kind, tool, segment) and direction."""

    kind: str
    tool: str | None
    segment: str
    findings: tuple[Finding, ...]

    @property
    def start(self) -> str:
        """First day."""
        return self.findings[0].date

    @property
    def end(self) -> str:
        """Last day."""
        return self.findings[-1].date

    @property
    def peak(self) -> Finding:
        """The day with the largest absolute lift."""
        return max(self.findings, key=lambda f: abs(f.lift or 0.0))


def episodes(findings: Iterable[Finding], kind: str) -> list[Episode]:
    """Group flagged days of ``kind`` into runs of consecutive days per (tool, segment, sign)."""
    from datetime import date

    groups: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in findings:
        if finding.kind == kind and finding.lift is not None:
            groups.setdefault((finding.tool, finding.segment, finding.lift > 0), []).append(
                finding)
    out = []
    for (tool, segment, _), items in groups.items():
        items.sort(key=lambda f: f.date)
        run = [items[0]]
        for item in items[1:]:
            gap = (date.fromisoformat(item.date) - date.fromisoformat(run[-1].date)).days
            if gap == 1:
                run.append(item)
            else:
                out.append(Episode(kind, tool, segment, tuple(run)))
                run = [item]
        out.append(Episode(kind, tool, segment, tuple(run)))
    return sorted(out, key=lambda e: (e.start, e.tool or "", e.segment))


def _cited(findings: Sequence[Finding]) -> Association | None:
    for finding in findings:
        for association in finding.market:
            return association
    return None


def _peak_day(spikes: list[Finding]) -> tuple[str, list[Finding]] | None:
    overall = [f for f in spikes if f.tool is None and f.segment == "all"]
    if overall:
        day = max(overall, key=lambda f: f.lift or 0.0).date
    else:
        per_tool = [f for f in spikes if f.segment == "all"]
        if not per_tool:
            return None
        counts: dict[str, float] = {}
        for f in per_tool:
            counts[f.date] = counts.get(f.date, 0.0) + (f.observed - f.expected)
        day = max(counts, key=lambda d: counts[d])
    tools = sorted((f for f in spikes if f.date == day and f.segment == "all" and f.tool),
                   key=lambda f: -(f.lift or 0.0))
    return day, tools


def takeaways(analysis: Analysis, summary: dict[str, Any], *, synthetic: bool) -> list[str]:
    """Three to seven sentences a journalist can lift, most important first."""
    out: list[str] = []
    if synthetic:
        out.append("All usage figures here come from SYNTHETIC events (seeded by marginscope.sim: "
                   "the trader simulator or planted test effects); the market data are real "
                   "and cited.")
    findings = analysis.findings
    spikes = [f for f in findings if f.kind == "spike" and (f.lift or 0) > 0]
    peak = _peak_day(spikes)
    used_days: set[str] = set()
    if peak:
        day, tools = peak
        used_days.add(day)
        total = next((f for f in spikes if f.date == day and f.tool is None
                      and f.segment == "all"), None)
        cited = _cited([*(tools or []), *([total] if total else [])])
        where = (f", which {cited.wording} {short_description(cited.event)}"
                 if cited else "")
        parts = [f"{tool_name(f.tool)} checks {signed_percent(f.lift)} ({f.observed:,} vs "
                 f"~{f.expected:,.0f} expected)" for f in tools[:3] if f.tool]
        sentence = f"On {day_text(day)}{where}, "
        if parts:
            sentence += "checks rose above normal: " + "; ".join(parts)
        if total:
            sentence += (f"{'; ' if parts else ''}all checks together "
                         f"{signed_percent(total.lift)} ({total.observed:,} vs ~{total.expected:,.0f})")
        out.append(sentence + ".")
    us = [f for f in findings if f.kind == "share_shift" and f.segment == "region:US"
          and (f.lift or 0) > 0]
    if us:
        best = max(us, key=lambda f: f.lift or 0.0)
        of = "all checks" if best.tool is None else tool_label(best.tool)
        out.append(f"The U.S. share of {of} reached {best.share:.0%} on {day_text(best.date)} "
                   f"against a normal {best.normal_share:.0%} ({1 + (best.lift or 0):.1f}× "
                   f"normal; {best.observed:,} checks).")
    device_parts = []
    phases = [f for f in findings if f.kind == "phase"]
    for segment in ("device:mobile", "device:desktop"):
        runs = [e for e in episodes(findings, "share_shift")
                if e.tool is None and e.segment == segment and (e.peak.lift or 0) > 0]
        if not runs:
            continue
        run = max(runs, key=lambda e: len(e.findings))
        peak_finding = run.peak
        during = next((p for p in phases if p.theme and p.start and p.end
                       and p.start <= peak_finding.date <= p.end), None)
        context = f", during the {during.theme} phase" if during else ""
        device_parts.append(
            f"{SHARE_NAMES[segment].capitalize()} was above normal on "
            f"{span_text(run.start, run.end)} (peak {peak_finding.share:.0%} vs a normal "
            f"{peak_finding.normal_share:.0%}{context})")
    if device_parts:
        out.append("; ".join(part[0].lower() + part[1:] if i else part
                             for i, part in enumerate(device_parts)) + ".")
    themed = [p for p in phases if p.start and p.end]
    if len(themed) > 1:
        steps = [f"{p.label} ({span_text(p.start, p.end)})" for p in themed]
        out.append("The tool mix moved through " + f"{len(themed)} phases: "
                   + " → ".join(steps) + ".")
    others = [f for f in spikes if f.segment == "all" and f.tool and f.date not in used_days]
    firsts = {}
    for f in sorted(others, key=lambda f: -(f.lift or 0)):
        firsts.setdefault((f.tool, f.date), f)
    singles = sorted(firsts.values(), key=lambda f: -(f.lift or 0))[:4]
    if singles:
        bits = []
        for f in sorted(singles, key=lambda f: f.date):
            cited = _cited([f])
            note = f" ({cited.wording} {short_description(cited.event)})" if cited else ""
            bits.append(f"{tool_name(f.tool)} {signed_percent(f.lift)} on {day_text(f.date)}{note}")
        out.append("Other spikes: " + "; ".join(bits) + ".")
    per_visitor = summary.get("checks_per_visitor") or {}
    if per_visitor.get("US") and per_visitor.get("rest"):
        out.append(f"U.S. visitors ran {per_visitor['US']:.1f} checks per visitor-day over the "
                   f"month, against {per_visitor['rest']:.1f} elsewhere.")
    for correlation in analysis.correlations:
        if correlation.lag == 1 and correlation.p_value < 0.05:
            out.append(correlation.wording[0].upper() + correlation.wording[1:])
    if not findings:
        out.append("No day stood out from its normal range after multiplicity control.")
    return out


def headline_episodes(findings: Sequence[Finding]) -> list[Episode]:
    """What the report lists first, as runs of days: spikes of all checks and of each tool
    (all segments together), and shifts of the U.S., mobile and desktop share of all checks
    and of the U.S. share of each tool. Segment-level detail stays in the table and the JSON."""
    spikes = [e for e in episodes(findings, "spike") if e.segment == "all"]
    shares = [e for e in episodes(findings, "share_shift")
              if e.tool is None or e.segment == "region:US"]
    return sorted(spikes + shares, key=lambda e: (e.start, e.kind, e.tool or "", e.segment))


def episode_text(episode: Episode) -> str:
    """One sentence for a run of flagged days, with the peak day's numbers (market events are
    cited separately)."""
    peak = episode.peak
    when = span_text(episode.start, episode.end)
    if len(episode.findings) == 1:
        return peak.text(market=False)
    lifts = [f.lift or 0.0 for f in episode.findings]
    if episode.kind == "spike":
        ci = (f", 95% CI {signed_percent(peak.lift_ci[0])} to {signed_percent(peak.lift_ci[1])}"
              if peak.lift_ci else "")
        return (f"{when}: {tool_label(episode.tool)} {signed_percent(min(lifts))} to {signed_percent(max(lifts))} "
                f"against normal on each of {len(lifts)} days (peak {day_text(peak.date)}: "
                f"{peak.observed:,} vs ~{peak.expected:,.0f}{ci}).")
    of = "all checks" if episode.tool is None else tool_label(episode.tool)
    shares = [f.share or 0.0 for f in episode.findings]
    return (f"{when}: {SHARE_NAMES.get(episode.segment, episode.segment)} of {of} between "
            f"{min(shares):.0%} and {max(shares):.0%} against a normal "
            f"{peak.normal_share:.0%} (peak {day_text(peak.date)}: {peak.share:.0%}, "
            f"{1 + (peak.lift or 0):.2f}× normal).")


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
            "(daily series, countries, charts): shown as blank or folded into 'other'. No "
            "finding is reported on fewer than k checks. Totals are published, so a suppressed "
            "cell can sometimes be bounded by subtraction; no complementary suppression is "
            "applied."]},
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
