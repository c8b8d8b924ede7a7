"""The dashboard's issue-21 views: contrasts, transitions, paths, funnels, session positions,
hour profiles, setup content, month over month.

A planted synthetic month (``marginscope.sim.planted``: the default story plus a standing U.S.
margin-call and mobile liquidation-price contrast, with a whole October before it) is written
to a temporary DuckDB file, and what the generator cannot plant at event level is planted with
SQL on its events: desktop checks moved to late hours from Nov 14, position-size setups turned
long and futures re-leveraged from Nov 22, liquidation-price checks followed by margin-call
checks from Nov 22, and a tool with 3 checks in the month (a cell under k, hidden, and another
hidden beside it so it cannot be recovered by subtraction).

Every number the page shows is compared with the report JSON (``build_report(…).to_dict()``),
the selection recomputed here from that JSON; nothing is hard-coded.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from marginscope.report import build_report
from marginscope.sim.planted import NOVEMBER_2025, ShareShift, planted_month, write_duckdb
from marginscope.web import create_app
from marginscope.web.dashboard_views import LIMITS, VIEW_KINDS
from marginscope.web.settings import WebSettings

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

TOKEN = "views-token-51c2"
MONTH = "2025-11"
RARE_TOOL = "market_cap"
CONTRASTS = (
    ShareShift("2025-11-01", "region:US", 0.25, tool="margin_call", days=30),
    ShareShift("2025-11-01", "device:mobile", 0.65, tool="liquidation_price", days=30),
)
PLANTS = (
    # desktop checks from the morning to the evening (same UTC day) from Nov 14
    "UPDATE events SET ts = ts + INTERVAL 12 HOUR WHERE device = 'desktop' "
    "AND ts >= TIMESTAMPTZ '2025-11-14' AND hour(ts AT TIME ZONE 'UTC') < 10",
    # half the position-size setups turned long, a third of futures at 50x, from Nov 22
    "UPDATE events SET side = 'long' WHERE tool = 'position_size' "
    "AND ts >= TIMESTAMPTZ '2025-11-22' AND hash(event_id) % 2 = 0",
    "UPDATE events SET leverage = 50 WHERE tool = 'futures' "
    "AND ts >= TIMESTAMPTZ '2025-11-22' AND hash(event_id) % 3 = 0",
    # two thirds of the checks after a liquidation-price check become margin-call checks
    "UPDATE events SET tool = 'margin_call' WHERE event_id IN (SELECT next_id FROM ("
    "SELECT tool, ts, lead(event_id) OVER (PARTITION BY session ORDER BY ts, event_id) AS next_id"
    " FROM events) WHERE tool = 'liquidation_price' AND ts >= TIMESTAMPTZ '2025-11-22' "
    "AND next_id IS NOT NULL AND hash(next_id) % 3 > 0)",
    # a tool with 3 checks in November and 4 in October: cells under k
    f"INSERT INTO events SELECT * REPLACE (event_id || '-rare' AS event_id, '{RARE_TOOL}' AS tool)"
    " FROM (SELECT * FROM events WHERE ts >= TIMESTAMPTZ '2025-11-10' ORDER BY ts LIMIT 3)",
    f"INSERT INTO events SELECT * REPLACE (event_id || '-rare' AS event_id, '{RARE_TOOL}' AS tool)"
    " FROM (SELECT * FROM events WHERE ts >= TIMESTAMPTZ '2025-10-10' ORDER BY ts LIMIT 4)",
)


@pytest.fixture(scope="module")
def events_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dashboard-views") / "events.duckdb"
    write_duckdb(planted_month(1, NOVEMBER_2025 + CONTRASTS, scale=0.3, history_days=31), path)
    with duckdb.connect(str(path)) as con:
        for statement in PLANTS:
            con.execute(statement)
    return path


@pytest.fixture(scope="module")
def report(events_db) -> dict:
    return json.loads(json.dumps(build_report(str(events_db), MONTH, charts=False).to_dict()))


@pytest.fixture(scope="module")
def bearer(events_db) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARGINSCOPE_DB", str(events_db))
        app = create_app(WebSettings(dashboard_token=TOKEN))
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client


# --- the selection, recomputed from the report JSON -----------------------------------------

KINDS = {key: kind for key, kind in VIEW_KINDS.items() if kind != "lift_ratio"}
"""The views this month has (no lift ratio is planted); the names are the module's contract."""


def about(f: dict, tool: str) -> bool:
    if f["kind"] == "transition":
        return tool in (f["from_tool"], f["to_tool"])
    if f["kind"] == "path":
        return tool in f["path"]
    if f["kind"] == "funnel":
        return any(tool in step for step in f["steps"])
    return f.get("tool") == tool


def of_segment(f: dict, device: str | None, region: str | None) -> bool:
    if f["kind"] == "contrast" and (device or region):
        return (f["dimension"] == "device" and device in (f["a"], f["b"])) or (
            f["dimension"] == "region" and region in (f["a"], f["b"])
        )
    if f["kind"] == "hour_profile" and (device or region):
        kind, _, value = f["segment"].partition(":")
        return (
            (kind == "device" and value == device)
            or (kind == "region" and value == region)
            or (kind == "local" and region is not None and (value == "US") == (region == "US"))
        )
    if f["kind"] == "session_position" and device:
        return f["segment"] == f"device:{device}"
    return True


def expected(
    report: dict,
    kind: str,
    start: str = "2025-11-01",
    end: str = "2025-11-30",
    tool: str | None = None,
    device: str | None = None,
    region: str | None = None,
) -> list[dict]:
    return [
        f
        for f in report["findings"]
        if f["kind"] == kind
        and f["start"] <= end
        and f["end"] >= start
        and (tool is None or about(f, tool))
        and of_segment(f, device, region)
    ]


def views(client, **params) -> dict:
    response = client.get("/dashboard/data.json", params={"month": MONTH, **params})
    assert response.status_code == 200, response.text
    return response.json()


def tagged(page: str, view: str) -> list[dict[str, str]]:
    """The data-* attributes of every element of the page tagged ``data-view=view``."""
    found = re.findall(rf'<[a-z]+(?: class="[^"]*")? data-view="{view}"([^>]*)>', page)
    return [
        {k: html.unescape(v) for k, v in re.findall(r'data-([\w-]+)="([^"]*)"', attrs)}
        for attrs in found
    ]


def page_of(client, **params) -> str:
    response = client.get("/dashboard", params={"month": MONTH, **params})
    assert response.status_code == 200
    return response.text


# --- tests ----------------------------------------------------------------------------------


def test_the_planted_month_has_every_view(report):
    kinds = {f["kind"] for f in report["findings"]}
    assert set(KINDS.values()) <= kinds, sorted(set(KINDS.values()) - kinds)
    assert report["summary"]["previous_month"]["complete"] is True


def test_data_json_keeps_its_fields_and_adds_the_views_from_the_report(bearer, report):
    got = views(bearer)
    assert set(got) == {
        "month",
        "start",
        "end",
        "filters",
        "synthetic",
        "totals",
        "findings",
        "k",
        "daily",
        "plot",
        "views",
    }
    for key, kind in KINDS.items():
        want = expected(report, kind)
        assert want, kind
        # the published finding dicts, unchanged, all of them (the page draws the top ones)
        assert sorted(map(json.dumps, got["views"][key])) == sorted(map(json.dumps, want))
    assert got["views"]["reference"] == report["metadata"]["reference"]
    previous = dict(got["views"]["previous_month"])
    assert previous.pop("rows") == []
    assert previous == report["summary"]["previous_month"]


def test_contrasts_show_the_reports_shares_ratios_and_reference(bearer, report):
    rows = tagged(page_of(bearer), "contrast")
    want = expected(report, "contrast")
    assert len(rows) == len(want) <= LIMITS["contrasts"]
    by_key = {(f["tool"], f["a"], f["b"], f["start"]): f for f in want}
    for row in rows:
        f = by_key.pop((row["tool"], row["a"], row["b"], row["start"]))
        assert float(row["ratio"]) == f["ratio"]
        assert float(row["share-a"]) == f["share_a"] and float(row["share-b"]) == f["share_b"]
        assert float(row["normal-ratio"]) == f["normal_ratio"]
        assert math.isclose(f["ratio"], f["share_a"] / f["share_b"], rel_tol=1e-3)
    assert not by_key
    planted = {
        (f["tool"], f["dimension"])
        for f in want
        if f["end"] == "2025-11-30" and f["start"] == "2025-11-01"
    }
    assert {("margin_call", "region"), ("liquidation_price", "device")} <= planted


def test_transitions_funnels_and_positions_show_the_reports_numbers(bearer, report):
    page = page_of(bearer)
    want = expected(report, "transition")
    top = sorted(want, key=lambda f: -abs(f["probability"] - f["normal_probability"]))
    rows = tagged(page, "transition")
    assert len(rows) == min(len(want), LIMITS["transitions"])
    shown = {(r["from"], r["to"], r["start"]): float(r["probability"]) for r in rows}
    assert shown == {
        (f["from_tool"], f["to_tool"], f["start"]): f["probability"]
        for f in top[: LIMITS["transitions"]]
    }
    planted = [
        f for f in want if (f["from_tool"], f["to_tool"]) == ("liquidation_price", "margin_call")
    ]
    assert planted and all(f["probability"] > 2 * f["normal_probability"] for f in planted)
    assert "liquidation-price → margin-call" in page
    funnels = expected(report, "funnel")
    assert len(funnels) <= LIMITS["funnels"]
    conversions = [float(c) for c in re.findall(r'data-conversion="([^"]+)"', page)]
    assert conversions and sorted(conversions) == sorted(
        c for f in funnels for c in f["conversion"] if c is not None
    )
    positions = tagged(page, "session_position")
    by_key = {
        (f["tool"], f["segment"], f["start"]): f["first_share"]
        for f in expected(report, "session_position")
    }
    assert positions and all(
        by_key[(r["tool"], r["segment"], r["start"])] == float(r["first-share"]) for r in positions
    )


def test_hour_profiles_and_content_show_the_reports_numbers(bearer, report):
    page = page_of(bearer)
    hours = tagged(page, "hour_profile")
    want = expected(report, "hour_profile")
    assert len(hours) == min(len(want), LIMITS["hour_profiles"])
    tv = {(f["segment"], f["tool"] or "", f["start"]): f["tv"] for f in want}
    assert all(tv[(h["segment"], h["tool"], h["start"])] == float(h["tv"]) for h in hours)
    assert max(tv.values()) == max(float(h["tv"]) for h in hours)  # the largest shift shown
    assert any(h["segment"] == "device:desktop" for h in hours)
    assert page.count('class="chart"') >= len(hours)  # one SVG chart per profile
    content = expected(report, "content")
    figures = re.findall(
        r'<figure class="dash-multiple dash-bars" data-view="content" '
        r'data-tool="(\w+)" data-field="(\w+)" data-start="([\d-]+)">(.*?)'
        r"</figure>",
        page,
        re.S,
    )
    assert len(figures) == min(len(content), LIMITS["content"])
    by_key = {(f["tool"], f["field"], f["start"]): f for f in content}
    for tool, field, start, body in figures:
        f = by_key[(tool, field, start)]
        bars = re.findall(
            r'data-value="([^"]+)" data-observed="([^"]*)" data-normal="([^"]*)"', body
        )
        assert {value for value, _, _ in bars} == set(f["observed"]) | set(f["normal"])
        for value, observed, normal in bars:
            assert (float(observed) if observed else None) == f["observed"].get(value)
            assert (float(normal) if normal else None) == f["normal"].get(value)
    sides = [f for f in content if f["tool"] == "position_size" and f["field"] == "side"]
    assert sides and all(f["observed"]["long"] > f["normal"]["long"] + 0.1 for f in sides)


def test_month_over_month_strip_shows_the_previous_month(bearer, report):
    previous = report["summary"]["previous_month"]
    page = page_of(bearer, tool="margin_call")
    strip = re.search(r'<ul class="dash-totals dash-mom".*?</ul>', page, re.S).group(0)
    for key in ("setups", "visitors", "countries"):
        assert f'data-mom="{key}" data-value="{previous[key]}"' in strip
        assert f"{previous[key]:,}" in strip
    assert f"{previous['change']:+.1%}" in strip
    row = previous["tools"]["margin_call"]
    assert (
        f'data-mom="tool" data-previous="{row["previous"]}" data-current="{row["current"]}" '
        f'data-change="{row["change"]}"'
    ) in strip
    assert views(bearer, tool="margin_call")["views"]["previous_month"]["rows"] == [
        {"axis": "tool", "value": "margin_call", **row}
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"region": "US"},
        {"region": "rest"},
        {"device": "desktop"},
        {"device": "mobile"},
        {"tool": "margin_call"},
        {"tool": "liquidation_price", "device": "mobile"},
        {"start": "2025-11-01", "end": "2025-11-10"},
        {"start": "2025-11-26", "end": "2025-11-30"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_filters_select_the_views(bearer, report, params):
    everything = views(bearer)["views"]
    got = views(bearer, **params)["views"]
    changed = False
    for key, kind in KINDS.items():
        want = expected(report, kind, **params)
        assert sorted(map(json.dumps, got[key])) == sorted(map(json.dumps, want)), key
        changed |= len(want) != len(everything[key])
    assert changed  # every filter here changes what is shown
    page = page_of(bearer, **params)
    for row in tagged(page, "contrast"):
        if "region" in params:
            assert params["region"] in (row["a"], row["b"])
        if "device" in params:
            assert params["device"] in (row["a"], row["b"])
        if "tool" in params:
            assert row["tool"] == params["tool"]
    if "device" in params:
        assert {h["segment"] for h in tagged(page, "hour_profile")} <= {
            f"device:{params['device']}"
        }


def test_suppressed_cells_stay_hidden(bearer, report, events_db):
    from marginscope.analytics import daily

    tools = report["summary"]["tools"]
    hidden = sorted(t for t, n in tools.items() if n is None)
    assert RARE_TOOL in hidden and len(hidden) >= 2  # the small cell and its complement
    truth: dict[str, int] = {}
    for r in daily(str(events_db), "2025-11-01", "2025-12-01", {"tool": hidden}, by=("tool",), k=1):
        truth[r["tool"]] = truth.get(r["tool"], 0) + r["checks"]
    assert truth[RARE_TOOL] == 3
    for tool in hidden:
        row = views(bearer, tool=tool)["views"]["previous_month"]["rows"][0]
        assert row["current"] is None and row["change"] is None
        page = page_of(bearer, tool=tool)
        strip = re.search(r'<ul class="dash-totals dash-mom".*?</ul>', page, re.S).group(0)
        assert 'data-current="" data-change=""' in strip
        assert f"→ {truth[tool]:,}" not in strip and f"{truth[tool]:,} (" not in strip
    # nothing in the views that the report does not publish
    got = views(bearer)["views"]
    published = {json.dumps(f) for f in report["findings"]}
    for key in KINDS:
        assert all(json.dumps(f) in published for f in got[key])


def test_view_csv_downloads_follow_the_filters(bearer, report):
    for table, kind, params in (
        ("contrasts", "contrast", {"region": "US"}),
        ("transitions", "transition", {"tool": "margin_call"}),
    ):
        response = bearer.get(f"/dashboard/{table}.csv", params={"month": MONTH, **params})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        want = expected(report, kind, **params)
        assert len(rows) == len(want) > 0
        value, interval = ("ratio", "ratio") if kind == "contrast" else ("probability", "ci")
        got = sorted((r["start"], float(r[value]), float(r[f"{interval}_low"])) for r in rows)
        ci = "ratio_ci" if kind == "contrast" else "ci"
        assert got == sorted((f["start"], f[value], f[ci][0]) for f in want)
    assert bearer.get("/dashboard/nothing.csv", params={"month": MONTH}).status_code == 404


def test_interval_axis_places_values_in_order_on_one_scale():
    from marginscope.web.charts import interval_axis

    ratios = interval_axis([1.47, 1.34, 1.60, 1.02, None, float("nan")], log=True)
    assert ratios.low < 1.0 < 1.60 < ratios.high  # 1x is always on a ratio axis
    assert "1×" in [t.text for t in ratios.ticks]
    row = ratios.place(1.47, 1.34, 1.60, 1.02)
    assert row["x_reference"] < row["x_low"] < row["x"] < row["x_high"]
    # log scale: equal ratios are equal distances; off the axis is clamped to its ends
    assert math.isclose(ratios.x(1.2) - ratios.x(1.0), ratios.x(1.44) - ratios.x(1.2), abs_tol=0.2)
    assert ratios.x(0.1) == ratios.pad and ratios.x(10.0) == ratios.width - ratios.pad
    shares = interval_axis([0.018, 0.0, 0.043, 0.10])
    assert shares.x(shares.low) == shares.pad and shares.x(shares.high) == shares.width - shares.pad
    assert [t.text for t in shares.ticks][:2] == ["0%", "2.5%"]
    assert shares.x(None) is None and ratios.x(-1.0) is None
