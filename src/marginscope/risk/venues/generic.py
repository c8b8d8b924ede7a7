"""Generic venue: the textbook-correct rule with nothing venue-specific.

Liquidation when margin balance = maintenance margin; ``MM = notional at mark × MMR −
maintenance amount``; no fees unless a taker fee is given (then the fee to close at the
liquidation price is added, as OKX and Gate do). MMR must be given (no tier tables).
"""

from marginscope.risk.notation import (
    STABLE_QUOTES,
    Instrument,
    Notation,
    ccxt_symbol,
    concatenated,
    linear,
)
from marginscope.risk.venues import binance_coinm, gate, okx
from marginscope.risk.venues.base import Venue


def _parse(s: str) -> Instrument | None:
    """OKX, Binance COIN-M or Gate notation, or a concatenated stablecoin pair (``BTCUSDT``:
    linear anywhere); ``BTCUSD`` is refused: it is inverse on some venues, a quanto on others."""
    for venue in (okx.VENUE, binance_coinm.VENUE, gate.VENUE):
        found = venue.notation.parse(s)
        if found is not None:
            return found
    pair = concatenated(s, STABLE_QUOTES)
    return linear(*pair) if pair else None


VENUE = Venue(
    name="generic",
    title="Generic (give MMR)",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "mark", "inverse": "mark"},
    close_fee="none",
    taker_fee=0.0,
    maker_fee=0.0,
    notation=Notation(quotes={"linear": ("USDT", "USDC"), "inverse": ("USD",)}, parse=_parse,
                      write=ccxt_symbol, examples="BTC-USDT-SWAP, BTC_USDT, BTCUSD_PERP",
                      dated=True),
    sources=("exchange_formulas.md §0 (common identities)",),
)
