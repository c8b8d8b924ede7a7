"""Loading the shipped market files, scripted paths."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import (
    FundingSeries,
    PricePath,
    as_path,
    load_funding,
    load_ohlc,
    november_2025,
    parse_legs,
    scripted_path,
)


def test_the_binance_4h_klines_load_as_a_path(market_files):
    file = market_files["btcusdt_perp_4h_2025-11.csv"]
    with open(file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    path = load_ohlc(file)
    assert len(path) == len(rows) and path.bar_seconds == 4 * 3600
    assert path.open[0] == float(rows[0]["open"]) and path.low[-1] == float(rows[-1]["low"])
    assert str(path.times[0]) == rows[0]["open_time_utc"].rstrip("Z")
    assert path.source.startswith("binance_usdm")
    week = path.between("2025-11-03", "2025-11-10")
    assert len(week) == 7 * 6 and str(week.times[0]) == "2025-11-03T00:00:00"


def test_funding_times_are_floored_to_the_8h_grid_and_assigned_to_bars(market_files):
    path = load_ohlc(market_files["btcusdt_perp_4h_2025-11.csv"])
    funding = load_funding(market_files["btcusdt_funding_2025-11.csv"])
    with open(market_files["btcusdt_funding_2025-11.csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert funding.times.size == len(rows)
    assert (funding.times.astype(np.int64) % (8 * 3600) == 0).all()
    rates, counts = funding.per_bar(path)
    # every print but the one at the very first bar's open lands on a bar open (4h bars)
    assert counts.sum() == len(rows) - 1 and counts[0] == 0 and counts.max() == 1
    assert rates.sum() == pytest.approx(sum(float(r["funding_rate"]) for r in rows[1:]))


def test_the_packaged_copy_is_read_without_a_path(market_files):
    packaged = resources.files("marginscope.market").joinpath("data",
                                                              "btcusdt_perp_4h_2025-11.csv")
    if not packaged.is_file():
        pytest.skip("market data not yet copied into marginscope/market/data/")
    path, funding = november_2025()
    np.testing.assert_array_equal(path.close,
                                  load_ohlc(market_files["btcusdt_perp_4h_2025-11.csv"]).close)
    assert funding.rates.size == 90


def test_missing_packaged_file_says_how_to_fix_it():
    with pytest.raises(FileNotFoundError, match="pass path="):
        load_ohlc(name="no_such_file.csv")


def test_minus_ten_percent_in_four_hours_then_sideways():
    path = scripted_path(100_000.0, [("4h", -0.10), ("3d", 0.0)], bar="1h")
    assert len(path) == 4 + 72 and path.bar_seconds == 3600
    assert path.close[3] == pytest.approx(90_000.0)
    steps = path.close[:4] / path.open[:4]
    np.testing.assert_allclose(steps, 0.9 ** 0.25)  # equal log steps within the leg
    np.testing.assert_allclose(path.close[4:], 90_000.0)
    np.testing.assert_array_equal(path.low[:4], path.close[:4])  # a falling bar's low is its close
    same = scripted_path(100_000.0, "-10%/4h, 0%/3d", bar="1h")
    np.testing.assert_array_equal(same.close, path.close)


def test_legs_parse_from_a_compact_string():
    assert parse_legs("-10%/4h; 0%/3d, +5%/30m") == [(4.0, -0.10), (72.0, 0.0), (0.5, 0.05)]
    assert parse_legs("−2.5%/2h") == [(2.0, -0.025)]


@pytest.mark.parametrize(("legs", "field"), [
    ([("90m", -0.1)], "legs[0].duration"),  # not a whole number of 1h bars
    ([("4h", -1.0)], "legs[0].move"),
    ([("4h", "ten")], "legs[0].move"),
    ([("4 weeks", 0.0)], "legs[0].duration"),
    ("-10% in 4h", "legs[0]"),
    ([(4.0,)], "legs[0]"),
])
def test_bad_legs_name_the_field(legs, field):
    with pytest.raises(InputError) as err:
        scripted_path(100.0, legs)
    assert err.value.field == field


def test_constant_funding_sits_on_the_utc_8h_grid():
    f = FundingSeries.constant(0.0001, "2025-11-01T03:00:00Z", "2025-11-02T00:00:00Z")
    assert [str(t) for t in f.times] == ["2025-11-01T08:00:00", "2025-11-01T16:00:00"]


def test_a_close_series_becomes_a_path():
    path = as_path([100.0, 98.0, 101.0])
    np.testing.assert_array_equal(path.low, [98.0, 98.0])
    np.testing.assert_array_equal(path.high, [100.0, 101.0])


def test_inconsistent_bars_are_rejected():
    t = np.array(["2025-11-01T00:00", "2025-11-01T01:00"], dtype="datetime64[s]")
    with pytest.raises(InputError):
        PricePath(t, [100.0, 100.0], [101.0, 101.0], [100.5, 99.0], [100.0, 100.0], 3600)
    with pytest.raises(InputError):
        PricePath(t[::-1], [100.0, 100.0], [101.0, 101.0], [99.0, 99.0], [100.0, 100.0], 3600)
