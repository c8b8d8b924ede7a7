"""Stop-loss, take-profit and the reward-to-risk (R) multiple.

``R = s·(target − entry) / (s·(entry − stop))``: the reward per unit of risk (Van Tharp's R
multiple, as every trading journal uses it). Stops given as a fraction of entry or as prices.
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate


def stop_price(side, entry_price, distance) -> np.ndarray:
    """Stop-loss price ``E·(1 − s·d)`` for a distance ``d`` (fraction of entry, 0 < d < 1)."""
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    d = validate.rate("stop_distance", distance)
    return entry * (1.0 - s * d)


def take_profit_price(side, entry_price, distance) -> np.ndarray:
    """Take-profit price ``E·(1 + s·d)`` for a distance ``d`` (fraction of entry, d > 0)."""
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    d = validate.positive("take_profit_distance", distance)
    return entry * (1.0 + s * d)


def risk_reward(side, entry_price, stop_loss, take_profit) -> np.ndarray:
    """R multiple of a trade plan; the stop must be on the losing side, the target on the
    winning side."""
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    stop = validate.positive("stop_loss", stop_loss)
    target = validate.positive("take_profit", take_profit)
    risk = s * (entry - stop)
    reward = s * (target - entry)
    if (risk <= 0).any():
        raise InputError("stop_loss", float(np.asarray(stop).flat[0]),
                         "below entry for a long, above entry for a short")
    if (reward <= 0).any():
        raise InputError("take_profit", float(np.asarray(target).flat[0]),
                         "above entry for a long, below entry for a short")
    return reward / risk
