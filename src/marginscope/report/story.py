"""The report as a story: headline, standfirst, five key takeaways, one chapter per phase,
numbered references and the market-claim checks.

Modelled on a published market-behaviour report's order: headline → standfirst → key
takeaways → one dated chapter per phase (market context → what users did → device and region →
interpretation) → methodology. Every sentence is written from the findings and the cited market
data; each takeaway carries the numbers it quotes (``numbers``) so a reader of the JSON can
check them. Findings of any kind with a ``date`` (or ``start``/``end``) and a ``text`` fall into
the chapter whose days they overlap, so new analyses slot in without changes here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from marginscope.analytics.association import CITED, EVENT_PRIORITY
from marginscope.analytics.formatting import count_text, day_text, signed_percent, span_text
from marginscope.analytics.names import SHARE_NAMES, tool_label, tool_name
from marginscope.market.exchanges import SOURCE_NAMES

__all__ = ["INTERPRETATIONS", "Story", "compose", "episode_text", "reference_text"]

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



def _range(low: float, high: float, fmt: str) -> str:
    """``between 25% and 31%``, or ``at 25%`` when both ends print the same."""
    a, b = format(low, fmt), format(high, fmt)
    return f"at {a}" if a == b else f"between {a} and {b}"


# --- references -----------------------------------------------------------------------------


def reference_text(source: str) -> str:
    """A source string as a reference: for a public mirror of an exchange's API, the
    exchange's endpoint first, then the mirror (``… via github.com/…`` in the stored text)."""
    head, _, mirror = source.partition(" via ")
    venue, _, endpoint = head.partition(":")
    name = SOURCE_NAMES.get(venue)
    if name is None:
        return source
    text = f"{name}, {endpoint.strip()}" if endpoint else name
    if mirror:
        text += f"; read from a public mirror of that endpoint: {mirror.strip()}"
    return text


@dataclass
class References:
    """Sources numbered in order of first citation."""

    items: list[dict[str, Any]] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def cite(self, source: str | None) -> str:
        """`` [n]`` for ``source`` (numbered on first use); empty for no source."""
        if not source:
            return ""
        if source not in self._index:
            self._index[source] = len(self.items) + 1
            self.items.append(
                {"n": len(self.items) + 1, "source": source, "text": reference_text(source)}
            )
        return f" [{self._index[source]}]"


# --- episodes -------------------------------------------------------------------------------


def _excess(f: dict[str, Any]) -> float:
    return float(f["observed"]) - float(f["expected"] or 0.0)


def _episodes(findings: list[dict[str, Any]], kind: str) -> list[list[dict[str, Any]]]:
    """Runs of consecutive days of one (tool, segment, direction)."""
    from datetime import date

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for f in findings:
        if f["kind"] == kind and f["lift"] is not None:
            groups.setdefault((f["tool"], f["segment"], f["lift"] > 0), []).append(f)
    runs = []
    for items in groups.values():
        items.sort(key=lambda f: f["date"])
        run = [items[0]]
        for item in items[1:]:
            if (date.fromisoformat(item["date"]) - date.fromisoformat(run[-1]["date"])).days == 1:
                run.append(item)
            else:
                runs.append(run)
                run = [item]
        runs.append(run)
    return runs


def _peak(run: list[dict[str, Any]]) -> dict[str, Any]:
    return max(run, key=lambda f: abs(f["lift"] or 0.0))


def _ci(f: dict[str, Any]) -> str:
    ci = f.get("lift_ci")
    return f"95% CI {signed_percent(ci[0])} to {signed_percent(ci[1])}" if ci else ""


def episode_text(run: list[dict[str, Any]]) -> str:
    """One sentence for a run of flagged days; the peak day is named with its numbers."""
    peak = _peak(run)
    when = span_text(run[0]["date"], run[-1]["date"])
    days = f"on each of {len(run)} days" if len(run) > 1 else "on the day"
    if peak["kind"] == "spike":
        lifts = [f["lift"] for f in run]
        level = (
            _range(min(lifts) * 100, max(lifts) * 100, "+.0f") + "% against normal"
            if len(run) > 1
            else f"{signed_percent(peak['lift'])} against normal"
        )
        ci = _ci(peak)
        return (
            f"{when}: {tool_label(peak['tool'])} {level} {days}"
            f"{' (peak ' + day_text(peak['date']) + ': ' if len(run) > 1 else ' ('}"
            f"{count_text(peak['observed'])} checks vs ~{count_text(peak['expected'])} expected"
            f"{', ' + ci if ci else ''})."
        )
    name = SHARE_NAMES.get(peak["segment"], peak["segment"])
    of = "all checks" if peak["tool"] is None else tool_label(peak["tool"])
    shares = [f.get("share") or 0.0 for f in run]
    level = (
        _range(min(shares) * 100, max(shares) * 100, ".0f") + "%"
        if len(run) > 1
        else f"{peak['share']:.0%}"
    )
    return (
        f"{when}: {name} of {of} {level} against a normal {peak['normal_share']:.0%}"
        f" (peak {day_text(peak['date'])}: {peak['share']:.0%}, "
        f"{1 + (peak['lift'] or 0):.2f}× normal, {count_text(peak['observed'])} checks)."
    )


# --- the story ------------------------------------------------------------------------------


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


def _in(f: dict[str, Any], start: str, end: str) -> bool:
    first = f.get("start") or f["date"]
    last = f.get("end") or f["date"]
    return first <= end and last >= start


def _within(f: dict[str, Any], start: str, end: str) -> bool:
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


def _numbers(f: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "kind",
        "date",
        "tool",
        "segment",
        "observed",
        "expected",
        "lift",
        "lift_ci",
        "share",
        "normal_share",
    )
    return {key: f.get(key) for key in keys if f.get(key) is not None or key == "tool"}


def _takeaway_spike(
    f: dict[str, Any], refs: References, market: dict[str, Any], lead: str
) -> dict[str, Any]:
    cite = f["market"][0] if f.get("market") else None
    if cite:  # the full event (with its details) from the market block
        cite = next(
            (
                e
                for e in market.get("events", [])
                if e["kind"] == cite["kind"] and e["time"] == cite["time"]
            ),
            {**cite, "details": {}},
        ) | {"lag": cite["lag"]}
    where = (
        f", the day {_short(cite)}{refs.cite(cite['source'])}"
        if cite and cite["lag"] == 0
        else f", the day after {_short(cite)}{refs.cite(cite['source'])}"
        if cite
        else ""
    )
    subject = "all checks" if f["tool"] is None else f"{tool_name(f['tool'])} checks"
    text = (
        f"{lead}{day_text(f['date'])}{where}: {count_text(f['observed'])} {subject} against "
        f"~{count_text(f['expected'])} expected, {signed_percent(f['lift'])} ({_ci(f)})."
    )
    numbers = _numbers(f)
    if cite:
        numbers["market_event"] = {
            "kind": cite["kind"],
            "time": cite["time"],
            "value": cite["value"],
            **({"level": cite["details"]["level"]} if "level" in cite.get("details", {}) else {}),
        }
    return {"kind": "spike", "text": text, "numbers": numbers}


def _short(event: dict[str, Any]) -> str:
    details = event.get("details") or {}
    if event["kind"] == "round_number_break":
        return (
            f"BTC first {'closed' if details.get('field') == 'close' else 'traded'} below "
            f"{details.get('level', 0):,.0f} USD"
        )
    if event["kind"] == "month_low":
        return f"BTC made its lowest daily low of the month ({event['value']:,.0f} USD)"
    if event["kind"] == "largest_daily_move":
        return f"BTC moved {event['value']:+.1%}, its #{details.get('rank', 1)} move of the month"
    if event["kind"] == "drawdown_threshold":
        return f"BTC stood {abs(event['value']):.0%} below its running high"
    return event["description"]


def _key_takeaways(
    findings: list[dict[str, Any]],
    summary: dict[str, Any],
    chapters: list[dict[str, Any]],
    refs: References,
    market: dict[str, Any],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    confident = [
        f
        for f in findings
        if f["kind"] in ("spike", "share_shift")
        and f.get("lift_ci")
        and f.get("lift") is not None
        and f["lift_ci"][0] > 0
    ]
    overall = [
        f for f in confident if f["kind"] == "spike" and f["tool"] is None and f["segment"] == "all"
    ]
    peak = max(overall, key=_excess, default=None)
    if peak:
        out.append(_takeaway_spike(peak, refs, market, "Checks peaked on "))
    tools = [f for f in confident if f["kind"] == "spike" and f["tool"] and f["segment"] == "all"]
    best_tool = max(tools, key=lambda f: _excess(f) * math.log1p(f["lift"]), default=None)
    if best_tool:
        out.append(_takeaway_spike(best_tool, refs, market, "The largest rise of one tool: "))
    if len(chapters) > 1:
        steps = " → ".join(f"{c['label']} ({c['span']})" for c in chapters)
        out.append(
            {
                "kind": "phases",
                "text": f"The tool mix moved through {len(chapters)} phases: {steps}.",
                "numbers": {
                    "count": len(chapters),
                    "phases": [
                        {"start": c["start"], "end": c["end"], "label": c["label"]}
                        for c in chapters
                    ],
                },
            }
        )
    for prefix in ("device:", "region:US"):
        shares = [
            f
            for f in confident
            if f["kind"] == "share_shift" and f["tool"] is None and f["segment"].startswith(prefix)
        ]
        best = max(
            _episodes(shares, "share_shift"), key=lambda r: sum(_excess(f) for f in r), default=None
        )
        if best:
            p = _peak(best)
            name = SHARE_NAMES.get(p["segment"], p["segment"])
            when = span_text(best[0]["date"], best[-1]["date"])
            text = (
                f"{name[0].upper() + name[1:]} of all checks was above normal on {when}, "
                f"peaking on {day_text(p['date'])} at {p['share']:.0%} against a normal "
                f"{p['normal_share']:.0%} ({1 + p['lift']:.2f}× normal, 95% CI "
                f"{1 + p['lift_ci'][0]:.2f}–{1 + p['lift_ci'][1]:.2f}×; "
                f"{count_text(p['observed'])} checks)."
            )
            out.append(
                {
                    "kind": "share_shift",
                    "text": text,
                    "numbers": {
                        **_numbers(p),
                        "run_start": best[0]["date"],
                        "run_end": best[-1]["date"],
                    },
                }
            )
    # fewer than five: the strongest findings of other kinds, the month over month, and a
    # significant association with the market (each with the numbers it quotes)
    others = sorted(
        (
            f
            for f in findings
            if f["kind"] not in ("spike", "share_shift", "phase")
            and f.get("text")
            and (f.get("q_value") or 1.0) < 0.05
        ),
        key=lambda f: f.get("q_value") or 1.0,
    )
    for f in others[: max(0, 5 - len(out) - 2)]:
        out.append({"kind": f["kind"], "text": f["text"], "numbers": f})
    previous = summary.get("previous_month") or {}
    if len(out) < 5 and previous.get("change") is not None and previous.get("setups"):
        text = (
            f"Month over month: {summary['setups']:,} checks against "
            f"{previous['setups']:,} in {previous['month']} "
            f"({signed_percent(previous['change'])})."
        )
        out.append(
            {
                "kind": "month_over_month",
                "text": text,
                "numbers": {
                    "setups": summary["setups"],
                    "previous_setups": previous["setups"],
                    "change": previous["change"],
                    "month": f"{previous['month']}-01",
                },
            }
        )
    for c in market.get("correlations", []):
        if len(out) < 5 and c.get("p_value") is not None and c["p_value"] < 0.05:
            out.append(
                {
                    "kind": "correlation",
                    "text": c["text"][0].upper() + c["text"][1:],
                    "numbers": {key: c[key] for key in ("rho", "p_value", "days", "lag")},
                }
            )
    return out[:5]


def _chapter(
    phase: dict[str, Any],
    findings: list[dict[str, Any]],
    daily: dict[str, Any],
    market: dict[str, Any],
    refs: References,
    top: int,
) -> dict[str, Any]:
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
    spikes = _episodes([f for f in inside if f["segment"] == "all"], "spike")
    spikes.sort(key=lambda r: -max(_excess(f) for f in r))
    did = [episode_text(r) for r in spikes[:top]]
    other = sorted(  # findings of other kinds whose days lie within this phase
        (
            f
            for f in inside
            if f["kind"] not in ("spike", "share_shift")
            and f.get("text")
            and _within(f, start, end)
        ),
        key=lambda f: f.get("q_value") or 1.0,
    )
    did += [f["text"] for f in other[:1]]
    shares = _episodes([f for f in inside if f["tool"] is None], "share_shift")
    shares.sort(key=lambda r: -sum(abs(_excess(f)) for f in r))
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


def _funding_check(market: dict[str, Any], refs: References) -> dict[str, Any] | None:
    runs = [e for e in market.get("events", []) if e["kind"] == "funding_negative_run"]
    if not runs:
        return None
    run = max(runs, key=lambda e: (e["details"].get("prints", 0), -e["value"]))
    d = run["details"]
    share = d["negative_prints"] / max(d["prints"], 1)
    deep = share >= 0.75 and run["value"] <= -1e-4
    shown = (
        f"negative in {d['negative_prints']} of {d['prints']} prints from "
        f"{day_text(run['time'][:10])} to {day_text(d['end'][:10])}, lowest "
        f"{run['value'] * 100:+.4f}% per 8 h ({day_text(d['min_time'][:10])}); the sum "
        f"over those prints was {d['sum_rate'] * 100:+.4f}%"
    )
    verdict = "supported" if deep else "not supported"
    text = (
        f'Claim: "funding turned deeply negative". The data: funding was {shown}'
        f"{refs.cite(run['source'])}. "
        + (
            "That supports it."
            if deep
            else "That is a flicker around zero, not deeply negative funding; this report does "
            "not use the claim."
        )
    )
    return {
        "claim": "funding turned deeply negative",
        "verdict": verdict,
        "text": text,
        "data": {
            "prints": d["prints"],
            "negative_prints": d["negative_prints"],
            "lowest_per_8h": run["value"],
            "sum_rate": d["sum_rate"],
            "from": run["time"],
            "to": d["end"],
        },
    }


def _price_checks(market: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    out = []
    breaks: dict[float, dict[str, str]] = {}
    for e in market.get("events", []):
        if e["kind"] == "round_number_break":
            level = e["details"].get("level")
            breaks.setdefault(level, {})[e["details"].get("field", "low")] = e
    for level, by_field in sorted(breaks.items(), reverse=True):
        low, close = by_field.get("low"), by_field.get("close")
        if low and close and low["time"][:10] != close["time"][:10]:
            text = (
                f'Claim: "BTC fell below {level:,.0f} USD on {day_text(low["time"][:10])}". '
                f"The data: it first traded below {level:,.0f} on "
                f"{day_text(low['time'][:10])} but first closed below it on "
                f"{day_text(close['time'][:10])}{refs.cite(close['source'])}; this report "
                "dates the break by the close."
            )
            out.append(
                {
                    "claim": f"BTC fell below {level:,.0f} USD",
                    "verdict": "qualified",
                    "text": text,
                    "data": {
                        "first_low_below": low["time"][:10],
                        "first_close_below": close["time"][:10],
                    },
                }
            )
    return out


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
    chapters = [_chapter(p, findings, daily, market, refs, top) for p in phases]
    checks = [c for c in [_funding_check(market, refs), *_price_checks(market, refs)] if c]
    # findings of other kinds that span more than one phase: told once, for the month
    across = sorted(
        (
            f
            for f in findings
            if f["kind"] not in ("spike", "share_shift", "phase")
            and f.get("text")
            and not any(_within(f, c["start"], c["end"]) for c in chapters)
        ),
        key=lambda f: f.get("q_value") or 1.0,
    )
    takeaways = _key_takeaways(findings, summary, chapters, refs, market)
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
