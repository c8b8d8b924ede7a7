"""Disclosure protection of the report's derived blocks: findings that would give back a count
under k, last month's comparison and the market event study
(:mod:`~marginscope.analytics.disclosure`)."""

from __future__ import annotations

from typing import Any

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.disclosure import Disclosure, protect_parts, safe_count
from marginscope.analytics.findings import Finding


def _gives_back(cube: DailyCube, finding: Finding, k: int, table: Disclosure, start: int) -> bool:
    """True when a finding would reveal a count under k: its ``observed`` is a daily cell the
    published table hides (complementary suppression hid it so that a smaller cell cannot be
    recovered), or a segment's finding where its tool's checks that day (published in the
    daily series) minus the segment's checks is the rest of the segments — for the two
    regions, exactly the other region."""
    if finding.kind not in ("spike", "share_shift"):
        return False
    day = cube.index(finding.date) - start
    axis, _, name = finding.segment.partition(":")
    key = (
        ("day", day, "tool", finding.tool)
        if finding.tool and finding.segment == "all"
        else ("day", day, axis, name)
        if finding.tool is None and name
        else ("day", day, "all")
        if finding.tool is None
        else None
    )
    if key is not None and key in table.hidden:
        return True
    if finding.segment == "all":
        return False
    parent = int(cube.series(finding.tool, "all")[cube.index(finding.date)])
    return 0 < parent - int(finding.observed) < k


def _protect_previous(
    block: dict[str, Any] | None, table: Disclosure, k: int
) -> dict[str, Any] | None:
    """``summary.previous_month`` with this month's counts as the summary publishes them (a
    cell hidden there is hidden here, with the changes computed from it), and last month's
    breakdowns protected the same way against last month's total."""
    if not block or "tools" not in block:
        return block
    for axis in ("tools", "devices", "regions"):
        parts = block.get(axis) or {}
        before = protect_parts(
            {name: part.get("previous") or 0 for name, part in parts.items()},
            block.get("setups") or 0,
            k,
        )
        for name, part in parts.items():
            now = table.shown((axis[:-1], name)) if (axis[:-1], name) in table.values else None
            part["current"] = now
            part["previous"] = before[name]
            if now is None or before[name] is None:
                part.update(change=None, rate_change=None, rate_ci=None)
    return block


def _protect_response(
    response: dict[str, Any], analysis: Analysis, table: Disclosure
) -> dict[str, Any]:
    """The event study's abnormal log-lifts, ``log(Y/Ê)``, give a day's checks back given its
    expectation: null where that day's cell is hidden in the published table (or, before
    the month, under k), and each CAR whose window holds such a day null too."""
    study = response.get("event_study")
    if not study:
        return response
    cube, start, k = analysis.cube, analysis.start, analysis.k
    day0 = cube.index(study["day0"])
    for name, result in study["tools"].items():
        tool = None if name == "all" else name
        series = cube.series(tool)
        key = ("all",) if tool is None else ("tool", tool)
        hidden = set()
        for i, tau in enumerate(result["tau"]):
            day = day0 + tau
            if ("day", day - start, *key) in table.values:
                gone = ("day", day - start, *key) in table.hidden
            else:
                gone = not safe_count(series[day], k)
            if gone:
                hidden.add(tau)
                result["abnormal"][i] = None
        for which, (first, last) in (
            ("after", (0, max(result["tau"]))),
            ("before", (min(result["tau"]), -1)),
        ):
            if any(first <= tau <= last for tau in hidden):
                result[which] = {name: None for name in result[which]}
    return response
