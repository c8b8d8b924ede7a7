"""Funding payments, their accumulation, annualization and break-even move.

Sign convention on every venue covered (exchange_formulas.md §9): a positive rate means longs
pay shorts. Payment base = position value at mark (Binance USDⓈ-M ``Q·M·F``; COIN-M
``Q·CS/M·F`` in coin; Bybit, OKX, Gate, BitMEX the same; Hyperliquid uses the oracle price).
"""

from __future__ import annotations

import numpy as np

from marginscope.risk import validate
from marginscope.risk.contracts import position_value

FUNDING_CLAMP = 0.0005  # ±0.05 %: Binance, Bybit, BitMEX, Gate rate = P + clamp(I − P, ±0.05 %)


def funding_payment(side, qty, mark_price, funding_rate, *, product: str = "linear",
                    contract_size=1.0) -> np.ndarray:
    """Funding paid by the position for one interval (negative: received).

    ``s·value(M)·F``: a short of 10 at mark 2.0 with F = 0.01 % receives 0.002 (freqtrade's
    funding-fee tests).
    """
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    mark = validate.positive("mark_price", mark_price)
    rate = validate.number("funding_rate", funding_rate, low=-1.0, high=1.0)
    return s * position_value(product, qty, mark, contract_size) * rate


def cumulative_funding(side, qty, mark_prices, funding_rates, *, product: str = "linear",
                       contract_size=1.0) -> np.ndarray:
    """Running total of funding paid over a series of prints (last axis = time)."""
    payments = funding_payment(side, qty, np.asarray(mark_prices)[..., :],
                               np.asarray(funding_rates), product=product,
                               contract_size=contract_size)
    return np.cumsum(payments, axis=-1)


def annualized_rate(funding_rate, interval_hours=8.0) -> np.ndarray:
    """Simple annualized rate: ``F × (24/h) × 365`` (no compounding, as venues display it)."""
    rate = validate.number("funding_rate", funding_rate, low=-1.0, high=1.0)
    hours = validate.positive("interval_hours", interval_hours)
    return rate * (24.0 / hours) * 365.0


def funding_rate(premium, interest=0.0001) -> np.ndarray:
    """``F = P + clamp(I − P, ±0.05 %)`` per interval (Binance, Bybit, BitMEX, Gate).

    BitMEX's guide illustrates the interest part alone (:func:`interest_rate`, F = I = 0.25 %),
    without the clamp.
    """
    premium = validate.number("premium", premium, low=-1.0, high=1.0)
    interest = validate.number("interest", interest, low=-1.0, high=1.0)
    return premium + np.clip(interest - premium, -FUNDING_CLAMP, FUNDING_CLAMP)


def interest_rate(quote_rate_per_day, base_rate_per_day, intervals_per_day=3) -> np.ndarray:
    """BitMEX interest component per interval: ``(quote − base)/intervals``."""
    return (validate.number("quote_rate_per_day", quote_rate_per_day)
            - validate.number("base_rate_per_day", base_rate_per_day)) / intervals_per_day


def breakeven_move(side, qty, entry_price, funding_paid, *, product: str = "linear",
                   contract_size=1.0) -> np.ndarray:
    """Price move (in price units, signed in the position's favour) whose P&L offsets the
    funding paid: linear ``paid/(Q·CS)``; inverse from ``Q·CS·(1/E − 1/P) = paid``."""
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    paid = validate.number("funding_paid", funding_paid)
    units = qty * contract_size
    if product == "inverse":
        reciprocal = 1.0 / entry - s * paid / units
        with np.errstate(divide="ignore"):
            price = np.where(reciprocal > 0, 1.0 / np.where(reciprocal > 0, reciprocal, 1), np.nan)
        return price - entry
    return s * paid / units
