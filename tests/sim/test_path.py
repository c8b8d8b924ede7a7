"""The hourly path is the real data: every day's low and high reached, funding prints as
collected (October from the cited copy, missing marks NaN, never zero), the calm path flat."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest

from marginscope.market import MarketData, load_snapshot
from marginscope.market.snapshot import snapshot_paths
from marginscope.sim.path import LEAD_IN_FUNDING, calm_path, hourly_path


def _rows(name: str) -> list[dict[str, str]]:
    path = next(p for p in snapshot_paths() if p.name == name)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def path():
    return hourly_path("2025-10-01", "2025-11-30")


def _day(path, day: str) -> np.ndarray:
    index = int(np.flatnonzero(path.days == np.datetime64(day))[0])
    return path.day_index() == index


def test_every_november_day_reaches_the_4h_bars_low_and_high(path):
    bars = _rows("btcusdt_perp_4h_2025-11.csv")
    for day in ("2025-11-04", "2025-11-14", "2025-11-21", "2025-11-30"):
        mine = [b for b in bars if b["open_time_utc"].startswith(day)]
        hours = _day(path, day)
        assert path.low[hours].min() == pytest.approx(min(float(b["low"]) for b in mine))
        assert path.high[hours].max() == pytest.approx(max(float(b["high"]) for b in mine))
        assert path.price[hours][-1] == pytest.approx(float(mine[-1]["close"]))


def test_october_days_reach_the_daily_bars_low_and_high(path):
    daily = {r["date"]: r for r in _rows("btc_daily_2025.csv")}
    for day in ("2025-10-01", "2025-10-10", "2025-10-31"):
        hours = _day(path, day)
        assert path.low[hours].min() == pytest.approx(float(daily[day]["low"]))
        assert path.high[hours].max() == pytest.approx(float(daily[day]["high"]))
        assert path.price[hours][-1] == pytest.approx(float(daily[day]["close"]))


def test_funding_is_the_collected_prints_october_included(path):
    from importlib import resources

    folder = resources.files("marginscope.sim") / "data"
    with (folder / LEAD_IN_FUNDING).open(newline="", encoding="utf-8") as handle:
        october = list(csv.DictReader(handle))
    november = _rows("btcusdt_funding_2025-11.csv")
    assert len(october) == 93 and len(november) == 90
    for row in october[::7] + november[::9]:
        moment = datetime.fromisoformat(row["funding_time_utc"].replace("Z", "+00:00"))
        hour_ms = int(
            moment.replace(minute=0, second=0, microsecond=0, tzinfo=UTC).timestamp() * 1000
        )
        at = int(np.flatnonzero(path.time_ms == hour_ms)[0])
        assert path.funding[at] == float(row["funding_rate"])
    simulated = path.funding[path.first :][path.funding_mark[path.first :]]
    assert not np.isnan(simulated).any()  # every mark of Oct 1 – Nov 30 has its real print


def test_a_mark_without_a_collected_print_is_missing_not_zero():
    snapshot = load_snapshot()
    bare = MarketData(ohlcv=snapshot.ohlcv, funding=())
    december = hourly_path("2025-12-01", "2025-12-03", bare)
    marks = december.funding[december.funding_mark]
    assert np.isnan(marks[december.first // 8 :]).all()


def test_the_calm_path_is_flat_with_the_median_print(path):
    calm = calm_path(path)
    assert np.ptp(calm.price) == np.ptp(calm.low) == np.ptp(calm.high) == 0
    known = path.funding[~np.isnan(path.funding)]
    assert np.unique(calm.funding[calm.funding_mark]).tolist() == [float(np.median(known))]
    assert calm.label == "calm" and (calm.time_ms == path.time_ms).all()


def test_a_period_without_daily_bars_is_refused():
    with pytest.raises(ValueError, match="period"):
        hourly_path("2025-09-03", "2025-09-10")  # no look-back week before Sep 3
