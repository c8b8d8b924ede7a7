"""Small cells in the issue-21 findings: a planted rare tool and rare devices, no count under k.

One month from ``marginscope.sim.planted`` with a tool used a handful of times a day
(``scenario``, 0.08 % of checks), tablets at 3 % and unknown devices at 0.2 %. Every test of
every issue-21 kind is turned into a finding (thresholds off: ``fdr = 1``, no minimum size or
count), so each distribution the report could ever publish is published here; then every
published share, probability and profile value is checked against counts recomputed from the
raw events (``disclosure_check.py``): its cell and complement are 0 or at least k, and no
distribution leaves exactly one small value to be recovered as the total minus the rest. The
same findings built with k = 1 (no suppression) fail the check — the small cells are there
and the check sees them — and normal-sized findings of every kind are still published.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import pytest

from marginscope.analytics import DailyCube
from marginscope.analytics.association import market_context
from marginscope.analytics.content import ContentTest, content_findings, scan_content
from marginscope.analytics.contrasts import contrast_findings, scan_contrasts
from marginscope.analytics.cube import REGIONS
from marginscope.analytics.detail import event_tables, protected_transitions
from marginscope.analytics.disclosure import cube_disclosure, hidden_across_spans, span_key
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.funnel import funnel_findings, scan_funnel
from marginscope.analytics.hours import hour_findings, scan_hours
from marginscope.analytics.paths import path_findings, scan_paths
from marginscope.analytics.positions import position_findings, scan_positions
from marginscope.analytics.transitions import scan_transitions
from marginscope.market.snapshot import load_snapshot
from marginscope.report import report_from_cube
from marginscope.report.protect import _gives_back, _protect_previous, publishable_details
from marginscope.sim.mix import tool_of
from marginscope.sim.planted import (
    DEVICE_MIX,
    NOVEMBER_2025,
    TOOL_MIX,
    Profile,
    planted_month,
)

from .disclosure_check import Ledger, Raw, across_kinds, violations

K = 10
RARE = tool_of("scenario")
REFERENCE = ("2025-10-04", "2025-10-31")
SPANS = [("2025-11-01", "2025-11-30", "month"), ("2025-11-14", "2025-11-20", "phase")]
KINDS = ("contrast", "transition", "path", "session_position", "funnel", "hour_profile", "content")


@pytest.fixture(scope="module")
def world():
    mix = {**TOOL_MIX, RARE: 0.0008}
    devices = {**DEVICE_MIX, "tablet": 0.03, "unknown": 0.002}
    month = planted_month(
        7, NOVEMBER_2025, scale=0.3, profile=Profile(tool_mix=mix, device_mix=devices)
    )
    cube = DailyCube(
        days=month.days,
        tools=month.tools,
        devices=month.devices,
        countries=month.countries,
        counts=month.counts,
    )
    tables = event_tables(month.events, date(2025, 10, 4), date(2025, 12, 1))
    return month, cube, tables, Raw(month.events)


def every_finding(cube: DailyCube, tables, k: int, shared: bool = True) -> Published:
    """Every test of every issue-21 kind as a finding protected with ``k`` (withheld ones
    left out, as the report does), with the daily table and the month's totals as published.
    ``shared``: protected together with the daily table and across kinds (one table with the
    spans' counts, as the report does); False: each kind on its own (before that table)."""
    index = [(cube.index(a), cube.index(b) + 1, scope) for a, b, scope in SPANS]
    reference = (cube.index(REFERENCE[0]), cube.index(REFERENCE[1]) + 1)
    on = {"fdr": 1.0}
    findings = (
        contrast_findings(
            scan_contrasts(cube, index, reference, k=k, min_ratio=1.0, min_checks=0, **on)
        )
        + protected_transitions(
            scan_transitions(tables.transitions, SPANS, REFERENCE, min_points=0.0, **on),
            tables.transitions,
            REFERENCE,
            k,
        )
        + path_findings(
            scan_paths(
                tables.paths,
                SPANS,
                REFERENCE,
                k=k,
                top=10_000,
                min_sessions=1,
                min_points=0.0,
                min_ratio=1.0,
                **on,
            )
        )
        + position_findings(
            scan_positions(
                tables.positions, SPANS, REFERENCE, k=k, min_points=0.0, min_checks=5, **on
            )
        )
        + funnel_findings(
            scan_funnel(tables.funnel, SPANS, REFERENCE, k=k, min_points=0.0, min_sessions=1, **on)
        )
        + content_findings(
            scan_content(tables.content, SPANS, REFERENCE, k=k, min_tv=0.0, min_checks=1, **on)
        )
        + hour_findings(
            scan_hours(
                tables.hours, SPANS, REFERENCE, k=k, min_tv=0.0, min_tv_dst=0.0, min_checks=1, **on
            )
        )
    )
    start, end = index[0][:2]
    table = cube_disclosure(cube, start, end, k, spans=index if shared else ())
    kept = [
        f.to_dict()
        for f in (
            publishable_details(cube, findings, k, table, start)
            if shared
            else [f for f in findings if not f.withheld]
        )
    ]
    previous = _protect_previous(reference_totals(cube, *reference), table, k)
    return Published(kept, *published_tables(cube, table, start, end), previous)


class Published(NamedTuple):
    """Findings (JSON form) with the daily table and the month's totals beside them, and
    ``summary.previous_month`` as it would be if the reference were last month."""

    findings: list[dict]
    daily: dict
    summary: dict
    previous: dict


def reference_totals(cube: DailyCube, start: int, end: int) -> dict:
    """``summary.previous_month``'s totals (before protection) of the cube's days
    ``[start, end)``: what the report publishes when the reference is last month (a March
    against the 28 days of February, or a reference set to the previous month)."""

    def part(segment: str, tool: str | None = None) -> dict:
        return {"previous": int(cube.series(tool, segment)[start:end].sum())}

    return {
        "setups": int(cube.counts[start:end].sum()),
        "tools": {t: part("all", t) for t in cube.tools},
        "devices": {d: part(f"device:{d}") for d in cube.devices},
        "regions": {r: part(f"region:{r}") for r in REGIONS},
    }


def published_tables(cube: DailyCube, table, start: int, end: int) -> tuple[dict, dict]:
    """The report's ``daily`` block and ``summary`` totals as ``table`` publishes them."""
    span = range(end - start)

    def shown(*key: str) -> list[int | None]:
        return table.shown_all([("day", i, *key) for i in span])

    daily = {
        "dates": [str(d) for d in cube.days[start:end]],
        "checks": {"all": shown("all"), **{t: shown("tool", t) for t in cube.tools}},
        "devices": {d: shown("device", d) for d in cube.devices},
        "regions": {r: shown("region", r) for r in REGIONS},
    }
    summary = {
        "setups": table.shown(("all",)),
        "tools": {t: table.shown(("tool", t)) for t in cube.tools},
        "devices": {d: table.shown(("device", d)) for d in cube.devices},
        "regions": {r: table.shown(("region", r)) for r in REGIONS},
    }
    return daily, summary


@pytest.fixture(scope="module")
def at_k(world) -> Published:
    _, cube, tables, _ = world
    return every_finding(cube, tables, K)


@pytest.fixture(scope="module", params=[K, 40])
def protected(request, world, at_k):
    _, cube, tables, raw = world
    k = request.param
    return k, at_k if k == K else every_finding(cube, tables, k), raw


def test_the_planted_month_has_small_cells_and_the_check_finds_them_unprotected(world):
    _, cube, tables, raw = world
    found, _ = violations(every_finding(cube, tables, 1).findings, raw, REFERENCE, K, SPANS)
    # k = 1 suppresses nothing: shares of the rare tool, rare devices and rare values
    # give counts under K back in each kind of distribution
    for kind in ("content", "hours", "path", "transition", "position"):
        assert any(line.startswith(kind) for line in found), kind
    # and the month minus the phase gives small counts of the rest of the month
    assert any("month minus phases" in line for line in found)


@pytest.mark.parametrize("k", [K, 40])
def test_each_kind_protected_on_its_own_gives_counts_back_across_kinds(world, k):
    # every kind passes its own check, but together with the daily table, the month's totals
    # and each other they give counts under k back: a tool's checks on unknown devices as
    # its total minus the contrasts' mobile, desktop and tablet checks, a tool's U.S. checks
    # as the U.S. total minus the other tools', the rest of the month's as the month's minus
    # the phase's
    _, cube, tables, raw = world
    alone = every_finding(cube, tables, k, shared=False)
    found = violations(alone.findings, raw, REFERENCE, k, SPANS, alone.daily, alone.summary)[0]
    assert found and all(line.startswith("across kinds") for line in found)
    assert found == across_kinds(alone.findings, raw, k, SPANS, alone.daily, alone.summary)
    assert any("device:unknown" in line for line in found)
    assert any("region:US" in line for line in found)


def test_no_published_share_probability_or_profile_reveals_a_count_under_k(protected):
    k, published, raw = protected
    found, checked = violations(
        published.findings,
        raw,
        REFERENCE,
        k,
        SPANS,
        published.daily,
        published.summary,
        published.previous,
    )
    assert found == []
    assert checked["values"] > 1_000 and checked["nested"] > 0 and checked["across"] > 100


def test_the_reference_with_last_months_totals_gives_no_count_under_k_back(protected):
    # the reference publishes shares only; when it is last month, summary.previous_month
    # publishes its totals, and then its hour profiles (share × the segment's total) and
    # region contrasts (normal_ratio with the tool's and the regions' totals) are counts:
    # the attack recovers them, and none is under k
    k, published, raw = protected
    ledger = Ledger(raw, SPANS, k, REFERENCE)
    found = ledger.attack(
        published.findings, published.daily, published.summary, published.previous
    )
    assert found == []
    recovered = [key for key in ledger.known if key[0] == ledger.reference]
    assert any("@" in key[2] for key in recovered)  # hours of the reference
    assert any(key[1] != "*" and key[2] == "region:US" for key in recovered)  # contrasts


def test_normal_sized_findings_of_every_kind_are_still_published(world, at_k):
    findings, raw = at_k.findings, world[3]
    _, checked = violations(findings, raw, REFERENCE, K)
    for kind in KINDS:
        assert checked[kind] > 0, kind
    # the common distributions keep every value; some lose small ones
    content = [f for f in findings if f["kind"] == "content"]
    assert any(all(v is not None for v in f["observed"].values()) for f in content)
    assert any(None in f["observed"].values() for f in content)


def _content_test(name: str, observed: dict, hidden: set, extra: dict) -> ContentTest:
    return ContentTest(
        start="2025-11-01",
        end="2025-11-30",
        scope="month",
        tool="margin_call",
        field=name,
        observed=observed,
        normal=dict(observed),
        tv=0.1,
        checks=1_000,
        p_value=0.001,
        q_value=0.01,
        flagged=True,
        extra=extra,
        hidden=frozenset(hidden),
    )


def test_a_suppressed_value_is_null_in_the_json_and_suppressed_in_the_text():
    shares = {"2": 0.004, "3": 0.006, "10": 0.59, "20": 0.4}
    extra = {"median": 10.0, "normal_median": 10.0, "share_20x": 0.4, "normal_share_20x": 0.4}
    finding = content_findings([_content_test("leverage", shares, {"2", "3"}, extra)])[0]
    data = finding.to_dict()
    assert data["observed"] == {"2": None, "3": None, "10": 0.59, "20": 0.4}
    assert data["share_20x"] is None and data["normal_share_20x"] == 0.4
    assert "suppressed at 20× or more" in data["text"] and not finding.withheld
    # the published tv pools the two suppressed buckets: ½ (|0.59 − 0.59| + |0.4 − 0.4| + 0)
    assert data["tv"] == 0.0


def test_a_distribution_with_nothing_left_to_publish_is_withheld():
    extra = {"long_share": 0.7, "long_share_ci": [0.6, 0.8], "normal_long_share": 0.6}
    finding = content_findings(
        [_content_test("side", {"long": 0.7, "short": 0.3}, {"long", "short"}, extra)]
    )[0]
    assert finding.withheld
    assert finding.to_dict()["long_share"] is None


def test_the_report_publishes_no_small_cell_of_the_new_kinds_nor_of_the_event_study(world):
    _, cube, tables, raw = world
    first, following = date(2025, 11, 1), date(2025, 12, 1)
    market = market_context(load_snapshot(), first, following, origin="snapshot")
    report = report_from_cube(
        cube,
        "2025-11",
        k=K,
        charts=False,
        today=date(2026, 1, 1),
        events=tables,
        market=market,
        reference=tuple(date.fromisoformat(d) for d in REFERENCE),
    )
    data = report.to_dict()
    details = [f for f in data["findings"] if f["kind"] not in ("spike", "share_shift", "phase")]
    assert details  # normal-sized findings survive in the report too
    days = cube.days
    spans = [(str(days[a]), str(days[b - 1]), scope) for a, b, scope in report.analysis.spans()]
    found, _ = violations(details, raw, REFERENCE, K, spans, data["daily"], data["summary"])
    assert found == []
    # the event study's abnormal log-lifts log(Y/Ê) give Y back: only where Y is published
    study = data["market"]["response"]["event_study"]
    dates = data["daily"]["dates"]
    nulled = 0
    for name, result in study["tools"].items():
        series = data["daily"]["checks"]["all" if name == "all" else name]
        for tau, value in zip(result["tau"], result["abnormal"], strict=True):
            day = str(np.datetime64(study["day0"]) + tau)
            if day in dates:
                published = series[dates.index(day)] is not None
            else:
                published = not 0 < int((raw.span(day, day)["tool"] == name).sum()) < K
            assert value is None or published, (name, day)
            nulled += value is None
    assert nulled > 0  # the rare tool's days


# --- the spans' counts against the daily table, and hours across segments -------------------


def _series_days(table, series: tuple, days: range) -> list[int]:
    """The days of ``days`` on which ``series`` is positive and hidden in the daily table."""
    return [
        i for i in days if ("day", i, *series) in table.hidden and table.values[("day", i, *series)]
    ]


FLAT_SPANS = [(0, 30, "month"), (14, 21, "phase")]
"""A month of 30 days and a phase on days 14 … 20 (2025-11-15 … 21) of :func:`_flat_cube`."""


def _flat_cube(counts: np.ndarray | None = None) -> DailyCube:
    """November 2025 with two tools, two devices and two countries: 30 checks per cell (or
    ``counts``, shape (30, 2, 2, 2))."""
    return DailyCube(
        days=np.arange(np.datetime64("2025-11-01"), np.datetime64("2025-12-01")),
        tools=("a", "b"),
        devices=("mobile", "desktop"),
        countries=("US", "DE"),
        counts=np.full((30, 2, 2, 2), 30, dtype=np.int64) if counts is None else counts,
    )


def test_a_phase_total_minus_its_published_days_is_never_one_hidden_day():
    # tool "a" is small on two days only, one in the phase and one outside: the month's line
    # has two hidden days, but a finding that publishes the phase's checks of "a" (a content
    # finding's checks, a region contrast's checks_a + checks_b, a phase's observed) minus the
    # phase's published days gives the phase's one hidden day back, and the month's total
    # minus that the rest of the month's
    counts = np.full((30, 2, 2, 2), 30, dtype=np.int64)
    counts[3, 0] = [[1, 0], [0, 1]]
    counts[16, 0] = [[2, 0], [0, 1]]
    cube = _flat_cube(counts)
    phase, rest = range(14, 21), [i for i in range(30) if not 14 <= i < 21]
    before = cube_disclosure(cube, 0, 30, K)
    assert _series_days(before, ("tool", "a"), phase) == [16]  # 3 checks = phase − published
    after = cube_disclosure(cube, 0, 30, K, spans=FLAT_SPANS)
    for series in (
        ("all",),
        *(
            (axis, x)
            for axis, names in (("tool", cube.tools), ("device", cube.devices), ("region", REGIONS))
            for x in names
        ),
    ):
        for atom in (phase, rest):
            assert len(_series_days(after, series, atom)) != 1, (series, atom)
    # the phase's and the month's counts stay published: the days are hidden instead
    assert span_key(14, 21, "tool", "a") not in after.hidden
    assert ("tool", "a") not in after.hidden
    assert after.suppressed() > before.suppressed() and after.secondary > before.secondary


def test_a_part_of_a_tools_checks_is_published_only_when_the_rest_is_not_small():
    # a transition's ``transitions`` are its origin's checks with a next one, a content
    # finding's ``checks`` those that set the field: the tool's checks over the span (a
    # contrast's, the daily table's) minus either is a count too
    cube = _flat_cube()
    table = cube_disclosure(cube, 0, 30, K, spans=FLAT_SPANS)
    total = table.values[span_key(14, 21, "tool", "a")]
    for kind, field, tool in (
        ("transition", "transitions", "from_tool"),
        ("content", "checks", "tool"),
    ):
        for rest, withheld in ((3, True), (0, False), (K, False)):
            finding = DetailFinding(
                kind, "2025-11-15", "2025-11-21", "", 0.0, 0.0, {tool: "a", field: total - rest}
            )
            assert _gives_back(cube, finding, K, table, 0) == withheld, (kind, rest)
    # a content finding's checks are the tool's (every check sets the field): withheld with
    # it; a transition's are a part that does not give the hidden total back
    table.hidden.add(span_key(14, 21, "tool", "a"))
    for kind, field, tool, withheld in (
        ("transition", "transitions", "from_tool", False),
        ("content", "checks", "tool", True),
    ):
        finding = DetailFinding(
            kind, "2025-11-15", "2025-11-21", "", 0.0, 0.0, {tool: "a", field: total - K}
        )
        assert _gives_back(cube, finding, K, table, 0) == withheld, kind


def test_the_rest_of_the_months_part_is_not_the_months_minus_the_phases():
    # the month's content finding leaves 20 checks without the field, the phase's 17: each
    # is safe, but together they give the rest of the month's 3 back
    cube = _flat_cube()
    table = cube_disclosure(cube, 0, 30, K, spans=FLAT_SPANS)

    def content(first: str, last: str, span: tuple[int, int], rest: int) -> DetailFinding:
        checks = table.values[span_key(*span, "tool", "a")] - rest
        fields = {"tool": "a", "field": "side", "checks": checks}
        return DetailFinding("content", first, last, "", 0.0, 0.0, fields)

    month = content("2025-11-01", "2025-11-30", (0, 30), 20)
    for phase_rest, month_kept in ((17, False), (10, True), (20, True)):
        phase = content("2025-11-15", "2025-11-21", (14, 21), phase_rest)
        kept = publishable_details(cube, [month, phase], K, table, 0)
        assert (month in kept, phase in kept) == (month_kept, True), phase_rest
    # without the phase's finding the rest of the month is not isolated
    assert publishable_details(cube, [month], K, table, 0) == [month]


def test_an_hours_devices_and_regions_are_protected_together():
    # per hour the devices add to the same checks as the regions: protected one segment at a
    # time, d1's 3 checks at hour 0 are the regions' minus d2's
    profiles = {"d1": [3, 50, 60], "d2": [100, 120, 130], "US": [40, 80, 90], "rest": [63, 90, 100]}
    counts = [{(s, h): n for s, row in profiles.items() for h, n in enumerate(row)}]
    alone = [
        hidden_across_spans([{h: n for (s2, h), n in counts[0].items() if s2 == s}], [[0]], K)[0]
        for s in profiles
    ]
    assert alone == [{0, 1}, set(), set(), set()]  # d2 and both regions fully published
    hidden = hidden_across_spans(counts, [[0]], K, groups=(("d1", "d2"), ("US", "rest")))[0]
    for h in range(3):
        for group in (("d1", "d2"), ("US", "rest")):
            assert sum((s, h) in hidden for s in group) != 1, (h, group)
    assert ("d1", 0) in hidden and ("d2", 0) in hidden
