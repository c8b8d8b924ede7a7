"""Crypto spot: fees, P&L, average cost, market cap and staking yield against published numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginscope.errors import InputError
from marginscope.risk import spot


def test_binance_charges_the_fee_in_the_asset_received():
    # Binance FAQ "What is Binance Spot Trading Fee and How to Calculate": 10 ETH at 3,452.55
    # USDT, 0.1 %: a buy costs 0.01 ETH, a sell 34.5255 USDT.
    assert spot.trade_fee("buy", 10, 3452.55, 0.001) == pytest.approx(0.01)
    assert spot.trade_fee("sell", 10, 3452.55, 0.001) == pytest.approx(34.5255)


def test_spot_round_trip_with_fees_taken_in_the_asset_received():
    # independent recomputation: 0.25 BTC bought at 60,000, 0.1 % fee → 0.24975 BTC held,
    # sold at 66,000 less 0.1 % → 16,467.0165 USDT for 15,000 spent
    out = spot.spot_pnl(0.25, 60000, 66000, buy_fee_rate=0.001, sell_fee_rate=0.001)
    assert out["qty_sold"] == pytest.approx(0.24975)
    assert out["proceeds"] == pytest.approx(0.24975 * 66000 * 0.999)
    assert out["net_pnl"] == pytest.approx(16467.0165 - 15000)
    assert out["gross_pnl"] == pytest.approx(1500.0)
    assert out["net_pnl"] == pytest.approx(out["gross_pnl"] - out["fees"])


@pytest.mark.parametrize("fee_asset", ["received", "quote"])
def test_selling_at_the_breakeven_price_nets_zero(fee_asset):
    out = spot.spot_pnl(1.3, 2500.0, 2600.0, buy_fee_rate=0.002, sell_fee_rate=0.001,
                        fee_asset=fee_asset)
    at_breakeven = spot.spot_pnl(1.3, 2500.0, out["breakeven_price"], buy_fee_rate=0.002,
                                 sell_fee_rate=0.001, fee_asset=fee_asset)
    assert at_breakeven["net_pnl"] == pytest.approx(0.0, abs=1e-9)
    assert out["breakeven_price"] > 2500.0


def test_quote_fees_are_added_to_the_cost_and_taken_from_the_proceeds():
    out = spot.spot_pnl(2.0, 100.0, 110.0, buy_fee_rate=0.01, sell_fee_rate=0.01,
                        fee_asset="quote")
    assert out["cost"] == pytest.approx(202.0)
    assert out["proceeds"] == pytest.approx(217.8)
    assert out["net_pnl"] == pytest.approx(15.8)


def test_scalar_zero_d_and_vector_inputs_agree(kind):
    out = spot.spot_pnl(kind(0.5), kind(50000.0), kind(52000.0), buy_fee_rate=0.001,
                        sell_fee_rate=0.001)
    assert kind.out(out["net_pnl"]) == pytest.approx(0.5 * 0.999 * 52000 * 0.999 - 25000)


def test_average_cost_matches_the_irs_average_basis_example():
    # IRS Publication 564, Table 3: $4,000 at $25, $4,800 at $20, $300 reinvested at $30 →
    # 410 shares costing $9,100 (average basis $22.195…), no fees
    qty = [4000 / 25, 4800 / 20, 300 / 30]
    out = spot.average_cost(qty, [25, 20, 30], fee_rate=0.0)
    assert out["total_qty"] == pytest.approx(410)
    assert out["total_cost"] == pytest.approx(9100)
    assert out["average_cost"] == pytest.approx(9100 / 410)


def test_fees_taken_in_coins_raise_the_average_cost_by_one_over_one_minus_fee():
    out = spot.average_cost([0.1, 0.2], [60000, 50000], fee_rate=0.001)
    assert out["average_price"] == pytest.approx((6000 + 10000) / 0.3)
    assert out["average_cost"] == pytest.approx(out["average_price"] / 0.999)
    quote = spot.average_cost([0.1, 0.2], [60000, 50000], fee_rate=0.001, fee_asset="quote")
    assert quote["average_cost"] == pytest.approx(out["average_price"] * 1.001)


def test_average_cost_needs_at_least_one_fill_array():
    with pytest.raises(InputError) as info:
        spot.average_cost(1.0, 100.0)
    assert info.value.field == "fills"


def test_market_cap_round_trips_through_price():
    # CoinMarketCap: market cap = price × circulating supply
    cap = spot.market_cap(3500.0, 120_000_000)
    assert cap == pytest.approx(4.2e11)
    assert spot.price_for_market_cap(cap, 120_000_000) == pytest.approx(3500.0)
    assert spot.fully_diluted_valuation(0.5, 45e9) == pytest.approx(22.5e9)


def test_apy_matches_the_regulation_dd_examples():
    # 12 CFR 1030 Appendix A, tiering method A, daily compounding: 5.25 % pays $53.90 on $1,000
    # (APY 5.39 %), 5.50 % pays $452.29 on $8,000, 5.75 % pays $1,183.61 on $20,000
    assert 1000 * spot.apy_from_apr(0.0525, 365) == pytest.approx(53.90, abs=0.005)
    assert 8000 * spot.apy_from_apr(0.055, 365) == pytest.approx(452.29, abs=0.005)
    assert 20000 * spot.apy_from_apr(0.0575, 365) == pytest.approx(1183.61, abs=0.005)
    # Phroogal APY glossary: $1,000 at 6 %: monthly pays $61.68 (6.17 %), daily $61.83 (6.18 %)
    assert 1000 * spot.apy_from_apr(0.06, 12) == pytest.approx(61.68, abs=0.005)
    assert 1000 * spot.apy_from_apr(0.06, 365) == pytest.approx(61.83, abs=0.005)
    assert spot.apy_from_apr(0.06, 1) == pytest.approx(0.06)
    assert spot.apy_from_apr(0.06, 0) == pytest.approx(0.06)  # rewards not restaked


def test_apy_earned_matches_the_regulation_dd_periodic_statement_example():
    # Appendix A Part II, as worked by a credit-union help page (cubase.org): $3.36 earned on an
    # average balance of $1,436.61 over 31 days → 2.78875 %
    assert 100 * spot.apy_from_earnings(3.36, 1436.61, 31) == pytest.approx(2.78875, abs=5e-5)


@given(apr=st.floats(0.0, 5.0), n=st.sampled_from([0, 1, 4, 12, 52, 365, 8760]))
def test_apr_to_apy_and_back_is_the_identity(apr, n):
    assert spot.apr_from_apy(spot.apy_from_apr(apr, n), n) == pytest.approx(apr, abs=1e-9)
    assert spot.apy_from_apr(apr, n) >= apr - 1e-12  # compounding never lowers the yield


def test_staking_over_a_year_earns_the_apy_and_the_price_change_sets_the_value():
    out = spot.staking_growth(32.0, 0.035, 365, compounds_per_year=365, price_start=3500.0,
                              price_end=3000.0)
    assert out["token_return"] == pytest.approx(spot.apy_from_apr(0.035, 365))
    assert out["value_end"] == pytest.approx(out["tokens_end"] * 3000.0)
    # the break-even price leaves the value unchanged
    assert out["breakeven_price"] * out["tokens_end"] == pytest.approx(32.0 * 3500.0)


def test_simple_staking_grows_linearly_with_time():
    out = spot.staking_growth(100.0, 0.1, 182.5, compounds_per_year=0)
    assert out["rewards"] == pytest.approx(5.0)


def test_fractional_compounding_frequency_is_rejected_naming_the_field():
    with pytest.raises(InputError) as info:
        spot.apy_from_apr(0.05, 2.5)
    assert info.value.field == "compounds_per_year"


@pytest.mark.parametrize(("call", "field"), [
    (lambda: spot.spot_pnl(-1, 100, 110), "qty"),
    (lambda: spot.spot_pnl(1, float("nan"), 110), "entry_price"),
    (lambda: spot.spot_pnl(1, 100, 110, buy_fee_rate=0.2), "buy_fee_rate"),
    (lambda: spot.spot_pnl(1, 100, 110, fee_asset="bnb"), "fee_asset"),
    (lambda: spot.market_cap(1.0, 0), "circulating_supply"),
    (lambda: spot.apy_from_earnings(-2000, 1000, 30), "rewards"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
