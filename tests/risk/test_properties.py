"""Properties every venue's answer must have, whatever the inputs (hypothesis); tests taking
``kind`` run with floats, 0-d arrays and vectors (``conftest.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marginscope import risk
from marginscope.risk.contracts import pnl
from marginscope.risk.terms import resolve

VENUES_WITH_TABLES = [("binance-usdm", "BTCUSDT"), ("binance-usdm", "ETHUSDT")]
MARK_BASIS = ["binance-usdm", "binance-coinm", "okx", "gate", "hyperliquid", "generic"]

prices = st.floats(100.0, 200_000.0)
sizes = st.floats(0.001, 200.0)
leverages = st.floats(1.5, 50.0)
rates = st.floats(0.001, 0.05)
# a venue only opens positions whose initial margin exceeds the maintenance margin: draw the
# MMR as a share of the initial-margin rate 1/L
shares = st.floats(0.02, 0.9)
sides = st.sampled_from(["long", "short"])
settings.register_profile("engine", max_examples=150, deadline=None)
settings.load_profile("engine")


@given(venue=st.sampled_from([*MARK_BASIS, "bybit", "bitmex"]), qty=sizes, entry=prices,
       leverage=leverages, share=shares)
def test_long_liquidates_below_entry_and_short_above(venue, qty, entry, leverage, share, kind):
    mmr = share / leverage
    long, short = (kind.out(risk.liquidation_price(venue, kind(side), kind(qty), kind(entry),
                                                   leverage=kind(leverage), mmr=kind(mmr)))
                   for side in ("long", "short"))
    assert np.isnan(long) or long < entry
    assert short > entry


@given(venue=st.sampled_from(MARK_BASIS), side=sides, qty=sizes, entry=prices,
       leverage=leverages, mmr=rates, cum=st.floats(0.0, 100.0), fee=st.floats(0.0, 0.001),
       inverse=st.booleans())
def test_margin_balance_equals_maintenance_margin_at_the_liquidation_price(
        venue, side, qty, entry, leverage, mmr, cum, fee, inverse):
    product = "inverse" if inverse and venue not in ("binance-usdm", "hyperliquid") else None
    terms = resolve(venue, mmr=mmr, maintenance_amount=cum, taker_fee=fee, product=product)
    margin = terms.value(qty, entry) / leverage
    if terms.product == "inverse":
        cum = cum * 1e-6  # coin-denominated amounts
        terms = resolve(venue, mmr=mmr, maintenance_amount=cum, taker_fee=fee, product=product)
    price = risk.liquidation_price(venue, side, qty, entry, margin=margin, mmr=mmr,
                                   maintenance_amount=cum, taker_fee=fee, product=product)
    if np.isnan(price):
        return
    s = 1.0 if side == "long" else -1.0
    balance = margin + pnl(terms.product, s, qty, entry, price, terms.contract_size)
    maintenance = terms.value(qty, price) * (mmr + terms.fee) - cum
    assert balance == pytest.approx(maintenance, rel=1e-9, abs=1e-9 * terms.value(qty, entry))


@given(table=st.sampled_from(VENUES_WITH_TABLES), side=sides, qty=st.floats(0.01, 3000.0),
       entry=st.floats(1000.0, 150_000.0), leverage=st.floats(1.1, 20.0))
def test_tiered_liquidation_uses_the_tier_of_the_notional_at_the_liquidation_price(
        table, side, qty, entry, leverage):
    venue, symbol = table
    terms = resolve(venue, symbol=symbol)
    margin = qty * entry / leverage
    price = risk.liquidation_price(venue, side, qty, entry, margin=margin, symbol=symbol)
    if np.isnan(price):
        return
    s = 1.0 if side == "long" else -1.0
    balance = margin + s * qty * (price - entry)
    assert balance == pytest.approx(float(terms.maintenance_margin(qty, price)), rel=1e-9,
                                    abs=1e-6)


@given(venue=st.sampled_from([*MARK_BASIS, "bybit"]), side=sides, qty=sizes, entry=prices,
       leverage=st.floats(2.0, 50.0), extra=st.floats(0.01, 0.5), share=shares)
def test_adding_margin_moves_liquidation_away(venue, side, qty, entry, leverage, extra, share,
                                              kind):
    mmr = share / leverage
    margin = qty * entry / leverage
    before, after = (kind.out(risk.liquidation_price(venue, kind(side), kind(qty), kind(entry),
                                                     margin=kind(m), mmr=kind(mmr)))
                     for m in (margin, margin * (1 + extra)))
    distance_before = abs(entry - before) if not np.isnan(before) else np.inf
    distance_after = abs(entry - after) if not np.isnan(after) else np.inf
    assert distance_after > distance_before or distance_after == distance_before == np.inf


@given(venue=st.sampled_from([*MARK_BASIS, "bybit", "bitmex"]), side=sides, qty=sizes,
       entry=prices, leverage=st.floats(1.5, 40.0), share=shares)
def test_more_leverage_moves_liquidation_closer(venue, side, qty, entry, leverage, share, kind):
    mmr = share / (leverage * 1.5)
    low, high = (kind.out(risk.liquidation_price(venue, kind(side), kind(qty), kind(entry),
                                                 leverage=kind(lev), mmr=kind(mmr)))
                 for lev in (leverage, leverage * 1.5))
    assert abs(entry - high) < (abs(entry - low) if not np.isnan(low) else np.inf)


@given(side=sides, qty=sizes, entry=prices, leverage=leverages, wallet=st.floats(1.0, 1e9))
def test_isolated_liquidation_ignores_the_wallet(side, qty, entry, leverage, wallet):
    positions = [{"symbol": "BTCUSDT", "side": side, "qty": qty, "entry_price": entry,
                  "leverage": min(leverage, 10.0)}]
    base = {"venue": "binance-usdm", "margin_mode": "isolated", "positions": positions}
    a = risk_account(base | {"wallet_balance": wallet})
    b = risk_account(base | {"wallet_balance": wallet * 2})
    c = risk_account(base)
    assert a == b == c


def risk_account(request):
    from marginscope import evaluate_account

    return evaluate_account(request)["positions"][0]["liquidation_price"]


@given(venue=st.sampled_from(["binance-usdm", "bybit", "okx", "generic"]), side=sides,
       qty=sizes, entry=prices, margin_share=st.floats(0.02, 0.9), inverse=st.booleans())
def test_pnl_at_the_bankruptcy_price_is_minus_the_margin(venue, side, qty, entry, margin_share,
                                                        inverse, kind):
    product = "inverse" if inverse and venue != "binance-usdm" else "linear"
    terms = resolve(venue, mmr=0.0, product=product)
    margin = float(terms.value(qty, entry)) * margin_share
    price = kind.out(risk.bankruptcy_price(venue, kind(side), kind(qty), kind(entry),
                                           margin=kind(margin), product=product))
    s = 1.0 if side == "long" else -1.0
    assert pnl(product, s, qty, entry, price, terms.contract_size) == pytest.approx(
        -margin, rel=1e-9)


@given(data=st.lists(st.tuples(sides, sizes, prices, leverages), min_size=1, max_size=30))
def test_scalar_and_vectorized_answers_agree(data):
    sides_, qtys, entries, levs = (list(column) for column in zip(*data, strict=True))
    symbols = ["BTCUSDT" if i % 2 else "ETHUSDT" for i in range(len(data))]
    margins = [q * e / min(lev, 20.0) for q, e, lev in zip(qtys, entries, levs, strict=True)]
    vector = risk.liquidation_price("binance-usdm", sides_, qtys, entries, margin=margins,
                                    symbol=symbols)
    scalar = [risk.liquidation_price("binance-usdm", s, q, e, margin=m, symbol=sym)
              for s, q, e, m, sym in zip(sides_, qtys, entries, margins, symbols, strict=True)]
    np.testing.assert_allclose(vector, scalar, rtol=1e-12)
    # the same again with distinct symbols + an index, and with ±1 sides
    index = np.array([0 if s == "BTCUSDT" else 1 for s in symbols])
    coded = risk.liquidation_price("binance-usdm", np.where(np.array(sides_) == "long", 1, -1),
                                   qtys, entries, margin=margins, symbol=["BTCUSDT", "ETHUSDT"],
                                   symbol_index=index)
    np.testing.assert_allclose(coded, scalar, rtol=1e-12)
