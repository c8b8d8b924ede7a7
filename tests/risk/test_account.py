"""Cross and hedge accounts (:mod:`marginscope.risk.account`): many accounts at once give the
one-account answers; closed forms and properties that must hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginscope.errors import InputError
from marginscope.risk import account as acc
from marginscope.risk.contracts import pnl
from marginscope.risk.terms import resolve

# one random cross account (SYNTHETIC): up to 4 symbols, hedge legs possible
position = st.tuples(
    st.integers(0, 3),  # symbol index
    st.sampled_from([1.0, -1.0]),
    st.floats(0.01, 50.0),  # qty (BTC-like sizes on ETH too: notional up to ~$5M)
    st.floats(1_000.0, 100_000.0),  # entry
    st.floats(0.8, 1.2),  # mark / entry
)
accounts = st.lists(
    st.tuples(st.floats(1_000.0, 2e6), st.lists(position, min_size=1, max_size=6)),
    min_size=1,
    max_size=8,
)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]


def flatten(data):
    """Accounts as flat position arrays with an account index (hedge mode: a symbol's legs are
    one long and one short, so duplicates of a side are dropped)."""
    rows, wallets = [], []
    for a, (wallet, positions) in enumerate(data):
        seen = set()
        for symbol, side, qty, entry, ratio in positions:
            if (symbol, side) not in seen:
                seen.add((symbol, side))
                rows.append((a, symbol, side, qty, entry, entry * ratio))
        wallets.append(wallet)
    account, symbol, side, qty, entry, mark = (np.array(c) for c in zip(*rows, strict=True))
    return account.astype(int), symbol.astype(int), side, qty, entry, mark, np.array(wallets)


def evaluate(account, symbol, side, qty, entry, mark, wallet, rows=slice(None)):
    terms = resolve("binance-usdm", symbol=SYMBOLS, symbol_index=symbol[rows])
    return acc.cross_prices(
        terms,
        side[rows],
        qty[rows],
        entry[rows],
        mark[rows],
        wallet,
        account=account[rows],
        symbol=symbol[rows],
    )


@given(data=accounts)
def test_many_accounts_at_once_equal_one_account_at_a_time(data):
    account, symbol, side, qty, entry, mark, wallet = flatten(data)
    together = evaluate(account, symbol, side, qty, entry, mark, wallet)
    for a in range(wallet.size):
        rows = account == a
        alone = evaluate(
            np.zeros(rows.sum(), int),
            symbol[rows],
            side[rows],
            qty[rows],
            entry[rows],
            mark[rows],
            wallet[a : a + 1],
        )
        for name in (
            "liquidation_price",
            "bankruptcy_price",
            "maintenance_margin",
            "unrealized_pnl",
            "available",
        ):
            np.testing.assert_array_equal(together[name][rows], alone[name], err_msg=name)
        assert together["margin_balance"][a] == alone["margin_balance"][0]


def test_binance_two_position_cross_example():
    """Binance USDⓈ-M FAQ cross example (exchange_formulas.md §1.6): BTCUSDT long 109.488 @
    32,481.98 (mark 31,967.27), ETHUSDT long 3,683.979 @ 1,456.84 (mark 1,335.18), WB
    1,535,443.01 → liquidation 26,316.89 and 1,153.26 (published, also in tests/cli)."""
    terms = resolve("binance-usdm", mmr=[0.025, 0.1], maintenance_amount=[16300.0, 135365.0])
    out = acc.cross_prices(
        terms,
        ["long", "long"],
        [109.488, 3683.979],
        [32481.98, 1456.84],
        [31967.27, 1335.18],
        1535443.01,
    )
    np.testing.assert_allclose(out["liquidation_price"], [26316.89, 1153.26], atol=0.005)
    # TMM1 and UPNL1 of the ETH position at its mark, by hand
    eth_mm = 3683.979 * 1335.18 * 0.1 - 135365.0
    eth_upnl = 3683.979 * (1335.18 - 1456.84)
    assert out["available"][0] == pytest.approx(1535443.01 - eth_mm + eth_upnl, rel=1e-12)


@given(data=accounts, extra=st.floats(0.01, 1.0))
def test_more_wallet_moves_cross_liquidation_away(data, extra):
    account, symbol, side, qty, entry, mark, wallet = flatten(data)
    before = evaluate(account, symbol, side, qty, entry, mark, wallet)["liquidation_price"]
    after = evaluate(account, symbol, side, qty, entry, mark, wallet * (1 + extra))[
        "liquidation_price"
    ]
    hedged = np.bincount(acc.legs(account, symbol)[0])[acc.legs(account, symbol)[0]] > 1
    single = ~hedged & ~np.isnan(before)
    # a long liquidates lower, a short higher (or not at all)
    moved = np.where(side > 0, after < before, (after > before) | np.isnan(after))
    assert (moved | np.isnan(after))[single].all()


@given(data=accounts)
def test_at_the_cross_liquidation_price_equity_equals_maintenance(data):
    """Closed form: at ``LP`` the wallet left to a lone position plus its P&L equals its
    maintenance margin valued at ``LP`` (Binance: the tier of the notional at ``LP``)."""
    account, symbol, side, qty, entry, mark, wallet = flatten(data)
    terms = resolve("binance-usdm", symbol=SYMBOLS, symbol_index=symbol)
    out = acc.cross_prices(terms, side, qty, entry, mark, wallet, account=account, symbol=symbol)
    group = acc.legs(account, symbol)[0]
    price = out["liquidation_price"]
    lone = (np.bincount(group)[group] == 1) & ~np.isnan(price)
    at = np.where(lone, price, entry)
    equity = out["available"] + pnl("linear", side, qty, entry, at)
    required = terms.maintenance_margin(qty, at)
    np.testing.assert_allclose(
        equity[lone], required[lone], rtol=1e-9, atol=1e-9 * float(np.max(qty * entry))
    )


@given(data=accounts)
def test_hedge_legs_share_one_price_and_bankruptcy_is_beyond_liquidation(data):
    account, symbol, side, qty, entry, mark, wallet = flatten(data)
    out = evaluate(account, symbol, side, qty, entry, mark, wallet)
    group = acc.legs(account, symbol)[0]
    for name in ("liquidation_price", "bankruptcy_price"):
        first = np.full(group.max() + 1, np.nan)
        first[group[::-1]] = out[name][::-1]
        np.testing.assert_array_equal(out[name], first[group])
    lone = np.bincount(group)[group] == 1
    lp, bp = out["liquidation_price"], out["bankruptcy_price"]
    both = lone & ~np.isnan(lp) & ~np.isnan(bp)
    assert (np.where(side > 0, bp < lp, bp > lp))[both].all()


@given(
    side=st.sampled_from(["long", "short"]),
    qty=st.floats(0.01, 50.0),
    entry=st.floats(1_000.0, 100_000.0),
    share=st.floats(0.02, 1.0),
)
def test_one_position_cross_is_isolated_with_the_wallet_as_margin(side, qty, entry, share, kind):
    wallet = qty * entry * share
    terms = resolve("binance-usdm", symbol="BTCUSDT")
    # the vector kind: one position in each of several accounts
    each = np.arange(3) if kind.name == "vector" else None
    cross = acc.cross_prices(
        terms, kind(side), kind(qty), kind(entry), kind(entry), kind(wallet), account=each
    )
    isolated = terms.liquidation_price(1.0 if side == "long" else -1.0, qty, entry, wallet)
    assert kind.out(cross["liquidation_price"]) == pytest.approx(
        float(isolated), rel=1e-12, nan_ok=True
    )


def test_equal_and_opposite_legs_are_never_liquidated():
    """A long and a short of one size and entry: the P&L cancels and the wallet covers the
    maintenance margin of both legs at every price below its (far) linear bound."""
    terms = resolve("binance-usdm", mmr=0.004)
    out = acc.cross_prices(
        terms,
        [1.0, -1.0],
        [1.0, 1.0],
        [50_000.0, 50_000.0],
        [50_000.0, 50_000.0],
        10_000.0,
        symbol=[0, 0],
    )
    # W = Σ MMR·Q·P at the shared price: P = W / (2·MMR·Q) = 1,250,000
    np.testing.assert_allclose(out["liquidation_price"], [1_250_000.0] * 2, rtol=1e-12)
    assert np.isnan(out["bankruptcy_price"]).all()


def test_stacked_terms_give_each_positions_own_answer():
    """Positions resolved one by one (a tier table, an override) stacked into one Terms."""
    each = [
        resolve("binance-usdm", symbol="BTCUSDT"),
        resolve("binance-usdm", mmr=0.01, maintenance_amount=5.0),
        resolve("binance-usdm", symbol="ETHUSDT"),
    ]
    stacked = acc.stack_terms(each)
    qty, price = np.array([2.0, 30.0, 400.0]), np.array([60_000.0, 150.0, 3_000.0])
    np.testing.assert_allclose(
        stacked.maintenance_margin(qty, price),
        [float(t.maintenance_margin(q, p)) for t, q, p in zip(each, qty, price, strict=True)],
        rtol=1e-15,
    )
    with pytest.raises(InputError, match="positions"):
        acc.stack_terms([each[0], resolve("binance-coinm", symbol="BTCUSD_210625")])


def test_bad_account_index_is_an_input_error():
    terms = resolve("binance-usdm", mmr=0.004)
    with pytest.raises(InputError, match="account"):
        acc.cross_prices(
            terms, [1.0, 1.0], [1.0, 1.0], [100.0, 100.0], [100.0, 100.0], [1.0], account=[0, 1]
        )
