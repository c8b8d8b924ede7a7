"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The app runs under uvicorn on a loopback port; the tests fill in the calculators as a new
user would, on a 360×740 phone and a 1280×800 desktop viewport, read the result, and keep
screenshots in ``test-artifacts/`` (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from marginscope.calculators import REGISTRY
from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE

from .conftest import ARTIFACTS

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

CHROMIUM = os.environ.get("MARGINSCOPE_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
# Offline-safe flags: without them Chromium keeps trying to reach Google's services.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (make test "
                                                          "installs Debian's chromium)")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, viewport, url):
    context = browser.new_context(viewport=viewport, device_scale_factor=1,
                                  is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def by_id(page, element_id):
    return page.locator(f'[id="{element_id}"]')


@pytest.mark.parametrize("viewport, tag", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_liquidation_calculator_filled_in_by_hand(browser, live_server, viewport, tag):
    page, errors = open_page(browser, viewport, f"{live_server}/liquidation?example=none")

    def label(text):  # the control whose visible label starts with ``text``
        return page.get_by_label(re.compile(f"^{text}"))

    expect(page.locator(".placeholder")).to_be_visible()
    label("Symbol").select_option("BTCUSDT")
    page.locator("label[for='f-side-long']").click()
    label("Quantity").fill("1")
    label("Entry price").fill("90000")
    label("Leverage").fill("10")
    expected = REGISTRY["liquidation"].run({"venue": "binance-usdm", "symbol": "BTCUSDT",
                                             "side": "long", "qty": 1, "entry_price": 90000,
                                             "leverage": 10})
    headline = page.locator("#result .headline .v")
    expect(headline).to_have_text(f"{expected['liquidation_price']:,.2f}")  # no reload needed
    expect(page.locator("#result .explain")).to_contain_text("textbook formula")
    expect(page.locator("#result figure.chart svg")).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, f"liquidation-{tag}")
    assert not errors


def test_liquidation_keyboard_only(browser, live_server):
    page, errors = open_page(browser, PHONE, f"{live_server}/liquidation")
    page.get_by_label(re.compile("^Quantity")).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")  # submits; the script answers without a page load
    expected = REGISTRY["liquidation"].run({**REGISTRY["liquidation"].example, "qty": 2})
    expect(page.locator("#result .headline .v")).to_have_text(
        f"{expected['liquidation_price']:,.2f}")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not errors


def test_binance_cross_account_with_two_positions_on_a_phone(browser, live_server):
    """Binance's published two-position cross example, typed in on a 360 px screen."""
    page, errors = open_page(browser, PHONE, f"{live_server}/account?example=none")
    example = BINANCE_CROSS_EXAMPLE
    page.locator("label[for='f-margin_mode-cross']").click()
    wallet = page.get_by_label(re.compile("^Wallet balance"))
    expect(wallet).to_be_visible()  # appears for cross margin only
    wallet.fill(str(example["wallet_balance"]))
    page.get_by_role("button", name="+ Add position").click()
    for i, position in enumerate(example["positions"]):
        by_id(page, f"f-positions.{i}.symbol").select_option(position["symbol"])
        page.locator(f"label[for='f-positions.{i}.side-long']").click()
        for field in ("qty", "entry_price", "mark_price"):
            by_id(page, f"f-positions.{i}.{field}").fill(str(position[field]))
        # Binance's example states its own MMR and maintenance amount: under "More options"
        page.locator(".item").nth(i).locator("details.more > summary").click()
        by_id(page, f"f-positions.{i}.mmr").fill(f"{position['mmr'] * 100:g}")  # percent
        by_id(page, f"f-positions.{i}.maintenance_amount").fill(
            str(position["maintenance_amount"]))
    cards = page.locator("#result article.pos")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).locator(".headline .v")).to_have_text("26,316.89")
    expect(cards.nth(1).locator(".headline .v")).to_have_text("1,153.26")
    no_horizontal_scroll(page)
    for box in page.locator("button, select, input[type=text], .seg-options label").all():
        if box.is_visible():
            assert box.bounding_box()["height"] >= 40  # thumb-sized controls
    shot(page, "account-cross-phone")
    assert not errors


def test_removing_a_position_renumbers_the_rest(browser, live_server):
    page, errors = open_page(browser, PHONE, f"{live_server}/account?example=full")
    expect(page.locator("#result article.pos")).to_have_count(2)
    page.get_by_role("button", name="Remove position 1").click()
    expect(page.locator(".item")).to_have_count(1)
    expect(by_id(page, "f-positions.0.symbol")).to_have_value("ETHUSDT")
    expect(page.locator("#result article.pos")).to_have_count(1)
    assert not errors


def test_venue_change_refills_the_symbol_picker(browser, live_server):
    page, errors = open_page(browser, DESKTOP, f"{live_server}/liquidation")
    page.get_by_label(re.compile("^Venue")).select_option("hyperliquid")
    options = page.get_by_label(re.compile("^Symbol")).locator("option")
    # The picker refills after /api/v1/instruments answers: wait for it, never read at once.
    expect(options.filter(has_text=re.compile("^BTC$"))).to_have_count(1)
    expect(options.filter(has_text=re.compile("^BTCUSDT$"))).to_have_count(0)
    assert not errors


def test_every_page_fits_a_phone_without_horizontal_scroll(browser, live_server):
    page, errors = open_page(browser, PHONE, f"{live_server}/")
    no_horizontal_scroll(page)
    shot(page, "index-phone")
    for name in REGISTRY:
        page.goto(f"{live_server}/{name}?example=full")
        no_horizontal_scroll(page)
    shot(page, f"{name}-phone")
    assert not errors


def test_api_docs_render_offline(browser, live_server):
    page, errors = open_page(browser, DESKTOP, f"{live_server}/docs")
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server) else None)
    page.reload()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/account")).to_be_visible()
    assert outside == [] and not errors
