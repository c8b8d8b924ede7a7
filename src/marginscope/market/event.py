"""A market event: the record every detector returns, its order and its JSON form.

Each event carries its time, value, source and series (rules per kind: :mod:`.events`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from marginscope.market.series import FundingSeries, LiquidationSeries, PriceSeries
from marginscope.market.times import iso_utc, parse_utc_ms

__all__ = [
    "EVENT_KINDS",
    "MarketEvent",
    "events_to_json",
    "row_event",
    "row_sources",
    "sort_events",
    "window_mask",
]

EVENT_KINDS = (
    "round_number_break",
    "drawdown",
    "drawdown_threshold",
    "month_low",
    "volume_peak",
    "largest_daily_move",
    "largest_bar_move",
    "funding_sign_change",
    "funding_first_negative",
    "funding_negative_run",
    "liquidation_spike",
)


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


def window_mask(times_ms: np.ndarray, start_ms: int | None, end_ms: int | None) -> np.ndarray:
    """Rows with ``start_ms <= time < end_ms`` (an open end where a bound is None)."""
    mask = np.ones(len(times_ms), dtype=bool)
    if start_ms is not None:
        mask &= times_ms >= start_ms
    if end_ms is not None:
        mask &= times_ms < end_ms
    return mask


def row_sources(series_source: np.ndarray, *indices: int) -> str:
    """The ``source`` texts of the rows, each once, joined by `` | ``."""
    seen: list[str] = []
    for i in indices:
        text = str(series_source[i])
        if text not in seen:
            seen.append(text)
    return " | ".join(seen)


def row_event(
    kind: str,
    series: PriceSeries | FundingSeries | LiquidationSeries,
    row: int,
    value: float,
    unit: str,
    description: str,
    details: dict[str, Any] | None = None,
    *,
    rows: tuple[int, ...] | None = None,
) -> MarketEvent:
    """The event ``kind`` at row ``row`` of ``series``: its time, series id and the ``source``
    of ``rows`` (the row itself unless given), with ``value`` as a float."""
    return MarketEvent(
        kind=kind,
        time=iso_utc(series.time_ms[row]),
        value=float(value),
        description=description,
        source=row_sources(series.source, *(rows or (row,))),
        series=series.name,
        unit=unit,
        details=details or {},
    )


def sort_events(events: Iterable[MarketEvent]) -> list[MarketEvent]:
    """By time, then kind (in :data:`EVENT_KINDS` order), then series."""
    rank = {kind: i for i, kind in enumerate(EVENT_KINDS)}
    return sorted(events, key=lambda e: (e.time_ms, rank.get(e.kind, len(rank)), e.series))


def events_to_json(events: Sequence[MarketEvent]) -> list[dict[str, Any]]:
    """Events as a JSON-ready list of dicts."""
    return [e.to_dict() for e in events]
