"""Resolve what a calculation needs about each position: product, contract size, fee, and the
maintenance-margin rate and amount — from the request's overrides or the venue's tier tables.

Several tables are searched at once (:class:`KeyGroups`): one pass over the positions whatever
the number of symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from marginscope.errors import InputError
from marginscope.risk import solver, validate
from marginscope.risk.contracts import PRODUCTS, Product, position_value
from marginscope.risk.instruments import parse_ccxt, parse_symbol
from marginscope.risk.tiers import TierTable, find_history, iso_date, require_table
from marginscope.risk.venues import Venue, get_venue

SUB_BITS = 3  # mantissa bits per bucket: eighth-octave buckets (ratio 2^(1/8) ≈ 1.09)
_SHIFT = 52 - SUB_BITS
_HALF = 1 << (11 + SUB_BITS)  # buckets of the non-negative floats (11 exponent bits)
_GROUP_BITS = 12 + SUB_BITS   # buckets per group: 2·_HALF (the sign bit)


@dataclass(frozen=True, eq=False)
class KeyGroups:
    """Groups of increasing, non-negative keys, searched for many values at once.

    ``locate(group, x)`` finds, for each value, the last key ``≤ x`` of its group (the first key
    when ``x`` is below them all), like ``searchsorted(keys[group], x, "right") − 1``, but with
    no branchy binary search: the IEEE-754 bits of ``x`` read as an unsigned integer and shifted
    (sign, exponent and top mantissa bits) pick a bucket — the non-negative floats in order,
    the negative ones above them — and a lookup table gives the bucket's starting key; a fixed,
    small number of vectorized comparisons finishes the job (as many as the most keys any
    bucket, an eighth of an octave, holds). The answer is a position in a flat layout;
    :meth:`column` lays per-key values out the same way, so that one gather reads them.
    """

    keys: tuple[np.ndarray, ...]

    @cached_property
    def _layout(self) -> tuple[np.ndarray, np.ndarray, int]:
        table, following = [], []
        bits = np.arange(_HALF, dtype=np.uint64) << _SHIFT
        lower = bits.view(np.float64)
        upper = np.append(lower[1:], np.inf)
        steps, start = 0, 0
        for keys in self.keys:
            first = np.maximum(np.searchsorted(keys, lower, side="right") - 1, 0)
            inside = np.searchsorted(keys, upper, side="left") - (first + 1)
            steps = max(steps, int(inside.max()))
            negative = np.zeros(_HALF, dtype=np.int64)  # below every key: the first one
            table.append((start + np.concatenate([first, negative])).astype(np.int32))
            following.append(np.append(keys[1:], np.nan))  # next key; NaN: never leave a group
            start += len(keys)
        return np.concatenate(table), np.concatenate(following), steps

    def locate(self, group, x) -> np.ndarray:
        """Flat position of the last key ≤ x in each value's group."""
        table, following, steps = self._layout
        x = np.asarray(x, dtype=np.float64)
        bucket = (x.view(np.uint64) >> _SHIFT).view(np.int64)
        position = np.take(table, (group << _GROUP_BITS) + bucket)
        for _ in range(steps):
            position = position + (x >= np.take(following, position))
        return position

    def column(self, values: tuple[np.ndarray, ...]) -> np.ndarray:
        """Per-key values of every group, laid out like the keys (for one gather)."""
        return np.concatenate(values)


@dataclass(frozen=True, eq=False)
class TierLookup:
    """Tier tables of several symbols, concatenated; positions refer to them by index."""

    tables: tuple[TierTable, ...]

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.cumsum([0] + [len(t.floor) for t in self.tables])[:-1]

    def _column(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(t, name) for t in self.tables])

    @cached_property
    def floor(self) -> np.ndarray:
        return self._column("floor")

    @cached_property
    def mmr(self) -> np.ndarray:
        return self._column("mmr")

    @cached_property
    def cum(self) -> np.ndarray:
        return self._column("cum")

    @cached_property
    def max_leverage(self) -> np.ndarray:
        return self._column("max_leverage")

    @cached_property
    def continuous(self) -> bool:
        """True when every table's MM is continuous across tiers (the cum rule holds)."""
        return all(t.continuous for t in self.tables)

    @cached_property
    def quantity_based(self) -> np.ndarray:
        return np.array([t.basis == "quantity" for t in self.tables])

    @cached_property
    def _floors(self) -> KeyGroups:
        return KeyGroups(tuple(t.floor for t in self.tables))

    @cached_property
    def all_quantity(self) -> bool:
        return bool(self.quantity_based.all())

    def index_by_size(self, table, size) -> np.ndarray:
        """Flat tier index of the tier containing ``size`` in each position's table (the
        floors' layout is the tables' concatenation, so positions are flat indices)."""
        return self._floors.locate(table, size)

    def liquidation_terms(self, fee: float) -> tuple[KeyGroups, np.ndarray, np.ndarray]:
        """Keys placing the liquidation price in its tier (see
        :func:`marginscope.risk.solver.tier_key`), one group per (table, σ), and the
        condition's ``rate = MMR + fee`` and ``const = −cum`` laid out alongside."""
        cache = self.__dict__.setdefault("_liquidation", {})
        if fee not in cache:
            keys = KeyGroups(tuple(solver.tier_key(t.floor, t.mmr, t.cum, fee, sigma)
                                   for t in self.tables for sigma in (1.0, -1.0)))
            rate = keys.column(tuple(t.mmr + fee for t in self.tables for _ in (1, 2)))
            const = keys.column(tuple(-t.cum for t in self.tables for _ in (1, 2)))
            cache[fee] = (keys, rate, const)
        return cache[fee]


@lru_cache(maxsize=256)
def tier_lookup(tables: tuple[TierTable, ...]) -> TierLookup:
    """The lookup of these tables, shared between calls: its search tables are built once."""
    return TierLookup(tables)


@dataclass(frozen=True, eq=False)
class Terms:
    """Everything about the positions that is not their size, side, price or margin."""

    venue: Venue
    product: Product
    contract_size: np.ndarray
    fee: float | np.ndarray              # fee rate inside the liquidation condition
    basis: str                           # "mark" | "entry"
    mmr: np.ndarray | None = None        # fixed rates (overrides), or …
    cum: np.ndarray | None = None
    lookup: TierLookup | None = None     # … tier tables with a table index per position
    table: np.ndarray | None = None
    max_leverage: np.ndarray | None = None

    def units(self, qty) -> np.ndarray:
        return qty if self.contract_size.ndim == 0 and self.contract_size == 1.0 else \
            qty * self.contract_size

    def value(self, qty, price) -> np.ndarray:
        return position_value(self.product, qty, price, self.contract_size)

    def tier_at_size(self, qty, price) -> tuple[np.ndarray, np.ndarray]:
        """(MMR, cum) of the tier containing the position valued at ``price``."""
        if self.lookup is None:
            return self.mmr, self.cum
        quantity = self.lookup.quantity_based[self.table]
        size = np.where(quantity, qty, self.value(qty, price)) if quantity.any() else \
            self.value(qty, price)
        index = self.lookup.index_by_size(self.table, size)
        return self.lookup.mmr[index], self.lookup.cum[index]

    def maintenance_margin(self, qty, price) -> np.ndarray:
        """``value(price)·MMR − cum`` with the tier of that value (no fee)."""
        mmr, cum = self.tier_at_size(qty, price)
        return self.value(qty, price) * mmr - cum

    def max_leverage_at(self, qty, price) -> np.ndarray | None:
        if self.lookup is None:
            return self.max_leverage
        quantity = self.lookup.quantity_based[self.table]
        size = np.where(quantity, qty, self.value(qty, price))
        return self.lookup.max_leverage[self.lookup.index_by_size(self.table, size)]

    def condition(self, side, qty, entry, wallet, intercept=None) -> tuple[np.ndarray, np.ndarray]:
        """(rate, const) of the liquidation condition for these positions (``intercept``:
        :func:`marginscope.risk.solver.equity_intercept`, when already computed)."""
        if self.basis == "entry":
            mmr, cum = self.tier_at_size(qty, entry)
            return self.fee + 0.0 * qty, self.value(qty, entry) * mmr - cum
        if self.lookup is None or self.lookup.all_quantity:
            mmr, cum = self.tier_at_size(qty, entry)
            return mmr + self.fee, -cum
        fee = float(np.max(self.fee))
        if not self.lookup.continuous or (np.ndim(self.fee) and not np.all(self.fee == fee)):
            return self._condition_by_scan(side, qty, entry, wallet)
        keys, rate, const = self.lookup.liquidation_terms(fee)
        if intercept is None:
            intercept = solver.equity_intercept(self.product, side, self.units(qty), entry,
                                                wallet)
        # σ = +s (linear) or −s (inverse); the key group is (table, σ < 0); the search value −σ·A
        sigma = solver.value_slope(self.product, side)
        position = keys.locate(2 * self.table + (sigma < 0), -sigma * intercept)
        return np.take(rate, position), np.take(const, position)

    def _condition_by_scan(self, side, qty, entry, wallet):
        """Tier by fixed-point iteration: for fees that differ between positions, and for
        tables whose MM jumps at boundaries (no self-consistent tier need exist there; the
        iteration stops at the last tier it reached)."""
        mmr, cum = self.tier_at_size(qty, entry)
        for _ in range(len(self.lookup.floor) + 1):
            price = solver.solve_price(self.product, side, self.units(qty), entry, wallet,
                                       mmr + self.fee, -cum)
            new_mmr, new_cum = self.tier_at_size(qty, np.where(np.isnan(price), entry, price))
            if np.array_equal(new_mmr, mmr):
                break
            mmr, cum = new_mmr, new_cum
        return mmr + self.fee, -cum

    def liquidation_price(self, side, qty, entry, wallet) -> np.ndarray:
        units = self.units(qty)
        intercept = solver.equity_intercept(self.product, side, units, entry, wallet)
        rate, const = self.condition(side, qty, entry, wallet, intercept)
        return solver.price_from_intercept(self.product, side, units, intercept, rate, const)


def table_fields(terms: Terms) -> dict[str, str | None]:
    """What a one-symbol answer says about its terms: the product, and the date and source of
    the tier table used (None when overrides replaced it)."""
    table = terms.lookup.tables[0] if terms.lookup is not None and \
        len(terms.lookup.tables) == 1 else None
    return {"product": terms.product, "table_as_of": table.as_of if table else None,
            "table_source": table.source if table else None}


def symbol_product(venue: str, symbol: str, field: str = "symbol") -> Product:
    """The contract kind ``symbol`` names on ``venue``: its shipped table's, else its notation's
    (:func:`marginscope.risk.instruments.parse_symbol`; an unknown kind is an InputError)."""
    vintages = find_history(venue, symbol)
    return vintages[-1].product if vintages else parse_symbol(venue, symbol, field).product


def choose_product(v: Venue, names: list[str], product: str | None,
                   field: str = "symbol") -> Product:
    """The product of a calculation: the symbols' kind; ``product`` when given (it must agree);
    the venue's only or first product when neither is given."""
    kinds = {name: symbol_product(v.name, name, field) for name in names}
    found = set(kinds.values())
    if len(found) > 1:
        raise InputError(field, names, "symbols of one product kind per call (linear or inverse)")
    if product is not None:
        product = validate.choice("product", product, PRODUCTS)
        if found and product not in found:
            name, kind = next(iter(kinds.items()))
            raise InputError("product", product, f"{kind} (on {v.name}, {name} is {kind}), "
                             "or leave product out")
        source, value = "product", product
    elif found:
        product = found.pop()
        source, value = field, names[0]
    else:
        return v.default_product
    if product not in v.products:
        raise InputError(source, value, f"a {' or '.join(v.products)} contract ({v.name} "
                         f"offers no {product} contracts)")
    return product


def resolve(
    venue: str | Venue,
    *,
    symbol=None,
    symbol_index=None,
    product: str | None = None,
    contract_size=None,
    mmr=None,
    maintenance_amount=None,
    max_leverage=None,
    taker_fee=None,
    maintenance_basis: str | None = None,
    as_of=None,
) -> Terms:
    """Terms for positions on ``venue``: overrides win, else the symbol's shipped tier table.

    ``symbol`` is one symbol, an array of symbols, or — with ``symbol_index`` (integers) — the
    list of distinct symbols the index refers to (fast for millions of positions). The
    product (linear or inverse) follows the symbols, with or without a table or an override;
    ``product``, when given, must agree with them. ``as_of`` (a date) picks the table vintage
    in force on that day (default: the latest shipped).
    """
    v = get_venue(venue)
    fee_rate = v.taker_fee if taker_fee is None else validate.rate("taker_fee", taker_fee, 0.1)
    if v.close_fee == "none" and taker_fee is None:
        fee_rate = 0.0
    basis = validate.choice("maintenance_basis", maintenance_basis, ("mark", "entry")) \
        if maintenance_basis is not None else None

    as_of = None if as_of is None else iso_date(as_of)  # checked even when overrides win
    names, table_index = _symbol_names(symbol, symbol_index)
    product = choose_product(v, names, product)
    need = mmr is None and not (v.mmr_from_max_leverage and max_leverage is not None)
    if need and not names:
        raise InputError("symbol", None, f"a {v.name} symbol with a shipped tier table, "
                         "or an explicit mmr")
    tables = [require_table(v.name, name, as_of=as_of) for name in names] if need else []
    if contract_size is not None:
        size = validate.positive("contract_size", contract_size)
    elif tables:
        sizes = [t.contract_size for t in tables]
        size = np.asarray(sizes[0]) if len(set(sizes)) == 1 else np.array(sizes)[table_index]
    else:
        sizes = [v.contract_size(product, _base(v.name, name)) for name in names] or \
            [v.contract_size(product, None)]
        size = np.asarray(sizes[0]) if len(set(sizes)) == 1 else np.array(sizes)[table_index]
    common = dict(venue=v, product=product, contract_size=size, fee=fee_rate,
                  basis=basis or v.maintenance_basis[product])

    if not need:
        if mmr is None:
            max_leverage = validate.positive("max_leverage", max_leverage)
            rates = 1.0 / (2.0 * max_leverage)
        else:
            rates = validate.rate("mmr", mmr)
        amount = validate.number("maintenance_amount", 0.0 if maintenance_amount is None
                                 else maintenance_amount, low=0.0, low_inclusive=True)
        lev = None if max_leverage is None else validate.positive("max_leverage", max_leverage)
        return Terms(**common, mmr=rates, cum=amount, max_leverage=lev)
    return Terms(**common, lookup=tier_lookup(tuple(tables)), table=table_index)


def _base(venue: str, symbol: str) -> str:
    vintages = find_history(venue, symbol)
    instrument = parse_ccxt(vintages[-1].ccxt_symbol) if vintages else None
    return (instrument or parse_symbol(venue, symbol)).base


def _symbol_names(symbol, symbol_index) -> tuple[list[str], np.ndarray]:
    """The distinct symbols and each position's index into them."""
    if symbol is None:
        return [], np.zeros((), dtype=np.intp)
    if symbol_index is not None:
        names = [symbol] if isinstance(symbol, str) else [str(s) for s in symbol]
        index = np.asarray(symbol_index, dtype=np.intp)
        if index.size and (index.min() < 0 or index.max() >= len(names)):
            raise InputError("symbol_index", int(index.max()), f"0 … {len(names) - 1}")
        return names, index
    if isinstance(symbol, str):
        return [symbol], np.zeros((), dtype=np.intp)
    names_array, index = np.unique(np.asarray(symbol, dtype=str), return_inverse=True)
    return [str(n) for n in names_array], index
