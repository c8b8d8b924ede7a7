"""The float path — one account's positions in Python floats through the same formulas
(:mod:`marginscope.risk.elementwise`, :meth:`Terms.one`) — gives the array path's numbers:
on random accounts of every venue with shipped tier tables (property) and on the published
liquidation examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.risk.test_venue_vectors import by_calc

from marginscope.risk import account as acc
from marginscope.risk import elementwise
from marginscope.risk.terms import KeyGroups, resolve
from marginscope.risk.tiers import load_venue_tables

# venue → its shipped symbols of one product (an account holds one product): SYNTHETIC mix
TABLES = {
    venue: sorted(
        symbol
        for symbol, table in load_venue_tables(venue).items()
        if table.product == "linear" or venue in ("binance-coinm", "bitmex")
    )
    for venue in ("binance-usdm", "binance-coinm", "bybit", "okx", "bitmex", "hyperliquid")
}

position = st.tuples(
    st.sampled_from([1.0, -1.0]),
    st.floats(0.01, 5_000.0),  # qty: base units (linear) or contracts (inverse)
    st.floats(0.05, 100_000.0),  # entry
    st.floats(0.5, 1.5),  # mark / entry
    st.one_of(st.none(), st.tuples(st.floats(0.0, 0.2), st.floats(0.0, 1e5))),  # overrides
)
account = st.tuples(
    st.sampled_from(sorted(TABLES)),
    st.floats(-1e5, 5e6),  # wallet
    st.lists(position, min_size=1, max_size=4),
)


def both_paths(terms, *args):
    floats = acc.cross_prices(terms, *args)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(acc, "FLOAT_POSITIONS", 0)
        arrays = acc.cross_prices(terms, *args)
    return floats, arrays


@settings(max_examples=300, deadline=None)
@given(data=account)
def test_one_account_in_floats_equals_the_arrays(data):
    venue, wallet, rows = data
    symbols = TABLES[venue]
    rows = rows[: len(symbols)]  # one position per symbol: no hedge legs (those take arrays)
    terms = [
        resolve(
            venue,
            symbol=symbol,
            mmr=None if o is None else o[0],
            maintenance_amount=None if o is None else o[1],
        )
        for symbol, (*_, o) in zip(symbols, rows, strict=False)
    ]
    side = [r[0] for r in rows]
    qty = [r[1] for r in rows]
    entry = [r[2] for r in rows]
    mark = [r[2] * r[3] for r in rows]
    assert acc._one_account_in_floats(terms, side, qty, entry, mark, wallet) is not None
    floats, arrays = both_paths(terms, side, qty, entry, mark, wallet)
    assert floats.keys() == arrays.keys()
    for name in floats:
        assert floats[name].shape == arrays[name].shape, name
        np.testing.assert_allclose(
            floats[name], arrays[name], rtol=1e-12, atol=0, equal_nan=True, err_msg=name
        )


def test_the_binance_example_is_the_same_bits_on_both_paths():
    from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE as example

    positions = example["positions"]
    terms = [
        resolve(
            "binance-usdm",
            symbol=p["symbol"],
            mmr=p["mmr"],
            maintenance_amount=p["maintenance_amount"],
        )
        for p in positions
    ]
    floats, arrays = both_paths(
        acc.stack_terms(terms),
        [1.0, 1.0],
        [p["qty"] for p in positions],
        [p["entry_price"] for p in positions],
        [p["mark_price"] for p in positions],
        example["wallet_balance"],
    )
    for name in floats:
        np.testing.assert_array_equal(floats[name], arrays[name], err_msg=name)
    assert floats["liquidation_price"] == pytest.approx([26316.89, 1153.26], abs=0.01)


@pytest.mark.parametrize(
    "bad",
    [
        dict(qty=[1.0, -1.0]),
        dict(qty=[1.0, float("nan")]),
        dict(side=[1.0, 0.5]),
        dict(mark=[1.0, float("inf")]),
    ],
)
def test_bad_input_leaves_the_float_path_and_is_named(bad):
    args = dict(side=[1.0, -1.0], qty=[1.0, 2.0], entry=[100.0, 50.0], mark=[100.0, 50.0]) | bad
    terms = resolve("binance-usdm", mmr=[0.01, 0.01])
    with pytest.raises(ValueError, match=r"qty|side|mark_price"):
        acc.cross_prices(terms, args["side"], args["qty"], args["entry"], args["mark"], 1000.0)


def isolated_inputs(v: dict):
    """The isolated liquidation examples as (venue, resolve keywords, side, qty, entry,
    margin), in floats; None for the cross ones (covered through the calculator)."""
    i, venue = v["inputs"], v["venue"]
    if i.get("margin_mode") == "cross":
        return None
    side = 1.0 if i["side"] == "long" else -1.0
    if venue == "hyperliquid":
        return (
            venue,
            {"max_leverage": i["max_leverage"]},
            side,
            float(i["size"]),
            float(i["entry_price"]),
            float(i["isolated_margin_or_account_value"]),
        )
    qty = float(i.get("qty", i.get("qty_base")))
    margin = i.get("isolated_wallet_balance", i.get("isolated_margin"))
    if margin is None:
        return None
    margin += i.get("extra_margin") or 0.0
    return (
        venue,
        {
            "mmr": i["mmr"],
            "maintenance_amount": i.get("cum", i.get("mm_deduction")),
            "taker_fee": i.get("taker_fee"),
        },
        side,
        qty,
        float(i["entry_price"]),
        float(margin),
    )


@pytest.mark.parametrize("v", [p for p in by_calc("liquidation_price")
                               if isolated_inputs(p.values[0]) is not None])  # cross: vectors
def test_published_liquidations_in_floats_equal_the_arrays(v):
    venue, overrides, side, qty, entry, margin = isolated_inputs(v)
    terms = resolve(venue, **overrides)
    one = terms.one()
    floats = one.liquidation_price(side, qty, entry, margin)
    arrays = terms.liquidation_price(
        np.asarray(side), np.asarray(qty), np.asarray(entry), np.asarray(margin)
    )
    assert type(floats) is float
    assert floats == pytest.approx(float(arrays), rel=1e-12, nan_ok=True)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-1e12, 1e12, allow_nan=False), venue=st.sampled_from(sorted(TABLES)))
def test_one_float_is_found_in_the_tier_keys_as_the_arrays_find_it(x, venue):
    tables = tuple(load_venue_tables(venue).values())
    keys = KeyGroups(tuple(t.floor for t in tables))
    for group in range(len(tables)):
        assert keys.locate(group, x) == int(keys.locate(np.array([group]), np.array([x]))[0])


def test_divide_is_ieee_on_floats_as_on_arrays():
    for a in (1.0, -1.0, 0.0, float("nan"), float("inf")):
        for b in (0.0, -0.0, 2.0, float("inf")):
            expected = float(elementwise.divide(np.array(a), np.array(b)))
            assert elementwise.divide(a, b) == pytest.approx(expected, nan_ok=True), (a, b)


@pytest.mark.parametrize(
    "bad",
    [
        dict(qty=[1.0, -1.0]),
        dict(qty=[1.0, 0.0]),
        dict(entry=[1.0, float("nan")]),
        dict(mark=[float("inf"), 1.0]),
        dict(qty=[1.0, 1]),  # an int: not plainly floats
        dict(side=[1.0, 1]),
        dict(side=[1.0, 0.5]),
        dict(wallet=float("nan")),
        dict(wallet=float("-inf")),
        dict(entry=[1e308, 1e308]),  # the sum overflows: the arrays decide
    ],
)
def test_cross_prices_of_floats_declines_what_is_not_plainly_valid(bad):
    args = dict(side=[1.0, -1.0], qty=[1.0, 2.0], entry=[100.0, 50.0], mark=[100.0, 50.0],
                wallet=1000.0) | bad
    terms = [resolve("binance-usdm", mmr=0.01), resolve("binance-usdm", mmr=0.02)]
    assert acc.cross_prices_of_floats(terms, args["side"], args["qty"], args["entry"],
                                      args["mark"], args["wallet"]) is None


def test_cross_prices_of_floats_is_the_float_path_as_lists():
    terms = [resolve("binance-usdm", mmr=0.01, maintenance_amount=5.0),
             resolve("binance-usdm", mmr=0.02)]
    args = (terms, [1.0, -1.0], [1.0, 2.0], [100.0, 50.0], [95.0, 52.0], 40.0)
    lists = acc.cross_prices_of_floats(*args)
    floats, arrays = both_paths(*args)
    assert lists.keys() == arrays.keys()
    for name, value in lists.items():
        assert type(value) is list and all(type(v) is float for v in value), name
        np.testing.assert_array_equal(np.array(value), floats[name], err_msg=name)
        np.testing.assert_allclose(value, arrays[name], rtol=1e-12, equal_nan=True, err_msg=name)
