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

__all__ = ["EXCHANGES", "KINDS", "Exchange", "exchange"]

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


def _exchange(name: str, ccxt_id: str, venue: str | None, limits: dict[str, int],
              **options: object) -> Exchange:
    if venue is not None and venue not in VENUES:
        raise InputError("venue", venue, "a risk venue id (marginscope.risk.venues.VENUES)")
    return Exchange(name, ccxt_id, MappingProxyType(limits), MappingProxyType(options), venue)


EXCHANGES: Mapping[str, Exchange] = MappingProxyType({e.name: e for e in (
    _exchange("binance-usdm", "binanceusdm", "binance-usdm",
              {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _exchange("binance-coinm", "binancecoinm", "binance-coinm",
              {"ohlcv": 1000, "funding": 1000, "open_interest": 500}),
    _exchange("bybit", "bybit", "bybit", {"ohlcv": 1000, "funding": 200, "open_interest": 200},
              defaultType="swap"),
    _exchange("okx", "okx", "okx", {"ohlcv": 100, "funding": 400, "open_interest": 100},
              defaultType="swap"),
    _exchange("gate", "gate", "gate", {"ohlcv": 1000, "funding": 1000, "open_interest": 100,
                                       "liquidations": 1000}, defaultType="swap"),
    _exchange("htx", "htx", None, {"ohlcv": 2000, "funding": 50, "open_interest": 200,
                                   "liquidations": 100}, defaultType="swap"),
    _exchange("deribit", "deribit", None,
              {"ohlcv": 1000, "funding": 1000, "liquidations": 1000}),
    _exchange("hyperliquid", "hyperliquid", "hyperliquid", {"ohlcv": 500, "funding": 500}),
)})
"""Exchange name → :class:`Exchange` (the ``--venue`` choices of ``marginscope market fetch``)."""


def exchange(name: str) -> Exchange:
    """The registered exchange called ``name`` (e.g. ``binance-usdm``)."""
    try:
        return EXCHANGES[name]
    except KeyError:
        raise InputError("venue", name, ", ".join(EXCHANGES)) from None
