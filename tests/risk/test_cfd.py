"""CFDs and spread bets: margin, financing, P&L and stops against IG's and CMC's published
examples and ESMA's leverage limits."""

from __future__ import annotations

import pytest

from marginscope.errors import InputError
from marginscope.risk import cfd


def test_ig_and_cmc_margin_examples():
    # IG CFD examples: 2,000 BT CFDs at 314.7p, 5 % → 31,470p = £314.70
    assert cfd.cfd_margin(2000, 314.7, 0.05)["margin"] == pytest.approx(31470.0)
    # IG spread betting examples: £10 a point on the FTSE 100 at 7114.5, 0.5 % → £355.73
    assert cfd.cfd_margin(10, 7114.5, 0.005)["margin"] == pytest.approx(355.73, abs=0.005)
    # IG Australia: 1,000 BHP at A$18.395 (mid), 5 % → A$919.75
    assert cfd.cfd_margin(1000, 18.395, 0.05)["margin"] == pytest.approx(919.75)
    # CMC Markets: 1,000 ABC CFDs at 1600p, 5 % → £800
    assert cfd.cfd_margin(1000, 16.00, 0.05)["margin"] == pytest.approx(800.0)
    # CMC Markets: €50,000 EUR/USD at 1.34665, 3 % → $2,019.97
    assert cfd.cfd_margin(50_000, 1.34665, 0.03)["margin"] == pytest.approx(2019.97, abs=0.01)


def test_esma_leverage_limits_by_underlying():
    # ESMA 2018 CFD product intervention (ESMA35-43-1000)
    assert cfd.esma_leverage("major_fx") == 30
    assert cfd.esma_leverage("minor_fx_gold_major_index") == 20
    assert cfd.esma_leverage("commodity_minor_index") == 10
    assert cfd.esma_leverage("equity_other") == 5
    assert cfd.esma_leverage("crypto") == 2
    with pytest.raises(InputError) as info:
        cfd.esma_leverage("bonds")
    assert info.value.field == "category"


def test_ig_financing_long_ftse_spread_bet():
    # IG "Why is overnight funding charged": long £6/pt FTSE 100, 10pm price 7720, SONIA 0.48 %
    # → £46,320 × 2.98 % ÷ 365 = £3.78. The page's formula line now says a 3 % admin fee, but
    # its arithmetic (2.98 %) uses the 2.5 % fee of the page's earlier version.
    out = cfd.overnight_financing("long", 6, 7720, admin_fee=0.025, benchmark_rate=0.0048,
                                  day_count=365)
    assert out["notional"] == pytest.approx(46320.0)
    assert out["per_night"] == pytest.approx(3.78, abs=0.005)


def test_ig_financing_short_us_tech_100_contracts():
    # IG: short 2 US Tech 100 contracts, $100 per contract, price 6957, SOFR 1.53 % →
    # $1,391,400 × 0.97 % ÷ 360 = $37.49 (again 2.5 % admin in the arithmetic)
    out = cfd.overnight_financing("short", 2, 6957, admin_fee=0.025, benchmark_rate=0.0153,
                                  day_count=360, contract_value=100)
    assert out["notional"] == pytest.approx(1_391_400.0)
    assert out["per_night"] == pytest.approx(37.49, abs=0.005)


def test_ig_australia_share_cfd_funding():
    # IG Australia: 1,000 BHP at A$18.50, (1.9 % + 3 %) ÷ 360 → A$2.52
    out = cfd.overnight_financing("long", 1000, 18.50, admin_fee=0.03, benchmark_rate=0.019,
                                  day_count=360)
    assert out["per_night"] == pytest.approx(2.52, abs=0.005)


def test_a_short_is_credited_when_the_benchmark_exceeds_the_admin_fee():
    out = cfd.overnight_financing("short", 10, 100.0, admin_fee=0.025, benchmark_rate=0.05,
                                  day_count=360, nights=3)
    assert out["per_night"] < 0
    assert out["total"] == pytest.approx(3 * out["per_night"])


def test_ig_spread_bet_and_cfd_profits():
    # IG spread betting: buy £10/pt FTSE at 7114.5, sell at 7149.5 → 35 points, £350
    ftse = cfd.cfd_pnl("long", 10, 7114.5, 7149.5)
    assert ftse["points"] == pytest.approx(35.0) and ftse["gross_pnl"] == pytest.approx(350.0)
    # IG DFB: sell £10/pt at 5925, buy back at 5953 → −£280; buy at 5926, sell at 5952 → £260
    assert cfd.cfd_pnl("short", 10, 5925, 5953)["gross_pnl"] == pytest.approx(-280.0)
    assert cfd.cfd_pnl("long", 10, 5926, 5952)["gross_pnl"] == pytest.approx(260.0)
    # IG CFD: 2,000 BT CFDs 314.7p → 354.2p = 79,000p (£790); IG AU: 1,000 BHP 18.40 → 19.04
    assert cfd.cfd_pnl("long", 2000, 314.7, 354.2)["gross_pnl"] == pytest.approx(79000.0)
    assert cfd.cfd_pnl("long", 1000, 18.40, 19.04)["gross_pnl"] == pytest.approx(640.0)
    # CMC: 1,000 ABC CFDs 1600p → 1625p: £250; → 1549p: −£510
    assert cfd.cfd_pnl("long", 1000, 16.00, 16.25)["gross_pnl"] == pytest.approx(250.0)
    assert cfd.cfd_pnl("long", 1000, 16.00, 15.49)["gross_pnl"] == pytest.approx(-510.0)


def test_stake_per_pip_uses_the_pip_as_the_point():
    # Intertrader: $100 a pip on EUR/USD bought at 1.3126, sold at 1.3183 → $5,700
    out = cfd.cfd_pnl("long", 100, 1.3126, 1.3183, point_size=0.0001)
    assert out["points"] == pytest.approx(57.0)
    assert out["gross_pnl"] == pytest.approx(5700.0)
    assert out["pnl_per_point"] == pytest.approx(100.0)


def test_commission_is_charged_on_both_sides_with_a_minimum():
    out = cfd.cfd_pnl("long", 100, 50.0, 55.0, commission_rate=0.001, min_commission=10.0)
    assert out["commission"] == pytest.approx(10.0 + 10.0)   # 5.00 and 5.50 lifted to 10
    big = cfd.cfd_pnl("long", 10_000, 50.0, 55.0, commission_rate=0.001, min_commission=10.0)
    assert big["commission"] == pytest.approx(500.0 + 550.0)
    assert big["net_pnl"] == pytest.approx(50_000 - 1050)


def test_ig_oil_stop_example():
    # IG: buy £5/pt US Light Crude at 10059, stop 45 points away → 10014; gapped to 10005 →
    # −£270; without a stop, closed at 9945 → −£570
    assert cfd.level_from_points("long", 10059, 45) == pytest.approx(10014.0)
    assert cfd.cfd_pnl("long", 5, 10059, 10005)["gross_pnl"] == pytest.approx(-270.0)
    assert cfd.cfd_pnl("long", 5, 10059, 9945)["gross_pnl"] == pytest.approx(-570.0)


def test_stop_for_a_money_loss_and_size_for_a_risk_are_inverse():
    stop = cfd.stop_for_loss("short", 3, 150.0, 90.0, contract_value=10)
    assert stop == pytest.approx(153.0)
    assert cfd.size_for_risk(90.0, 150.0, stop, contract_value=10) == pytest.approx(3.0)
    # the loss at that stop is the budget
    assert cfd.cfd_pnl("short", 3, 150.0, stop, contract_value=10)["gross_pnl"] == \
        pytest.approx(-90.0)


@pytest.mark.parametrize(("call", "field"), [
    (lambda: cfd.cfd_margin(1, 100, 0), "margin_rate"),
    (lambda: cfd.cfd_margin(0, 100, 0.05), "size"),
    (lambda: cfd.overnight_financing("flat", 1, 100, admin_fee=0.03, benchmark_rate=0.01),
     "side"),
    (lambda: cfd.overnight_financing("long", 1, 100, admin_fee=0.03, benchmark_rate=0.01,
                                     day_count=0), "day_count"),
    (lambda: cfd.level_from_points("long", 100, 200), "stop_points"),
    (lambda: cfd.stop_for_loss("long", 1, 100, 150), "max_loss"),
    (lambda: cfd.size_for_risk(10, 100, 100), "stop_loss"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
