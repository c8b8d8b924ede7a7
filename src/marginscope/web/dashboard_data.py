"""What the dashboard shows: the month's report, the filtered charts and totals, the query.

The page reads the events DuckDB file (:func:`marginscope.config.db_path`): the same charts as
the monthly report (:mod:`marginscope.report.charts`) for the chosen tool, device, region and
date range, the month's findings and the issue-21 views (:mod:`.dashboard_views`). Reports and
charts are cached per month (and filters) and the file's modification time.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import Request

from marginscope.errors import InputError
from marginscope.web.dashboard_views import select_views, view_figures

if TYPE_CHECKING:
    from marginscope.analytics.findings import Finding

__all__ = [
    "DEVICES",
    "MAX_DAYS",
    "REGIONS",
    "cached",
    "chromium",
    "dashboard_view",
    "events_db",
    "month_of",
    "month_report",
    "months_available",
    "parse_filters",
    "stamp",
]

MAX_DAYS = 366
DEVICES = ("mobile", "desktop", "tablet", "other")
REGIONS = {"US": "United States", "rest": "Rest of world"}
_ID = re.compile(r"^[a-z0-9_]{1,40}$")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 16


def events_db() -> Path:
    from marginscope.config import db_path

    return db_path()


def stamp(db: Path) -> tuple[str, int, int]:
    stat = db.stat()
    return str(db), stat.st_mtime_ns, stat.st_size


def cached(key: tuple[Any, ...], make: Any) -> Any:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = make()
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def month_report(db: Path, month: str) -> Any:
    """The month's report with charts (for the findings, the flag and the downloads)."""
    from marginscope.report import build_report

    return cached(("report", month, *stamp(db)), lambda: build_report(str(db), month))


def months_available(db: Path) -> tuple[str, str, str] | None:
    """First month with events, last month with events, and the month the page opens on:
    the latest month with at least k events per day on average (a month with only a few
    live page views after a demo is not "the latest month with data"), else the last one.
    None when the file holds no events."""
    from marginscope.analytics.queries import day_number
    from marginscope.analytics.sources import opened_events
    from marginscope.config import min_cell

    def read() -> tuple[str, str, str] | None:
        try:
            with opened_events(db) as events:  # waits while the live sink holds the file
                day = day_number(events)
                rows = events.group_by(day=day).aggregate(n=events.count()).to_pyarrow()
        except InputError:  # no events table
            return None
        per_month: dict[str, int] = {}
        epoch = date(1970, 1, 1)
        for number, n in zip(rows["day"].to_pylist(), rows["n"].to_pylist(), strict=True):
            month = (epoch + timedelta(days=int(number))).strftime("%Y-%m")
            per_month[month] = per_month.get(month, 0) + int(n)
        if not per_month:
            return None
        months = sorted(per_month)
        full = [m for m in months if per_month[m] >= min_cell() * 28]
        return months[0], months[-1], (full or months)[-1]

    return cached(("months", *stamp(db)), read)


def _ratio(part: int | None, whole: int | None) -> float | None:
    """``part / whole`` when both are published (not suppressed) and ``whole`` > 0."""
    return part / whole if part is not None and whole else None


def _charts(
    db: Path,
    first: date,
    end: date,
    filters: dict[str, str],
    synthetic: bool,
    findings: list[Finding],
) -> dict[str, Any]:
    """The report's charts (:func:`marginscope.report.charts.usage_charts`) for ``[first,
    end)`` under ``filters``, plus the totals shown.

    The days are aggregated once into a cube (cached); filters select its cells. Totals add
    only the cells shown (per day and value, cells under k left out). Spike circles come from
    the month's findings (all devices and regions), so they are drawn only when no device or
    region filter is set.
    """
    from marginscope.analytics.aggregate import aggregate
    from marginscope.analytics.association import market_context
    from marginscope.analytics.disclosure import cube_disclosure
    from marginscope.analytics.names import tool_name
    from marginscope.config import min_cell
    from marginscope.report.build import load_market
    from marginscope.report.charts import svg_data_uri, usage_charts

    k = min_cell()
    src = str(db)
    cube = cached(("cube", first, end, *stamp(db)), lambda: aggregate(src, first, end, reach=False))
    days = len(cube.days)
    chosen = cube.where(filters.get("tool"), filters.get("device"), filters.get("region"))
    any_region = cube.where(filters.get("tool"), filters.get("device"))
    table = cube_disclosure(chosen, 0, days, k)
    regional_table = cube_disclosure(any_region, 0, days, k)
    tool_sums = {t: table.shown(("tool", t)) for t, n in chosen.by_tool().items() if n > 0}
    device_sums = {d: table.shown(("device", d)) for d in chosen.devices}
    region_sums = {name: regional_table.shown(("region", name)) for name in REGIONS}
    total = table.shown(("all",))
    loaded = cached(("market", *stamp(db)), lambda: load_market(src))
    context = market_context(loaded.data, first, end, origin=loaded.origin)
    regional = bool({"device", "region"} & set(filters))
    charts, captions = [], []
    if tool_sums:
        label = f"{tool_name(filters['tool'])} checks" if "tool" in filters else "all checks"
        us = {
            label: (
                regional_table.masked(any_region.series(None, "region:US"), "region", "US"),
                any_region.series(),
            )
        }
        matrix = np.stack(
            [
                table.masked(column, "tool", tool)
                for tool, column in zip(chosen.tools, chosen.tool_matrix().T, strict=True)
            ],
            axis=1,
        )
        charts = usage_charts(
            chosen,
            0,
            days,
            context=context,
            findings=[] if regional else findings,
            k=k,
            synthetic=synthetic,
            us_series=us,
            matrix=matrix,
        )
        captions = [
            charts[0].caption
            + f" Cells under {k} checks are gaps."
            + (" (No spike circles under a device or region filter.)" if regional else ""),
            charts[1].caption,
            "U.S. share per UTC day of the checks matching the tool and device "
            "filters (the region filter does not apply here).",
        ]
    region_total = regional_table.shown(("all",))
    per_tool = sorted(
        ((tool_name(t), n) for t, n in sorted(tool_sums.items())),
        key=lambda i: -(i[1] if i[1] is not None else -1),
    )
    span = range(days)

    def series(*key: str) -> list[int | None]:
        return table.shown_all([("day", i, *key) for i in span])

    daily = {
        "dates": [str(d) for d in cube.days],
        "checks": {"all": series("all"), **{t: series("tool", t) for t in tool_sums}},
        "devices": {
            d: series("device", d)
            for d in chosen.devices
            if chosen.series(None, f"device:{d}").any()
        },
        "regions": {
            r: regional_table.shown_all([("day", i, "region", r) for i in span]) for r in REGIONS
        },
        "btc_close": [
            None if not math.isfinite(v) else round(float(v), 2) for v in context.close[:days]
        ]
        if len(context.close) >= days
        else None,
    }
    from marginscope.report.charts import colours, event_marks

    marks = event_marks(context, cube.days)
    plot = {
        "names": {t: tool_name(t) for t in tool_sums},
        "colours": colours(list(tool_sums)),
        "marks": [{"day": str(cube.days[p]), "label": label} for p, label in marks],
        "price_label": "BTC daily close (USD)",
    }
    return {
        "daily": daily,
        "plot": plot,
        "charts": [
            {
                "name": c.name,
                "title": c.title,
                "alt": c.alt,
                "caption": caption,
                "narrow": svg_data_uri(c.narrow),
                "wide": svg_data_uri(c.wide),
            }
            for c, caption in zip(charts, captions, strict=True)
        ],
        "totals": {
            "checks": total,
            "days": days,
            "regions": region_sums,
            "us_share": _ratio(region_sums["US"], region_total),
            "mobile_share": _ratio(device_sums.get("mobile"), total),
            "tools": per_tool,
        },
        "k": k,
    }


# --- query parameters -----------------------------------------------------------------------


def month_of(value: str | None, available: tuple[str, str] | None) -> str:
    from marginscope.analytics.periods import month_bounds

    if value:
        month_bounds(value)  # raises InputError("month", …) unless YYYY-MM
        return value
    return available[2] if available else date.today().strftime("%Y-%m")


def parse_filters(tool: str | None, device: str | None, region: str | None) -> dict[str, str]:
    out = {}
    if tool:
        if not _ID.match(tool):
            raise InputError("tool", tool, "a tool id such as liquidation_price")
        out["tool"] = tool
    if device:
        if device not in DEVICES:
            raise InputError("device", device, " | ".join(DEVICES))
        out["device"] = device
    if region:
        if region not in REGIONS:
            raise InputError("region", region, " | ".join(REGIONS))
        out["region"] = region
    return out


def chromium() -> str | None:
    from marginscope.report.render import find_chromium

    return find_chromium()


def dashboard_view(request: Request, params: dict[str, str | None]) -> dict[str, Any]:
    from marginscope.analytics.names import tool_name
    from marginscope.analytics.periods import day_range

    db = events_db()
    context: dict[str, Any] = {
        "db": str(db),
        "params": params,
        "devices": DEVICES,
        "regions": REGIONS,
        "tool_name": tool_name,
    }
    available = months_available(db) if db.is_file() else None
    context["available"] = available
    month = month_of(params.get("month"), available)
    first, end = day_range(month, params.get("start"), params.get("end"), max_days=MAX_DAYS)
    filters = parse_filters(params.get("tool"), params.get("device"), params.get("region"))
    context.update(
        month=month,
        start=first.isoformat(),
        end=(end - timedelta(days=1)).isoformat(),
        filters=filters,
    )
    if available is None:
        return context
    report = month_report(db, month)
    data = report.to_dict()
    wanted = [f"{name}:{filters[name]}" for name in ("device", "region") if name in filters]
    last = context["end"]

    def in_range(f: dict[str, Any]) -> bool:  # a span counts when it overlaps the range
        return (f.get("start") or f["date"]) <= last and (f.get("end") or f["date"]) >= context[
            "start"
        ]

    findings = [
        f
        for f in data["findings"]
        if ("tool" not in filters or f["tool"] == filters["tool"])
        and (not wanted or f["segment"] in wanted)
        and in_range(f)
    ]

    # the largest effects first (excess checks), then the day: "top N first"
    def excess(f: dict[str, Any]) -> float:  # findings of some kinds carry no counts
        observed, expected = f.get("observed"), f.get("expected")
        numbers = all(isinstance(v, int | float) for v in (observed, expected))
        return abs(observed - expected) if numbers else 0.0

    findings.sort(key=lambda f: (-excess(f), f["date"]))
    views = select_views(data, filters, context["start"], last)
    query = urlencode({"month": month, "start": context["start"], "end": context["end"], **filters})
    context.update(
        synthetic=data["synthetic"],
        label=data["metadata"].get("label", ""),
        findings=findings,
        all_findings=len(data["findings"]),
        query=query,
        views=views,
        figures=view_figures(views),
        summary=data["summary"],
        tools=sorted(data["summary"].get("tools") or {}),
        downloads=["html", "json", "md"] + (["pdf"] if chromium() else []),
    )
    key = ("charts", month, first, end, tuple(sorted(filters.items())), *stamp(db))
    context.update(
        cached(key, lambda: _charts(db, first, end, filters, data["synthetic"], report.findings))
    )
    return context
