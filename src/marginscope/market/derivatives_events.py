"""Events read from derivatives series: funding sign changes and negative runs, liquidation spikes.

Rules (also in ``docs/market.md``):

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

All times are ISO 8601 UTC (funding mark; bucket open time). ``source`` is the ``source`` text
of the row(s) the value was read from.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from marginscope.errors import InputError
from marginscope.market.event import MarketEvent, row_event, window_mask
from marginscope.market.event_wording import big, quote_currency, rate
from marginscope.market.series import FundingSeries, LiquidationSeries
from marginscope.market.times import format_timeframe, iso_utc

__all__ = ["funding_events", "liquidation_spikes"]


def funding_events(
    series: FundingSeries, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[MarketEvent]:
    """Sign changes, the first negative print and the negative runs of a funding series."""
    times, rates = series.time_ms, series.funding_rate
    in_window = window_mask(times, start_ms, end_ms)
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
            text = (
                f"funding turned {turned}: {rate(rates[b])} per {per} "
                f"(previous print {rate(rates[a])} at {iso_utc(times[a])})"
            )
            details = {"previous_time": iso_utc(times[a]), "previous_rate": float(rates[a])}
            events.append(
                row_event("funding_sign_change", series, b, rates[b], unit, text, details)
            )

    negative = rows[rates[rows] < 0]
    if negative.size == 0:
        return events
    first = int(negative[0])
    text = f"first negative funding print in the window: {rate(rates[first])} per {per}"
    events.append(row_event("funding_first_negative", series, first, rates[first], unit, text))

    runs = _negative_runs(rows, negative)
    longest = max(range(len(runs)), key=lambda k: (runs[k][1] - runs[k][0], -k))
    for k, (a, b, count) in enumerate(runs):
        stretch = np.arange(a, b + 1)
        low = int(stretch[np.argmin(rates[stretch])])
        prints = b - a + 1
        flags = [
            w
            for w, on in (
                ("first negative print of the window", k == 0),
                ("longest negative run in the window", k == longest),
            )
            if on
        ]
        if prints == 1:
            text = f"single negative funding print {rate(rates[a])} per {per}"
        else:
            text = (
                f"funding negative in {count} of {prints} prints from {iso_utc(times[a])} "
                f"to {iso_utc(times[b])}; lowest {rate(rates[low])} per {per} at "
                f"{iso_utc(times[low])}"
            )
        text += f" ({'; '.join(flags)})" if flags else ""
        details = {
            "end": iso_utc(times[b]),
            "prints": prints,
            "negative_prints": count,
            "min_time": iso_utc(times[low]),
            "sum_rate": float(rates[stretch].sum()),
            "longest_streak": _longest_streak(rates[stretch] < 0),
            "longest": k == longest,
            "first": k == 0,
        }
        kind = "funding_negative_run"
        events.append(row_event(kind, series, a, rates[low], unit, text, details, rows=(a, low, b)))
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


def liquidation_spikes(
    series: LiquidationSeries,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    factor: float = 3.0,
    baseline: int = 7,
) -> list[MarketEvent]:
    """Buckets whose total is at least ``factor`` times the median of the prior ``baseline``."""
    if factor <= 1 or baseline < 1:
        raise InputError("spike", (factor, baseline), "factor > 1 and baseline >= 1 buckets")
    times, total = series.time_ms, series.total_usd
    in_window = window_mask(times, start_ms, end_ms)
    unit = quote_currency(series.symbol)
    events = []
    for i in range(baseline, len(times)):
        if not in_window[i]:
            continue
        median = float(np.median(total[i - baseline : i]))
        if total[i] > 0 and total[i] >= factor * median:
            ratio = total[i] / median if median > 0 else math.inf
            text = (
                f"liquidations {big(total[i])} {unit} in the {series.timeframe} "
                f"bucket, {ratio:,.1f}x the median of the prior {baseline}"
            )
            details = {
                "baseline_median": median,
                "ratio": float(ratio),
                "long_usd": float(series.long_usd[i]),
                "short_usd": float(series.short_usd[i]),
            }
            events.append(row_event("liquidation_spike", series, i, total[i], unit, text, details))
    return events
