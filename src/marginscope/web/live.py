"""Optional live mark price for the pages' "use current price" button.

Off unless the server is started with ``MARGINSCOPE_LIVE_PRICES=1`` (a server without network
says so on the page instead of failing). When on, ``GET /live/mark-price?venue=…&symbol=…``
asks the venue through ccxt (:func:`marginscope.market.fetch.make_exchange`; the ticker's
``markPrice``, else its ``last``) and keeps each answer a few seconds, so a page full of people
pressing the button costs the venue one request per symbol per :data:`TTL_SECONDS`. Tests give
:class:`MarkPrices` a recorded fetcher and a clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marginscope.errors import InputError

__all__ = ["TTL_SECONDS", "LivePriceError", "MarkPrices", "ccxt_mark_price", "live_prices_on"]

TTL_SECONDS = 5.0
Fetcher = Callable[[str, str], tuple[float, str]]


class LivePriceError(RuntimeError):
    """The venue did not answer with a price (network down, unknown symbol, no mark price)."""


def live_prices_on() -> bool:
    """``MARGINSCOPE_LIVE_PRICES`` set to 1/true/yes/on."""
    from marginscope.config import live_prices

    return live_prices()


def ccxt_mark_price(venue_name: str, symbol: str) -> tuple[float, str]:
    """(mark price, which field) from the venue's ccxt ticker."""
    import ccxt

    from marginscope.market.fetch import make_exchange, resolve_market

    try:
        exchange = make_exchange(venue_name)
        market = resolve_market(exchange, symbol)
        ticker = exchange.fetch_ticker(market["symbol"])
    except InputError:
        raise
    except ccxt.BaseError as exc:
        raise LivePriceError(f"{venue_name} did not answer: {type(exc).__name__}") from exc
    for key in ("markPrice", "last"):
        value = ticker.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value), f"{venue_name} {market['symbol']} ticker {key}"
    raise LivePriceError(f"{venue_name} gave no price for {symbol}")


@dataclass
class MarkPrices:
    """Mark prices by (venue, symbol), each kept :data:`TTL_SECONDS`."""

    enabled: bool = False
    fetcher: Fetcher = ccxt_mark_price
    clock: Callable[[], float] = time.monotonic
    ttl: float = TTL_SECONDS
    _cache: dict[tuple[str, str], tuple[float, float, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, venue_name: str, symbol: str) -> dict[str, Any]:
        """``{"price", "source", "age_seconds"}``; LivePriceError if the venue fails."""
        key = (venue_name, symbol)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None or now - hit[0] > self.ttl:
            price, source = self.fetcher(venue_name, symbol)
            hit = (now, price, source)
            with self._lock:
                self._cache[key] = hit
        return {"price": hit[1], "source": hit[2], "age_seconds": round(now - hit[0], 3)}
