"""Tables by date: a calculation dated ``as_of`` uses the table in force then, and published
examples from earlier years reproduce with ``as_of`` alone, no overrides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marginscope import risk
from marginscope.calculators import REGISTRY
from marginscope.errors import InputError
from marginscope.risk.terms import resolve
from marginscope.risk.tiers import find_table, load_venue_history

VECTORS = {
    v["id"]: v
    for v in json.loads((Path(__file__).parents[1] / "data" / "venue_vectors.json").read_text())
}
HYPERLIQUID_2024 = [
    v
    for v in VECTORS.values()
    if v["venue"] == "hyperliquid"
    and v["inputs"]["symbol"].split("/")[0] in ("BTC", "ETH", "SOL", "DOGE")
]


def _hyperliquid(v: dict, **terms) -> float:
    i = v["inputs"]
    return float(
        risk.liquidation_price(
            "hyperliquid",
            i["side"],
            i["size"],
            i["entry_price"],
            margin=i["isolated_margin_or_account_value"],
            symbol=i["symbol"],
            **terms,
        )
    )


@pytest.mark.parametrize("v", HYPERLIQUID_2024, ids=[v["id"] for v in HYPERLIQUID_2024])
def test_hyperliquid_2024_outputs_reproduce_with_as_of_alone(v):
    # Hyperliquid's own liquidation prices of October 2024 (BTC/ETH 50x, SOL/DOGE 20x then)
    expected, tol = v["expected"]["liquidation_price"], v["tolerance"]["rel"]
    assert _hyperliquid(v, as_of="2024-10-15") == pytest.approx(expected, rel=tol)


def test_hyperliquid_todays_tables_do_not_give_the_2024_outputs():
    # BTC 40x and ETH 25x today: the latest tables miss the 2024 BTC/ETH answers
    btc_eth = [v for v in HYPERLIQUID_2024 if v["inputs"]["symbol"][:3] in ("BTC", "ETH")]
    misses = [
        v["id"]
        for v in btc_eth
        if not np.isclose(
            _hyperliquid(v), v["expected"]["liquidation_price"], rtol=v["tolerance"]["rel"]
        )
    ]
    assert len(misses) == len(btc_eth)


def test_binance_faq_historical_brackets_with_as_of():
    # Binance USDⓈ-M FAQ: a 264,000 USDT position is in the 1 % bracket, and the bracket from
    # 250,000 has maintenance amount 1,300 — true of BTCUSDT's table until 2024, not since.
    lookup = VECTORS["binance-um-bracket-lookup-264000-faq"]
    amount = VECTORS["binance-um-bracket-lookup-500000-faq"]
    for day in ("2021-03-18", "2022-06-01", "2024-10-23"):
        table = find_table("binance-usdm", "BTCUSDT", as_of=day)
        tier = table.tier_index(lookup["inputs"]["notional"])
        assert table.mmr[tier] == pytest.approx(lookup["expected"]["mmr"])
        tier = table.tier_index(amount["inputs"]["notional"])
        assert table.cum[tier] == pytest.approx(amount["expected"]["cum"])
    latest = find_table("binance-usdm", "BTCUSDT")
    assert latest.mmr[latest.tier_index(264_000)] == 0.005  # 50,000–600,000 at 0.5 % in 2024


def test_the_table_in_force_is_the_latest_dated_on_or_before_as_of():
    dates = [t.as_of for t in load_venue_history("binance-usdm")["BTCUSDT"]]
    assert dates == ["2021-03-18", "2022-05-21", "2024-10-24"]
    for day, expected in (
        ("2021-03-18", "2021-03-18"),
        ("2022-05-20", "2021-03-18"),
        ("2022-05-21", "2022-05-21"),
        ("2024-10-23", "2022-05-21"),
        ("2024-10-24", "2024-10-24"),
        ("2030-01-01", "2024-10-24"),
    ):
        assert find_table("binance-usdm", "BTC/USDT:USDT", as_of=day).as_of == expected
    assert resolve("binance-usdm", symbol="BTCUSDT").lookup.tables[0].as_of == "2024-10-24"


@pytest.mark.parametrize(
    ("as_of", "allowed"),
    [
        ("2021-03-17", "2021-03-18 or later"),
        ("2021-02-30", "YYYY-MM-DD"),
        ("yesterday", "YYYY-MM-DD"),
    ],
)
def test_a_date_without_a_shipped_table_is_an_error_naming_as_of(as_of, allowed):
    with pytest.raises(InputError) as error:
        resolve("binance-usdm", symbol="BTCUSDT", as_of=as_of)
    assert error.value.field == "as_of" and allowed in error.value.allowed


def test_the_answer_names_the_tables_date_and_source():
    example = {
        **REGISTRY["liquidation"].example,
        "as_of": "2022-06-01",
        "qty": 4,
        "entry_price": 66_000,
    }
    answer = REGISTRY["liquidation"].run(example)
    assert answer["table_as_of"] == "2022-05-21"
    assert "97abcf4b320d9ee514f99392e52187b155437a61" in answer["table_source"]
    assert answer["mmr_at_entry"] == 0.01 and answer["maintenance_amount_at_entry"] == 1300
    overridden = REGISTRY["liquidation"].run({**example, "mmr": 0.01})
    assert overridden["table_as_of"] is None and overridden["table_source"] is None


def test_every_vintage_of_a_symbol_is_the_same_instrument():
    for venue in ("binance-usdm", "hyperliquid"):
        for symbol, vintages in load_venue_history(venue).items():
            assert len({(t.ccxt_symbol, t.product, t.settle) for t in vintages}) == 1, symbol
            assert len({t.as_of for t in vintages}) == len(vintages)
