"""Stocks: profit, averaging down, margin and short selling against regulators' rules and
brokers' published examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginscope.errors import InputError
from marginscope.risk import stocks


def test_commissions_enter_the_basis_and_the_proceeds():
    # IRS Publications 550/551: basis = price × shares + commission; amount realized = sale
    # price − selling expenses
    out = stocks.stock_trade(50, 182.40, 201.10, buy_commission=1.0, sell_commission=1.0,
                             dividends_per_share=0.96)
    assert out["cost_basis"] == pytest.approx(50 * 182.40 + 1)
    assert out["proceeds"] == pytest.approx(50 * 201.10 - 1)
    assert out["capital_gain"] == pytest.approx(933.0)
    assert out["total_return"] == pytest.approx(933.0 + 48.0)


def test_selling_at_the_breakeven_price_returns_nothing():
    out = stocks.stock_trade(120, 31.5, 33.0, buy_commission=4.95, sell_commission=4.95,
                             commission_rate=0.001, dividends_per_share=0.4)
    flat = stocks.stock_trade(120, 31.5, out["breakeven_price"], buy_commission=4.95,
                              sell_commission=4.95, commission_rate=0.001,
                              dividends_per_share=0.4)
    assert flat["total_return"] == pytest.approx(0.0, abs=1e-9)


def test_an_investment_buys_what_is_left_after_the_commission():
    out = stocks.shares_for_investment(1000.0, 30.0, commission=10.0)
    assert out["shares"] == pytest.approx(33.0)
    whole = stocks.shares_for_investment(1000.0, 31.0, commission=10.0, whole_shares=True)
    assert whole["shares"] == 31 and whole["cash_left"] == pytest.approx(1000 - 31 * 31 - 10)


def test_average_basis_matches_the_irs_mutual_fund_example():
    # IRS Publication 564, Table 3: 160 shares for $4,000, then 240 for $4,800, then 10 for $300
    # → 410 shares for $9,100
    first = stocks.average_down(160, 25.0, 240, 20.0)
    second = stocks.average_down(first["shares"], first["average_cost"], 10, 30.0)
    assert second["shares"] == pytest.approx(410)
    assert second["total_cost"] == pytest.approx(9100)
    assert second["average_cost"] == pytest.approx(9100 / 410)


def test_average_basis_with_fees_matches_the_worked_example():
    # thefinancebase.com: $3,000 for 100 shares and $2,000 for 50, $20 fee each → $33.60
    first = stocks.average_down(100, 30.20, 50, 40.0, commission=20.0)
    assert first["average_cost"] == pytest.approx(33.60)


@given(s0=st.floats(1, 1e5), a0=st.floats(10, 1000), drop=st.floats(0.05, 0.9),
       share=st.floats(0.05, 0.95), fee=st.floats(0, 20))
def test_buying_the_computed_shares_reaches_the_target_average(s0, a0, drop, share, fee):
    price = a0 * (1 - drop)
    target = price + share * (a0 - price)
    x = stocks.shares_for_target_average(s0, a0, price, target, commission=fee)
    if fee and x * price < 1e-9 * s0 * a0:  # a fee bigger than the gap is rejected, not solved
        return
    assert stocks.average_down(s0, a0, x, price, commission=fee)["average_cost"] == \
        pytest.approx(target, rel=1e-9)


def test_a_target_outside_the_buy_price_and_the_average_is_unreachable():
    with pytest.raises(InputError) as info:
        stocks.shares_for_target_average(100, 50.0, 40.0, 39.0)
    assert info.value.field == "target_average"


def test_reg_t_long_margin_call_at_two_thirds_of_the_price():
    # Reg T 50 % initial, FINRA 4210(c)(1) 25 % maintenance → call at P·0.5/0.75
    out = stocks.long_margin(100, 60.0)
    assert out["equity"] == pytest.approx(3000.0)
    assert out["margin_call_price"] == pytest.approx(40.0)
    # FINRA 4210(b): at least $2,000 of equity (or the full price when it is less)
    assert stocks.long_margin(10, 300.0)["equity"] == pytest.approx(2000.0)
    assert stocks.long_margin(10, 150.0)["loan"] == pytest.approx(0.0)


@pytest.mark.parametrize(("shares", "price", "requirement"), [
    (1000, 50.0, 15000.0),     # 30 % beats $5/share
    (10000, 5.0, 50000.0),     # $5/share beats 30 %
    (10000, 4.50, 45000.0),    # under $5: 100 % beats $2.50/share
    (50000, 1.0, 125000.0),    # under $5: $2.50/share beats 100 %
])
def test_finra_short_maintenance_examples(shares, price, requirement):
    # FINRA Rule 4210(c) as worked in the NYSE/NASD examples (Silicon Investor, "Margin calls")
    assert stocks.short_maintenance(shares, price) == pytest.approx(requirement)


def test_reg_t_short_initial_requirements():
    # Series 7 practice: $8,000 sold short → $4,000; NYSE/NASD examples: 500 @ $40 → $10,000;
    # 10,000 @ $2 → $25,000 ($2.50 a share)
    assert stocks.short_initial_requirement(200, 40.0) == pytest.approx(4000.0)
    assert stocks.short_initial_requirement(500, 40.0) == pytest.approx(10000.0)
    assert stocks.short_initial_requirement(10000, 2.0) == pytest.approx(25000.0)
    assert stocks.short_initial_requirement(10, 50.0) == pytest.approx(2000.0)  # FINRA minimum


def test_short_margin_call_price_leaves_equity_equal_to_maintenance():
    for shares, price in [(1000, 50.0), (1000, 12.0), (1000, 4.0), (1000, 1.5)]:
        credit = shares * price + stocks.short_initial_requirement(shares, price)
        call = stocks.short_margin_call_price(shares, credit)
        # under $5 the initial deposit is the maintenance requirement itself: the call is at
        # the sale price
        assert call > price if price >= 5 else call == pytest.approx(price)
        assert credit - shares * call == pytest.approx(stocks.short_maintenance(shares, call))
    # above ~$16.67 the classic "credit / 1.3" rule holds
    assert stocks.short_margin_call_price(1000, 75000.0) == pytest.approx(75000 / 1300)


def test_webull_hard_to_borrow_fee_example():
    # Webull: $13.00 × 1.02 = $13.26 → $14; × 1,000 shares = $14,000; × 6 % = $840 a year;
    # / 360 = $2.33 a day
    out = stocks.borrow_fee(1000, 13.0, 0.06, 1)
    assert out["collateral"] == pytest.approx(14000.0)
    assert out["annual_fee"] == pytest.approx(840.0)
    assert out["daily_fee"] == pytest.approx(2.33, abs=0.005)


def test_short_pays_the_borrow_fee_and_the_dividends_it_owes():
    out = stocks.short_sale(200, 48.50, 41.00, days=45, borrow_rate=0.04,
                            dividends_per_share=0.25, commission=1.0)
    fee = 200 * 50 * 0.04 * 45 / 360  # ⌈48.50 × 1.02⌉ = $50
    assert out["borrow_fee"] == pytest.approx(fee)
    assert out["dividends_owed"] == pytest.approx(50.0)
    assert out["net_pnl"] == pytest.approx(200 * 7.5 - fee - 50 - 2)
    flat = stocks.short_sale(200, 48.50, out["breakeven_price"], days=45, borrow_rate=0.04,
                             dividends_per_share=0.25, commission=1.0)
    assert flat["net_pnl"] == pytest.approx(0.0, abs=1e-9)


def test_vector_and_scalar_short_maintenance_agree():
    prices = np.array([1.0, 4.5, 5.0, 50.0])
    assert np.allclose(stocks.short_maintenance(100, prices),
                       [stocks.short_maintenance(100, p) for p in prices])


@pytest.mark.parametrize(("call", "field"), [
    (lambda: stocks.stock_trade(0, 10, 11), "shares"),
    (lambda: stocks.stock_trade(1, 10, 11, buy_commission=-1), "buy_commission"),
    (lambda: stocks.shares_for_investment(5.0, 10.0, commission=10.0), "investment"),
    (lambda: stocks.borrow_fee(100, 10, 0.05, -1), "days"),
    (lambda: stocks.short_sale(100, 10, float("inf")), "cover_price"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
