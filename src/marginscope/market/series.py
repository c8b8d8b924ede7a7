"""Market series as tidy, column-oriented NumPy records: one row per (venue, symbol, time).

Four series kinds mirror the four store tables (``market_ohlcv``, ``market_funding``,
``market_open_interest``, ``market_liquidations``); dated news facts are a separate list of
:class:`Fact` and never enter a series. Times are ``datetime64[ms]`` (UTC); a value the source
did not record is ``NaN``; every row keeps the ``source`` string it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from marginscope.market.times import parse_timeframe_ms

__all__ = [
    "SERIES_KINDS",
    "Fact",
    "FundingSeries",
    "LiquidationSeries",
    "MarketData",
    "OpenInterestSeries",
    "PriceSeries",
    "modal_step",
    "series_from_records",
    "sort_unique",
]


@dataclass(frozen=True, eq=False)
class _Series:
    """Shared behaviour: length, boolean selection, columns for the store."""

    table: ClassVar[str] = ""
    key: ClassVar[tuple[str, ...]] = ("venue", "symbol")

    venue: str
    symbol: str

    @property
    def name(self) -> str:
        """Series id used in events: ``<table>:<venue>:<symbol>[:<timeframe>]``."""
        return ":".join([self.table, *(str(getattr(self, k)) for k in self.key)])

    def _arrays(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)]

    def __len__(self) -> int:
        return len(self.time)  # type: ignore[attr-defined]

    def select(self, mask: np.ndarray) -> Self:
        """The rows where ``mask`` is true (a boolean array or an index array)."""
        return dataclasses.replace(self, **{n: getattr(self, n)[mask] for n in self._arrays()})

    def columns(self) -> dict[str, np.ndarray]:
        """Column name -> array, including the key columns repeated per row."""
        rows = len(self)
        out: dict[str, np.ndarray] = {
            k: np.full(rows, getattr(self, k), dtype=object) for k in self.key}
        out.update({n: getattr(self, n) for n in self._arrays()})
        return out

    @property
    def time_ms(self) -> np.ndarray:
        """Row times as int64 epoch milliseconds."""
        return self.time.astype("datetime64[ms]").astype(np.int64)  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class PriceSeries(_Series):
    """OHLCV bars of one (venue, symbol, timeframe); ``time`` is the bar's open time.

    ``base_volume`` is in the base asset (BTC), ``quote_volume`` in the quote currency (USD,
    USDT); either may be all-NaN when the source did not record it.
    """

    table: ClassVar[str] = "market_ohlcv"
    key: ClassVar[tuple[str, ...]] = ("venue", "symbol", "timeframe")

    timeframe: str
    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    base_volume: np.ndarray
    quote_volume: np.ndarray
    trades: np.ndarray
    source: np.ndarray

    @property
    def bar_ms(self) -> int:
        """Bar length in milliseconds."""
        return parse_timeframe_ms(self.timeframe)

    def volume(self) -> tuple[np.ndarray, str]:
        """The volume to rank days by: quote notional if recorded, else base units."""
        if np.isfinite(self.quote_volume).any():
            return self.quote_volume, "quote"
        return self.base_volume, "base"


@dataclass(frozen=True, eq=False)
class FundingSeries(_Series):
    """Funding prints of one perpetual; ``time`` is the print floored to its funding mark.

    ``reported_time`` keeps the venue's own timestamp (Binance adds a few ms of jitter);
    ``funding_rate`` is a fraction per funding interval (0.0001 = 0.01 %).
    """

    table: ClassVar[str] = "market_funding"

    time: np.ndarray
    reported_time: np.ndarray
    funding_rate: np.ndarray
    mark_price: np.ndarray
    source: np.ndarray

    @property
    def interval_ms(self) -> int:
        """Funding interval: the most common spacing of the marks (8 h on Binance BTCUSDT)."""
        return modal_step(self.time_ms, default=8 * 3_600_000)


@dataclass(frozen=True, eq=False)
class OpenInterestSeries(_Series):
    """Open interest sampled every ``timeframe``: base units and quote value."""

    table: ClassVar[str] = "market_open_interest"
    key: ClassVar[tuple[str, ...]] = ("venue", "symbol", "timeframe")

    timeframe: str
    time: np.ndarray
    open_interest: np.ndarray
    open_interest_value: np.ndarray
    source: np.ndarray


@dataclass(frozen=True, eq=False)
class LiquidationSeries(_Series):
    """Liquidated notional per ``timeframe`` bucket (quote currency), split by side.

    ``long_usd`` is long positions liquidated (sell orders), ``short_usd`` shorts (buy orders).
    """

    table: ClassVar[str] = "market_liquidations"
    key: ClassVar[tuple[str, ...]] = ("venue", "symbol", "timeframe")

    timeframe: str
    time: np.ndarray
    long_usd: np.ndarray
    short_usd: np.ndarray
    total_usd: np.ndarray
    orders: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class Fact:
    """A dated fact quoted from the news: a cited layer of its own, never part of a series.

    ``window`` says what the number covers, e.g. ``rolling 24h (CoinGlass)``; ``source`` is
    the article's address.
    """

    reported_on: str
    kind: str
    value: float
    unit: str
    window: str
    note: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MarketData:
    """Everything the market layer knows for a period: series by kind plus the news facts."""

    ohlcv: tuple[PriceSeries, ...] = ()
    funding: tuple[FundingSeries, ...] = ()
    open_interest: tuple[OpenInterestSeries, ...] = ()
    liquidations: tuple[LiquidationSeries, ...] = ()
    facts: tuple[Fact, ...] = field(default_factory=tuple)

    def series(self) -> Iterable[_Series]:
        """All series, of every kind."""
        yield from self.ohlcv
        yield from self.funding
        yield from self.open_interest
        yield from self.liquidations

    def is_empty(self) -> bool:
        """True when there is neither a series row nor a fact."""
        return not self.facts and all(len(s) == 0 for s in self.series())

    def row_counts(self) -> dict[str, int]:
        """Rows per store table."""
        counts = {"market_ohlcv": 0, "market_funding": 0, "market_open_interest": 0,
                  "market_liquidations": 0, "market_facts": len(self.facts)}
        for series in self.series():
            counts[series.table] += len(series)
        return counts

    def merged(self, other: MarketData) -> MarketData:
        """Both bundles side by side (same-key series stay apart; see :meth:`combined`)."""
        return MarketData(self.ohlcv + other.ohlcv, self.funding + other.funding,
                          self.open_interest + other.open_interest,
                          self.liquidations + other.liquidations, self.facts + other.facts)

    def combined(self) -> MarketData:
        """Series with the same key joined into one, sorted; on equal times the later wins."""
        def join(group: tuple[_Series, ...]) -> tuple[Any, ...]:
            by_key: dict[tuple[Any, ...], list[_Series]] = {}
            for series in group:
                by_key.setdefault(tuple(getattr(series, k) for k in series.key), []).append(
                    series)
            out = []
            for parts in by_key.values():
                first = parts[0]
                arrays = {n: np.concatenate([getattr(p, n) for p in parts])
                          for n in first._arrays()}
                keep = sort_unique(arrays["time"].astype("datetime64[ms]").astype(np.int64))
                out.append(dataclasses.replace(first, **{n: a[keep] for n, a in arrays.items()}))
            return tuple(out)
        return MarketData(join(self.ohlcv), join(self.funding), join(self.open_interest),
                          join(self.liquidations), self.facts)

    def filtered(self, *, venue: str | None = None, symbol: str | None = None) -> MarketData:
        """Only the series of that venue and/or symbol (facts are kept: they have neither)."""
        def keep(series: _Series) -> bool:
            return ((venue is None or series.venue == venue)
                    and (symbol is None or series.symbol.upper() == symbol.upper()))
        return MarketData(tuple(filter(keep, self.ohlcv)), tuple(filter(keep, self.funding)),
                          tuple(filter(keep, self.open_interest)),
                          tuple(filter(keep, self.liquidations)), self.facts)


def modal_step(times_ms: np.ndarray, default: int) -> int:
    """Most common positive difference between consecutive times (``default`` if none)."""
    steps = np.diff(np.sort(np.asarray(times_ms, dtype=np.int64)))
    steps = steps[steps > 0]
    if steps.size == 0:
        return default
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


def sort_unique(times_ms: Sequence[int] | np.ndarray) -> np.ndarray:
    """Index order that sorts ``times_ms`` ascending and keeps the last of equal times."""
    times = np.asarray(times_ms, dtype=np.int64)
    order = np.argsort(times, kind="stable")
    sorted_times = times[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = sorted_times[1:] != sorted_times[:-1]
    return order[last]


SERIES_KINDS: dict[str, type[_Series]] = {
    cls.table: cls for cls in (PriceSeries, FundingSeries, OpenInterestSeries, LiquidationSeries)}

_TIME_FIELDS = ("time", "reported_time")
_TEXT_FIELDS = ("source",)


def series_from_records(cls: type[_Series], records: Iterable[dict[str, Any]]) -> list[_Series]:
    """Group flat records (times as epoch ms) into one series per key, sorted by time.

    Records must carry every field of ``cls``; a missing number may be ``None`` (stored as
    NaN). Of two records with the same key and time the later one wins (re-fetched pages).
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(tuple(record[k] for k in cls.key), []).append(record)
    array_fields = [f.name for f in dataclasses.fields(cls) if f.name not in cls.key]
    out: list[_Series] = []
    for key in sorted(groups, key=lambda k: tuple(map(str, k))):
        rows = groups[key]
        keep = sort_unique([r["time"] for r in rows])
        rows = [rows[i] for i in keep]
        values: dict[str, Any] = dict(zip(cls.key, key, strict=True))
        for name in array_fields:
            column = [r.get(name) for r in rows]
            if name in _TIME_FIELDS:
                values[name] = np.array(column, dtype=np.int64).astype("datetime64[ms]")
            elif name in _TEXT_FIELDS:
                values[name] = np.array(column, dtype=object)
            else:
                values[name] = np.array([np.nan if v is None else v for v in column],
                                        dtype=np.float64)
        out.append(cls(**values))
    return out
