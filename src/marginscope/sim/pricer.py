"""The risk engine's terms for the simulated agents' venues, called on arrays of positions.

Venues without a shipped BTC tier table are priced with the first venue's that has one
(Binance USDⓈ-M, as :mod:`.inputs` does). Liquidation prices come from the venue's
:meth:`Terms.liquidation_price <marginscope.risk.terms.Terms.liquidation_price>`: for isolated
positions at their margin; for cross ones (one position per account) at the cross wallet,
which is what :func:`marginscope.risk.account.cross_prices` reduces to for an account of one
position (:meth:`Pricer.liquidation`).
"""

from __future__ import annotations

import numpy as np

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

    def _venues(self, venue: np.ndarray):
        """Each pricing venue's terms and the rows it prices."""
        g = self.group[venue]
        for k, terms in enumerate(self.terms):
            rows = np.flatnonzero(g == k)
            if rows.size:
                yield terms, rows

    def liquidation(self, venue, cross, side, qty, entry, margin, mark) -> np.ndarray:
        """Liquidation prices; ``margin`` is the isolated margin, or the cross wallet.

        One position per account: the account's other positions (``TMM1``, ``UPNL1`` of
        Binance's cross formula, :func:`marginscope.risk.account.cross_available`) are none, so
        the cross price is the isolated formula with the wallet as margin — what
        :func:`~marginscope.risk.account.cross_prices` gives for such accounts (``mark`` moves
        neither), computed here in one call per venue for both modes.
        """
        out = np.full(len(qty), np.nan)
        for terms, rows in self._venues(venue):
            out[rows] = terms.liquidation_price(side[rows], qty[rows], entry[rows], margin[rows])
        return out

    def margin_to(self, venue, cross, side, qty, entry, margin, target) -> np.ndarray:
        """Margin to add to bring the liquidation price to ``target`` (either mode, as above)."""
        out = np.zeros(len(qty))
        for terms, rows in self._venues(venue):
            out[rows] = margin_to_target(
                terms, side[rows], qty[rows], entry[rows], margin[rows], target[rows]
            )
        return out

    def max_leverage(self, venue, qty, price) -> np.ndarray:
        out = np.full(len(qty), np.inf)
        for terms, rows in self._venues(venue):
            allowed = terms.max_leverage_at(qty[rows], price[rows])
            if allowed is not None:
                out[rows] = allowed
        return out
