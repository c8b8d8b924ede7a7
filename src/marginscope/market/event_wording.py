"""Wording of market events: money, percentages, rates, days and bar names in descriptions."""

from __future__ import annotations

from marginscope.market.series import PriceSeries
from marginscope.market.times import iso_utc

__all__ = ["bar_word", "big", "day", "money", "pct", "quote_currency", "rate"]

_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD", "EUR", "BTC")


def quote_currency(symbol: str) -> str:
    """The quote currency a symbol ends in (``BTCUSDT`` -> ``USDT``), else ``quote``."""
    plain = symbol.upper().split(":")[0].replace("/", "").replace("-", "").replace("_", "")
    return next((q for q in _QUOTES if plain.endswith(q) and plain != q), "quote")


def bar_word(series: PriceSeries) -> str:
    """``daily`` for daily bars, else ``<timeframe>-bar``."""
    return "daily" if series.timeframe == "1d" else f"{series.timeframe}-bar"


def money(value: float) -> str:
    """A price with thousands separators and two decimals."""
    return f"{value:,.2f}"


def big(value: float) -> str:
    """A large amount in m / bn / tn (two decimals), else whole units."""
    for size, word in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if abs(value) >= size:
            return f"{value / size:,.2f} {word}"
    return f"{value:,.0f}"


def pct(fraction: float, digits: int = 2) -> str:
    """A signed percentage (0.1 -> ``+10.00%``)."""
    return f"{fraction * 100:+.{digits}f}%"


def day(milliseconds: int) -> str:
    """The UTC date (``2025-11-04``) of epoch milliseconds."""
    return iso_utc(milliseconds)[:10]


def rate(rate: float) -> str:
    """A funding rate as a signed percentage with six decimals."""
    return f"{rate * 100:+.6f}%"
