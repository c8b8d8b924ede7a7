"""What a venue is to the engine: contract conventions, how maintenance margin is measured,
whether the fee to close enters the liquidation condition, and where its numbers come from.

Every venue is solved by the same condition (exchange_formulas.md §0):

    margin balance(P) = maintenance margin(P) [+ fee to close(P)]

and differs only in the choices recorded here, so the engine never branches on venue names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from marginscope.risk.contracts import Product
from marginscope.risk.notation import Notation

MaintenanceBasis = Literal["mark", "entry"]
CloseFee = Literal["none", "mark"]


@dataclass(frozen=True)
class TierAnswer:
    """Where and how a venue publishes its tier table (``marginscope tiers refresh`` asks it
    through ccxt; the risk engine itself does no I/O).

    Attributes
    ----------
    endpoint : str
        The venue's endpoint (and the ccxt method), named in each refreshed table's source.
    symbols : tuple
        ccxt unified symbols refreshed when none are asked for.
    deduction_field : str or None
        Field of the raw tier that holds the venue's maintenance deduction (checked against
        the cumulative rule), if it publishes one.
    basis : str
        ``"notional"``, or ``"quantity"`` when tier bounds are position sizes in contracts.
    deduction : bool
        False when the tier's rate applies to the whole position with no deduction (OKX).
    bulk : dict or None
        Parameters of one ``fetch_leverage_tiers`` call for every symbol (Binance), instead of
        one ``fetch_market_leverage_tiers`` call per symbol.
    meta : bool
        The tiers come from the venue's market metadata (Hyperliquid's margin tables).
    """

    endpoint: str
    symbols: tuple[str, ...]
    deduction_field: str | None = None
    basis: Literal["notional", "quantity"] = "notional"
    deduction: bool = True
    bulk: dict[str, str] | None = None
    meta: bool = False


@dataclass(frozen=True)
class Venue:
    """A venue's published liquidation rules, as parameters of the common solver.

    Attributes
    ----------
    name : str
        Registry key (``"binance-usdm"``).
    products : tuple
        Contract kinds offered: ``"linear"`` and/or ``"inverse"``.
    maintenance_basis : dict
        Per product: ``"mark"`` — MM is charged on the position value at the liquidation price
        (Binance, Hyperliquid, OKX, Gate, Bybit inverse 2026 text); ``"entry"`` — MM is charged
        on the entry value (Bybit USDT contracts, BitMEX isolated).
    close_fee : str
        ``"mark"`` when the taker fee to close, at the liquidation price, is part of the
        maintenance requirement (OKX, Gate); ``"none"`` otherwise.
    taker_fee : float
        Regular-tier taker fee rate, the default wherever a calculation includes fees.
    mmr_from_max_leverage : bool
        Hyperliquid: ``MMR = 1/(2·max_leverage)`` of the tier.
    default_contract_size : dict
        Per product, when the symbol has no table: base per contract (linear) or USD per
        contract (inverse).
    contract_size_by_base : dict
        Inverse contracts whose USD size differs from the default, by base currency.
    funding_interval_hours : float
        Default funding interval.
    ccxt_id : str or None
        The venue's exchange id in ccxt (market data and tier refreshes).
    tier_answer : TierAnswer or None
        Where the venue publishes its tier table (None: no table to refresh).
    notation : Notation
        How the venue writes its symbols, and the quotes it offers per product (one per
        product in ``products``).
    sources : tuple
        Where each rule above comes from.
    """

    name: str
    title: str
    products: tuple[Product, ...]
    maintenance_basis: dict[Product, MaintenanceBasis]
    close_fee: CloseFee
    taker_fee: float
    maker_fee: float
    sources: tuple[str, ...]
    notation: Notation
    mmr_from_max_leverage: bool = False
    default_contract_size: dict[Product, float] = field(
        default_factory=lambda: {"linear": 1.0, "inverse": 1.0})
    contract_size_by_base: dict[str, float] = field(default_factory=dict)
    funding_interval_hours: float = 8.0
    notes: str = ""
    ccxt_id: str | None = None           # the venue's exchange id in ccxt
    tier_answer: TierAnswer | None = None

    def __post_init__(self) -> None:
        if tuple(self.notation.quotes) != self.products:
            raise ValueError(
                f"{self.name}: notation quotes {tuple(self.notation.quotes)} must list the "
                f"products {self.products}, in order")

    def contract_size(self, product: Product, base: str | None) -> float:
        """Contract size of a symbol without a table: inverse contracts of ``base`` may differ
        from the venue default (Binance COIN-M and OKX: BTC 100 USD, others 10 USD)."""
        if product == "inverse" and base in self.contract_size_by_base:
            return self.contract_size_by_base[base]
        return self.default_contract_size.get(product, 1.0)

    @property
    def default_product(self) -> Product:
        return self.products[0]
