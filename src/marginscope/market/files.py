"""Read market series from CSV or Parquet files, checking every row before anything is kept.

A file's *shape* is recognised from its header (see ``docs/market.md``):

==============  ==========================================================================
shape           required columns (besides a time column and ``source``)
==============  ==========================================================================
ohlcv           ``open, high, low, close``; optional ``volume``/``volume_<base>``/
                ``quote_volume[_<quote>]``/``base_volume``, ``trades``
funding         ``funding_rate``; optional ``mark_price``, ``reported_time``
open_interest   ``open_interest``; optional ``open_interest_value``
liquidations    ``total_usd`` or ``long_usd`` + ``short_usd``; optional ``orders``
facts           ``reported_on, kind, value, unit, window, note`` (news facts; no time column)
==============  ==========================================================================

The time column is one of ``time, date, open_time_utc, funding_time_utc, funding_time,
timestamp, datetime`` (UTC; a ``date`` column means daily bars). ``venue``, ``symbol`` and
``timeframe`` columns are optional: missing ones come from the caller, else from the
``source`` text (``binance_usdm:… symbol=BTCUSDT interval=4h …``), else — for the timeframe —
from the most common spacing of the rows. Any bad row raises
:class:`~marginscope.errors.InputError` naming the file, the line and the column, and nothing
from that file is returned: no half-loads.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from marginscope.errors import InputError
from marginscope.market.series import (
    Fact,
    FundingSeries,
    LiquidationSeries,
    MarketData,
    OpenInterestSeries,
    PriceSeries,
    modal_step,
    series_from_records,
)
from marginscope.market.times import (
    DAY_MS,
    HOUR_MS,
    format_timeframe,
    iso_utc,
    parse_timeframe_ms,
    parse_utc_ms,
)

__all__ = ["SHAPES", "expand_paths", "funding_mark", "read_market_file", "read_market_files"]

TIME_COLUMNS = ("time", "date", "open_time_utc", "funding_time_utc", "funding_time",
                "timestamp", "datetime")
SHAPES = {
    "ohlcv": "time column, open, high, low, close, source (+ volume, quote_volume, trades)",
    "funding": "time column, funding_rate, source (+ mark_price)",
    "open_interest": "time column, open_interest, source (+ open_interest_value)",
    "liquidations": "time column, total_usd or long_usd + short_usd, source (+ orders)",
    "facts": "reported_on, kind, value, unit, window, note, source",
}
_VOLUME_UNITS = ("quote", "base")
_FUNDING_TOLERANCE_MS = 60_000


def funding_mark(reported_ms: int) -> int:
    """The funding mark a print belongs to: its time floored to the whole hour.

    Funding marks fall on whole hours (every 8 h for Binance BTCUSDT: 00:00, 08:00, 16:00
    UTC); Binance's ``fundingTime`` arrives a few ms late (``…00:00:00.013Z``). One minute of
    tolerance also maps a print stamped just *before* the mark onto it.
    """
    return (int(reported_ms) + _FUNDING_TOLERANCE_MS) // HOUR_MS * HOUR_MS


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, with directories expanded to the ``*.csv`` and ``*.parquet`` below them."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".parquet"))
            if not found:
                raise InputError("FILE", str(path), "a CSV/Parquet file or a directory holding some")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return out


def read_market_files(paths: Iterable[str | Path], **options: Any) -> MarketData:
    """Read several files (see :func:`read_market_file`) into one bundle.

    Series of the same (venue, symbol[, timeframe]) in several files are joined; where two
    files hold the same time, the later file wins (as a later load would in the store).
    """
    data = MarketData()
    for path in expand_paths(paths):
        data = data.merged(read_market_file(path, **options))
    return data.combined()


def read_market_file(path: str | Path, *, venue: str | None = None, symbol: str | None = None,
                     timeframe: str | None = None, volume_unit: str = "quote") -> MarketData:
    """One CSV or Parquet file as a :class:`MarketData` bundle, every row checked.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (UTF-8, header row) or ``.parquet``.
    venue, symbol, timeframe : str, optional
        Identity for rows whose file has no such column (else read from ``source``).
    volume_unit : {"quote", "base"}
        What a bare ``volume`` column holds. ``quote`` (default) matches the shipped daily file,
        whose ``volume`` is Yahoo's USD notional.

    Raises
    ------
    InputError
        Unknown shape, or a bad row (named by line for CSV, by row number for Parquet).
    """
    path = Path(path)
    if volume_unit not in _VOLUME_UNITS:
        raise InputError("volume_unit", volume_unit, " or ".join(_VOLUME_UNITS))
    if timeframe is not None:
        _check_timeframe("timeframe", timeframe)
    columns, rows = _read_rows(path)
    shape = _shape(path, columns)
    reader = _RowReader(path, columns, venue=venue, symbol=symbol, timeframe=timeframe)
    if shape == "facts":
        return MarketData(facts=tuple(_fact(reader, where, row) for where, row in rows))
    builders = {"ohlcv": _ohlcv_record, "funding": _funding_record,
                "open_interest": _open_interest_record, "liquidations": _liquidation_record}
    records = [builders[shape](reader, where, row, volume_unit) for where, row in rows]
    if not records:
        raise InputError(path.name, "no data rows", "at least one row below the header")
    cls = {"ohlcv": PriceSeries, "funding": FundingSeries, "open_interest": OpenInterestSeries,
           "liquidations": LiquidationSeries}[shape]
    if "timeframe" in cls.key:
        _fill_timeframes(path, records)
    _reject_duplicates(path, cls.key, records)
    series = tuple(series_from_records(cls, records))
    return MarketData(**{shape: series})  # shape names are the bundle's field names


# --- reading raw rows ---------------------------------------------------------------------

def _read_rows(path: Path) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """Header and ``(where, row)`` pairs; ``where`` is ``"line N"`` (CSV) or ``"row N"``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError(path.name, "empty file", "a header row and data rows")
            columns = [c.strip() for c in header]
            rows = []
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                where = f"line {reader.line_num}"
                if len(values) != len(columns):
                    raise InputError(f"{path.name} {where}", ",".join(values),
                                     f"{len(columns)} fields like the header "
                                     f"({', '.join(columns)})", f"found {len(values)}")
                rows.append((where, dict(zip(columns, values, strict=True))))
        return columns, rows
    if suffix == ".parquet":
        import duckdb

        with duckdb.connect() as con:
            result = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            columns = [d[0] for d in result.description]
            rows = [(f"row {i}", dict(zip(columns, values, strict=True)))
                    for i, values in enumerate(result.fetchall(), start=1)]
        return columns, rows
    raise InputError("FILE", str(path), "a .csv or .parquet file")


def _shape(path: Path, columns: list[str]) -> str:
    names = set(columns)
    if {"reported_on", "kind", "value", "source"} <= names:
        return "facts"
    if "source" not in names:
        raise InputError(f"{path.name} header", ",".join(columns),
                         "a `source` column: every row must say where it came from")
    if not names & set(TIME_COLUMNS):
        raise InputError(f"{path.name} header", ",".join(columns),
                         f"a time column, one of {', '.join(TIME_COLUMNS)}")
    if "funding_rate" in names:
        return "funding"
    if "open_interest" in names:
        return "open_interest"
    if "total_usd" in names or {"long_usd", "short_usd"} <= names:
        return "liquidations"
    if {"open", "high", "low", "close"} <= names:
        return "ohlcv"
    raise InputError(f"{path.name} header", ",".join(columns),
                     "one of the shapes: " + "; ".join(f"{k}: {v}" for k, v in SHAPES.items()))


# --- one row -> one record ----------------------------------------------------------------

_SOURCE_VENUE = re.compile(r"^\s*([A-Za-z0-9_.-]+):")
_SOURCE_SYMBOL = re.compile(r"\bsymbol=([A-Za-z0-9_/:.-]+)")
_SOURCE_TICKER = re.compile(r"^\s*[A-Za-z0-9_.-]+:([A-Za-z0-9._/-]+)")
_SOURCE_INTERVAL = re.compile(r"\binterval=(\d+[smhdwM])\b")
_HTTP_VERBS = {"GET", "POST", "PUT", "DELETE"}


class _RowReader:
    """Typed access to one file's cells, raising InputError with file, line and column."""

    def __init__(self, path: Path, columns: list[str], *, venue: str | None,
                 symbol: str | None, timeframe: str | None) -> None:
        self.path = path
        self.columns = set(columns)
        self.venue = venue
        self.symbol = symbol
        self.timeframe = timeframe
        self.time_column = next((c for c in TIME_COLUMNS if c in self.columns), None)

    def fail(self, where: str, column: str, value: Any, allowed: str) -> InputError:
        return InputError(f"{self.path.name} {where}, column {column}", value, allowed)

    def text(self, where: str, row: dict[str, Any], column: str, *, required: bool = True) -> str:
        value = row.get(column)
        text = "" if value is None else str(value).strip()
        if required and not text:
            raise self.fail(where, column, text, "a non-empty text")
        return text

    def number(self, where: str, row: dict[str, Any], column: str, *, required: bool = True,
               minimum: float | None = None) -> float | None:
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(where, column, value, "a finite number")
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.fail(where, column, value, "a finite number") from None
        if not math.isfinite(number):
            if not required and math.isnan(number):
                return None
            raise self.fail(where, column, value, "a finite number")
        if minimum is not None and number < minimum:
            raise self.fail(where, column, value, f">= {minimum:g}")
        return number

    def time(self, where: str, row: dict[str, Any], column: str | None = None) -> int:
        column = column or self.time_column or "time"
        value = row.get(column)
        try:
            return parse_utc_ms(value)
        except (TypeError, ValueError):
            raise self.fail(where, column, value,
                            "an ISO 8601 UTC time or date (2025-11-04, 2025-11-04T16:00:00Z) "
                            "or epoch milliseconds") from None

    def identity(self, where: str, row: dict[str, Any]) -> tuple[str, str]:
        source = self.text(where, row, "source")
        venue = self.text(where, row, "venue", required=False) or self.venue
        if not venue:
            match = _SOURCE_VENUE.match(source)
            venue = match.group(1).lower().replace("_", "-") if match else ""
        symbol = self.text(where, row, "symbol", required=False) or self.symbol
        if not symbol:
            match = _SOURCE_SYMBOL.search(source) or _SOURCE_TICKER.match(source)
            symbol = match.group(1) if match and match.group(1) not in _HTTP_VERBS else ""
        if not venue or not symbol:
            missing = "venue" if not venue else "symbol"
            raise self.fail(where, missing, source,
                            f"a `{missing}` column, the --{missing} option, or a source text "
                            "like 'binance_usdm:… symbol=BTCUSDT …'")
        return venue, symbol

    def row_timeframe(self, where: str, row: dict[str, Any], source: str) -> str | None:
        text = self.text(where, row, "timeframe", required=False) or self.timeframe
        if text:
            return _check_timeframe(f"{self.path.name} {where}, column timeframe", text)
        if self.time_column == "date":
            return "1d"
        match = _SOURCE_INTERVAL.search(source)
        return match.group(1) if match else None


def _check_timeframe(field: str, text: str) -> str:
    try:
        parse_timeframe_ms(text)
    except ValueError:
        raise InputError(field, text, "a timeframe such as 1m, 5m, 1h, 4h, 1d") from None
    return text


def _ohlcv_record(reader: _RowReader, where: str, row: dict[str, Any],
                  volume_unit: str) -> dict[str, Any]:
    venue, symbol = reader.identity(where, row)
    source = reader.text(where, row, "source")
    prices = {c: reader.number(where, row, c, minimum=0.0) for c in ("open", "high", "low", "close")}
    low, high = prices["low"], prices["high"]
    assert low is not None and high is not None
    for column in ("open", "close", "low"):
        value = prices[column]
        assert value is not None
        if not low <= value <= high:
            raise reader.fail(where, column, value, f"between low {low:g} and high {high:g}")
    base = quote = None
    for column in sorted(reader.columns):
        if column == "base_volume" or (column.startswith("volume_") and column != "volume_unit"):
            base = reader.number(where, row, column, required=False, minimum=0.0)
        elif column.startswith("quote_volume"):
            quote = reader.number(where, row, column, required=False, minimum=0.0)
    if "volume" in reader.columns:
        volume = reader.number(where, row, "volume", required=False, minimum=0.0)
        if volume_unit == "quote" and quote is None:
            quote = volume
        elif volume_unit == "base" and base is None:
            base = volume
    return {"venue": venue, "symbol": symbol, "line": where,
            "timeframe": reader.row_timeframe(where, row, source),
            "time": reader.time(where, row), **prices, "base_volume": base,
            "quote_volume": quote,
            "trades": reader.number(where, row, "trades", required=False, minimum=0.0),
            "source": source}


def _funding_record(reader: _RowReader, where: str, row: dict[str, Any],
                    _volume_unit: str) -> dict[str, Any]:
    venue, symbol = reader.identity(where, row)
    reported = (reader.time(where, row, "reported_time")
                if reader.text(where, row, "reported_time", required=False)
                else reader.time(where, row))
    rate = reader.number(where, row, "funding_rate")
    assert rate is not None
    if abs(rate) >= 1:
        raise reader.fail(where, "funding_rate", rate,
                          "a fraction per funding interval, |rate| < 1 (0.0001 = 0.01 %)")
    return {"venue": venue, "symbol": symbol, "line": where,
            "time": funding_mark(reader.time(where, row)), "reported_time": reported,
            "funding_rate": rate,
            "mark_price": reader.number(where, row, "mark_price", required=False, minimum=0.0),
            "source": reader.text(where, row, "source")}


def _open_interest_record(reader: _RowReader, where: str, row: dict[str, Any],
                          _volume_unit: str) -> dict[str, Any]:
    venue, symbol = reader.identity(where, row)
    source = reader.text(where, row, "source")
    return {"venue": venue, "symbol": symbol, "line": where,
            "timeframe": reader.row_timeframe(where, row, source), "time": reader.time(where, row),
            "open_interest": reader.number(where, row, "open_interest", minimum=0.0),
            "open_interest_value": reader.number(where, row, "open_interest_value",
                                                 required=False, minimum=0.0),
            "source": source}


def _liquidation_record(reader: _RowReader, where: str, row: dict[str, Any],
                        _volume_unit: str) -> dict[str, Any]:
    venue, symbol = reader.identity(where, row)
    source = reader.text(where, row, "source")
    long_usd = reader.number(where, row, "long_usd", required=False, minimum=0.0)
    short_usd = reader.number(where, row, "short_usd", required=False, minimum=0.0)
    total = reader.number(where, row, "total_usd", required=False, minimum=0.0)
    if total is None:
        if long_usd is None or short_usd is None:
            raise reader.fail(where, "total_usd", None,
                              "a number, or both long_usd and short_usd")
        total = long_usd + short_usd
    return {"venue": venue, "symbol": symbol, "line": where,
            "timeframe": reader.row_timeframe(where, row, source), "time": reader.time(where, row),
            "long_usd": long_usd, "short_usd": short_usd, "total_usd": total,
            "orders": reader.number(where, row, "orders", required=False, minimum=0.0),
            "source": source}


def _fact(reader: _RowReader, where: str, row: dict[str, Any]) -> Fact:
    reported = reader.time(where, row, "reported_on")
    value = reader.number(where, row, "value")
    assert value is not None
    window_column = "window" if "window" in reader.columns else "reporting_window"
    return Fact(reported_on=iso_utc(reported)[:10], kind=reader.text(where, row, "kind"),
                value=value, unit=reader.text(where, row, "unit", required=False),
                window=reader.text(where, row, window_column, required=False),
                note=reader.text(where, row, "note", required=False),
                source=reader.text(where, row, "source"))


# --- whole-file checks --------------------------------------------------------------------

def _groups(records: list[dict[str, Any]], key: Iterable[str]) -> Iterator[list[dict[str, Any]]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(tuple(record[k] for k in key), []).append(record)
    yield from groups.values()


def _fill_timeframes(path: Path, records: list[dict[str, Any]]) -> None:
    """Rows without a stated timeframe get their series' most common spacing."""
    for group in _groups(records, ("venue", "symbol")):
        missing = [r for r in group if r["timeframe"] is None]
        if not missing:
            continue
        if len(group) < 2:
            raise InputError(f"{path.name} {missing[0]['line']}, column timeframe", None,
                             "a `timeframe` column or the --timeframe option (one row: "
                             "no spacing to infer it from)")
        step = modal_step([r["time"] for r in group], default=DAY_MS)
        for record in missing:
            record["timeframe"] = format_timeframe(step)


def _reject_duplicates(path: Path, key: Iterable[str], records: list[dict[str, Any]]) -> None:
    seen: dict[tuple[Any, ...], str] = {}
    for record in records:
        ident = (*(record[k] for k in key), record["time"])
        if ident in seen:
            raise InputError(f"{path.name} {record['line']}", iso_utc(record["time"]),
                             "one row per (venue, symbol, time)",
                             f"same time as {seen[ident]}")
        seen[ident] = record["line"]
