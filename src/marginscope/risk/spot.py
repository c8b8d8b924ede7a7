"""Crypto spot: round-trip P&L with fees, average cost of several buys (DCA), market cap ↔ price,
and staking yield (APR ↔ APY, rewards over a period, with the token's price change).

Sources
-------
* Fees: Binance, "What is Binance Spot Trading Fee and How to Calculate"
  (https://www.binance.com/en/support/faq/e85d6e703b874674840122196b89780a): the fee is charged
  in the asset received — buying 10 ETH at 0.1 % costs 0.01 ETH; selling 10 ETH at 3,452.55 USDT
  costs 34.5255 USDT. Venues that charge the fee in the quote currency on top of the cost (e.g.
  fiat brokers) are the ``fee_asset="quote"`` convention.
* Average cost: total cost (fees included) / units held — the IRS "average basis" method
  (IRS FAQ "How do I calculate the average basis for the sale of identical mutual fund shares?",
  irs.gov; Publication 551: basis includes commissions).
* Market cap: CoinMarketCap methodology, "Market Cap = Price × Circulating Supply"; fully diluted
  valuation = Price × Max Supply.
* APY: U.S. Regulation DD (Truth in Savings, 12 CFR 1030 Appendix A):
  ``APY = (1 + interest/principal)^(365/days) − 1``; for a nominal rate compounded n times a year
  that is ``(1 + APR/n)^n − 1`` (Appendix A, tiering example, daily compounding: 5.25 % pays
  $53.90 on $1,000, APY 5.39 %; 5.50 % pays $452.29 on $8,000; 5.75 % pays $1,183.61 on $20,000).
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate

FEE_ASSETS = ("received", "quote")
DAYS_PER_YEAR = 365.0


def _fee_asset(fee_asset: str) -> str:
    return validate.choice("fee_asset", fee_asset, FEE_ASSETS)


def trade_fee(side, qty, price, fee_rate) -> np.ndarray:
    """Fee of one spot fill in the asset received (Binance): a buy pays ``qty·f`` in base, a sell
    pays ``qty·price·f`` in quote.

    Binance FAQ: buy 10 ETH at 0.1 % → 0.01 ETH; sell 10 ETH at 3,452.55 → 34.5255 USDT.
    """
    s = validate.side(side)
    qty = validate.positive("qty", qty)
    price = validate.positive("price", price)
    fee = validate.rate("fee_rate", fee_rate, 0.1)
    return np.where(s > 0, qty * fee, qty * price * fee)


def spot_pnl(qty, entry_price, exit_price, *, buy_fee_rate=0.0, sell_fee_rate=0.0,
             fee_asset: str = "received") -> dict[str, np.ndarray]:
    """Buy ``qty`` at ``entry_price``, sell everything held at ``exit_price``.

    Parameters
    ----------
    qty : array_like
        Base units bought (before any fee taken in base). Positive.
    entry_price, exit_price : array_like
        Quote per base unit. Positive.
    buy_fee_rate, sell_fee_rate : array_like
        Fee rates, fractions in [0, 0.1).
    fee_asset : {"received", "quote"}
        ``"received"`` (Binance): the buy fee is taken from the base received, so
        ``qty·(1 − f_b)`` is sold, and the sell fee from the quote received.
        ``"quote"``: both fees are paid in quote on the trade value.

    Returns
    -------
    dict
        ``cost`` (quote paid), ``proceeds`` (quote received, net), ``qty_sold``, ``buy_fee`` and
        ``sell_fee`` (both valued in quote), ``fees``, ``gross_pnl`` = qty·(exit − entry),
        ``net_pnl`` = proceeds − cost, ``roi`` = net_pnl / cost, ``breakeven_price``.

    Notes
    -----
    received: ``net = q(1−f_b)·X(1−f_s) − q·E``, break-even ``E / ((1−f_b)(1−f_s))``;
    quote:    ``net = q·X(1−f_s) − q·E(1+f_b)``, break-even ``E(1+f_b)/(1−f_s)``.
    """
    mode = _fee_asset(fee_asset)
    qty = validate.positive("qty", qty)
    entry = validate.positive("entry_price", entry_price)
    exit_ = validate.positive("exit_price", exit_price)
    fb = validate.rate("buy_fee_rate", buy_fee_rate, 0.1)
    fs = validate.rate("sell_fee_rate", sell_fee_rate, 0.1)
    if mode == "received":
        held = qty * (1.0 - fb)
        cost = qty * entry
        buy_fee = qty * fb * exit_          # the base given up, valued when it is sold
        breakeven = entry / ((1.0 - fb) * (1.0 - fs))
    else:
        held = qty * 1.0
        cost = qty * entry * (1.0 + fb)
        buy_fee = qty * entry * fb
        breakeven = entry * (1.0 + fb) / (1.0 - fs)
    sell_fee = held * exit_ * fs
    proceeds = held * exit_ - sell_fee
    net = proceeds - cost
    return {"cost": cost, "proceeds": proceeds, "qty_sold": held, "buy_fee": buy_fee,
            "sell_fee": sell_fee, "fees": buy_fee + sell_fee,
            "gross_pnl": qty * (exit_ - entry), "net_pnl": net, "roi": net / cost,
            "breakeven_price": breakeven}


def average_cost(qty, price, *, fee_rate=0.0, fee_asset: str = "received") -> dict[str, np.ndarray]:
    """Average price and average cost (fees included) of several buys along the last axis.

    ``average_price = Σqᵢpᵢ / Σqᵢ`` (what the order book gave); ``average_cost = total cost /
    units held``, where units held are ``Σqᵢ(1 − f)`` when the fee is taken in base (Binance) and
    the cost is ``Σqᵢpᵢ(1 + f)`` when it is paid in quote. Average basis: IRS (module sources).
    """
    mode = _fee_asset(fee_asset)
    qty = validate.positive("fills.qty", qty)
    price = validate.positive("fills.price", price)
    fee = validate.rate("fee_rate", fee_rate, 0.1)
    if np.ndim(qty) == 0 and np.ndim(price) == 0:
        raise InputError("fills", qty.item(), "at least one fill (arrays of qty and price)")
    qty, price = np.broadcast_arrays(qty, price)
    spent = (qty * price).sum(axis=-1)
    bought = qty.sum(axis=-1)
    if mode == "received":
        held, cost = bought * (1.0 - fee), spent
    else:
        held, cost = bought, spent * (1.0 + fee)
    return {"average_price": spent / bought, "average_cost": cost / held, "total_qty": held,
            "total_cost": cost, "fees": spent * fee}


def qty_for_amount(amount, price) -> np.ndarray:
    """Base units an amount of quote buys before fees: ``amount / price`` (a DCA instalment)."""
    return validate.positive("amount", amount) / validate.positive("price", price)


def market_cap(price, circulating_supply) -> np.ndarray:
    """``Price × Circulating Supply`` (CoinMarketCap methodology)."""
    return validate.positive("price", price) * validate.positive("circulating_supply",
                                                                  circulating_supply)


def price_for_market_cap(market_cap_value, circulating_supply) -> np.ndarray:
    """Price implied by a market cap: ``market cap / circulating supply``."""
    return (validate.positive("market_cap", market_cap_value)
            / validate.positive("circulating_supply", circulating_supply))


def fully_diluted_valuation(price, max_supply) -> np.ndarray:
    """``Price × Max Supply`` (CoinMarketCap's fully diluted market cap)."""
    return validate.positive("price", price) * validate.positive("max_supply", max_supply)


def _compounds(periods_per_year) -> np.ndarray:
    n = validate.number("compounds_per_year", periods_per_year, low=0.0, high=8760.0,
                        low_inclusive=True)
    if (n != np.round(n)).any():
        raise InputError("compounds_per_year", _first(n[n != np.round(n)]),
                         "a whole number ≥ 0 and ≤ 8760 (0: rewards not restaked)")
    return n


def _first(values: np.ndarray) -> float:
    return float(np.asarray(values).flat[0])


def apy_from_apr(apr, compounds_per_year=365) -> np.ndarray:
    """``APY = (1 + APR/n)^n − 1`` (Regulation DD Appendix A); ``n = 0`` (no restaking): APY = APR.

    Regulation DD: 5.25 % compounded daily → $53.90 on $1,000 (APY 5.39 %); 6 % monthly → 6.17 %
    and daily → 6.18 % (Phroogal APY glossary: $61.68 and $61.83 on $1,000).
    """
    rate = validate.number("apr", apr, low=0.0, high=100.0, low_inclusive=True)
    n = _compounds(compounds_per_year)
    safe_n = np.where(n > 0, n, 1.0)
    return np.where(n > 0, np.expm1(safe_n * np.log1p(rate / safe_n)), rate)


def apr_from_apy(apy, compounds_per_year=365) -> np.ndarray:
    """Inverse of :func:`apy_from_apr`: ``APR = n·((1 + APY)^(1/n) − 1)``; ``n = 0``: APR = APY."""
    rate = validate.number("apy", apy, low=0.0, high=1e6, low_inclusive=True)
    n = _compounds(compounds_per_year)
    safe_n = np.where(n > 0, n, 1.0)
    return np.where(n > 0, safe_n * np.expm1(np.log1p(rate) / safe_n), rate)


def apy_from_earnings(rewards, principal, days) -> np.ndarray:
    """APY earned over a period: ``(1 + rewards/principal)^(365/days) − 1`` (Regulation DD
    Appendix A Part II; credit-union example: $3.36 on an average $1,436.61 over 31 days →
    2.78875 %)."""
    earned = validate.number("rewards", rewards)
    base = validate.positive("principal", principal)
    period = validate.number("days", days, low=0.0, high=36500.0)
    ratio = earned / base
    if (ratio <= -1.0).any():
        raise InputError("rewards", _first(earned), "> −principal (a loss smaller than the stake)")
    return np.expm1(DAYS_PER_YEAR / period * np.log1p(ratio))


def staking_growth(tokens, apr, days, *, compounds_per_year=365, price_start=None,
                   price_end=None) -> dict[str, np.ndarray]:
    """Tokens after staking for ``days`` at ``apr`` restaked ``n`` times a year, and their value.

    Tokens ``T = T₀·(1 + APR/n)^(n·days/365)`` (``n = 0``: ``T₀·(1 + APR·days/365)``);
    value return ``T·P₁ / (T₀·P₀) − 1``; the break-even end price (value unchanged) is
    ``P₀·T₀/T``. Day count 365 as in Regulation DD.
    """
    start = validate.positive("tokens", tokens)
    rate = validate.number("apr", apr, low=0.0, high=100.0, low_inclusive=True)
    period = validate.number("days", days, low=0.0, high=36500.0)
    n = _compounds(compounds_per_year)
    years = period / DAYS_PER_YEAR
    safe_n = np.where(n > 0, n, 1.0)
    with np.errstate(over="ignore"):
        growth = np.where(n > 0, np.exp(safe_n * years * np.log1p(rate / safe_n)),
                          1.0 + rate * years)
    end = start * growth
    if not np.isfinite(end).all():
        raise InputError("days", _first(period), "a horizon over which the balance stays finite")
    out = {"tokens_end": end, "rewards": end - start, "token_return": growth - 1.0,
           "apy": apy_from_apr(rate, n)}
    if price_start is not None:
        p0 = validate.positive("price_start", price_start)
        p1 = p0 if price_end is None else validate.positive("price_end", price_end)
        value_start, value_end = start * p0, end * p1
        out |= {"value_start": value_start, "value_end": value_end,
                "value_pnl": value_end - value_start, "value_return": value_end / value_start - 1.0,
                "price_change": p1 / p0 - 1.0, "breakeven_price": p0 / growth}
    return out
