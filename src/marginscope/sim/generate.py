"""The agent-based simulation: traders come, check tools in sessions, and leave events.

Process (vectorized NumPy; every draw from one seeded generator)::

    traders        make_population(base_daily · scale · traders_per_daily_check)
    day d          expected checks λ[d, ·] (behaviour.intensities) × gamma noise per day and
                   per (day, tool): the day's tool mix
    visitor-days   V[d] ~ Poisson(Σλ / mean checks per visit), split U.S. / rest by the
                   traders' activity and the phase's U.S. factor; each picks a trader with
                   probability ∝ the trader's activity (a heavy-tailed gamma: regulars
                   return day after day, most come once)
    checks         1 + Poisson(checks_per_visit − 1) per visitor-day; each check's tool is
                   drawn from the day's mix (U.S. traders: the mix × the phase's U.S. tilt)
    sessions       1 + Poisson(extra_sessions) per visitor-day (at most 4, at most the
                   checks); a session has one device (the phase's mix, tilted by the
                   trader's affinity) and one start: the hour from the trader's local
                   evening-peaked day (time zone from tzdata) × the hour's market activity,
                   then checks a few minutes apart
    event fields   the trader's venue, coin, leverage, notional, side bias and margin mode,
                   with per-check variation; fields a tool's input does not carry are NULL

Output: an Arrow table in the canonical telemetry schema
(:data:`marginscope.telemetry.schema.ARROW_SCHEMA`) whose schema metadata says
``synthetic = true`` and carries :func:`source_label`; every event id starts with ``syn-``, the
prefix the analytics and the report read as synthetic. Visitor ids rotate daily, as the live
telemetry's do (keyed hash with a daily salt): a trader seen on five days is five
visitor-days.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import marginscope
from marginscope.errors import InputError
from marginscope.market import MarketData
from marginscope.sim.behaviour import (
    DIURNAL,
    NOVEMBER_2025_PHASES,
    TOOL_FIELDS,
    TOOLS,
    Intensity,
    Phase,
    Profile,
    Responses,
    intensities,
)
from marginscope.sim.market_state import MarketState, market_state
from marginscope.sim.population import (
    DEVICES,
    LEVERAGE_CHOICES,
    SYMBOL_SHARES,
    VENUE_SHARES,
    Population,
    country_weights,
    make_population,
    utc_offsets,
)
from marginscope.telemetry.schema import SYNTHETIC_ID_PREFIX, conform, notional_bucket

__all__ = ["DEFAULT_END", "DEFAULT_START", "Simulation", "run", "simulate", "source_label"]

DEFAULT_START = "2025-10-01"
DEFAULT_END = "2025-11-30"
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_MAX_SESSIONS = 4
_OFFSETS = np.arange(-12, 15)  # whole-hour UTC offsets of the tz database's zones


def source_label(seed: int) -> str:
    """``synthetic: marginscope.sim <version> seed=<seed>``: the label of simulated data."""
    return f"synthetic: marginscope.sim {marginscope.__version__} seed={seed}"


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulation's events and what produced them (the truth, for tests and the demo)."""

    table: pa.Table
    state: MarketState
    intensity: Intensity
    population: Population
    seed: int
    scale: float

    @property
    def metadata(self) -> dict[str, str]:
        """The Arrow schema metadata, decoded."""
        raw = self.table.schema.metadata or {}
        return {k.decode(): v.decode() for k, v in raw.items()}


def _mix64(values: np.ndarray, key: int) -> np.ndarray:
    """SplitMix64 finaliser of ``values`` xor a key: opaque, well-spread 64-bit ids."""
    with np.errstate(over="ignore"):
        z = np.asarray(values, dtype=np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _text(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _categorical(rng: np.random.Generator, cdf_rows: np.ndarray, rows: np.ndarray
                 ) -> np.ndarray:
    """One draw per entry of ``rows`` from the categorical distribution ``cdf_rows[row]``."""
    width = cdf_rows.shape[1]
    cdf = cdf_rows / cdf_rows[:, -1:]
    flat = (cdf + np.arange(len(cdf))[:, None]).ravel()
    pick = np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * width
    return np.clip(pick, 0, width - 1)


def _gamma(rng: np.random.Generator, cv: float, size: tuple[int, ...]) -> np.ndarray:
    return rng.gamma(1.0 / cv**2, cv**2, size) if cv > 0 else np.ones(size)


def _strings(values: Sequence[object], index: np.ndarray, present: np.ndarray,
             kind: pa.DataType) -> pa.Array:
    indices = pa.array(index.astype(np.int32), mask=~present)
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, type=kind)).cast(kind)


def run(start: str | date = DEFAULT_START, end: str | date = DEFAULT_END, seed: int = 7,
        scale: float = 1.0, *, phases: Sequence[Phase] = NOVEMBER_2025_PHASES,
        responses: Responses | None = None, profile: Profile | None = None,
        market: MarketData | None = None) -> Simulation:
    """Simulate ``start`` … ``end`` (inclusive UTC days); see the module docstring.

    Parameters
    ----------
    start, end : str or date
        Days within the shipped daily market data (2025-09-01 … 2025-12-31).
    seed : int
        Seed of every random draw: the same arguments give the same table.
    scale : float
        Multiplies the volume (``Profile.base_daily``, 24,000 checks on a calm weekday) and
        the population. 1 gives about 2.1 million events for October–November 2025.
    phases, responses, profile
        The behaviour model (:mod:`.behaviour`); defaults are the documented assumptions.
    market : MarketData, optional
        Market data (default: the shipped real snapshot).
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise InputError("scale", scale, "> 0 and finite")
    if not isinstance(seed, int) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    profile = profile or Profile()
    responses = responses or Responses()
    state = market_state(start, end, market)
    intensity = intensities(state, phases, responses, profile, scale)
    rng = np.random.default_rng(seed)
    n_days = len(state.days)
    population = make_population(
        max(len(country_weights()),
            round(profile.base_daily * scale * profile.traders_per_daily_check)), rng)

    # --- the day: noisy tool intensities, U.S. / rest split --------------------------------
    cv_day, cv_tool = profile.noise_cv
    rate = (intensity.rate * _gamma(rng, cv_day, (n_days, 1))
            * _gamma(rng, cv_tool, (n_days, len(TOOLS))))
    is_us = np.asarray(population.countries)[population.country] == "US"
    weight_us = population.activity[is_us].sum()
    weight_rest = population.activity[~is_us].sum()
    share_us = weight_us * intensity.us / (weight_us * intensity.us + weight_rest)
    per_visit_us, per_visit_rest = profile.checks_per_visit
    visits = rate.sum(axis=1) / (share_us * per_visit_us + (1 - share_us) * per_visit_rest)
    visits_us = rng.poisson(visits * share_us)
    visits_rest = rng.poisson(visits * (1 - share_us))

    def pick(members: np.ndarray, per_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cumulative = np.cumsum(population.activity[members])
        chosen = np.searchsorted(cumulative, rng.random(per_day.sum()) * cumulative[-1],
                                 side="right")
        return members[np.minimum(chosen, len(members) - 1)], np.repeat(
            np.arange(n_days), per_day)

    agent_us, day_us = pick(np.flatnonzero(is_us), visits_us)
    agent_rest, day_rest = pick(np.flatnonzero(~is_us), visits_rest)
    key, repeat = np.unique(np.concatenate([agent_us, agent_rest]) * n_days
                            + np.concatenate([day_us, day_rest]), return_counts=True)
    vd_agent, vd_day = key // n_days, key % n_days
    vd_us = is_us[vd_agent]
    mean_checks = np.where(vd_us, per_visit_us, per_visit_rest)
    checks = repeat + rng.poisson(repeat * (mean_checks - 1.0))

    # --- checks: the tool ---------------------------------------------------------------------
    vd = np.repeat(np.arange(len(key)), checks)
    rows = vd_day[vd] * 2 + vd_us[vd]
    tool_weights = np.empty((n_days * 2, len(TOOLS)))
    tool_weights[0::2] = rate
    tool_weights[1::2] = rate * intensity.us_tools
    tool = _categorical(rng, np.cumsum(tool_weights, axis=1), rows)

    # --- sessions: device and start time ------------------------------------------------------
    sessions = np.minimum(np.minimum(checks, _MAX_SESSIONS), 1 + rng.poisson(
        profile.extra_sessions, len(key)))
    session_key = vd * _MAX_SESSIONS + (rng.random(len(vd)) * sessions[vd]).astype(np.int64)
    session_keys, session = np.unique(session_key, return_inverse=True)
    s_vd = session_keys // _MAX_SESSIONS
    s_agent, s_day = vd_agent[s_vd], vd_day[s_vd]

    mix = intensity.devices[s_day]
    mobile = np.clip(mix[:, 0], 1e-6, 1 - 1e-6)
    tilted = 1 / (1 + np.exp(-(np.log(mobile / (1 - mobile))
                               + 0.7 * population.mobile_tilt[s_agent])))
    mix = np.column_stack([tilted, mix[:, 1:] * ((1 - tilted) / (1 - mobile))[:, None]])
    device = (rng.random(len(s_vd))[:, None] > np.cumsum(mix, axis=1)[:, :-1]).sum(axis=1)

    offsets = utc_offsets(population.zones, state.days)[population.zone[s_agent], s_day]
    local = (np.arange(24)[None, :] + _OFFSETS[:, None]) % 24          # (offset, utc hour)
    hour_table = (np.asarray(DIURNAL)[local][None, :, :]
                  * intensity.hours[:, None, :]).reshape(-1, 24)       # (day·offset, hour)
    hour = _categorical(rng, np.cumsum(hour_table, axis=1),
                        s_day * len(_OFFSETS) + np.clip(offsets, -12, 14) + 12)
    day_start = state.days.astype("datetime64[us]").astype(np.int64)
    s_start = (day_start[s_day] + hour * _HOUR_US
               + (rng.random(len(s_vd)) * _HOUR_US).astype(np.int64))

    order = np.argsort(session, kind="stable")      # checks grouped by session
    firsts = np.r_[0, np.flatnonzero(np.diff(session[order])) + 1]
    gaps = rng.exponential(profile.session_gap_seconds * 1e6, len(vd))
    gaps[firsts] = 0.0                               # a session's first check opens it
    walked = np.cumsum(gaps)
    elapsed = np.empty(len(vd))
    elapsed[order] = walked - np.repeat(walked[firsts], np.diff(np.r_[firsts, len(order)]))
    ts = np.minimum(s_start[session] + elapsed.astype(np.int64),
                    day_start[vd_day[vd]] + _DAY_US - 1)

    # --- event fields -------------------------------------------------------------------------
    n = len(vd)
    agent = vd_agent[vd]
    has = {name: np.isin(tool, [TOOLS.index(t) for t, f in TOOL_FIELDS.items() if name in f])
           for name in ("venue", "symbol", "side", "margin_mode", "leverage", "notional")}

    def habit(usual: np.ndarray, shares: dict, keep: float) -> np.ndarray:
        p = np.asarray(list(shares.values()), dtype=float)
        other = rng.choice(len(shares), n, p=p / p.sum())
        return np.where(rng.random(n) < keep, usual, other)

    venue = habit(population.venue[agent], VENUE_SHARES, 0.85)
    symbol = habit(population.symbol[agent], SYMBOL_SHARES, 0.8)
    side = (rng.random(n) >= population.long_bias[agent]).astype(np.int64)  # 0 long, 1 short
    cross = np.where(rng.random(n) < 0.9, population.cross[agent], ~population.cross[agent])
    edges = np.asarray(list(LEVERAGE_CHOICES))
    step = rng.choice([-1, 0, 0, 0, 0, 0, 0, 0, 1, 1], n)  # mostly the usual leverage
    leverage = edges[np.clip(np.searchsorted(edges, population.leverage[agent]) + step, 0,
                             len(edges) - 1)]
    notional = notional_bucket(population.notional[agent] * rng.lognormal(0.0, 0.5, n))

    visitor_ids = _text("v", _mix64(key, seed * 2 + 1))
    session_ids = _text("s", _mix64(session_keys * n_days + s_day, seed * 2 + 2))
    by_time = np.lexsort((session, ts))
    tag = zlib.crc32(json.dumps([str(start), str(end), scale, seed,
                                 [p.to_dict() for p in phases]]).encode()) & 0xFFFFFF
    columns = {
        "event_id": _text(f"{SYNTHETIC_ID_PREFIX}{seed}-{tag:06x}-", np.arange(n)),
        "ts": pa.array(ts[by_time], type=pa.timestamp("us", tz="UTC")),
        "tool": _strings(TOOLS, tool[by_time], np.ones(n, bool), pa.string()),
        "device": _strings(DEVICES, device[session][by_time], np.ones(n, bool), pa.string()),
        "country": _strings(population.countries, population.country[agent][by_time],
                            np.ones(n, bool), pa.string()),
        "visitor": visitor_ids.take(pa.array(vd[by_time])),
        "session": session_ids.take(pa.array(session[by_time])),
        "venue": _strings(list(VENUE_SHARES), venue[by_time], has["venue"][by_time],
                          pa.string()),
        "symbol": _strings(list(SYMBOL_SHARES), symbol[by_time], has["symbol"][by_time],
                           pa.string()),
        "side": _strings(["long", "short"], side[by_time], has["side"][by_time], pa.string()),
        "margin_mode": _strings(["isolated", "cross"], cross[by_time].astype(np.int64),
                                has["margin_mode"][by_time], pa.string()),
        "leverage": pa.array(leverage[by_time].astype(np.int16),
                             mask=~has["leverage"][by_time]),
        "notional_bucket": pa.array(notional[by_time].astype(np.int64),
                                    mask=~has["notional"][by_time]),
    }
    metadata = {
        "synthetic": "true", "source": source_label(seed), "generator": "marginscope.sim",
        "version": marginscope.__version__, "seed": str(seed), "scale": repr(float(scale)),
        "start": str(state.days[0]), "end": str(state.days[-1]),
        "phases": json.dumps([p.to_dict() for p in phases]),
        "market": " | ".join(state.sources),
    }
    table = conform(pa.table(columns)).replace_schema_metadata(metadata)
    return Simulation(table=table, state=state, intensity=intensity, population=population,
                      seed=seed, scale=float(scale))


def simulate(start: str | date = DEFAULT_START, end: str | date = DEFAULT_END, seed: int = 7,
             scale: float = 1.0, **options: object) -> pa.Table:
    """The events of :func:`run` only: an Arrow table in the canonical schema, synthetic."""
    return run(start, end, seed, scale, **options).table  # type: ignore[arg-type]
