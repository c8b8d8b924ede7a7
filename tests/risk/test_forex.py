"""Forex: pip value, position size, margin, spread cost and compounding against brokers' and
educators' published worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginscope.errors import InputError
from marginscope.risk import forex


def value_of_pip(pair, price, account, lots=1.0, **conversion):
    rate = forex.quote_to_account(pair, account, price, **conversion)
    return forex.pip_value(lots * forex.STANDARD_LOT, forex.pip_size(pair), rate)


def test_jpy_pairs_have_a_pip_of_one_hundredth():
    assert forex.pip_size("USD/JPY") == 0.01
    assert forex.pip_size("eurjpy") == 0.01
    assert forex.pip_size("EUR/USD") == 0.0001
    # Milton Markets: 1 lot of EUR/JPY moves 1,000 JPY per pip, EUR/USD 10 USD, USD/CHF 10 CHF
    assert forex.pip_value(100_000, forex.pip_size("EUR/JPY")) == pytest.approx(1000.0)
    assert forex.pip_value(100_000, forex.pip_size("USD/CHF")) == pytest.approx(10.0)


def test_babypips_usd_jpy_pip_value():
    # Babypips School: USD/JPY 119.80, 100,000 units → $8.34 (their per-unit value is truncated
    # to 0.0000834 before multiplying; the exact figure is 8.3472)
    assert value_of_pip("USD/JPY", 119.80, "USD") == pytest.approx(8.34, abs=0.01)


def test_account_in_the_base_currency_divides_by_the_pair_price():
    # XM: EUR account, EUR/USD 1.08962, 1 lot → €9.18; DailyForex: GBP account, GBP/JPY 167.27,
    # 1 lot → £5.98
    assert value_of_pip("EUR/USD", 1.08962, "EUR") == pytest.approx(9.18, abs=0.005)
    assert value_of_pip("GBP/JPY", 167.27, "GBP") == pytest.approx(5.98, abs=0.005)


def test_cross_pair_converted_with_an_account_quote_rate():
    # Anzo Capital: CAD/CHF, USD account, USD/CHF 1.01883, 1 lot → "9.81USD" (truncated:
    # 10 / 1.01883 = 9.8152)
    value = value_of_pip("CAD/CHF", 0.75, "USD", conversion_pair="USD/CHF",
                         conversion_rate=1.01883)
    assert value == pytest.approx(9.81, abs=0.01)


def test_every_conversion_route_gives_the_same_pip_value():
    # GBP/JPY 190.0 for a USD account: USD/JPY 150.0 ⇔ JPY/USD 1/150 ⇔ GBP/USD 190/150
    direct = value_of_pip("GBP/JPY", 190.0, "USD", conversion_pair="USD/JPY",
                          conversion_rate=150.0)
    assert direct == pytest.approx(1000 / 150)
    for pair, rate in [("JPY/USD", 1 / 150), ("GBP/USD", 190 / 150), ("USD/GBP", 150 / 190)]:
        assert value_of_pip("GBP/JPY", 190.0, "USD", conversion_pair=pair,
                            conversion_rate=rate) == pytest.approx(direct)


def test_a_missing_or_unrelated_conversion_rate_is_a_clear_error():
    with pytest.raises(InputError) as info:
        forex.quote_to_account("EUR/JPY", "GBP", 160.0)
    assert info.value.field == "conversion_rate"
    with pytest.raises(InputError) as info:
        forex.quote_to_account("EUR/JPY", "GBP", 160.0, conversion_pair="AUD/NZD",
                               conversion_rate=1.1)
    assert info.value.field == "conversion_pair"


def test_babypips_micro_lot_position_size():
    # Babypips forum: $1,000 account, 2 % risk, EUR/USD, 50-pip stop → 4 micro lots;
    # 35-pip stop → 5.71 micro lots
    out = forex.position_size(1000, 0.02, 50, 0.0001)
    assert out["micro_lots"] == pytest.approx(4.0)
    assert out["risk_amount"] == pytest.approx(20.0)
    assert forex.position_size(1000, 0.02, 35, 0.0001)["micro_lots"] == pytest.approx(5.71,
                                                                                    abs=0.005)


@given(balance=st.floats(100, 1e7), risk=st.floats(0.001, 0.1), stop=st.floats(1, 500),
       price=st.floats(80, 200))
def test_the_stop_loses_exactly_the_risk_budget(balance, risk, stop, price):
    rate = forex.quote_to_account("USD/JPY", "USD", price)
    out = forex.position_size(balance, risk, stop, 0.01, rate)
    loss = forex.pip_value(out["units"], 0.01, rate) * stop
    assert loss == pytest.approx(balance * risk, rel=1e-9)


def test_tier1fx_margin_examples():
    # Tier1FX "How do I calculate margin": 1 lot EUR/USD at 1:50 → EUR 2,000 (EUR account, 1.345)
    # and USD 2,350 (USD account, 1.175)
    eur = forex.margin_required(100_000, 1.345, 50, forex.quote_to_account("EUR/USD", "EUR",
                                                                          1.345))
    usd = forex.margin_required(100_000, 1.175, 50)
    assert eur["margin"] == pytest.approx(2000.0)
    assert usd["margin"] == pytest.approx(2350.0)


def test_instaforex_margin_examples():
    # InstaForex: 10,000 EUR at 1.5442, 1:100 → 154.42 USD; 20,000 GBP at 1.9627 → 392.54 USD
    assert forex.margin_required(10_000, 1.5442, 100)["margin"] == pytest.approx(154.42)
    assert forex.margin_required(20_000, 1.9627, 100)["margin"] == pytest.approx(392.54)


def test_esma_majors_get_30_to_1_and_other_pairs_20_to_1():
    # ESMA 2018 CFD decision: major pairs are any two of USD, EUR, JPY, GBP, CAD, CHF
    assert forex.esma_max_leverage("EUR/USD") == 30
    assert forex.esma_max_leverage("CAD/JPY") == 30
    assert forex.esma_max_leverage("AUD/USD") == 20
    assert forex.esma_max_leverage("EUR/TRY") == 20


def test_valutrades_spread_cost_examples():
    # Valutrades: EUR/USD 1.06686 − 1.06683 = 0.3 pip × 1 lot → 3 USD;
    # USD/CAD 1.34674 − 1.34669 → 5 CAD, "or 3.71 USD"
    eurusd = forex.spread_cost(forex.spread_pips(1.06683, 1.06686, 0.0001), 100_000, 0.0001)
    assert eurusd["cost_per_trade"] == pytest.approx(3.0, abs=1e-6)
    usdcad_pips = forex.spread_pips(1.34669, 1.34674, 0.0001)
    in_cad = forex.spread_cost(usdcad_pips, 100_000, 0.0001)
    in_usd = forex.spread_cost(usdcad_pips, 100_000, 0.0001,
                               forex.quote_to_account("USD/CAD", "USD", 1.34674))
    assert in_cad["cost_per_trade"] == pytest.approx(5.0, abs=1e-6)
    assert in_usd["cost_per_trade"] == pytest.approx(3.71, abs=0.005)


def test_babypips_spread_cost_in_an_aud_account():
    # Babypips forum: 0.6-pip spread, AUD account, AUD/USD 0.70836 → 8.47 AUD per standard lot,
    # 0.0847 AUD per micro lot
    rate = forex.quote_to_account("EUR/USD", "AUD", 1.10, conversion_pair="AUD/USD",
                                  conversion_rate=0.70836)
    assert forex.spread_cost(0.6, 100_000, 0.0001, rate)["cost_per_trade"] == pytest.approx(
        8.47, abs=0.005)
    assert forex.spread_cost(0.6, 1_000, 0.0001, rate)["cost_per_trade"] == pytest.approx(
        0.0847, abs=0.00005)


def test_compounding_matches_a_period_by_period_recomputation():
    balance, path = 5000.0, []
    for _ in range(24):
        balance = balance * 1.02 + 200.0
        path.append(balance)
    out = forex.compound(5000.0, 0.02, 24, 200.0)
    assert np.allclose(out["balance"], path)
    assert out["net_contributions"] == pytest.approx(5000 + 24 * 200)
    assert out["gain"] == pytest.approx(path[-1] - 9800)


def test_zero_return_only_adds_the_contributions():
    assert forex.compound(1000.0, 0.0, 10, 50.0)["final_balance"] == pytest.approx(1500.0)


def test_withdrawals_stop_when_the_balance_is_exhausted():
    out = forex.compound(1000.0, 0.1, 3, -500.0)
    assert list(out["balance"]) == pytest.approx([600.0, 160.0, 0.0])
    assert out["depleted_at"] == 3
    assert out["gain"] == pytest.approx(100 + 60 + 16)  # the returns earned before it ran out


@pytest.mark.parametrize(("loss", "gain"), [(0.1, 1 / 9), (0.2, 0.25), (0.5, 1.0), (0.9, 9.0)])
def test_a_drawdown_needs_a_larger_gain_to_recover(loss, gain):
    assert forex.recovery_gain(loss) == pytest.approx(gain)


def test_periods_to_recover_at_a_steady_return():
    # (1 − d)(1 + r)^k = 1; at r ≤ 0 it never recovers
    periods = forex.periods_to_recover(0.5, 0.08)
    assert 0.5 * 1.08 ** periods == pytest.approx(1.0)
    assert np.isinf(forex.periods_to_recover(0.2, 0.0))
    assert forex.drawdown(20000, 14000) == pytest.approx(0.3)


@pytest.mark.parametrize(("call", "field"), [
    (lambda: forex.parse_pair("EURO/USD"), "pair"),
    (lambda: forex.parse_pair("USD/USD"), "pair"),
    (lambda: forex.currency("US"), "account_currency"),
    (lambda: forex.pip_value(-1, 0.0001), "units"),
    (lambda: forex.position_size(1000, 1.5, 20, 0.0001), "risk_fraction"),
    (lambda: forex.spread_pips(1.1, 1.09, 0.0001), "ask"),
    (lambda: forex.compound(1000, 0.01, 0), "periods"),
    (lambda: forex.compound(1000, 5.0, 10000), "periods"),
    (lambda: forex.recovery_gain(1.0), "drawdown"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
