"""What the agents did: their sessions (one row each) and their truth per simulated day.

:func:`marginscope.sim.agents.step_agents` fills both; :mod:`.generate` turns the sessions into
events and adds the checks per (day, reason, tool) to the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marginscope.sim.behaviour import REASONS, TOOLS

__all__ = ["Sessions", "Truth"]


@dataclass(frozen=True, eq=False)
class Sessions:
    """One row per session: agent, hour (index into the path), template (index into
    :data:`~.behaviour.TEMPLATES`), reason (index into :data:`~.behaviour.REASONS`), and the
    setup it is about: side (+1 long, −1 short), leverage, notional (USD)."""

    agent: np.ndarray
    hour: np.ndarray
    template: np.ndarray
    reason: np.ndarray
    side: np.ndarray
    leverage: np.ndarray
    notional: np.ndarray


@dataclass(frozen=True, eq=False)
class Truth:
    """What the agents did, per simulated day (arrays over :attr:`days`)."""

    days: np.ndarray
    within_5: np.ndarray
    within_10: np.ndarray
    liquidated: np.ndarray
    stopped: np.ndarray
    added_margin: np.ndarray
    averaged: np.ndarray
    opened: np.ndarray
    closed: np.ndarray
    left: np.ndarray
    holding: np.ndarray
    long_share: np.ndarray
    sessions: np.ndarray  # (day, reason)
    funding_known: np.ndarray  # prints collected that day (of 3)
    checks: np.ndarray | None = None  # (day, reason, tool): why each check was made

    def why(self) -> dict[str, dict[str, int]]:
        """Checks per tool id and reason over all days (:attr:`checks` summed)."""
        if self.checks is None:
            return {}
        total = self.checks.sum(axis=0)
        return {
            tool: {r: int(total[i, j]) for i, r in enumerate(REASONS) if total[i, j]}
            for j, tool in enumerate(TOOLS)
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: one record per day."""
        rows = []
        for d, day in enumerate(self.days):
            rows.append(
                {
                    "day": str(day),
                    "within_5pct": int(self.within_5[d]),
                    "within_10pct": int(self.within_10[d]),
                    "liquidated": int(self.liquidated[d]),
                    "stopped": int(self.stopped[d]),
                    "added_margin": int(self.added_margin[d]),
                    "averaged_down": int(self.averaged[d]),
                    "opened": int(self.opened[d]),
                    "closed": int(self.closed[d]),
                    "left": int(self.left[d]),
                    "holding": int(self.holding[d]),
                    "long_share": round(float(self.long_share[d]), 4),
                    "funding_prints": int(self.funding_known[d]),
                    "sessions": {
                        r: int(n) for r, n in zip(REASONS, self.sessions[d], strict=True) if n
                    },
                    "checks": {}
                    if self.checks is None
                    else {
                        r: int(n)
                        for r, n in zip(REASONS, self.checks[d].sum(axis=1), strict=True)
                        if n
                    },
                }
            )
        return {"days": rows, "checks_by_tool_and_reason": self.why()}
