"""Fetching through ccxt, offline: the exchange's HTTP ``fetch`` replays recorded responses."""

from __future__ import annotations

import ccxt
import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.market import detect_events, load_snapshot
from marginscope.market.fetch import (
    FetchError,
    RetryPolicy,
    fetch_market,
    make_exchange,
    paginate,
    with_retries,
)
from marginscope.market.store import open_store, read_market, upsert
from marginscope.market.times import parse_utc_ms

KLINES = "/fapi/v1/klines"
FUNDING = "/fapi/v1/fundingRate"
OPEN_INTEREST = "/futures/data/openInterestHist"
INSTANT = RetryPolicy(attempts=3, base_delay=0.5, max_delay=4, rate_limit_delay=2)


@pytest.fixture
def klines(recorded):
    return recorded("binance_usdm_klines_1m.json")


def test_ohlcv_pages_over_two_pages_and_retries_a_rate_limited_request(replay, recorded,
                                                                        klines):
    bars = klines["httpResponse"]
    error = recorded("binance_errors.json")["rate_limit"]
    exchange, venue = replay({KLINES: (bars, lambda r: int(r[0]))}, failures={2: error})
    sleeps: list[float] = []
    data = fetch_market("binance-usdm", "BTCUSDT", since_ms=bars[0][0], until_ms=bars[-1][6],
                        what=["ohlcv"], timeframe="1m", limit=2, exchange=exchange,
                        policy=INSTANT, sleep=sleeps.append)

    (series,) = data.ohlcv
    got = np.column_stack([series.time_ms, series.open, series.high, series.low, series.close,
                           series.base_volume])
    assert got.tolist() == klines["parsedResponse"]  # ccxt's own recorded parse
    assert (series.venue, series.symbol, series.timeframe) == ("binance-usdm", "BTCUSDT", "1m")

    pages = venue.pages(KLINES)
    assert [p["startTime"] for p in pages] == [str(bars[0][0]), str(bars[1][0] + 1),
                                               str(bars[1][0] + 1), str(bars[2][0] + 1)]
    assert {p["symbol"] for p in pages} == {"BTCUSDT"}
    assert {p["interval"] for p in pages} == {"1m"}
    assert {p["limit"] for p in pages} == {"2"}
    assert {p["endTime"] for p in pages} == {str(bars[-1][6])}
    assert sleeps == [INSTANT.rate_limit_delay]  # one back-off, at the rate-limit floor


def test_a_non_transient_error_is_not_retried(replay, recorded, klines):
    bars = klines["httpResponse"]
    error = recorded("binance_errors.json")["invalid_symbol"]
    exchange, venue = replay({KLINES: (bars, lambda r: int(r[0]))}, failures={1: error})
    sleeps: list[float] = []
    with pytest.raises(ccxt.BadSymbol):
        fetch_market("binance-usdm", "BTCUSDT", since_ms=bars[0][0], until_ms=bars[-1][6],
                     what=["ohlcv"], timeframe="1m", exchange=exchange, policy=INSTANT,
                     sleep=sleeps.append)
    assert sleeps == [] and len(venue.requests) == 1


def test_retries_are_bounded(replay, recorded, klines):
    bars = klines["httpResponse"]
    error = recorded("binance_errors.json")["rate_limit"]
    failures = dict.fromkeys(range(1, INSTANT.attempts + 1), error)
    exchange, venue = replay({KLINES: (bars, lambda r: int(r[0]))}, failures=failures)
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="gave up after 3 attempts"):
        fetch_market("binance-usdm", "BTCUSDT", since_ms=bars[0][0], until_ms=bars[-1][6],
                     what=["ohlcv"], timeframe="1m", exchange=exchange, policy=INSTANT,
                     sleep=sleeps.append)
    assert len(venue.requests) == INSTANT.attempts
    assert sleeps == [2.0, 2.0]


def test_backoff_doubles_up_to_its_cap_for_network_errors():
    policy = RetryPolicy(attempts=6, base_delay=1, max_delay=5, rate_limit_delay=10)
    timeout = ccxt.RequestTimeout("timeout")
    assert [policy.delay(k, timeout) for k in range(1, 6)] == [1, 2, 4, 5, 5]
    assert policy.delay(1, ccxt.RateLimitExceeded("429")) == 10


def test_with_retries_returns_after_a_transient_timeout():
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ccxt.RequestTimeout("binanceusdm GET timed out")
        return "ok"

    sleeps: list[float] = []
    assert with_retries(flaky, policy=INSTANT, sleep=sleeps.append) == "ok"
    assert sleeps == [INSTANT.base_delay]


def test_november_funding_pages_back_the_shipped_series(replay, shipped):
    """The shipped Binance fundingRate recording, served as the endpoint's JSON pages."""
    rows = [{"symbol": "BTCUSDT", "fundingTime": parse_utc_ms(r["funding_time_utc"]),
             "fundingRate": r["funding_rate"]} for r in shipped("btcusdt_funding_2025-11.csv")]
    exchange, venue = replay({FUNDING: (rows, lambda r: r["fundingTime"])})
    data = fetch_market("binance-usdm", "BTCUSDT", since_ms=parse_utc_ms("2025-11-01"),
                        until_ms=parse_utc_ms("2025-12-01") - 1, what=["funding"], limit=40,
                        exchange=exchange, policy=INSTANT, sleep=lambda s: None)
    (fetched,) = data.funding
    shipped_series = load_snapshot().funding[0]
    assert np.array_equal(fetched.time, shipped_series.time)
    assert np.array_equal(fetched.reported_time, shipped_series.reported_time)
    assert np.array_equal(fetched.funding_rate, shipped_series.funding_rate)
    starts = [int(p["startTime"]) for p in venue.pages(FUNDING)]
    assert len(starts) >= 3 and starts == sorted(set(starts))
    run = next(e for e in detect_events(data) if e.kind == "funding_negative_run"
               and e.details["longest"])
    assert run.time == "2025-11-23T16:00:00Z"
    assert run.source.startswith("binance-usdm:ccxt ")


def test_funding_mark_price_is_kept_when_the_venue_sends_it(replay, recorded):
    rows = recorded("binance_usdm_funding_rate.json")["httpResponse"]
    exchange, _ = replay({FUNDING: (rows, lambda r: r["fundingTime"])})
    data = fetch_market("binance-usdm", "BTC/USDT:USDT", since_ms=rows[0]["fundingTime"],
                        until_ms=rows[-1]["fundingTime"], what=["funding"], exchange=exchange,
                        policy=INSTANT, sleep=lambda s: None)
    (series,) = data.funding
    assert series.symbol == "BTCUSDT"
    assert series.funding_rate.tolist() == [float(r["fundingRate"]) for r in rows]
    assert series.mark_price.tolist() == [float(r["markPrice"]) for r in rows]


def test_open_interest_history_is_stored_per_period(replay, recorded, tmp_path):
    rows = recorded("binance_usdm_open_interest_hist.json")["httpResponse"]
    exchange, venue = replay({OPEN_INTEREST: (rows, lambda r: int(r["timestamp"]))})
    data = fetch_market("binance-usdm", "BTCUSDT", since_ms=int(rows[0]["timestamp"]),
                        until_ms=int(rows[-1]["timestamp"]), what=["open_interest"],
                        timeframe="5m", exchange=exchange, policy=INSTANT,
                        sleep=lambda s: None)
    (series,) = data.open_interest
    assert series.open_interest.tolist() == [float(r["sumOpenInterest"]) for r in rows]
    assert series.open_interest_value.tolist() == [float(r["sumOpenInterestValue"])
                                                   for r in rows]
    assert {p["period"] for p in venue.pages(OPEN_INTEREST)} == {"5m"}
    with open_store(tmp_path / "m.duckdb") as con:
        upsert(con, data)
        upsert(con, data)
        (stored,) = read_market(con).open_interest
    assert stored.time_ms.tolist() == [int(r["timestamp"]) for r in rows]


def test_binance_offers_no_liquidation_history_and_says_which_venues_do(replay, klines):
    exchange, _ = replay({})
    with pytest.raises(InputError) as caught:
        fetch_market("binance-usdm", "BTCUSDT", since_ms=0, until_ms=1, what=["liquidations"],
                     exchange=exchange)
    assert "gate" in caught.value.allowed and "htx" in caught.value.allowed


def test_synthetic_liquidation_orders_are_summed_per_bucket_and_side():
    """SYNTHETIC liquidation orders in ccxt's unified shape (no recorded response found)."""

    class SyntheticVenue:
        id = "gate"

        def __init__(self):
            self.has = {"fetchLiquidations": True}
            self.markets_by_id = {}
            self.orders = [
                {"timestamp": 1_000, "side": "sell", "quoteValue": 100.0},
                {"timestamp": 2_000, "side": "buy", "quoteValue": 40.0},
                {"timestamp": 3_600_500, "side": "sell", "baseValue": 2.0, "price": 10.0},
            ]

        def load_markets(self):
            return {"BTC/USDT:USDT": {"id": "BTC_USDT", "symbol": "BTC/USDT:USDT",
                                      "swap": True}}

        def fetch_liquidations(self, symbol, since, limit, params):
            return [o for o in self.orders if since <= o["timestamp"] <= params["until"]][:limit]

    data = fetch_market("gate", "BTC/USDT:USDT", since_ms=0, until_ms=7_199_999,
                        what=["liquidations"], timeframe="1h", limit=2,
                        exchange=SyntheticVenue(), policy=INSTANT, sleep=lambda s: None,
                        now_ms=10 * 3_600_000)
    (series,) = data.liquidations
    assert series.symbol == "BTC_USDT"
    assert series.long_usd.tolist() == [100.0, 20.0]
    assert series.short_usd.tolist() == [40.0, 0.0]
    assert series.total_usd.tolist() == [140.0, 20.0]
    assert series.orders.tolist() == [2.0, 1.0]


def test_paging_stops_when_a_venue_does_not_move_forward():
    def stuck(cursor: int, limit: int) -> list[int]:
        return [5]  # SYNTHETIC: always the same old row

    with pytest.raises(FetchError, match="does not page forward"):
        paginate(stuck, since_ms=10, until_ms=100, limit=1, time_of=int, policy=INSTANT,
                 sleep=lambda s: None)


def test_bad_requests_are_input_errors(replay):
    exchange, _ = replay({})
    with pytest.raises(InputError, match="venue"):
        fetch_market("nowhere", "BTCUSDT", since_ms=0, until_ms=1)
    with pytest.raises(InputError, match="what"):
        fetch_market("binance-usdm", "BTCUSDT", since_ms=0, until_ms=1, what=["prices"],
                     exchange=exchange)
    with pytest.raises(InputError, match="symbol"):
        fetch_market("binance-usdm", "NOPEUSDT", since_ms=0, until_ms=1, exchange=exchange)
    with pytest.raises(InputError, match="until"):
        fetch_market("binance-usdm", "BTCUSDT", since_ms=5, until_ms=1, what=["ohlcv"],
                     exchange=exchange)


def test_live_exchanges_are_built_with_the_rate_limiter_on():
    exchange = make_exchange("binance-usdm")
    assert exchange.enableRateLimit is True
    assert exchange.id == "binanceusdm"
