"""A calculator form posted without script after its venue changed keeps the instrument.

The form carries the venue its symbols are written for (hidden ``symbols_for``); the server
writes each symbol in the new venue's notation or answers a field error on ``symbol``, never a
silent wrong product. Expected symbols come from the venue registry's notations
(``Venue.notation.write`` of the instrument, moved to the venue's quote by ``map_to_venue``).
"""

from __future__ import annotations

import re

import pytest

from marginscope.calculators import REGISTRY
from marginscope.errors import InputError
from marginscope.risk.instruments import map_to_venue, parse_symbol
from marginscope.risk.venues import VENUES
from marginscope.web.forms import SYMBOLS_FOR, map_symbols

POSITION = {
    "side": "long",
    "qty": "0.5",
    "entry_price": "95000",
    "leverage": "20",
    "mmr": "0.5",
}  # an MMR override: venues without a shipped table price too


def listed(venue: str, symbol: str, target: str) -> str | None:
    """``symbol`` of ``venue`` in ``target``'s notation, by the registry; None if not offered."""
    try:
        return VENUES[target].notation.write(map_to_venue(parse_symbol(venue, symbol), target))
    except InputError:
        return None


def selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select id="f-{re.escape(name)}".*?</select>', html, re.S)
    assert select is not None
    found = re.search(r'<option value="([^"]*)" selected', select.group(0))
    return found.group(1) if found else None


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    return found.group(1) if found else ""


CASES = [
    (venue, symbol, target)
    for venue, symbol in (
        ("binance-usdm", "BTCUSDT"),
        ("binance-coinm", "BTCUSD_PERP"),
        ("okx", "ETH-USDT-SWAP"),
        ("bitmex", "XBTUSD"),
    )
    for target in VENUES
    if target not in (venue, "generic")
]


@pytest.mark.parametrize("venue, symbol, target", CASES)
def test_a_posted_symbol_of_the_old_venue_is_mapped_or_refused(client, venue, symbol, target):
    data = {"venue": target, SYMBOLS_FOR: venue, "symbol": symbol, **POSITION}
    response = client.post("/liquidation", data=data)
    expected = listed(venue, symbol, target)
    product = parse_symbol(venue, symbol).product
    if expected is None:
        assert response.status_code == 422
        error = field_error(response.text, "symbol")
        assert error.startswith("Symbol: no ") and symbol in error and product in error
        assert selected(response.text, "symbol") in ("", None)  # not kept for the new venue
        return
    assert response.status_code == 200, field_error(response.text, "symbol")
    assert selected(response.text, "symbol") == expected
    assert parse_symbol(target, expected).product == product  # linear stays linear
    if expected != symbol:
        assert f"Symbol: {symbol} (" in response.text and f"is {expected} on " in response.text
    # the answer is the new venue's, for the mapped symbol
    body = {
        "venue": target,
        "symbol": expected,
        "side": "long",
        "qty": 0.5,
        "entry_price": 95000.0,
        "leverage": 20.0,
        "mmr": 0.005,
    }  # POSITION as numbers
    price = REGISTRY["liquidation"].run(body)["liquidation_price"]
    fragment = client.post("/liquidation/result", data=data)
    assert fragment.status_code == 200
    assert f"{price:,.2f}" in fragment.text


def test_the_brief_examples(client):
    """BTCUSDT from Binance USDS-M: OKX BTC-USDT-SWAP, Gate BTC_USDT, Hyperliquid BTC (USDC),
    BitMEX's linear XBTUSDT, not the inverse XBTUSD."""
    for target in ("okx", "gate", "hyperliquid", "bitmex"):
        data = {"venue": target, SYMBOLS_FOR: "binance-usdm", "symbol": "BTCUSDT", **POSITION}
        shown = selected(client.post("/liquidation", data=data).text, "symbol")
        assert shown == listed("binance-usdm", "BTCUSDT", target)
    assert listed("binance-usdm", "BTCUSDT", "bitmex") != listed("bitmex", "XBTUSD", "bitmex")


def test_a_symbol_already_in_the_new_notation_is_left_alone(client):
    # BTC-USDT-SWAP is not a Binance symbol: read as OKX's own (typed under "Other…")
    data = {"venue": "okx", SYMBOLS_FOR: "binance-usdm", "symbol": "BTC-USDT-SWAP", **POSITION}
    response = client.post("/liquidation", data=data)
    assert response.status_code == 200
    assert selected(response.text, "symbol") == "BTC-USDT-SWAP"
    assert "(Binance" not in response.text.split('class="read-as"')[-1].split("</ul>")[0]


def test_a_link_without_the_hint_is_read_as_written(client):
    response = client.get(
        "/liquidation?venue=bybit&symbol=BTCUSDT&side=long&qty=0.5&entry_price=95000&leverage=20"
    )
    assert response.status_code == 200
    assert selected(response.text, "symbol") == "BTCUSDT"
    assert " is BTCUSDT on " not in response.text


def test_the_rendered_form_names_the_venue_of_its_symbols(client):
    data = {"venue": "okx", SYMBOLS_FOR: "binance-usdm", "symbol": "BTCUSDT", **POSITION}
    html = client.post("/liquidation", data=data).text
    hint = re.search(rf'<input type="hidden" name="{SYMBOLS_FOR}" value="([^"]*)"', html)
    assert hint is not None and hint.group(1) == "okx"


def test_position_rows_are_mapped_and_refusals_name_the_row(client):
    data = {
        "venue": "okx",
        SYMBOLS_FOR: "binance-usdm",
        "margin_mode": "isolated",
        "positions.0.symbol": "BTCUSDT",
        "positions.0.side": "long",
        "positions.0.qty": "0.5",
        "positions.0.entry_price": "95000",
        "positions.0.leverage": "20",
    }
    response = client.post("/account", data=data)
    assert response.status_code == 200, response.text[:300]
    assert selected(response.text, "positions.0.symbol") == listed("binance-usdm", "BTCUSDT", "okx")
    response = client.post(
        "/account",
        data={
            **data,
            "venue": "hyperliquid",
            SYMBOLS_FOR: "binance-coinm",
            "positions.0.symbol": "BTCUSD_PERP",
        },
    )
    assert response.status_code == 422
    assert "no Hyperliquid listing for BTCUSD_PERP" in field_error(
        response.text, "positions.0.symbol"
    )


def test_map_symbols_in_place():
    values = {"venue": "gate", "positions": [{"symbol": "ETHUSDT"}, {"symbol": "BTCUSDT"}]}
    notes = map_symbols(values, "bybit")
    assert [row["symbol"] for row in values["positions"]] == [
        listed("bybit", "ETHUSDT", "gate"),
        listed("bybit", "BTCUSDT", "gate"),
    ]
    assert len(notes) == 2
    same = {"venue": "bybit", "symbol": "BTCUSDT"}
    assert map_symbols(same, "bybit") == [] and same["symbol"] == "BTCUSDT"
    assert map_symbols({"venue": "okx", "symbol": "BTCUSDT"}, "not-a-venue") == []
    refused = {"venue": "binance-coinm", "symbol": "BTCUSDT"}
    with pytest.raises(InputError) as raised:
        map_symbols(refused, "binance-usdm")
    assert raised.value.field == "symbol" and "symbol" not in refused
