"""Instruments and symbols: what a symbol says about the contract, in every notation accepted.

An :class:`Instrument` is a base, a quote, a settle currency and an expiry; its kind follows
from them (ccxt's unified-symbol convention, https://docs.ccxt.com/#/README?id=contract-naming-conventions):
settled in the quote currency it is **linear** (``BTC/USDT:USDT``, ``ETH/BTC:BTC``), settled in
the base currency it is **inverse** (``BTC/USD:BTC``); anything else (a quanto such as BitMEX's
ETHUSD, settled in XBT) is neither, and is refused rather than guessed.

Each venue writes the same instrument its own way (the venues' API symbol lists; ccxt's market
``id``):

============== ============================== ==============================
venue          linear                         inverse
============== ============================== ==============================
binance-usdm   ``BTCUSDT``, ``BTCUSDT_250328``  —
binance-coinm  —                              ``BTCUSD_PERP``, ``BTCUSD_210625``
bybit          ``BTCUSDT``, ``BTCPERP`` (USDC)  ``BTCUSD``
okx            ``BTC-USDT-SWAP``              ``BTC-USD-SWAP``, ``BTC-USD-250328``
gate           ``BTC_USDT``                   ``BTC_USD``
bitmex         ``XBTUSDT``, ``ETHUSDT``       ``XBTUSD``
hyperliquid    ``BTC`` (USDC)                 —
generic        ccxt's ``BTC/USDT:USDT``       ccxt's ``BTC/USD:BTC``
============== ============================== ==============================

ccxt's unified ``BASE/QUOTE:SETTLE[-YYMMDD]`` is accepted on every venue. Dated futures in
month-code notation (Bybit ``BTCUSDH25``) are refused: their day is not in the symbol. Each
venue declares its notation (:class:`~marginscope.risk.notation.Notation`) in its module of
:mod:`marginscope.risk.venues`; this module asks the registry. Pure string work: no tables are
read here (:mod:`marginscope.risk.tiers` knows which ship).
"""

from __future__ import annotations

from marginscope.errors import InputError
from marginscope.risk.contracts import Product
from marginscope.risk.notation import Instrument, Notation, ccxt_symbol, parse_ccxt
from marginscope.risk.venues import VENUES

__all__ = [
    "QUOTES",
    "Instrument",
    "across_venues",
    "ccxt_symbol",
    "map_to_venue",
    "parse_ccxt",
    "parse_symbol",
    "venue_symbol",
]

#: Quote currencies offered per venue and product, the venue's main one first (each venue's
#: :attr:`Notation.quotes <marginscope.risk.notation.Notation.quotes>`).
QUOTES: dict[str, dict[Product, tuple[str, ...]]] = {
    name: venue.notation.quotes for name, venue in VENUES.items()
}


def _notation(venue: str) -> Notation | None:
    found = VENUES.get(venue)
    return found.notation if found is not None else None


def parse_symbol(venue: str, symbol: str, field: str = "symbol") -> Instrument:
    """The instrument a symbol names on ``venue`` (venue notation or ccxt's unified one).

    Raises
    ------
    InputError
        Naming ``field`` when the notation is not one of the venue's, when it does not tell
        linear from inverse (``BTCUSD`` on the generic venue), or names a quanto contract.
    """
    text = str(symbol).strip()
    notation = _notation(venue)
    found = parse_ccxt(text)
    if found is None and notation is not None:
        found = notation.parse(text.upper())
    examples = notation.examples if notation is not None else ""
    allowed = (
        f"a {venue} symbol whose contract kind is known ({examples}) or "
        "ccxt's BASE/QUOTE:SETTLE (BTC/USDT:USDT linear, BTC/USD:BTC inverse)"
    )
    if found is None:
        raise InputError(field, symbol, allowed)
    try:
        found.product  # noqa: B018 - a quanto raises here, with the reason
    except InputError as exc:
        raise InputError(field, symbol, exc.allowed) from None
    return found


def venue_symbol(venue: str, instrument: Instrument) -> str:
    """``instrument`` in ``venue``'s own notation (an :class:`InputError` if not offered)."""
    product = instrument.product
    quotes = QUOTES.get(venue, {}).get(product, ())
    if instrument.quote not in quotes:
        offered = ", ".join(f"{p} {'/'.join(q)}" for p, q in QUOTES.get(venue, {}).items())
        raise InputError(
            "symbol", ccxt_symbol(instrument), f"an instrument {venue} offers ({offered or 'none'})"
        )
    notation = VENUES[venue].notation  # registered: it offers the quote
    if instrument.expiry and not notation.dated:
        raise InputError("symbol", ccxt_symbol(instrument), f"a perpetual on {venue}")
    return notation.write(instrument)


def map_to_venue(instrument: Instrument, venue: str) -> Instrument:
    """The same contract on ``venue``: same base, kind and expiry; the same quote when the
    venue offers it, else the venue's main quote for that kind (Hyperliquid: USDC)."""
    product = instrument.product
    quotes = QUOTES.get(venue, {}).get(product)
    if not quotes:
        raise InputError(
            "venue",
            venue,
            f"a venue offering {product} contracts "
            f"({', '.join(v for v, q in QUOTES.items() if product in q)})",
        )
    if instrument.quote in quotes:
        return instrument
    quote = quotes[0]
    return Instrument(
        instrument.base, quote, quote if product == "linear" else instrument.base, instrument.expiry
    )


def across_venues(venue: str, symbol: str) -> dict:
    """``symbol`` of ``venue`` as an instrument, and its symbol on every venue.

    Each venue's entry is ``{"symbol", "instrument", "same_quote"}`` (``same_quote`` False
    where the venue settles the same base and kind in another quote, e.g. Hyperliquid's USDC
    for a USDT contract), or None where the venue has no such contract.
    """
    instrument = parse_symbol(venue, symbol)
    venues: dict[str, dict | None] = {}
    for other in QUOTES:
        try:
            mapped = map_to_venue(instrument, other)
            venues[other] = {
                "symbol": venue_symbol(other, mapped),
                "instrument": ccxt_symbol(mapped),
                "same_quote": mapped.quote == instrument.quote,
            }
        except InputError:
            venues[other] = None
    return {
        "instrument": ccxt_symbol(instrument),
        "base": instrument.base,
        "quote": instrument.quote,
        "settle": instrument.settle,
        "product": instrument.product,
        "expiry": instrument.expiry,
        "venues": venues,
    }
