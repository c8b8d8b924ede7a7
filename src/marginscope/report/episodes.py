"""Episodes: runs of consecutive flagged days of one tool and segment, and the sentence for each.

A run's peak is its day of largest lift; its excess is observed minus expected checks.
"""

from __future__ import annotations

from typing import Any

from marginscope.analytics.formatting import count_text, day_text, signed_percent, span_text
from marginscope.analytics.names import SHARE_NAMES, tool_label

__all__ = ["ci_text", "episode_peak", "episode_runs", "episode_text", "excess", "range_text"]


def range_text(low: float, high: float, fmt: str) -> str:
    """``between 25% and 31%``, or ``at 25%`` when both ends print the same."""
    a, b = format(low, fmt), format(high, fmt)
    return f"at {a}" if a == b else f"between {a} and {b}"


def excess(f: dict[str, Any]) -> float:
    """Observed minus expected checks of a finding."""
    return float(f["observed"]) - float(f["expected"] or 0.0)


def episode_runs(findings: list[dict[str, Any]], kind: str) -> list[list[dict[str, Any]]]:
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


def episode_peak(run: list[dict[str, Any]]) -> dict[str, Any]:
    """The day of the run with the largest absolute lift."""
    return max(run, key=lambda f: abs(f["lift"] or 0.0))


def ci_text(f: dict[str, Any]) -> str:
    """``95% CI +10% to +20%`` for the lift, or empty when there is no interval."""
    ci = f.get("lift_ci")
    return f"95% CI {signed_percent(ci[0])} to {signed_percent(ci[1])}" if ci else ""


def episode_text(run: list[dict[str, Any]]) -> str:
    """One sentence for a run of flagged days; the peak day is named with its numbers."""
    peak = episode_peak(run)
    when = span_text(run[0]["date"], run[-1]["date"])
    days = f"on each of {len(run)} days" if len(run) > 1 else "on the day"
    if peak["kind"] == "spike":
        lifts = [f["lift"] for f in run]
        level = (
            range_text(min(lifts) * 100, max(lifts) * 100, "+.0f") + "% against normal"
            if len(run) > 1
            else f"{signed_percent(peak['lift'])} against normal"
        )
        ci = ci_text(peak)
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
        range_text(min(shares) * 100, max(shares) * 100, ".0f") + "%"
        if len(run) > 1
        else f"{peak['share']:.0%}"
    )
    return (
        f"{when}: {name} of {of} {level} against a normal {peak['normal_share']:.0%}"
        f" (peak {day_text(peak['date'])}: {peak['share']:.0%}, "
        f"{1 + (peak['lift'] or 0):.2f}× normal, {count_text(peak['observed'])} checks)."
    )
