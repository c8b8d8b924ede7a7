"""Real calculator inputs for simulated setups, run through the calculators (the risk engine).

An event keeps only coarse context (tool, side, leverage bucket, notional bucket, venue).
For a sample of events this module rebuilds a full input a trader could have typed, starting
from the calculator's declared example (``REGISTRY[name].example``) and replacing the fields
the simulation knows:

* prices are REAL: the mark is the BTC price at the event's time (Binance 4h close in
  November, Yahoo daily close in October); the entry is the real price at a time drawn up to
  ten days earlier (an assumption about holding periods); funding uses the collected Binance
  print nearest in time (October's from ``sim/data``, :func:`.path.lead_in_funding`); volatility is the realized volatility of the 30 daily closes before
  the day;
* sizes come from the event's buckets: notional drawn uniformly on a log scale within its
  half-decade bucket, the leverage bucket's edge as leverage;
* choices a trader makes (stop distance, target price, take-profit, margin to add) are drawn
  from stated ranges (assumptions, below).

Only BTC is priced (the shipped data are BTC): events on other coins get BTC inputs. Venues
without a shipped BTC tier table (bitmex, binance-coinm, gate, generic) are computed with
Binance USDⓈ-M's. :func:`run_sample` runs the payloads and counts successes and rejections
per tool, so the engine is exercised on simulated setups and nothing fails silently.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from marginscope.errors import InputError
from marginscope.market import load_snapshot
from marginscope.risk.instruments import Instrument, map_to_venue, venue_symbol
from marginscope.risk.tiers import find_table
from marginscope.risk.venues import VENUES
from marginscope.sim.market_state import MarketState

__all__ = ["BTC_SYMBOL", "InputsRun", "calculator_for", "payloads", "run_sample"]

def _btc_symbols() -> dict[str, str]:
    """Venue → its BTC/USDT perpetual (or the venue's main quote: Hyperliquid's USDC), for
    the venues that ship a tier table for it, in registry order."""
    btc = Instrument("BTC", "USDT", "USDT")
    found = {}
    for venue, declared in VENUES.items():
        if "linear" not in declared.products:
            continue
        symbol = venue_symbol(venue, map_to_venue(btc, venue))
        if find_table(venue, symbol) is not None:
            found[venue] = symbol
    return found


BTC_SYMBOL: dict[str, str] = _btc_symbols()
"""Venue → BTC instrument with a shipped tier table; other venues are computed with the first
(Binance USDⓈ-M)."""


def calculator_for(tool: str) -> str:
    """The calculator (``REGISTRY`` name) a tool id's events are rebuilt for: the one of the
    calculators declaring ``tool`` that this module builds inputs for."""
    from marginscope.calculators import REGISTRY

    names = [name for name in _BUILDERS if REGISTRY[name].tool == tool]
    if len(names) != 1:
        raise InputError("tool", tool, " | ".join(REGISTRY[name].tool for name in _BUILDERS))
    return names[0]


@dataclass
class InputsRun:
    """What :func:`run_sample` did: runs, rejections per tool, the first few messages."""

    attempted: int = 0
    succeeded: int = 0
    by_tool: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"attempted": self.attempted, "succeeded": self.succeeded,
                "by_tool": dict(self.by_tool), "rejected": dict(self.rejected),
                "messages": self.messages, "seconds": round(self.seconds, 3)}


class _Prices:
    """Real BTC prices, funding prints and realized volatility, looked up by time."""

    def __init__(self, state: MarketState) -> None:
        self.state = state
        data = load_snapshot()
        daily = max((s for s in data.ohlcv if s.timeframe == "1d"), key=len)
        self.daily_days = daily.time.astype("datetime64[D]")
        self.daily_close = daily.close
        from marginscope.sim.path import lead_in_funding

        funding = [f for f in (*lead_in_funding().funding, *data.funding) if len(f)]
        self.funding_us = (np.concatenate([f.time_ms for f in funding]) * 1000
                           if funding else np.zeros(0, np.int64))
        self.funding_rate = (np.concatenate([f.funding_rate for f in funding])
                             if funding else np.zeros(0))

    def mark(self, ts_us: int) -> float:
        return float(self.state.price_at(np.asarray([ts_us]))[0])

    def funding(self, ts_us: int) -> float | None:
        if not len(self.funding_us):
            return None
        return float(self.funding_rate[int(np.argmin(np.abs(self.funding_us - ts_us)))])

    def volatility(self, ts_us: int) -> float:
        day = np.datetime64(ts_us, "us").astype("datetime64[D]")
        end = int(np.searchsorted(self.daily_days, day))
        closes = self.daily_close[max(0, end - 31):end]
        if len(closes) < 3:
            closes = self.daily_close[:31]
        returns = np.diff(np.log(closes))
        return float(np.std(returns, ddof=1) * math.sqrt(365.0))


def _within_limit(venue: str, symbol: str, notional: float, qty: float,
                  leverage: float) -> float:
    """The trader's leverage, lowered to the venue's tier limit for the size (as the venue's
    slider would)."""
    from marginscope.risk.tiers import find_table

    table = find_table(venue, symbol)
    if table is None:
        return leverage
    size = qty if table.basis == "quantity" else notional
    return float(min(leverage, float(table.max_leverage_for(size))))


@dataclass(frozen=True)
class _Setup:
    """What every rebuilt input starts from (drawn in this order, then the builder's draws)."""

    row: dict[str, Any]
    prices: _Prices
    rng: np.random.Generator
    ts_us: int
    mark: float
    entry: float
    side: str
    sign: float
    leverage: float
    notional: float
    qty: float
    venue: str
    symbol: str


def _position(s: _Setup, margin_call: bool = False) -> dict[str, Any]:
    mode = s.row["margin_mode"] or "isolated"
    body = {"venue": s.venue, "symbol": s.symbol, "side": s.side, "qty": s.qty,
            "entry_price": s.entry, "mark_price": s.mark, "leverage": s.leverage,
            "margin_mode": mode}
    if mode == "cross":  # the cross wallet: 1-3 × the position's margin (assumption)
        body["margin"] = round(s.notional / s.leverage * s.rng.uniform(1, 3), 2)
    if margin_call:  # the price to survive: 3-12 % beyond the mark (assumption)
        body["target_price"] = s.mark * (1 - s.sign * s.rng.uniform(0.03, 0.12))
    return body


def _leverage(s: _Setup) -> dict[str, Any]:
    return {"venue": s.venue, "symbol": s.symbol, "balance": round(s.notional / s.leverage, 2),
            "price": s.mark, "leverage": s.leverage}


def _position_size(s: _Setup) -> dict[str, Any]:
    # risk 0.5-2 % of the balance, stop 1-5 % away (assumption)
    return {"balance": round(s.notional / s.leverage * s.rng.uniform(1, 3), 2),
            "risk_fraction": float(s.rng.choice([0.005, 0.01, 0.02])), "entry_price": s.mark,
            "stop_price": s.mark * (1 - s.sign * s.rng.uniform(0.01, 0.05)), "side": s.side,
            "leverage": s.leverage}


def _pnl(s: _Setup) -> dict[str, Any]:
    return {"side": s.side, "qty": s.qty, "entry_price": s.entry, "exit_price": s.mark,
            "leverage": s.leverage, "open_fee_rate": 0.0005, "close_fee_rate": 0.0005}


def _funding(s: _Setup) -> dict[str, Any]:
    rate = s.prices.funding(s.ts_us)
    body = {"side": s.side, "qty": s.qty, "mark_price": s.mark, "intervals": 3}
    if rate is not None:
        body["funding_rate"] = rate
    return body


def _average(s: _Setup) -> dict[str, Any]:
    # a second fill at the mark, 0.5-1.5 × the first (assumption)
    return {"fills": [{"qty": s.qty, "price": s.entry},
                      {"qty": round(s.qty * s.rng.uniform(0.5, 1.5), 6) or s.qty,
                       "price": s.mark}]}


def _stops(s: _Setup) -> dict[str, Any]:
    # stop 1-5 %, take-profit 2-10 % from the mark (assumption)
    return {"side": s.side, "entry_price": s.mark,
            "stop_loss": s.mark * (1 - s.sign * s.rng.uniform(0.01, 0.05)),
            "take_profit": s.mark * (1 + s.sign * s.rng.uniform(0.02, 0.1)), "qty": s.qty}


def _liquidation_risk(s: _Setup) -> dict[str, Any]:
    # liquidation 90 % of 1/leverage away (isolated, rough)
    return {"side": s.side, "price": s.mark,
            "liquidation_price": s.mark * (1 - s.sign * 0.9 / max(s.leverage, 1.0)),
            "volatility": s.prices.volatility(s.ts_us), "horizon_days": 7}


def _scenario(s: _Setup) -> dict[str, Any]:
    # replay the real November path; top up half the margin
    body = {"venue": s.venue, "symbol": s.symbol, "side": s.side, "qty": s.qty,
            "leverage": s.leverage, "path": "november-2025",
            "add": round(s.notional / s.leverage * 0.5, 2) or 1.0, "at_margin_ratio": 0.8,
            "max_times": 1}
    day = str(s.row["ts"].date())
    if "2025-11-01" <= day <= "2025-11-29":
        body["start"] = day
    return body


_BUILDERS: dict[str, Callable[[_Setup], dict[str, Any]]] = {
    "liquidation": _position, "margin-call": partial(_position, margin_call=True),
    "leverage": _leverage, "position-size": _position_size, "pnl": _pnl,
    "funding": _funding, "average": _average, "stops": _stops,
    "liquidation-risk": _liquidation_risk, "scenario": _scenario,
}
"""Calculator name → the builder of its input from a simulated setup; the tool id each is
rebuilt for is its declaration's (:func:`calculator_for`)."""


def _payload(tool: str, row: dict[str, Any], prices: _Prices, rng: np.random.Generator
             ) -> tuple[str, dict[str, Any]]:
    name = calculator_for(tool)
    ts_us = int(row["ts"].timestamp() * 1_000_000)
    first_us = int(prices.state.days[0].astype("datetime64[us]").astype(np.int64))
    mark = prices.mark(ts_us)
    entry = prices.mark(max(first_us, ts_us - int(rng.uniform(0, 10) * 86_400_000_000)))
    side = row["side"] or ("long" if rng.random() < 0.65 else "short")
    leverage = float(row["leverage"] or 10)
    bucket = row["notional_bucket"]
    low = max(float(bucket), 10.0) if bucket is not None else 300.0
    notional = low * math.exp(rng.uniform(0.0, math.log(10) / 2))
    qty = round(notional / entry, 6) or 0.000001
    venue = row["venue"] if row["venue"] in BTC_SYMBOL else next(iter(BTC_SYMBOL))
    symbol = BTC_SYMBOL[venue]
    leverage = _within_limit(venue, symbol, notional, qty, leverage)
    setup = _Setup(row=row, prices=prices, rng=rng, ts_us=ts_us, mark=mark, entry=entry,
                   side=side, sign=1.0 if side == "long" else -1.0, leverage=leverage,
                   notional=notional, qty=qty, venue=venue, symbol=symbol)
    return name, _BUILDERS[name](setup)


def payloads(table: pa.Table, state: MarketState, *, sample: int | None = 1000,
             seed: int = 0) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(calculator name, input, event row)`` for ``sample`` events drawn without replacement
    (all events when ``sample`` is None), in the table's order."""
    rng = np.random.default_rng(seed)
    rows = np.arange(table.num_rows)
    if sample is not None and sample < table.num_rows:
        rows = np.sort(rng.choice(table.num_rows, sample, replace=False))
    prices = _Prices(state)
    picked = table.take(pa.array(rows)).to_pylist()
    for row in picked:
        name, body = _payload(row["tool"], row, prices, rng)
        yield name, body, row


def run_sample(table: pa.Table, state: MarketState, *, sample: int = 1000, seed: int = 0,
               keep_messages: int = 5) -> InputsRun:
    """Run ``sample`` simulated setups through ``REGISTRY[name].run``; count the outcomes."""
    from marginscope.calculators import REGISTRY

    outcome = InputsRun()
    began = time.perf_counter()
    for name, body, row in payloads(table, state, sample=sample, seed=seed):
        outcome.attempted += 1
        try:
            REGISTRY[name].run(body)
        except InputError as exc:
            outcome.rejected[row["tool"]] += 1
            if len(outcome.messages) < keep_messages:
                outcome.messages.append(f"{name}: {exc}")
            continue
        outcome.succeeded += 1
        outcome.by_tool[row["tool"]] += 1
    outcome.seconds = time.perf_counter() - began
    return outcome
