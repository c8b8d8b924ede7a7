"""Price paths to replay: the shipped November 2025 data, any OHLC CSV, or a scripted path.

The shipped series live in the package (``marginscope/market/data/``, read with
:mod:`importlib.resources`); every loader also takes an explicit ``path``. Files (provenance in
that folder's README): ``btcusdt_perp_4h_2025-11.csv`` (Binance USDⓈ-M ``GET /fapi/v1/klines``,
BTCUSDT, 4h, Nov 1–30 2025), ``btcusdt_funding_2025-11.csv`` (``GET /fapi/v1/fundingRate``, every
8 h), ``btc_daily_2025.csv`` (Yahoo Finance BTC-USD daily).

The klines are *last-price* bars; Binance liquidates on the *mark* price, which tracks the last
price closely but not exactly. A replay on these bars is therefore an approximation of the venue's
decision to within the mark/last spread (typically a few USDT on BTCUSDT).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from marginscope.errors import InputError
from marginscope.risk import validate as v

__all__ = [
    "FundingSeries",
    "PricePath",
    "as_path",
    "iso",
    "load_funding",
    "load_ohlc",
    "november_2025",
    "parse_legs",
    "scripted_path",
]

KLINES_4H = "btcusdt_perp_4h_2025-11.csv"
FUNDING_8H = "btcusdt_funding_2025-11.csv"
DAILY = "btc_daily_2025.csv"
_PACKAGE_DATA = ("marginscope.market", "data")


def iso(t: np.datetime64) -> str:
    """``2025-11-04T20:00:00Z`` for a UTC ``datetime64``."""
    return str(np.datetime_as_string(np.datetime64(t, "s"), unit="s")) + "Z"


def _utc(text: str) -> np.datetime64:
    """Parse an ISO time or date as UTC ``datetime64[ms]`` (a trailing ``Z`` is accepted)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1]
    elif re.search(r"[+-]\d\d:\d\d$", text):
        if not text.endswith(("+00:00", "-00:00")):
            raise InputError("time", text, "UTC times (suffix Z or +00:00)")
        text = text[:-6]
    try:
        return np.datetime64(text, "ms")
    except ValueError as exc:
        raise InputError("time", text, "an ISO 8601 date or time") from exc


def _open_text(name: str, path: str | Path | None) -> str:
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    ref = resources.files(_PACKAGE_DATA[0]).joinpath(_PACKAGE_DATA[1], name)
    if not ref.is_file():
        raise FileNotFoundError(
            f"{name} is not shipped in marginscope/market/data/; pass path= to a copy of it")
    return ref.read_text(encoding="utf-8")


@dataclass(frozen=True)
class PricePath:
    """OHLC bars; ``times`` are bar open times (UTC, ``datetime64[s]``), each bar
    ``bar_seconds`` long."""

    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    bar_seconds: int
    source: str = ""

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype="datetime64[s]")
        cols = {k: v.series(k, getattr(self, k), min_length=1)
                for k in ("open", "high", "low", "close")}
        n = times.size
        if n == 0 or any(c.size != n for c in cols.values()):
            raise InputError("times", f"{n} times", "one time per bar, at least one bar")
        if n > 1 and not (np.diff(times) > np.timedelta64(0, "s")).all():
            raise InputError("times", "not increasing", "strictly increasing bar open times")
        o, h, lo, c = cols["open"], cols["high"], cols["low"], cols["close"]
        bad = (lo > np.minimum(o, c)) | (h < np.maximum(o, c))
        if bad.any():
            raise InputError("low/high", iso(times[bad][0]), "low ≤ open, close ≤ high")
        v.integer("bar_seconds", self.bar_seconds)
        object.__setattr__(self, "times", times)
        for k, col in cols.items():
            object.__setattr__(self, k, col)

    def __len__(self) -> int:
        return int(self.times.size)

    def between(self, start: str | np.datetime64 | None = None,
                end: str | np.datetime64 | None = None) -> PricePath:
        """The bars whose open time is in ``[start, end)``."""
        keep = np.ones(len(self), dtype=bool)
        if start is not None:
            keep &= self.times >= np.datetime64(_utc(str(start)), "s")
        if end is not None:
            keep &= self.times < np.datetime64(_utc(str(end)), "s")
        if not keep.any():
            raise InputError("start/end", f"{start}..{end}", "a window containing bars")
        return PricePath(self.times[keep], self.open[keep], self.high[keep], self.low[keep],
                         self.close[keep], self.bar_seconds, self.source)

    def to_dict(self) -> dict[str, Any]:
        return {"time": [iso(t) for t in self.times], "open": self.open.tolist(),
                "high": self.high.tolist(), "low": self.low.tolist(),
                "close": self.close.tolist(), "bar_seconds": self.bar_seconds,
                "source": self.source}


@dataclass(frozen=True)
class FundingSeries:
    """Funding prints: settlement ``times`` (UTC, ``datetime64[s]``) and ``rates`` per print."""

    times: np.ndarray
    rates: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype="datetime64[s]")
        rates = v.series("rates", self.rates, min_length=0, positive=False)
        if times.size != rates.size:
            raise InputError("times", f"{times.size} times", f"{rates.size} (one per rate)")
        if times.size > 1 and not (np.diff(times) > np.timedelta64(0, "s")).all():
            raise InputError("times", "not increasing", "strictly increasing settlement times")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "rates", rates)

    @classmethod
    def constant(cls, rate: float, start: str | np.datetime64, end: str | np.datetime64,
                 every_hours: float = 8.0) -> FundingSeries:
        """A constant ``rate`` settled every ``every_hours`` on the UTC grid (00/08/16 for 8 h)
        from ``start`` (inclusive) to ``end`` (exclusive)."""
        r = v.scalar("rate", rate)
        step = round(v.scalar("every_hours", every_hours, low=0.0) * 3600)
        t0 = np.datetime64(_utc(str(start)), "s").astype(np.int64)
        t1 = np.datetime64(_utc(str(end)), "s").astype(np.int64)
        first = -(-t0 // step) * step
        times = np.arange(first, t1, step).astype("datetime64[s]")
        return cls(times, np.full(times.size, r), f"constant {r:g} every {every_hours:g}h")

    def per_bar(self, path: PricePath) -> tuple[np.ndarray, np.ndarray]:
        """Funding settled in each bar of ``path``: (sum of rates, number of prints).

        A print at ``τ`` belongs to the bar with ``tᵢ ≤ τ < tᵢ + bar``; prints at exactly the
        first bar's open are left out (a position opened at that open misses that settlement).
        The sum is what a bar-aligned ``funding`` array for
        :func:`~marginscope.scenarios.bootstrap.bootstrap_probability` wants.
        """
        n = len(path)
        rates, counts = np.zeros(n), np.zeros(n, dtype=int)
        if self.times.size:
            idx = np.searchsorted(path.times, self.times, side="right") - 1
            safe = np.clip(idx, 0, n - 1)
            inside = ((idx >= 0) & (self.times > path.times[0])
                      & (self.times < path.times[safe] + np.timedelta64(path.bar_seconds, "s")))
            np.add.at(rates, idx[inside], self.rates[inside])
            np.add.at(counts, idx[inside], 1)
        return rates, counts

    def to_dict(self) -> dict[str, Any]:
        return {"time": [iso(t) for t in self.times], "rate": self.rates.tolist(),
                "source": self.source}


def load_ohlc(path: str | Path | None = None, *, name: str = KLINES_4H,
              bar_seconds: int | None = None) -> PricePath:
    """Read an OHLC CSV: first column the bar open time (ISO time or date, UTC), then columns
    named ``open, high, low, close`` (any order; other columns ignored).

    Without ``path`` the shipped file ``name`` is read from the package. ``bar_seconds``
    defaults to the smallest gap between consecutive bars.
    """
    text = _open_text(name, path)
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    missing = [k for k in ("open", "high", "low", "close") if k not in fields]
    if not fields or missing:
        raise InputError("columns", fields, "a time column first, then open, high, low, close")
    rows = list(reader)
    times = np.array([_utc(r[fields[0]]) for r in rows], dtype="datetime64[s]")
    cols = {k: np.array([float(r[k]) for r in rows]) for k in ("open", "high", "low", "close")}
    if bar_seconds is None:
        gaps = np.diff(times).astype(np.int64)
        bar_seconds = int(gaps.min()) if gaps.size else 86_400
    source = rows[0].get("source", "") if rows else ""
    return PricePath(times, cols["open"], cols["high"], cols["low"], cols["close"],
                     bar_seconds, source or str(path or name))


def load_funding(path: str | Path | None = None, *, name: str = FUNDING_8H,
                 interval_hours: float = 8.0) -> FundingSeries:
    """Read funding prints (``funding_time_utc, funding_rate``), times floored to the
    ``interval_hours`` grid (Binance's ``fundingTime`` carries a few ms of jitter)."""
    text = _open_text(name, path)
    rows = list(csv.DictReader(io.StringIO(text)))
    step = round(interval_hours * 3600 * 1000)
    ms = np.array([_utc(r["funding_time_utc"]) for r in rows], dtype="datetime64[ms]")
    floored = (ms.astype(np.int64) // step * step).astype("datetime64[ms]")
    rates = np.array([float(r["funding_rate"]) for r in rows])
    source = rows[0].get("source", "") if rows else ""
    return FundingSeries(floored.astype("datetime64[s]"), rates, source or str(path or name))


def november_2025(path: str | Path | None = None,
                  funding_path: str | Path | None = None) -> tuple[PricePath, FundingSeries]:
    """The shipped Binance BTCUSDT perpetual 4h bars and 8h funding prints of November 2025."""
    return load_ohlc(path, name=KLINES_4H), load_funding(funding_path, name=FUNDING_8H)


# ----------------------------------------------------------------------------------------------
# Scripted paths
# ----------------------------------------------------------------------------------------------
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$", re.IGNORECASE)


def _seconds(duration: float | str, field: str) -> float:
    if isinstance(duration, str):
        match = _DURATION.match(duration)
        if not match:
            raise InputError(field, duration, 'hours as a number, or "30m", "4h", "3d"')
        return float(match.group(1)) * _UNITS[match.group(2).lower()]
    return v.scalar(field, duration, low=0.0) * 3600.0


def _move(move: float | str, field: str) -> float:
    if isinstance(move, str):
        text = move.strip().replace("−", "-")
        try:
            value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError as exc:
            raise InputError(field, move, 'a fraction (-0.1) or a percentage ("-10%")') from exc
    else:
        value = v.scalar(field, move)
    if not value > -1.0 or not math.isfinite(value):
        raise InputError(field, move, "> -100% and finite")
    return value


def parse_legs(spec: str) -> list[tuple[float, float]]:
    """``"-10%/4h, 0%/3d"`` → ``[(4.0, -0.10), (72.0, 0.0)]`` (hours, fractional move).

    Legs are separated by commas or semicolons; each is ``move/duration``.
    """
    legs = []
    for i, part in enumerate(p for p in re.split(r"[;,]", spec) if p.strip()):
        if "/" not in part:
            raise InputError(f"legs[{i}]", part.strip(), '"<move>/<duration>", e.g. "-10%/4h"')
        move, duration = part.split("/", 1)
        legs.append((_seconds(duration, f"legs[{i}].duration") / 3600.0,
                     _move(move, f"legs[{i}].move")))
    if not legs:
        raise InputError("legs", spec, 'at least one leg, e.g. "-10%/4h, 0%/3d"')
    return legs


def scripted_path(
    start_price: float,
    legs: Sequence[tuple[float | str, float | str]] | str,
    *,
    bar: float | str = "1h",
    start: str = "2025-11-01T00:00:00Z",
) -> PricePath:
    """A path from legs ``(duration, move)``: "−10% in 4 hours, then sideways for 3 days" is
    ``[("4h", -0.10), ("3d", 0.0)]`` or the string ``"-10%/4h, 0%/3d"``.

    Durations are hours (numbers) or ``"30m"/"4h"/"3d"`` and must be whole multiples of ``bar``;
    moves are fractions or ``"-10%"``. Within a leg the price moves geometrically, one equal
    log step per bar; each bar's high and low are its open and close (no intrabar wick).
    """
    p0 = v.scalar("start_price", start_price, low=0.0)
    bar_s = _seconds(bar, "bar")
    if bar_s <= 0 or bar_s != int(bar_s):
        raise InputError("bar", bar, "a positive whole number of seconds")
    if isinstance(legs, str):
        legs = parse_legs(legs)
    closes: list[float] = []
    level = p0
    for i, leg in enumerate(legs):
        if not isinstance(leg, Sequence) or isinstance(leg, str) or len(leg) != 2:
            raise InputError(f"legs[{i}]", leg, "a (duration, move) pair")
        seconds = _seconds(leg[0], f"legs[{i}].duration")
        move = _move(leg[1], f"legs[{i}].move")
        n = seconds / bar_s
        if n < 1 or abs(n - round(n)) > 1e-9:
            raise InputError(f"legs[{i}].duration", leg[0], f"a whole multiple of the bar ({bar})")
        n = round(n)
        closes.extend(level * (1.0 + move) ** (np.arange(1, n + 1) / n))
        level *= 1.0 + move
    close = np.array(closes)
    open_ = np.concatenate(([p0], close[:-1]))
    t0 = np.datetime64(_utc(start), "s")
    times = t0 + np.arange(close.size) * np.timedelta64(int(bar_s), "s")
    return PricePath(times, open_, np.maximum(open_, close), np.minimum(open_, close), close,
                     int(bar_s), f"scripted: {list(legs)!r}")


def as_path(prices: ArrayLike, *, bar_seconds: int = 3600,
            start: str = "2025-11-01T00:00:00Z") -> PricePath:
    """A close-only series as a path (open = previous close, high/low = max/min of the two)."""
    c = v.series("prices", prices, min_length=2)
    o, cl = c[:-1], c[1:]
    t0 = np.datetime64(_utc(start), "s")
    times = t0 + np.arange(cl.size) * np.timedelta64(bar_seconds, "s")
    return PricePath(times, o, np.maximum(o, cl), np.minimum(o, cl), cl, bar_seconds, "series")
