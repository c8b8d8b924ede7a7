"""The hourly market path the simulated traders live on: real prices and real funding prints.

Prices
    Binance USDⓈ-M BTCUSDT 4-hour bars where the shipped snapshot has all six of a day's bars
    (November 2025), else the Yahoo Finance ``BTC-USD`` daily bar. Inside a bar the path runs
    open → the nearer extreme → the other extreme → close, linearly, the extremes at one and
    two thirds of the bar (a modelling assumption: OHLC bars do not say when the low came).
    Each hour has the price at its end and the low and high the path reaches within it, so the
    hourly lows and highs reach every bar's real low and high: a position whose liquidation
    price the market touched is liquidated on that bar's day.
Funding
    Binance BTCUSDT 8-hour prints: November from the shipped snapshot; the October lead-in from
    ``sim/data/btcusdt_funding_2025-10.csv`` (the same public copy as the shipped November
    file, BTspaceC/crypto-swing-backtest ``data/BTCUSDT_funding.csv`` @ ``31deb66a043d``; its
    first November row equals the shipped file's). A funding mark with no collected print is
    **missing** (NaN), never zero: agents act on the last print known.
Calm counterfactual
    :func:`calm_path`: the same hours, the price held at the first hour's open, funding at the
    median of the real prints at every mark: the market gives the agents nothing to answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from marginscope.errors import InputError
from marginscope.market import MarketData, load_snapshot
from marginscope.market.files import read_market_file

__all__ = ["LEAD_IN_FUNDING", "HourlyPath", "calm_path", "hourly_path", "lead_in_funding"]

LEAD_IN_FUNDING = "btcusdt_funding_2025-10.csv"
"""Binance BTCUSDT funding prints of October 2025 (the lead-in), in ``sim/data``."""

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_SUB = 12  # sub-steps per hour on which the in-bar path is traced


@dataclass(frozen=True, eq=False)
class HourlyPath:
    """Per hour (``time_ms`` = the hour's start, UTC): price at the hour's end, the low and high
    within it, and the funding print at the hour's start (NaN: no mark, or not collected).

    ``first`` is the index of the first simulated hour: the hours before it (a week) are the
    look-back the agents' memory of past moves reads.
    """

    time_ms: np.ndarray
    price: np.ndarray
    low: np.ndarray
    high: np.ndarray
    funding: np.ndarray
    funding_mark: np.ndarray  # bool: a funding mark falls on this hour (every 8 h)
    first: int
    label: str
    sources: tuple[str, ...]

    @property
    def days(self) -> np.ndarray:
        """The simulated UTC days (``datetime64[D]``)."""
        return np.unique(
            self.time_ms[self.first :].astype("datetime64[ms]").astype("datetime64[D]")
        )

    def day_index(self) -> np.ndarray:
        """Simulated day of every hour (negative in the look-back)."""
        start = self.time_ms[self.first] // _DAY_MS
        return (self.time_ms // _DAY_MS - start).astype(np.int64)


@cache
def lead_in_funding() -> MarketData:
    """October 2025 Binance BTCUSDT funding prints (see the module docstring)."""
    folder = resources.files("marginscope.sim") / "data"
    return read_market_file(Path(str(folder / LEAD_IN_FUNDING)))


def _bars(data: MarketData) -> tuple[list, object]:
    daily = [s for s in data.ohlcv if s.timeframe == "1d" and len(s)]
    if not daily:
        raise InputError("market", "no daily bars", "a bundle with daily BTC bars")
    intraday = [
        s for s in data.ohlcv if 0 < s.bar_ms < _DAY_MS and len(s) > 1 and s.bar_ms % _HOUR_MS == 0
    ]
    return intraday, max(daily, key=len)


def _waypoints(time_ms, bar_ms, open_, high, low, close) -> tuple[np.ndarray, np.ndarray]:
    """(times, prices) of open → nearer extreme → other extreme → close for each bar."""
    low_first = np.abs(open_ - low) <= np.abs(high - open_)
    first = np.where(low_first, low, high)
    second = np.where(low_first, high, low)
    times = time_ms[:, None] + np.asarray([0.0, 1 / 3, 2 / 3, 1.0])[None, :] * bar_ms[:, None]
    prices = np.stack([open_, first, second, close], axis=1)
    return times, prices


def hourly_path(
    start: str | date, end: str | date, data: MarketData | None = None, *, look_back_days: int = 7
) -> HourlyPath:
    """The real hourly path from ``start`` − ``look_back_days`` to the end of ``end``."""
    data = data or load_snapshot()
    intraday, daily = _bars(data)
    first_day = np.datetime64(str(start), "D")
    last_day = np.datetime64(str(end), "D")
    if last_day < first_day:
        raise InputError("end", str(end), f"on or after {start}")
    lead = first_day - look_back_days
    days = np.arange(lead, last_day + 1)
    day_ms = days.astype("datetime64[ms]").astype(np.int64)
    bar_days = daily.time.astype("datetime64[D]")
    where = np.searchsorted(bar_days, days)
    if (where >= len(bar_days)).any() or (
        bar_days[np.minimum(where, len(bar_days) - 1)] != days
    ).any():
        raise InputError(
            "period",
            f"{start}..{end}",
            f"days with daily bars (and {look_back_days} before) in the market "
            f"data ({bar_days[0] + look_back_days} .. {bar_days[-1]})",
        )
    covered = np.zeros(len(days), dtype=bool)
    pieces = []
    sources = [str(daily.source[0])]
    for bars in intraday:
        per_day = _DAY_MS // bars.bar_ms
        position = (bars.time_ms - day_ms[0]) // _DAY_MS
        inside = (position >= 0) & (position < len(days))
        full = np.bincount(position[inside], minlength=len(days)) == per_day
        full &= ~covered
        take = inside & full[np.clip(position, 0, len(days) - 1)]
        if take.any():
            covered |= full
            pieces.append(
                _waypoints(
                    bars.time_ms[take].astype(float),
                    np.full(take.sum(), float(bars.bar_ms)),
                    bars.open[take],
                    bars.high[take],
                    bars.low[take],
                    bars.close[take],
                )
            )
            sources.append(str(bars.source[0]))
    rest = ~covered
    pieces.append(
        _waypoints(
            day_ms[rest].astype(float),
            np.full(rest.sum(), float(_DAY_MS)),
            daily.open[where][rest],
            daily.high[where][rest],
            daily.low[where][rest],
            daily.close[where][rest],
        )
    )
    times = np.concatenate([p[0] for p in pieces])
    prices = np.concatenate([p[1] for p in pieces])
    order = np.argsort(times[:, 0], kind="stable")
    times, prices = times[order], prices[order]
    # the first bar keeps its open; later bars start where the previous closed
    wp_t = np.concatenate([times[:1, 0], times[:, 1:].ravel()])
    wp_p = np.concatenate([prices[:1, 0], prices[:, 1:].ravel()])
    n_hours = len(days) * 24
    hour_ms = day_ms[0] + np.arange(n_hours, dtype=np.int64) * _HOUR_MS
    fine_t = day_ms[0] + np.arange(n_hours * _SUB + 1) * (_HOUR_MS / _SUB)
    fine = np.interp(fine_t, wp_t, wp_p)
    # exact extremes: every waypoint inside an hour counts towards its low / high
    blocks = np.lib.stride_tricks.sliding_window_view(fine, _SUB + 1)[::_SUB]
    low, high = blocks.min(axis=1), blocks.max(axis=1)
    slot = np.clip(((wp_t - day_ms[0]) // _HOUR_MS).astype(np.int64), 0, n_hours - 1)
    np.minimum.at(low, slot, wp_p)
    np.maximum.at(high, slot, wp_p)
    price = fine[_SUB::_SUB]

    funding = np.full(n_hours, np.nan)
    marks = np.zeros(n_hours, dtype=bool)
    marks[((hour_ms // _HOUR_MS) % 8) == 0] = True
    for bundle in (lead_in_funding(), data):
        for series in bundle.funding:
            position = (series.time_ms - day_ms[0]) // _HOUR_MS
            inside = (position >= 0) & (position < n_hours)
            funding[position[inside]] = series.funding_rate[inside]
            if inside.any():
                sources.append(str(series.source[0]))
    return HourlyPath(
        time_ms=hour_ms,
        price=price,
        low=low,
        high=high,
        funding=funding,
        funding_mark=marks,
        first=look_back_days * 24,
        label="real",
        sources=tuple(dict.fromkeys(sources)),
    )


def calm_path(path: HourlyPath) -> HourlyPath:
    """The counterfactual: the same hours with the price held flat at the first simulated
    hour's price and funding at the median of the known prints on every mark."""
    level = float(path.price[path.first - 1])
    known = path.funding[~np.isnan(path.funding)]
    rate = float(np.median(known)) if known.size else 0.0001
    flat = np.full(len(path.time_ms), level)
    return replace(
        path,
        price=flat,
        low=flat.copy(),
        high=flat.copy(),
        funding=np.where(path.funding_mark, rate, np.nan),
        label="calm",
        sources=(
            f"counterfactual: price held at {level:,.2f}, funding "
            f"{rate:.6f} per 8 h (median of the real prints)",
        ),
    )
