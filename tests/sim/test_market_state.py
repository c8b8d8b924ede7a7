"""Market features come from the shipped real data (numbers checked against the files)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from marginscope.market.snapshot import snapshot_paths
from marginscope.sim.market_state import market_state


@pytest.fixture(scope="module")
def state():
    return market_state("2025-10-01", "2025-11-30")


def _daily_rows() -> dict[str, dict[str, str]]:
    path = next(p for p in snapshot_paths() if p.name == "btc_daily_2025.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    key = next(k for k in rows[0] if k.lower() in ("date", "time", "timestamp"))
    return {row[key][:10]: row for row in rows}


def test_depth_on_the_month_low_recomputed_from_the_daily_file(state):
    rows = _daily_rows()
    high = max(float(r["high"]) for d, r in rows.items() if d <= "2025-11-21")
    expected = 1 - float(rows["2025-11-21"]["low"]) / high
    assert state.depth[state.index("2025-11-21")] == pytest.approx(expected)
    assert expected == pytest.approx(0.3608, abs=1e-4)   # README: 126,198 high, 80,660 low
    assert state.close[state.index("2025-11-14")] == pytest.approx(
        float(rows["2025-11-14"]["close"]))


def test_round_number_breaks_fall_on_the_detected_days(state):
    days = [str(d) for d in state.days[state.breaks > 0]]
    assert days == ["2025-11-04", "2025-11-13", "2025-11-18", "2025-11-20"]


def test_negative_funding_share_from_the_binance_prints(state):
    share = dict(zip((str(d) for d in state.days), state.negative_funding, strict=True))
    assert share["2025-11-22"] == 0
    assert share["2025-11-23"] == pytest.approx(1 / 3)   # the 16:00 print turned negative
    assert share["2025-10-15"] == 0                       # no prints collected in October
    assert state.funding_prints[state.index("2025-11-10")] == 3


def test_hourly_prices_are_the_4h_closes_in_november(state):
    first_us = int(np.datetime64("2025-11-01T00:00", "us").astype(np.int64))
    price = state.price_at(np.array([first_us, first_us + 3_600_000_000 * 3]))
    assert price[0] == price[1]                  # same 4-hour bar
    assert state.hour_activity[: state.index("2025-11-01")].min() == 1.0  # no 4h bars in Oct


def test_a_day_outside_the_data_is_refused():
    with pytest.raises(ValueError, match="period"):
        market_state("2025-12-20", "2026-01-05")
