"""Which agents' session hazard an hour must evaluate: upper bounds of the hazard.

:func:`~.agents.step_agents` draws one exponential per agent per hour and a session fires
where the draw is below the agent's hazard (:mod:`.behaviour`). Most draws are far above it,
so the full hazard is evaluated only for :func:`candidates`: every other agent's draw is at or
above an upper bound of its hazard, and who fires is exactly what evaluating everyone gives.

Bounds, with ``shock`` the hour's day × hour shock and ``top`` the highest rhythm of the hour
over the UTC offsets:

* a flat agent: its urgency is nil (no distance, no funding; an agent yet to look at its
  liquidation is always evaluated), so ``attention · shock · top · max(idle rates)``;
* an open position outside the margin-call distance: urgency is its shrink term and its
  side's funding term, so ``attention · shock · (top · holding_rate + (0.5 + 0.5 · top) ·
  (shrink_rate / shrink_step · shrink + funding_rate · paid))``; inside the margin-call
  distance it is always evaluated.

Bounds are computed in float32 and raised by :data:`MARGIN`, far above float32 rounding.
"""

from __future__ import annotations

import numpy as np

from marginscope.sim.behaviour import Assumptions

__all__ = ["MARGIN", "candidates"]

MARGIN = 1.0 + 1e-3
"""Relative margin of every bound over the hazard (float32 rounding is ~6e-8)."""

_F32 = np.float32


def candidates(
    draw: np.ndarray,
    attention: np.ndarray,
    pending: np.ndarray,
    held: np.ndarray,
    position: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    shock: float,
    top: float,
    idle: float,
    known: float,
    a: Assumptions,
) -> np.ndarray:
    """The agents (ascending) whose draw is below a bound of their hazard (module docstring).

    Parameters
    ----------
    draw, attention, pending : ndarray
        Per agent: the hour's exponential draw, attention, and whether a liquidation awaits
        its look.
    held : ndarray
        The agents holding a position, and ``position`` = their side, distance to
        liquidation at the hour's price, distance at their last look, and distance when the
        position was built.
    shock, top, idle, known : float
        The hour's shock, highest rhythm, highest idle rate (flat or returning), and last
        known funding rate in basis points.
    """
    side, distance, seen, built = position
    shrink = np.abs(np.maximum(seen - distance, 0.0) / seen)
    loud = shock * (0.5 + 0.5 * top) * MARGIN
    base = shock * top * a.holding_rate * MARGIN
    per_side = np.where(
        side > 0,
        _F32(base + loud * a.funding_rate * max(-known, 0.0)),
        _F32(base + loud * a.funding_rate * max(known, 0.0)),
    )
    held_cap = attention[held] * (per_side + _F32(loud * a.shrink_rate / a.shrink_step) * shrink)
    held_cap[distance / built < a.call_ratio] = np.inf
    mask = draw < attention * _F32(shock * top * idle * MARGIN)
    mask[held] = draw[held] < held_cap
    mask |= pending
    return np.flatnonzero(mask)
