"""The issue-21 views of the dashboard, chosen from the month's report JSON by the page's filters.

Every number comes from the report's published JSON (``Report.to_dict()``, already protected by
:mod:`marginscope.analytics.disclosure`): nothing is recomputed here, so a cell the report hides
stays hidden. :func:`select_views` picks the findings of each kind for the filters;
:func:`view_figures` lays them out for the page (inline SVG geometry, no JavaScript).

Filters (as for the findings list):

* **dates**: a finding is shown when its span ``[start, end]`` overlaps the range;
* **tool**: a finding about that tool (a transition from or to it, a path or funnel through it,
  a lift ratio naming it); profiles and associations "of all tools" drop out;
* **device / region**: contrasts with that segment on one side, hour profiles of that segment
  (``region:US`` also the local-time profiles of U.S. zones; ``rest`` of other countries),
  session positions of that device. The session views (transitions, paths, funnels) and
  setup content are computed over all devices and regions; the page says so instead of
  hiding them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from marginscope.web.charts import interval_axis, line_chart

__all__ = ["CSV_COLUMNS", "LIMITS", "VIEW_KINDS", "select_views", "view_figures", "view_rows"]

VIEW_KINDS = {
    "contrasts": "contrast",
    "transitions": "transition",
    "paths": "path",
    "funnels": "funnel",
    "positions": "session_position",
    "hour_profiles": "hour_profile",
    "content": "content",
    "lift_ratios": "lift_ratio",
}
"""Key of ``views`` in ``/dashboard/data.json`` → finding kind of the report JSON."""
LIMITS = {
    "contrasts": 24,
    "transitions": 12,
    "paths": 12,
    "funnels": 8,
    "positions": 12,
    "hour_profiles": 8,
    "content": 12,
    "lift_ratios": 8,
}
"""At most this many of each view on the page (the largest effects first)."""
CSV_COLUMNS = {
    "contrasts": (
        "start",
        "end",
        "scope",
        "tool",
        "dimension",
        "a",
        "b",
        "share_a",
        "share_b",
        "ratio",
        "ratio_ci",
        "normal_ratio",
        "q_value",
        "text",
    ),
    "transitions": (
        "start",
        "end",
        "scope",
        "from_tool",
        "to_tool",
        "probability",
        "ci",
        "normal_probability",
        "transitions",
        "sessions",
        "q_value",
        "text",
    ),
}
"""The view CSV downloads (``/dashboard/<view>.csv``): the finding fields, intervals split in
two columns (``ratio_low``, ``ratio_high``; ``ci_low``, ``ci_high``)."""


def _overlaps(finding: dict[str, Any], first: str, last: str) -> bool:
    start = finding.get("start") or finding.get("date")
    end = finding.get("end") or start
    return start is not None and start <= last and end >= first


def _tools(finding: dict[str, Any]) -> set[str]:
    """The tools a finding is about (what the tool filter matches)."""
    kind = finding["kind"]
    if kind == "transition":
        return {finding.get("from_tool"), finding.get("to_tool")} - {None}
    if kind == "path":
        return set(finding.get("path") or ()) - {"END"}
    if kind == "funnel":
        return {t for step in finding.get("steps") or () for t in step}
    if kind == "lift_ratio":
        return {finding.get("tool_a"), finding.get("tool_b")} - {None}
    return {finding["tool"]} if finding.get("tool") else set()


def _segment_ok(finding: dict[str, Any], filters: dict[str, str]) -> bool:
    """Device/region filters select contrasts and hour profiles of that segment."""
    wanted = {name: filters[name] for name in ("device", "region") if name in filters}
    if not wanted:
        return True
    if finding["kind"] == "contrast":
        value = wanted.get(finding.get("dimension", ""))
        return value is not None and value in (finding.get("a"), finding.get("b"))
    if finding["kind"] == "session_position":  # by device, over all regions
        return "device" not in wanted or finding.get("segment") == f"device:{wanted['device']}"
    if finding["kind"] == "hour_profile":
        dimension, _, value = (finding.get("segment") or "").partition(":")
        if dimension == "local" and "region" in wanted:
            return (value == "US") == (wanted["region"] == "US")
        return wanted.get(dimension) == value
    return True


def _effect(finding: dict[str, Any]) -> float:
    """Size of a finding's effect, for "largest first" (0 when it carries no numbers)."""

    def log_ratio(a: Any, b: Any) -> float:
        ok = all(isinstance(v, int | float) and v > 0 for v in (a, b))
        return abs(math.log(a / b)) if ok else 0.0

    kind = finding["kind"]
    if kind == "contrast":
        return log_ratio(finding.get("ratio"), finding.get("normal_ratio")) + log_ratio(
            finding.get("ratio"), 1.0
        )
    if kind == "transition":
        return abs((finding.get("probability") or 0) - (finding.get("normal_probability") or 0))
    if kind == "path":
        return abs((finding.get("share") or 0) - (finding.get("normal_share") or 0))
    if kind == "session_position":
        return abs((finding.get("first_share") or 0) - (finding.get("normal_first_share") or 0))
    if kind == "lift_ratio":
        return log_ratio(finding.get("ratio"), 1.0)
    if kind in ("hour_profile", "content"):
        return finding.get("tv") or 0.0
    return 0.0


def _previous_month(summary: dict[str, Any], filters: dict[str, str]) -> dict[str, Any] | None:
    """``summary.previous_month`` and the row of each filter's tool / device / region."""
    block = summary.get("previous_month")
    if not block:
        return None
    rows = []
    for axis, name in (("tools", "tool"), ("devices", "device"), ("regions", "region")):
        if name in filters:
            part = (block.get(axis) or {}).get(filters[name])
            rows.append(
                {
                    "axis": name,
                    "value": filters[name],
                    **(part or {"previous": None, "current": None, "change": None}),
                }
            )
    return {**block, "rows": rows}


def select_views(
    data: dict[str, Any], filters: dict[str, str], first: str, last: str
) -> dict[str, Any]:
    """The views for ``filters`` and the inclusive days ``first``…``last``, from the report
    JSON ``data``: ``{key: [finding, …]}`` for each of :data:`VIEW_KINDS` (the published
    finding dicts, unchanged, largest effects first), ``previous_month`` (with ``rows`` for
    the filters), ``market_response`` (the lagged associations of the filtered tool) and
    ``reference`` (the reference days, ``metadata.reference``)."""
    tool = filters.get("tool")
    chosen = [
        f
        for f in data.get("findings") or ()
        if f.get("kind") in VIEW_KINDS.values()
        and _overlaps(f, first, last)
        and (tool is None or tool in _tools(f))
        and _segment_ok(f, filters)
    ]
    views: dict[str, Any] = {}
    for key, kind in VIEW_KINDS.items():
        rows = [f for f in chosen if f["kind"] == kind]
        rows.sort(key=lambda f: (-_effect(f), f.get("start") or ""))
        views[key] = rows
    response = (data.get("market") or {}).get("response") or {}
    views["market_response"] = [r for r in response.get("lagged") or () if r.get("tool") == tool]
    views["previous_month"] = _previous_month(data.get("summary") or {}, filters)
    views["reference"] = (data.get("metadata") or {}).get("reference")
    return views


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _dot_rows(
    findings: Sequence[dict[str, Any]], value: str, interval: str, normal: str, *, log: bool
) -> dict[str, Any]:
    """Dot-plot rows on one shared axis: the value, its interval and the reference value."""
    rows = [
        (
            _number(f.get(value)),
            *[_number(v) for v in (f.get(interval) or (None, None))],
            _number(f.get(normal)),
        )
        for f in findings
    ]
    axis = interval_axis([v for row in rows for v in row], log=log)
    return {"axis": axis, "rows": [axis.place(*row) for row in rows]}


def _hour_chart(finding: dict[str, Any]) -> Any:
    observed = [_number(v) for v in finding.get("observed") or ()]
    normal = [_number(v) for v in finding.get("normal") or ()]
    if len(observed) != 24:
        return None
    hours = finding.get("hours") or "UTC"
    return line_chart(
        list(range(24)),
        [100 * v if v is not None else math.nan for v in observed],
        y2=[100 * v if v is not None else None for v in normal],
        title=f"{finding.get('segment')} hour profile",
        description=f"Share of the span's checks per {hours} hour (solid) and "
        "in the reference (dashed).",
        x_label=f"hour ({hours})",
        y_label="% of checks",
        y2_label="reference",
    )


def _share_bars(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """Observed vs normal share per value (widths in % of the largest share)."""
    observed, normal = finding.get("observed") or {}, finding.get("normal") or {}
    keys = list(dict.fromkeys([*observed, *normal]))
    top = max([_number(v) or 0.0 for v in (*observed.values(), *normal.values())] + [1e-12])
    return [
        {
            "value": key,
            "observed": _number(observed.get(key)),
            "normal": _number(normal.get(key)),
            "observed_width": round(100 * (_number(observed.get(key)) or 0) / top, 1),
            "normal_width": round(100 * (_number(normal.get(key)) or 0) / top, 1),
        }
        for key in keys
    ]


def _spans(findings: Iterable[dict[str, Any]]) -> list[tuple[tuple[str, str, str], list]]:
    """Findings grouped by span (month first, then phases by day)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(
            (f.get("start") or "", f.get("end") or "", f.get("scope") or ""), []
        ).append(f)
    return sorted(groups.items(), key=lambda item: (item[0][2] != "month", item[0][0]))


def view_figures(views: dict[str, Any]) -> dict[str, Any]:
    """Page layout of :func:`select_views`' result: dot plots per span for contrasts, one for
    transitions, an hour chart per profile, share bars per content finding (each list cut to
    :data:`LIMITS`)."""
    shown = {key: views[key][: LIMITS[key]] for key in VIEW_KINDS}
    contrasts = [
        {
            "start": start,
            "end": end,
            "scope": scope,
            "findings": rows,
            **_dot_rows(rows, "ratio", "ratio_ci", "normal_ratio", log=True),
        }
        for (start, end, scope), rows in _spans(shown["contrasts"])
    ]
    return {
        "shown": shown,
        "contrasts": contrasts,
        "transitions": _dot_rows(
            shown["transitions"], "probability", "ci", "normal_probability", log=False
        ),
        "hours": [(f, _hour_chart(f)) for f in shown["hour_profiles"]],
        "content": [(f, _share_bars(f)) for f in shown["content"]],
    }


def view_rows(views: dict[str, Any], table: str) -> list[list[Any]]:
    """Header and rows of the ``table`` view CSV (:data:`CSV_COLUMNS`; every finding the
    filters select, not only those the page draws)."""
    columns = CSV_COLUMNS[table]
    header = [
        part
        for c in columns
        for part in (
            (
                f"{c.removesuffix('_ci')}_low" if c != "ci" else "ci_low",
                f"{c.removesuffix('_ci')}_high" if c != "ci" else "ci_high",
            )
            if c.endswith("ci")
            else (c,)
        )
    ]
    rows: list[list[Any]] = [header]
    for f in views[table]:
        row: list[Any] = []
        for c in columns:
            if c.endswith("ci"):
                row += list(f.get(c) or (None, None))[:2]
            else:
                row.append(f.get(c))
        rows.append(row)
    return rows
