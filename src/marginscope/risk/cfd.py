"""CFDs and spread bets: margin, overnight financing, P&L per point, stop-loss and take-profit
levels and the reward-to-risk multiple.

One convention covers both products. ``size`` is the number of CFDs (shares, contracts) or the
spread-bet stake per point; ``contract_value`` is the money per unit of price per CFD (IG: "value
per contract", 1 for share CFDs, e.g. $100 for a US Tech 100 contract); ``point_size`` is the price
move of one point (1 for indices, 0.0001 for a stake per pip on EUR/USD). Then

    notional = size × contract_value × price / point_size
    P&L      = s × size × contract_value × (exit − entry) / point_size,   s = +1 long, −1 short.

Sources
-------
* Margin = notional × margin factor: IG "CFD trading examples" (2,000 BT CFDs at 314.7p, 5 % →
  £314.70), IG "Spread betting examples" (£10 a point on the FTSE 100 at 7114.5, 0.5 % →
  £355.73), CMC Markets "CFD trading for beginners" (1,000 ABC CFDs at 1600p, 5 % → £800).
* Retail leverage limits — ESMA product intervention decision on CFDs (2018, ESMA35-43-1000,
  renewed to 2019 and made permanent nationally, e.g. FCA COBS 22.5): 30:1 major currency pairs;
  20:1 non-major pairs, gold and major indices; 10:1 other commodities and non-major indices;
  5:1 individual equities and other references; 2:1 cryptocurrencies.
* Overnight financing: IG "Why is overnight funding charged and how is it calculated?" —
  ``size × value per contract × price × (admin fee ± benchmark) ÷ 365`` (GBP, SGD, ZAR markets) or
  ``÷ 360`` (others); long pays admin + benchmark, short pays admin − benchmark (a credit if
  negative); Friday holds are charged three days.
* P&L: IG and CMC worked examples (FTSE £10/pt 7114.5 → 7149.5: £350; ABC 1000 CFDs 1600 →
  1625p: £250).
* R multiple: reward per unit of risk (see :mod:`marginscope.risk.stops`).
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate

ESMA_LEVERAGE = {
    "major_fx": 30.0,
    "minor_fx_gold_major_index": 20.0,
    "commodity_minor_index": 10.0,
    "equity_other": 5.0,
    "crypto": 2.0,
}
DAY_COUNTS = (360.0, 365.0)


def esma_leverage(category: str) -> float:
    """ESMA's retail leverage limit for an underlying category (see module sources)."""
    return ESMA_LEVERAGE[validate.choice("category", category, tuple(ESMA_LEVERAGE))]


def _multiplier(contract_value, point_size) -> np.ndarray:
    return (validate.positive("contract_value", contract_value)
            / validate.positive("point_size", point_size))


def notional(size, price, *, contract_value=1.0, point_size=1.0) -> np.ndarray:
    """Exposure ``size × contract_value × price / point_size`` (IG: contracts × value per contract
    × price; spread bets: stake per point × price in points)."""
    return (validate.positive("size", size) * _multiplier(contract_value, point_size)
            * validate.positive("price", price))


def cfd_margin(size, price, margin_rate, *, contract_value=1.0,
               point_size=1.0) -> dict[str, np.ndarray]:
    """Margin ``notional × margin rate`` and the leverage it gives (IG, CMC: module sources)."""
    rate = validate.number("margin_rate", margin_rate, low=0.0, high=1.0)
    value = notional(size, price, contract_value=contract_value, point_size=point_size)
    return {"notional": value, "margin": value * rate, "leverage": 1.0 / rate,
            "margin_rate": rate}


def overnight_financing(side, size, price, *, admin_fee, benchmark_rate, day_count=365.0,
                        nights=1.0, contract_value=1.0, point_size=1.0) -> dict[str, np.ndarray]:
    """IG's daily funding: ``notional × (admin fee + s·benchmark) / day count`` per night.

    Positive is a charge, negative a credit. IG's printed examples: long £6/pt FTSE 100 at 7720,
    SONIA 0.48 %, 2.5 % admin → £3.78 a night (÷365); short 2 US Tech 100 contracts ($100) at
    6957, SOFR 1.53 % → $37.49 (÷360); IG Australia: 1,000 BHP at A$18.50, 1.9 % + 3 % → A$2.52.
    """
    s = validate.side(side)
    admin = validate.number("admin_fee", admin_fee, low=0.0, high=1.0, low_inclusive=True)
    benchmark = validate.number("benchmark_rate", benchmark_rate, low=-1.0, high=1.0)
    basis = validate.number("day_count", day_count, low=0.0, high=366.0)
    count = validate.number("nights", nights, low=0.0, high=36500.0, low_inclusive=True)
    value = notional(size, price, contract_value=contract_value, point_size=point_size)
    rate = admin + s * benchmark
    nightly = value * rate / basis
    return {"notional": value, "annual_rate": rate, "per_night": nightly, "total": nightly * count}


def cfd_pnl(side, size, entry_price, exit_price, *, contract_value=1.0, point_size=1.0,
            commission_rate=0.0, min_commission=0.0, financing=0.0) -> dict[str, np.ndarray]:
    """P&L in points and money, commission on each side's value (``max(rate × value, min)``,
    none when both are 0, as on spread bets) and financing paid while held."""
    s = validate.side(side)
    size = validate.positive("size", size)
    entry = validate.positive("entry_price", entry_price)
    exit_ = validate.positive("exit_price", exit_price)
    multiplier = _multiplier(contract_value, point_size)
    k = validate.rate("commission_rate", commission_rate, 0.1)
    floor = validate.number("min_commission", min_commission, low=0.0, low_inclusive=True)
    carry = validate.number("financing", financing)
    value_in, value_out = size * multiplier * entry, size * multiplier * exit_
    charged = (k > 0) | (floor > 0)
    commission = np.where(charged, np.maximum(k * value_in, floor)
                          + np.maximum(k * value_out, floor), 0.0)
    points = s * (exit_ - entry) / validate.positive("point_size", point_size)
    gross = s * size * multiplier * (exit_ - entry)
    return {"points": points, "pnl_per_point": size * validate.positive("contract_value",
                                                                        contract_value),
            "gross_pnl": gross, "commission": commission, "financing": carry,
            "net_pnl": gross - commission - carry, "entry_notional": value_in,
            "exit_notional": value_out}


def level_from_points(side, entry_price, points, *, point_size=1.0,
                      kind: str = "stop") -> np.ndarray:
    """Stop ``E − s·points·point`` or target ``E + s·points·point`` (``kind`` "stop"/"target").

    IG: buy US Light Crude at 10059 with a stop 45 points away → 10014.
    """
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    field = "stop_points" if kind == "stop" else "take_profit_points"
    distance = validate.positive(field, points) * validate.positive("point_size", point_size)
    level = entry - s * distance if kind == "stop" else entry + s * distance
    if (level <= 0).any():
        raise InputError(field, float(np.asarray(points).flat[0]), "a distance that keeps the "
                                                                    "level above 0")
    return level


def stop_for_loss(side, size, entry_price, max_loss, *, contract_value=1.0,
                  point_size=1.0) -> np.ndarray:
    """Stop level whose loss is ``max_loss``: ``E − s·max_loss / (size × contract_value /
    point_size)``."""
    s = validate.side(side)
    entry = validate.positive("entry_price", entry_price)
    loss = validate.positive("max_loss", max_loss)
    per_unit = validate.positive("size", size) * _multiplier(contract_value, point_size)
    level = entry - s * loss / per_unit
    if (level <= 0).any():
        raise InputError("max_loss", float(np.asarray(loss).flat[0]),
                         "a loss reached before the price falls to 0")
    return level


def size_for_risk(risk_amount, entry_price, stop_price, *, contract_value=1.0,
                  point_size=1.0) -> np.ndarray:
    """CFDs (or stake per point) whose loss at the stop is ``risk_amount``:
    ``risk / (|E − S| × contract_value / point_size)``."""
    risk = validate.positive("risk_amount", risk_amount)
    entry = validate.positive("entry_price", entry_price)
    stop = validate.positive("stop_loss", stop_price)
    if (entry == stop).any():
        raise InputError("stop_loss", float(np.asarray(stop).flat[0]), "≠ entry_price")
    return risk / (np.abs(entry - stop) * _multiplier(contract_value, point_size))
