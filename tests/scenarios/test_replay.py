"""Replaying paths: the real November 2025 BTC path and scripted shocks.

The November expectations are recomputed from the CSV rows with the closed-form isolated
liquidation price (Binance USDⓈ-M, exchange_formulas.md §1.6) and the margin-ratio definition
(§1.5) — a separate, scalar implementation of the replay rules (``november_case`` in
conftest.py) — never typed-in numbers. The replayed position is the risk engine's
(:class:`EnginePosition` on the shipped BTCUSDT table).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import (
    DefensePlan,
    EnginePosition,
    FundingSeries,
    PricePath,
    load_funding,
    load_ohlc,
    replay,
    scripted_path,
)


def generic(side, qty, entry, leverage, mmr, cum=0.0):
    """An isolated linear position with a fixed MMR and maintenance amount (generic venue)."""
    return EnginePosition.open(venue="generic", side=side, qty=qty, entry=entry,
                               leverage=leverage, mmr=mmr, maintenance_amount=cum)


@pytest.fixture(scope="module")
def november(market_files, november_case):
    # the engine, with the shipped Binance BTCUSDT table (no MMR typed in)
    position = EnginePosition.open(venue="binance-usdm", symbol="BTCUSDT", side="long",
                                   qty=november_case.qty, entry=november_case.entry,
                                   leverage=november_case.leverage)
    path = load_ohlc(market_files["btcusdt_perp_4h_2025-11.csv"])
    series = load_funding(market_files["btcusdt_funding_2025-11.csv"])
    return november_case, position, path, series


def test_november_2025_ten_x_long_is_liquidated_when_the_data_says(november):
    case, position, path, series = november
    expected = case.expected()
    result = replay(path, position, funding=series)
    s = result.summary
    assert expected["liquidated"] and s.liquidated
    assert s.liquidation_time == expected["time"]
    assert s.liquidation_bar == expected["bar"] == len(result.series.time) - 1
    assert s.liquidation_price == pytest.approx(expected["price"], rel=1e-12)
    assert s.funding_paid == pytest.approx(expected["funding"], rel=1e-12)
    assert s.net_pnl == pytest.approx(-case.margin) and s.final_equity == 0.0
    # The closed-form LP at entry, E·(1 − 1/L)/(1 − MMR) with cum = 0, before funding moved it.
    assert s.initial_liquidation_price == pytest.approx(case.entry * 0.9 / (1 - case.tier["mmr"]))
    assert s.liquidation_price > s.initial_liquidation_price  # longs paid funding
    # Consistent with the data README: Nov 4 was the first day under 100k.
    assert s.liquidation_time.startswith("2025-11-04")


def test_november_2025_with_a_two_top_up_plan_survives_the_month(november):
    case, position, path, series = november
    plan = DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=2)
    expected = case.expected((plan.add, plan.at_margin_ratio, plan.max_times))
    s = replay(path, position, funding=series, plan=plan).summary
    assert not expected["liquidated"] and s.survived
    assert [(t.time, t.price) for t in s.top_ups] == [
        (t, pytest.approx(p, rel=1e-12)) for t, p in expected["top_ups"]]
    assert s.top_up_total == 2 * plan.add
    assert s.funding_paid == pytest.approx(expected["funding"], rel=1e-12)
    assert s.final_equity == pytest.approx(expected["equity"], rel=1e-12)
    assert s.net_pnl == pytest.approx(expected["equity"] - case.margin - 2 * plan.add,
                                      rel=1e-12)
    assert s.worst_margin_ratio == pytest.approx(plan.at_margin_ratio)


def test_november_2025_with_one_top_up_is_liquidated_later(november):
    case, position, path, series = november
    plan = DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=1)
    expected = case.expected((plan.add, plan.at_margin_ratio, plan.max_times))
    unplanned = replay(path, position, funding=series).summary
    s = replay(path, position, funding=series, plan=plan).summary
    assert s.liquidated and s.liquidation_time == expected["time"]
    assert s.liquidation_time > unplanned.liquidation_time
    assert s.liquidation_price == pytest.approx(expected["price"], rel=1e-12)
    assert s.net_pnl == pytest.approx(-(case.margin + plan.add))


def test_the_report_serializes_to_json(november):
    _, position, path, series = november
    result = replay(path, position, funding=series,
                    plan=DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=2))
    text = json.dumps(result.to_dict())
    back = json.loads(text)
    assert back["summary"]["survived"] is True and len(back["series"]["time"]) == len(path)
    rows = result.series.to_rows()
    assert rows[-1]["cumulative_funding"] == pytest.approx(result.summary.funding_paid)


def test_a_ten_percent_crash_in_four_hours_liquidates_a_10x_long_at_its_lp():
    path = scripted_path(100_000.0, "-10%/4h, 0%/1d", bar="1h")
    long = generic("long", 0.1, 100_000.0, 10, 0.004)
    s = replay(path, long).summary
    lp = float(long.liquidation_price())
    assert s.liquidated and s.liquidation_price == lp  # no funding: the LP never moved
    bar = s.liquidation_bar
    assert path.low[bar] <= lp < path.open[bar]  # the first bar whose low reaches it
    assert (path.low[:bar] > lp).all()


def test_the_short_gains_and_receives_funding_over_the_same_path():
    path = scripted_path(100_000.0, "-10%/4h, 0%/1d", bar="1h")
    short = generic("short", 0.1, 100_000.0, 10, 0.004)
    funding = FundingSeries.constant(0.0001, "2025-11-01", "2025-11-03")
    result = replay(path, short, funding=funding)
    s = result.summary
    assert s.survived and s.funding_paid < 0  # positive rate: shorts receive
    rates, counts = funding.per_bar(path)
    expected_funding = -sum(0.1 * path.open[i] * rates[i] for i in np.flatnonzero(counts))
    assert s.funding_paid == pytest.approx(expected_funding)
    assert s.final_equity == pytest.approx(short.margin + 0.1 * 10_000.0 - s.funding_paid)


def test_a_bar_opening_beyond_the_liquidation_price_liquidates_at_the_open():
    t = np.array(["2025-11-01T00:00", "2025-11-01T01:00"], dtype="datetime64[s]")
    path = PricePath(t, [100.0, 85.0], [100.0, 86.0], [99.0, 84.0], [99.5, 85.5], 3600)
    long = generic("long", 1.0, 100.0, 10, 0.004)
    s = replay(path, long).summary
    assert s.liquidation_bar == 1 and s.liquidation_price == 85.0


def test_a_plan_already_triggered_at_the_open_tops_up_at_once():
    t = np.array(["2025-11-01T00:00"], dtype="datetime64[s]")
    path = PricePath(t, [100.0], [100.0], [100.0], [100.0], 3600)
    pos = EnginePosition.open(venue="generic", mmr=0.004, side="long", qty=1.0, entry=100.0,
                              margin=1.0)  # MM 0.4, ratio 0.4 at 100
    s = replay(path, pos, plan=DefensePlan(add=0.2, at_margin_ratio=0.3, max_times=3)).summary
    # 0.4/1.0 ≥ 0.3 → add; 0.4/1.2 = 0.33 ≥ 0.3 → add again; 0.4/1.4 = 0.29 < 0.3 → stop
    assert [tu.price for tu in s.top_ups] == [100.0, 100.0]
    assert s.survived and s.top_up_total == pytest.approx(0.4)


def test_replay_input_is_checked():
    long = generic("long", 0.1, 100.0, 10, 0.004)
    with pytest.raises(InputError):
        replay([1, 2, 3], long)
    with pytest.raises(InputError) as err:
        DefensePlan(add=100.0, at_margin_ratio=1.5)
    assert err.value.field == "plan.at_margin_ratio"
