"""Stress path: replay a real or scripted price path against a position, with an optional
margin-defense plan (issue 3, part 2).

The path is the shipped Binance BTCUSDT perpetual 4h bars of November 2025 (``"november-2025"``,
optionally cut with ``start``/``end``) or a scripted one (``"-10%/4h, 0%/3d"``); the position is
the risk engine's (:class:`~marginscope.scenarios.position.EnginePosition`, any venue); the rules
of the walk are :func:`marginscope.scenarios.replay.replay`'s.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from marginscope.calculators.account import AsOf, VenueName
from marginscope.calculators.base import (
    FUTURES,
    Calculator,
    FeeRate,
    Leverage,
    Price,
    Quantity,
    Rate,
    Request,
    register,
)
from marginscope.errors import InputError
from marginscope.risk.contracts import Product
from marginscope.risk.venues import DEFAULT_VENUE

NOVEMBER = "november-2025"
MAX_BARS = 5_000          # a scripted path is at most this many bars (≈ 7 months of 1h bars)
MAX_PRICE = 1e12          # as the calculators' Price field
BAR_SECONDS = {"5m": 300, "15m": 900, "30m": 1_800, "1h": 3_600, "4h": 14_400, "1d": 86_400}
BARS = tuple(BAR_SECONDS)
UtcTime = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?$",
                               description="UTC date or time, e.g. 2025-11-10 or "
                                           "2025-11-10T08:00:00Z")]


class ScenarioRequest(Request):
    venue: VenueName = DEFAULT_VENUE
    symbol: str | None = Field(None, min_length=1, max_length=40,
                               description="Venue notation (BTCUSDT, BTC, XBTUSD…); needed "
                                           "unless mmr is given")
    side: Literal["long", "short"]
    qty: Quantity = Field(description="Base units (linear) or contracts (inverse)")
    entry_price: Price | None = Field(
        None, description="Default: the path's first open (scripted: start_price)")
    leverage: Leverage | None = Field(None, description="Margin = notional at entry / leverage")
    margin: Annotated[float, Field(ge=1e-9, le=1e15, allow_inf_nan=False)] | None = Field(
        None, description="Isolated margin, settle currency (wins over leverage)")
    contract_size: Annotated[float, Field(ge=1e-12, le=1e9, allow_inf_nan=False)] | None = None
    mmr: Rate | None = Field(None, description="Override of the tier table's MMR")
    maintenance_amount: Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)] | None = None
    max_leverage: Leverage | None = Field(None, description="Hyperliquid derives MMR from it")
    taker_fee: FeeRate | None = None
    product: Product | None = Field(None, description="linear | inverse; follows the symbol")
    as_of: AsOf | None = Field(None, description="Tier table in force on this date")
    path: str = Field(
        NOVEMBER, min_length=1, max_length=300,
        description='"november-2025" (shipped Binance BTCUSDT perpetual 4h bars, Nov 1–30 '
                    '2025) or scripted legs "move/duration, …", e.g. "-10%/4h, 0%/3d"')
    start: UtcTime | None = Field(None, description="november-2025 only: first bar (UTC)")
    end: UtcTime | None = Field(None, description="november-2025 only: bars before this time")
    start_price: Price | None = Field(
        None, description="Scripted path: first price (default entry_price)")
    bar: Literal[BARS] = Field("1h", description="Scripted path: bar length")  # type: ignore[valid-type]
    funding: Literal["november-2025", "constant", "none"] | None = Field(
        None, description="Funding prints: the shipped Binance BTCUSDT November 2025 prints, a "
                          "constant rate, or none (default: shipped for the november-2025 "
                          "path, none for a scripted one)")
    funding_rate: float = Field(0.0001, ge=-0.01, le=0.01, allow_inf_nan=False,
                                description="Constant funding rate per print (+: longs pay)")
    funding_interval_hours: float = Field(8.0, ge=1, le=24, allow_inf_nan=False,
                                          description="Constant funding: hours between prints")
    add: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)] | None = Field(
        None, description="Defense plan: margin to add (settle currency) when the margin "
                          "ratio reaches at_margin_ratio")
    at_margin_ratio: float = Field(0.8, ge=0.01, lt=1, allow_inf_nan=False,
                                   description="Defense plan: trigger, maintenance / equity")
    max_times: int = Field(1, ge=1, le=100, description="Defense plan: most top-ups")


def _path_error(exc: InputError) -> InputError:
    return InputError("path", exc.value, exc.allowed, f"in {exc.field}")


def _scripted(r: ScenarioRequest) -> Any:
    from marginscope.scenarios.paths import parse_legs, scripted_path

    if r.start is not None or r.end is not None:
        raise InputError("start" if r.start is not None else "end", r.start or r.end,
                         f'only with path "{NOVEMBER}" (a scripted path starts at its first leg)')
    try:
        legs = parse_legs(r.path)
    except InputError as exc:
        raise InputError("path", r.path, f'"{NOVEMBER}" or scripted legs like "-10%/4h, 0%/3d"',
                         f"{exc.field}: {exc.allowed}") from None
    start_price = r.start_price or r.entry_price
    if start_price is None:
        raise InputError("start_price", None, "a price for a scripted path (or entry_price)")
    bars = sum(hours for hours, _ in legs) * 3600.0 / BAR_SECONDS[r.bar]
    if bars > MAX_BARS:
        raise InputError("path", r.path, f"at most {MAX_BARS:,} bars of {r.bar} "
                                         f"(this one has {bars:,.0f})")
    try:
        with np.errstate(over="ignore"):
            path = scripted_path(start_price, legs, bar=r.bar)
    except InputError as exc:
        raise _path_error(exc) from None
    if float(path.high.max()) >= MAX_PRICE or float(path.low.min()) < 1e-12:
        raise InputError("path", r.path, f"prices between 1e-12 and {MAX_PRICE:g}")
    return path


def _is_bitcoin(symbol: str) -> bool:
    name = symbol.upper()
    return name.startswith(("BTC", "XBT"))


def _november(r: ScenarioRequest) -> Any:
    from marginscope.scenarios.paths import load_ohlc

    if r.symbol is not None and not _is_bitcoin(r.symbol):
        raise InputError("symbol", r.symbol, f"a BTC contract for the {NOVEMBER} path "
                                             "(it holds BTCUSDT prices), or none with mmr")
    if r.start_price is not None:
        raise InputError("start_price", r.start_price, "only with a scripted path")
    path = load_ohlc()
    start, end = _time("start", r.start), _time("end", r.end)
    if start is not None and end is not None and end <= start:
        raise InputError("end", r.end, f"after start ({r.start})")
    keep = np.ones(len(path), dtype=bool)
    if start is not None:
        keep &= path.times >= start
    if end is not None:
        keep &= path.times < end
    if not keep.any():
        name = "start" if start is not None else "end"
        raise InputError(name, r.start if start is not None else r.end,
                         f"a time within the path ({path.times[0]}Z … {path.times[-1]}Z)")
    return path.between(r.start, r.end) if not keep.all() else path


def _time(name: str, text: str | None) -> np.datetime64 | None:
    """A UTC date or time as ``datetime64[s]`` (the model's pattern has checked its shape)."""
    if text is None:
        return None
    try:
        return np.datetime64(text.removesuffix("Z"), "s")
    except ValueError:
        raise InputError(name, text, "a valid UTC date or time, e.g. 2025-11-10") from None


def _funding(r: ScenarioRequest, path: Any, scripted: bool) -> tuple[Any, str]:
    from marginscope.scenarios.paths import FundingSeries, load_funding

    mode = r.funding or ("none" if scripted else NOVEMBER)
    if mode == NOVEMBER:
        series = load_funding()
        return series, "Binance BTCUSDT funding prints, Nov 2025 (shipped)"
    if mode == "constant":
        end = path.times[-1] + np.timedelta64(path.bar_seconds, "s")
        series = FundingSeries.constant(r.funding_rate, path.times[0], end,
                                        r.funding_interval_hours)
        return series, f"constant {r.funding_rate:g} every {r.funding_interval_hours:g}h"
    return None, "none"


def _settle(position: Any) -> str:
    lookup = position.terms.lookup
    if lookup is not None and lookup.tables:
        return lookup.tables[0].settle
    return "coin" if position.product == "inverse" else "quote"


def _rows(series: Any) -> list[dict[str, Any]]:
    from marginscope.scenarios.paths import iso

    def num(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    return [{"time": iso(series.time[i]), "open": num(series.open[i]),
             "high": num(series.high[i]), "low": num(series.low[i]),
             "close": num(series.close[i]), "margin": num(series.margin[i]),
             "equity": num(series.equity[i]), "margin_ratio": num(series.margin_ratio[i]),
             "liquidation_price": num(series.liquidation_price[i]),
             "funding_paid": num(series.funding[i]),
             "funding_paid_cumulative": num(series.cumulative_funding[i]),
             "top_up": num(series.top_up[i])}
            for i in range(len(series.time))]


def compute(r: ScenarioRequest) -> dict[str, Any]:
    from marginscope.scenarios import DefensePlan, EnginePosition, replay
    from marginscope.scenarios.paths import iso

    scripted = r.path != NOVEMBER
    path = _scripted(r) if scripted else _november(r)
    entry = r.entry_price or float(path.open[0])
    position = EnginePosition.open(
        venue=r.venue, symbol=r.symbol, side=r.side, qty=r.qty, entry=entry,
        leverage=r.leverage, margin=r.margin, mmr=r.mmr,
        maintenance_amount=r.maintenance_amount, max_leverage=r.max_leverage,
        contract_size=r.contract_size, taker_fee=r.taker_fee, product=r.product,
        as_of=r.as_of)
    funding, funding_source = _funding(r, path, scripted)
    plan = DefensePlan(r.add, r.at_margin_ratio, r.max_times) if r.add else None
    result = replay(path, position, funding=funding, plan=plan)
    s = result.summary
    bar = np.timedelta64(path.bar_seconds, "s")
    liquidation_end = (iso(path.times[s.liquidation_bar] + bar) if s.liquidated else None)
    return {
        "summary": {
            "margin_currency": _settle(position),
            "liquidated": s.liquidated,
            "liquidation_time": s.liquidation_time,
            "liquidation_bar_end": liquidation_end,
            "liquidation_price": s.liquidation_price,
            "initial_margin": s.initial_margin,
            "initial_liquidation_price": s.initial_liquidation_price,
            "funding_paid": s.funding_paid,
            "funding_prints": s.funding_prints,
            "margin_added": s.top_up_total,
            "top_ups": [t.to_dict() for t in s.top_ups],
            "worst_margin_ratio": s.worst_margin_ratio,
            "final_price": s.final_price,
            "final_equity": s.final_equity,
            "net_pnl": s.net_pnl,
            "net_cost": -s.net_pnl,
        },
        "position": position.to_dict(),
        "path": {
            "name": "scripted" if scripted else NOVEMBER,
            "kind": "scripted" if scripted else "real",
            "legs": r.path if scripted else None,
            "description": (f"scripted {r.path} from {path.open[0]:,.2f}, {r.bar} bars"
                            if scripted else
                            "Binance BTCUSDT perpetual 4h bars (last price), real data"),
            "source": path.source, "bars": len(path), "bar_hours": path.bar_seconds / 3600,
            "start": iso(path.times[0]), "end": iso(path.times[-1] + bar),
        },
        "funding": {"source": funding_source},
        "plan": plan.to_dict() if plan else None,
        "series": _rows(result.series),
    }


EXAMPLE = {"venue": DEFAULT_VENUE, "symbol": "BTCUSDT", "side": "long", "qty": 0.1,
           "leverage": 10, "path": NOVEMBER, "add": 1000.0, "at_margin_ratio": 0.8,
           "max_times": 2}

register(Calculator(
    name="scenario", tool="scenario", stage="rebuild", title="Stress path",
    records=replace(FUTURES, margin_mode=None),
    summary="Replay a real (Binance BTCUSDT, Nov 2025, 4h) or scripted price path against a "
            "position: equity, margin ratio, funding, liquidation, top-up plan.",
    model=ScenarioRequest, compute=compute, example=EXAMPLE))
