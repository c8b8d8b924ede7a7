"""Events read from price bars: round-number breaks, drawdowns, month lows, volume peaks, moves.

Rules (also in ``docs/market.md``):

``round_number_break``
    First bar whose low (and, separately, whose close) is below a round level — multiples of
    ``step``, default one tenth of the price's order of magnitude (10,000 for BTC at 100k) —
    with no low (close) below that level in the look-back (default 90 days) before it. At least
    one earlier bar is needed; when the data start inside the look-back the event says so.
``drawdown``
    Fall from the window's highest high to the lowest low after it; a second event measures
    from the running high when that high was set before the window.
``drawdown_threshold``
    First bar whose low is 10/20/30/40/50 % below the running high (re-armed by a new high).
``month_low`` / ``volume_peak``
    Lowest low / highest volume (quote notional if recorded, else base) of each calendar month
    (UTC) in the window.
``largest_daily_move``
    The ``top`` largest close-to-close changes between consecutive daily bars
    (``largest_bar_move`` for shorter bars).

All times are ISO 8601 UTC (bar open time). ``source`` is the ``source`` text of the row(s) the
value was read from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from marginscope.errors import InputError
from marginscope.market.event import MarketEvent, row_event, window_mask
from marginscope.market.event_wording import bar_word, big, day, money, pct, quote_currency
from marginscope.market.series import PriceSeries
from marginscope.market.times import DAY_MS, iso_utc

__all__ = [
    "DRAWDOWN_THRESHOLDS",
    "default_round_step",
    "drawdowns",
    "largest_moves",
    "month_lows",
    "round_number_breaks",
    "volume_peaks",
]

DRAWDOWN_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def default_round_step(price: float) -> float:
    """One tenth of the price's order of magnitude: 10,000 at 126,198; 100 at 3,500."""
    if not math.isfinite(price) or price <= 0:
        raise InputError("round_step", price, "a positive price to size the round levels")
    return float(10 ** (math.floor(math.log10(price)) - 1))


def _month_keys(times_ms: np.ndarray) -> np.ndarray:
    return times_ms.astype("datetime64[ms]").astype("datetime64[M]")


def _month_complete(series: PriceSeries, month: np.datetime64, in_month: np.ndarray) -> bool:
    times = series.time_ms[in_month]
    first = int(month.astype("datetime64[ms]").astype(np.int64))
    after = int((month + np.timedelta64(1, "M")).astype("datetime64[ms]").astype(np.int64))
    return bool(times[0] == first and times[-1] + series.bar_ms >= after)


def round_number_breaks(
    series: PriceSeries,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    lookback_days: float = 90,
    step: float | None = None,
) -> list[MarketEvent]:
    """First low / first close below each round level within the look-back.

    Rule: bar *i* is a break of level *L* when ``x[i] < L`` and no bar in
    ``[t[i] - lookback, t[i])`` has ``x < L``, and that look-back holds at least one bar
    (``x`` = low, then close). Levels are multiples of ``step`` between the window's lowest
    value and the highest high seen so far.
    """
    if lookback_days <= 0:
        raise InputError("lookback_days", lookback_days, "> 0")
    times = series.time_ms
    in_window = window_mask(times, start_ms, end_ms)
    if not in_window.any():
        return []
    last = int(np.flatnonzero(in_window)[-1])
    top = float(np.max(series.high[: last + 1]))
    step = default_round_step(top) if step is None else float(step)
    if not math.isfinite(step) or step <= 0:
        raise InputError("round_step", step, "> 0")
    lookback_ms = int(lookback_days * DAY_MS)
    index = np.arange(len(times))
    quote = quote_currency(series.symbol)
    events: list[MarketEvent] = []
    for field_name in ("low", "close"):
        values = getattr(series, field_name)
        lowest = float(np.min(values[in_window]))
        levels = np.arange(math.floor(lowest / step) + 1, math.floor(top / step) + 1) * step
        for level in levels:
            below = values < level
            marks = np.where(below, index, -1)
            previous_below = np.concatenate(([-1], np.maximum.accumulate(marks)[:-1]))
            candidates = np.flatnonzero(below & in_window)
            candidates = candidates[candidates > 0]
            horizon = times[candidates] - lookback_ms
            has_history = times[candidates - 1] >= horizon  # a bar inside the look-back
            last_below = previous_below[candidates]
            clear = (last_below < 0) | (times[np.maximum(last_below, 0)] < horizon)
            for i in candidates[has_history & clear]:
                full = bool(times[0] <= times[i] - lookback_ms)
                since = (
                    f"none in the prior {lookback_days:g} days"
                    if full
                    else f"none since {day(times[0])} (start of the data; look-back "
                    f"{lookback_days:g} days)"
                )
                text = (
                    f"first {bar_word(series)} {field_name} below "
                    f"{level:,.0f}: {money(values[i])} {quote}; {since}"
                )
                details = {
                    "level": float(level),
                    "field": field_name,
                    "lookback_days": float(lookback_days),
                    "full_lookback": full,
                    "history_from": iso_utc(times[0]),
                }
                events.append(
                    row_event("round_number_break", series, i, values[i], quote, text, details)
                )
    return events


def drawdowns(
    series: PriceSeries, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[MarketEvent]:
    """Drawdown from the window's high and from the running high, plus threshold crossings.

    ``value`` is ``trough_low / peak_high - 1`` (a negative fraction). The running high is the
    highest high of all bars up to and including the bar, before the window included.
    """
    times, high, low = series.time_ms, series.high, series.low
    in_window = window_mask(times, start_ms, end_ms)
    rows = np.flatnonzero(in_window)
    if rows.size == 0:
        return []
    events: list[MarketEvent] = []

    def peak_details(peak: int) -> dict[str, Any]:
        return {"peak_time": iso_utc(times[peak]), "peak": float(high[peak])}

    def drawdown_event(peak: int, trough: int, measure: str) -> MarketEvent:
        fraction = float(low[trough] / high[peak] - 1)
        where = "the window's high" if measure == "window_high" else "the running high"
        text = (
            f"drawdown {pct(fraction)} from {where} {money(high[peak])} "
            f"({day(times[peak])}) to the low {money(low[trough])} "
            f"({day(times[trough])})"
        )
        details = {"measure": measure, **peak_details(peak), "trough": float(low[trough])}
        return row_event(
            "drawdown", series, trough, fraction, "fraction", text, details, rows=(peak, trough)
        )

    peak = int(rows[np.argmax(high[rows])])
    after = rows[rows >= peak]
    trough = int(after[np.argmin(low[after])])
    if low[trough] < high[peak]:
        events.append(drawdown_event(peak, trough, "window_high"))

    running = np.maximum.accumulate(high)
    depth = low / running - 1
    deepest = int(rows[np.argmin(depth[rows])])
    running_peak = int(np.argmax(high[: deepest + 1]))
    if running_peak < rows[0] and depth[deepest] < 0:
        events.append(drawdown_event(running_peak, deepest, "running_high"))

    index = np.arange(len(times))
    episode = np.maximum.accumulate(np.where(high >= running, index, 0))
    for threshold in DRAWDOWN_THRESHOLDS:
        hits = np.flatnonzero(depth <= -threshold)
        if hits.size == 0:
            continue
        _, first = np.unique(episode[hits], return_index=True)
        for i in hits[first]:
            if not in_window[i]:
                continue
            top = int(episode[i])
            text = (
                f"{bar_word(series)} low {money(low[i])} is {pct(depth[i])} "
                f"from the running high {money(high[top])} ({day(times[top])}): "
                f"first bar {threshold:.0%} or more below it"
            )
            details = {"threshold": threshold, **peak_details(top), "low": float(low[i])}
            kind = "drawdown_threshold"
            events.append(
                row_event(kind, series, i, depth[i], "fraction", text, details, rows=(top, i))
            )
    return events


def month_lows(
    series: PriceSeries, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[MarketEvent]:
    """Lowest low of each calendar month (UTC) in the window, with the bar that printed it."""
    times = series.time_ms
    in_window = window_mask(times, start_ms, end_ms)
    months = _month_keys(times)
    quote = quote_currency(series.symbol)
    events = []
    for month in np.unique(months[in_window]):
        in_month = in_window & (months == month)
        rows = np.flatnonzero(in_month)
        i = int(rows[np.argmin(series.low[rows])])
        complete = _month_complete(series, month, in_month)
        scope = (
            "" if complete else (f" (bars {day(times[rows[0]])} to {day(times[rows[-1]])} only)")
        )
        text = (
            f"lowest {bar_word(series)} low of {month} in this series: "
            f"{money(series.low[i])} {quote}{scope}"
        )
        details = {"month": str(month), "complete_month": complete}
        events.append(row_event("month_low", series, i, series.low[i], quote, text, details))
    return events


def volume_peaks(
    series: PriceSeries, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[MarketEvent]:
    """Highest-volume bar of each calendar month (UTC) in the window."""
    volume, which = series.volume()
    times = series.time_ms
    in_window = window_mask(times, start_ms, end_ms) & np.isfinite(volume)
    months = _month_keys(times)
    unit = quote_currency(series.symbol) if which == "quote" else "base units"
    events = []
    for month in np.unique(months[in_window]):
        rows = np.flatnonzero(in_window & (months == month))
        i = int(rows[np.argmax(volume[rows])])
        text = (
            f"highest {bar_word(series)} volume of {month} in this series: {big(volume[i])} {unit}"
        )
        details = {"month": str(month), "volume": which}
        events.append(row_event("volume_peak", series, i, volume[i], unit, text, details))
    return events


def largest_moves(
    series: PriceSeries, *, start_ms: int | None = None, end_ms: int | None = None, top: int = 3
) -> list[MarketEvent]:
    """The ``top`` largest close-to-close changes between consecutive bars in the window."""
    if top < 0:
        raise InputError("top_moves", top, ">= 0")
    times, close = series.time_ms, series.close
    if len(times) < 2 or top == 0:
        return []
    change = close[1:] / close[:-1] - 1
    consecutive = np.diff(times) == series.bar_ms
    candidates = np.flatnonzero(consecutive & window_mask(times[1:], start_ms, end_ms)) + 1
    if candidates.size == 0:
        return []
    order = candidates[np.argsort(-np.abs(change[candidates - 1]), kind="stable")][:top]
    kind = "largest_daily_move" if series.timeframe == "1d" else "largest_bar_move"
    events = []
    for rank, i in enumerate(order, start=1):
        fraction = float(change[i - 1])
        text = (
            f"close {money(close[i])}, {pct(fraction)} from the prior close "
            f"{money(close[i - 1])}: #{rank} largest {bar_word(series)} move "
            "in the window"
        )
        details = {"rank": rank, "previous_close": float(close[i - 1]), "close": float(close[i])}
        events.append(
            row_event(kind, series, i, fraction, "fraction", text, details, rows=(i - 1, i))
        )
    return events
