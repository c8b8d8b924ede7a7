"""All market events of a bundle, sorted by time: the detectors run over every series.

The rule of each kind is with its detector: :mod:`.price_events` (``round_number_break``,
``drawdown``, ``drawdown_threshold``, ``month_low``, ``volume_peak``, ``largest_daily_move``,
``largest_bar_move``) and :mod:`.derivatives_events` (``funding_sign_change``,
``funding_first_negative``, ``funding_negative_run``, ``liquidation_spike``); all of them are
also in ``docs/market.md``. The record is :class:`~.event.MarketEvent`.

All times are ISO 8601 UTC (bar open time; funding mark). ``source`` is the ``source`` text of
the row(s) the value was read from.
"""

from __future__ import annotations

from marginscope.errors import InputError
from marginscope.market.derivatives_events import funding_events, liquidation_spikes
from marginscope.market.event import EVENT_KINDS, MarketEvent, events_to_json, sort_events
from marginscope.market.price_events import (
    DRAWDOWN_THRESHOLDS,
    default_round_step,
    drawdowns,
    largest_moves,
    month_lows,
    round_number_breaks,
    volume_peaks,
)
from marginscope.market.series import MarketData
from marginscope.market.times import DAY_MS, iso_utc

__all__ = [  # detect_events, and the names this module held before the split (re-exported)
    "DRAWDOWN_THRESHOLDS",
    "EVENT_KINDS",
    "MarketEvent",
    "default_round_step",
    "detect_events",
    "drawdowns",
    "events_to_json",
    "funding_events",
    "largest_moves",
    "liquidation_spikes",
    "month_lows",
    "round_number_breaks",
    "sort_events",
    "volume_peaks",
]


def detect_events(
    data: MarketData,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    intraday: bool = False,
    lookback_days: float = 90,
    round_step: float | None = None,
    top_moves: int = 3,
    spike_factor: float = 3.0,
    spike_baseline: int = 7,
) -> list[MarketEvent]:
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
        events += round_number_breaks(
            series, lookback_days=lookback_days, step=round_step, **window
        )
        events += month_lows(series, **window)
        events += volume_peaks(series, **window)
        if full:
            events += drawdowns(series, **window)
            events += largest_moves(series, top=top_moves, **window)
    for funding in data.funding:
        events += funding_events(funding, **window)
    for liquidations in data.liquidations:
        events += liquidation_spikes(
            liquidations, factor=spike_factor, baseline=spike_baseline, **window
        )
    return sort_events(events)
