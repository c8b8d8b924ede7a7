"""Leverage: effective leverage, the highest leverage a venue's tiers allow for a notional, and
the largest position a balance can open.

Binance: the max notional at leverage L is the largest ``notionalCap`` among brackets whose
``initialLeverage ≥ L`` (``maxNotionalValue`` of ``GET /fapi/v2/positionRisk``;
exchange_formulas.md §1.8: BTCUSDT, 20x → 100,000,000 USDT on the 2024 table). Max open
quantity ≈ available balance × L / price (Binance staff answer,
https://dev.binance.vision/t/max-quantity-calculation/10415), capped by that notional.
"""

from __future__ import annotations

import numpy as np

from marginscope.risk import validate
from marginscope.risk.terms import resolve


def effective_leverage(position_value, margin_balance) -> np.ndarray:
    """``value at mark / margin balance`` (what the position really runs at)."""
    value = validate.positive("position_value", position_value)
    balance = validate.number("margin_balance", margin_balance)
    with np.errstate(divide="ignore"):
        return np.where(balance > 0, value / balance, np.inf)


def max_leverage(venue, notional, *, symbol=None, max_leverage=None, product=None,
                 as_of=None) -> np.ndarray:
    """Highest leverage allowed for a position of this notional (tier's max leverage)."""
    terms = resolve(venue, symbol=symbol, max_leverage=max_leverage, product=product,
                    as_of=as_of)
    notional = validate.positive("notional", notional)
    if terms.lookup is None:
        return np.broadcast_to(terms.max_leverage, np.shape(notional))
    index = terms.lookup.index_by_size(terms.table, notional)
    return terms.lookup.max_leverage[index]


def max_notional(venue, leverage, *, symbol=None, as_of=None) -> np.ndarray:
    """Largest notional the tiers allow at ``leverage`` (0: the leverage is never allowed)."""
    terms = resolve(venue, symbol=symbol, as_of=as_of)
    lev = validate.positive("leverage", leverage)
    return terms.lookup.tables[0].max_size_at_leverage(lev)


def max_open(venue, balance, leverage, price, *, symbol=None, taker_fee=None,
             product: str | None = None, contract_size=None,
             as_of=None) -> dict[str, np.ndarray]:
    """Largest quantity ``balance`` opens at ``leverage`` and ``price``, the opening fee
    included (``Q·P/L + Q·P·f ≤ balance``), capped by the tier's max notional at L."""
    terms = resolve(venue, symbol=symbol, taker_fee=taker_fee, product=product,
                    contract_size=contract_size, as_of=as_of)
    fee = terms.venue.taker_fee if taker_fee is None else taker_fee
    balance = validate.positive("balance", balance)
    lev = validate.positive("leverage", leverage)
    price = validate.positive("price", price)
    notional = balance / (1.0 / lev + fee)
    if terms.lookup is not None:
        notional = np.minimum(notional, terms.lookup.tables[0].max_size_at_leverage(lev))
    if terms.product == "inverse":  # notional in coin → contracts
        qty = notional * price / terms.contract_size
    else:
        qty = notional / (price * terms.contract_size)
    return {"qty": qty, "notional": notional, "initial_margin": notional / lev}
