"""An account of one or more positions: liquidation and bankruptcy prices, margins, ratios.

The request schema here is the one the library (:func:`evaluate_account`), the CLI
(``marginscope calc account``) and the HTTP API (``POST /api/v1/account``) share.

Cross margin follows Binance's rule (USDⓈ-M FAQ, exchange_formulas.md §1.6): for each
position, the other cross positions' maintenance margin (TMM1) and unrealized P&L (UPNL1),
at their marks, are taken from the wallet; legs of one symbol in hedge mode share one
liquidation price. Wallet and P&L are in the settle currency (coin for inverse contracts), so
one cross account holds positions of one settle currency.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field

from marginscope.calculators.base import (
    FUTURES,
    Calculator,
    FeeRate,
    Leverage,
    Money,
    Price,
    Quantity,
    Rate,
    Request,
    parse,
    plain,
    register,
)
from marginscope.errors import InputError
from marginscope.risk import account as risk_account
from marginscope.risk.account import cross_prices, cross_prices_of_checked
from marginscope.risk.contracts import Product, pnl
from marginscope.risk.liquidation import bankruptcy_at
from marginscope.risk.terms import Terms, resolve, table_fields
from marginscope.risk.venues import VENUES, binance_usdm

VenueName = Literal[tuple(VENUES)]  # type: ignore[valid-type]
AsOf = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2024-10-24"])]
"""A date, YYYY-MM-DD: the tier table in force then is used (checked again by the engine)."""


class PositionFields(Request):
    """The fields describing one position, shared by every position-level calculator."""

    symbol: str | None = Field(None, min_length=1, max_length=40,
                               description="Venue notation (BTCUSDT, BTCUSD_PERP, XBTUSD…) or "
                                           "ccxt's (BTC/USDT:USDT)")
    side: Literal["long", "short"]
    qty: Quantity = Field(description="Base units (linear) or contracts (inverse)")
    entry_price: Price
    mark_price: Price | None = Field(None, description="Defaults to the entry price")
    leverage: Leverage | None = None
    margin: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)] | None = Field(
        None, description="Isolated margin incl. added margin; default qty·entry/leverage")
    contract_size: Annotated[float, Field(ge=1e-12, le=1e9, allow_inf_nan=False)] | None = None
    mmr: Rate | None = Field(None, description="Override of the tier table's MMR")
    maintenance_amount: Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)] | None = None
    max_leverage: Leverage | None = Field(None, description="Hyperliquid derives MMR from it")
    taker_fee: FeeRate | None = None
    product: Product | None = Field(
        None, description="linear | inverse; follows the symbol when left out (a "
                          "contradiction with the symbol is an error)")
    as_of: AsOf | None = Field(
        None, description="Use the tier table in force on this date (default: the latest "
                          "shipped); the answer names the table's date and source")


class Position(PositionFields):
    symbol: str = Field(min_length=1, max_length=40,
                        description="Venue notation (BTCUSDT, BTCUSD_PERP, XBTUSD…) or ccxt's "
                                    "(BTC/USDT:USDT)")


class AccountRequest(Request):
    venue: VenueName
    margin_mode: Literal["isolated", "cross"] = "isolated"
    position_mode: Literal["one-way", "hedge"] = "one-way"
    wallet_balance: Money | None = Field(
        None, description="Cross: wallet balance in the settle currency (coin for inverse)")
    positions: list[Position] = Field(min_length=1, max_length=100)


def _terms(request: AccountRequest, index: int, p: Position) -> Terms:
    try:
        return _resolved(request.venue, p.symbol, p.contract_size, p.mmr, p.maintenance_amount,
                         p.max_leverage, p.taker_fee, p.product, p.as_of)
    except InputError as exc:
        raise InputError(f"positions[{index}].{exc.field}", exc.value, exc.allowed) from None


@lru_cache(maxsize=4096)
def _resolved(venue: str, symbol: str, contract_size: float | None, mmr: float | None,
              maintenance_amount: float | None, max_leverage: float | None,
              taker_fee: float | None, product: str | None, as_of: str | None) -> Terms:
    """One position's terms in Python floats (:meth:`Terms.one`), remembered: requests repeat
    a few symbols and overrides, and resolving costs more than the position's arithmetic."""
    return resolve(venue, symbol=symbol, contract_size=contract_size, mmr=mmr,
                   maintenance_amount=maintenance_amount, max_leverage=max_leverage,
                   taker_fee=taker_fee, product=product, as_of=as_of).one()


def evaluate(request: AccountRequest) -> dict[str, Any]:
    """Compute every position's and the account's margin figures (floats, NaN where there is
    no price: :meth:`Calculator.run` and :func:`evaluate_account` make them JSON-ready)."""
    terms = [_terms(request, i, p) for i, p in enumerate(request.positions)]
    _check_modes(request, terms)
    rows = [_position_figures(request, i, p, t) for i, (p, t) in
            enumerate(zip(request.positions, terms, strict=True))]
    maintenance = sum(r["maintenance_margin"] for r in rows)
    if request.margin_mode == "cross":
        wallet = request.wallet_balance
        balance = _cross_prices(request, terms, rows)
        for row in rows:
            row["margin_ratio"] = row["maintenance_margin"] / balance if balance > 0 else None
    else:
        wallet = None
        balance = sum(r["_margin"] + r["unrealized_pnl"] for r in rows)
        for row in rows:
            own = row["_margin"] + row["unrealized_pnl"]
            row["margin_ratio"] = row["maintenance_margin"] / own if own > 0 else None
    for row, t in zip(rows, terms, strict=True):
        row.pop("_margin")
        row.update(table_fields(t))
    return {
        "venue": request.venue,
        "margin_mode": request.margin_mode,
        "position_mode": request.position_mode,
        "positions": rows,
        "account": {
            "wallet_balance": wallet,
            "margin_balance": balance,
            "maintenance_margin": maintenance,
            "margin_ratio": maintenance / balance if balance > 0 else None,
            "settle": terms[0].lookup.tables[0].settle if terms[0].lookup else None,
        },
    }


def _symbol_key(p: Position, t: Terms) -> str:
    return t.lookup.tables[0].symbol if t.lookup else p.symbol


def _check_modes(request: AccountRequest, terms: list[Terms]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, (p, t) in enumerate(zip(request.positions, terms, strict=True)):
        key = (_symbol_key(p, t), p.side if request.position_mode == "hedge" else "")
        if key in seen:
            allowed = ("one position per symbol and side in hedge mode"
                       if request.position_mode == "hedge"
                       else "one position per symbol in one-way mode (use position_mode hedge)")
            raise InputError(f"positions[{i}].symbol", p.symbol, allowed)
        seen[key] = i
    if request.margin_mode == "cross":
        if request.wallet_balance is None:
            raise InputError("wallet_balance", None, "a number (the cross wallet balance)")
        products = {t.product for t in terms}
        if len(products) > 1:
            raise InputError("positions", sorted(products),
                             "positions of one settle currency per cross account")


def _position_figures(request: AccountRequest, i: int, p: Position, t: Terms) -> dict[str, Any]:
    side = 1.0 if p.side == "long" else -1.0
    mark = p.mark_price or p.entry_price
    value_entry = float(t.value(p.qty, p.entry_price))
    if p.leverage is not None:
        allowed = t.max_leverage_at(p.qty, p.entry_price)
        if allowed is not None and p.leverage > float(allowed):
            raise InputError(f"positions[{i}].leverage", p.leverage,
                             f"1 … {float(allowed):g} for a notional of {value_entry:,.2f} "
                             f"on {request.venue}")
    if p.margin is not None:
        margin = p.margin
    elif p.leverage is not None:
        margin = value_entry / p.leverage
    elif request.margin_mode == "isolated":
        raise InputError(f"positions[{i}].margin", None,
                         "a number, or give leverage (margin = qty·entry/leverage)")
    else:
        margin = None
    upnl = float(pnl(t.product, side, p.qty, p.entry_price, mark, t.contract_size))
    mmr, cum = t.tier_at_size(p.qty, mark)
    at = p.entry_price if t.basis == "entry" else mark
    value_mark = float(t.value(p.qty, mark))
    maintenance = float(t.maintenance_margin(p.qty, at) + t.fee * value_mark)
    row: dict[str, Any] = {
        "symbol": p.symbol,
        "side": p.side,
        "qty": p.qty,
        "entry_price": p.entry_price,
        "mark_price": mark,
        "notional": value_mark,
        "mmr": float(mmr), "maintenance_amount": float(cum),
        "initial_margin": ((value_mark if request.margin_mode == "cross" else value_entry)
                           / p.leverage if p.leverage is not None else margin),
        "maintenance_margin": maintenance,
        "unrealized_pnl": upnl,
        "liquidation_price": None,
        "bankruptcy_price": None,
        "_margin": margin or 0.0,
    }
    if request.margin_mode == "isolated":
        row["liquidation_price"] = float(t.liquidation_price(side, p.qty, p.entry_price, margin))
        row["bankruptcy_price"] = float(bankruptcy_at(t, side, p.qty, p.entry_price, margin))
    return row


def _cross_prices(request: AccountRequest, terms: list[Terms], rows: list[dict]) -> float:
    """Fill in the cross liquidation and bankruptcy prices (the others held at their marks,
    hedge legs sharing one price: :func:`marginscope.risk.account.cross_prices`); returns the
    margin balance."""
    positions = request.positions
    keys = [_symbol_key(p, t) for p, t in zip(positions, terms, strict=True)]
    hedged = len(set(keys)) < len(keys)
    sides = [1.0 if p.side == "long" else -1.0 for p in positions]
    qty = [p.qty for p in positions]
    entry = [p.entry_price for p in positions]
    if not hedged and len(positions) <= risk_account.FLOAT_POSITIONS:
        # a few unhedged positions: Python floats throughout, no arrays to build and read
        # back; the request's floats are validated (bounded, positive), each position's terms
        # are Terms.one() (_resolved), and each row's maintenance margin (incl. the close
        # fee) and P&L at its mark are margin_status's formulas: not checked or computed again
        out = cross_prices_of_checked(
            terms, sides, qty, entry, request.wallet_balance,
            [row["maintenance_margin"] for row in rows], [row["unrealized_pnl"] for row in rows])
    else:
        out = cross_prices(terms, sides, qty, entry, [row["mark_price"] for row in rows],
                           request.wallet_balance,
                           symbol=[keys.index(key) for key in keys] if hedged else None)
    for k, row in enumerate(rows):
        row["liquidation_price"] = float(out["liquidation_price"][k])
        row["bankruptcy_price"] = float(out["bankruptcy_price"][k])
    return float(out["margin_balance"][0])


def evaluate_account(request: dict[str, Any] | AccountRequest) -> dict[str, Any]:
    """Evaluate an account request (see :class:`AccountRequest`); returns a JSON-ready dict.

    Each position has ``symbol, side, liquidation_price`` (None where there is none),
    ``bankruptcy_price, initial_margin, maintenance_margin, unrealized_pnl, margin_ratio``;
    the account has ``margin_balance, maintenance_margin, margin_ratio``.

    Raises
    ------
    InputError
        Naming the field and the allowed range.
    """
    return plain(evaluate(request if isinstance(request, AccountRequest)
                          else parse(AccountRequest, request)))


BINANCE_CROSS_EXAMPLE = {
    "venue": binance_usdm.VENUE.name, "margin_mode": "cross", "wallet_balance": 1535443.01,
    "positions": [
        {"symbol": "BTCUSDT", "side": "long", "qty": 109.488, "entry_price": 32481.98,
         "mark_price": 31967.27, "mmr": 0.025, "maintenance_amount": 16300.0},
        {"symbol": "ETHUSDT", "side": "long", "qty": 3683.979, "entry_price": 1456.84,
         "mark_price": 1335.18, "mmr": 0.1, "maintenance_amount": 135365.0},
    ],
}

register(Calculator(
    name="account", tool="liquidation_price", stage="check", title="Account liquidation (cross or isolated)",
    records=replace(FUTURES, symbol="positions.0.symbol", side="positions.0.side",
                    leverage=None, size=None),
    summary="Liquidation and bankruptcy prices, margins and ratios of one or more positions.",
    model=AccountRequest, compute=evaluate, example=BINANCE_CROSS_EXAMPLE))
