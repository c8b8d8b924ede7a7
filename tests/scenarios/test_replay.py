"""Replaying paths: the real November 2025 BTC path and scripted shocks.

The November expectations are recomputed here from the CSV rows with the closed-form isolated
liquidation price (Binance USDⓈ-M, exchange_formulas.md §1.6) and the margin-ratio definition
(§1.5) — a separate, scalar implementation of the replay rules — never typed-in numbers.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import (
    DefensePlan,
    FundingSeries,
    LinearPosition,
    PricePath,
    load_funding,
    load_ohlc,
    replay,
    scripted_path,
)

QTY = 0.1  # BTC: 0.1 × ~109,557 ≈ 10,956 USDT notional, inside bracket 1 (< 50,000)
LEVERAGE = 10


def bracket_one() -> dict:
    """BTCUSDT bracket 1 from the tier table shipped with the package."""
    ref = resources.files("marginscope.risk").joinpath("data", "tiers", "binance-usdm.json")
    return json.loads(ref.read_text())["tables"]["BTCUSDT"]["tiers"][0]


def read_rows(file):
    with open(file, newline="") as fh:
        return list(csv.DictReader(fh))


def floor_8h(text: str) -> str:
    t = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return t.replace(hour=t.hour // 8 * 8, minute=0, second=0, microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def independent_replay(klines, funding, entry, margin, mmr, cum, plan=None):
    """Scalar long-only recomputation: funding at bar opens, top-ups at the ratio's price,
    liquidation when the low reaches LP = (WB + cum − Q·E)/(Q·MMR − Q)."""
    rates = {floor_8h(r["funding_time_utc"]): float(r["funding_rate"]) for r in funding}
    first = klines[0]["open_time_utc"]
    paid, top_ups = 0.0, []
    add, ratio, times = plan if plan else (0.0, 1.0, 0)
    for i, row in enumerate(klines):
        t, o, low = row["open_time_utc"], float(row["open"]), float(row["low"])
        if t != first and t in rates:
            margin -= QTY * o * rates[t]
            paid += QTY * o * rates[t]
        while len(top_ups) < times:
            # equity = MM/ratio  ⇔  WB + Q(P − E) = (Q·P·MMR − cum)/ratio
            trigger = (QTY * entry - margin - cum / ratio) / (QTY - QTY * mmr / ratio)
            if low > trigger:
                break
            top_ups.append((t, min(o, trigger)))
            margin += add
        lp = (margin + cum - QTY * entry) / (QTY * mmr - QTY)
        if low <= lp:
            return {"liquidated": True, "time": t, "bar": i, "price": lp, "funding": paid,
                    "top_ups": top_ups, "margin": margin}
    close = float(klines[-1]["close"])
    return {"liquidated": False, "funding": paid, "top_ups": top_ups, "margin": margin,
            "equity": margin + QTY * (close - entry)}


@pytest.fixture(scope="module")
def november(market_files):
    klines = read_rows(market_files["btcusdt_perp_4h_2025-11.csv"])
    funding = read_rows(market_files["btcusdt_funding_2025-11.csv"])
    tier = bracket_one()
    entry = float(klines[0]["open"])  # Nov 1 00:00 UTC 4h-bar open
    assert tier["floor"] <= QTY * entry < tier["cap"] and tier["max_leverage"] >= LEVERAGE
    position = LinearPosition.from_leverage("long", QTY, entry, LEVERAGE, tier["mmr"],
                                            tier["cum"])
    path = load_ohlc(market_files["btcusdt_perp_4h_2025-11.csv"])
    series = load_funding(market_files["btcusdt_funding_2025-11.csv"])
    return klines, funding, tier, entry, position, path, series


def test_november_2025_ten_x_long_is_liquidated_when_the_data_says(november):
    klines, funding, tier, entry, position, path, series = november
    margin = QTY * entry / LEVERAGE
    expected = independent_replay(klines, funding, entry, margin, tier["mmr"], tier["cum"])
    result = replay(path, position, funding=series)
    s = result.summary
    assert expected["liquidated"] and s.liquidated
    assert s.liquidation_time == expected["time"]
    assert s.liquidation_bar == expected["bar"] == len(result.series.time) - 1
    assert s.liquidation_price == pytest.approx(expected["price"], rel=1e-12)
    assert s.funding_paid == pytest.approx(expected["funding"], rel=1e-12)
    assert s.net_pnl == pytest.approx(-margin) and s.final_equity == 0.0
    # The closed-form LP at entry, E·(1 − 1/L)/(1 − MMR) with cum = 0, before funding moved it.
    assert s.initial_liquidation_price == pytest.approx(entry * 0.9 / (1 - tier["mmr"]))
    assert s.liquidation_price > s.initial_liquidation_price  # longs paid funding
    # Consistent with the data README: Nov 4 was the first day under 100k.
    assert s.liquidation_time.startswith("2025-11-04")


def test_november_2025_with_a_two_top_up_plan_survives_the_month(november):
    klines, funding, tier, entry, position, path, series = november
    plan = DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=2)
    margin = QTY * entry / LEVERAGE
    expected = independent_replay(klines, funding, entry, margin, tier["mmr"], tier["cum"],
                                  plan=(plan.add, plan.at_margin_ratio, plan.max_times))
    s = replay(path, position, funding=series, plan=plan).summary
    assert not expected["liquidated"] and s.survived
    assert [(t.time, t.price) for t in s.top_ups] == [
        (t, pytest.approx(p, rel=1e-12)) for t, p in expected["top_ups"]]
    assert s.top_up_total == 2 * plan.add
    assert s.funding_paid == pytest.approx(expected["funding"], rel=1e-12)
    assert s.final_equity == pytest.approx(expected["equity"], rel=1e-12)
    assert s.net_pnl == pytest.approx(expected["equity"] - margin - 2 * plan.add, rel=1e-12)
    assert s.worst_margin_ratio == pytest.approx(plan.at_margin_ratio)


def test_november_2025_with_one_top_up_is_liquidated_later(november):
    klines, funding, tier, entry, position, path, series = november
    plan = DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=1)
    margin = QTY * entry / LEVERAGE
    expected = independent_replay(klines, funding, entry, margin, tier["mmr"], tier["cum"],
                                  plan=(plan.add, plan.at_margin_ratio, plan.max_times))
    unplanned = replay(path, position, funding=series).summary
    s = replay(path, position, funding=series, plan=plan).summary
    assert s.liquidated and s.liquidation_time == expected["time"]
    assert s.liquidation_time > unplanned.liquidation_time
    assert s.liquidation_price == pytest.approx(expected["price"], rel=1e-12)
    assert s.net_pnl == pytest.approx(-(margin + plan.add))


def test_the_report_serializes_to_json(november):
    *_, position, path, series = november
    result = replay(path, position, funding=series,
                    plan=DefensePlan(add=1_000.0, at_margin_ratio=0.8, max_times=2))
    text = json.dumps(result.to_dict())
    back = json.loads(text)
    assert back["summary"]["survived"] is True and len(back["series"]["time"]) == len(path)
    rows = result.series.to_rows()
    assert rows[-1]["cumulative_funding"] == pytest.approx(result.summary.funding_paid)


def test_a_ten_percent_crash_in_four_hours_liquidates_a_10x_long_at_its_lp():
    path = scripted_path(100_000.0, "-10%/4h, 0%/1d", bar="1h")
    long = LinearPosition.from_leverage("long", 0.1, 100_000.0, 10, 0.004)
    s = replay(path, long).summary
    lp = float(long.liquidation_price())
    assert s.liquidated and s.liquidation_price == lp  # no funding: the LP never moved
    bar = s.liquidation_bar
    assert path.low[bar] <= lp < path.open[bar]  # the first bar whose low reaches it
    assert (path.low[:bar] > lp).all()


def test_the_short_gains_and_receives_funding_over_the_same_path():
    path = scripted_path(100_000.0, "-10%/4h, 0%/1d", bar="1h")
    short = LinearPosition.from_leverage("short", 0.1, 100_000.0, 10, 0.004)
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
    long = LinearPosition.from_leverage("long", 1.0, 100.0, 10, 0.004)
    s = replay(path, long).summary
    assert s.liquidation_bar == 1 and s.liquidation_price == 85.0


def test_a_plan_already_triggered_at_the_open_tops_up_at_once():
    t = np.array(["2025-11-01T00:00"], dtype="datetime64[s]")
    path = PricePath(t, [100.0], [100.0], [100.0], [100.0], 3600)
    pos = LinearPosition("long", 1.0, 100.0, 1.0, 0.004)  # MM 0.4, ratio 0.4 at 100
    s = replay(path, pos, plan=DefensePlan(add=0.2, at_margin_ratio=0.3, max_times=3)).summary
    # 0.4/1.0 ≥ 0.3 → add; 0.4/1.2 = 0.33 ≥ 0.3 → add again; 0.4/1.4 = 0.29 < 0.3 → stop
    assert [tu.price for tu in s.top_ups] == [100.0, 100.0]
    assert s.survived and s.top_up_total == pytest.approx(0.4)


def test_replay_input_is_checked():
    long = LinearPosition.from_leverage("long", 0.1, 100.0, 10, 0.004)
    with pytest.raises(InputError):
        replay([1, 2, 3], long)
    with pytest.raises(InputError) as err:
        DefensePlan(add=100.0, at_margin_ratio=1.5)
    assert err.value.field == "plan.at_margin_ratio"
