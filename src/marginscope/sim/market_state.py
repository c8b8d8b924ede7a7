"""Market state per UTC day and hour, computed from the REAL shipped data (never invented).

Inputs are the shipped snapshot (:func:`marginscope.market.load_snapshot`): Yahoo Finance
``BTC-USD`` daily bars (2025-09-01 .. 2025-12-31), Binance USDⓈ-M BTCUSDT 4-hour klines and
8-hour funding prints (November 2025), and the events :func:`marginscope.market.detect_events`
finds in them. Features (what the behaviour model reads):

``depth``
    Fall of the day's low below the running high of all daily highs so far (from Sep 1):
    ``1 − low / running_high`` (0.36 on Nov 21, 2025).
``move``
    Absolute close-to-close change, fraction.
``range_ratio``
    The day's range ``(high − low) / close`` divided by its median over the whole daily file:
    1 is a usual day.
``fall_7d``
    ``max(0, 1 − close / close 7 days earlier)``: how much prices fell over the last week.
``breaks``
    Round-number breaks detected that day (first daily low/close under 100k, 90k, …;
    ``round_number_break`` events, 90-day look-back).
``negative_funding``
    Share of the day's funding prints below zero (0 where no print was collected: October).
``hour_activity``
    Per hour: ``|4h return| / median |4h return|`` of the kline holding the hour, floored at
    0.5 and capped at 3 (1 where no 4h bar exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from marginscope.errors import InputError
from marginscope.market import MarketData, MarketEvent, detect_events, load_snapshot
from marginscope.market.series import PriceSeries

__all__ = ["MarketState", "market_state"]

_DAY_MS = 86_400_000


@dataclass(frozen=True, eq=False)
class MarketState:
    """Daily and hourly market features for ``days`` (see the module docstring)."""

    days: np.ndarray                   # datetime64[D]
    close: np.ndarray
    depth: np.ndarray
    move: np.ndarray
    range_ratio: np.ndarray
    fall_7d: np.ndarray
    breaks: np.ndarray
    negative_funding: np.ndarray
    funding_prints: np.ndarray         # prints collected per day
    hour_activity: np.ndarray          # shape (day, 24)
    hour_close: np.ndarray             # shape (day, 24): close of the bar holding the hour
    events: tuple[MarketEvent, ...] = ()
    sources: tuple[str, ...] = field(default_factory=tuple)

    def index(self, day: str | date) -> int:
        """Position of an ISO day in :attr:`days`."""
        hits = np.flatnonzero(self.days == np.datetime64(str(day), "D"))
        if hits.size == 0:
            raise InputError("day", str(day), f"a day from {self.days[0]} to {self.days[-1]}")
        return int(hits[0])

    def price_at(self, ts_us: np.ndarray) -> np.ndarray:
        """BTC price for microsecond timestamps: the 4h close where known, else the daily."""
        ts_us = np.asarray(ts_us, dtype=np.int64)
        first_us = int(self.days[0].astype("datetime64[us]").astype(np.int64))
        hour = (ts_us - first_us) // 3_600_000_000
        day, within = np.clip(hour // 24, 0, len(self.days) - 1), np.clip(hour % 24, 0, 23)
        return self.hour_close[day, within]


def _daily_series(data: MarketData) -> PriceSeries:
    daily = [s for s in data.ohlcv if s.timeframe == "1d" and len(s)]
    if not daily:
        raise InputError("market", "no daily bars", "a bundle with daily BTC bars")
    return max(daily, key=len)


def market_state(start: str | date, end: str | date, data: MarketData | None = None
                 ) -> MarketState:
    """Features for the days ``start`` … ``end`` (inclusive) from ``data`` (default: snapshot).

    Every day must have a daily bar; the running high and the 7-day change use earlier bars
    of the file too.
    """
    data = data or load_snapshot()
    daily = _daily_series(data)
    bar_days = daily.time.astype("datetime64[D]")
    first, last = np.datetime64(str(start), "D"), np.datetime64(str(end), "D")
    if last < first:
        raise InputError("end", str(end), f"on or after {start}")
    days = np.arange(first, last + 1)
    where = np.searchsorted(bar_days, days)
    if (where >= len(bar_days)).any() or (bar_days[np.minimum(where, len(bar_days) - 1)]
                                          != days).any():
        raise InputError("period", f"{start}..{end}",
                         f"days with daily bars in the market data ({bar_days[0]} .. "
                         f"{bar_days[-1]})")
    running = np.maximum.accumulate(daily.high)
    depth = 1.0 - daily.low / running
    previous = np.concatenate(([np.nan], daily.close[:-1]))
    move = np.nan_to_num(np.abs(daily.close / previous - 1.0))  # the file's first day: 0
    spread = (daily.high - daily.low) / daily.close
    range_ratio = spread / np.nanmedian(spread)
    week_ago = np.concatenate((np.full(7, np.nan), daily.close[:-7]))
    fall = np.clip(1.0 - daily.close / week_ago, 0.0, None)

    first_ms = int(first.astype("datetime64[ms]").astype(np.int64))
    end_ms = int((last + 1).astype("datetime64[ms]").astype(np.int64))
    events = tuple(e for e in detect_events(data, end_ms=end_ms)
                   if first_ms <= e.time_ms < end_ms)
    breaks = np.zeros(len(days), dtype=np.int64)
    for event in events:
        if event.kind == "round_number_break" and event.series == daily.name:
            breaks[(event.time_ms - first_ms) // _DAY_MS] += 1

    negative = np.zeros(len(days))
    prints = np.zeros(len(days), dtype=np.int64)
    for funding in data.funding:
        position = (funding.time_ms - first_ms) // _DAY_MS
        inside = (position >= 0) & (position < len(days))
        np.add.at(prints, position[inside], 1)
        np.add.at(negative, position[inside], (funding.funding_rate[inside] < 0).astype(float))
    negative = np.divide(negative, prints, out=np.zeros(len(days)), where=prints > 0)

    daily_close = daily.close[where]
    hour_activity = np.ones((len(days), 24))
    hour_close = np.repeat(daily_close[:, None], 24, axis=1)
    sources = [str(daily.source[0])]
    for bars in data.ohlcv:
        if bars.bar_ms >= _DAY_MS or len(bars) < 2 or bars.bar_ms % 3_600_000:
            continue
        ret = np.abs(bars.close / bars.open - 1.0)
        level = np.clip(ret / np.median(ret), 0.5, 3.0)
        hours = bars.bar_ms // 3_600_000
        start_hour = (bars.time_ms - first_ms) // 3_600_000
        for offset in range(hours):
            slot = start_hour + offset
            ok = (slot >= 0) & (slot < len(days) * 24)
            hour_activity.flat[slot[ok]] = level[ok]
            hour_close.flat[slot[ok]] = bars.close[ok]
        sources.append(str(bars.source[0]))
    sources += [str(f.source[0]) for f in data.funding if len(f)]
    return MarketState(days=days, close=daily_close, depth=depth[where], move=move[where],
                       range_ratio=range_ratio[where], fall_7d=np.nan_to_num(fall[where]),
                       breaks=breaks, negative_funding=negative, funding_prints=prints,
                       hour_activity=hour_activity, hour_close=hour_close, events=events,
                       sources=tuple(dict.fromkeys(sources)))
