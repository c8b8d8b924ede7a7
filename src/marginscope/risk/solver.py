"""The one liquidation condition every venue shares, solved in closed form, vectorized.

For a position of side ``s``, size ``Q``, contract size ``CS``, entry ``E`` and the margin that
backs it ``W`` (isolated margin, or the cross wallet net of the other positions' maintenance
margin and unrealized P&L), the venue liquidates at the price ``P`` where

    W + PnL(P) = rate·value(P) + const

* linear:  PnL = s·Q·CS·(P − E),        value = Q·CS·P
* inverse: PnL = s·Q·CS·(1/E − 1/P),    value = Q·CS/P   (coin)

``rate`` collects what scales with the value at ``P`` (MMR when the venue measures maintenance
margin at the liquidation price, plus the taker fee when the fee to close counts), ``const``
what does not (``−cum``; or ``value(E)·MMR − cum`` when MM is measured on the entry value).
Solving the linear equation in ``P`` (or ``1/P``):

    linear:  P = (W − const − s·Q·CS·E) / (Q·CS·(rate − s))
    inverse: P = Q·CS·(rate + s) / (W − const + s·Q·CS/E)

With ``rate = MMR``, ``const = −cum`` this is the Binance USDⓈ-M / COIN-M formula
(https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 and
…/ceccfcfb4e3a45e3b48b0b1bb1a8ae46); with ``rate = MMR + f`` the OKX/Gate formula; with
``rate = 1/(2·maxLev)`` Hyperliquid's; with ``rate = 0, const = Q·E·MMR`` Bybit's USDT rule.
A non-positive or non-finite solution means the position cannot be liquidated: NaN.
"""

from __future__ import annotations

import numpy as np

from marginscope.risk.contracts import Product
from marginscope.risk.elementwise import divide, where

MAX_PRICE = 1e15  # Hyperliquid's example code: no liquidation price above this


def solve_price(product: Product, side, units, entry, wallet, rate, const) -> np.ndarray:
    """Price solving ``W + PnL(P) = rate·value(P) + const``; NaN where none is positive.

    ``units`` is ``Q·CS`` (base units for linear, quote units for inverse).
    """
    intercept = equity_intercept(product, side, units, entry, wallet)
    return price_from_intercept(product, side, units, intercept, rate, const)


def price_from_intercept(product: Product, side, units, intercept, rate, const) -> np.ndarray:
    """:func:`solve_price` given ``A`` (:func:`equity_intercept`): ``A − const`` is the equity
    left over the fixed part of the requirement, ``rate − σ`` its slope in the value.

    linear ``P = (A − const)/(Q·CS·(rate − s))``; inverse ``P = Q·CS·(rate + s)/(A − const)``.
    """
    slope = rate - value_slope(product, side)
    price = divide(units * slope, intercept - const) if product == "inverse" else \
        divide(intercept - const, units * slope)
    return where((price > 0) & (price < MAX_PRICE), price, np.nan)


def equity_intercept(product: Product, side, units, entry, wallet) -> np.ndarray:
    """``A`` in ``equity = A + σ·N``, N being the value at the price (see :func:`tier_key`)."""
    if product == "inverse":
        return wallet + side * units / entry
    return wallet - side * units * entry


def value_slope(product: Product, side) -> np.ndarray:
    """``σ``: +s for linear (value rises with price), −s for inverse."""
    return -side if product == "inverse" else side


def tier_key(floor, mmr, cum, fee, sigma: float) -> np.ndarray:
    """Keys that place the liquidation price in its tier with one sorted search.

    At a tier's lower boundary ``N_k`` the distance to liquidation is
    ``f(N_k) = A + σ·N_k − (N_k·(MMR_k + fee) − cum_k)``, continuous across tiers by the cum
    rule and monotone in ``N``. The self-consistent tier (Binance's note: the bracket of the
    notional *at the liquidation price*) is the last ``k`` with ``σ·f(N_k) ≤ 0``, i.e. with
    ``key_k ≤ −σ·A`` where ``key_k = N_k·(1 − σ·(MMR_k + fee)) + σ·cum_k`` (increasing in k).
    """
    return floor * (1.0 - sigma * (mmr + fee)) + sigma * cum
