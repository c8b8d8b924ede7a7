"""A retail trader's checks in a real headless Chromium, on a 360 px phone and a 1280 px desktop.

Numbers typed as traders type them, funding by notional and days, an error beside its field in
plain words, a deep link, a reload, and the past-liquidation warning. Expected figures come from
the calculators themselves (the same request through ``Calculator.run``) or, for funding, from
the closed form notional × rate × intervals. Screenshots go to ``test-artifacts/trader/``.
"""

from __future__ import annotations

import re

import pytest

from marginscope.calculators import REGISTRY

from .conftest import ARTIFACTS
from .test_browser import CHROMIUM, DESKTOP, PHONE, by_id, no_horizontal_scroll, open_page

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium")
VIEWPORTS = [(PHONE, "phone"), (DESKTOP, "desktop")]
DEEP_LINK = (
    "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=0.5&entry_price=95000&leverage=20"
)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def shot(page, name, full_page=True):
    folder = ARTIFACTS / "trader"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def headline(page):
    return page.locator("#result .headline .v").first


def liquidation_of(**body):
    request = {"venue": "bybit", "symbol": "BTCUSDT", "side": "long", **body}
    return REGISTRY["liquidation"].run(request)["liquidation_price"]


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_thousands_separators_and_k_are_read_as_traders_mean_them(
    browser, live_server, viewport, tag
):
    page, errors = open_page(browser, viewport, f"{live_server}{DEEP_LINK}")
    expected = f"{liquidation_of(qty=0.5, entry_price=95000.0, leverage=20):,.2f}"
    entry = by_id(page, "f-entry_price")
    entry.fill("95,000")
    entry.press("Tab")
    expect(headline(page)).to_have_text(expected)
    expect(page.locator("#result .read-as")).to_contain_text("“95,000” read as 95,000")
    entry.fill("95k")
    expect(page.locator("#result .read-as")).to_contain_text("“95k” read as 95,000")
    expect(headline(page)).to_have_text(expected)
    expect(page.locator("#result .headline .u").first).to_have_text("USDT")
    no_horizontal_scroll(page)
    shot(page, f"liquidation-95k-{tag}")
    assert not errors


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_funding_in_percent_over_days_on_a_notional(browser, live_server, viewport, tag):
    page, errors = open_page(browser, viewport, f"{live_server}/funding?example=none")
    page.locator("label[for='f-side-long']").click()
    by_id(page, "f-mark_price").fill("95,000")
    by_id(page, "f-notional").fill("$50,000")
    by_id(page, "f-days").fill("7")
    by_id(page, "f-funding_rate").fill("-0.01%")
    # closed form: 50,000 × −0.0001 × (7 × 24 / 8 = 21 intervals) = −105: the long receives
    expect(headline(page)).to_have_text("-105.00")
    expect(page.locator("#result .read-as")).to_contain_text(
        "Funding rate read as -0.01 % per 8 h, 21 intervals (7 days)"
    )
    explanation = page.locator("#result .explain")
    expect(explanation).to_contain_text("receives 105")
    expect(explanation).not_to_contain_text("must move")
    # the same rate typed without the % sign: the field is in percent, not a fraction
    by_id(page, "f-funding_rate").fill("-0.01")
    expect(headline(page)).to_have_text("-105.00")
    no_horizontal_scroll(page)
    shot(page, f"funding-notional-days-{tag}")
    assert not errors


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_a_negative_quantity_is_explained_beside_its_field(browser, live_server, viewport, tag):
    page, errors = open_page(browser, viewport, f"{live_server}{DEEP_LINK}")
    qty = by_id(page, "f-qty")
    qty.fill("-0.5")
    message = by_id(page, "e-qty")
    expect(message).to_be_visible()
    expect(message).to_have_text("Quantity must be more than 0")
    expect(qty).to_have_attribute("aria-invalid", "true")
    assert "e-qty" in qty.get_attribute("aria-describedby")
    # beside the field: in the same field block, just below the input
    same_block = page.locator(".field", has=page.locator("#f-qty")).locator("#e-qty")
    expect(same_block).to_have_count(1)
    box, below = qty.bounding_box(), message.bounding_box()
    assert 0 <= below["y"] - (box["y"] + box["height"]) < 60
    qty.fill("0.5")
    expect(message).to_be_hidden()
    qty.fill("-0.5")
    expect(message).to_be_visible()
    message.evaluate("el => el.scrollIntoView({block: 'center'})")
    shot(page, f"negative-qty-{tag}", full_page=False)
    assert not errors


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_a_deep_link_opens_with_its_result(browser, live_server, viewport, tag):
    page, errors = open_page(browser, viewport, f"{live_server}{DEEP_LINK}")
    expected = liquidation_of(qty=0.5, entry_price=95000.0, leverage=20)
    expect(headline(page)).to_have_text(f"{expected:,.2f}")
    expect(by_id(page, "f-venue")).to_have_value("bybit")
    expect(by_id(page, "f-symbol")).to_have_value("BTCUSDT")
    tier = page.locator("#result .tier")
    expect(tier).to_contain_text("Tier")
    expect(tier).to_contain_text("Max leverage")
    shot(page, f"deep-link-{tag}")
    assert not errors


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_a_reload_keeps_the_inputs(browser, live_server, viewport, tag):
    page, errors = open_page(browser, viewport, f"{live_server}/liquidation")
    by_id(page, "f-qty").fill("0.7")
    by_id(page, "f-entry_price").fill("96k")
    expected = REGISTRY["liquidation"].run(
        {
            "venue": "binance-usdm",
            "symbol": "BTCUSDT",
            "side": "long",
            "qty": 0.7,
            "entry_price": 96000.0,
            "leverage": 10,
        }
    )["liquidation_price"]
    expect(headline(page)).to_have_text(f"{expected:,.2f}")
    expect(page).to_have_url(re.compile(r"qty=0\.7.*entry_price=96k"))
    page.reload()
    expect(by_id(page, "f-qty")).to_have_value("0.7")
    expect(by_id(page, "f-entry_price")).to_have_value("96000")
    expect(headline(page)).to_have_text(f"{expected:,.2f}")
    # the bare address brings back the last inputs too (kept in this browser only)
    page.goto(f"{live_server}/liquidation")
    expect(by_id(page, "f-qty")).to_have_value("0.7")
    shot(page, f"reload-kept-{tag}")
    assert not errors


@pytest.mark.parametrize("viewport, tag", VIEWPORTS)
def test_a_mark_past_liquidation_is_said_first(browser, live_server, viewport, tag):
    url = (
        f"{live_server}/margin-call?venue=binance-usdm&symbol=BTCUSDT&side=long&qty=1"
        "&entry_price=90000&mark_price=80,000&leverage=10&target_price=78000"
    )
    page, errors = open_page(browser, viewport, url)
    result = REGISTRY["margin-call"].run(
        {
            "venue": "binance-usdm",
            "symbol": "BTCUSDT",
            "side": "long",
            "qty": 1.0,
            "entry_price": 90000.0,
            "mark_price": 80000.0,
            "leverage": 10,
            "target_price": 78000,
        }
    )
    assert result["liquidation_price"] > 80000  # the case: the mark is already past it
    danger = page.locator("#result .danger")
    expect(danger).to_contain_text("Already past liquidation at this mark")
    first = page.locator("#result .result > *").first
    expect(first).to_have_class("danger")
    expect(page.locator("#result .notice")).to_contain_text("closing the whole position")
    chart = page.locator("#result svg").first
    for text in ("mark", "target", "liquidation"):
        expect(chart.locator("text.reflabel", has_text=re.compile(f"^{text}$"))).to_have_count(1)
    shot(page, f"past-liquidation-{tag}")
    assert not errors


def test_chart_text_is_at_least_12_px_on_a_phone(browser, live_server):
    page, errors = open_page(browser, PHONE, f"{live_server}{DEEP_LINK}")
    sizes = page.eval_on_selector_all(
        "#result svg text", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert sizes and min(sizes) >= 12, sizes
    assert not errors


def test_reference_labels_do_not_overlap(browser, live_server):
    url = (
        f"{live_server}/margin-call?venue=binance-usdm&symbol=BTCUSDT&side=long&qty=1"
        "&entry_price=90000&mark_price=85000&leverage=10&target_price=78000"
    )
    page, errors = open_page(browser, PHONE, url)
    boxes = page.eval_on_selector_all(
        "#result svg text.reflabel",
        """els => els.map(e => {
        const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""",
    )
    assert len(boxes) >= 4
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)
    shot(page, "margin-call-chart-phone")
    assert not errors


def test_switching_venue_keeps_the_instrument(browser, live_server):
    page, errors = open_page(browser, DESKTOP, f"{live_server}/liquidation")
    page.get_by_label(re.compile("^Symbol")).select_option("ETHUSDT")
    for venue, symbol in (("okx", "ETH-USDT-SWAP"), ("hyperliquid", "ETH"), ("bybit", "ETHUSDT")):
        page.get_by_label(re.compile("^Venue")).select_option(venue)
        expect(by_id(page, "f-symbol")).to_have_value(symbol)
    assert not errors


def test_the_index_has_a_search_on_a_phone(browser, live_server):
    page, errors = open_page(browser, PHONE, f"{live_server}/")
    page.get_by_label("Find a calculator").fill("funding")
    visible = page.locator(".cards > li:visible")
    expect(visible.first).to_contain_text("Funding cost")
    assert visible.count() < 5
    expect(page.locator("#search-count")).to_contain_text("calculator")
    no_horizontal_scroll(page)
    shot(page, "index-search-phone", full_page=False)
    assert not errors


def test_use_current_price_fills_the_mark_from_a_recorded_answer(browser):
    from marginscope.web import create_app
    from marginscope.web.background import serve_in_background
    from marginscope.web.live import MarkPrices

    app = create_app()
    app.state.mark_prices = MarkPrices(
        enabled=True, fetcher=lambda venue, symbol: (88000.0, f"{venue} {symbol} recorded")
    )
    with serve_in_background(app) as url:
        page, errors = open_page(browser, PHONE, f"{url}/margin-call")
        page.get_by_role("button", name="Use current price").click()
        expect(by_id(page, "f-mark_price")).to_have_value("88000")
        expect(page.locator(".live-said")).to_contain_text("recorded")
        expected = REGISTRY["margin-call"].run(
            {**REGISTRY["margin-call"].example, "mark_price": 88000.0}
        )
        ratio = f"{expected['margin_ratio'] * 100:.2f} %"
        expect(page.locator('#result [data-key="margin_ratio"]')).to_have_text(ratio)
        assert not errors
