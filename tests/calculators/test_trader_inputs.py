"""Funding by notional and days; currencies never assumed (CFDs); the short already in a call;
forex sizes rounded down to a lot step. Expected numbers are closed forms recomputed here."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginscope.calculators import REGISTRY
from marginscope.errors import InputError
from marginscope.risk.forex import lots_down


def run(name, **body):
    return REGISTRY[name].run(body)


def test_funding_by_notional_and_days_is_notional_times_rate_times_intervals():
    out = run(
        "funding", side="long", notional=50_000, mark_price=95_000, funding_rate=-0.0001, days=7
    )
    assert out["intervals"] == 7 * 24 / 8
    assert out["total_paid"] == pytest.approx(50_000 * -0.0001 * 21)  # −105: received
    assert out["qty"] == pytest.approx(50_000 / 95_000)
    same = run(
        "funding",
        side="long",
        qty=50_000 / 95_000,
        mark_price=95_000,
        funding_rate=-0.0001,
        intervals=21,
    )
    assert same["total_paid"] == pytest.approx(out["total_paid"])


def test_funding_notional_of_an_inverse_contract_is_in_usd():
    out = run(
        "funding",
        side="short",
        notional=10_000,
        mark_price=50_000,
        funding_rate=0.0001,
        intervals=1,
        product="inverse",
        contract_size=100,
    )
    assert out["qty"] == pytest.approx(100)  # 10,000 USD of 100-USD contracts
    assert out["notional"] == pytest.approx(10_000)
    assert out["total_paid"] == pytest.approx(-10_000 / 50_000 * 0.0001)  # coin, received


def test_funding_today_s_requests_answer_as_before():
    example = REGISTRY["funding"].example
    out = REGISTRY["funding"].run(example)
    expected = example["qty"] * example["mark_price"] * example["funding_rate"] * 21
    assert out["total_paid"] == pytest.approx(expected)


@pytest.mark.parametrize("body", [{}, {"qty": 1.0, "notional": 1000.0}])
def test_funding_needs_exactly_one_of_qty_and_notional(body):
    with pytest.raises(InputError) as error:
        run("funding", side="long", mark_price=100.0, **body)
    assert error.value.field == "qty"


def test_cfd_margin_asks_for_the_rate_when_currencies_differ():
    example = REGISTRY["cfd-margin"].example
    with pytest.raises(InputError) as error:
        run("cfd-margin", **example, instrument_currency="GBP", account_currency="USD")
    assert error.value.field == "conversion_rate"
    plain = run("cfd-margin", **example)
    converted = run(
        "cfd-margin",
        **example,
        instrument_currency="GBP",
        account_currency="USD",
        conversion_rate=1.27,
    )
    assert converted["margin"] == pytest.approx(plain["margin"] * 1.27)
    assert (plain["currency"], converted["currency"]) == ("the instrument's currency", "USD")


def test_cfd_pnl_and_financing_convert_every_money_figure():
    pnl = REGISTRY["cfd-pnl"].example
    a, b = (
        run("cfd-pnl", **pnl),
        run(
            "cfd-pnl",
            **pnl,
            instrument_currency="GBP",
            account_currency="EUR",
            conversion_rate=1.17,
        ),
    )
    for key in ("net_pnl", "gross_pnl", "pnl_per_point", "margin"):
        assert b[key] == pytest.approx(a[key] * 1.17)
    assert b["return_on_margin"] == pytest.approx(a["return_on_margin"])  # a ratio: unchanged
    fin = REGISTRY["cfd-financing"].example
    c, d = run("cfd-financing", **fin), run("cfd-financing", **fin, conversion_rate=2.0)
    assert d["total"] == pytest.approx(2 * c["total"])


def test_cfd_stops_size_a_risk_given_in_the_account_currency():
    # risk 100 USD with GBP/USD 1.25 is 80 GBP; a 40-point stop at £1/point per CFD → 2 CFDs
    out = run(
        "cfd-stops",
        side="long",
        entry_price=8250.0,
        stop_points=40,
        risk_amount=100,
        instrument_currency="GBP",
        account_currency="USD",
        conversion_rate=1.25,
    )
    assert out["size"] == pytest.approx(100 / 1.25 / 40)
    assert out["risk_amount"] == pytest.approx(100)
    assert out["currency"] == "USD"


def test_a_short_opened_below_maintenance_is_in_a_call_at_once():
    example = REGISTRY["short-sale"].example
    assert run("short-sale", **example)["in_call_at_open"] is False
    broke = run("short-sale", **example, deposit=0)
    # equity = proceeds − value = 0 at the sale price, below FINRA's 30 %: a call at once
    assert broke["in_call_at_open"] is True
    assert broke["margin_call_price"] <= example["short_price"]


def test_forex_size_is_also_given_rounded_down_to_the_lot_step():
    example = REGISTRY["forex-position-size"].example
    out = run("forex-position-size", **{**example, "stop_pips": 37})
    assert out["lots"] == pytest.approx(100 / (37 * 10))  # $100 risk, $10 per pip per lot
    assert out["lots_tradable"] == math.floor(out["lots"] * 100) / 100
    assert out["risk_amount_tradable"] <= out["risk_amount"]


@given(lots=st.floats(0, 1000, allow_nan=False), step=st.sampled_from([0.01, 0.1, 1, 0.001]))
def test_lots_down_is_a_multiple_of_the_step_within_one_step(lots, step):
    rounded = float(lots_down(lots, step))
    assert rounded <= lots + 1e-9 and lots - rounded < step + 1e-9
    assert abs(rounded / step - round(rounded / step)) < 1e-6


def test_lots_down_keeps_exact_multiples():
    assert float(lots_down(0.3, 0.1)) == 0.3
