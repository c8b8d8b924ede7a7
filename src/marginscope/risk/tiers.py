"""Tiered maintenance-margin tables: versioned data shipped in the package, looked up vectorized.

A venue charges maintenance margin ``MM = N·MMR − cum`` where ``MMR`` and ``cum`` (Binance
"maintenance amount", Bybit "MM deduction", Hyperliquid "maintenance deduction") belong to the
tier that contains the position size ``N``. ``cum`` makes MM continuous across tier boundaries:

    cum_1 = 0,   cum_n = cum_{n−1} + floor_n·(MMR_n − MMR_{n−1})

(Binance USDⓈ-M FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93; the same rule in the
Binance COIN-M FAQ and the Hyperliquid margin-tiers page.)

Tables live in ``marginscope/risk/data/tiers/<venue>.json``; every table carries the source it
was copied from and its date. A symbol may ship several vintages (a list of tables with
distinct ``as_of``): a calculation dated ``as_of`` uses the one in force then (the latest
dated on or before it), otherwise the latest. Reading them is the only file access in ``risk``: static package
data, read once and cached. ``marginscope tiers refresh`` rewrites them from the venue.

File format (``schema: 1``)::

    {"venue": "binance-usdm", "schema": 1,
     "tables": {"BTCUSDT": {
         "ccxt_symbol": "BTC/USDT:USDT", "product": "linear", "settle": "USDT",
         "contract_size": 1.0,            # base per contract (linear) / USD per contract (inverse)
         "basis": "notional",             # tiers by notional in the settle currency, or "quantity"
         "as_of": "2024-10-24", "source": "…",
         "tiers": [{"floor": 0, "cap": 50000, "mmr": 0.004, "cum": 0, "max_leverage": 125}, …]}}}

``cum`` may be omitted: it is then derived with the rule above. A venue that applies the
tier's rate to the whole position with no deduction (OKX) sets ``"deduction": false`` on the
table: every ``cum`` is 0 and MM jumps at tier boundaries. An open top tier has ``"cap": null``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np

from marginscope.errors import InputError
from marginscope.risk.instruments import parse_symbol, venue_symbol

Basis = Literal["notional", "quantity"]
Product = Literal["linear", "inverse"]

__all__ = [
    "TierTable",
    "clear_cache",
    "cum_from_rule",
    "find_history",
    "find_table",
    "in_force",
    "iso_date",
    "load_venue_history",
    "load_venue_tables",
    "require_table",
    "table_from_dict",
]


def cum_from_rule(floor: np.ndarray, mmr: np.ndarray) -> np.ndarray:
    """Maintenance amounts from the continuity rule ``cum_n = cum_{n−1} + floor_n·ΔMMR_n``.

    Source: Binance USDⓈ-M FAQ (maintenance amount example: level-3 cum = 250,000 × (1% − 0.5%)
    + 50 = 1,300).
    """
    floor = np.asarray(floor, dtype=float)
    mmr = np.asarray(mmr, dtype=float)
    steps = floor[1:] * np.diff(mmr)
    return np.concatenate(([0.0], np.cumsum(steps)))


@dataclass(frozen=True, eq=False)
class TierTable:
    """One symbol's tier table on one venue (arrays ordered by ``floor``)."""

    venue: str
    symbol: str
    ccxt_symbol: str
    product: Product
    settle: str
    contract_size: float
    basis: Basis
    as_of: str
    source: str
    floor: np.ndarray
    cap: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray
    max_leverage: np.ndarray
    continuous: bool = True  # False: no deduction, MM jumps at boundaries (OKX)

    @property
    def mm_at_floor(self) -> np.ndarray:
        """Maintenance margin at each tier's lower boundary: ``floor·MMR − cum``."""
        return self.floor * self.mmr - self.cum

    def tier_index(self, size: np.ndarray | float) -> np.ndarray:
        """Index of the tier containing ``size`` (highest tier with ``floor ≤ size``).

        A boundary value belongs to the upper tier, as in freqtrade's Binance lookup; because of
        the cum rule the maintenance margin is the same number on either side.
        """
        index = np.searchsorted(self.floor, size, side="right") - 1
        return np.clip(index, 0, len(self.floor) - 1)

    def maintenance_margin(self, size: np.ndarray | float) -> np.ndarray:
        """``MM = size·MMR − cum`` with the tier that contains ``size``."""
        index = self.tier_index(size)
        return np.asarray(size) * self.mmr[index] - self.cum[index]

    def max_leverage_for(self, size: np.ndarray | float) -> np.ndarray:
        """Highest leverage the venue allows for a position of this size."""
        return self.max_leverage[self.tier_index(size)]

    def max_size_at_leverage(self, leverage: np.ndarray | float) -> np.ndarray:
        """Largest size (tier cap) among tiers that allow ``leverage`` (0 where none does).

        Binance ``maxNotionalValue``: the largest ``notionalCap`` among brackets whose
        ``initialLeverage ≥ L`` (exchange_formulas.md §1.8).
        """
        leverage = np.asarray(leverage, dtype=float)
        allowed = self.max_leverage[None, :] >= leverage.reshape(-1, 1)
        caps = np.where(allowed, self.cap[None, :], 0.0).max(axis=1)
        return caps.reshape(leverage.shape)

    def to_dict(self) -> dict:
        """The table in the shipped file format."""
        return {
            "ccxt_symbol": self.ccxt_symbol,
            "product": self.product,
            "settle": self.settle,
            "contract_size": self.contract_size,
            "basis": self.basis,
            **({} if self.continuous else {"deduction": False}),
            "as_of": self.as_of,
            "source": self.source,
            "tiers": [
                {"floor": float(f), "cap": float(c) if np.isfinite(c) else None, "mmr": float(m), "cum": float(k),
                 "max_leverage": float(lev)}
                for f, c, m, k, lev in zip(
                    self.floor, self.cap, self.mmr, self.cum, self.max_leverage, strict=True)
            ],
        }


def table_from_dict(venue: str, symbol: str, data: dict) -> TierTable:
    """Build a :class:`TierTable` from the file format, checking order and the cum rule."""
    rows = sorted(data["tiers"], key=lambda row: row["floor"])
    floor = np.array([row["floor"] for row in rows], dtype=float)
    mmr = np.array([row["mmr"] for row in rows], dtype=float)
    continuous = data.get("deduction", True)
    derived = cum_from_rule(floor, mmr) if continuous else np.zeros_like(floor)
    cum = np.array([row.get("cum", d) for row, d in zip(rows, derived, strict=True)], dtype=float)
    if not np.allclose(cum, derived, rtol=1e-9, atol=1e-6):
        raise ValueError(f"{venue} {symbol}: maintenance amounts break the cum rule")
    return TierTable(
        venue=venue,
        symbol=symbol,
        ccxt_symbol=data.get("ccxt_symbol", symbol),
        product=data.get("product", "linear"),
        settle=data.get("settle", ""),
        contract_size=float(data.get("contract_size", 1.0)),
        basis=data.get("basis", "notional"),
        as_of=data.get("as_of", ""),
        source=data.get("source", ""),
        floor=floor,
        cap=np.array([np.inf if row["cap"] is None else row["cap"] for row in rows], dtype=float),
        mmr=mmr,
        cum=cum,
        max_leverage=np.array([row["max_leverage"] for row in rows], dtype=float),
        continuous=bool(continuous),
    )


def iso_date(value, field: str = "as_of") -> str:
    """An ISO date (``YYYY-MM-DD``) from a string or a :class:`datetime.date`."""
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise InputError(field, value, "a date YYYY-MM-DD") from None


@cache
def load_venue_history(venue: str) -> dict[str, tuple[TierTable, ...]]:
    """Every shipped vintage of every table of a venue, oldest first, keyed by venue symbol.

    A symbol's entry in the file is one table or a list of tables with distinct ``as_of``.
    """
    path = resources.files("marginscope.risk") / "data" / "tiers" / f"{venue}.json"
    if not path.is_file():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    history = {}
    for symbol, entry in document["tables"].items():
        vintages = sorted((table_from_dict(venue, symbol, table)
                           for table in (entry if isinstance(entry, list) else [entry])),
                          key=lambda t: t.as_of)
        dates = [t.as_of for t in vintages]
        if len(set(dates)) != len(dates):
            raise ValueError(f"{venue} {symbol}: two tables carry the same as_of")
        history[symbol] = tuple(vintages)
    return history


@cache
def load_venue_tables(venue: str) -> dict[str, TierTable]:
    """The latest shipped table of each symbol of a venue (empty if none ship)."""
    return {symbol: vintages[-1] for symbol, vintages in load_venue_history(venue).items()}


def clear_cache() -> None:
    """Forget the loaded tables (after ``marginscope tiers refresh`` rewrote a file)."""
    for cached in (load_venue_history, load_venue_tables, _symbol_keys):
        cached.cache_clear()


def normalize_symbol(symbol: str) -> str:
    """Loose key for matching notations: upper case, separators dropped (``ETH_USDT``→``ETHUSDT``)."""
    return "".join(ch for ch in symbol.upper() if ch.isalnum())


@cache
def _symbol_keys(venue: str) -> dict[str, str]:
    """Loose keys (venue and ccxt notation) → the venue symbol they name."""
    keys: dict[str, str] = {}
    for symbol, table in load_venue_tables(venue).items():
        keys.setdefault(normalize_symbol(table.ccxt_symbol), symbol)
    for symbol in load_venue_tables(venue):
        keys[normalize_symbol(symbol)] = symbol
    return keys


def find_history(venue: str, symbol: str) -> tuple[TierTable, ...] | None:
    """Every vintage of the table for ``symbol`` (venue, ccxt or another venue-style notation
    of the same instrument), oldest first; None if no table ships."""
    history = load_venue_history(venue)
    if symbol in history:
        return history[symbol]
    keys = _symbol_keys(venue)
    key = keys.get(normalize_symbol(symbol))
    if key is None:
        try:
            key = keys.get(normalize_symbol(venue_symbol(venue, parse_symbol(venue, symbol))))
        except InputError:
            return None
    return history.get(key) if key else None


def in_force(vintages: tuple[TierTable, ...], as_of=None, field: str = "as_of") -> TierTable:
    """The vintage in force on ``as_of`` (the latest one dated on or before it; the latest of
    all when ``as_of`` is None). A date before the first vintage is an :class:`InputError`:
    the table in force then is not shipped."""
    if as_of is None:
        return vintages[-1]
    day = iso_date(as_of, field)
    earlier = [t for t in vintages if t.as_of <= day]
    if not earlier:
        first = vintages[0]
        raise InputError(field, as_of, f"{first.as_of} or later (the oldest shipped {first.venue} "
                         f"{first.symbol} table), or give the overrides (mmr / max_leverage)")
    return earlier[-1]


def find_table(venue: str, symbol: str, as_of=None) -> TierTable | None:
    """The shipped table for ``symbol`` in force on ``as_of`` (default: the latest)."""
    vintages = find_history(venue, symbol)
    return None if vintages is None else in_force(vintages, as_of)


def require_table(venue: str, symbol: str, field: str = "symbol", as_of=None) -> TierTable:
    """Like :func:`find_table`, but an unknown symbol is an :class:`InputError`."""
    table = find_table(venue, symbol, as_of)
    if table is None:
        known = sorted(load_venue_tables(venue))
        shown = ", ".join(known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
        raise InputError(field, symbol, f"a symbol with a shipped {venue} tier table "
                         f"({shown or 'none shipped'}), or give the overrides the calculation "
                         "needs (mmr / max_leverage)")
    return table
