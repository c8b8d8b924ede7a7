"""The report as a story: headline, standfirst, five key takeaways, one chapter per phase,
numbered references and the market-claim checks.

Modelled on a published market-behaviour report's order: headline → standfirst → key
takeaways → one dated chapter per phase (market context → what users did → device and region →
interpretation) → methodology. Every sentence is written from the findings and the cited market
data; each takeaway carries the numbers it quotes (``numbers``) so a reader of the JSON can
check them. Findings of any kind with a ``date`` (or ``start``/``end``) and a ``text`` fall into
the chapter whose days they overlap, so new analyses slot in without changes here.

Parts: :mod:`.takeaways`, :mod:`.chapters` (from :mod:`.episodes` of flagged days),
:mod:`.market_checks` and :mod:`.references`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marginscope.analytics.formatting import count_text, day_text
from marginscope.report.chapters import INTERPRETATIONS, chapter, within
from marginscope.report.episodes import episode_text
from marginscope.report.market_checks import funding_check, price_checks
from marginscope.report.references import References, reference_text
from marginscope.report.takeaways import key_takeaways

__all__ = [  # Story and compose; the other names are re-exported from their modules
    "INTERPRETATIONS",
    "Story",
    "compose",
    "episode_text",
    "reference_text",
]


@dataclass
class Story:
    """What :func:`compose` writes (all JSON-ready)."""

    headline: str
    standfirst: str
    key_takeaways: list[dict[str, Any]]
    chapters: list[dict[str, Any]]
    market_checks: list[dict[str, Any]]
    references: list[dict[str, Any]]
    across_the_month: list[str] = field(default_factory=list)
    """Findings of other kinds (contrasts, hour profiles, …) spanning more than one phase."""


def compose(
    findings: list[dict[str, Any]],
    summary: dict[str, Any],
    daily: dict[str, Any],
    market: dict[str, Any],
    month_name: str,
    *,
    synthetic: bool,
    top: int = 3,
) -> Story:
    """The story of a month from the report's JSON parts (findings as ``Finding.to_dict``)."""
    refs = References()
    phases = [f for f in findings if f["kind"] == "phase" and f.get("start")]
    chapters = [chapter(p, findings, daily, market, refs, top) for p in phases]
    checks = [c for c in [funding_check(market, refs), *price_checks(market, refs)] if c]
    # findings of other kinds that span more than one phase: told once, for the month
    across = sorted(
        (
            f
            for f in findings
            if f["kind"] not in ("spike", "share_shift", "phase")
            and f.get("text")
            and not any(within(f, c["start"], c["end"]) for c in chapters)
        ),
        key=lambda f: f.get("q_value") or 1.0,
    )
    takeaways = key_takeaways(findings, summary, chapters, refs, market)
    closes = [v for v in daily.get("btc_close") or [] if v]
    moved = (
        f" while BTC went from {count_text(closes[0])} to {count_text(closes[-1])} USD "
        f"({closes[-1] / closes[0] - 1:+.0%}){refs.cite(market.get('price_source'))}"
        if len(closes) > 1
        else ""
    )
    peak = next((t for t in takeaways if t["kind"] == "spike"), None)
    if peak:
        n = peak["numbers"]
        ratio = n["observed"] / n["expected"]
        verb = (
            "doubled"
            if 1.8 <= ratio < 2.5
            else "tripled"
            if 2.5 <= ratio < 3.5
            else f"rose {ratio - 1:.0%}"
            if ratio > 1
            else f"fell {1 - ratio:.0%}"
        )
        headline = f"Risk checks {verb} on {day_text(n['date'])} as bitcoin fell"
        if not moved:
            headline = f"Risk checks {verb} on {day_text(n['date'])}"
    else:
        headline = (
            f"Risk-calculator use in {month_name}: {len(chapters)} phases, no single "
            "day out of the ordinary"
        )
    standfirst = (
        f"{summary['setups']:,} pre-trade checks from {summary['countries']} countries "
        f"in {month_name}{moved}. The tool mix moved through {len(chapters)} "
        f"phase{'s' if len(chapters) != 1 else ''}; each chapter below gives the "
        "market context of its days, what users checked, and how devices and "
        "regions shifted."
    )
    if synthetic:
        standfirst += " The usage data are synthetic (simulated); the market data are real."
    return Story(
        headline=headline,
        standfirst=standfirst,
        key_takeaways=takeaways,
        chapters=chapters,
        market_checks=checks,
        references=refs.items,
        across_the_month=[f["text"] for f in across[:top]],
    )
