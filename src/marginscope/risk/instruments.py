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
month-code notation (Bybit ``BTCUSDH25``) are refused: their day is not in the symbol. Pure
string work: no tables are read here (:mod:`marginscope.risk.tiers` knows which ship).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marginscope.errors import InputError
from marginscope.risk.contracts import Product

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

#: Quote currencies offered per venue and product, the venue's main one first (the one an
#: instrument switching venues lands on when its own quote is not offered).
QUOTES: dict[str, dict[Product, tuple[str, ...]]] = {
    "binance-usdm": {"linear": ("USDT", "USDC", "BTC")},
    "binance-coinm": {"inverse": ("USD",)},
    "bybit": {"linear": ("USDT", "USDC"), "inverse": ("USD",)},
    "okx": {"linear": ("USDT", "USDC"), "inverse": ("USD",)},
    "gate": {"linear": ("USDT",), "inverse": ("USD",)},
    "bitmex": {"inverse": ("USD",), "linear": ("USDT",)},
    "hyperliquid": {"linear": ("USDC",)},
    "generic": {"linear": ("USDT", "USDC"), "inverse": ("USD",)},
}
_STABLE_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD")
_CCXT = re.compile(
    r"^(?P<base>[^/:\s]+)/(?P<quote>[^/:\s]+):(?P<settle>[^/:\s-]+)"
    r"(?:-(?P<expiry>\d{6}))?$"
)


@dataclass(frozen=True)
class Instrument:
    """A contract independent of venue: ``base/quote`` settled in ``settle``."""

    base: str
    quote: str
    settle: str
    expiry: str | None = None  # YYMMDD for dated futures; None for perpetuals

    @property
    def product(self) -> Product:
        if self.settle == self.quote:
            return "linear"
        if self.settle == self.base:
            return "inverse"
        raise InputError(
            "symbol",
            ccxt_symbol(self),
            "a linear (settled in the quote) or inverse (settled in the base) "
            f"contract; {ccxt_symbol(self)} is a quanto, settled in {self.settle}",
        )

    @property
    def perpetual(self) -> bool:
        return self.expiry is None


def ccxt_symbol(instrument: Instrument) -> str:
    """ccxt's unified symbol: ``BASE/QUOTE:SETTLE`` (``-YYMMDD`` for dated futures)."""
    tail = f"-{instrument.expiry}" if instrument.expiry else ""
    return f"{instrument.base}/{instrument.quote}:{instrument.settle}{tail}"


def parse_ccxt(symbol: str) -> Instrument | None:
    """The instrument of a ccxt unified contract symbol, or None if ``symbol`` is not one."""
    match = _CCXT.match(symbol.strip())
    if match is None:
        return None
    return Instrument(
        match["base"].upper(), match["quote"].upper(), match["settle"].upper(), match["expiry"]
    )


def _linear(base: str, quote: str, expiry: str | None = None) -> Instrument:
    return Instrument(base, quote, quote, expiry)


def _inverse(base: str, expiry: str | None = None) -> Instrument:
    return Instrument(base, "USD", base, expiry)


def _concatenated(text: str, quotes: tuple[str, ...]) -> tuple[str, str] | None:
    """``BTCUSDT`` → (``BTC``, ``USDT``) with the longest quote in ``quotes`` that fits."""
    for quote in sorted(quotes, key=len, reverse=True):
        if text.endswith(quote) and len(text) > len(quote):
            return text[: -len(quote)], quote
    return None


def _binance_usdm(s: str) -> Instrument | None:
    core, _, expiry = s.partition("_")
    if expiry and not re.fullmatch(r"\d{6}", expiry):
        return None
    pair = _concatenated(core, (*_STABLE_QUOTES, "BTC"))
    return _linear(*pair, expiry or None) if pair else None


def _binance_coinm(s: str) -> Instrument | None:
    match = re.fullmatch(r"([A-Z0-9]+)USD_(PERP|\d{6})", s)
    if match is None:
        return None
    return _inverse(match[1], None if match[2] == "PERP" else match[2])


def _bybit(s: str) -> Instrument | None:
    if s.endswith("PERP") and len(s) > 4:  # USDC perpetuals (ccxt: BTC/USDC:USDC id BTCPERP)
        return _linear(s[:-4], "USDC")
    pair = _concatenated(s, _STABLE_QUOTES)
    if pair:
        return _linear(*pair)
    match = re.fullmatch(r"([A-Z0-9]+)USD", s)
    return _inverse(match[1]) if match else None


def _okx(s: str) -> Instrument | None:
    match = re.fullmatch(r"([A-Z0-9]+)-([A-Z]+)-(SWAP|\d{6})", s)
    if match is None:
        return None
    expiry = None if match[3] == "SWAP" else match[3]
    return _inverse(match[1], expiry) if match[2] == "USD" else _linear(match[1], match[2], expiry)


def _gate(s: str) -> Instrument | None:
    match = re.fullmatch(r"([A-Z0-9]+)_([A-Z]+)", s)
    if match is None:
        return None
    return _inverse(match[1]) if match[2] == "USD" else _linear(match[1], match[2])


def _bitmex(s: str) -> Instrument | None:
    pair = _concatenated(s, ("USDT", "USDC", "USD"))
    if pair is None:
        return None
    base = "BTC" if pair[0] == "XBT" else pair[0]
    if pair[1] != "USD":
        return _linear(base, pair[1])
    # XBTUSD is inverse; every other <coin>USD on BitMEX is a quanto settled in XBT
    return _inverse("BTC") if base == "BTC" else Instrument(base, "USD", "BTC")


def _hyperliquid(s: str) -> Instrument | None:
    return _linear(s, "USDC") if re.fullmatch(r"[A-Z0-9]+", s) else None


def _generic(s: str) -> Instrument | None:
    for parse in (_okx, _binance_coinm, _gate):
        found = parse(s)
        if found is not None:
            return found
    pair = _concatenated(s, _STABLE_QUOTES)  # BTCUSDT: linear anywhere; BTCUSD: ambiguous
    return _linear(*pair) if pair else None


_PARSERS = {
    "binance-usdm": _binance_usdm,
    "binance-coinm": _binance_coinm,
    "bybit": _bybit,
    "okx": _okx,
    "gate": _gate,
    "bitmex": _bitmex,
    "hyperliquid": _hyperliquid,
    "generic": _generic,
}

_EXAMPLES = {
    "binance-usdm": "BTCUSDT, BTCUSDT_250328",
    "binance-coinm": "BTCUSD_PERP, BTCUSD_210625",
    "bybit": "BTCUSDT, BTCPERP, BTCUSD",
    "okx": "BTC-USDT-SWAP, BTC-USD-SWAP",
    "gate": "BTC_USDT, BTC_USD",
    "bitmex": "XBTUSD, XBTUSDT, ETHUSDT",
    "hyperliquid": "BTC, ETH",
    "generic": "BTC-USDT-SWAP, BTC_USDT, BTCUSD_PERP",
}


def parse_symbol(venue: str, symbol: str, field: str = "symbol") -> Instrument:
    """The instrument a symbol names on ``venue`` (venue notation or ccxt's unified one).

    Raises
    ------
    InputError
        Naming ``field`` when the notation is not one of the venue's, when it does not tell
        linear from inverse (``BTCUSD`` on the generic venue), or names a quanto contract.
    """
    text = str(symbol).strip()
    found = parse_ccxt(text)
    if found is None and venue in _PARSERS:
        found = _PARSERS[venue](text.upper())
    allowed = (
        f"a {venue} symbol whose contract kind is known ({_EXAMPLES.get(venue, '')}) or "
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
    b, q, x = instrument.base, instrument.quote, instrument.expiry
    if venue == "generic":
        return ccxt_symbol(instrument)
    if venue == "binance-usdm":
        return f"{b}{q}" + (f"_{x}" if x else "")
    if venue == "binance-coinm":
        return f"{b}USD_{x or 'PERP'}"
    if venue == "okx":
        return f"{b}-{q}-{x or 'SWAP'}"
    if x:
        raise InputError("symbol", ccxt_symbol(instrument), f"a perpetual on {venue}")
    if venue == "bybit":
        return f"{b}PERP" if q == "USDC" else f"{b}{q}"
    if venue == "gate":
        return f"{b}_{q}"
    if venue == "bitmex":
        return f"{'XBT' if b == 'BTC' else b}{q}"
    return b  # hyperliquid


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
