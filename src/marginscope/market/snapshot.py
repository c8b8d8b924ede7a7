"""The shipped offline snapshot: real November 2025 market series, packaged with marginscope.

Files and provenance are listed in ``marginscope/market/data/README.md``; each row's
``source`` column names the repository, file and commit it was copied from.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from marginscope.market.files import read_market_files
from marginscope.market.series import MarketData

__all__ = ["SNAPSHOT_FILES", "load_snapshot", "snapshot_paths"]

SNAPSHOT_FILES = (
    "btc_daily_2025.csv",           # Yahoo Finance BTC-USD daily, 2025-09-01 .. 2025-12-31
    "btcusdt_perp_4h_2025-11.csv",  # Binance USDⓈ-M BTCUSDT 4h klines, November 2025
    "btcusdt_funding_2025-11.csv",  # Binance USDⓈ-M BTCUSDT funding prints, November 2025
    "news_facts_2025-11.csv",       # dated news facts, each citing its article
)


def snapshot_paths() -> list[Path]:
    """Paths of the shipped CSV files, in :data:`SNAPSHOT_FILES` order."""
    folder = resources.files("marginscope.market") / "data"
    return [Path(str(folder / name)) for name in SNAPSHOT_FILES]


@cache
def load_snapshot() -> MarketData:
    """The shipped snapshot as one :class:`MarketData` bundle (read once, then cached).

    Sources: Yahoo Finance ``BTC-USD`` daily (via SeedFlora/idx-daily-data), Binance USDⓈ-M
    ``/fapi/v1/klines`` 4h and ``/fapi/v1/fundingRate`` for BTCUSDT (via
    BTspaceC/crypto-swing-backtest), and news articles for the facts layer.
    """
    data = read_market_files(snapshot_paths())
    for series in data.series():  # the cached arrays are shared: make them read-only
        for array in series.columns().values():
            array.flags.writeable = False
    return data
