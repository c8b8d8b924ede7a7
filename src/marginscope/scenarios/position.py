"""A minimal isolated linear position: the margin model the scenario functions drive.

Stand-in until the risk engine (``marginscope.risk``) lands. Everything in ``scenarios`` talks to
a position through the small :class:`MarginModel` protocol below, so the engine's position (or a
cross-margin account reduced to one price driver) plugs in by offering the same six members.

Notation (exchange_formulas.md §0): ``s`` side (+1 long, −1 short), ``Q`` size in base units,
``E`` entry price, ``P`` mark price, ``WB`` isolated margin (the position's wallet), ``MMR`` the
bracket's maintenance-margin rate, ``cum`` its maintenance amount.

* margin balance (equity)   ``WB + s·Q·(P − E)``
* maintenance margin        ``Q·P·MMR − cum``
* margin ratio              ``MM / equity``  (liquidation when it reaches 1, §1.5)
* liquidation price         ``LP = (WB + cum − s·Q·E) / (Q·MMR − s·Q)``  (§1.6, isolated)
* funding payment           ``s·Q·P·F``  (positive: paid; positive F ⇒ longs pay, §1.7)

Source: Binance USDⓈ-M FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
(restated in ``reference/exchange_formulas.md`` §1.5–1.7). One bracket only: MMR and cum are
fixed. The engine re-checks the bracket at the liquidation price (§1.2); for a long that only
shrinks, so a position that starts in bracket 1 stays there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from marginscope.errors import InputError
from marginscope.scenarios import _validate as v

__all__ = ["LinearPosition", "MarginModel"]


@runtime_checkable
class MarginModel(Protocol):
    """What the scenario functions need from a position (or a one-driver account).

    ``side`` is +1.0 (long) or −1.0 (short): the direction in which adverse prices lie.
    Every method is vectorized over its array argument.
    """

    side: float
    margin: float

    def equity(self, price: ArrayLike) -> np.ndarray: ...

    def maintenance_margin(self, price: ArrayLike) -> np.ndarray: ...

    def liquidation_price(self, margin: ArrayLike | None = None) -> np.ndarray: ...

    def price_at_margin_ratio(self, ratio: float) -> float: ...

    def funding_payment(self, price: ArrayLike, rate: ArrayLike) -> np.ndarray: ...

    def add_margin(self, amount: float) -> MarginModel: ...


@dataclass(frozen=True)
class LinearPosition:
    """One isolated position on a linear (USDT-margined) perpetual, single margin bracket.

    Parameters
    ----------
    side : {"long", "short", 1, -1}
        Stored as +1.0 or −1.0.
    qty : float
        Size ``Q`` in base units (BTC). Positive.
    entry : float
        Entry price ``E``, quote per base. Positive.
    margin : float
        Isolated margin ``WB`` in quote (USDT), including funding and top-ups so far. ≥ 0.
    mmr : float
        Maintenance-margin rate of the bracket, fraction in [0, 1) (BTCUSDT bracket 1: 0.004).
    maintenance_amount : float
        The bracket's ``cum``, quote units, ≥ 0 (bracket 1: 0).
    """

    side: float
    qty: float
    entry: float
    margin: float
    mmr: float
    maintenance_amount: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", v.side(self.side))
        object.__setattr__(self, "qty", v.scalar("qty", self.qty, low=0.0))
        object.__setattr__(self, "entry", v.scalar("entry", self.entry, low=0.0))
        object.__setattr__(self, "margin", v.scalar("margin", self.margin, low=0.0,
                                                    low_inclusive=True))
        object.__setattr__(self, "mmr", v.scalar("mmr", self.mmr, low=0.0, low_inclusive=True,
                                                 high=1.0, high_inclusive=False))
        object.__setattr__(self, "maintenance_amount",
                           v.scalar("maintenance_amount", self.maintenance_amount, low=0.0,
                                    low_inclusive=True))

    @classmethod
    def from_leverage(cls, side: str | float, qty: float, entry: float, leverage: float,
                      mmr: float, maintenance_amount: float = 0.0) -> LinearPosition:
        """Open at ``entry`` with isolated margin ``Q·E/L`` (initial margin, fees ignored).

        Source: Binance calculator FAQ, "Initial Margin = Quantity × Entry Price × IMR",
        ``IMR = 1/L`` (exchange_formulas.md §1.3).
        """
        lev = v.scalar("leverage", leverage, low=0.0)
        q = v.scalar("qty", qty, low=0.0)
        e = v.scalar("entry", entry, low=0.0)
        return cls(side, q, e, q * e / lev, mmr, maintenance_amount)

    # -- margin arithmetic -------------------------------------------------------------------
    def equity(self, price: ArrayLike) -> np.ndarray:
        """Margin balance ``WB + s·Q·(P − E)`` at mark ``price``, quote units."""
        return self.margin + self.side * self.qty * (np.asarray(price, dtype=float) - self.entry)

    def maintenance_margin(self, price: ArrayLike) -> np.ndarray:
        """Maintenance margin ``Q·P·MMR − cum`` at mark ``price`` (Binance FAQ, §1.2)."""
        return self.qty * np.asarray(price, dtype=float) * self.mmr - self.maintenance_amount

    def margin_ratio(self, price: ArrayLike) -> np.ndarray:
        """``MM / equity`` (Binance "margin ratio", §1.5); +inf where equity ≤ 0."""
        equity = self.equity(price)
        mm = self.maintenance_margin(price)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(equity > 0, mm / np.where(equity > 0, equity, 1.0), np.inf)

    def liquidation_price(self, margin: ArrayLike | None = None) -> np.ndarray:
        """``LP = (WB + cum − s·Q·E)/(Q·MMR − s·Q)``; NaN where there is none (long LP ≤ 0).

        ``margin`` overrides ``WB`` (vectorized: one LP per margin value), which is how funding
        and top-ups move the barrier. Binance FAQ, isolated case of §1.6.
        """
        wb = self.margin if margin is None else np.asarray(margin, dtype=float)
        s, q = self.side, self.qty
        lp = (wb + self.maintenance_amount - s * q * self.entry) / (q * self.mmr - s * q)
        return np.where(lp > 0, lp, np.nan)

    def price_at_margin_ratio(self, ratio: float) -> float:
        """Price where ``MM/equity = ratio`` (solve ``WB + s·Q·(P − E) = (Q·P·MMR − cum)/ratio``).

        ``P = (WB − s·Q·E + cum/ratio)/(Q·MMR/ratio − s·Q)``; ``ratio = 1`` gives the LP.
        NaN if no positive price gives that ratio (a long's ratio never falls to MMR).
        """
        y = v.scalar("ratio", ratio, low=0.0, high=1.0)
        s, q = self.side, self.qty
        denominator = q * self.mmr / y - s * q
        if denominator == 0:
            return float("nan")
        price = (self.margin - s * q * self.entry + self.maintenance_amount / y) / denominator
        return float(price) if price > 0 else float("nan")

    def funding_payment(self, price: ArrayLike, rate: ArrayLike) -> np.ndarray:
        """Funding paid (positive) or received (negative): ``s·Q·P·F`` (Binance, §1.7)."""
        return self.side * self.qty * np.asarray(price, dtype=float) * np.asarray(rate, float)

    # -- changes -----------------------------------------------------------------------------
    def add_margin(self, amount: float) -> LinearPosition:
        """The same position with ``amount`` quote added to (negative: taken from) the margin."""
        new_margin = self.margin + float(amount)
        if new_margin < 0:
            raise InputError("amount", amount, f"≥ {-self.margin:g} (margin cannot go negative)")
        return replace(self, margin=new_margin)

    def reduce(self, fraction: float, price: float) -> LinearPosition:
        """Close ``fraction`` of the size at ``price``, keeping the margin in the position.

        The realized P&L ``s·Q·f·(P − E)`` of the closed part is booked into the margin and the
        released initial margin is *not* withdrawn, so equity at ``price`` is unchanged and only
        the exposure falls (what a cross-margin account does naturally; in isolated mode it is
        "close part, then re-add the released margin"). Entry of the rest is unchanged.
        """
        f = v.scalar("fraction", fraction, low=0.0, low_inclusive=True, high=1.0,
                     high_inclusive=False)
        p = v.scalar("price", price, low=0.0)
        realized = self.side * self.qty * f * (p - self.entry)
        margin = self.margin + realized
        if margin < 0:
            raise InputError("fraction", fraction, "a cut that leaves margin ≥ 0",
                             "the position is already under water at this price")
        return replace(self, qty=self.qty * (1.0 - f), margin=margin)

    @property
    def leverage(self) -> float:
        """Entry notional over margin, ``Q·E/WB`` (inf if the margin is 0)."""
        return self.qty * self.entry / self.margin if self.margin > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["side"] = "long" if self.side > 0 else "short"
        lp = float(self.liquidation_price())
        out["liquidation_price"] = None if np.isnan(lp) else lp
        return out
