"""The optional "use current price": recorded venue answers, a clock for the cache, no network."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from marginscope.market import fetch
from marginscope.web import create_app
from marginscope.web.live import LivePriceError, MarkPrices, ccxt_mark_price

# A Bybit ticker as ccxt 4.5 returns it (fields trimmed to those read here).
RECORDED_TICKER = {"symbol": "BTC/USDT:USDT", "last": 95110.5, "markPrice": 95123.4}


class RecordedExchange:
    id = "bybit"
    def __init__(self):
        self.calls = 0
        self.markets_by_id = {
            "BTCUSDT": [{"symbol": "BTC/USDT:USDT", "id": "BTCUSDT", "swap": True}]
        }

    def load_markets(self):
        return {"BTC/USDT:USDT": self.markets_by_id["BTCUSDT"][0]}

    def fetch_ticker(self, symbol):
        self.calls += 1
        assert symbol == "BTC/USDT:USDT"
        return dict(RECORDED_TICKER)


def test_the_ticker_s_mark_price_is_read(monkeypatch):
    exchange = RecordedExchange()
    monkeypatch.setattr(fetch, "make_exchange", lambda name: exchange)
    price, source = ccxt_mark_price("bybit", "BTCUSDT")
    assert price == RECORDED_TICKER["markPrice"] and "markPrice" in source


def test_answers_are_kept_for_the_ttl_then_asked_again():
    calls = []
    now = [100.0]

    def fetcher(venue, symbol):
        calls.append((venue, symbol))
        return 95000.0 + len(calls), "recorded"

    prices = MarkPrices(enabled=True, fetcher=fetcher, clock=lambda: now[0], ttl=5.0)
    first = prices.get("bybit", "BTCUSDT")
    now[0] += 4.0
    again = prices.get("bybit", "BTCUSDT")
    assert len(calls) == 1 and again["price"] == first["price"] and again["age_seconds"] == 4.0
    now[0] += 2.0
    assert prices.get("bybit", "BTCUSDT")["price"] == 95002.0 and len(calls) == 2


@pytest.fixture
def live_client():
    app = create_app()

    def fetcher(venue, symbol):
        if symbol == "NOPE":
            raise LivePriceError("bybit gave no price for NOPE")
        return RECORDED_TICKER["markPrice"], "bybit BTC/USDT:USDT ticker markPrice"

    app.state.mark_prices = MarkPrices(enabled=True, fetcher=fetcher)
    with TestClient(app) as client:
        yield client


def test_the_endpoint_answers_from_the_venue(live_client):
    body = live_client.get("/live/mark-price?venue=bybit&symbol=BTCUSDT").json()
    assert body["price"] == RECORDED_TICKER["markPrice"]
    assert live_client.get("/live/mark-price?venue=bybit&symbol=NOPE").status_code == 502
    assert live_client.get("/live/mark-price?venue=../x&symbol=BTCUSDT").status_code == 422
    assert 'data-live-for="f-mark_price"' in live_client.get("/liquidation").text


def test_off_by_default_and_the_page_says_so(client):
    response = client.get("/live/mark-price?venue=bybit&symbol=BTCUSDT")
    assert response.status_code == 503 and "off" in response.json()["detail"]
    page = client.get("/liquidation").text
    assert "off on this server" in page and "data-live-for" not in page
