"""The event's vocabularies and coarse buckets: allow-lists, ids, normalizers, bucket edges.

Vocabularies are defined once elsewhere and read here: the tool ids are the calculator
declarations' (:data:`marginscope.calculators.TOOLS`), the venue ids the risk engine's
(:data:`marginscope.risk.venues.VENUES`, through :func:`marginscope.calculators.base.venue_names`)
plus ``other``. Only the symbol allow-list is kept here (extendable: ``register_symbol``).
Synthetic events are told apart by their event id (:func:`is_synthetic_id`). The columns that
use them are declared in :mod:`marginscope.telemetry.columns` (docs/telemetry.md, "Schema").

Bucket edges
------------
leverage
    Largest edge <= the leverage in :data:`LEVERAGE_EDGES` (1, 2, 3, 5, 10, 20, 25, 50, 75,
    100, 125): the stored value ``e`` means "from e up to the next edge"; below 1 stores 1 and
    125 means 125x and above. The edges are the leverage presets common to the venues' sliders.
notional_bucket
    Largest edge <= the position notional (quote currency, USD/USDT for the crypto venues) in
    :data:`NOTIONAL_EDGES`: 0, then half-decades 10, 30, 100, 300, … 3,000,000, 10,000,000 (a log
    scale with step √10 ≈ 3.16, rounded to 1-3-10); 10,000,000 means 10M and above.
"""

from __future__ import annotations

import bisect
import math
import re
import secrets
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from marginscope.errors import InputError

if TYPE_CHECKING:
    from marginscope.calculators.base import Calculator

__all__ = [
    "COUNTRY_SOURCES",
    "DEVICES",
    "ID_PATTERN",
    "LEVERAGE_EDGES",
    "MARGIN_MODES",
    "NOTIONAL_EDGES",
    "OTHER_SYMBOL",
    "OTHER_VENUE",
    "SEQ_MAX",
    "SIDES",
    "SYNTHETIC_ID_PREFIX",
    "UNKNOWN_COUNTRY",
    "country_codes",
    "is_synthetic_id",
    "leverage_bucket",
    "new_event_id",
    "normalize_margin_mode",
    "normalize_side",
    "normalize_symbol",
    "normalize_venue",
    "notional_bucket",
    "register_symbol",
    "symbols",
    "tool_ids",
    "tools",
    "venues",
]

# --- closed vocabularies -----------------------------------------------------------------------

DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet", "unknown")
SIDES: tuple[str, ...] = ("long", "short")
MARGIN_MODES: tuple[str, ...] = ("isolated", "cross")
UNKNOWN_COUNTRY = "ZZ"
COUNTRY_SOURCES: tuple[str, ...] = ("header", "geoip", "time_zone")
"""Where an event's country came from (the ``country_source`` column; NULL: unknown, or an
event recorded before the column existed). ``header`` and ``geoip`` are set by the server's
side (a trusted proxy header, a GeoIP file); ``time_zone`` is what the client said, a
lower-trust source any client can choose (docs/telemetry.md, "Country")."""
OTHER_SYMBOL = "OTHER"
OTHER_VENUE = "other"

_ID = r"[A-Za-z0-9_-]{1,64}"
ID_PATTERN = f"^{_ID}$"
"""Opaque ids (event_id, visitor, session): no dots or colons, so no IP address fits."""

SYNTHETIC_ID_PREFIX = "syn-"
"""Event ids of simulated events start with this (``syn-<seed>-…``); live ids are 32 hex
digits (:func:`new_event_id`), so none starts with it. The report labels such data synthetic."""


def is_synthetic_id(event_id: str) -> bool:
    """True when ``event_id`` (the ``event_id`` column) marks a simulated event."""
    return event_id.startswith(SYNTHETIC_ID_PREFIX)


SEQ_MAX = 32_767
"""Largest ``seq``: the page's per-tab counter of calculations (0, 1, 2, …) sent with each
one, which orders a session's checks (docs/analytics.md, "In-session order"); a page past it
sends none (NULL: unknown, as for events recorded before the column existed)."""

LEVERAGE_EDGES: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 25, 50, 75, 100, 125)
NOTIONAL_EDGES: tuple[int, ...] = (
    0,
    10,
    30,
    100,
    300,
    1_000,
    3_000,
    10_000,
    30_000,
    100_000,
    300_000,
    1_000_000,
    3_000_000,
    10_000_000,
)

# --- vocabularies ------------------------------------------------------------------------------

_SYMBOLS: dict[str, None] = dict.fromkeys(
    (
        "BTC",
        "ETH",
        "SOL",
        "XRP",
        "DOGE",
        "BNB",
        "ADA",
        "TRX",
        "TON",
        "AVAX",
        "LINK",
        "DOT",
        "LTC",
        "BCH",
        "SUI",
        "HYPE",
        "PEPE",
        "SHIB",
        "NEAR",
        "APT",
        "ARB",
        "OP",
        "WIF",
        OTHER_SYMBOL,
    )
)


def tools() -> Mapping[str, Calculator]:
    """The calculator declarations by tool id, in registration order (imported on first use:
    the package registers every calculator; telemetry -> calculators, never the other way)."""
    from marginscope.calculators import TOOLS

    return TOOLS


@lru_cache(maxsize=1)
def _venues() -> dict[str, None]:
    from marginscope.calculators.base import venue_names

    return dict.fromkeys((*venue_names(), OTHER_VENUE))


def register_symbol(symbol: str) -> str:
    """Add a base asset to the symbol allow-list (upper-case letters and digits); idempotent."""
    if not isinstance(symbol, str) or not re.match(r"^[A-Z0-9]{1,15}$", symbol):
        raise InputError("symbol", symbol, "upper-case base asset matching [A-Z0-9]{1,15}")
    _SYMBOLS[symbol] = None
    _base_asset.cache_clear()
    return symbol


def tool_ids() -> tuple[str, ...]:
    """Every declared calculator's tool id, in registration order (the allow-list)."""
    return tuple(tools())


def venues() -> tuple[str, ...]:
    """Allowed venue ids: the risk engine's venues, then ``other``."""
    return tuple(_venues())


def symbols() -> tuple[str, ...]:
    """Allowed base assets (``OTHER`` included)."""
    return tuple(_SYMBOLS)


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes from the tz database's ``iso3166.tab`` (tzdata), plus ``ZZ``."""
    text = resources.files("tzdata.zoneinfo").joinpath("iso3166.tab").read_text("utf-8")
    codes = {
        line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    }
    return frozenset(codes | {UNKNOWN_COUNTRY})


# --- coarse context ----------------------------------------------------------------------------

_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "USD", "EUR", "BTC", "ETH")
_ALIASES = {"XBT": "BTC"}
_MULTIPLIER = re.compile(r"^(?:1000000|100000|10000|1000|1M|K)(?=[A-Z])")


def normalize_symbol(symbol: str | None) -> str | None:
    """Base asset of an instrument name if allow-listed, else ``OTHER``; None stays None.

    Understands ``BTCUSDT``, ``BTC/USDT:USDT`` (ccxt), ``BTC-USDT-SWAP`` (OKX), ``BTCUSD_PERP``
    (Binance COIN-M), ``XBTUSD`` (BitMEX), ``1000PEPEUSDT`` and ``kPEPE`` (multiplied contracts).
    """
    if symbol is None:
        return None
    if not isinstance(symbol, str):
        raise InputError("symbol", symbol, "an instrument name such as BTCUSDT")
    return _base_asset(symbol)


@lru_cache(maxsize=4096)
def _base_asset(symbol: str) -> str:
    """:func:`normalize_symbol` of a string, remembered (cleared by :func:`register_symbol`)."""
    head = re.split(r"[/:_\-\s]", symbol.strip(), maxsplit=1)[0]
    if head.startswith("k") and head[1:2].isupper():
        head = head[1:]
    head = _MULTIPLIER.sub("", head.upper())
    candidates = [head] + [head[: -len(q)] for q in _QUOTES if head.endswith(q) and head != q]
    for candidate in candidates:
        candidate = _ALIASES.get(candidate, candidate)
        if candidate in _SYMBOLS:
            return candidate
    return OTHER_SYMBOL


def normalize_venue(venue: str | None) -> str | None:
    """The venue id if allow-listed, else ``other``; None stays None."""
    if venue is None:
        return None
    if not isinstance(venue, str):
        raise InputError("venue", venue, " | ".join(_venues()))
    venue = venue.strip().lower()
    return venue if venue in _venues() else OTHER_VENUE


def normalize_side(side: str | None) -> str | None:
    """``long`` | ``short`` (``buy``/``sell`` accepted); None stays None."""
    if side is None:
        return None
    value = side.strip().lower() if isinstance(side, str) else side
    value = {"buy": "long", "sell": "short"}.get(value, value)
    if value not in SIDES:
        raise InputError("side", side, "long | short")
    return value


def normalize_margin_mode(mode: str | None) -> str | None:
    """``isolated`` | ``cross``; None stays None."""
    if mode is None:
        return None
    value = mode.strip().lower() if isinstance(mode, str) else mode
    if value not in MARGIN_MODES:
        raise InputError("margin_mode", mode, "isolated | cross")
    return value


def _bucket(value: Any, edges: tuple[int, ...], field: str, low_clip: bool) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):  # the request path
        number = float(value)
        if not math.isfinite(number) or (number <= 0 if low_clip else number < 0):
            raise InputError(field, value, "> 0 and finite" if low_clip else ">= 0 and finite")
        return edges[max(bisect.bisect_right(edges, number) - 1, 0)]
    array = np.asarray(value, dtype=float)
    bad = ~np.isfinite(array) | (array <= 0 if low_clip else array < 0)
    if bad.any():
        first = array[bad].flat[0] if array.ndim else float(array)
        raise InputError(field, first, "> 0 and finite" if low_clip else ">= 0 and finite")
    edge_array = np.asarray(edges, dtype=np.int64)
    index = np.searchsorted(edge_array, array, side="right") - 1
    result = edge_array[np.clip(index, 0, len(edges) - 1)]
    return int(result) if result.ndim == 0 else result


def leverage_bucket(leverage: Any) -> Any:
    """Largest :data:`LEVERAGE_EDGES` value <= ``leverage`` (values below 1 give 1).

    Parameters
    ----------
    leverage : float or array_like
        Leverage multiple, > 0 and finite.

    Returns
    -------
    int or numpy.ndarray of int64
        The bucket's lower edge. Edges: the leverage presets of the venues' sliders.
    """
    return _bucket(leverage, LEVERAGE_EDGES, "leverage", low_clip=True)


def notional_bucket(notional: Any) -> Any:
    """Largest :data:`NOTIONAL_EDGES` value <= ``notional`` (half-decade log buckets).

    Parameters
    ----------
    notional : float or array_like
        Position notional in the quote currency (USD/USDT), >= 0 and finite.

    Returns
    -------
    int or numpy.ndarray of int64
        The bucket's lower edge: 0, 10, 30, 100, 300, …, 10,000,000.
    """
    return _bucket(notional, NOTIONAL_EDGES, "notional", low_clip=False)


def new_event_id() -> str:
    """A random 128-bit event id (32 hex digits) for an event recorded live."""
    return secrets.token_hex(16)
