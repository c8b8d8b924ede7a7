"""The simulation: traders with positions on the real path, their sessions turned into events.

Process (vectorized NumPy over agents; every draw from one seeded generator)::

    path         the real hourly BTC path and funding prints (:mod:`.path`), or its calm
                 counterfactual (``calm=True``)
    traders      make_population(Assumptions.traders · scale): countries, zones, venues, funds
    hours        :func:`.agents.step_agents`: funding, stops, liquidations, each agent's session
                 hazard and actions from its own state; sessions and the agents' truth
    routine      :func:`.routine.routine_sessions`: each agent's habitual checks on top, whatever
                 its state (one calculator from the calm-market mix)
    checks       each session's calculators in order (:data:`.behaviour.TEMPLATES`), each
                 repeated 1 + Poisson(repeat_mean) times, a few minutes apart
    device       per session, by context: mobile when away from a desk or alarmed, desktop
                 when planning (:class:`.behaviour.Assumptions`)
    event fields the agent's venue, symbol and margin mode, the session's side, leverage and
                 notional (bucketed as the telemetry does); fields a calculator's declaration
                 does not record are NULL (:data:`.mix.TOOL_FIELDS`)

Nothing is given a date: phases, spikes and shifts in the events come from the path, the
funding prints and the agents' positions. Output: an Arrow table in the canonical schema
(:data:`marginscope.telemetry.schema.ARROW_SCHEMA`) whose metadata says ``synthetic = true``
with :func:`source_label`; every event id starts with ``syn-``. Visitor ids rotate daily.
"""

from __future__ import annotations

import dataclasses
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
from marginscope.market import MarketData, load_snapshot
from marginscope.sim.agents import Sessions, Truth, step_agents
from marginscope.sim.behaviour import (
    REASONS,
    TOOL_FIELDS,
    TOOLS,
    URGENT,
    Assumptions,
    template_tools,
)
from marginscope.sim.market_state import MarketState, market_state
from marginscope.sim.output import session_seq
from marginscope.sim.path import HourlyPath, calm_path, hourly_path
from marginscope.sim.population import (
    DEVICES,
    SYMBOL_SHARES,
    VENUE_SHARES,
    Population,
    country_weights,
    make_population,
    utc_offsets,
)
from marginscope.sim.routine import routine_sessions
from marginscope.telemetry.schema import (
    SYNTHETIC_ID_PREFIX,
    conform,
    leverage_bucket,
    notional_bucket,
)

__all__ = ["DEFAULT_END", "DEFAULT_START", "Simulation", "run", "simulate", "source_label"]

DEFAULT_START = "2025-10-01"
DEFAULT_END = "2025-11-30"
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def source_label(seed: int) -> str:
    """``synthetic: marginscope.sim <version> seed=<seed>``: the label of simulated data."""
    return f"synthetic: marginscope.sim {marginscope.__version__} seed={seed}"


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulation's events and what produced them: the path, the agents' sessions and the
    agents' truth (for tests and the demo)."""

    table: pa.Table
    path: HourlyPath
    state: MarketState
    sessions: Sessions
    truth: Truth
    population: Population
    assumptions: Assumptions
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


def _strings(values: Sequence[object], index: np.ndarray, present: np.ndarray,
             kind: pa.DataType) -> pa.Array:
    indices = pa.array(index.astype(np.int32), mask=~present)
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, type=kind)).cast(kind)


def _entries(start: str | date, data: MarketData, days: int = 14) -> np.ndarray:
    """Real daily closes of the ``days`` before ``start``: where held positions opened."""
    daily = max((s for s in data.ohlcv if s.timeframe == "1d" and len(s)), key=len)
    bar_days = daily.time.astype("datetime64[D]")
    first = np.datetime64(str(start), "D")
    closes = daily.close[(bar_days >= first - days) & (bar_days < first)]
    if not closes.size:
        raise InputError("start", str(start), f"a day with {days} daily bars before it")
    return np.asarray(closes, dtype=float)


def run(start: str | date = DEFAULT_START, end: str | date = DEFAULT_END, seed: int = 7,
        scale: float = 1.0, *, calm: bool = False, assumptions: Assumptions | None = None,
        market: MarketData | None = None) -> Simulation:
    """Simulate ``start`` … ``end`` (inclusive UTC days); see the module docstring.

    Parameters
    ----------
    start, end : str or date
        Days within the shipped daily market data, three weeks after its first day at the
        earliest (the agents' burn-in week and the fortnight their first positions opened
        in): 2025-09-22 … 2025-12-31.
    seed : int
        Seed of every random draw: the same arguments give the same table.
    scale : float
        Multiplies the number of traders (``Assumptions.traders``, 5,000 at 1): about 98,700
        checks in November 2025 at 1.
    calm : bool
        Run the same agents on the calm counterfactual (:func:`.path.calm_path`).
    assumptions : Assumptions, optional
        The behaviour model; defaults are the documented assumptions.
    market : MarketData, optional
        Market data (default: the shipped real snapshot).
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise InputError("scale", scale, "> 0 and finite")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    a = assumptions or Assumptions()
    data = market or load_snapshot()
    path = hourly_path(start, end, data)
    if calm:
        path = calm_path(path)
    state = market_state(start, end, data)
    rng = np.random.default_rng(seed)
    population = make_population(max(len(country_weights()), round(a.traders * scale)), rng,
                                 wallet_median=a.wallet_median, wallet_sigma=a.wallet_sigma,
                                 attention_shape=a.attention_shape)
    entries = _entries(path.days[0] - path.first // 24, data)
    if calm:
        entries = np.full(1, float(path.price[0]))
    sessions, truth = step_agents(path, population, entries, rng, a)
    routine = routine_sessions(path, population, rng, a)
    sessions = Sessions(**{k: np.concatenate([getattr(sessions, k), v])
                           for k, v in routine.items()})
    table, checks = _events(path, population, sessions, rng, a, seed)
    by_reason = truth.sessions.copy()
    by_reason[:, REASONS.index("routine")] += np.bincount(
        path.day_index()[routine["hour"]], minlength=len(path.days))
    truth = dataclasses.replace(truth, sessions=by_reason, checks=checks)
    tag = zlib.crc32(json.dumps([str(start), str(end), scale, seed, path.label,
                                 dataclasses.asdict(a)]).encode()) & 0xFFFFFF
    n = table.num_rows
    table = table.set_column(0, "event_id", _text(f"{SYNTHETIC_ID_PREFIX}{seed}-{tag:06x}-",
                                                  np.arange(n)))
    metadata = {
        "synthetic": "true", "source": source_label(seed), "generator": "marginscope.sim",
        "version": marginscope.__version__, "seed": str(seed), "scale": repr(float(scale)),
        "start": str(path.days[0]), "end": str(path.days[-1]), "path": path.label,
        "assumptions": json.dumps(dataclasses.asdict(a)),
        "market": " | ".join(path.sources),
    }
    table = conform(table).replace_schema_metadata(metadata)
    return Simulation(table=table, path=path, state=state, sessions=sessions, truth=truth,
                      population=population, assumptions=a, seed=seed, scale=float(scale))


def _events(path: HourlyPath, population: Population, s: Sessions,
            rng: np.random.Generator, a: Assumptions, seed: int) -> tuple[pa.Table, np.ndarray]:
    """Expand the sessions into checks (events), with devices, times and coarse fields;
    also the checks per (day, reason, tool): why each check was made."""
    keys, starts, lengths, flat = template_tools()
    n_sessions = len(s.agent)
    template = s.template.astype(np.int64)
    base = np.repeat(np.arange(n_sessions), lengths[template])
    within = np.arange(len(base)) - np.repeat(np.cumsum(lengths[template]) - lengths[template],
                                              lengths[template])
    tool = flat[starts[template][base] + within]
    repeats = 1 + rng.poisson(a.repeat_mean, len(base))
    session = np.repeat(base, repeats)
    tool = np.repeat(tool, repeats)
    n = len(session)

    # devices by context
    day_of = path.day_index()
    agent = s.agent.astype(np.int64)
    hour = s.hour.astype(np.int64)
    s_day = day_of[hour]
    offsets = utc_offsets(population.zones, path.days)[population.zone[agent], s_day]
    local = (path.time_ms[hour] // 3_600_000) % 24 + offsets
    local_hour = local % 24
    away = (local_hour < 8) | (local_hour >= 22)
    reason_names = np.asarray([k.split("/")[0] for k in keys])[template]
    urgent = np.isin(reason_names, list(URGENT))
    planning = np.isin(np.asarray(keys)[template], ["new setup/plan", "new setup/stops"])
    logit = (a.mobile_logit + population.mobile_tilt[agent] + a.away_mobile * away
             + a.urgent_mobile * urgent - a.planning_desktop * planning)
    u = rng.random(n_sessions)
    device = np.where(u < a.tablet, 2, np.where(u < a.tablet + a.unknown, 3, np.where(
        rng.random(n_sessions) < 1 / (1 + np.exp(-logit)), 0, 1)))

    # times: the session starts within its hour, checks follow a few minutes apart
    hour_us = path.time_ms[hour] * 1000
    s_start = hour_us + (rng.random(n_sessions) * _HOUR_US).astype(np.int64)
    firsts = np.r_[0, np.flatnonzero(np.diff(session)) + 1]
    gaps = rng.exponential(a.gap_seconds * 1e6, n)
    gaps[firsts] = 0.0
    walked = np.cumsum(gaps)
    elapsed = walked - np.repeat(walked[firsts], np.diff(np.r_[firsts, n]))
    day_end = (hour_us // _DAY_US + 1) * _DAY_US - 1
    ts = np.minimum(s_start[session] + elapsed.astype(np.int64), day_end[session])

    # coarse fields, as the calculators' declarations record them
    order = np.argsort(ts, kind="stable")  # by time; a session's checks (and ties) in order
    session, tool = session[order], tool[order]  # every event column below is in this order
    ev_agent = agent[session]
    has = {name: np.isin(np.arange(len(TOOLS)), [TOOLS.index(t) for t, f in TOOL_FIELDS.items()
                                                 if name in f])[tool]
           for name in ("venue", "symbol", "side", "margin_mode", "leverage", "notional")}
    side = (s.side < 0).astype(np.int64)[session]                    # 0 long, 1 short
    leverage = leverage_bucket(np.maximum(s.leverage, 1.0))[session]
    notional = notional_bucket(np.maximum(np.nan_to_num(s.notional), 0.0))[session]

    n_days = len(path.days)
    visit_key = agent * n_days + s_day
    visitor_ids = _text("v", _mix64(visit_key, seed * 2 + 1))
    session_ids = _text("s", _mix64(np.arange(n_sessions), seed * 2 + 2))
    ones = np.ones(n, dtype=bool)
    columns = {
        "event_id": pa.nulls(n, pa.string()),
        "ts": pa.array(ts[order], type=pa.timestamp("us", tz="UTC")),
        "tool": _strings(TOOLS, tool, ones, pa.string()),
        "device": _strings(DEVICES, device[session], ones, pa.string()),
        "country": _strings(population.countries, population.country[ev_agent], ones,
                            pa.string()),
        "visitor": visitor_ids.take(pa.array(session)),
        "session": session_ids.take(pa.array(session)),
        "seq": session_seq(session),
        "venue": _strings(list(VENUE_SHARES), population.venue[ev_agent], has["venue"],
                          pa.string()),
        "symbol": _strings(list(SYMBOL_SHARES), population.symbol[ev_agent], has["symbol"],
                           pa.string()),
        "side": _strings(["long", "short"], side, has["side"], pa.string()),
        "margin_mode": _strings(["isolated", "cross"],
                                population.cross[ev_agent].astype(np.int64),
                                has["margin_mode"], pa.string()),
        "leverage": pa.array(leverage.astype(np.int16), mask=~has["leverage"]),
        "notional_bucket": pa.array(notional.astype(np.int64), mask=~has["notional"]),
    }
    cell = (s_day[session] * len(REASONS) + s.reason.astype(np.int64)[session]) * len(TOOLS)
    why = np.bincount(cell + tool, minlength=n_days * len(REASONS) * len(TOOLS))
    return pa.table(columns), why.reshape(n_days, len(REASONS), len(TOOLS))


def simulate(start: str | date = DEFAULT_START, end: str | date = DEFAULT_END, seed: int = 7,
             scale: float = 1.0, **options: object) -> pa.Table:
    """The events of :func:`run` only: an Arrow table in the canonical schema, synthetic."""
    return run(start, end, seed, scale, **options).table  # type: ignore[arg-type]
