"""Historical block bootstrap and volatility estimation."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import (
    EnginePosition,
    bootstrap_probability,
    estimate_volatility,
    load_funding,
    load_ohlc,
    monte_carlo_probability,
)


def generic(side, qty, entry, leverage, mmr, cum=0.0):
    """An isolated linear position with a fixed MMR and maintenance amount (generic venue)."""
    return EnginePosition.open(venue="generic", side=side, qty=qty, entry=entry,
                               leverage=leverage, mmr=mmr, maintenance_amount=cum)


def gbm_history(n: int, sigma_daily: float, mu_daily: float = 0.0, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(mu_daily + sigma_daily
                                                           * rng.standard_normal(n)))))


def test_volatility_is_the_annualized_sample_deviation_of_log_returns():
    closes = [100.0, 103.0, 99.5, 101.2, 104.8, 102.0]
    logs = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    expected = statistics.stdev(logs) * math.sqrt(365.0)
    assert estimate_volatility(closes) == pytest.approx(expected, rel=1e-14)
    assert estimate_volatility(closes, 6 * 365) == pytest.approx(expected * math.sqrt(6))


def test_volatility_recovers_the_generating_sigma():
    closes = gbm_history(50_000, 0.6 / math.sqrt(365.0))
    assert estimate_volatility(closes, 365.0) == pytest.approx(0.6, rel=0.01)


def test_iid_bootstrap_of_a_gbm_history_matches_discrete_monte_carlo():
    # block = 1, close-only monitoring: paths are sums of resampled normal log returns, i.e. the
    # discretely monitored GBM with the history's own mean and volatility.
    closes = gbm_history(40_000, 0.03)
    returns = np.diff(np.log(closes))
    sigma = returns.std(ddof=1) * math.sqrt(365.0)
    mu = returns.mean() * 365.0 + sigma**2 / 2
    boot = bootstrap_probability(closes, 30, barrier=90.0, price=100.0, block=1, paths=40_000,
                                 seed=1)
    mc = monte_carlo_probability(100.0, 90.0, sigma, 30.0, mu, paths=100_000, steps=30,
                                 correction=False, seed=2)
    se = math.hypot(boot.standard_error, mc.standard_error)
    assert abs(boot.probability - mc.probability) <= 4 * se


def test_a_position_without_funding_is_its_fixed_barrier():
    closes = gbm_history(2_000, 0.03)
    pos = generic("long", 1.0, 100.0, 10, 0.004)
    by_position = bootstrap_probability(closes, 60, position=pos, price=100.0, seed=3)
    by_barrier = bootstrap_probability(closes, 60, barrier=float(pos.liquidation_price()),
                                       price=100.0, seed=3)
    assert by_position.probability == by_barrier.probability


def test_funding_paid_by_a_long_raises_its_liquidation_probability_and_received_lowers_it():
    closes = gbm_history(2_000, 0.02)
    pos = generic("long", 1.0, 100.0, 10, 0.004)
    kwargs = dict(position=pos, price=100.0, seed=9, paths=20_000, funding_every=3)
    none = bootstrap_probability(closes, 90, **kwargs).probability
    paid = bootstrap_probability(closes, 90, funding=0.001, **kwargs).probability
    received = bootstrap_probability(closes, 90, funding=-0.001, **kwargs).probability
    assert received < none < paid


def test_intrabar_lows_can_only_add_liquidations(market_files):
    path = load_ohlc(market_files["btcusdt_perp_4h_2025-11.csv"])
    funding = load_funding(market_files["btcusdt_funding_2025-11.csv"])
    rates, _ = funding.per_bar(path)
    pos = generic("long", 0.1, path.open[0], 10, 0.004)
    common = dict(position=pos, price=path.open[0], funding=rates, seed=0, paths=5_000)
    closes_only = bootstrap_probability(path.close, 180, **common)
    with_lows = bootstrap_probability(path.close, 180, lows=path.low, highs=path.high, **common)
    assert 0.0 < closes_only.probability <= with_lows.probability < 1.0
    assert with_lows.method == "bootstrap" and with_lows.steps == 180


def test_shorts_are_checked_on_the_highs():
    closes = gbm_history(2_000, 0.03)
    highs = closes * 1.02
    lows = closes * 0.98
    lows[0] = closes[0]
    pos = generic("short", 1.0, 100.0, 10, 0.004)
    plain = bootstrap_probability(closes, 30, position=pos, price=100.0, seed=1)
    wicks = bootstrap_probability(closes, 30, position=pos, price=100.0, seed=1, highs=highs,
                                  lows=lows)
    assert plain.probability < wicks.probability


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"barrier": None}, "position"),
    ({"horizon_bars": 0}, "horizon_bars"),
    ({"block": 0}, "block"),
    ({"closes": [100.0, -1.0, 3.0]}, "closes"),
    ({"funding": 0.001}, "funding"),
    ({"lows": [1.0, 2.0]}, "lows"),
])
def test_bad_bootstrap_input_names_the_field(kwargs, field):
    args = {"closes": gbm_history(100, 0.02), "horizon_bars": 10, "barrier": 90.0}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        bootstrap_probability(**args)
    assert err.value.field == field


def test_demeaning_removes_the_trend_of_a_falling_history():
    closes = gbm_history(3_000, 0.02, mu_daily=-0.004)  # a steady sell-off
    pos = generic("long", 1.0, 100.0, 10, 0.004)
    trend = bootstrap_probability(closes, 60, position=pos, price=100.0, seed=2)
    flat = bootstrap_probability(closes, 60, position=pos, price=100.0, seed=2, demean=True)
    assert flat.probability < trend.probability
