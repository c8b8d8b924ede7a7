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
#: The venue a calculation uses when none is named (requests, CLI options, forms).
DEFAULT_VENUE: str = binance_usdm.VENUE.name
#: The venue with nothing venue-specific (the MMR is given), for tools that need no venue rules.
GENERIC_VENUE: str = generic.VENUE.name


def get_venue(name: str | Venue, field: str = "venue") -> Venue:
    """The registered venue called ``name`` (an :class:`InputError` naming the choices if none)."""
    if isinstance(name, Venue):
        return name
    try:
        return VENUES[name]
    except (KeyError, TypeError):
        raise InputError(field, name, " | ".join(VENUES)) from None


__all__ = ["DEFAULT_VENUE", "GENERIC_VENUE", "VENUES", "Venue", "get_venue"]
