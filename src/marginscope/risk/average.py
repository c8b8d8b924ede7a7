"""Average entry after several fills.

Linear ``Σqᵢpᵢ / Σqᵢ``; inverse (contracts worth a fixed USD amount) ``Σqᵢ / Σ(qᵢ/pᵢ)``, the
harmonic mean: Bybit "How to Calculate Average Entry Price"
(https://testnet.bybit.com/en/help-center/article?id=000001113): 1 @ 10,000 + 2 @ 13,000 →
12,000 (USDT); 50 @ 10,000 + 50 @ 15,000 contracts → 0.00833333 BTC → 12,000 (inverse).
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate


def average_entry(qty, price, *, product: str = "linear") -> np.ndarray:
    """Average entry over fills along the last axis (qty > 0, price > 0)."""
    qty = validate.positive("fills.qty", qty)
    price = validate.positive("fills.price", price)
    if np.ndim(qty) == 0 and np.ndim(price) == 0:
        raise InputError("fills", qty, "at least one fill (arrays of qty and price)")
    qty, price = np.broadcast_arrays(qty, price)
    if product == "inverse":
        return qty.sum(axis=-1) / (qty / price).sum(axis=-1)
    return (qty * price).sum(axis=-1) / qty.sum(axis=-1)


def inverse_value(qty, price, contract_size=1.0) -> np.ndarray:
    """Coin value of inverse fills ``Σ qᵢ·CS/pᵢ`` (Bybit: 0.00833333 BTC in its example)."""
    return (validate.positive("fills.qty", qty) * contract_size
            / validate.positive("fills.price", price)).sum(axis=-1)
