"""Disclosure protection of the report's derived blocks: findings that would give back a count
under k, last month's comparison and the market event study
(:mod:`~marginscope.analytics.disclosure`)."""

from __future__ import annotations

from typing import Any

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.disclosure import Disclosure, protect_parts, safe_count, span_key
from marginscope.analytics.findings import DetailFinding, Finding


def published_spans(analysis: Analysis) -> list[tuple[int, int, str]]:
    """The spans whose counts the findings publish, as cube day indices (end exclusive): the
    analyses' spans (the month, the phases with a changed mix) and every other phase (a
    phase finding publishes its checks)."""
    spans = analysis.spans()
    known = {(a, b) for a, b, _ in spans}
    others = [(analysis.start + p.start, analysis.start + p.end, "phase") for p in analysis.phases]
    return spans + [s for s in others if s[:2] not in known]


def span_counts(finding: Finding | DetailFinding) -> list[tuple[str, ...]]:
    """The series (:func:`~marginscope.analytics.disclosure.span_key`) whose checks over its
    span a finding publishes: a contrast's ``checks_a`` and ``checks_b`` (the tool in each
    segment), a position's ``checks`` (the tool on the device: sessions are counted by the day
    they start, which is the same count where no session crosses midnight, and near it
    otherwise), an hour profile's ``checks`` (a device or region), a content finding's
    ``checks`` (the tool's checks with the field set: the tool's checks where every check
    sets it), a phase's ``observed`` and the total its ``share`` gives back, with each
    dominant tool's share of it."""
    fields = getattr(finding, "fields", {})
    kind = finding.kind
    if kind == "contrast":
        dimension, tool = fields["dimension"], fields["tool"]
        return [("tool", tool, dimension, fields[side]) for side in ("a", "b")]
    if kind == "session_position":
        return [("tool", fields["tool"], "device", fields["device"])]
    if kind == "hour_profile" and not fields["segment"].startswith("local:"):
        return [tuple(fields["segment"].split(":", 1))]
    if kind == "content":
        return [("tool", fields["tool"])]
    if kind == "phase":
        return [("all",), *(("tool", d["tool"]) for d in finding.dominant_tools)]
    return []


_PART = {"content": ("checks", "tool"), "transition": ("transitions", "from_tool")}
"""Kinds that publish part of a tool's checks over the span (field of the part, field of the
tool): the rest (checks without the field; checks that ended their session) is the tool's
checks minus it, so it must be 0 or at least k too."""


def _hides_span_count(
    cube: DailyCube, finding: Finding | DetailFinding, k: int, table: Disclosure, start: int
) -> bool:
    """True when a count the finding publishes over its span (:func:`span_counts`) is hidden
    in the table built with the spans (one table with the daily cells and the month's
    totals), or the rest of a part it publishes (:data:`_PART`: a content finding's tool's
    checks without the field, a transition's origin's checks that ended their session) is
    under k."""
    part = _PART.get(finding.kind)
    series = span_counts(finding)
    if not series and part is None:
        return False
    first, end = cube.index(finding.start) - start, cube.index(finding.end) - start + 1
    whole = [span_key(first, end, "tool", finding.fields[part[1]])] if part else []
    keys = [span_key(first, end, *s) for s in series]
    if span_key(first, end, "all") not in table.values:
        raise KeyError(
            f"the disclosure table was built without the span {finding.start} … "
            f"{finding.end} (cube_disclosure(…, spans=published_spans(analysis)))"
        )
    if any(key not in table.values for key in (*keys, *whole)):
        return True  # a series the table does not know is not known to be safe
    if any(key in table.hidden for key in keys):
        return True
    return bool(part) and not safe_count(table.values[whole[0]] - finding.fields[part[0]], k)


def publishable_details(
    cube: DailyCube, details: list[DetailFinding], k: int, table: Disclosure, start: int
) -> list[DetailFinding]:
    """The issue-21 findings to publish: not withheld by their kind, giving no count under k
    back with the table (:func:`_gives_back`), and — for the kinds that publish part of a
    tool's checks (:data:`_PART`) — not giving the rest of the month's rest back: when a
    tool's part is published for the month and for every phase, the month's rest minus the
    phases' is the rest of the month's, so the month's finding is withheld unless that is 0
    or at least k."""
    kept = [d for d in details if not d.withheld and not _gives_back(cube, d, k, table, start)]
    spans = {key[1:3] for key in table.values if key[0] == "span" and key[3:] == ("all",)}
    groups: dict[tuple, dict[tuple[int, int], DetailFinding]] = {}
    for d in kept:
        if d.kind in _PART:
            span = (cube.index(d.start) - start, cube.index(d.end) - start + 1)
            tool = d.fields[_PART[d.kind][1]]
            groups.setdefault((d.kind, tool, d.fields.get("field")), {})[span] = d

    def rest(d: DetailFinding, span: tuple[int, int]) -> int:
        whole = table.values[span_key(*span, "tool", d.fields[_PART[d.kind][1]])]
        return whole - d.fields[_PART[d.kind][0]]

    gone = set()
    for by_span in groups.values():
        for month, d in by_span.items():
            inside = [s for s in spans if s != month and month[0] <= s[0] and s[1] <= month[1]]
            if not inside or any(s not in by_span for s in inside):
                continue
            left = rest(d, month) - sum(rest(by_span[s], s) for s in inside)
            if not safe_count(left, k):
                gone.add(id(d))
    return [d for d in kept if id(d) not in gone]


def _gives_back(
    cube: DailyCube, finding: Finding | DetailFinding, k: int, table: Disclosure, start: int
) -> bool:
    """True when a finding would reveal a count under k: a count it publishes over its span
    is hidden in the table (:func:`span_counts`); its ``observed`` is a daily cell the
    published table hides (complementary suppression hid it so that a smaller cell cannot be
    recovered), or a segment's finding where its tool's checks that day (published in the
    daily series) minus the segment's checks is the rest of the segments — for the two
    regions, exactly the other region."""
    if _hides_span_count(cube, finding, k, table, start):
        return True
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
