"""Synthetic months of pre-trade setups with *planted* effects, for testing the analytics.

Everything this module makes is **synthetic**: every event id starts with
:data:`SYNTHETIC_ID_PREFIX` (``syn-``), so a report built on these events says so, and
:class:`PlantedMonth` carries ``synthetic = True``. The market dates used by the default story
(:data:`NOVEMBER_2025`) follow the real November 2025 BTC sell-off only so that the report's
"coincided with" sentences have something to point at; the usage numbers are invented.

Model (seeded, NumPy only; in the spirit of ruptures' shipped signal generators)::

    mean[d, t, v, c] = base_daily · weekday[dow(d)] · tool_mix[t] · device_mix[v] · country_mix[c]

then, in this order, the planted effects:

* :class:`PhaseShift` multiplies tool weights over a span of days and rescales the day so its
  total is unchanged (a pure change of the tool mix);
* :class:`ShareShift` sets a segment's share (U.S., mobile, desktop) of one tool's (or all
  tools') checks to a target on some days, scaling the complement so the total is unchanged;
* :class:`Spike` multiplies the matching cells by ``1 + size``.

Counts are ``Poisson(mean · G)`` where ``G`` is a product of mean-one gamma factors drawn per
(day, tool), (day, tool, device) and (day, tool, region): day-level overdispersion as in real
web traffic (the counts are negative-binomial-like). :meth:`PlantedMonth.true_ratio` gives the
noise-free ratio "with effects / without effects" of any series: the planted lift.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marginscope.errors import InputError
from marginscope.sim.mix import TOOL_MIX, check_tools, tool_of, venue_shares
from marginscope.sim.output import session_seq
from marginscope.telemetry.schema import DEVICES, SYNTHETIC_ID_PREFIX, conform

__all__ = [
    "COUNTRY_MIX", "DEVICE_MIX", "NOVEMBER_2025", "SEGMENTS", "SYNTHETIC_ID_PREFIX", "TOOL_MIX",
    "VENUE_MIX", "WEEKDAY", "PhaseShift", "PlantedMonth", "Profile", "ShareShift", "Spike", "planted_month",
    "write_duckdb",
]

SEGMENTS = ("all", "device:mobile", "device:desktop", "region:US", "region:rest")

VENUE_MIX: dict[str, float] = venue_shares("planted")
"""Venues of the planted events (assumption, ``data/venue_shares.json``)."""
DEVICE_MIX: dict[str, float] = {"mobile": 0.56, "desktop": 0.37, "tablet": 0.05, "unknown": 0.02}
WEEKDAY: tuple[float, ...] = (1.06, 1.08, 1.05, 1.03, 1.00, 0.88, 0.90)
"""Monday … Sunday activity factors (a moderate weekly rhythm)."""

_HEAD = {"US": 0.18, "GB": 0.06, "DE": 0.05, "IN": 0.05, "TR": 0.045, "BR": 0.04, "NG": 0.035,
         "VN": 0.035, "KR": 0.03, "JP": 0.03, "PH": 0.03, "ID": 0.03, "FR": 0.025, "CA": 0.025,
         "AU": 0.02, "ES": 0.02, "IT": 0.02, "NL": 0.015, "PL": 0.015, "UA": 0.015, "AR": 0.015,
         "MX": 0.015, "TH": 0.012, "MY": 0.012, "SG": 0.012, "AE": 0.01, "ZA": 0.01,
         "PK": 0.01, "EG": 0.008, "CH": 0.008, "SE": 0.008, "ZZ": 0.01}
_TAIL = ("RU", "CO", "CL", "PE", "PT", "RO", "CZ", "GR", "IL", "HK", "TW", "NZ", "IE", "BE",
         "AT", "DK", "NO", "FI", "HU", "KE", "GH", "MA", "SA", "BD", "LK", "KZ", "GE", "AM",
         "LT", "LV", "EE", "SI", "HR", "RS", "BG", "IS", "LU", "MT", "CY", "UY", "PA", "CR",
         "DO", "JM", "TT", "BO", "PY", "EC", "VE", "NP", "KH")


def _country_mix() -> dict[str, float]:
    rest = 1.0 - sum(_HEAD.values())
    decay = np.geomspace(1.0, 0.002, len(_TAIL))  # a long tail: the last few are tiny cells
    tail = rest * decay / decay.sum()
    return {**_HEAD, **{c: float(w) for c, w in zip(_TAIL, tail, strict=True)}}


COUNTRY_MIX: dict[str, float] = _country_mix()


@dataclass(frozen=True)
class Profile:
    """Normal behaviour of the synthetic site (all shares sum to one).

    ``noise_cv`` are the coefficients of variation of the day-level gamma factors per
    (day, tool), (day, tool, device) and (day, tool, region).
    """

    base_daily: float = 5000.0
    tool_mix: Mapping[str, float] = field(default_factory=lambda: dict(TOOL_MIX))
    device_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEVICE_MIX))
    country_mix: Mapping[str, float] = field(default_factory=lambda: dict(COUNTRY_MIX))
    weekday: tuple[float, ...] = WEEKDAY
    noise_cv: tuple[float, float, float] = (0.06, 0.04, 0.04)
    checks_per_visitor: Mapping[str, float] = field(
        default_factory=lambda: {"US": 2.4, "rest": 1.8})
    second_session: float = 0.3


@dataclass(frozen=True)
class Spike:
    """Counts of ``tool`` (None: every tool) in ``segment`` × (1 + ``size``) for ``days`` days."""

    date: str
    size: float
    tool: str | None = None
    segment: str = "all"
    days: int = 1
    kind = "spike"


@dataclass(frozen=True)
class ShareShift:
    """``segment``'s share of ``tool``'s checks (None: all tools) set to ``share``, total kept."""

    date: str
    segment: str
    share: float
    tool: str | None = None
    days: int = 1
    kind = "share_shift"


@dataclass(frozen=True)
class PhaseShift:
    """Tool weights × ``weights`` from ``start`` to ``end`` (inclusive); daily totals kept."""

    start: str
    end: str
    weights: Mapping[str, float]
    name: str = ""
    kind = "phase"


Effect = Spike | ShareShift | PhaseShift

NOVEMBER_2025: tuple[Effect, ...] = (
    Spike("2025-11-04", 0.35, tool=tool_of("liquidation")),
    Spike("2025-11-07", 1.00, tool=tool_of("liquidation-risk")),
    Spike("2025-11-09", 0.80, tool=tool_of("funding")),
    Spike("2025-11-12", 0.20, tool=tool_of("stops")),
    PhaseShift("2025-11-14", "2025-11-20",
               {tool_of("liquidation"): 1.35, tool_of("liquidation-risk"): 1.6,
                tool_of("stops"): 1.5}, "defensive checks"),
    Spike("2025-11-21", 0.72, tool=tool_of("liquidation")),
    Spike("2025-11-21", 1.50, tool=tool_of("margin-call")),
    ShareShift("2025-11-21", "region:US", 0.34, tool=tool_of("margin-call")),
    ShareShift("2025-11-20", "device:mobile", 0.70, days=3),
    PhaseShift("2025-11-22", "2025-11-25",
               {tool_of("margin-call"): 1.9, tool_of("average"): 1.7}, "margin defense"),
    PhaseShift("2025-11-26", "2025-11-30",
               {tool_of("position-size"): 1.7, tool_of("leverage"): 1.6, tool_of("pnl"): 1.4},
               "repositioning"),
    ShareShift("2025-11-26", "device:desktop", 0.50, days=5),
)
"""The default story: spikes of several sizes, U.S. and device share shifts, three phases.

Synthetic; its dates follow the real November 2025 BTC sell-off (see ``marginscope market
events``) so that the report's market associations can be read against real events."""


def _month_days(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError("month", month, "YYYY-MM, e.g. 2025-11") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


@dataclass(frozen=True, eq=False)
class PlantedMonth:
    """A synthetic month (plus its lead-in history) with its planted effects and truth.

    Attributes
    ----------
    days : numpy.ndarray of datetime64[D]
        Every UTC day generated: ``history_days`` lead-in days, then the month.
    month_start : int
        Index of the month's first day in ``days``.
    counts : numpy.ndarray of int64, shape (day, tool, device, country)
        The sampled counts (what the events table holds).
    mean, null_mean : numpy.ndarray of float64, same shape
        Expected counts with and without the planted effects (no noise): the truth.
    """

    month: str
    seed: int
    effects: tuple[Effect, ...]
    profile: Profile
    days: np.ndarray
    month_start: int
    tools: tuple[str, ...]
    devices: tuple[str, ...]
    countries: tuple[str, ...]
    counts: np.ndarray
    mean: np.ndarray
    null_mean: np.ndarray
    synthetic: bool = True

    @property
    def setups(self) -> int:
        """Events in the month (the lead-in excluded)."""
        return int(self.counts[self.month_start:].sum())

    def day_index(self, day: str) -> int:
        """Index of an ISO day in :attr:`days`."""
        hits = np.flatnonzero(self.days == np.datetime64(day, "D"))
        if hits.size == 0:
            raise InputError("date", day, f"a day from {self.days[0]} to {self.days[-1]}")
        return int(hits[0])

    def _cells(self, array: np.ndarray, tool: str | None, segment: str) -> np.ndarray:
        """``array`` summed to one daily series for (tool, segment)."""
        part = array if tool is None else array[:, [self.tools.index(tool)]]
        part = part[:, :, _device_mask(self.devices, segment), :]
        part = part[:, :, :, _country_mask(self.countries, segment)]
        return part.sum(axis=(1, 2, 3))

    def true_ratio(self, tool: str | None, segment: str = "all") -> np.ndarray:
        """Daily ratio of expected counts with / without the planted effects (1 = untouched)."""
        return self._cells(self.mean, tool, segment) / self._cells(self.null_mean, tool, segment)

    def true_share(self, tool: str | None, segment: str, *, planted: bool = True) -> np.ndarray:
        """Daily expected share of ``segment`` in ``tool``'s checks (None: all tools)."""
        array = self.mean if planted else self.null_mean
        return self._cells(array, tool, segment) / self._cells(array, tool, "all")

    # --- events ---------------------------------------------------------------------------

    def batches(self, *, start: int = 0) -> Iterator[pa.Table]:
        """The events, one Arrow table (:data:`ARROW_SCHEMA`) per day from index ``start``."""
        rng = np.random.default_rng([self.seed, 7])
        first_id = int(self.counts[:start].sum())
        for index in range(start, len(self.days)):
            table = self._day_events(index, rng, first_id)
            first_id += table.num_rows
            yield table

    @cached_property
    def events(self) -> pa.Table:
        """Every generated event (lead-in and month) as one Arrow table."""
        return pa.concat_tables(list(self.batches()))

    def _day_events(self, index: int, rng: np.random.Generator, first_id: int) -> pa.Table:
        cube = self.counts[index]  # (tool, device, country)
        total = int(cube.sum())
        cells = np.repeat(np.arange(cube.size), cube.ravel())
        tool, device, country = np.unravel_index(cells, cube.shape)
        day_us = int(self.days[index].astype("datetime64[us]").astype(np.int64))
        ts = np.sort(day_us + rng.integers(0, 86_400_000_000, total))
        order = rng.permutation(total)  # events of a cell spread over the day
        tool, device, country = tool[order], device[order], country[order]

        is_us = np.asarray([c == "US" for c in self.countries])
        per_visitor = np.where(is_us, self.profile.checks_per_visitor["US"],
                               self.profile.checks_per_visitor["rest"])
        by_place = cube.sum(axis=0)  # (device, country)
        pools = np.maximum(1, np.round(by_place / per_visitor[None, :])).astype(np.int64)
        offsets = np.concatenate(([0], np.cumsum(pools.ravel())[:-1])).reshape(pools.shape)
        local = (rng.random(total) * pools[device, country]).astype(np.int64)
        visitor = offsets[device, country] + local + index * 10_000_000
        session = visitor * 2 + (rng.random(total) < self.profile.second_session)

        def text(prefix: str, numbers: np.ndarray) -> pa.Array:
            return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")

        def pick(values: Sequence[object], weights: Sequence[float], kind: pa.DataType
                 ) -> pa.Array:
            chosen = rng.choice(len(values), size=total, p=np.asarray(weights) / sum(weights))
            return pa.DictionaryArray.from_arrays(
                pa.array(chosen.astype(np.int32)), pa.array(values, type=kind)).cast(kind)

        columns = {
            "event_id": text(f"{SYNTHETIC_ID_PREFIX}{self.seed}-",
                             np.arange(first_id, first_id + total)),
            "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            "tool": pa.DictionaryArray.from_arrays(
                pa.array(tool.astype(np.int32)), pa.array(self.tools)).cast(pa.string()),
            "device": pa.DictionaryArray.from_arrays(
                pa.array(device.astype(np.int32)), pa.array(self.devices)).cast(pa.string()),
            "country": pa.DictionaryArray.from_arrays(
                pa.array(country.astype(np.int32)), pa.array(self.countries)).cast(pa.string()),
            "visitor": text("v", visitor),
            "session": text("s", session),
            "seq": session_seq(session),
            "venue": pick(tuple(VENUE_MIX), tuple(VENUE_MIX.values()), pa.string()),
            "symbol": pick(("BTC", "ETH", "SOL", "XRP", "DOGE"), (0.55, 0.25, 0.1, 0.05, 0.05),
                           pa.string()),
            "side": pick(("long", "short"), (0.62, 0.38), pa.string()),
            "margin_mode": pick(("isolated", "cross"), (0.55, 0.45), pa.string()),
            "leverage": pick((2, 3, 5, 10, 20, 25, 50, 100), (5, 6, 12, 25, 20, 12, 12, 8),
                             pa.int16()),
            "notional_bucket": pick((100, 300, 1_000, 3_000, 10_000, 30_000, 100_000),
                                    (8, 12, 20, 22, 18, 12, 8), pa.int64()),
        }
        return conform(pa.table(columns))


def _device_mask(devices: Sequence[str], segment: str) -> np.ndarray:
    if segment.startswith("device:"):
        return np.asarray([d == segment.split(":", 1)[1] for d in devices])
    return np.ones(len(devices), dtype=bool)


def _country_mask(countries: Sequence[str], segment: str) -> np.ndarray:
    if segment == "region:US":
        return np.asarray([c == "US" for c in countries])
    if segment == "region:rest":
        return np.asarray([c != "US" for c in countries])
    return np.ones(len(countries), dtype=bool)


def _check_segment(segment: str) -> str:
    if segment not in SEGMENTS:
        raise InputError("segment", segment, " | ".join(SEGMENTS))
    return segment


def _span(days: np.ndarray, start: str, count: int) -> np.ndarray:
    first = np.datetime64(start, "D")
    return (days >= first) & (days < first + np.timedelta64(count, "D"))


def _apply(mean: np.ndarray, effects: Sequence[Effect], days: np.ndarray,
           tools: tuple[str, ...], devices: tuple[str, ...],
           countries: tuple[str, ...]) -> np.ndarray:
    out = mean.copy()
    order = {"phase": 0, "share_shift": 1, "spike": 2}
    for effect in sorted(effects, key=lambda e: order[e.kind]):
        if isinstance(effect, PhaseShift):
            span = _span(days, effect.start, (date.fromisoformat(effect.end)
                                              - date.fromisoformat(effect.start)).days + 1)
            weights = np.asarray([effect.weights.get(t, 1.0) for t in tools])
            before = out[span].sum(axis=(1, 2, 3), keepdims=True)
            out[span] *= weights[None, :, None, None]
            out[span] *= before / out[span].sum(axis=(1, 2, 3), keepdims=True)
            continue
        segment = _check_segment(effect.segment)
        span = _span(days, effect.date, effect.days)
        tool_mask = (np.ones(len(tools), dtype=bool) if effect.tool is None
                     else np.asarray([t == effect.tool for t in tools]))
        inside = (tool_mask[:, None, None] & _device_mask(devices, segment)[None, :, None]
                  & _country_mask(countries, segment)[None, None, :])
        if isinstance(effect, Spike):
            out[span] *= np.where(inside, 1.0 + effect.size, 1.0)[None]
            continue
        scope = tool_mask[:, None, None] & np.ones(out.shape[2:], dtype=bool)[None]
        for day in np.flatnonzero(span):
            cube = out[day]
            share = cube[inside].sum() / cube[scope].sum()
            cube[inside] *= effect.share / share
            complement = scope & ~inside
            cube[complement] *= (1.0 - effect.share) / (1.0 - share)
    return out


def planted_month(seed: int, effects: Sequence[Effect] = NOVEMBER_2025, *,
                  month: str = "2025-11", history_days: int = 28, scale: float = 1.0,
                  profile: Profile | None = None) -> PlantedMonth:
    """A seeded synthetic month with ``effects`` planted (see the module docstring).

    Parameters
    ----------
    seed : int
        Seed of every random draw (counts, noise, event fields).
    effects : sequence of Spike | ShareShift | PhaseShift
        The planted effects; dates must fall inside the month. ``()`` gives a null month.
    month : str
        ``YYYY-MM``.
    history_days : int
        Effect-free lead-in days before the month (the baseline's trailing window needs 28).
    scale : float
        Multiplies ``profile.base_daily`` (e.g. 10 million events a month for the bench).

    Returns
    -------
    PlantedMonth
        Counts, truth and (lazily) the events; ``synthetic`` is always True.
    """
    profile = profile or Profile()
    first, following = _month_days(month)
    if history_days < 0:
        raise InputError("history_days", history_days, ">= 0")
    if not scale > 0 or not math.isfinite(scale):
        raise InputError("scale", scale, "> 0 and finite")
    start = first - timedelta(days=history_days)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(following, "D"))
    for effect in effects:
        for when in ([effect.start, effect.end] if isinstance(effect, PhaseShift)
                     else [effect.date]):
            if not first <= date.fromisoformat(when) < following:
                raise InputError("effects", when, f"a day in {month}")
    check_tools(profile.tool_mix, "tool_mix")
    named = {tool for effect in effects for tool in (
        effect.weights if isinstance(effect, PhaseShift) else (effect.tool,)) if tool}
    if named - set(profile.tool_mix):
        raise InputError("effects", sorted(named - set(profile.tool_mix)),
                         "tools of the tool mix: " + " | ".join(profile.tool_mix))
    tools = tuple(profile.tool_mix)
    devices = tuple(d for d in DEVICES if d in profile.device_mix)
    countries = tuple(profile.country_mix)
    share = (np.asarray([profile.tool_mix[t] for t in tools])[:, None, None]
             * np.asarray([profile.device_mix[d] for d in devices])[None, :, None]
             * np.asarray([profile.country_mix[c] for c in countries])[None, None, :])
    share /= share.sum()
    weekday = np.asarray(profile.weekday)[(days.astype(np.int64) + 3) % 7]  # 1970-01-01: Thu
    null_mean = profile.base_daily * scale * weekday[:, None, None, None] * share[None]
    mean = _apply(null_mean, effects, days, tools, devices, countries)

    rng = np.random.default_rng(seed)
    cv_tool, cv_device, cv_region = profile.noise_cv
    shape = mean.shape

    def gamma(cv: float, size: tuple[int, ...]) -> np.ndarray:
        return rng.gamma(1.0 / cv**2, cv**2, size) if cv > 0 else np.ones(size)

    us = np.asarray([c == "US" for c in countries])
    region = gamma(cv_region, (shape[0], shape[1], 1, 2))
    region_factor = np.where(us[None, None, None, :], region[..., :1], region[..., 1:])
    noise = (gamma(cv_tool, (shape[0], shape[1], 1, 1)) * gamma(cv_device, (*shape[:3], 1))
             * region_factor)
    counts = rng.poisson(mean * noise).astype(np.int64)
    return PlantedMonth(month=month, seed=seed, effects=tuple(effects), profile=profile,
                        days=days, month_start=history_days, tools=tools, devices=devices,
                        countries=countries, counts=counts, mean=mean, null_mean=null_mean)


def write_duckdb(planted: PlantedMonth, db: str | os.PathLike[str]) -> int:
    """Append the planted events to the ``events`` table of a DuckDB file (created if needed).

    Goes through the simulators' one write path (:func:`marginscope.sim.output.insert_events`:
    the store's schema and idempotent insert, one transaction), so writing the same month twice
    adds nothing. Returns the rows written.
    """
    from marginscope.sim.output import insert_events

    return insert_events(db, planted.batches())
