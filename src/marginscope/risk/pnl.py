"""Futures P&L, ROE, exit prices for a target, contract counts and the cost to open.

Sources: Binance "How to Use Binance Futures Calculator" (PNL and Target Price tabs; ROE =
PnL / initial margin, exchange_formulas.md §1.4 — the FAQ's printed inverse identity for USDT
contracts is a known slip); Binance "Cost Required to Open a Position"
(https://www.binance.com/en/support/faq/87fa7ee33b574f7084d42bd2ce2e463b); Bybit calculator
(https://www.bybit.com/en/help-center/article/Calculator-for-Perpetual-and-Futures-Standard-Account);
BitMEX perpetual guide (XBTUSD P&L ``Q·(1/E − 1/X)``).
"""

from __future__ import annotations

import numpy as np

from marginscope.risk import validate
from marginscope.risk.contracts import pnl, position_value, price_for_pnl


def futures_pnl(side, qty, entry_price, exit_price, *, leverage=None, margin=None,
                product: str = "linear", contract_size=1.0, open_fee_rate=0.0,
                close_fee_rate=0.0) -> dict[str, np.ndarray]:
    """P&L of a round trip: gross, fees (open on the entry value, close on the exit value),
    net, initial margin and ROE = P&L / initial margin (gross and net).

    BitMEX: long 15,000 XBTUSD @ 750 → 800: +1.25 XBT on a 20 XBT entry value.
    """
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    exit_ = validate.positive("exit_price", exit_price)
    open_fee = validate.rate("open_fee_rate", open_fee_rate, 0.1)
    close_fee = validate.rate("close_fee_rate", close_fee_rate, 0.1)
    gross = pnl(product, s, qty, entry, exit_, contract_size)
    fees = (position_value(product, qty, entry, contract_size) * open_fee
            + position_value(product, qty, exit_, contract_size) * close_fee)
    if margin is not None:
        im = validate.positive("margin", margin)
    elif leverage is not None:
        im = position_value(product, qty, entry, contract_size) / validate.positive(
            "leverage", leverage)
    else:
        im = None
    out = {"pnl": gross, "fees": fees, "net_pnl": gross - fees,
           "entry_value": position_value(product, qty, entry, contract_size),
           "exit_value": position_value(product, qty, exit_, contract_size)}
    if im is not None:
        out |= {"initial_margin": im, "roe": gross / im, "net_roe": (gross - fees) / im}
    return out


def exit_price_for_roe(side, entry_price, leverage, roe, *, product: str = "linear") -> np.ndarray:
    """Exit price at which ROE on initial margin reaches ``roe`` (a fraction).

    Linear ``E·(1 + s·ROE/L)`` (Binance Target Price tab); inverse ``s·E/(s − ROE/L)``
    (Binance COIN-M; Bybit inverse: long 5x @ 7,000, ROE 20 % → 7,291.67, "around 7,292").
    NaN where unreachable (an inverse long cannot make more than 100 % × L … ).
    """
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    lev = validate.positive("leverage", leverage)
    target = validate.number("roe", roe, low=-1.0, low_inclusive=True)
    if product == "inverse":
        denominator = s - target / lev
        with np.errstate(divide="ignore", invalid="ignore"):
            price = s * entry / denominator
        return np.where(price > 0, price, np.nan)
    price = entry * (1.0 + s * target / lev)
    return np.where(price > 0, price, np.nan)


def exit_price_for_pnl(side, qty, entry_price, target_pnl, *, product: str = "linear",
                       contract_size=1.0) -> np.ndarray:
    """Exit price at which gross P&L equals ``target_pnl`` (NaN where unreachable)."""
    price = price_for_pnl(product, validate.side(side), validate.positive("qty", qty),
                          validate.positive("entry_price", entry_price),
                          validate.number("target_pnl", target_pnl), contract_size)
    return np.where(price > 0, price, np.nan)


def contracts_for_notional(notional, price, *, product: str = "linear",
                           contract_size=1.0) -> np.ndarray:
    """Contracts for a notional: linear ``N/(P·CS)`` (N in quote); inverse ``N/CS`` (N in USD).

    Binance COIN-M: a BTCUSD contract is 100 USD, so 10,000 USD is 100 contracts.
    """
    notional = validate.positive("notional", notional)
    price = validate.positive("price", price)
    size = validate.positive("contract_size", contract_size)
    return notional / size if product == "inverse" else notional / (price * size)


def cost_to_open(side, qty, order_price, mark_price, leverage) -> dict[str, np.ndarray]:
    """Initial margin plus open loss of a linear order (Binance "Cost Required to Open").

    ``IM = Q·P/L``; ``open loss = Q·|min(0, s·(M − P))|``; cost = IM + open loss.
    Example: 1 BTC at 9,253.30, 20x, mark 9,259.84 → IM 462.665, short open loss 6.54.
    """
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    price = validate.positive("order_price", order_price)
    mark = validate.positive("mark_price", mark_price)
    im = qty * price / validate.positive("leverage", leverage)
    open_loss = qty * np.abs(np.minimum(0.0, s * (mark - price)))
    return {"initial_margin": im, "open_loss": open_loss, "cost": im + open_loss}
