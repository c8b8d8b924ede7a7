"""Market events from the shipped November 2025 snapshot, pinned against the CSV files.

Expected dates come from the issue; every expected number is read from the shipped CSVs in the
test (with the csv module), never typed in.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.market import detect_events, load_snapshot
from marginscope.market.derivatives_events import funding_events, liquidation_spikes
from marginscope.market.event import EVENT_KINDS
from marginscope.market.price_events import default_round_step, round_number_breaks
from marginscope.market.series import FundingSeries, LiquidationSeries, PriceSeries
from marginscope.market.times import parse_utc_ms

DAILY = "btc_daily_2025.csv"
FUNDING = "btcusdt_funding_2025-11.csv"


@pytest.fixture(scope="module")
def events():
    return detect_events(load_snapshot())


def _one(events, kind, time, **details):
    found = [e for e in events if e.kind == kind and e.time == time
             and all(e.details.get(k) == v for k, v in details.items())]
    assert len(found) == 1, f"{kind} at {time} {details}: {[e.to_dict() for e in found]}"
    return found[0]


@pytest.mark.parametrize(("level", "day"), [(100_000, "2025-11-04"), (90_000, "2025-11-18")])
def test_first_daily_low_below_a_round_level_is_the_issues_date(events, level, day, shipped):
    rows = shipped(DAILY)
    first = next(r for r in rows if float(r["low"]) < level)  # independent recomputation
    assert first["date"] == day
    event = _one(events, "round_number_break", f"{day}T00:00:00Z", level=float(level),
                 field="low")
    assert event.value == float(first["low"])
    assert event.source == first["source"]
    assert event.series == "market_ohlcv:yahoo-finance:BTC-USD:1d"


@pytest.mark.parametrize("level", [100_000, 90_000])
def test_first_close_below_a_round_level_is_reported_separately(events, level, shipped):
    rows = shipped(DAILY)
    first_close = next(r for r in rows if float(r["close"]) < level)
    first_low = next(r for r in rows if float(r["low"]) < level)
    assert first_low["date"] < first_close["date"]  # the low broke first, on another day
    event = _one(events, "round_number_break", f"{first_close['date']}T00:00:00Z",
                 level=float(level), field="close")
    assert event.value == float(first_close["close"])
    assert event.source == first_close["source"]


def test_november_21_is_the_month_low_and_the_volume_peak(events, shipped):
    november = [r for r in shipped(DAILY) if r["date"].startswith("2025-11")]
    lowest = min(november, key=lambda r: float(r["low"]))
    busiest = max(november, key=lambda r: float(r["volume"]))
    assert lowest["date"] == busiest["date"] == "2025-11-21"
    low = _one(events, "month_low", "2025-11-21T00:00:00Z", month="2025-11")
    peak = _one(events, "volume_peak", "2025-11-21T00:00:00Z", month="2025-11")
    assert low.value == float(lowest["low"]) and low.source == lowest["source"]
    assert peak.value == float(busiest["volume"]) and peak.source == busiest["source"]


def test_drawdown_runs_from_the_october_6_high_to_the_november_21_low(events, shipped):
    rows = shipped(DAILY)
    peak = max(rows, key=lambda r: float(r["high"]))
    assert peak["date"] == "2025-10-06"
    after = [r for r in rows if r["date"] >= peak["date"]]
    trough = min(after, key=lambda r: float(r["low"]))
    event = _one(events, "drawdown", f"{trough['date']}T00:00:00Z", measure="window_high")
    assert trough["date"] == "2025-11-21"
    assert event.details["peak_time"] == "2025-10-06T00:00:00Z"
    assert event.details["peak"] == float(peak["high"])
    assert event.value == pytest.approx(float(trough["low"]) / float(peak["high"]) - 1, abs=1e-12)
    assert event.source == peak["source"]  # both rows carry the same source text


def test_binance_funding_turns_negative_for_a_run_from_november_23_1600(events, shipped):
    rows = shipped(FUNDING)
    marks = [r["funding_time_utc"][:16] for r in rows]
    start = marks.index("2025-11-23T16:00")
    end = marks.index("2025-11-29T00:00")
    stretch = rows[start:end + 1]
    rates = [float(r["funding_rate"]) for r in stretch]
    assert rates[0] < 0 and rates[-1] < 0
    assert all(float(r["funding_rate"]) >= 0 for r in rows[end + 1:])
    event = _one(events, "funding_negative_run", "2025-11-23T16:00:00Z")
    assert event.value == min(rates)
    assert event.details["end"] == "2025-11-29T00:00:00Z"
    assert event.details["prints"] == len(stretch)
    assert event.details["negative_prints"] == sum(r < 0 for r in rates)
    assert event.details["longest"] is True
    assert event.source == stretch[0]["source"]
    assert event.series == "market_funding:binance-usdm:BTCUSDT"


def test_funding_on_november_21_and_22_stays_positive_so_no_event_falls_there(events, shipped):
    rows = [r for r in shipped(FUNDING) if r["funding_time_utc"][:10] in
            ("2025-11-21", "2025-11-22")]
    assert rows and all(float(r["funding_rate"]) > 0 for r in rows)
    funding_kinds = {"funding_sign_change", "funding_negative_run", "funding_first_negative"}
    assert not [e for e in events if e.kind in funding_kinds
                and e.time[:10] in ("2025-11-21", "2025-11-22")]


def test_first_negative_funding_print_and_sign_changes_match_the_file(events, shipped):
    rows = shipped(FUNDING)
    rates = [float(r["funding_rate"]) for r in rows]
    first = next(i for i, r in enumerate(rates) if r < 0)
    event = next(e for e in events if e.kind == "funding_first_negative")
    assert event.time[:16] == rows[first]["funding_time_utc"][:16]
    assert event.value == rates[first]
    flips = sum(1 for a, b in pairwise(rates) if (a < 0) != (b < 0))
    assert len([e for e in events if e.kind == "funding_sign_change"]) == flips


def test_every_event_has_the_contract_fields_and_a_source_from_the_data(events, shipped):
    sources = {r["source"] for name in (DAILY, FUNDING) for r in shipped(name)}
    for event in events:
        record = event.to_dict()
        assert {"kind", "time", "value", "description", "source"} <= set(record)
        assert record["kind"] in EVENT_KINDS
        assert record["time"].endswith("Z") and parse_utc_ms(record["time"]) > 0
        assert np.isfinite(record["value"]) and record["description"]
        assert set(record["source"].split(" | ")) <= sources


def test_events_are_sorted_by_time(events):
    times = [parse_utc_ms(e.time) for e in events]
    assert times == sorted(times)


def test_a_reporting_window_keeps_the_look_back_and_reports_the_running_high(shipped):
    events = detect_events(load_snapshot(), start_ms=parse_utc_ms("2025-11-01"),
                           end_ms=parse_utc_ms("2025-12-01"))
    assert all("2025-11-01" <= e.time[:10] <= "2025-11-30" for e in events)
    running = _one(events, "drawdown", "2025-11-21T00:00:00Z", measure="running_high")
    assert running.details["peak_time"] == "2025-10-06T00:00:00Z"
    window = _one(events, "drawdown", "2025-11-21T00:00:00Z", measure="window_high")
    november = [r for r in shipped(DAILY) if r["date"].startswith("2025-11")]
    assert window.details["peak"] == max(float(r["high"]) for r in november)


def test_intraday_bars_time_the_breaks_and_the_low_within_the_day(shipped):
    events = detect_events(load_snapshot(), intraday=True)
    bars = shipped("btcusdt_perp_4h_2025-11.csv")
    first = next(r for r in bars if float(r["low"]) < 100_000)
    event = _one(events, "round_number_break", first["open_time_utc"], level=100_000.0,
                 field="low")
    assert event.series == "market_ohlcv:binance-usdm:BTCUSDT:4h"
    assert event.time[:10] == "2025-11-04"
    lowest = min(bars, key=lambda r: float(r["low"]))
    low = _one(events, "month_low", lowest["open_time_utc"], month="2025-11")
    assert low.value == float(lowest["low"])
    assert not [e for e in detect_events(load_snapshot()) if e.series.endswith(":4h")]


def test_news_facts_never_become_events_or_series(shipped):
    data = load_snapshot()
    assert len(data.facts) == len(shipped("news_facts_2025-11.csv"))
    fact_sources = {f.source for f in data.facts}
    assert not [e for e in detect_events(data) if set(e.source.split(" | ")) & fact_sources]
    assert all(not s.source[0].startswith("http") for s in data.series())


def test_round_step_is_a_tenth_of_the_price_magnitude():
    assert default_round_step(126_198.07) == 10_000
    assert default_round_step(3_512.0) == 100
    with pytest.raises(InputError):
        default_round_step(0.0)


def _synthetic_daily(lows: list[float]) -> PriceSeries:
    """SYNTHETIC bars (not market data): open = close = high = low + 1."""
    days = np.array([np.datetime64(date(2025, 1, 1)) + i for i in range(len(lows))],
                    dtype="datetime64[ms]")
    low = np.array(lows, dtype=float)
    nan = np.full(len(lows), np.nan)
    return PriceSeries("synthetic", "TEST-USD", "1d", days, low + 1, low + 1, low, low + 1,
                       nan, nan, nan, np.full(len(lows), "synthetic", dtype=object))


def test_synthetic_break_is_not_repeated_inside_the_look_back_but_is_after_it():
    # SYNTHETIC: dips below 100 on day 2 and day 5 (inside 10 days), again on day 30.
    lows = [105.0] * 40
    for day in (2, 5, 30):
        lows[day] = 95.0
    breaks = round_number_breaks(_synthetic_daily(lows), lookback_days=10, step=10)
    low_breaks = [e.time[:10] for e in breaks if e.details["field"] == "low"]
    assert low_breaks == ["2025-01-03", "2025-01-31"]


def test_synthetic_first_bar_below_a_level_is_no_break():
    # SYNTHETIC: the series starts below 100 — nothing was broken.
    breaks = round_number_breaks(_synthetic_daily([95.0, 96.0, 97.0]), step=10)
    assert not [e for e in breaks if e.details["level"] == 100]


def _synthetic_funding(rates: list[float]) -> FundingSeries:
    """SYNTHETIC funding prints every 8 h (not market data)."""
    times = (np.arange(len(rates)) * 8 * 3_600_000).astype("datetime64[ms]")
    return FundingSeries("synthetic", "TESTUSDT", times, times, np.array(rates, dtype=float),
                         np.full(len(rates), np.nan),
                         np.full(len(rates), "synthetic", dtype=object))


def test_synthetic_negative_runs_need_half_their_prints_negative():
    # SYNTHETIC: -,+,-,+,+,+,- : the first three prints are 2/3 negative, then 3 positives
    # separate a lone negative print.
    runs = [e for e in funding_events(_synthetic_funding([-1e-5, 1e-5, -1e-5, 1e-5, 1e-5, 1e-5,
                                                          -1e-5]))
            if e.kind == "funding_negative_run"]
    assert [(r.details["prints"], r.details["negative_prints"]) for r in runs] == [(3, 2),
                                                                                   (1, 1)]
    assert runs[0].details["longest"] and not runs[1].details["longest"]


def test_synthetic_liquidation_spike_against_the_median_of_the_prior_buckets():
    # SYNTHETIC liquidation buckets (no public liquidation series exists): flat 10, one 50.
    totals = np.array([10.0] * 8 + [50.0] + [10.0] * 3)
    times = (np.arange(len(totals)) * 86_400_000).astype("datetime64[ms]")
    series = LiquidationSeries("synthetic", "TESTUSDT", "1d", times, totals / 2, totals / 2,
                               totals, np.full(len(totals), np.nan),
                               np.full(len(totals), "synthetic", dtype=object))
    spikes = liquidation_spikes(series, factor=3, baseline=7)
    assert [e.time[:10] for e in spikes] == ["1970-01-09"]
    assert spikes[0].details["ratio"] == pytest.approx(5.0)
