"""Short explanations of a result, in words, with its own numbers (keyed by calculator name).

Each function takes the validated input and the result and returns paragraphs of plain text;
the numbers were computed by the calculator, this only puts them into sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marginscope.calculators.liquidation import terms_of
from marginscope.risk.venues import VENUES
from marginscope.web.numbers import fmt, pct

__all__ = ["EXPLAIN"]


def _why_not_naive(venue_name: str, product: str, cum: float, close_fee: bool) -> str:
    venue = VENUES[venue_name]
    reasons = []
    if venue.maintenance_basis.get(product, "mark") == "mark":
        reasons.append("it charges maintenance margin on the position's value at the "
                       "liquidation price, not at entry")
    if cum:
        reasons.append(f"it deducts the tier's maintenance amount ({fmt(cum)})")
    if close_fee:
        reasons.append("it counts the taker fee to close at the liquidation price")
    if product == "inverse":
        reasons.append("the contract is inverse (margin and P&L in coin)")
    if not reasons:
        return "On this venue the two agree up to rounding."
    return "The difference: " + "; ".join(reasons) + "."


def _explain_liquidation(body: Any, result: dict[str, Any]) -> list[str]:
    venue = VENUES[body.venue]
    lp, naive = result.get("liquidation_price"), result.get("naive_liquidation_price")
    notional = result.get("notional_at_entry") or 0.0
    mmr = result.get("mmr_at_entry") or 0.0
    cum = result.get("maintenance_amount_at_entry") or 0.0
    mm = notional * mmr - cum
    text = [
        f"Maintenance margin is the equity {venue.title} requires to keep the position open: "
        f"{pct(mmr)} of the position value minus a maintenance amount of {fmt(cum)} (the tier "
        f"of a {fmt(notional)} position), {fmt(mm)} at entry. The position is liquidated when "
        f"its margin ({fmt(result.get('margin'))}) plus unrealized P&L falls to that level; at "
        f"the bankruptcy price ({fmt(result.get('bankruptcy_price'))}) the margin is gone.",
    ]
    if lp is None:
        text.append("This position has no liquidation price: its margin covers any move.")
        return text
    if naive is None:
        text.append(f"The textbook formula entry × (1 − 1/L + MMR) gives no positive price; "
                    f"{venue.title}'s rule gives {fmt(lp)}.")
        return text
    difference = lp - naive
    direction = ("closer to" if abs(lp - body.entry_price) < abs(naive - body.entry_price)
                 else "further from")
    terms_fee = venue.close_fee == "mark" or bool(body.taker_fee)
    text.append(
        f"The textbook formula entry × (1 − 1/L + MMR) gives {fmt(naive)}; {venue.title}'s "
        f"rule gives {fmt(lp)}, {fmt(abs(difference))} ({pct(abs(difference) / body.entry_price)}"
        f" of entry) {direction} the entry. "
        + _why_not_naive(body.venue, terms_of(body).product, cum, terms_fee))
    return text


def _explain_account(body: Any, result: dict[str, Any]) -> list[str]:
    account = result.get("account", {})
    text = ["Maintenance margin (MM) is the equity the venue requires to keep a position open: "
            "position value × MMR − maintenance amount, with the MMR of the tier the position's "
            "size falls in. The margin ratio is MM ÷ margin balance; at 100 % the venue "
            "liquidates."]
    if result.get("margin_mode") == "cross":
        text.append(
            f"Cross margin: the wallet balance ({fmt(account.get('wallet_balance'))}) backs "
            "every position. Each liquidation price here assumes the other positions stay at "
            "their mark prices: their maintenance margin is set aside and their unrealized P&L "
            "counts (Binance's TMM1 and UPNL1). A loss on one position brings the others' "
            "liquidation prices closer.")
    else:
        text.append("Isolated margin: each position is backed only by its own margin; a loss on "
                    "one does not move the others' liquidation prices.")
    text.append(f"Account margin ratio now: {pct(account.get('margin_ratio'))} "
                f"(MM {fmt(account.get('maintenance_margin'))} ÷ margin balance "
                f"{fmt(account.get('margin_balance'))}).")
    for row in result.get("positions", []):
        lp, mark = row.get("liquidation_price"), row.get("mark_price")
        if lp is not None and mark:
            move = (lp - mark) / mark
            text.append(f"{row['symbol']} {row['side']}: liquidated at {fmt(lp)}, a "
                        f"{pct(abs(move))} {'fall' if move < 0 else 'rise'} from the mark "
                        f"{fmt(mark)}.")
    return text


def _explain_margin_call(body: Any, result: dict[str, Any]) -> list[str]:
    balance = result.get("margin_balance")
    if balance is not None and balance <= 0:
        text = [f"The margin balance at this mark is {fmt(balance)}: the loss exceeds the "
                "margin, so there is no margin ratio to compute — the position is past "
                f"liquidation (price {fmt(result.get('liquidation_price'))})."]
    else:
        text = [f"Margin ratio = maintenance margin ÷ margin balance = "
                f"{fmt(result.get('maintenance_margin'))} ÷ {fmt(balance)} = "
                f"{pct(result.get('margin_ratio'))}. The warning comes at "
                f"{pct(body.warning_ratio)} (price {fmt(result.get('warning_price'))}); at "
                f"100 % the position is liquidated (price "
                f"{fmt(result.get('liquidation_price'))})."]
    if body.target_price is not None:
        text.append(f"To survive a move to {fmt(body.target_price)}: add "
                    f"{fmt(result.get('margin_to_add'))} of margin, or close "
                    f"{fmt(result.get('quantity_to_cut'))} of the {fmt(body.qty)} now.")
    return text


def _explain_pnl(body: Any, result: dict[str, Any]) -> list[str]:
    inverse = result.get("product", body.product) == "inverse"  # the symbol's, when given
    unit = "coin" if inverse else "the quote currency"
    formula = ("qty × contract size × (1/entry − 1/exit)" if inverse
               else "qty × (exit − entry)")
    return [f"P&L = {formula} for a long, the opposite for a short, in {unit}: "
            f"{fmt(result.get('pnl'))}. Fees are the opening rate on the entry value plus the "
            f"closing rate on the exit value: {fmt(result.get('fees'))}.",
            f"ROE = P&L ÷ initial margin (entry value ÷ leverage = "
            f"{fmt(result.get('initial_margin'))}): {pct(result.get('roe'))}, "
            f"{pct(result.get('net_roe'))} after fees."]


def _explain_funding(body: Any, result: dict[str, Any]) -> list[str]:
    paid = result.get("total_paid") or 0.0
    move = abs(result.get("breakeven_move") or 0.0)
    text = [f"Every {fmt(body.interval_hours)} h the long side pays the short side rate × "
            "position value when the rate is positive (and receives it when negative). "
            f"Over {result.get('intervals')} intervals ({fmt(result.get('hours'))} h) this "
            f"{body.side} of {fmt(result.get('notional'))} notional "
            f"{'pays' if paid >= 0 else 'receives'} {fmt(abs(paid))}, "
            f"{pct(result.get('annualized_rate'))} a year at the mean rate."]
    if paid > 0:
        text.append(f"To earn the funding back the price must move {fmt(move)} in the "
                    "position's favour.")
    elif paid < 0:
        text.append(f"The funding received covers a move of {fmt(move)} against the "
                    "position before the trade is behind.")
    return text


def _explain_leverage(body: Any, result: dict[str, Any]) -> list[str]:
    text = [f"Effective leverage = notional ÷ balance = {fmt(result.get('effective_leverage'))}×. "
            f"With {fmt(body.balance)} at {fmt(body.leverage)}× you can open at most "
            f"{fmt(result.get('max_open_qty'))} ({fmt(result.get('max_open_notional'))} "
            f"notional) on {fmt(result.get('initial_margin'))} of margin; the rest pays the "
            "opening fee, and the venue's tier caps the notional at each leverage."]
    if result.get("max_leverage_for_notional") is not None:
        text.append(f"The venue's tiers allow up to {fmt(result['max_leverage_for_notional'])}× "
                    "for that notional: larger positions fall in tiers with lower leverage.")
    return text


def _explain_position_size(body: Any, result: dict[str, Any]) -> list[str]:
    return [f"You risk {fmt(result.get('risk_amount'))} ({pct(body.risk_fraction)} of "
            f"{fmt(body.balance)}). Quantity = risk ÷ (distance to the stop + fees per unit), so "
            f"being stopped at {fmt(body.stop_price)} loses that amount, fees included."]


def _explain_stops(body: Any, result: dict[str, Any]) -> list[str]:
    return ["The reward-to-risk multiple R = |take profit − entry| ÷ |entry − stop loss|: "
            f"{fmt(result.get('risk_reward'))}. At R = 2 a plan breaks even winning one trade "
            "in three."]


def _explain_average(body: Any, result: dict[str, Any]) -> list[str]:
    if result.get("product", body.product) == "inverse":  # the symbol's, when given
        return ["Inverse contracts average by the harmonic mean: Σ qty ÷ Σ (qty ÷ price)."]
    return ["Average entry = Σ (qty × price) ÷ Σ qty over the fills."]


def _explain_liquidation_risk(body: Any, result: dict[str, Any]) -> list[str]:
    how = ("closed-form first-passage probability" if body.method == "closed-form"
           else f"Monte Carlo over {result.get('paths')} paths (± {pct(result.get('standard_error'))})")
    return [f"Chance that the price touches {fmt(body.liquidation_price)} at least once within "
            f"{fmt(body.horizon_days)} days, the price following a geometric Brownian motion "
            f"with {pct(body.volatility)} annualized volatility: {pct(result.get('probability'))}"
            f" ({how}). Real prices have fatter tails; treat it as a floor."]


EXPLAIN: dict[str, Callable[[Any, dict[str, Any]], list[str]]] = {
    "liquidation": _explain_liquidation, "account": _explain_account,
    "margin-call": _explain_margin_call, "pnl": _explain_pnl, "funding": _explain_funding,
    "leverage": _explain_leverage, "position-size": _explain_position_size,
    "stops": _explain_stops, "average": _explain_average,
    "liquidation-risk": _explain_liquidation_risk,
}
