"""The unit of every figure a page shows: quote currency, settle coin, contracts, ×.

A linear contract (BTCUSDT) has prices, margin and P&L in its quote currency (USDT) and sizes
in the base coin; an inverse one (BTCUSD_PERP) has prices in USD and margin, P&L and fees in
the coin it settles in (BTC), sizes in contracts. The currencies come from the shipped tier
table of the symbol (its ccxt notation ``BASE/QUOTE:SETTLE``); without a symbol the page says
"quote" or "coin" rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marginscope.risk.tiers import TierTable, find_table
from marginscope.risk.venues import VENUES

__all__ = ["Units", "unit_of", "units_for"]

PRICE_KEYS = {"average_entry", "breakeven_move", "difference_from_naive", "price"}
MONEY_KEYS = {
    "margin",
    "notional",
    "pnl",
    "fees",
    "total_paid",
    "payment_per_interval",
    "margin_to_add",
    "risk_amount",
    "equity",
    "balance",
    "wallet_balance",
    "maintenance_margin",
    "margin_balance",
    "initial_margin",
    "max_open_notional",
    "available_balance",
    "cost",
    "proceeds",
    "notional_at_entry",
    "entry_value",
    "exit_value",
}
MONEY_SUFFIXES = (
    "_margin",
    "_notional",
    "_pnl",
    "_balance",
    "_paid",
    "_fee",
    "_fees",
    "_amount",
    "_amount_at_entry",
    "_notional_at_entry",
)
SIZE_KEYS = {"qty", "quantity_to_cut", "max_open_qty", "max_qty"}
VAGUE = {"quote", "base units"}  # not printed after figures; the note says it instead
TIMES_KEYS = {"leverage", "effective_leverage", "max_leverage", "max_leverage_for_notional"}


@dataclass(frozen=True)
class Units:
    """Units of one position's figures."""

    price: str  # quote currency: prices are quote per base unit
    money: str  # settle currency: margin, P&L, fees, maintenance
    size: str  # base coin or "contracts"
    inverse: bool = False
    table: TierTable | None = None

    @property
    def note(self) -> str:
        if self.inverse:
            return (
                f"Inverse contract: margin, P&L and fees are in {self.money} (the coin it "
                f"settles in); prices in {self.price}; quantity in {self.size}."
            )
        return (
            f"Prices, margin and P&L in {self.price}; quantity in {self.size}."
            if self.price != "quote"
            else "Prices, margin and P&L in the quote currency (pick a symbol to name it)."
        )


def _split(ccxt_symbol: str) -> tuple[str, str, str]:
    """``BTC/USDT:USDT`` → (BTC, USDT, USDT); a missing part is ''."""
    pair, _, settle = ccxt_symbol.partition(":")
    base, _, quote = pair.partition("/")
    return base, quote, settle or quote


def units_for(body: Any, venue: str | None = None) -> Units | None:
    """Units of a crypto-derivatives request (one with a venue or a product), else None;
    ``venue`` for a position inside an account request."""
    venue_name = venue or getattr(body, "venue", None)
    product = getattr(body, "product", None)
    if venue_name is None and product is None:
        return None
    symbol = getattr(body, "symbol", None)
    table = find_table(venue_name, symbol) if venue_name in VENUES and symbol else None
    if table is not None:
        base, quote, settle = _split(table.ccxt_symbol)
        settle = table.settle or settle
        inverse = table.product == "inverse"
        contracts = inverse or table.contract_size != 1.0 or not base
        return Units(
            price=quote or "quote",
            money=settle or ("coin" if inverse else quote),
            size="contracts" if contracts else base,
            inverse=inverse,
            table=table,
        )
    if product is None and venue_name in VENUES:
        product = VENUES[venue_name].default_product
    inverse = product == "inverse"
    contract_size = getattr(body, "contract_size", None)
    contracts = inverse or (contract_size not in (None, 1.0))
    return Units(
        price="USD" if inverse else "quote",
        money="coin" if inverse else "quote",
        size="contracts" if contracts else "base units",
        inverse=inverse,
    )


def unit_of(key: str, units: Units | None, overrides: dict[str, str] | None = None) -> str:
    """The unit to print after the figure ``key`` ('' for ratios, counts and text)."""
    if units is None:
        return ""
    kind = (overrides or {}).get(key)
    if kind is None:
        if key in TIMES_KEYS:
            kind = "times"
        elif key in SIZE_KEYS or key.endswith("_qty"):
            kind = "size"
        elif key in PRICE_KEYS or key.endswith("_price"):
            kind = "price"
        elif key in MONEY_KEYS or key.endswith(MONEY_SUFFIXES):
            kind = "money"
    unit = {"price": units.price, "money": units.money, "size": units.size, "times": "×"}.get(
        kind or "", ""
    )
    return "" if unit in VAGUE else unit
