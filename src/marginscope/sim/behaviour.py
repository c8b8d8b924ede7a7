"""How a simulated trader's state turns into sessions of checks: the modelling assumptions.

Nothing here knows a date. Every number below is a **modelling assumption** (stated as such in
``docs/sim.md``); what the agents answer — prices, lows and highs, funding prints, their own
positions' liquidation prices from :mod:`marginscope.risk` — is real or computed.

Hazard of a session for agent *i* in hour *h* (probability ``1 − exp(−hazard)``)::

    hazard = attention_i · shock[day] · ( rhythm_i(h) · routine_i(h) + urgent_i(h) )

``rhythm`` is the local-time diurnal curve × the local weekday factor (:data:`DIURNAL`,
:data:`WEEKDAY`; local time from the agent's tz-database zone). ``routine`` is the idle
propensity: looking for a setup when flat (more after big moves), monitoring a position when
holding. ``urgent`` (alerts wake people: only half tied to the clock) grows as the position's
distance to liquidation shrinks since the agent last looked, jumps inside margin-call distance
and after a liquidation, and with funding paid to the agent's side in proportion to the rate.

What the session does is the state's (:data:`REASONS`, in priority order), and the checks it
makes are the reason's sequence of calculators (:data:`TEMPLATES`, by registry name).

On top of these state-driven sessions every agent makes **routine** sessions (habit, planning,
learning: :mod:`.routine`) at ``Assumptions.routine_rate`` × attention × rhythm, whatever its
state; each runs one calculator drawn from the calm-market mix :data:`~.mix.CALCULATOR_MIX`,
so the tools have a stable base that distress adds to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marginscope.calculators import REGISTRY
from marginscope.sim.mix import CALCULATOR_MIX, TOOL_FIELDS, TOOL_MIX, TOOLS

__all__ = [
    "DIURNAL", "REASONS", "TEMPLATES", "TOOLS", "TOOL_FIELDS", "TOOL_MIX", "URGENT", "WEEKDAY",
    "Assumptions", "gamma_shocks", "local_rhythm", "template_tools",
]

WEEKDAY: tuple[float, ...] = (1.04, 1.06, 1.05, 1.03, 1.00, 0.86, 0.90)
"""Monday … Sunday factor of routine activity, local weekday (assumption: a weekend dip)."""

DIURNAL: tuple[float, ...] = (
    0.55, 0.35, 0.25, 0.20, 0.20, 0.25, 0.40, 0.60, 0.80, 0.90, 0.95, 1.00,
    1.05, 1.05, 1.00, 1.00, 1.05, 1.15, 1.30, 1.45, 1.55, 1.50, 1.30, 0.90,
)
"""Routine activity by *local* hour 0 … 23 (assumption: quiet nights, an evening peak)."""

REASONS: tuple[str, ...] = (
    "liquidated", "margin call", "distance shrank", "funding pays", "average down",
    "set stops", "monitor", "close", "new setup", "routine",
)
"""Why a session happens: the state's reasons in the order a state is tested (the first that
holds wins), then ``routine`` (:mod:`.routine`: whatever the state)."""

URGENT: frozenset[str] = frozenset({"liquidated", "margin call", "distance shrank"})
"""Reasons that come from an alert or a fright (mobile more likely, routine rhythm less)."""

TEMPLATES: dict[str, tuple[str, ...]] = {
    "liquidated/leave": ("pnl",),
    "liquidated/rebuild": ("pnl", "position-size", "leverage", "liquidation"),
    "margin call/add": ("liquidation", "margin-call", "liquidation"),
    "margin call/hold": ("liquidation", "margin-call"),
    "margin call/cut": ("liquidation", "margin-call", "pnl"),
    "distance shrank/look": ("liquidation",),
    "distance shrank/risk": ("liquidation", "liquidation-risk"),
    "funding pays/add": ("funding", "position-size", "liquidation"),
    "funding pays/look": ("funding",),
    "average down/add": ("average", "liquidation"),
    "set stops/set": ("stops",),
    "monitor/pnl": ("pnl",),
    "monitor/liquidation": ("liquidation",),
    "close/close": ("pnl",),
    "new setup/quick": ("position-size", "leverage"),
    "new setup/full": ("position-size", "leverage", "liquidation"),
    "new setup/stops": ("position-size", "leverage", "liquidation", "stops"),
    "new setup/plan": ("scenario", "position-size", "leverage", "liquidation", "stops"),
    "new setup/funding": ("funding", "position-size", "leverage", "liquidation"),
    **{f"routine/{name}": (name,) for name in CALCULATOR_MIX},
}
"""``reason/variant`` → the calculators (``REGISTRY`` names) the session runs, in order."""


def template_tools() -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """(template keys, start offsets, lengths, flat tool indexes into :data:`TOOLS`)."""
    keys = tuple(TEMPLATES)
    tools = [TOOLS.index(REGISTRY[name].tool) for key in keys for name in TEMPLATES[key]]
    lengths = np.asarray([len(TEMPLATES[k]) for k in keys], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return keys, starts, lengths, np.asarray(tools, dtype=np.int64)


_OFFSETS = np.arange(-12, 15)


def local_rhythm(day: np.datetime64) -> np.ndarray:
    """Routine weight of each UTC hour of ``day`` (columns) for each whole-hour UTC offset
    −12 … +14 (rows): :data:`DIURNAL` of the local hour × :data:`WEEKDAY` of the local
    weekday."""
    dow = (int(np.datetime64(day, "D").astype(np.int64)) + 3) % 7  # 1970-01-01: Thursday
    local = np.arange(24)[None, :] + _OFFSETS[:, None]
    return np.asarray(DIURNAL)[local % 24] * np.asarray(WEEKDAY)[(dow + local // 24) % 7]


def gamma_shocks(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """``size`` gamma shocks of mean 1 and coefficient of variation ``cv`` (ones at 0)."""
    return rng.gamma(1.0 / cv**2, cv**2, size) if cv > 0 else np.ones(size)


@dataclass(frozen=True)
class Assumptions:
    """Every behavioural parameter of the agents (all modelling assumptions; ``docs/sim.md``).

    Population and money
        ``traders`` agents at scale 1; ``attention_shape`` the gamma shape of per-agent
        attention (mean 1: a few regulars, many occasional visitors); ``wallet_median`` /
        ``wallet_sigma`` the log-normal USD funds an agent trades with; ``holding_at_start``
        the share holding a position at the start of the burn-in week (opened at a real daily
        close of the fortnight before; those already within ``start_buffer`` of their
        liquidation price then start flat); ``us_add_margin`` / ``rest_add_margin`` the
        probability that an agent in margin-call distance adds margin when it can (U.S. agents
        defend with margin more often); ``cut_at_call`` the probability of cutting instead.
    Rates (sessions per hour at attention 1 and rhythm 1)
        ``flat_rate`` a flat agent looking for a setup, ``move_attention`` × |24 h return|
        more after moves; ``holding_rate`` a holder's routine look; ``shrink_rate`` per unit
        of relative shrink of the distance to liquidation since the agent's last look;
        ``call_rate`` inside margin-call distance; ``liquidated_rate`` after a liquidation;
        ``funding_rate`` per 0.01 %/8 h of funding paid to the agent's side;
        ``return_rate`` an agent who left coming back; ``routine_rate`` a routine session
        (:mod:`.routine`: habit, planning, learning; one calculator from the calm-market mix),
        whatever the agent's state, calibrated with ``traders`` so that November holds the
        seed's ~98,700 checks and its tool mix is near the calm-market mix.
    Thresholds and choices
        ``call_ratio`` distance / distance at open below which the margin call is checked;
        ``shrink_step`` the relative shrink that counts as "shrank"; ``restore_ratio`` the
        distance margin is added to restore; ``open_share`` the share of setup sessions that
        open a position; ``rebuild`` the share of liquidated agents who rebuild (at
        ``rebuild_leverage`` × their leverage) rather than leave; ``close_share`` of
        monitoring sessions that close; ``average_share`` of a losing holder's looks that
        average down; ``stop_share`` of looks that set a stop; ``funding_add_share`` of
        funding sessions that add to the position; ``size_fraction`` the range of the funds
        put up as margin.
    Side
        ``long_logit`` the base log-odds of a long; ``dip_buying`` log-odds per −10 % week;
        ``funding_side`` log-odds per 0.01 % of funding (positive funding: shorts are paid).
    Devices
        ``mobile_logit`` base log-odds of mobile; ``away_mobile`` when away from a desk
        (local 22:00–08:00 or the weekend); ``urgent_mobile`` for :data:`URGENT` reasons;
        ``planning_desktop`` (subtracted) when planning a setup; ``tablet`` / ``unknown``
        fixed shares.
    Noise
        ``day_shock_cv`` the coefficient of variation of a gamma day factor shared by all
        (outages, news, campaigns: real web traffic is overdispersed), ``hour_shock_cv`` per
        hour; ``repeat_mean`` the Poisson mean of repeats of a check (people re-run a
        calculator with other inputs); ``gap_seconds`` the mean gap between checks.
    """

    traders: int = 5_000
    attention_shape: float = 0.6
    wallet_median: float = 1_500.0
    wallet_sigma: float = 1.2
    holding_at_start: float = 0.6
    start_buffer: float = 0.03
    us_add_margin: float = 0.7
    rest_add_margin: float = 0.45
    cut_at_call: float = 0.15
    flat_rate: float = 0.0045
    move_attention: float = 12.0
    holding_rate: float = 0.005
    shrink_rate: float = 0.05
    call_rate: float = 0.08
    liquidated_rate: float = 0.25
    funding_rate: float = 0.0025
    return_rate: float = 0.0004
    routine_rate: float = 0.010
    call_ratio: float = 0.35
    shrink_step: float = 0.2
    restore_ratio: float = 0.6
    open_share: float = 0.55
    rebuild: float = 0.45
    rebuild_leverage: float = 0.5
    close_share: float = 0.3
    average_share: float = 0.12
    stop_share: float = 0.15
    funding_add_share: float = 0.4
    size_fraction: tuple[float, float] = (0.1, 0.5)
    long_logit: float = 0.5
    dip_buying: float = 0.8
    funding_side: float = 0.35
    mobile_logit: float = 0.0
    away_mobile: float = 0.6
    urgent_mobile: float = 1.0
    planning_desktop: float = 1.2
    tablet: float = 0.05
    unknown: float = 0.02
    day_shock_cv: float = 0.05
    hour_shock_cv: float = 0.05
    repeat_mean: float = 0.2
    gap_seconds: float = 90.0
