"""Routine sessions: the checks traders make out of habit, whatever their position's state.

Real traders look up a liquidation or margin-call price routinely — planning a trade, checking
a number they half remember, learning how a venue computes it — not only when an alert wakes
them. This is a **modelling assumption** (``docs/sim.md``), and it matters for what the
analytics can see: without it almost every margin-call check would come from an agent in
margin-call distance, so a calm day would hold a handful and a stress day hundreds, and the
day-to-day noise of such a series on the log scale would be as large as any real surge.

Each agent's routine sessions are a Poisson process with hourly rate::

    routine_rate · attention_i · day shock · hour shock · rhythm_i(h)

(``Assumptions.routine_rate``; attention and the local-time rhythm — :data:`~.behaviour.DIURNAL`
× :data:`~.behaviour.WEEKDAY` in the agent's tz-database zone — as for the state-driven
sessions; gamma day and hour shocks of ``day_shock_cv`` / ``hour_shock_cv``, drawn here). A
routine session runs one calculator drawn from the calm-market mix
:data:`~.mix.CALCULATOR_MIX` (template ``routine/<calculator>``), about the agent's typical
setup: its side tilt (``long_logit`` + tilt), usual leverage, and ``size_fraction`` of its
funds at that leverage. Nothing here reads the path's prices: the routine base is the same on
the real and the calm path.
"""

from __future__ import annotations

import numpy as np

from marginscope.sim.behaviour import (
    REASONS,
    TEMPLATES,
    Assumptions,
    gamma_shocks,
    local_rhythm,
)
from marginscope.sim.mix import CALCULATOR_MIX
from marginscope.sim.path import HourlyPath
from marginscope.sim.population import Population, utc_offsets

__all__ = ["ROUTINE_TEMPLATES", "routine_sessions"]

ROUTINE_TEMPLATES: tuple[str, ...] = tuple(f"routine/{name}" for name in CALCULATOR_MIX)
"""The routine templates (keys of :data:`~.behaviour.TEMPLATES`), in mix order."""


def routine_sessions(
    path: HourlyPath, population: Population, rng: np.random.Generator, a: Assumptions
) -> dict[str, np.ndarray]:
    """The routine sessions of the simulated days of ``path`` (not the burn-in week).

    Returns the columns of :class:`~.agents.Sessions` (agent, hour, template, reason, side,
    leverage, notional), sessions in day order.
    """
    days = path.days
    day_of = path.day_index()
    offsets = utc_offsets(population.zones, days)[population.zone]  # (agent, day)
    attention = population.activity
    day_shock = gamma_shocks(rng, a.day_shock_cv, len(days))
    hour_shock = gamma_shocks(rng, a.hour_shock_cv, len(path.time_ms))
    templates = np.asarray([list(TEMPLATES).index(k) for k in ROUTINE_TEMPLATES])
    shares = np.asarray(list(CALCULATOR_MIX.values()))
    agent_parts, hour_parts = [], []
    for d, day in enumerate(days):
        hours = np.flatnonzero(day_of == d)
        weight = local_rhythm(day)[:, : hours.size] * hour_shock[hours]  # (offset, hour)
        total = weight.sum(axis=1)
        row = np.clip(offsets[:, d], -12, 14) + 12
        mean = a.routine_rate * attention * day_shock[d] * total[row]
        count = rng.poisson(mean)
        agent = np.repeat(np.arange(len(population)), count)
        cdf = np.cumsum(weight, axis=1) / total[:, None]
        u = rng.random(agent.size)
        pick = (u[:, None] > cdf[row[agent]]).sum(axis=1)
        agent_parts.append(agent)
        hour_parts.append(hours[np.minimum(pick, hours.size - 1)])
    agent = np.concatenate(agent_parts) if agent_parts else np.zeros(0, dtype=np.int64)
    hour = np.concatenate(hour_parts) if hour_parts else np.zeros(0, dtype=np.int64)
    n = agent.size
    logit = a.long_logit + population.long_tilt[agent]
    side = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-logit)), 1.0, -1.0)
    leverage = np.maximum(1.0, population.leverage[agent].astype(float))
    low, high = a.size_fraction
    notional = population.wallet[agent] * rng.uniform(low, high, n) * leverage
    return {
        "agent": agent,
        "hour": hour,
        "template": templates[rng.choice(len(shares), size=n, p=shares)],
        "reason": np.full(n, REASONS.index("routine")),
        "side": side,
        "leverage": leverage,
        "notional": notional,
    }
