"""Market context: load and fetch OHLCV, funding, open interest, liquidations; detect events.

Modules: :mod:`.series` (tidy NumPy series), :mod:`.files` (CSV/Parquet readers with row
checks), :mod:`.snapshot` (the shipped November 2025 data), :mod:`.store` (DuckDB tables and
Parquet export), :mod:`.fetch` and :mod:`.exchanges` (ccxt paging, rate limits, retries),
:mod:`.events` (market events from the data: the record in :mod:`.event`, the
detectors in :mod:`.price_events` and :mod:`.derivatives_events`, their wording in
:mod:`.event_wording`). News facts stay a separate cited layer
(:class:`~marginscope.market.series.Fact`). See ``docs/market.md``.

The DuckDB- and ccxt-backed modules are imported on use, so ``import marginscope.market`` stays
light.
"""

from marginscope.market.event import MarketEvent
from marginscope.market.events import detect_events
from marginscope.market.series import (
    Fact,
    FundingSeries,
    LiquidationSeries,
    MarketData,
    OpenInterestSeries,
    PriceSeries,
)
from marginscope.market.snapshot import load_snapshot

__all__ = [
    "Fact",
    "FundingSeries",
    "LiquidationSeries",
    "MarketData",
    "MarketEvent",
    "OpenInterestSeries",
    "PriceSeries",
    "detect_events",
    "load_snapshot",
]
