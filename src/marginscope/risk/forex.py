"""Forex: pip size and value, position size in lots, margin at a leverage, spread cost, and the
compounding of an account (periodic return, deposits or withdrawals, drawdown recovery).

A pair ``BASE/QUOTE`` at price P is P units of quote per unit of base. One pip is 0.01 when the
quote currency is JPY and 0.0001 otherwise; a standard lot is 100,000 units of base (mini 10,000,
micro 1,000). Every money amount is first computed in the quote currency, then converted to the
account currency with ``quote_to_account`` (account units per quote unit):

* account = quote → 1;  account = base → 1/P;
* otherwise from a rate between the account currency and the quote (or the base) currency —
  Babypips, "How to find the pip value in your trading account's currency": divide by an
  ACCOUNT/QUOTE rate, multiply by a QUOTE/ACCOUNT rate.

Sources
-------
* Pip value ``pip × units / rate``: Babypips School of Pipsology (USD/JPY 119.80, 100,000 units →
  $8.34 per pip); XM (EUR account, EUR/USD 1.08962, 1 lot → €9.18); Anzo Capital (CAD/CHF, USD
  account, USD/CHF 1.01883 → $9.81).
* Position size ``units = balance × risk / (stop pips × pip value per unit)``: Babypips forum
  worked example ($1,000, 2 %, 50-pip stop → 4 micro lots; 35 pips → 5.71).
* Margin ``units × P × quote_to_account / leverage`` (notional in account currency over leverage):
  Tier1FX "How do I calculate margin" (EUR/USD 1.175, 1 lot, 1:50 → USD 2,350; EUR account →
  EUR 2,000); InstaForex (10,000 EUR at 1.5442, 1:100 → 154.42 USD).
* ESMA leverage limits for retail CFDs incl. rolling spot FX (ESMA product intervention decision,
  2018, ESMA35-43-1000): 30:1 for major pairs (any two of USD, EUR, JPY, GBP, CAD, CHF), 20:1
  for the rest.
* Spread cost ``spread pips × pip value``: Valutrades "What is the cost of spread" (EUR/USD
  0.00003 × 1 lot → 3 USD; USD/CAD 0.00005 → 5 CAD ≈ 3.71 USD); Babypips forum (0.6 pip,
  AUD account, AUD/USD 0.70836 → 8.47 AUD per standard lot).
* Compounding: future value of a balance and an ordinary annuity,
  ``B_n = B₀(1+r)^n + C((1+r)^n − 1)/r``; recovery from a drawdown d needs a gain of
  ``d/(1 − d)`` (the break-even ``(1 − d)(1 + g) = 1``).
"""

from __future__ import annotations

import re

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate

STANDARD_LOT = 100_000.0
MINI_LOT = 10_000.0
MICRO_LOT = 1_000.0
ESMA_MAJOR_CURRENCIES = ("USD", "EUR", "JPY", "GBP", "CAD", "CHF")
ESMA_MAJOR_LEVERAGE = 30.0
ESMA_OTHER_LEVERAGE = 20.0
_PAIR = re.compile(r"^\s*([A-Za-z]{3})\s*[/\-_ ]?\s*([A-Za-z]{3})\s*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_pair(pair: str, field: str = "pair") -> tuple[str, str]:
    """``"EUR/USD"`` (or ``"eurusd"``, ``"EUR-USD"``) → ``("EUR", "USD")``."""
    match = _PAIR.match(pair) if isinstance(pair, str) else None
    if not match:
        raise InputError(field, pair, 'a currency pair such as "EUR/USD"')
    base, quote = match.group(1).upper(), match.group(2).upper()
    if base == quote:
        raise InputError(field, pair, "two different currencies")
    return base, quote


def currency(code: str, field: str = "account_currency") -> str:
    """A three-letter currency code, upper-cased."""
    value = code.strip().upper() if isinstance(code, str) else code
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InputError(field, code, 'a three-letter currency code such as "USD"')
    return value


def pip_size(pair: str) -> float:
    """0.01 when the quote currency is JPY, 0.0001 otherwise (Babypips; Milton Markets: EUR/JPY
    1 lot → 1,000 JPY per pip)."""
    return 0.01 if parse_pair(pair)[1] == "JPY" else 0.0001


def is_major(pair: str) -> bool:
    """Both currencies among ESMA's majors (USD, EUR, JPY, GBP, CAD, CHF)."""
    base, quote = parse_pair(pair)
    return base in ESMA_MAJOR_CURRENCIES and quote in ESMA_MAJOR_CURRENCIES


def esma_max_leverage(pair: str) -> float:
    """ESMA retail limit for the pair: 30:1 for majors, 20:1 for any other pair."""
    return ESMA_MAJOR_LEVERAGE if is_major(pair) else ESMA_OTHER_LEVERAGE


def quote_to_account(pair: str, account_currency: str, price, *, conversion_pair=None,
                     conversion_rate=None) -> np.ndarray:
    """Account-currency units per unit of the pair's quote currency.

    ``conversion_pair``/``conversion_rate`` are needed only when the account currency is neither
    the base nor the quote: a rate ACCOUNT/QUOTE (divide), QUOTE/ACCOUNT (multiply),
    BASE/ACCOUNT (``rate/P``, Babypips' GBP/JPY via GBP/USD route) or ACCOUNT/BASE
    (``1/(rate·P)``).
    """
    base, quote = parse_pair(pair)
    account = currency(account_currency)
    price = validate.positive("price", price)
    if account == quote:
        return np.ones_like(price)
    if account == base:
        return 1.0 / price
    if conversion_rate is None or conversion_pair is None:
        missing = "conversion_rate" if conversion_rate is None else "conversion_pair"
        raise InputError(missing, None, f"the {account}/{quote} (or {quote}/{account}) rate and "
                                        f"its pair: the account currency is neither {base} "
                                        f"nor {quote}")
    left, right = parse_pair(conversion_pair, "conversion_pair")
    rate = validate.positive("conversion_rate", conversion_rate)
    routes = {(account, quote): lambda: 1.0 / rate, (quote, account): lambda: rate * 1.0,
              (base, account): lambda: rate / price, (account, base): lambda: 1.0 / (rate * price)}
    if (left, right) not in routes:
        raise InputError("conversion_pair", conversion_pair,
                         f"a pair of {account} with {quote} (or with {base})")
    return routes[(left, right)]()


def pip_value(units, pip, quote_to_account_rate=1.0) -> np.ndarray:
    """Value of one pip in account currency: ``pip × units × quote_to_account``.

    Babypips: USD/JPY 119.80, 100,000 units → 0.01 × 100,000 / 119.80 ≈ $8.35 (printed $8.34 after
    truncating the per-unit value to 0.0000834).
    """
    units = validate.positive("units", units)
    pip = validate.positive("pip_size", pip)
    rate = validate.positive("quote_to_account", quote_to_account_rate)
    return units * pip * rate


def position_size(balance, risk_fraction, stop_pips, pip, quote_to_account_rate=1.0,
                  ) -> dict[str, np.ndarray]:
    """Units (and lots) whose loss at the stop is ``balance × risk``.

    ``units = balance·risk / (stop_pips · pip · quote_to_account)``. Babypips forum: $1,000,
    2 %, EUR/USD, 50-pip stop → 4,000 units (4 micro lots); 35 pips → 5,714 (5.71 micro lots).
    """
    balance = validate.positive("balance", balance)
    risk = validate.number("risk_fraction", risk_fraction, low=0.0, high=1.0)
    stop = validate.positive("stop_pips", stop_pips)
    per_unit = pip_value(1.0, pip, quote_to_account_rate)
    budget = balance * risk
    units = budget / (stop * per_unit)
    return {"units": units, "lots": units / STANDARD_LOT, "mini_lots": units / MINI_LOT,
            "micro_lots": units / MICRO_LOT, "risk_amount": budget,
            "pip_value": units * per_unit}


def lots_down(lots, step) -> np.ndarray:
    """``lots`` rounded down to a multiple of ``step`` (a broker's lot increment), so that the
    order a platform accepts risks no more than planned; a ratio within 1e-9 of a whole number
    counts as that number (0.3 / 0.1 is 2.9999999999999996 in binary)."""
    lots = validate.number("lots", lots, low=0.0, low_inclusive=True)
    step = validate.positive("lot_step", step)
    ratio = np.asarray(lots) / step
    return np.round(np.floor(ratio + 1e-9) * step, 12)


def margin_required(units, price, leverage, quote_to_account_rate=1.0) -> dict[str, np.ndarray]:
    """Notional in account currency and the margin it needs: ``units·P·quote_to_account / L``.

    Tier1FX: EUR/USD 1.17500, 1 lot, 1:50, USD account → 2,350 USD; EUR account (rate 1/P) →
    2,000 EUR.
    """
    units = validate.positive("units", units)
    price = validate.positive("price", price)
    lev = validate.positive("leverage", leverage)
    rate = validate.positive("quote_to_account", quote_to_account_rate)
    notional = units * price * rate
    return {"notional": notional, "margin": notional / lev, "margin_rate": 1.0 / lev}


def spread_pips(bid, ask, pip) -> np.ndarray:
    """Spread in pips ``(ask − bid)/pip`` (ask ≥ bid)."""
    bid = validate.positive("bid", bid)
    ask = validate.positive("ask", ask)
    if (ask < bid).any():
        raise InputError("ask", float(np.asarray(ask).flat[0]), "≥ bid")
    return (ask - bid) / validate.positive("pip_size", pip)


def spread_cost(spread, units, pip, quote_to_account_rate=1.0, trades=1) -> dict[str, np.ndarray]:
    """Cost of crossing the spread: ``spread pips × pip value`` per round trip, times trades.

    Valutrades: EUR/USD 0.3 pip × 1 lot → 3 USD; Babypips forum: 0.6 pip, AUD account →
    8.47 AUD per standard lot.
    """
    spread = validate.number("spread_pips", spread, low=0.0, low_inclusive=True)
    count = validate.number("trades", trades, low=0.0)
    value = pip_value(units, pip, quote_to_account_rate)
    per_trade = spread * value
    return {"pip_value": value, "cost_per_trade": per_trade, "total_cost": per_trade * count}


def compound(balance, rate_per_period, periods: int, contribution=0.0) -> dict[str, np.ndarray]:
    """Balance after each of ``periods`` periods of return ``r`` with a contribution ``C`` at the
    end of every period (negative: a withdrawal).

    ``B_k = B₀(1+r)^k + C((1+r)^k − 1)/r`` (``r = 0``: ``B₀ + kC``), the future value of a balance
    plus an ordinary annuity. Once withdrawals exhaust the balance it stays at 0
    (``depleted_at`` is the first such period, NaN if never).
    """
    start = validate.number("balance", balance, low=0.0, low_inclusive=True)
    rate = validate.number("rate_per_period", rate_per_period, low=-1.0)
    flow = validate.number("contribution", contribution)
    if not isinstance(periods, int | np.integer) or not 1 <= periods <= 10_000:
        raise InputError("periods", periods, "a whole number ≥ 1 and ≤ 10000")
    k = np.arange(1, periods + 1, dtype=float)
    start, rate, flow = (np.asarray(a, dtype=float)[..., None] for a in (start, rate, flow))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        growth = np.exp(k * np.log1p(rate))
        annuity = np.where(np.abs(rate) > 1e-12, np.expm1(k * np.log1p(rate)) / rate, k)
        path = start * growth + flow * annuity
    if not np.isfinite(path).all():
        raise InputError("periods", periods, "a horizon over which the balance stays finite")
    empty = path <= 0.0
    depleted = empty.any(axis=-1)
    first = np.where(depleted, empty.argmax(axis=-1) + 1.0, np.nan)
    path = np.where(np.cumsum(empty, axis=-1) > 0, 0.0, path)
    previous = np.concatenate([np.broadcast_to(start, path[..., :1].shape), path[..., :-1]],
                              axis=-1)
    flows = path - previous * (1.0 + rate)      # what was really paid in or taken out
    final = path[..., -1]
    paid_in = start[..., 0] + flows.sum(axis=-1)
    return {"balance": path, "final_balance": final, "net_contributions": paid_in,
            "gain": final - paid_in, "depleted_at": first}


def drawdown(peak, trough) -> np.ndarray:
    """Peak-to-trough decline as a fraction of the peak: ``(peak − trough)/peak``."""
    peak = validate.positive("peak", peak)
    trough = validate.number("trough", trough, low=0.0, low_inclusive=True)
    if (trough > peak).any():
        raise InputError("trough", float(np.asarray(trough).flat[0]), "≤ peak")
    return (peak - trough) / peak


def recovery_gain(drawdown_fraction) -> np.ndarray:
    """Gain needed to get back to the peak after a drawdown d: ``d/(1 − d)`` (50 % → 100 %)."""
    d = validate.rate("drawdown", drawdown_fraction)
    return d / (1.0 - d)


def periods_to_recover(drawdown_fraction, rate_per_period) -> np.ndarray:
    """Periods of return r that recover a drawdown d: ``−ln(1 − d)/ln(1 + r)`` (inf if r ≤ 0 or
    so small that recovery never comes)."""
    d = validate.rate("drawdown", drawdown_fraction)
    rate = validate.number("rate_per_period", rate_per_period, low=-1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        periods = -np.log1p(-d) / np.log1p(rate)
    return np.where(d == 0.0, 0.0, np.where(rate > 0.0, periods, np.inf))
