"""Reading CSV/Parquet market files: shapes, identity, UTC times, and row-level errors."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.market.files import funding_mark, read_market_file, read_market_files
from marginscope.market.snapshot import SNAPSHOT_FILES, load_snapshot, snapshot_paths
from marginscope.market.times import iso_utc, parse_utc_ms


def _shipped_path(name: str) -> Path:
    return next(p for p in snapshot_paths() if p.name == name)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rows(name: str) -> tuple[list[str], list[list[str]]]:
    with _shipped_path(name).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [list(r) for r in reader]


def test_the_shipped_files_are_verbatim_copies_of_the_shared_data():
    shared = Path("/work/shared/data/market")
    if not shared.is_dir():
        pytest.skip("shared data folder not present on this machine")
    for name in SNAPSHOT_FILES:
        assert _shipped_path(name).read_bytes() == (shared / name).read_bytes()


def test_snapshot_series_hold_every_row_with_venue_symbol_and_timeframe(shipped):
    data = load_snapshot()
    names = {s.name: len(s) for s in data.series()}
    assert names == {
        "market_ohlcv:yahoo-finance:BTC-USD:1d": len(shipped("btc_daily_2025.csv")),
        "market_ohlcv:binance-usdm:BTCUSDT:4h": len(shipped("btcusdt_perp_4h_2025-11.csv")),
        "market_funding:binance-usdm:BTCUSDT": len(shipped("btcusdt_funding_2025-11.csv")),
    }
    assert len(data.facts) == len(shipped("news_facts_2025-11.csv"))


def test_daily_volume_is_read_as_usd_notional_and_4h_volumes_keep_both_units(shipped):
    data = load_snapshot()
    daily = next(s for s in data.ohlcv if s.timeframe == "1d")
    bars = next(s for s in data.ohlcv if s.timeframe == "4h")
    rows = shipped("btcusdt_perp_4h_2025-11.csv")
    assert daily.quote_volume[0] == float(shipped("btc_daily_2025.csv")[0]["volume"])
    assert np.isnan(daily.base_volume).all()
    assert bars.base_volume[0] == float(rows[0]["volume_btc"])
    assert bars.quote_volume[0] == float(rows[0]["quote_volume_usdt"])
    assert bars.trades[0] == float(rows[0]["trades"])


def test_funding_prints_are_floored_to_the_mark_and_keep_their_reported_jitter(shipped):
    funding = load_snapshot().funding[0]
    rows = shipped("btcusdt_funding_2025-11.csv")
    reported = [parse_utc_ms(r["funding_time_utc"]) for r in rows]
    assert list(funding.time_ms) == [t // 3_600_000 * 3_600_000 for t in reported]
    assert list(funding.reported_time.astype(np.int64)) == reported
    assert any(t % 1000 for t in reported)  # the file does carry Binance's ms jitter
    assert set(np.diff(funding.time_ms)) == {8 * 3_600_000}
    assert funding.interval_ms == 8 * 3_600_000


def test_funding_mark_tolerates_a_print_stamped_just_before_the_hour():
    mark = parse_utc_ms("2025-11-23T16:00:00Z")
    assert funding_mark(mark + 13) == mark
    assert funding_mark(mark - 2) == mark


def test_a_bad_number_is_reported_with_its_line_and_nothing_is_returned(tmp_path):
    header, rows = _rows("btc_daily_2025.csv")
    rows[4][header.index("low")] = "n/a"
    path = _write(tmp_path / "daily.csv", header, rows)
    with pytest.raises(InputError) as caught:
        read_market_file(path)
    assert caught.value.field == "daily.csv line 6, column low"
    assert caught.value.value == "n/a"


def test_a_low_above_the_close_is_rejected(tmp_path):
    header, rows = _rows("btc_daily_2025.csv")
    row = rows[9]
    row[header.index("low")] = str(float(row[header.index("close")]) + 1)
    path = _write(tmp_path / "daily.csv", header, rows)
    with pytest.raises(InputError, match=r"line 11, column"):
        read_market_file(path)


def test_a_row_with_a_missing_field_is_reported_by_line(tmp_path):
    header, rows = _rows("btcusdt_funding_2025-11.csv")
    rows[2] = rows[2][:-1]
    path = _write(tmp_path / "funding.csv", header, rows)
    with pytest.raises(InputError, match="line 4"):
        read_market_file(path)


def test_a_repeated_time_names_both_lines(tmp_path):
    header, rows = _rows("btcusdt_perp_4h_2025-11.csv")
    rows.append(list(rows[0]))
    path = _write(tmp_path / "bars.csv", header, rows)
    with pytest.raises(InputError) as caught:
        read_market_file(path)
    assert f"line {len(rows) + 1}" in caught.value.field
    assert "same time as line 2" in str(caught.value)


def test_rows_without_a_source_are_refused(tmp_path):
    header, rows = _rows("btc_daily_2025.csv")
    path = _write(tmp_path / "daily.csv", header[:-1], [r[:-1] for r in rows])
    with pytest.raises(InputError, match="source"):
        read_market_file(path)
    rows[0][-1] = ""
    path = _write(tmp_path / "daily2.csv", header, rows)
    with pytest.raises(InputError, match="line 2, column source"):
        read_market_file(path)


def test_an_unknown_shape_lists_the_shapes(tmp_path):
    path = _write(tmp_path / "x.csv", ["time", "price", "source"], [["2025-11-01", "1", "s"]])
    with pytest.raises(InputError, match="ohlcv"):
        read_market_file(path)


def test_identity_comes_from_columns_or_options_before_the_source_text(tmp_path):
    header, rows = _rows("btc_daily_2025.csv")
    path = _write(tmp_path / "daily.csv", header, rows)
    data = read_market_file(path, venue="yahoo", symbol="BTCUSD")
    assert [s.name for s in data.ohlcv] == ["market_ohlcv:yahoo:BTCUSD:1d"]
    with_columns = _write(tmp_path / "with.csv", ["venue", "symbol", *header],
                          [["v1", "S1", *r] for r in rows])
    assert [s.name for s in read_market_file(with_columns).ohlcv] == [
        "market_ohlcv:v1:S1:1d"]


def test_timeframe_is_inferred_from_the_spacing_when_nothing_states_it(tmp_path):
    header, rows = _rows("btcusdt_perp_4h_2025-11.csv")
    source = header.index("source")
    for row in rows:  # a derived copy whose source text no longer says interval=4h
        row[source] = row[source].replace(" interval=4h", "")
    path = _write(tmp_path / "bars.csv", header, rows)
    (series,) = read_market_file(path).ohlcv
    assert series.timeframe == "4h"


def test_a_parquet_file_of_the_same_shape_reads_the_same(tmp_path):
    csv_path = _shipped_path("btcusdt_perp_4h_2025-11.csv")
    parquet = tmp_path / "bars.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) "
                    f"TO '{parquet}' (FORMAT parquet)")
    (from_csv,) = read_market_file(csv_path).ohlcv
    (from_parquet,) = read_market_file(parquet).ohlcv
    for column in ("time", "open", "high", "low", "close", "base_volume", "quote_volume"):
        assert np.array_equal(getattr(from_csv, column), getattr(from_parquet, column))


def test_directories_expand_to_their_csv_and_parquet_files(tmp_path):
    header, rows = _rows("btcusdt_funding_2025-11.csv")
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "a.csv", header, rows[:40])
    _write(folder / "b.csv", header, rows[40:])
    (series,) = read_market_files([folder]).funding
    assert len(series) == len(rows)
    assert iso_utc(series.time_ms[-1]) == "2025-11-30T16:00:00Z"
