"""Venues the market layer can fetch from: our name -> ccxt exchange id and page sizes.

Page sizes are the documented per-request maxima (see ``shared/reference/market_data.md``
§6): Binance USDⓈ-M klines 1500 (ccxt caps at 1000), fundingRate 1000,
openInterestHist 500 (latest month only); Bybit v5 kline 1000, funding 200, open interest 200;
OKX history-candles 300 (ccxt: 100 per page is safe), funding 400 (3 months back), OI 100.
Adding a venue is one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from marginscope.errors import InputError

__all__ = ["KINDS", "VENUES", "Venue", "venue"]

KINDS = ("ohlcv", "funding", "open_interest", "liquidations")


@dataclass(frozen=True)
class Venue:
    """A derivatives venue reached through ccxt."""

    name: str
    ccxt_id: str
    page_limits: Mapping[str, int]
    options: Mapping[str, object] = field(default_factory=dict)

    def page_limit(self, kind: str) -> int:
        """Rows per request for ``kind`` (one of :data:`KINDS`)."""
        return int(self.page_limits.get(kind, 100))


def _venue(name: str, ccxt_id: str, limits: dict[str, int], **options: object) -> Venue:
    return Venue(name, ccxt_id, MappingProxyType(limits), MappingProxyType(options))


VENUES: Mapping[str, Venue] = MappingProxyType({v.name: v for v in (
    _venue("binance-usdm", "binanceusdm",
           {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _venue("binance-coinm", "binancecoinm",
           {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _venue("bybit", "bybit", {"ohlcv": 1000, "funding": 200, "open_interest": 200},
           defaultType="swap"),
    _venue("okx", "okx", {"ohlcv": 100, "funding": 400, "open_interest": 100},
           defaultType="swap"),
    _venue("gate", "gate", {"ohlcv": 1000, "funding": 1000, "open_interest": 100,
                            "liquidations": 1000}, defaultType="swap"),
    _venue("htx", "htx", {"ohlcv": 2000, "funding": 50, "open_interest": 200,
                          "liquidations": 100}, defaultType="swap"),
    _venue("deribit", "deribit", {"ohlcv": 1000, "funding": 1000, "liquidations": 1000}),
    _venue("hyperliquid", "hyperliquid", {"ohlcv": 500, "funding": 500}),
)})


def venue(name: str) -> Venue:
    """The registered venue called ``name`` (e.g. ``binance-usdm``)."""
    try:
        return VENUES[name]
    except KeyError:
        raise InputError("venue", name, ", ".join(VENUES)) from None
