"""The API on symbols and dates: the kind follows the symbol, contradictions and unknown kinds
are 422s naming the field, ``as_of`` picks the table, and instruments map across venues."""

from __future__ import annotations

import pytest

from marginscope.risk.tiers import load_venue_history

BYBIT_INVERSE = {
    "venue": "bybit",
    "symbol": "BTCUSD",
    "side": "long",
    "qty": 100,
    "entry_price": 100,
    "leverage": 2,
    "mmr": 0.005,
    "contract_size": 1.0,
}


@pytest.mark.parametrize("path", ["liquidation", "margin-call"])
def test_an_inverse_symbol_with_an_override_prices_as_inverse(client, path):
    answer = client.post(f"/api/v1/{path}", json=BYBIT_INVERSE)
    assert answer.status_code == 200, answer.text
    # 0.5 + 100·(1/100 − 1/P) = 0.005·100/P → P = 100.5/1.5 (the linear formula gives 50.5)
    assert answer.json()["liquidation_price"] == pytest.approx(67.0)
    assert answer.json()["product"] == "inverse"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product": "linear"}, "product"),  # contradicts BTCUSD (inverse)
        ({"venue": "generic"}, "symbol"),  # BTCUSD: kind not told
        ({"venue": "bitmex", "symbol": "ETHUSD"}, "symbol"),  # a quanto
        ({"venue": "binance-usdm", "symbol": "BTC/USD:BTC"}, "symbol"),
        (
            {"as_of": "2021-02-30", "venue": "binance-usdm", "symbol": "BTCUSDT", "mmr": None},
            "as_of",
        ),
        (
            {"as_of": "1999-01-01", "venue": "binance-usdm", "symbol": "BTCUSDT", "mmr": None},
            "as_of",
        ),
    ],
)
@pytest.mark.parametrize("path", ["liquidation", "margin-call"])
def test_contradictions_and_unknown_kinds_are_422_naming_the_field(client, path, change, field):
    body = {key: value for key, value in {**BYBIT_INVERSE, **change}.items() if value is not None}
    answer = client.post(f"/api/v1/{path}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_account_position_product_contradiction_names_the_position(client):
    position = {key: value for key, value in BYBIT_INVERSE.items() if key != "venue"}
    body = {"venue": "bybit", "positions": [{**position, "product": "linear"}]}
    answer = client.post("/api/v1/account", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "positions[0].product"


def test_as_of_picks_the_table_and_the_answer_names_it(client):
    body = {
        "venue": "hyperliquid",
        "symbol": "BTC",
        "side": "short",
        "qty": 0.00069,
        "entry_price": 68595.0,
        "margin": 23.64871,
    }
    then = client.post("/api/v1/liquidation", json={**body, "as_of": "2024-10-15"}).json()
    # Hyperliquid's own answer for this position (freqtrade's test, venue_vectors.json)
    assert then["liquidation_price"] == pytest.approx(101849.99354283, rel=1e-4)
    assert then["table_as_of"] == "2024-10-01"
    now = client.post("/api/v1/liquidation", json=body).json()
    assert now["table_as_of"] == load_venue_history("hyperliquid")["BTC"][-1].as_of
    assert now["liquidation_price"] != pytest.approx(then["liquidation_price"], rel=1e-4)


def test_venues_list_instruments_with_product_settle_size_and_dates(client):
    venues = {v["name"]: v for v in client.get("/api/v1/venues").json()}
    btc = next(s for s in venues["binance-usdm"]["symbols"] if s["symbol"] == "BTCUSDT")
    assert (btc["product"], btc["settle"], btc["contract_size"]) == ("linear", "USDT", 1.0)
    assert btc["vintages"] == ["2021-03-18", "2022-05-21", "2024-10-24"]
    assert btc["as_of"] == btc["vintages"][-1] and btc["source"]
    assert venues["hyperliquid"]["quotes"] == {"linear": ["USDC"]}
    assert len(venues["binance-usdm"]["symbols"]) > 300  # every USDⓈ-M perpetual shipped


def test_instruments_switch_venue_and_keep_the_contract(client):
    answer = client.get("/api/v1/instruments", params={"venue": "okx", "symbol": "BTC-USDT-SWAP"})
    assert answer.status_code == 200
    venues = answer.json()["venues"]
    assert answer.json()["instrument"] == "BTC/USDT:USDT"
    assert venues["binance-usdm"]["symbol"] == "BTCUSDT"
    assert venues["binance-usdm"]["table_as_of"] == "2024-10-24"
    assert venues["gate"]["symbol"] == "BTC_USDT"
    assert venues["hyperliquid"] == {
        "symbol": "BTC",
        "instrument": "BTC/USDC:USDC",
        "same_quote": False,
        "table_as_of": load_venue_history("hyperliquid")["BTC"][-1].as_of,
    }
    assert venues["binance-coinm"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"venue": "generic", "symbol": "BTCUSD"}, "symbol"),
        ({"venue": "nasdaq", "symbol": "BTCUSDT"}, "venue"),
    ],
)
def test_instruments_bad_input_is_422(client, params, field):
    answer = client.get("/api/v1/instruments", params=params)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == field
