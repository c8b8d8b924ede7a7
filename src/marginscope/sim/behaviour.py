"""How simulated traders answer the market: tool intensities, phases, devices, U.S. share.

All parameters here are **modelling assumptions** (documented in ``docs/sim.md``); the market
features they respond to are real (:mod:`.market_state`).

Intensity of tool ``t`` on UTC day ``d`` (expected checks)::

    λ[d, t] = base_daily · scale · weekday[dow(d)] · tool_mix[t] · phase[d, t] · response[d, t]
              · activity[d]

``phase[d, t]``
    The tool multipliers of the :class:`Phase` in force, averaged over the day's 24 hours (a
    phase may start mid-day: repositioning starts at the 16:00 UTC funding print of Nov 23).
``response[d, t]``
    Answers to the day's market state (:class:`Responses`): liquidation and margin-call
    checks rise with the drawdown and the day's range; margin defense on round-number
    breaks; position sizing and futures modelling as the week's fall deepens; funding checks
    when funding prints are negative.
``activity[d]``
    Everybody comes more on days that move: ``1 + activity_move · |close-to-close change|``
    and ``1 + activity_range · (range_ratio − 1)⁺``.

Phases also set the device mix of sessions and tilt who comes (U.S. traders) and what U.S.
traders check (:attr:`Phase.us`, :attr:`Phase.us_tools`). The phase schedule is data
(:data:`NOVEMBER_2025_PHASES`), each phase anchored on a real market event of the shipped
snapshot, so tests can compare it with the phases the report recovers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from marginscope.errors import InputError
from marginscope.sim.market_state import MarketState
from marginscope.sim.mix import TOOL_FIELDS, TOOL_MIX, TOOLS
from marginscope.sim.population import DEVICE_BASE, DEVICES

__all__ = [
    "DIURNAL", "NOVEMBER_2025_PHASES", "TOOLS", "TOOL_FIELDS", "TOOL_MIX", "WEEKDAY",
    "Intensity", "Phase", "Profile", "Responses", "intensities", "phase_index",
]

WEEKDAY: tuple[float, ...] = (1.04, 1.06, 1.05, 1.03, 1.00, 0.90, 0.92)
"""Monday … Sunday activity factors (assumption: a mild weekend dip)."""

DIURNAL: tuple[float, ...] = (
    0.55, 0.35, 0.25, 0.20, 0.20, 0.25, 0.40, 0.60, 0.80, 0.90, 0.95, 1.00,
    1.05, 1.05, 1.00, 1.00, 1.05, 1.15, 1.30, 1.45, 1.55, 1.50, 1.30, 0.90,
)
"""Activity by *local* hour 0 … 23 (assumption: quiet nights, an evening peak at 20:00)."""

@dataclass(frozen=True)
class Phase:
    """A behavioural regime the simulator is given, from ``start`` until the next phase.

    Attributes
    ----------
    name : str
        Matches the analytics' phase themes (``defensive checks``, ``margin defense``,
        ``repositioning``) or ``calm``.
    start : str
        ISO 8601 UTC instant the phase begins.
    anchor : str
        The real market event (shipped snapshot) the start is set on, for the reader.
    tools : mapping
        Multipliers of tool intensities (absent tools: 1).
    devices : tuple of float
        Device mix of sessions, :data:`DEVICES` order.
    us : float
        Multiplier of U.S. traders' propensity to come.
    us_tools : mapping
        Extra multipliers of U.S. traders' tool choice (the U.S. share of those checks rises).
    """

    name: str
    start: str
    anchor: str
    tools: Mapping[str, float] = field(default_factory=dict)
    devices: tuple[float, ...] = DEVICE_BASE
    us: float = 1.0
    us_tools: Mapping[str, float] = field(default_factory=dict)

    @property
    def start_day(self) -> str:
        """``YYYY-MM-DD`` of :attr:`start`."""
        return self.start[:10]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (written into the simulation's metadata)."""
        return {"name": self.name, "start": self.start, "anchor": self.anchor,
                "tools": dict(self.tools), "devices": dict(zip(DEVICES, self.devices,
                                                              strict=True)),
                "us": self.us, "us_tools": dict(self.us_tools)}


NOVEMBER_2025_PHASES: tuple[Phase, ...] = (
    Phase("calm", "2025-09-01T00:00:00Z", "start of the shipped daily data"),
    Phase("defensive checks", "2025-11-04T00:00:00Z",
          "round_number_break: first daily low below 100,000 (98,962.06) on 2025-11-04, "
          "and the drawdown from the 126,198.07 high passing 20 %",
          tools={"liquidation_price": 1.55, "liquidation_risk": 1.7, "stops": 1.35,
                 "margin_call": 1.2},
          devices=(0.64, 0.29, 0.05, 0.02), us=1.3,
          us_tools={"margin_call": 1.4, "liquidation_price": 1.25}),
    Phase("margin defense", "2025-11-20T00:00:00Z",
          "drawdown_threshold: first daily low 30 % below the running high (86,040.80 on "
          "2025-11-20), the day before the month low 80,659.81 (Nov 21)",
          tools={"margin_call": 2.3, "average_price": 2.1, "liquidation_price": 1.25,
                 "position_size": 1.2},
          devices=(0.68, 0.25, 0.05, 0.02), us=1.4, us_tools={"margin_call": 1.8}),
    Phase("repositioning", "2025-11-23T16:00:00Z",
          "funding_negative_run: Binance BTCUSDT funding turned negative at "
          "2025-11-23T16:00Z (negative in 9 of 17 prints to Nov 29)",
          tools={"futures": 1.8, "scenario": 2.0, "position_size": 1.45, "leverage": 1.35,
                 "funding_rate": 1.5},
          devices=(0.45, 0.48, 0.05, 0.02), us=1.1),
)
"""The phase schedule given to the simulator by default (data, not code)."""


@dataclass(frozen=True)
class Responses:
    """Elasticities of tool intensities to the market state (assumptions; see module doc).

    ``liquidation_depth``
        liquidation_price, liquidation_risk, margin_call × ``1 + liquidation_depth · depth``.
    ``liquidation_range``
        the same tools × ``1 + liquidation_range · (range_ratio − 1)⁺``.
    ``break_defense``
        margin_call, average_price, liquidation_price × ``1 + break_defense · breaks`` on a
        break day and half that on the day after.
    ``fall_sizing``
        position_size, futures × ``1 + fall_sizing · fall_7d``.
    ``funding_negative``
        funding_rate × ``1 + funding_negative · negative_funding`` (share of negative prints).
    ``activity_move``, ``activity_range``
        every tool × ``(1 + activity_move · move) · (1 + activity_range · (range_ratio − 1)⁺)``.
    ``hour_weight``
        hour weight ``1 + hour_weight · (hour_activity − 1)``: sessions cluster in the 4-hour
        bars that moved.
    """

    liquidation_depth: float = 1.2
    liquidation_range: float = 0.08
    break_defense: float = 0.35
    fall_sizing: float = 2.0
    funding_negative: float = 0.8
    activity_move: float = 4.0
    activity_range: float = 0.12
    hour_weight: float = 0.5


@dataclass(frozen=True)
class Profile:
    """Volume and visit habits (assumptions).

    ``base_daily`` checks per calm weekday at ``scale`` 1; ``checks_per_visit`` the mean
    checks per visitor-day (U.S., rest: 1 + Poisson(mean − 1)); ``extra_sessions`` the mean
    of the Poisson number of sessions beyond the first on a visitor-day; ``noise_cv`` the
    coefficients of variation of the mean-one gamma factors per day and per (day, tool),
    which make counts overdispersed as real traffic is; ``traders_per_daily_check`` sizes the
    population (traders = base_daily · scale · this).
    """

    base_daily: float = 24_000.0
    checks_per_visit: tuple[float, float] = (2.4, 1.9)
    extra_sessions: float = 0.35
    noise_cv: tuple[float, float] = (0.05, 0.04)
    traders_per_daily_check: float = 6.0
    session_gap_seconds: float = 100.0


@dataclass(frozen=True, eq=False)
class Intensity:
    """Expected behaviour per day (noise-free), from :func:`intensities`.

    ``rate`` (day × tool) is λ; ``devices`` (day × device) the session device mix; ``us``
    (day) the U.S. propensity factor; ``us_tools`` (day × tool) U.S. tool-choice factors;
    ``hours`` (day × 24 UTC hours) the market hour weights; ``phase`` (day × phase) the share
    of each day's hours in each phase.
    """

    days: np.ndarray
    tools: tuple[str, ...]
    rate: np.ndarray
    devices: np.ndarray
    us: np.ndarray
    us_tools: np.ndarray
    hours: np.ndarray
    phase: np.ndarray
    phases: tuple[Phase, ...]

    def mix(self) -> np.ndarray:
        """Tool shares per day (rows sum to one)."""
        return self.rate / self.rate.sum(axis=1, keepdims=True)


def _instant_us(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def phase_index(phases: Sequence[Phase], ts_us: np.ndarray) -> np.ndarray:
    """Index of the phase in force at each microsecond timestamp (−1 before the first)."""
    starts = np.asarray([_instant_us(p.start) for p in phases], dtype=np.int64)
    if (np.diff(starts) <= 0).any():
        raise InputError("phases", [p.start for p in phases], "start times in strict order")
    return np.searchsorted(starts, np.asarray(ts_us, dtype=np.int64), side="right") - 1


def intensities(state: MarketState, phases: Sequence[Phase] = NOVEMBER_2025_PHASES,
                responses: Responses | None = None, profile: Profile | None = None,
                scale: float = 1.0) -> Intensity:
    """Expected tool intensities and mixes for every day of ``state`` (see module doc)."""
    responses = responses or Responses()
    profile = profile or Profile()
    phases = tuple(phases)
    if not phases:
        raise InputError("phases", phases, "at least one phase")
    for phase in phases:
        unknown = (set(phase.tools) | set(phase.us_tools)) - set(TOOLS)
        if unknown or len(phase.devices) != len(DEVICES) or not np.isclose(
                sum(phase.devices), 1.0):
            raise InputError(f"phase {phase.name!r}", sorted(unknown) or phase.devices,
                             f"tools among {', '.join(TOOLS)}; four device shares summing to 1")
    days = state.days
    n = len(days)
    day_us = days.astype("datetime64[us]").astype(np.int64)
    hour_us = day_us[:, None] + np.arange(24)[None, :] * 3_600_000_000
    which = phase_index(phases, hour_us)
    if (which < 0).any():
        raise InputError("phases", phases[0].start, f"a first phase starting by {days[0]}")
    share = np.stack([(which == k).mean(axis=1) for k in range(len(phases))], axis=1)

    def per_phase(values: Sequence[Sequence[float]]) -> np.ndarray:
        return share @ np.asarray(values, dtype=float)

    tool_phase = per_phase([[p.tools.get(t, 1.0) for t in TOOLS] for p in phases])
    us_tools = per_phase([[p.us_tools.get(t, 1.0) for t in TOOLS] for p in phases])
    devices = per_phase([p.devices for p in phases])
    us = per_phase([[p.us] for p in phases])[:, 0]

    r = responses
    column = {t: i for i, t in enumerate(TOOLS)}
    response = np.ones((n, len(TOOLS)))
    surge = np.clip(state.range_ratio - 1.0, 0.0, None)
    for tool in ("liquidation_price", "liquidation_risk", "margin_call"):
        response[:, column[tool]] *= (1 + r.liquidation_depth * state.depth) * (
            1 + r.liquidation_range * surge)
    breaks = state.breaks + 0.5 * np.concatenate(([0], state.breaks[:-1]))
    for tool in ("margin_call", "average_price", "liquidation_price"):
        response[:, column[tool]] *= 1 + r.break_defense * breaks
    for tool in ("position_size", "futures"):
        response[:, column[tool]] *= 1 + r.fall_sizing * state.fall_7d
    response[:, column["funding_rate"]] *= 1 + r.funding_negative * state.negative_funding
    activity = (1 + r.activity_move * state.move) * (1 + r.activity_range * surge)

    weekday = np.asarray(WEEKDAY)[(days.astype(np.int64) + 3) % 7]  # 1970-01-01 was a Thursday
    base = np.asarray([TOOL_MIX[t] for t in TOOLS])
    rate = (profile.base_daily * scale * weekday[:, None] * base[None, :] * tool_phase
            * response * activity[:, None])
    hours = 1.0 + r.hour_weight * (state.hour_activity - 1.0)
    return Intensity(days=days, tools=TOOLS, rate=rate, devices=devices, us=us,
                     us_tools=us_tools, hours=hours, phase=share, phases=phases)
