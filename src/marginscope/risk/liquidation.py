"""Liquidation, bankruptcy and maintenance margin of single positions, vectorized.

Every argument may be a scalar or an array (broadcast together); the scalar path is the same
code. Large arrays are processed in cache-sized blocks, on :data:`THREADS` threads (NumPy
releases the GIL inside its loops).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import solver, validate
from marginscope.risk.contracts import pnl, position_value
from marginscope.risk.terms import Terms, resolve

BLOCK = 1 << 17  # positions per block: the temporaries stay in the 32 MiB L3 (measured best)
THREADS = os.cpu_count() or 1  # threads sharing the blocks of a large call (1: the caller's)

__all__ = [
    "bankruptcy_at",
    "bankruptcy_price",
    "initial_margin",
    "liquidation_price",
    "maintenance_margin",
    "position_margin",
]


def position_margin(terms: Terms, qty, entry, margin=None, leverage=None,
                    margin_mode: str = "isolated") -> np.ndarray:
    """The margin backing the positions: ``margin`` if given, else ``value(entry)/leverage``.

    Also checks ``leverage`` against the highest leverage the venue's tier allows for the
    position's notional (Binance ``initialLeverage`` of the bracket).
    """
    if leverage is not None:
        leverage = validate.positive("leverage", leverage)
        allowed = terms.max_leverage_at(qty, entry)
        if allowed is not None:
            too_high = np.broadcast_to(leverage > allowed, np.broadcast(leverage, allowed).shape)
            if too_high.any():
                first = np.flatnonzero(too_high.ravel())[0]
                limit = np.broadcast_to(allowed, too_high.shape).ravel()[first]
                notional = np.broadcast_to(terms.value(qty, entry), too_high.shape).ravel()[first]
                raise InputError("leverage", float(np.broadcast_to(leverage, too_high.shape)
                                                   .ravel()[first]),
                                 f"1 … {limit:g} for a notional of {notional:,.2f} "
                                 f"on {terms.venue.name}")
    if margin is not None:
        return validate.number("margin", margin)
    if margin_mode == "cross":
        raise InputError("margin", None, "the cross wallet balance (a number) in cross mode")
    if leverage is None:
        raise InputError("margin", None, "a number, or give leverage so that margin = "
                         "notional at entry / leverage")
    return terms.value(qty, entry) / leverage


def liquidation_price(
    venue,
    side,
    qty,
    entry_price,
    *,
    margin=None,
    leverage=None,
    symbol=None,
    symbol_index=None,
    mmr=None,
    maintenance_amount=None,
    margin_mode: str = "isolated",
    contract_size=None,
    max_leverage=None,
    taker_fee=None,
    product: str | None = None,
    maintenance_basis: str | None = None,
    as_of=None,
) -> np.ndarray:
    """Liquidation price of isolated (or single cross) positions; NaN where there is none.

    Parameters
    ----------
    venue : str
        ``binance-usdm``, ``binance-coinm``, ``bybit``, ``okx``, ``gate``, ``bitmex``,
        ``hyperliquid`` or ``generic``.
    side : array_like
        ``"long"``/``"short"`` or +1/−1.
    qty : array_like
        Position size: base units (linear) or contracts (inverse). Positive.
    entry_price : array_like
        Average entry price. Positive.
    margin : array_like, optional
        Isolated margin including added margin (cross: the wallet balance net of other
        positions, see :func:`marginscope.evaluate_account`). Default ``value(entry)/leverage``.
    leverage : array_like, optional
        Used for the default margin; checked against the venue's tier for the notional.
    symbol, symbol_index
        One symbol, an array of symbols, or the distinct symbols plus an integer index per
        position. Venue or ccxt notation. Needed unless ``mmr`` (or, for Hyperliquid,
        ``max_leverage``) is given.
    mmr, maintenance_amount : array_like, optional
        Override the tier table (``maintenance_amount`` defaults to 0 then).
    taker_fee : float, optional
        Fee rate to close; counted on venues that count it (OKX, Gate), or on any venue when
        given explicitly.
    maintenance_basis : {"mark", "entry"}, optional
        Override the venue's choice (e.g. Bybit inverse 2024 text: ``"entry"``).
    product : {"linear", "inverse"}, optional
        Must agree with the symbols' kind (an :class:`InputError` naming ``product`` if not).
    as_of : str or datetime.date, optional
        Use the tier tables in force on that date (default: the latest shipped).

    Returns
    -------
    ndarray
        Liquidation prices (NaN: no liquidation).

    Notes
    -----
    Solves ``W + PnL(P) = rate·value(P) + const`` (:mod:`marginscope.risk.solver`), with the
    tier self-consistent at ``P`` where the venue measures maintenance margin at the
    liquidation price: the Binance USDⓈ-M formula ``LP = (WB + cum − s·Q·E)/(Q·MMR − s·Q)``
    and its equivalents on every venue (exchange_formulas.md §1.6, §2, §3, §4.2, §6, §8).
    """
    validate.choice("margin_mode", margin_mode, ("isolated", "cross"))
    terms = resolve(venue, symbol=symbol, symbol_index=symbol_index, product=product,
                    contract_size=contract_size, mmr=mmr, maintenance_amount=maintenance_amount,
                    max_leverage=max_leverage, taker_fee=taker_fee,
                    maintenance_basis=maintenance_basis, as_of=as_of)
    if margin is not None and leverage is None:  # the hot path: validate block by block
        return solve_in_blocks(terms, np.asarray(side), np.asarray(qty), np.asarray(entry_price),
                               np.asarray(margin), checked=False)
    signs = validate.side(side)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    wallet = position_margin(terms, qty, entry, margin, leverage, margin_mode)
    return solve_in_blocks(terms, signs, qty, entry, wallet)


def _check_block(side, qty, entry, wallet) -> list[np.ndarray]:
    return [validate.side(side), validate.positive("qty", qty),
            validate.positive("entry_price", entry), validate.number("margin", wallet)]


def solve_in_blocks(terms: Terms, side, qty, entry, wallet, checked: bool = True) -> np.ndarray:
    """:meth:`Terms.liquidation_price` over broadcast arrays, block by block (inputs validated
    block by block too unless ``checked``: the checks then run on cache-resident data)."""
    per_row = [side, qty, entry, wallet, terms.contract_size]
    names = ["contract_size"]
    if terms.lookup is not None:
        per_row.append(terms.table)
        names.append("table")
    else:
        per_row += [terms.mmr, terms.cum]
        names += ["mmr", "cum"]
    if np.ndim(terms.fee):
        per_row.append(terms.fee)
        names.append("fee")
    shape = np.broadcast_shapes(*(np.shape(a) for a in per_row))
    size = int(np.prod(shape))
    # scalars stay scalars; arrays are flattened (a copy only where broadcasting needs one)
    arrays = [np.asarray(a) if np.ndim(a) == 0 else np.broadcast_to(a, shape).reshape(-1)
              for a in per_row]
    out = np.empty(size)

    def solve_block(start: int) -> None:
        rows = slice(start, start + BLOCK)
        part = [a[rows] if a.ndim else a for a in arrays]
        if not checked:
            part[:4] = _check_block(*part[:4])
        block_terms = dataclasses.replace(terms, **dict(zip(names, part[4:], strict=True)))
        out[rows] = block_terms.liquidation_price(*part[:4])

    starts = range(0, size, BLOCK)
    if len(starts) > 1 and THREADS > 1:
        list(_pool(THREADS, os.getpid()).map(solve_block, starts))  # re-raises in block order
    else:
        for start in starts:
            solve_block(start)
    return out.reshape(shape)


@functools.cache
def _pool(threads: int, pid: int) -> ThreadPoolExecutor:
    """One pool per process (a forked child builds its own: the parent's threads are gone)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="marginscope-blocks")


def bankruptcy_price(venue, side, qty, entry_price, *, margin=None, leverage=None, symbol=None,
                     contract_size=None, product: str | None = None,
                     taker_fee=None) -> np.ndarray:
    """Price at which the position's margin is exhausted: ``W + PnL(BP) = fee·value(BP)``.

    Without a fee, P&L at the bankruptcy price is exactly ``−margin``. Linear
    ``BP = E − s·W/(Q·CS)``; inverse ``BP = Q·CS/(W + s·Q·CS/E)`` (NaN when a short's margin
    covers any rise). Bybit isolated: ``E·(1 − s/L)`` (e.g. 10,000 @ 50x long → 9,800).
    With ``taker_fee`` the fee to close at BP is kept back, as in Bybit's legacy inverse text
    ``BP = (1+f)·Q/(Q/E + AB)``.
    """
    terms = resolve(venue, symbol=symbol, product=product, contract_size=contract_size,
                    mmr=0.0, taker_fee=taker_fee)
    signs = validate.side(side)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    wallet = position_margin(terms, qty, entry, margin, leverage)
    return bankruptcy_at(terms, signs, qty, entry, wallet,
                         fee=0.0 if taker_fee is None else terms.fee)


def bankruptcy_at(terms: Terms, side, qty, entry, wallet, fee=0.0) -> np.ndarray:
    """:func:`bankruptcy_price` of validated inputs whose terms are resolved: the price solving
    ``W + PnL(BP) = fee·value(BP)`` (``W``: isolated margin, or the cross wallet net of the
    other positions, :func:`marginscope.risk.account.cross_prices`)."""
    return solver.solve_price(terms.product, side, terms.units(qty), entry, wallet, fee, 0.0)


def maintenance_margin(venue, qty, mark_price, *, symbol=None, mmr=None,
                       maintenance_amount=None, max_leverage=None, contract_size=None,
                       product: str | None = None, as_of=None) -> np.ndarray:
    """Maintenance margin ``value(mark)·MMR − cum``, the tier being the one of that value.

    Binance COIN-M example: 100 BTCUSD contracts at mark 25,000 → 0.4 BTC notional, MMR 0.4 %
    → 0.0016 BTC.
    """
    terms = resolve(venue, symbol=symbol, product=product, contract_size=contract_size, mmr=mmr,
                    maintenance_amount=maintenance_amount, max_leverage=max_leverage,
                    as_of=as_of)
    qty = validate.positive("qty", qty)
    mark = validate.positive("mark_price", mark_price)
    return terms.maintenance_margin(qty, mark)


def initial_margin(qty, price, leverage, *, product: str = "linear",
                   contract_size=1.0) -> np.ndarray:
    """Initial margin ``value(price)/L``: linear ``Q·P/L``; inverse ``Q·CS/(P·L)``.

    Binance "Cost Required to Open a Position": 1 BTC at 9,253.30, 20x → 462.665;
    Bybit inverse: 12,000 contracts at 8,000, 50x → 0.03 BTC.
    """
    qty = validate.positive("qty", qty)
    price = validate.positive("price", price)
    leverage = validate.positive("leverage", leverage)
    return position_value(product, qty, price, contract_size) / leverage


def unrealized_pnl(side, qty, entry_price, mark_price, *, product: str = "linear",
                   contract_size=1.0) -> np.ndarray:
    """Unrealized P&L at the mark price (linear ``s·Q·(M − E)``; inverse ``s·Q·CS·(1/E − 1/M)``)."""
    return pnl(product, validate.side(side), validate.positive("qty", qty),
               validate.positive("entry_price", entry_price),
               validate.positive("mark_price", mark_price), contract_size)
