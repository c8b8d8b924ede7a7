"""The bulk path: bucketed tier search, blocks shared between threads, checks per block."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope import risk
from marginscope.errors import InputError
from marginscope.risk import liquidation
from marginscope.risk.terms import KeyGroups, resolve
from marginscope.risk.tiers import load_venue_tables

VENUE = "binance-usdm"
SYMBOLS = ["BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT"]  # prices below are per symbol


def test_bucketed_search_is_searchsorted_for_every_kind_of_float():
    tables = load_venue_tables(VENUE)
    keys = tuple(tables[s].floor for s in SYMBOLS)
    groups = KeyGroups(keys)
    rng = np.random.default_rng(3)
    n = 200_000
    group = rng.integers(0, len(keys), n)
    x = np.concatenate([
        np.exp(rng.uniform(-5.0, 25.0, n - 12)) * rng.choice([1.0, -1.0], n - 12),
        [0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, np.inf, -np.inf, 1.0, 2.0, 0.5, 3.0],
    ])
    exact = np.concatenate(keys)  # values right on a key: the key itself is found
    x[: len(exact)] = exact
    group[: len(exact)] = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
    flat = np.cumsum([0] + [len(k) for k in keys])[:-1]
    expected = np.array([flat[g] + max(np.searchsorted(keys[g], v, side="right") - 1, 0)
                         for g, v in zip(group, x, strict=True)])
    np.testing.assert_array_equal(groups.locate(group, x), expected)


def _positions(n: int, seed: int = 11) -> dict[str, np.ndarray]:
    """SYNTHETIC positions across the shipped Binance USDⓈ-M tables."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(SYMBOLS), n)
    entry = np.array([90_000.0, 0.2, 3_000.0, 150.0])[index] * rng.uniform(0.8, 1.2, n)
    notional = np.exp(rng.uniform(np.log(50.0), np.log(8e7), n))
    return {"side": rng.choice([1.0, -1.0], n), "qty": notional / entry, "entry": entry,
            "margin": notional / rng.uniform(0.5, 25.0, n), "index": index}


def _engine(p):
    return risk.liquidation_price(VENUE, p["side"], p["qty"], p["entry"], margin=p["margin"],
                                  symbol=SYMBOLS, symbol_index=p["index"])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocks_on_threads_agree_with_one_position_at_a_time(monkeypatch, threads):
    monkeypatch.setattr(liquidation, "BLOCK", 1 << 10)
    monkeypatch.setattr(liquidation, "THREADS", threads)
    p = _positions(5 * (1 << 10) + 7)
    bulk = _engine(p)
    sample = np.arange(0, len(bulk), 37)
    one_by_one = [float(risk.liquidation_price(
        VENUE, p["side"][i], p["qty"][i], p["entry"][i], margin=p["margin"][i],
        symbol=SYMBOLS[p["index"][i]])) for i in sample]
    np.testing.assert_allclose(bulk[sample], one_by_one, rtol=1e-12, equal_nan=True)
    assert 0 < np.isnan(bulk).sum() < len(bulk)  # both kinds of answer are exercised


def test_a_bad_value_in_a_late_block_names_the_first_one(monkeypatch):
    monkeypatch.setattr(liquidation, "BLOCK", 1 << 10)
    monkeypatch.setattr(liquidation, "THREADS", 2)
    p = _positions(4 * (1 << 10))
    p["qty"][3000], p["qty"][3500] = -2.5, np.nan
    with pytest.raises(InputError) as caught:
        _engine(p)
    assert caught.value.field == "qty" and caught.value.value == -2.5


def test_the_search_tables_are_built_once_per_set_of_tables():
    first = resolve(VENUE, symbol="BTCUSDT").lookup
    again = resolve(VENUE, symbol="BTC/USDT:USDT").lookup
    other = resolve(VENUE, symbol=["BTCUSDT", "ETHUSDT"]).lookup
    assert first is again and first is not other
