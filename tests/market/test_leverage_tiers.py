"""Offline tests of the ccxt tier refresher and ``marginscope tiers refresh``.

Real ccxt exchange objects are used; only their HTTP call (``Exchange.fetch``) is replaced by
one returning recorded venue answers from ``tests/fixtures/ccxt`` (sources in its README).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import ccxt
import numpy as np
import pytest

from marginscope.cli import main
from marginscope.errors import InputError
from marginscope.market import leverage_tiers as lt
from marginscope.risk.tiers import load_venue_tables, table_from_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ccxt"


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _market(exchange, symbol, market_id, settle_id, *, linear=True, contract_size=1.0):
    """Test scaffolding: a ccxt market structure (not recorded data)."""
    base, rest = symbol.split("/")
    quote, settle = rest.split(":")
    return exchange.safe_market_structure({
        "id": market_id, "symbol": symbol, "base": base, "quote": quote, "settle": settle,
        "baseId": base, "quoteId": quote, "settleId": settle_id, "type": "swap", "swap": True,
        "spot": False, "future": False, "option": False, "contract": True, "linear": linear,
        "inverse": not linear, "contractSize": contract_size, "active": True, "info": {}})


def _offline(exchange, answer, calls: list):
    def fetch(url, method="GET", headers=None, body=None):
        calls.append({"url": url, "method": method, "body": body})
        if isinstance(answer, Exception):
            raise answer
        return answer
    exchange.fetch = fetch
    return exchange


def _binance(calls, answer=None):
    exchange = ccxt.binanceusdm({"apiKey": "test-key", "secret": "test-secret"})
    exchange.set_markets([_market(exchange, "BTC/USDT:USDT", "BTCUSDT", "USDT"),
                          _market(exchange, "ETH/USDT:USDT", "ETHUSDT", "USDT")])
    if answer is None:
        answer = _fixture("binanceusdm_fapi_v1_leverageBracket.json")
    return _offline(exchange, answer, calls)


def _rows(table: dict) -> list[tuple]:
    return [(r["floor"], r["cap"], r["mmr"], r.get("cum"), r["max_leverage"]) for r in table["tiers"]]


# --- Binance USDⓈ-M -------------------------------------------------------------------------

def test_binance_refresh_reads_brackets_and_cum_through_ccxt():
    calls: list = []
    doc = lt.refresh("binance-usdm", ["BTCUSDT", "ETH/USDT:USDT"], _binance(calls),
                     as_of="2024-10-24")
    assert len(calls) == 1
    assert "/fapi/v1/leverageBracket" in calls[0]["url"] and "signature=" in calls[0]["url"]
    assert doc["venue"] == "binance-usdm" and doc["schema"] == 1 and doc["warnings"] == []
    btc = doc["tables"]["BTCUSDT"]
    assert (btc["ccxt_symbol"], btc["product"], btc["settle"], btc["basis"]) == (
        "BTC/USDT:USDT", "linear", "USDT", "notional")
    # Binance's own maintenance amounts (info.cum), e.g. bracket 5: 12M-70M, 2%, cum 131,450, 25x.
    assert _rows(btc)[4] == (12_000_000.0, 70_000_000.0, 0.02, 131_450.0, 25.0)
    assert len(btc["tiers"]) == 12 and btc["tiers"][-1]["cap"] == 1_800_000_000.0


def test_binance_refresh_matches_the_shipped_table_from_the_same_snapshot():
    """The fixture and binance-usdm.json both come from freqtrade @ c9ae5e1e: same rows."""
    doc = lt.refresh("binance-usdm", ["BTCUSDT", "ETHUSDT"], _binance([]),
                     as_of="2024-10-24")
    shipped = load_venue_tables("binance-usdm")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        table = table_from_dict("binance-usdm", symbol, doc["tables"][symbol])
        ref = shipped[symbol]
        for field in ("floor", "cap", "mmr", "cum", "max_leverage"):
            np.testing.assert_array_equal(getattr(table, field), getattr(ref, field))


def test_binance_cum_that_breaks_the_rule_is_dropped_with_a_warning():
    answer = _fixture("binanceusdm_fapi_v1_leverageBracket.json")
    answer[0]["brackets"][2]["cum"] = "951.0"  # one maintenance amount off by 1 USDT
    doc = lt.refresh("binance-usdm", ["BTCUSDT"], _binance([], answer))
    assert any("BTCUSDT" in w and "cum rule" in w for w in doc["warnings"])
    assert all("cum" not in row for row in doc["tables"]["BTCUSDT"]["tiers"])
    table = table_from_dict("binance-usdm", "BTCUSDT", doc["tables"]["BTCUSDT"])
    assert table.cum[2] == pytest.approx(950.0)  # derived by the rule instead


def test_binance_without_keys_says_which_variables_to_set():
    calls: list = []
    exchange = ccxt.binanceusdm()
    exchange.set_markets([_market(exchange, "BTC/USDT:USDT", "BTCUSDT", "USDT")])
    _offline(exchange, _fixture("binanceusdm_fapi_v1_leverageBracket.json"), calls)
    with pytest.raises(lt.RefreshError, match="MARGINSCOPE_BINANCEUSDM_API_KEY"):
        lt.refresh("binance-usdm", ["BTCUSDT"], exchange)
    assert calls == []  # refused before any request


def test_network_failure_is_a_refresh_error():
    with pytest.raises(lt.RefreshError, match="network error"):
        lt.refresh("binance-usdm", ["BTCUSDT"], _binance([], ccxt.RequestTimeout("timed out")))


def test_unknown_venue_and_symbol_are_input_errors():
    with pytest.raises(InputError) as venue:
        lt.refresh("kraken", ["BTCUSDT"], _binance([]))
    assert venue.value.field == "venue" and "binance-usdm" in venue.value.allowed
    with pytest.raises(InputError) as symbol:
        lt.refresh("binance-usdm", ["XYZUSDT"], _binance([]))
    assert symbol.value.field == "symbol" and symbol.value.value == "XYZUSDT"


# --- Hyperliquid ----------------------------------------------------------------------------

def _hyperliquid(calls):
    return _offline(ccxt.hyperliquid(), _fixture("hyperliquid_info_meta.json"), calls)


def test_hyperliquid_refresh_reads_margin_tables_from_meta():
    calls: list = []
    doc = lt.refresh("hyperliquid", ["BTC", "ETH/USDC:USDC", "ATOM"], _hyperliquid(calls),
                     as_of="2026-11-26")
    assert len(calls) == 1 and calls[0]["method"] == "POST"
    assert json.loads(calls[0]["body"]) == {"type": "meta"}
    btc, eth, atom = (doc["tables"][c] for c in ("BTC", "ETH", "ATOM"))
    assert btc["ccxt_symbol"] == "BTC/USDC:USDC" and btc["settle"] == "USDC"
    assert [(r["floor"], r["cap"], r["max_leverage"]) for r in btc["tiers"]] == [
        (0.0, 150_000_000.0, 40.0), (150_000_000.0, math.inf, 20.0)]
    assert [(r["floor"], r["max_leverage"]) for r in eth["tiers"]] == [
        (0.0, 25.0), (100_000_000.0, 15.0)]
    # Table ids under 50 are one tier at that leverage (ATOM: id 5).
    assert [(r["floor"], r["cap"], r["max_leverage"]) for r in atom["tiers"]] == [
        (0.0, math.inf, 5.0)]
    for table in (btc, eth, atom):
        assert [r["mmr"] for r in table["tiers"]] == [
            1 / (2 * r["max_leverage"]) for r in table["tiers"]]


def test_hyperliquid_meta_agrees_with_the_shipped_docs_tables():
    doc = lt.refresh("hyperliquid", ["BTC", "ETH"], _hyperliquid([]))
    shipped = load_venue_tables("hyperliquid")
    for coin in ("BTC", "ETH"):
        table = table_from_dict("hyperliquid", coin, doc["tables"][coin])
        for field in ("floor", "cap", "mmr", "cum", "max_leverage"):
            np.testing.assert_allclose(getattr(table, field), getattr(shipped[coin], field))


def test_hyperliquid_unknown_coin_is_an_input_error():
    with pytest.raises(InputError) as error:
        lt.refresh("hyperliquid", ["NOPE"], _hyperliquid([]))
    assert error.value.field == "symbol"


# --- Gate, Bybit, BitMEX --------------------------------------------------------------------

def test_gate_refresh_builds_contiguous_tiers_and_derives_missing_deduction():
    calls: list = []
    exchange = ccxt.gate()
    exchange.set_markets([_market(exchange, "BTC/USDT:USDT", "BTC_USDT", "usdt",
                                  contract_size=0.0001)])
    _offline(exchange, _fixture("gate_futures_usdt_risk_limit_tiers_BTC_USDT.json"), calls)
    doc = lt.refresh("gate", ["BTC_USDT"], exchange)
    assert "/futures/usdt/risk_limit_tiers" in calls[0]["url"] and "BTC_USDT" in calls[0]["url"]
    gate = doc["tables"]["BTC_USDT"]
    assert gate["contract_size"] == 0.0001 and gate["basis"] == "notional"
    assert _rows(gate) == [(0.0, 1_000_000.0, 0.004, None, 125.0),
                           (1_000_000.0, 2_000_000.0, 0.008, None, 83.33)]
    assert any("no deduction" in w for w in doc["warnings"])
    table = table_from_dict("gate", "BTC_USDT", gate)
    assert table.cum[1] == pytest.approx(1_000_000 * (0.008 - 0.004))


def test_bybit_percentage_looking_rate_is_refused():
    exchange = ccxt.bybit()
    exchange.set_markets([_market(exchange, "BTC/USD:BTC", "BTCUSD", "BTC", linear=False)])
    calls: list = []
    _offline(exchange, _fixture("bybit_v5_market_risk_limit_inverse_BTCUSD.json"), calls)
    with pytest.raises(lt.RefreshError, match=r"maintenance rate 0\.5 at 100x"):
        lt.refresh("bybit", ["BTCUSD"], exchange)
    assert "/v5/market/risk-limit" in calls[0]["url"] and "category=inverse" in calls[0]["url"]


@pytest.mark.skipif(hasattr(ccxt, "bitmex"), reason="this ccxt still ships bitmex")
def test_bitmex_without_ccxt_support_is_a_clear_refresh_error():
    with pytest.raises(lt.RefreshError, match="has no exchange 'bitmex'"):
        lt.refresh("bitmex")


# --- write_tables ---------------------------------------------------------------------------

def test_write_tables_validates_merges_and_round_trips(tmp_path):
    doc = lt.refresh("binance-usdm", ["BTCUSDT"], _binance([]), as_of="2024-10-24")
    path = lt.write_tables("binance-usdm", doc, tmp_path)
    assert path == tmp_path / "binance-usdm.json"
    lt.write_tables("binance-usdm", lt.refresh("binance-usdm", ["ETHUSDT"], _binance([])), path)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["schema"] == 2 and set(written["tables"]) == {"BTCUSDT", "ETHUSDT"}
    table = table_from_dict("binance-usdm", "BTCUSDT", written["tables"]["BTCUSDT"])
    assert table.cum[4] == 131_450.0 and table.as_of == "2024-10-24"


def test_write_tables_refuses_a_table_that_breaks_the_cum_rule(tmp_path):
    doc = lt.refresh("binance-usdm", ["BTCUSDT"], _binance([]))
    doc["tables"]["BTCUSDT"]["tiers"][3]["cum"] += 5.0
    with pytest.raises(lt.RefreshError, match="cum rule"):
        lt.write_tables("binance-usdm", doc, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_default_path_is_the_shipped_file():
    path = lt.default_path("bybit")
    assert path.name == "bybit.json" and path.parent.name == "tiers" and path.is_file()


# --- CLI ------------------------------------------------------------------------------------

def _run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_cli_refresh_writes_the_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(lt, "_make_exchange", lambda ccxt_id: _hyperliquid([]))
    code, out, err = _run(["tiers", "refresh", "--venue", "hyperliquid", "--symbol", "BTC",
                           "--symbol", "ETH", "--out", str(tmp_path), "--as-of", "2026-11-26"],
                          capsys)
    assert code == 0, err
    assert "wrote BTC, ETH" in out
    written = json.loads((tmp_path / "hyperliquid.json").read_text(encoding="utf-8"))
    assert set(written["tables"]) == {"BTC", "ETH"}
    assert written["tables"]["ETH"]["as_of"] == "2026-11-26"


def test_cli_refresh_network_error_is_one_line(tmp_path, capsys, monkeypatch):
    failing = _binance([], ccxt.NetworkError("connection refused"))
    monkeypatch.setattr(lt, "_make_exchange", lambda ccxt_id: failing)
    code, _, err = _run(["tiers", "refresh", "--venue", "binance-usdm", "--symbol", "BTCUSDT",
                         "--out", str(tmp_path)], capsys)
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: binance-usdm: network error")
    assert "Traceback" not in err and not (tmp_path / "binance-usdm.json").exists()


def test_cli_refresh_unknown_venue_exits_2(capsys):
    code, _, err = _run(["tiers", "refresh", "--venue", "ftx"], capsys)
    assert code == 2 and err.startswith("error: venue: got 'ftx'")
