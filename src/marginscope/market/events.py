"""Market events detected from the series, each with its time, value, source and series.

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
``funding_sign_change``
    A funding print whose sign differs from the previous non-zero print.
``funding_first_negative``
    The first negative funding print in the window.
``funding_negative_run``
    A stretch of prints that starts and ends negative with at least half its prints negative,
    extended greedily to the furthest negative print that keeps that share (a single negative
    print is a run of one). Value: the run's lowest rate; the longest run is flagged.
``liquidation_spike``
    A liquidation bucket at least ``factor`` (3) times the median of the previous ``baseline``
    (7) buckets.

All times are ISO 8601 UTC (bar open time; funding mark). ``source`` is the ``source`` text of
the row(s) the value was read from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from marginscope.errors import InputError
from marginscope.market.series import FundingSeries, LiquidationSeries, MarketData, PriceSeries
from marginscope.market.times import DAY_MS, format_timeframe, iso_utc, parse_utc_ms

__all__ = [
    "EVENT_KINDS",
    "MarketEvent",
    "detect_events",
    "drawdowns",
    "funding_events",
    "largest_moves",
    "liquidation_spikes",
    "month_lows",
    "round_number_breaks",
    "volume_peaks",
]

EVENT_KINDS = ("round_number_break", "drawdown", "drawdown_threshold", "month_low",
               "volume_peak", "largest_daily_move", "largest_bar_move", "funding_sign_change",
               "funding_first_negative", "funding_negative_run", "liquidation_spike")
DRAWDOWN_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)
_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD", "EUR", "BTC")


@dataclass(frozen=True)
class MarketEvent:
    """One market event, computed from a series.

    Attributes
    ----------
    kind : str
        One of :data:`EVENT_KINDS`.
    time : str
        ISO 8601 UTC (``2025-11-04T00:00:00Z``): the bar's open time or the funding mark.
    value : float
        The number the event is about (a price, a fraction, a rate, a volume); see ``unit``.
    description : str
        One sentence a report can quote.
    source : str
        The ``source`` text of the row(s) the value was read from.
    series : str
        The series id, ``<table>:<venue>:<symbol>[:<timeframe>]``.
    unit : str
        ``USD``/``USDT`` (prices, volumes), ``fraction`` (0.1 = 10 %), ``fraction per 8h``.
    details : dict
        Supporting numbers (level, peak, run length, …), JSON-ready.
    """

    kind: str
    time: str
    value: float
    description: str
    source: str
    series: str
    unit: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def time_ms(self) -> int:
        """``time`` as epoch milliseconds."""
        return parse_utc_ms(self.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--json`` output of ``marginscope market events``)."""
        return asdict(self)


# --- helpers ------------------------------------------------------------------------------

def _window(times_ms: np.ndarray, start_ms: int | None, end_ms: int | None) -> np.ndarray:
    mask = np.ones(len(times_ms), dtype=bool)
    if start_ms is not None:
        mask &= times_ms >= start_ms
    if end_ms is not None:
        mask &= times_ms < end_ms
    return mask


def _sources(series_source: np.ndarray, *indices: int) -> str:
    seen: list[str] = []
    for i in indices:
        text = str(series_source[i])
        if text not in seen:
            seen.append(text)
    return " | ".join(seen)


def _quote_currency(symbol: str) -> str:
    plain = symbol.upper().split(":")[0].replace("/", "").replace("-", "").replace("_", "")
    return next((q for q in _QUOTES if plain.endswith(q) and plain != q), "quote")


def _bar_word(series: PriceSeries) -> str:
    return "daily" if series.timeframe == "1d" else f"{series.timeframe}-bar"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _big(value: float) -> str:
    for size, word in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if abs(value) >= size:
            return f"{value / size:,.2f} {word}"
    return f"{value:,.0f}"


def _pct(fraction: float, digits: int = 2) -> str:
    return f"{fraction * 100:+.{digits}f}%"


def _day(milliseconds: int) -> str:
    return iso_utc(milliseconds)[:10]


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


# --- price detectors ----------------------------------------------------------------------

def round_number_breaks(series: PriceSeries, *, start_ms: int | None = None,
                        end_ms: int | None = None, lookback_days: float = 90,
                        step: float | None = None) -> list[MarketEvent]:
    """First low / first close below each round level within the look-back.

    Rule: bar *i* is a break of level *L* when ``x[i] < L`` and no bar in
    ``[t[i] - lookback, t[i])`` has ``x < L``, and that look-back holds at least one bar
    (``x`` = low, then close). Levels are multiples of ``step`` between the window's lowest
    value and the highest high seen so far.
    """
    if lookback_days <= 0:
        raise InputError("lookback_days", lookback_days, "> 0")
    times = series.time_ms
    in_window = _window(times, start_ms, end_ms)
    if not in_window.any():
        return []
    last = int(np.flatnonzero(in_window)[-1])
    top = float(np.max(series.high[: last + 1]))
    step = default_round_step(top) if step is None else float(step)
    if not math.isfinite(step) or step <= 0:
        raise InputError("round_step", step, "> 0")
    lookback_ms = int(lookback_days * DAY_MS)
    index = np.arange(len(times))
    quote = _quote_currency(series.symbol)
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
                since = (f"none in the prior {lookback_days:g} days" if full else
                         f"none since {_day(times[0])} (start of the data; look-back "
                         f"{lookback_days:g} days)")
                events.append(MarketEvent(
                    kind="round_number_break", time=iso_utc(times[i]),
                    value=float(values[i]),
                    description=(f"first {_bar_word(series)} {field_name} below "
                                 f"{level:,.0f}: {_money(values[i])} {quote}; {since}"),
                    source=_sources(series.source, i), series=series.name, unit=quote,
                    details={"level": float(level), "field": field_name,
                             "lookback_days": float(lookback_days), "full_lookback": full,
                             "history_from": iso_utc(times[0])}))
    return events


def drawdowns(series: PriceSeries, *, start_ms: int | None = None,
              end_ms: int | None = None) -> list[MarketEvent]:
    """Drawdown from the window's high and from the running high, plus threshold crossings.

    ``value`` is ``trough_low / peak_high - 1`` (a negative fraction). The running high is the
    highest high of all bars up to and including the bar, before the window included.
    """
    times, high, low = series.time_ms, series.high, series.low
    in_window = _window(times, start_ms, end_ms)
    rows = np.flatnonzero(in_window)
    if rows.size == 0:
        return []
    events: list[MarketEvent] = []

    def drawdown_event(peak: int, trough: int, measure: str) -> MarketEvent:
        fraction = float(low[trough] / high[peak] - 1)
        where = "the window's high" if measure == "window_high" else "the running high"
        return MarketEvent(
            kind="drawdown", time=iso_utc(times[trough]), value=fraction,
            description=(f"drawdown {_pct(fraction)} from {where} {_money(high[peak])} "
                         f"({_day(times[peak])}) to the low {_money(low[trough])} "
                         f"({_day(times[trough])})"),
            source=_sources(series.source, peak, trough), series=series.name, unit="fraction",
            details={"measure": measure, "peak_time": iso_utc(times[peak]),
                     "peak": float(high[peak]), "trough": float(low[trough])})

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
            events.append(MarketEvent(
                kind="drawdown_threshold", time=iso_utc(times[i]), value=float(depth[i]),
                description=(f"{_bar_word(series)} low {_money(low[i])} is {_pct(depth[i])} "
                             f"from the running high {_money(high[top])} ({_day(times[top])}): "
                             f"first bar {threshold:.0%} or more below it"),
                source=_sources(series.source, top, i), series=series.name, unit="fraction",
                details={"threshold": threshold, "peak_time": iso_utc(times[top]),
                         "peak": float(high[top]), "low": float(low[i])}))
    return events


def month_lows(series: PriceSeries, *, start_ms: int | None = None,
               end_ms: int | None = None) -> list[MarketEvent]:
    """Lowest low of each calendar month (UTC) in the window, with the bar that printed it."""
    times = series.time_ms
    in_window = _window(times, start_ms, end_ms)
    months = _month_keys(times)
    quote = _quote_currency(series.symbol)
    events = []
    for month in np.unique(months[in_window]):
        in_month = in_window & (months == month)
        rows = np.flatnonzero(in_month)
        i = int(rows[np.argmin(series.low[rows])])
        complete = _month_complete(series, month, in_month)
        scope = "" if complete else (f" (bars {_day(times[rows[0]])} to {_day(times[rows[-1]])}"
                                     " only)")
        events.append(MarketEvent(
            kind="month_low", time=iso_utc(times[i]), value=float(series.low[i]),
            description=(f"lowest {_bar_word(series)} low of {month} in this series: "
                         f"{_money(series.low[i])} {quote}{scope}"),
            source=_sources(series.source, i), series=series.name, unit=quote,
            details={"month": str(month), "complete_month": complete}))
    return events


def volume_peaks(series: PriceSeries, *, start_ms: int | None = None,
                 end_ms: int | None = None) -> list[MarketEvent]:
    """Highest-volume bar of each calendar month (UTC) in the window."""
    volume, which = series.volume()
    times = series.time_ms
    in_window = _window(times, start_ms, end_ms) & np.isfinite(volume)
    months = _month_keys(times)
    unit = _quote_currency(series.symbol) if which == "quote" else "base units"
    events = []
    for month in np.unique(months[in_window]):
        rows = np.flatnonzero(in_window & (months == month))
        i = int(rows[np.argmax(volume[rows])])
        events.append(MarketEvent(
            kind="volume_peak", time=iso_utc(times[i]), value=float(volume[i]),
            description=(f"highest {_bar_word(series)} volume of {month} in this series: "
                         f"{_big(volume[i])} {unit}"),
            source=_sources(series.source, i), series=series.name, unit=unit,
            details={"month": str(month), "volume": which}))
    return events


def largest_moves(series: PriceSeries, *, start_ms: int | None = None,
                  end_ms: int | None = None, top: int = 3) -> list[MarketEvent]:
    """The ``top`` largest close-to-close changes between consecutive bars in the window."""
    if top < 0:
        raise InputError("top_moves", top, ">= 0")
    times, close = series.time_ms, series.close
    if len(times) < 2 or top == 0:
        return []
    change = close[1:] / close[:-1] - 1
    consecutive = np.diff(times) == series.bar_ms
    candidates = np.flatnonzero(consecutive & _window(times[1:], start_ms, end_ms)) + 1
    if candidates.size == 0:
        return []
    order = candidates[np.argsort(-np.abs(change[candidates - 1]), kind="stable")][:top]
    kind = "largest_daily_move" if series.timeframe == "1d" else "largest_bar_move"
    events = []
    for rank, i in enumerate(order, start=1):
        fraction = float(change[i - 1])
        events.append(MarketEvent(
            kind=kind, time=iso_utc(times[i]), value=fraction,
            description=(f"close {_money(close[i])}, {_pct(fraction)} from the prior close "
                         f"{_money(close[i - 1])}: #{rank} largest {_bar_word(series)} move "
                         "in the window"),
            source=_sources(series.source, i - 1, i), series=series.name, unit="fraction",
            details={"rank": rank, "previous_close": float(close[i - 1]),
                     "close": float(close[i])}))
    return events


# --- funding ------------------------------------------------------------------------------

def _rate(rate: float) -> str:
    return f"{rate * 100:+.6f}%"


def funding_events(series: FundingSeries, *, start_ms: int | None = None,
                   end_ms: int | None = None) -> list[MarketEvent]:
    """Sign changes, the first negative print and the negative runs of a funding series."""
    times, rates = series.time_ms, series.funding_rate
    in_window = _window(times, start_ms, end_ms)
    rows = np.flatnonzero(in_window)
    if rows.size == 0:
        return []
    per = format_timeframe(series.interval_ms)
    unit = f"fraction per {per}"
    events: list[MarketEvent] = []

    signs = np.sign(rates)
    nonzero = np.flatnonzero(signs != 0)
    for a, b in pairwise(nonzero):
        if signs[a] != signs[b] and in_window[b]:
            turned = "negative" if rates[b] < 0 else "positive"
            events.append(MarketEvent(
                kind="funding_sign_change", time=iso_utc(times[b]), value=float(rates[b]),
                description=(f"funding turned {turned}: {_rate(rates[b])} per {per} "
                             f"(previous print {_rate(rates[a])} at {iso_utc(times[a])})"),
                source=_sources(series.source, b), series=series.name, unit=unit,
                details={"previous_time": iso_utc(times[a]),
                         "previous_rate": float(rates[a])}))

    negative = rows[rates[rows] < 0]
    if negative.size == 0:
        return events
    first = int(negative[0])
    events.append(MarketEvent(
        kind="funding_first_negative", time=iso_utc(times[first]), value=float(rates[first]),
        description=f"first negative funding print in the window: {_rate(rates[first])} per {per}",
        source=_sources(series.source, first), series=series.name, unit=unit))

    runs = _negative_runs(rows, negative)
    longest = max(range(len(runs)), key=lambda k: (runs[k][1] - runs[k][0], -k))
    for k, (a, b, count) in enumerate(runs):
        stretch = np.arange(a, b + 1)
        low = int(stretch[np.argmin(rates[stretch])])
        prints = b - a + 1
        flags = [w for w, on in (("first negative print of the window", k == 0),
                                 ("longest negative run in the window", k == longest)) if on]
        if prints == 1:
            text = f"single negative funding print {_rate(rates[a])} per {per}"
        else:
            text = (f"funding negative in {count} of {prints} prints from {iso_utc(times[a])} "
                    f"to {iso_utc(times[b])}; lowest {_rate(rates[low])} per {per} at "
                    f"{iso_utc(times[low])}")
        events.append(MarketEvent(
            kind="funding_negative_run", time=iso_utc(times[a]), value=float(rates[low]),
            description=text + (f" ({'; '.join(flags)})" if flags else ""),
            source=_sources(series.source, a, low, b), series=series.name, unit=unit,
            details={"end": iso_utc(times[b]), "prints": prints, "negative_prints": count,
                     "min_time": iso_utc(times[low]), "sum_rate": float(rates[stretch].sum()),
                     "longest_streak": _longest_streak(rates[stretch] < 0),
                     "longest": k == longest, "first": k == 0}))
    return events


def _negative_runs(rows: np.ndarray, negative: np.ndarray) -> list[tuple[int, int, int]]:
    """Greedy runs ``(first, last, negatives)`` over print positions (see module rule)."""
    position = {int(r): p for p, r in enumerate(rows)}
    places = [position[int(i)] for i in negative]
    runs = []
    i = 0
    while i < len(places):
        best = i
        for j in range(i + 1, len(places)):
            if 2 * (j - i + 1) >= places[j] - places[i] + 1:
                best = j
        runs.append((int(rows[places[i]]), int(rows[places[best]]), best - i + 1))
        i = best + 1
    return runs


def _longest_streak(flags: np.ndarray) -> int:
    best = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


# --- liquidations -------------------------------------------------------------------------

def liquidation_spikes(series: LiquidationSeries, *, start_ms: int | None = None,
                       end_ms: int | None = None, factor: float = 3.0,
                       baseline: int = 7) -> list[MarketEvent]:
    """Buckets whose total is at least ``factor`` times the median of the prior ``baseline``."""
    if factor <= 1 or baseline < 1:
        raise InputError("spike", (factor, baseline), "factor > 1 and baseline >= 1 buckets")
    times, total = series.time_ms, series.total_usd
    in_window = _window(times, start_ms, end_ms)
    unit = _quote_currency(series.symbol)
    events = []
    for i in range(baseline, len(times)):
        if not in_window[i]:
            continue
        median = float(np.median(total[i - baseline:i]))
        if total[i] > 0 and total[i] >= factor * median:
            ratio = total[i] / median if median > 0 else math.inf
            events.append(MarketEvent(
                kind="liquidation_spike", time=iso_utc(times[i]), value=float(total[i]),
                description=(f"liquidations {_big(total[i])} {unit} in the {series.timeframe} "
                             f"bucket, {ratio:,.1f}x the median of the prior {baseline}"),
                source=_sources(series.source, i), series=series.name, unit=unit,
                details={"baseline_median": median, "ratio": float(ratio),
                         "long_usd": float(series.long_usd[i]),
                         "short_usd": float(series.short_usd[i])}))
    return events


# --- everything ---------------------------------------------------------------------------

def detect_events(data: MarketData, *, start_ms: int | None = None, end_ms: int | None = None,
                  intraday: bool = False, lookback_days: float = 90,
                  round_step: float | None = None, top_moves: int = 3,
                  spike_factor: float = 3.0, spike_baseline: int = 7) -> list[MarketEvent]:
    """All events of a bundle, sorted by time.

    Price detectors run on daily-or-longer bars; ``intraday=True`` adds round-number breaks,
    month lows and volume peaks on shorter bars (e.g. the 4h perp klines) for their timing.
    When a bundle has no daily-or-longer bars, the shorter ones get the full set. Earlier rows
    than ``start_ms`` still serve as look-back and running high.
    """
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise InputError("end", iso_utc(end_ms), f"after start {iso_utc(start_ms)}")
    window = {"start_ms": start_ms, "end_ms": end_ms}
    has_daily = any(s.bar_ms >= DAY_MS for s in data.ohlcv)
    events: list[MarketEvent] = []
    for series in data.ohlcv:
        if len(series) == 0:
            continue
        full = series.bar_ms >= DAY_MS or not has_daily
        if not (full or intraday):
            continue
        events += round_number_breaks(series, lookback_days=lookback_days, step=round_step,
                                      **window)
        events += month_lows(series, **window)
        events += volume_peaks(series, **window)
        if full:
            events += drawdowns(series, **window)
            events += largest_moves(series, top=top_moves, **window)
    for funding in data.funding:
        events += funding_events(funding, **window)
    for liquidations in data.liquidations:
        events += liquidation_spikes(liquidations, factor=spike_factor,
                                     baseline=spike_baseline, **window)
    return sort_events(events)


def sort_events(events: Iterable[MarketEvent]) -> list[MarketEvent]:
    """By time, then kind (in :data:`EVENT_KINDS` order), then series."""
    rank = {kind: i for i, kind in enumerate(EVENT_KINDS)}
    return sorted(events, key=lambda e: (e.time_ms, rank.get(e.kind, len(rank)), e.series))


def events_to_json(events: Sequence[MarketEvent]) -> list[dict[str, Any]]:
    """Events as a JSON-ready list of dicts."""
    return [e.to_dict() for e in events]
