"""Registry of venues: adding one is one module plus one line here."""

from __future__ import annotations

from marginscope.errors import InputError
from marginscope.risk.venues import (
    binance_coinm,
    binance_usdm,
    bitmex,
    bybit,
    gate,
    generic,
    hyperliquid,
    okx,
)
from marginscope.risk.venues.base import Venue

VENUES: dict[str, Venue] = {
    module.VENUE.name: module.VENUE
    for module in (binance_usdm, binance_coinm, bybit, okx, gate, bitmex, hyperliquid, generic)
}


def get_venue(name: str | Venue, field: str = "venue") -> Venue:
    """The registered venue called ``name`` (an :class:`InputError` naming the choices if none)."""
    if isinstance(name, Venue):
        return name
    try:
        return VENUES[name]
    except (KeyError, TypeError):
        raise InputError(field, name, " | ".join(VENUES)) from None


__all__ = ["VENUES", "Venue", "get_venue"]
