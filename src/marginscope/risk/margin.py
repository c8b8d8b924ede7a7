"""Margin call arithmetic: margin balance, maintenance margin, margin ratio, the price at which
a warning ratio is reached, and the margin to add (or quantity to cut) to move the liquidation
price to a target — what traders do in a crash instead of exiting.

Margin ratio = maintenance margin / margin balance; 100 % means liquidation (Binance "How to
Check Futures Wallet Balance", https://www.binance.com/en/support/faq/5d62f8be18d24544b5b6156094c16bf7;
OKX uses the inverse ratio, equity / MM, with 100 % the same point).
"""

from __future__ import annotations

import numpy as np

from marginscope.risk import solver, validate
from marginscope.risk.contracts import pnl
from marginscope.risk.liquidation import position_margin
from marginscope.risk.terms import Terms, resolve, table_fields

DEFAULT_WARNING_RATIO = 0.8


def margin_status(terms: Terms, side, qty, entry, mark, wallet) -> dict[str, np.ndarray]:
    """Margin balance, maintenance margin (incl. counted close fee) and margin ratio at mark."""
    balance = wallet + pnl(terms.product, side, qty, entry, mark, terms.contract_size)
    maintenance = terms.maintenance_margin(qty, mark) + terms.fee * terms.value(qty, mark)
    if terms.basis == "entry":
        maintenance = terms.maintenance_margin(qty, entry) + terms.fee * terms.value(qty, mark)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(balance > 0, maintenance / balance, np.inf)
    return {"margin_balance": balance, "maintenance_margin": maintenance, "margin_ratio": ratio}


def price_at_ratio(terms: Terms, side, qty, entry, wallet, ratio) -> np.ndarray:
    """Price at which MM / margin balance reaches ``ratio`` (1.0: the liquidation price).

    Solves ``W + PnL(P) = (rate·value(P) + const)/ratio`` with the tier of the value at ``P``
    (fixed-point over tiers, which converges in a few steps as tiers are monotone in ``P``).
    """
    rate, const = terms.condition(side, qty, entry, wallet)
    units = terms.units(qty)
    price = solver.solve_price(terms.product, side, units, entry, wallet, rate / ratio,
                               const / ratio)
    if terms.lookup is None or terms.basis == "entry":
        return price
    for _ in range(len(terms.lookup.floor)):
        mmr, cum = terms.tier_at_size(qty, np.where(np.isnan(price), entry, price))
        new = solver.solve_price(terms.product, side, units, entry, wallet,
                                 (mmr + terms.fee) / ratio, -cum / ratio)
        if np.array_equal(new, price, equal_nan=True):
            break
        price = new
    return price


def margin_to_target(terms: Terms, side, qty, entry, wallet, target_price) -> np.ndarray:
    """Margin to add so that the liquidation price moves to ``target_price`` (0 if already
    beyond it): the margin ``W*`` with ``W* + PnL(T) = MM(T) (+ fee)``, minus what is there."""
    target = validate.positive("target_price", target_price)
    loss = pnl(terms.product, side, qty, entry, target, terms.contract_size)
    if terms.basis == "entry":
        required = terms.maintenance_margin(qty, entry)
    else:
        required = terms.maintenance_margin(qty, target)
    required = required + terms.fee * terms.value(qty, target)
    return np.maximum(required - loss - wallet, 0.0)


def quantity_to_cut(terms: Terms, side, qty, entry, mark, wallet, target_price,
                    iterations: int = 80) -> np.ndarray:
    """Quantity to close at ``mark`` so that the rest liquidates at ``target_price``.

    Assumes the margin stays with the position (cross mode, or isolated margin not withdrawn)
    and the cut's realized P&L at mark is added to it. Bisection on the kept quantity;
    ``qty`` (close everything) where no partial cut suffices.
    """
    target = validate.positive("target_price", target_price)
    side, qty, entry, mark, wallet, target = np.broadcast_arrays(side, qty, entry, mark, wallet,
                                                                 target)

    def safe(kept):
        realized = pnl(terms.product, side, qty - kept, entry, mark, terms.contract_size)
        return margin_to_target(terms, side, kept, entry, wallet + realized, target) <= 0

    low, high = np.zeros_like(qty), qty.astype(float).copy()
    already = safe(qty)
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        ok = safe(np.maximum(middle, 1e-300))
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    return np.where(already, 0.0, qty - low)


def margin_call(venue, side, qty, entry_price, mark_price=None, *, margin=None, leverage=None,
                symbol=None, mmr=None, maintenance_amount=None, max_leverage=None,
                contract_size=None, taker_fee=None, warning_ratio=DEFAULT_WARNING_RATIO,
                target_price=None, margin_mode: str = "isolated", product: str | None = None,
                as_of=None) -> dict[str, np.ndarray]:
    """Margin status of a position and the defences against a margin call.

    Returns margin balance, maintenance margin, margin ratio at mark, the liquidation price,
    the price at which the margin ratio reaches ``warning_ratio`` (default 80 %), and, when
    ``target_price`` is given, the margin to add and the quantity to cut to move the
    liquidation price there (e.g. to survive a fall to that price); and the product and the
    tier table's date and source (:func:`marginscope.risk.terms.table_fields`). ``product``
    must agree with the symbol; ``as_of`` picks the table in force on that date.
    """
    terms = resolve(venue, symbol=symbol, contract_size=contract_size, mmr=mmr,
                    maintenance_amount=maintenance_amount, max_leverage=max_leverage,
                    taker_fee=taker_fee, product=product, as_of=as_of)
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    mark = entry if mark_price is None else validate.positive("mark_price", mark_price)
    wallet = position_margin(terms, qty, entry, margin, leverage, margin_mode)
    ratio = validate.number("warning_ratio", warning_ratio, low=0.0, high=1.0)
    out = margin_status(terms, s, qty, entry, mark, wallet)
    out["liquidation_price"] = terms.liquidation_price(s, qty, entry, wallet)
    out["warning_price"] = price_at_ratio(terms, s, qty, entry, wallet, ratio)
    if target_price is not None:
        out["margin_to_add"] = margin_to_target(terms, s, qty, entry, wallet, target_price)
        out["quantity_to_cut"] = quantity_to_cut(terms, s, qty, entry, mark, wallet,
                                                 target_price)
    out.update(table_fields(terms))
    return out
