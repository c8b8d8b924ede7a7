"""The risk engine's terms for the simulated agents' venues, called on arrays of positions.

Venues without a shipped BTC tier table are priced with the first venue's that has one
(Binance USDⓈ-M, as :mod:`.inputs` does). Isolated positions use the venue's
:meth:`Terms.liquidation_price <marginscope.risk.terms.Terms.liquidation_price>`; cross ones
(one position per account, its wallet the margin) :func:`marginscope.risk.account.cross_prices`.
"""

from __future__ import annotations

import numpy as np

from marginscope.risk.account import cross_prices
from marginscope.risk.margin import margin_to_target
from marginscope.risk.terms import resolve
from marginscope.sim.inputs import BTC_SYMBOL
from marginscope.sim.population import VENUE_SHARES

__all__ = ["Pricer"]


class Pricer:
    """The risk engine's terms per pricing venue, and vectorized calls grouped by them."""

    def __init__(self) -> None:
        fallback = next(iter(BTC_SYMBOL))
        pricing = [v if v in BTC_SYMBOL else fallback for v in VENUE_SHARES]
        names = tuple(dict.fromkeys(pricing))
        self.terms = [resolve(name, symbol=BTC_SYMBOL[name]) for name in names]
        self.group = np.asarray([names.index(p) for p in pricing], dtype=np.int64)

    def _groups(self, venue: np.ndarray, cross: np.ndarray):
        g = self.group[venue]
        for k, terms in enumerate(self.terms):
            for mode in (False, True):
                rows = np.flatnonzero((g == k) & (cross == mode))
                if rows.size:
                    yield terms, mode, rows

    def liquidation(self, venue, cross, side, qty, entry, margin, mark) -> np.ndarray:
        out = np.full(len(qty), np.nan)
        for terms, is_cross, rows in self._groups(venue, cross):
            if is_cross:  # one position per account: its cross wallet is the margin
                out[rows] = cross_prices(
                    terms,
                    side[rows],
                    qty[rows],
                    entry[rows],
                    mark[rows],
                    margin[rows],
                    account=np.arange(rows.size),
                )["liquidation_price"]
            else:
                out[rows] = terms.liquidation_price(
                    side[rows], qty[rows], entry[rows], margin[rows]
                )
        return out

    def margin_to(self, venue, cross, side, qty, entry, margin, target) -> np.ndarray:
        out = np.zeros(len(qty))
        for terms, _, rows in self._groups(venue, cross):
            out[rows] = margin_to_target(
                terms, side[rows], qty[rows], entry[rows], margin[rows], target[rows]
            )
        return out

    def max_leverage(self, venue, qty, price) -> np.ndarray:
        out = np.full(len(qty), np.inf)
        g = self.group[venue]
        for k, terms in enumerate(self.terms):
            rows = np.flatnonzero(g == k)
            if rows.size:
                allowed = terms.max_leverage_at(qty[rows], price[rows])
                if allowed is not None:
                    out[rows] = allowed
        return out
