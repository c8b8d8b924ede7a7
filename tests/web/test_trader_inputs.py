"""Numbers as traders type them, plain-words errors, units and warnings, state in the URL."""

from __future__ import annotations

import re

import pytest

from marginscope.calculators import REGISTRY
from marginscope.web.numbers import read_number
from marginscope.web.wording import plain_error

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    "text, percent, value",
    [
        ("95,000", False, 95_000.0),
        ("95 000", False, 95_000.0),
        ("95k", False, 95_000.0),
        ("1.5m", False, 1_500_000.0),
        ("$50,000", False, 50_000.0),
        ("-0.01%", False, -0.0001),
        ("−0.01 %", False, -0.0001),
        ("-0.01", True, -0.0001),
        ("-0.01%", True, -0.0001),
        ("1e-5", False, 1e-5),
        (".5", False, 0.5),
    ],
)
def test_trader_numbers(text, percent, value):
    assert read_number(text, percent).value == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["1,5", "abc", "0x10", "nan", "inf", "1e308k", "", "k", "%"])
def test_not_numbers_are_left_to_the_model(text):
    assert read_number(text) is None


@pytest.mark.parametrize(
    "allowed, text",
    [
        ("≥ 1e-12", "Quantity must be more than 0"),
        ("≥ 1e-12 and < 1000000000000.0", "Quantity must be more than 0"),
        ("≥ 0.01 and ≤ 1000", "Quantity must be between 0.01 and 1,000"),
        (
            "1 … 125 for a notional of 95,000.00 on binance-usdm",
            "Quantity must be between 1 and 125 for a notional of 95,000.00 on binance-usdm",
        ),
        (
            "Input should be a valid number, unable to parse string as a number",
            "Quantity must be a number, like 95,000 or 95k",
        ),
    ],
)
def test_plain_errors(allowed, text):
    assert plain_error("Quantity", allowed) == text


def test_percent_bounds_are_stated_in_percent():
    assert (
        plain_error("Funding rate", "> -1 and < 1", percent=True)
        == "Funding rate must be between -100 % and 100 %"
    )


def test_leverage_out_of_range_states_the_same_range_at_both_ends(client):
    base = {
        "venue": "bybit",
        "symbol": "BTCUSDT",
        "side": "long",
        "qty": "1",
        "entry_price": "95000",
    }
    texts = [
        re.findall(
            r'data-text="([^"]*)"',
            client.post("/liquidation/result", data={**base, "leverage": lev}).text,
        )
        for lev in ("0", "500")
    ]
    assert texts[0] == ["Leverage must be between 1 and 100"]
    assert texts[1][0].startswith("Leverage must be between 1 and 100")


def test_the_page_reads_funding_in_percent_and_says_how(client):
    response = client.post(
        "/funding/result",
        data={
            "side": "long",
            "notional": "50,000",
            "mark_price": "95k",
            "funding_rate": "-0.01",
            "days": "7",
        },
    )
    text = response.text
    assert response.status_code == 200
    assert "-105.00" in text and "receives 105.00" in text
    assert "read as -0.01 % per 8 h, 21 intervals (7 days)" in text
    assert "must move" not in text


def test_an_implausible_funding_rate_is_flagged(client):
    text = client.post(
        "/funding/result",
        data={"side": "long", "qty": "1", "mark_price": "95000", "funding_rate": "1"},
    ).text
    assert "far beyond what venues charge" in text


def test_a_deep_link_renders_its_result_and_keeps_the_inputs(client):
    url = "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=0.5&entry_price=95000&leverage=20"
    text = client.get(url).text
    expected = REGISTRY["liquidation"].run(
        {
            "venue": "bybit",
            "symbol": "BTCUSDT",
            "side": "long",
            "qty": 0.5,
            "entry_price": 95000,
            "leverage": 20,
        }
    )
    assert f"{expected['liquidation_price']:,.2f}" in text
    assert 'value="0.5"' in text and 'value="bybit" selected' in text


def test_a_bad_deep_link_shows_the_error_beside_the_field(client):
    text = client.get(
        "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=-1&entry_price=95000&leverage=20"
    ).text
    assert re.search(r'<p class="field-error" id="e-qty">Quantity must be more than 0</p>', text)
    assert re.search(r'id="f-qty"[^>]*aria-invalid="true"', text)


def test_figures_carry_units_and_the_tier_is_shown(client):
    text = client.get(
        "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=0.5&entry_price=95000&leverage=20"
    ).text
    assert re.search(r'data-key="margin">[\d,.]+ <span class="u">USDT</span>', text)
    assert "Tier used" in text and "Max leverage" in text and "Table dated" in text


def test_inverse_contracts_name_their_settle_coin(client):
    from marginscope.risk.tiers import load_venue_tables

    symbol = next(iter(load_venue_tables("binance-coinm")))
    text = client.get(
        f"/liquidation?venue=binance-coinm&symbol={symbol}&side=long&qty=10"
        "&entry_price=60000&leverage=10"
    ).text
    assert "Inverse contract: margin, P&amp;L and fees are in BTC" in text
    assert re.search(r'data-key="margin">[\d,.]+ <span class="u">BTC</span>', text)


def test_cross_mode_labels_the_margin_field_as_the_wallet(client):
    text = client.get(
        "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=1"
        "&entry_price=95000&margin_mode=cross"
    ).text
    assert "Wallet balance (cross) is required" in text
    wallet = re.search(r'<span data-when="margin_mode=cross"( hidden)?>Wallet balance', text)
    assert wallet and not wallet.group(1)


def test_glyphs_without_a_font_are_not_sent(client):
    assert "Ⓢ" not in client.get("/liquidation").text


def test_pnl_beyond_the_margin_says_liquidated_first(client):
    text = client.get("/pnl?side=long&qty=0.5&entry_price=95000&exit_price=80000&leverage=20").text
    # margin gone at entry × (1 − 1/L) = 90,250 for a 20× long, before an exit at 80,000
    assert "Liquidated before this exit" in text and "90,250.00" in text


def test_a_short_in_a_call_from_the_start_is_said_first(client):
    text = client.get("/short-sale?shares=200&short_price=48.5&cover_price=41&deposit=0").text
    assert "Already in a margin call when opened" in text


def test_a_cfd_page_asks_for_the_rate_when_currencies_differ(client):
    text = client.get(
        "/cfd-margin?size=2&price=7450&category=minor_fx_gold_major_index"
        "&instrument_currency=GBP&account_currency=USD"
    ).text
    assert 'id="e-conversion_rate">Conversion rate: USD per GBP (the account' in text
    text = client.get(
        "/cfd-margin?size=2&price=7450&category=minor_fx_gold_major_index"
        "&instrument_currency=GBP&account_currency=USD&conversion_rate=1.27"
    ).text
    assert "Money figures in USD." in text
