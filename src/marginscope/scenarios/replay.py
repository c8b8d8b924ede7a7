"""Replay a price path against a position: equity, margin ratio, funding, liquidation, defense.

Rules, bar by bar (bar ``i`` covers ``[tᵢ, tᵢ + bar)``; the position is opened at the open of the
first bar):

1. **Funding.** Each print with settlement time ``τ`` in the bar (``tᵢ ≤ τ < tᵢ₊₁``) is settled at
   the bar's open price ``Oᵢ``: payment ``s·value(Oᵢ)·F`` (linear ``s·Q·Oᵢ·F``; positive F ⇒
   longs pay, shorts receive; Binance, exchange_formulas.md §1.7) is taken from (added to) the
   isolated margin, which moves the liquidation price. A print at exactly the opening time of
   the first bar is not charged: the position opens just after that settlement (Binance charges
   positions held at the funding timestamp).
2. **Intrabar walk.** From the open the price is taken to run to the bar's adverse extreme (the
   low for a long, the high for a short) before anything else; the favourable extreme cannot hurt
   the position, so its order does not matter. Along the way:

   * if a defense plan is active and the margin ratio ``MM/equity`` reaches ``Y`` (at the price
     where it equals ``Y``, or at the open if it is already there), ``add`` is put into the
     margin — up to ``max_times`` top-ups in all; if the ratio is still ≥ Y right after a
     top-up, the next one follows at once;
   * if the price reaches the liquidation price (equity ≤ maintenance margin, §1.5) the
     position is liquidated there; if the bar *opens* beyond it (a gap, or funding pushed the
     liquidation price past the price) it is liquidated at the open. The isolated margin is
     lost (equity 0), the replay stops.
3. **Close.** Equity, maintenance margin, margin ratio and the liquidation price are recorded at
   the close.

The liquidation time is only known to the bar (4 hours on the shipped data); the report gives
the bar's open time and the price level. The shipped bars are last-price klines while Binance
triggers on the mark price (see :mod:`marginscope.scenarios.paths`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate as v
from marginscope.scenarios.paths import FundingSeries, PricePath, iso
from marginscope.scenarios.position import MarginModel

__all__ = ["DefensePlan", "ReplayResult", "ReplaySeries", "ReplaySummary", "TopUp", "replay"]


@dataclass(frozen=True)
class DefensePlan:
    """Add ``add`` (quote) to the margin whenever ``MM/equity`` reaches ``at_margin_ratio``,
    at most ``max_times`` times."""

    add: float
    at_margin_ratio: float
    max_times: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "add", v.scalar("plan.add", self.add, low=0.0))
        object.__setattr__(self, "at_margin_ratio",
                           v.scalar("plan.at_margin_ratio", self.at_margin_ratio, low=0.0,
                                    high=1.0, high_inclusive=False))
        object.__setattr__(self, "max_times", v.integer("plan.max_times", self.max_times))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TopUp:
    """One top-up: when (bar open time), at which price, how much, the ratio that triggered it."""

    time: str
    bar: int
    price: float
    amount: float
    margin_ratio: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReplaySeries:
    """Per-bar columns (up to and including the liquidation bar).

    ``funding`` is paid (+) or received (−) in the bar; ``equity`` etc. are at the close (0 and
    NaN in the liquidation bar); ``worst_margin_ratio`` is the highest ratio seen in the bar.
    """

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    margin: np.ndarray
    equity: np.ndarray
    maintenance_margin: np.ndarray
    margin_ratio: np.ndarray
    worst_margin_ratio: np.ndarray
    liquidation_price: np.ndarray
    funding: np.ndarray
    cumulative_funding: np.ndarray
    top_up: np.ndarray

    def to_dict(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"time": [iso(t) for t in self.time]}
        for name in self.__dataclass_fields__:
            if name != "time":
                out[name] = [None if not math.isfinite(x) else float(x)
                             for x in getattr(self, name)]
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        columns = self.to_dict()
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(),
                                                                      strict=True)]


@dataclass(frozen=True)
class ReplaySummary:
    """What happened: liquidation (when, at what price), top-ups, funding, final result.

    ``net_pnl = final_equity − initial_margin − top_up_total`` (funding included, fees not).
    """

    side: str
    start: str
    end: str
    bars: int
    initial_margin: float
    initial_liquidation_price: float | None
    liquidated: bool
    liquidation_time: str | None
    liquidation_bar: int | None
    liquidation_price: float | None
    top_ups: tuple[TopUp, ...]
    top_up_total: float
    funding_paid: float
    funding_prints: int
    final_price: float
    final_equity: float
    worst_margin_ratio: float
    net_pnl: float
    plan: DefensePlan | None = None
    position: dict[str, Any] = field(default_factory=dict)

    @property
    def survived(self) -> bool:
        return not self.liquidated

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top_ups"] = [t.to_dict() for t in self.top_ups]
        out["plan"] = self.plan.to_dict() if self.plan else None
        out["survived"] = self.survived
        if not math.isfinite(out["worst_margin_ratio"]):
            out["worst_margin_ratio"] = None
        return out


@dataclass(frozen=True)
class ReplayResult:
    series: ReplaySeries
    summary: ReplaySummary

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary.to_dict(), "series": self.series.to_dict()}


def _ratio(position: MarginModel, price: float) -> float:
    equity = float(position.equity(price))
    mm = float(position.maintenance_margin(price))
    return mm / equity if equity > 0 else math.inf


def _lp(position: MarginModel) -> float:
    return float(position.liquidation_price())


def replay(
    path: PricePath,
    position: MarginModel,
    *,
    funding: FundingSeries | None = None,
    plan: DefensePlan | None = None,
) -> ReplayResult:
    """Walk ``path`` bar by bar against ``position`` (opened at the first bar's open).

    Parameters
    ----------
    path : PricePath
        OHLC bars (e.g. ``november_2025()[0]``, or :func:`scripted_path`).
    position : MarginModel
        The position, usually an :class:`~marginscope.scenarios.position.EnginePosition`
        (any venue, tiers, fees, linear or inverse); anything with the :class:`MarginModel`
        members works. Amounts are in its settle currency.
    funding : FundingSeries, optional
        Funding prints; ``None`` ignores funding.
    plan : DefensePlan, optional
        Margin defense: add ``plan.add`` when ``MM/equity`` reaches ``plan.at_margin_ratio``.

    Returns
    -------
    ReplayResult
        ``series`` (per-bar columns) and ``summary``. The rules are in the module docstring.
    """
    if not isinstance(path, PricePath):
        raise InputError("path", type(path).__name__, "a PricePath")
    if not isinstance(position, MarginModel):
        raise InputError("position", type(position).__name__, "an object with MarginModel members")
    if funding is not None and not isinstance(funding, FundingSeries):
        raise InputError("funding", type(funding).__name__, "a FundingSeries or None")
    s = position.side
    n = len(path)
    bar = np.timedelta64(path.bar_seconds, "s")

    if funding is not None:
        bar_rates, bar_prints = funding.per_bar(path)
    else:
        bar_rates, bar_prints = np.zeros(n), np.zeros(n, dtype=int)

    def reached(extreme: float, level: float) -> bool:
        return not math.isnan(level) and (extreme <= level if s > 0 else extreme >= level)

    cols = {k: np.full(n, np.nan) for k in ("margin", "equity", "maintenance_margin",
                                            "margin_ratio", "worst_margin_ratio",
                                            "liquidation_price", "funding", "top_up")}
    initial_margin = float(position.margin)
    initial_lp = _lp(position)
    top_ups: list[TopUp] = []
    remaining = plan.max_times if plan else 0
    liquidated_at: tuple[int, float] | None = None
    funding_prints = 0
    last = n - 1

    for i in range(n):
        o, h, lo = path.open[i], path.high[i], path.low[i]
        extreme = lo if s > 0 else h
        paid = 0.0
        if bar_prints[i]:  # all prints in the bar settle at its open: one payment on their sum
            paid = float(position.funding_payment(o, bar_rates[i]))
            paid = min(paid, float(position.margin))  # cannot take more than there is
            position = position.add_margin(-paid)
            funding_prints += int(bar_prints[i])
        added = 0.0
        worst = 0.0
        price = float(o)
        while True:
            ratio = _ratio(position, price)
            worst = max(worst, ratio)
            if ratio >= 1.0:  # equity ≤ MM at the current price: opened beyond the LP
                liquidated_at = (i, price)
                break
            if remaining:
                trigger = position.price_at_margin_ratio(plan.at_margin_ratio)
                at_open = ratio >= plan.at_margin_ratio
                if at_open or (not math.isnan(trigger) and s * (price - trigger) > 0
                               and reached(extreme, trigger)):
                    if not at_open:  # the price runs on to the trigger level first
                        price, ratio = trigger, plan.at_margin_ratio
                        worst = max(worst, ratio)
                    top_ups.append(TopUp(iso(path.times[i]), i, price, plan.add, ratio))
                    position = position.add_margin(plan.add)
                    added += plan.add
                    remaining -= 1
                    continue
            lp = _lp(position)
            if reached(extreme, lp):
                worst = max(worst, 1.0)
                liquidated_at = (i, lp)
                break
            worst = max(worst, _ratio(position, float(extreme)))
            break
        cols["funding"][i] = paid
        cols["top_up"][i] = added
        cols["worst_margin_ratio"][i] = worst
        if liquidated_at is not None:
            cols["margin"][i] = 0.0
            cols["equity"][i] = 0.0
            last = i
            break
        c = float(path.close[i])
        cols["margin"][i] = position.margin
        cols["equity"][i] = float(position.equity(c))
        cols["maintenance_margin"][i] = float(position.maintenance_margin(c))
        cols["margin_ratio"][i] = _ratio(position, c)
        cols["liquidation_price"][i] = _lp(position)

    m = last + 1
    series = ReplaySeries(
        path.times[:m], path.open[:m], path.high[:m], path.low[:m], path.close[:m],
        *(cols[k][:m] for k in ("margin", "equity", "maintenance_margin", "margin_ratio",
                                "worst_margin_ratio", "liquidation_price", "funding")),
        np.cumsum(cols["funding"][:m]), cols["top_up"][:m])
    top_up_total = float(sum(t.amount for t in top_ups))
    final_equity = float(series.equity[-1])
    summary = ReplaySummary(
        side="long" if s > 0 else "short",
        start=iso(path.times[0]),
        end=iso(path.times[last] + bar),
        bars=m,
        initial_margin=initial_margin,
        initial_liquidation_price=None if math.isnan(initial_lp) else initial_lp,
        liquidated=liquidated_at is not None,
        liquidation_time=iso(path.times[liquidated_at[0]]) if liquidated_at else None,
        liquidation_bar=liquidated_at[0] if liquidated_at else None,
        liquidation_price=liquidated_at[1] if liquidated_at else None,
        top_ups=tuple(top_ups),
        top_up_total=top_up_total,
        funding_paid=float(series.cumulative_funding[-1]),
        funding_prints=funding_prints,
        final_price=float(liquidated_at[1]) if liquidated_at else float(path.close[last]),
        final_equity=final_equity,
        worst_margin_ratio=float(np.nanmax(series.worst_margin_ratio)),
        net_pnl=final_equity - initial_margin - top_up_total,
        plan=plan,
        position=position.to_dict() if hasattr(position, "to_dict") else {},
    )
    return ReplayResult(series, summary)
