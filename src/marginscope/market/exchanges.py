"""Exchanges the market layer fetches market data from: name -> ccxt id, page sizes, risk venue.

These are sources of market data (candles, funding, open interest, liquidations), not the
risk engine's venues (:data:`marginscope.risk.venues.VENUES`, whose margin rules the
calculators apply). :attr:`Exchange.venue` maps each exchange onto the risk venue whose data it
gives, in this one table: ``htx`` and ``deribit`` have no risk venue (their data are market
context only), and the risk venues ``bitmex`` and ``generic`` have no exchange here.

Page sizes are the documented per-request maxima (see ``shared/reference/market_data.md``
§6): Binance USDⓈ-M klines 1500 (ccxt caps at 1000), fundingRate 1000,
openInterestHist 500 (latest month only); Bybit v5 kline 1000, funding 200, open interest 200;
OKX history-candles 300 (ccxt: 100 per page is safe), funding 400 (3 months back), OI 100.
Adding an exchange is one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from marginscope.errors import InputError
from marginscope.risk.venues import VENUES

__all__ = ["EXCHANGES", "KINDS", "SOURCE_NAMES", "Exchange", "exchange"]

KINDS = ("ohlcv", "funding", "open_interest", "liquidations")


@dataclass(frozen=True)
class Exchange:
    """A derivatives exchange reached through ccxt for market data.

    ``name`` is what stored market series carry in their ``venue`` column; ``venue`` the risk
    venue id it corresponds to (None: none).
    """

    name: str
    ccxt_id: str
    page_limits: Mapping[str, int]
    options: Mapping[str, object] = field(default_factory=dict)
    venue: str | None = None

    def page_limit(self, kind: str) -> int:
        """Rows per request for ``kind`` (one of :data:`KINDS`)."""
        return int(self.page_limits.get(kind, 100))


def _venue(venue: str, limits: dict[str, int], **options: object) -> Exchange:
    """The exchange of a risk venue: named as the venue, with the venue's ccxt id."""
    if venue not in VENUES or VENUES[venue].ccxt_id is None:
        raise InputError("venue", venue, "a risk venue id with a ccxt id "
                         "(marginscope.risk.venues.VENUES)")
    return Exchange(venue, str(VENUES[venue].ccxt_id), MappingProxyType(limits),
                    MappingProxyType(options), venue)


def _other(name: str, ccxt_id: str, limits: dict[str, int], **options: object) -> Exchange:
    """An exchange with market data but no risk venue."""
    return Exchange(name, ccxt_id, MappingProxyType(limits), MappingProxyType(options))


EXCHANGES: Mapping[str, Exchange] = MappingProxyType({e.name: e for e in (
    _venue("binance-usdm", {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _venue("binance-coinm", {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _venue("bybit", {"ohlcv": 1000, "funding": 200, "open_interest": 200}, defaultType="swap"),
    _venue("okx", {"ohlcv": 100, "funding": 400, "open_interest": 100}, defaultType="swap"),
    _venue("gate", {"ohlcv": 1000, "funding": 1000, "open_interest": 100, "liquidations": 1000},
           defaultType="swap"),
    _other("htx", "htx", {"ohlcv": 2000, "funding": 50, "open_interest": 200,
                          "liquidations": 100}, defaultType="swap"),
    _other("deribit", "deribit", {"ohlcv": 1000, "funding": 1000, "liquidations": 1000}),
    _venue("hyperliquid", {"ohlcv": 500, "funding": 500}),
)})
"""Exchange name → :class:`Exchange` (the ``--venue`` choices of ``marginscope market fetch``)."""


SOURCE_NAMES: Mapping[str, str] = MappingProxyType({
    "binance_usdm": "Binance USDⓈ-M futures API",
    "binance_spot": "Binance spot API",
    "bybit": "Bybit API",
    "okx": "OKX API",
    "yahoo_finance": "Yahoo Finance",
    "deribit": "Deribit API",
})
"""Publisher of a stored market series, by the prefix of its ``source`` text
(``binance_usdm:/fapi/v1/fundingRate …``): how a report names it in its references."""


def exchange(name: str) -> Exchange:
    """The registered exchange called ``name`` (e.g. ``binance-usdm``)."""
    try:
        return EXCHANGES[name]
    except KeyError:
        raise InputError("venue", name, ", ".join(EXCHANGES)) from None
