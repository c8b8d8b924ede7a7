"""Stocks: profit of a round trip with commissions and dividends, shares an investment buys,
averaging down, buying on margin, and short selling (borrow fee, dividends owed, margin).

Sources
-------
* Cost basis includes commissions; the amount realized is net of selling expenses (IRS
  Publication 551 "Basis of Assets" and Publication 550); average basis = total cost of the shares
  held / shares held (IRS Publication 564, Table 3: $4,000 at $25, $4,800 at $20 and a $300
  dividend reinvested at $30 → 410 shares costing $9,100).
* Margin on U.S. equities: Regulation T (12 CFR 220.12) initial margin 50 % of the purchase or of
  the short sale; FINRA Rule 4210(b) minimum equity $2,000; FINRA Rule 4210(c) maintenance:
  longs 25 % of market value, shorts the greater of $5.00 per share or 30 % (price ≥ $5) and the
  greater of $2.50 per share or 100 % (price < $5).
* Borrow fee: Webull "How hard to borrow fees are calculated" — collateral per share =
  price × 102 % rounded up to the dollar (U.S. industry convention), annual fee = collateral ×
  shares × rate, daily fee = annual / 360 ($13, 1,000 shares, 6 % → $2.33 a day); BBAE (the same
  102 % / 360 convention).
* Dividends on a short position are owed to the lender (payment in lieu; CFA Institute
  curriculum: "the short seller must reimburse the lender of the stock for all dividends").
"""

from __future__ import annotations

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import validate

REG_T_INITIAL = 0.50
FINRA_LONG_MAINTENANCE = 0.25
FINRA_MINIMUM_EQUITY = 2000.0
BORROW_COLLATERAL = 1.02
BORROW_DAY_COUNT = 360.0


def _money(name: str, value) -> np.ndarray:
    return validate.number(name, value, low=0.0, low_inclusive=True)


def stock_trade(shares, buy_price, sell_price, *, buy_commission=0.0, sell_commission=0.0,
                commission_rate=0.0, dividends_per_share=0.0) -> dict[str, np.ndarray]:
    """Profit of buying and selling ``shares``, commissions (fixed + rate × value) and cash
    dividends received while holding.

    ``basis = S·B + c_b + k·S·B``; ``realized = S·X − c_s − k·S·X``; ``capital gain = realized −
    basis``; ``total return = gain + S·D``; ``roi = total / basis``; break-even sell price
    ``(basis − S·D + c_s) / (S·(1 − k))`` (IRS Publications 550/551).
    """
    shares = validate.positive("shares", shares)
    buy = validate.positive("buy_price", buy_price)
    sell = validate.positive("sell_price", sell_price)
    cb = _money("buy_commission", buy_commission)
    cs = _money("sell_commission", sell_commission)
    k = validate.rate("commission_rate", commission_rate, 0.1)
    dps = _money("dividends_per_share", dividends_per_share)
    basis = shares * buy * (1.0 + k) + cb
    realized = shares * sell * (1.0 - k) - cs
    dividends = shares * dps
    gain = realized - basis
    total = gain + dividends
    return {"cost_basis": basis, "proceeds": realized,
            "commissions": cb + cs + k * shares * (buy + sell), "capital_gain": gain,
            "dividends": dividends, "total_return": total, "roi": total / basis,
            "breakeven_price": (basis - dividends + cs) / (shares * (1.0 - k))}


def shares_for_investment(amount, price, *, commission=0.0, commission_rate=0.0,
                          whole_shares: bool = False) -> dict[str, np.ndarray]:
    """Shares an amount buys once the commission is paid: ``(A − c) / (P·(1 + k))``, floored to
    whole shares if asked; the cash left over is returned too."""
    amount = validate.positive("investment", amount)
    price = validate.positive("buy_price", price)
    c = _money("buy_commission", commission)
    k = validate.rate("commission_rate", commission_rate, 0.1)
    if (amount <= c).any():
        raise InputError("investment", float(np.asarray(amount).flat[0]),
                         "more than the buy commission")
    shares = (amount - c) / (price * (1.0 + k))
    if whole_shares:
        shares = np.floor(shares)
    spent = shares * price * (1.0 + k) + np.where(shares > 0, c, 0.0)
    return {"shares": shares, "spent": spent, "cash_left": amount - spent}


def average_down(shares, average_cost, buy_shares, buy_price, *,
                 commission=0.0) -> dict[str, np.ndarray]:
    """New average cost after buying more: ``(S₀·A₀ + x·P + c) / (S₀ + x)`` (IRS average basis)."""
    s0 = validate.positive("shares", shares)
    a0 = validate.positive("average_cost", average_cost)
    x = validate.positive("buy_shares", buy_shares)
    p = validate.positive("buy_price", buy_price)
    c = _money("commission", commission)
    total = s0 * a0 + x * p + c
    return {"shares": s0 + x, "total_cost": total, "average_cost": total / (s0 + x),
            "added_cost": x * p + c}


def shares_for_target_average(shares, average_cost, buy_price, target_average, *,
                              commission=0.0) -> np.ndarray:
    """Shares to buy at ``P`` to bring the average to ``T``: ``x = (S₀(A₀ − T) + c) / (T − P)``.

    Averaging down needs ``P < T < A₀`` (and averaging up ``A₀ < T < P``); otherwise the target
    cannot be reached and this raises :class:`InputError` on ``target_average``.
    """
    s0 = validate.positive("shares", shares)
    a0 = validate.positive("average_cost", average_cost)
    p = validate.positive("buy_price", buy_price)
    t = validate.positive("target_average", target_average)
    c = _money("commission", commission)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (s0 * (a0 - t) + c) / (t - p)
    if not (np.isfinite(x) & (x > 0)).all():
        raise InputError("target_average", float(np.asarray(t).flat[0]),
                         "strictly between the buy price and the current average cost")
    return x


def long_margin(shares, price, *, initial_rate=REG_T_INITIAL,
                maintenance_rate=FINRA_LONG_MAINTENANCE) -> dict[str, np.ndarray]:
    """Buying on margin: equity deposited, loan, and the price of a maintenance call.

    Deposit ``max(IM·S·P, min(S·P, $2,000))`` (Reg T 50 %; FINRA 4210(b): $2,000 minimum equity,
    or the full price if less), loan = value − deposit, call when ``S·X − loan = MM·S·X``, i.e.
    ``X = loan / (S·(1 − MM))`` (FINRA 4210(c)(1): 25 %).
    """
    shares = validate.positive("shares", shares)
    price = validate.positive("price", price)
    im = validate.number("initial_margin_rate", initial_rate, low=0.0, high=1.0)
    mm = validate.rate("maintenance_margin_rate", maintenance_rate)
    value = shares * price
    deposit = np.maximum(im * value, np.minimum(value, FINRA_MINIMUM_EQUITY))
    loan = value - deposit
    return {"position_value": value, "equity": deposit, "loan": loan,
            "margin_call_price": loan / (shares * (1.0 - mm))}


def short_maintenance(shares, price) -> np.ndarray:
    """FINRA 4210(c) maintenance for a short stock position.

    ``price < $5``: ``max($2.50·S, S·P)``; otherwise ``max($5·S, 0.30·S·P)``. NYSE/NASD examples:
    short 1,000 @ $50 → $15,000; 10,000 @ $5 → $50,000; 10,000 @ $4.50 → $45,000;
    50,000 @ $1 → $125,000.
    """
    shares = validate.positive("shares", shares)
    price = validate.positive("price", price)
    return np.where(price < 5.0, shares * np.maximum(2.5, price),
                    shares * np.maximum(5.0, 0.30 * price))


def short_initial_requirement(shares, price, *, initial_rate=REG_T_INITIAL) -> np.ndarray:
    """Deposit to sell short (on top of leaving the proceeds): the greater of Reg T 50 % of the
    short value, the FINRA 4210(c) maintenance requirement and FINRA's $2,000 minimum equity.

    $8,000 short → $4,000 (Series 7 practice question); 500 @ $40 → $10,000; 10,000 @ $2 →
    $25,000 ($2.50 a share beats Reg T's $10,000).
    """
    shares = validate.positive("shares", shares)
    price = validate.positive("price", price)
    im = validate.number("initial_margin_rate", initial_rate, low=0.0, high=10.0)
    return np.maximum.reduce([im * shares * price, short_maintenance(shares, price),
                              np.full(np.broadcast(shares, price).shape, FINRA_MINIMUM_EQUITY)])


def short_margin_call_price(shares, credit) -> np.ndarray:
    """Price at which a short position's equity ``credit − S·P`` meets FINRA 4210(c)'s
    maintenance. ``credit`` = short proceeds + the deposit. The requirement is continuous and
    non-decreasing in P, so the root is unique; e.g. above ~$16.67, ``P = credit / (1.3·S)``.
    """
    shares = validate.positive("shares", shares)
    credit = validate.positive("credit", credit)
    per_share = credit / shares
    # segments of the requirement (per share): P<2.5: 2.5; 2.5≤P<5: P; 5≤P<50/3: 5; else 0.3P
    candidates = [(per_share - 2.5, 0.0, 2.5), (per_share / 2.0, 2.5, 5.0),
                  (per_share - 5.0, 5.0, 50.0 / 3.0), (per_share / 1.3, 50.0 / 3.0, np.inf)]
    price = np.full(np.shape(per_share), np.nan)
    for value, low, high in candidates:
        price = np.where((value >= low) & (value < high) & np.isnan(price), value, price)
    return np.where(price > 0, price, np.nan)


def borrow_fee(shares, price, rate, days, *, collateral_factor=BORROW_COLLATERAL,
               round_up: bool = True, day_count=BORROW_DAY_COUNT) -> dict[str, np.ndarray]:
    """Stock-borrow fee over ``days``: ``S × ⌈P × 1.02⌉ × rate × days / 360`` (Webull).

    Webull: $13.00 × 1.02 = $13.26 → $14; × 1,000 = $14,000; × 6 % = $840 a year; / 360 =
    $2.33 a day. The collateral is marked daily by brokers; this holds the price constant.
    """
    shares = validate.positive("shares", shares)
    price = validate.positive("price", price)
    annual = validate.number("borrow_rate", rate, low=0.0, high=10.0, low_inclusive=True)
    held = validate.number("days", days, low=0.0, high=36500.0, low_inclusive=True)
    factor = validate.number("collateral_factor", collateral_factor, low=0.0, high=10.0)
    basis = validate.number("day_count", day_count, low=0.0, high=366.0)
    per_share = price * factor
    if round_up:
        per_share = np.ceil(np.round(per_share, 9))
    collateral = shares * per_share
    daily = collateral * annual / basis
    return {"collateral": collateral, "annual_fee": collateral * annual, "daily_fee": daily,
            "fee": daily * held}


def short_sale(shares, short_price, cover_price, *, days=0.0, borrow_rate=0.0,
               dividends_per_share=0.0, commission=0.0, collateral_factor=BORROW_COLLATERAL,
               round_up: bool = True, day_count=BORROW_DAY_COUNT) -> dict[str, np.ndarray]:
    """P&L of a short: ``S·(short − cover)`` less the borrow fee, the dividends owed to the
    lender and commissions (``commission`` per trade, paid twice)."""
    shares = validate.positive("shares", shares)
    short = validate.positive("short_price", short_price)
    cover = validate.positive("cover_price", cover_price)
    dps = _money("dividends_per_share", dividends_per_share)
    c = _money("commission", commission)
    fee = borrow_fee(shares, short, borrow_rate, days, collateral_factor=collateral_factor,
                     round_up=round_up, day_count=day_count)
    gross = shares * (short - cover)
    dividends = shares * dps
    net = gross - fee["fee"] - dividends - 2.0 * c
    value = shares * short
    return {"short_value": value, "gross_pnl": gross, "borrow_fee": fee["fee"],
            "daily_borrow_fee": fee["daily_fee"], "dividends_owed": dividends,
            "commissions": 2.0 * c, "net_pnl": net, "return_on_value": net / value,
            "breakeven_price": short - (fee["fee"] + dividends + 2.0 * c) / shares}
