"""The dashboard in a real browser, on a phone and on a desktop: it opens on the latest month
with data, the behaviour views show the report's transitions, the findings sort, and a filtered
CSV downloads.

The events file holds a planted November 2025 (with its October lead-in) and a handful of
December events (like the live page views after a demo): December is the last month with
events but not one "with data".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from marginscope.report.render import CHROMIUM_FLAGS, find_chromium
from marginscope.sim.planted import NOVEMBER_2025, planted_month, write_duckdb
from marginscope.web import create_app
from marginscope.web.background import serve_in_background
from marginscope.web.settings import WebSettings

from .conftest import ARTIFACTS

pytestmark = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
    pytest.mark.skipif(find_chromium() is None, reason="no system Chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")

TOKEN = "browser-token-7d21"
TOOL = "margin_call"
FLAGS = [f for f in CHROMIUM_FLAGS if f not in ("--headless", "--no-pdf-header-footer")]


@pytest.fixture(scope="module")
def events_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dashboard-browser") / "events.duckdb"
    write_duckdb(planted_month(5, NOVEMBER_2025, scale=0.2), path)
    with duckdb.connect(str(path)) as con:  # five page views in December
        con.execute(
            "INSERT INTO events SELECT * REPLACE (ts + INTERVAL 40 DAY AS ts) "
            "FROM (SELECT * FROM events ORDER BY ts DESC LIMIT 5)"
        )
    return path


@pytest.fixture(scope="module")
def server(events_db) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARGINSCOPE_DB", str(events_db))
        with serve_in_background(create_app(WebSettings(dashboard_token=TOKEN))) as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=find_chromium(), args=FLAGS)
        yield chromium
        chromium.close()


def _lifts(page) -> list[float]:
    values = page.locator("#dash-findings tbody tr:not([hidden])").evaluate_all(
        "rows => rows.map(r => r.dataset.lift)"
    )
    return [float(v) for v in values if v != ""]


@pytest.mark.parametrize("width, height, tag", [(360, 740, "phone"), (1280, 800, "desktop")])
def test_latest_month_sort_and_filtered_csv(server, browser, width, height, tag):
    phone = tag == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        is_mobile=phone,
        has_touch=phone,
        accept_downloads=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/dashboard?token={TOKEN}")
    page.wait_for_load_state("networkidle")
    # the latest month with data, not December's five page views
    assert page.locator("#d-month").input_value() == "2025-11"
    sync_api.expect(page.locator(".dash-plot canvas").first).to_be_visible()
    rows = page.locator("#dash-findings tbody tr:not([hidden])")
    assert 0 < rows.count() <= 25  # the top of the list first, paged
    # sort by lift: largest first
    page.locator("#f-sort").select_option("lift")
    lifts = _lifts(page)
    assert lifts and lifts == sorted(lifts, reverse=True)
    assert lifts[0] == max(
        float(v)
        for v in page.locator("#dash-findings tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.lift).filter(v => v !== '')"
        )
    )
    # the behaviour views are drawn by the server: the transitions of the report JSON, in order
    views = page.request.get(f"{server}/dashboard/data.json?month=2025-11").json()["views"]
    transitions = page.locator("#view-transitions tr[data-view=transition]")
    assert views["transitions"] and transitions.count() == min(len(views["transitions"]), 12)
    sync_api.expect(transitions.first).to_be_visible()
    top = views["transitions"][0]
    sync_api.expect(transitions.first).to_contain_text(f"{top['probability']:.1%}")
    sync_api.expect(page.locator("#dash-mom")).to_be_visible()  # the month-over-month strip
    # filter by a tool (server side), then download the findings CSV of that filter
    page.locator("#d-tool").select_option(TOOL)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**tool={TOOL}**")
    with page.expect_download() as download_info:
        page.locator("[data-download=findings]").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert table and {row["tool"] for row in table} == {TOOL}
    with page.expect_download() as download_info:
        page.locator("[data-download=daily]").click()
    daily = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [row["date"] for row in daily][:1] == ["2025-11-01"] and len(daily) == 30
    assert set(daily[0]) - {"date", "all", "btc_close"} <= {TOOL} | {
        key for key in daily[0] if key.startswith(("device:", "region:"))
    }
    page.screenshot(path=str(ARTIFACTS / f"dashboard-browser-{tag}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not errors
    context.close()
