"""The key takeaways: up to five, strongest first, each with the numbers it quotes."""

from __future__ import annotations

import math
from typing import Any

from marginscope.analytics.formatting import count_text, day_text, signed_percent, span_text
from marginscope.analytics.names import SHARE_NAMES, tool_name
from marginscope.report.episodes import ci_text, episode_peak, episode_runs, excess
from marginscope.report.references import References

__all__ = ["key_takeaways"]


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
        f"~{count_text(f['expected'])} expected, {signed_percent(f['lift'])} ({ci_text(f)})."
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


def key_takeaways(
    findings: list[dict[str, Any]],
    summary: dict[str, Any],
    chapters: list[dict[str, Any]],
    refs: References,
    market: dict[str, Any],
) -> list[dict[str, Any]]:
    """Up to five takeaways: peak day, largest tool rise, phases, share shifts, then others."""
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
    peak = max(overall, key=excess, default=None)
    if peak:
        out.append(_takeaway_spike(peak, refs, market, "Checks peaked on "))
    tools = [f for f in confident if f["kind"] == "spike" and f["tool"] and f["segment"] == "all"]
    best_tool = max(tools, key=lambda f: excess(f) * math.log1p(f["lift"]), default=None)
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
            episode_runs(shares, "share_shift"),
            key=lambda r: sum(excess(f) for f in r),
            default=None,
        )
        if best:
            p = episode_peak(best)
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
