"""Market context for findings: which market events a finding coincided with, and how closely
daily activity moved with the market.

Wording is fixed (``analytics_anchors.md`` §3.3 step 9): a finding *coincided with* an event on
the same UTC day (lag 0) or *came a day after* it (lag 1). Nothing here says "caused": with
about 30 days, a usage series and a price series share one month of news, and the data hold
no counterfactual. Events come from :mod:`marginscope.market.events` (each with its source);
no market number is computed here except the BTC daily return, from the cited daily closes.

The month-level check is a Spearman rank correlation between the daily lift of all checks and
the absolute BTC daily return, at lag 0 and 1, with a two-sided permutation p-value (seeded;
with n ≈ 30, |ρ| must exceed about 0.36 to reach p < 0.05).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from marginscope.market.event import MarketEvent
from marginscope.market.events import detect_events
from marginscope.market.series import Fact, MarketData, PriceSeries
from marginscope.market.times import DAY_MS, parse_utc_ms

__all__ = [
    "CITED",
    "EVENT_PRIORITY",
    "Association",
    "Correlation",
    "MarketContext",
    "coincident",
    "coincident_span",
    "lagged_correlations",
    "market_context",
    "spearman",
    "spearman_rows",
]

EVENT_PRIORITY: tuple[str, ...] = (
    "round_number_break", "largest_daily_move", "month_low", "drawdown_threshold",
    "liquidation_spike", "drawdown", "volume_peak", "funding_first_negative",
    "funding_negative_run", "funding_sign_change", "largest_bar_move")
"""Order in which events are cited for a day (price moves before funding flickers)."""

CITED: frozenset[str] = frozenset(EVENT_PRIORITY) - {"funding_sign_change", "largest_bar_move"}
"""Event kinds cited next to a finding. A funding sign change happens several times a week
(BTCUSDT funding hovers near zero), so citing one would suggest a link where there is none;
such events stay in the report's list of market events."""

WORDING = {0: "coincided with", 1: "came a day after"}


@dataclass(frozen=True)
class Association:
    """A market event cited next to a finding."""

    lag: int
    event: MarketEvent

    @property
    def wording(self) -> str:
        """``coincided with`` (lag 0) or ``came a day after`` (lag 1)."""
        return WORDING[self.lag]

    def to_dict(self) -> dict[str, object]:
        """JSON form: lag, wording and the event's kind, time, value, description, source."""
        return {"lag": self.lag, "wording": self.wording, "kind": self.event.kind,
                "time": self.event.time, "value": self.event.value,
                "description": self.event.description, "source": self.event.source,
                "series": self.event.series}


@dataclass(frozen=True)
class MarketContext:
    """Market events and the daily price path of a period (all from cited market data).

    ``close`` is NaN on days the price series does not cover; ``price_series`` and
    ``price_source`` name the series and its ``source`` text.
    """

    days: np.ndarray
    close: np.ndarray
    events: tuple[MarketEvent, ...]
    facts: tuple[Fact, ...]
    price_series: str
    price_source: str
    origin: str

    def events_on(self, day: str, kinds: frozenset[str] = CITED) -> list[MarketEvent]:
        """Events of ``kinds`` whose UTC day is ``day``, most citable first."""
        rank = {kind: i for i, kind in enumerate(EVENT_PRIORITY)}
        hits = [e for e in self.events if e.time[:10] == day and e.kind in kinds]
        return sorted(hits, key=lambda e: (rank.get(e.kind, len(rank)), e.time))

    def daily_return(self) -> np.ndarray:
        """Close-to-close return per day (NaN where either close is missing)."""
        out = np.full(len(self.close), np.nan)
        out[1:] = self.close[1:] / self.close[:-1] - 1.0
        return out


def short_description(event: MarketEvent) -> str:
    """A few words for a takeaway ("BTC's first daily close below 90,000"); the event's full
    description and source stay attached to the finding."""
    details = event.details
    if event.kind == "round_number_break":
        return f"BTC's first daily {details.get('field', 'low')} below {details.get('level', 0):,.0f}"
    if event.kind == "month_low":
        return f"BTC's lowest daily low of the month ({event.value:,.0f} {event.unit})".strip()
    if event.kind in ("largest_daily_move", "largest_bar_move"):
        return f"BTC's #{details.get('rank', 1)} largest daily move of the month ({event.value:+.1%})"
    if event.kind == "drawdown_threshold":
        return f"BTC {abs(event.value):.0%} below its running high"
    if event.kind == "drawdown":
        return f"a {event.value:.0%} BTC drawdown"
    if event.kind == "volume_peak":
        return "the month's highest BTC trading volume"
    if event.kind == "funding_first_negative":
        return "the first negative BTCUSDT funding print"
    if event.kind == "funding_negative_run":
        return "a run of negative BTCUSDT funding"
    if event.kind == "liquidation_spike":
        return "a spike in liquidations"
    return event.description


def _daily_series(data: MarketData) -> PriceSeries | None:
    daily = [s for s in data.ohlcv if s.bar_ms >= DAY_MS and len(s)]
    pool = daily or [s for s in data.ohlcv if len(s)]
    if not pool:
        return None
    prefer = [s for s in pool if s.symbol.upper().startswith(("BTC", "XBT"))] or pool
    return max(prefer, key=len)


def market_context(data: MarketData, start: date, end: date, *, origin: str = ""
                   ) -> MarketContext:
    """Events (:func:`~marginscope.market.events.detect_events`) and daily closes of
    ``[start − 1 day, end)``; the extra day gives lag-1 events for the first day."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
    start_ms = parse_utc_ms((start - timedelta(days=1)).isoformat())
    end_ms = parse_utc_ms(end.isoformat())
    events = tuple(detect_events(data, start_ms=start_ms, end_ms=end_ms)) if not \
        data.is_empty() else ()
    close = np.full(len(days), np.nan)
    name = source = ""
    series = _daily_series(data)
    if series is not None:
        bar_days = series.time.astype("datetime64[D]")
        name = series.name
        sources: list[str] = []
        for i, day in enumerate(days):
            hits = np.flatnonzero(bar_days == day)
            if hits.size:
                close[i] = float(series.close[hits[-1]])
                text = str(series.source[hits[-1]])
                if text not in sources:
                    sources.append(text)
        source = " | ".join(sources)
    facts = tuple(f for f in data.facts if start.isoformat() <= f.reported_on < end.isoformat())
    return MarketContext(days=days, close=close, events=events, facts=facts,
                         price_series=name, price_source=source, origin=origin)


def coincident(context: MarketContext, day: str, *, lags: Sequence[int] = (0, 1),
               limit: int = 2) -> list[Association]:
    """Up to ``limit`` events per lag for a finding dated ``day`` (lag 1 = the day before)."""
    out: list[Association] = []
    for lag in lags:
        when = (date.fromisoformat(day) - timedelta(days=lag)).isoformat()
        out += [Association(lag=lag, event=e) for e in context.events_on(when)[:limit]]
    return out


def coincident_span(context: MarketContext, start: str, end: str, *, limit: int = 3
                    ) -> list[Association]:
    """Events from the day before ``start`` to ``end`` (a phase), most citable first."""
    first = date.fromisoformat(start) - timedelta(days=1)
    last = date.fromisoformat(end)
    rank = {kind: i for i, kind in enumerate(EVENT_PRIORITY)}
    hits = [e for e in context.events if first.isoformat() <= e.time[:10] <= last.isoformat()
            and e.kind in CITED]
    hits.sort(key=lambda e: (rank.get(e.kind, len(rank)), e.time))
    return [Association(lag=0 if e.time[:10] >= start else 1, event=e) for e in hits[:limit]]


def _ranks(x: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Ranks along the last axis (1 = smallest, ties averaged) among the ``keep`` values of each
    row (default: all); 0 where not kept.

    A value's rank is the count of kept values below it plus ``(t + 1) / 2`` for the ``t`` kept
    values equal to it (itself included): the mean of the ordinal ranks of its ties, exact (a
    multiple of ½)."""
    x = np.asarray(x, dtype=float)
    keep = np.ones(x.shape, dtype=bool) if keep is None else keep
    others = keep[..., None, :]
    below = ((x[..., None, :] < x[..., :, None]) & others).sum(axis=-1)
    tied = ((x[..., None, :] == x[..., :, None]) & others).sum(axis=-1)
    return np.where(keep, below + (tied + 1) / 2, 0.0)


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`spearman` of each row of ``a`` with the same row of ``b`` (last axis = the
    pairs; NaN pairs dropped per row), many rows at once.

    Bit for bit ``np.corrcoef`` of the ranks: ranks are multiples of ½ and their mean is
    ``(m + 1) / 2`` for ``m`` pairs, so the centred sums of products are exact in any order, and
    the scaling follows ``np.cov``/``np.corrcoef`` step by step (times ``1 / (m − 1)``, divided by
    each standard deviation in turn, clipped to [−1, 1])."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    keep = np.isfinite(a) & np.isfinite(b)
    m = keep.sum(axis=-1)
    middle = (m[..., None] + 1) / 2
    ca = np.where(keep, _ranks(a, keep) - middle, 0.0)
    cb = np.where(keep, _ranks(b, keep) - middle, 0.0)
    saa, sbb, sab = (ca * ca).sum(axis=-1), (cb * cb).sum(axis=-1), (ca * cb).sum(axis=-1)
    valid = (m >= 3) & (saa > 0) & (sbb > 0)  # a constant side has ptp 0: no ρ
    scale = 1 / np.where(valid, m - 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sab * scale / np.sqrt(saa * scale) / np.sqrt(sbb * scale)
    return np.where(valid, np.clip(rho, -1, 1), np.nan)


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    """Spearman's ρ (Pearson correlation of ranks, ties averaged); NaN pairs dropped."""
    a, b = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    return float(spearman_rows(a, b))


@dataclass(frozen=True)
class Correlation:
    """Spearman ρ between a usage series and a market series at a lag, with its p-value."""

    usage: str
    market: str
    lag: int
    rho: float
    p_value: float
    days: int

    @property
    def wording(self) -> str:
        """A sentence that does not claim a cause."""
        when = "on the same day" if self.lag == 0 else "on the day after the market move"
        return (f"{self.usage} moved with {self.market} {when}: Spearman ρ = {self.rho:+.2f} "
                f"(permutation p = {self.p_value:.3f}, {self.days} days); an association, "
                "not evidence of a cause.")


def lagged_correlations(usage: np.ndarray, market: np.ndarray, *, usage_name: str,
                        market_name: str, lags: Sequence[int] = (0, 1),
                        permutations: int = 4000, seed: int = 0) -> list[Correlation]:
    """Spearman ρ of ``usage[t]`` with ``market[t − lag]`` and a two-sided permutation p."""
    rng = np.random.default_rng(seed)
    out = []
    for lag in lags:
        a = np.asarray(usage, dtype=float)[lag:]
        b = np.asarray(market, dtype=float)[: len(market) - lag]
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
        rho = spearman(a, b)
        if not np.isfinite(rho):
            out.append(Correlation(usage_name, market_name, lag, rho, float("nan"), int(a.size)))
            continue
        ra, rb = _ranks(a), _ranks(b)
        shuffled = np.argsort(rng.random((permutations, a.size)), axis=1)
        rb_c = rb - rb.mean()
        ra_c = ra - ra.mean()
        null = (ra_c[shuffled] @ rb_c) / (np.sqrt((ra_c**2).sum() * (rb_c**2).sum()))
        p = (1 + np.sum(np.abs(null) >= abs(rho) - 1e-12)) / (permutations + 1)
        out.append(Correlation(usage_name, market_name, lag, rho, float(p), int(a.size)))
    return out
