"""The report's tables: the month's summary, the daily series, the countries and the
comparisons of flagged days, each cell as the disclosure table publishes it."""

from __future__ import annotations

from typing import Any

import numpy as np

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.association import MarketContext
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.disclosure import Disclosure, merge_small


def _summary(analysis: Analysis, month_end: int, table: Disclosure) -> dict[str, Any]:
    """The month's totals; a breakdown cell that would reveal a count under k (directly or as
    the total minus the published cells) is None (:mod:`~marginscope.analytics.disclosure`)."""
    cube, start = analysis.cube, analysis.start
    counts = cube.counts[start:month_end]
    setups = int(counts.sum())
    countries = int((counts.sum(axis=(0, 1, 2)) > 0).sum())
    reach = cube.reach
    us, rest = table.shown(("region", "US")), table.shown(("region", "rest"))
    summary: dict[str, Any] = {
        "setups": setups,
        "countries": countries,
        "visitors": reach.total_visitors if reach else None,
        "sessions": reach.total_sessions if reach else None,
        "days": int(month_end - start),
        "days_analysed": int(analysis.end - start),
        "days_tested": analysis.tested_days(),
        "regions": {"US": us, "rest": rest},
        "tools": {
            t: table.shown(("tool", t)) for t, n in cube.by_tool(start, month_end).items() if n > 0
        },
        "devices": {
            d: table.shown(("device", d))
            for d, n in cube.by_device(start, month_end).items()
            if n > 0
        },
    }
    if reach is not None:
        days = {name: table.shown(("visitors", name)) for name in ("US", "rest", "all")}
        summary["visitor_days"] = days

        def ratio(checks: int | None, per: int | None) -> float | None:
            return round(checks / per, 4) if checks is not None and per else None

        summary["checks_per_visitor"] = {
            "US": ratio(us, days["US"]),
            "rest": ratio(rest, days["rest"]),
            "all": ratio(setups, days["all"]),
            "unit": "checks per visitor-day",
        }
    return summary


def _countries(cube: DailyCube, start: int, end: int, k: int) -> list[dict[str, Any]]:
    shown, merged = merge_small(cube.by_country(start, end), k)
    rows: list[dict[str, Any]] = [{"country": c, "checks": n} for c, n in shown.items()]
    if merged:
        total = sum(cube.by_country(start, end)[c] for c in merged)
        rows.append(
            {
                "country": "other",
                "countries": len(merged),
                "checks": total if total >= k else None,
                "note": f"countries with fewer than {k} checks, merged (with the smallest "
                f"larger ones when needed to reach {k})",
            }
        )
    return rows


def _daily(
    analysis: Analysis, month_end: int, context: MarketContext | None, table: Disclosure
) -> dict[str, Any]:
    cube, start = analysis.cube, analysis.start
    span = range(month_end - start)

    def shown(*key: str) -> list[int | None]:
        return table.shown_all([("day", i, *key) for i in span])

    tools = {"all": shown("all")}
    for tool, total in cube.by_tool(start, month_end).items():
        if total > 0:
            tools[tool] = shown("tool", tool)
    devices = {d: shown("device", d) for d, n in cube.by_device(start, month_end).items() if n > 0}
    regions = {r: shown("region", r) for r in ("US", "rest")}
    daily: dict[str, Any] = {
        "dates": [str(d) for d in cube.days[start:month_end]],
        "checks": tools,
        "devices": devices,
        "regions": regions,
        "expected_all": [
            None if not np.isfinite(v) else round(float(v), 2)
            for v in np.concatenate(
                [analysis.expected(), np.full(month_end - analysis.end, np.nan)]
            )
        ],
    }
    if cube.reach is not None:
        daily["visitors"] = {name: shown("visitors", name) for name in ("US", "rest", "all")}
    if context is not None:
        daily["btc_close"] = [
            None if not np.isfinite(v) else round(float(v), 2)
            for v in context.close[: month_end - start]
        ]
    return daily


def _comparisons(analysis: Analysis) -> list[dict[str, Any]]:
    from marginscope.analytics.analysis import comparisons

    series = analysis.cube.series()
    flagged_days = sorted({f.date for f in analysis.findings if f.kind == "spike"})
    out = []
    for day in flagged_days:
        t = analysis.cube.index(day)
        values = comparisons(series, t, analysis.start, k=analysis.k)
        out.append(
            {
                "date": day,
                "tool": None,
                "checks": int(series[t]),
                **{name: None if v is None else round(v, 6) for name, v in values.items()},
            }
        )
    return out
