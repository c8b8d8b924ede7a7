"""Symbols name their contract kind: every venue × product × notation, with and without an MMR
override, gives the symbol's kind; contradictions and unknown kinds are errors naming the field.

Expected kinds are the venues' own (their symbol lists and ccxt's markets: ``linear`` settles in
the quote, ``inverse`` in the base). Liquidation numbers are closed forms of the common
condition ``W + PnL(P) = MMR·value(P)`` (exchange_formulas.md §0), recomputed here by hand.
"""

from __future__ import annotations

import pytest

from marginscope import evaluate_account, risk
from marginscope.errors import InputError
from marginscope.risk.instruments import (
    Instrument,
    across_venues,
    ccxt_symbol,
    parse_ccxt,
    parse_symbol,
    venue_symbol,
)
from marginscope.risk.terms import resolve
from marginscope.risk.tiers import find_table, load_venue_history
from marginscope.risk.venues import VENUES

BTC_USDT = Instrument("BTC", "USDT", "USDT")
BTC_USD = Instrument("BTC", "USD", "BTC")

# venue, symbol, instrument it names
NOTATIONS = [
    ("binance-usdm", "BTCUSDT", BTC_USDT),
    ("binance-usdm", "ETHBTC", Instrument("ETH", "BTC", "BTC")),
    ("binance-usdm", "BTCUSDC", Instrument("BTC", "USDC", "USDC")),
    ("binance-usdm", "BTCUSDT_250328", Instrument("BTC", "USDT", "USDT", "250328")),
    ("binance-coinm", "BTCUSD_PERP", BTC_USD),
    ("binance-coinm", "ETHUSD_PERP", Instrument("ETH", "USD", "ETH")),
    ("binance-coinm", "BTCUSD_210625", Instrument("BTC", "USD", "BTC", "210625")),
    ("bybit", "BTCUSDT", BTC_USDT),
    ("bybit", "BTCPERP", Instrument("BTC", "USDC", "USDC")),
    ("bybit", "BTCUSD", BTC_USD),
    ("okx", "BTC-USDT-SWAP", BTC_USDT),
    ("okx", "BTC-USD-SWAP", BTC_USD),
    ("okx", "ETH-USD-250328", Instrument("ETH", "USD", "ETH", "250328")),
    ("gate", "BTC_USDT", BTC_USDT),
    ("gate", "ETH_USDT", Instrument("ETH", "USDT", "USDT")),
    ("gate", "BTC_USD", BTC_USD),
    ("bitmex", "XBTUSD", BTC_USD),
    ("bitmex", "ETHUSDT", Instrument("ETH", "USDT", "USDT")),
    ("bitmex", "XBTUSDT", BTC_USDT),
    ("hyperliquid", "BTC", Instrument("BTC", "USDC", "USDC")),
    ("hyperliquid", "DOGE", Instrument("DOGE", "USDC", "USDC")),
    ("generic", "BTC-USDT-SWAP", BTC_USDT),
    ("generic", "BTC_USD", BTC_USD),
    ("generic", "BTCUSD_PERP", BTC_USD),
    ("generic", "BTCUSDT", BTC_USDT),
]
# ccxt's unified notation on every venue that offers the kind
CCXT = (
    [
        (venue, "BTC/USDT:USDT", BTC_USDT)
        for venue in ("binance-usdm", "bybit", "okx", "gate", "bitmex", "generic")
    ]
    + [
        (venue, "BTC/USD:BTC", BTC_USD)
        for venue in ("binance-coinm", "bybit", "okx", "gate", "bitmex", "generic")
    ]
    + [("hyperliquid", "ETH/USDC:USDC", Instrument("ETH", "USDC", "USDC"))]
)
CASES = NOTATIONS + CCXT
IDS = [f"{v}:{s}" for v, s, _ in CASES]


@pytest.mark.parametrize(("venue", "symbol", "instrument"), CASES, ids=IDS)
def test_the_symbol_names_its_instrument(venue, symbol, instrument):
    assert parse_symbol(venue, symbol) == instrument


@pytest.mark.parametrize(("venue", "symbol", "instrument"), CASES, ids=IDS)
def test_the_kind_follows_the_symbol_with_an_override(venue, symbol, instrument):
    if instrument.expiry and venue not in ("binance-usdm", "binance-coinm", "okx", "generic"):
        pytest.skip("dated futures only where the notation has them")
    assert resolve(venue, symbol=symbol, mmr=0.01).product == instrument.product
    # giving the same product agrees; the other one is a contradiction named "product"
    assert (
        resolve(venue, symbol=symbol, mmr=0.01, product=instrument.product).product
        == instrument.product
    )
    other = "linear" if instrument.product == "inverse" else "inverse"
    with pytest.raises(InputError) as error:
        resolve(venue, symbol=symbol, mmr=0.01, product=other)
    assert error.value.field == "product"


@pytest.mark.parametrize(("venue", "symbol", "instrument"), CASES, ids=IDS)
def test_the_kind_follows_the_symbol_without_an_override(venue, symbol, instrument):
    table = find_table(venue, symbol)
    if table is None:  # no table: an error naming the symbol, never another kind's answer
        with pytest.raises(InputError) as error:
            resolve(venue, symbol=symbol)
        assert error.value.field == "symbol"
    else:
        assert table.product == instrument.product
        assert resolve(venue, symbol=symbol).product == instrument.product


@pytest.mark.parametrize(
    ("venue", "symbol", "instrument"), NOTATIONS, ids=[f"{v}:{s}" for v, s, _ in NOTATIONS]
)
def test_venue_notation_round_trips(venue, symbol, instrument):
    if venue == "generic":
        assert venue_symbol(venue, instrument) == ccxt_symbol(instrument)
    else:
        assert venue_symbol(venue, instrument) == symbol
    assert parse_ccxt(ccxt_symbol(instrument)) == instrument


@pytest.mark.parametrize("venue", list(VENUES))
def test_every_shipped_table_symbol_parses_to_its_own_instrument(venue):
    for symbol, vintages in load_venue_history(venue).items():
        for table in vintages:
            assert parse_symbol(venue, symbol) == parse_ccxt(table.ccxt_symbol), symbol
            assert parse_symbol(venue, symbol).product == table.product


@pytest.mark.parametrize(
    ("venue", "symbol"),
    [
        ("generic", "BTCUSD"),  # linear or inverse: not told
        ("bitmex", "ETHUSD"),  # a quanto, settled in XBT
        ("generic", "ETH/USD:BTC"),  # a quanto in ccxt notation
        ("binance-usdm", "BTC/USD:BTC"),  # inverse: not offered on USDⓈ-M
        ("binance-coinm", "BTCUSDT"),  # not a COIN-M notation
        ("hyperliquid", "BTC/USD:BTC"),
        ("okx", "BTCUSDT"),
        ("gate", "BTC-USDT"),
    ],
)
def test_a_symbol_whose_kind_cannot_be_told_is_an_error_naming_it(venue, symbol):
    for overrides in ({}, {"mmr": 0.01}):
        with pytest.raises(InputError) as error:
            resolve(venue, symbol=symbol, **overrides)
        assert error.value.field == "symbol" and error.value.value == symbol


def test_a_product_the_venue_does_not_offer_is_an_error_naming_product():
    with pytest.raises(InputError) as error:
        resolve("binance-usdm", product="inverse", mmr=0.01)
    assert error.value.field == "product"


def test_bitmex_ethusdt_is_linear():
    # 20 ETH at 1,000, 50x, MMR 1 %: value 20,000 USDT; BitMEX charges MM on the entry value:
    # LP = E − (IM − MM)/Q = 1,000 − (400 − 200)/20 = 990
    assert risk.maintenance_margin("bitmex", 20, 1000, symbol="ETHUSDT", mmr=0.01) == pytest.approx(
        200.0
    )
    assert risk.liquidation_price(
        "bitmex", "long", 20, 1000, leverage=50, symbol="ETHUSDT", mmr=0.01
    ) == pytest.approx(990.0)


INVERSE = [
    ("bybit", "BTCUSD", 0.0),
    ("bybit", "BTC/USD:BTC", 0.0),
    ("okx", "BTC-USD-SWAP", 0.0005),
    ("gate", "BTC_USD", 0.0005),
]


@pytest.mark.parametrize(
    ("venue", "symbol", "fee"), INVERSE, ids=[f"{v}:{s}" for v, s, _ in INVERSE]
)
def test_inverse_symbols_price_as_inverse(venue, symbol, fee):
    # long 100 contracts of 1 USD at 100, 2x: margin 100/(100·2) = 0.5 coin. Condition at P:
    # 0.5 + 100·(1/100 − 1/P) = (MMR + fee)·100/P  →  P = 100·(1 + MMR + fee)/1.5
    # (OKX and Gate count the taker fee to close; the linear formula would give 50.5)
    expected = 100 * (1 + 0.005 + fee) / 1.5
    price = risk.liquidation_price(
        venue, "long", 100, 100, leverage=2, symbol=symbol, mmr=0.005, contract_size=1.0
    )
    assert price == pytest.approx(expected, rel=1e-12)
    assert risk.liquidation_price(
        venue, "long", 100, 100, leverage=2, product="inverse", mmr=0.005, contract_size=1.0
    ) == pytest.approx(expected)


def test_inverse_contract_sizes_without_a_table():
    # Binance COIN-M and OKX: BTC 100 USD a contract, the others 10 USD (their contract specs)
    assert resolve("binance-coinm", symbol="BTCUSD_PERP", mmr=0.004).contract_size == 100
    assert resolve("binance-coinm", symbol="ETHUSD_PERP", mmr=0.004).contract_size == 10
    assert resolve("okx", symbol="BTC-USD-SWAP", mmr=0.004).contract_size == 100
    assert resolve("okx", symbol="ETH-USD-SWAP", mmr=0.004).contract_size == 10
    # Binance COIN-M FAQ: 100 BTCUSD contracts at mark 25,000 → 0.4 BTC; MMR 0.4 % → 0.0016 BTC
    assert risk.maintenance_margin(
        "binance-coinm", 100, 25_000, symbol="BTCUSD_PERP", mmr=0.004
    ) == pytest.approx(0.0016)


def test_symbols_of_two_kinds_in_one_call_are_an_error():
    with pytest.raises(InputError) as error:
        resolve("bybit", symbol=["BTCUSDT", "BTCUSD"], mmr=0.01)
    assert error.value.field == "symbol"


def test_account_positions_take_product_and_name_the_field():
    # long 100 BTCUSD (1 USD each) at 100, 2x, MMR 0.5 % (as in test_inverse_symbols_…)
    position = dict(symbol="BTCUSD", side="long", qty=100, entry_price=100, leverage=2)
    position.update(mmr=0.005, contract_size=1.0)
    answer = evaluate_account({"venue": "bybit", "positions": [position]})
    assert answer["positions"][0]["liquidation_price"] == pytest.approx(100.5 / 1.5)
    assert answer["positions"][0]["product"] == "inverse"
    with pytest.raises(InputError) as error:
        evaluate_account({"venue": "bybit", "positions": [{**position, "product": "linear"}]})
    assert error.value.field == "positions[0].product"


def test_one_instrument_on_every_venue():
    usdt = across_venues("binance-usdm", "BTCUSDT")
    symbols = {venue: entry and entry["symbol"] for venue, entry in usdt["venues"].items()}
    assert symbols == {
        "binance-usdm": "BTCUSDT",
        "binance-coinm": None,
        "bybit": "BTCUSDT",
        "okx": "BTC-USDT-SWAP",
        "gate": "BTC_USDT",
        "bitmex": "XBTUSDT",
        "hyperliquid": "BTC",
        "generic": "BTC/USDT:USDT",
    }
    assert usdt["venues"]["hyperliquid"]["same_quote"] is False  # USDC, not USDT
    assert usdt["venues"]["okx"]["same_quote"] is True
    coin = across_venues("binance-coinm", "BTCUSD_PERP")
    symbols = {venue: entry and entry["symbol"] for venue, entry in coin["venues"].items()}
    assert symbols == {
        "binance-usdm": None,
        "binance-coinm": "BTCUSD_PERP",
        "bybit": "BTCUSD",
        "okx": "BTC-USD-SWAP",
        "gate": "BTC_USD",
        "bitmex": "XBTUSD",
        "hyperliquid": None,
        "generic": "BTC/USD:BTC",
    }
    # every symbol mapped back names the same instrument (or the venue's quote for it)
    for venue, entry in usdt["venues"].items():
        if entry:
            assert ccxt_symbol(parse_symbol(venue, entry["symbol"])) == entry["instrument"]


def test_the_ccxt_symbol_finds_the_table_on_every_venue_that_ships_one():
    for venue, symbol in (
        ("binance-usdm", "BTCUSDT"),
        ("bybit", "BTCUSDT"),
        ("okx", "BTC-USDT-SWAP"),
        ("bitmex", "XBTUSD"),
        ("hyperliquid", "BTC"),
    ):
        table = find_table(venue, symbol)
        assert find_table(venue, table.ccxt_symbol) is table
