"""Refresh the shipped maintenance-margin tier tables from the venues, through ccxt.

:func:`refresh` asks a venue for its current tiers and returns a schema-1 document (the format
of :mod:`marginscope.risk.tiers`); :func:`write_tables` validates it and writes it to the
package's ``risk/data/tiers/<venue>.json`` (or another path). Nothing here runs at import time
and nothing here is needed by the risk engine, which only reads the shipped files.

Venue endpoints (as ccxt calls them):

* Binance USDⓈ-M ``GET /fapi/v1/leverageBracket`` and COIN-M ``GET /dapi/v2/leverageBracket``
  (signed: they need an API key; COIN-M brackets are in coin, ``qtyFloor``/``qtyCap``). The
  maintenance amount is Binance's ``cum``; ccxt's unified tier has no such field, so it is read
  from ``info.cum`` (exchange_formulas.md §10).
* Bybit ``GET /v5/market/risk-limit`` (``mmDeduction``), Gate ``GET /futures/{settle}/
  risk_limit_tiers`` (``deduction``), OKX ``GET /api/v5/public/position-tiers`` (bounds in
  contracts, ``minSz``/``maxSz``; no deduction is published).
* Hyperliquid: ccxt has no tier method; ``POST /info {"type": "meta"}`` (ccxt's
  ``publicPostInfo``) lists each asset's ``marginTableId`` and the tiered ``marginTables``; an
  id under 50 is one tier at that leverage, and ``mmr = 1/(2·max leverage)`` (Hyperliquid docs,
  trading/margin-tiers).

When a venue publishes no deduction, or one that breaks the continuity rule
``cum_n = cum_{n−1} + floor_n·ΔMMR_n``, the table is written without it and the loader derives
it by that rule; the document records a warning naming the symbol.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from marginscope.errors import InputError
from marginscope.risk.tiers import clear_cache, cum_from_rule, table_from_dict
from marginscope.risk.venues import VENUES as RISK_VENUES
from marginscope.risk.venues.base import TierAnswer

__all__ = [
    "VENUES",
    "RefreshError",
    "default_path",
    "refresh",
    "tables_from_ccxt_tiers",
    "write_tables",
]

VENUES: tuple[str, ...] = tuple(name for name, venue in RISK_VENUES.items()
                             if venue.tier_answer is not None and venue.ccxt_id)
"""Venues whose tier tables can be refreshed: those that declare where they publish them
(``Venue.ccxt_id`` and ``Venue.tier_answer`` in :mod:`marginscope.risk.venues`)."""


def _answer(venue: str) -> TierAnswer:
    answer = RISK_VENUES[venue].tier_answer
    assert answer is not None  # VENUES holds only venues that declare one
    return answer


# Hyperliquid: margin-table ids below this are a single tier at that leverage (docs).
_HL_FLAT_TABLES_BELOW = 50

Progress = Callable[[str, int, int], None]


class RefreshError(RuntimeError):
    """The venue could not be asked, or its answer cannot become a valid table."""


def _check_venue(venue: str) -> str:
    """The venue's ccxt id; an :class:`InputError` unless its tiers can be refreshed."""
    if venue not in VENUES:
        raise InputError("venue", venue, " | ".join(VENUES))
    return str(RISK_VENUES[venue].ccxt_id)


def default_path(venue: str) -> Path:
    """The shipped file for ``venue``: ``marginscope/risk/data/tiers/<venue>.json``."""
    _check_venue(venue)
    return Path(str(resources.files("marginscope.risk") / "data" / "tiers" / f"{venue}.json"))


def _make_exchange(ccxt_id: str) -> Any:
    """A ccxt exchange object; API keys from ``MARGINSCOPE_<ID>_API_KEY`` / ``…_SECRET``."""
    import ccxt

    if not hasattr(ccxt, ccxt_id):
        raise RefreshError(f"ccxt {ccxt.__version__} has no exchange {ccxt_id!r}; "
                           "refresh this venue's table by hand from its documentation")
    config: dict[str, Any] = {"enableRateLimit": True}
    key = os.environ.get(f"MARGINSCOPE_{ccxt_id.upper()}_API_KEY")
    secret = os.environ.get(f"MARGINSCOPE_{ccxt_id.upper()}_SECRET")
    if key and secret:
        config.update(apiKey=key, secret=secret)
    return getattr(ccxt, ccxt_id)(config)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def tables_from_ccxt_tiers(venue: str, market: dict, tiers: list[dict], *, as_of: str,
                           source: str) -> tuple[dict, list[str]]:
    """One schema-1 table from ccxt leverage-tier structures, and the warnings it raised.

    ccxt's tier has ``minNotional``/``maxNotional`` (Binance COIN-M: coin quantity; OKX:
    contracts), ``maintenanceMarginRate``, ``maxLeverage`` and the raw tier in ``info``.
    Floors are made contiguous (``floor_i = cap_{i−1}``): OKX starts a tier one contract above
    the previous cap, which for whole-contract positions selects the same tier.
    """
    symbol = market.get("id") or market.get("symbol")
    if not tiers:
        raise RefreshError(f"{venue} {symbol}: the venue returned no tiers")
    rows = sorted(tiers, key=lambda t: (_number(t.get("minNotional")) or 0.0,
                                        _number(t.get("maxNotional")) or math.inf))
    warnings: list[str] = []
    out: list[dict[str, float]] = []
    for i, tier in enumerate(rows):
        cap = _number(tier.get("maxNotional"))
        mmr = _number(tier.get("maintenanceMarginRate"))
        lev = _number(tier.get("maxLeverage"))
        if cap is None or mmr is None or lev is None or lev <= 0:
            raise RefreshError(f"{venue} {symbol}: tier {i + 1} lacks cap, rate or leverage")
        if not 0 <= mmr < 1 / lev:
            raise RefreshError(
                f"{venue} {symbol}: tier {i + 1} has maintenance rate {mmr} at {lev:g}x, not below "
                f"1/{lev:g}; the venue's numbers look like percentages or are inconsistent")
        floor = (_number(tier.get("minNotional")) or 0.0) if i == 0 else out[-1]["cap"]
        if cap <= floor:
            raise RefreshError(f"{venue} {symbol}: tier {i + 1} cap {cap} is not above {floor}")
        out.append({"floor": floor, "cap": cap, "mmr": mmr, "max_leverage": lev})

    field = _answer(venue).deduction_field
    published = [_number((t.get("info") or {}).get(field)) if field else None for t in rows]
    if field and all(value is not None for value in published):
        derived = cum_from_rule(np.array([r["floor"] for r in out]), np.array([r["mmr"] for r in out]))
        if np.allclose(published, derived, rtol=1e-9, atol=1e-6):
            for row, value in zip(out, published, strict=True):
                row["cum"] = value
        else:
            warnings.append(f"{symbol}: the venue's {field} {published} breaks the cum rule; "
                            "written without it (the loader derives it)")
    elif field:
        warnings.append(f"{symbol}: no {field} in the venue's answer; derived by the cum rule")

    product = "inverse" if market.get("inverse") else "linear"
    contract_size = float(market.get("contractSize") or 1.0)
    quantity = _answer(venue).basis == "quantity"
    if quantity and product == "linear":
        # our linear qty is in base units: contract bounds × base per contract, size 1
        for row in out:
            row["floor"] *= contract_size
            row["cap"] *= contract_size
        source += f"; contract bounds × ctVal {contract_size:g} → base units"
        contract_size = 1.0
    table = {
        "ccxt_symbol": market.get("symbol"),
        "product": product,
        "settle": market.get("settle") or "",
        "contract_size": contract_size,
        "basis": "quantity" if quantity else "notional",
        **({} if _answer(venue).deduction else {"deduction": False}),
        "as_of": as_of,
        "source": source,
        "tiers": out,
    }
    return table, warnings


def _resolve_market(exchange: Any, venue: str, symbol: str) -> dict:
    markets = exchange.markets or {}
    if symbol in markets:
        return markets[symbol]
    wanted = "".join(ch for ch in symbol.upper() if ch.isalnum())
    for market in markets.values():
        if not market.get("contract"):
            continue
        if symbol == market.get("id") or wanted == "".join(
                ch for ch in str(market.get("id", "")).upper() if ch.isalnum()):
            return market
    raise InputError("symbol", symbol, f"a {venue} contract market (ccxt unified symbol such as "
                     f"{_answer(venue).symbols[0]!r}, or the venue's own id)")


def _hyperliquid(exchange: Any, symbols: Iterable[str], as_of: str, source: str,
                 progress: Progress | None) -> tuple[dict, list[str]]:
    meta = exchange.publicPostInfo({"type": "meta"})
    if not isinstance(meta, dict) or "universe" not in meta:
        raise RefreshError("hyperliquid: the meta answer has no universe")
    listed = {int(entry[0]): entry[1] for entry in meta.get("marginTables") or []}
    universe = {str(asset.get("name")).upper(): asset for asset in meta["universe"]}
    wanted = list(symbols)
    tables: dict[str, dict] = {}
    for n, raw in enumerate(wanted):
        coin = raw.split("/")[0].upper()
        if progress:
            progress(coin, n, len(wanted))
        asset = universe.get(coin)
        if asset is None:
            raise InputError("symbol", raw, "a Hyperliquid perp listed in meta "
                             f"({', '.join(sorted(universe)[:8])}, …)")
        table_id = asset.get("marginTableId")
        if table_id is None:
            tiers = [{"lowerBound": "0", "maxLeverage": asset["maxLeverage"]}]
        elif int(table_id) < _HL_FLAT_TABLES_BELOW:
            tiers = [{"lowerBound": "0", "maxLeverage": int(table_id)}]
        elif int(table_id) in listed:
            tiers = listed[int(table_id)]["marginTiers"]
        else:
            answer = exchange.publicPostInfo({"type": "marginTable", "id": int(table_id)})
            tiers = answer["marginTiers"]
        bounds = [float(t["lowerBound"]) for t in tiers]
        rows = []
        for k, tier in enumerate(tiers):
            lev = float(tier["maxLeverage"])
            cap = bounds[k + 1] if k + 1 < len(bounds) else math.inf
            rows.append({"floor": bounds[k], "cap": cap, "mmr": 1 / (2 * lev), "max_leverage": lev})
        note = f"; margin table {table_id}" if table_id is not None else ""
        tables[coin] = {
            "ccxt_symbol": f"{coin}/USDC:USDC", "product": "linear", "settle": "USDC",
            "contract_size": 1.0, "basis": "notional", "as_of": as_of,
            "source": source + note + "; mmr = 1/(2·max leverage) (Hyperliquid docs, margin tiers)",
            "tiers": rows,
        }
    if progress:
        progress("", len(wanted), len(wanted))
    return tables, []


def refresh(venue: str, symbols: Iterable[str] | None = None, exchange: Any = None, *,
            as_of: str | None = None, progress: Progress | None = None) -> dict:
    """Fetch ``venue``'s current tiers through ccxt and return a schema-1 document.

    Parameters
    ----------
    venue : str
        One of :data:`VENUES`.
    symbols : iterable of str, optional
        ccxt unified symbols or the venue's own ids (``BTCUSDT``, ``BTC-USDT-SWAP``, ``BTC``);
        default: the symbols the venue module names (``Venue.tier_answer.symbols``).
    exchange : ccxt.Exchange, optional
        A configured exchange object (keys, proxies, sandbox). Binance brackets are a signed
        endpoint: pass one with ``apiKey``/``secret``, or set ``MARGINSCOPE_BINANCEUSDM_API_KEY``
        and ``MARGINSCOPE_BINANCEUSDM_SECRET`` (``…BINANCECOINM…`` for COIN-M).
    as_of : str, optional
        Date stamped on each table (default: today, UTC).
    progress : callable, optional
        Called as ``progress(symbol, done, total)`` before each symbol and once at the end.

    Returns
    -------
    dict
        ``{"venue", "schema": 1, "tables": {venue symbol: table}, "warnings": [...]}``.

    Raises
    ------
    InputError
        Unknown venue or symbol.
    RefreshError
        Network, authentication or venue errors, and answers that do not form a valid table.
    """
    import ccxt

    ccxt_id = _check_venue(venue)
    exchange = exchange if exchange is not None else _make_exchange(ccxt_id)
    as_of = as_of or datetime.now(UTC).date().isoformat()
    fetched = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = _answer(venue)
    source = (f"{answer.endpoint} via ccxt {ccxt.__version__} "
              f"({ccxt_id}), fetched {fetched} by marginscope tiers refresh")
    wanted = list(symbols) if symbols else list(answer.symbols)
    try:
        if answer.meta:
            tables, warnings = _hyperliquid(exchange, wanted, as_of, source, progress)
        else:
            tables, warnings = {}, []
            exchange.load_markets()
            markets = [_resolve_market(exchange, venue, s) for s in wanted]
            bulk: dict[str, list] = {}
            if answer.bulk is not None:
                if progress:
                    progress(", ".join(m["id"] for m in markets), 0, len(markets))
                bulk = exchange.fetch_leverage_tiers([m["symbol"] for m in markets],
                                                     dict(answer.bulk))
            for n, market in enumerate(markets):
                if progress and answer.bulk is None:
                    progress(market["id"], n, len(markets))
                tiers = (bulk.get(market["symbol"]) if answer.bulk is not None
                         else exchange.fetch_market_leverage_tiers(market["symbol"]))
                if not tiers:
                    raise RefreshError(f"{venue}: no tiers returned for {market['symbol']}")
                table, notes = tables_from_ccxt_tiers(venue, market, tiers, as_of=as_of,
                                                      source=source)
                tables[market["id"]] = table
                warnings.extend(notes)
            if progress:
                progress("", len(markets), len(markets))
    except ccxt.AuthenticationError as exc:
        raise RefreshError(f"{venue}: the venue refused the request ({_short(exc)}); this "
                           f"endpoint needs an API key: set MARGINSCOPE_{ccxt_id.upper()}_API_KEY "
                           f"and MARGINSCOPE_{ccxt_id.upper()}_SECRET") from exc
    except ccxt.NetworkError as exc:
        raise RefreshError(f"{venue}: network error talking to {ccxt_id} ({_short(exc)})") from exc
    except ccxt.BaseError as exc:
        raise RefreshError(f"{venue}: {ccxt_id} answered with an error ({_short(exc)})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise RefreshError(f"{venue}: unexpected answer from {ccxt_id} ({exc!r})") from exc
    return {"venue": venue, "schema": 1, "tables": tables, "warnings": warnings}


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_tables(venue: str, document: dict, path: str | os.PathLike[str] | None = None, *,
                 merge: bool = True) -> Path:
    """Validate ``document`` and write it as ``<venue>.json`` (default: the package data dir).

    Every table is checked with :func:`marginscope.risk.tiers.table_from_dict` (order, cum rule)
    before anything is written. The file keeps dated vintages: with ``merge`` (default) a new
    table is added next to the symbol's tables of other dates (one of the same date is
    replaced), and symbols the document does not mention are kept. Returns the path written.
    """
    _check_venue(venue)
    if document.get("venue", venue) != venue:
        raise InputError("venue", document.get("venue"), f"{venue} (the document's venue)")
    target = Path(path) if path is not None else default_path(venue)
    if target.is_dir():
        target = target / f"{venue}.json"
    vintages: dict[str, dict[str, dict]] = {}
    if merge and target.is_file():
        for symbol, entry in json.loads(target.read_text(encoding="utf-8")).get(
                "tables", {}).items():
            vintages[symbol] = {t.get("as_of", ""): t
                                for t in (entry if isinstance(entry, list) else [entry])}
    for symbol, table in document.get("tables", {}).items():
        vintages.setdefault(symbol, {})[table.get("as_of", "")] = table
    tables: dict[str, Any] = {}
    for symbol, by_date in vintages.items():
        try:
            # round-trip through the model: normalized rows, open top tier as null (strict JSON)
            rows = [table_from_dict(venue, symbol, by_date[day]).to_dict()
                    for day in sorted(by_date)]
        except (KeyError, ValueError) as exc:
            raise RefreshError(f"{venue} {symbol}: not a valid tier table ({exc})") from exc
        tables[symbol] = rows[0] if len(rows) == 1 else rows
    out = {"venue": venue, "schema": 2, "tables": tables}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                      encoding="utf-8")
    clear_cache()
    return target
