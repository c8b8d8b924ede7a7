"""Market claims checked against the data: "funding turned deeply negative" against the
negative-funding run, "BTC fell below a level" against its first low vs its first close."""

from __future__ import annotations

from typing import Any

from marginscope.analytics.formatting import day_text
from marginscope.report.references import References

__all__ = ["funding_check", "price_checks"]


def funding_check(market: dict[str, Any], refs: References) -> dict[str, Any] | None:
    """The "deeply negative" funding claim against the longest negative run (None: no run)."""
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


def price_checks(market: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    """A "fell below" claim for each level whose first low and first close below differ in day."""
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
