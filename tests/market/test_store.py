"""The DuckDB store: schema, idempotent upsert, round trips, Parquet export."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from marginscope.market import detect_events, load_snapshot
from marginscope.market.files import read_market_files
from marginscope.market.store import (
    TABLES,
    export_parquet,
    has_market_data,
    open_store,
    read_market,
    upsert,
)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "m.duckdb") as con:
        yield con


def _count(con, table):
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_loading_the_snapshot_twice_keeps_one_row_per_key(store, shipped):
    data = load_snapshot()
    first = upsert(store, data)
    second = upsert(store, data)
    assert first == second
    assert _count(store, "market_ohlcv") == (len(shipped("btc_daily_2025.csv"))
                                             + len(shipped("btcusdt_perp_4h_2025-11.csv")))
    assert _count(store, "market_funding") == len(shipped("btcusdt_funding_2025-11.csv"))
    assert _count(store, "market_facts") == len(shipped("news_facts_2025-11.csv"))


def test_the_key_is_venue_symbol_timeframe_time(store):
    upsert(store, load_snapshot())
    keys = store.execute("SELECT count(*) FROM (SELECT DISTINCT venue, symbol, timeframe, time "
                         "FROM market_ohlcv)").fetchone()[0]
    assert keys == _count(store, "market_ohlcv")
    with pytest.raises(duckdb.ConstraintException):
        store.execute("INSERT INTO market_funding SELECT * FROM market_funding LIMIT 1")


def test_times_are_stored_in_utc_as_given(store, shipped):
    upsert(store, load_snapshot())
    first = store.execute("SELECT strftime(time, '%Y-%m-%dT%H:%M:%S.%g'), "
                          "strftime(reported_time, '%Y-%m-%dT%H:%M:%S.%g') FROM market_funding "
                          "ORDER BY time LIMIT 1").fetchone()
    raw = shipped("btcusdt_funding_2025-11.csv")[0]["funding_time_utc"]
    assert first == ("2025-11-01T00:00:00.000", raw.rstrip("Z"))


def test_what_is_read_back_gives_the_same_events(store):
    data = load_snapshot()
    upsert(store, data)
    back = read_market(store)
    assert [e.to_dict() for e in detect_events(back)] == [e.to_dict() for e in detect_events(data)]
    assert back.facts == tuple(sorted(data.facts, key=lambda f: (f.reported_on, f.kind,
                                                                  f.source)))


def test_reading_one_symbol_leaves_the_others_out(store):
    upsert(store, load_snapshot())
    only = read_market(store, symbol="btcusdt")
    assert {s.symbol for s in only.series()} == {"BTCUSDT"}


def test_a_failed_write_leaves_the_store_unchanged(store):
    from marginscope.market.series import MarketData

    upsert(store, MarketData(facts=load_snapshot().facts))
    before = {t: _count(store, t) for t in TABLES}
    good, daily = load_snapshot().ohlcv[1], load_snapshot().ohlcv[0]
    broken = daily.select(np.arange(len(daily)))
    object.__setattr__(broken, "open", np.full(len(daily), np.nan))  # NULL in a NOT NULL column
    with pytest.raises(duckdb.Error):
        upsert(store, MarketData(ohlcv=(good, broken)))  # the good series goes in first
    assert {t: _count(store, t) for t in TABLES} == before
    assert before["market_ohlcv"] == 0


def test_a_store_without_market_tables_is_read_without_creating_them(tmp_path):
    path = tmp_path / "telemetry.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events (id INTEGER)")
    with open_store(path, read_only=True) as con:
        assert not has_market_data(con)
        assert read_market(con).is_empty()
    with duckdb.connect(str(path)) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert tables == {"events"}


def test_parquet_export_uses_a_hive_layout_and_loads_back(store, tmp_path):
    data = load_snapshot()
    upsert(store, data)
    written = export_parquet(store, tmp_path / "dataset")
    relative = {p.relative_to(tmp_path / "dataset").parent.as_posix() for p in written}
    assert relative == {"market_ohlcv/venue=yahoo-finance/symbol=BTC-USD",
                        "market_ohlcv/venue=binance-usdm/symbol=BTCUSDT",
                        "market_funding/venue=binance-usdm/symbol=BTCUSDT", "market_facts"}
    again = read_market_files([tmp_path / "dataset"])
    assert again.row_counts() == data.row_counts()
    assert [e.to_dict() for e in detect_events(again)] == [e.to_dict() for e in
                                                           detect_events(data)]
