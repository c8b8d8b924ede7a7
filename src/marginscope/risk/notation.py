"""What a symbol says about the contract: the :class:`Instrument`, ccxt's unified notation, and
the pieces each venue's own notation (:class:`Notation`, declared in its venue module) is built
from.

An :class:`Instrument` is a base, a quote, a settle currency and an expiry; its kind follows
from them (ccxt's unified-symbol convention, https://docs.ccxt.com/#/README?id=contract-naming-conventions):
settled in the quote currency it is **linear** (``BTC/USDT:USDT``, ``ETH/BTC:BTC``), settled in
the base currency it is **inverse** (``BTC/USD:BTC``); anything else (a quanto such as BitMEX's
ETHUSD, settled in XBT) is neither, and is refused rather than guessed.

Below the venue registry: the venue modules import this one, never the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from marginscope.errors import InputError
from marginscope.risk.contracts import Product

__all__ = [
    "STABLE_QUOTES",
    "Instrument",
    "Notation",
    "ccxt_symbol",
    "concatenated",
    "inverse",
    "linear",
    "parse_ccxt",
]

#: Stablecoin quotes recognised at the end of a concatenated symbol (``BTCUSDT``).
STABLE_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD")
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


@dataclass(frozen=True)
class Notation:
    """How a venue writes its instruments (its API symbol list; ccxt's market ``id``).

    Attributes
    ----------
    quotes : dict
        Quote currencies offered per product, the venue's main one first (the one an
        instrument switching venues lands on when its own quote is not offered).
    parse : callable
        Upper-cased venue symbol → :class:`Instrument`, or None if not this notation.
    write : callable
        :class:`Instrument` (offered by the venue) → the venue's symbol.
    examples : str
        Symbols in the notation, quoted in error messages.
    dated : bool
        Whether dated futures are written (False: perpetuals only).
    """

    quotes: dict[Product, tuple[str, ...]]
    parse: Callable[[str], Instrument | None]
    write: Callable[[Instrument], str]
    examples: str
    dated: bool = False


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


def linear(base: str, quote: str, expiry: str | None = None) -> Instrument:
    """A contract settled in its quote currency."""
    return Instrument(base, quote, quote, expiry)


def inverse(base: str, expiry: str | None = None) -> Instrument:
    """A USD-quoted contract settled in its base currency."""
    return Instrument(base, "USD", base, expiry)


def concatenated(text: str, quotes: tuple[str, ...]) -> tuple[str, str] | None:
    """``BTCUSDT`` → (``BTC``, ``USDT``) with the longest quote in ``quotes`` that fits."""
    for quote in sorted(quotes, key=len, reverse=True):
        if text.endswith(quote) and len(text) > len(quote):
            return text[: -len(quote)], quote
    return None
