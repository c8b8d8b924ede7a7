"""The risk engine: exchange-faithful margin arithmetic, pure NumPy, no I/O beyond the
shipped tier tables.

Every function takes scalars or arrays. Venues are a registry (:mod:`.venues`); the single
liquidation condition they share is solved in :mod:`.solver`.
"""

from marginscope.errors import InputError
from marginscope.risk.liquidation import (
    bankruptcy_price,
    initial_margin,
    liquidation_price,
    maintenance_margin,
    unrealized_pnl,
)
from marginscope.risk.venues import VENUES, get_venue

__all__ = [
    "VENUES",
    "InputError",
    "bankruptcy_price",
    "get_venue",
    "initial_margin",
    "liquidation_price",
    "maintenance_margin",
    "unrealized_pnl",
]
