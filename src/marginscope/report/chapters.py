"""One chapter per phase: its market context, what users did, device and region shifts, and an
interpretation paragraph that is labelled as such."""

from __future__ import annotations

from typing import Any

from marginscope.analytics.association import CITED, EVENT_PRIORITY
from marginscope.analytics.formatting import count_text, day_text, span_text
from marginscope.analytics.names import tool_name
from marginscope.report.episodes import episode_runs, episode_text, excess
from marginscope.report.references import References

__all__ = ["INTERPRETATIONS", "USUAL", "chapter", "within"]

INTERPRETATIONS = {
    "defensive checks": (
        "Interpretation: more liquidation-price, liquidation-risk and margin-call checks while "
        "the price fell reads like traders measuring how close open positions were to "
        "liquidation. The data show the calculations, not the positions behind them."
    ),
    "margin defense": (
        "Interpretation: margin-call and average-price checks rising together reads like "
        "traders deciding whether to add margin or average down at lower prices. Whether they "
        "did is not in the data."
    ),
    "repositioning": (
        "Interpretation: profit-and-loss, funding and scenario checks after the low read like "
        "traders planning new positions rather than defending old ones. That is a reading of "
        "which tools were used, not an observation of trades."
    ),
}
"""One paragraph per phase theme; always printed as interpretation, never as a finding."""
USUAL = (
    "Interpretation: the tool mix matched its usual pattern; nothing here suggests a "
    "change in what users were checking."
)


def _in(f: dict[str, Any], start: str, end: str) -> bool:
    first = f.get("start") or f["date"]
    last = f.get("end") or f["date"]
    return first <= end and last >= start


def within(f: dict[str, Any], start: str, end: str) -> bool:
    """Whether the finding's days (``date``, or ``start`` to ``end``) lie in the span."""
    return start <= (f.get("start") or f["date"]) and (f.get("end") or f["date"]) <= end


def _events(market: dict[str, Any], start: str, end: str) -> list[dict[str, Any]]:
    rank = {kind: i for i, kind in enumerate(EVENT_PRIORITY)}
    hits = [
        e for e in market.get("events", []) if e["kind"] in CITED and start <= e["time"][:10] <= end
    ]
    return sorted(hits, key=lambda e: (rank.get(e["kind"], len(rank)), e["time"]))


def _close(daily: dict[str, Any], day: str) -> float | None:
    closes = daily.get("btc_close") or []
    dates = daily.get("dates") or []
    if day in dates and dates.index(day) < len(closes):
        return closes[dates.index(day)]
    return None


def chapter(
    phase: dict[str, Any],
    findings: list[dict[str, Any]],
    daily: dict[str, Any],
    market: dict[str, Any],
    refs: References,
    top: int,
) -> dict[str, Any]:
    """The chapter of ``phase``: context, the ``top`` spike episodes, shifts, interpretation."""
    start, end = phase["start"], phase["end"]
    context: list[str] = []
    first, last = _close(daily, start), _close(daily, end)
    if first and last:
        context.append(
            f"BTC closed at {count_text(first)} USD on {day_text(start)} and "
            f"{count_text(last)} USD on {day_text(end)} ({(last / first - 1):+.1%})"
            f"{refs.cite(market.get('price_source'))}."
        )
    for event in _events(market, start, end)[:2]:
        context.append(
            f"{day_text(event['time'][:10])}: {event['description'].split(';')[0]}"
            f"{refs.cite(event['source'])}."
        )
    inside = [f for f in findings if f["kind"] != "phase" and _in(f, start, end)]
    spikes = episode_runs([f for f in inside if f["segment"] == "all"], "spike")
    spikes.sort(key=lambda r: -max(excess(f) for f in r))
    did = [episode_text(r) for r in spikes[:top]]
    other = sorted(  # findings of other kinds whose days lie within this phase
        (
            f
            for f in inside
            if f["kind"] not in ("spike", "share_shift") and f.get("text") and within(f, start, end)
        ),
        key=lambda f: f.get("q_value") or 1.0,
    )
    did += [f["text"] for f in other[:1]]
    shares = episode_runs([f for f in inside if f["tool"] is None], "share_shift")
    shares.sort(key=lambda r: -sum(abs(excess(f)) for f in r))
    # mobile up is desktop down: the largest shift of each kind (device, region) is enough
    where, seen = [], set()
    for run in shares:
        axis = run[0]["segment"].split(":")[0]
        if axis not in seen:
            seen.add(axis)
            where.append(episode_text(run))
    dominant = phase.get("dominant_tools") or []
    mix = "; ".join(
        f"{tool_name(d['tool'])} {d['share']:.0%} of checks (normal {d['normal_share']:.0%})"
        for d in dominant[:3]
    )
    return {
        "start": start,
        "end": end,
        "span": span_text(start, end),
        "label": phase["label"],
        "theme": phase.get("theme"),
        "title": f"{span_text(start, end)}: {phase['label']}",
        "mix": mix,
        "market_context": context,
        "what_users_did": did,
        "device_and_region": where,
        "interpretation": INTERPRETATIONS.get(phase.get("theme") or "", USUAL),
        "findings": len(inside),
    }
