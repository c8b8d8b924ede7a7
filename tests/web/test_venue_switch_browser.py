"""Switching venue on a calculator page keeps the instrument, in a real headless Chromium.

Expected symbols come from the venue registry's notations (``listed``: ``Venue.notation.write``
of the instrument the starting symbol names, moved to the venue's quote by ``map_to_venue``),
not from the page's code. Also: on a 390 × 844 phone the result bar never covers the error of the
field being typed in. Screenshots go to ``test-artifacts/venue-switch/``.
"""

from __future__ import annotations

import re

import pytest

from marginscope.calculators import REGISTRY
from marginscope.risk.instruments import parse_symbol

from . import test_browser
from .conftest import ARTIFACTS
from .test_browser import CHROMIUM, DESKTOP, by_id, open_page
from .test_venue_switch_forms import listed

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium")
PHONE_390 = {"width": 390, "height": 844}
browser = test_browser.browser  # the module-scoped system Chromium fixture
LINK = "/liquidation?venue={venue}&symbol={symbol}&side=long&qty=0.5&entry_price=95000&leverage=20"


def shot(page, name):
    folder = ARTIFACTS / "venue-switch"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def switch(page, venue):
    page.get_by_label(re.compile("^Venue")).select_option(venue)


def test_btcusdt_keeps_its_instrument_on_every_venue(browser, live_server):
    page, errors = open_page(
        browser, DESKTOP, live_server + LINK.format(venue="binance-usdm", symbol="BTCUSDT")
    )
    symbol = by_id(page, "f-symbol")
    note = by_id(page, "n-symbol")
    for venue in ("okx", "gate", "hyperliquid", "bitmex", "bybit", "binance-usdm"):
        expected = listed("binance-usdm", "BTCUSDT", venue)
        assert expected is not None
        switch(page, venue)
        expect(symbol).to_have_value(expected)
        # the same product: a linear BTCUSDT lands on the venue's linear listing
        assert parse_symbol(venue, expected).product == "linear"
        if venue == "gate":  # no shipped Gate table: the page says an MMR is needed
            expect(note).to_contain_text("No tier table shipped")
        if venue == "hyperliquid":  # USDT not offered: same base and kind, its USDC contract
            expect(note).to_contain_text("USDC")
            expect(page).to_have_url(re.compile(r"venue=hyperliquid"))  # its answer is in
            shot(page, "btcusdt-to-hyperliquid-desktop")
    # back through Hyperliquid (USDC) to Bybit and Binance: still the USDT contract
    assert symbol.input_value() == "BTCUSDT"
    assert not errors


def test_the_switch_reaches_the_server_with_the_new_symbol(browser, live_server):
    page, errors = open_page(
        browser, DESKTOP, live_server + LINK.format(venue="binance-usdm", symbol="BTCUSDT")
    )
    switch(page, "okx")
    expected = listed("binance-usdm", "BTCUSDT", "okx")
    expect(page).to_have_url(re.compile(rf"[?&]symbol={re.escape(expected)}(&|$)"))
    assert "venue=okx" in page.url
    assert "symbols_for" not in page.url  # links carry the inputs only
    request = {
        "venue": "okx",
        "symbol": expected,
        "side": "long",
        "qty": 0.5,
        "entry_price": 95000.0,
        "leverage": 20.0,
    }
    price = REGISTRY["liquidation"].run(request)["liquidation_price"]
    expect(page.locator("#result .headline .v").first).to_have_text(f"{price:,.2f}")
    assert not errors


def test_no_listing_is_said_beside_the_field(browser, live_server):
    # a linear BTCUSDT has no Binance COIN-M contract (inverse only)
    assert listed("binance-usdm", "BTCUSDT", "binance-coinm") is None
    page, errors = open_page(
        browser, DESKTOP, live_server + LINK.format(venue="binance-usdm", symbol="BTCUSDT")
    )
    switch(page, "binance-coinm")
    expect(by_id(page, "n-symbol")).to_contain_text("No Binance COIN-M listing for BTCUSDT")
    expect(by_id(page, "f-symbol")).to_have_value("")  # not kept: the venue would misread it
    expect(page).to_have_url(re.compile(r"venue=binance-coinm"))  # its answer is in
    shot(page, "no-listing-desktop")
    assert not errors


def test_an_inverse_contract_keeps_its_kind(browser, live_server):
    page, errors = open_page(
        browser, DESKTOP, live_server + LINK.format(venue="binance-coinm", symbol="BTCUSD_PERP")
    )
    for venue in ("bitmex", "okx", "gate", "bybit"):
        expected = listed("binance-coinm", "BTCUSD_PERP", venue)
        switch(page, venue)
        expect(by_id(page, "f-symbol")).to_have_value(expected)
        assert parse_symbol(venue, expected).product == "inverse"
    assert listed("binance-coinm", "BTCUSD_PERP", "hyperliquid") is None
    switch(page, "hyperliquid")
    expect(by_id(page, "n-symbol")).to_contain_text("No Hyperliquid listing")
    assert not errors


def test_a_position_row_keeps_its_instrument(browser, live_server):
    page, errors = open_page(browser, DESKTOP, f"{live_server}/account?example=starter")
    row = by_id(page, "f-positions.0.symbol")
    before = row.input_value()
    expected = listed("binance-usdm", before, "okx")
    switch(page, "okx")
    expect(row).to_have_value(expected)
    assert not errors


def overlap(a, b) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_the_result_bar_never_covers_a_field_error_on_a_phone(browser, live_server):
    context = browser.new_context(
        viewport=PHONE_390, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + LINK.format(venue="bybit", symbol="BTCUSDT"))
    # the bottom-most field of the form (before the buttons), sitting just above the bar
    field = page.locator("form.calc > .field:visible").last
    control = field.locator("input[type=text]").first
    peek = page.locator(".peek")
    page.evaluate("window.scrollTo(0, 0)")
    box = control.bounding_box()
    page.evaluate(f"window.scrollBy(0, {box['y'] + box['height'] - PHONE_390['height'] + 100})")
    control.focus()
    control.fill("-5")
    error = field.locator(".field-error")
    expect(error).to_be_visible()
    expect(peek).to_be_visible()
    page.wait_for_timeout(100)  # the scroll that follows the answer
    bar, message = peek.bounding_box(), error.bounding_box()
    assert not overlap(bar, message), (bar, message)
    assert message["y"] >= 0
    shot(page, "bottom-field-error-phone-390")
    # scrolled to the end, the last thing on the page clears the bar too
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(100)
    foot = page.locator("footer, .foot").last.bounding_box()
    if peek.is_visible():
        assert not overlap(peek.bounding_box(), foot)
    context.close()
    assert not errors
