"""The position the scenario functions drive: the :class:`MarginModel` protocol and
:class:`EnginePosition`, its implementation on top of the risk engine.

Everything in ``scenarios`` (replay, bootstrap, probability, margin plan) talks to a position
through the small :class:`MarginModel` protocol; :class:`EnginePosition` answers each member
with the engine (:mod:`marginscope.risk`), so every venue's rules hold in a scenario exactly as
in the calculators: tiers re-checked at each price, the fee to close where the venue counts it
(OKX, Gate), maintenance margin on the entry value where the venue charges it there (Bybit
USDT, BitMEX), linear and inverse contracts.

Notation (exchange_formulas.md §0): ``s`` side (+1 long, −1 short), ``Q`` size (base units for
linear, contracts for inverse), ``CS`` contract size, ``E`` entry price, ``P`` mark price,
``WB`` isolated margin (the position's wallet, in the settle currency: quote for linear, coin
for inverse), ``value(P)`` = ``Q·CS·P`` (linear) or ``Q·CS/P`` (inverse).

* equity (margin balance)   ``WB + PnL(P)``                       (:func:`risk.contracts.pnl`)
* maintenance requirement   ``value(P)·MMR − cum [+ fee·value(P)]`` with the tier of
  ``value(P)`` (``value(E)·MMR − cum`` where the venue measures MM on the entry value)
  (:func:`risk.margin.margin_status`)
* margin ratio              requirement / equity; liquidation when it reaches 1
* liquidation price         ``W + PnL(P) = rate·value(P) + const``, tier self-consistent at
  ``P`` (:meth:`risk.terms.Terms.liquidation_price`); Binance USDⓈ-M isolated:
  ``LP = (WB + cum − s·Q·E)/(Q·MMR − s·Q)`` (exchange_formulas.md §1.6)
* funding payment           ``s·value(P)·F`` (positive: paid; positive F ⇒ longs pay, §1.7,
  :func:`risk.funding.funding_payment`)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from marginscope.errors import InputError
from marginscope.risk import validate as v
from marginscope.risk.contracts import pnl
from marginscope.risk.funding import funding_payment
from marginscope.risk.liquidation import position_margin
from marginscope.risk.margin import margin_status, price_at_ratio
from marginscope.risk.terms import Terms, resolve
from marginscope.risk.venues import DEFAULT_VENUE

__all__ = ["EnginePosition", "MarginModel"]


@runtime_checkable
class MarginModel(Protocol):
    """What the scenario functions need from a position (or a one-driver account).

    ``side`` is +1.0 (long) or −1.0 (short): the direction in which adverse prices lie.
    ``margin`` is in the settle currency. Every method is vectorized over its array argument.
    """

    side: float
    margin: float

    def equity(self, price: ArrayLike) -> np.ndarray: ...

    def maintenance_margin(self, price: ArrayLike) -> np.ndarray: ...

    def liquidation_price(self, margin: ArrayLike | None = None) -> np.ndarray: ...

    def price_at_margin_ratio(self, ratio: float) -> float: ...

    def funding_payment(self, price: ArrayLike, rate: ArrayLike) -> np.ndarray: ...

    def add_margin(self, amount: float) -> MarginModel: ...


@dataclass(frozen=True, eq=False)
class EnginePosition:
    """One isolated position on any registered venue, its margin arithmetic done by the engine.

    Build it with :meth:`open`; the constructor takes already-resolved engine terms.

    Parameters
    ----------
    terms : marginscope.risk.terms.Terms
        The venue's rules for this one position (:func:`marginscope.risk.terms.resolve` with a
        single symbol, or explicit ``mmr``).
    side : {"long", "short", 1, -1}
        Stored as +1.0 or −1.0.
    qty : float
        Size ``Q``: base units (linear) or contracts (inverse). Positive.
    entry : float
        Entry price ``E``, quote per base. Positive.
    margin : float
        Isolated margin ``WB`` in the settle currency, including funding and top-ups so far. ≥ 0.
    symbol : str, optional
        For the record only (the terms already hold its tier table).
    """

    terms: Terms
    side: float
    qty: float
    entry: float
    margin: float
    symbol: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.terms, Terms):
            raise InputError("terms", type(self.terms).__name__, "marginscope.risk.terms.Terms")
        if np.ndim(self.terms.contract_size) or (self.terms.table is not None
                                                 and np.ndim(self.terms.table)):
            raise InputError("symbol", self.symbol, "one symbol (terms of a single position)")
        object.__setattr__(self, "side", v.one_side(self.side))
        object.__setattr__(self, "qty", v.scalar("qty", self.qty, low=0.0))
        object.__setattr__(self, "entry", v.scalar("entry", self.entry, low=0.0))
        object.__setattr__(self, "margin", v.scalar("margin", self.margin, low=0.0,
                                                    low_inclusive=True))

    @classmethod
    def open(
        cls,
        *,
        venue: str = DEFAULT_VENUE,
        symbol: str | None = None,
        side: str | float,
        qty: float,
        entry: float,
        leverage: float | None = None,
        margin: float | None = None,
        mmr: float | None = None,
        maintenance_amount: float | None = None,
        max_leverage: float | None = None,
        contract_size: float | None = None,
        taker_fee: float | None = None,
        product: str | None = None,
        maintenance_basis: str | None = None,
        as_of: str | None = None,
    ) -> EnginePosition:
        """Open at ``entry`` with ``margin``, or with the initial margin ``value(E)/leverage``.

        Parameters
        ----------
        venue, symbol, mmr, maintenance_amount, max_leverage, contract_size, taker_fee,
        product, maintenance_basis, as_of
            As in :func:`marginscope.risk.liquidation_price`: the symbol's shipped tier table
            unless ``mmr`` overrides it (the generic venue always needs ``mmr``).
        side : {"long", "short", 1, -1}
        qty, entry : float
            Size (base units or contracts) and entry price, positive.
        leverage : float, optional
            Checked against the tier's maximum for the notional at entry (Binance bracket
            ``initialLeverage``).
        margin : float, optional
            Isolated margin in the settle currency; wins over ``leverage``.

        Notes
        -----
        Initial margin ``value(E)/L`` (Binance "Initial Margin = Quantity × Entry Price × IMR",
        ``IMR = 1/L``, exchange_formulas.md §1.3). The opening fee is not taken from the margin
        (Binance charges it to the wallet's available balance).
        """
        if symbol is not None and not isinstance(symbol, str):
            raise InputError("symbol", symbol, "one symbol (a string)")
        terms = resolve(venue, symbol=symbol, product=product, contract_size=contract_size,
                        mmr=mmr, maintenance_amount=maintenance_amount,
                        max_leverage=max_leverage, taker_fee=taker_fee,
                        maintenance_basis=maintenance_basis, as_of=as_of)
        for name, value in (("mmr", mmr), ("maintenance_amount", maintenance_amount),
                            ("leverage", leverage), ("margin", margin)):
            if value is not None and np.ndim(value):
                raise InputError(name, value, "a single number")
        s = v.one_side(side)
        q = v.scalar("qty", qty, low=0.0)
        e = v.scalar("entry", entry, low=0.0)
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            value = float(terms.value(q, e))
            wallet = float(position_margin(terms, q, e, margin, leverage))
        if not (0.0 < value < np.inf):
            raise InputError("qty", q, "a size whose value at the entry price is positive and "
                                       "finite", f"value {value!r}")
        if not (0.0 < wallet < np.inf):
            raise InputError("margin" if margin is not None else "leverage",
                             margin if margin is not None else leverage,
                             "a margin that is positive and finite", f"margin {wallet!r}")
        return cls(terms, s, q, e, wallet, symbol)

    # -- margin arithmetic -------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self.terms.venue.name

    @property
    def product(self) -> str:
        return self.terms.product

    def value(self, price: ArrayLike) -> np.ndarray:
        """Position value ``value(P)`` in the settle currency (linear ``Q·CS·P``, inverse
        ``Q·CS/P``)."""
        return self.terms.value(self.qty, np.asarray(price, dtype=float))

    def equity(self, price: ArrayLike) -> np.ndarray:
        """Margin balance ``WB + PnL(P)`` at mark ``price``, settle currency."""
        return self.margin + pnl(self.terms.product, self.side, self.qty, self.entry,
                                 np.asarray(price, dtype=float), self.terms.contract_size)

    def _status(self, price: ArrayLike) -> dict[str, np.ndarray]:
        return margin_status(self.terms, self.side, self.qty, self.entry,
                             np.asarray(price, dtype=float), self.margin)

    def maintenance_margin(self, price: ArrayLike) -> np.ndarray:
        """Maintenance requirement at mark ``price``: MM with the tier of the value there, plus
        the fee to close where the venue counts it (:func:`risk.margin.margin_status`)."""
        return self._status(price)["maintenance_margin"]

    def margin_ratio(self, price: ArrayLike) -> np.ndarray:
        """requirement / equity (Binance "margin ratio"); +inf where equity ≤ 0."""
        return self._status(price)["margin_ratio"]

    def liquidation_price(self, margin: ArrayLike | None = None) -> np.ndarray:
        """The engine's liquidation price; NaN where there is none (a 1× long, cum = 0).

        ``margin`` overrides ``WB`` (vectorized: one price per margin value), which is how
        funding and top-ups move the barrier (:meth:`risk.terms.Terms.liquidation_price`).
        """
        wallet = self.margin if margin is None else np.asarray(margin, dtype=float)
        return self.terms.liquidation_price(self.side, self.qty, self.entry, wallet)

    def price_at_margin_ratio(self, ratio: float) -> float:
        """Price where requirement / equity equals ``ratio`` (1.0: the liquidation price); NaN
        if no positive price gives it (:func:`risk.margin.price_at_ratio`)."""
        y = v.scalar("ratio", ratio, low=0.0, high=1.0)
        return float(price_at_ratio(self.terms, self.side, self.qty, self.entry, self.margin, y))

    def funding_payment(self, price: ArrayLike, rate: ArrayLike) -> np.ndarray:
        """Funding paid (positive) or received (negative): ``s·value(P)·F``
        (:func:`risk.funding.funding_payment`)."""
        return funding_payment(self.side, self.qty, np.asarray(price, dtype=float), rate,
                               product=self.terms.product,
                               contract_size=self.terms.contract_size)

    # -- changes -----------------------------------------------------------------------------
    def add_margin(self, amount: float) -> EnginePosition:
        """The same position with ``amount`` added to (negative: taken from) the margin."""
        new_margin = self.margin + float(amount)
        if new_margin < 0:
            raise InputError("amount", amount, f"≥ {-self.margin:g} (margin cannot go negative)")
        return replace(self, margin=new_margin)

    def reduce(self, fraction: float, price: float) -> EnginePosition:
        """Close ``fraction`` of the size at ``price``, keeping the margin in the position.

        The realized P&L of the closed part is booked into the margin and the released initial
        margin is *not* withdrawn, so equity at ``price`` is unchanged and only the exposure
        falls (what a cross-margin account does naturally; in isolated mode "close part, then
        re-add the released margin"; the engine's :func:`risk.margin.quantity_to_cut` makes the
        same assumption). The tier follows the smaller value at every price.
        """
        f = v.scalar("fraction", fraction, low=0.0, low_inclusive=True, high=1.0,
                     high_inclusive=False)
        p = v.scalar("price", price, low=0.0)
        realized = float(pnl(self.terms.product, self.side, self.qty * f, self.entry, p,
                             self.terms.contract_size))
        margin = self.margin + realized
        if margin < 0:
            raise InputError("fraction", fraction, "a cut that leaves margin ≥ 0",
                             "the position is already under water at this price")
        return replace(self, qty=self.qty * (1.0 - f), margin=margin)

    @property
    def leverage(self) -> float:
        """Entry value over margin, ``value(E)/WB`` (inf if the margin is 0)."""
        return float(self.value(self.entry)) / self.margin if self.margin > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        lp = float(self.liquidation_price())
        mmr, cum = self.terms.tier_at_size(self.qty, self.entry)
        return {
            "venue": self.venue, "symbol": self.symbol, "product": self.product,
            "side": "long" if self.side > 0 else "short", "qty": self.qty, "entry": self.entry,
            "margin": self.margin, "contract_size": float(self.terms.contract_size),
            "leverage": self.leverage, "liquidation_price": None if np.isnan(lp) else lp,
            "mmr_at_entry": float(mmr), "maintenance_amount_at_entry": float(cum),
            "fee_in_liquidation": float(np.max(self.terms.fee)),
        }
