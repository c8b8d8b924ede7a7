"""Position size from balance, risk per trade and stop distance, fees included.

The loss if the stop is hit must equal ``balance × risk``:
linear  ``Q·|E − S| + f·Q·(E + S) = R``  →  ``Q = R / (|E − S| + f·(E + S))``;
inverse ``Q·CS·|1/S − 1/E| + f·Q·CS·(1/E + 1/S) = R`` (R in coin).
Taker fees on entry and exit at the stop (the fixed-fractional sizing rule; fees as each venue
charges them: value × rate).
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate
from marginscope.risk.contracts import position_value


def position_size(balance, risk_fraction, entry_price, stop_price, *, side=None, fee_rate=0.0,
                  leverage=None, product: str = "linear",
                  contract_size=1.0) -> dict[str, np.ndarray]:
    """Quantity (base units or contracts), notional, margin and the leverage the size needs."""
    balance = validate.positive("balance", balance)
    risk = validate.number("risk_fraction", risk_fraction, low=0.0, high=1.0)
    entry = validate.positive("entry_price", entry_price)
    stop = validate.positive("stop_price", stop_price)
    fee = validate.rate("fee_rate", fee_rate, 0.1)
    if (entry == stop).any():
        raise InputError("stop_price", float(np.asarray(stop).flat[0]), "≠ entry_price")
    if side is not None:
        s = validate.side(side)
        if (s * (entry - stop) <= 0).any():
            raise InputError("stop_price", float(np.asarray(stop).flat[0]),
                             "below entry for a long, above entry for a short")
    budget = balance * risk
    if product == "inverse":
        per_unit = contract_size * (np.abs(1.0 / stop - 1.0 / entry)
                                    + fee * (1.0 / entry + 1.0 / stop))
    else:
        per_unit = contract_size * (np.abs(entry - stop) + fee * (entry + stop))
    qty = budget / per_unit
    notional = position_value(product, qty, entry, contract_size)
    out = {"qty": qty, "notional": notional, "risk_amount": budget,
           "leverage_needed": notional / balance}
    if leverage is not None:
        out["margin"] = notional / validate.positive("leverage", leverage)
    return out
