"""Cross-margin accounts, vectorized: liquidation and bankruptcy prices of several positions in
several accounts at once.

Positions are flat arrays (any shape, flattened in C order) with an ``account`` index per
position (``0 … A−1``) and a ``symbol`` index per position (positions of one symbol in one
account are the legs of a hedge-mode pair); the wallet is one number per account. One
:class:`~marginscope.risk.terms.Terms` covers every position (:func:`stack_terms` builds it
from one :class:`Terms` per position), so every account holds positions of one settle currency
and product.

A single account of a few unhedged positions given as Python floats (a web request) takes a
float path (:data:`FLOAT_POSITIONS`): the same formulas on one position at a time in Python
floats (:mod:`~marginscope.risk.elementwise`), with no NumPy call per operation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import solver, validate
from marginscope.risk.liquidation import bankruptcy_at
from marginscope.risk.margin import margin_status
from marginscope.risk.terms import Terms, tier_lookup
from marginscope.risk.tiers import TierTable

__all__ = ["cross_available", "cross_prices", "cross_prices_of_checked", "cross_prices_of_floats",
           "hedged_price", "legs", "stack_terms"]

HEDGE_ITERATIONS = 32  # tier fixed-point steps for hedge legs (a few suffice: tiers are monotone)
FLOAT_POSITIONS = 16
"""Largest single, unhedged account :func:`cross_prices` computes in Python floats (0: never;
the tests run both paths and compare them)."""


def legs(account, symbol) -> tuple[np.ndarray, np.ndarray]:
    """Group of each position (one per symbol per account) and the first position of each.

    Parameters
    ----------
    account, symbol : array_like of int
        Account and symbol index of each position (1-D, same length).

    Returns
    -------
    group : ndarray of intp
        ``0 … G−1`` (in order of account, then symbol).
    first : ndarray of intp
        Index of each group's first position.
    """
    account = np.asarray(account, dtype=np.int64)
    symbol = np.asarray(symbol, dtype=np.int64)
    key = account * (int(symbol.max(initial=0)) + 1) + symbol
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return group.reshape(-1), first


def cross_available(account, group, wallet, maintenance, upnl) -> np.ndarray:
    """The cross wallet left to each position: ``WB − TMM1 + UPNL1``.

    ``TMM1`` and ``UPNL1`` are the maintenance margin and unrealized P&L of the account's
    *other* positions (other symbols; legs of one symbol share the rest), at their marks.

    Notes
    -----
    Binance USDⓈ-M cross margin (FAQ "How to Calculate Liquidation Price of USDⓈ-M Contracts",
    https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93; exchange_formulas.md
    §1.6): ``WB`` wallet balance, ``TMM1`` maintenance margin of all other contracts,
    ``UPNL1`` their unrealized P&L.

    One account of unhedged positions as lists of floats (``account`` and ``group`` None,
    ``wallet`` a float) gives a list.
    """
    if account is None:
        held = [m - u for m, u in zip(maintenance, upnl, strict=True)]
        total = sum(held, 0.0)
        return [wallet - (total - own) for own in held]
    held = np.asarray(maintenance, dtype=float) - upnl
    wallet = np.asarray(wallet, dtype=float).reshape(-1)
    total = np.bincount(account, held, minlength=wallet.size)
    own = np.bincount(group, held)
    return wallet[account] - (total[account] - own[group])


def hedged_price(
    terms: Terms, group, side, qty, entry, start, available, *, fee: bool = True
) -> np.ndarray:
    """Shared liquidation (``fee=True``) or bankruptcy (``fee=False``) price of hedge legs.

    Parameters
    ----------
    terms : Terms
        Per-position terms (arrays over the positions).
    group : ndarray of intp
        Group (symbol within an account) of each position, ``0 … G−1``.
    side, qty, entry : ndarray
        ±1, size, entry price of each position.
    start : ndarray
        Per group: the price the tier iteration starts from (the first leg's mark).
    available : ndarray
        Per group: the cross wallet left to the legs (:func:`cross_available`).
    fee : bool
        False: maintenance margin and fee left out, which gives the bankruptcy price.

    Returns
    -------
    ndarray
        One price per group; NaN where none is positive and finite.

    Notes
    -----
    Solves ``W + Σ_l PnL_l(P) = Σ_l (rate_l·value_l(P) + const_l)`` over the legs ``l``
    (Binance FAQ, the ``L`` and ``S`` terms of the cross formula
    ``LP = (WB − TMM1 + UPNL1 + cumB + cumL + cumS − s·Q·EP − Q_L·EP_L + Q_S·EP_S) /
    (Q·MMR_B + Q_L·MMR_L + Q_S·MMR_S − s·Q − Q_L + Q_S)``): linear
    ``P = (W − Σ(const + s·U·E)) / Σ U·(rate − s)``, inverse
    ``P = Σ U·(rate + s) / (W + Σ(s·U/E − const))`` with ``U = Q·CS``; where the venue
    measures maintenance margin at ``P`` the legs' tiers are iterated to self-consistency.
    """
    groups = np.asarray(available).size
    side, qty, entry = np.broadcast_arrays(side, qty, entry)
    units = terms.units(qty)
    inverse = terms.product == "inverse"

    def solve(price) -> np.ndarray:
        if not fee:
            rate = const = 0.0
        elif terms.basis == "entry":
            mmr, cum = terms.tier_at_size(qty, entry)
            rate, const = terms.fee + 0.0 * qty, terms.value(qty, entry) * mmr - cum
        else:
            mmr, cum = terms.tier_at_size(qty, price[group])
            rate, const = mmr + terms.fee, -cum
        if inverse:
            numerator = np.bincount(group, units * (rate + side), minlength=groups)
            denominator = available + np.bincount(
                group, -const + side * units / entry, minlength=groups
            )
        else:
            numerator = available + np.bincount(
                group, -const - side * units * entry, minlength=groups
            )
            denominator = np.bincount(group, units * (rate - side), minlength=groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = numerator / denominator
        return np.where(np.isfinite(new) & (new > 0) & (new < solver.MAX_PRICE), new, np.nan)

    start = np.asarray(start, dtype=float)
    result = solve(start)
    if not fee or terms.basis == "entry":
        return result  # no tier depends on the price: one step is exact
    active = ~np.isnan(result)
    for _ in range(HEDGE_ITERATIONS - 1):  # until the price repeats (or there is none)
        if not active.any():
            break
        new = solve(np.where(active, result, start))
        stop = active & (np.isnan(new) | (new == result))
        result = np.where(active, new, result)
        active &= ~stop
    return result


def cross_prices(
    terms: Terms, side, qty, entry_price, mark_price, wallet, *, account=None, symbol=None
) -> dict[str, np.ndarray]:
    """Liquidation and bankruptcy prices of cross-margin positions, several accounts at once.

    Parameters
    ----------
    terms : Terms
        Resolved terms of the positions (:func:`marginscope.risk.terms.resolve`, or
        :func:`stack_terms`), broadcasting with them.
    side : array_like
        ``"long"``/``"short"`` or ±1.
    qty, entry_price, mark_price : array_like
        Size, entry and mark price of each position (positive).
    wallet : array_like
        Cross wallet balance of each account, in the settle currency.
    account : array_like of int, optional
        Account of each position (``0 … len(wallet)−1``); default: all in one account.
    symbol : array_like of int, optional
        Symbol of each position; positions of one symbol in one account are hedge legs
        sharing one liquidation price. Default: every position its own symbol.

    Returns
    -------
    dict of ndarray
        Per position (shaped like the positions): ``liquidation_price``, ``bankruptcy_price``
        (NaN: none), ``maintenance_margin`` (incl. a counted close fee), ``unrealized_pnl``,
        ``available`` (the wallet left to the position). Per account (1-D):
        ``margin_balance`` (wallet + Σ unrealized P&L), ``account_maintenance_margin``.

    Notes
    -----
    Each position (or each set of hedge legs) is liquidated as if isolated with the margin
    ``WB − TMM1 + UPNL1`` (:func:`cross_available`), the other positions held at their marks:
    Binance USDⓈ-M cross formula
    ``LP = (WB − TMM1 + UPNL1 + cum − s·Q·EP) / (Q·MMR − s·Q)``
    (https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93;
    exchange_formulas.md §1.6), its tier self-consistent at ``LP``; hedge legs by
    :func:`hedged_price`. Bankruptcy: the same with no maintenance margin
    (:func:`marginscope.risk.liquidation.bankruptcy_at`). ``terms`` may also be one
    :class:`Terms` per position (stacked here when the arrays are needed).
    """
    if account is None and symbol is None:
        few = _one_account_in_floats(terms, side, qty, entry_price, mark_price, wallet)
        if few is not None:
            return few
    if not isinstance(terms, Terms):
        terms = stack_terms(terms)
    side, qty, entry, mark = np.broadcast_arrays(
        validate.side(side),
        validate.positive("qty", qty),
        validate.positive("entry_price", entry_price),
        validate.positive("mark_price", mark_price),
    )
    shape = side.shape
    side, qty, entry, mark = (np.ravel(x) for x in (side, qty, entry, mark))
    wallet = validate.number("wallet_balance", wallet).reshape(-1)
    account = _index("account", account, qty.size, wallet.size)
    flat = _flat_terms(terms, qty.size)
    status = margin_status(flat, side, qty, entry, mark, 0.0)
    maintenance, upnl = status["maintenance_margin"], status["margin_balance"]  # per position
    if symbol is None:  # every position its own symbol: no legs to find
        group = np.arange(qty.size)
    else:
        group, _ = legs(account, _index("symbol", symbol, qty.size))
    available = cross_available(account, group, wallet, maintenance, upnl)
    liquidation = flat.liquidation_price(side, qty, entry, available)
    bankruptcy = bankruptcy_at(flat, side, qty, entry, available)
    hedged = np.bincount(group)[group] > 1
    if hedged.any():
        rows = np.flatnonzero(hedged)
        _, sub_first, sub = np.unique(group[rows], return_index=True, return_inverse=True)
        sub_terms = _flat_terms(flat, qty.size, rows)
        args = (
            sub_terms,
            sub,
            side[rows],
            qty[rows],
            entry[rows],
            mark[rows][sub_first],
            available[rows][sub_first],
        )
        liquidation[rows] = hedged_price(*args)[sub]
        bankruptcy[rows] = hedged_price(*args, fee=False)[sub]
    return {
        "liquidation_price": liquidation.reshape(shape),
        "bankruptcy_price": bankruptcy.reshape(shape),
        "maintenance_margin": maintenance.reshape(shape),
        "unrealized_pnl": upnl.reshape(shape),
        "available": available.reshape(shape),
        "margin_balance": wallet + np.bincount(account, upnl, minlength=wallet.size),
        "account_maintenance_margin": np.bincount(account, maintenance, minlength=wallet.size),
    }


def _floats(value, size: int) -> list | None:
    """``value`` as a list of ``size`` Python floats, or None when it is not one."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype != np.float64:
            return None
        value = value.tolist()
    elif not isinstance(value, list | tuple):
        return None
    if len(value) != size or set(map(type, value)) != _FLOAT:
        return None
    return list(value)


_FLOAT = {float}
_SIDES = {1.0, -1.0}


def cross_prices_of_floats(terms, side, qty, entry_price, mark_price, wallet):
    """:func:`cross_prices` of one account of at most :data:`FLOAT_POSITIONS` unhedged
    positions given as Python floats, in Python floats: the same keys, each a list (per
    position; ``margin_balance`` and ``account_maintenance_margin`` one-element lists). None
    when the inputs are not that, or not plainly valid: :func:`cross_prices` then takes the
    array path, which names a bad field. What a web request's account takes, without the
    arrays (:mod:`marginscope.calculators.account`)."""
    if isinstance(qty, np.ndarray):
        if qty.ndim != 1:
            return None
    elif not isinstance(qty, list | tuple):
        return None
    size = len(qty)
    if not 0 < size <= FLOAT_POSITIONS:
        return None
    sides = side.tolist() if isinstance(side, np.ndarray) else side
    qty, entry, mark = columns = [_floats(x, size) for x in (qty, entry_price, mark_price)]
    if isinstance(wallet, np.ndarray | list | tuple):
        wallet = _floats(wallet, 1)
        wallet = wallet[0] if wallet else None
    if (None in columns or type(wallet) is not float
            or not isinstance(sides, list | tuple) or len(sides) != size
            or set(map(type, sides)) != _FLOAT or not _SIDES.issuperset(sides)
            or wallet - wallet != 0.0):  # NaN and ±inf give NaN
        return None
    values = [*qty, *entry, *mark]
    total = sum(values)  # NaN or inf if any is (or if they overflow: the arrays then)
    if not (min(values) > 0.0 and total - total == 0.0):
        return None
    if isinstance(terms, Terms):
        per_position = [_flat_terms(terms, size, np.array([i])) for i in range(size)]
    else:
        per_position = list(terms)
    if len(per_position) != size:
        return None
    per_position = [t.one() for t in per_position]
    maintenance, upnl = [], []
    for t, s, q, e, m in zip(per_position, sides, qty, entry, mark, strict=True):
        status = margin_status(t, s, q, e, m, 0.0)
        maintenance.append(status["maintenance_margin"])
        upnl.append(status["margin_balance"])
    return cross_prices_of_checked(per_position, sides, qty, entry, wallet, maintenance, upnl)


def cross_prices_of_checked(terms, side, qty, entry, wallet, maintenance, upnl):
    """:func:`cross_prices_of_floats` of inputs already known plainly valid, given each
    position's maintenance margin (incl. the counted close fee) and unrealized P&L at its mark
    (:func:`~marginscope.risk.margin.margin_status`'s): the same lists, without the checks and
    without computing those two again.

    For a caller whose inputs are validated to that already (the account calculator: its
    request's bounded positive floats, ±1.0 sides, one :meth:`Terms.one` per position, the
    rows' figures computed by the same formulas); any other caller takes
    :func:`cross_prices_of_floats`, which checks and then calls this.
    """
    available = cross_available(None, None, wallet, maintenance, upnl)
    rows = list(zip(terms, side, qty, entry, available, strict=True))
    return {
        "liquidation_price": [t.liquidation_price(s, q, e, a) for t, s, q, e, a in rows],
        "bankruptcy_price": [bankruptcy_at(t, s, q, e, a) for t, s, q, e, a in rows],
        "maintenance_margin": maintenance,
        "unrealized_pnl": upnl,
        "available": available,
        "margin_balance": [wallet + sum(upnl, 0.0)],
        "account_maintenance_margin": [sum(maintenance, 0.0)],
    }


def _one_account_in_floats(terms, side, qty, entry_price, mark_price, wallet):
    """:func:`cross_prices_of_floats` as :func:`cross_prices` answers: arrays."""
    few = cross_prices_of_floats(terms, side, qty, entry_price, mark_price, wallet)
    return None if few is None else {name: np.array(value) for name, value in few.items()}


def _index(name: str, value, size: int, limit: int | None = None) -> np.ndarray:
    """An integer index per position (a scalar applies to all), checked against ``limit``."""
    if value is None:
        return np.zeros(size, dtype=np.intp)
    array = np.asarray(value)
    if (
        array.dtype.kind not in "iub"
        or array.ndim > 1
        or array.size not in (1, size)
        or (array.size and array.min() < 0)
    ):
        raise InputError(name, value, f"non-negative integers, one per position ({size})")
    if limit is not None and array.size and array.max() >= limit:
        raise InputError(name, int(array.max()), f"0 … {limit - 1} (one wallet per account)")
    return np.broadcast_to(array.reshape(-1), (size,)).astype(np.intp)


_PER_POSITION = ("contract_size", "fee", "mmr", "cum", "table", "max_leverage")


def _flat_terms(terms: Terms, size: int, rows: np.ndarray | None = None) -> Terms:
    """``terms`` with its per-position arrays flattened to ``size`` (and taken at ``rows``)."""
    changes = {}
    for name in _PER_POSITION:
        value = getattr(terms, name)
        if value is not None and np.ndim(value):
            flat = np.broadcast_to(value, (size,)) if np.size(value) != size else np.ravel(value)
            changes[name] = flat if rows is None else flat[rows]
    return dataclasses.replace(terms, **changes)


def stack_terms(terms: Sequence[Terms]) -> Terms:
    """One :class:`Terms` for positions resolved one by one (each with its own symbol and
    overrides): tier tables concatenated, overrides as one-tier tables where tables are needed.

    Raises
    ------
    InputError
        When the positions differ in venue, product (linear/inverse) or maintenance basis.
    """
    head = terms[0]
    kinds = sorted({(t.venue.name, t.product, t.basis) for t in terms})
    if len(kinds) > 1:
        raise InputError(
            "positions",
            [k[1] for k in kinds],
            "positions of one venue and product (linear or inverse) per account",
        )
    fees = np.array([float(t.fee) for t in terms])
    common = dict(
        venue=head.venue,
        product=head.product,
        basis=head.basis,
        contract_size=np.array([float(t.contract_size) for t in terms]),
        fee=float(fees[0]) if (fees == fees[0]).all() else fees,
    )
    if all(t.lookup is None for t in terms):
        return Terms(
            **common,
            mmr=np.array([float(t.mmr) for t in terms]),
            cum=np.array([float(t.cum) for t in terms]),
        )
    tables: list[TierTable] = []
    index = []
    for t in terms:
        table = (
            _one_tier(head.venue.name, t.product, float(t.mmr), float(t.cum))
            if t.lookup is None
            else t.lookup.tables[int(t.table)]
        )
        if table not in tables:
            tables.append(table)
        index.append(tables.index(table))
    return Terms(**common, lookup=tier_lookup(tuple(tables)), table=np.array(index))


@lru_cache(maxsize=1024)
def _one_tier(venue: str, product: str, mmr: float, cum: float) -> TierTable:
    """An override (``mmr``, ``maintenance_amount``) as a table of one tier."""
    return TierTable(
        venue=venue,
        symbol="(override)",
        ccxt_symbol="(override)",
        product=product,
        settle="",
        contract_size=1.0,
        basis="notional",
        as_of="",
        source="request override",
        floor=np.zeros(1),
        cap=np.full(1, np.inf),
        mmr=np.full(1, mmr),
        cum=np.full(1, cum),
        max_leverage=np.full(1, np.inf),
    )
