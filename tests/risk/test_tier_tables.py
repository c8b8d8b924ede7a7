"""The shipped tier tables: format, the properties every venue's table must have, values copied
from the cited sources, and ``marginscope tiers list/show``."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from importlib import resources

import numpy as np
import pytest

from marginscope import risk
from marginscope.calculators import REGISTRY
from marginscope.cli import main
from marginscope.errors import InputError
from marginscope.market.leverage_tiers import VENUES
from marginscope.risk.tiers import (
    cum_from_rule,
    find_table,
    load_venue_history,
    load_venue_tables,
)

DATA = resources.files("marginscope.risk") / "data" / "tiers"


def _documents() -> dict[str, dict]:
    return {venue: json.loads((DATA / f"{venue}.json").read_text(encoding="utf-8"))
            for venue in VENUES}


def _tables():
    """Every shipped vintage of every table."""
    return [(venue, symbol, table) for venue in VENUES
            for symbol, vintages in load_venue_history(venue).items() for table in vintages]


def _raw(venue: str, symbol: str, as_of: str) -> dict:
    """The file's own entry for one vintage (an entry is one table or a list of vintages)."""
    entry = _documents()[venue]["tables"][symbol]
    return next(t for t in (entry if isinstance(entry, list) else [entry]) if t["as_of"] == as_of)


TABLES = _tables()
IDS = [f"{venue}:{symbol}@{table.as_of}" for venue, symbol, table in TABLES]


def test_every_venue_has_a_schema_2_file_and_nothing_else_ships():
    shipped = {path.name for path in DATA.iterdir() if path.name.endswith(".json")}
    assert shipped == {f"{venue}.json" for venue in VENUES}
    for venue, document in _documents().items():
        assert document["venue"] == venue and document["schema"] == 2
        # A venue without tables says why (docs/tiers.md lists the gaps).
        assert document["tables"] or len(document.get("note", "")) > 40


def test_the_expected_tables_ship():
    assert {(v, s) for v, s, _ in TABLES} >= {
        ("binance-usdm", "BTCUSDT"), ("binance-usdm", "ETHUSDT"), ("binance-usdm", "SOLUSDT"),
        ("binance-usdm", "DOGEUSDT"), ("bybit", "BTCUSDT"), ("bybit", "ETHUSDT"), ("hyperliquid", "BTC"),
        ("hyperliquid", "ETH"), ("hyperliquid", "SOL"), ("hyperliquid", "DOGE")}


@pytest.mark.parametrize(("venue", "symbol", "table"), TABLES, ids=IDS)
def test_metadata(venue, symbol, table):
    assert date.fromisoformat(table.as_of) <= date.today()
    assert len(table.source) > 40 and (re.search(r"[0-9a-f]{40}", table.source)
                                       or "http" in table.source)
    assert table.basis in ("notional", "quantity") and table.contract_size > 0
    base, rest = table.ccxt_symbol.split("/")
    quote, settle = rest.split(":")
    settle = settle.split("-")[0]  # dated futures: "BTC/USD:BTC-210625"
    assert settle == table.settle
    assert settle == (base if table.product == "inverse" else quote)


@pytest.mark.parametrize(("venue", "symbol", "table"), TABLES, ids=IDS)
def test_bounds_sorted_and_contiguous(venue, symbol, table):
    assert table.floor[0] == 0
    assert np.all(table.cap > table.floor)
    np.testing.assert_array_equal(table.cap[:-1], table.floor[1:])


@pytest.mark.parametrize(("venue", "symbol", "table"), TABLES, ids=IDS)
def test_rates_rise_and_leverage_falls_with_size(venue, symbol, table):
    assert np.all(np.diff(table.mmr) > 0)
    assert np.all(np.diff(table.max_leverage) < 0)
    # A position at the tier's max leverage starts above maintenance: MMR < 1/L.
    assert np.all(table.mmr < 1 / table.max_leverage)


CONTINUOUS = [(v, s, t) for v, s, t in TABLES if t.continuous]
NO_DEDUCTION = [(v, s, t) for v, s, t in TABLES if not t.continuous]
CONTINUOUS_IDS = [f"{v}:{s}@{t.as_of}" for v, s, t in CONTINUOUS]


@pytest.mark.parametrize(("venue", "symbol", "table"), CONTINUOUS, ids=CONTINUOUS_IDS)
def test_published_cum_follows_the_rule_and_mm_is_continuous(venue, symbol, table):
    raw = _raw(venue, symbol, table.as_of)["tiers"]
    rule = cum_from_rule(table.floor, table.mmr)
    published = [row["cum"] for row in raw if "cum" in row]
    if published:  # the file's own numbers, not the loader's derivation
        assert len(published) == len(raw)
        np.testing.assert_allclose(published, rule, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(table.cum, rule, rtol=1e-12, atol=1e-6)
    inner = table.floor[1:]
    below = table.mmr[:-1] * inner - table.cum[:-1]
    np.testing.assert_allclose(table.maintenance_margin(inner), below, rtol=1e-12)


@pytest.mark.parametrize("coin", ["BTC", "ETH", "SOL", "DOGE"])
def test_hyperliquid_mmr_is_half_the_initial_rate_at_max_leverage(coin):
    table = load_venue_tables("hyperliquid")[coin]
    np.testing.assert_allclose(table.mmr, 1 / (2 * table.max_leverage), rtol=1e-15)
    assert math.isinf(table.cap[-1])


# --- values copied from the sources ---------------------------------------------------------

def test_binance_usdm_rows_from_freqtrade_snapshot():
    tables = load_venue_tables("binance-usdm")
    btc, sol, doge = tables["BTCUSDT"], tables["SOLUSDT"], tables["DOGEUSDT"]
    assert len(btc.floor) == 12 and btc.cap[-1] == 1_800_000_000
    assert (btc.floor[4], btc.cap[4], btc.mmr[4], btc.cum[4], btc.max_leverage[4]) == (
        12_000_000, 70_000_000, 0.02, 131_450, 25)
    assert (sol.floor[1], sol.cap[1], sol.mmr[1], sol.cum[1], sol.max_leverage[1]) == (
        20_000, 100_000, 0.0065, 30, 75)
    assert (doge.floor[-1], doge.cap[-1], doge.mmr[-1], doge.cum[-1], doge.max_leverage[-1]) == (
        40_000_000, 80_000_000, 0.5, 13_351_670, 1)
    # exchange_formulas.md §1.8: at 20x the largest allowed BTCUSDT notional is 100,000,000.
    assert btc.max_size_at_leverage(20.0) == 100_000_000


def test_bybit_btcusdt_rows_from_the_margin_parameters_page():
    table = load_venue_tables("bybit")["BTCUSDT"]
    assert len(table.floor) == 20
    assert (table.cap[0], table.mmr[0], table.cum[0], table.max_leverage[0]) == (
        2_000_000, 0.005, 0, 100)
    assert (table.floor[7], table.cap[7], table.cum[7], table.max_leverage[7]) == (
        5_600_000, 8_500_000, 20_500, 50)
    assert table.mmr[7] == pytest.approx(0.01)
    assert (table.cap[-1], table.cum[-1], table.max_leverage[-1]) == (80_000_000, 1_482_000, 14)


def test_bybit_ethusdt_rows_from_the_cached_risk_limit_answer():
    # erikubingf-del/tradingtest:user_data/data/bybit/futures/leverage_tiers_USDT.json @ 30f37205…
    # ('updated' 2025-12-29), key ETH/USDT:USDT: Bybit risk-limit ids 11-45.
    table = load_venue_tables("bybit")["ETHUSDT"]
    assert table.as_of == "2025-12-29" and table.basis == "notional" and table.product == "linear"
    assert len(table.floor) == 35
    # id 11: riskLimitValue 900000, maintenanceMargin 0.005, maxLeverage 100, mmDeduction "".
    assert (table.floor[0], table.cap[0], table.mmr[0], table.cum[0], table.max_leverage[0]) == (
        0, 900_000, 0.005, 0, 100)
    # id 18: 5000000, 0.01, 50.00, mmDeduction 12220.
    assert (table.floor[7], table.cap[7], table.mmr[7], table.cum[7], table.max_leverage[7]) == (
        4_000_000, 5_000_000, 0.01, 12_220, 50)
    # id 23: 28000000, 0.02, 25.00, 168220.
    assert (table.floor[12], table.cap[12], table.mmr[12], table.cum[12], table.max_leverage[12]) == (
        22_000_000, 28_000_000, 0.02, 168_220, 25)
    # ids 43-45: maxLeverage 1.43 / 1.28 / 1.00; the last tier ends at 1,000,000,000 (0.6, 138018220).
    assert list(table.max_leverage[-3:]) == [1.43, 1.28, 1.0]
    assert (table.floor[-1], table.cap[-1], table.mmr[-1], table.cum[-1]) == (
        600_000_000, 1_000_000_000, 0.6, 138_018_220)
    # The answer gives ETHUSDT the BTCUSDT rate/leverage ladder for tiers 1-8 on smaller bounds.
    btc = load_venue_tables("bybit")["BTCUSDT"]
    np.testing.assert_array_equal(table.mmr[:8], btc.mmr[:8])
    np.testing.assert_array_equal(table.max_leverage[:8], btc.max_leverage[:8])
    assert np.all(table.cap[:7] < btc.cap[:7])
    # Bybit's deduction keeps MM continuous: 1.2M USDT is 6,180 USDT from either side.
    assert table.maintenance_margin(1_200_000.0) == pytest.approx(1_200_000 * 0.0063 - 1_380)
    assert table.maintenance_margin(1_200_000.0) == pytest.approx(1_200_000 * 0.0056 - 540)
    assert find_table("bybit", "ETH/USDT:USDT").symbol == "ETHUSDT"


def test_hyperliquid_tiers_from_the_docs():
    tables = load_venue_tables("hyperliquid")
    expected = {"BTC": (150e6, 40, 20), "ETH": (100e6, 25, 15), "SOL": (70e6, 20, 10),
                "DOGE": (20e6, 10, 5)}
    for coin, (bound, low, high) in expected.items():
        table = tables[coin]
        assert list(table.floor) == [0, bound] and list(table.max_leverage) == [low, high]
    # Deduction by the rule: BTC above 150M, 150M·(2.5% − 1.25%).
    assert tables["BTC"].cum[1] == pytest.approx(1_875_000)


@pytest.mark.parametrize(("venue", "symbol", "table"), NO_DEDUCTION,
                         ids=[f"{v}:{s}" for v, s, _ in NO_DEDUCTION])
def test_tables_without_deduction_jump_at_every_boundary(venue, symbol, table):
    # OKX and BitMEX charge the tier's rate on the whole position: no cum, MM jumps up.
    raw = _raw(venue, symbol, table.as_of)
    assert raw["deduction"] is False and all("cum" not in row for row in raw["tiers"])
    assert np.all(table.cum == 0)
    inner = table.floor[1:]
    np.testing.assert_allclose(table.maintenance_margin(inner), inner * table.mmr[1:], rtol=1e-12)
    assert np.all(table.maintenance_margin(inner) > inner * table.mmr[:-1])


def test_the_tables_found_for_the_other_venues_ship():
    assert {(v, s) for v, s, _ in TABLES} >= {
        ("okx", "BTC-USDT-SWAP"), ("okx", "ETH-USDT-SWAP"), ("binance-coinm", "BTCUSD_210625"),
        ("binance-coinm", "ETHUSD_210625"), ("binance-coinm", "BTCUSD_PERP"), ("bitmex", "XBTUSD")}
    assert not load_venue_tables("gate")  # nothing citable found (see the file's note)


def test_okx_rows_from_the_position_tiers_answer_in_base_units():
    tables = load_venue_tables("okx")
    btc, eth = tables["BTC-USDT-SWAP"], tables["ETH-USDT-SWAP"]
    assert len(btc.floor) == len(eth.floor) == 99
    assert btc.basis == eth.basis == "quantity" and btc.contract_size == 1.0
    # OKX tier 1: maxSz 1,000 contracts (ctVal 0.01 BTC) = 10 BTC, mmr 0.4%, maxLever 100.
    assert (btc.cap[0], btc.mmr[0], btc.max_leverage[0]) == (10, 0.004, 100)
    # tier 13: minSz 200,000.01, maxSz 220,000 contracts, mmr 5.75%, maxLever 14.28.
    assert (btc.floor[12], btc.cap[12], btc.max_leverage[12]) == (2_000, 2_200, 14.28)
    assert btc.mmr[12] == pytest.approx(0.0575)
    # tier 99: maxSz 1,940,000 contracts = 19,400 BTC, mmr 48.75%, maxLever 2.
    assert (btc.cap[-1], btc.max_leverage[-1]) == (19_400, 2)
    assert btc.mmr[-1] == pytest.approx(0.4875)
    # ETH-USDT (ctVal 0.1 ETH): tier 1 maxSz 5,000 contracts = 500 ETH; tier 99 2,425,000.
    assert (eth.cap[0], eth.mmr[0], eth.cap[-1]) == (500, 0.004, 242_500)
    # No deduction: 15 BTC (tier 2) is charged 0.5% on all of it.
    assert btc.maintenance_margin(15.0) == pytest.approx(15 * 0.005)
    assert find_table("okx", "BTC/USDT:USDT").symbol == "BTC-USDT-SWAP"


def test_binance_coinm_brackets_reproduce_the_2021_liquidation_faq():
    btc = load_venue_tables("binance-coinm")["BTCUSD_210625"]
    assert btc.product == "inverse" and btc.contract_size == 100 and btc.basis == "notional"
    # FAQ (2021 version): a 300 BTC BTCUSD position has MMR 12.5% and maintenance amount 11.81 BTC;
    # level 5 amount = 50 BTC x (5% - 2.5%) + 0.56 BTC = 1.81 BTC.
    tier = btc.tier_index(300.0)
    assert btc.mmr[tier] == 0.125
    assert btc.cum[tier] == pytest.approx(11.81, abs=1e-12)
    assert btc.cum[3] == pytest.approx(0.56, abs=1e-12)
    assert (btc.floor[4], btc.cum[4]) == (50, pytest.approx(1.81, abs=1e-12))
    # FAQ: 100 BTCUSD contracts at mark 25,000 = 0.4 BTC notional, level 1, MM 0.0016 BTC.
    assert btc.maintenance_margin(100 * 100 / 25_000) == pytest.approx(0.0016, abs=1e-15)
    eth = load_venue_tables("binance-coinm")["ETHUSD_210625"]
    assert (eth.cap[0], eth.mmr[1], eth.cap[-1], eth.contract_size) == (100, 0.0065, 15_000, 10)


def test_binance_coinm_btcusd_perp_brackets_from_ccxt_fixture_and_binance_faq():
    table = load_venue_tables("binance-coinm")["BTCUSD_PERP"]
    assert (table.product, table.contract_size, table.basis, table.as_of) == (
        "inverse", 100, "notional", "2023-08-01")
    assert find_table("binance-coinm", "BTC/USD:BTC") is table
    # ccxt fixture, options.leverageBrackets["BTC/USD:BTC"]: [qtyFloor, maintMarginRatio] pairs.
    assert list(table.floor) == [0, 5, 10, 20, 50, 100, 200, 400, 1_000, 1_500]
    np.testing.assert_array_equal(
        table.mmr, [0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5])
    # Binance FAQ "Leverage and Margin in Coin-Margined Futures Contracts", BTCUSD Perpetual:
    # 125x up to 5 BTC, 100x 10, 50x 20, 20x 50, 10x 100, 5x 200, 4x 400, 3x 1,000, 2x 1,500, 1x.
    assert list(table.max_leverage) == [125, 100, 50, 20, 10, 5, 4, 3, 2, 1]
    assert list(table.cap[:-1]) == [5, 10, 20, 50, 100, 200, 400, 1_000, 1_500]
    assert math.isinf(table.cap[-1])  # the 1x row's bound is cut off in the stored copies
    assert _raw("binance-coinm", "BTCUSD_PERP", "2023-08-01")["tiers"][-1]["cap"] is None


def test_binance_coinm_btcusd_perp_reproduces_the_current_liquidation_faq():
    table = load_venue_tables("binance-coinm")["BTCUSD_PERP"]
    # FAQ (current version): a 300 BTC BTCUSD position has MMR 12.5% and maintenance amount
    # 11.605 BTC (the 2021 version's 11.81 BTC belongs to the Quarterly 0625 brackets above).
    tier = table.tier_index(300.0)
    assert table.mmr[tier] == 0.125
    assert table.cum[tier] == pytest.approx(11.605, abs=1e-12)
    assert table.maintenance_margin(300.0) == pytest.approx(300 * 0.125 - 11.605, abs=1e-12)
    # FAQ: 100 BTCUSD contracts at mark 25,000 = 0.4 BTC notional, level 1, MM 0.0016 BTC.
    assert table.tier_index(0.4) == 0
    assert table.maintenance_margin(100 * 100 / 25_000) == pytest.approx(0.0016, abs=1e-15)


def _coinm_isolated_long(contracts: float, entry: float, leverage: float, tier: int) -> float:
    """Binance COIN-M liquidation FAQ formula, one-way isolated long (TMM = UPNL = 0), with the
    tier's MMR and maintenance amount: LP = (Q·CS·MMR + Q·CS) / (WB + cum + Q·CS/EP)."""
    table = load_venue_tables("binance-coinm")["BTCUSD_PERP"]
    usd = contracts * 100
    wallet = usd / entry / leverage
    return (usd * table.mmr[tier] + usd) / (wallet + table.cum[tier] + usd / entry)


def test_binance_coinm_btcusd_perp_prices_without_an_override(capsys):
    # 100 contracts at 50,000, 10x: 0.2 BTC, tier 1 at entry and at the liquidation price.
    expected = _coinm_isolated_long(100, 50_000, 10, tier=0)
    assert expected == pytest.approx(10_040 / 0.22)
    price = risk.liquidation_price("binance-coinm", "long", 100, 50_000, leverage=10,
                                   symbol="BTCUSD_PERP")
    assert float(price) == pytest.approx(expected, rel=1e-12)
    # 150,000 contracts (300 BTC, tier 7) at 2x: at the liquidation price the position is
    # worth about 410 BTC, so the tier that prices it is tier 8 (400-1,000 BTC, 15%).
    deep = _coinm_isolated_long(150_000, 50_000, 2, tier=7)
    assert 400 < 150_000 * 100 / deep < 1_000
    assert float(risk.liquidation_price("binance-coinm", "long", 150_000, 50_000, leverage=2,
                                        symbol="BTCUSD_PERP")) == pytest.approx(deep, rel=1e-12)
    # The calculator (API and CLI) names the table it used.
    request = {"venue": "binance-coinm", "symbol": "BTCUSD_PERP", "side": "long", "qty": 100,
               "entry_price": 50_000, "leverage": 10}
    answer = REGISTRY["liquidation"].run(request)
    assert answer["liquidation_price"] == pytest.approx(expected, rel=1e-12)
    assert answer["product"] == "inverse" and answer["table_as_of"] == "2023-08-01"
    assert answer["mmr_at_entry"] == 0.004
    code, out, _ = _run(["calc", "liquidation", "--venue", "binance-coinm", "--symbol",
                         "BTCUSD_PERP", "--side", "long", "--qty", "100", "--entry-price",
                         "50000", "--leverage", "10", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["liquidation_price"] == pytest.approx(expected, rel=1e-12)


def test_binance_coinm_perpetual_gaps_stay_errors():
    # Before the table's date, and ETHUSD_PERP (no brackets found): errors, never a guess.
    with pytest.raises(InputError) as error:
        risk.liquidation_price("binance-coinm", "long", 100, 50_000, leverage=10,
                               symbol="BTCUSD_PERP", as_of="2023-07-31")
    assert error.value.field == "as_of"
    with pytest.raises(InputError) as error:
        risk.liquidation_price("binance-coinm", "long", 100, 2_000, leverage=10,
                               symbol="ETHUSD_PERP")
    assert error.value.field == "symbol"


def test_bitmex_xbtusd_steps_from_the_risk_limits_page():
    table = load_venue_tables("bitmex")["XBTUSD"]
    assert list(table.cap) == [200, 350, 500, 650]
    np.testing.assert_allclose(table.mmr, [0.005, 0.01, 0.015, 0.02])
    np.testing.assert_allclose(1 / table.max_leverage, [0.01, 0.015, 0.02, 0.025])
    # Page example: a 180 XBT position needs 0.90 XBT maintenance margin (0.50%) …
    assert table.maintenance_margin(180.0) == pytest.approx(0.90)
    # … and at 230 XBT it moves to the next step: 1.00% maintenance, 1.50% initial.
    step = table.tier_index(230.0)
    assert table.mmr[step] == 0.01 and 1 / table.max_leverage[step] == pytest.approx(0.015)
    assert find_table("bitmex", "BTC/USD:BTC").symbol == "XBTUSD"


def test_symbols_resolve_in_both_notations():
    assert find_table("binance-usdm", "SOL/USDT:USDT").symbol == "SOLUSDT"
    assert find_table("hyperliquid", "ETH/USDC:USDC").symbol == "ETH"
    assert find_table("bybit", "BTC/USDT:USDT").symbol == "BTCUSDT"


# --- CLI: list and show ---------------------------------------------------------------------

def _run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_cli_list_json_names_every_table_with_its_source(capsys):
    code, out, _ = _run(["tiers", "list", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {r["venue"] for r in rows} == set(VENUES)
    listed = {(r["venue"], r["symbol"]) for r in rows if r["symbol"]}
    assert listed == {(v, s) for v, s, _ in TABLES}
    assert all(r["source"] and r["as_of"] for r in rows if r["symbol"])


def test_cli_list_table(capsys):
    code, out, _ = _run(["tiers", "list", "--venue", "bybit"], capsys)
    assert code == 0 and "BTCUSDT" in out and "bybit" in out and "binance-usdm" not in out


def test_cli_show_json(capsys):
    code, out, _ = _run(["tiers", "show", "--venue", "binance-usdm", "--symbol",
                         "BTC/USDT:USDT", "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["symbol"] == "BTCUSDT" and len(shown["tiers"]) == 12
    assert shown["tiers"][4]["cum"] == 131_450


def test_cli_show_open_top_tier_is_null_in_json(capsys):
    code, out, _ = _run(["tiers", "show", "--venue", "hyperliquid", "--symbol", "BTC",
                         "--json"], capsys)
    assert code == 0 and json.loads(out)["tiers"][-1]["cap"] is None


def test_cli_show_table(capsys):
    code, out, _ = _run(["tiers", "show", "--venue", "bybit", "--symbol", "BTCUSDT"], capsys)
    assert code == 0 and "1,482,000" in out and "80,000,000" in out


@pytest.mark.parametrize(("argv", "field"), [
    (["--venue", "nope", "--symbol", "BTCUSDT"], "venue"),
    (["--venue", "binance-usdm", "--symbol", "NOPEUSDT"], "symbol"),
    (["--venue", "okx", "--symbol", "BTC-USD-SWAP"], "symbol"),  # inverse swap: not shipped
])
def test_cli_show_bad_input_is_one_line_exit_2(argv, field, capsys):
    code, out, err = _run(["tiers", "show", *argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {field}: got ") and err.count("\n") == 1
