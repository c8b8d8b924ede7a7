"""The analyst dashboard (``/dashboard``): access, filters, report downloads, and screenshots.

One planted synthetic month (``marginscope.sim.planted``) is written to a temporary DuckDB
file and the app is pointed at it with ``MARGINSCOPE_DB``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marginscope.report import build_report
from marginscope.report.render import find_chromium
from marginscope.sim.planted import NOVEMBER_2025, planted_month, write_duckdb
from marginscope.web import create_app
from marginscope.web.background import serve_in_background
from marginscope.web.dashboard import COOKIE
from marginscope.web.settings import WebSettings

from .conftest import ARTIFACTS

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

TOKEN = "test-token-3f9a1c"
MONTH = "2025-11"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def events_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "events.duckdb"
    write_duckdb(planted_month(1, NOVEMBER_2025, scale=0.3), path)
    return path


@pytest.fixture(scope="module")
def app(events_db):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARGINSCOPE_DB", str(events_db))
        yield create_app(WebSettings(dashboard_token=TOKEN))


@pytest.fixture(scope="module")
def anon(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def bearer(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def test_disabled_without_a_token_setting(events_db, monkeypatch):
    monkeypatch.delenv("MARGINSCOPE_DASHBOARD_TOKEN", raising=False)
    with TestClient(create_app(WebSettings())) as client:
        for path in ("/dashboard", "/dashboard/report.json", "/dashboard/data.json"):
            response = client.get(path, headers={"Authorization": "Bearer anything"})
            assert response.status_code == 404
            assert "MARGINSCOPE_DASHBOARD_TOKEN" in response.json()["detail"]
        page = client.get("/dashboard", headers=HTML)
        assert page.status_code == 404 and "MARGINSCOPE_DASHBOARD_TOKEN" in page.text
        assert client.get("/liquidation").status_code == 200  # the calculators stay open


def test_settings_never_print_the_token():
    assert TOKEN not in repr(WebSettings(dashboard_token=TOKEN))


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/data.json",
                                  "/dashboard/report.json", "/dashboard/report.html"])
def test_without_auth_401(anon, path):
    response = anon.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = anon.get(path, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401


def test_without_auth_a_browser_gets_the_login_form(anon):
    page = anon.get("/dashboard", headers=HTML)
    assert page.status_code == 401
    assert 'name="token"' in page.text and 'type="password"' in page.text
    assert TOKEN not in page.text


def test_bearer_opens_the_page(bearer):
    page = bearer.get("/dashboard", params={"month": MONTH}, headers=HTML)
    assert page.status_code == 200
    assert "SYNTHETIC DATA" in page.text and page.text.count('class="dash-synthetic"') == 1
    assert "Synthetic data." not in page.text  # one banner, said once
    assert page.text.count("data:image/svg+xml;base64,") >= 6  # 3 charts, narrow + wide
    assert "/dashboard/report.json?month=2025-11" in page.text
    assert ("/dashboard/report.pdf" in page.text) == (find_chromium() is not None)
    assert TOKEN not in page.text


def _cookie_header(response, name: str = COOKIE) -> str:
    headers = [v for k, v in response.headers.multi_items()
               if k == "set-cookie" and v.startswith(f"{name}=")]
    assert len(headers) == 1
    return headers[0]


def login_form(client) -> str:
    """Open the login form (which sets its CSRF cookie) and return the form's CSRF token."""
    page = client.get("/dashboard", headers=HTML)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_login_form_sets_a_strict_httponly_cookie_without_the_token(app):
    with TestClient(app, follow_redirects=False) as client:
        wrong = client.post("/dashboard/login", data={"token": "nope", "csrf": login_form(client)})
        assert wrong.status_code == 401
        assert not any(v.startswith(f"{COOKIE}=") for k, v in wrong.headers.multi_items()
                       if k == "set-cookie")
        response = client.post("/dashboard/login", data={"token": TOKEN,
                                                          "csrf": login_form(client)})
        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard"
        cookie = _cookie_header(response)
        session_id = cookie.split(";", 1)[0].split("=", 1)[1]
        assert len(session_id) >= 40 and TOKEN not in cookie
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered
        assert "path=/dashboard" in lowered
        page = client.get("/dashboard", params={"month": MONTH})
        assert page.status_code == 200 and "Pre-trade setups dashboard" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert client.post("/dashboard/logout", data={"csrf": csrf}).status_code == 303
        client.cookies.clear()
        assert client.get("/dashboard").status_code == 401


def test_login_link_sets_the_cookie_and_drops_the_token(app):
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/dashboard", params={"token": TOKEN, "month": MONTH})
        assert response.status_code == 303
        assert response.headers["location"] == f"/dashboard?month={MONTH}"
        assert "samesite=strict" in _cookie_header(response).lower()
        assert client.get(response.headers["location"]).status_code == 200
    with TestClient(app, follow_redirects=False) as client:
        bad = client.get("/dashboard", params={"token": "wrong"})
        assert bad.status_code == 401
        assert not any(v.startswith(f"{COOKIE}=") for k, v in bad.headers.multi_items()
                       if k == "set-cookie")


def test_forged_cookie_is_refused(app):
    with TestClient(app, follow_redirects=False, cookies={COOKIE: TOKEN}) as client:
        assert client.get("/dashboard").status_code == 401


def _totals(client, **params):
    response = client.get("/dashboard/data.json", params={"month": MONTH, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_filters_change_the_numbers(bearer):
    everything = _totals(bearer)
    assert everything["synthetic"] is True
    assert everything["start"] == "2025-11-01" and everything["end"] == "2025-11-30"
    total = everything["totals"]["checks"]
    assert total > 0 and everything["findings"]
    us_view = _totals(bearer, region="US")
    assert us_view["findings"] and len(us_view["findings"]) < len(everything["findings"])
    assert {f["segment"] for f in us_view["findings"]} == {"region:US"}
    us = us_view["totals"]["checks"]
    rest = _totals(bearer, region="rest")["totals"]["checks"]
    assert 0 < us < total and us + rest == total
    mobile = _totals(bearer, device="mobile")["totals"]
    assert 0 < mobile["checks"] < total and mobile["mobile_share"] == 1.0
    tool = _totals(bearer, tool="margin_call")["totals"]
    assert 0 < tool["checks"] < total
    assert [name for name, n in tool["tools"] if n] == ["margin-call"]
    week = _totals(bearer, start="2025-11-03", end="2025-11-09")
    assert week["totals"]["days"] == 7 and 0 < week["totals"]["checks"] < total
    page = bearer.get("/dashboard", params={"month": MONTH, "region": "US"})
    assert f"{us:,}" in page.text


def test_bad_filters_fall_back_to_the_default_view(bearer):
    page = bearer.get("/dashboard", params={"month": MONTH, "device": "toaster"})
    assert page.status_code == 200 and "toaster" in page.text


@pytest.mark.parametrize("fmt, media", [("html", "text/html"), ("json", "application/json"),
                                        ("md", "text/markdown")])
def test_report_downloads(bearer, fmt, media):
    response = bearer.get(f"/dashboard/report.{fmt}", params={"month": MONTH})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert f"marginscope-report-{MONTH}.{fmt}" in response.headers["content-disposition"]
    assert "SYNTHETIC" in response.text.upper()


def test_json_download_is_the_report_contract(bearer, events_db):
    got = bearer.get("/dashboard/report.json", params={"month": MONTH}).json()
    want = json.loads(json.dumps(build_report(str(events_db), MONTH, charts=False).to_dict()))
    got.pop("generated_at")
    want.pop("generated_at")
    assert got == want


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium: no PDF")
def test_pdf_download(bearer):
    response = bearer.get("/dashboard/report.pdf", params={"month": MONTH})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


# --- in a real browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    with serve_in_background(app) as url:
        yield url


@pytest.mark.skipif(find_chromium() is None, reason="no system Chromium")
@pytest.mark.parametrize("width, height, tag", [(360, 740, "phone"), (1280, 800, "desktop")])
def test_screenshots(server, width, height, tag):
    sync_api = pytest.importorskip("playwright.sync_api")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=flags)
        try:
            phone = tag == "phone"
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=1, is_mobile=phone,
                                          has_touch=phone)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{server}/dashboard")
            page.get_by_label("Token").fill(TOKEN)
            page.get_by_role("button", name="Open the dashboard").click()
            page.wait_for_url(f"{server}/dashboard")
            page.get_by_label("Region").select_option("US")
            page.get_by_role("button", name="Apply").click()
            page.wait_for_url("**region=US**")
            sync_api.expect(page.locator(".dash-synthetic")).to_be_visible()
            sync_api.expect(page.locator(".dash-plot canvas").first).to_be_visible()
            width_now = page.evaluate("document.documentElement.scrollWidth")
            assert width_now <= width, f"page is {width_now}px wide"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{tag}.png"), full_page=True)
            assert not errors
        finally:
            browser.close()


@pytest.mark.parametrize("params", [{}, {"region": "US"},
                                    {"tool": "margin_call", "device": "desktop"},
                                    {"start": "2025-11-03", "end": "2025-11-09",
                                     "device": "mobile"}])
def test_totals_equal_the_analytics_daily_rows_and_hide_what_would_reveal_a_small_cell(
        bearer, events_db, params):
    # the page filters one cached cube; daily() runs its own grouped query per breakdown.
    # A published total is the true total; one under k, or one that would give a hidden
    # cell back by subtraction, is null (complementary suppression).
    from datetime import date, timedelta

    from marginscope.analytics import daily
    from marginscope.analytics.disclosure import protect_parts
    from marginscope.analytics.names import tool_name

    got = _totals(bearer, **params)
    filters = {name: params[name] for name in ("tool", "device", "region") if name in params}
    end = date.fromisoformat(got["end"]) + timedelta(days=1)
    k = got["k"]
    total = sum(r["checks"] for r in daily(str(events_db), got["start"], end, filters, by=(),
                                           k=1))
    assert got["totals"]["checks"] == (total if total >= k else None)
    per_tool: dict[str, int] = {}
    for r in daily(str(events_db), got["start"], end, filters, by=("tool",), k=1):
        per_tool[r["tool"]] = per_tool.get(r["tool"], 0) + r["checks"]
    shown = protect_parts({t: n for t, n in per_tool.items() if n}, total, k)
    assert sorted(got["totals"]["tools"], key=lambda item: item[0]) == sorted(
        [tool_name(t), n] for t, n in shown.items())
    regions = daily(str(events_db), got["start"], end,
                    {**filters, "region": ["US", "rest"]}, by=("region",), k=1)
    truth = {name: sum(r["checks"] for r in regions if r["region"] == name)
             for name in ("US", "rest")}
    assert got["totals"]["regions"] == protect_parts(truth, sum(truth.values()), k)


BAD_PARAMS = [
    {"month": "0000-01"}, {"month": "9999-12"}, {"month": "2025-13"}, {"month": "nov"},
    {"month": "3000-01"}, {"end": "9999-12-31"}, {"start": "0001-01-01"},
    {"start": "2025-11-20", "end": "2025-11-02"}, {"start": "2020-01-01", "end": "2025-11-30"},
    {"tool": "../etc"}, {"device": "fridge"}, {"region": "mars"},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: "&".join(f"{k}={v}" for k, v in
                                                                      p.items()))
@pytest.mark.parametrize("path", ["/dashboard/data.json", "/dashboard", "/dashboard/report.json",
                                  "/dashboard/daily.csv"])
def test_every_bad_parameter_is_a_4xx_or_the_default_view_never_a_500(bearer, path, params):
    """Dates out of range (year 0, 9999: an overflow before) and every other parameter."""
    response = bearer.get(path, params=params)
    assert response.status_code < 500, response.text
    if path in ("/dashboard/data.json", "/dashboard/daily.csv"):  # the one 4xx shape
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] in params
