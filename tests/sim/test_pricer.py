"""The simulator's pricer against the risk engine's own entry points: a cross position alone
in its account is priced as :func:`marginscope.risk.account.cross_prices` prices it, an
isolated one as the venue's ``Terms.liquidation_price`` (an independent recomputation)."""

from __future__ import annotations

import numpy as np

from marginscope.risk.account import cross_prices
from marginscope.sim.population import VENUE_SHARES
from marginscope.sim.pricer import Pricer


def test_liquidation_prices_equal_cross_prices_and_the_isolated_formula():
    pricer = Pricer()
    rng = np.random.default_rng(11)
    n = 4000
    venue = rng.integers(0, len(VENUE_SHARES), n)
    cross = rng.random(n) < 0.5
    side = np.where(rng.random(n) < 0.6, 1.0, -1.0).astype(np.float32)
    entry = rng.uniform(80_000, 110_000, n)
    notional = rng.lognormal(8.0, 1.5, n)
    margin = notional / rng.integers(1, 100, n) * rng.uniform(0.3, 3.0, n)
    mark = entry * rng.uniform(0.9, 1.1, n)
    qty = notional / entry
    got = pricer.liquidation(venue, cross, side, qty, entry, margin, mark)
    group = pricer.group[venue]
    for k, terms in enumerate(pricer.terms):
        for is_cross in (False, True):
            rows = np.flatnonzero((group == k) & (cross == is_cross))
            if not rows.size:
                continue
            args = (side[rows], qty[rows], entry[rows])
            if is_cross:
                want = cross_prices(
                    terms, *args, mark[rows], margin[rows], account=np.arange(rows.size)
                )["liquidation_price"]
            else:
                want = terms.liquidation_price(*args, margin[rows])
            np.testing.assert_array_equal(got[rows], want)
    assert np.isfinite(got).any() and np.isnan(got).any()  # both priced and unpriceable rows
