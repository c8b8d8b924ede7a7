"""The HTML report in a real headless Chromium, on a phone and on a desktop.

Screenshots are kept in ``test-artifacts/`` (gitignored) for a human to look at:
``report-phone.png`` (360 px wide) and ``report-desktop.png`` (1280 px).
"""

from __future__ import annotations

import pytest

from marginscope.report import to_html
from marginscope.report.render import CHROMIUM_FLAGS, find_chromium

from .conftest import ARTIFACTS

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (make test "
                                                          "installs Debian's chromium)")
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def page_file(report):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser():
    flags = [f for f in CHROMIUM_FLAGS if f not in ("--headless", "--no-pdf-header-footer")]
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield chromium
        chromium.close()


def _open(browser, viewport, url):
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def _charts(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('figure img')).map(
        img => ({natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
                 complete: img.complete}))""")


def test_on_a_phone_nothing_overflows_and_the_narrow_charts_fill_the_width(browser, page_file):
    page = _open(browser, PHONE, page_file.as_uri())
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    charts = _charts(page)
    assert len(charts) == 4
    for chart in charts:
        assert chart["complete"] and chart["natural"] > 0
        assert chart["natural"] < 500  # the narrow drawing was chosen
        assert 300 <= chart["shown"] <= PHONE["width"]
    assert page.locator(".banner").inner_text().startswith("SYNTHETIC DATA")


def test_on_a_desktop_the_charts_sit_two_to_a_row_and_the_body_is_short(browser, page_file):
    page = _open(browser, DESKTOP, page_file.as_uri())
    page.screenshot(path=str(ARTIFACTS / "report-desktop.png"), full_page=True)
    charts = _charts(page)
    assert len(charts) == 4
    assert all(300 <= chart["shown"] <= chart["natural"] * 1.05 for chart in charts)
    tops = page.evaluate("""() => Array.from(document.querySelectorAll('figure img')).map(
        img => Math.round(img.getBoundingClientRect().top))""")
    assert tops[0] == tops[1] and tops[2] == tops[3] and tops[2] > tops[0]
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    # the appendix and the methodology are collapsed: the body is about six screens
    assert page.evaluate("document.documentElement.scrollHeight") <= 6.5 * DESKTOP["height"]
    assert page.locator("details[open]").count() == 0
