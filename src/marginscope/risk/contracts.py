"""Contract arithmetic shared by every venue: linear and inverse value and P&L.

Notation (exchange_formulas.md §0): ``s`` side (+1 long, −1 short), ``Q`` size (linear: base
units; inverse: contracts), ``CS`` contract size (inverse: quote units per contract), ``E``
entry price, ``P`` a price.

* linear (USDT/USDC-margined): value ``Q·P`` in quote; P&L ``s·Q·(P − E)``.
* inverse (coin-margined): value ``Q·CS/P`` in coin; P&L ``s·Q·CS·(1/E − 1/P)``
  (Binance COIN-M FAQ; BitMEX XBTUSD guide: long 15,000 @ 750 → 800 earns 1.25 XBT).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from marginscope.risk.elementwise import values

Product = Literal["linear", "inverse"]
PRODUCTS: tuple[Product, ...] = ("linear", "inverse")


def position_value(product: Product, qty, price, contract_size=1.0) -> np.ndarray:
    """Position value (notional) in the margin currency: ``Q·CS·P`` or ``Q·CS/P``."""
    if product == "inverse":
        return values(qty) * contract_size / price
    return values(qty) * contract_size * price


def pnl(product: Product, side, qty, entry_price, price, contract_size=1.0) -> np.ndarray:
    """P&L in the margin currency of closing (or marking) at ``price``."""
    if product == "inverse":
        return side * values(qty) * contract_size * (1.0 / entry_price - 1.0 / price)
    return side * values(qty) * contract_size * (values(price) - entry_price)


def price_for_pnl(product: Product, side, qty, entry_price, target_pnl,
                  contract_size=1.0) -> np.ndarray:
    """The price at which P&L equals ``target_pnl`` (inverse: NaN where unreachable).

    Linear ``P = E + PnL/(s·Q·CS)``; inverse ``1/P = 1/E − PnL/(s·Q·CS)``.
    """
    units = side * values(qty) * contract_size
    if product == "inverse":
        reciprocal = 1.0 / entry_price - target_pnl / units
        with np.errstate(divide="ignore"):
            return np.where(reciprocal > 0, 1.0 / np.where(reciprocal > 0, reciprocal, 1.0),
                            np.nan)
    return entry_price + target_pnl / units
