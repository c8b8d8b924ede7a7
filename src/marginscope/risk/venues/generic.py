"""Generic venue: the textbook-correct rule with nothing venue-specific.

Liquidation when margin balance = maintenance margin; ``MM = notional at mark × MMR −
maintenance amount``; no fees unless a taker fee is given (then the fee to close at the
liquidation price is added, as OKX and Gate do). MMR must be given (no tier tables).
"""

from marginscope.risk.venues.base import Venue

VENUE = Venue(
    name="generic",
    title="Generic (give MMR)",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "mark", "inverse": "mark"},
    close_fee="none",
    taker_fee=0.0,
    maker_fee=0.0,
    sources=("exchange_formulas.md §0 (common identities)",),
)
