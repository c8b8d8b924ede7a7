"""EnginePosition: the scenario functions' margin model is the risk engine, venue by venue.

Two kinds of check: the adapter gives the engine's own public answers (liquidation price,
maintenance margin, margin ratio, warning price, funding) on every venue kind — tiered linear,
entry-basis, fee-in-condition, inverse, Hyperliquid — and it reproduces published worked
examples (venue_vectors.json) when built the way a trader would.
"""

from __future__ import annotations

import numpy as np
import pytest

from marginscope import risk
from marginscope.errors import InputError
from marginscope.risk.funding import funding_payment
from marginscope.risk.margin import margin_call
from marginscope.scenarios import EnginePosition, MarginModel

# (venue, engine keyword arguments, side, qty, entry, leverage): one row per rule kind
CASES = [
    # Binance USDⓈ-M tiers: bracket 1 (the November position), bracket 2, bracket 4
    ("binance-usdm", {"symbol": "BTCUSDT"}, "long", 0.1, 109_557.2, 10),
    ("binance-usdm", {"symbol": "BTCUSDT"}, "short", 2.0, 90_000.0, 20),
    ("binance-usdm", {"symbol": "BTCUSDT"}, "long", 60.0, 90_000.0, 10),
    ("binance-usdm", {"symbol": "ETHUSDT"}, "short", 300.0, 3_000.0, 5),
    # Bybit USDT: MM on the entry value, tier table
    ("bybit", {"symbol": "BTCUSDT"}, "long", 3.0, 90_000.0, 25),
    # OKX and Gate: the fee to close counts
    ("okx", {"mmr": 0.004, "taker_fee": 0.0005}, "long", 1.0, 90_000.0, 20),
    ("gate", {"mmr": 0.005}, "short", 1.0, 90_000.0, 20),
    # inverse: Binance COIN-M (100 USD contracts), BitMEX (entry basis)
    ("binance-coinm", {"mmr": 0.004, "contract_size": 100.0}, "long", 100.0, 90_000.0, 10),
    ("bitmex", {"mmr": 0.0035, "product": "inverse"}, "short", 20_000.0, 90_000.0, 25),
    # Hyperliquid: MMR = 1/(2·max leverage) of the tier
    ("hyperliquid", {"symbol": "BTC"}, "long", 0.5, 90_000.0, 10),
]
ENGINE_ONLY = ("symbol", "mmr", "contract_size", "taker_fee", "product")


def open_case(venue, extra, side, qty, entry, leverage):
    return EnginePosition.open(venue=venue, side=side, qty=qty, entry=entry, leverage=leverage,
                               **extra)


def engine_call(venue, extra, side, qty, entry, mark, margin, **kwargs):
    """The engine's public margin-call answer for the same position (no adapter involved)."""
    args = {k: v for k, v in extra.items() if k in ENGINE_ONLY and k != "product"}
    return margin_call(venue, side, qty, entry, mark, margin=margin, **args, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES])
def test_the_adapter_gives_the_engines_liquidation_price_and_margin_at_every_price(case):
    venue, extra, side, qty, entry, leverage = case
    pos = open_case(*case)
    assert isinstance(pos, MarginModel)
    expected_lp = risk.liquidation_price(venue, side, qty, entry, leverage=leverage, **extra)
    assert float(pos.liquidation_price()) == pytest.approx(float(expected_lp), rel=1e-12)
    s = pos.side
    for move in (-0.3, -0.1, -0.02, 0.0, 0.05, 0.2):  # adverse to favourable
        mark = entry * (1.0 - s * move) if move else entry
        engine = engine_call(venue, extra, side, qty, entry, mark, pos.margin)
        assert float(pos.equity(mark)) == pytest.approx(float(engine["margin_balance"]),
                                                        rel=1e-12)
        assert float(pos.maintenance_margin(mark)) == pytest.approx(
            float(engine["maintenance_margin"]), rel=1e-12)
    for ratio in (0.5, 0.8):
        engine = engine_call(venue, extra, side, qty, entry, entry, pos.margin,
                             warning_ratio=ratio)
        np.testing.assert_allclose(pos.price_at_margin_ratio(ratio), engine["warning_price"],
                                   rtol=1e-12)
    assert float(pos.funding_payment(entry, 0.0001)) == pytest.approx(float(funding_payment(
        side, qty, entry, 0.0001, product=pos.product,
        contract_size=float(pos.terms.contract_size))))


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES])
def test_equity_meets_the_requirement_at_the_liquidation_price(case):
    # The liquidation condition of every venue (exchange_formulas.md §0): margin balance =
    # maintenance requirement, with the tier of the value at that price.
    pos = open_case(*case)
    lp = float(pos.liquidation_price())
    assert float(pos.equity(lp)) == pytest.approx(float(pos.maintenance_margin(lp)),
                                                  rel=1e-9, abs=1e-9 * pos.margin)
    assert (lp < pos.entry) if pos.side > 0 else (lp > pos.entry)
    assert float(pos.margin_ratio(lp)) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize(("venue", "kwargs", "expected"), [
    # Bybit "Liquidation Price (USDT Contract)": 1 BTC long @ 20,000, 50x, MMR 0.5% → 19,700
    ("bybit", {"side": "long", "qty": 1, "entry": 20_000, "leverage": 50, "mmr": 0.005}, 19_700.0),
    # Bybit: 1 BTC short @ 8,000, 40x, MMR 0.5% → 8,160
    ("bybit", {"side": "short", "qty": 1, "entry": 8_000, "leverage": 40, "mmr": 0.005}, 8_160.0),
    # OKX, fee to close in the condition (freqtrade test_get_liquidation_price)
    ("okx", {"side": "long", "qty": 1.0, "entry": 10.0, "margin": 10 / 3, "mmr": 0.01,
             "taker_fee": 0.0006}, 6.738090425173506),
    # Hyperliquid BTC long, 5x, max leverage 50 (freqtrade test_hyperliquid_dry_run…)
    ("hyperliquid", {"side": "long", "qty": 0.0015, "entry": 66_930.0, "margin": 20.043862,
                     "max_leverage": 50}, 54_108.51043771),
    # Binance USDⓈ-M isolated ETHUSDT, bracket MMR 10%, cum 135,365 (freqtrade test_binance)
    ("binance-usdm", {"side": "long", "qty": 3683.979, "entry": 1456.84, "margin": 1535443.01,
                      "mmr": 0.1, "maintenance_amount": 135_365.0}, 1114.78),
])
def test_published_liquidation_prices_through_the_adapter(venue, kwargs, expected):
    pos = EnginePosition.open(venue=venue, **kwargs)
    assert float(pos.liquidation_price()) == pytest.approx(expected, abs=0.005)


def test_the_bracket_follows_the_price():
    # 6 BTC long at 90,000 = 540,000 USDT: bracket 2 (MMR 0.5%, cum 50) at entry; after a 20%
    # rise the notional 648,000 is in bracket 3 (MMR 0.65%, cum 950) — Binance BTCUSDT table.
    pos = EnginePosition.open(symbol="BTCUSDT", side="long", qty=6.0, entry=90_000.0,
                              leverage=10)
    assert float(pos.maintenance_margin(90_000.0)) == pytest.approx(540_000 * 0.005 - 50)
    assert float(pos.maintenance_margin(108_000.0)) == pytest.approx(648_000 * 0.0065 - 950)


def test_a_fully_collateralized_long_has_no_liquidation_price():
    # Binance FAQ edge case (§1.6): a 1x long with cum = 0 gives LP ≤ 0, shown as "--".
    assert np.isnan(EnginePosition.open(venue="generic", mmr=0.004, side="long", qty=1.0,
                                        entry=100.0, leverage=1).liquidation_price())


def test_adding_margin_moves_the_liquidation_price_away_and_vectorizes_over_margin():
    common = dict(symbol="BTCUSDT", qty=1.0, entry=90_000.0, leverage=10)
    long = EnginePosition.open(side="long", **common)
    short = EnginePosition.open(side="short", **common)
    assert long.add_margin(500).liquidation_price() < long.liquidation_price()
    assert short.add_margin(500).liquidation_price() > short.liquidation_price()
    margins = np.array([9_000.0, 12_000.0, 20_000.0])
    np.testing.assert_allclose(long.liquidation_price(margins),
                               [float(long.add_margin(m - 9_000.0).liquidation_price())
                                for m in margins], rtol=1e-13)


def test_a_cut_keeps_equity_and_lowers_exposure():
    pos = EnginePosition.open(venue="generic", mmr=0.004, side="long", qty=2.0, entry=100.0,
                              leverage=10)
    cut = pos.reduce(0.25, 97.0)
    assert cut.qty == pytest.approx(1.5)
    assert float(cut.equity(97.0)) == pytest.approx(float(pos.equity(97.0)))
    assert cut.liquidation_price() < pos.liquidation_price()


def test_an_inverse_position_is_margined_and_paid_in_coin():
    # 100 BTCUSD contracts of 100 USD at 90,000: 0.1111 BTC notional, 10x → 0.01111 BTC margin
    pos = EnginePosition.open(venue="binance-coinm", mmr=0.004, contract_size=100.0,
                              side="long", qty=100, entry=90_000.0, leverage=10)
    assert pos.margin == pytest.approx(10_000 / 90_000 / 10)
    # funding s·Q·CS/P·F in coin; P&L Q·CS·(1/E − 1/P)
    assert float(pos.funding_payment(100_000.0, 0.0001)) == pytest.approx(0.1 * 0.0001)
    assert float(pos.equity(100_000.0)) == pytest.approx(pos.margin + 10_000 * (1 / 90_000
                                                                                 - 1 / 100_000))


def test_it_serializes():
    d = EnginePosition.open(symbol="BTCUSDT", side="short", qty=0.1, entry=100_000.0,
                            leverage=10).to_dict()
    assert d["side"] == "short" and d["liquidation_price"] > 100_000.0
    assert d["venue"] == "binance-usdm" and d["mmr_at_entry"] == 0.004


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"side": "flat"}, "side"), ({"qty": 0}, "qty"), ({"entry": -1}, "entry"),
    ({"margin": -5, "leverage": None}, "margin"), ({"mmr": 1.0}, "mmr"),
    ({"leverage": 200}, "leverage"), ({"venue": "nasdaq"}, "venue"),
    ({"symbol": "NOPEUSDT"}, "symbol"), ({"leverage": None}, "margin"),
])
def test_bad_position_input_names_the_field(kwargs, field):
    args = {"symbol": "BTCUSDT", "side": "long", "qty": 1.0, "entry": 100.0, "leverage": 10}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        EnginePosition.open(**args)
    assert err.value.field == field
